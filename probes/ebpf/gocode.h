/* SPDX-License-Identifier: MIT */
#ifndef SONDE_EBPF_GOCODE_H
#define SONDE_EBPF_GOCODE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Where to put uprobes in Go's amd64 code (gosyms.c reads the bytes from
 * the program's file; these only look at them). Both places are
 * instructions the kernel emulates at a breakpoint (a conditional jump, a
 * call), so a hit costs a trap, never a single step.
 */

/*
 * The JBE of a Go function's stack check, the function's first
 * instructions with the register ABI (Go 1.17+):
 *   cmp rsp, [r14+0x10]                     49 3b 66 10
 * or, for a frame of more than a few words,
 *   lea r12, [rsp-N]; cmp r12, [r14+0x10]   4c 8d 64 24 d8 / 4c 8d a4 24 d32, 4d 3b 66 10
 * then jbe (76 d8, or 0f 86 d32). Its offset from code[0] in *ret_off; 0,
 * or -1 when the code starts otherwise (the stack ABI of older Go, a
 * function too large for this check, not Go).
 */
int sonde_go_stack_check_jbe(const uint8_t *code, size_t len, size_t *ret_off);

/* What the two walks below return when no instruction decoder can be
 * loaded (sonde_disasm_why() says why). */
#define SONDE_GO_NO_DECODER (-2)

/*
 * Whether the function, whose stack check's JBE is at jbe_off, keeps its
 * receiver (ax at entry) in its spill slot at [rbp+16] for its whole
 * body: after the JBE it sets up a frame pointer,
 *   sub rsp, F; mov [rsp+F-8], rbp; lea rbp, [rsp+F-8]
 * and stores ax to [rsp+F+8] (the caller's spill slot of its first
 * argument, that is [rbp+16]) before any call, jump or return. 0 when it
 * does, -1 otherwise (also when the bytes do not decode: capstone),
 * SONDE_GO_NO_DECODER.
 */
int sonde_go_receiver_spilled(const uint8_t *code, size_t len, size_t jbe_off);

/*
 * How many `call rel32` instructions of the function (code, len, loaded
 * at addr) go to target, walking every instruction (capstone); the first
 * one's offset from code[0] in *ret_off. -1 when the bytes do not decode
 * to the end (they are then not taken for a function's code at all),
 * SONDE_GO_NO_DECODER.
 */
int sonde_go_calls_to(const uint8_t *code, size_t len, uint64_t addr, uint64_t target,
		      size_t *ret_off);

#endif
