// SPDX-License-Identifier: MIT
#include "prom_server.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "prom_buf.h"
#include "prom_format.h"
#include "prom_gzip.h"
#include "prom_listen.h"
#include "prom_negotiate.h"
#include "prom_self.h"

/* A scrape bigger than this is a cardinality bug, not something to send. */
#define SCRAPE_MAX_BYTES (256u << 20)
#define DEFAULT_TIMEOUT_S 10

static const char landing_html[] =
	"<!DOCTYPE html>\n"
	"<html><head><meta charset=\"utf-8\"><title>sonde</title></head>\n"
	"<body><h1>sonde</h1>\n"
	"<p>Host observability agent, version " SONDE_VERSION ".</p>\n"
	"<ul><li><a href=\"/metrics\">/metrics</a> (Prometheus text 0.0.4, or "
	"OpenMetrics 1.0 by Accept header)</li>\n"
	"<li><a href=\"/healthz\">/healthz</a></li></ul>\n"
	"</body></html>\n";

/*
 * Response bodies are formatted into buffers that outlive the handler (MHD
 * sends them later) and are reused, capacity kept: a fresh multi-megabyte
 * buffer per scrape costs more in page faults than the formatting itself.
 * A scrape that finds every slot busy (concurrent scrapers) gets a
 * one-off heap buffer instead.
 */
#define OUT_SLOTS 2

struct out_slot {
	struct sonde_buf buf;
	atomic_bool busy;
	bool heap; /* one-off: freed, not returned */
};

struct sonde_prom_server {
	struct sonde_registry *reg;
	char listen[SONDE_PROM_LISTEN_MAX];
	unsigned max_connections;
	unsigned timeout_s;
	bool gzip;

	struct MHD_Daemon *mhd;
	unsigned port;
	atomic_uint open_connections;
	struct sonde_prom_self self;
	struct sonde_ratelimit log_rl;

	/* Touched only by the MHD thread: handlers are serialised. */
	struct sonde_gzip gz;
	struct sonde_buf plain; /* formatted text before gzip */
	size_t size_hint;
	struct out_slot slots[OUT_SLOTS];
};

static struct out_slot *slot_take(struct sonde_prom_server *srv)
{
	struct out_slot *slot;

	for (unsigned i = 0; i < OUT_SLOTS; i++) {
		bool idle = false;

		slot = &srv->slots[i];
		if (atomic_compare_exchange_strong(&slot->busy, &idle, true)) {
			slot->buf.len = 0;
			slot->buf.failed = false;
			return slot;
		}
	}
	slot = calloc(1, sizeof(*slot));
	if (!slot)
		return NULL;
	sonde_buf_init(&slot->buf, SCRAPE_MAX_BYTES);
	slot->heap = true;
	return slot;
}

/* MHD's free callback for a response body, and our error path. */
static void slot_release(void *cls)
{
	struct out_slot *slot = cls;

	if (slot->heap) {
		sonde_buf_release(&slot->buf);
		free(slot);
		return;
	}
	atomic_store(&slot->busy, false);
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct sonde_prom_server *srv = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	sonde_log_rl(&srv->log_rl, SONDE_LOG_WARNING, "exporter", "prometheus",
		     "http: %s", msg);
}

/*
 * Our own connection cap (MHD's is set one higher as a backstop): MHD at its
 * limit stops accepting and lets the kernel queue, which would hide the
 * overload; here the excess is closed at once and counted.
 */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr,
				     socklen_t addrlen)
{
	struct sonde_prom_server *srv = cls;

	if (atomic_load(&srv->open_connections) >= srv->max_connections) {
		sonde_counter_inc(srv->self.rejected);
		return MHD_NO;
	}
	return MHD_YES;
}

