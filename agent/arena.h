/* SPDX-License-Identifier: MIT */
#ifndef SONDE_ARENA_H
#define SONDE_ARENA_H

#include <stddef.h>

/* A bump allocator freed in one call: snapshots and other build-once data. */
struct sonde_arena;

struct sonde_arena *sonde_arena_new(size_t block_size);
void sonde_arena_free(struct sonde_arena *arena);
/* 16-byte aligned, zeroed; NULL on allocation failure. */
void *sonde_arena_alloc(struct sonde_arena *arena, size_t size);
char *sonde_arena_strdup(struct sonde_arena *arena, const char *s);

#endif
