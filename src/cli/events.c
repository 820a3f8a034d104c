/* cli_events.c - `chaintop events [--pool NAME]...`: follow the pools and print one line per
 * model change as it arrives (local time, pool, class, operation, name), plus the pools'
 * connection state changes, until SIGINT/SIGTERM. Lines are flushed at once (scripts and
 * tests read them as they come).
 *
 * The watcher threads format lines into a queue (their hook must not block); the main
 * thread writes the queue out whenever the wake pipe says something changed. State lines
 * go through the same queue, decided under the pool's model lock, so they stay in order with
 * the events around them. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/stopsig.h"
#include "cli/options.h"
#include "config/config.h"
#include "lib/err.h"
#include "model/model.h"
#include "lib/util.h"
#include "watch/watch.h"

struct shown {
	bool init;
	enum ct_pool_state state;
	int retries;
};

struct evout {
	pthread_mutex_t lock;
	struct ct_sb q;
	struct ct_watchset *ws;
	struct shown *shown;
};

static void stamp(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* The name an operator knows the object by (unsanitised; borrowed from o or m). */
static void object_name(const struct ct_obj *o, const struct ct_model *m, char *buf, size_t len)
{
	const char *name = NULL;

	buf[0] = '\0';
	switch (o->cls) {
	case CT_POOL:
		name = ((const struct ct_pool *)o)->name_label;
		break;
	case CT_HOST:
		name = ((const struct ct_host *)o)->name_label;
		break;
	case CT_SR:
		name = ((const struct ct_sr *)o)->name_label;
		break;
	case CT_VDI:
		name = ((const struct ct_vdi *)o)->name_label;
		break;
	case CT_VM:
		name = ((const struct ct_vm *)o)->name_label;
		break;
	case CT_TASK:
		name = ((const struct ct_task *)o)->name_label;
		break;
	case CT_MESSAGE:
		name = ((const struct ct_message *)o)->name;
		break;
	case CT_VBD: {
		const struct ct_vbd *b = (const struct ct_vbd *)o;
		const struct ct_vm *vm = ct_model_vm(m, b->vm);

		if (vm && vm->name_label && vm->name_label[0]) {
			snprintf(buf, len, "%s disk %s", vm->name_label, nz(b->userdevice));
			return;
		}
		break;
	}
	case CT_PBD: {
		const struct ct_pbd *p = (const struct ct_pbd *)o;
		const struct ct_sr *sr = ct_model_sr(m, p->sr);
		const struct ct_host *h = ct_model_host(m, p->host);

		if (sr && h) {
			snprintf(buf, len, "%s on %s", nz(sr->name_label), nz(h->name_label));
			return;
		}
		break;
	}
	default:
		break;
	}
	if (name && name[0])
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s", o->uuid ? o->uuid : nz(o->ref));
}

/* Queue a state line for pool i if its state changed since the last one (model lock and
 * queue lock held). */
static void state_line(struct evout *st, int i)
{
	struct ct_watch *w = &st->ws->w[i];
	struct shown *sh = &st->shown[i];
	char ts[32], pool[256], url[600], err[1100];

	if (sh->init && sh->state == w->state && sh->retries == w->retries)
		return;
	if (sh->init && sh->state == w->state && w->state != CT_POOL_RECONNECTING &&
	    w->state != CT_POOL_AUTH_FAILED) {
		sh->retries = w->retries;
		return;
	}
	sh->init = true;
	sh->state = w->state;
	sh->retries = w->retries;
	stamp(ts, sizeof(ts));
	ct_sanitize(w->conf->name, pool, sizeof(pool));
	ct_sanitize(w->master_url, url, sizeof(url));
	ct_sanitize(w->error, err, sizeof(err));
	switch (w->state) {
	case CT_POOL_CONNECTED:
		ct_sb_addf(&st->q, "%s %s pool connected %s: %zu SRs, %zu VDIs, %zu VMs\n", ts, pool,
			   url, ct_model_count(&w->model, CT_SR), ct_model_count(&w->model, CT_VDI),
			   ct_model_count(&w->model, CT_VM));
		break;
	case CT_POOL_RECONNECTING:
	case CT_POOL_AUTH_FAILED: {
		long wait = w->next_retry ? (long)(w->next_retry - time(NULL)) : 0;

		ct_sb_addf(&st->q, "%s %s pool %s (attempt %d, next try in %lds): %s\n", ts, pool,
			   ct_pool_state_name(w->state), w->retries, wait > 0 ? wait : 0, err);
		break;
	}
	case CT_POOL_FAILED:
		ct_sb_addf(&st->q, "%s %s pool failed: %s\n", ts, pool, err);
		break;
	default:
		ct_sb_addf(&st->q, "%s %s pool %s %s\n", ts, pool, ct_pool_state_name(w->state), url);
		break;
	}
}

static int pool_index(struct evout *st, const char *pool)
{
	for (int i = 0; i < st->ws->n; i++)
		if (st->ws->w[i].conf->name == pool || !strcmp(st->ws->w[i].conf->name, pool))
			return i;
	return -1;
}

