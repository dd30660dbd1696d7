// SPDX-License-Identifier: MIT
/*
 * Raw path -> route. Configured patterns win ("/api/users/:id", "{id}",
 * "*" for one segment, or for the rest when last). Otherwise segments that
 * look like identifiers fold into ":id", the depth and length are capped
 * (a final "/" + "*" segment marks the cut) and bytes that are not
 * printable, valid UTF-8 become '?', so the result is always a safe,
 * low-cardinality label value.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hexdigit.h"
#include "route.h"

#define ROUTE_MAX_SEGS 32   /* segments examined for pattern matching */
#define ROUTE_MAX_DEPTH 6   /* segments kept by the heuristic */
#define ROUTE_MAX_LEN 120   /* fits a label value */
#define ROUTE_LONG_SEG 40   /* longer segments are ids or junk */

enum seg_kind {
	SEG_LIT,
	SEG_PARAM,
	SEG_STAR,
};

struct route_seg {
	enum seg_kind kind;
	unsigned char off, len;
};

struct route_pattern {
	char text[SONDE_ROUTE_PATTERN_LEN];
	unsigned n;
	struct route_seg segs[ROUTE_MAX_SEGS];
};

struct sonde_route_table {
	unsigned n;
	struct route_pattern pats[];
};

struct span {
	const char *s;
	size_t len;
};

static int compile_pattern(struct route_pattern *p, const char *text,
			   char *errbuf, size_t errlen)
{
	size_t len = strnlen(text, SONDE_ROUTE_PATTERN_LEN), i = 0;

	if (len == 0 || len >= SONDE_ROUTE_PATTERN_LEN || text[0] != '/') {
		snprintf(errbuf, errlen,
			 "route pattern \"%.*s\" must start with '/' and be shorter than %d",
			 (int)(len > 64 ? 64 : len), text, SONDE_ROUTE_PATTERN_LEN);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		/* the pattern is the label value: printable ASCII only */
		if (text[i] < 0x20 || text[i] > 0x7e) {
			snprintf(errbuf, errlen,
				 "route pattern \"%.64s\": only printable ASCII allowed",
				 text);
			return -EINVAL;
		}
	}
	i = 0;
	memcpy(p->text, text, len);
	p->text[len] = '\0';
	while (i < len) {
		size_t start;
		struct route_seg *sg;

		while (i < len && text[i] == '/')
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && text[i] != '/')
			i++;
		if (p->n == ROUTE_MAX_SEGS) {
			snprintf(errbuf, errlen, "route pattern \"%.64s\": too many segments",
				 text);
			return -EINVAL;
		}
		sg = &p->segs[p->n++];
		sg->off = (unsigned char)start;
		sg->len = (unsigned char)(i - start);
		if (text[start] == ':' ||
		    (text[start] == '{' && text[i - 1] == '}'))
			sg->kind = SEG_PARAM;
		else if (i - start == 1 && text[start] == '*')
			sg->kind = SEG_STAR;
		else
			sg->kind = SEG_LIT;
	}
	return 0;
}

int sonde_route_table_new(const char (*patterns)[SONDE_ROUTE_PATTERN_LEN],
			  unsigned n, struct sonde_route_table **ret_table,
			  char *errbuf, size_t errlen)
{
	struct sonde_route_table *t;
	unsigned i;
	int err;

	if (n > SONDE_ROUTE_MAX_PATTERNS || (n && !patterns)) {
		snprintf(errbuf, errlen, "at most %d route patterns",
			 SONDE_ROUTE_MAX_PATTERNS);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t) + n * sizeof(t->pats[0]));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = compile_pattern(&t->pats[i], patterns[i], errbuf, errlen);
		if (err < 0)
			goto err;
	}
	t->n = n;
	*ret_table = t;
	return 0;
err:
	free(t);
	return err;
}

void sonde_route_table_free(struct sonde_route_table *table)
{
	free(table);
}

static bool pattern_match(const struct route_pattern *p,
			  const struct span *segs, unsigned n, bool more)
{
	unsigned i;

	for (i = 0; i < p->n; i++) {
		const struct route_seg *sg = &p->segs[i];

		if (sg->kind == SEG_STAR && i + 1 == p->n)
			return true;
		if (i >= n)
			return false;
		if (sg->kind == SEG_LIT &&
		    (sg->len != segs[i].len ||
		     memcmp(p->text + sg->off, segs[i].s, sg->len) != 0))
			return false;
	}
	return i == n && !more;
}

/* Length of a valid UTF-8 sequence at s (2..4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static bool is_uuid(const char *s, size_t len)
{
	size_t i;

	if (len != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (sonde_hexval(s[i]) < 0) {
			return false;
		}
	}
	return true;
}

/* Character classes for looks_like_id, one table load per byte. */
enum { C_DIGIT = 1, C_HEX = 2, C_UPPER = 4, C_LOWER = 8 };
/* ISO C has no range designators: runs of 2^k characters */
#define R2(c, v) [(c)] = (v), [(c) + 1] = (v)
#define R4(c, v) R2(c, v), R2((c) + 2, v)
#define R8(c, v) R4(c, v), R4((c) + 4, v)
#define R16(c, v) R8(c, v), R8((c) + 8, v)
static const unsigned char char_class[256] = {
	R8('0', C_DIGIT | C_HEX), R2('8', C_DIGIT | C_HEX),
	R4('A', C_UPPER | C_HEX), R2('E', C_UPPER | C_HEX),
	R16('G', C_UPPER), R4('W', C_UPPER),
	R4('a', C_LOWER | C_HEX), R2('e', C_LOWER | C_HEX),
	R16('g', C_LOWER), R4('w', C_LOWER),
};
#undef R16
#undef R8
#undef R4
#undef R2

