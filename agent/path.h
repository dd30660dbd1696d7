/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PATH_H
#define SONDE_PATH_H

#include <stddef.h>

/* root + "/" + rel (rel may start with '/'); -ENAMETOOLONG when it does not fit. */
int sonde_path_join(char *out, size_t outlen, const char *root, const char *rel);

#endif
