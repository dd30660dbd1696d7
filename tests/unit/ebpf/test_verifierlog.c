// SPDX-License-Identifier: MIT
/*
 * verifierlog.c: the one line the journal gets from a refused program's
 * verifier log: the verdict, the instruction it stopped at (state comments
 * cut) and its source line; the statistics after it skipped; nothing from
 * a log without a verdict; the output always terminated and bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verifierlog.h"

/* The end of Linux 6.1's log for the probe refused there (2026-12-07). */
static const char log_61[] =
	"787: (79) r8 = *(u64 *)(r10 -128)     ; R8_w=P0 R10=fp0\n"
	"; \n"
	"788: (73) *(u8 *)(r7 +34) = r1        ; R1_w=scalar(umin=1,umax=255) R7=map_value(off=0,ks=8,vs=96,imm=0)\n"
	"; if (p && p->lost)\n"
	"789: (71) r2 = *(u8 *)(r8 +10)\n"
	"R8 invalid mem access 'scalar'\n"
	"verification time 3098217 usec\n"
	"stack depth 200+56+40+32+88\n"
	"processed 20848 insns (limit 1000000) max_states_per_insn 58 total_states 1414 peak_states 333 mark_read 13\n";

static void test_linux61(void **state)
{
	char out[512];

	(void)state;
	assert_int_equal(sonde_ebpf_verifier_verdict(log_61, out, sizeof(out)),
			 strlen("R8 invalid mem access 'scalar'"));
	assert_string_equal(out, "R8 invalid mem access 'scalar' (at 789: (71) r2 = *(u8 *)(r8 +10); "
				 "source: if (p && p->lost))");
}

static void test_state_comment_cut(void **state)
{
	char out[256];

	(void)state;
	sonde_ebpf_verifier_verdict("0: R1=ctx() R10=fp0\n"
				    "12: (79) r3 = *(u64 *)(r2 +0)      ; R2_w=map_value_or_null(id=1)\n"
				    "R2 invalid mem access 'map_value_or_null'\n"
				    "processed 13 insns (limit 1000000)",
				    out, sizeof(out));
	assert_string_equal(out, "R2 invalid mem access 'map_value_or_null' (at 12: (79) r3 = *(u64 *)(r2 +0))");
}

static void test_verdict_alone(void **state)
{
	char out[256];

	(void)state;
	/* not about one instruction: the line before is not one */
	assert_true(sonde_ebpf_verifier_verdict("func#0 @0\n"
						"Unreleased reference id=2 alloc_insn=7\n"
						"processed 12 insns (limit 1000000)\n\n",
						out, sizeof(out)) > 0);
	assert_string_equal(out, "Unreleased reference id=2 alloc_insn=7");
	/* no trailing newline, no statistics */
	sonde_ebpf_verifier_verdict("back-edge from insn 9 to 4", out, sizeof(out));
	assert_string_equal(out, "back-edge from insn 9 to 4");
}

static void test_nothing(void **state)
{
	char out[64];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(sonde_ebpf_verifier_verdict("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(sonde_ebpf_verifier_verdict("\n\n\nprocessed 1 insns\nverification time 3 usec\n",
						     out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* a verdict too far from the end (only statistics in the tail) */
	char *many = malloc(40 * 24 + 64);
	assert_non_null(many);
	strcpy(many, "R1 type=ctx expected=fp\n");
	for (int i = 0; i < 40; i++)
		strcat(many, "processed 1 insns ....\n");
	assert_int_equal(sonde_ebpf_verifier_verdict(many, out, sizeof(out)), 0);
	free(many);
}

static void test_bounded(void **state)
{
	char small[16], out[1024];
	char *longlog = malloc(5000);

	(void)state;
	sonde_ebpf_verifier_verdict(log_61, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "R8 invalid mem", 14);
	assert_int_equal(sonde_ebpf_verifier_verdict(log_61, small, 0), 0);
	/* one 4,000-byte line: quoted cut, output within its buffer */
	assert_non_null(longlog);
	memset(longlog, 'A', 4000);
	strcpy(longlog + 4000, "\nprocessed 5 insns\n");
	assert_int_equal(sonde_ebpf_verifier_verdict(longlog, out, sizeof(out)), 400);
	assert_int_equal(strlen(out), 400);
	free(longlog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux61),
		cmocka_unit_test(test_state_comment_cut),
		cmocka_unit_test(test_verdict_alone),
		cmocka_unit_test(test_nothing),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
