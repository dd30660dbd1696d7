// SPDX-License-Identifier: MIT
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disasm.h"
#include "elfread.h"
#include "gocode.h"
#include "gopcln.h"
#include "gosyms.h"

/* Functions larger than this are not walked (Read and Write are ~2 KiB). */
#define GO_FN_MAX (64 * 1024)

enum { S_WRITE, S_READ, S_MEMMOVE, S_TCP, S_UNIX, S_N };

/* Go 1.20 renamed the linker's symbols from "go.itab." to "go:itab.". */
static const char *const sym_names[S_N][2] = {
	{ "crypto/tls.(*Conn).Write", NULL },
	{ "crypto/tls.(*Conn).Read", NULL },
	{ "runtime.memmove", NULL },
	{ "go.itab.*net.TCPConn,net.Conn", "go:itab.*net.TCPConn,net.Conn" },
	{ "go.itab.*net.UnixConn,net.Conn", "go:itab.*net.UnixConn,net.Conn" },
};

/*
 * The net.Conn itabs' type hashes when the program has no symbol table:
 * the first 4 bytes (little-endian) of a hash of the type's name, "*net.
 * TCPConn" and "*net.UnixConn": SHA-256 with every bit inverted from Go
 * 1.19 to 1.23 (checked against Debian's Go 1.19 programs' itabs and
 * 1.21-1.23's), MD5 before; from 1.25 (1.25-1.27 checked, in the type
 * descriptors of Debian's go commands and of programs built with 1.27)
 * SHA-256 with the low byte's bits inverted; Go 1.24's (Debian 13's own
 * Go; its programs checked) are the SHA-256's bytes 8-11 instead.
 */
#define HASH_TCP_NOTSHA256 0xbc020cb9u
#define HASH_UNIX_NOTSHA256 0x35fd9d63u
#define HASH_TCP_SHA256_XFF 0x43fdf3b9u
#define HASH_UNIX_SHA256_XFF 0xca026263u
#define HASH_TCP_SHA256_8 0x425ea6e6u
#define HASH_UNIX_SHA256_8 0x34e8b944u
#define HASH_TCP_MD5 0xb954d952u
#define HASH_UNIX_MD5 0x65e82289u

/* The section whose name ends with suffix (the function table is
 * ".data.rel.ro.gopclntab" in a position-independent program). */
static Elf_Scn *section(Elf *elf, const char *suffix)
{
	size_t shstr, sl = strlen(suffix);
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstr))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;
		size_t nl;

		if (gelf_getshdr(scn, &sh) && (n = elf_strptr(elf, shstr, sh.sh_name)) &&
		    (nl = strlen(n)) >= sl && strcmp(n + nl - sl, suffix) == 0)
			return scn;
	}
	return NULL;
}

static bool has_section(Elf *elf, const char *suffix)
{
	return section(elf, suffix) != NULL;
}

/* A section's bytes (NULL when it has none, or is empty). */
static const uint8_t *section_bytes(Elf_Scn *scn, size_t *len)
{
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;

	if (!d || !d->d_buf || !d->d_size)
		return NULL;
	*len = d->d_size;
	return d->d_buf;
}

/* The executable section holding addr, for s->shndx. */
static bool code_section(Elf *elf, struct sonde_elf_sym *s)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_PROGBITS &&
		    (sh.sh_flags & SHF_EXECINSTR) && s->addr >= sh.sh_addr &&
		    s->addr - sh.sh_addr < sh.sh_size) {
			s->shndx = elf_ndxscn(scn);
			return true;
		}
	}
	return false;
}

/* The Go minor version in .go.buildinfo (-1: not told). */
static int go_minor(Elf *elf)
{
	const uint8_t *bi;
	size_t bilen = 0;

	bi = section_bytes(section(elf, ".go.buildinfo"), &bilen);
	return bi ? sonde_go_buildinfo_minor(bi, bilen) : -1;
}

/* The net.Conn itabs' type hashes for Go 1.`minor`. */
static void version_hashes(int minor, struct sonde_go_tls *out)
{
	if (minor >= 25) {
		out->tcp_hash = HASH_TCP_SHA256_XFF;
		out->unix_hash = HASH_UNIX_SHA256_XFF;
	} else if (minor == 24) {
		out->tcp_hash = HASH_TCP_SHA256_8;
		out->unix_hash = HASH_UNIX_SHA256_8;
	} else if (minor >= 19) {
		out->tcp_hash = HASH_TCP_NOTSHA256;
		out->unix_hash = HASH_UNIX_NOTSHA256;
	} else {
		out->tcp_hash = HASH_TCP_MD5;
		out->unix_hash = HASH_UNIX_MD5;
	}
}

/* The .text section's address (0 if none). */
static uint64_t text_address(Elf *elf)
{
	Elf_Scn *scn = section(elf, ".text");
	GElf_Shdr sh;

	return scn && gelf_getshdr(scn, &sh) ? sh.sh_addr : 0;
}

/*
 * Without a symbol table: Write, Read and memmove from the runtime's
 * function table, the itab hashes from the Go version.
 */
