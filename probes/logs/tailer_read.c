// SPDX-License-Identifier: MIT
/* From read(2) chunks to lines: partial lines, long lines, the budget. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tailer_internal.h"

/* Per file and call: bounds the time one backlog holds the owner. */
#define READ_BUDGET (16 * 1024 * 1024)
#define PARTIAL_INITIAL 4096

static void deliver(struct sonde_tailer *t, struct tail_file *f,
		    const char *p, size_t len, bool truncated)
{
	t->ops.line(t->userdata, f->user, p, len, truncated);
}

static int partial_append(struct tail_file *f, const char *p, size_t n)
{
	if (f->plen + n > f->pcap) {
		size_t ncap = f->pcap ? f->pcap : PARTIAL_INITIAL;
		char *np;

		while (ncap < f->plen + n)
			ncap *= 2;
		if (ncap > f->max_line)
			ncap = f->max_line;
		np = realloc(f->partial, ncap);
		if (!np)
			return -ENOMEM;
		f->partial = np;
		f->pcap = ncap;
	}
	memcpy(f->partial + f->plen, p, n);
	f->plen += n;
	return 0;
}

/*
 * Splits a chunk into lines. A line longer than max_line is delivered as
 * its first max_line bytes as soon as that many are known, and the rest is
 * skipped up to its newline, so a huge line never stalls the file nor
 * grows the partial buffer past max_line.
 */
static int consume(struct sonde_tailer *t, struct tail_file *f, const char *p,
		   size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;
		size_t room;

		if (f->skipping) {
			if (!nl)
				return 0;
			f->skipping = false;
			goto next;
		}
		if (nl && f->plen == 0 && len <= f->max_line) {
			deliver(t, f, p, len, false);
			goto next;
		}
		room = f->max_line - f->plen;
		if (len <= room) {
			int err = partial_append(f, p, len);

			if (err < 0)
				return err;
			if (!nl)
				return 0;
			deliver(t, f, f->partial, f->plen, false);
			f->plen = 0;
			goto next;
		}
		/* too long: what fits, then skip the rest of this line */
		if (f->plen == 0) {
			deliver(t, f, p, f->max_line, true);
		} else {
			int err = partial_append(f, p, room);

			if (err < 0)
				return err;
			deliver(t, f, f->partial, f->plen, true);
			f->plen = 0;
		}
		if (!nl) {
			f->skipping = true;
			return 0;
		}
next:
		if (!nl)
			return 0;
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	return 0;
}

int sonde_tailer_file_read(struct sonde_tailer *t, struct tail_file *f)
{
	size_t done = 0;

	f->backlog = false;
	while (done < READ_BUDGET) {
		ssize_t n = read(f->fd, t->buf, t->buf_size);
		int err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			t->stats.read_errors++;
			return -errno;
		}
		if (n == 0)
			return 0;
		f->read_off += (uint64_t)n;
		done += (size_t)n;
		err = consume(t, f, t->buf, (size_t)n);
		if (err < 0)
			return err;
	}
	f->backlog = true;
	t->more = true;
	return 0;
}
