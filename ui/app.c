/* app.c - the console's main loop: poll() on the terminal, the watchers' wake pipe and a
 * self-pipe (SIGWINCH, SIGINT/SIGTERM/SIGHUP, worker progress); rows rebuilt from model
 * snapshots only when something changed; at most ~10 frames a second, one doupdate() per
 * frame, nothing drawn when nothing changed. */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "app.h"
#include "ui.h"
#include "lib/util.h"
#include "watch/stall_store.h"

#define FRAME_MS 100        /* at most ~10 frames a second */
#define TICK_MS 1000        /* header clock, spinner, jobs refresh */
#define MIN_COLS 60          /* a phone's SSH client: reduced but usable */
#define MIN_LINES 20

static int g_sig_fd = -1;                 /* write end of the self-pipe, for handlers */
static struct sigaction g_old_winch;      /* ncurses's own handler, chained */
static bool g_curses_on;
static SCREEN *g_screen;

static void sig_write(char c)
{
	int saved = errno;

	if (g_sig_fd >= 0) {
		ssize_t r = write(g_sig_fd, &c, 1);

		(void)r;
	}
	errno = saved;
}

static void on_winch(int sig)
{
	if (g_old_winch.sa_handler != SIG_DFL && g_old_winch.sa_handler != SIG_IGN &&
	    g_old_winch.sa_handler != NULL)
		g_old_winch.sa_handler(sig);
	sig_write('r');
}

/* Fatal signals: the terminal is put back (its saved modes, the terminfo strings that undo
 * what curses set) with async-signal-safe calls only, then the signal is raised again under
 * its previous action (the default: the process dies of it, exit status 128+N; under a
 * sanitizer, its report). */
static const int g_fatal_sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
#define N_FATAL ((int)(sizeof(g_fatal_sigs) / sizeof(g_fatal_sigs[0])))
static struct sigaction g_old_fatal[N_FATAL];
static struct termios g_saved_tios;       /* the terminal's modes before curses */
static bool g_have_tios;
static char g_reset_seq[512];             /* rmcup, rmkx, cnorm, sgr0 of the terminal */
static size_t g_reset_len;
static volatile sig_atomic_t g_tty_raw;   /* curses owns the terminal */
static volatile sig_atomic_t g_quit_signals;
static char g_altstack[64 * 1024];        /* for a handler after a stack overflow */

static void tty_restore_async(void)
{
	if (!g_tty_raw)
		return;
	g_tty_raw = 0;
	if (g_reset_len > 0) {
		ssize_t r = write(STDOUT_FILENO, g_reset_seq, g_reset_len);

		(void)r;
	}
	if (g_have_tios)
		tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tios);
}

static void raise_default(int sig)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	sigemptyset(&dfl.sa_mask);
	dfl.sa_handler = SIG_DFL;
	for (int i = 0; i < N_FATAL; i++)
		if (g_fatal_sigs[i] == sig && g_old_fatal[i].sa_handler != SIG_IGN)
			dfl = g_old_fatal[i];
	sigaction(sig, &dfl, NULL);
	/* blocked while this handler runs: delivered when it returns (a fault re-faults then) */
	raise(sig);
}

static void on_fatal_signal(int sig)
{
	int saved = errno;

	tty_restore_async();
	raise_default(sig);
	errno = saved;
}

/* SIGINT, SIGTERM, SIGHUP: quit as `q` does; a second one ends the process at once. */
static void on_quit_signal(int sig)
{
	if (g_quit_signals++ > 0) {
		int saved = errno;

		tty_restore_async();
		raise_default(sig);
		errno = saved;
		return;
	}
	sig_write('q');
}

static void reset_seq_add(const char *cap)
{
	const char *v = tigetstr(cap);
	size_t l;

	if (!v || v == (const char *)-1)
		return;
	l = strlen(v);
	if (g_reset_len + l < sizeof(g_reset_seq)) {
		memcpy(g_reset_seq + g_reset_len, v, l);
		g_reset_len += l;
	}
}

static void install_fatal_handlers(void)
{
	struct sigaction sa;
	stack_t ss;

	g_reset_len = 0;
	reset_seq_add("sgr0");
	reset_seq_add("cnorm");
	reset_seq_add("rmkx");
	reset_seq_add("rmcup");
	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = g_altstack;
	ss.ss_size = sizeof(g_altstack);
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_fatal_signal;
	sa.sa_flags = SA_ONSTACK;
	for (int i = 0; i < N_FATAL; i++)
		sigaction(g_fatal_sigs[i], &sa, &g_old_fatal[i]);
}

static void remove_fatal_handlers(void)
{
	stack_t ss;

	for (int i = 0; i < N_FATAL; i++)
		sigaction(g_fatal_sigs[i], &g_old_fatal[i], NULL);
	memset(&ss, 0, sizeof(ss));
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
}

static void restore_terminal(void)
{
	if (g_curses_on) {
		g_tty_raw = 0;
		endwin();
		g_curses_on = false;
	}
}

/* --- list helpers shared by the views --- */

void ct_list_clamp(struct ct_ui_list *l, int n, int h)
{
	if (h < 1)
		h = 1;
	if (l->sel >= n)
		l->sel = n - 1;
	if (l->sel < 0)
		l->sel = 0;
	if (l->top > l->sel)
		l->top = l->sel;
	if (l->sel >= l->top + h)
		l->top = l->sel - h + 1;
	if (l->top > n - h)
		l->top = n - h;
	if (l->top < 0)
		l->top = 0;
}

bool ct_list_move(struct ct_ui_list *l, enum ct_action a, int n, int page)
{
	if (page < 1)
		page = 1;
	switch (a) {
	case ACT_UP: l->sel--; break;
	case ACT_DOWN: l->sel++; break;
	case ACT_PGUP: l->sel -= page; l->top -= page; break;
	case ACT_PGDN: l->sel += page; l->top += page; break;
	case ACT_HOME: l->sel = 0; break;
	case ACT_END: l->sel = n - 1; break;
	default: return false;
	}
	if (l->sel >= n)
		l->sel = n - 1;
	if (l->sel < 0)
		l->sel = 0;
	return true;
}

/* --- pools and rows --- */

bool ct_ui_pool_read_only(const struct ct_ui *ui, int pool, const char **why)
{
	if (ui->read_only) {
		if (why)
			*why = "chaintop was started with --read-only";
		return true;
	}
	if (pool >= 0 && pool < ui->n_pools && ui->pools[pool].read_only) {
		if (why)
			*why = "the pool is configured with read_only = true";
		return true;
	}
	return false;
}

static void pool_status(struct ct_ui_pool *p)
{
	struct ct_watch *w = p->w;

	p->pv.name = w->conf->name;
	p->pv.state = w->state;
	p->pv.retries = w->retries;
	p->pv.loaded = w->loaded;
	p->pv.stale = w->stale;
	p->pv.last_event = w->last_event;
	p->pv.last_contact = w->last_contact;
	p->pv.read_only = p->read_only;
	ct_sanitize(w->error, p->pv.error, sizeof(p->pv.error));
	p->pv.held = w->held;
	p->have_cert = w->have_cert;
	if (w->have_cert)
		p->cert = w->cert;
	p->pv.waiting_since = w->waiting_since;
	p->pv.give_up = w->give_up;
	p->pv.due_s = (int)(w->reply_due - w->waiting_since);
	p->pv.unresponsive = w->reply_due > 0 && time(NULL) >= w->reply_due;
	ct_sanitize(w->waiting_for, p->pv.waiting_for, sizeof(p->pv.waiting_for));
}

