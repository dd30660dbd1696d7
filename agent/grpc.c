// SPDX-License-Identifier: MIT
#include "grpc.h"

#include <string.h>

#define CT "application/grpc"
#define CT_LEN (sizeof(CT) - 1)

bool sonde_grpc_content_type(const char *value, size_t len)
{
	if (len < CT_LEN || memcmp(value, CT, CT_LEN) != 0)
		return false;
	return len == CT_LEN || value[CT_LEN] == '+' || value[CT_LEN] == ';';
}

const char *sonde_grpc_status_name(int code)
{
	static const char *const names[SONDE_GRPC_MAX_CODE + 1] = {
		"OK",
		"CANCELLED",
		"UNKNOWN",
		"INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED",
		"NOT_FOUND",
		"ALREADY_EXISTS",
		"PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION",
		"ABORTED",
		"OUT_OF_RANGE",
		"UNIMPLEMENTED",
		"INTERNAL",
		"UNAVAILABLE",
		"DATA_LOSS",
		"UNAUTHENTICATED",
	};

	if (code < 0 || code > SONDE_GRPC_MAX_CODE)
		return names[2];
	return names[code];
}

int sonde_grpc_status_from_http(int http_status)
{
	switch (http_status) {
	case 400: return 13; /* INTERNAL */
	case 401: return 16; /* UNAUTHENTICATED */
	case 403: return 7;  /* PERMISSION_DENIED */
	case 404: return 12; /* UNIMPLEMENTED */
	case 429:
	case 502:
	case 503:
	case 504: return 14; /* UNAVAILABLE */
	default: return 2;   /* UNKNOWN, a 200 without a status included */
	}
}

bool sonde_grpc_server_fault(int code)
{
	switch (code) {
	case 2:  /* UNKNOWN */
	case 4:  /* DEADLINE_EXCEEDED */
	case 12: /* UNIMPLEMENTED */
	case 13: /* INTERNAL */
	case 14: /* UNAVAILABLE */
	case 15: /* DATA_LOSS */
		return true;
	default:
		return code < 0 || code > SONDE_GRPC_MAX_CODE;
	}
}

/* Protobuf identifiers and package dots; '-' and '$' appear in generated
 * names of other IDLs. */
static bool ident_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == '$';
}

void sonde_grpc_method(const char *path, size_t len, char *out, size_t cap)
{
	size_t slash = 0;

	if (len < 4 || len > cap || path[0] != '/')
		goto other;
	for (size_t i = 1; i < len; i++) {
		if (path[i] == '/') {
			if (slash || i == 1)
				goto other;
			slash = i;
		} else if (!ident_byte((unsigned char)path[i])) {
			goto other;
		}
	}
	if (!slash || slash == len - 1)
		goto other;
	memcpy(out, path + 1, len - 1);
	out[len - 1] = '\0';
	return;
other:
	memcpy(out, "_OTHER", 7);
}

bool sonde_grpc_timeout(const char *value, size_t len, uint64_t *ret_ns)
{
	uint64_t v = 0, unit;

	if (len < 2 || len > 9)
		return false;
	for (size_t i = 0; i + 1 < len; i++) {
		if (value[i] < '0' || value[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(value[i] - '0');
	}
	switch (value[len - 1]) {
	case 'H': unit = 3600000000000ull; break;
	case 'M': unit = 60000000000ull; break;
	case 'S': unit = 1000000000ull; break;
	case 'm': unit = 1000000ull; break;
	case 'u': unit = 1000ull; break;
	case 'n': unit = 1ull; break;
	default: return false;
	}
	/* 8 digits of hours overflow 64 bits of ns: saturated, "never" */
	*ret_ns = v > UINT64_MAX / unit ? UINT64_MAX : v * unit;
	return true;
}

int sonde_grpc_status_from_reset(uint32_t h2_error)
{
	switch (h2_error) {
	case 0x7: return 14; /* REFUSED_STREAM: UNAVAILABLE */
	case 0x8: return 1;  /* CANCEL: CANCELLED */
	case 0xb: return 8;  /* ENHANCE_YOUR_CALM: RESOURCE_EXHAUSTED */
	case 0xc: return 7;  /* INADEQUATE_SECURITY: PERMISSION_DENIED */
	default: return 13;  /* INTERNAL */
	}
}
