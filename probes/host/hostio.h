/* SPDX-License-Identifier: MIT */
#ifndef SONDE_HOST_HOSTIO_H
#define SONDE_HOST_HOSTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path.h" /* sonde_path_join */

/*
 * Bounded reading and tokenising of /proc, /sys and cgroup files. Files are
 * read whole into one reusable buffer per collector owner (grown up to
 * `max`, never shrunk), so a scrape allocates nothing once warm.
 */

struct sonde_host_buf {
	char *data; /* NUL-terminated after a successful read */
	size_t len, cap, max;
};

/* Reads root + "/" + rel into buf. -EFBIG when the file exceeds buf->max. */
int sonde_host_buf_read(struct sonde_host_buf *buf, const char *root, const char *rel);
/* Same with an already joined path. */
int sonde_host_buf_read_path(struct sonde_host_buf *buf, const char *path);
void sonde_host_buf_release(struct sonde_host_buf *buf);


/* Next line of [*pos, end) without its '\n'; false at the end. */
bool sonde_host_line_next(const char **pos, const char *end, const char **ret_line,
			  size_t *ret_len);
/* Next blank-separated token of [*pos, end); false when none is left. */
bool sonde_host_tok_next(const char **pos, const char *end, const char **ret_tok,
			 size_t *ret_len);

/* Whole-token parsers: false on anything but a complete, in-range number. */
bool sonde_host_parse_u64(const char *s, size_t len, uint64_t *ret_v);
bool sonde_host_parse_double(const char *s, size_t len, double *ret_v);

/* Reads a file holding one unsigned number (cgroup "memory.current" etc.). */
int sonde_host_read_u64(struct sonde_host_buf *buf, const char *path, uint64_t *ret_v);

/*
 * A PSI file ("some avg10=.. total=N" and optionally "full ..."): totals in
 * seconds. Bit 0 of *ret_have: some found, bit 1: full found. -EBADMSG when
 * neither line parses.
 */
int sonde_host_parse_psi(const char *data, size_t len, double *ret_some, double *ret_full,
			 unsigned *ret_have);

/* Units of /proc numbers: clock ticks per second (USER_HZ, 100 when sysconf
 * fails) and bytes per page (4096 when it fails). */
double sonde_host_user_hz(void);
double sonde_host_page_size(void);

/* Bounded token compare. */
bool sonde_host_tok_eq(const char *tok, size_t len, const char *word);

#endif
