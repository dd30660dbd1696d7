// SPDX-License-Identifier: MIT
/* The modules this build links, in start order. */
#include <stddef.h>

#include "module.h"

extern const struct sonde_module_ops sonde_agent_module;
#ifdef SONDE_HAVE_HOST
extern const struct sonde_module_ops sonde_host_module;
extern const struct sonde_module_ops sonde_services_module;
extern const struct sonde_module_ops sonde_self_module;
#endif
#ifdef SONDE_HAVE_LOGS
extern const struct sonde_module_ops sonde_logs_module;
#endif
#ifdef SONDE_HAVE_EBPF
extern const struct sonde_module_ops sonde_ebpf_module;
#endif
#ifdef SONDE_HAVE_PROMETHEUS
extern const struct sonde_module_ops sonde_prometheus_module;
#endif

#ifndef SONDE_HAVE_EBPF
#include "log.h"

/* Built without eBPF: accept an "ebpf" section and say once it is unused. */
static const struct sonde_cfg_section ebpf_absent_section = {
	.key = "ebpf",
	.help = "eBPF probes (not in this build)",
};

static int ebpf_absent_init(struct sonde_agent *agent, const void *section, void **ret_state)
{
	(void)agent;
	(void)section;
	sonde_log(SONDE_LOG_NOTICE, "probe", "ebpf",
		  "this build has no eBPF probes (built with SONDE_WITH_EBPF=OFF); "
		  "the ebpf section is ignored");
	*ret_state = NULL;
	return 0;
}

static const struct sonde_module_ops sonde_ebpf_absent_module = {
	.name = "ebpf",
	.config = &ebpf_absent_section,
	.init = ebpf_absent_init,
};
#endif

const struct sonde_module_ops *const sonde_modules[] = {
	&sonde_agent_module,
#ifdef SONDE_HAVE_HOST
	&sonde_self_module,
	&sonde_host_module,
	&sonde_services_module,
#endif
#ifdef SONDE_HAVE_LOGS
	&sonde_logs_module,
#endif
#ifdef SONDE_HAVE_EBPF
	&sonde_ebpf_module,
#else
	&sonde_ebpf_absent_module,
#endif
#ifdef SONDE_HAVE_PROMETHEUS
	&sonde_prometheus_module,
#endif
};
const size_t sonde_n_modules = sizeof(sonde_modules) / sizeof(sonde_modules[0]);
