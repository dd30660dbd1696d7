// SPDX-License-Identifier: MIT
/*
 * SQL summaries and literal stripping over one small tokenizer. It knows
 * both dialects' quoting ('...' with '' and backslash escapes, E'', X'',
 * $tag$...$tag$, "ident", `ident`, --, #, nested block comments) well
 * enough never to mistake a literal for SQL; it is not a parser. Any bytes
 * are safe: output holds printable ASCII only.
 */
#include <stdbool.h>
#include <string.h>

#include "sanitize.h"

#define SQL_NAME_MAX 128

enum tok_type {
	T_END = 0,
	T_WORD,
	T_QIDENT, /* "x" or `x` */
	T_STRING,
	T_NUMBER,
	T_PARAM, /* $1 ? */
	T_PUNCT,
};

struct tok {
	enum tok_type type;
	const char *s;
	size_t len;
	bool space_before; /* whitespace or a comment preceded it */
};

struct lexer {
	const char *s;
	size_t len, i;
};

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '$';
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Skips whitespace and comments; true if anything was skipped. */
static bool skip_blank(struct lexer *lx)
{
	size_t start = lx->i;

	while (lx->i < lx->len) {
		const char *s = lx->s;
		size_t i = lx->i;

		if (is_space((unsigned char)s[i])) {
			lx->i++;
		} else if ((s[i] == '-' && i + 1 < lx->len && s[i + 1] == '-') ||
			   (s[i] == '#' &&
			    /* PostgreSQL's #> #>> #- json operators */
			    !(i + 1 < lx->len && (s[i + 1] == '>' || s[i + 1] == '-')))) {
			while (lx->i < lx->len && s[lx->i] != '\n')
				lx->i++;
		} else if (s[i] == '/' && i + 1 < lx->len && s[i + 1] == '*') {
			unsigned depth = 0;

			while (lx->i < lx->len) {
				if (s[lx->i] == '/' && lx->i + 1 < lx->len &&
				    s[lx->i + 1] == '*') {
					depth++;
					lx->i += 2;
				} else if (s[lx->i] == '*' && lx->i + 1 < lx->len &&
					   s[lx->i + 1] == '/') {
					lx->i += 2;
					if (--depth == 0)
						break;
				} else {
					lx->i++;
				}
			}
		} else {
			break;
		}
	}
	return lx->i != start;
}

/* At a quote: past the closing quote (doubled quotes and \ escape). */
static size_t skip_quoted(const char *s, size_t len, size_t i, char q,
			  bool backslash)
{
	for (i++; i < len; i++) {
		if (backslash && s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == q) {
			if (i + 1 < len && s[i + 1] == q) {
				i++;
				continue;
			}
			return i + 1;
		}
	}
	return len;
}

/* $tag$ ... $tag$; returns 0 if s[i] does not open one. */
static size_t skip_dollar(const char *s, size_t len, size_t i)
{
	size_t t = i + 1, taglen;

	while (t < len && (is_alpha((unsigned char)s[t]) ||
			   (t > i + 1 && is_digit((unsigned char)s[t]))))
		t++;
	if (t >= len || s[t] != '$')
		return 0;
	taglen = t + 1 - i;
	for (t++; t + taglen <= len; t++)
		if (s[t] == '$' && memcmp(s + t, s + i, taglen) == 0)
			return t + taglen;
	return len;
}

