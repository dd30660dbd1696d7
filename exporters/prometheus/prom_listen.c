// SPDX-License-Identifier: MIT
/* Address parsing and binding: ours, so a bind failure has a clear errno. */
#include "prom_listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "prom_server.h"

int sonde_prom_split_listen(const char *listen, char *host, size_t hostlen,
			    char *port, size_t portlen)
{
	unsigned p;

	/* Port 0 is allowed here: tests bind to any free port. */
	if (sonde_listen_split(listen, host, hostlen, &p) < 0)
		return -EINVAL;
	if ((size_t)snprintf(port, portlen, "%u", p) >= portlen)
		return -EINVAL;
	return 0;
}

static int bind_one(const struct addrinfo *ai, int *ret_fd)
{
	int fd, one = 1, err;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
	if (fd < 0)
		return -errno;
	/* Restarts must not wait out TIME_WAIT from the last scrape. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		err = -errno;
		goto fail;
	}
	*ret_fd = fd;
	return 0;
fail:
	close(fd);
	return err;
}

int sonde_prom_listen(const char *listen, int *ret_fd, unsigned *ret_port,
		      char *errbuf, size_t errlen)
{
	char host[SONDE_PROM_LISTEN_MAX], port[8];
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int err, gai, fd = -1;

	err = sonde_prom_split_listen(listen, host, sizeof(host), port, sizeof(port));
	if (err) {
		snprintf(errbuf, errlen, "cannot listen on %s: not host:port or [ipv6]:port",
			 listen ? listen : "(null)");
		return err;
	}
	gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai) {
		snprintf(errbuf, errlen, "cannot listen on %s: %s", listen,
			 gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return gai == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	}
	/*
	 * One socket only: IPv4 first ("localhost", the wildcard), since most
	 * scrape configs name IPv4 targets; IPv6 when that is all there is.
	 */
	err = -EADDRNOTAVAIL;
	for (int pass = 0; pass < 2 && err; pass++) {
		for (ai = res; ai && err; ai = ai->ai_next) {
			if ((ai->ai_family == AF_INET) == (pass == 0))
				err = bind_one(ai, &fd);
		}
	}
	freeaddrinfo(res);
	if (err) {
		snprintf(errbuf, errlen, "cannot listen on %s: %s", listen, strerror(-err));
		return err;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		err = -errno;
		close(fd);
		snprintf(errbuf, errlen, "cannot listen on %s: %s", listen, strerror(-err));
		return err;
	}
	*ret_port = ss.ss_family == AF_INET6 ?
			    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
			    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*ret_fd = fd;
	return 0;
}
