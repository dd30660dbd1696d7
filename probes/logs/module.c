// SPDX-License-Identifier: MIT
/*
 * The logs module: the tailer's lines through the log formats into the
 * pipeline. It runs on its own thread, not in the agent's loop: catching
 * up a large backlog (a from_beginning start on a big file reads for
 * seconds) would otherwise stall every other module's timers and the
 * signal handling; the pipeline is thread-safe.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "logs_config.h"
#include "logs_dump.h"
#include "logs_metrics.h"
#include "module.h"
#include "tailer.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct logs_state {
	struct sonde_agent *agent;
	const struct sonde_logs_cfg *cfg;
	struct sonde_logs_metrics metrics;
	struct sonde_tailer_source src[SONDE_LOGS_MAX_SOURCES];
	struct sonde_tailer_config tc;
	struct sonde_tailer *tailer; /* from start to stop */
	struct sonde_logs_dump *dump;
	char state_file[SONDE_LOGS_PATH_LEN + 16];
	pthread_t thread;
	bool running;
	bool stopping; /* __atomic: the backlog loop checks it between chunks */
	int stop_fd;
	struct sonde_ratelimit rl;
	uint64_t seen_skipped;
	uint64_t next_ckpt; /* ms, monotonic */
};

static void on_line(void *userdata, void *file_user, const char *line,
		    size_t len, bool truncated)
{
	struct logs_state *s = userdata;
	struct sonde_logs_path *p = file_user ? file_user : s->metrics.overflow;
	struct sonde_txn txn;
	int r;

	p->d_lines++;
	p->d_bytes += len + 1;
	p->active = true;
	if (truncated)
		p->d_truncated++;
	if (s->dump)
		sonde_logs_dump_line(s->dump, line, len);
	if (!p->fmt)
		return;
	r = sonde_log_format_line(p->fmt, line, len, &txn);
	if (r < 0)
		p->d_errors++;
	else if (r == 1)
		sonde_logs_submit(&s->metrics, p, &txn);
}

static void on_event(void *userdata, enum sonde_tailer_event ev,
		     unsigned source, const char *path, void **file_user)
{
	struct logs_state *s = userdata;
	struct sonde_logs_path *p = *file_user;

	if (ev == SONDE_TAILER_OPENED && !p) {
		p = sonde_logs_path_get(&s->metrics, source, path);
		*file_user = p;
	}
	if (!p)
		p = s->metrics.overflow;
	sonde_logs_path_event(&s->metrics, p, ev);
	sonde_log(SONDE_LOG_DEBUG, "probe", "logs", "%s: %s", path,
		  sonde_logs_event_name(ev));
}

static void on_flush(void *userdata)
{
	struct logs_state *s = userdata;

	sonde_logs_dump_flush(s->dump);
}

static void publish(struct logs_state *s)
{
	struct sonde_tailer_stats st;

	/* the dump is a test aid: keep it as current as the pipeline */
	sonde_logs_dump_flush(s->dump);
	sonde_tailer_get_stats(s->tailer, &st);
	sonde_logs_metrics_publish(&s->metrics, &st,
				   sonde_logs_dump_dropped(s->dump));
	if (st.files_skipped > s->seen_skipped) {
		sonde_log_rl(&s->rl, SONDE_LOG_WARNING, "probe", "logs",
			     "max_files (%lld) reached: %llu matching files not followed",
			     s->cfg->max_files,
			     (unsigned long long)(st.files_skipped - s->seen_skipped));
		s->seen_skipped = st.files_skipped;
	}
}

/* Reads until every backlog is consumed or a stop is requested. */
static void drain(struct logs_state *s, int more)
{
	while (more > 0 && !__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
		more = sonde_tailer_continue(s->tailer);
		publish(s);
		/* a long catch-up is checkpointed too: a crash in it must
		 * not re-read more than one interval */
		if (now_ms() >= s->next_ckpt) {
			sonde_tailer_checkpoint(s->tailer);
			s->next_ckpt = now_ms() + s->cfg->checkpoint_interval;
		}
	}
}

static int64_t until(uint64_t deadline, uint64_t now)
{
	return deadline > now ? (int64_t)(deadline - now) : 0;
}