static bool next_tok(struct lexer *lx, struct tok *t)
{
	const char *s = lx->s;
	size_t i, start;
	unsigned char c;

	t->space_before = skip_blank(lx);
	if (lx->i >= lx->len) {
		t->type = T_END;
		return false;
	}
	i = start = lx->i;
	c = (unsigned char)s[i];
	if (c == '\'') {
		t->type = T_STRING;
		i = skip_quoted(s, lx->len, i, '\'', true);
	} else if (c == '"' || c == '`') {
		t->type = T_QIDENT;
		i = skip_quoted(s, lx->len, i, (char)c, false);
	} else if (c == '$' && i + 1 < lx->len && is_digit((unsigned char)s[i + 1])) {
		t->type = T_PARAM;
		for (i++; i < lx->len && is_digit((unsigned char)s[i]); i++)
			;
	} else if (c == '$' && (i = skip_dollar(s, lx->len, start)) != 0) {
		t->type = T_STRING;
	} else if (is_digit(c) ||
		   (c == '.' && start + 1 < lx->len && is_digit((unsigned char)s[start + 1]))) {
		t->type = T_NUMBER;
		for (i = start; i < lx->len; i++) {
			unsigned char d = (unsigned char)s[i];

			if ((d == '+' || d == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E'))
				continue;
			if (!is_digit(d) && !is_alpha(d) && d != '.')
				break;
		}
	} else if (is_alpha(c)) {
		for (i = start; i < lx->len && is_ident((unsigned char)s[i]); i++)
			;
		/* E'..', X'..', B'..', N'..': a prefixed string literal. */
		if (i == start + 1 && i < lx->len && s[i] == '\'') {
			t->type = T_STRING;
			i = skip_quoted(s, lx->len, i, '\'', true);
		} else {
			t->type = T_WORD;
		}
	} else if (c == '?') {
		t->type = T_PARAM;
		i = start + 1;
	} else {
		t->type = T_PUNCT;
		i = start + 1;
	}
	t->s = s + start;
	t->len = i - start;
	lx->i = i;
	return true;
}

static inline __attribute__((always_inline)) bool word_is(const struct tok *t, const char *w)
{
	size_t i, n = strlen(w);

	if (t->type != T_WORD || t->len != n)
		return false;
	for (i = 0; i < n; i++) {
		char c = t->s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != w[i])
			return false;
	}
	return true;
}

static bool punct_is(const struct tok *t, char c)
{
	return t->type == T_PUNCT && t->s[0] == c;
}

static const char *const known_ops[] = {
	"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT",
	"CALL", "EXEC", "EXECUTE", "BEGIN", "START", "COMMIT", "ROLLBACK",
	"SAVEPOINT", "RELEASE", "END", "ABORT", "SET", "SHOW", "USE",
	"CREATE", "DROP", "ALTER", "TRUNCATE", "RENAME", "GRANT", "REVOKE",
	"VACUUM", "ANALYZE", "ANALYSE", "EXPLAIN", "DESCRIBE", "DESC", "COPY",
	"PREPARE", "DEALLOCATE", "LOCK", "UNLOCK", "DECLARE", "FETCH", "MOVE",
	"CLOSE", "LISTEN", "NOTIFY", "UNLISTEN", "DISCARD", "RESET",
	"CHECKPOINT", "CLUSTER", "REINDEX", "REFRESH", "COMMENT", "DO", "LOAD",
	"HANDLER", "OPTIMIZE", "REPAIR", "CHECK", "CHECKSUM", "FLUSH", "KILL",
	"VALUES", "TABLE", "XA", "HELP", "INSTALL", "UNINSTALL", "PURGE",
	"CHANGE", "SECURITY", "IMPORT", "REASSIGN",
};

static const char *known_op(const struct tok *t)
{
	size_t i;

	for (i = 0; i < sizeof(known_ops) / sizeof(known_ops[0]); i++)
		if (word_is(t, known_ops[i]))
			return known_ops[i];
	return NULL;
}

/* Appends printable ASCII only, always NUL-terminated. */
static void put(char *out, size_t outlen, size_t *n, const char *s, size_t len)
{
	size_t i;

	if (outlen == 0)
		return;
	for (i = 0; i < len && *n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[(*n)++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[*n] = '\0';
}

/* An identifier as written, quotes removed. */
static void put_ident(char *out, size_t outlen, size_t *n, const struct tok *t)
{
	if (t->type == T_QIDENT && t->len >= 2)
		put(out, outlen, n, t->s + 1, t->len - 2);
	else if (t->type == T_QIDENT)
		put(out, outlen, n, t->s + 1, t->len ? t->len - 1 : 0);
	else
		put(out, outlen, n, t->s, t->len);
}

/* Reads schema.table after the current token into name. */
static bool read_name(struct lexer *lx, struct tok *t, char *name, size_t cap)
{
	size_t n = 0;
	struct lexer save;

	if (cap)
		name[0] = '\0';
	if (t->type != T_WORD && t->type != T_QIDENT)
		return false;
	put_ident(name, cap, &n, t);
	for (;;) {
		save = *lx;
		if (!next_tok(lx, t) || !punct_is(t, '.') || t->space_before)
			break;
		if (!next_tok(lx, t) || (t->type != T_WORD && t->type != T_QIDENT))
			break;
		put(name, cap, &n, ".", 1);
		put_ident(name, cap, &n, t);
	}
	*lx = save;
	return n > 0;
}

/* Skips one balanced (...) group; the '(' is the current token. */
static void skip_group(struct lexer *lx, struct tok *t)
{
	unsigned depth = 1;

	while (depth && next_tok(lx, t)) {
		if (punct_is(t, '('))
			depth++;
		else if (punct_is(t, ')'))
			depth--;
	}
}

/* WITH [RECURSIVE] a [(cols)] AS [NOT] [MATERIALIZED] (...) [, ...] main */
static void skip_ctes(struct lexer *lx, struct tok *t)
{
	next_tok(lx, t);
	if (word_is(t, "RECURSIVE"))
		next_tok(lx, t);
	while (t->type == T_WORD || t->type == T_QIDENT) {
		next_tok(lx, t);
		if (punct_is(t, '(')) {
			skip_group(lx, t);
			next_tok(lx, t);
		}
		if (!word_is(t, "AS"))
			return;
		next_tok(lx, t);
		if (word_is(t, "NOT"))
			next_tok(lx, t);
		if (word_is(t, "MATERIALIZED"))
			next_tok(lx, t);
		if (!punct_is(t, '('))
			return;
		skip_group(lx, t);
		next_tok(lx, t);
		if (!punct_is(t, ','))
			return;
		next_tok(lx, t);
	}
}

static bool skippable(const struct tok *t)
{
	static const char *const words[] = {
		"INTO",	    "IGNORE", "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY",
		"ONLY",	    "QUICK",  "TABLE",	      "TABLES",	 "LATERAL",
		"OVERWRITE", "IF",    "EXISTS",	      "NOT",
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (word_is(t, words[i]))
			return true;
	return false;
}

/* The first FROM/JOIN target at the shallowest depth that has one. */
static void find_from(struct lexer *lx, struct tok *t, char *name, size_t cap)
{
	int depth = 0, best = -1;
	char cand[SQL_NAME_MAX];

	while (next_tok(lx, t)) {
		if (punct_is(t, '(')) {
			depth++;
		} else if (punct_is(t, ')')) {
			depth--;
		} else if (word_is(t, "FROM") || word_is(t, "JOIN") ||
			   word_is(t, "INTO") || word_is(t, "UPDATE")) {
			if (best >= 0 && depth >= best)
				continue;
			do {
				next_tok(lx, t);
			} while (skippable(t));
			if (punct_is(t, '(')) {
				depth++;
				continue;
			}
			if (read_name(lx, t, cand, sizeof(cand))) {
				best = depth;
				put(name, cap, &(size_t){ 0 }, cand, strlen(cand));
				if (depth <= 0)
					return;
			}
		}
	}
}

void sonde_sql_summarize(const char *sql, size_t len, char *op, size_t oplen,
			 char *summary, size_t sumlen)
{
	struct lexer lx = { .s = sql ? sql : "", .len = sql ? len : 0 };
	char name[SQL_NAME_MAX] = "";
	const char *o = "OTHER";
	struct tok t;
	size_t n = 0;

	next_tok(&lx, &t);
	while (punct_is(&t, '('))
		next_tok(&lx, &t);
	if (word_is(&t, "WITH")) {
		skip_ctes(&lx, &t);
		while (punct_is(&t, '('))
			next_tok(&lx, &t);
	}
	if (known_op(&t))
		o = known_op(&t);
	if (!strcmp(o, "SELECT") || !strcmp(o, "DELETE")) {
		find_from(&lx, &t, name, sizeof(name));
	} else if (!strcmp(o, "INSERT") || !strcmp(o, "REPLACE") ||
		   !strcmp(o, "UPDATE") || !strcmp(o, "MERGE") ||
		   !strcmp(o, "COPY") || !strcmp(o, "TRUNCATE") ||
		   !strcmp(o, "CALL") || !strcmp(o, "LOCK") ||
		   !strcmp(o, "UPSERT")) {
		do {
			next_tok(&lx, &t);
		} while (skippable(&t));
		read_name(&lx, &t, name, sizeof(name));
	}
	if (op && oplen) {
		n = 0;
		op[0] = '\0';
		put(op, oplen, &n, o, strlen(o));
	}
	if (summary && sumlen) {
		n = 0;
		summary[0] = '\0';
		put(summary, sumlen, &n, o, strlen(o));
		if (name[0]) {
			put(summary, sumlen, &n, " ", 1);
			put(summary, sumlen, &n, name, strlen(name));
		}
	}
}

/* "x" kept only when it reads as an identifier: MySQL's "..." strings go. */
static bool ident_like(const struct tok *t)
{
	size_t i;

	if (t->s[0] == '`')
		return true;
	if (t->len < 3 || t->len > 66 || t->s[t->len - 1] != '"')
		return false;
	if (!is_alpha((unsigned char)t->s[1]) || (unsigned char)t->s[1] >= 0x80)
		return false;
	for (i = 2; i + 1 < t->len; i++) {
		unsigned char c = (unsigned char)t->s[i];

		if (c >= 0x80 || !is_ident(c))
			return false;
	}
	return true;
}

size_t sonde_sql_sanitize(const char *sql, size_t len, char *out, size_t outlen)
{
	struct lexer lx = { .s = sql ? sql : "", .len = sql ? len : 0 };
	struct tok t;
	size_t n = 0;

	if (outlen)
		out[0] = '\0';
	while (next_tok(&lx, &t)) {
		if (n && t.space_before)
			put(out, outlen, &n, " ", 1);
		switch (t.type) {
		case T_STRING:
		case T_NUMBER:
			put(out, outlen, &n, "?", 1);
			break;
		case T_QIDENT:
			if (ident_like(&t))
				put(out, outlen, &n, t.s, t.len);
			else
				put(out, outlen, &n, "?", 1);
			break;
		default:
			put(out, outlen, &n, t.s, t.len);
			break;
		}
	}
	return n;
}
