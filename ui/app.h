/* app.h - the interactive console (ncurses). Runs until the operator quits; returns the
 * process exit code. */
#ifndef CT_UI_APP_H
#define CT_UI_APP_H

#include "cli/cli.h"

int ct_console_run(struct ct_cli *cli);

#endif