static bool looks_like_id(const char *s, size_t len)
{
	size_t i, digits = 0, hex = 0;
	unsigned seen = 0;

	if (len > ROUTE_LONG_SEG || is_uuid(s, len))
		return true;
	for (i = 0; i < len; i++) {
		unsigned c = char_class[(unsigned char)s[i]];

		digits += c & C_DIGIT;
		hex += (c & C_HEX) >> 1;
		seen |= c;
	}
	if (digits == len)
		return true;
	/* hashes: deadbeef01, or long enough not to be a word */
	if (hex == len && len >= 8 && (digits || len >= 16))
		return true;
	/* user123, a1b2c3d4, 2024file: many digits among letters */
	if (digits >= 3 && digits * 10 >= len * 3)
		return true;
	/* tokens: long, mixed case and digits (base64-ish) */
	if (len >= 20 && digits && (seen & C_UPPER) && (seen & C_LOWER))
		return true;
	return false;
}

static bool append(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
	if (*n + len > cap)
		return false;
	memcpy(out + *n, s, len);
	*n += len;
	return true;
}

/* Copies a segment with unsafe bytes as '?'; false if it does not fit. */
static bool append_safe(char *out, size_t cap, size_t *n, const char *s,
			size_t len)
{
	size_t i = 0, start = *n;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t u, run;

		for (run = i; run < len && (unsigned char)s[run] >= 0x20 &&
			      (unsigned char)s[run] < 0x7f;
		     run++)
			;
		if (run > i) {
			/* printable ASCII: the whole run at once */
			if (!append(out, cap, n, s + i, run - i))
				goto full;
			i = run;
		} else if (c >= 0x80 &&
			   (u = utf8_len((const unsigned char *)s + i, len - i))) {
			if (!append(out, cap, n, s + i, u))
				goto full;
			i += u;
		} else {
			if (!append(out, cap, n, "?", 1))
				goto full;
			i++;
		}
	}
	return true;
full:
	*n = start;
	return false;
}

void sonde_route_resolve(const struct sonde_route_table *table,
			 const char *path, size_t len, char *out, size_t outlen)
{
	struct span segs[ROUTE_MAX_SEGS];
	unsigned n = 0, i;
	bool more = false;
	size_t cap, o = 0, k;

	if (outlen == 0)
		return;
	out[0] = '\0';
	cap = outlen - 1 < ROUTE_MAX_LEN ? outlen - 1 : ROUTE_MAX_LEN;
	if (!path)
		len = 0;
	for (k = 0; k < len; k++)
		if (path[k] == '?' || path[k] == '#')
			break;
	len = k;
	/* absolute-form request target: http://host/path */
	for (k = 0; k + 2 < len && k < 8 && path[0] != '/'; k++) {
		if (path[k] == ':' && path[k + 1] == '/' && path[k + 2] == '/') {
			const char *slash = memchr(path + k + 3, '/', len - k - 3);

			len = slash ? len - (size_t)(slash - path) : 0;
			path = slash ? slash : path;
			break;
		}
	}
	if (len == 1 && path[0] == '*') {
		append(out, cap, &o, "*", 1);
		goto done;
	}
	if (len && path[0] != '/') {
		append(out, cap, &o, "_OTHER", 6);
		goto done;
	}
	for (k = 0; k < len;) {
		size_t start;

		while (k < len && path[k] == '/')
			k++;
		if (k == len)
			break;
		start = k;
		while (k < len && path[k] != '/')
			k++;
		if (n == ROUTE_MAX_SEGS) {
			more = true;
			break;
		}
		segs[n].s = path + start;
		segs[n].len = k - start;
		n++;
	}
	if (table) {
		for (i = 0; i < table->n; i++) {
			if (pattern_match(&table->pats[i], segs, n, more)) {
				/* configured text, checked at compile: may use
				 * the whole buffer, cut if it must be */
				o = strlen(table->pats[i].text);
				if (o > outlen - 1)
					o = outlen - 1;
				memcpy(out, table->pats[i].text, o);
				goto done;
			}
		}
	}
	if (n == 0) {
		append(out, cap, &o, "/", 1);
		goto done;
	}
	for (i = 0; i < n && i < ROUTE_MAX_DEPTH; i++) {
		/* keep room for the cut marker */
		size_t room = cap >= 2 ? cap - 2 : 0;

		if (!append(out, room, &o, "/", 1))
			break;
		if (looks_like_id(segs[i].s, segs[i].len)) {
			if (!append(out, room, &o, ":id", 3)) {
				o--;
				break;
			}
		} else if (!append_safe(out, room, &o, segs[i].s, segs[i].len)) {
			o--;
			break;
		}
	}
	if (i < n || more)
		append(out, cap, &o, "/*", 2);
done:
	out[o] = '\0';
}
