// SPDX-License-Identifier: MIT
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CKPT_MAGIC "sonde-logs-state 1"
/* Bounds what a corrupt or hostile state file can make us allocate. */
#define CKPT_MAX_ENTRIES 65536

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int hash_range(int fd, uint64_t off, uint32_t len, uint64_t *ret_hash)
{
	unsigned char buf[SONDE_CKPT_HEAD_MAX];
	size_t got = 0;

	if (len > sizeof(buf))
		return -EINVAL;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA; /* shorter than recorded */
		got += (size_t)n;
	}
	*ret_hash = fnv1a(buf, len);
	return 0;
}

int sonde_ckpt_fingerprint(int fd, struct sonde_ckpt *e)
{
	struct stat st;
	uint64_t head_hash = 0, tail_hash = 0;
	uint32_t head_len, tail_len;
	int err;

	if (fstat(fd, &st) < 0)
		return -errno;
	head_len = (uint64_t)st.st_size < SONDE_CKPT_HEAD_MAX ?
			   (uint32_t)st.st_size :
			   SONDE_CKPT_HEAD_MAX;
	/* Beyond the offset the content may still change: hash only up to it,
	 * unless the head is shorter than the offset anyway. */
	if (head_len > e->offset && e->offset > 0)
		head_len = (uint32_t)e->offset;
	tail_len = e->offset < SONDE_CKPT_TAIL_MAX ? (uint32_t)e->offset :
						     SONDE_CKPT_TAIL_MAX;
	err = hash_range(fd, 0, head_len, &head_hash);
	if (err < 0)
		return err;
	err = hash_range(fd, e->offset - tail_len, tail_len, &tail_hash);
	if (err < 0)
		return err;
	e->head_len = head_len;
	e->head_hash = head_hash;
	e->tail_len = tail_len;
	e->tail_hash = tail_hash;
	return 0;
}

bool sonde_ckpt_matches(int fd, const struct stat *st,
			const struct sonde_ckpt *e)
{
	uint64_t h;

	if ((uint64_t)st->st_dev != e->dev || (uint64_t)st->st_ino != e->ino)
		return false;
	if ((uint64_t)st->st_size < e->offset)
		return false;
	if (e->head_len > SONDE_CKPT_HEAD_MAX ||
	    e->tail_len > SONDE_CKPT_TAIL_MAX || e->tail_len > e->offset)
		return false;
	if (hash_range(fd, 0, e->head_len, &h) < 0 || h != e->head_hash)
		return false;
	if (hash_range(fd, e->offset - e->tail_len, e->tail_len, &h) < 0 ||
	    h != e->tail_hash)
		return false;
	return true;
}

static int fsync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, err = 0;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		if ((size_t)(slash - path) >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

int sonde_ckpt_save(const char *state_file, const struct sonde_ckpt *entries,
		    size_t n)
{
	char tmp[4096 + 8];
	FILE *f = NULL;
	int fd = -1, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", state_file) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto out;
	}
	fprintf(f, CKPT_MAGIC "\n");
	for (size_t i = 0; i < n; i++) {
		const struct sonde_ckpt *e = &entries[i];

		/* the path ends the line: one with a newline cannot be stored */
		if (!e->path || strchr(e->path, '\n'))
			continue;
		fprintf(f,
			"%" PRIu64 " %" PRIu64 " %" PRIu64 " %d %d %" PRIu32
			" %016" PRIx64 " %" PRIu32 " %016" PRIx64 " %s\n",
			e->dev, e->ino, e->offset, e->skip, e->rotated,
			e->head_len, e->head_hash, e->tail_len, e->tail_hash,
			e->path);
	}
	if (fflush(f) != 0 || ferror(f)) {
		err = -EIO;
		goto out;
	}
	if (fsync(fileno(f)) < 0) {
		err = -errno;
		goto out;
	}
out:
	if (f && fclose(f) != 0 && !err)
		err = -EIO;
	if (!err && rename(tmp, state_file) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	else
		err = fsync_dir_of(state_file);
	return err;
}

void sonde_ckpt_free(struct sonde_ckpt *entries, size_t n)
{
	if (!entries)
		return;
	for (size_t i = 0; i < n; i++)
		free((char *)entries[i].path);
	free(entries);
}

static int parse_line(char *line, struct sonde_ckpt *e)
{
	int skip, rotated, pos = -1;
	char *path;

	memset(e, 0, sizeof(*e));
	if (sscanf(line,
		   "%" SCNu64 " %" SCNu64 " %" SCNu64 " %d %d %" SCNu32
		   " %" SCNx64 " %" SCNu32 " %" SCNx64 " %n",
		   &e->dev, &e->ino, &e->offset, &skip, &rotated, &e->head_len,
		   &e->head_hash, &e->tail_len, &e->tail_hash, &pos) != 9 ||
	    pos < 0)
		return -EINVAL;
	if (e->head_len > SONDE_CKPT_HEAD_MAX ||
	    e->tail_len > SONDE_CKPT_TAIL_MAX || line[pos] != '/')
		return -EINVAL;
	path = strdup(line + pos);
	if (!path)
		return -ENOMEM;
	e->skip = skip != 0;
	e->rotated = rotated != 0;
	e->path = path;
	return 0;
}

int sonde_ckpt_load(const char *state_file, struct sonde_ckpt **ret_entries,
		    size_t *ret_n)
{
	struct sonde_ckpt *v = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	FILE *f;
	int err = 0;

	f = fopen(state_file, "re");
	if (!f) {
		if (errno != ENOENT)
			return -errno;
		*ret_entries = NULL;
		*ret_n = 0;
		return 0;
	}
	len = getline(&line, &linecap, f);
	if (len < 0 || strncmp(line, CKPT_MAGIC, strlen(CKPT_MAGIC)) != 0) {
		err = -EINVAL;
		goto out;
	}
	while ((len = getline(&line, &linecap, f)) > 0 &&
	       n < CKPT_MAX_ENTRIES) {
		struct sonde_ckpt e;

		if (line[len - 1] != '\n')
			break; /* torn last line: cannot happen with rename, but */
		line[len - 1] = '\0';
		err = parse_line(line, &e);
		if (err == -EINVAL) {
			err = 0;
			continue;
		}
		if (err < 0)
			goto out;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct sonde_ckpt *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				free((char *)e.path);
				err = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = e;
	}
out:
	free(line);
	fclose(f);
	if (err < 0) {
		sonde_ckpt_free(v, n);
		return err;
	}
	*ret_entries = v;
	*ret_n = n;
	return 0;
}
