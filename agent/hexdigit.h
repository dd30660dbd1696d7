/* SPDX-License-Identifier: MIT */
#ifndef SONDE_HEXDIGIT_H
#define SONDE_HEXDIGIT_H

/* A hex digit's value (either case), -1 for any other byte; inline, as
 * unescaping and hex parsing call it per byte. */
static inline int sonde_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