static void count_problem(struct ct_ui_pool *p, enum ct_severity sev)
{
	if (sev == CT_SEV_CRITICAL)
		p->pv.n_crit++;
	else if (sev == CT_SEV_WARNING)
		p->pv.n_warn++;
	else if (sev == CT_SEV_UNKNOWN)
		p->pv.n_unknown++;
}

/* A pool the watcher cannot reach is a problem of its own (UNKNOWN, as `check` says), with
 * its last error; the retry time is worded when drawn, so it counts down. */
static bool pool_down(const struct ct_pool_view *pv)
{
	return pv->state == CT_POOL_RECONNECTING || pv->state == CT_POOL_AUTH_FAILED ||
	       pv->state == CT_POOL_FAILED || pv->unresponsive;
}

/* The Health view's POOL column names the pool: its reasons need not. */
static void drop_pool_name(char *reason, const char *pool)
{
	char pat[160];
	char *at;
	size_t l;

	snprintf(pat, sizeof(pat), " of pool '%s'", pool ? pool : "");
	l = strlen(pat);
	while ((at = strstr(reason, pat)))
		memmove(at, at + l, strlen(at + l) + 1);
}

/* Messages keep every connection error whole (the Health row and the header cut them). */
static void post_connection_error(struct ct_ui *ui, struct ct_ui_pool *p)
{
	if (p->pv.error[0] && strcmp(p->pv.error, p->posted_err)) {
		ct_status_msg(ui, MSG_ERROR, "pool '%s'%s: %s", p->pv.name,
			      p->pv.held ? " waits for you (R retries)" : "", p->pv.error);
		snprintf(p->posted_err, sizeof(p->posted_err), "%s", p->pv.error);
	} else if (!p->pv.error[0]) {
		p->posted_err[0] = '\0';
	}
	if (p->pv.unresponsive && !p->posted_unresp)
		ct_status_msg(ui, MSG_WARN, "pool '%s' is not answering: %s sent %llds ago got no "
			      "reply; chaintop gives up on it %s and reconnects", p->pv.name,
			      p->pv.waiting_for, (long long)(time(NULL) - p->pv.waiting_since),
			      p->pv.give_up > time(NULL) ? "soon" : "now");
	p->posted_unresp = p->pv.unresponsive;
}

static void copy_problems(struct ct_ui_pool *p, int pi, const struct ct_chain_report *rep)
{
	int n = rep && rep->n_problems > 0 ? rep->n_problems : 0;

	free(p->problems);
	p->problems = NULL;
	p->n_problems = 0;
	p->pv.n_crit = p->pv.n_warn = p->pv.n_unknown = 0;
	p->problems = ct_xcalloc((size_t)n + 1, sizeof(*p->problems));
	if (pool_down(&p->pv)) {
		struct ct_ui_problem *d = &p->problems[p->n_problems++];
		const char *what = p->pv.held ? "waiting for you" :
				   p->pv.unresponsive ? "is not answering" :
				   p->pv.state == CT_POOL_AUTH_FAILED ? "refuses the login"
				   : p->pv.state == CT_POOL_FAILED ? "could not be loaded" : "is unreachable";

		d->pool = pi;
		d->sev = CT_SEV_UNKNOWN;
		d->cls = CT_POOL;
		d->sr_index = -1;
		d->group = -1;
		d->pool_down = true;
		d->kind = CT_PK_POOL_DOWN;
		d->next_retry = p->pv.unresponsive ? p->pv.give_up : p->w->next_retry;
		d->last_contact = p->pv.last_contact;
		d->held = p->pv.held;
		d->unresponsive = p->pv.unresponsive;
		d->waiting_since = p->pv.waiting_since;
		ct_fmt(d->reason, sizeof(d->reason), "pool '%s' %s", p->pv.name, what);
		d->head_len = (int)strlen(d->reason);
		if (p->pv.unresponsive)
			ct_fmt(d->reason + d->head_len, sizeof(d->reason) - (size_t)d->head_len,
			       ": %s got no reply (due within %d s); the master may be hung or "
			       "overloaded%s%s", p->pv.waiting_for, p->pv.due_s,
			       p->pv.error[0] ? "; the last error: " : "", p->pv.error);
		else
			ct_fmt(d->reason + d->head_len, sizeof(d->reason) - (size_t)d->head_len, ": %s",
			       p->pv.error[0] ? p->pv.error : "no reason given yet");
		count_problem(p, d->sev);
	}
	for (int i = 0; i < n; i++) {
		const struct ct_problem *src = &rep->problems[i];
		struct ct_ui_problem *d = &p->problems[p->n_problems++];

		d->pool = pi;
		d->sev = src->severity;
		d->cls = src->cls;
		d->group = -1;
		ct_sanitize(src->uuid, d->uuid, sizeof(d->uuid));
		ct_sanitize(src->ref, d->ref, sizeof(d->ref));
		ct_sanitize(src->reason, d->reason, sizeof(d->reason));
		d->kind = src->kind;
		d->sr_index = src->sr_index >= 0 && src->sr_index < rep->n_srs ? src->sr_index : -1;
		if (d->sr_index >= 0) {
			const struct ct_sr_verdict *sv = &rep->srs[d->sr_index];

			ct_sanitize(sv->sr->name_label ? sv->sr->name_label : sv->sr->o.uuid, d->sr_name,
				    sizeof(d->sr_name));
			d->sr_free_percent = sv->free_percent;
			d->sr_full = sv->gc_no_space || (sv->sr->physical_size > 0 &&
							 sv->free_percent < sv->health.crit_free_percent);
		}
		drop_pool_name(d->reason, p->pv.name);
		if (d->cls == CT_SR && d->sr_full)
			ct_fmt(d->lead, sizeof(d->lead), "%.1f%% free", d->sr_free_percent);
		if (d->cls == CT_VDI) {
			for (int k = 0; k < rep->n_vdis; k++) {
				const struct ct_vdi_verdict *vv = &rep->vdis[k];
				const struct ct_sr_verdict *sv;

				if (!vv->vdi->o.uuid || strcmp(vv->vdi->o.uuid, src->uuid ? src->uuid : ""))
					continue;
				sv = &rep->srs[vv->sr_index];
				d->deep = vv->state == CT_VS_DEEP;
				if (vv->state == CT_VS_DEEP)
					ct_fmt(d->lead, sizeof(d->lead), "%d VHDs deep (%s at %d)", vv->depth,
					       vv->severity == CT_SEV_CRITICAL ? "critical" : "warning",
					       vv->severity == CT_SEV_CRITICAL ? sv->health.crit_depth : sv->health.warn_depth);
				else if (vv->state == CT_VS_ORPHAN)
					ct_fmt(d->lead, sizeof(d->lead), "not used by any VM");
				else if (vv->state == CT_VS_BROKEN)
					ct_fmt(d->lead, sizeof(d->lead), "%s", vv->cycle ? "vhd-parent cycle" : "parent VHD missing");
				if (vv->vm && vv->vm->o.uuid)
					ct_sanitize(vv->vm->o.uuid, d->vm_uuid, sizeof(d->vm_uuid));
				break;
			}
		} else if (d->cls == CT_VM) {
			/* the gate's refusal carries the kind of its cause */
			d->space = src->kind == CT_PK_SR_FREE;
			d->deep = src->kind == CT_PK_DEEP;
		}
		count_problem(p, d->sev);
	}
}

