// SPDX-License-Identifier: MIT
/*
 * sonde_x86_first_call (probes/ebpf/x86call.c): the first `call rel32` of
 * a function's straight-line start. Real prologues of Debian 12's OpenSSL
 * 3.0 SSL_read/SSL_read_ex/SSL_write/SSL_write_ex, hand-written ones for
 * each instruction form it walks over, and the false cases: unknown
 * instructions, code ending inside an instruction (every truncation of the
 * real prologues, on heap copies of exactly that length so that valgrind
 * sees any read past the end), empty input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "x86call.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * From Debian 12's libssl3 3.0.19-1~deb12u2, /usr/lib/x86_64-linux-gnu/
 * libssl.so.3: `objdump -d --start-address=A --stop-address=A+0x30`.
 * SSL_read and SSL_write call their internal function (ssl_read_internal /
 * ssl_write_internal) after a stack-protector prologue; the _ex variants
 * call it right away.
 */
#define SSL_READ_ADDR 0x35430
#define SSL_READ_EX_ADDR 0x354c0
#define SSL_WRITE_ADDR 0x35980
#define SSL_WRITE_EX_ADDR 0x35a10
#define SSL_READ_INTERNAL 0x35290
#define SSL_WRITE_INTERNAL 0x355a0

static const uint8_t ssl_read[] = {
	0x48, 0x83, 0xec, 0x18,                               /* sub $0x18,%rsp */
	0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00, /* mov %fs:0x28,%rax */
	0x48, 0x89, 0x44, 0x24, 0x08,                         /* mov %rax,0x8(%rsp) */
	0x31, 0xc0,                                           /* xor %eax,%eax */
	0x85, 0xd2,                                           /* test %edx,%edx */
	0x78, 0x2f,                                           /* js +0x2f */
	0x48, 0x89, 0xe1,                                     /* mov %rsp,%rcx */
	0x48, 0x63, 0xd2,                                     /* movslq %edx,%rdx */
	0xe8, 0x3d, 0xfe, 0xff, 0xff,                         /* call 35290 */
	0x85, 0xc0, 0x7e, 0x03, 0x8b, 0x04, 0x24, 0x48, 0x8b, 0x54, 0x24, 0x08, 0x64,
};

static const uint8_t ssl_read_ex[] = {
	0x48, 0x83, 0xec, 0x08,       /* sub $0x8,%rsp */
	0xe8, 0xc7, 0xfd, 0xff, 0xff, /* call 35290 */
	0x31, 0xd2, 0x85, 0xc0, 0x0f, 0x48, 0xc2, 0x48, 0x83, 0xc4, 0x08,
	0x31, 0xd2, 0x31, 0xc9, 0x31, 0xf6, 0x31, 0xff, 0xc3, 0x0f, 0x1f, 0x00,
};

static const uint8_t ssl_write[] = {
	0x48, 0x83, 0xec, 0x18,
	0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00,
	0x48, 0x89, 0x44, 0x24, 0x08,
	0x31, 0xc0,
	0x85, 0xd2,
	0x78, 0x2f,
	0x48, 0x89, 0xe1,
	0x48, 0x63, 0xd2,
	0xe8, 0xfd, 0xfb, 0xff, 0xff, /* call 355a0 */
	0x85, 0xc0, 0x7e, 0x03, 0x8b, 0x04, 0x24, 0x48, 0x8b, 0x54, 0x24, 0x08, 0x64,
};

static const uint8_t ssl_write_ex[] = {
	0x48, 0x83, 0xec, 0x08,
	0xe8, 0x87, 0xfb, 0xff, 0xff, /* call 355a0 */
	0x31, 0xd2, 0x85, 0xc0, 0x0f, 0x48, 0xc2, 0x48, 0x83, 0xc4, 0x08,
	0x31, 0xd2, 0x31, 0xc9, 0x31, 0xf6, 0x31, 0xff, 0xc3, 0x0f, 0x1f, 0x00,
};

