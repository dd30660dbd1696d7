// SPDX-License-Identifier: MIT
#include "protocols/pg_sql.h"

#include <string.h>

static bool tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* Past the quote that closes the one at i, or n when unterminated. */
static size_t skip_quoted(const char *s, size_t n, size_t i, bool backslash)
{
	char q = s[i++];

	while (i < n) {
		if (backslash && s[i] == '\\' && q != '`') {
			i += 2;
			continue;
		}
		if (s[i++] == q) {
			/* A doubled quote is an escaped one, not the end. */
			if (i < n && s[i] == q) {
				i++;
				continue;
			}
			return i;
		}
	}
	return n;
}

/* $tag$ ... $tag$: past the closing tag, or i + 1 when not a dollar quote. */
static size_t skip_dollar(const char *s, size_t n, size_t i)
{
	size_t t = i + 1, tlen;

	while (t < n && tag_char(s[t]))
		t++;
	if (t >= n || s[t] != '$' || (t > i + 1 && s[i + 1] >= '0' && s[i + 1] <= '9'))
		return i + 1;
	tlen = t - i + 1;
	for (size_t k = t + 1; k + tlen <= n; k++)
		if (s[k] == '$' && memcmp(s + k, s + i, tlen) == 0)
			return k + tlen;
	return n;
}

/* Bytes that can end a statement or start a quote or comment. */
static const bool special[256] = {
	[';'] = true, ['\''] = true, ['"'] = true, ['`'] = true, ['-'] = true,
	['#'] = true, ['/'] = true, ['$'] = true,
};

size_t sonde_sql_first_statement(const char *s, size_t n, bool backslash)
{
	size_t i = 0;

	while (i < n) {
		char c;

		/* most of a statement is none of those: one lookup per byte */
		while (i < n && !special[(unsigned char)s[i]])
			i++;
		if (i == n)
			break;
		c = s[i];
		if (c == ';')
			return i;
		if (c == '\'' || c == '"' || c == '`') {
			i = skip_quoted(s, n, i, backslash);
		} else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
			const char *nl = memchr(s + i, '\n', n - i);
			i = nl ? (size_t)(nl - s) + 1 : n;
		} else if (c == '#' && backslash) {
			const char *nl = memchr(s + i, '\n', n - i);
			i = nl ? (size_t)(nl - s) + 1 : n;
		} else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			i += 2;
			while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
				i++;
			i = i + 2 <= n ? i + 2 : n;
		} else if (c == '$' && !backslash) {
			i = skip_dollar(s, n, i);
		} else {
			i++;
		}
	}
	return n;
}
