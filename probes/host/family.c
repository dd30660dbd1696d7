// SPDX-License-Identifier: MIT
#include "family.h"

int sonde_host_family(struct sonde_registry *reg, const char *name, const char *help,
		      enum sonde_metric_type type, const char *l1, const char *l2,
		      unsigned max_series, struct sonde_family **ret_fam)
{
	struct sonde_family_desc d = {
		.name = name,
		.help = help,
		.type = type,
		.labels = { l1, l1 ? l2 : NULL, NULL },
		.max_series = max_series,
	};

	return sonde_registry_add(reg, &d, ret_fam);
}
