// SPDX-License-Identifier: MIT
#include "tailer.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "tailer_internal.h"

#define DEFAULT_MAX_FILES 1024
#define DEFAULT_READ_SIZE (256 * 1024)
#define DIR_MASK                                                           \
	(IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR)

uint64_t sonde_tailer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sonde_tailer_emit(struct sonde_tailer *t, enum sonde_tailer_event ev,
		       struct tail_file *f)
{
	if (t->ops.event)
		t->ops.event(t->userdata, ev, f->source, f->path, &f->user);
}

/* ---- files ---- */

bool sonde_tailer_known_inode(const struct sonde_tailer *t, uint64_t dev,
			      uint64_t ino)
{
	for (unsigned i = 0; i < t->n_files; i++)
		if (!t->files[i]->closed && t->files[i]->dev == dev &&
		    t->files[i]->ino == ino)
			return true;
	for (unsigned i = 0; i < SONDE_TAILER_CLOSED_MEMORY; i++)
		if (t->closed[i].dev == dev && t->closed[i].ino == ino)
			return true;
	return false;
}

static struct tail_file *find_live(struct sonde_tailer *t, const char *path)
{
	for (unsigned i = 0; i < t->n_files; i++) {
		struct tail_file *f = t->files[i];

		if (!f->closed && !f->draining && strcmp(f->path, path) == 0)
			return f;
	}
	return NULL;
}

static void file_free(struct tail_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->partial);
	free(f->path);
	free(f);
}

int sonde_tailer_dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return -EINVAL;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

static int ensure_watch(struct sonde_tailer *t, const char *dir)
{
	int wd;

	if (t->ifd < 0)
		return -1;
	wd = inotify_add_watch(t->ifd, dir, DIR_MASK);
	if (wd < 0)
		return -1;
	for (unsigned i = 0; i < t->n_watches; i++)
		if (t->watches[i].wd == wd)
			return wd;
	if (t->n_watches == t->cap_watches) {
		unsigned ncap = t->cap_watches ? t->cap_watches * 2 : 8;
		struct tail_watch *nw =
			realloc(t->watches, ncap * sizeof(*nw));

		if (!nw) {
			inotify_rm_watch(t->ifd, wd);
			return -1;
		}
		t->watches = nw;
		t->cap_watches = ncap;
	}
	t->watches[t->n_watches++] = (struct tail_watch){ .wd = wd };
	return wd;
}

static struct tail_watch *find_watch(struct sonde_tailer *t, int wd)
{
	for (unsigned i = 0; i < t->n_watches; i++)
		if (t->watches[i].wd == wd)
			return &t->watches[i];
	return NULL;
}

static unsigned count_open(const struct sonde_tailer *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->n_files; i++)
		n += !t->files[i]->closed;
	return n;
}

/*
 * Opens path (fd already open, st its fstat) and positions it at off.
 * Takes ownership of fd.
 */
int sonde_tailer_add_file(struct sonde_tailer *t, const char *path,
			  unsigned source, int fd, const struct stat *st,
			  uint64_t off, bool skip, bool draining,
			  struct tail_file **ret_file)
{
	struct tail_file *f = NULL;
	char dir[4096];
	int err;

	if (count_open(t) >= t->max_files) {
		t->stats.files_skipped++;
		err = -ENOSPC;
		goto fail;
	}
	if (t->n_files == t->cap_files) {
		unsigned ncap = t->cap_files ? t->cap_files * 2 : 16;
		struct tail_file **nf =
			realloc(t->files, ncap * sizeof(*nf));

		if (!nf) {
			err = -ENOMEM;
			goto fail;
		}
		t->files = nf;
		t->cap_files = ncap;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		err = -ENOMEM;
		goto fail;
	}
	f->path = strdup(path);
	if (!f->path) {
		err = -ENOMEM;
		goto fail;
	}
	if (lseek(fd, (off_t)off, SEEK_SET) < 0) {
		err = -errno;
		goto fail;
	}
	f->fd = fd;
	f->source = source;
	f->dev = (uint64_t)st->st_dev;
	f->ino = (uint64_t)st->st_ino;
	f->read_off = off;
	f->skipping = skip;
	f->max_line = t->sources[source].max_line;
	f->draining = draining;
	f->drain_since_ms = sonde_tailer_now_ms();
	f->wd = -1;
	if (!draining && sonde_tailer_dir_of(path, dir, sizeof(dir)) == 0)
		f->wd = ensure_watch(t, dir);
	t->files[t->n_files++] = f;
	sonde_tailer_emit(t, SONDE_TAILER_OPENED, f);
	*ret_file = f;
	return 0;
fail:
	if (f) {
		f->fd = -1;
		file_free(f);
	}
	close(fd);
	return err;
}

