// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "sslsyms.h"
#include "x86call.h"

/* Prologue bytes looked at before the first call. */
#define WALK_BYTES 64

enum { F_READ, F_READ_EX, F_WRITE, F_WRITE_EX, F_N };
static const char *const fn_names[F_N] = { "SSL_read", "SSL_read_ex", "SSL_write",
					   "SSL_write_ex" };

struct fn {
	bool found;
	uint64_t vaddr;
	size_t shndx;
};

/* The exported functions' addresses and sections, from .dynsym. */
static void find_fns(Elf *elf, struct fn fns[F_N])
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *name;
			int f;

			if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			for (f = 0; name && f < F_N; f++) {
				if (strcmp(name, fn_names[f]) == 0) {
					fns[f].found = true;
					fns[f].vaddr = sym.st_value;
					fns[f].shndx = sym.st_shndx;
				}
			}
		}
	}
}

/*
 * The target of fns[f]'s first call, as an address, after checking it
 * lies in the same section; the section's header in *sh.
 */
static bool first_call(int fd, Elf *elf, const struct fn *fn, uint64_t *ret_target,
		       GElf_Shdr *sh)
{
	uint8_t code[WALK_BYTES];
	Elf_Scn *scn;
	uint64_t off, avail;
	size_t call_off;
	int64_t rel, target;
	ssize_t got;

	if (!fn->found || !(scn = elf_getscn(elf, fn->shndx)) || !gelf_getshdr(scn, sh) ||
	    sh->sh_type != SHT_PROGBITS || fn->vaddr < sh->sh_addr ||
	    fn->vaddr - sh->sh_addr >= sh->sh_size)
		return false;
	off = fn->vaddr - sh->sh_addr;
	avail = sh->sh_size - off;
	got = pread(fd, code, avail < sizeof(code) ? (size_t)avail : sizeof(code),
		    (off_t)(sh->sh_offset + off));
	if (got <= 0 || !sonde_x86_first_call(code, (size_t)got, &call_off, &rel))
		return false;
	target = (int64_t)fn->vaddr + rel;
	if (target < (int64_t)sh->sh_addr || (uint64_t)target - sh->sh_addr >= sh->sh_size)
		return false;
	*ret_target = (uint64_t)target;
	return true;
}

/* The internal function both fns reach first, as a file offset. */
static bool internal_off(int fd, Elf *elf, const struct fn *plain, const struct fn *ex,
			 uint64_t *ret_off)
{
	GElf_Shdr sh, sh2;
	uint64_t t_ex, t_plain;

	if (!first_call(fd, elf, ex, &t_ex, &sh) || !first_call(fd, elf, plain, &t_plain, &sh2) ||
	    t_ex != t_plain)
		return false;
	*ret_off = t_ex - sh.sh_addr + sh.sh_offset;
	return true;
}

int sonde_ssl_internal_find(const char *path, struct sonde_ssl_internal *out)
{
	struct fn fns[F_N] = { { 0 } };
	GElf_Ehdr eh;
	Elf *elf = NULL;
	int fd, err = -ENOENT;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || !gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64)
		goto out;
	find_fns(elf, fns);
	if (internal_off(fd, elf, &fns[F_READ], &fns[F_READ_EX], &out->read_off) &&
	    internal_off(fd, elf, &fns[F_WRITE], &fns[F_WRITE_EX], &out->write_off))
		err = 0;
out:
	elf_end(elf);
	close(fd);
	return err;
}
