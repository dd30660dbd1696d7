// SPDX-License-Identifier: MIT
/*
 * A per-thread memo in front of sonde_family_series, for the pipeline's
 * per-transaction lookups: the raw label values (before cleaning) are
 * packed into one key, hashed a word at a time and looked up in a small
 * direct-mapped table. A hit costs a hash and a memcmp; no lock, no copy
 * into label buffers, no UTF-8 check. A miss takes the registry's path
 * and stores its answer.
 *
 * Entries hold handles, which stay valid as long as the registry and the
 * family's series live: the memo serves only families that were never
 * swept, and keys every entry by the registry's process-unique id, so an
 * entry left by a freed registry never matches a new one. Overflow series
 * are not memoised, so a raised cap takes effect at once.
 */
#include <string.h>

#include "registry_internal.h"

#define MEMO_SLOTS 64    /* power of two */
#define MEMO_KEY_MAX 232 /* longer keys go straight to the registry */

struct memo_entry {
	uint64_t reg_id;
	const struct sonde_family *fam;
	struct sonde_series *series;
	uint64_t hash;
	uint32_t len;
	char key[MEMO_KEY_MAX];
};

static _Thread_local struct memo_entry memo[MEMO_SLOTS];

/* Packs the values NUL-separated; 0 when they do not fit. */
static size_t pack(const char *const *values, unsigned n, char *key)
{
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		const char *v = values[i] ? values[i] : "";
		size_t l = strnlen(v, MEMO_KEY_MAX);

		if (len + l + 1 > MEMO_KEY_MAX)
			return 0;
		memcpy(key + len, v, l);
		len += l;
		key[len++] = '\0';
	}
	return len;
}

static uint64_t hash_key(const char *key, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, key + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	if (i < len) {
		uint64_t w = 0;

		memcpy(&w, key + i, len - i);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
	}
	h ^= len;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

/* The key's hash made the family's own: one key hash serves several. */
static inline uint64_t fam_hash(uint64_t h, const void *fam)
{
	h ^= (uint64_t)(uintptr_t)fam * 0x9e3779b97f4a7c15ull;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

/* The memo's answer for (fam, packed key), or the registry's, stored. */
static inline struct sonde_series *lookup(struct sonde_family *fam, const char *const *values,
				   const char *key, size_t len, uint64_t key_hash)
{
	uint64_t h = fam_hash(key_hash, fam), id = fam->reg->id;
	struct memo_entry *e = &memo[h & (MEMO_SLOTS - 1)];
	struct sonde_series *s;

	if (e->hash == h && e->fam == fam && e->reg_id == id && e->len == len &&
	    memcmp(e->key, key, len) == 0)
		return e->series;
	s = sonde_family_series(fam, values);
	if (strcmp(s->values[0], SONDE_OVERFLOW_VALUE) != 0) {
		e->reg_id = id;
		e->fam = fam;
		e->series = s;
		e->hash = h;
		e->len = (uint32_t)len;
		memcpy(e->key, key, len);
	}
	return s;
}

static bool memoisable(const struct sonde_family *fam, unsigned n_labels)
{
	return fam->n_labels != 0 && fam->n_labels == n_labels &&
	       !atomic_load_explicit(&((struct sonde_family *)fam)->swept, memory_order_relaxed);
}

struct sonde_series *sonde_family_series_memo(struct sonde_family *fam,
					      const char *const *values)
{
	char key[MEMO_KEY_MAX];
	size_t len;

	if (!memoisable(fam, fam->n_labels) || !(len = pack(values, fam->n_labels, key)))
		return sonde_family_series(fam, values);
	return lookup(fam, values, key, len, hash_key(key, len));
}

void sonde_family_series_memo_n(struct sonde_family *const *fams, unsigned n,
				const char *const *values, struct sonde_series **out)
{
	char key[MEMO_KEY_MAX];
	size_t len = 0;
	uint64_t h = 0;

	if (n == 0)
		return;
	if (fams[0]->n_labels)
		len = pack(values, fams[0]->n_labels, key);
	if (len)
		h = hash_key(key, len);
	for (unsigned i = 0; i < n; i++)
		out[i] = len && memoisable(fams[i], fams[0]->n_labels) ?
				 lookup(fams[i], values, key, len, h) :
				 sonde_family_series(fams[i], values);
}