/*
 * A rotated file closed after rotate_wait may still match a pattern under
 * its new name (app.log* and app.log.1): remember where its reading
 * stopped, so that a later scan does not read it again from 0.
 */
static void remember_closed(struct sonde_tailer *t, struct tail_file *f)
{
	struct sonde_ckpt *e = &t->closed[t->closed_next];
	struct stat st;

	if (fstat(f->fd, &st) < 0 || st.st_nlink == 0)
		return;
	memset(e, 0, sizeof(*e));
	e->dev = f->dev;
	e->ino = f->ino;
	e->offset = f->read_off - f->plen;
	e->skip = f->skipping;
	if (sonde_ckpt_fingerprint(f->fd, e) < 0) {
		e->dev = e->ino = 0;
		return;
	}
	t->closed_next = (t->closed_next + 1) % SONDE_TAILER_CLOSED_MEMORY;
}

/* Opens path where a remembered closed file stopped; false if unknown. */
static bool reopen_closed(struct sonde_tailer *t, const char *path,
			  unsigned source)
{
	struct tail_file *f;
	struct stat st;
	int fd;

	if (stat(path, &st) < 0)
		return false;
	for (unsigned i = 0; i < SONDE_TAILER_CLOSED_MEMORY; i++) {
		struct sonde_ckpt *e = &t->closed[i];

		if (e->ino != (uint64_t)st.st_ino || e->dev != (uint64_t)st.st_dev)
			continue;
		fd = sonde_tailer_open_regular(path, &st);
		if (fd < 0)
			return false;
		if (!sonde_ckpt_matches(fd, &st, e)) {
			close(fd); /* inode reused by another file */
			e->dev = e->ino = 0;
			return false;
		}
		sonde_tailer_add_file(t, path, source, fd, &st, e->offset,
				      e->skip, false, &f);
		e->dev = e->ino = 0;
		return true;
	}
	return false;
}

static void file_close(struct sonde_tailer *t, struct tail_file *f)
{
	if (f->closed)
		return;
	remember_closed(t, f);
	sonde_tailer_emit(t, SONDE_TAILER_CLOSED, f);
	close(f->fd);
	f->fd = -1;
	f->closed = true;
	t->need_compact = true;
}

int sonde_tailer_open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* A file first seen after start is read from its start: all of it is new. */
int sonde_tailer_open_new(struct sonde_tailer *t, const char *path,
			  unsigned source, bool at_end,
			  struct tail_file **ret_file)
{
	struct stat st;
	uint64_t off = 0;
	bool skip = false;
	int fd;

	fd = sonde_tailer_open_regular(path, &st);
	if (fd < 0)
		return fd;
	if (at_end && st.st_size > 0) {
		char last;

		off = (uint64_t)st.st_size;
		/* mid-line: the rest of that line is not a line of its own */
		if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
			skip = true;
	}
	return sonde_tailer_add_file(t, path, source, fd, &st, off, skip, false,
				     ret_file);
}

static int file_service(struct sonde_tailer *t, struct tail_file *f);

/*
 * After reading to the end: has the file been truncated in place
 * (copytruncate) or has its path been given to another file?
 */
static int file_check(struct sonde_tailer *t, struct tail_file *f)
{
	struct stat st, pst;
	struct tail_file *nf;
	unsigned first_new;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < f->read_off) {
		/* Lines written between our last read and the truncate are
		 * gone; the partial line belonged to the old content. */
		sonde_tailer_emit(t, SONDE_TAILER_TRUNCATED, f);
		if (lseek(f->fd, 0, SEEK_SET) < 0)
			return -errno;
		f->read_off = 0;
		f->plen = 0;
		f->skipping = false;
		return sonde_tailer_file_read(t, f);
	}
	if (f->draining) {
		if (!f->backlog &&
		    sonde_tailer_now_ms() - f->drain_since_ms >= t->rotate_wait_ms)
			file_close(t, f);
		return 0;
	}
	if (stat(f->path, &pst) == 0) {
		if ((uint64_t)pst.st_dev == f->dev &&
		    (uint64_t)pst.st_ino == f->ino)
			return 0;
	} else if (errno != ENOENT && errno != ENOTDIR) {
		return 0; /* cannot tell (EACCES...): keep following */
	}
	sonde_tailer_emit(t, st.st_nlink == 0 ? SONDE_TAILER_ROTATED_DELETE :
				   SONDE_TAILER_ROTATED_RENAME,
	     f);
	f->draining = true;
	f->drain_since_ms = sonde_tailer_now_ms();
	/* the set of files changed: save it soon, so that a crash before
	 * the next periodic checkpoint still knows the renamed file */
	t->ckpt_wanted = true;
	/* whatever the writer added before switching files */
	sonde_tailer_file_read(t, f);
	first_new = t->n_files;
	if (st.st_nlink > 0) {
		char dir[4096];

		/* renamed twice since we last looked: the file in between */
		if (fstat(f->fd, &st) == 0 &&
		    sonde_tailer_dir_of(f->path, dir, sizeof(dir)) == 0)
			sonde_tailer_add_newer_siblings(t, dir, f->path,
							f->source, &st);
	}
	if (!f->backlog && t->rotate_wait_ms == 0)
		file_close(t, f);
	if (sonde_tailer_open_new(t, f->path, f->source, false, &nf) == 0)
		nf->user = f->user;
	/* in order: the files renamed in between, then the new one */
	for (unsigned i = first_new; i < t->n_files; i++)
		file_service(t, t->files[i]);
	return 0;
}

