/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOGS_TAILER_H
#define SONDE_LOGS_TAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Follows the files matched by glob patterns and hands out complete lines.
 *
 * The tailer owns no thread and no loop: its owner calls
 * sonde_tailer_handle_events() when sonde_tailer_fd() is readable (inotify)
 * and sonde_tailer_poll() periodically (glob re-scan and the polling
 * fallback), so that tests drive it synchronously.
 *
 * Rotation: a file whose path now names another inode (rename+create) or
 * nothing (delete) is kept open and drained by its fd for rotate_wait_ms
 * after the rotation was seen, before it is closed; the new file at the
 * path is read from its start. A file whose size drops below the read
 * offset (copytruncate) is read again from 0.
 *
 * Checkpoints record, per file, device+inode, the offset just after the
 * last delivered line and fingerprints of the file's head and of the bytes
 * before that offset, so a restart resumes exactly there, and a file
 * replaced or truncated while the agent was down is read from its start.
 */

struct sonde_tailer;

enum sonde_tailer_event {
	SONDE_TAILER_OPENED,	     /* a file is now followed */
	SONDE_TAILER_CLOSED,	     /* a file was drained and closed */
	SONDE_TAILER_ROTATED_RENAME, /* path now names another file */
	SONDE_TAILER_ROTATED_DELETE, /* the followed file was unlinked */
	SONDE_TAILER_TRUNCATED,	     /* size fell below the read offset */
	SONDE_TAILER_REPLACED,	     /* changed while down: read from 0 */
	SONDE_TAILER_RESUMED,	     /* continued from a checkpoint */
};

struct sonde_tailer_source {
	const char *pattern; /* glob(7); copied */
	size_t max_line;     /* longer lines are truncated to this */
	bool from_beginning; /* files present at start: read from 0, not end */
};

struct sonde_tailer_ops {
	/*
	 * One complete line without its newline. `truncated`: the line was
	 * longer than max_line and only its first max_line bytes are given.
	 */
	void (*line)(void *userdata, void *file_user, const char *line,
		     size_t len, bool truncated);
	/*
	 * File life and rotation. On OPENED the callee may set *file_user,
	 * which is then passed with every line of that file and kept when the
	 * file is rotated.
	 */
	void (*event)(void *userdata, enum sonde_tailer_event ev,
		      unsigned source, const char *path, void **file_user);
	/*
	 * Called before a checkpoint is written, so that whatever the lines
	 * were delivered to is durable first (never more than one checkpoint
	 * behind). May be NULL.
	 */
	void (*flush)(void *userdata);
};

struct sonde_tailer_config {
	const struct sonde_tailer_source *sources;
	unsigned n_sources;
	const char *state_file;	 /* NULL: no checkpoints */
	bool use_inotify;	 /* false: poll only */
	unsigned max_files;	 /* followed + draining; 0: 1024 */
	size_t read_size;	 /* read(2) chunk; 0: 256 KiB */
	uint64_t rotate_wait_ms; /* keep draining a rotated file this long */
};

struct sonde_tailer_stats {
	uint64_t inotify_overflows;
	uint64_t files_skipped;
	uint64_t read_errors;
	uint64_t checkpoint_errors;
	unsigned files; /* followed now, draining ones included */
	bool inotify;	/* inotify in use */
};

int sonde_tailer_new(const struct sonde_tailer_config *cfg,
		     const struct sonde_tailer_ops *ops, void *userdata,
		     struct sonde_tailer **ret_tailer);
void sonde_tailer_free(struct sonde_tailer *t);

/*
 * First scan: sets up inotify, resumes checkpointed files, reads what is
 * there. Like the calls below, returns 1 when a backlog remains.
 */
int sonde_tailer_start(struct sonde_tailer *t);

/* The inotify fd to wait on (EPOLLIN), -1 in poll-only mode. */
int sonde_tailer_fd(const struct sonde_tailer *t);

/* Reads pending inotify events and services the files they touch. */
int sonde_tailer_handle_events(struct sonde_tailer *t);

/* Re-scans the globs and services every file (the polling fallback). */
int sonde_tailer_poll(struct sonde_tailer *t);

/*
 * The calls above read at most a budget per file (so that a large backlog
 * does not starve the owner's stop requests) and return 1 when a file has
 * more to read; then call this until it returns 0.
 */
int sonde_tailer_continue(struct sonde_tailer *t);

/*
 * Writes the state file atomically (tmp + fsync + rename), after calling
 * ops->flush. Also done by the tailer itself after a pass that saw a
 * rotation.
 */
int sonde_tailer_checkpoint(struct sonde_tailer *t);

void sonde_tailer_get_stats(const struct sonde_tailer *t,
			    struct sonde_tailer_stats *ret_stats);

#endif