static const struct ct_row *find_row(const struct ct_rows *rows, const char *key)
{
	for (int i = 0; i < rows->n; i++)
		if (!strcmp(rows->v[i].key, key))
			return &rows->v[i];
	return NULL;
}

static void detail_from(struct ct_ui *ui, struct ct_ui_pool *p, struct ct_model *m,
			const struct ct_chain_report *rep, const struct ct_row *r, time_t now)
{
	ct_strset_release(&ui->detail);
	ct_rows_detail(&ui->detail, r, &p->pv, m, rep, now);
	if (r->cls == CT_SR && m)
		ct_ui_keepup_detail(ui, p, m, rep, r->ref, &ui->detail);
	snprintf(ui->detail_key, sizeof(ui->detail_key), "%s", r->key);
}

static bool tree_needs_detail(const struct ct_ui *ui)
{
	return ui->show_detail && ui->view == UI_TREE && ui->overlay == OV_NONE;
}

/* Rebuild the rows of every pool whose model changed, then the visible list. */
void ct_ui_refresh(struct ct_ui *ui)
{
	time_t now = time(NULL);
	bool any = false;
	int sel_pool = -1;

	if (ui->tree.sel >= 0 && ui->tree.sel < ui->vis.n)
		sel_pool = ui->all[ui->vis.idx[ui->tree.sel]]->pool;
	if (ui->dirty_data) {
		for (int i = 0; i < ui->n_pools; i++) {
			struct ct_ui_pool *p = &ui->pools[i];
			struct ct_model *m = &p->w->model;
			long sig;

			ct_model_lock(m);
			pool_status(p);
			/* pool state shows in its rows (stale marks, the pool row's text) */
			sig = (((long)p->pv.state * 1000003L + p->pv.retries) * 4 + p->pv.stale * 2 +
			       p->pv.loaded) * 4 + p->pv.held * 2 + p->pv.unresponsive;
			post_connection_error(ui, p);
			if (p->built && p->built_gen == m->generation && p->built_by_vm == ui->by_vm &&
			    p->built_sig == sig && now - p->built_at < 60) {
				ct_model_unlock(m);
				continue;
			}
			if (p->pv.loaded || ct_model_count(m, CT_SR) > 0) {
				/* judges again on the kept structure when only tasks, messages,
				 * SR usage or the time changed */
				p->have_rep = ct_chain_refresh(m, ui->cfg, p->w->conf, now, &p->stall,
							       &p->rep) == 0;
				if (!p->have_rep)
					ct_chain_report_release(&p->rep);
				if (p->have_rep && !p->pv.loaded)
					p->pv.loaded = true;
			} else if (p->have_rep) {
				ct_chain_report_release(&p->rep);
				p->have_rep = false;
			}
			p->rep_gen = m->generation;
			copy_problems(p, i, p->have_rep ? &p->rep : NULL);
			p->rows.n = 0;
			ct_rows_build_pool(&p->rows, i, &p->pv, m, p->have_rep ? &p->rep : NULL,
					   ui->by_vm, ui->theme.utf8, now);
			if (tree_needs_detail(ui) && i == sel_pool) {
				const struct ct_row *r = find_row(&p->rows, ui->sel_key);

				if (r)
					detail_from(ui, p, m, p->have_rep ? &p->rep : NULL, r, now);
			}
			p->built = true;
			p->built_gen = m->generation;
			p->built_by_vm = ui->by_vm;
			p->built_at = now;
			p->built_sig = sig;
			ct_model_unlock(m);
			any = true;
		}
		ui->dirty_data = false;
		if (any)
			ct_snap_refresh(ui);
		ct_trust_check(ui);
	}
	if (any)
		ui->dirty_view = true;
	ct_ui_refresh_view(ui);
}

/* Rebuild the visible list if the filter, grouping, expansion or the rows changed. */
void ct_ui_refresh_view(struct ct_ui *ui)
{
	if (!ui->dirty_view)
		return;
	/* concatenate the pools shown, then the visible list */
	ui->n_all = 0;
	for (int i = 0; i < ui->n_pools; i++) {
		struct ct_ui_pool *p = &ui->pools[i];

		if (p->hidden)
			continue;
		if (ui->n_all + p->rows.n > ui->cap_all) {
			ui->cap_all = (ui->n_all + p->rows.n) * 2;
			ui->all = ct_xrealloc(ui->all, (size_t)ui->cap_all * sizeof(*ui->all));
		}
		for (int k = 0; k < p->rows.n; k++)
			ui->all[ui->n_all++] = &p->rows.v[k];
	}
	ct_vis_build(&ui->vis, ui->all, ui->n_all, &ui->toggled, ui->filter, ui->problems_only);
	ct_health_rebuild(ui);   /* the filter applies to the Health view too */
	ct_snap_filter_changed(ui);   /* and to the Snapshots view */
	ui->dirty_view = false;
	/* keep the selection on the same object, at the same place on the screen */
	{
		int found = -1;

		for (int pass = 0; pass < 2 && found < 0; pass++) {
			const char *want = pass == 0 ? ui->sel_key : ui->sel_parent_key;

			if (!want[0])
				continue;
			for (int i = 0; i < ui->vis.n; i++) {
				if (!strcmp(ui->all[ui->vis.idx[i]]->key, want)) {
					found = i;
					break;
				}
			}
		}
		if (found >= 0)
			ui->tree.sel = found;
		ct_tree_clamp(ui);
	}
}

struct ct_row *ct_ui_row_at(struct ct_ui *ui, int vi)
{
	if (vi < 0 || vi >= ui->vis.n)
		return NULL;
	return ui->all[ui->vis.idx[vi]];
}

struct ct_row *ct_ui_selected_row(struct ct_ui *ui)
{
	return ct_ui_row_at(ui, ui->tree.sel);
}

/* Tree layout: rows for the tree and the detail pane below it. */
static void tree_layout(const struct ct_ui *ui, int body_h, int *tree_h, int *detail_h)
{
	int d = 0;

	if (ui->show_detail) {
		d = body_h / 3;
		if (d < 6)
			d = 6;
		if (d > 14)
			d = 14;
		if (body_h - d < 6)
			d = 0;
	}
	*detail_h = d;
	*tree_h = body_h - d;
}

int ct_ui_tree_rows(const struct ct_ui *ui)
{
	int th, dh;

	tree_layout(ui, ui->body_h > 0 ? ui->body_h : LINES - 4, &th, &dh);
	return th - 1 > 1 ? th - 1 : 1;
}

void ct_tree_clamp(struct ct_ui *ui)
{
	int th, dh, h;

	tree_layout(ui, ui->body_h > 0 ? ui->body_h : LINES - 4, &th, &dh);
	h = th - 1;   /* column titles */
	if (h < 1)
		h = 1;
	if (ui->tree.sel >= ui->vis.n)
		ui->tree.sel = ui->vis.n - 1;
	if (ui->tree.sel < 0)
		ui->tree.sel = 0;
	/* keep the selected row on the same screen line when possible */
	ui->tree.top = ui->tree.sel - ui->sel_screen;
	ct_list_clamp(&ui->tree, ui->vis.n, h);
	ui->sel_screen = ui->tree.sel - ui->tree.top;
	{
		const struct ct_row *r = ct_ui_selected_row(ui);

		if (r) {
			snprintf(ui->sel_key, sizeof(ui->sel_key), "%s", r->key);
			snprintf(ui->sel_parent_key, sizeof(ui->sel_parent_key), "%s", r->parent_key);
		}
	}
}

