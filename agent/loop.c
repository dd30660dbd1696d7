// SPDX-License-Identifier: MIT
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct watch {
	struct watch *next;
	int fd;
	sonde_fd_cb cb;
	void *userdata;
	struct sonde_timer *timer; /* set when this watch is a timer's */
	bool dead;
};

struct sonde_timer {
	struct watch *w;
	sonde_timer_cb cb;
	void *userdata;
};

struct sonde_loop {
	int epfd;
	bool quit;
	int dispatching; /* >0 while callbacks run: frees are deferred */
	struct watch *watches;
};

int sonde_loop_new(struct sonde_loop **ret_loop)
{
	struct sonde_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = -errno;

		free(loop);
		return err;
	}
	*ret_loop = loop;
	return 0;
}

static void reap(struct sonde_loop *loop)
{
	struct watch **pp = &loop->watches;

	while (*pp) {
		struct watch *w = *pp;

		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

void sonde_loop_free(struct sonde_loop *loop)
{
	if (!loop)
		return;
	for (struct watch *w = loop->watches; w; w = w->next) {
		if (w->timer && !w->dead) {
			close(w->fd);
			free(w->timer);
		}
		w->dead = true;
	}
	reap(loop);
	close(loop->epfd);
	free(loop);
}

static struct watch *add_watch(struct sonde_loop *loop, int fd, uint32_t events,
			       sonde_fd_cb cb, void *userdata, int *ret_err)
{
	struct epoll_event ev = { .events = events };
	struct watch *w = calloc(1, sizeof(*w));

	if (!w) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	w->fd = fd;
	w->cb = cb;
	w->userdata = userdata;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		*ret_err = -errno;
		free(w);
		return NULL;
	}
	w->next = loop->watches;
	loop->watches = w;
	return w;
}

int sonde_loop_add_fd(struct sonde_loop *loop, int fd, uint32_t events, sonde_fd_cb cb,
		      void *userdata)
{
	int err = 0;

	return add_watch(loop, fd, events, cb, userdata, &err) ? 0 : err;
}

int sonde_loop_del_fd(struct sonde_loop *loop, int fd)
{
	for (struct watch *w = loop->watches; w; w = w->next) {
		if (!w->dead && w->fd == fd && !w->timer) {
			epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
			w->dead = true;
			if (!loop->dispatching)
				reap(loop);
			return 0;
		}
	}
	return -ENOENT;
}

static void timer_fired(int fd, uint32_t events, void *userdata)
{
	struct sonde_timer *t = userdata;
	uint64_t expirations;

	(void)events;
	/* Drain; missed expirations collapse into one callback. */
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	t->cb(t->userdata);
}

int sonde_loop_add_timer(struct sonde_loop *loop, uint64_t interval_ms, sonde_timer_cb cb,
			 void *userdata, struct sonde_timer **ret_timer)
{
	struct itimerspec its = { 0 };
	struct sonde_timer *t;
	int fd, err = 0;

	if (interval_ms == 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(t);
		return err;
	}
	its.it_interval.tv_sec = (time_t)(interval_ms / 1000);
	its.it_interval.tv_nsec = (long)(interval_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		err = -errno;
		goto fail;
	}
	t->cb = cb;
	t->userdata = userdata;
	t->w = add_watch(loop, fd, EPOLLIN, timer_fired, t, &err);
	if (!t->w)
		goto fail;
	t->w->timer = t;
	if (ret_timer)
		*ret_timer = t;
	return 0;
fail:
	close(fd);
	free(t);
	return err;
}

void sonde_loop_del_timer(struct sonde_loop *loop, struct sonde_timer *timer)
{
	if (!timer)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, timer->w->fd, NULL);
	close(timer->w->fd);
	timer->w->dead = true;
	timer->w->timer = NULL;
	free(timer);
	if (!loop->dispatching)
		reap(loop);
}

int sonde_loop_run(struct sonde_loop *loop)
{
	struct epoll_event evs[32];

	loop->quit = false;
	while (!loop->quit) {
		int n = epoll_wait(loop->epfd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		loop->dispatching++;
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;

			if (!w->dead)
				w->cb(w->fd, evs[i].events, w->timer ? (void *)w->timer : w->userdata);
		}
		loop->dispatching--;
		reap(loop);
	}
	return 0;
}

void sonde_loop_quit(struct sonde_loop *loop)
{
	loop->quit = true;
}
