// SPDX-License-Identifier: MIT
/*
 * tlsbins.c over a fixture /proc tree whose PID/exe links point at the Go
 * stand-ins (gofixture.S) and the OpenSSL ones (sslfixture.c): each Go
 * program with TLS is handed to the Go attach function once however many
 * processes run it, a copy of it (a file of its own) again; a program
 * that defines SSL_read/SSL_write to the OpenSSL one, and one that calls
 * a shared libssl's to neither; what is neither, or a process with no exe
 * (a kernel thread), is passed over; a kind whose function is NULL is not
 * looked for; a program stays hookable while its process exits (the scan
 * holds the file open); a program that cannot be hooked, or whose attach
 * fails, is counted; a scan of listed pids looks at those only; a second
 * scan looks into nothing already seen.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "tlsbins.h"

struct calls {
	unsigned n, n_ssl;
	uint32_t pids[8];
	uint32_t ssl_pid;
	uint32_t fail_pid; /* its attach fails */
};

static char root[64];

/* The process exits as it is hooked (its /proc entry goes): path, the
 * file tlsbins holds open, must still be the program's. */
static void exits(uint32_t pid, const char *path)
{
	char exe[256];
	struct stat a, b;

	snprintf(exe, sizeof(exe), "%s/%u/exe", root, pid);
	assert_int_equal(stat(exe, &a), 0);
	assert_int_equal(unlink(exe), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

static int attach_ssl(void *userdata, const char *path, uint32_t pid, char *why,
		      unsigned whylen)
{
	struct calls *c = userdata;

	(void)why;
	(void)whylen;
	exits(pid, path);
	c->n_ssl++;
	c->ssl_pid = pid;
	return 0;
}

static int attach(void *userdata, const char *path, uint32_t pid,
		  const struct sonde_go_tls *go, char *why, unsigned whylen)
{
	struct calls *c = userdata;

	exits(pid, path);
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
	struct sonde_tlsbins_attach both = { attach, attach_ssl, &c }, go_only = { attach, NULL, &c },
				    ssl_only = { NULL, attach_ssl, &c };
	const struct sonde_tlsbins_stats *st;
	struct sonde_tlsbins *tb;
	uint32_t listed[] = { 104, 999 };

	(void)state;
	snprintf(root, sizeof(root), "/tmp/sonde-tlsbins-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(copy, sizeof(copy), "%s/good-copy", root);
	copy_file(GOFIX_DIR "/good", copy);
	proc_entry("100", GOFIX_DIR "/good");
	proc_entry("101", GOFIX_DIR "/good"); /* the same program */
	proc_entry("102", GOFIX_DIR "/notgo");
	proc_entry("103", NULL);               /* a kernel thread: no exe */
	proc_entry("104", GOFIX_DIR "/stripped");
	proc_entry("105", copy);               /* another file */
	proc_entry("106", GOFIX_DIR "/ssl-linked");
	proc_entry("107", GOFIX_DIR "/ssl-user");
	proc_entry("self", GOFIX_DIR "/good"); /* not a pid */

	tb = sonde_tlsbins_new(root);
	assert_non_null(tb);
	c.fail_pid = 105;
	/* good, notgo, stripped, the copy, ssl-linked, ssl-user: 6 files looked into */
	assert_int_equal(sonde_tlsbins_scan(tb, NULL, 0, &both), 6);
	assert_int_equal(c.n, 2); /* one of 100/101, and 105 */
	assert_true(c.pids[0] == 100 || c.pids[0] == 101 || c.pids[0] == 105);
	assert_int_equal(c.n_ssl, 1);
	assert_int_equal(c.ssl_pid, 106);
	st = sonde_tlsbins_stats(tb);
	assert_int_equal(st->go_hooked, 1);
	assert_int_equal(st->go_failed, 1);
	assert_int_equal(st->go_unsupported, 1);
	assert_int_equal(st->ssl_hooked, 1);
	assert_int_equal(st->ssl_failed, 0);
	assert_int_equal(st->skipped, 0);

	/* seen: nothing looked into again, neither by pid nor all */
	assert_int_equal(sonde_tlsbins_scan(tb, NULL, 0, &both), 0);
	assert_int_equal(sonde_tlsbins_scan(tb, listed, 2, &both), 0);
	assert_int_equal(c.n, 2);
	sonde_tlsbins_free(tb);

	/* listed pids only: 104 (stripped) and a pid that does not exist */
	tb = sonde_tlsbins_new(root);
	assert_non_null(tb);
	assert_int_equal(sonde_tlsbins_scan(tb, listed, 2, &both), 1);
	assert_int_equal(c.n, 2);
	assert_int_equal(sonde_tlsbins_stats(tb)->go_unsupported, 1);
	sonde_tlsbins_free(tb);

	/* one kind only: the other is not looked for (the exe links the
	 * hooked processes had are gone: new ones) */
	proc_entry("200", GOFIX_DIR "/good");
	proc_entry("201", GOFIX_DIR "/ssl-linked");
	tb = sonde_tlsbins_new(root);
	assert_non_null(tb);
	c = (struct calls){ 0 };
	assert_true(sonde_tlsbins_scan(tb, NULL, 0, &go_only) >= 2);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.n_ssl, 0);
	sonde_tlsbins_free(tb);
	proc_entry("202", GOFIX_DIR "/good");
	proc_entry("203", GOFIX_DIR "/ssl-linked");
	tb = sonde_tlsbins_new(root);
	assert_non_null(tb);
	assert_true(sonde_tlsbins_scan(tb, NULL, 0, &ssl_only) >= 2);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.n_ssl, 1);
	assert_int_equal(c.ssl_pid, 203);
	assert_int_equal(sonde_tlsbins_stats(tb)->go_hooked, 0);
	sonde_tlsbins_free(tb);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static struct stat lib_st;
static unsigned lib_calls;

/* userdata non-NULL: the attach fails (refused, or past the most kept) */
static int attach_lib(void *userdata, const char *path, uint32_t pid, char *why,
		      unsigned whylen)
{
	struct stat st;

	(void)pid;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_dev == lib_st.st_dev && st.st_ino == lib_st.st_ino);
	lib_calls++;
	if (userdata) {
		snprintf(why, whylen, "refused");
		return -ENOSPC;
	}
	return 0;
}

static void maps_entry(const char *pid, const char *text)
{
	char path[256];
	FILE *f;

	proc_entry(pid, NULL);
	snprintf(path, sizeof(path), "%s/%s/maps", root, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s/root", root, pid);
	assert_int_equal(symlink("/", path), 0);
}

/*
 * A process's mapped libssl files (its maps, read through its root): a
 * copy not seen before is handed over once, whatever the number of its
 * mappings or of processes mapping it; other files, deleted ones, inode 0
 * and a line longer than the reader's buffer are passed over; a file
 * marked known (the system's libssl) never is.
 */
static void test_libs(void **state)
{
	char lib[160], other[160], text[8192], cmd[160], longline[5000];
	struct sonde_tlsbins_attach a = { NULL, attach_lib, NULL };
	struct sonde_tlsbins *tb;
	struct stat ost;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/sonde-tlsbins-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(lib, sizeof(lib), "%s/libssl.so.3", root);
	copy_file(GOFIX_DIR "/ssl-linked", lib);
	snprintf(other, sizeof(other), "%s/libssl-system.so.3", root);
	copy_file(GOFIX_DIR "/ssl-linked", other);
	assert_int_equal(stat(lib, &lib_st), 0);
	assert_int_equal(stat(other, &ost), 0);
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
#define MAPLINE(path, ino) "7f0000000000-7f0000001000 r-xp 00000000 %x:%x %llu    " path "\n"
	snprintf(text, sizeof(text),
		 "55d000000000-55d000001000 r--p 00000000 fd:00 4242 /usr/bin/python3.11\n"
		 "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
		 "%s\n"
		 MAPLINE("%s", 0) MAPLINE("%s", 0) MAPLINE("%s (deleted)", 0) MAPLINE("%s", 0),
		 longline,
		 major(lib_st.st_dev), minor(lib_st.st_dev), (unsigned long long)lib_st.st_ino, lib,
		 major(lib_st.st_dev), minor(lib_st.st_dev), (unsigned long long)lib_st.st_ino, lib,
		 major(lib_st.st_dev), minor(lib_st.st_dev), (unsigned long long)lib_st.st_ino, lib,
		 major(ost.st_dev), minor(ost.st_dev), (unsigned long long)ost.st_ino, other);
	maps_entry("300", text);
	maps_entry("301", text); /* another process, the same files */

	tb = sonde_tlsbins_new(root);
	assert_non_null(tb);
	sonde_tlsbins_known(tb, other);
	assert_int_equal(sonde_tlsbins_look_libs(tb, 300, &a), 1);
	assert_int_equal(lib_calls, 1);
	assert_int_equal(sonde_tlsbins_stats(tb)->ssl_hooked, 1);
	assert_int_equal(sonde_tlsbins_look_libs(tb, 301, &a), 0);
	assert_int_equal(sonde_tlsbins_look_libs(tb, 999, &a), 0); /* no such process */
	assert_int_equal(lib_calls, 1);
	sonde_tlsbins_free(tb);

	/* its attach refused: counted, and not handed over again */
	tb = sonde_tlsbins_new(root);
	assert_non_null(tb);
	sonde_tlsbins_known(tb, other);
	a.userdata = &a;
	assert_int_equal(sonde_tlsbins_look_libs(tb, 300, &a), 1);
	assert_int_equal(sonde_tlsbins_stats(tb)->ssl_failed, 1);
	assert_int_equal(sonde_tlsbins_stats(tb)->ssl_hooked, 0);
	assert_int_equal(sonde_tlsbins_look_libs(tb, 301, &a), 0);
	sonde_tlsbins_free(tb);
#undef MAPLINE

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_libs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
