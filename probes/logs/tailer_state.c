// SPDX-License-Identifier: MIT
/* Checkpoints and the restart that reads them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tailer_internal.h"

int sonde_tailer_checkpoint(struct sonde_tailer *t)
{
	struct sonde_ckpt *v;
	size_t n = 0;
	int err;

	if (!t->state_file)
		return 0;
	/* the sink first: a checkpoint must never be ahead of it */
	if (t->ops.flush)
		t->ops.flush(t->userdata);
	v = calloc(t->n_files ? t->n_files : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < t->n_files; i++) {
		const struct tail_file *f = t->files[i];
		struct sonde_ckpt *e = &v[n];

		if (f->closed)
			continue;
		e->path = f->path;
		e->dev = f->dev;
		e->ino = f->ino;
		/* the partial line is read again after a restart */
		e->offset = f->read_off - f->plen;
		e->skip = f->skipping;
		e->rotated = f->draining;
		err = sonde_ckpt_fingerprint(f->fd, e);
		if (err == -ENODATA) {
			/* truncated since our last read: we will read it
			 * from 0, and so shall a restart */
			e->offset = 0;
			e->skip = false;
			err = sonde_ckpt_fingerprint(f->fd, e);
		}
		if (err == 0)
			n++;
	}
	err = sonde_ckpt_save(t->state_file, v, n);
	free(v);
	if (err < 0)
		t->stats.checkpoint_errors++;
	return err;
}

static int source_of(const struct sonde_tailer *t, const char *path)
{
	for (unsigned s = 0; s < t->n_sources; s++)
		if (fnmatch(t->sources[s].pattern, path, FNM_PATHNAME) == 0)
			return (int)s;
	return -1;
}

#define MAX_SIBLINGS 8

/* dir/name, with no doubled slash when dir is "/". */
static int child_path(char *out, size_t n, const char *dir, const char *name)
{
	size_t len = strlen(dir);

	return snprintf(out, n, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", name);
}

/* ".1", "-20241122", ".2024-11-22_10": what rotation appends to a name */
static bool rotation_suffix(const char *s)
{
	bool digit = false;

	if (*s != '.' && *s != '-' && *s != '_')
		return false;
	for (s++; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (*s != '.' && *s != '-' && *s != '_')
			return false;
	}
	return digit;
}

static int by_mtime(const void *a, const void *b)
{
	const struct stat *x = a, *y = b;

	if (x->st_mtim.tv_sec != y->st_mtim.tv_sec)
		return x->st_mtim.tv_sec < y->st_mtim.tv_sec ? -1 : 1;
	if (x->st_mtim.tv_nsec != y->st_mtim.tv_nsec)
		return x->st_mtim.tv_nsec < y->st_mtim.tv_nsec ? -1 : 1;
	return 0;
}

/*
 * Rotated more than once while we were down (or between two looks): the
 * file that followed the checkpointed one was itself renamed (app.log.2
 * holds the checkpointed file, app.log.1 the next one). Such files are
 * siblings (same directory, the followed name plus a rotation suffix:
 * never app.log.err, nor a compressed app.log.2.gz) last written after the
 * checkpointed one: read them whole, oldest first. Older rotations were
 * read before the checkpoint, so an mtime not after it excludes them.
 */
void sonde_tailer_add_newer_siblings(struct sonde_tailer *t, const char *dir,
				     const char *followed, unsigned source,
				     const struct stat *moved)
{
	const char *base = strrchr(followed, '/') + 1;
	size_t blen = strlen(base);
	struct stat found[MAX_SIBLINGS];
	char names[MAX_SIBLINGS][256];
	unsigned n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)) && n < MAX_SIBLINGS) {
		char path[4096 + 256];
		struct stat st;

		if (strncmp(de->d_name, base, blen) != 0 ||
		    !rotation_suffix(de->d_name + blen) ||
		    strlen(de->d_name) >= sizeof(names[0]))
			continue;
		child_path(path, sizeof(path), dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_ino == moved->st_ino || by_mtime(&st, moved) <= 0 ||
		    sonde_tailer_known_inode(t, (uint64_t)st.st_dev,
					     (uint64_t)st.st_ino))
			continue;
		if (source_of(t, path) >= 0)
			continue; /* a pattern matches it: the scan reads it */
		found[n] = st;
		strcpy(names[n], de->d_name);
		n++;
	}
	closedir(d);
	/* sort names along with their stat, oldest first */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && by_mtime(&found[j], &found[j - 1]) < 0;
		     j--) {
			struct stat ts = found[j];
			char tn[256];

			found[j] = found[j - 1];
			found[j - 1] = ts;
			strcpy(tn, names[j]);
			strcpy(names[j], names[j - 1]);
			strcpy(names[j - 1], tn);
		}
	for (unsigned i = 0; i < n; i++) {
		char path[4096 + 256];
		struct tail_file *f;
		struct stat st;
		int fd;

		if (child_path(path, sizeof(path), dir, names[i]) >= (int)sizeof(path))
			continue;
		fd = sonde_tailer_open_regular(path, &st);
		if (fd < 0)
			continue;
		if (sonde_tailer_add_file(t, followed, source, fd, &st, 0, false,
					  true, &f) == 0)
			sonde_tailer_emit(t, SONDE_TAILER_ROTATED_RENAME, f);
	}
}

/*
 * The checkpointed file no longer at its path: rotated by rename while we
 * were down. Look for its inode in the same directory (app.log.1) and
 * finish reading it before the new file. Fills *moved when found.
 */
