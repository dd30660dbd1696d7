// SPDX-License-Identifier: MIT
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_conversation(&sonde_proto_http1, data, size);
}
