// SPDX-License-Identifier: MIT
/* Accept and Accept-Encoding parsing on arbitrary header bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prom_negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copy so a read past len is an ASan error */
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	(void)sonde_prom_negotiate_format(copy, size);
	(void)sonde_prom_accepts_gzip(copy, size);
	free(copy);
	return 0;
}
