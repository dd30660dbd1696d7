/* SPDX-License-Identifier: MIT */
#ifndef SONDE_TEST_HOST_SNAP_H
#define SONDE_TEST_HOST_SNAP_H

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "registry.h"

/* Reading back what collectors exported, through the same snapshot exposition uses. */

static inline const struct sonde_snap_family *snap_family(const struct sonde_snapshot *snap,
							   const char *name)
{
	for (size_t i = 0; i < snap->n_families; i++)
		if (strcmp(snap->families[i].name, name) == 0)
			return &snap->families[i];
	return NULL;
}

/* Value of name{labels...} (label values in registration order, NULL-terminated); NAN if absent. */
static inline double snap_value(const struct sonde_snapshot *snap, const char *name, ...)
{
	const struct sonde_snap_family *f = snap_family(snap, name);
	const char *want[SONDE_MAX_LABELS] = { 0 };
	unsigned n = 0;
	va_list ap;

	if (!f)
		return NAN;
	va_start(ap, name);
	while (n < SONDE_MAX_LABELS && (want[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	if (n != f->n_labels)
		return NAN;
	for (size_t i = 0; i < f->n_series; i++) {
		unsigned l;

		for (l = 0; l < n; l++)
			if (strcmp(f->series[i].values[l], want[l]) != 0)
				break;
		if (l == n)
			return f->series[i].value;
	}
	return NAN;
}

static inline size_t snap_count(const struct sonde_snapshot *snap, const char *name)
{
	const struct sonde_snap_family *f = snap_family(snap, name);

	return f ? f->n_series : 0;
}

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))
#define assert_absent(v) assert_true(isnan(v))

#endif
