// SPDX-License-Identifier: MIT
#include "logs_dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DUMP_BUF (1024 * 1024)

struct sonde_logs_dump {
	int fd;
	uint64_t max_bytes, written, dropped;
	size_t len, lines; /* buffered */
	char buf[DUMP_BUF];
};

int sonde_logs_dump_open(const char *path, uint64_t max_bytes,
			 struct sonde_logs_dump **ret_dump)
{
	struct sonde_logs_dump *d = malloc(sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (d->fd < 0) {
		int err = -errno;

		free(d);
		return err;
	}
	d->max_bytes = max_bytes;
	d->written = d->dropped = 0;
	d->len = d->lines = 0;
	*ret_dump = d;
	return 0;
}

int sonde_logs_dump_flush(struct sonde_logs_dump *d)
{
	size_t off = 0;

	if (!d)
		return 0;
	while (off < d->len) {
		ssize_t n = write(d->fd, d->buf + off, d->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			d->dropped += d->lines;
			d->len = d->lines = 0;
			return err;
		}
		off += (size_t)n;
	}
	d->len = d->lines = 0;
	return 0;
}

void sonde_logs_dump_line(struct sonde_logs_dump *d, const char *line,
			  size_t len)
{
	if (d->written + len + 1 > d->max_bytes || len + 1 > DUMP_BUF) {
		d->dropped++;
		return;
	}
	if (d->len + len + 1 > DUMP_BUF)
		sonde_logs_dump_flush(d);
	memcpy(d->buf + d->len, line, len);
	d->buf[d->len + len] = '\n';
	d->len += len + 1;
	d->lines++;
	d->written += len + 1;
}

uint64_t sonde_logs_dump_dropped(const struct sonde_logs_dump *d)
{
	return d ? d->dropped : 0;
}

void sonde_logs_dump_close(struct sonde_logs_dump *d)
{
	if (!d)
		return;
	sonde_logs_dump_flush(d);
	close(d->fd);
	free(d);
}
