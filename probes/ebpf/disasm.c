// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>

#include "disasm.h"

#ifndef SONDE_CAPSTONE_SONAME
struct sonde_disasm *sonde_disasm_open(void)
{
	return NULL;
}

void sonde_disasm_close(struct sonde_disasm *d)
{
	(void)d;
}

const char *sonde_disasm_why(void)
{
	return "sonde was built without capstone";
}

bool sonde_disasm_hold(void)
{
	return false;
}

void sonde_disasm_release(void)
{
}

bool sonde_disasm_next(struct sonde_disasm *d, const uint8_t **code, size_t *left,
		       uint64_t *addr, struct sonde_disasm_insn *insn)
{
	(void)d, (void)code, (void)left, (void)addr, (void)insn;
	return false;
}
#else
#include <capstone.h>
#include <dlfcn.h>
#include <pthread.h>

/* the capstone calls used, looked up in the loaded library */
struct cs_api {
	cs_err (*open)(cs_arch, cs_mode, csh *);
	cs_err (*close)(csh *);
	cs_insn *(*malloc)(csh);
	void (*free)(cs_insn *, size_t);
	bool (*disasm_iter)(csh, const uint8_t **, size_t *, uint64_t *, cs_insn *);
};

struct sonde_disasm {
	csh cs;
	cs_insn *insn;
};

/* the library while decoders are open; opened, counted, closed together */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static void *lib;
static unsigned lib_users;
static struct cs_api api;
static char why[256] = "";

static bool lib_get(void)
{
	bool ok = true;

	pthread_mutex_lock(&lib_lock);
	if (!lib_users) {
		void *h = dlopen(SONDE_CAPSTONE_SONAME, RTLD_NOW | RTLD_LOCAL);

		if (h) {
			*(void **)&api.open = dlsym(h, "cs_open");
			*(void **)&api.close = dlsym(h, "cs_close");
			*(void **)&api.malloc = dlsym(h, "cs_malloc");
			*(void **)&api.free = dlsym(h, "cs_free");
			*(void **)&api.disasm_iter = dlsym(h, "cs_disasm_iter");
		}
		if (!h || !api.open || !api.close || !api.malloc || !api.free ||
		    !api.disasm_iter) {
			snprintf(why, sizeof(why), "capstone (%s) could not be loaded: %s",
				 SONDE_CAPSTONE_SONAME, h ? "a function is missing" : dlerror());
			if (h)
				dlclose(h);
			ok = false;
		} else {
			lib = h;
		}
	}
	if (ok)
		lib_users++;
	pthread_mutex_unlock(&lib_lock);
	return ok;
}

static void lib_put(void)
{
	pthread_mutex_lock(&lib_lock);
	if (lib_users && --lib_users == 0) {
		dlclose(lib);
		lib = NULL;
	}
	pthread_mutex_unlock(&lib_lock);
}

struct sonde_disasm *sonde_disasm_open(void)
{
	struct sonde_disasm *d;

	if (!lib_get())
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d && api.open(CS_ARCH_X86, CS_MODE_64, &d->cs) == CS_ERR_OK) {
		d->insn = api.malloc(d->cs);
		if (d->insn)
			return d;
		api.close(&d->cs);
	}
	snprintf(why, sizeof(why), "capstone could not start a decoder (out of memory?)");
	free(d);
	lib_put();
	return NULL;
}

void sonde_disasm_close(struct sonde_disasm *d)
{
	if (!d)
		return;
	api.free(d->insn, 1);
	api.close(&d->cs);
	free(d);
	lib_put();
}

const char *sonde_disasm_why(void)
{
	return why;
}

bool sonde_disasm_hold(void)
{
	return lib_get();
}

void sonde_disasm_release(void)
{
	lib_put();
}

bool sonde_disasm_next(struct sonde_disasm *d, const uint8_t **code, size_t *left,
		       uint64_t *addr, struct sonde_disasm_insn *insn)
{
	if (!api.disasm_iter(d->cs, code, left, addr, d->insn))
		return false;
	insn->address = d->insn->address;
	insn->bytes = d->insn->bytes;
	insn->size = d->insn->size;
	return true;
}
#endif
