// SPDX-License-Identifier: MIT
/*
 * elfread.c on this test's own executable: its symbols are found by
 * either spelling, functions only when asked; the bytes read at a
 * function's address are the very bytes running in memory, at the file
 * offset returned; reads are cut at the section's end and refused past
 * it; files that are not x86-64 ELF are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "elfread.h"

/* what the file must hold */
__attribute__((noinline, used)) int elfread_marker(int x)
{
	return x * 7 + 3;
}
/* clang's ASan would pad it with a redzone, which its symbol's size counts */
#if defined(__clang__)
__attribute__((no_sanitize("address")))
#endif
__attribute__((used)) const int elfread_datum = 42;

static const char *const names[4][2] = {
	{ "elfread_old_name", "elfread_marker" }, /* found by its second spelling */
	{ "elfread_datum", NULL },
	{ "elfread_no_such_symbol", NULL },
	{ "elfread_marker", NULL },
};

static void test_symbols(void **state)
{
	struct sonde_elf e;
	struct sonde_elf_sym s[4] = { { 0 } }, f[4] = { { 0 } };

	(void)state;
	assert_int_equal(sonde_elf_open("/proc/self/exe", &e), 0);
	assert_true(sonde_elf_syms(&e, SHT_SYMTAB, names, 4, false, s));
	assert_true(s[0].found && s[1].found && !s[2].found && s[3].found);
	assert_int_equal(s[0].addr, s[3].addr);
	assert_true(s[0].size > 0);
	assert_int_equal(s[1].size, sizeof(int));
	/* functions only: the datum is left out */
	assert_true(sonde_elf_syms(&e, SHT_SYMTAB, names, 4, true, f));
	assert_true(f[0].found && !f[1].found);
	sonde_elf_close(&e);
	assert_int_equal(e.fd, -1);
}

static void test_bytes(void **state)
{
	struct sonde_elf e;
	struct sonde_elf_sym s[4] = { { 0 } };
	uint8_t buf[4096], disk[4096];
	uint64_t off = 0, off2 = 0, in_sec;
	int (*fn)(int) = elfread_marker;
	uintptr_t code;
	GElf_Shdr sh;
	ssize_t n;

	(void)state;
	assert_int_equal(elfread_marker(1), 10);
	assert_int_equal(sonde_elf_open("/proc/self/exe", &e), 0);
	assert_true(sonde_elf_syms(&e, SHT_SYMTAB, names, 4, true, s));
	assert_true(s[0].size <= sizeof(buf));
	n = sonde_elf_read(&e, &s[0], 0, buf, s[0].size, &off);
	assert_int_equal(n, (ssize_t)s[0].size);
	/* the code in the file is the code running (the pointer's bytes copied:
	 * ISO C has no cast from a function pointer to an object pointer) */
	memcpy(&code, &fn, sizeof(code));
	assert_memory_equal(buf, (const void *)code, s[0].size);
	assert_int_equal(pread(e.fd, disk, s[0].size, (off_t)off), (ssize_t)s[0].size);
	assert_memory_equal(buf, disk, s[0].size);
	assert_true(sonde_elf_offset(&e, s[0].shndx, s[0].addr, &off2));
	assert_int_equal(off, off2);
	assert_true(sonde_elf_offset(&e, s[0].shndx, s[0].addr + 1, &off2));
	assert_int_equal(off + 1, off2);
	/* the section's end: cut there, refused past it */
	assert_non_null(gelf_getshdr(elf_getscn(e.elf, s[0].shndx), &sh));
	in_sec = sh.sh_addr + sh.sh_size - s[0].addr; /* bytes from the symbol to the end */
	n = sonde_elf_read(&e, &s[0], in_sec - 3, buf, sizeof(buf), NULL);
	assert_int_equal(n, 3);
	assert_int_equal(sonde_elf_read(&e, &s[0], in_sec, buf, sizeof(buf), NULL), -1);
	assert_int_equal(sonde_elf_read(&e, &s[0], UINT64_MAX, buf, 1, NULL), -1);
	assert_false(sonde_elf_offset(&e, s[0].shndx, sh.sh_addr + sh.sh_size, &off2));
	assert_false(sonde_elf_offset(&e, s[0].shndx, sh.sh_addr - 1, &off2));
	/* a symbol not found, or in another section than it says */
	assert_int_equal(sonde_elf_read(&e, &s[2], 0, buf, 1, NULL), -1);
	s[3].shndx = 0;
	assert_int_equal(sonde_elf_read(&e, &s[3], 0, buf, 1, NULL), -1);
	sonde_elf_close(&e);
}

static void test_refused(void **state)
{
	struct sonde_elf e;
	char path[64];
	int fd;

	(void)state;
	assert_int_equal(sonde_elf_open("/nonexistent/file", &e), -ENOENT);
	snprintf(path, sizeof(path), "/tmp/sonde-elfread-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\177ELF but not really\n", 20), 20);
	close(fd);
	assert_int_equal(sonde_elf_open(path, &e), -ENOENT);
	assert_int_equal(e.fd, -1);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbols),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