/* Make the row with this key visible (open its ancestors, clear filters hiding it) and
 * select it. */
void ct_ui_select_key(struct ct_ui *ui, const char *key)
{
	const struct ct_row *r = NULL;
	char cur[CT_ROW_KEY];

	for (int i = 0; i < ui->n_pools && !r; i++) {
		if (ui->pools[i].hidden)
			continue;
		r = find_row(&ui->pools[i].rows, key);
		if (r) {
			/* open every ancestor */
			snprintf(cur, sizeof(cur), "%s", r->parent_key);
			for (int guard = 0; cur[0] && guard < 64; guard++) {
				const struct ct_row *a = find_row(&ui->pools[i].rows, cur);

				if (!a)
					break;
				if (!ct_row_is_open(a, &ui->toggled)) {
					if (ct_strset_has(&ui->toggled, a->key)) {
						/* remove the toggle */
						for (size_t k = 0; k < ui->toggled.n; k++) {
							if (!strcmp(ui->toggled.v[k], a->key)) {
								free(ui->toggled.v[k]);
								ui->toggled.v[k] = ui->toggled.v[--ui->toggled.n];
								break;
							}
						}
					} else {
						ct_strset_add(&ui->toggled, a->key);
					}
				}
				snprintf(cur, sizeof(cur), "%s", a->parent_key);
			}
		}
	}
	if (!r) {
		ct_status_msg(ui, MSG_WARN, "that object is not in the tree any more (it may have been coalesced or deleted)");
		return;
	}
	if (ui->filter[0] || ui->problems_only) {
		ui->filter[0] = '\0';
		ui->problems_only = false;
	}
	snprintf(ui->sel_key, sizeof(ui->sel_key), "%s", key);
	ui->sel_parent_key[0] = '\0';
	ui->sel_screen = (ui->body_h > 4 ? ui->body_h : 20) / 3;
	ui->dirty_view = true;
	ui->view = UI_TREE;
	ct_ui_refresh(ui);
}

void ct_ui_build_detail(struct ct_ui *ui)
{
	struct ct_row *r = ct_ui_selected_row(ui);
	struct ct_ui_pool *p;
	struct ct_model *m;
	struct ct_chain_report rep;
	bool have = false;
	time_t now = time(NULL);

	if (!r) {
		ct_strset_release(&ui->detail);
		ui->detail_key[0] = '\0';
		return;
	}
	p = &ui->pools[r->pool];
	m = &p->w->model;
	memset(&rep, 0, sizeof(rep));
	ct_model_lock(m);
	if (p->have_rep && p->rep_gen == m->generation) {
		/* the model has not changed since the rows were built: moving the cursor
		 * costs no evaluation */
		detail_from(ui, p, m, &p->rep, r, now);
		ct_model_unlock(m);
		return;
	}
	if (p->pv.loaded && ct_chain_eval(m, ui->cfg, p->w->conf, now, &p->stall, &rep) == 0)
		have = true;
	detail_from(ui, p, m, have ? &rep : NULL, r, now);
	if (have)
		ct_chain_report_release(&rep);
	ct_model_unlock(m);
}

/* --- drawing --- */

static const char *pool_state_short(const struct ct_pool_view *pv, char *buf, size_t len)
{
	if (pv->held) {
		snprintf(buf, len, "%s, WAITING FOR YOU", pv->state == CT_POOL_AUTH_FAILED ?
			 "auth failed" : "certificate refused");
		return buf;
	}
	if (pv->unresponsive) {
		snprintf(buf, len, "NOT ANSWERING");
		return buf;
	}
	switch (pv->state) {
	case CT_POOL_CONNECTING: snprintf(buf, len, "connecting"); break;
	case CT_POOL_LOADING: snprintf(buf, len, "loading"); break;
	case CT_POOL_CONNECTED: snprintf(buf, len, "connected"); break;
	case CT_POOL_RECONNECTING: snprintf(buf, len, "reconnecting (%d)", pv->retries); break;
	case CT_POOL_AUTH_FAILED: snprintf(buf, len, "auth failed"); break;
	case CT_POOL_FAILED: snprintf(buf, len, "failed"); break;
	default: snprintf(buf, len, "stopped"); break;
	}
	return buf;
}

/* One header segment for a pool: state, time since the last event, problem counts. */
static void pool_segment(const struct ct_ui_pool *p, time_t now, char *buf, size_t len)
{
	char st[48], age[16], when[32];

	pool_state_short(&p->pv, st, sizeof(st));
	if (p->pv.last_event > 0) {
		ct_ui_age(p->pv.last_event, now, age, sizeof(age));
		snprintf(when, sizeof(when), "event %s ago", age);
	} else {
		snprintf(when, sizeof(when), "no event yet");
	}
	snprintf(buf, len, "| %s: %s%s, %s, %dC %dW%s%s ", p->pv.name, st, p->pv.stale ? " STALE" : "",
		 when, p->pv.n_crit, p->pv.n_warn, p->read_only ? " RO" : "", p->hidden ? " (hidden)" : "");
}

static void header_first(const struct ct_ui *ui, char *buf, size_t len)
{
	snprintf(buf, len, " chaintop%s ", ui->read_only ? " [READ-ONLY]" : "");
}

/* The header text (also used to decide whether a clock tick changes the screen). */
/* With many pools or a narrow terminal the header is one summary, worst state first, so
 * the worst state is always on screen: "5 pools: 1 DOWN (lab) · 1 connecting · 3 ok". */
static bool header_compact(const struct ct_ui *ui, const char *full)
{
	return ui->n_pools >= 5 || ct_ui_width(full) > COLS;
}

