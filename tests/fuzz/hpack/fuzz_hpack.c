// SPDX-License-Identifier: MIT
/*
 * Header blocks decoded in turn on one HPACK context. The input is a
 * script of 16-bit big-endian words: a word with the top bit clear is a
 * block of that many following bytes (cut at the input's end); with the
 * top bit set, sonde_hpack_set_limit((word & 0x7fff) * 4), which reaches
 * past SONDE_HPACK_LIMIT_MAX to check the clamp.
 */
#include <stdint.h>
#include <stdlib.h>

#include "protocols/hpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_header(const char *name, size_t name_len, const char *value,
		      size_t value_len, void *userdata)
{
	unsigned *sum = userdata;

	if (name_len > SONDE_HPACK_STR_MAX || value_len > SONDE_HPACK_STR_MAX)
		abort();
	/* Touch every byte so ASan sees a string that is not all there. */
	for (size_t i = 0; i < name_len; i++)
		*sum += (unsigned char)name[i];
	for (size_t i = 0; i < value_len; i++)
		*sum += (unsigned char)value[i];
}

/* What must hold between blocks, whatever the input. */
static void check(const struct sonde_hpack *h)
{
	if (h->limit > SONDE_HPACK_LIMIT_MAX || h->max > h->limit ||
	    sonde_hpack_size(h) > h->max || h->cap > h->max ||
	    (h->cap == 0) != (h->buf == NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sonde_hpack h = { 0 };
	unsigned sum = 0;
	size_t pos = 0;

	sonde_hpack_init(&h);
	while (size - pos >= 2) {
		unsigned w = (unsigned)data[pos] << 8 | data[pos + 1];
		bool was_broken = sonde_hpack_broken(&h);
		size_t len;
		int r;

		pos += 2;
		if (w & 0x8000) {
			sonde_hpack_set_limit(&h, (w & 0x7fffu) * 4);
			check(&h);
			continue;
		}
		len = w < size - pos ? w : size - pos;
		r = sonde_hpack_decode(&h, data + pos, len, on_header, &sum);
		pos += len;
		if ((r != 0) != sonde_hpack_broken(&h) || (was_broken && r != -EINVAL))
			abort();
		check(&h);
	}
	sonde_hpack_fini(&h);
	return sum == 0xdeadbeef; /* keeps sum alive; libFuzzer ignores the value */
}