static const char *op_name(enum ct_event_op op)
{
	return op == CT_EV_ADD ? "add" : op == CT_EV_DEL ? "del" : "mod";
}

/* Watcher thread, model lock held, just before the change is applied. */
static void on_event(void *ctx, const char *pool, const struct ct_event *ev,
		     const struct ct_model *m)
{
	struct evout *st = ctx;
	const struct ct_obj *o = ev->snapshot;
	char ts[32], p[256], raw[512], name[700];
	int i = pool_index(st, pool);

	if (!o)
		o = ct_model_find(m, ev->cls, ev->ref);
	if (o)
		object_name(o, m, raw, sizeof(raw));
	else
		snprintf(raw, sizeof(raw), "%s", nz(ev->ref));
	ct_sanitize(raw, name, sizeof(name));
	ct_sanitize(pool, p, sizeof(p));
	stamp(ts, sizeof(ts));
	pthread_mutex_lock(&st->lock);
	if (i >= 0)
		state_line(st, i);
	ct_sb_addf(&st->q, "%s %s %s %s %s\n", ts, p, ct_class_name(ev->cls), op_name(ev->op), name);
	pthread_mutex_unlock(&st->lock);
}

static void check_states(struct evout *st)
{
	for (int i = 0; i < st->ws->n; i++) {
		struct ct_watch *w = &st->ws->w[i];

		ct_model_lock(&w->model);
		pthread_mutex_lock(&st->lock);
		state_line(st, i);
		pthread_mutex_unlock(&st->lock);
		ct_model_unlock(&w->model);
	}
}

static int flush_queue(struct evout *st)
{
	struct ct_sb out;
	int rc = 0;

	pthread_mutex_lock(&st->lock);
	out = st->q;
	ct_sb_init(&st->q);
	pthread_mutex_unlock(&st->lock);
	if (out.len > 0 && (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout) != 0))
		rc = -1;
	ct_sb_release(&out);
	return rc;
}

static const struct ct_command events_cmd = {
	.name = "events",
	.synopsis = "[-c FILE] [--pool NAME]...",
	.description =
		"Follow the pools and print one line per change as it arrives:\n"
		"  local time, pool, class, operation (add/mod/del), name\n"
		"and a line whenever a pool connects, loses its connection or is refused.\n"
		"Runs until interrupted (Ctrl-C, SIGTERM).\n",
	.max_args = 0,
	.usage_exit = 2,
};

int ct_cmd_events(struct ct_cli *cli)
{
	struct ct_config cfg;
	struct ct_watchset ws;
	struct evout st;
	struct ct_err e;
	struct ct_stopsig stop = CT_STOPSIG_INIT;
	bool ws_inited = false;
	int rc = 2;

	static const struct ct_option opts[] = { CT_OPT_END };

	if (ct_options_parse(&events_cmd, opts, cli, &rc) < 0)
		return rc;
	rc = 2;
	memset(&ws, 0, sizeof(ws));
	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.lock, NULL);
	ct_sb_init(&st.q);
	ct_err_init(&e);
	ct_config_init(&cfg);
	if (ct_config_load(&cfg, cli->config_path, false, &e) < 0) {
		fprintf(stderr, "chaintop: %s\n", e.msg);
		goto out;
	}
	for (int i = 0; i < cfg.n_warnings; i++)
		fprintf(stderr, "chaintop: warning: %s\n", cfg.warnings[i]);
	if (ct_watchset_init(&ws, &cfg, cli->pools, cli->n_pools, false, &e) < 0) {
		fprintf(stderr, "chaintop: %s\n", e.msg);
		goto out;
	}
	ws_inited = true;
	st.ws = &ws;
	st.shown = ct_xcalloc((size_t)ws.n + 1, sizeof(*st.shown));
	ws.on_event = on_event;
	ws.on_event_ctx = &st;
	if (ct_stopsig_install(&stop) < 0) {
		fprintf(stderr, "chaintop: cannot create a pipe: %s\n", strerror(errno));
		goto out;
	}
	check_states(&st);
	flush_queue(&st);
	if (ct_watchset_start(&ws, &e) < 0) {
		fprintf(stderr, "chaintop: %s\n", e.msg);
		goto out;
	}
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = ct_watchset_wake_fd(&ws), .events = POLLIN },
			{ .fd = stop.fd[0], .events = POLLIN },
		};

		if (poll(fds, 2, 1000) < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN)
			break;
		if (fds[0].revents & POLLIN)
			ct_watchset_drain(&ws);
		check_states(&st);
		if (flush_queue(&st) < 0)
			break;   /* stdout is gone (the reader stopped) */
	}
	ct_watchset_stop(&ws);
	flush_queue(&st);
	rc = 0;
out:
	if (ws_inited)
		ct_watchset_release(&ws);
	ct_stopsig_restore(&stop);
	free(st.shown);
	ct_sb_release(&st.q);
	pthread_mutex_destroy(&st.lock);
	ct_config_release(&cfg);
	return rc;
}
