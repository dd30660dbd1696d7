// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* The slot holding (dev, ino), or the free one where it would go. */
static unsigned slot_of(const struct sonde_tlsbins *tb, uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ull) ^ (ino * 0xc2b2ae3d27d4eb4full);
	unsigned i = (unsigned)(h >> 32) % SLOTS;

	for (unsigned n = 0; n < SLOTS; n++, i = (i + 1) % SLOTS) {
		const struct seen *s = &tb->slots[i];

		if (!s->ino || (s->dev == dev && s->ino == (ino ? ino : 1)))
			break;
	}
	return i;
}

static bool was_seen(const struct sonde_tlsbins *tb, uint64_t dev, uint64_t ino)
{
	return tb->slots[slot_of(tb, dev, ino)].ino != 0;
}

/* true when (dev, ino) was seen; else remembers it (false), if there is room. */
static bool seen(struct sonde_tlsbins *tb, uint64_t dev, uint64_t ino, bool *full)
{
	unsigned i = slot_of(tb, dev, ino);

	*full = false;
	if (tb->slots[i].ino)
		return true;
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

/* An OpenSSL copy of pid's own (what: which one, for the log), hooked and counted. */
static void hook_openssl(struct sonde_tlsbins *tb, const char *path, uint32_t pid,
			 const char *what, const struct sonde_tlsbins_attach *a)
{
	char why[512];
	int err = a->openssl(a->userdata, path, pid, why, sizeof(why));

	if (err) {
		tb->stats.ssl_failed++;
		sonde_log(SONDE_LOG_WARNING, "probe", "ebpf",
			  "TLS: %s of pid %u not hooked: %s; its TLS connections are counted, "
			  "not parsed",
			  what, pid, why);
	} else {
		tb->stats.ssl_hooked++;
	}
}

/*
 * The file at path opened, if it is a regular file not seen before (it is
 * then remembered): its fd, and fdpath naming it (/proc/self/fd/N). Else
 * -errno when it cannot be opened, -EEXIST when seen, not regular, or the
 * seen table is full (counted in skipped).
 */
static int open_new(struct sonde_tlsbins *tb, const char *path, char *fdpath, size_t len)
{
	struct stat st;
	bool full = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    seen(tb, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &full) || full) {
		if (full)
			tb->stats.skipped++;
		close(fd);
		return -EEXIST;
	}
	snprintf(fdpath, len, "/proc/self/fd/%d", fd);
	return fd;
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
	char path[300], fdpath[32];
	int fd;

	snprintf(path, sizeof(path), "%s/%u/exe", tb->root, pid);
	fd = open_new(tb, path, fdpath, sizeof(fdpath));
	if (fd < 0) {
		/* kernel threads have no exe (ENOENT); another user's process
		 * needs CAP_SYS_PTRACE (EACCES) */
		if ((fd == -EACCES || fd == -EPERM) && !tb->stats.denied++)
			tb->stats.denied_pid = pid;
		return 0;
	}
	/* not Go with crypto/tls: OpenSSL linked in, if it defines SSL_read/SSL_write */
	if (!(a->go && look_go(tb, fdpath, pid, a)) && a->openssl && sonde_ssl_defined(fdpath))
		hook_openssl(tb, fdpath, pid, "the OpenSSL linked into the program", a);
	close(fd);
	return 1;
}

void sonde_tlsbins_known(struct sonde_tlsbins *tb, const char *path)
{
	struct stat st;
	bool full;

	if (stat(path, &st) == 0)
		(void)seen(tb, (uint64_t)st.st_dev, (uint64_t)st.st_ino, &full);
}

/* At most this many lines of a process's maps are read. */
#define MAPS_LINES_MAX 65536

/*
 * One line of /proc/PID/maps naming a libssl file: its device, inode and
 * path (within the process's root). false for any other line.
 */
static bool libssl_line(char *line, uint64_t *dev, uint64_t *ino, char **path)
{
	unsigned maj, min;
	unsigned long long inode;
	const char *base;
	char *p, *nl;
	int n = 0;

	if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &maj, &min, &inode, &n) != 3 || !n ||
	    !inode)
		return false;
	p = line + n;
	if (*p != '/')
		return false;
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	else
		return false; /* cut by the line buffer */
	base = strrchr(p, '/') + 1;
	if (strncmp(base, "libssl", 6) != 0 || !strstr(base, ".so") ||
	    strstr(base, " (deleted)"))
		return false;
	*dev = (uint64_t)makedev(maj, min);
	*ino = inode;
	*path = p;
	return true;
}

/* A mapped libssl file, through the process's root; opened and deduped
 * by its own identity (the mapping's may be an overlay's). */
static void hook_lib(struct sonde_tlsbins *tb, uint32_t pid, const char *path,
		     const struct sonde_tlsbins_attach *a)
{
	char file[4400], fdpath[32];
	int fd;

	snprintf(file, sizeof(file), "%s/%u/root%s", tb->root, pid, path);
	fd = open_new(tb, file, fdpath, sizeof(fdpath));
	if (fd < 0)
		return;
	hook_openssl(tb, fdpath, pid, path, a);
	close(fd);
}

unsigned sonde_tlsbins_look_libs(struct sonde_tlsbins *tb, uint32_t pid,
				 const struct sonde_tlsbins_attach *a)
{
	char path[300], line[4096];
	unsigned n = 0, lines = 0;
	FILE *f;

	if (!a->openssl)
		return 0;
	snprintf(path, sizeof(path), "%s/%u/maps", tb->root, pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (lines++ < MAPS_LINES_MAX && fgets(line, sizeof(line), f)) {
		uint64_t dev, ino;
		bool full;
		char *p;

		/* a line longer than the buffer: its rest is skipped */
		if (!strchr(line, '\n')) {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (!libssl_line(line, &dev, &ino, &p))
			continue;
		/* the mapping's identity first: no open for one already seen */
		if (was_seen(tb, dev, ino))
			continue;
		hook_lib(tb, pid, p, a);
		(void)seen(tb, dev, ino, &full); /* its other mappings: passed over */
		n++;
	}
	fclose(f);
	return n;
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
