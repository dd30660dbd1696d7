// SPDX-License-Identifier: MIT
#include "arena.h"

#include <stdlib.h>
#include <string.h>

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

struct sonde_arena {
	struct arena_block *head;
	size_t block_size;
};

struct sonde_arena *sonde_arena_new(size_t block_size)
{
	struct sonde_arena *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->block_size = block_size < 1024 ? 1024 : block_size;
	return a;
}

void sonde_arena_free(struct sonde_arena *arena)
{
	struct arena_block *b, *next;

	if (!arena)
		return;
	for (b = arena->head; b; b = next) {
		next = b->next;
		free(b);
	}
	free(arena);
}

void *sonde_arena_alloc(struct sonde_arena *arena, size_t size)
{
	struct arena_block *b = arena->head;
	size_t need = (size + 15) & ~(size_t)15;
	void *p;

	if (need < size)
		return NULL;
	if (!b || b->size - b->used < need) {
		size_t bs = need > arena->block_size ? need : arena->block_size;

		b = malloc(sizeof(*b) + bs);
		if (!b)
			return NULL;
		b->size = bs;
		b->used = 0;
		b->next = arena->head;
		arena->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

char *sonde_arena_strdup(struct sonde_arena *arena, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = sonde_arena_alloc(arena, n);

	if (p)
		memcpy(p, s, n);
	return p;
}