static void *logs_thread(void *arg)
{
	struct logs_state *s = arg;
	const struct sonde_logs_cfg *c = s->cfg;
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t now, next_poll, next_idle, rearm_at = 0;
	bool armed = true;
	int ep, ifd;

	/* top -H and /proc/PID/task show which thread is the tailer */
	pthread_setname_np(pthread_self(), "sonde-logs");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		sonde_log(SONDE_LOG_ERR, "probe", "logs", "epoll: %s",
			  strerror(errno));
		return NULL;
	}
	ev.data.fd = s->stop_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, s->stop_fd, &ev);
	s->next_ckpt = now_ms() + c->checkpoint_interval;
	drain(s, sonde_tailer_start(s->tailer));
	ifd = sonde_tailer_fd(s->tailer);
	if (ifd >= 0) {
		ev.data.fd = ifd;
		epoll_ctl(ep, EPOLL_CTL_ADD, ifd, &ev);
	} else if (c->inotify) {
		sonde_log(SONDE_LOG_WARNING, "probe", "logs",
			  "inotify unavailable: polling every %llu ms",
			  c->poll_interval);
	}
	now = now_ms();
	next_poll = now + c->poll_interval;
	next_idle = now + c->flush_idle;
	for (;;) {
		struct epoll_event evs[4];
		int64_t timeout;
		bool stop = false;
		int n;

		publish(s);
		now = now_ms();
		timeout = until(next_poll, now);
		if (until(s->next_ckpt, now) < timeout)
			timeout = until(s->next_ckpt, now);
		if (until(next_idle, now) < timeout)
			timeout = until(next_idle, now);
		if (!armed && until(rearm_at, now) < timeout)
			timeout = until(rearm_at, now);
		n = epoll_wait(ep, evs, 4, (int)timeout);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == s->stop_fd) {
				stop = true;
				continue;
			}
			drain(s, sonde_tailer_handle_events(s->tailer));
			/*
			 * A writer's every write(2) is an event: look again
			 * only after inotify_delay, so that a busy file is
			 * read in batches, not once per line.
			 */
			if (c->inotify_delay > 0) {
				ev.events = 0;
				ev.data.fd = ifd;
				epoll_ctl(ep, EPOLL_CTL_MOD, ifd, &ev);
				armed = false;
				rearm_at = now_ms() + c->inotify_delay;
			}
		}
		if (stop)
			break;
		now = now_ms();
		if (!armed && now >= rearm_at) {
			ev.events = EPOLLIN;
			ev.data.fd = ifd;
			epoll_ctl(ep, EPOLL_CTL_MOD, ifd, &ev);
			armed = true;
		}
		if (now >= next_poll) {
			drain(s, sonde_tailer_poll(s->tailer));
			next_poll = now + c->poll_interval;
		}
		if (now >= next_idle) {
			sonde_logs_flush_idle(&s->metrics, false);
			next_idle = now + c->flush_idle;
		}
		if (now >= s->next_ckpt) {
			sonde_tailer_checkpoint(s->tailer);
			s->next_ckpt = now + c->checkpoint_interval;
		}
	}
	/* clean stop: one more pass (bounded by the read budget; the rest is
	 * read after a restart, from the checkpoint, except in deleted
	 * files), then the offsets are saved */
	sonde_tailer_poll(s->tailer);
	sonde_logs_flush_idle(&s->metrics, true);
	sonde_tailer_checkpoint(s->tailer);
	publish(s);
	close(ep);
	return NULL;
}

static const struct sonde_tailer_ops tailer_ops = {
	.line = on_line, .event = on_event, .flush = on_flush
};

