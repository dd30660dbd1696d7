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

#include "gobins.h"
#include "log.h"

/* Open addressing over (dev, ino); twice the entries kept, so probes stay short. */
#define SLOTS (2 * SONDE_GOBINS_SEEN_MAX)

struct seen {
	uint64_t dev, ino; /* ino 0: free */
};

struct sonde_gobins {
	char root[256];
	struct seen *slots;
	unsigned n_seen;
	struct sonde_gobins_stats stats;
};

struct sonde_gobins *sonde_gobins_new(const char *proc_root)
{
	struct sonde_gobins *gb = calloc(1, sizeof(*gb));

	if (!gb)
		return NULL;
	gb->slots = calloc(SLOTS, sizeof(*gb->slots));
	if (!gb->slots) {
		free(gb);
		return NULL;
	}
	snprintf(gb->root, sizeof(gb->root), "%s", proc_root ? proc_root : "/proc");
	return gb;
}

void sonde_gobins_free(struct sonde_gobins *gb)
{
	if (!gb)
		return;
	free(gb->slots);
	free(gb);
}

const struct sonde_gobins_stats *sonde_gobins_stats(const struct sonde_gobins *gb)
{
	return &gb->stats;
}

/* true when (dev, ino) was seen; else remembers it (false), if there is room. */
static bool seen(struct sonde_gobins *gb, uint64_t dev, uint64_t ino, bool *full)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ull) ^ (ino * 0xc2b2ae3d27d4eb4full);
	unsigned i = (unsigned)(h >> 32) % SLOTS;

	*full = false;
	for (unsigned n = 0; n < SLOTS; n++, i = (i + 1) % SLOTS) {
		struct seen *s = &gb->slots[i];

		if (!s->ino)
			break;
		if (s->dev == dev && s->ino == ino)
			return true;
	}
	if (gb->n_seen >= SONDE_GOBINS_SEEN_MAX) {
		*full = true;
		return false;
	}
	gb->slots[i].dev = dev;
	gb->slots[i].ino = ino ? ino : 1;
	gb->n_seen++;
	return false;
}

/*
 * One process: 1 when its executable was new and looked into. The file is
 * read and hooked through an fd of ours (/proc/self/fd/N), which stays
 * the file's when the process exits meanwhile: a short-lived program
 * often does, and /proc/PID/exe would be gone before its uprobes were
 * attached, and its later runs never hooked.
 */
static unsigned look(struct sonde_gobins *gb, uint32_t pid, sonde_gobins_attach_fn attach,
		     void *userdata)
{
	char path[300], why[256];
	struct sonde_go_tls go;
	struct stat st;
	bool full;
	int fd, err;

	snprintf(path, sizeof(path), "%s/%u/exe", gb->root, pid);
	/* kernel threads have no exe: open fails (ENOENT); another user's
	 * process needs CAP_SYS_PTRACE (EACCES) */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if ((errno == EACCES || errno == EPERM) && !gb->stats.denied++)
			gb->stats.denied_pid = pid;
		return 0;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    seen(gb, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &full)) {
		close(fd);
		return 0;
	}
	if (full) {
		gb->stats.skipped++;
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err = sonde_go_tls_find(path, &go, why, sizeof(why));
	if (err == -ENOTSUP) {
		gb->stats.unsupported++;
		sonde_log(SONDE_LOG_WARNING, "probe", "ebpf",
			  "TLS: Go program of pid %u not hooked: %s; its TLS connections are "
			  "counted, not parsed",
			  pid, why);
	} else if (!err) {
		err = attach(userdata, path, pid, &go, why, sizeof(why));
		if (err) {
			gb->stats.failed++;
			sonde_log(SONDE_LOG_WARNING, "probe", "ebpf",
				  "TLS: Go program of pid %u not hooked: %s", pid, why);
		} else {
			gb->stats.hooked++;
		}
	}
	/* else not Go, no crypto/tls, or unreadable */
	close(fd);
	return 1;
}

unsigned sonde_gobins_scan(struct sonde_gobins *gb, const uint32_t *pids, unsigned n_pids,
			   sonde_gobins_attach_fn attach, void *userdata)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if (n_pids) {
		for (unsigned i = 0; i < n_pids; i++)
			n += look(gb, pids[i], attach, userdata);
		return n;
	}
	d = opendir(gb->root);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || end == de->d_name || pid == 0 || pid > UINT32_MAX)
			continue;
		n += look(gb, (uint32_t)pid, attach, userdata);
	}
	closedir(d);
	return n;
}
