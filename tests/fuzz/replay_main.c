// SPDX-License-Identifier: MIT
/*
 * Replay driver for fuzz harnesses when libFuzzer is not available: runs
 * every file given (or every file in a given directory), then a fixed
 * number of seeded mutations of each, so the harness runs in every build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void run_with_mutations(const uint8_t *data, size_t size, uint64_t *seed)
{
	uint8_t *buf;
	size_t cap = size + 64, n, i, j;

	LLVMFuzzerTestOneInput(data, size);
	buf = malloc(cap);
	if (!buf)
		return;
	for (i = 0; i < 200; i++) {
		n = size;
		memcpy(buf, data, size);
		for (j = 0; j < 1 + rng_next(seed) % 8; j++) {
			uint64_t r = rng_next(seed);
			switch (r % 4) {
			case 0: if (n) buf[r % n] ^= (uint8_t)(r >> 8); break;
			case 1: if (n) n = (r >> 8) % n; break;
			case 2: if (n < cap) buf[n++] = (uint8_t)(r >> 16); break;
			case 3: if (n) buf[r % n] = "\r\n\0:* $-0123456789"[(r >> 8) % 18]; break;
			}
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	free(buf);
}

static int run_file(const char *path, uint64_t *seed)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (len < 0 || len > (1 << 24)) {
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	run_with_mutations(buf, (size_t)len, seed);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned files = 0;
	uint8_t rnd[4096];

	for (int a = 1; a < argc; a++) {
		struct stat st;
		if (stat(argv[a], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[a]);
			struct dirent *e;
			char p[4096];
			while (d && (e = readdir(d))) {
				if (e->d_name[0] == '.')
					continue;
				snprintf(p, sizeof(p), "%s/%s", argv[a], e->d_name);
				if (run_file(p, &seed) == 0)
					files++;
			}
			if (d)
				closedir(d);
		} else if (run_file(argv[a], &seed) == 0) {
			files++;
		}
	}
	for (int i = 0; i < 2000; i++) {
		size_t n = rng_next(&seed) % sizeof(rnd);
		for (size_t k = 0; k < n; k++)
			rnd[k] = (uint8_t)rng_next(&seed);
		LLVMFuzzerTestOneInput(rnd, n);
	}
	printf("replayed %u corpus files with mutations and 2000 random inputs\n", files);
	return 0;
}
