// SPDX-License-Identifier: MIT
/*
 * Plaintext held until its socket is named (probes/ebpf/orphans.c): handed
 * over per (process, SSL object) in arrival order, and only once; bounded
 * by count (the oldest goes) and by age; every drop counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "orphans.h"

struct got {
	unsigned n;
	char text[8][16];
	bool send[8];
};

static void on_orphan(const struct sonde_orphan *o, void *ud)
{
	struct got *g = ud;

	if (g->n < 8) {
		memcpy(g->text[g->n], o->data, o->len < 15 ? o->len : 15);
		g->send[g->n] = o->send;
	}
	g->n++;
}

static void add(struct sonde_orphans *o, uint32_t tgid, uint64_t ssl, bool send, uint64_t ts,
		const char *s)
{
	sonde_orphans_add(o, tgid, ssl, send, ts, (const uint8_t *)s, strlen(s), strlen(s) + 10);
}

static void test_order_and_match(void **state)
{
	struct sonde_orphans *o;
	struct got g = { 0 };

	(void)state;
	assert_int_equal(sonde_orphans_new(8, 1000, &o), 0);
	add(o, 1, 0xA, false, 10, "req");
	add(o, 1, 0xB, true, 11, "other");
	add(o, 2, 0xA, true, 12, "otherpid");
	add(o, 1, 0xA, true, 13, "resp");
	assert_int_equal(sonde_orphans_take(o, 1, 0xA, 20, on_orphan, &g), 2);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.text[0], "req");
	assert_false(g.send[0]);
	assert_string_equal(g.text[1], "resp");
	assert_true(g.send[1]);
	/* handed over once */
	assert_int_equal(sonde_orphans_take(o, 1, 0xA, 21, on_orphan, &g), 0);
	assert_int_equal(sonde_orphans_take(o, 2, 0xA, 22, on_orphan, &g), 1);
	assert_string_equal(g.text[2], "otherpid");
	assert_int_equal(sonde_orphans_dropped(o), 0);
	sonde_orphans_free(o); /* 0xB still held: freed, not leaked */
}

static void test_bounds(void **state)
{
	struct sonde_orphans *o;
	struct got g = { 0 };
	char s[16];

	(void)state;
	assert_int_equal(sonde_orphans_new(4, 1000, &o), 0);
	for (int i = 0; i < 6; i++) {
		snprintf(s, sizeof(s), "w%d", i);
		add(o, 1, 0xA, true, 100 + (uint64_t)i, s);
	}
	/* full: w0 and w1 made room */
	assert_int_equal(sonde_orphans_dropped(o), 2);
	assert_int_equal(sonde_orphans_take(o, 1, 0xA, 200, on_orphan, &g), 4);
	assert_string_equal(g.text[0], "w2");
	assert_string_equal(g.text[3], "w5");
	/* too old by the time its socket is named */
	add(o, 1, 0xC, true, 300, "late");
	assert_int_equal(sonde_orphans_take(o, 1, 0xC, 300 + 1001, on_orphan, &g), 0);
	assert_int_equal(sonde_orphans_dropped(o), 3);
	/* an empty plaintext is held too */
	sonde_orphans_add(o, 1, 0xD, true, 2000, NULL, 0, 0);
	assert_int_equal(sonde_orphans_take(o, 1, 0xD, 2000, on_orphan, &g), 1);
	sonde_orphans_free(o);
	sonde_orphans_free(NULL);
	assert_int_equal(sonde_orphans_new(0, 1, &o), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_match),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
