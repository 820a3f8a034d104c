/* confedit.c - textual edits of the configuration file (see confedit.h). A small scanner of
 * libconfig's syntax (comments #, //, C style; strings with escapes; groups, lists, arrays)
 * finds the pools entry and its tls group; nothing else of the file is touched. */
#include "config/confedit.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/util.h"

#define MAX_NEST 64

struct entry {
	size_t open, close;        /* the entry's braces */
	size_t name_at;            /* its `name` setting */
	char name[256];
	bool named;
	bool tls;                  /* a tls group directly inside */
	size_t tls_open, tls_close;
	bool tls_fp;               /* the tls group sets fingerprint */
};

struct frame {
	char type;                 /* '{', '(' or '[' */
	char setting[32];          /* the setting this bracket is the value of, "" for an element */
	int entry;                 /* this group is entries[entry], -1 */
	int tls_of;                /* this group is the tls group of entries[tls_of], -1 */
};

struct scan {
	const char *t;
	size_t i, n;
	struct frame st[MAX_NEST];
	int depth;
	struct entry *ent;
	int n_ent, cap_ent;
	char pending[32];          /* the setting whose value comes next, "" none */
};

static void skip_space(struct scan *s)
{
	for (;;) {
		while (s->i < s->n && isspace((unsigned char)s->t[s->i]))
			s->i++;
		if (s->i < s->n && (s->t[s->i] == '#' ||
				    (s->t[s->i] == '/' && s->i + 1 < s->n && s->t[s->i + 1] == '/'))) {
			while (s->i < s->n && s->t[s->i] != '\n')
				s->i++;
			continue;
		}
		if (s->i + 1 < s->n && s->t[s->i] == '/' && s->t[s->i + 1] == '*') {
			const char *end = strstr(s->t + s->i + 2, "*/");

			s->i = end ? (size_t)(end - s->t) + 2 : s->n;
			continue;
		}
		return;
	}
}

/* A string token: its value appended to out (may be NULL). Returns false when unterminated. */
static bool read_string(struct scan *s, char *out, size_t len)
{
	size_t o = out ? strlen(out) : 0;

	s->i++;
	while (s->i < s->n && s->t[s->i] != '"') {
		char c = s->t[s->i];

		if (c == '\\' && s->i + 1 < s->n)
			c = s->t[++s->i];
		if (out && o + 1 < len) {
			out[o++] = c;
			out[o] = '\0';
		}
		s->i++;
	}
	if (s->i >= s->n)
		return false;
	s->i++;
	return true;
}

static struct frame *top(struct scan *s)
{
	return s->depth > 0 ? &s->st[s->depth - 1] : NULL;
}