static void compact_text(struct ct_ui *ui, char *buf, size_t len)
{
	int ok = 0, conn = 0, down = 0, crit = 0, warn = 0;
	char names[160];
	size_t o = 0;
	const char *dot = ui->theme.utf8 ? " \xc2\xb7 " : ", ";

	names[0] = '\0';
	for (int i = 0; i < ui->n_pools; i++) {
		const struct ct_pool_view *pv = &ui->pools[i].pv;

		crit += pv->n_crit;
		warn += pv->n_warn;
		if (pv->state == CT_POOL_CONNECTED && !pv->stale && !pv->unresponsive) {
			ok++;
		} else if ((pv->state == CT_POOL_CONNECTING || pv->state == CT_POOL_LOADING) &&
			   !pv->stale && !pv->unresponsive) {
			conn++;
		} else {
			down++;
			if (o < sizeof(names) - 1)
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", down > 1 ? ", " : "",
						      pv->name);
		}
	}
	header_first(ui, buf, len);
	o = strlen(buf);
	o += (size_t)snprintf(buf + o, len - o, "| %d pool%s: ", ui->n_pools, ui->n_pools == 1 ? "" : "s");
	if (down && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%d DOWN (%s)%s", down, names, conn || ok ? dot : "");
	if (conn && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%d connecting%s", conn, ok ? dot : "");
	if (ok && o < len)
		o += (size_t)snprintf(buf + o, len - o, "%d ok", ok);
	if (o < len)
		snprintf(buf + o, len - o, " | %dC %dW ", crit, warn);
}

/* Returns true when the text is the compact summary. */
static bool header_text(struct ct_ui *ui, char *buf, size_t len, time_t now)
{
	size_t o;

	header_first(ui, buf, len);
	o = strlen(buf);
	for (int i = 0; i < ui->n_pools && o < len - 1; i++) {
		struct ct_ui_pool *p = &ui->pools[i];

		ct_model_lock(&p->w->model);
		pool_status(p);
		ct_model_unlock(&p->w->model);
		pool_segment(p, now, buf + o, len - o);
		o += strlen(buf + o);
	}
	if (!header_compact(ui, buf))
		return false;
	compact_text(ui, buf, len);
	return true;
}

static void draw_header(struct ct_ui *ui, time_t now)
{
	char buf[1024], first[64];
	int x;
	bool compact = header_text(ui, buf, sizeof(buf), now);

	snprintf(ui->last_header, sizeof(ui->last_header), "%s", buf);
	ct_fill(0, 0, COLS, ui->theme.attr[R_HEADER]);
	header_first(ui, first, sizeof(first));
	x = ct_ui_width(first);
	if (compact) {
		ct_put(0, 0, COLS, ui->theme.attr[R_HEADER] | A_BOLD, buf);
		return;
	}
	ct_put(0, 0, COLS, ui->theme.attr[R_HEADER] | A_BOLD, first);
	/* segment by segment so each pool's state carries its own attribute */
	for (int i = 0; i < ui->n_pools && x < COLS; i++) {
		struct ct_ui_pool *p = &ui->pools[i];
		char seg[256];
		attr_t a = ui->theme.attr[R_HEADER];

		pool_segment(p, now, seg, sizeof(seg));
		if (p->pv.state != CT_POOL_CONNECTED || p->pv.stale)
			a |= A_BOLD | A_UNDERLINE;
		if (p->hidden)
			a |= A_DIM;
		ct_put(0, x, COLS - x, a, seg);
		x += ct_ui_width(seg);
	}
}

static void draw_tabs(struct ct_ui *ui, int y)
{
	static const char *names[UI_NVIEWS] = { "Tree", "Health", "Snapshots", "Jobs" };
	int x = 0;
	char extra[256];
	int o = 0;

	ct_fill(y, 0, COLS, A_NORMAL);
	for (int v = 0; v < UI_NVIEWS; v++) {
		char lab[48];
		attr_t a = v == (int)ui->view ? ui->theme.attr[R_SELECTED] | A_BOLD : A_NORMAL;
		int n_badge = 0;

		if (v == UI_HEALTH)
			n_badge = ui->n_health;
		if (n_badge)
			snprintf(lab, sizeof(lab), " %d %s (%d) ", v + 1, names[v], n_badge);
		else
			snprintf(lab, sizeof(lab), " %d %s ", v + 1, names[v]);
		ct_put(y, x, (int)strlen(lab), a, lab);
		x += (int)strlen(lab) + 1;
	}
	extra[0] = '\0';
	if (ui->filter[0])
		o += snprintf(extra + o, sizeof(extra) - (size_t)o, " filter: %s ", ui->filter);
	/* what problems-only leaves out (every row is a candidate: matches show even inside
	 * collapsed rows) */
	if (ui->problems_only && o < (int)sizeof(extra))
		o += snprintf(extra + o, sizeof(extra) - (size_t)o, " [problems only: %d of %d rows hidden]",
			      ui->n_all - ui->vis.n, ui->n_all);
	if (ui->by_vm && o < (int)sizeof(extra))
		o += snprintf(extra + o, sizeof(extra) - (size_t)o, " [by VM]");
	if (extra[0] && x < COLS)
		ct_put(y, x, COLS - x, A_BOLD, extra);
}

static void draw_too_small(void)
{
	char buf[128];

	erase();
	snprintf(buf, sizeof(buf), "terminal too small: %dx%d", COLS, LINES);
	ct_put(LINES / 2 - 1 > 0 ? LINES / 2 - 1 : 0, 0, COLS, A_BOLD, buf);
	snprintf(buf, sizeof(buf), "chaintop needs at least %dx%d; enlarge it, or q to quit", MIN_COLS,
		 MIN_LINES);
	if (LINES > 1)
		ct_put(LINES / 2 > 0 ? LINES / 2 : 1, 0, COLS, A_NORMAL, buf);
}

static void render(struct ct_ui *ui)
{
	time_t now = time(NULL);

	ct_ui_refresh(ui);
	ui->too_small = COLS < MIN_COLS || LINES < MIN_LINES;
	if (ui->too_small) {
		curs_set(0);
		draw_too_small();
		goto out;
	}
	ui->body_top = 2;
	ui->body_h = LINES - 4;
	draw_header(ui, now);
	draw_tabs(ui, 1);
	for (int y = ui->body_top; y < ui->body_top + ui->body_h; y++)
		ct_fill(y, 0, COLS, A_NORMAL);
	switch (ui->overlay) {
	case OV_HELP:
		ct_help_draw(ui, ui->body_top, ui->body_h);
		break;
	case OV_MESSAGES:
		ct_messages_draw(ui, ui->body_top, ui->body_h);
		break;
	case OV_REPORT:
		ct_report_draw(ui, ui->body_top, ui->body_h);
		break;
	default:
		switch (ui->view) {
		case UI_TREE: {
			int th, dh;

			tree_layout(ui, ui->body_h, &th, &dh);
			ct_tree_draw(ui, ui->body_top, th);
			if (dh > 0) {
				if (strcmp(ui->detail_key, ui->sel_key))
					ct_ui_build_detail(ui);
				ct_detail_draw(ui, ui->body_top + th, 0, dh, COLS);
			}
			break;
		}
		case UI_HEALTH:
			ct_health_draw(ui, ui->body_top, ui->body_h);
			break;
		case UI_SNAP:
			ct_snap_draw(ui, ui->body_top, ui->body_h);
			break;
		case UI_JOBS:
			ct_jobs_draw(ui, ui->body_top, ui->body_h);
			break;
		default:
			break;
		}
	}
	ct_hints_draw(ui, LINES - 1);
	if (ct_dialog_active(ui))
		ct_dialog_draw(ui);
	ct_status_draw(ui, LINES - 2);   /* last: it may place the cursor for the prompt */
out:
	wnoutrefresh(stdscr);
	doupdate();
	ui->need_frame = false;
	ui->last_frame_ms = ct_now_ms();
	ui->frames++;
}

/* --- input --- */

static void switch_view(struct ct_ui *ui, enum ct_ui_view v)
{
	ui->view = v;
	ui->overlay = OV_NONE;
	if (v == UI_JOBS)
		ct_jobs_reload(ui);
	if (v == UI_SNAP)
		ct_snap_refresh(ui);
	ui->need_frame = true;
}

static void run_command(struct ct_ui *ui, const char *cmdline)
{
	char cmd[256], *arg;
	enum ct_action a;

	snprintf(cmd, sizeof(cmd), "%s", cmdline);
	while (cmd[0] == ' ')
		memmove(cmd, cmd + 1, strlen(cmd));
	arg = strchr(cmd, ' ');
	if (arg) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	} else {
		arg = cmd + strlen(cmd);
	}
	if (!cmd[0])
		return;
	if (!strcmp(cmd, "q") || !strcmp(cmd, "quit") || !strcmp(cmd, "q!")) {
		ui->quit = true;
		return;
	}
	if (!strcmp(cmd, "pool")) {
		int found = -1;

		if (!arg[0] || !strcmp(arg, "*") || !strcmp(arg, "all")) {
			for (int i = 0; i < ui->n_pools; i++)
				ui->pools[i].hidden = false;
			ct_status_msg(ui, MSG_INFO, "showing every pool (%d)", ui->n_pools);
		} else {
			for (int i = 0; i < ui->n_pools; i++)
				if (!strcmp(ui->pools[i].w->conf->name, arg))
					found = i;
			if (found < 0) {
				char names[256];
				int o = 0;

				names[0] = '\0';
				for (int i = 0; i < ui->n_pools && o < (int)sizeof(names) - 2; i++)
					o += snprintf(names + o, sizeof(names) - (size_t)o, "%s%s", i ? ", " : "",
						      ui->pools[i].w->conf->name);
				ct_status_msg(ui, MSG_ERROR, "no pool named '%s'; configured pools: %s", arg, names);
				return;
			}
			for (int i = 0; i < ui->n_pools; i++)
				ui->pools[i].hidden = i != found;
			ct_status_msg(ui, MSG_INFO, "showing pool '%s' only; ':pool' shows them all", arg);
		}
		ui->dirty_view = true;
		ui->view = UI_TREE;
		ct_snap_refresh(ui);
		ct_health_rebuild(ui);
		return;
	}
	if (!strcmp(cmd, "filter")) {
		snprintf(ui->filter, sizeof(ui->filter), "%s", arg);
		ui->dirty_view = true;
		return;
	}
	a = ct_action_by_name(cmd);
	if (a == ACT_NONE) {
		ct_status_msg(ui, MSG_ERROR, "unknown command ':%s'; try :pool NAME, :pool, :q, or an action name from ? (help)", cmd);
		return;
	}
	{
		int key = ct_actions[a].keys[0];

		ungetch(key);
	}
}

