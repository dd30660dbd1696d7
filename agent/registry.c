// SPDX-License-Identifier: MIT
#include "registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "registry_internal.h"

const double sonde_buckets_otel_seconds[] = {
	0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
};
const unsigned sonde_buckets_otel_seconds_n =
	sizeof(sonde_buckets_otel_seconds) / sizeof(sonde_buckets_otel_seconds[0]);

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double bits_to_double(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t double_to_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

static bool name_ok(const char *s, bool label)
{
	if (!s || !*s)
		return false;
	if (label && s[0] == '_' && s[1] == '_')
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (!label && c == ':');

		if (!alpha && !(p != s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/*
 * Label values from traffic may be anything: truncate to
 * SONDE_LABEL_VALUE_MAX and replace invalid UTF-8 and control bytes with
 * '?', so the exposition is always valid. Done on every lookup so that the
 * same raw input always maps to the same stored value.
 */
static size_t clean_value(const char *in, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t o = 0, i = 0;

	while (s[i] && o + 1 < cap) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		bool valid = n > 0 && !(n == 2 && c < 0xc2) && !(n == 4 && c > 0xf4);

		for (size_t k = 1; valid && k < n; k++)
			valid = (s[i + k] & 0xc0) == 0x80;
		if (valid && n == 3) {
			unsigned cp = ((c & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6);
			valid = cp >= 0x800 && !(cp >= 0xd800 && cp <= 0xdfff);
		}
		if (valid && n == 4)
			valid = !(c == 0xf0 && s[i + 1] < 0x90) && !(c == 0xf4 && s[i + 1] >= 0x90);
		if (!valid || (n == 1 && (c < 0x20 || c == 0x7f))) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= cap)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return o;
}

static uint64_t hash_values(const char vals[][SONDE_LABEL_VALUE_MAX], unsigned n)
{
	uint64_t h = 1469598103934665603ull;

	for (unsigned i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)vals[i]; *p; p++) {
			h ^= *p;
			h *= 1099511628211ull;
		}
		h ^= 0xff;
		h *= 1099511628211ull;
	}
	return h;
}

static void series_free(struct sonde_series *s)
{
	free(s);
}

static struct sonde_series *series_new(struct sonde_family *fam,
				       const char vals[][SONDE_LABEL_VALUE_MAX],
				       uint64_t hash)
{
	size_t nb = fam->type == SONDE_HISTOGRAM ? fam->n_buckets + 1 : 0;
	size_t head = sizeof(struct sonde_series) + nb * sizeof(_Atomic uint64_t);
	size_t strs = 0;
	struct sonde_series *s;
	char *p;

	for (unsigned i = 0; i < fam->n_labels; i++)
		strs += strlen(vals[i]) + 1;
	s = calloc(1, head + strs);
	if (!s)
		return NULL;
	p = (char *)s + head;
	for (unsigned i = 0; i < fam->n_labels; i++) {
		size_t l = strlen(vals[i]) + 1;

		memcpy(p, vals[i], l);
		s->values[i] = p;
		p += l;
	}
	s->fam = fam;
	s->hash = hash;
	s->created = wall_now();
	atomic_store_explicit(&s->gen, atomic_load(&fam->gen), memory_order_relaxed);
	return s;
}

static struct sonde_series *find_locked(struct sonde_family *fam,
					const char vals[][SONDE_LABEL_VALUE_MAX],
					uint64_t hash)
{
	struct sonde_series *s;

	if (!fam->table_size)
		return NULL;
	for (s = fam->table[hash & (fam->table_size - 1)]; s; s = s->hnext) {
		unsigned i;

		if (s->hash != hash)
			continue;
		for (i = 0; i < fam->n_labels; i++)
			if (strcmp(s->values[i], vals[i]) != 0)
				break;
		if (i == fam->n_labels)
			return s;
	}
	return NULL;
}

static int grow_locked(struct sonde_family *fam)
{
	size_t nsize = fam->table_size ? fam->table_size * 2 : 16;
	struct sonde_series **nt = calloc(nsize, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < fam->table_size; i++) {
		struct sonde_series *s = fam->table[i], *next;

		for (; s; s = next) {
			next = s->hnext;
			s->hnext = nt[s->hash & (nsize - 1)];
			nt[s->hash & (nsize - 1)] = s;
		}
	}
	free(fam->table);
	fam->table = nt;
	fam->table_size = nsize;
	return 0;
}

static void insert_locked(struct sonde_family *fam, struct sonde_series *s)
{
	size_t b = s->hash & (fam->table_size - 1);

	s->hnext = fam->table[b];
	fam->table[b] = s;
	s->prev = fam->last;
	if (fam->last)
		fam->last->next = s;
	else
		fam->first = s;
	fam->last = s;
	fam->n_series++;
}

static void touch(struct sonde_series *s)
{
	uint64_t g = atomic_load_explicit(&s->fam->gen, memory_order_relaxed);

	if (atomic_load_explicit(&s->gen, memory_order_relaxed) != g)
		atomic_store_explicit(&s->gen, g, memory_order_relaxed);
}

static unsigned family_cap(const struct sonde_family *fam)
{
	return fam->max_series ? fam->max_series : atomic_load(&fam->reg->default_max_series);
}

static struct sonde_series *overflow_series(struct sonde_family *fam)
{
	char buf[SONDE_MAX_LABELS][SONDE_LABEL_VALUE_MAX];
	/* ISO C before C2x does not convert char (*)[N] to const char (*)[N] */
	const char(*vals)[SONDE_LABEL_VALUE_MAX] = (const char(*)[SONDE_LABEL_VALUE_MAX])buf;

	/* Called with the write lock held. */
	if (!fam->overflow) {
		for (unsigned i = 0; i < fam->n_labels; i++)
			strcpy(buf[i], SONDE_OVERFLOW_VALUE);
		fam->overflow = series_new(fam, vals, hash_values(vals, fam->n_labels));
	}
	return fam->overflow;
}

struct sonde_series *sonde_family_series(struct sonde_family *fam,
					 const char *const *values)
{
	char buf[SONDE_MAX_LABELS][SONDE_LABEL_VALUE_MAX];
	const char(*vals)[SONDE_LABEL_VALUE_MAX] = (const char(*)[SONDE_LABEL_VALUE_MAX])buf;
	struct sonde_series *s;
	uint64_t hash;

	for (unsigned i = 0; i < fam->n_labels; i++)
		clean_value(values ? values[i] : "", buf[i], sizeof(buf[i]));
	hash = hash_values(vals, fam->n_labels);

	pthread_rwlock_rdlock(&fam->lock);
	s = find_locked(fam, vals, hash);
	pthread_rwlock_unlock(&fam->lock);
	if (s) {
		touch(s);
		return s;
	}

	pthread_rwlock_wrlock(&fam->lock);
	s = find_locked(fam, vals, hash);
	if (!s) {
		if (fam->n_series >= family_cap(fam) ||
		    (fam->n_series + 1 > fam->table_size && grow_locked(fam) < 0)) {
			s = overflow_series(fam);
			if (fam->dropped)
				sonde_counter_inc(fam->dropped);
		} else {
			s = series_new(fam, vals, hash);
			if (s)
				insert_locked(fam, s);
			else
				s = overflow_series(fam);
		}
	}
	pthread_rwlock_unlock(&fam->lock);
	/* Only when even the overflow series could not be allocated. */
	if (!s)
		abort();
	touch(s);
	return s;
}

struct sonde_series *sonde_family_solo(struct sonde_family *fam)
{
	return sonde_family_series(fam, NULL);
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
	uint64_t old = atomic_load_explicit(p, memory_order_relaxed), nw;

	do {
		nw = double_to_bits(bits_to_double(old) + v);
	} while (!atomic_compare_exchange_weak_explicit(p, &old, nw, memory_order_relaxed,
							memory_order_relaxed));
}

void sonde_counter_add(struct sonde_series *s, double v)
{
	if (v > 0)
		atomic_add_double(&s->bits, v);
}

void sonde_counter_inc(struct sonde_series *s)
{
	atomic_add_double(&s->bits, 1.0);
}

void sonde_counter_set(struct sonde_series *s, double v)
{
	atomic_store_explicit(&s->bits, double_to_bits(v), memory_order_relaxed);
	touch(s);
}

void sonde_gauge_set(struct sonde_series *s, double v)
{
	atomic_store_explicit(&s->bits, double_to_bits(v), memory_order_relaxed);
	touch(s);
}

void sonde_gauge_add(struct sonde_series *s, double v)
{
	atomic_add_double(&s->bits, v);
}

void sonde_histogram_observe(struct sonde_series *s, double v)
{
	const struct sonde_family *fam = s->fam;
	unsigned i = 0;

	while (i < fam->n_buckets && v > fam->buckets[i])
		i++;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	atomic_add_double(&s->bits, v);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

double sonde_series_value(const struct sonde_series *s)
{
	return bits_to_double(atomic_load_explicit(&((struct sonde_series *)s)->bits,
						   memory_order_relaxed));
}

void sonde_family_mark(struct sonde_family *fam)
{
	atomic_fetch_add(&fam->gen, 1);
}

static void unlink_locked(struct sonde_family *fam, struct sonde_series *s)
{
	struct sonde_series **pp = &fam->table[s->hash & (fam->table_size - 1)];

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	if (s->prev)
		s->prev->next = s->next;
	else
		fam->first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		fam->last = s->prev;
	fam->n_series--;
}

void sonde_family_sweep(struct sonde_family *fam)
{
	uint64_t g = atomic_load(&fam->gen);
	struct sonde_series *s, *next;

	atomic_store(&fam->swept, true);
	pthread_rwlock_wrlock(&fam->lock);
	for (s = fam->first; s; s = next) {
		next = s->next;
		if (atomic_load(&s->gen) != g) {
			unlink_locked(fam, s);
			series_free(s);
		}
	}
	pthread_rwlock_unlock(&fam->lock);
}

unsigned sonde_family_series_count(const struct sonde_family *fam)
{
	unsigned n;

	pthread_rwlock_rdlock((pthread_rwlock_t *)&fam->lock);
	n = (unsigned)fam->n_series;
	pthread_rwlock_unlock((pthread_rwlock_t *)&fam->lock);
	return n;
}

static void family_free(struct sonde_family *fam)
{
	struct sonde_series *s, *next;

	if (!fam)
		return;
	for (s = fam->first; s; s = next) {
		next = s->next;
		series_free(s);
	}
	series_free(fam->overflow);
	free(fam->table);
	free(fam->name);
	free(fam->help);
	free(fam->unit);
	for (unsigned i = 0; i < fam->n_labels; i++)
		free(fam->labels[i]);
	pthread_rwlock_destroy(&fam->lock);
	free(fam);
}

static struct sonde_family *find_family_locked(struct sonde_registry *reg,
					       const char *name)
{
	for (size_t i = 0; i < reg->n_fams; i++)
		if (strcmp(reg->fams[i]->name, name) == 0)
			return reg->fams[i];
	return NULL;
}

static bool same_shape(const struct sonde_family *fam,
		       const struct sonde_family_desc *d, unsigned n_labels)
{
	if (fam->type != d->type || fam->n_labels != n_labels)
		return false;
	for (unsigned i = 0; i < n_labels; i++)
		if (strcmp(fam->labels[i], d->labels[i]) != 0)
			return false;
	if (d->type == SONDE_HISTOGRAM) {
		if (fam->n_buckets != d->n_buckets)
			return false;
		for (unsigned i = 0; i < d->n_buckets; i++)
			if (fam->buckets[i] != d->buckets[i])
				return false;
	}
	return true;
}

static int add_locked(struct sonde_registry *reg, const struct sonde_family_desc *d,
		      struct sonde_family **ret_fam)
{
	struct sonde_family *fam, *existing;
	unsigned n_labels = 0;
	int err = -EINVAL;

	if (!name_ok(d->name, false) || !d->help)
		return -EINVAL;
	while (n_labels < SONDE_MAX_LABELS && d->labels[n_labels]) {
		if (!name_ok(d->labels[n_labels], true))
			return -EINVAL;
		if (d->type == SONDE_HISTOGRAM && strcmp(d->labels[n_labels], "le") == 0)
			return -EINVAL;
		n_labels++;
	}
	if (d->type == SONDE_HISTOGRAM &&
	    (d->n_buckets == 0 || d->n_buckets > SONDE_MAX_BUCKETS || !d->buckets))
		return -EINVAL;
	for (unsigned i = 1; d->type == SONDE_HISTOGRAM && i < d->n_buckets; i++)
		if (!(d->buckets[i] > d->buckets[i - 1]))
			return -EINVAL;

	existing = find_family_locked(reg, d->name);
	if (existing) {
		if (!same_shape(existing, d, n_labels))
			return -EEXIST;
		*ret_fam = existing;
		return 0;
	}

	if (reg->n_fams == reg->cap_fams) {
		size_t nc = reg->cap_fams ? reg->cap_fams * 2 : 32;
		struct sonde_family **nf = realloc(reg->fams, nc * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		reg->fams = nf;
		reg->cap_fams = nc;
	}
	fam = calloc(1, sizeof(*fam));
	if (!fam)
		return -ENOMEM;
	pthread_rwlock_init(&fam->lock, NULL);
	fam->reg = reg;
	fam->type = d->type;
	fam->max_series = d->max_series;
	fam->name = strdup(d->name);
	fam->help = strdup(d->help);
	fam->unit = d->unit ? strdup(d->unit) : NULL;
	err = -ENOMEM;
	if (!fam->name || !fam->help || (d->unit && !fam->unit))
		goto fail;
	for (unsigned i = 0; i < n_labels; i++) {
		fam->labels[i] = strdup(d->labels[i]);
		fam->n_labels = i + 1;
		if (!fam->labels[i])
			goto fail;
	}
	if (d->type == SONDE_HISTOGRAM) {
		fam->n_buckets = d->n_buckets;
		memcpy(fam->buckets, d->buckets, d->n_buckets * sizeof(double));
	}
	if (reg->dropped_fam) {
		const char *v[1] = { fam->name };

		fam->dropped = sonde_family_series(reg->dropped_fam, v);
	}
	reg->fams[reg->n_fams++] = fam;
	*ret_fam = fam;
	return 0;
fail:
	family_free(fam);
	return err;
}

int sonde_registry_add(struct sonde_registry *reg,
		       const struct sonde_family_desc *desc,
		       struct sonde_family **ret_fam)
{
	int r;

	pthread_mutex_lock(&reg->lock);
	r = add_locked(reg, desc, ret_fam);
	pthread_mutex_unlock(&reg->lock);
	return r;
}

int sonde_registry_new(unsigned default_max_series, struct sonde_registry **ret_reg)
{
	static const struct sonde_family_desc dropped = {
		.name = "sonde_series_dropped_total",
		.help = "Updates folded into a family's overflow series because the family reached its series cap.",
		.type = SONDE_COUNTER,
		.labels = { "family" },
		.max_series = 4096,
	};
	static _Atomic uint64_t next_id = 1;
	struct sonde_registry *reg;
	int err;

	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	reg->id = atomic_fetch_add(&next_id, 1);
	pthread_mutex_init(&reg->lock, NULL);
	pthread_mutex_init(&reg->collect_lock, NULL);
	atomic_store(&reg->default_max_series, default_max_series ? default_max_series : 2000);
	err = sonde_registry_add(reg, &dropped, &reg->dropped_fam);
	if (err < 0) {
		sonde_registry_free(reg);
		return err;
	}
	*ret_reg = reg;
	return 0;
}

void sonde_registry_set_default_max_series(struct sonde_registry *reg,
					   unsigned max_series)
{
	if (max_series)
		atomic_store(&reg->default_max_series, max_series);
}

void sonde_registry_free(struct sonde_registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->n_fams; i++)
		family_free(reg->fams[i]);
	free(reg->fams);
	free(reg->collectors);
	pthread_mutex_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->collect_lock);
	free(reg);
}

int sonde_registry_add_collector(struct sonde_registry *reg, sonde_collect_fn fn,
				 void *userdata)
{
	int err = 0;

	/* collect_lock first: a snapshot may be running the list. */
	pthread_mutex_lock(&reg->collect_lock);
	pthread_mutex_lock(&reg->lock);
	if (reg->n_collectors == reg->cap_collectors) {
		size_t nc = reg->cap_collectors ? reg->cap_collectors * 2 : 8;
		struct collector *c = realloc(reg->collectors, nc * sizeof(*c));

		if (!c) {
			err = -ENOMEM;
			goto out;
		}
		reg->collectors = c;
		reg->cap_collectors = nc;
	}
	reg->collectors[reg->n_collectors++] = (struct collector){ fn, userdata };
out:
	pthread_mutex_unlock(&reg->lock);
	pthread_mutex_unlock(&reg->collect_lock);
	return err;
}

void sonde_registry_remove_collector(struct sonde_registry *reg,
				     sonde_collect_fn fn, void *userdata)
{
	pthread_mutex_lock(&reg->collect_lock);
	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->n_collectors; i++) {
		if (reg->collectors[i].fn == fn && reg->collectors[i].userdata == userdata) {
			memmove(&reg->collectors[i], &reg->collectors[i + 1],
				(reg->n_collectors - i - 1) * sizeof(*reg->collectors));
			reg->n_collectors--;
			break;
		}
	}
	pthread_mutex_unlock(&reg->lock);
	pthread_mutex_unlock(&reg->collect_lock);
}

static int fam_cmp(const void *a, const void *b)
{
	const struct sonde_snap_family *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int snap_series(struct sonde_arena *ar, const struct sonde_family *fam,
		       const struct sonde_series *s, struct sonde_snap_series *out)
{
	for (unsigned i = 0; i < fam->n_labels; i++) {
		out->values[i] = sonde_arena_strdup(ar, s->values[i]);
		if (!out->values[i])
			return -ENOMEM;
	}
	out->value = bits_to_double(atomic_load_explicit(&((struct sonde_series *)s)->bits,
							 memory_order_relaxed));
	out->created = s->created;
	if (fam->type == SONDE_HISTOGRAM) {
		uint64_t cum = 0;

		for (unsigned i = 0; i <= fam->n_buckets; i++) {
			cum += atomic_load_explicit(&((struct sonde_series *)s)->buckets[i],
						    memory_order_relaxed);
			if (i < fam->n_buckets)
				out->buckets[i] = cum;
		}
		/* count = the +Inf bucket, so buckets and count agree. */
		out->count = cum;
	}
	return 0;
}

static int snap_family(struct sonde_arena *ar, struct sonde_family *fam,
		       struct sonde_snap_family *out)
{
	const struct sonde_series *s;
	size_t n = 0;
	int err = -ENOMEM;

	out->name = sonde_arena_strdup(ar, fam->name);
	out->help = sonde_arena_strdup(ar, fam->help);
	out->unit = fam->unit ? sonde_arena_strdup(ar, fam->unit) : NULL;
	if (!out->name || !out->help || (fam->unit && !out->unit))
		return -ENOMEM;
	out->type = fam->type;
	out->n_labels = fam->n_labels;
	for (unsigned i = 0; i < fam->n_labels; i++)
		out->labels[i] = sonde_arena_strdup(ar, fam->labels[i]);
	out->n_buckets = fam->n_buckets;
	memcpy(out->buckets, fam->buckets, sizeof(out->buckets));

	pthread_rwlock_rdlock(&fam->lock);
	out->series = sonde_arena_alloc(ar, (fam->n_series + 1) * sizeof(*out->series));
	if (!out->series)
		goto out;
	for (s = fam->first; s; s = s->next)
		if ((err = snap_series(ar, fam, s, &out->series[n++])) < 0)
			goto out;
	if (fam->overflow && (err = snap_series(ar, fam, fam->overflow, &out->series[n++])) < 0)
		goto out;
	out->n_series = n;
	err = 0;
out:
	pthread_rwlock_unlock(&fam->lock);
	return err;
}

int sonde_registry_snapshot(struct sonde_registry *reg, struct sonde_snapshot **ret_snap)
{
	struct sonde_snapshot *snap;
	struct sonde_arena *ar;
	int err = -ENOMEM;

	pthread_mutex_lock(&reg->collect_lock);
	for (size_t i = 0; i < reg->n_collectors; i++)
		reg->collectors[i].fn(reg->collectors[i].userdata);

	ar = sonde_arena_new(256 * 1024);
	if (!ar)
		goto out;
	snap = sonde_arena_alloc(ar, sizeof(*snap));
	if (!snap)
		goto fail;
	snap->arena = ar;
	pthread_mutex_lock(&reg->lock);
	snap->families = sonde_arena_alloc(ar, (reg->n_fams + 1) * sizeof(*snap->families));
	if (!snap->families) {
		pthread_mutex_unlock(&reg->lock);
		goto fail;
	}
	for (size_t i = 0; i < reg->n_fams; i++) {
		if ((err = snap_family(ar, reg->fams[i], &snap->families[i])) < 0) {
			pthread_mutex_unlock(&reg->lock);
			goto fail;
		}
	}
	snap->n_families = reg->n_fams;
	pthread_mutex_unlock(&reg->lock);
	qsort(snap->families, snap->n_families, sizeof(*snap->families), fam_cmp);
	*ret_snap = snap;
	err = 0;
	goto out;
fail:
	sonde_arena_free(ar);
out:
	pthread_mutex_unlock(&reg->collect_lock);
	return err;
}

void sonde_snapshot_free(struct sonde_snapshot *snap)
{
	if (snap)
		sonde_arena_free(snap->arena);
}
