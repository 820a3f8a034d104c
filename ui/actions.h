/* actions.h - the console's one action table: it dispatches keys, writes the `?` help screen
 * and the key-hint line. Adding an action here is enough for all three. */
#ifndef CT_UI_ACTIONS_H
#define CT_UI_ACTIONS_H

#include <stdbool.h>

/* Views an action applies to (bit mask). */
#define VW_TREE   0x1
#define VW_HEALTH 0x2
#define VW_SNAP   0x4
#define VW_JOBS   0x8
#define VW_ALL    0xf

/* Flags. */
#define AF_HINT        0x1   /* shown in the key-hint line of the views it applies to */
#define AF_CHANGES     0x2   /* changes a pool: refused in read-only mode */
#define AF_DESTRUCTIVE 0x4   /* deletes something: always behind a dialog */

#define CT_CTRL(c) ((c) & 0x1f)

/* X(id, name, key label, key1, key2, key3, views, flags, help) */
#define CT_ACTIONS(X) \
	X(UP,        "up",          "Up/k",     KEY_UP,    'k',          0,         VW_ALL,  0, "move the selection up") \
	X(DOWN,      "down",        "Down/j",   KEY_DOWN,  'j',          0,         VW_ALL,  0, "move the selection down") \
	X(PGUP,      "page-up",     "PgUp",     KEY_PPAGE, CT_CTRL('b'), 0,         VW_ALL,  0, "one page up") \
	X(PGDN,      "page-down",   "PgDn",     KEY_NPAGE, CT_CTRL('f'), 0,         VW_ALL,  0, "one page down") \
	X(HOME,      "first",       "Home/g",   KEY_HOME,  'g',          0,         VW_ALL,  0, "first row") \
	X(END,       "last",        "End/G",    KEY_END,   'G',          0,         VW_ALL,  0, "last row") \
	X(RIGHT,     "right",       ">/Right",  '>',       KEY_RIGHT,    0,         VW_ALL,  0, \
	  "scroll the last column (INFO, REASON, WHY, SUMMARY, a message) right to read a cut text (tree: Right opens a closed row first)") \
	X(LEFT,      "left",        "</Left",   '<',       0,            0,         VW_ALL,  0, \
	  "scroll it back (Left goes back once the column is at its start; tree: see h)") \
	X(EXPAND,    "expand",      "l/Right",  'l',       0,            0,         VW_TREE, 0, \
	  "open the selected row; on an open row (or a leaf) scroll INFO right as > does") \
	X(COLLAPSE,  "collapse",    "h/Left",   'h',       0,            0,         VW_TREE, 0, \
	  "scroll INFO back while it is scrolled, else close the selected row, else go to its parent") \
	X(EXPANDALL, "expand-all",  "+",        '+',       '=',          0,         VW_TREE, 0, "open every row") \
	X(COLLAPSEALL, "collapse-all", "-",     '-',       0,            0,         VW_TREE, 0, \
	  "close every row below the pools (an overview of SRs, or VMs)") \
	X(ENTER,     "open",        "Enter",    '\n',      '\r',         KEY_ENTER, VW_ALL,  AF_HINT, \
	  "expand/collapse a row; Health: jump to the object; Jobs: open the run's report") \
	X(BACK,      "back",        "Esc",      27,        KEY_LEFT,     0,         VW_ALL,  0, \
	  "go back: close the overlay or the prompt, return to the tree (the filter stays: x clears it)") \
	X(NEXTVIEW,  "next-view",   "Tab",      '\t',      0,            0,         VW_ALL,  0, "next view") \
	X(PREVVIEW,  "prev-view",   "S-Tab",    KEY_BTAB,  0,            0,         VW_ALL,  0, "previous view") \
	X(VTREE,     "tree",        "1",        '1',       0,            0,         VW_ALL,  0, "Tree view: pools, SRs and their chains") \
	X(VHEALTH,   "health",      "2",        '2',       0,            0,         VW_ALL,  0, "Health view: every problem by severity") \
	X(VSNAP,     "snapshots",   "3",        '3',       0,            0,         VW_ALL,  0, "Snapshots view: stale snapshots and orphan disks") \
	X(VJOBS,     "jobs",        "4",        '4',       0,            0,         VW_ALL,  0, "Jobs view: backup and prune runs") \
	X(FILTER,    "filter",      "/",        '/',       0,            0,         VW_TREE | VW_HEALTH | VW_SNAP, AF_HINT, \
	  "filter by name or uuid as you type, any case (Enter or Esc keeps it, x clears it)") \
	X(CLEARFILTER, "clear-filter", "x",     'x',       0,            0,         VW_TREE | VW_HEALTH | VW_SNAP, 0, \
	  "clear the filter (the tab line shows it while it is on)") \
	X(NEXTMATCH, "next-match",  "n",        'n',       0,            0,         VW_TREE | VW_HEALTH | VW_SNAP, 0, \
	  "select the next row the filter matches (not a parent or group kept to show it), wrapping around") \
	X(PREVMATCH, "prev-match",  "N",        'N',       0,            0,         VW_TREE | VW_HEALTH | VW_SNAP, 0, \
	  "select the previous row the filter matches") \
	X(COPY,      "copy-uuid",   "y",        'y',       0,            0,         VW_TREE, 0, \
	  "copy the selected object's uuid to the clipboard (OSC 52; also shown in the status line)") \
	X(PROBLEMS,  "problems",    "p",        'p',       0,            0,         VW_TREE, AF_HINT, "show only rows with problems (and their parents)") \
	X(GROUP,     "group",       "v",        'v',       0,            0,         VW_TREE, AF_HINT, "group the tree by SR or by VM") \
	X(DETAIL,    "detail",      "i",        'i',       0,            0,         VW_TREE | VW_HEALTH, AF_HINT, "show or hide the detail pane") \
	X(PAGER,     "read",        "o",        'o',       0,            0,         VW_TREE | VW_HEALTH | VW_SNAP, AF_HINT, \
	  "read the selected object's detail in full, in a scrolling pager") \
	X(BACKUP,    "backup",      "b",        'b',       0,            0,         VW_TREE, AF_HINT | AF_CHANGES, \
	  "gated backup of the selected VM (shows the gate verdict first)") \
	X(SCAN,      "scan",        "S",        'S',       0,            0,         VW_TREE, AF_CHANGES, \
	  "SR.scan of the selected SR, after a dialog naming it: SM rescans it and kicks its garbage collector") \
	X(TAG,       "tag",         "Space",    ' ',       0,            0,         VW_SNAP, AF_HINT | AF_CHANGES, \
	  "tag/untag a candidate; on a group header (pool > SR): all of the group") \
	X(DELETE,    "delete",      "d",        'd',       0,            0,         VW_SNAP, AF_HINT | AF_CHANGES | AF_DESTRUCTIVE, \
	  "delete the tagged (or the selected) candidates, after a dialog listing every call") \
	X(SORT,      "sort",        "s",        's',       0,            0,         VW_TREE | VW_HEALTH | VW_SNAP, AF_HINT, \
	  "sort: tree by chain order, depth, pending, size, name; Health by severity, pool, age (first seen by this console, oldest first); Snapshots by age, SIZE (on disk), SPACE BACK (given back after GC)") \
	X(RELOAD,    "reload",      "r",        'r',       0,            0,         VW_JOBS, AF_HINT, "read the job history again") \
	X(RECONNECT, "reconnect",   "R",        'R',       0,            0,         VW_ALL,  AF_HINT, \
	  "reconnect now to the pools that are down or not answering (drops a call left without reply)") \
	X(COMMAND,   "command",     ":",        ':',       0,            0,         VW_ALL,  AF_HINT, "command prompt: :pool NAME, :pool (all), :q") \
	X(INCIDENT,  "incident",    "I",        'I',       0,            0,         VW_ALL,  0, \
	  "write the incident summary (Markdown: pools, problems, chains, GC, failed runs) to a file in the state directory") \
	X(MESSAGES,  "messages",    "m",        'm',       0,            0,         VW_ALL,  AF_HINT, "message history") \
	X(HELP,      "help",        "?",        '?',       KEY_F(1),     0,         VW_ALL,  AF_HINT, "this help") \
	X(REPAINT,   "repaint",     "^L",       CT_CTRL('l'), 0,         0,         VW_ALL,  0, "repaint the whole screen") \
	X(QUIT,      "quit",        "q",        'q',       0,            0,         VW_ALL,  AF_HINT, "close the view; quit from the tree (asks first while an action runs)")

enum ct_action {
#define CT_ACTION_ENUM(id, ...) ACT_##id,
	CT_ACTIONS(CT_ACTION_ENUM)
#undef CT_ACTION_ENUM
	ACT_COUNT,
	ACT_NONE = -1
};

struct ct_action_def {
	enum ct_action id;
	const char *name;
	const char *label;
	int keys[3];
	int views;
	int flags;
	const char *help;
};

extern const struct ct_action_def ct_actions[ACT_COUNT];

/* The action a key triggers in a view (view bit), or ACT_NONE. */
enum ct_action ct_action_for_key(int key, int view_bit);
/* By name (for the `:` prompt), or ACT_NONE. */
enum ct_action ct_action_by_name(const char *name);

#endif