static const struct real {
	const char *name;
	const uint8_t *code;
	size_t len;
	uint64_t addr;
	size_t call_off;
	uint64_t callee;
} reals[] = {
	{ "SSL_read", ssl_read, sizeof(ssl_read), SSL_READ_ADDR, 0x1e, SSL_READ_INTERNAL },
	{ "SSL_read_ex", ssl_read_ex, sizeof(ssl_read_ex), SSL_READ_EX_ADDR, 4,
	  SSL_READ_INTERNAL },
	{ "SSL_write", ssl_write, sizeof(ssl_write), SSL_WRITE_ADDR, 0x1e,
	  SSL_WRITE_INTERNAL },
	{ "SSL_write_ex", ssl_write_ex, sizeof(ssl_write_ex), SSL_WRITE_EX_ADDR, 4,
	  SSL_WRITE_INTERNAL },
};

/* The call on a heap copy of exactly len bytes: valgrind flags over-reads. */
static bool first_call_heap(const uint8_t *code, size_t len, size_t *off,
			    int64_t *target)
{
	uint8_t *copy = malloc(len ? len : 1);
	bool ok;

	assert_non_null(copy);
	if (len)
		memcpy(copy, code, len);
	ok = sonde_x86_first_call(copy, len, off, target);
	free(copy);
	return ok;
}

/* Expects a call at want_off to code + want_target. */
static void expect_call(const uint8_t *code, size_t len, size_t want_off,
			int64_t want_target)
{
	size_t off = 12345;
	int64_t target = 12345;

	assert_true(first_call_heap(code, len, &off, &target));
	assert_int_equal(off, want_off);
	assert_int_equal(target, want_target);
}

static void expect_none(const uint8_t *code, size_t len)
{
	size_t off;
	int64_t target;

	assert_false(first_call_heap(code, len, &off, &target));
}

static void test_real_openssl3(void **state)
{
	size_t i;

	for (i = 0; i < N(reals); i++) {
		const struct real *r = &reals[i];
		size_t off = 0;
		int64_t target = 0;

		print_message("%s\n", r->name);
		assert_true(first_call_heap(r->code, r->len, &off, &target));
		assert_int_equal(off, r->call_off);
		assert_int_equal(r->code[off], 0xe8);
		assert_int_equal((int64_t)r->addr + target, (int64_t)r->callee);
	}
	/* relative to code[0]: read and read_ex reach one function, write and
	 * write_ex another */
	expect_call(ssl_read, sizeof(ssl_read), 0x1e, -0x1a0);
	expect_call(ssl_read_ex, sizeof(ssl_read_ex), 4, -0x230);
	expect_call(ssl_write, sizeof(ssl_write), 0x1e, -0x3e0);
	expect_call(ssl_write_ex, sizeof(ssl_write_ex), 4, -0x470);
}

/*
 * Every length of a real prologue short of the call's last byte: false,
 * never a read past len (heap copies of exactly that length). From the
 * call's end on: the call.
 */
static void test_real_truncated(void **state)
{
	size_t i, len;

	for (i = 0; i < N(reals); i++) {
		const struct real *r = &reals[i];

		for (len = 0; len < r->call_off + 5; len++)
			expect_none(r->code, len);
		for (; len <= r->len; len++) {
			size_t off = 0;
			int64_t target = 0;

			assert_true(first_call_heap(r->code, len, &off, &target));
			assert_int_equal(off, r->call_off);
			assert_int_equal((int64_t)r->addr + target, (int64_t)r->callee);
		}
	}
}

/*
 * Hand-written starts, one instruction form each. Immediates and
 * displacements hold 0xe8 where they can: a walker that got a length
 * wrong would take that byte for the call and report another offset.
 */
static void test_endbr_push_mov(void **state)
{
	/* endbr64; push %rbp; mov %rsp,%rbp; call +0x10 */
	static const uint8_t c[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5,
				     0xe8, 0x10, 0x00, 0x00, 0x00 };

	expect_call(c, sizeof(c), 8, 8 + 5 + 0x10);
}

static void test_rex_pushes(void **state)
{
	/* push %r15; push %r14; push %r13; push %r12; push %rbp; push %rbx */
	static const uint8_t c[] = { 0x41, 0x57, 0x41, 0x56, 0x41, 0x55, 0x41, 0x54,
				     0x55, 0x53, 0xe8, 0x00, 0x01, 0x00, 0x00 };
	/* push %rax; push %rdi: the ends of the push range */
	static const uint8_t ends[] = { 0x50, 0x57, 0xe8, 0x00, 0x00, 0x00, 0x00 };

	expect_call(c, sizeof(c), 10, 10 + 5 + 0x100);
	expect_call(ends, sizeof(ends), 2, 7);
}

