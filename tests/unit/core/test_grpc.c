// SPDX-License-Identifier: MIT
/*
 * gRPC's conventions (agent/grpc.c) and what the pipeline makes of a gRPC
 * call: rpc_* families with the status code's name, the error type by
 * side, the method label, and nothing in the HTTP families.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "grpc.h"
#include "pipeline.h"
#include "registry.h"
#include "transaction.h"

static void method_is(const char *path, const char *want)
{
	char out[64];

	memset(out, 'Z', sizeof(out));
	sonde_grpc_method(path, strlen(path), out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_conventions(void **state)
{
	(void)state;
	assert_string_equal(sonde_grpc_status_name(0), "OK");
	assert_string_equal(sonde_grpc_status_name(5), "NOT_FOUND");
	assert_string_equal(sonde_grpc_status_name(14), "UNAVAILABLE");
	assert_string_equal(sonde_grpc_status_name(16), "UNAUTHENTICATED");
	assert_string_equal(sonde_grpc_status_name(17), "UNKNOWN");
	assert_string_equal(sonde_grpc_status_name(-1), "UNKNOWN");

	assert_int_equal(sonde_grpc_status_from_http(404), 12);
	assert_int_equal(sonde_grpc_status_from_http(503), 14);
	assert_int_equal(sonde_grpc_status_from_http(401), 16);
	assert_int_equal(sonde_grpc_status_from_http(200), 2);

	assert_false(sonde_grpc_server_fault(0));
	assert_false(sonde_grpc_server_fault(5));  /* the caller's fault */
	assert_false(sonde_grpc_server_fault(1));  /* cancelled by the caller */
	assert_true(sonde_grpc_server_fault(13));
	assert_true(sonde_grpc_server_fault(4));
	assert_true(sonde_grpc_server_fault(200)); /* unknown: UNKNOWN */

	assert_true(sonde_grpc_content_type("application/grpc", 16));
	assert_true(sonde_grpc_content_type("application/grpc+proto", 22));
	assert_true(sonde_grpc_content_type("application/grpc;charset=utf-8", 30));
	assert_false(sonde_grpc_content_type("application/grpc-web", 20));
	assert_false(sonde_grpc_content_type("application/grp", 15));
	assert_false(sonde_grpc_content_type("application/json", 16));

	uint64_t ns = 0;

	assert_true(sonde_grpc_timeout("100m", 4, &ns));
	assert_int_equal(ns, 100000000);
	assert_true(sonde_grpc_timeout("5S", 2, &ns));
	assert_int_equal(ns, 5000000000ull);
	assert_true(sonde_grpc_timeout("99999999H", 9, &ns));
	assert_int_equal(ns, UINT64_MAX); /* saturated */
	assert_true(sonde_grpc_timeout("7n", 2, &ns));
	assert_int_equal(ns, 7);
	assert_false(sonde_grpc_timeout("100", 3, &ns));
	assert_false(sonde_grpc_timeout("m", 1, &ns));
	assert_false(sonde_grpc_timeout("123456789S", 10, &ns));
	assert_false(sonde_grpc_timeout("1x", 2, &ns));
	assert_false(sonde_grpc_timeout("-1S", 3, &ns));
	assert_int_equal(sonde_grpc_status_from_reset(0x8), 1);
	assert_int_equal(sonde_grpc_status_from_reset(0x7), 14);
	assert_int_equal(sonde_grpc_status_from_reset(0xb), 8);
	assert_int_equal(sonde_grpc_status_from_reset(0x2), 13);

	method_is("/helloworld.Greeter/SayHello", "helloworld.Greeter/SayHello");
	method_is("/Echo/Echo", "Echo/Echo");
	method_is("/a/b", "a/b");
	method_is("/a.B/c/d", "_OTHER");
	method_is("/a.B/", "_OTHER");
	method_is("//m", "_OTHER");
	method_is("/onlyservice", "_OTHER");
	method_is("/a.B/c?x=1", "_OTHER");
	method_is("/a.B/c d", "_OTHER");
	method_is("/a.B/\xc3\xa9", "_OTHER");
	method_is("a.B/c", "_OTHER");
	method_is("", "_OTHER");
	/* longer than the label's room */
	method_is("/pkg.Service/AVeryLongMethodNameThatDoesNotFitInTheSixtyFourBytesOfRoom",
		  "_OTHER");
}

/* The count of the series of family fam whose labels are exactly want
 * (NULL-terminated, in label order; -1 when there is none), or with want
 * NULL of all its series (0 when there is none). */