static bool find_moved(struct sonde_tailer *t, const struct sonde_ckpt *e,
		       unsigned source, struct stat *moved)
{
	char dir[4096], path[4096 + 256];
	struct tail_file *f;
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (sonde_tailer_dir_of(e->path, dir, sizeof(dir)) < 0)
		return false;
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		struct stat st;
		int fd;

		if ((uint64_t)de->d_ino != e->ino)
			continue;
		child_path(path, sizeof(path), dir, de->d_name);
		fd = sonde_tailer_open_regular(path, &st);
		if (fd < 0)
			continue;
		if (!sonde_ckpt_matches(fd, &st, e)) {
			close(fd);
			continue;
		}
		found = true;
		*moved = st;
		if (sonde_tailer_add_file(t, e->path, source, fd, &st,
					  e->offset, e->skip, true, &f) == 0)
			sonde_tailer_emit(t, SONDE_TAILER_RESUMED, f);
	}
	closedir(d);
	return found;
}

/* Does the checkpoint hold the file that was at `path` (not a drained one)? */
static bool followed_in_checkpoint(const struct sonde_tailer *t,
				   const char *path)
{
	for (size_t i = 0; i < t->n_resume; i++)
		if (!t->resume[i].rotated && strcmp(t->resume[i].path, path) == 0)
			return true;
	return false;
}

/*
 * Files rotated while we were down come after the newest file the
 * checkpoint knew under that path: the followed one when it holds one,
 * else (checkpointed between a rename and the new file's creation) the
 * newest of those being drained.
 */
static void add_rotated_while_down(struct sonde_tailer *t, size_t i,
				   const struct stat *found, unsigned source)
{
	const struct sonde_ckpt *e = &t->resume[i];
	const struct stat *newest = &found[i];
	char dir[4096];

	if (e->rotated) {
		if (followed_in_checkpoint(t, e->path))
			return;
		for (size_t j = 0; j < t->n_resume; j++) {
			if (!t->resume_moved[j] || !t->resume[j].rotated ||
			    strcmp(t->resume[j].path, e->path) != 0)
				continue;
			if (j < i)
				return; /* that path's newest was settled at j */
			if (by_mtime(&found[j], newest) > 0)
				newest = &found[j];
		}
	}
	if (sonde_tailer_dir_of(e->path, dir, sizeof(dir)) == 0)
		sonde_tailer_add_newer_siblings(t, dir, e->path, source, newest);
}

void sonde_tailer_resume_rotated(struct sonde_tailer *t)
{
	struct stat *found;

	if (t->n_resume == 0)
		return;
	t->resume_moved = calloc(t->n_resume, sizeof(bool));
	found = calloc(t->n_resume, sizeof(*found));
	if (!t->resume_moved || !found) {
		free(found);
		return;
	}
	for (size_t i = 0; i < t->n_resume; i++) {
		const struct sonde_ckpt *e = &t->resume[i];
		int source = source_of(t, e->path);
		struct stat st;

		if (source < 0)
			continue; /* no longer configured */
		if (!e->rotated && stat(e->path, &st) == 0 &&
		    (uint64_t)st.st_dev == e->dev &&
		    (uint64_t)st.st_ino == e->ino)
			continue; /* still there: resumed by the scan */
		t->resume_moved[i] = find_moved(t, e, (unsigned)source,
						&found[i]);
	}
	/* after every checkpointed file, so that none is taken for newer */
	for (size_t i = 0; i < t->n_resume; i++) {
		int source = source_of(t, t->resume[i].path);

		if (t->resume_moved[i] && source >= 0)
			add_rotated_while_down(t, i, found, (unsigned)source);
	}
	free(found);
}

void sonde_tailer_resume_path(struct sonde_tailer *t, const char *path,
			      unsigned source)
{
	const struct sonde_ckpt *e = NULL;
	struct tail_file *f;
	struct stat st;
	bool moved = false, drained = false;
	int fd;

	for (size_t i = 0; i < t->n_resume; i++) {
		if (strcmp(t->resume[i].path, path) != 0)
			continue;
		if (t->resume[i].rotated) {
			drained = true;
			continue;
		}
		e = &t->resume[i];
		moved = t->resume_moved && t->resume_moved[i];
		break;
	}
	if (!e && drained) {
		/* checkpointed between a rotation and our opening of the new
		 * file: whatever is at the path now came after it, all new */
		if (sonde_tailer_open_new(t, path, source, false, &f) == 0)
			sonde_tailer_emit(t, SONDE_TAILER_ROTATED_RENAME, f);
		return;
	}
	if (!e) {
		sonde_tailer_open_new(t, path, source,
				      !t->sources[source].from_beginning, &f);
		return;
	}
	fd = sonde_tailer_open_regular(path, &st);
	if (fd < 0)
		return;
	if (sonde_ckpt_matches(fd, &st, e)) {
		if (sonde_tailer_add_file(t, path, source, fd, &st, e->offset,
					  e->skip, false, &f) == 0)
			sonde_tailer_emit(t, SONDE_TAILER_RESUMED, f);
		return;
	}
	/* replaced, truncated or rotated while we were down: all of it is new */
	if (sonde_tailer_add_file(t, path, source, fd, &st, 0, false, false,
				  &f) == 0)
		sonde_tailer_emit(t, moved ? SONDE_TAILER_ROTATED_RENAME :
					     SONDE_TAILER_REPLACED,
				  f);
}
