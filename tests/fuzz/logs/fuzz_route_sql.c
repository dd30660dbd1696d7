// SPDX-License-Identifier: MIT
/* Route resolution and SQL summarize/sanitize on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "sanitize.h"

static void printable_or_utf8(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pats[][SONDE_ROUTE_PATTERN_LEN] = {
		"/api/users/:id", "/static/*", "/a/*/b", "/{x}/{y}",
	};
	struct sonde_route_table *t = NULL;
	char *in = malloc(size ? size : 1);
	char route[128], op[32], sum[128], *san;
	size_t n;

	if (!in)
		return 0;
	memcpy(in, data, size);
	if (sonde_route_table_new(pats, 4, &t, route, sizeof(route)) == 0) {
		sonde_route_resolve(t, in, size, route, sizeof(route));
		if (strlen(route) > 120)
			abort();
		printable_or_utf8(route);
		sonde_route_table_free(t);
	}
	sonde_route_resolve(NULL, in, size, route, 7);
	sonde_sql_summarize(in, size, op, sizeof(op), sum, sizeof(sum));
	printable_or_utf8(op);
	printable_or_utf8(sum);
	san = malloc(size * 2 + 2);
	if (san) {
		n = sonde_sql_sanitize(in, size, san, size * 2 + 2);
		if (n != strlen(san))
			abort();
		printable_or_utf8(san);
		free(san);
	}
	free(in);
	return 0;
}
