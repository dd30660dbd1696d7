/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_GOPCLN_H
#define SONDE_EBPF_GOPCLN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What a Go program says of itself where its symbol table is gone (linked
 * with -s, as distributions and most container images ship them): the
 * runtime's function table (.gopclntab, which the program needs to run)
 * and the build information (.go.buildinfo). Pure: the section bytes come
 * from the caller (gosyms.c), every offset in them is checked.
 */
struct sonde_go_fn {
	bool found;
	uint64_t addr; /* entry, as linked */
	uint64_t size; /* to the next function's entry */
};

/*
 * Looks names[0..n) up in the function table tab (len bytes: the layouts
 * of Go 1.16-1.17, magic 0xfffffffa, and of 1.18 on, 0xfffffff0 and
 * 0xfffffff1; 64-bit x86 only). Entries are offsets from the table's
 * textStart, or, where that is 0 (Go 1.27 seen: the runtime learns it
 * from elsewhere), from text_addr, the .text section's address. 0 when
 * the table was walked (each out[i] found or not), -1 when its layout is
 * not one of those or it is cut.
 */
int sonde_go_pcln_find(const uint8_t *tab, size_t len, uint64_t text_addr,
		       const char *const *names, size_t n, struct sonde_go_fn *out);

/*
 * N of the "go1.N" the program was built with, from .go.buildinfo's bytes
 * (the inline form of Go 1.18 on); 999 for a version string of that form
 * that is not "go1.N" (a development toolchain: newer than any release);
 * -1 when not told (Go before 1.18, bytes cut short, not buildinfo).
 */
int sonde_go_buildinfo_minor(const uint8_t *bi, size_t len);

#endif
