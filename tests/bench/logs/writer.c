// SPDX-License-Identifier: MIT
/*
 * Test helper: appends numbered lines to a log file at a given rate and
 * rotates it itself every N lines, so that the test knows exactly which
 * line went where.
 *
 *   sonde_logs_writer PATH MODE PREFIX FIRST COUNT RATE ROTATE_EVERY [PAD]
 *
 * MODE: none, rename (PATH -> PATH.<n>, then a new PATH), delete (unlink,
 * new PATH), copytruncate (copy to PATH.<n>, truncate PATH in place; the
 * writer keeps its O_APPEND fd). Lines: "PREFIX <number> <padding>\n", or
 * an nginx combined line with the number in its path for PREFIX @combined.
 * RATE: lines per second, 0 = as fast as possible; after a stop the rate
 * resumes from where it is (no catch-up burst). Prints one line per
 * rotation to stdout: "rotate <mode> <last number before it>", and at the
 * end "done <count> <seconds written, stops excluded>".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			perror("write");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (in < 0 || out < 0) {
		perror("copy");
		exit(1);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		write_all(out, buf, (size_t)n);
	close(in);
	close(out);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *path, *mode, *prefix;
	unsigned long long first, count, every, rotations = 0;
	double rate, start;
	char line[4096], pad[2048];
	char rotated[4096 + 32];
	size_t padlen = 40;
	int fd;

	if (argc < 8) {
		fprintf(stderr, "usage: %s PATH MODE PREFIX FIRST COUNT RATE "
				"ROTATE_EVERY [PAD]\n", argv[0]);
		return 2;
	}
	path = argv[1];
	mode = argv[2];
	prefix = argv[3];
	first = strtoull(argv[4], NULL, 10);
	count = strtoull(argv[5], NULL, 10);
	rate = strtod(argv[6], NULL);
	every = strtoull(argv[7], NULL, 10);
	if (argc > 8)
		padlen = strtoul(argv[8], NULL, 10);
	if (padlen >= sizeof(pad))
		padlen = sizeof(pad) - 1;
	memset(pad, 'x', padlen);
	pad[padlen] = '\0';
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open_log(path);
	start = now_s();
	for (unsigned long long i = 0; i < count; i++) {
		unsigned long long n = first + i;
		int len;

		if (every && i > 0 && i % every == 0) {
			rotations++;
			snprintf(rotated, sizeof(rotated), "%s.%llu", path,
				 rotations);
			if (strcmp(mode, "rename") == 0) {
				close(fd);
				rename(path, rotated);
				fd = open_log(path);
			} else if (strcmp(mode, "delete") == 0) {
				close(fd);
				unlink(path);
				fd = open_log(path);
			} else if (strcmp(mode, "copytruncate") == 0) {
				copy_file(path, rotated);
				if (ftruncate(fd, 0) < 0)
					perror("ftruncate");
			}
			printf("rotate %s %llu\n", mode, n - 1);
		}
		if (strcmp(prefix, "@combined") == 0)
			len = snprintf(line, sizeof(line),
				       "10.0.%llu.%llu - - [22/Nov/2026:04:00:00 +0000] "
				       "\"GET /item/%llu?q=%s HTTP/1.1\" %d %llu "
				       "\"-\" \"bench/1.0\"\n",
				       (n >> 8) & 255, n & 255, n, pad,
				       n % 10 ? 200 : 404, 100 + n % 1000);
		else
			len = snprintf(line, sizeof(line), "%s %llu %s\n",
				       prefix, n, pad);
		write_all(fd, line, (size_t)len);
		/* pace in steps of 1 ms worth of lines, not per line */
		if (rate > 0 && i % 64 == 63) {
			double due = start + (double)(i + 1) / rate;
			double t = now_s();

			/*
			 * Stopped (SIGSTOP) or starved: go on at the rate from
			 * now, not in a catch-up burst, which would write whole
			 * rotation generations in a few ms as no server does.
			 */
			if (t - due > 0.05) {
				start += t - due;
				due = t;
			}
			if (due > t) {
				struct timespec ts = {
					.tv_sec = (time_t)(due - t),
					.tv_nsec = (long)((due - t -
							   (double)(time_t)(due - t)) * 1e9),
				};
				nanosleep(&ts, NULL);
			}
		}
	}
	close(fd);
	printf("done %llu %.3f\n", count, now_s() - start);
	return 0;
}
