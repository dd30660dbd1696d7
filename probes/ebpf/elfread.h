// SPDX-License-Identifier: MIT
#ifndef SONDE_EBPF_ELFREAD_H
#define SONDE_EBPF_ELFREAD_H
/*
 * The little of an x86-64 ELF file the TLS hooks need (libssl's exported
 * functions, a Go program's crypto/tls): symbols by name, and the bytes at
 * a symbol's address, read through its section, with their file offset
 * (what a uprobe is attached at). libelf underneath, mapped read-only.
 */
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sonde_elf {
	int fd;
	Elf *elf;
};

struct sonde_elf_sym {
	bool found;
	uint64_t addr, size;
	size_t shndx; /* its section */
};

/* 0, -errno when path cannot be opened, -ENOENT when it is not an x86-64 ELF file. */
int sonde_elf_open(const char *path, struct sonde_elf *e);
void sonde_elf_close(struct sonde_elf *e);

/*
 * The defined symbols (functions only when funcs_only) of the file's table
 * of type sh_type (SHT_SYMTAB, SHT_DYNSYM) named names[k][0], or its other
 * spelling names[k][1] (NULL for none), into out[k]; false when the file
 * has no such table.
 */
bool sonde_elf_syms(const struct sonde_elf *e, unsigned sh_type, const char *const (*names)[2],
		    size_t n, bool funcs_only, struct sonde_elf_sym *out);

/*
 * Up to len bytes at s's address + at, from its section (PROGBITS), cut at
 * the section's end: the count read (> 0), or -1. The file offset of that
 * address in *ret_off (may be NULL).
 */
ssize_t sonde_elf_read(const struct sonde_elf *e, const struct sonde_elf_sym *s, uint64_t at,
		       void *buf, size_t len, uint64_t *ret_off);

/* addr's file offset, if addr lies in section shndx (PROGBITS). */
bool sonde_elf_offset(const struct sonde_elf *e, size_t shndx, uint64_t addr, uint64_t *ret_off);

#endif
