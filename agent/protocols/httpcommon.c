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
