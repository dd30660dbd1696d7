/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_X86CALL_H
#define SONDE_EBPF_X86CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The first `call rel32` in an x86-64 function's straight-line start: its
 * offset and the called address, relative to code[0]. Walks only the
 * instructions compilers put before a first call (endbr64, push, mov,
 * movsxd, xor, test, add/sub with immediates, conditional jumps, taken as
 * not jumping); anything else, or running out of bytes, is false. Pure:
 * the bytes come from the caller (sslsyms.c reads them from libssl).
 */
bool sonde_x86_first_call(const uint8_t *code, size_t len, size_t *ret_off,
			  int64_t *ret_target);

#endif
