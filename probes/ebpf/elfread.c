// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>

#include "elfread.h"

int sonde_elf_open(const char *path, struct sonde_elf *e)
{
	GElf_Ehdr eh;

	e->elf = NULL;
	e->fd = -1;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOENT;
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	/* mapped: a 20 MB program is read in ~0 ms instead of 20 (an executable
	 * cannot be written while it runs, a library is replaced by rename) */
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (e->elf && gelf_getehdr(e->elf, &eh) && eh.e_machine == EM_X86_64)
		return 0;
	sonde_elf_close(e);
	return -ENOENT;
}

void sonde_elf_close(struct sonde_elf *e)
{
	elf_end(e->elf);
	e->elf = NULL;
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
}

static void match(const char *name, const GElf_Sym *s, const char *const (*names)[2], size_t n,
		  struct sonde_elf_sym *out)
{
	for (size_t k = 0; k < n; k++) {
		for (int v = 0; v < 2 && names[k][v]; v++) {
			if (strcmp(name, names[k][v]) != 0)
				continue;
			out[k].found = true;
			out[k].addr = s->st_value;
			out[k].size = s->st_size;
			out[k].shndx = s->st_shndx;
		}
	}
}

bool sonde_elf_syms(const struct sonde_elf *e, unsigned sh_type, const char *const (*names)[2],
		    size_t n, bool funcs_only, struct sonde_elf_sym *out)
{
	Elf_Scn *scn = NULL;
	bool table = false;

	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t count;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != sh_type || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		table = true;
		count = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < count; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(data, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
			    s.st_shndx >= SHN_LORESERVE ||
			    (funcs_only && GELF_ST_TYPE(s.st_info) != STT_FUNC))
				continue;
			name = elf_strptr(e->elf, sh.sh_link, s.st_name);
			if (name)
				match(name, &s, names, n, out);
		}
	}
	return table;
}

/* Section shndx's header when it is PROGBITS. */
static bool progbits(const struct sonde_elf *e, size_t shndx, GElf_Shdr *sh)
{
	Elf_Scn *scn = elf_getscn(e->elf, shndx);

	return scn && gelf_getshdr(scn, sh) && sh->sh_type == SHT_PROGBITS;
}

bool sonde_elf_offset(const struct sonde_elf *e, size_t shndx, uint64_t addr, uint64_t *ret_off)
{
	GElf_Shdr sh;

	if (!progbits(e, shndx, &sh) || addr < sh.sh_addr || addr - sh.sh_addr >= sh.sh_size)
		return false;
	*ret_off = sh.sh_offset + (addr - sh.sh_addr);
	return true;
}

ssize_t sonde_elf_read(const struct sonde_elf *e, const struct sonde_elf_sym *s, uint64_t at,
		       void *buf, size_t len, uint64_t *ret_off)
{
	GElf_Shdr sh;
	uint64_t rel;
	ssize_t got;

	if (!s->found || !progbits(e, s->shndx, &sh) || s->addr < sh.sh_addr)
		return -1;
	rel = s->addr - sh.sh_addr;
	if (rel >= sh.sh_size || at >= sh.sh_size - rel)
		return -1;
	rel += at;
	if (len > sh.sh_size - rel)
		len = (size_t)(sh.sh_size - rel);
	got = pread(e->fd, buf, len, (off_t)(sh.sh_offset + rel));
	if (got <= 0)
		return -1;
	if (ret_off)
		*ret_off = sh.sh_offset + rel;
	return got;
}
