/* SPDX-License-Identifier: MIT */
#ifndef SONDE_GRPC_H
#define SONDE_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * gRPC's conventions, shared by the HTTP/2 parser (which sees the wire)
 * and the pipeline (which makes labels): status code names, which codes
 * are the server's fault, the code a call gets when its response carries
 * no grpc-status, and the method label made from a request's :path.
 */

#define SONDE_GRPC_MAX_CODE 16 /* UNAUTHENTICATED */

/* True for the content types of gRPC over HTTP/2 ("application/grpc",
 * "application/grpc+proto", "...;charset"); not gRPC-Web, whose status
 * travels in the body. */
bool sonde_grpc_content_type(const char *value, size_t len);

/* "OK", "NOT_FOUND", ...; codes past 16 are reported as UNKNOWN, as gRPC
 * clients treat them. */
const char *sonde_grpc_status_name(int code);

/* The status a client gives a call answered with this HTTP status and no
 * grpc-status (gRPC's HTTP-to-gRPC mapping). */
int sonde_grpc_status_from_http(int http_status);

/* Codes that mean the server failed (OpenTelemetry's gRPC conventions);
 * on the client side every code but OK is an error. */
bool sonde_grpc_server_fault(int code);

/* A grpc-timeout value ("100m", "5S": up to 8 digits and a unit of
 * H, M, S, m, u, n) in ns; false when malformed. */
bool sonde_grpc_timeout(const char *value, size_t len, uint64_t *ret_ns);

/*
 * The status a call gets when its stream is reset (RST_STREAM error
 * code) before a grpc-status: CANCEL is CANCELLED, REFUSED_STREAM
 * UNAVAILABLE, ENHANCE_YOUR_CALM RESOURCE_EXHAUSTED, INADEQUATE_SECURITY
 * PERMISSION_DENIED, the rest INTERNAL (gRPC's HTTP/2 mapping).
 */
int sonde_grpc_status_from_reset(uint32_t h2_error);

/*
 * The rpc_method label of a request path "/package.Service/Method":
 * "package.Service/Method"; "_OTHER" for anything else (a query string,
 * more segments, bytes outside identifiers), so that a hostile path is
 * never a label value. out must hold cap >= 8 bytes.
 */
void sonde_grpc_method(const char *path, size_t len, char *out, size_t cap);

#endif
