/* app.c - the console's main loop: poll() on the terminal, the watchers' wake pipe and a
 * self-pipe (SIGWINCH, SIGINT/SIGTERM/SIGHUP, worker progress); rows rebuilt from model
 * snapshots only when something changed; at most ~10 frames a second, one doupdate() per
 * frame, nothing drawn when nothing changed. The views (view.h) draw the body and take
 * the keys of their own; the loop takes the global ones, runs `:` commands as the same
 * actions, and wires the views together (b and S on the tree's selection, Health's jump
 * into the tree). */
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

/* --- the views --- */

/* The tabs, in the order of their number keys (enum ct_ui_view). */
static const struct ct_view_ops *const g_views[UI_NVIEWS] = {
	[UI_TREE] = &ct_tree_view,
	[UI_HEALTH] = &ct_health_view,
	[UI_SNAP] = &ct_snap_view,
	[UI_JOBS] = &ct_jobs_view,
};

/* The view the body shows: an overlay over the current tab, else the tab. */
static const struct ct_view_ops *current(const struct ct_ui *ui)
{
	switch (ui->overlay) {
	case OV_HELP: return &ct_help_view;
	case OV_MESSAGES: return &ct_messages_view;
	case OV_REPORT: return &ct_pager_view;
	default: return g_views[ui->view];
	}
}

/* A filter applies to the view it was typed in: ui->filter is the current view's, the
 * others wait in view_filter. */
static void sync_filter(struct ct_ui *ui)
{
	if (ui->filter_view == ui->view)
		return;
	memcpy(ui->view_filter[ui->filter_view], ui->filter, sizeof(ui->filter));
	memcpy(ui->filter, ui->view_filter[ui->view], sizeof(ui->filter));
	ui->filter_view = ui->view;
	ui->dirty_view = true;
}

/* Every view learns of a change (grouping and pools shown apply to them all), each with
 * its own filter in ui->filter while it updates. */
static void refresh_views(struct ct_ui *ui, bool data)
{
	sync_filter(ui);
	memcpy(ui->view_filter[ui->view], ui->filter, sizeof(ui->filter));
	for (int v = 0; v < UI_NVIEWS; v++) {
		if (!g_views[v]->update)
			continue;
		memcpy(ui->filter, ui->view_filter[v], sizeof(ui->filter));
		g_views[v]->update(ui, data);
	}
	memcpy(ui->filter, ui->view_filter[ui->view], sizeof(ui->filter));
	ui->dirty_view = false;
}

/* Rebuild the rows of the pools whose models changed, then what the views show. */
static void refresh_all(struct ct_ui *ui)
{
	bool data = false;

	sync_filter(ui);
	if (ui->dirty_data) {
		data = ct_pools_rebuild(ui);
		ui->dirty_data = false;
		ct_trust_check(ui);
	}
	if (data || ui->dirty_view)
		refresh_views(ui, data);
}

/* --- drawing --- */

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
	char prog[300];

	refresh_all(ui);
	ui->too_small = COLS < MIN_COLS || LINES < MIN_LINES;
	if (ui->too_small) {
		curs_set(0);
		draw_too_small();
		goto out;
	}
	ui->body_top = 2;
	ui->body_h = LINES - 4;
	ct_header_draw(ui, now);
	ct_tabs_draw(ui, 1, g_views, UI_NVIEWS);
	for (int y = ui->body_top; y < ui->body_top + ui->body_h; y++)
		ct_fill(y, 0, COLS, A_NORMAL);
	current(ui)->draw(ui, ui->body_top, ui->body_h);
	if (ct_dialog_active(ui))
		ct_hints_draw(ui, LINES - 1, " Tab/Left/Right move focus  Enter press the focused button  Esc cancel");
	else if (ui->overlay != OV_NONE)
		ct_hints_draw(ui, LINES - 1, " Up/Down scroll  Esc/q close");
	else
		ct_hints_draw(ui, LINES - 1, NULL);
	if (ct_dialog_active(ui))
		ct_dialog_draw(ui);
	ct_worker_status_text(&ui->worker, prog, sizeof(prog));
	if (ui->quit_after_worker && prog[0]) {   /* said while it lasts, first: the rest may be cut */
		char tmp[300];

		snprintf(tmp, sizeof(tmp), "%s", prog);
		ct_fmt(prog, sizeof(prog), "quitting when it ends (q asks again) %s", tmp);
	}
	ct_status_draw(ui, LINES - 2, prog);   /* last: it may place the cursor for the prompt */
