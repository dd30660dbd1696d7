/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_GOSYMS_H
#define SONDE_EBPF_GOSYMS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Where to hook crypto/tls in a Go program's executable (the probe's
 * go_tls_* programs, sonde.bpf.c): file offsets of the JBE in
 * (*Conn).Write's stack check and of Read's one CALL runtime.memmove
 * (gocode.h), Read having kept its receiver at [rbp+16] by then; the type
 * hashes of *net.TCPConn and *net.UnixConn from their net.Conn itabs (0
 * when the program has none). Needs the symbol table (a program linked
 * with -s has none).
 */
struct sonde_go_tls {
	uint64_t write_off;
	uint64_t copy_off;
	uint32_t tcp_hash;
	uint32_t unix_hash;
};

/*
 * 0 when found. -ENOENT: not a Go program, or one without crypto/tls;
 * -ENOTSUP: a Go program with crypto/tls that cannot be hooked, the
 * reason in why; other -errno: the file could not be read.
 */
int sonde_go_tls_find(const char *path, struct sonde_go_tls *out, char *why, size_t whylen);

#endif