static long count_of(struct sonde_registry *reg, const char *fam, const char *const *want)
{
	struct sonde_snapshot *snap;
	long n = want ? -1 : 0;

	assert_int_equal(sonde_registry_snapshot(reg, &snap), 0);
	for (size_t i = 0; i < snap->n_families; i++) {
		const struct sonde_snap_family *f = &snap->families[i];

		if (strcmp(f->name, fam) != 0)
			continue;
		for (size_t j = 0; j < f->n_series; j++) {
			unsigned k = 0;

			if (!want) {
				n += (long)f->series[j].count;
				continue;
			}
			while (k < f->n_labels && want[k] &&
			       strcmp(f->series[j].values[k], want[k]) == 0)
				k++;
			if (k == f->n_labels && !want[k])
				n = (long)f->series[j].count;
		}
	}
	sonde_snapshot_free(snap);
	return n;
}

static struct sonde_txn call(enum sonde_txn_kind kind, const char *path, int code)
{
	struct sonde_txn t;

	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.proto = SONDE_PROTO_HTTP2;
	t.duration_ns = 2000000;
	t.status = 200;
	t.rpc_system = SONDE_RPC_GRPC;
	t.rpc_status = code;
	strcpy(t.operation, "POST");
	strcpy(t.path, path);
	strcpy(t.service, "cart");
	strcpy(t.server_address, "api.internal");
	t.server_port = 50051;
	return t;
}

static void test_pipeline(void **state)
{
	struct sonde_registry *reg;
	struct sonde_pipeline *pipe;
	struct sonde_txn t;

	(void)state;
	assert_int_equal(sonde_registry_new(0, &reg), 0);
	assert_int_equal(sonde_pipeline_new(reg, &pipe), 0);

	t = call(SONDE_TXN_HTTP_SERVER, "/shop.Cart/Get", 0);
	sonde_pipeline_submit(pipe, &t);
	sonde_pipeline_submit(pipe, &t);
	t = call(SONDE_TXN_HTTP_SERVER, "/shop.Cart/Get", 5); /* the caller's fault */
	sonde_pipeline_submit(pipe, &t);
	t = call(SONDE_TXN_HTTP_SERVER, "/shop.Cart/Get", 13);
	sonde_pipeline_submit(pipe, &t);
	t = call(SONDE_TXN_HTTP_SERVER, "/x?a=1", 0);
	sonde_pipeline_submit(pipe, &t);
	t = call(SONDE_TXN_HTTP_CLIENT, "/shop.Cart/Get", 5); /* an error to a client */
	sonde_pipeline_submit(pipe, &t);

	const char *ok[] = { "grpc", "shop.Cart/Get", "OK", "", "cart", NULL };
	const char *nf[] = { "grpc", "shop.Cart/Get", "NOT_FOUND", "", "cart", NULL };
	const char *in[] = { "grpc", "shop.Cart/Get", "INTERNAL", "INTERNAL", "cart", NULL };
	const char *other[] = { "grpc", "_OTHER", "OK", "", "cart", NULL };
	const char *cli[] = { "grpc", "shop.Cart/Get", "NOT_FOUND", "NOT_FOUND",
			      "api.internal", "50051", "cart", NULL };

	assert_int_equal(count_of(reg, "rpc_server_call_duration_seconds", ok), 2);
	assert_int_equal(count_of(reg, "rpc_server_call_duration_seconds", nf), 1);
	assert_int_equal(count_of(reg, "rpc_server_call_duration_seconds", in), 1);
	assert_int_equal(count_of(reg, "rpc_server_call_duration_seconds", other), 1);
	assert_int_equal(count_of(reg, "rpc_client_call_duration_seconds", cli), 1);
	assert_int_equal(count_of(reg, "http_server_request_duration_seconds", NULL), 0);
	assert_int_equal(count_of(reg, "http_client_request_duration_seconds", NULL), 0);

	/* the same exchange without gRPC is an HTTP request */
	t = call(SONDE_TXN_HTTP_SERVER, "/shop.Cart/Get", 0);
	t.rpc_system = SONDE_RPC_NONE;
	sonde_pipeline_submit(pipe, &t);
	assert_int_equal(count_of(reg, "http_server_request_duration_seconds", NULL), 1);
	assert_int_equal(count_of(reg, "rpc_server_call_duration_seconds", NULL), 5);

	sonde_pipeline_free(pipe);
	sonde_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conventions),
		cmocka_unit_test(test_pipeline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
