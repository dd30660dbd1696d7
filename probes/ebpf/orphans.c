// SPDX-License-Identifier: MIT
#include "orphans.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A ring of slots in arrival order; taken ones leave holes (data NULL). */
struct sonde_orphans {
	struct sonde_orphan *slot;
	unsigned cap, head, n; /* n slots from head, holes included */
	uint64_t max_age_ns;
	uint64_t dropped;
};

int sonde_orphans_new(unsigned cap, uint64_t max_age_ns, struct sonde_orphans **ret_o)
{
	struct sonde_orphans *o;

	if (!cap)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->slot = calloc(cap, sizeof(*o->slot));
	if (!o->slot) {
		free(o);
		return -ENOMEM;
	}
	o->cap = cap;
	o->max_age_ns = max_age_ns;
	*ret_o = o;
	return 0;
}

static struct sonde_orphan *at(struct sonde_orphans *o, unsigned i)
{
	return &o->slot[(o->head + i) % o->cap];
}

/* Forgets slot i's data; counted when it was never handed over. */
static void clear(struct sonde_orphans *o, struct sonde_orphan *s, int count)
{
	if (s->data && count)
		o->dropped++;
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* Moves head past the holes and the orphans older than max_age. */
static void trim(struct sonde_orphans *o, uint64_t now_ns)
{
	while (o->n) {
		struct sonde_orphan *s = at(o, 0);

		if (s->data && s->ts_ns + o->max_age_ns >= now_ns)
			return;
		clear(o, s, 1);
		o->head = (o->head + 1) % o->cap;
		o->n--;
	}
}

void sonde_orphans_free(struct sonde_orphans *o)
{
	if (!o)
		return;
	for (unsigned i = 0; i < o->n; i++)
		clear(o, at(o, i), 0);
	free(o->slot);
	free(o);
}

void sonde_orphans_add(struct sonde_orphans *o, uint32_t tgid, uint64_t ssl, bool send,
		       uint64_t ts_ns, const uint8_t *data, size_t len, size_t total)
{
	struct sonde_orphan *s;

	trim(o, ts_ns);
	if (o->n == o->cap) {
		/* full: the oldest goes */
		clear(o, at(o, 0), 1);
		o->head = (o->head + 1) % o->cap;
		o->n--;
	}
	s = at(o, o->n);
	s->data = malloc(len ? len : 1);
	if (!s->data) {
		o->dropped++;
		return;
	}
	if (len) /* an empty one may come with no buffer */
		memcpy(s->data, data, len);
	s->tgid = tgid;
	s->send = send;
	s->ssl = ssl;
	s->ts_ns = ts_ns;
	s->len = len;
	s->total = total;
	o->n++;
}

unsigned sonde_orphans_take(struct sonde_orphans *o, uint32_t tgid, uint64_t ssl,
			    uint64_t now_ns, sonde_orphan_fn fn, void *userdata)
{
	unsigned handed = 0;

	trim(o, now_ns);
	for (unsigned i = 0; i < o->n; i++) {
		struct sonde_orphan *s = at(o, i);

		if (!s->data || s->tgid != tgid || s->ssl != ssl)
			continue;
		fn(s, userdata);
		clear(o, s, 0);
		handed++;
	}
	trim(o, now_ns);
	return handed;
}

uint64_t sonde_orphans_dropped(const struct sonde_orphans *o)
{
	return o->dropped;
}