static void test_sub_imm(void **state)
{
	/* sub $0x1e8,%rsp (imm32) */
	static const uint8_t c32[] = { 0x48, 0x81, 0xec, 0xe8, 0x01, 0x00, 0x00,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* sub $0x18,%rsp (imm8) */
	static const uint8_t c8[] = { 0x48, 0x83, 0xec, 0xe8, 0xe8, 0x01, 0x00, 0x00, 0x00 };
	/* addq $0x3e8,0x8(%rsp): group 1 imm32 on a SIB + disp8 operand */
	static const uint8_t sib[] = { 0x48, 0x81, 0x44, 0x24, 0x08, 0xe8, 0x03, 0x00, 0x00,
				       0xe8, 0x02, 0x00, 0x00, 0x00 };
	/* sub %rax,%rsp; add %rdx,%rax; sub (%rdi),%eax */
	static const uint8_t rr[] = { 0x48, 0x29, 0xc4, 0x48, 0x01, 0xd0, 0x2b, 0x07,
				      0xe8, 0x00, 0x00, 0x00, 0x00 };

	expect_call(c32, sizeof(c32), 7, 12);
	expect_call(c8, sizeof(c8), 4, 4 + 5 + 1);
	expect_call(sib, sizeof(sib), 9, 9 + 5 + 2);
	expect_call(rr, sizeof(rr), 8, 13);
}

static void test_modrm_forms(void **state)
{
	/* mov 0x...e8(%rip),%rax */
	static const uint8_t rip[] = { 0x48, 0x8b, 0x05, 0xe8, 0x22, 0x33, 0x04,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* lea 0x...e8(%rip),%rdi */
	static const uint8_t lea[] = { 0x48, 0x8d, 0x3d, 0xe8, 0x00, 0x00, 0x00,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* mov 0xbe8(%rdi),%eax (disp32); mov -0x18(%rdi),%rax (disp8) */
	static const uint8_t d32[] = { 0x8b, 0x87, 0xe8, 0x0b, 0x00, 0x00,
				       0x48, 0x8b, 0x47, 0xe8,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* mov 0xe8,%eax through a SIB without base (disp32) */
	static const uint8_t sibabs[] = { 0x8b, 0x04, 0x25, 0xe8, 0x00, 0x00, 0x00,
					  0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* gs: mov %gs:0x28,%rax; mov %ax,(%rdi) with an operand-size prefix */
	static const uint8_t pre[] = { 0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00,
				       0x66, 0x89, 0x07,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* xor %r12d,%r12d; test %rsi,%rsi; movslq %edx,%rdx; mov %rdi,%rbx */
	static const uint8_t regs[] = { 0x45, 0x31, 0xe4, 0x48, 0x85, 0xf6, 0x48, 0x63, 0xd2,
					0x48, 0x89, 0xfb, 0x33, 0xc0,
					0xe8, 0x00, 0x00, 0x00, 0x00 };

	expect_call(rip, sizeof(rip), 7, 12);
	expect_call(lea, sizeof(lea), 7, 12);
	expect_call(d32, sizeof(d32), 10, 15);
	expect_call(sibabs, sizeof(sibabs), 7, 12);
	expect_call(pre, sizeof(pre), 12, 17);
	expect_call(regs, sizeof(regs), 14, 19);
}

static void test_jcc(void **state)
{
	/* je rel32 (0xe8): taken as not jumping */
	static const uint8_t j32[] = { 0x0f, 0x84, 0xe8, 0x00, 0x00, 0x00,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* js rel8 (0xe8) */
	static const uint8_t j8[] = { 0x78, 0xe8, 0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* jg rel32 */
	static const uint8_t jg[] = { 0x0f, 0x8f, 0x10, 0x00, 0x00, 0x00,
				      0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* jo rel8; jg rel8: the ends of the rel8 range */
	static const uint8_t j8ends[] = { 0x70, 0x05, 0x7f, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00 };

	expect_call(j32, sizeof(j32), 6, 11);
	expect_call(j8, sizeof(j8), 2, 7);
	expect_call(jg, sizeof(jg), 6, 11);
	expect_call(j8ends, sizeof(j8ends), 4, 9);
}

static void test_mov_imm(void **state)
{
	/* mov $0x1e8,%eax */
	static const uint8_t i32[] = { 0xb8, 0xe8, 0x01, 0x00, 0x00,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* movabs $0xe8e8e8e8e8e8e8e8,%rax */
	static const uint8_t i64[] = { 0x48, 0xb8, 0xe8, 0xe8, 0xe8, 0xe8, 0xe8, 0xe8, 0xe8,
				       0xe8, 0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* mov $0xe8,%r8d: REX without W, still imm32 */
	static const uint8_t r8d[] = { 0x41, 0xb8, 0xe8, 0x00, 0x00, 0x00,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* mov $0xe8,%edi */
	static const uint8_t edi[] = { 0xbf, 0xe8, 0x00, 0x00, 0x00,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };

	expect_call(i32, sizeof(i32), 5, 10);
	expect_call(i64, sizeof(i64), 10, 15);
	expect_call(r8d, sizeof(r8d), 6, 11);
	expect_call(edi, sizeof(edi), 5, 10);
}

/* 0x66 makes mov's and group 1's immediates 16 bits, unless REX.W */
static void test_operand_size_prefix(void **state)
{
	/* mov $0x1234,%ax; call */
	static const uint8_t ax[] = { 0x66, 0xb8, 0x34, 0x12, 0xe8, 0xf7, 0xff, 0xff, 0xff };
	/* cmpw $0x1234,8(%rdi); call */
	static const uint8_t cmpw[] = { 0x66, 0x81, 0x7f, 0x08, 0x34, 0x12,
					0xe8, 0xf5, 0xff, 0xff, 0xff };
	/* mov $0x1234,%ax, then a call whose displacement holds an e8 */
	static const uint8_t trap[] = { 0x66, 0xb8, 0x34, 0x12, 0xe8, 0x01, 0xe8, 0x00,
					0x00, 0x00, 0x00 };
	/* 66 48 b8: REX.W wins, imm64 */
	static const uint8_t w[] = { 0x66, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8,
				     0xe8, 0x00, 0x00, 0x00, 0x00 };

	(void)state;
	expect_call(ax, sizeof(ax), 4, 0);
	expect_call(cmpw, sizeof(cmpw), 6, 0);
	expect_call(trap, sizeof(trap), 4, 0xe80a);
	expect_call(w, sizeof(w), 11, 16);
}

static void test_call_displacements(void **state)
{
	static const uint8_t back[] = { 0x55, 0xe8, 0xfb, 0xff, 0xff, 0xff }; /* to 1 */
	static const uint8_t self[] = { 0xe8, 0xfb, 0xff, 0xff, 0xff };      /* to 0 */
	static const uint8_t min[] = { 0xe8, 0x00, 0x00, 0x00, 0x80 };
	static const uint8_t max[] = { 0xe8, 0xff, 0xff, 0xff, 0x7f };
	static const uint8_t zero[] = { 0xe8, 0x00, 0x00, 0x00, 0x00 };

	expect_call(back, sizeof(back), 1, 1);
	expect_call(self, sizeof(self), 0, 0);
	expect_call(min, sizeof(min), 0, 5 - 2147483648ll);
	expect_call(max, sizeof(max), 0, 5 + 2147483647ll);
	expect_call(zero, sizeof(zero), 0, 5);
}

/* Instructions it does not walk over, before any call: no call. */
static void test_unknown_before_call(void **state)
{
	static const uint8_t ret[] = { 0xc3, 0xe8, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t ret_later[] = { 0x48, 0x83, 0xec, 0x08, 0xc3,
					     0xe8, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t jmp[] = { 0xe9, 0x00, 0x00, 0x00, 0x00,
				       0xe8, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t jmp8[] = { 0xeb, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t hlt[] = { 0xf4, 0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* cmovs %edx,%eax twice: 0f then no jcc; taken for 6 bytes, the call
	 * would be found at 6 */
	static const uint8_t cmov[] = { 0x0f, 0x48, 0xc2, 0x0f, 0x48, 0xc2,
					0xe8, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t nop[] = { 0x0f, 0x1f, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t icall[] = { 0xff, 0xd0, 0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* endbr32 is not endbr64 */
	static const uint8_t endbr32[] = { 0xf3, 0x0f, 0x1e, 0xfb,
					   0xe8, 0x00, 0x00, 0x00, 0x00 };
	/* a call behind a REX prefix is not a call rel32 it knows */
	static const uint8_t rexcall[] = { 0x48, 0xe8, 0x00, 0x00, 0x00, 0x00 };

	expect_none(ret, sizeof(ret));
	expect_none(ret_later, sizeof(ret_later));
	expect_none(jmp, sizeof(jmp));
	expect_none(jmp8, sizeof(jmp8));
	expect_none(hlt, sizeof(hlt));
	expect_none(cmov, sizeof(cmov));
	expect_none(nop, sizeof(nop));
	expect_none(icall, sizeof(icall));
	expect_none(endbr32, sizeof(endbr32));
	expect_none(rexcall, sizeof(rexcall));
}

/* The code ends inside an instruction: no call, no read past the end. */
static void test_truncated(void **state)
{
	static const struct {
		uint8_t b[12];
		size_t len;
	} t[] = {
		{ { 0xf3, 0x0f, 0x1e }, 3 },                       /* endbr64 */
		{ { 0x64 }, 1 },                                   /* prefix alone */
		{ { 0x48 }, 1 },                                   /* REX alone */
		{ { 0x66, 0x48 }, 2 },                             /* prefixes alone */
		{ { 0x48, 0x8b }, 2 },                             /* no ModRM */
		{ { 0x48, 0x8b, 0x04 }, 3 },                       /* no SIB */
		{ { 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00 }, 6 },     /* SIB disp32 short */
		{ { 0x48, 0x8b, 0x05, 0x11, 0x22, 0x33 }, 6 },     /* RIP disp32 short */
		{ { 0x48, 0x8b, 0x44, 0x24 }, 4 },                 /* disp8 missing */
		{ { 0x48, 0x8b, 0x87, 0x30, 0x0b, 0x00 }, 6 },     /* disp32 short */
		{ { 0x48, 0x83, 0xec }, 3 },                       /* imm8 missing */
		{ { 0x48, 0x83, 0x44, 0x24, 0x08 }, 5 },           /* imm8 after SIB */
		{ { 0x48, 0x81, 0xec, 0x88, 0x00, 0x00 }, 6 },     /* imm32 short */
		{ { 0xb8, 0x01, 0x02, 0x03 }, 4 },                 /* mov imm32 short */
		{ { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7 }, 9 },        /* mov imm64 short */
		{ { 0x41, 0xb8, 1, 2, 3 }, 5 },                    /* mov r8d short */
		{ { 0x78 }, 1 },                                   /* jcc rel8 */
		{ { 0x0f }, 1 },                                   /* 0f alone */
		{ { 0x0f, 0x84, 0x00, 0x00, 0x00 }, 5 },           /* jcc rel32 short */
		{ { 0xe8 }, 1 },                                   /* call, no disp */
		{ { 0xe8, 0x00 }, 2 },
		{ { 0xe8, 0x00, 0x00 }, 3 },
		{ { 0xe8, 0x00, 0x00, 0x00 }, 4 },
		{ { 0x55, 0xe8, 0x10, 0x00, 0x00 }, 5 },           /* after a push */
		{ { 0x48, 0x89, 0xe5, 0xe8, 0x00, 0x00, 0x00 }, 7 },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		print_message("case %zu\n", i);
		expect_none(t[i].b, t[i].len);
	}
}

/* Whole instructions, no call among them: false at the end. */
static void test_no_call(void **state)
{
	static const uint8_t c[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10 };

	expect_none(c, sizeof(c));
}

static void test_empty(void **state)
{
	size_t off;
	int64_t target;

	expect_none(NULL, 0);
	assert_false(sonde_x86_first_call(NULL, 0, &off, &target));
	assert_false(sonde_x86_first_call(ssl_read_ex, 0, &off, &target));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_openssl3),
		cmocka_unit_test(test_real_truncated),
		cmocka_unit_test(test_endbr_push_mov),
		cmocka_unit_test(test_rex_pushes),
		cmocka_unit_test(test_sub_imm),
		cmocka_unit_test(test_modrm_forms),
		cmocka_unit_test(test_jcc),
		cmocka_unit_test(test_mov_imm),
		cmocka_unit_test(test_operand_size_prefix),
		cmocka_unit_test(test_call_displacements),
		cmocka_unit_test(test_unknown_before_call),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_no_call),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
