// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "tlslibs.h"

static const char *const lib_dirs[] = {
	"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
	"/usr/lib64", "/lib64", "/usr/lib", "/lib", "/usr/local/lib",
};

/* OpenSSL 3 first: what current distributions link against */
static const char *const lib_names[] = { "libssl.so.3", "libssl.so.1.1" };

#define N(a) (sizeof(a) / sizeof((a)[0]))

unsigned sonde_tls_libs_find(const char *root, char (*out)[SONDE_TLS_LIB_PATH_MAX],
			     unsigned max)
{
	struct stat seen[N(lib_dirs) * N(lib_names)];
	unsigned n = 0, n_seen = 0;
	size_t d, l;

	for (l = 0; l < N(lib_names); l++) {
		for (d = 0; d < N(lib_dirs) && n < max; d++) {
			struct stat st;
			bool dup = false;
			unsigned i;
			int len = snprintf(out[n], SONDE_TLS_LIB_PATH_MAX, "%s%s/%s",
					   root ? root : "", lib_dirs[d], lib_names[l]);

			if (len < 0 || len >= SONDE_TLS_LIB_PATH_MAX)
				continue;
			if (stat(out[n], &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			for (i = 0; i < n_seen && !dup; i++)
				dup = seen[i].st_dev == st.st_dev && seen[i].st_ino == st.st_ino;
			if (dup)
				continue;
			seen[n_seen++] = st;
			n++;
		}
	}
	return n;
}
