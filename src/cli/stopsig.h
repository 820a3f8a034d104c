/* stopsig.h - SIGINT and SIGTERM as a byte on a pipe, for the long-running commands whose
 * loop polls (events, serve): the loop sees the stop as one more input and ends cleanly
 * (watchers stopped, sessions logged out, files closed). SIGPIPE is ignored meanwhile: a
 * reader or client that went away is an error to handle, not a death. One at a time in a
 * process; ct_stopsig_restore puts the previous handlers back. */
#ifndef CT_CLI_STOPSIG_H
#define CT_CLI_STOPSIG_H

#include <signal.h>
#include <stdbool.h>

struct ct_stopsig {
	int fd[2];                 /* fd[0]: readable once a stop signal came */
	struct sigaction old_int, old_term, old_pipe;
	bool installed;
};

/* A struct that may reach ct_stopsig_restore before (or without) ct_stopsig_install starts
 * as this: its fds are -1, not 0 and 1. */
#define CT_STOPSIG_INIT { .fd = { -1, -1 } }

/* 0, or -1 with errno (the pipe could not be made; nothing installed). */
int ct_stopsig_install(struct ct_stopsig *s);
/* The previous handlers back, the pipe closed; a no-op on CT_STOPSIG_INIT. */
void ct_stopsig_restore(struct ct_stopsig *s);

#endif
