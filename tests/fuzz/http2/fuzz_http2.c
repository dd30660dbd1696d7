// SPDX-License-Identifier: MIT
#include "../protocols_a/fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every input starts after the client preface: frames from the first byte. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	return fuzz_conversation_after(&sonde_proto_http2, preface, 24, data, size);
}
