// SPDX-License-Identifier: MIT
#include <string.h>

#include "protocols/framing.h"
#include "protocols/httpcommon.h"

const char *const sonde_http_methods[SONDE_HTTP_N_METHODS] = {
	"_OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
	"TRACE", "PATCH",
};

int sonde_http_method_index(const char *tok, size_t len)
{
	unsigned i;

	for (i = 1; i < SONDE_HTTP_N_METHODS; i++)
		if (sonde_token_eq(tok, len, sonde_http_methods[i]))
			return (int)i;
	return -1;
}

/* W3C trace context: lowercase hex only (sonde_hexval takes either case). */
static int lower_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool parse_hex_bytes(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	uint8_t any = 0;

	for (i = 0; i < n; i++) {
		int hi = lower_hexval(s[2 * i]), lo = lower_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
		any |= out[i];
	}
	return any != 0; /* all-zero ids are invalid */
}

bool sonde_http_traceparent(const char *v, size_t n, uint8_t trace_id[16],
			    uint8_t span_id[8], uint8_t *ret_flags)
{
	uint8_t tid[16], sid[8];

	if (n < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-')
		return false;
	if (lower_hexval(v[0]) < 0 || lower_hexval(v[1]) < 0 || (v[0] == 'f' && v[1] == 'f'))
		return false;
	if (v[0] == '0' && v[1] == '0' && n != 55)
		return false;
	if (n > 55 && v[55] != '-')
		return false;
	if (!parse_hex_bytes(v + 3, tid, 16) || !parse_hex_bytes(v + 36, sid, 8))
		return false;
	if (lower_hexval(v[53]) < 0 || lower_hexval(v[54]) < 0)
		return false;
	memcpy(trace_id, tid, 16);
	memcpy(span_id, sid, 8);
	*ret_flags = (uint8_t)(lower_hexval(v[53]) << 4 | lower_hexval(v[54]));
	return true;
}

bool sonde_http_authority(const char *v, size_t n, const char **ret_host,
			  size_t *ret_hlen, uint16_t *ret_port)
{
	const char *host = v, *port = NULL;
	size_t hlen = n, plen = 0, i;
	uint64_t p;

	if (n > 0 && v[0] == '[') {
		const char *rb = memchr(v, ']', n);

		if (!rb)
			return false;
		host = v + 1;
		hlen = (size_t)(rb - host);
		if ((size_t)(rb - v) + 1 < n && rb[1] == ':') {
			port = rb + 2;
			plen = n - (size_t)(port - v);
		}
	} else {
		for (i = n; i > 0; i--)
			if (v[i - 1] == ':')
				break;
		if (i > 0) {
			hlen = i - 1;
			port = v + i;
			plen = n - i;
		}
	}
	*ret_port = 0;
	if (port && sonde_parse_u64(port, plen, &p) && p > 0 && p <= 65535)
		*ret_port = (uint16_t)p;
	*ret_host = host;
	*ret_hlen = hlen;
	return true;
}
