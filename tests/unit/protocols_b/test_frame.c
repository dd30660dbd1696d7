// SPDX-License-Identifier: MIT
/*
 * The length-prefixed frame driver (framing.h) on a toy protocol: a type
 * byte and a length byte, then the body. '!' before a header is a lone
 * byte the parser takes itself, 0xee is fatal, type 'X' is rejected.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocols/framing.h"

#define TOY_CAP 4

struct toy {
	struct sonde_frame f;
	uint8_t buf[TOY_CAP];
	uint8_t type;
	bool resume;
	unsigned frames, lost, resets, bangs;
	/* the last frame */
	uint8_t last_type;
	uint8_t body[TOY_CAP];
	size_t have;
	uint64_t ts;
};

static int toy_begin(void *ctx, uint8_t c)
{
	struct toy *t = ctx;

	if (c == '!') {
		t->bangs++;
		return 0;
	}
	return c == 0xee ? -EPROTO : 2;
}

static int toy_length(void *ctx, const uint8_t *hdr, uint64_t *ret_len)
{
	struct toy *t = ctx;

	if (hdr[0] == 'X')
		return 1;
	t->type = hdr[0];
	*ret_len = hdr[1];
	return 0;
}

static int toy_frame(void *ctx, const uint8_t *body, size_t have)
{
	struct toy *t = ctx;

	assert_int_equal(t->f.st, SONDE_FRAME_HDR);
	t->frames++;
	t->last_type = t->type;
	memcpy(t->body, body, have);
	t->have = have;
	t->ts = t->f.msg_ts;
	return t->type == 'E' ? -EPROTO : 0;
}

static void toy_lost(void *ctx)
{
	struct toy *t = ctx;

	assert_int_equal(t->f.st, SONDE_FRAME_RESYNC);
	t->lost++;
}

static void toy_reset(void *ctx)
{
	((struct toy *)ctx)->resets++;
}

static const struct sonde_frame_ops toy_ops = {
	.begin = toy_begin,
	.length = toy_length,
	.frame = toy_frame,
	.lost = toy_lost,
	.reset = toy_reset,
};

static const struct sonde_frame_ops toy_fixed_ops = {
	.hdr_len = 2,
	.length = toy_length,
	.frame = toy_frame,
	.lost = toy_lost,
};

static int feed(struct toy *t, const struct sonde_frame_ops *ops,
		const void *data, size_t len, size_t total, uint64_t ts)
{
	return sonde_frame_feed(&t->f, ops, t, t->resume, t->buf, sizeof(t->buf),
				data, len, total, ts);
}

static void test_frame_split(void **state)
{
	static const uint8_t s[] = "a\003xyzb\000c\006123456";
	const size_t n = sizeof(s) - 1;

	(void)state;
	/* Whole, then cut at every byte: the same frames, bounded prefix. */
	for (size_t cut = 0; cut <= n; cut++) {
		struct toy t = { .resume = true };

		assert_int_equal(feed(&t, &toy_ops, s, cut, cut, 1), 0);
		assert_int_equal(feed(&t, &toy_ops, s + cut, n - cut, n - cut, 2), 0);
		assert_int_equal(t.frames, 3);
		assert_int_equal(t.last_type, 'c');
		assert_int_equal(t.have, TOY_CAP);
		assert_memory_equal(t.body, "1234", TOY_CAP);
		/* The header of 'c' starts at byte 7. */
		assert_int_equal(t.ts, cut > 7 ? 1 : 2);
		assert_false(sonde_frame_partial(&t.f));
	}
	/* Byte by byte, with a fixed header size. */
	{
		struct toy t = { .resume = true };

		for (size_t i = 0; i < n; i++) {
			assert_int_equal(feed(&t, &toy_fixed_ops, s + i, 1, 1, i), 0);
			assert_int_equal(sonde_frame_partial(&t.f),
					 i != 4 && i != 6 && i != n - 1);
		}
		assert_int_equal(t.frames, 3);
		assert_int_equal(t.ts, 7);
	}
}

static void test_frame_gaps(void **state)
{
	struct toy t = { .resume = false };

	(void)state;
	/* A gap inside a body is skipped: the frame completes with what was kept. */
	assert_int_equal(feed(&t, &toy_ops, "a\010xy", 4, 10, 1), 0);
	assert_int_equal(t.frames, 1);
	assert_int_equal(t.have, 2);
	assert_int_equal(t.lost, 0);
	/* A gap where a header was due: lost, then RESYNC ignores chunks. */
	assert_int_equal(feed(&t, &toy_ops, NULL, 0, 3, 2), 0);
	assert_int_equal(t.lost, 1);
	assert_int_equal(t.f.st, SONDE_FRAME_RESYNC);
	assert_int_equal(feed(&t, &toy_ops, "b\000", 2, 2, 3), 0);
	assert_int_equal(t.frames, 1);
	/* Resumed: zeroed, reset called, parsing starts at this chunk. */
	t.resume = true;
	assert_int_equal(feed(&t, &toy_ops, "b\000", 2, 2, 4), 0);
	assert_int_equal(t.resets, 1);
	assert_int_equal(t.frames, 2);
	/* A gap longer than the body: the frame completes, then lost. */
	assert_int_equal(feed(&t, &toy_ops, "c\002", 2, 9, 5), 0);
	assert_int_equal(t.frames, 3);
	assert_int_equal(t.lost, 2);
	/* A close chunk (nothing moved) between frames changes nothing. */
	t.f.st = SONDE_FRAME_HDR;
	assert_int_equal(feed(&t, &toy_ops, NULL, 0, 0, 6), 0);
	assert_int_equal(t.f.st, SONDE_FRAME_HDR);
	assert_int_equal(t.lost, 2);
}

static void test_frame_callbacks(void **state)
{
	struct toy t = { .resume = true };

	(void)state;
	/* Bytes the parser takes itself belong to no frame. */
	assert_int_equal(feed(&t, &toy_ops, "!a\000!", 4, 4, 1), 0);
	assert_int_equal(t.bangs, 2);
	assert_int_equal(t.frames, 1);
	/* A rejected header: RESYNC, the rest of the chunk ignored, not lost. */
	assert_int_equal(feed(&t, &toy_ops, "X\000a\000", 4, 10, 2), 0);
	assert_int_equal(t.f.st, SONDE_FRAME_RESYNC);
	assert_int_equal(t.frames, 1);
	assert_int_equal(t.lost, 0);
	/* Errors from begin and frame are returned as they are. */
	memset(&t.f, 0, sizeof(t.f));
	assert_int_equal(feed(&t, &toy_ops, "\xee", 1, 1, 3), -EPROTO);
	memset(&t.f, 0, sizeof(t.f));
	assert_int_equal(feed(&t, &toy_ops, "E\000a\000", 4, 4, 4), -EPROTO);
	assert_int_equal(t.frames, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_split),
		cmocka_unit_test(test_frame_gaps),
		cmocka_unit_test(test_frame_callbacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
