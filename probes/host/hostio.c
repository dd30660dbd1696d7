// SPDX-License-Identifier: MIT
#include "hostio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_INITIAL 4096

static int buf_grow(struct sonde_host_buf *buf)
{
	size_t nc = buf->cap ? buf->cap * 2 : BUF_INITIAL;
	char *nd;

	if (buf->cap >= buf->max)
		return -EFBIG;
	if (nc > buf->max)
		nc = buf->max;
	nd = realloc(buf->data, nc);
	if (!nd)
		return -ENOMEM;
	buf->data = nd;
	buf->cap = nc;
	return 0;
}

int sonde_host_buf_read_path(struct sonde_host_buf *buf, const char *path)
{
	int fd, err = 0;

	if (buf->max == 0)
		buf->max = 1 << 20;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf->len = 0;
	for (;;) {
		ssize_t n;

		/* Keep one byte for the terminating NUL. */
		if (buf->cap - buf->len < 2 && (err = buf_grow(buf)) < 0)
			goto out;
		n = read(fd, buf->data + buf->len, buf->cap - buf->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		buf->len += (size_t)n;
	}
	buf->data[buf->len] = '\0';
out:
	close(fd);
	return err;
}

int sonde_host_buf_read(struct sonde_host_buf *buf, const char *root, const char *rel)
{
	char path[4096];
	int err = sonde_path_join(path, sizeof(path), root, rel);

	if (err < 0)
		return err;
	return sonde_host_buf_read_path(buf, path);
}

void sonde_host_buf_release(struct sonde_host_buf *buf)
{
	if (!buf)
		return;
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

bool sonde_host_line_next(const char **pos, const char *end, const char **ret_line,
			  size_t *ret_len)
{
	const char *p = *pos, *nl;

	if (!p || p >= end)
		return false;
	nl = memchr(p, '\n', (size_t)(end - p));
	*ret_line = p;
	*ret_len = nl ? (size_t)(nl - p) : (size_t)(end - p);
	*pos = nl ? nl + 1 : end;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

bool sonde_host_tok_next(const char **pos, const char *end, const char **ret_tok,
			 size_t *ret_len)
{
	const char *p = *pos, *s;

	while (p < end && is_blank(*p))
		p++;
	if (p >= end) {
		*pos = end;
		return false;
	}
	s = p;
	while (p < end && !is_blank(*p))
		p++;
	*ret_tok = s;
	*ret_len = (size_t)(p - s);
	*pos = p;
	return true;
}

bool sonde_host_parse_u64(const char *s, size_t len, uint64_t *ret_v)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret_v = v;
	return true;
}

bool sonde_host_parse_double(const char *s, size_t len, double *ret_v)
{
	char tmp[64];
	char *end;
	double v;

	/* strtod needs a terminated copy; also refuses hex, inf and nan below. */
	if (len == 0 || len >= sizeof(tmp))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' ||
		      c == 'E'))
			return false;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	v = strtod(tmp, &end);
	if (errno || end != tmp + len || !isfinite(v))
		return false;
	*ret_v = v;
	return true;
}

int sonde_host_read_u64(struct sonde_host_buf *buf, const char *path, uint64_t *ret_v)
{
	const char *pos, *tok;
	size_t tl;
	uint64_t v;
	int err;

	if ((err = sonde_host_buf_read_path(buf, path)) < 0)
		return err;
	pos = buf->data;
	if (!sonde_host_tok_next(&pos, buf->data + buf->len, &tok, &tl) ||
	    !sonde_host_parse_u64(tok, tl, &v))
		return -EBADMSG;
	*ret_v = v;
	return 0;
}

bool sonde_host_tok_eq(const char *tok, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(tok, word, len) == 0;
}

int sonde_host_parse_psi(const char *data, size_t len, double *ret_some, double *ret_full,
			 unsigned *ret_have)
{
	const char *pos = data, *end = data + len, *line, *tok;
	size_t ll, tl;
	double some = 0, full = 0;
	unsigned have = 0;

	while (sonde_host_line_next(&pos, end, &line, &ll)) {
		const char *lp = line, *le = line + ll;
		unsigned bit;

		if (!sonde_host_tok_next(&lp, le, &tok, &tl))
			continue;
		if (sonde_host_tok_eq(tok, tl, "some"))
			bit = 1;
		else if (sonde_host_tok_eq(tok, tl, "full"))
			bit = 2;
		else
			continue;
		while (sonde_host_tok_next(&lp, le, &tok, &tl)) {
			uint64_t us;

			if (tl > 6 && memcmp(tok, "total=", 6) == 0 &&
			    sonde_host_parse_u64(tok + 6, tl - 6, &us)) {
				/* The kernel accounts stall time in microseconds. */
				if (bit == 1)
					some = (double)us / 1e6;
				else
					full = (double)us / 1e6;
				have |= bit;
				break;
			}
		}
	}
	if (!have)
		return -EBADMSG;
	*ret_some = some;
	*ret_full = full;
	*ret_have = have;
	return 0;
}

double sonde_host_user_hz(void)
{
	long v = sysconf(_SC_CLK_TCK);

	return v > 0 ? (double)v : 100.0;
}

double sonde_host_page_size(void)
{
	long v = sysconf(_SC_PAGESIZE);

	return v > 0 ? (double)v : 4096.0;
}
