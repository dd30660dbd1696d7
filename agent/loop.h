/* SPDX-License-Identifier: MIT */
#ifndef SONDE_LOOP_H
#define SONDE_LOOP_H

#include <stdint.h>

/*
 * The agent's single-threaded epoll loop. Modules add fds and periodic
 * timers (timerfd) here; signals arrive through signalfd in main.c.
 * Callbacks run on the loop thread only.
 */

struct sonde_loop;
struct sonde_timer;

typedef void (*sonde_fd_cb)(int fd, uint32_t events, void *userdata);
typedef void (*sonde_timer_cb)(void *userdata);

int sonde_loop_new(struct sonde_loop **ret_loop);
void sonde_loop_free(struct sonde_loop *loop);

/* events: EPOLLIN etc. The fd stays owned by the caller. */
int sonde_loop_add_fd(struct sonde_loop *loop, int fd, uint32_t events,
		      sonde_fd_cb cb, void *userdata);
int sonde_loop_del_fd(struct sonde_loop *loop, int fd);

/* Fires every interval_ms (first after interval_ms). */
int sonde_loop_add_timer(struct sonde_loop *loop, uint64_t interval_ms,
			 sonde_timer_cb cb, void *userdata,
			 struct sonde_timer **ret_timer);
void sonde_loop_del_timer(struct sonde_loop *loop, struct sonde_timer *timer);

/* Runs until sonde_loop_quit; returns 0 or -errno. */
int sonde_loop_run(struct sonde_loop *loop);
void sonde_loop_quit(struct sonde_loop *loop);

#endif
