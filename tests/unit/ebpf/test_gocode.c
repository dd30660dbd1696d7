// SPDX-License-Identifier: MIT
/*
 * gocode.c: where the Go TLS uprobes go in a function's bytes. The stack
 * checks that start Go 1.19's crypto/tls.(*Conn).Read and Write (from
 * `go tool objdump` of a program built by Debian's golang-go 1.19.8), the
 * other forms, every truncation of them (heap copies of exactly that
 * length, for valgrind), what is not a stack check; Read's receiver kept
 * in its spill slot (its real prologue, the disp32 form) and each way it
 * is not; and the calls to one target counted over whole decoded
 * instructions, not over bytes that merely look like a call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "disasm.h"
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

/* code on the heap, exactly len bytes: valgrind sees any read past them */
static uint8_t *heap_copy(const uint8_t *code, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, code, len);
	return copy;
}

static int jbe_heap(const uint8_t *code, size_t len, size_t *off)
{
	uint8_t *copy = heap_copy(code, len);
	int r = sonde_go_stack_check_jbe(copy, len, off);

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

/*
 * Read from 0x5a6c80 to its first call: stack check, frame (0x68), frame
 * pointer, spills of r13, cx, bx, then ax (the receiver) to 0x70(SP).
 */
static const uint8_t read_prologue[] = {
	0x49, 0x3b, 0x66, 0x10,                         /* cmp rsp, [r14+0x10] */
	0x0f, 0x86, 0xc2, 0x03, 0x00, 0x00,             /* jbe */
	0x48, 0x83, 0xec, 0x68,                         /* sub rsp, 0x68 */
	0x48, 0x89, 0x6c, 0x24, 0x60,                   /* mov [rsp+0x60], rbp */
	0x48, 0x8d, 0x6c, 0x24, 0x60,                   /* lea rbp, [rsp+0x60] */
	0x49, 0xc7, 0xc5, 0x00, 0x00, 0x00, 0x00,       /* mov r13, 0 */
	0x4c, 0x89, 0x6c, 0x24, 0x58,                   /* mov [rsp+0x58], r13 */
	0x48, 0x89, 0x8c, 0x24, 0x80, 0x00, 0x00, 0x00, /* mov [rsp+0x80], rcx */
	0x48, 0x89, 0x5c, 0x24, 0x78,                   /* mov [rsp+0x78], rbx */
	0x48, 0x89, 0x44, 0x24, 0x70,                   /* mov [rsp+0x70], rax */
	0xc6, 0x44, 0x24, 0x1f, 0x00,                   /* mov byte [rsp+0x1f], 0 */
	0xe8, 0xbb, 0x07, 0x00, 0x00,                   /* call */
};

static int spilled_heap(const uint8_t *code, size_t len, size_t jbe)
{
	uint8_t *copy = heap_copy(code, len);
	int r = sonde_go_receiver_spilled(copy, len, jbe);

	free(copy);
	return r;
}

static void test_receiver_spilled(void **state)
{
	uint8_t c[sizeof(read_prologue) + 8];
	size_t len, store = 48; /* the mov [rsp+0x70], rax */

	(void)state;
	assert_int_equal(spilled_heap(read_prologue, sizeof(read_prologue), 4), 0);
	/* cut before the store's end: not seen */
	for (len = 0; len < store + 5; len++)
		assert_int_equal(spilled_heap(read_prologue, len, 4), -1);
	/* the same with a frame of 0x1000: disp32 forms */
	{
		static const uint8_t big[] = {
			0x49, 0x3b, 0x66, 0x10, 0x76, 0x10,
			0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00,
			0x48, 0x89, 0xac, 0x24, 0xf8, 0x0f, 0x00, 0x00,
			0x48, 0x8d, 0xac, 0x24, 0xf8, 0x0f, 0x00, 0x00,
			0x48, 0x89, 0x84, 0x24, 0x08, 0x10, 0x00, 0x00,
		};

		assert_int_equal(spilled_heap(big, sizeof(big), 4), 0);
	}
	/* ax stored elsewhere ([rsp+0x78]): not the spill slot */
	memcpy(c, read_prologue, sizeof(read_prologue));
	c[store + 4] = 0x78;
	assert_int_equal(spilled_heap(c, sizeof(read_prologue), 4), -1);
	/* bx, not ax, to 0x70 */
	memcpy(c, read_prologue, sizeof(read_prologue));
	c[store + 2] = 0x5c;
	assert_int_equal(spilled_heap(c, sizeof(read_prologue), 4), -1);
	/* the store after a call: the call ends the walk */
	memcpy(c, read_prologue, store);
	memcpy(c + store, read_prologue + store + 10, 5);  /* the call */
	memcpy(c + store + 5, read_prologue + store, 5);   /* the store */
	assert_int_equal(spilled_heap(c, store + 10, 4), -1);
	/* no frame pointer: lea rbp missing */
	memcpy(c, read_prologue, 19);
	memcpy(c + 19, read_prologue + 24, sizeof(read_prologue) - 24);
	assert_int_equal(spilled_heap(c, sizeof(read_prologue) - 5, 4), -1);
	/* jbe_off past the end */
	assert_int_equal(spilled_heap(read_prologue, sizeof(read_prologue),
				      sizeof(read_prologue)), -1);
}

/*
 * Go 1.23's Read (bookworm-backports' golang-1.23): the frame pointer is
 * pushed, then the frame (0x60) made; the receiver goes to 0x70(SP), which
 * is [rbp+16] as in 1.19.
 */
static const uint8_t read_prologue_push[] = {
	0x49, 0x3b, 0x66, 0x10,                         /* cmp rsp, [r14+0x10] */
	0x0f, 0x86, 0x87, 0x03, 0x00, 0x00,             /* jbe */
	0x55,                                           /* push rbp */
	0x48, 0x89, 0xe5,                               /* mov rbp, rsp */
	0x48, 0x83, 0xec, 0x60,                         /* sub rsp, 0x60 */
	0x66, 0x44, 0x0f, 0xd6, 0x7c, 0x24, 0x58,       /* movq [rsp+0x58], xmm15 */
	0x48, 0x89, 0x44, 0x24, 0x70,                   /* mov [rsp+0x70], rax */
	0x48, 0x89, 0x8c, 0x24, 0x80, 0x00, 0x00, 0x00, /* mov [rsp+0x80], rcx */
	0x48, 0x89, 0x5c, 0x24, 0x78,                   /* mov [rsp+0x78], rbx */
	0xe8, 0x8d, 0x07, 0x00, 0x00,                   /* call */
};

static void test_receiver_spilled_push(void **state)
{
	uint8_t c[sizeof(read_prologue_push)];
	size_t len, store = 25; /* the mov [rsp+0x70], rax */

	(void)state;
	assert_int_equal(spilled_heap(read_prologue_push, sizeof(read_prologue_push), 4), 0);
	for (len = 0; len < store + 5; len++)
		assert_int_equal(spilled_heap(read_prologue_push, len, 4), -1);
	/* ax to 0x68(SP), where the frame of the other shape would keep it: not [rbp+16] */
	memcpy(c, read_prologue_push, sizeof(c));
	c[store + 4] = 0x68;
	assert_int_equal(spilled_heap(c, sizeof(c), 4), -1);
	/* no mov rbp, rsp after the push: no frame pointer */
	memcpy(c, read_prologue_push, sizeof(c));
	c[12] = 0x8b;
	assert_int_equal(spilled_heap(c, sizeof(c), 4), -1);
	/* a frame of 0x1000 (sub rsp, imm32): the slot is 0x1010(SP) */
	{
		static const uint8_t big[] = {
			0x49, 0x3b, 0x66, 0x10, 0x76, 0x10,
			0x55, 0x48, 0x89, 0xe5,
			0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00,
			0x48, 0x89, 0x84, 0x24, 0x10, 0x10, 0x00, 0x00,
		};

		assert_int_equal(spilled_heap(big, sizeof(big), 4), 0);
	}
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

/* Whether this process maps capstone now. */
static bool capstone_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "libcapstone") != NULL;
	fclose(f);
	return found;
}