static int file_service(struct sonde_tailer *t, struct tail_file *f)
{
	int err;

	if (f->closed)
		return 0;
	err = sonde_tailer_file_read(t, f);
	if (err < 0)
		return err;
	if (f->backlog)
		return 0;
	return file_check(t, f);
}

static void compact(struct sonde_tailer *t)
{
	unsigned j = 0;

	if (!t->need_compact)
		return;
	for (unsigned i = 0; i < t->n_files; i++) {
		if (t->files[i]->closed)
			file_free(t->files[i]);
		else
			t->files[j++] = t->files[i];
	}
	t->n_files = j;
	t->need_compact = false;
}

static void service_all(struct sonde_tailer *t, bool only_dirty)
{
	/* n_files grows while we go: new files are serviced in this pass */
	for (unsigned i = 0; i < t->n_files; i++) {
		struct tail_file *f = t->files[i];
		struct tail_watch *w;

		if (only_dirty) {
			w = f->wd >= 0 ? find_watch(t, f->wd) : NULL;
			if (w && !w->dirty && !f->backlog)
				continue;
		}
		file_service(t, f);
	}
	for (unsigned i = 0; i < t->n_watches; i++)
		t->watches[i].dirty = false;
	compact(t);
	if (t->ckpt_wanted) {
		t->ckpt_wanted = false;
		sonde_tailer_checkpoint(t);
	}
}

/* ---- scanning ---- */

/*
 * A pattern may also match the rotated names (app.log*): a file being
 * drained that shows up under its new name is followed under that name
 * rather than read again from 0. Returns true when path is already open.
 */
static bool adopt_by_inode(struct sonde_tailer *t, const char *path)
{
	struct stat st;
	char dir[4096];

	if (stat(path, &st) < 0)
		return true; /* gone again: nothing to open */
	for (unsigned i = 0; i < t->n_files; i++) {
		struct tail_file *f = t->files[i];
		char *np;

		if (f->closed || f->dev != (uint64_t)st.st_dev ||
		    f->ino != (uint64_t)st.st_ino)
			continue;
		if (!f->draining)
			return true; /* a hard link or another pattern's file */
		np = strdup(path);
		if (!np)
			return true;
		free(f->path);
		f->path = np;
		f->draining = false;
		if (sonde_tailer_dir_of(path, dir, sizeof(dir)) == 0)
			f->wd = ensure_watch(t, dir);
		return true;
	}
	return false;
}

static bool has_glob_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return true;
	return false;
}

static void scan(struct sonde_tailer *t, bool initial)
{
	for (unsigned s = 0; s < t->n_sources; s++) {
		const char *pat = t->sources[s].pattern;
		const char *slash = strrchr(pat, '/');
		glob_t g;
		char dir[4096];

		/* watch the pattern's directory so that a first file appearing
		 * in it is seen at once, not at the next poll */
		if (slash && !has_glob_chars(pat, (size_t)(slash - pat)) &&
		    sonde_tailer_dir_of(pat, dir, sizeof(dir)) == 0)
			ensure_watch(t, dir);
		if (glob(pat, GLOB_NOSORT, NULL, &g) != 0) {
			globfree(&g);
			continue;
		}
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *path = g.gl_pathv[i];
			struct tail_file *f;

			if (find_live(t, path) || adopt_by_inode(t, path))
				continue;
			if (initial && t->resume)
				sonde_tailer_resume_path(t, path, s);
			else if (!initial && reopen_closed(t, path, s))
				continue;
			else
				sonde_tailer_open_new(t, path, s,
					 initial && !t->sources[s].from_beginning,
					 &f);
		}
		globfree(&g);
	}
}

/* ---- public ---- */

int sonde_tailer_new(const struct sonde_tailer_config *cfg,
		     const struct sonde_tailer_ops *ops, void *userdata,
		     struct sonde_tailer **ret_tailer)
{
	struct sonde_tailer *t;
	int err;

