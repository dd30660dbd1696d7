/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROM_DTOA_H
#define SONDE_PROM_DTOA_H

#include <stddef.h>

/*
 * Shortest decimal that reads back as v, for finite non-zero v; out needs
 * 32 bytes. Fixed notation for exponents -5..16, else "1.5e+300" style.
 */
size_t sonde_prom_dtoa(double v, char *out);

#endif
