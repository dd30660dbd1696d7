// SPDX-License-Identifier: MIT
#include "path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sonde_path_join(char *out, size_t outlen, const char *root, const char *rel)
{
	size_t rl = strlen(root);
	int n;

	/* "/" + "/proc/stat" must not become "//proc/stat" for readability in logs. */
	while (rl > 0 && root[rl - 1] == '/')
		rl--;
	while (*rel == '/')
		rel++;
	n = snprintf(out, outlen, "%.*s/%s", (int)rl, root, rel);
	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	return 0;
}
