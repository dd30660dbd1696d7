// SPDX-License-Identifier: MIT
/*
 * sslsyms.c on real files: the system's libssl (OpenSSL 3 on Debian 12)
 * has internal read/write functions found, distinct, inside the file, and
 * starting with instructions the kernel emulates (push, or endbr64 then
 * push): the point of hooking them. Files that are not libssl, or not
 * ELF, or missing, are refused. Skipped (77) where no libssl.so.3 is.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sslsyms.h"
#include "tlslibs.h"

static char lib[SONDE_TLS_LIB_PATH_MAX];

/* push r (50-57), REX push (41 50-57), or endbr64 before one of those */
static bool starts_with_push(const char *path, uint64_t off)
{
	uint8_t b[6];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok;
	size_t i = 0;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, sizeof(b), (off_t)off), (ssize_t)sizeof(b));
	close(fd);
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		i = 4;
	ok = (b[i] >= 0x50 && b[i] <= 0x57) ||
	     (b[i] == 0x41 && b[i + 1] >= 0x50 && b[i + 1] <= 0x57);
	return ok;
}

static void test_system_libssl(void **state)
{
	struct sonde_ssl_internal in = { 0 };
	struct stat st;

	(void)state;
	assert_int_equal(sonde_ssl_internal_find(lib, &in), 0);
	assert_int_equal(stat(lib, &st), 0);
	assert_true(in.read_off > 0 && in.read_off < (uint64_t)st.st_size);
	assert_true(in.write_off > 0 && in.write_off < (uint64_t)st.st_size);
	assert_true(in.read_off != in.write_off);
	assert_true(starts_with_push(lib, in.read_off));
	assert_true(starts_with_push(lib, in.write_off));
	/* it defines SSL_read and SSL_write itself */
	assert_true(sonde_ssl_defined(lib));
}

static void test_refused(void **state)
{
	struct sonde_ssl_internal in;
	char path[64];
	int fd;

	(void)state;
	/* ELF, but no SSL_read_ex: libc */
	assert_int_equal(sonde_ssl_internal_find("/lib/x86_64-linux-gnu/libc.so.6", &in), -ENOENT);
	assert_false(sonde_ssl_defined("/lib/x86_64-linux-gnu/libc.so.6"));
	assert_false(sonde_ssl_defined("/nonexistent/libssl.so.3"));
	/* not ELF */
	snprintf(path, sizeof(path), "/tmp/sonde-sslsyms-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an ELF file at all\n", 23), 23);
	close(fd);
	assert_int_equal(sonde_ssl_internal_find(path, &in), -ENOENT);
	unlink(path);
	/* missing */
	assert_int_equal(sonde_ssl_internal_find("/nonexistent/libssl.so.3", &in), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_libssl),
		cmocka_unit_test(test_refused),
	};
	char found[1][SONDE_TLS_LIB_PATH_MAX];

	if (sonde_tls_libs_find("", found, 1) == 0 || !strstr(found[0], "libssl.so.3")) {
		printf("SKIP: no libssl.so.3 in the usual library directories\n");
		return 77;
	}
	memcpy(lib, found[0], sizeof(lib));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
