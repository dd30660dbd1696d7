// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "verifierlog.h"

/* How far back from the log's end the verdict is looked for. */
#define TAIL_LINES 12
/* Longest part quoted from a line. */
#define PART_MAX 400

struct line {
	const char *s;
	size_t n;
};

/* The line ending just before `end` (exclusive), skipping its '\n'. */
static struct line line_before(const char *log, const char *end)
{
	const char *s = end;

	while (s > log && s[-1] != '\n')
		s--;
	return (struct line){ s, (size_t)(end - s) };
}

static bool starts(struct line l, const char *p)
{
	size_t n = strlen(p);

	return l.n >= n && memcmp(l.s, p, n) == 0;
}

/* Lines the verifier adds after its verdict, and blank ones. */
static bool is_trailer(struct line l)
{
	while (l.n && (l.s[l.n - 1] == ' ' || l.s[l.n - 1] == '\r'))
		l.n--;
	return l.n == 0 || starts(l, "processed ") || starts(l, "verification time") ||
	       starts(l, "stack depth") || starts(l, "-- END");
}

/* "789: (71) r2 = *(u8 *)(r8 +10)": an instruction, state comments cut. */
static bool is_insn(struct line *l)
{
	size_t i = 0;
	const char *semi;

	while (i < l->n && l->s[i] >= '0' && l->s[i] <= '9')
		i++;
	if (i == 0 || i + 3 > l->n || l->s[i] != ':' || l->s[i + 1] != ' ' || l->s[i + 2] != '(')
		return false;
	semi = memchr(l->s, ';', l->n);
	if (semi)
		l->n = (size_t)(semi - l->s);
	while (l->n && l->s[l->n - 1] == ' ')
		l->n--;
	return true;
}

size_t sonde_ebpf_verifier_verdict(const char *log, char *out, size_t outlen)
{
	const char *end = log + strlen(log);
	struct line verdict = { NULL, 0 }, insn = { NULL, 0 }, src = { NULL, 0 }, l;
	int i;

	if (outlen)
		out[0] = '\0';
	for (i = 0; i < TAIL_LINES && end > log; i++) {
		if (end[-1] == '\n')
			end--;
		l = line_before(log, end);
		end = l.s;
		if (!verdict.s) {
			if (!is_trailer(l))
				verdict = l;
			continue;
		}
		if (!insn.s) {
			if (!is_insn(&l))
				break; /* the verdict is not about an instruction */
			insn = l;
			continue;
		}
		if (starts(l, "; ")) {
			src = (struct line){ l.s + 2, l.n - 2 };
			while (src.n && src.s[src.n - 1] == ' ')
				src.n--;
		}
		break;
	}
	if (!verdict.s || !outlen)
		return 0;
	verdict.n = verdict.n > PART_MAX ? PART_MAX : verdict.n;
	insn.n = insn.n > PART_MAX ? PART_MAX : insn.n;
	src.n = src.n > PART_MAX ? PART_MAX : src.n;
	if (insn.s && src.n)
		snprintf(out, outlen, "%.*s (at %.*s; source: %.*s)", (int)verdict.n, verdict.s,
			 (int)insn.n, insn.s, (int)src.n, src.s);
	else if (insn.s)
		snprintf(out, outlen, "%.*s (at %.*s)", (int)verdict.n, verdict.s, (int)insn.n,
			 insn.s);
	else
		snprintf(out, outlen, "%.*s", (int)verdict.n, verdict.s);
	return verdict.n;
}