/* capstone is mapped while a decoder is open, and only then: its ~3 MB of
 * relocated tables are not carried between walks. */
static void test_decoder_loaded_while_open(void **state)
{
	struct sonde_disasm *a, *b;
	uint8_t code[16];
	size_t off;

	(void)state;
	memset(code, 0x90, sizeof(code));
	assert_int_equal(sonde_go_calls_to(code, sizeof(code), ADDR, TARGET, &off), 0);
	assert_false(capstone_mapped());
	a = sonde_disasm_open();
	assert_non_null(a);
	b = sonde_disasm_open();
	assert_non_null(b);
	assert_true(capstone_mapped());
	sonde_disasm_close(a);
	assert_true(capstone_mapped()); /* b still uses it */
	sonde_disasm_close(b);
	assert_false(capstone_mapped());

	/* held: loaded once for several walks (gosyms' two per program) */
	assert_true(sonde_disasm_hold());
	assert_true(capstone_mapped());
	assert_int_equal(sonde_go_calls_to(code, sizeof(code), ADDR, TARGET, &off), 0);
	assert_true(capstone_mapped());
	sonde_disasm_release();
	assert_false(capstone_mapped());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_prologues),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_other_forms),
		cmocka_unit_test(test_not_stack_checks),
		cmocka_unit_test(test_receiver_spilled),
		cmocka_unit_test(test_receiver_spilled_push),
		cmocka_unit_test(test_calls_counted),
		cmocka_unit_test(test_decoy_in_immediate),
		cmocka_unit_test(test_undecodable),
		cmocka_unit_test(test_decoder_loaded_while_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
