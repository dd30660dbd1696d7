/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_DISASM_H
#define SONDE_EBPF_DISASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * x86-64 instruction boundaries, from capstone (gocode.c walks Go code
 * with them). The library is loaded (dlopen) when a decoder is opened and
 * unloaded when the last one closes: its relocated tables are ~3 MB of
 * resident memory that an agent with no Go program to look at, which is
 * most of the time, would otherwise carry for nothing.
 */
struct sonde_disasm;

/* NULL when capstone cannot be loaded (or sonde was built without it):
 * sonde_disasm_why() then says why. */
struct sonde_disasm *sonde_disasm_open(void);
void sonde_disasm_close(struct sonde_disasm *d);
const char *sonde_disasm_why(void);

/* Keeps the library loaded from hold to release, so that several walks
 * in a row load it once; false (and no release due) when it cannot be
 * loaded. */
bool sonde_disasm_hold(void);
void sonde_disasm_release(void);

struct sonde_disasm_insn {
	uint64_t address;
	const uint8_t *bytes;
	uint16_t size;
};

/*
 * Decodes the instruction at *code (*left bytes, loaded at *addr) and
 * moves the three past it; false when the bytes do not decode. insn is
 * valid until the next call or the close.
 */
bool sonde_disasm_next(struct sonde_disasm *d, const uint8_t **code, size_t *left,
		       uint64_t *addr, struct sonde_disasm_insn *insn);

#endif
