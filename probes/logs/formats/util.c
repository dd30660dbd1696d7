// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"
#include "sanitize.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const uint64_t pow10_tab[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
	10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
	100000000000ull, 1000000000000ull, 10000000000000ull,
	100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull,
	10000000000000000000ull,
};

int sonde_logfmt_decimal_scaled(const char *s, size_t len, int scale_exp,
				uint64_t *ret_val)
{
	uint64_t mant = 0;
	unsigned sig = 0;
	int exp10 = 0;
	size_t i = 0;
	bool any = false;

	/* Integer arithmetic only: durations must sum exactly like the logs. */
	for (; i < len && is_digit(s[i]); i++) {
		any = true;
		if (sig < 19) {
			mant = mant * 10 + (uint64_t)(s[i] - '0');
			if (mant)
				sig++;
		} else {
			exp10++;
		}
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++) {
			any = true;
			if (sig < 19) {
				mant = mant * 10 + (uint64_t)(s[i] - '0');
				if (mant)
					sig++;
				exp10--;
			}
		}
	}
	if (!any)
		return -EINVAL;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		bool neg = false;
		int e = 0;
		size_t start;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			neg = s[i++] == '-';
		start = i;
		for (; i < len && is_digit(s[i]); i++)
			if (e < 1000)
				e = e * 10 + (s[i] - '0');
		if (i == start)
			return -EINVAL;
		exp10 += neg ? -e : e;
	}
	if (i != len)
		return -EINVAL;
	exp10 += scale_exp;
	if (mant == 0) {
		*ret_val = 0;
		return 0;
	}
	if (exp10 < 0) {
		uint64_t div, q;

		if (-exp10 > 19) {
			*ret_val = 0;
			return 0;
		}
		div = pow10_tab[-exp10];
		q = mant / div;
		if (mant % div >= div / 2 + div % 2)
			q++;
		*ret_val = q;
		return 0;
	}
	if (exp10 > 19 || mant > UINT64_MAX / pow10_tab[exp10])
		return -ERANGE;
	*ret_val = mant * pow10_tab[exp10];
	return 0;
}


int64_t sonde_logfmt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

unsigned sonde_logfmt_month(const char *s, size_t len)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	unsigned m;

	if (len != 3)
		return 0;
	for (m = 0; m < 12; m++)
		if (memcmp(months + 3 * m, s, 3) == 0)
			return m + 1;
	return 0;
}

static bool digits(const char *s, size_t n, unsigned *ret)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return true;
}

