/* output.h - how `tree` and `check` print the engine's verdicts: the text tree, the check
 * summary, the JSON document of design.md section 4, Nagios plugin output and the
 * Prometheus text exposition format (for node_exporter's textfile collector).
 *
 * The renderers read the models and reports they are given; the caller holds every
 * model's lock while rendering. XAPI strings are sanitised (ct_sanitize) in text, Nagios
 * and Prometheus output; in JSON, invalid UTF-8 gets ct_sanitize's form and the rest is
 * escaped as jansson escapes it (the streaming writer's own escaper is tested against
 * jansson byte for byte). */
#ifndef CT_OUTPUT_H
#define CT_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "engine/chain.h"
#include "config/config.h"
#include "lib/err.h"
#include "model/model.h"

/* One pool as the commands saw it. All pointers borrowed. */
struct ct_output_pool {
	const char *name;                    /* configured name */
	bool connected;                      /* loaded (report and model valid) */
	bool stale;                          /* data kept from before a connection loss */
	const char *state;                   /* watcher state name, or NULL */
	const char *error;                   /* operator sentence when not loaded, or NULL */
	struct ct_model *model;              /* NULL when nothing was loaded */
	const struct ct_chain_report *report;  /* NULL when nothing was loaded */
};

enum ct_output_format { CT_FMT_TEXT, CT_FMT_JSON, CT_FMT_NAGIOS, CT_FMT_PROMETHEUS };
/* "text", "json", "nagios", "prometheus"; -1 for anything else. */
int ct_output_parse_format(const char *s, enum ct_output_format *f);

/* Worst severity over the pools: a pool that is not loaded counts as UNKNOWN. */
enum ct_severity ct_output_worst(const struct ct_output_pool *p, int n);
/* Monitoring-plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
int ct_output_exit_code(enum ct_severity s);

/* The JSON document of design.md section 4. With `check`, adds "status", "exit_code" and
 * "problems" (top level) and "severity" per pool. Returns a new reference (json_decref). */
json_t *ct_output_json(const struct ct_output_pool *p, int n, bool check, time_t now);
/* Writes the same document (same keys, values and order), streamed: each record is written
 * straight to the stream by the code that builds it for ct_output_json, so the document
 * never exists in memory and no jansson object is made per record. Not indented: one record a line ({"pools": [ / pool and "srs": [ /
 * each SR's members and "vdis": [ / each VDI / ... / "vms": [ / each VM ...), members
 * separated by ", " and ": ", UTF-8, newline-terminated. Returns 0 or -1 on a write error. */
int ct_output_write_json(FILE *f, const struct ct_output_pool *p, int n, bool check, time_t now);

/* The summary of `check`: "2 pools, 5 SRs, 12 VMs: 1 critical, 2 warnings; deepest ..." */
void ct_output_summary(const struct ct_output_pool *p, int n, char *buf, size_t len);
/* `check --format text`: one summary line, then the problems, most severe first. */
void ct_output_check_text(FILE *f, const struct ct_output_pool *p, int n);
/* `check --format nagios`: "CHAINTOP WARNING - ... | perfdata", then one line a problem.
 * Thresholds in the perfdata come from the configuration's health limits. */
void ct_output_nagios(FILE *f, const struct ct_config *c, const struct ct_output_pool *p, int n);
/* `check --format prometheus`: HELP/TYPE lines and gauges per pool, SR and problem, written
 * by output/metrics.c (the families `chaintop serve` serves, less the connection ones). */
void ct_output_prometheus(FILE *f, const struct ct_output_pool *p, int n, time_t now);

/* `tree`: pool > SR > VDI chain forest, indented by depth. utf8 picks the glyphs ("├─"
 * or "|-"); now gives snapshot ages. */
void ct_output_tree_text(FILE *f, const struct ct_output_pool *p, int n, bool utf8, time_t now);

/* JSON values for untrusted text and times, shared by every JSON writer: a string as
 * jansson takes it (its escaping), sanitised only when it is not valid UTF-8; NULL -> null.
 * A time as XAPI's UTC form, unset (<= 0) -> null. Return new references. */
json_t *ct_output_jstr(const char *s);
json_t *ct_output_jtime(time_t t);

#endif
