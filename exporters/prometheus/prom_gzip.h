/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROM_GZIP_H
#define SONDE_PROM_GZIP_H

#include <stddef.h>

#include <zlib.h>

#include "prom_buf.h"

/*
 * A reusable gzip deflater: the ~270 KiB of zlib state is allocated once
 * at start and reset per scrape. Not thread-safe: one per serving thread.
 */
struct sonde_gzip {
	z_stream zs;
	int level;
	bool ready;
};

int sonde_gzip_init(struct sonde_gzip *gz, int level);
void sonde_gzip_done(struct sonde_gzip *gz);
/* Compresses in[0..len) into out (appended); 0, -ENOMEM or -EIO. */
int sonde_gzip_compress(struct sonde_gzip *gz, const void *in, size_t len,
			struct sonde_buf *out);

#endif
