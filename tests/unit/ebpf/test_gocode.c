// SPDX-License-Identifier: MIT
/*
 * gocode.c: where the Go TLS uprobes go in a function's bytes. The stack
 * checks that start Go 1.19's crypto/tls.(*Conn).Read and Write (from
 * `go tool objdump` of a program built by Debian's golang-go 1.19.8), the
 * other forms, every truncation of them (heap copies of exactly that
 * length, for valgrind), what is not a stack check; and the calls to one
 * target counted over whole decoded instructions, not over bytes that
 * merely look like a call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gocode.h"

/* Read at 0x5a6c80: cmp rsp, [r14+0x10]; jbe rel32; sub rsp, 0x68; ... */
static const uint8_t read_start[] = {
	0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0xc2, 0x03, 0x00, 0x00,
	0x48, 0x83, 0xec, 0x68, 0x48, 0x89, 0x6c, 0x24, 0x60,
};

/* Write at 0x5a57c0: lea r12, [rsp-0x68]; cmp r12, [r14+0x10]; jbe rel32 */
static const uint8_t write_start[] = {
	0x4c, 0x8d, 0x64, 0x24, 0x98, 0x4d, 0x3b, 0x66, 0x10,
	0x0f, 0x86, 0x64, 0x07, 0x00, 0x00, 0x55,
};

static int jbe_heap(const uint8_t *code, size_t len, size_t *off)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, code, len);
	r = sonde_go_stack_check_jbe(copy, len, off);
	free(copy);
	return r;
}

static void expect_jbe(const uint8_t *code, size_t len, size_t want)
{
	size_t off = 99;

	assert_int_equal(jbe_heap(code, len, &off), 0);
	assert_int_equal(off, want);
	assert_true(code[off] == 0x76 || (code[off] == 0x0f && code[off + 1] == 0x86));
}

static void test_real_prologues(void **state)
{
	(void)state;
	expect_jbe(read_start, sizeof(read_start), 4);
	expect_jbe(write_start, sizeof(write_start), 9);
}

/* Short of the jbe's last byte: not a stack check; never a read past len. */
static void test_truncated(void **state)
{
	size_t len, off;

	(void)state;
	for (len = 0; len < 10; len++)
		assert_int_equal(jbe_heap(read_start, len, &off), -1);
	for (len = 0; len < 15; len++)
		assert_int_equal(jbe_heap(write_start, len, &off), -1);
	expect_jbe(read_start, 10, 4);
	expect_jbe(write_start, 15, 9);
}

static void test_other_forms(void **state)
{
	/* cmp rsp, [r14+0x10]; jbe rel8 */
	static const uint8_t short_jbe[] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x40 };
	/* lea r12, [rsp-0x1000] (disp32); cmp r12, [r14+0x10]; jbe rel32 */
	static const uint8_t lea32[] = { 0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xf0, 0xff, 0xff,
					 0x4d, 0x3b, 0x66, 0x10, 0x0f, 0x86, 1, 0, 0, 0 };

	(void)state;
	expect_jbe(short_jbe, sizeof(short_jbe), 4);
	expect_jbe(lea32, sizeof(lea32), 12);
}

static void test_not_stack_checks(void **state)
{
	/* Go 1.16 (stack ABI): mov rcx, fs:[-8]; cmp rsp, [rcx+0x10]; jbe */
	static const uint8_t old_abi[] = { 0x64, 0x48, 0x8b, 0x0c, 0x25, 0xf8, 0xff, 0xff, 0xff,
					   0x48, 0x3b, 0x61, 0x10, 0x76, 0x20 };
	/* the check, then another jump: jne */
	static const uint8_t jne[] = { 0x49, 0x3b, 0x66, 0x10, 0x75, 0x20 };
	/* lea r12 but the check compares rsp */
	static const uint8_t mixed[] = { 0x4c, 0x8d, 0x64, 0x24, 0x98, 0x49, 0x3b, 0x66,
					 0x10, 0x76, 0x20 };
	/* C: endbr64; push rbp */
	static const uint8_t c_fn[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5 };
	size_t off;

	(void)state;
	assert_int_equal(jbe_heap(old_abi, sizeof(old_abi), &off), -1);
	assert_int_equal(jbe_heap(jne, sizeof(jne), &off), -1);
	assert_int_equal(jbe_heap(mixed, sizeof(mixed), &off), -1);
	assert_int_equal(jbe_heap(c_fn, sizeof(c_fn), &off), -1);
}

#define ADDR 0x5a6c80ull
#define TARGET 0x466820ull

/* `call TARGET` at offset at of code loaded at ADDR */
static void put_call(uint8_t *code, size_t at)
{
	int32_t rel = (int32_t)((int64_t)TARGET - (int64_t)(ADDR + at + 5));

	code[at] = 0xe8;
	memcpy(code + at + 1, &rel, sizeof(rel));
}

static void test_calls_counted(void **state)
{
	uint8_t code[40];
	size_t off = 99;

	(void)state;
	memset(code, 0x90, sizeof(code)); /* nops */
	assert_int_equal(sonde_go_calls_to(code, sizeof(code), ADDR, TARGET, &off), 0);
	put_call(code, 7);
	assert_int_equal(sonde_go_calls_to(code, sizeof(code), ADDR, TARGET, &off), 1);
	assert_int_equal(off, 7);
	put_call(code, 20);
	assert_int_equal(sonde_go_calls_to(code, sizeof(code), ADDR, TARGET, &off), 2);
	assert_int_equal(off, 7);
	/* a call elsewhere is not one */
	assert_int_equal(sonde_go_calls_to(code, sizeof(code), ADDR, TARGET + 16, &off), 0);
}

/*
 * The bytes of a call to the target inside another instruction's
 * immediate (movabs rax, imm64) are not a call: a byte scan would place
 * a uprobe in the middle of that instruction.
 */
static void test_decoy_in_immediate(void **state)
{
	uint8_t code[24];
	size_t off = 99;

	(void)state;
	memset(code, 0x90, sizeof(code));
	code[2] = 0x48;
	code[3] = 0xb8;    /* movabs rax, imm64: bytes 4..11 */
	put_call(code, 4); /* e8 + rel32 spelled in the immediate */
	assert_int_equal(sonde_go_calls_to(code, sizeof(code), ADDR, TARGET, &off), 0);
	put_call(code, 14);
	assert_int_equal(sonde_go_calls_to(code, sizeof(code), ADDR, TARGET, &off), 1);
	assert_int_equal(off, 14);
}

/* Bytes that do not decode (0x06 is invalid in 64-bit mode), or a last
 * instruction cut short: -1. */
static void test_undecodable(void **state)
{
	uint8_t code[17];
	size_t off;

	(void)state;
	memset(code, 0x90, sizeof(code));
	code[5] = 0x06;
	assert_int_equal(sonde_go_calls_to(code, sizeof(code), ADDR, TARGET, &off), -1);
	memset(code, 0x90, sizeof(code));
	put_call(code, 12); /* 5 bytes from 12: the last one past len 16 */
	assert_int_equal(sonde_go_calls_to(code, 16, ADDR, TARGET, &off), -1);
	assert_int_equal(sonde_go_calls_to(code, 0, ADDR, TARGET, &off), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_prologues),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_other_forms),
		cmocka_unit_test(test_not_stack_checks),
		cmocka_unit_test(test_calls_counted),
		cmocka_unit_test(test_decoy_in_immediate),
		cmocka_unit_test(test_undecodable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