static int scan_text(struct scan *s, struct ct_err *e)
{
	while (skip_space(s), s->i < s->n) {
		char c = s->t[s->i];
		struct frame *f = top(s);

		if (c == '"') {
			char *into = NULL;

			if (f && f->entry >= 0 && !strcmp(s->pending, "name")) {
				into = s->ent[f->entry].name;
				s->ent[f->entry].named = true;
			}
			if (!read_string(s, into, sizeof(s->ent[0].name)))
				return ct_err_set(e, CT_E_CONFIG, "a string is not closed");
			continue;
		}
		if (isalpha((unsigned char)c) || c == '*') {
			size_t a = s->i, l;
			char word[32];

			while (s->i < s->n && (isalnum((unsigned char)s->t[s->i]) ||
					       strchr("-_*", s->t[s->i])))
				s->i++;
			l = s->i - a < sizeof(word) - 1 ? s->i - a : sizeof(word) - 1;
			memcpy(word, s->t + a, l);
			word[l] = '\0';
			skip_space(s);
			if (s->i < s->n && (s->t[s->i] == '=' || s->t[s->i] == ':')) {
				s->i++;
				snprintf(s->pending, sizeof(s->pending), "%s", word);
				if (f && f->entry >= 0 && !strcmp(word, "name")) {
					s->ent[f->entry].name_at = a;
					s->ent[f->entry].name[0] = '\0';
				}
				if (f && f->tls_of >= 0 && !strcmp(word, "fingerprint"))
					s->ent[f->tls_of].tls_fp = true;
			}
			continue;
		}
		if (c == '{' || c == '(' || c == '[') {
			struct frame *n;

			if (s->depth == MAX_NEST)
				return ct_err_set(e, CT_E_CONFIG, "nested too deep");
			n = &s->st[s->depth++];
			n->type = c;
			snprintf(n->setting, sizeof(n->setting), "%s", s->pending);
			n->entry = n->tls_of = -1;
			if (c == '{' && s->depth == 2 && f && f->type == '(' &&
			    !strcmp(f->setting, "pools")) {
				if (s->n_ent == s->cap_ent) {
					s->cap_ent = s->cap_ent ? s->cap_ent * 2 : 8;
					s->ent = ct_xrealloc(s->ent, (size_t)s->cap_ent * sizeof(*s->ent));
				}
				memset(&s->ent[s->n_ent], 0, sizeof(s->ent[0]));
				s->ent[s->n_ent].open = s->i;
				n->entry = s->n_ent++;
			} else if (c == '{' && f && f->entry >= 0 && !strcmp(s->pending, "tls")) {
				s->ent[f->entry].tls = true;
				s->ent[f->entry].tls_open = s->i;
				n->tls_of = f->entry;
			}
			s->pending[0] = '\0';
			s->i++;
			continue;
		}
		if (c == '}' || c == ')' || c == ']') {
			if (!f || (c == '}' && f->type != '{') || (c == ')' && f->type != '(') ||
			    (c == ']' && f->type != '['))
				return ct_err_set(e, CT_E_CONFIG, "a closing '%c' does not match", c);
			if (f->entry >= 0)
				s->ent[f->entry].close = s->i;
			if (f->tls_of >= 0)
				s->ent[f->tls_of].tls_close = s->i;
			s->depth--;
			s->pending[0] = '\0';
			s->i++;
			continue;
		}
		if (c == ';' || c == ',')
			s->pending[0] = '\0';
		s->i++;   /* numbers, '@include', '=' of a value list, ... */
	}
	if (s->depth != 0)
		return ct_err_set(e, CT_E_CONFIG, "a group, list or array is not closed");
	return 0;
}

/* Whether only blanks stand between the start of the line holding pos and pos. */
static bool alone_on_line(const char *t, size_t pos, size_t *line_start)
{
	size_t a = pos;

	while (a > 0 && t[a - 1] != '\n')
		a--;
	*line_start = a;
	for (size_t k = a; k < pos; k++)
		if (t[k] != ' ' && t[k] != '\t')
			return false;
	return true;
}

static void indent_of(const char *t, size_t pos, char *out, size_t len)
{
	size_t a = pos, o = 0;

	while (a > 0 && t[a - 1] != '\n')
		a--;
	while ((t[a] == ' ' || t[a] == '\t') && o + 1 < len)
		out[o++] = t[a++];
	out[o] = '\0';
}

/* text with ins put at pos. */
static char *text_insert(const char *t, size_t pos, const char *ins)
{
	return ct_xasprintf("%.*s%s%s", (int)pos, t, ins, t + pos);
}

char *ct_confedit_pin_text(const char *text, const char *pool, const char *fingerprint,
			   struct ct_err *e)
{
	struct scan s = { .t = text, .n = strlen(text) };
	struct entry *hit = NULL;
	char ind[64], *out = NULL, *ins = NULL;
	size_t ls;
	int found = 0;

