/* worker.c - one background action at a time (backup, prune) on its own thread. The
 * thread never touches curses: it writes progress under the worker's mutex and a byte to
 * the UI's self-pipe; the UI thread draws it and collects the result. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui.h"
#include "lib/util.h"

static void wake(struct ct_ui_worker *w)
{
	char c = 'w';
	ssize_t r;

	do
		r = write(w->wake_fd, &c, 1);
	while (r < 0 && errno == EINTR);
}

void ct_worker_init(struct ct_ui_worker *w, int wake_fd)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->wake_fd = wake_fd;
}

void ct_ui_worker_progress(struct ct_ui_worker *w, const char *fmt, ...)
{
	char raw[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&w->lock);
	ct_sanitize(raw, w->progress, sizeof(w->progress));
	pthread_mutex_unlock(&w->lock);
	wake(w);
}

void ct_ui_worker_finish(struct ct_ui_worker *w, enum ct_msg_level lvl, int64_t run_id,
			 const char *fmt, ...)
{
	char raw[480];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&w->lock);
	ct_sanitize(raw, w->result, sizeof(w->result));
	w->result_level = lvl;
	w->run_id = run_id;
	w->finished = true;
	pthread_mutex_unlock(&w->lock);
	wake(w);
}

static void *worker_main(void *p)
{
	struct ct_ui_worker *w = p;
	bool done;

	w->fn(w, w->arg);
	pthread_mutex_lock(&w->lock);
	done = w->finished;
	pthread_mutex_unlock(&w->lock);
	if (!done)
		ct_ui_worker_finish(w, MSG_INFO, 0, "%s: finished", w->what);
	return NULL;
}

bool ct_worker_busy(struct ct_ui_worker *w)
{
	return w->running;
}

int ct_worker_start(struct ct_ui *ui, const char *what, void (*fn)(struct ct_ui_worker *, void *),
		    void *arg, void (*arg_free)(void *))
{
	struct ct_ui_worker *w = &ui->worker;

	if (w->running) {
		ct_status_msg(ui, MSG_WARN, "%s is still running; wait for it to finish (progress on this line)",
			      w->what);
		if (arg_free)
			arg_free(arg);
		return -1;
	}
	w->fn = fn;
	w->arg = arg;
	w->arg_free = arg_free;
	snprintf(w->what, sizeof(w->what), "%s", what);
	w->progress[0] = '\0';
	w->result[0] = '\0';
	w->finished = false;
	atomic_store(&w->cancel, 0);
	w->run_id = 0;
	w->started_ms = ct_now_ms();
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		ct_status_msg(ui, MSG_ERROR, "%s could not start: no thread available; try again", what);
		if (arg_free)
			arg_free(arg);
		w->arg = NULL;
		return -1;
	}
	w->running = true;
	ct_status_msg(ui, MSG_INFO, "%s started", what);
	return 0;
}

bool ct_worker_poll(struct ct_ui *ui)
{
	struct ct_ui_worker *w = &ui->worker;
	bool fin;
	char result[480];
	enum ct_msg_level lvl;

	if (!w->running)
		return false;
	pthread_mutex_lock(&w->lock);
	fin = w->finished;
	snprintf(result, sizeof(result), "%s", w->result);
	lvl = w->result_level;
	pthread_mutex_unlock(&w->lock);
	ui->need_frame = true;
	if (!fin)
		return false;
	pthread_join(w->thread, NULL);
	w->running = false;
	if (w->arg_free)
		w->arg_free(w->arg);
	w->arg = NULL;
	ct_status_msg(ui, lvl, "%s", result);
	if (lvl == MSG_ERROR)
		ct_ui_bell(ui);   /* a run that failed */
	return true;
}

void ct_worker_status_text(struct ct_ui_worker *w, char *buf, size_t len)
{
	static const char spin[] = "|/-\\";
	char prog[256];
	int64_t el;

	buf[0] = '\0';
	if (!w->running)
		return;
	pthread_mutex_lock(&w->lock);
	snprintf(prog, sizeof(prog), "%s", w->progress);
	pthread_mutex_unlock(&w->lock);
	el = (ct_now_ms() - w->started_ms) / 1000;
	snprintf(buf, len, "[%c %llds] %s: %s", spin[el % 4], (long long)el, w->what,
		 prog[0] ? prog : "starting");
}

void ct_worker_release(struct ct_ui_worker *w)
{
	if (w->running) {
		atomic_store(&w->cancel, 1);
		pthread_join(w->thread, NULL);
		w->running = false;
		if (w->arg_free)
			w->arg_free(w->arg);
		w->arg = NULL;
	}
	pthread_mutex_destroy(&w->lock);
}
