// SPDX-License-Identifier: MIT
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <string.h>

#include "elfread.h"
#include "sslsyms.h"
#include "x86call.h"

/* Prologue bytes looked at before the first call. */
#define WALK_BYTES 64

enum { F_READ, F_READ_EX, F_WRITE, F_WRITE_EX, F_N };
static const char *const fn_names[F_N][2] = {
	{ "SSL_read", NULL }, { "SSL_read_ex", NULL }, { "SSL_write", NULL }, { "SSL_write_ex", NULL }
};

/* The target of fn's first call, if it lies in fn's own section. */
static bool first_call(const struct sonde_elf *e, const struct sonde_elf_sym *fn,
		       uint64_t *ret_target)
{
	uint8_t code[WALK_BYTES];
	uint64_t off;
	size_t call_off;
	int64_t rel;
	ssize_t got = sonde_elf_read(e, fn, 0, code, sizeof(code), NULL);

	if (got <= 0 || !sonde_x86_first_call(code, (size_t)got, &call_off, &rel))
		return false;
	*ret_target = fn->addr + (uint64_t)rel;
	return sonde_elf_offset(e, fn->shndx, *ret_target, &off);
}

/* The internal function both fns reach first, as a file offset. */
static bool internal_off(const struct sonde_elf *e, const struct sonde_elf_sym *plain,
			 const struct sonde_elf_sym *ex, uint64_t *ret_off)
{
	uint64_t t_ex, t_plain;

	return first_call(e, ex, &t_ex) && first_call(e, plain, &t_plain) && t_ex == t_plain &&
	       sonde_elf_offset(e, ex->shndx, t_ex, ret_off);
}

/* The four functions, exported ones first, else from the symbol table. */
static void find_fns(const struct sonde_elf *e, struct sonde_elf_sym fns[F_N])
{
	sonde_elf_syms(e, SHT_DYNSYM, fn_names, F_N, true, fns);
	if (!fns[F_READ].found || !fns[F_WRITE].found) {
		memset(fns, 0, F_N * sizeof(*fns));
		sonde_elf_syms(e, SHT_SYMTAB, fn_names, F_N, true, fns);
	}
}

int sonde_ssl_internal_find(const char *path, struct sonde_ssl_internal *out)
{
	struct sonde_elf_sym fns[F_N] = { { 0 } };
	struct sonde_elf e;
	int err = sonde_elf_open(path, &e);

	if (err)
		return err;
	find_fns(&e, fns);
	if (!internal_off(&e, &fns[F_READ], &fns[F_READ_EX], &out->read_off) ||
	    !internal_off(&e, &fns[F_WRITE], &fns[F_WRITE_EX], &out->write_off))
		err = -ENOENT;
	sonde_elf_close(&e);
	return err;
}

bool sonde_ssl_defined(const char *path)
{
	struct sonde_elf_sym fns[F_N] = { { 0 } };
	struct sonde_elf e;

	if (sonde_elf_open(path, &e))
		return false;
	find_fns(&e, fns);
	sonde_elf_close(&e);
	return fns[F_READ].found && fns[F_WRITE].found;
}