	if (!cfg || !ops || !ops->line || cfg->n_sources == 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ifd = -1;
	t->ops = *ops;
	t->userdata = userdata;
	t->max_files = cfg->max_files ? cfg->max_files : DEFAULT_MAX_FILES;
	t->buf_size = cfg->read_size ? cfg->read_size : DEFAULT_READ_SIZE;
	t->rotate_wait_ms = cfg->rotate_wait_ms;
	t->use_inotify = cfg->use_inotify;
	t->buf = malloc(t->buf_size);
	t->sources = calloc(cfg->n_sources, sizeof(*t->sources));
	if (!t->buf || !t->sources) {
		err = -ENOMEM;
		goto fail;
	}
	t->n_sources = cfg->n_sources;
	for (unsigned i = 0; i < cfg->n_sources; i++) {
		const struct sonde_tailer_source *s = &cfg->sources[i];

		if (!s->pattern || s->pattern[0] != '/' || s->max_line == 0) {
			err = -EINVAL;
			goto fail;
		}
		t->sources[i] = *s;
		t->sources[i].pattern = strdup(s->pattern);
		if (!t->sources[i].pattern) {
			err = -ENOMEM;
			goto fail;
		}
	}
	if (cfg->state_file) {
		t->state_file = strdup(cfg->state_file);
		if (!t->state_file) {
			err = -ENOMEM;
			goto fail;
		}
	}
	*ret_tailer = t;
	return 0;
fail:
	sonde_tailer_free(t);
	return err;
}

void sonde_tailer_free(struct sonde_tailer *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->n_files; i++)
		file_free(t->files[i]);
	free(t->files);
	free(t->watches);
	if (t->sources)
		for (unsigned i = 0; i < t->n_sources; i++)
			free((char *)t->sources[i].pattern);
	free(t->sources);
	sonde_ckpt_free(t->resume, t->n_resume);
	free(t->resume_moved);
	free(t->state_file);
	free(t->buf);
	if (t->ifd >= 0)
		close(t->ifd);
	free(t);
}

int sonde_tailer_start(struct sonde_tailer *t)
{
	int err;

	if (t->use_inotify) {
		t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		/* without inotify (limits reached) the poll timer does it all */
	}
	if (t->state_file) {
		err = sonde_ckpt_load(t->state_file, &t->resume, &t->n_resume);
		if (err < 0) {
			t->stats.checkpoint_errors++;
			t->resume = NULL;
			t->n_resume = 0;
		}
	}
	sonde_tailer_resume_rotated(t);
	scan(t, true);
	sonde_ckpt_free(t->resume, t->n_resume);
	free(t->resume_moved);
	t->resume = NULL;
	t->resume_moved = NULL;
	t->n_resume = 0;
	t->more = false;
	service_all(t, false);
	return t->more;
}

int sonde_tailer_fd(const struct sonde_tailer *t)
{
	return t->ifd;
}

int sonde_tailer_handle_events(struct sonde_tailer *t)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool rescan = false, full = false, any = false;

	if (t->ifd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(t->ifd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			struct tail_watch *w;

			p += sizeof(*ev) + ev->len;
			any = true;
			if (ev->mask & IN_Q_OVERFLOW) {
				t->stats.inotify_overflows++;
				full = true;
				continue;
			}
			w = find_watch(t, ev->wd);
			if (!w)
				continue;
			w->dirty = true;
			if (ev->mask & (IN_CREATE | IN_MOVED_TO))
				rescan = true;
			if (ev->mask & IN_IGNORED)
				w->gone = true;
		}
	}
	if (!any)
		return 0;
	t->more = false;
	if (full) {
		/* events were lost: look at everything, as polling does */
		scan(t, false);
		service_all(t, false);
	} else {
		if (rescan)
			scan(t, false);
		service_all(t, true);
	}
	sonde_tailer_drop_gone_watches(t);
	return t->more;
}

void sonde_tailer_drop_gone_watches(struct sonde_tailer *t)
{
	unsigned j = 0;

	for (unsigned i = 0; i < t->n_watches; i++) {
		if (!t->watches[i].gone) {
			t->watches[j++] = t->watches[i];
			continue;
		}
		for (unsigned k = 0; k < t->n_files; k++)
			if (t->files[k]->wd == t->watches[i].wd)
				t->files[k]->wd = -1;
	}
	t->n_watches = j;
}

int sonde_tailer_poll(struct sonde_tailer *t)
{
	t->more = false;
	scan(t, false);
	service_all(t, false);
	return t->more;
}

int sonde_tailer_continue(struct sonde_tailer *t)
{
	t->more = false;
	for (unsigned i = 0; i < t->n_files; i++)
		if (t->files[i]->backlog)
			file_service(t, t->files[i]);
	compact(t);
	return t->more;
}

void sonde_tailer_get_stats(const struct sonde_tailer *t,
			    struct sonde_tailer_stats *ret_stats)
{
	*ret_stats = t->stats;
	ret_stats->files = count_open(t);
	ret_stats->inotify = t->ifd >= 0;
}
