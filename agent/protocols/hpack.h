/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROTOCOLS_HPACK_H
#define SONDE_PROTOCOLS_HPACK_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * HPACK (RFC 7541) header block decoding for the HTTP/2 parser: the static
 * table, a dynamic table per direction of a connection, integers, literal
 * and Huffman strings. Nothing here logs; the only allocation is the
 * dynamic table's storage, taken on the first insert and never larger
 * than the table's current maximum size in bytes.
 */

/* Largest dynamic table size accepted (SETTINGS_HEADER_TABLE_SIZE). */
#define SONDE_HPACK_LIMIT_MAX 65536
/* Longest name or value handed to the callback; longer ones are cut. */
#define SONDE_HPACK_STR_MAX 1024

/*
 * One decoding context: one direction of one connection. The dynamic table
 * lives in buf as a slotted block: entries' name and value bytes (cut to
 * SONDE_HPACK_STR_MAX each) from the bottom up, oldest first, and a 6-byte
 * descriptor per entry from the top down, newest first, so that an entry's
 * stored bytes stay within the 32 bytes of overhead the RFC accounts for it.
 * The fields are the implementation's: use the functions.
 */
struct sonde_hpack {
	uint8_t *buf;     /* NULL until the first insert */
	uint32_t cap;     /* bytes at buf: even, <= max */
	uint32_t rec_lo;  /* entries' bytes live in [rec_lo, rec_hi) */
	uint32_t rec_hi;
	uint32_t desc_lo; /* descriptors live in [desc_lo, desc_hi) */
	uint32_t desc_hi;
	uint32_t size;    /* RFC 7541 4.1 size: name + value + 32 per entry */
	uint32_t max;     /* maximum size, as the last size update set it */
	uint32_t limit;   /* the largest maximum a size update may set */
	bool broken;      /* out of step with the encoder: stop using it */
};

/* A zeroed block becomes ready; limit 4096 (the protocol default). */
void sonde_hpack_init(struct sonde_hpack *h);
/* Frees what the table allocated and zeroes the block: it may be init'ed again. */
void sonde_hpack_fini(struct sonde_hpack *h);
/*
 * The decoder's SETTINGS_HEADER_TABLE_SIZE as the peer acknowledged it: the
 * largest size a dynamic table size update may set. Values above
 * SONDE_HPACK_LIMIT_MAX are taken as SONDE_HPACK_LIMIT_MAX. Call it
 * between header blocks. A limit below the current maximum size lowers it
 * at once (evicting as needed): the encoder's next block must start with
 * an update to at most the limit, which it applies before anything else,
 * so its table shrinks as far.
 */
void sonde_hpack_set_limit(struct sonde_hpack *h, uint32_t limit);

/*
 * A decoded header field: name and value (not NUL-terminated), cut to
 * SONDE_HPACK_STR_MAX bytes; valid during the call only.
 */
typedef void (*sonde_hpack_header_fn)(const char *name, size_t name_len,
				      const char *value, size_t value_len, void *userdata);

/*
 * Decodes one complete header block (HEADERS + CONTINUATION fragments
 * already joined by the caller), calling fn (may be NULL) for each header
 * field in order, after indexing it in the dynamic table as the RFC says.
 * Names and values are decoded (Huffman included) and cut to
 * SONDE_HPACK_STR_MAX bytes; the table still accounts the full sizes
 * (RFC 7541 4.1: name + value + 32) so that eviction matches the encoder's.
 * Returns 0, or -EINVAL for a malformed block (bad index, integer overflow,
 * Huffman padding/EOS errors, a string running past the block, a size
 * update above the limit or not at the block's start), -ENOMEM when the
 * table's storage could not grow. Fields before the error were delivered.
 * On error the context is out of step with the encoder: it is broken
 * (sonde_hpack_broken) and every later call returns -EINVAL.
 */
int sonde_hpack_decode(struct sonde_hpack *h, const uint8_t *block, size_t len,
		       sonde_hpack_header_fn fn, void *userdata);
bool sonde_hpack_broken(const struct sonde_hpack *h);
/* The dynamic table's RFC 7541 4.1 size (what eviction compares with the maximum). */
uint32_t sonde_hpack_size(const struct sonde_hpack *h);

#endif
