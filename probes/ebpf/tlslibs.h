/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_TLSLIBS_H
#define SONDE_EBPF_TLSLIBS_H

#include <stddef.h>

/*
 * Where the system's libssl is: the files whose SSL_read/SSL_write the
 * probe hooks when ebpf.tls_libraries is empty. Looks for libssl.so.3 and
 * libssl.so.1.1 in the usual library directories under root ("" for /),
 * one path per file (a file reached by several paths, as /lib and /usr/lib
 * on merged-/usr systems, is listed once).
 */
#define SONDE_TLS_LIB_PATH_MAX 256

/* Fills up to max paths; returns how many. */
unsigned sonde_tls_libs_find(const char *root, char (*out)[SONDE_TLS_LIB_PATH_MAX],
			     unsigned max);

#endif
