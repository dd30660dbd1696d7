// SPDX-License-Identifier: MIT
/*
 * statfs(2) with a deadline. A hung network filesystem blocks statfs in the
 * kernel for minutes, and the scrape (on the agent's loop) with it. Each call
 * runs on a short-lived detached thread; past the deadline the mount is
 * reported as a device error and remembered as stuck, and it is not asked
 * again until the abandoned call returns (as node_exporter does).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"

struct sonde_host_statfs_job {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	sonde_host_statfs_fn fn;
	struct statfs st;
	int err;
	bool done;
	unsigned refs; /* the worker's and the waiter's (or the stuck list's) */
	char mountpoint[512];
	char path[4096];
};

static void job_unref(struct sonde_host_statfs_job *job)
{
	bool last;

	pthread_mutex_lock(&job->lock);
	last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->cond);
	free(job);
}

static void *job_run(void *arg)
{
	struct sonde_host_statfs_job *job = arg;
	struct statfs st;
	int err;

	memset(&st, 0, sizeof(st));
	err = job->fn(job->path, &st);

	pthread_mutex_lock(&job->lock);
	job->st = st;
	job->err = err;
	job->done = true;
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
	job_unref(job);
	return NULL;
}

/* Drops stuck entries whose call has returned since; true if mountpoint is still stuck. */
static bool still_stuck(struct sonde_host *h, const char *mountpoint)
{
	bool stuck = false;
	size_t o = 0;

	for (size_t i = 0; i < h->n_stuck; i++) {
		struct sonde_host_statfs_job *job = h->stuck[i];
		bool done;

		pthread_mutex_lock(&job->lock);
		done = job->done;
		pthread_mutex_unlock(&job->lock);
		if (done) {
			job_unref(job);
			continue;
		}
		if (strcmp(job->mountpoint, mountpoint) == 0)
			stuck = true;
		h->stuck[o++] = job;
	}
	h->n_stuck = o;
	return stuck;
}

int sonde_host_statfs(struct sonde_host *h, const char *mountpoint, const char *path,
		      struct statfs *ret_st)
{
	struct sonde_host_statfs_job *job;
	pthread_condattr_t ca;
	pthread_attr_t attr;
	pthread_t tid;
	struct timespec deadline;
	int err;

	if (h->cfg.statfs_timeout_ms == 0)
		return h->statfs_fn(path, ret_st);
	if (still_stuck(h, mountpoint))
		return -ETIMEDOUT;
	if (h->n_stuck >= SONDE_HOST_STUCK_MAX)
		return -EAGAIN; /* too many hung calls already: do not pile up threads */
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	pthread_mutex_init(&job->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&job->cond, &ca);
	pthread_condattr_destroy(&ca);
	job->fn = h->statfs_fn;
	job->refs = 2;
	snprintf(job->mountpoint, sizeof(job->mountpoint), "%.511s", mountpoint);
	snprintf(job->path, sizeof(job->path), "%.4095s", path);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	err = pthread_create(&tid, &attr, job_run, job);
	pthread_attr_destroy(&attr);
	if (err) {
		job->refs = 1;
		job_unref(job);
		return -err;
	}

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(h->cfg.statfs_timeout_ms / 1000);
	deadline.tv_nsec += (long)(h->cfg.statfs_timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&job->lock);
	while (!job->done)
		if (pthread_cond_timedwait(&job->cond, &job->lock, &deadline) == ETIMEDOUT)
			break;
	if (job->done) {
		err = job->err;
		if (err == 0)
			*ret_st = job->st;
		pthread_mutex_unlock(&job->lock);
		job_unref(job);
		return err;
	}
	pthread_mutex_unlock(&job->lock);
	/* The stuck list keeps our reference until the call returns. */
	h->stuck[h->n_stuck++] = job;
	return -ETIMEDOUT;
}

void sonde_host_statfs_release(struct sonde_host *h)
{
	for (size_t i = 0; i < h->n_stuck; i++)
		job_unref(h->stuck[i]);
	h->n_stuck = 0;
}

size_t sonde_host_statfs_stuck(struct sonde_host *h)
{
	(void)still_stuck(h, "");
	return h->n_stuck;
}
