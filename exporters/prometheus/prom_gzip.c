// SPDX-License-Identifier: MIT
#include "prom_gzip.h"

#include <errno.h>
#include <limits.h>

int sonde_gzip_init(struct sonde_gzip *gz, int level)
{
	*gz = (struct sonde_gzip){ .level = level };
	/* windowBits 15 + 16: a gzip wrapper, not zlib's. */
	if (deflateInit2(&gz->zs, level, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	gz->ready = true;
	return 0;
}

void sonde_gzip_done(struct sonde_gzip *gz)
{
	if (!gz || !gz->ready)
		return;
	deflateEnd(&gz->zs);
	gz->ready = false;
}

int sonde_gzip_compress(struct sonde_gzip *gz, const void *in, size_t len,
			struct sonde_buf *out)
{
	size_t bound;
	int zr;

	if (!gz->ready || len > UINT_MAX)
		return -EINVAL;
	if (deflateReset(&gz->zs) != Z_OK)
		return -EIO;
	bound = deflateBound(&gz->zs, (uLong)len);
	if (!sonde_buf_reserve(out, bound))
		return -ENOMEM;
	gz->zs.next_in = (Bytef *)in;
	gz->zs.avail_in = (uInt)len;
	gz->zs.next_out = (Bytef *)out->data + out->len;
	gz->zs.avail_out = (uInt)(out->cap - out->len > UINT_MAX ? UINT_MAX : out->cap - out->len);
	zr = deflate(&gz->zs, Z_FINISH);
	if (zr != Z_STREAM_END)
		return -EIO;
	out->len += gz->zs.total_out;
	return 0;
}