static void notify_connection(void *cls, struct MHD_Connection *c,
			      void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct sonde_prom_server *srv = cls;
	unsigned n;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		n = atomic_fetch_add(&srv->open_connections, 1) + 1;
	else
		n = atomic_fetch_sub(&srv->open_connections, 1) - 1;
	sonde_gauge_set(srv->self.open, n);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
			     const char *ctype, const char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Snapshot + format (+ gzip) into out; 0 or -errno. */
static int render(struct sonde_prom_server *srv, enum sonde_prom_fmt fmt,
		  bool gzip, struct sonde_buf *out)
{
	struct sonde_buf *text = gzip ? &srv->plain : out;
	struct sonde_snapshot *snap = NULL;
	int err;

	err = sonde_registry_snapshot(srv->reg, &snap);
	if (err)
		goto out;
	text->len = 0;
	text->failed = false;
	sonde_buf_reserve(text, srv->size_hint + srv->size_hint / 8);
	err = sonde_prom_format(snap, fmt, text);
	if (err)
		goto out;
	if (text->len > srv->size_hint)
		srv->size_hint = text->len;
	if (gzip)
		err = sonde_gzip_compress(&srv->gz, text->data, text->len, out);
out:
	sonde_snapshot_free(snap);
	return err;
}

static enum MHD_Result serve_metrics(struct sonde_prom_server *srv,
				     struct MHD_Connection *c)
{
	const char *accept = header(c, MHD_HTTP_HEADER_ACCEPT);
	const char *ae = header(c, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	struct out_slot *slot = slot_take(srv);
	enum sonde_prom_fmt fmt;
	struct MHD_Response *r;
	double t0 = mono_now();
	bool gzip;
	enum MHD_Result ret;
	int err = -ENOMEM;

	fmt = sonde_prom_negotiate_format(accept, accept ? strlen(accept) : 0);
	gzip = srv->gzip && srv->gz.ready && ae && sonde_prom_accepts_gzip(ae, strlen(ae));
	if (slot)
		err = render(srv, fmt, gzip, &slot->buf);
	if (err) {
		if (slot)
			slot_release(slot);
		sonde_counter_inc(srv->self.scrape_errors);
		sonde_log_rl(&srv->log_rl, SONDE_LOG_ERR, "exporter", "prometheus",
			     "scrape failed: %s", strerror(-err));
		sonde_prom_self_request(&srv->self, "/metrics", 500);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
			     "scrape failed\n");
	}
	r = MHD_create_response_from_buffer_with_free_callback_cls(
		slot->buf.len, slot->buf.data, slot_release, slot);
	if (!r) {
		slot_release(slot);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				fmt == SONDE_PROM_OPENMETRICS ? SONDE_PROM_CT_OPENMETRICS :
								SONDE_PROM_CT_TEXT);
	if (srv->gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	if (gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	/* Counted before queueing: a client that got the response sees it counted. */
	sonde_counter_inc(srv->self.scrapes[fmt]);
	sonde_gauge_set(srv->self.size, (double)slot->buf.len);
	sonde_histogram_observe(srv->self.duration, mono_now() - t0);
	sonde_prom_self_request(&srv->self, "/metrics", 200);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct sonde_prom_server *srv = cls;

	/* First call: headers only. Any body that follows is read and dropped. */
	if (!*con_cls) {
		*con_cls = srv;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		sonde_prom_self_request(&srv->self, "other", 405);
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
			     "method not allowed\n");
	}
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(srv, c);
	if (strcmp(url, "/healthz") == 0) {
		sonde_prom_self_request(&srv->self, "/healthz", 200);
		return reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok");
	}
	if (strcmp(url, "/") == 0) {
		sonde_prom_self_request(&srv->self, "/", 200);
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", landing_html);
	}
	sonde_prom_self_request(&srv->self, "other", 404);
	return reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n");
}

int sonde_prom_server_new(struct sonde_registry *reg,
			  const struct sonde_prom_server_opts *opts,
			  struct sonde_prom_server **ret_srv)
{
	struct sonde_prom_server *srv;
	int err;

	if (!reg || !opts || !opts->listen ||
	    strlen(opts->listen) >= SONDE_PROM_LISTEN_MAX || !opts->max_connections)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->reg = reg;
	strcpy(srv->listen, opts->listen);
	srv->max_connections = opts->max_connections;
	srv->timeout_s = opts->timeout_s ? opts->timeout_s : DEFAULT_TIMEOUT_S;
	srv->gzip = opts->gzip;
	srv->log_rl = (struct sonde_ratelimit)SONDE_RATELIMIT_INIT(60000, 5);
	sonde_buf_init(&srv->plain, SCRAPE_MAX_BYTES);
	for (unsigned i = 0; i < OUT_SLOTS; i++)
		sonde_buf_init(&srv->slots[i].buf, SCRAPE_MAX_BYTES);
	err = sonde_prom_self_register(reg, &srv->self);
	if (err)
		goto fail;
	*ret_srv = srv;
	return 0;
fail:
	free(srv);
	return err;
}

int sonde_prom_server_start(struct sonde_prom_server *srv, char *errbuf,
			    size_t errlen)
{
	unsigned port;
	int fd = -1, err;

	if (srv->mhd)
		return 0;
	err = sonde_prom_listen(srv->listen, &fd, &port, errbuf, errlen);
	if (err)
		return err;
	/* Speed over ratio: scrapes are frequent and the text compresses ~10x anyway. */
	if (srv->gzip && sonde_gzip_init(&srv->gz, 1) < 0) {
		err = -ENOMEM;
		snprintf(errbuf, errlen, "cannot start on %s: gzip: out of memory",
			 srv->listen);
		goto fail;
	}
	srv->mhd = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC,
		0, accept_policy, srv, handle, srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, srv->max_connections + 1,
		MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_NOTIFY_CONNECTION, notify_connection, srv,
		MHD_OPTION_END);
	if (!srv->mhd) {
		err = -EIO;
		snprintf(errbuf, errlen, "cannot start HTTP server on %s", srv->listen);
		goto fail;
	}
	srv->port = port;
	return 0;
fail:
	sonde_gzip_done(&srv->gz);
	close(fd);
	return err;
}

unsigned sonde_prom_server_port(const struct sonde_prom_server *srv)
{
	return srv && srv->mhd ? srv->port : 0;
}

void sonde_prom_server_stop(struct sonde_prom_server *srv)
{
	if (!srv || !srv->mhd)
		return;
	/* Closes the listen socket and every connection, joins the thread. */
	MHD_stop_daemon(srv->mhd);
	srv->mhd = NULL;
	srv->port = 0;
	sonde_gzip_done(&srv->gz);
}

void sonde_prom_server_free(struct sonde_prom_server *srv)
{
	if (!srv)
		return;
	sonde_prom_server_stop(srv);
	/* MHD_stop_daemon has destroyed every response: no slot is busy. */
	for (unsigned i = 0; i < OUT_SLOTS; i++)
		sonde_buf_release(&srv->slots[i].buf);
	sonde_buf_release(&srv->plain);
	free(srv);
}