out:
	wnoutrefresh(stdscr);
	doupdate();
	if (ui->bell_pending) {
		beep();
		ui->bell_pending = false;
	}
	ui->need_frame = false;
	ui->last_frame_ms = ct_now_ms();
	ui->frames++;
}

/* --- input --- */

static void switch_view(struct ct_ui *ui, enum ct_ui_view v)
{
	ui->view = v;
	ui->overlay = OV_NONE;
	sync_filter(ui);
	if (g_views[v]->shown)
		g_views[v]->shown(ui);
	ui->need_frame = true;
}

static void run_action(struct ct_ui *ui, enum ct_action a);

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
		if (ui->worker.running && strcmp(cmd, "q!"))
			ct_dialog_quit(ui);   /* :q! cancels it and quits without asking */
		else
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
		ui->view = UI_TREE;
		refresh_views(ui, true);   /* other pools: other rows, problems, candidates */
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
	if (!(ct_actions[a].views & g_views[ui->view]->bit)) {
		ct_status_msg(ui, MSG_INFO, "'%s' (%s) does not apply to this view; ? lists the keys",
			      ct_actions[a].label, ct_actions[a].name);
		return;
	}
	refresh_all(ui);   /* it acts on what the operator sees */
	run_action(ui, a);
}

static void input_key(struct ct_ui *ui, int ch)
{
	size_t l = strlen(ui->input_buf);

	switch (ch) {
	case 27:
		/* Esc closes the prompt only: the filter typed so far stays (x clears it) */
		if (ui->input == IN_FILTER && ui->filter[0])
			ct_status_msg(ui, MSG_INFO, "filter '%s' kept; x clears it", ui->filter);
		ui->input = IN_NONE;
		ui->need_frame = true;
		return;
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
				ct_status_msg(ui, MSG_INFO, "filter '%s' kept; x clears it", ui->filter);
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

/* Left scrolls a list's text column back while it is scrolled, and goes back after. */
static enum ct_action side_or_back(struct ct_ui *ui, const struct ct_view_ops *v, int ch,
				   enum ct_action a)
{
	struct ct_ui_list *l = v->list ? v->list(ui) : NULL;

	if (ch == KEY_LEFT && a == ACT_BACK && l && l->xoff > 0)
		return ACT_LEFT;
	return a;
}

static void overlay_key(struct ct_ui *ui, int ch)
{
	enum ct_action a = ct_action_for_key(ch, VW_ALL);

	ui->need_frame = true;
	a = side_or_back(ui, current(ui), ch, a);
	if (a == ACT_BACK || a == ACT_QUIT || (a == ACT_HELP && ui->overlay == OV_HELP) ||
	    (a == ACT_MESSAGES && ui->overlay == OV_MESSAGES)) {
		ui->overlay = OV_NONE;
		return;
	}
	if (a == ACT_REPAINT) {
		clearok(curscr, TRUE);
		return;
	}
	if (a == ACT_RIGHT || a == ACT_LEFT) {
		const struct ct_view_ops *v = current(ui);
		struct ct_ui_list *l = v->list ? v->list(ui) : NULL;

		if (l)
			ct_list_side(l, a);
		return;
	}
	if (a != ACT_NONE)
		current(ui)->key(ui, a);
}

static void open_overlay(struct ct_ui *ui, enum ct_ui_overlay o)
{
	ui->overlay = o;
	memset(&ui->ov, 0, sizeof(ui->ov));
	ui->need_frame = true;
}

/* Enter on a Health problem asked for its row in the tree. */
static void jump(struct ct_ui *ui)
{
	char key[CT_ROW_KEY];

	snprintf(key, sizeof(key), "%s", ui->jump_key);
	ui->jump_key[0] = '\0';
	if (ui->jump_by_sr) {
		ui->jump_by_sr = false;
		ui->by_vm = false;
		ui->dirty_data = true;
		refresh_all(ui);
	}
	if (ct_tree_select_key(ui, key))
		refresh_all(ui);
}

/* One action of the table, from a key or a `:` command, on the current view. */
static void run_action(struct ct_ui *ui, enum ct_action a)
{
	const struct ct_view_ops *v = g_views[ui->view];
	struct ct_ui_sel sel = { .pool = -1, .row = NULL };
	const char *why = NULL;

	ui->need_frame = true;
	if (v->selection)
		v->selection(ui, &sel);
	if (ct_actions[a].flags & AF_CHANGES) {
		if (ct_ui_pool_read_only(ui, sel.pool, &why)) {
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
	case ACT_INCIDENT: ct_incident_key(ui); return;
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
		if (ui->worker.running) {
			ct_dialog_quit(ui);
			return;
		}
		ui->quit = true;
		return;
	case ACT_CLEARFILTER:
		if (!ui->filter[0]) {
			ct_status_msg(ui, MSG_INFO, "no filter to clear (/ sets one)");
			return;
		}
		ui->filter[0] = '\0';
		ui->dirty_view = true;
		ct_status_msg(ui, MSG_INFO, "filter cleared");
		return;
	case ACT_BACK:
		/* Esc closes what is open; the filter stays (x clears it) */
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
	case ACT_RIGHT:
	case ACT_LEFT: {
		struct ct_ui_list *l = v->list ? v->list(ui) : NULL;

		if (l)
			ct_list_side(l, a);
		return;
	}
	/* the tree's selection is what b and S act on */
	case ACT_BACKUP:
		ct_backup_start_dialog(ui, sel.row);
		return;
	case ACT_SCAN:
		ct_scan_start_dialog(ui, sel.row);
		return;
	default:
		break;
	}
	v->key(ui, a);
	if (ui->jump_key[0])
		jump(ui);
}

static void action_key(struct ct_ui *ui, int ch)
{
	enum ct_action a = ct_action_for_key(ch, g_views[ui->view]->bit);

	ui->need_frame = true;
	/* the tree's arrows open and close rows (h and l), and scroll INFO when there is
	 * nothing to open or close (tree_key decides) */
	if (g_views[ui->view]->bit == VW_TREE && (ch == KEY_RIGHT || ch == KEY_LEFT))
		a = ch == KEY_RIGHT ? ACT_EXPAND : ACT_COLLAPSE;
	else
		a = side_or_back(ui, g_views[ui->view], ch, a);
	if (a == ACT_NONE) {
		enum ct_action other = ct_action_for_key(ch, VW_ALL);

		if (other != ACT_NONE)
			ct_status_msg(ui, MSG_INFO, "'%s' (%s) does not apply to this view; ? lists the keys",
				      ct_actions[other].label, ct_actions[other].name);
		else if (ch >= 32 && ch < 127)
			ct_status_msg(ui, MSG_INFO, "key '%c' does nothing here; ? lists the keys", ch);
		return;
	}
	run_action(ui, a);
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
	sync_filter(ui);   /* a jump may have changed the view */
	if (ui->input != IN_NONE) {
		input_key(ui, ch);
		return;
	}
	if (ct_dialog_active(ui)) {
		ct_dialog_key(ui, ch);
		return;
	}
	if (ui->overlay != OV_NONE) {
		overlay_key(ui, ch);
		return;
	}
	if (ui->dirty_view)
		refresh_views(ui, false);   /* keys act on what the operator sees after the last key */
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
		ct_strset_release(&ui->pools[i].crit_seen);
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
	ct_health_release(ui);
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
	ct_header_text(ui, buf, sizeof(buf), now);
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
	if (ct_tree_needs_detail(ui)) {
		ui->detail_key[0] = '\0';   /* rebuilt when drawn */
		ui->need_frame = true;
	}
	/* a reply fell overdue (or came): the pool's problem row comes or goes */
	for (int i = 0; i < ui->n_pools; i++)
		if (ui->pools[i].built && ui->pools[i].pv.unresponsive != (ui->pools[i].built_sig & 1))
			ui->dirty_data = true;
	/* the Health view counts down to a down pool's next retry */
	for (int i = 0; i < ui->n_pools && ui->view == UI_HEALTH && ui->overlay == OV_NONE; i++)
		if (ct_pool_down(&ui->pools[i].pv))
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
			if (ct_worker_poll(&ui)) {
				/* the run is in the job history; what it changed comes as events */
				ct_jobs_reload(&ui);
				ui.dirty_data = true;
				if (ui.quit_after_worker)
					ui.quit = true;
			}
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
