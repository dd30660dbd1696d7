// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service.h"

struct sonde_service_cache {
	unsigned mask;
	uint64_t ttl_ns;
	char proc_root[256];
	struct sonde_service_info *entries;
};

int sonde_service_cache_new(unsigned size, uint64_t ttl_ns, const char *proc_root,
			    struct sonde_service_cache **ret_cache)
{
	struct sonde_service_cache *c;
	unsigned n = 16;

	while (n < size && n < (1u << 20))
		n <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->entries = calloc(n, sizeof(*c->entries));
	if (!c->entries) {
		free(c);
		return -ENOMEM;
	}
	c->mask = n - 1;
	c->ttl_ns = ttl_ns;
	snprintf(c->proc_root, sizeof(c->proc_root), "%s", proc_root ? proc_root : "/proc");
	*ret_cache = c;
	return 0;
}

void sonde_service_cache_free(struct sonde_service_cache *cache)
{
	if (!cache)
		return;
	free(cache->entries);
	free(cache);
}

/* A path component [s, s+n) that names a systemd service unit. */
static bool is_service(const char *s, size_t n)
{
	return n > 8 && memcmp(s + n - 8, ".service", 8) == 0;
}

static bool last_service(const char *path, size_t len, const char **ret_s,
			 size_t *ret_n)
{
	const char *found = NULL;
	size_t found_n = 0, i = 0;

	while (i < len) {
		size_t start = i;

		while (i < len && path[i] != '/')
			i++;
		if (is_service(path + start, i - start)) {
			found = path + start;
			found_n = i - start;
		}
		i++;
	}
	if (!found)
		return false;
	*ret_s = found;
	*ret_n = found_n;
	return true;
}

int sonde_service_from_cgroup(const char *text, size_t len, char *out,
			      size_t outlen)
{
	const char *end = text + len, *line = text;
	const char *best = NULL;
	size_t best_n = 0;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end;
		const char *c1 = memchr(line, ':', (size_t)(eol - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;

		if (c2) {
			size_t ctl = (size_t)(c2 - c1 - 1);
			bool unified = ctl == 0;
			bool named = ctl == 12 && memcmp(c1 + 1, "name=systemd", 12) == 0;
			const char *s;
			size_t n;

			if ((unified || named) &&
			    last_service(c2 + 1, (size_t)(eol - c2 - 1), &s, &n) &&
			    (!best || unified)) {
				best = s;
				best_n = n;
			}
		}
		line = eol + 1;
	}
	if (!best)
		return -ENOENT;
	sonde_txn_setn(out, (unsigned)outlen, best, best_n);
	return 0;
}

/* Reads at most len-1 bytes of a small /proc file; -errno or the length. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

static void refill(struct sonde_service_cache *cache,
		   struct sonde_service_info *e, uint32_t tgid, uint64_t now_ns,
		   const char *hint)
{
	char path[320], buf[4096];
	ssize_t n;

	memset(e, 0, sizeof(*e));
	e->tgid = tgid;
	e->expires_ns = now_ns + cache->ttl_ns;
	snprintf(path, sizeof(path), "%s/%u/comm", cache->proc_root, tgid);
	n = read_small(path, buf, sizeof(buf));
	if (n > 0) {
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		SONDE_TXN_SET(e->process, buf, (unsigned long)n);
	} else if (hint) {
		/* gone already: short-lived clients often are */
		SONDE_TXN_SET(e->process, hint, strnlen(hint, sizeof(e->process)));
		e->expires_ns = now_ns; /* retried at the next lookup */
	}
	snprintf(path, sizeof(path), "%s/%u/cgroup", cache->proc_root, tgid);
	n = read_small(path, buf, sizeof(buf));
	if (n <= 0 ||
	    sonde_service_from_cgroup(buf, (size_t)n, e->service, sizeof(e->service)))
		memcpy(e->service, e->process, sizeof(e->process));
}

struct sonde_service_info *sonde_service_lookup(struct sonde_service_cache *cache,
						uint32_t tgid, uint64_t now_ns,
						const char *comm_hint)
{
	struct sonde_service_info *e = &cache->entries[tgid & cache->mask];

	if (e->tgid != tgid || e->expires_ns <= now_ns || !e->expires_ns)
		refill(cache, e, tgid, now_ns, comm_hint);
	return e;
}
