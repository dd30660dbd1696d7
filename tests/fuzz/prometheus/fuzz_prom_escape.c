// SPDX-License-Identifier: MIT
/*
 * Label values and HELP text from arbitrary bytes through the whole
 * formatter; checks that output lines cannot be forged (no raw newline
 * inside a sample) and that output is always valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prom_format.h"

static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *str = malloc(size + 1);
	struct sonde_snap_series s[2] = {
		{ .value = 1, .created = 2, .count = 1, .buckets = { 1 } },
		{ .value = -1, .count = 0 },
	};
	struct sonde_snap_family f[2] = {
		{ .name = "fuzz_total", .type = SONDE_COUNTER, .n_labels = 2,
		  .labels = { "a", "b" }, .n_series = 2, .series = s },
		{ .name = "fuzz_seconds", .type = SONDE_HISTOGRAM, .n_labels = 1,
		  .labels = { "a" }, .n_buckets = 1, .buckets = { 0.5 },
		  .n_series = 2, .series = s },
	};
	struct sonde_snapshot snap = { .n_families = 2, .families = f };
	struct sonde_buf out;
	size_t lines;

	if (!str)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	s[0].values[0] = str;
	s[0].values[1] = str + strlen(str) / 2;
	s[1].values[0] = "";
	f[0].help = str;
	f[1].help = str;
	for (int fmt = 0; fmt < 2; fmt++) {
		sonde_buf_init(&out, 0);
		if (sonde_prom_format(&snap, (enum sonde_prom_fmt)fmt, &out) == 0) {
			/* fixed shape: HELP+TYPE + 2 samples, HELP+TYPE + 2*(2 buckets+sum+count) */
			lines = 0;
			for (size_t i = 0; i < out.len; i++)
				lines += out.data[i] == '\n';
			if (fmt == SONDE_PROM_TEXT && (str[0] ? lines != 4 + 10 : lines != 2 + 10))
				abort();
			if (!valid_utf8((const unsigned char *)out.data, out.len))
				abort();
		}
		sonde_buf_release(&out);
	}
	free(str);
	return 0;
}
