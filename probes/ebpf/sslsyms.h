/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_SSLSYMS_H
#define SONDE_EBPF_SSLSYMS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Where to hook OpenSSL cheaply. A uprobe on an instruction the kernel
 * cannot emulate is single-stepped, and on these VMs that costs ~14 us per
 * call: SSL_read and SSL_write start with `sub rsp`, so probing them cut
 * an HTTPS nginx's throughput ninefold (docs/BENCHMARKS.md). SSL_read,
 * SSL_read_ex and SSL_peek-free paths all go through one internal function
 * (OpenSSL 1.1.1 to 3.x: ssl_read_internal(s, buf, num, &readbytes), the
 * first call SSL_read_ex makes; ssl_write_internal likewise), which starts
 * with pushes the kernel emulates. This finds those two in a libssl file,
 * or a program with OpenSSL linked in (exported symbols first, then the
 * symbol table): their file offsets, for uprobes with SSL_read_ex's
 * arguments and return. Where the build inlined them (Node.js's), the
 * exported functions are what is left to hook.
 */
struct sonde_ssl_internal {
	uint64_t read_off;  /* ssl_read_internal */
	uint64_t write_off; /* ssl_write_internal */
};

/*
 * 0 when found; -ENOENT when the file is not one we can read this way
 * (not x86-64, no SSL_read_ex, a prologue we do not walk, SSL_read and
 * SSL_read_ex disagreeing): hook the exported functions instead.
 */
int sonde_ssl_internal_find(const char *path, struct sonde_ssl_internal *out);

/*
 * true when the file defines SSL_read and SSL_write itself, exported or in
 * its symbol table: OpenSSL (or a look-alike, BoringSSL) linked into a
 * program, not one that calls a shared libssl.
 */
bool sonde_ssl_defined(const char *path);

#endif