static bool pcln_syms(Elf *elf, struct sonde_elf_sym syms[S_N], struct sonde_go_tls *out)
{
	const char *const names[3] = { sym_names[S_WRITE][0], sym_names[S_READ][0],
				       sym_names[S_MEMMOVE][0] };
	struct sonde_go_fn fns[3];
	const uint8_t *tab;
	size_t len = 0;

	tab = section_bytes(section(elf, "gopclntab"), &len);
	if (!tab || sonde_go_pcln_find(tab, len, text_address(elf), names, 3, fns))
		return false;
	for (int k = 0; k < 3; k++) {
		syms[k].found = fns[k].found;
		syms[k].addr = fns[k].addr;
		syms[k].size = fns[k].size;
		if (syms[k].found && !code_section(elf, &syms[k]))
			syms[k].found = false;
	}
	version_hashes(go_minor(elf), out);
	return true;
}

/* A function's code (malloc'd) and its file offset. */
static uint8_t *fn_code(const struct sonde_elf *e, const struct sonde_elf_sym *s,
		       uint64_t *ret_off)
{
	uint8_t *code;

	if (!s->found || !s->size || s->size > GO_FN_MAX)
		return NULL;
	code = malloc(s->size);
	if (code && sonde_elf_read(e, s, 0, code, s->size, ret_off) != (ssize_t)s->size) {
		free(code);
		code = NULL;
	}
	return code;
}

static uint32_t itab_hash(const struct sonde_elf *e, const struct sonde_elf_sym *s)
{
	uint32_t h = 0;

	/* itab { inter *interfacetype; _type *_type; hash uint32; ... } */
	if (!s->found || s->size < 24 ||
	    sonde_elf_read(e, s, 16, &h, sizeof(h), NULL) != (ssize_t)sizeof(h))
		return 0;
	return h;
}

static int find(const struct sonde_elf *e, struct sonde_go_tls *out, char *why, size_t whylen)
{
	Elf *elf = e->elf;
	struct sonde_elf_sym syms[S_N] = { { 0 } };
	uint8_t *w = NULL, *r = NULL;
	uint64_t w_off = 0, r_off = 0;
	size_t w_jbe, r_jbe, copy = 0;
	int err = -ENOTSUP, calls;
	bool held = false;

	if (!has_section(elf, ".go.buildinfo") && !has_section(elf, "gopclntab"))
		return -ENOENT;
	if (sonde_elf_syms(e, SHT_SYMTAB, sym_names, S_N, false, syms)) {
		if (!syms[S_WRITE].found || !syms[S_READ].found)
			return -ENOENT; /* no TLS in this program */
		out->tcp_hash = itab_hash(e, &syms[S_TCP]);
		out->unix_hash = itab_hash(e, &syms[S_UNIX]);
		/* Go 1.27 (seen) names no itabs in its symbol table */
		if (!syms[S_TCP].found && !syms[S_UNIX].found) {
			int minor = go_minor(elf);

			if (minor >= 25)
				version_hashes(minor, out);
		}
		if (!out->tcp_hash && !out->unix_hash) {
			snprintf(why, whylen, "no net.Conn itab of *net.TCPConn or *net.UnixConn");
			return -ENOTSUP;
		}
	} else if (pcln_syms(elf, syms, out)) {
		if (!syms[S_WRITE].found || !syms[S_READ].found)
			return -ENOENT;
	} else {
		snprintf(why, whylen, "no symbol table (linked with -s) and a function table "
				      "of a layout not known (Go older than 1.16?)");
		return -ENOTSUP;
	}
	w = fn_code(e, &syms[S_WRITE], &w_off);
	r = fn_code(e, &syms[S_READ], &r_off);
	if (!w || !r) {
		snprintf(why, whylen, "crypto/tls.(*Conn).Read/Write not readable");
		goto out;
	}
	if (sonde_go_stack_check_jbe(w, syms[S_WRITE].size, &w_jbe) ||
	    sonde_go_stack_check_jbe(r, syms[S_READ].size, &r_jbe)) {
		snprintf(why, whylen, "crypto/tls.(*Conn).Read/Write do not start with the "
				      "register ABI's stack check (Go older than 1.17?)");
		goto out;
	}
	/* the two walks below load capstone once between them */
	held = sonde_disasm_hold();
	calls = syms[S_MEMMOVE].found ?
			sonde_go_calls_to(r, syms[S_READ].size, syms[S_READ].addr,
					  syms[S_MEMMOVE].addr, &copy) :
			0;
	if (calls == SONDE_GO_NO_DECODER) {
		snprintf(why, whylen, "crypto/tls.(*Conn).Read's code cannot be walked: %s",
			 sonde_disasm_why());
		goto out;
	}
	if (calls < 0) {
		snprintf(why, whylen, "crypto/tls.(*Conn).Read's code could not be walked");
		goto out;
	}
	if (calls != 1) {
		snprintf(why, whylen,
			 "crypto/tls.(*Conn).Read has %d calls to runtime.memmove, not 1", calls);
		goto out;
	}
	if (sonde_go_receiver_spilled(r, syms[S_READ].size, r_jbe)) {
		snprintf(why, whylen, "crypto/tls.(*Conn).Read does not keep its receiver "
				      "in its spill slot");
		goto out;
	}
	out->write_off = w_off + w_jbe;
	out->copy_off = r_off + copy;
	err = 0;
out:
	if (held)
		sonde_disasm_release();
	free(w);
	free(r);
	return err;
}

int sonde_go_tls_find(const char *path, struct sonde_go_tls *out, char *why, size_t whylen)
{
	struct sonde_elf e;
	int err;

	if (whylen)
		why[0] = '\0';
	err = sonde_elf_open(path, &e);
	if (err)
		return err;
	err = find(&e, out, why, whylen);
	sonde_elf_close(&e);
	return err;
}
