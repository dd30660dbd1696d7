// SPDX-License-Identifier: MIT
#include <string.h>

#include "gopcln.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The NUL-terminated name at tab[off], if it ends inside tab. */
static const char *name_at(const uint8_t *tab, size_t len, uint64_t off)
{
	if (off >= len || !memchr(tab + off, '\0', len - off))
		return NULL;
	return (const char *)tab + off;
}

int sonde_go_pcln_find(const uint8_t *tab, size_t len, uint64_t text_addr,
		       const char *const *names, size_t n, struct sonde_go_fn *out)
{
	uint64_t nfunc, text = 0, names_off, ftab_off, ent;
	uint32_t magic;
	bool old;

	for (size_t k = 0; k < n; k++)
		out[k].found = false;
	if (len < 72)
		return -1;
	magic = le32(tab);
	old = magic == 0xfffffffa; /* Go 1.16-1.17: no textStart, pointer-wide table */
	if ((!old && magic != 0xfffffff0 && magic != 0xfffffff1) || tab[4] || tab[5] ||
	    tab[6] != 1 || tab[7] != 8)
		return -1;
	nfunc = le64(tab + 8);
	if (old) {
		names_off = le64(tab + 24);
		ftab_off = le64(tab + 56);
	} else {
		text = le64(tab + 24);
		if (!text)
			text = text_addr;
		names_off = le64(tab + 32);
		ftab_off = le64(tab + 64);
	}
	ent = old ? 16 : 8; /* {entry, funcoff}: pointer-wide, or two uint32 */
	/* nfunc entries and the end one, inside the table */
	if (ftab_off >= len || nfunc >= (len - ftab_off) / ent || names_off >= len)
		return -1;
	for (uint64_t i = 0; i < nfunc; i++) {
		const uint8_t *e = tab + ftab_off + i * ent;
		uint64_t entry = old ? le64(e) : text + le32(e);
		uint64_t next = old ? le64(e + ent) : text + le32(e + ent);
		uint64_t fo = old ? le64(e + 8) : le32(e + 4);
		const char *name;
		int32_t noff;

		/* _func { entry (uintptr, or uint32 from 1.18), nameOff int32, ... } */
		if (fo > len - ftab_off || len - ftab_off - fo < (old ? 12u : 8u))
			continue;
		noff = (int32_t)le32(tab + ftab_off + fo + (old ? 8 : 4));
		if (noff < 0)
			continue;
		name = name_at(tab, len, names_off + (uint64_t)noff);
		if (!name)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (out[k].found || strcmp(name, names[k]) != 0)
				continue;
			out[k].found = true;
			out[k].addr = entry;
			out[k].size = next > entry ? next - entry : 0;
		}
	}
	return 0;
}

int sonde_go_buildinfo_minor(const uint8_t *bi, size_t len)
{
	static const char magic[] = "\xff Go buildinf:";
	uint64_t slen = 0;
	size_t i = 32;
	int shift = 0, minor = 0, digits = 0;

	/* magic (14), pointer size, flags (2: strings inline), padding to 32 */
	if (len < 33 || memcmp(bi, magic, 14) != 0 || !(bi[15] & 2))
		return -1;
	while (i < len && shift < 63) { /* uvarint length */
		slen |= (uint64_t)(bi[i] & 0x7f) << shift;
		shift += 7;
		if (!(bi[i++] & 0x80))
			break;
	}
	if (i >= len || slen > len - i)
		return -1;
	if (slen < 5 || memcmp(bi + i, "go1.", 4) != 0)
		return 999;
	for (size_t k = i + 4; k < i + slen && bi[k] >= '0' && bi[k] <= '9' && digits < 4; k++) {
		minor = minor * 10 + (bi[k] - '0');
		digits++;
	}
	return digits ? minor : 999;
}