static int compose(unsigned y, unsigned mo, unsigned d, unsigned h,
		   unsigned mi, unsigned sec, int64_t off_s, uint64_t frac_ns,
		   uint64_t *ret_ns)
{
	int64_t t;

	if (y < 1970 || y > 2400 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	t = sonde_logfmt_days_from_civil(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + sec - off_s;
	if (t < 0)
		return -EINVAL;
	*ret_ns = (uint64_t)t * 1000000000ull + frac_ns;
	return 0;
}

/* "+hhmm", "+hh:mm", "-hh" -> seconds east of UTC. */
static int parse_offset(const char *s, size_t len, int64_t *ret_off)
{
	unsigned h = 0, m = 0;
	int64_t off;

	if (len < 3 || (s[0] != '+' && s[0] != '-') || !digits(s + 1, 2, &h))
		return -EINVAL;
	if (len == 5 && !digits(s + 3, 2, &m))
		return -EINVAL;
	if (len == 6 && (s[3] != ':' || !digits(s + 4, 2, &m)))
		return -EINVAL;
	if (len != 3 && len != 5 && len != 6)
		return -EINVAL;
	off = (int64_t)h * 3600 + m * 60;
	*ret_off = s[0] == '-' ? -off : off;
	return 0;
}

int sonde_logfmt_time_clf(const char *s, size_t len, uint64_t *ret_ns)
{
	unsigned d, mo, y, h, mi, sec;
	int64_t off;

	/* 22/Nov/2026:04:30:00 +0000 */
	if (len != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' ||
	    s[14] != ':' || s[17] != ':' || s[20] != ' ')
		return -EINVAL;
	mo = sonde_logfmt_month(s + 3, 3);
	if (!mo || !digits(s, 2, &d) || !digits(s + 7, 4, &y) ||
	    !digits(s + 12, 2, &h) || !digits(s + 15, 2, &mi) ||
	    !digits(s + 18, 2, &sec) || parse_offset(s + 21, 5, &off) < 0)
		return -EINVAL;
	return compose(y, mo, d, h, mi, sec, off, 0, ret_ns);
}

int sonde_logfmt_time_iso(const char *s, size_t len, uint64_t *ret_ns)
{
	unsigned y, mo, d, h, mi, sec;
	uint64_t frac = 0;
	int64_t off = 0;
	size_t i = 19;

	/* 2026-11-22T04:30:00 */
	if (len < 19 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
		return -EINVAL;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
	    !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return -EINVAL;
	if (i < len && s[i] == '.') {
		size_t start = i;

		for (i++; i < len && is_digit(s[i]); i++)
			;
		if (sonde_logfmt_decimal_scaled(s + start, i - start, 9,
						&frac) < 0 || frac >= 1000000000ull)
			return -EINVAL;
	}
	if (i < len && s[i] == ' ')
		i++;
	if (i == len || (len - i == 1 && s[i] == 'Z') ||
	    (len - i == 3 && (memcmp(s + i, "UTC", 3) == 0 ||
			      memcmp(s + i, "GMT", 3) == 0)))
		off = 0;
	else if (parse_offset(s + i, len - i, &off) < 0)
		return -EINVAL;
	return compose(y, mo, d, h, mi, sec, off, frac, ret_ns);
}

const char *sonde_logfmt_find(const char *hay, size_t haylen, const char *needle,
			      size_t nlen)
{
	if (nlen == 0)
		return hay;
	if (haylen < nlen)
		return NULL;
	return memmem(hay, haylen, needle, nlen);
}

bool sonde_logfmt_starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

const char *sonde_logfmt_skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	return s;
}

void sonde_logfmt_set_method(struct sonde_txn *txn, const char *s, size_t len)
{
	/* RFC 9110 + PATCH, WebDAV and PURGE; anything else is OTel's _OTHER,
	 * so junk requests cannot mint label values. */
#define M(x) { x, sizeof(x) - 1 }
	static const struct {
		const char *s;
		size_t n;
	} methods[] = {
		M("GET"),     M("HEAD"),     M("POST"),  M("PUT"),    M("DELETE"),
		M("CONNECT"), M("OPTIONS"),  M("TRACE"), M("PATCH"),  M("PURGE"),
		M("PROPFIND"), M("PROPPATCH"), M("MKCOL"), M("COPY"),  M("MOVE"),
		M("LOCK"),    M("UNLOCK"),
	};
#undef M
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (methods[i].n == len && memcmp(methods[i].s, s, len) == 0) {
			SONDE_TXN_SET(txn->operation, s, len);
			return;
		}
	}
	SONDE_TXN_SET(txn->operation, "_OTHER", 6);
}

void sonde_logfmt_set_path(struct sonde_txn *txn, const char *s, size_t len)
{
	/* the route never looks past the query string: no need to copy it */
	const char *q = memchr(s, '?', len);

	SONDE_TXN_SET(txn->path, s, q ? (size_t)(q - s) : len);
}

void sonde_logfmt_request_line(const char *s, size_t len,
			       struct sonde_txn *txn)
{
	const char *sp, *path, *end;

	sp = memchr(s, ' ', len);
	if (!sp) {
		sonde_logfmt_set_method(txn, s, len);
		return;
	}
	sonde_logfmt_set_method(txn, s, (size_t)(sp - s));
	path = sp + 1;
	end = memchr(path, ' ', len - (size_t)(path - s));
	if (!end)
		end = s + len;
	sonde_logfmt_set_path(txn, path, (size_t)(end - path));
}

void sonde_logfmt_cache_status(struct sonde_txn *txn, const char *s, size_t len)
{
	static const char *const hits[] = { "HIT", "STALE", "UPDATING",
					    "REVALIDATED" };
	static const char *const misses[] = { "MISS", "EXPIRED", "BYPASS" };
	size_t i;

	for (i = 0; i < sizeof(hits) / sizeof(hits[0]); i++) {
		if (strlen(hits[i]) == len && memcmp(hits[i], s, len) == 0) {
			txn->cache_lookups = 1;
			txn->cache_hits = 1;
			return;
		}
	}
	for (i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		if (strlen(misses[i]) == len && memcmp(misses[i], s, len) == 0) {
			txn->cache_lookups = 1;
			txn->cache_hits = 0;
			return;
		}
	}
}

void sonde_logfmt_set_host(struct sonde_txn *txn, const char *s, size_t len)
{
	const char *colon;
	uint64_t port;

	if (len == 0 || (len == 1 && s[0] == '-'))
		return;
	/* "[::1]:8080", "host:8080"; a bare IPv6 address has several ':'. */
	colon = memrchr(s, ':', len);
	if (colon && (s[0] == '[' ? colon > s && colon[-1] == ']'
				  : memchr(s, ':', len) == colon) &&
	    sonde_logfmt_uint(colon + 1, len - (size_t)(colon + 1 - s), &port) == 0 &&
	    port <= 65535) {
		txn->server_port = (uint16_t)port;
		len = (size_t)(colon - s);
	}
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	SONDE_TXN_SET(txn->server_address, s, len);
}

/* Dotted-quad IPv4, strictly (no leading zeros), without a copy. */
static bool ipv4(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, nd = 0;

		if (part && (i == len || s[i++] != '.'))
			return false;
		while (i < len && s[i] >= '0' && s[i] <= '9' && nd < 4) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			nd++;
		}
		if (nd == 0 || nd > 3 || v > 255 || (nd > 1 && s[i - nd] == '0'))
			return false;
		out[part] = (uint8_t)v;
	}
	return i == len;
}

void sonde_logfmt_set_addr(struct sonde_addr *a, const char *s, size_t len)
{
	char buf[64];

	if (len == 0 || len >= sizeof(buf))
		return;
	if (ipv4(s, len, a->addr)) {
		a->family = AF_INET;
		return;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->addr) == 1)
		a->family = AF_INET6;
}

void sonde_logfmt_set_sql(struct sonde_txn *txn, const char *sql, size_t len)
{
	sonde_sql_summarize(sql, len, txn->operation, sizeof(txn->operation),
			    txn->target, sizeof(txn->target));
}