static void input_key(struct ct_ui *ui, int ch)
{
	size_t l = strlen(ui->input_buf);

	switch (ch) {
	case 27:
		if (ui->input == IN_FILTER) {
			ui->filter[0] = '\0';
			ui->dirty_view = true;
		}
		ui->input = IN_NONE;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (ui->input == IN_COMMAND) {
			char cmd[256];

			snprintf(cmd, sizeof(cmd), "%s", ui->input_buf);
			ui->input = IN_NONE;
			run_command(ui, cmd);
		} else {
			ui->input = IN_NONE;
			if (ui->filter[0])
				ct_status_msg(ui, MSG_INFO, "filter '%s' kept; Esc clears it", ui->filter);
		}
		break;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (l > 0) {
			/* drop one UTF-8 character */
			do
				l--;
			while (l > 0 && ((unsigned char)ui->input_buf[l] & 0xc0) == 0x80);
			ui->input_buf[l] = '\0';
		} else if (ui->input == IN_COMMAND) {
			ui->input = IN_NONE;
		}
		break;
	default:
		if (ch >= 32 && ch < 256 && ch != 127 && l + 2 < sizeof(ui->input_buf)) {
			ui->input_buf[l] = (char)ch;
			ui->input_buf[l + 1] = '\0';
		}
		break;
	}
	if (ui->input == IN_FILTER) {
		ct_fmt(ui->filter, sizeof(ui->filter), "%s", ui->input_buf);
		ui->dirty_view = true;
		ui->tree.sel = 0;
		ui->sel_screen = 0;
		ui->hl.sel = 0;
	}
	ui->need_frame = true;
}

static void overlay_key(struct ct_ui *ui, int ch)
{
	enum ct_action a = ct_action_for_key(ch, VW_ALL);
	int n = ui->overlay == OV_HELP ? ct_help_lines(ui)
		: ui->overlay == OV_MESSAGES ? ct_messages_count(ui) : (int)ui->report.n;

	ui->need_frame = true;
	if (a == ACT_BACK || a == ACT_QUIT || (a == ACT_HELP && ui->overlay == OV_HELP) ||
	    (a == ACT_MESSAGES && ui->overlay == OV_MESSAGES)) {
		ui->overlay = OV_NONE;
		return;
	}
	if (a == ACT_REPAINT) {
		clearok(curscr, TRUE);
		return;
	}
	if (ui->overlay == OV_MESSAGES && (a == ACT_PAGER || a == ACT_ENTER)) {
		ct_messages_read(ui, ui->ov.sel);
		return;
	}
	if (ui->overlay == OV_HELP || ui->overlay == OV_REPORT) {
		/* scrolling text: move the top */
		int page = ui->body_h - 2;

		switch (a) {
		case ACT_UP: ui->ov.top--; break;
		case ACT_DOWN: ui->ov.top++; break;
		case ACT_PGUP: ui->ov.top -= page; break;
		case ACT_PGDN: ui->ov.top += page; break;
		case ACT_HOME: ui->ov.top = 0; break;
		case ACT_END: ui->ov.top = n; break;
		default: return;
		}
		if (ui->ov.top > n - (ui->body_h - 1))
			ui->ov.top = n - (ui->body_h - 1);
		if (ui->ov.top < 0)
			ui->ov.top = 0;
		ui->ov.sel = ui->ov.top;
		return;
	}
	ct_list_move(&ui->ov, a, n, ui->body_h - 2);
}

static void open_overlay(struct ct_ui *ui, enum ct_ui_overlay o)
{
	ui->overlay = o;
	memset(&ui->ov, 0, sizeof(ui->ov));
	ui->need_frame = true;
}

static void action_key(struct ct_ui *ui, int ch)
{
	int vb = 1 << ui->view;
	enum ct_action a = ct_action_for_key(ch, vb);
	const char *why = NULL;

	ui->need_frame = true;
	if (a == ACT_NONE) {
		enum ct_action other = ct_action_for_key(ch, VW_ALL);

		if (other != ACT_NONE)
			ct_status_msg(ui, MSG_INFO, "'%s' (%s) does not apply to this view; ? lists the keys",
				      ct_actions[other].label, ct_actions[other].name);
		else if (ch >= 32 && ch < 127)
			ct_status_msg(ui, MSG_INFO, "key '%c' does nothing here; ? lists the keys", ch);
		return;
	}
	if (ct_actions[a].flags & AF_CHANGES) {
		int pool = -1;

		if (ui->view == UI_TREE) {
			const struct ct_row *r = ct_ui_selected_row(ui);

			pool = r ? r->pool : -1;
		}
		if (ct_ui_pool_read_only(ui, pool, &why)) {
			ct_status_msg(ui, MSG_WARN, "%s is disabled: %s (read-only mode, shown in the header); restart without it to act on the pool",
				      ct_actions[a].name, why);
			return;
		}
	}
	switch (a) {
	case ACT_NEXTVIEW:
		switch_view(ui, (enum ct_ui_view)((ui->view + 1) % UI_NVIEWS));
		return;
	case ACT_PREVVIEW:
		switch_view(ui, (enum ct_ui_view)((ui->view + UI_NVIEWS - 1) % UI_NVIEWS));
		return;
	case ACT_VTREE: switch_view(ui, UI_TREE); return;
	case ACT_VHEALTH: switch_view(ui, UI_HEALTH); return;
	case ACT_VSNAP: switch_view(ui, UI_SNAP); return;
	case ACT_VJOBS: switch_view(ui, UI_JOBS); return;
	case ACT_HELP: open_overlay(ui, OV_HELP); return;
	case ACT_MESSAGES: open_overlay(ui, OV_MESSAGES); return;
	case ACT_REPAINT:
		clearok(curscr, TRUE);
		return;
	case ACT_RECONNECT: {
		int n = ct_watchset_retry_now(ui->ws);

		if (n > 0)
			ct_status_msg(ui, MSG_INFO, "reconnecting now to %d pool%s", n, n == 1 ? "" : "s");
		else
			ct_status_msg(ui, MSG_INFO, "every pool is connected or connecting: nothing to reconnect");
		return;
	}
	case ACT_FILTER:
		ui->input = IN_FILTER;
		snprintf(ui->input_buf, sizeof(ui->input_buf), "%s", ui->filter);
		return;
	case ACT_COMMAND:
		ui->input = IN_COMMAND;
		ui->input_buf[0] = '\0';
		return;
	case ACT_QUIT:
		if (ui->view != UI_TREE) {
			switch_view(ui, UI_TREE);
			return;
		}
		ui->quit = true;
		return;
	case ACT_BACK:
		if (ui->filter[0]) {
			ui->filter[0] = '\0';
			ui->dirty_view = true;
			ct_status_msg(ui, MSG_INFO, "filter cleared");
			return;
		}
		if (ui->view != UI_TREE) {
			switch_view(ui, UI_TREE);
			return;
		}
		if (ui->problems_only) {
			ui->problems_only = false;
			ui->dirty_view = true;
			return;
		}
		return;
	default:
		break;
	}
	switch (ui->view) {
	case UI_TREE: ct_tree_action(ui, a); break;
	case UI_HEALTH: ct_health_action(ui, a); break;
	case UI_SNAP: ct_snap_action(ui, a); break;
	case UI_JOBS: ct_jobs_action(ui, a); break;
	default: break;
	}
}

