// SPDX-License-Identifier: MIT
/*
 * gobins.c over a fixture /proc tree whose PID/exe links point at the Go
 * stand-ins (gofixture.S): each Go program with TLS is handed to the
 * attach function once however many processes run it, a copy of it (a
 * file of its own) again; what is not Go, or a process with no exe (a
 * kernel thread), is passed over; a program stays hookable while its
 * process exits (the scan holds the file open); a program that cannot
 * be hooked, or whose attach fails, is counted; a scan of listed pids looks at those
 * only; a second scan looks into nothing already seen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gobins.h"

struct calls {
	unsigned n;
	uint32_t pids[8];
	uint32_t fail_pid; /* its attach fails */
};

static char root[64];

/* The process exits as it is hooked (its /proc entry goes): path, the
 * file gobins holds open, must still be the program's. */
static int attach(void *userdata, const char *path, uint32_t pid,
		  const struct sonde_go_tls *go, char *why, unsigned whylen)
{
	struct calls *c = userdata;
	char exe[256];
	struct stat a, b;

	snprintf(exe, sizeof(exe), "%s/%u/exe", root, pid);
	assert_int_equal(stat(exe, &a), 0);
	assert_int_equal(unlink(exe), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	assert_int_equal(go->tcp_hash, 0xbc020cb9);
	if (c->n < 8)
		c->pids[c->n] = pid;
	c->n++;
	if (pid == c->fail_pid) {
		snprintf(why, whylen, "refused");
		return -1;
	}
	return 0;
}

static void proc_entry(const char *pid, const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	if (!target)
		return;
	snprintf(path, sizeof(path), "%s/%s/exe", root, pid);
	assert_int_equal(symlink(target, path), 0);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
}

static void test_scan(void **state)
{
	char copy[128], cmd[160];
	struct calls c = { 0 };
	const struct sonde_gobins_stats *st;
	struct sonde_gobins *gb;
	uint32_t listed[] = { 104, 999 };

	(void)state;
	snprintf(root, sizeof(root), "/tmp/sonde-gobins-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(copy, sizeof(copy), "%s/good-copy", root);
	copy_file(GOFIX_DIR "/good", copy);
	proc_entry("100", GOFIX_DIR "/good");
	proc_entry("101", GOFIX_DIR "/good"); /* the same program */
	proc_entry("102", GOFIX_DIR "/notgo");
	proc_entry("103", NULL);               /* a kernel thread: no exe */
	proc_entry("104", GOFIX_DIR "/stripped");
	proc_entry("105", copy);               /* another file */
	proc_entry("self", GOFIX_DIR "/good"); /* not a pid */

	gb = sonde_gobins_new(root);
	assert_non_null(gb);
	c.fail_pid = 105;
	/* good, notgo, stripped, the copy: 4 files looked into */
	assert_int_equal(sonde_gobins_scan(gb, NULL, 0, attach, &c), 4);
	assert_int_equal(c.n, 2); /* one of 100/101, and 105 */
	assert_true(c.pids[0] == 100 || c.pids[0] == 101 || c.pids[0] == 105);
	st = sonde_gobins_stats(gb);
	assert_int_equal(st->hooked, 1);
	assert_int_equal(st->failed, 1);
	assert_int_equal(st->unsupported, 1);
	assert_int_equal(st->skipped, 0);

	/* seen: nothing looked into again, neither by pid nor all */
	assert_int_equal(sonde_gobins_scan(gb, NULL, 0, attach, &c), 0);
	assert_int_equal(sonde_gobins_scan(gb, listed, 2, attach, &c), 0);
	assert_int_equal(c.n, 2);
	sonde_gobins_free(gb);

	/* listed pids only: 104 (stripped) and a pid that does not exist */
	gb = sonde_gobins_new(root);
	assert_non_null(gb);
	assert_int_equal(sonde_gobins_scan(gb, listed, 2, attach, &c), 1);
	assert_int_equal(c.n, 2);
	assert_int_equal(sonde_gobins_stats(gb)->unsupported, 1);
	sonde_gobins_free(gb);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
