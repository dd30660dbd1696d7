// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdatomic.h>

#include <bpf/libbpf.h>

#include "linkfree.h"

/* threads beside the caller's: the grace periods are shared past a few */
#define LINKFREE_THREADS 15

struct linkfree_job {
	struct bpf_link **links;
	size_t n;
	atomic_size_t next;
};

static void *linkfree_worker(void *arg)
{
	struct linkfree_job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->n)
		bpf_link__destroy(j->links[i]); /* NULL: nothing */
	return NULL;
}

void sonde_ebpf_links_destroy(struct bpf_link **links, size_t n)
{
	struct linkfree_job j = { .links = links, .n = n };
	pthread_t t[LINKFREE_THREADS];
	size_t started = 0;

	atomic_init(&j.next, 0);
	while (n > 1 && started < LINKFREE_THREADS && started + 1 < n &&
	       pthread_create(&t[started], NULL, linkfree_worker, &j) == 0)
		started++;
	linkfree_worker(&j);
	while (started)
		pthread_join(t[--started], NULL);
}