static void handle_key(struct ct_ui *ui, int ch)
{
	if (ch == KEY_RESIZE) {
		ui->need_frame = true;
		ui->dirty_view = true;
		return;
	}
	if (ui->too_small) {
		if (ch == 'q' || ch == 'Q')
			ui->quit = true;
		return;
	}
	if (ui->input != IN_NONE) {
		input_key(ui, ch);
		return;
	}
	if (ct_dialog_active(ui)) {
		if (ct_dialog_key(ui, ch)) {
			enum ct_dialog_kind k = ui->dlg.kind;

			if (k == DLG_BACKUP)
				ct_backup_confirmed(ui);
			else if (k == DLG_PRUNE)
				ct_snap_confirmed(ui);
			else if (k == DLG_SCAN)
				ct_scan_confirmed(ui);
			else if (k == DLG_TRUST)
				ct_trust_confirmed(ui);
			ct_dialog_close(ui);
		}
		return;
	}
	if (ui->overlay != OV_NONE) {
		overlay_key(ui, ch);
		return;
	}
	ct_ui_refresh_view(ui);   /* keys act on what the operator sees after the last key */
	action_key(ui, ch);
}

static void read_keys(struct ct_ui *ui)
{
	int ch;

	while ((ch = getch()) != ERR) {
		handle_key(ui, ch);
		if (ui->quit)
			break;
	}
}

static void manual_resize(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
}

/* --- setup --- */

static int prompt_passwords(struct ct_config *c, const struct ct_cli *cli)
{
	for (int i = 0; i < c->n_pools; i++) {
		struct ct_pool_conf *pc = &c->pools[i];
		bool selected = cli->n_pools == 0;
		struct ct_err e;

		for (int k = 0; k < cli->n_pools; k++)
			if (!strcmp(cli->pools[k], pc->name))
				selected = true;
		if (!selected || pc->password)
			continue;
		ct_err_init(&e);
		if (ct_config_prompt_password(pc, &e) < 0) {
			fprintf(stderr, "chaintop: %s\n", e.msg);
			return -1;
		}
	}
	return 0;
}

