/* notify.c - a notify command or webhook (see notify.h). */
#include "jobs/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "xapi/xapi.h"

extern char **environ;

#define OUTPUT_KEEP 400   /* bytes of the command's output quoted when it fails */

bool ct_notify_due(const struct ct_notify_conf *n, bool failed)
{
	if (!n || !n->set)
		return false;
	switch (n->on) {
	case CT_NOTIFY_ALWAYS:
		return true;
	case CT_NOTIFY_FAILURE:
		return failed;
	default:
		return false;
	}
}

static bool same_name(const char *a, const char *b)
{
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");

	return la == lb && !strncmp(a, b, la);
}

/* The command's environment: ours, then the inherited variables ours do not replace. Built
 * before the process is started (nothing is allocated between fork and exec). */
static char **build_env(const char *const *ours, int n_ours)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = ct_xcalloc(n + (size_t)n_ours + 1, sizeof(*env));
	for (int i = 0; i < n_ours; i++)
		env[k++] = (char *)ours[i];
	for (size_t i = 0; i < n; i++) {
		bool replaced = false;

		for (int j = 0; j < n_ours && !replaced; j++)
			replaced = same_name(environ[i], ours[j]);
		if (!replaced)
			env[k++] = environ[i];
	}
	return env;
}

/* The start of the command's output on one line, for the message. */
static void output_text(const struct ct_sb *out, char *buf, size_t len)
{
	char flat[OUTPUT_KEEP + 1];
	size_t j = 0;

	for (size_t i = 0; i < out->len && j < OUTPUT_KEEP; i++)
		flat[j++] = out->buf[i] == '\n' || out->buf[i] == '\r' || out->buf[i] == '\t' ?
			    ' ' : out->buf[i];
	while (j > 0 && flat[j - 1] == ' ')
		j--;
	flat[j] = '\0';
	ct_sanitize(flat, buf, len);
}

static int spawn(const char *command, char **env, int in_fd, int out_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	posix_spawnattr_init(&at);
	/* a group of its own, so the timeout kills what the shell started too; the signal
	 * dispositions and mask of a console are not the command's */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	rc = posix_spawn(pid, "/bin/sh", &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static int run_command(const struct ct_notify_conf *n, const struct ct_notify_msg *m,
		       struct ct_err *e)
{
	const char **ours = ct_xcalloc((size_t)m->n_env + 1, sizeof(*ours));
	char *sum = ct_xasprintf("CHAINTOP_SUMMARY=%s", m->summary ? m->summary : "");
	char **env, text[OUTPUT_KEEP + 64];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, status = 0, rc = -1, err;
	size_t off = 0, len = strlen(m->json);
	int64_t deadline = ct_now_ms() + n->timeout * 1000;
	bool exited = false, timed_out = false;
	struct ct_sb output;
	pid_t pid;

	ct_sb_init(&output);
	ours[0] = sum;
	for (int i = 0; i < m->n_env; i++)
		ours[i + 1] = m->env[i];
	env = build_env(ours, m->n_env + 1);
	/* stdin is a socket: send() with MSG_NOSIGNAL reports a command that does not read it
	 * as EPIPE instead of raising SIGPIPE in this process */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0) {
		ct_err_set(e, CT_E_IO, "cannot start the notify command: %s", strerror(errno));
		goto out;
	}
	err = spawn(n->command, env, in[1], out[1], &pid);
	close(in[1]);
	close(out[1]);
	in[1] = out[1] = -1;
	if (err) {
		ct_err_set(e, CT_E_IO, "cannot start the notify command with /bin/sh: %s",
			   strerror(err));
		goto out;
	}
	fcntl(in[0], F_SETFL, fcntl(in[0], F_GETFL) | O_NONBLOCK);
	fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd p[2];
		int np = 0, wait_ms;
		int64_t left = deadline - ct_now_ms();

		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		if (exited && (out[0] < 0 || left <= 0))
			break;
		if (left <= 0) {
			timed_out = true;
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		if (in[0] >= 0)
			p[np++] = (struct pollfd){ .fd = in[0], .events = POLLOUT };
		if (out[0] >= 0)
			p[np++] = (struct pollfd){ .fd = out[0], .events = POLLIN };
		/* a short wait while the command runs: its exit is seen by waitpid, not poll */
		wait_ms = left < 100 ? (int)left : 100;
		if (np == 0 || poll(p, (nfds_t)np, wait_ms) <= 0) {
			if (exited)
				break;   /* output held open by something it left behind */
			continue;
		}
		for (int i = 0; i < np; i++) {
			if (p[i].fd == in[0] && (p[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
				ssize_t w = send(in[0], m->json + off, len - off,
						 MSG_NOSIGNAL | MSG_DONTWAIT);

				if (w > 0)
					off += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || off >= len) {
					close(in[0]);   /* end of the document, or it stopped reading */
					in[0] = -1;
				}
			} else if (p[i].fd == out[0] && (p[i].revents & (POLLIN | POLLERR | POLLHUP))) {
				char buf[4096];
				ssize_t r = read(out[0], buf, sizeof(buf));

				if (r > 0 && output.len < OUTPUT_KEEP)
					ct_sb_add(&output, buf, (size_t)r);
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
					close(out[0]);
					out[0] = -1;
				}
			}
		}
	}
	output_text(&output, text, sizeof(text));
	if (timed_out)
		ct_err_set(e, CT_E_TIMEOUT, "the notify command did not finish within %llds and was "
			   "killed (notify timeout)%s%s", n->timeout, text[0] ? "; its output: " : "",
			   text);
	else if (WIFSIGNALED(status))
		ct_err_set(e, CT_E_IO, "the notify command was killed by signal %d%s%s",
			   WTERMSIG(status), text[0] ? "; its output: " : "", text);
	else if (WEXITSTATUS(status) == 127)
		ct_err_set(e, CT_E_IO, "the notify command could not be run (exit status 127: "
			   "not found?)%s%s", text[0] ? "; its output: " : "", text);
	else if (WEXITSTATUS(status) != 0)
		ct_err_set(e, CT_E_IO, "the notify command exited with status %d%s%s",
			   WEXITSTATUS(status), text[0] ? "; its output: " : "", text);
	else
		rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	ct_sb_release(&output);
	free(env);
	free(ours);
	free(sum);
	return rc;
}

static int post_webhook(const struct ct_notify_conf *n, const struct ct_notify_msg *m,
			struct ct_err *e)
{
	struct ct_xapi_opts o;
	struct ct_xapi *x;
	int rc;

	memset(&o, 0, sizeof(o));
	o.url = n->webhook;
	o.tls_verify = n->tls.verify;
	o.ca_file = n->tls.ca_file;
	o.fingerprint = n->tls.fingerprint;
	o.connect_timeout_s = n->timeout < 10 ? (long)n->timeout : 10;
	o.call_timeout_s = (long)n->timeout;
	x = ct_xapi_new(&o);
	rc = ct_xapi_http_post(x, "application/json", m->json, strlen(m->json), (long)n->timeout, e);
	ct_xapi_free(x);
	if (rc < 0)
		ct_err_prefix(e, "notify webhook");
	return rc;
}

int ct_notify_send(const struct ct_notify_conf *n, const struct ct_notify_msg *m, struct ct_err *e)
{
	if (n->command)
		return run_command(n, m, e);
	if (n->webhook)
		return post_webhook(n, m, e);
	return 0;
}