static int logs_init(struct sonde_agent *agent, const void *section,
		     void **ret_state)
{
	const struct sonde_logs_cfg *c = section;
	struct logs_state *s = NULL;
	int err;

	if (c->n_sources == 0) {
		*ret_state = NULL;
		return 0;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->agent = agent;
	s->cfg = c;
	s->stop_fd = -1;
	s->rl = (struct sonde_ratelimit)SONDE_RATELIMIT_INIT(60000, 1);
	err = sonde_logs_metrics_init(&s->metrics, agent, c);
	if (err < 0)
		goto fail;
	for (unsigned i = 0; i < c->n_sources; i++) {
		if (c->sources[i].path[0] != '/') {
			sonde_log(SONDE_LOG_ERR, "probe", "logs",
				  "logs.sources[%u].path: must be absolute, got '%s'",
				  i, c->sources[i].path);
			err = -EINVAL;
			goto fail;
		}
		s->src[i] = (struct sonde_tailer_source){
			.pattern = c->sources[i].path,
			.max_line = (size_t)c->sources[i].max_line_length,
			.from_beginning = c->sources[i].from_beginning,
		};
	}
	snprintf(s->state_file, sizeof(s->state_file), "%s/logs.state",
		 c->state_dir);
	s->tc = (struct sonde_tailer_config){
		.sources = s->src,
		.n_sources = c->n_sources,
		.state_file = c->state_dir[0] ? s->state_file : NULL,
		.use_inotify = c->inotify,
		.max_files = (unsigned)c->max_files,
		.read_size = (size_t)c->read_size,
		.rotate_wait_ms = c->rotate_wait,
	};
	*ret_state = s;
	return 0;
fail:
	sonde_logs_metrics_free(&s->metrics);
	free(s);
	return err;
}

static int mkdir_p(const char *path)
{
	char buf[SONDE_LOGS_PATH_LEN];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int logs_start(void *state)
{
	struct logs_state *s = state;
	const struct sonde_logs_cfg *c = s->cfg;
	int err;

	if (c->state_dir[0] && (err = mkdir_p(c->state_dir)) < 0) {
		/* offsets will not survive a restart, but tailing works */
		sonde_log(SONDE_LOG_WARNING, "probe", "logs",
			  "state_dir %s: %s; offsets are not saved",
			  c->state_dir, strerror(-err));
	}
	err = sonde_tailer_new(&s->tc, &tailer_ops, s, &s->tailer);
	if (err < 0)
		return err;
	if (c->debug_dump[0] && !s->dump) {
		err = sonde_logs_dump_open(c->debug_dump,
					   (uint64_t)c->debug_dump_max_bytes,
					   &s->dump);
		if (err < 0) {
			sonde_log(SONDE_LOG_ERR, "probe", "logs",
				  "debug_dump %s: %s", c->debug_dump,
				  strerror(-err));
			return err;
		}
	}
	if (s->stop_fd < 0)
		s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0)
		return -errno;
	err = -pthread_create(&s->thread, NULL, logs_thread, s);
	if (err < 0) {
		sonde_tailer_free(s->tailer);
		s->tailer = NULL;
		return err;
	}
	s->running = true;
	sonde_log(SONDE_LOG_INFO, "probe", "logs", "following %u source(s)",
		  c->n_sources);
	return 0;
}

static void logs_stop(void *state)
{
	struct logs_state *s = state;
	uint64_t one = 1;

	if (!s || !s->running)
		return;
	__atomic_store_n(&s->stopping, true, __ATOMIC_RELEASE);
	if (write(s->stop_fd, &one, sizeof(one)) < 0)
		sonde_log(SONDE_LOG_ERR, "probe", "logs", "stop: %s",
			  strerror(errno));
	pthread_join(s->thread, NULL);
	/* consume the request, so that a later start does not stop at once */
	if (read(s->stop_fd, &one, sizeof(one)) < 0)
		one = 0;
	s->running = false;
	__atomic_store_n(&s->stopping, false, __ATOMIC_RELEASE);
	/* a new start scans afresh and resumes from the checkpoint */
	sonde_tailer_free(s->tailer);
	s->tailer = NULL;
	sonde_logs_metrics_stopped(&s->metrics);
}

static void logs_free(void *state)
{
	struct logs_state *s = state;

	if (!s)
		return;
	logs_stop(s);
	sonde_tailer_free(s->tailer); /* a start that failed half-way */
	sonde_logs_dump_close(s->dump);
	sonde_logs_metrics_free(&s->metrics);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	free(s);
}

const struct sonde_module_ops sonde_logs_module = {
	.name = "logs",
	.config = &sonde_logs_config_section,
	.init = logs_init,
	.start = logs_start,
	.stop = logs_stop,
	.free = logs_free,
};