static int check_pool_names(const struct ct_config *c, const struct ct_cli *cli)
{
	if (c->n_pools == 0) {
		fprintf(stderr, "chaintop: no pools configured in %s; add a pools = ( { name = ...; url = ...; } ) entry (see chaintop.conf.example)\n",
			c->path ? c->path : "the configuration");
		return -1;
	}
	for (int k = 0; k < cli->n_pools; k++) {
		if (!ct_config_pool(c, cli->pools[k])) {
			fprintf(stderr, "chaintop: --pool '%s' is not a pool of %s; check the name (pools are listed in the file)\n",
				cli->pools[k], c->path ? c->path : "the configuration");
			return -1;
		}
	}
	return 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void ui_release(struct ct_ui *ui)
{
	for (int i = 0; i < ui->n_pools; i++) {
		ct_rows_release(&ui->pools[i].rows);
		ct_stall_release(&ui->pools[i].stall);
		if (ui->pools[i].have_rep)
			ct_chain_report_release(&ui->pools[i].rep);
		free(ui->pools[i].problems);
	}
	free(ui->pools);
	ct_vis_release(&ui->vis);
	free(ui->all);
	ui->all = NULL;
	ui->n_all = ui->cap_all = 0;
	ct_strset_release(&ui->toggled);
	ct_strset_release(&ui->detail);
	ct_strset_release(&ui->report);
	free(ui->health);
	free(ui->hgroups);
	ct_strset_release(&ui->hopen);
	ct_dialog_close(ui);
	ct_status_release(&ui->status);
	ct_snap_release(ui);
	ct_jobs_release(ui);
	ct_ui_keepup_release();
	if (ui->js)
		ct_jobstore_close(ui->js);
}

static int tick(struct ct_ui *ui)
{
	char buf[1024];
	time_t now = time(NULL);

	ui->last_tick_ms = ct_now_ms();
	if (ui->too_small)
		return 0;
	header_text(ui, buf, sizeof(buf), now);
	if (strcmp(buf, ui->last_header))
		ui->need_frame = true;
	if (ui->worker.running)
		ui->need_frame = true;
	/* relative times count: the stale pools' rows, the detail pane ("8s ago") */
	for (int i = 0; i < ui->n_pools; i++) {
		struct ct_ui_pool *p = &ui->pools[i];

		if (p->built && p->rows.n > 0 && p->rows.v[0].kind == CT_ROW_POOL && p->pv.stale) {
			ct_rows_pool_info(&p->rows.v[0], &p->pv, now);
			if (ui->view == UI_TREE)
				ui->need_frame = true;
		}
	}
	if (tree_needs_detail(ui)) {
		ui->detail_key[0] = '\0';   /* rebuilt when drawn */
		ui->need_frame = true;
	}
	/* a reply fell overdue (or came): the pool's problem row comes or goes */
	for (int i = 0; i < ui->n_pools; i++)
		if (ui->pools[i].built && ui->pools[i].pv.unresponsive != (ui->pools[i].built_sig & 1))
			ui->dirty_data = true;
	/* the Health view counts down to a down pool's next retry */
	for (int i = 0; i < ui->n_pools && ui->view == UI_HEALTH && ui->overlay == OV_NONE; i++)
		if (pool_down(&ui->pools[i].pv))
			ui->need_frame = true;
	for (int i = 0; i < ui->n_pools; i++)
		if (ui->pools[i].built && now - ui->pools[i].built_at >= 60)
			ui->dirty_data = true;   /* ages in rows */
	ui->ticks++;
	if (ui->view == UI_JOBS && ui->overlay == OV_NONE && ui->ticks % 5 == 0)
		ct_jobs_reload(ui);
	return 0;
}

int ct_console_run(struct ct_cli *cli)
{
	struct ct_config cfg;
	struct ct_watchset ws;
	struct ct_ui ui;
	struct ct_err e;
	struct sigaction sa;
	struct sigaction old_int, old_term, old_hup;
	bool ws_inited = false, utf8;
	int rc = 2;
	const char *codeset;

	memset(&ui, 0, sizeof(ui));
	memset(&ws, 0, sizeof(ws));
	ui.self_pipe[0] = ui.self_pipe[1] = -1;
	ct_err_init(&e);
	ct_config_init(&cfg);
	if (ct_config_load(&cfg, cli->config_path, true, &e) < 0) {
		fprintf(stderr, "chaintop: %s\n", e.msg);
		goto out;
	}
	if (check_pool_names(&cfg, cli) < 0 || prompt_passwords(&cfg, cli) < 0)
		goto out;
	if (ct_watchset_init(&ws, &cfg, cli->pools, cli->n_pools, false, &e) < 0) {
		fprintf(stderr, "chaintop: %s\n", e.msg);
		goto out;
	}
	ws_inited = true;
	/* the event long-poll is the heartbeat: a master that stops answering shows within
	 * CT_WATCH_HEARTBEAT_S + CT_WATCH_REPLY_GRACE_S; a certificate or login a retry cannot
	 * fix waits for the operator */
	ws.event_timeout_s = CT_WATCH_HEARTBEAT_S;
	ws.hold_fatal = true;
	if (pipe(ui.self_pipe) < 0) {
		fprintf(stderr, "chaintop: cannot create a pipe: %s\n", strerror(errno));
		goto out;
	}
	set_nonblock(ui.self_pipe[0]);
	set_nonblock(ui.self_pipe[1]);
	g_sig_fd = ui.self_pipe[1];

	ui.cli = cli;
	ui.cfg = &cfg;
	ui.ws = &ws;
	ui.read_only = cli->read_only;
	ui.show_detail = true;
	ui.n_pools = ws.n;
	ui.pools = ct_xcalloc((size_t)ws.n + 1, sizeof(*ui.pools));
	for (int i = 0; i < ws.n; i++) {
		ui.pools[i].w = &ws.w[i];
		ui.pools[i].read_only = cli->read_only || ws.w[i].conf->read_only;
		ui.pools[i].pv.name = ws.w[i].conf->name;
		/* the merge rates `check` measured (the console keeps its own from there on
		 * and saves nothing): the SR's ETA, the gate ETA and keep-up at once */
		if (cfg.state_dir && *cfg.state_dir) {
			char *sp = ct_xasprintf("%s/stall.json", cfg.state_dir);
			struct ct_err se;

			ct_err_init(&se);
			if (ct_stall_load(&ui.pools[i].stall, sp, &se) < 0) {
				ct_stall_release(&ui.pools[i].stall);
				memset(&ui.pools[i].stall, 0, sizeof(ui.pools[i].stall));
			}
			free(sp);
		}
	}
	ct_status_init(&ui.status);
	ct_worker_init(&ui.worker, ui.self_pipe[1]);
	ct_jobs_init(&ui);
	ct_snap_init(&ui);

	codeset = nl_langinfo(CODESET);
	utf8 = codeset && (!strcasecmp(codeset, "UTF-8") || !strcasecmp(codeset, "utf8"));

	/* the terminal */
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "chaintop: the console needs a terminal; for scripts use 'chaintop tree' or 'chaintop check'\n");
		goto out;
	}
	ct_set_fatal_hook(restore_terminal);
	g_have_tios = tcgetattr(STDIN_FILENO, &g_saved_tios) == 0;
	g_quit_signals = 0;
	set_escdelay(25);
	g_screen = newterm(NULL, stdout, stdin);
	if (!g_screen) {
		fprintf(stderr, "chaintop: cannot initialise the terminal (TERM=%s)\n", getenv("TERM") ? getenv("TERM") : "");
		goto out;
	}
	g_curses_on = true;
	install_fatal_handlers();
	g_tty_raw = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	ct_theme_init(&ui.theme, !cli->no_color, utf8);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGWINCH, &sa, &g_old_winch);
	sa.sa_handler = on_quit_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	for (int i = 0; i < cfg.n_warnings; i++)
		ct_status_msg(&ui, MSG_WARN, "%s", cfg.warnings[i]);
	if (ct_watchset_start(&ws, &e) < 0) {
		ct_status_msg(&ui, MSG_ERROR, "%s", e.msg);
	} else {
		ct_status_msg(&ui, MSG_INFO, "connecting to %d pool%s; ? shows the keys", ws.n,
			      ws.n == 1 ? "" : "s");
	}
	ui.dirty_data = true;
	ui.dirty_view = true;
	ui.need_frame = true;
	ui.last_tick_ms = ct_now_ms();

	while (!ui.quit) {
		struct pollfd fds[3];
		int64_t now = ct_now_ms(), since = now - ui.last_frame_ms;
		int timeout;

		if (ui.dirty_data || ui.dirty_view)
			ui.need_frame = true;
		if (ui.need_frame && since >= FRAME_MS)
			render(&ui);
		now = ct_now_ms();
		if (ui.need_frame)
			timeout = (int)(FRAME_MS - (now - ui.last_frame_ms));
		else
			timeout = (int)(TICK_MS - (now - ui.last_tick_ms));
		if (timeout < 0)
			timeout = 0;
		if (timeout > TICK_MS)
			timeout = TICK_MS;
		fds[0].fd = STDIN_FILENO;
		fds[0].events = POLLIN;
		fds[1].fd = ct_watchset_wake_fd(&ws);
		fds[1].events = POLLIN;
		fds[2].fd = ui.self_pipe[0];
		fds[2].events = POLLIN;
		fds[0].revents = fds[1].revents = fds[2].revents = 0;
		if (poll(fds, 3, timeout) < 0 && errno != EINTR)
			break;
		if (fds[2].revents & POLLIN) {
			char buf[64];
			ssize_t n;
			bool resize = false;

			while ((n = read(ui.self_pipe[0], buf, sizeof(buf))) > 0) {
				for (ssize_t i = 0; i < n; i++) {
					if (buf[i] == 'q')
						ui.quit = true;
					else if (buf[i] == 'r')
						resize = true;
				}
			}
			if (resize) {
				if (g_old_winch.sa_handler == SIG_DFL || g_old_winch.sa_handler == SIG_IGN)
					manual_resize();
				ui.need_frame = true;
				ui.dirty_view = true;
			}
			ct_worker_poll(&ui);
			read_keys(&ui);   /* ncurses reports the resize as KEY_RESIZE */
		}
		if (fds[1].revents & POLLIN) {
			ct_watchset_drain(&ws);
			ui.dirty_data = true;
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			read_keys(&ui);
			if (fds[0].revents & (POLLHUP | POLLERR) && !(fds[0].revents & POLLIN))
				ui.quit = true;   /* the terminal went away */
		}
		if (ct_now_ms() - ui.last_tick_ms >= TICK_MS)
			tick(&ui);
	}
	rc = 0;
	if (ui.worker.running) {
		restore_terminal();
		fprintf(stderr, "chaintop: waiting for %s to finish (its progress is recorded in the job history)...\n",
			ui.worker.what);
	}
	ct_worker_release(&ui.worker);
	restore_terminal();
	sigaction(SIGWINCH, &g_old_winch, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	remove_fatal_handlers();
	ct_set_fatal_hook(NULL);
	if (g_screen) {
		delscreen(g_screen);
		g_screen = NULL;
	}
out:
	if (ui.pools)
		ui_release(&ui);
	if (ws_inited) {
		ct_watchset_stop(&ws);
		ct_watchset_release(&ws);
	}
	g_sig_fd = -1;
	if (ui.self_pipe[0] >= 0)
		close(ui.self_pipe[0]);
	if (ui.self_pipe[1] >= 0)
		close(ui.self_pipe[1]);
	ct_config_release(&cfg);
	return rc;
}
