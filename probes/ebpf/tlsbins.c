// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sslsyms.h"
#include "tlsbins.h"
#include "log.h"

/* Open addressing over (dev, ino); twice the entries kept, so probes stay short. */
#define SLOTS (2 * SONDE_TLSBINS_SEEN_MAX)

struct seen {
	uint64_t dev, ino; /* ino 0: free */
};

struct sonde_tlsbins {
	char root[256];
	struct seen *slots;
	unsigned n_seen;
	struct sonde_tlsbins_stats stats;
};

struct sonde_tlsbins *sonde_tlsbins_new(const char *proc_root)
{
	struct sonde_tlsbins *tb = calloc(1, sizeof(*tb));

	if (!tb)
		return NULL;
	tb->slots = calloc(SLOTS, sizeof(*tb->slots));
	if (!tb->slots) {
		free(tb);
		return NULL;
	}
	snprintf(tb->root, sizeof(tb->root), "%s", proc_root ? proc_root : "/proc");
	return tb;
}

void sonde_tlsbins_free(struct sonde_tlsbins *tb)
{
	if (!tb)
		return;
	free(tb->slots);
	free(tb);
}

const struct sonde_tlsbins_stats *sonde_tlsbins_stats(const struct sonde_tlsbins *tb)
{
	return &tb->stats;
}

/* true when (dev, ino) was seen; else remembers it (false), if there is room. */
static bool seen(struct sonde_tlsbins *tb, uint64_t dev, uint64_t ino, bool *full)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ull) ^ (ino * 0xc2b2ae3d27d4eb4full);
	unsigned i = (unsigned)(h >> 32) % SLOTS;

	*full = false;
	for (unsigned n = 0; n < SLOTS; n++, i = (i + 1) % SLOTS) {
		struct seen *s = &tb->slots[i];

		if (!s->ino)
			break;
		if (s->dev == dev && s->ino == ino)
			return true;
	}
	if (tb->n_seen >= SONDE_TLSBINS_SEEN_MAX) {
		*full = true;
		return false;
	}
	tb->slots[i].dev = dev;
	tb->slots[i].ino = ino ? ino : 1;
	tb->n_seen++;
	return false;
}

/* A Go program: hooked if its crypto/tls can be. false: not Go with crypto/tls. */
static bool look_go(struct sonde_tlsbins *tb, const char *path, uint32_t pid,
		    const struct sonde_tlsbins_attach *a)
{
	struct sonde_go_tls go;
	char why[256];
	int err = sonde_go_tls_find(path, &go, why, sizeof(why));

	if (err == -ENOTSUP) {
		tb->stats.go_unsupported++;
		sonde_log(SONDE_LOG_WARNING, "probe", "ebpf",
			  "TLS: Go program of pid %u not hooked: %s; its TLS connections are "
			  "counted, not parsed",
			  pid, why);
		return true;
	}
	if (err)
		return false; /* not Go, no crypto/tls, or unreadable */
	err = a->go(a->userdata, path, pid, &go, why, sizeof(why));
	if (err) {
		tb->stats.go_failed++;
		sonde_log(SONDE_LOG_WARNING, "probe", "ebpf",
			  "TLS: Go program of pid %u not hooked: %s", pid, why);
	} else {
		tb->stats.go_hooked++;
	}
	return true;
}

/* A program with OpenSSL linked in (it defines SSL_read and SSL_write). */
static void look_openssl(struct sonde_tlsbins *tb, const char *path, uint32_t pid,
			 const struct sonde_tlsbins_attach *a)
{
	char why[512];
	int err;

	if (!sonde_ssl_defined(path))
		return;
	err = a->openssl(a->userdata, path, pid, why, sizeof(why));
	if (err) {
		tb->stats.ssl_failed++;
		sonde_log(SONDE_LOG_WARNING, "probe", "ebpf",
			  "TLS: the OpenSSL linked into the program of pid %u not hooked: %s; "
			  "its TLS connections are counted, not parsed",
			  pid, why);
	} else {
		tb->stats.ssl_hooked++;
	}
}

/*
 * One process: 1 when its executable was new and looked into. The file is
 * read and hooked through an fd of ours (/proc/self/fd/N), which stays
 * the file's when the process exits meanwhile: a short-lived program
 * often does, and /proc/PID/exe would be gone before its uprobes were
 * attached, and its later runs never hooked.
 */
static unsigned look(struct sonde_tlsbins *tb, uint32_t pid, const struct sonde_tlsbins_attach *a)
{
	char path[300];
	struct stat st;
	bool full;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/exe", tb->root, pid);
	/* kernel threads have no exe: open fails (ENOENT); another user's
	 * process needs CAP_SYS_PTRACE (EACCES) */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if ((errno == EACCES || errno == EPERM) && !tb->stats.denied++)
			tb->stats.denied_pid = pid;
		return 0;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    seen(tb, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &full)) {
		close(fd);
		return 0;
	}
	if (full) {
		tb->stats.skipped++;
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!(a->go && look_go(tb, path, pid, a)) && a->openssl)
		look_openssl(tb, path, pid, a);
	close(fd);
	return 1;
}

unsigned sonde_tlsbins_scan(struct sonde_tlsbins *tb, const uint32_t *pids, unsigned n_pids,
			    const struct sonde_tlsbins_attach *attach)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if (n_pids) {
		for (unsigned i = 0; i < n_pids; i++)
			n += look(tb, pids[i], attach);
		return n;
	}
	d = opendir(tb->root);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || end == de->d_name || pid == 0 || pid > UINT32_MAX)
			continue;
		n += look(tb, (uint32_t)pid, attach);
	}
	closedir(d);
	return n;
}
