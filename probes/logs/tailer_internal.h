/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOGS_TAILER_INTERNAL_H
#define SONDE_LOGS_TAILER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "tailer.h"

/* Shared by tailer.c (following) and tailer_resume.c (restart). */

struct tail_file {
	char *path; /* the name it was found under */
	unsigned source;
	int fd;
	uint64_t dev, ino;
	uint64_t read_off; /* bytes consumed from fd */
	size_t max_line;
	char *partial; /* the line being assembled, at most max_line */
	size_t plen, pcap;
	bool skipping; /* inside a truncated long line: skip to its newline */
	bool draining; /* rotated away: read by fd until rotate_wait passes */
	bool backlog;  /* the read budget ran out: more to read */
	bool closed;
	uint64_t drain_since_ms;
	int wd; /* inotify watch of its directory, -1: none */
	void *user;
};

#define SONDE_TAILER_CLOSED_MEMORY 16

struct tail_watch {
	int wd;
	bool dirty; /* an event arrived for this directory */
	bool gone;  /* IN_IGNORED: the directory went away */
};

struct sonde_tailer {
	struct sonde_tailer_ops ops;
	void *userdata;
	struct sonde_tailer_source *sources;
	unsigned n_sources;
	char *state_file;
	bool use_inotify;
	unsigned max_files;
	uint64_t rotate_wait_ms;
	int ifd;

	struct tail_file **files;
	unsigned n_files, cap_files;
	bool need_compact;
	bool more;
	bool ckpt_wanted; /* a rotation was seen: checkpoint after this pass */

	struct tail_watch *watches;
	unsigned n_watches, cap_watches;

	char *buf;
	size_t buf_size;

	struct sonde_ckpt *resume; /* the loaded state, during start only */
	size_t n_resume;
	bool *resume_moved; /* resume[i]'s file was found rotated while down */

	/* recently closed, still linked files: where their reading stopped */
	struct sonde_ckpt closed[SONDE_TAILER_CLOSED_MEMORY];
	unsigned closed_next;

	struct sonde_tailer_stats stats;
};

uint64_t sonde_tailer_now_ms(void);
int sonde_tailer_add_file(struct sonde_tailer *t, const char *path,
			  unsigned source, int fd, const struct stat *st,
			  uint64_t off, bool skip, bool draining,
			  struct tail_file **ret_file);
void sonde_tailer_drop_gone_watches(struct sonde_tailer *t);
void sonde_tailer_emit(struct sonde_tailer *t, enum sonde_tailer_event ev,
		       struct tail_file *f);
/* Returns an fd of a regular file, or -errno. */
int sonde_tailer_open_regular(const char *path, struct stat *st);
/* at_end: start after the current content (files present at start). */
int sonde_tailer_open_new(struct sonde_tailer *t, const char *path,
			  unsigned source, bool at_end,
			  struct tail_file **ret_file);
/* tailer_read.c: reads up to the budget, sets f->backlog when more may be
 * there. */
int sonde_tailer_file_read(struct sonde_tailer *t, struct tail_file *f);
/* Is this file open, or closed and remembered? */
bool sonde_tailer_known_inode(const struct sonde_tailer *t, uint64_t dev,
			      uint64_t ino);
/* The directory part of path ("/" for "/x"); -errno when none or too long. */
int sonde_tailer_dir_of(const char *path, char *dir, size_t size);
/* tailer_state.c */
/* Reads, as rotated, the unknown siblings of followed newer than moved. */
void sonde_tailer_add_newer_siblings(struct sonde_tailer *t, const char *dir,
				     const char *followed, unsigned source,
				     const struct stat *moved);
void sonde_tailer_resume_rotated(struct sonde_tailer *t);
void sonde_tailer_resume_path(struct sonde_tailer *t, const char *path,
			      unsigned source);

#endif
