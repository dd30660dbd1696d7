// SPDX-License-Identifier: MIT
#include "transaction.h"

const char *sonde_proto_name(enum sonde_proto p)
{
	switch (p) {
	case SONDE_PROTO_HTTP1: return "http";
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
