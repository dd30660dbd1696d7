// SPDX-License-Identifier: MIT
#include <arpa/inet.h>

#include "transaction.h"

const char *sonde_proto_name(enum sonde_proto p)
{
	switch (p) {
	case SONDE_PROTO_HTTP1:
	case SONDE_PROTO_HTTP2: return "http";
	case SONDE_PROTO_POSTGRES: return "postgresql";
	case SONDE_PROTO_MYSQL: return "mysql";
	case SONDE_PROTO_REDIS: return "redis";
	case SONDE_PROTO_MEMCACHED: return "memcached";
	case SONDE_PROTO_NGINX_CACHE: return "nginx";
	default: return "unknown";
	}
}

const char *sonde_txn_kind_name(enum sonde_txn_kind k)
{
	switch (k) {
	case SONDE_TXN_HTTP_SERVER: return "http_server";
	case SONDE_TXN_HTTP_CLIENT: return "http_client";
	case SONDE_TXN_DB: return "db";
	case SONDE_TXN_CACHE: return "cache";
	default: return "none";
	}
}

void sonde_addr_string(const struct sonde_addr *a, char *out, size_t len)
{
	if (len == 0)
		return;
	out[0] = '\0';
	if (a->family == AF_INET && len >= 16) {
		/* per client transaction: glibc's inet_ntop formats through sprintf */
		size_t o = 0;

		for (int i = 0; i < 4; i++) {
			unsigned v = a->addr[i];

			if (i)
				out[o++] = '.';
			if (v >= 100)
				out[o++] = (char)('0' + v / 100);
			if (v >= 10)
				out[o++] = (char)('0' + v / 10 % 10);
			out[o++] = (char)('0' + v % 10);
		}
		out[o] = '\0';
	} else if (a->family == AF_INET || a->family == AF_INET6) {
		if (!inet_ntop(a->family, a->addr, out, (socklen_t)len))
			out[0] = '\0'; /* too small: empty, not a cut address */
	}
}
