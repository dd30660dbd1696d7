/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROM_SERVER_H
#define SONDE_PROM_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

/*
 * The HTTP side of the exporter: libmicrohttpd with one internal epoll
 * thread, so handlers are serialised and share one gzip state and one
 * size hint. Every scrape formats a fresh snapshot of the registry.
 */

#define SONDE_PROM_LISTEN_MAX 256

struct sonde_prom_server_opts {
	const char *listen;	  /* "host:port", "[v6]:port", ":port"; port 0 = any */
	unsigned max_connections; /* open at once; more are closed and counted */
	unsigned timeout_s;	  /* idle connection timeout; 0 = 10 s */
	bool gzip;		  /* offer Content-Encoding: gzip */
};

struct sonde_prom_server;

/* Registers the exporter's self metrics in reg; no I/O. */
int sonde_prom_server_new(struct sonde_registry *reg,
			  const struct sonde_prom_server_opts *opts,
			  struct sonde_prom_server **ret_srv);
/*
 * Binds and starts serving. On failure returns -errno and writes e.g.
 * "cannot listen on 127.0.0.1:9745: Address already in use" into errbuf.
 */
int sonde_prom_server_start(struct sonde_prom_server *srv, char *errbuf,
			    size_t errlen);
/* The bound port (useful with port 0), 0 when not started. */
unsigned sonde_prom_server_port(const struct sonde_prom_server *srv);
void sonde_prom_server_stop(struct sonde_prom_server *srv);
void sonde_prom_server_free(struct sonde_prom_server *srv);

/* Splits a listen string; host "" means every address. 0 or -EINVAL. */
int sonde_prom_split_listen(const char *listen, char *host, size_t hostlen,
			    char *port, size_t portlen);

#endif
