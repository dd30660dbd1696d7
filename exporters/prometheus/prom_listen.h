/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROM_LISTEN_H
#define SONDE_PROM_LISTEN_H

#include <stddef.h>

/*
 * Resolves listen (getaddrinfo: names, IPv4, [IPv6]) and returns a bound,
 * listening, non-blocking socket on the first address that works, and the
 * port it got. On failure: -errno and "cannot listen on X: reason".
 */
int sonde_prom_listen(const char *listen, int *ret_fd, unsigned *ret_port,
		      char *errbuf, size_t errlen);

#endif