	if (scan_text(&s, e) < 0) {
		ct_err_prefix(e, "cannot read the configuration's layout to add the pin");
		goto out;
	}
	for (int k = 0; k < s.n_ent; k++)
		if (s.ent[k].named && !strcmp(s.ent[k].name, pool)) {
			hit = &s.ent[k];
			found++;
		}
	if (found != 1) {
		if (found)
			ct_err_set(e, CT_E_CONFIG, "%d pool entries are named '%s': chaintop cannot tell "
				   "which one to change", found, pool);
		else
			ct_err_set(e, CT_E_CONFIG, "no entry named '%s' was found in the pools list (is "
				   "it in an included file?)", pool);
		goto out;
	}
	if (hit->tls_fp) {
		ct_err_set(e, CT_E_CONFIG, "the entry of pool '%s' sets a fingerprint already", pool);
		goto out;
	}
	if (hit->tls) {
		if (alone_on_line(text, hit->tls_close, &ls)) {
			indent_of(text, hit->tls_open, ind, sizeof(ind));
			ins = ct_xasprintf("%s\tfingerprint = \"%s\";\n", ind, fingerprint);
			out = text_insert(text, ls, ins);
		} else {
			bool sp = hit->tls_close > 0 && text[hit->tls_close - 1] == ' ';

			ins = ct_xasprintf("%sfingerprint = \"%s\"; ", sp ? "" : " ", fingerprint);
			out = text_insert(text, hit->tls_close, ins);
		}
	} else if (alone_on_line(text, hit->close, &ls)) {
		indent_of(text, hit->name_at, ind, sizeof(ind));
		ins = ct_xasprintf("%stls = { fingerprint = \"%s\"; };\n", ind, fingerprint);
		out = text_insert(text, ls, ins);
	} else {
		bool sp = hit->close > 0 && text[hit->close - 1] == ' ';

		ins = ct_xasprintf("%stls = { fingerprint = \"%s\"; }; ", sp ? "" : " ", fingerprint);
		out = text_insert(text, hit->close, ins);
	}
out:
	free(ins);
	free(s.ent);
	return out;
}

static int read_all(const char *path, char **text, struct ct_err *e)
{
	FILE *f = fopen(path, "re");
	struct ct_sb sb;
	char buf[4096];
	size_t n;

	if (!f)
		return ct_err_set(e, CT_E_IO, "cannot read %s: %s", path, strerror(errno));
	ct_sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		ct_sb_add(&sb, buf, n);
	fclose(f);
	*text = ct_sb_detach(&sb);
	return 0;
}

int ct_confedit_pin_file(const char *path, const char *pool, const char *fingerprint,
			 struct ct_err *e)
{
	char real[PATH_MAX], *text = NULL, *next = NULL, *tmp = NULL, *slash;
	struct ct_config check;
	const struct ct_pool_conf *pc;
	struct stat st;
	int fd = -1, rc = -1;
	size_t len;

	ct_config_init(&check);
	if (!realpath(path, real) || stat(real, &st) < 0) {
		ct_err_set(e, CT_E_IO, "cannot find the configuration file %s: %s", path,
			   strerror(errno));
		goto out;
	}
	if (read_all(real, &text, e) < 0)
		goto out;
	next = ct_confedit_pin_text(text, pool, fingerprint, e);
	if (!next) {
		ct_err_prefix(e, "%s was not changed", real);
		goto out;
	}
	slash = strrchr(real, '/');
	tmp = ct_xasprintf("%.*s/.%s.XXXXXX", (int)(slash - real), real, slash + 1);
	fd = mkstemp(tmp);
	if (fd < 0) {
		ct_err_set(e, CT_E_IO, "cannot create a temporary file beside %s: %s", real,
			   strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	len = strlen(next);
	if (fchmod(fd, st.st_mode & 07777) < 0 || write(fd, next, len) != (ssize_t)len ||
	    fsync(fd) < 0) {
		ct_err_set(e, CT_E_IO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	/* the new text must load, and give the pool exactly this pin */
	if (ct_config_load(&check, tmp, true, e) < 0) {
		ct_err_prefix(e, "the edited configuration would not load, %s was not changed", real);
		goto out;
	}
	pc = ct_config_pool(&check, pool);
	if (!pc || !pc->tls.fingerprint || strcasecmp(pc->tls.fingerprint, fingerprint)) {
		ct_err_set(e, CT_E_CONFIG, "the edited configuration does not give pool '%s' the "
			   "pin, %s was not changed", pool, real);
		goto out;
	}
	if (rename(tmp, real) < 0) {
		ct_err_set(e, CT_E_IO, "cannot replace %s: %s", real, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	ct_config_release(&check);
	if (text) {
		explicit_bzero(text, strlen(text));   /* it may hold a password */
		free(text);
	}
	if (next) {
		explicit_bzero(next, strlen(next));
		free(next);
	}
	return rc;
}
