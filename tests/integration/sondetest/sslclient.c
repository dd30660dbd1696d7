// SPDX-License-Identifier: MIT
/*
 * An HTTPS client with OpenSSL linked into it (built by sslprogs.py
 * against Debian's libssl.a): sslclient PORT N [wait]. N GET requests on
 * one keep-alive connection to 127.0.0.1:PORT, every third for /missing;
 * with "wait", it first reads a line from stdin (the agent starts
 * meanwhile). Prints "200 <n> 404 <n>" and exits 0 when every answer
 * was read whole.
 */
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads one response (headers, then Content-Length bytes); its status or -1. */
static int response(SSL *ssl)
{
	char buf[16384];
	size_t have = 0;
	char *end, *cl;
	long body;
	int status;

	while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
		int n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have));

		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
	buf[have] = '\0';
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	cl = strcasestr(buf, "\r\ncontent-length:");
	body = cl ? strtol(cl + 17, NULL, 10) : 0;
	body -= (long)(have - (size_t)(end + 4 - buf));
	while (body > 0) {
		int n = SSL_read(ssl, buf, body < (long)sizeof(buf) ? (int)body : (int)sizeof(buf));

		if (n <= 0)
			return -1;
		body -= n;
	}
	return status;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int n, fd, ok = 0, missing = 0;
	char line[16];
	SSL_CTX *ctx;
	SSL *ssl;

	if (argc < 3)
		return 2;
	if (argc > 3 && !fgets(line, sizeof(line), stdin))
		return 2;
	n = atoi(argv[2]);
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(0x7f000001);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return 3;
	ctx = SSL_CTX_new(TLS_client_method());
	ssl = ctx ? SSL_new(ctx) : NULL;
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return 4;
	}
	for (int i = 0; i < n; i++) {
		char req[128];
		int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n",
				   i % 3 == 2 ? "/missing" : "/ok");
		int st;

		if (SSL_write(ssl, req, len) != len)
			return 5;
		st = response(ssl);
		if (st == 200)
			ok++;
		else if (st == 404)
			missing++;
		else
			return 6;
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	printf("200 %d 404 %d\n", ok, missing);
	return 0;
}
