// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <cmocka.h>

#include "loop.h"

struct ctx {
	struct sonde_loop *loop;
	int ticks, reads, pipefd[2];
	struct sonde_timer *t;
};

static void on_read(int fd, uint32_t ev, void *ud)
{
	struct ctx *c = ud;
	char b[16];

	(void)ev;
	if (read(fd, b, sizeof(b)) > 0)
		c->reads++;
	sonde_loop_del_fd(c->loop, fd); /* deleting from inside a callback is safe */
}

static void on_tick(void *ud)
{
	struct ctx *c = ud;

	if (++c->ticks == 1)
		assert_int_equal(write(c->pipefd[1], "x", 1), 1);
	if (c->ticks == 3) {
		sonde_loop_del_timer(c->loop, c->t);
		sonde_loop_quit(c->loop);
	}
}

static void test_loop_runs(void **st)
{
	struct ctx c = { 0 };

	(void)st;
	assert_int_equal(sonde_loop_new(&c.loop), 0);
	assert_int_equal(pipe(c.pipefd), 0);
	assert_int_equal(sonde_loop_add_fd(c.loop, c.pipefd[0], EPOLLIN, on_read, &c), 0);
	assert_int_equal(sonde_loop_add_timer(c.loop, 10, on_tick, &c, &c.t), 0);
	assert_int_equal(sonde_loop_add_timer(c.loop, 0, on_tick, &c, NULL), -22);
	assert_int_equal(sonde_loop_run(c.loop), 0);
	assert_int_equal(c.ticks, 3);
	assert_int_equal(c.reads, 1);
	assert_int_equal(sonde_loop_del_fd(c.loop, c.pipefd[0]), -2);
	close(c.pipefd[0]);
	close(c.pipefd[1]);
	sonde_loop_free(c.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_loop_runs) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
