/* stopsig.c - stop signals as a byte on a pipe (stopsig.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli/stopsig.h"

static int g_stop_wr = -1;

static void on_stop(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (g_stop_wr >= 0 && write(g_stop_wr, &c, 1) < 0) {
		/* the pipe is full: a stop is pending already */
	}
	errno = saved;
}

int ct_stopsig_install(struct ct_stopsig *s)
{
	struct sigaction sa;

	memset(s, 0, sizeof(*s));
	s->fd[0] = s->fd[1] = -1;
	if (pipe(s->fd) < 0) {
		s->fd[0] = s->fd[1] = -1;
		return -1;
	}
	g_stop_wr = s->fd[1];
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &s->old_int);
	sigaction(SIGTERM, &sa, &s->old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &s->old_pipe);
	s->installed = true;
	return 0;
}

void ct_stopsig_restore(struct ct_stopsig *s)
{
	if (s->installed) {
		sigaction(SIGINT, &s->old_int, NULL);
		sigaction(SIGTERM, &s->old_term, NULL);
		sigaction(SIGPIPE, &s->old_pipe, NULL);
		s->installed = false;
	}
	g_stop_wr = -1;
	for (int i = 0; i < 2; i++)
		if (s->fd[i] >= 0) {
			close(s->fd[i]);
			s->fd[i] = -1;
		}
}
