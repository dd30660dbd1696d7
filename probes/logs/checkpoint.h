/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOGS_CHECKPOINT_H
#define SONDE_LOGS_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * The tailer's state file: one line per followed file. A file is known by
 * device+inode, and recognised as the same content by two fingerprints:
 * the hash of its first head_len bytes and of the tail_len bytes before
 * the offset. Inode numbers are reused after a delete, and a file
 * rewritten in place keeps its inode, so neither alone is enough.
 */

#define SONDE_CKPT_HEAD_MAX 1024
#define SONDE_CKPT_TAIL_MAX 256
struct sonde_ckpt {
	const char *path; /* owned by the loader's entries (sonde_ckpt_free) */
	uint64_t dev, ino;
	uint64_t offset; /* just after the last delivered line */
	bool skip;	 /* offset is inside a truncated long line */
	bool rotated;	 /* was draining: path no longer names it */
	uint32_t head_len, tail_len;
	uint64_t head_hash, tail_hash;
};

/* Computes the fingerprints of fd for e->offset. */
int sonde_ckpt_fingerprint(int fd, struct sonde_ckpt *e);

/* Does the open file (st = its fstat) hold the checkpointed content? */
bool sonde_ckpt_matches(int fd, const struct stat *st,
			const struct sonde_ckpt *e);

/* Atomic write: tmp file, fsync, rename, fsync of the directory. */
int sonde_ckpt_save(const char *state_file, const struct sonde_ckpt *entries,
		    size_t n);

/* A missing file is an empty state. Malformed lines are skipped. */
int sonde_ckpt_load(const char *state_file, struct sonde_ckpt **ret_entries,
		    size_t *ret_n);
/* Frees what sonde_ckpt_load returned; accepts NULL. */
void sonde_ckpt_free(struct sonde_ckpt *entries, size_t n);

#endif
