/* SPDX-License-Identifier: MIT */
#ifndef SONDE_PROTOCOLS_HTTPCOMMON_H
#define SONDE_PROTOCOLS_HTTPCOMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What HTTP/1 and HTTP/2 share: the method names exported (OpenTelemetry's
 * known methods, anything else "_OTHER") and the authority's split into
 * host and port (Host header, absolute-form target, :authority).
 */

/* Index 0 is "_OTHER"; the others are the known methods. */
extern const char *const sonde_http_methods[];
#define SONDE_HTTP_M_OTHER 0
#define SONDE_HTTP_M_HEAD 2
#define SONDE_HTTP_M_CONNECT 6
#define SONDE_HTTP_N_METHODS 10

/* The index of a known method token, else -1. */
int sonde_http_method_index(const char *tok, size_t len);

/*
 * "host", "host:port", "[v6]" or "[v6]:port": the host (brackets
 * dropped) and the port, 0 when absent or not a valid one. False for an
 * unclosed bracket.
 */
bool sonde_http_authority(const char *v, size_t n, const char **ret_host,
			  size_t *ret_hlen, uint16_t *ret_port);

/*
 * A W3C `traceparent` value (version-traceid-parentid-flags, lower-case
 * hex; version ff and all-zero ids are invalid; version 00 has nothing
 * after the flags): true, and the ids and flags written, when valid.
 */
bool sonde_http_traceparent(const char *v, size_t n, uint8_t trace_id[16],
			    uint8_t span_id[8], uint8_t *ret_flags);

#endif
