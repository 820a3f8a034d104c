/* Unit tests for ui/rows.c (curses-free): the console's rows follow the engine's order (the
 * SRs and each SR's VDI preorder of the chain report, as `chaintop tree` prints them, ties
 * broken by uuid), the tree shape (levels, parent keys, children), and what the filter,
 * problems-only and collapsing keep visible; ui/list.c's selection kept by identity when a
 * list shrinks under it, and the sideways scroll's bounds. */
#include <check.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/chain.h"
#include "watch/watch.h"
#include "list.h"
#include "rows.h"
#include "test_chain_fixture.h"

#define NOW ((time_t)1764100000)

static struct fx F;
static struct ct_chain_report R;
static struct ct_rows ROWS;
static struct ct_pool_view PV;
static struct ct_row **PTR;
static struct ct_vis VIS;
static struct ct_strset TOGGLED;
static struct ct_vdi *TWIN_A, *TWIN_B, *WEB, *DB;

/* Two SRs whose names sort differently with and without case ("Beta" < "alpha" in the
 * engine's byte order); in "alpha" a stacked chain, a deep chain and two root disks with
 * the same name made in reverse uuid order; in "Beta" one plain disk. */
static void setup(void)
{
	struct ct_sr *alpha, *beta;

	fx_init(&F);
	memset(&R, 0, sizeof(R));
	memset(&ROWS, 0, sizeof(ROWS));
	memset(&VIS, 0, sizeof(VIS));
	memset(&TOGGLED, 0, sizeof(TOGGLED));
	PTR = NULL;
	alpha = fx_sr(&F, "alpha", "nfs", 1000 * FX_GIB, 400 * FX_GIB);
	beta = fx_sr(&F, "Beta", "ext", 1000 * FX_GIB, 100 * FX_GIB);
	TWIN_B = fx_vdi_o(&F, alpha, "twin", (struct fx_vdi_opts){ .uuid = "bbbbbbbb-0000-4000-8000-000000000001",
								  .type = CT_VDI_USER });
	TWIN_A = fx_vdi_o(&F, alpha, "twin", (struct fx_vdi_opts){ .uuid = "aaaaaaaa-0000-4000-8000-000000000001",
								  .type = CT_VDI_USER });
	{
		struct ct_vm *tw = fx_vm(&F, "twins");

		fx_vbd(&F, tw, TWIN_A, "0");
		fx_vbd(&F, tw, TWIN_B, "1");
	}
	WEB = fx_stacked_vm(&F, alpha, "web", 3, NULL);
	DB = fx_deep_vm(&F, alpha, "db", 4, NULL);
	fx_vbd(&F, fx_vm(&F, "plain"), fx_vdi(&F, beta, "plain disk", NULL), "0");
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, NULL, &R), 0);
	memset(&PV, 0, sizeof(PV));
	PV.name = "lab";
	PV.state = CT_POOL_CONNECTED;
	PV.loaded = true;
}

static void teardown(void)
{
	free(PTR);
	ct_vis_release(&VIS);
	ct_strset_release(&TOGGLED);
	ct_rows_release(&ROWS);
	ct_chain_report_release(&R);
	fx_release(&F);
}

static void build(bool by_vm)
{
	ROWS.n = 0;
	ct_rows_build_pool(&ROWS, 0, &PV, &F.m, &R, by_vm, true, NOW);
	free(PTR);
	PTR = ct_xcalloc((size_t)ROWS.n + 1, sizeof(*PTR));
	for (int i = 0; i < ROWS.n; i++)
		PTR[i] = &ROWS.v[i];
}

static int row_index(const char *key)
{
	for (int i = 0; i < ROWS.n; i++)
		if (!strcmp(ROWS.v[i].key, key))
			return i;
	return -1;
}

static int vdi_row(const struct ct_vdi *v)
{
	char key[CT_ROW_KEY];

	snprintf(key, sizeof(key), "d:%s", v->o.uuid);
	return row_index(key);
}

static bool visible(const char *key)
{
	for (int i = 0; i < VIS.n; i++)
		if (!strcmp(ROWS.v[VIS.idx[i]].key, key))
			return true;
	return false;
}

START_TEST(order_is_the_engines)
{
	int k = 0, vi = 0;

	build(false);
	ck_assert_int_eq(ROWS.v[0].kind, CT_ROW_POOL);
	ck_assert_str_eq(ROWS.v[0].key, "p:lab");
	/* SR after SR in the report's order, each followed by its VDIs in report preorder */
	for (int s = 0; s < R.n_srs; s++) {
		const struct ct_sr_verdict *sv = &R.srs[s];

		k++;
		ck_assert_int_lt(k, ROWS.n);
		ck_assert_int_eq(ROWS.v[k].kind, CT_ROW_SR);
		ck_assert_str_eq(ROWS.v[k].uuid, sv->sr->o.uuid);
		for (int i = 0; i < sv->n_vdi_verdicts; i++) {
			k++;
			ck_assert_int_lt(k, ROWS.n);
			ck_assert_int_eq(ROWS.v[k].kind, CT_ROW_VDI);
			ck_assert_str_eq(ROWS.v[k].uuid, R.vdis[sv->first_vdi + i].vdi->o.uuid);
			vi++;
		}
	}
	ck_assert_int_eq(k, ROWS.n - 1);
	ck_assert_int_eq(vi, R.n_vdis);
	/* byte order, as `tree`: "Beta" before "alpha" */
	ck_assert_str_eq(ROWS.v[1].name, "Beta");
	/* same name, same parent (none): the uuid decides */
	ck_assert_int_ge(vdi_row(TWIN_A), 0);
	ck_assert_int_lt(vdi_row(TWIN_A), vdi_row(TWIN_B));
}
END_TEST

START_TEST(order_is_stable_across_rebuilds)
{
	char first[64][CT_ROW_KEY];
	int n;

	build(false);
	n = ROWS.n < 64 ? ROWS.n : 64;
	for (int i = 0; i < n; i++)
		snprintf(first[i], sizeof(first[i]), "%s", ROWS.v[i].key);
	ct_chain_report_release(&R);
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW + 60, NULL, &R), 0);
	build(false);
	ck_assert_int_eq(ROWS.n < 64 ? ROWS.n : 64, n);
	for (int i = 0; i < n; i++)
		ck_assert_str_eq(ROWS.v[i].key, first[i]);
}
END_TEST

START_TEST(tree_shape)
{
	build(false);
	for (int i = 1; i < ROWS.n; i++) {
		const struct ct_row *r = &ROWS.v[i];
		int p = row_index(r->parent_key);

		ck_assert_msg(p >= 0 && p < i, "row %s: parent %s not above it", r->key, r->parent_key);
		ck_assert_int_eq(r->level, ROWS.v[p].level + 1);
		ck_assert(ROWS.v[p].has_children);
	}
	/* the stacked chain: three base copies, then the disk, one level each */
	{
		int d = vdi_row(WEB);

		ck_assert_int_ge(d, 0);
		ck_assert_int_eq(ROWS.v[d].level, 2 + 3);
		ck_assert(ROWS.v[d].problem);
		ck_assert_str_eq(ROWS.v[d].state, "STACKED");
		ck_assert(!ROWS.v[d].has_children);
		ck_assert_str_eq(ROWS.v[d].name, "web xvda");
	}
	/* the deep chain's disk, at depth 4 */
	{
		int d = vdi_row(DB);

		ck_assert_int_ge(d, 0);
		ck_assert_int_eq(ROWS.v[d].depth, 4);
		ck_assert_int_eq(ROWS.v[d].level, 2 + 3);
	}
}
END_TEST

START_TEST(filter_keeps_matches_and_ancestors)
{
	char sr_key[CT_ROW_KEY];

	build(false);
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "TWIN", false);
	ck_assert_int_eq(VIS.n, 4);   /* pool, SR alpha, the two twins */
	ck_assert(visible("p:lab"));
	snprintf(sr_key, sizeof(sr_key), "%s", ROWS.v[vdi_row(TWIN_A)].parent_key);
	ck_assert(visible(sr_key));
	ck_assert_str_eq(ROWS.v[row_index(sr_key)].name, "alpha");
	ck_assert(visible(ROWS.v[vdi_row(TWIN_A)].key));
	ck_assert(visible(ROWS.v[vdi_row(TWIN_B)].key));
	/* nothing matches */
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "no such name", false);
	ck_assert_int_le(VIS.n, 1);
	ck_assert(VIS.n == 0 || !strcmp(ROWS.v[VIS.idx[0]].key, "p:lab"));
	/* a match inside a collapsed SR still shows */
	ct_strset_add(&TOGGLED, sr_key);
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "twin", false);
	ck_assert_int_eq(VIS.n, 4);
}
END_TEST

/* visible rows whose name starts with name */
static int visible_named(const char *name)
{
	int c = 0;

	for (int i = 0; i < VIS.n; i++)
		c += !strncmp(ROWS.v[VIS.idx[i]].name, name, strlen(name));
	return c;
}

/* A match on a VM's disk keeps its whole chain: the base copies and the snapshot disks of
 * the VM, whose names ("snap") do not contain the VM's; other chains stay hidden. */
START_TEST(filter_keeps_the_whole_chain)
{
	build(false);
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "db", false);
	ck_assert(visible(ROWS.v[vdi_row(DB)].key));
	ck_assert_int_eq(visible_named("snap"), 3);
	ck_assert_int_eq(visible_named("base copy"), 3);
	ck_assert(!visible(ROWS.v[vdi_row(WEB)].key));
	ck_assert(!visible(ROWS.v[vdi_row(TWIN_A)].key));
	/* the web chain has no snapshots: its base copies only */
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "WEB", false);
	ck_assert(visible(ROWS.v[vdi_row(WEB)].key));
	ck_assert_int_eq(visible_named("snap"), 0);
	ck_assert_int_eq(visible_named("base copy"), 3);
	/* problems only with a filter: the chain's rows without a problem stay hidden */
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "db", true);
	ck_assert_int_eq(visible_named("snap"), 0);
	/* VM grouping: the VM row brings its disks and their chains */
	build(true);
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "db", false);
	ck_assert_int_eq(visible_named("base copy"), 3);
	ck_assert_int_eq(visible_named("xvda 'web'"), 0);
}
END_TEST

/* Every row's parent is the nearest row above it one level up (a preorder). */
static void assert_preorder(void)
{
	for (int i = 1; i < ROWS.n; i++) {
		int j = i - 1;

		if (PTR[i]->level == 0)
			continue;
		while (j >= 0 && PTR[j]->level >= PTR[i]->level)
			j--;
		ck_assert_int_ge(j, 0);
		ck_assert_str_eq(PTR[j]->key, PTR[i]->parent_key);
	}
}

static int ptr_index(const struct ct_vdi *v)
{
	char key[CT_ROW_KEY];

	snprintf(key, sizeof(key), "d:%s", v->o.uuid);
	for (int i = 0; i < ROWS.n; i++)
		if (!strcmp(PTR[i]->key, key))
			return i;
	return -1;
}

/* s in the tree: siblings move with their subtrees; ties keep the engine's order. */
START_TEST(sort_moves_subtrees)
{
	int twin_a, twin_b, web, db;

	build(false);
	ct_rows_sort(PTR, ROWS.n, CT_TSORT_DEPTH);
	assert_preorder();
	db = ptr_index(DB);
	web = ptr_index(WEB);
	twin_a = ptr_index(TWIN_A);
	twin_b = ptr_index(TWIN_B);
	ck_assert_int_eq(PTR[db]->depth, 4);
	ck_assert_int_eq(PTR[web]->depth, 4);   /* three base copies and the disk */
	ck_assert_int_lt(db, twin_b);   /* the deep chains before the lone disks */
	ck_assert_int_lt(web, twin_b);
	ck_assert_int_lt(twin_a, twin_b);   /* a tie keeps the engine's order (uuid tie-break) */
	ck_assert_int_eq(PTR[0]->level, 0);   /* the pool stays first */

	build(false);
	ct_rows_sort(PTR, ROWS.n, CT_TSORT_PENDING);
	assert_preorder();
	ck_assert_int_lt(ptr_index(WEB), ptr_index(DB));   /* web's stacked chain waits for the GC */

	build(false);
	ct_rows_sort(PTR, ROWS.n, CT_TSORT_NAME);
	assert_preorder();
	/* the SRs by name, case-insensitive: alpha before Beta */
	for (int i = 0, seen_alpha = 0; i < ROWS.n; i++) {
		if (PTR[i]->kind != CT_ROW_SR)
			continue;
		if (!strcmp(PTR[i]->name, "alpha"))
			seen_alpha = 1;
		else
			ck_assert(seen_alpha);
	}
	ck_assert_str_eq(ct_tree_sort_name(CT_TSORT_SIZE), "size");

	build(true);
	ct_rows_sort(PTR, ROWS.n, CT_TSORT_SIZE);
	assert_preorder();
}
END_TEST

static const struct ct_row *vm_row(const char *name)
{
	for (int i = 0; i < ROWS.n; i++)
		if (ROWS.v[i].kind == CT_ROW_VM && !strcmp(ROWS.v[i].name, name))
			return &ROWS.v[i];
	return NULL;
}

/* VM grouping: a VM row says its disks' worst state, so a closed VM row shows it too. */
START_TEST(vm_rolls_up_its_disks)
{
	const struct ct_row *web, *plain, *disk = NULL;

	build(true);
	web = vm_row("web");
	plain = vm_row("plain");
	ck_assert_ptr_nonnull(web);
	ck_assert_ptr_nonnull(plain);
	for (int i = 0; i < ROWS.n; i++)
		if (ROWS.v[i].kind == CT_ROW_VDI && !strcmp(ROWS.v[i].parent_key, web->key))
			disk = &ROWS.v[i];
	ck_assert_ptr_nonnull(disk);
	/* web's stacked chain: a problem somewhere below it */
	ck_assert(web->problem);
	ck_assert_str_ne(web->state, "ok");
	ck_assert_int_ge(ct_severity_rank(web->sev), ct_severity_rank(disk->sev));
	ck_assert(!plain->problem);
	ck_assert_str_eq(plain->state, "ok");
	/* problems only: the VM, its disk and the base copies the disk waits on stay */
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "", true);
	ck_assert(visible(web->key));
	ck_assert(visible(disk->key));
	ck_assert_int_eq(visible_named("base copy"), 3);   /* web's, stacked themselves */
	ck_assert(!visible(plain->key));
	/* db's disk too deep (warn_depth 4): the base copies it waits on are fine themselves,
	 * and stay with it */
	ct_chain_report_release(&R);
	memset(&R, 0, sizeof(R));
	F.c.health.warn_depth = 4;
	ck_assert_int_eq(ct_chain_eval(&F.m, &F.c, &F.pc, NOW, NULL, &R), 0);
	build(true);
	ck_assert(vm_row("db")->problem);
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "", true);
	ck_assert_int_eq(visible_named("base copy"), 6);
	ck_assert_int_eq(visible_named("snap"), 0);   /* its snapshots are not waited on */
}
END_TEST

/* The filter ignores case for all of Unicode, not only ASCII (strcasestr's limit). */
START_TEST(filter_is_unicode_case_insensitive)
{
	ck_assert(ct_text_match("Ärzte-DB", "ärzte"));
	ck_assert(ct_text_match("ärzte-db", "ÄRZTE"));
	ck_assert(ct_text_match("сервер-01", "СЕРВЕР"));
	ck_assert(ct_text_match("ΣΥΣΤΗΜΑ", "σύστημα") == false);   /* accents differ: no match */
	ck_assert(ct_text_match("ΣΥΣΤΗΜΑ", "συστημα"));
	ck_assert(ct_text_match("web01", "WEB0"));
	ck_assert(ct_text_match("anything", ""));
	ck_assert(!ct_text_match("", "a"));
	ck_assert(!ct_text_match("web01", "db"));
	/* bytes the locale cannot decode: compared as bytes, no crash */
	ck_assert(ct_text_match("bad\xff-Name", "NAME"));
	ck_assert(!ct_text_match("bad\xff-name", "zz"));
}
END_TEST

/* n/N in the tree jump between rows the filter matches themselves, not the parents kept
 * to show them. */
START_TEST(row_matches_itself)
{
	char sr_key[CT_ROW_KEY];

	build(false);
	snprintf(sr_key, sizeof(sr_key), "%s", ROWS.v[vdi_row(TWIN_A)].parent_key);
	ck_assert(ct_row_matches(&ROWS.v[vdi_row(TWIN_A)], "twin"));
	ck_assert(!ct_row_matches(&ROWS.v[row_index(sr_key)], "twin"));
	ck_assert(!ct_row_matches(&ROWS.v[row_index("p:lab")], "twin"));
}
END_TEST

START_TEST(problems_only)
{
	int shown_problems = 0;

	build(false);
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "", true);
	ck_assert_int_gt(VIS.n, 0);
	ck_assert_int_lt(VIS.n, ROWS.n);
	/* the stacked disk shows with every row above it; the healthy twins do not */
	for (int i = vdi_row(WEB); i >= 0; i = row_index(ROWS.v[i].parent_key)) {
		ck_assert_msg(visible(ROWS.v[i].key), "%s hidden", ROWS.v[i].key);
		if (!ROWS.v[i].parent_key[0])
			break;
	}
	ck_assert(!visible(ROWS.v[vdi_row(TWIN_A)].key));
	ck_assert(!visible(ROWS.v[vdi_row(TWIN_B)].key));
	/* every row shown is a problem or holds one below it */
	for (int i = 0; i < VIS.n; i++) {
		const struct ct_row *r = &ROWS.v[VIS.idx[i]];
		bool holds = r->problem;

		for (int k = VIS.idx[i] + 1; k < ROWS.n && !holds && ROWS.v[k].level > r->level; k++)
			holds = ROWS.v[k].problem;
		ck_assert_msg(holds, "%s shown without a problem below it", r->key);
		shown_problems += r->problem;
	}
	ck_assert_int_gt(shown_problems, 0);
	/* the tree prefix codes end with the row's own tee or last mark */
	for (int i = 1; i < VIS.n; i++) {
		size_t l = strlen(VIS.tree[i]);

		ck_assert_int_gt(l, 0);
		ck_assert(VIS.tree[i][l - 1] == 't' || VIS.tree[i][l - 1] == 'l');
	}
}
END_TEST

START_TEST(collapse_hides_children)
{
	int all, d;
	char sr_key[CT_ROW_KEY];

	build(false);
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "", false);
	all = VIS.n;
	ck_assert_int_eq(all, ROWS.n);   /* everything open by default */
	d = vdi_row(WEB);
	snprintf(sr_key, sizeof(sr_key), "%s", ROWS.v[d].parent_key);
	while (strncmp(sr_key, "s:", 2))
		snprintf(sr_key, sizeof(sr_key), "%s", ROWS.v[row_index(sr_key)].parent_key);
	ct_strset_add(&TOGGLED, sr_key);
	ct_vis_build(&VIS, PTR, ROWS.n, &TOGGLED, "", false);
	ck_assert(visible(sr_key));
	ck_assert(!visible(ROWS.v[d].key));
	ck_assert(!visible(ROWS.v[vdi_row(TWIN_A)].key));
	ck_assert(visible("p:lab"));
	ck_assert_int_lt(VIS.n, all);
}
END_TEST

START_TEST(by_vm_follows_the_report)
{
	int k = 0;

	build(true);
	for (int i = 0; i < ROWS.n; i++) {
		if (ROWS.v[i].kind != CT_ROW_VM)
			continue;
		ck_assert_int_lt(k, R.n_vms);
		ck_assert_str_eq(ROWS.v[i].uuid, R.vms[k].vm->o.uuid);
		k++;
	}
	ck_assert_int_eq(k, R.n_vms);
	ck_assert_int_eq(k, 4);   /* twins, web, db, plain: snapshot VMs are not VMs here */
}
END_TEST

START_TEST(not_loaded_is_a_note)
{
	PV.loaded = false;
	snprintf(PV.error, sizeof(PV.error), "connection refused");
	build(false);
	ck_assert_int_eq(ROWS.n, 2);
	ck_assert_int_eq(ROWS.v[1].kind, CT_ROW_NOTE);
	ck_assert_ptr_nonnull(strstr(ROWS.v[1].name, "connection refused"));
}
END_TEST

START_TEST(skip_and_width)
{
	ck_assert_int_eq(ct_ui_width("abc"), 3);
	ck_assert_int_eq(ct_ui_width("d\xc3\xa9j\xc3\xa0"), 4);          /* déjà */
	ck_assert_int_eq(ct_ui_width("\xe2\x94\x9c\xe2\x94\x80 x"), 4);   /* ├─ x */
	ck_assert_str_eq(ct_ui_skip("abcdef", 0), "abcdef");
	ck_assert_str_eq(ct_ui_skip("abcdef", 2), "cdef");
	ck_assert_str_eq(ct_ui_skip("abcdef", 10), "");
	/* never inside a character */
	ck_assert_str_eq(ct_ui_skip("d\xc3\xa9j\xc3\xa0", 2), "j\xc3\xa0");
}
END_TEST

struct keys {
	const char *const *v;
	int n;
};

static void key_of(void *ctx, int i, char *buf, size_t len)
{
	const struct keys *k = ctx;

	snprintf(buf, len, "%s", k->v[i]);
}

START_TEST(list_keeps_the_object)
{
	static const char *const before[] = { "a", "b", "c", "d", "e" };
	static const char *const after[] = { "a", "d" };     /* b, c, e gone under a filter */
	static const char *const none[] = { "x" };
	struct keys k = { before, 5 };
	struct ct_ui_list l;

	memset(&l, 0, sizeof(l));
	ck_assert(ct_list_move(&l, ACT_END, k.n, 2));
	ck_assert_int_eq(l.sel, 4);
	ck_assert(ct_list_move(&l, ACT_UP, k.n, 2));
	ct_list_remember(&l, k.n, key_of, &k);
	ck_assert_str_eq(l.key, "d");
	/* the list shrinks: d is now at 1 */
	k.v = after;
	k.n = 2;
	ck_assert(ct_list_restore(&l, k.n, key_of, &k));
	ck_assert_int_eq(l.sel, 1);
	/* d is gone too: the position is kept inside the new list, never past its end */
	k.v = none;
	k.n = 1;
	ck_assert(!ct_list_restore(&l, k.n, key_of, &k));
	ck_assert_int_eq(l.sel, 0);
	k.n = 0;
	ck_assert(!ct_list_restore(&l, k.n, key_of, &k));
	ck_assert_int_eq(l.sel, 0);
	ck_assert_int_eq(ct_list_find(0, "d", key_of, &k), -1);
	ck_assert(!ct_list_move(&l, ACT_ENTER, 3, 2));
}
END_TEST

/* n/N: the next or previous entry that matches, from the selection, wrapping around. */
static bool even_match(void *ctx, int i)
{
	(void)ctx;
	return i % 2 == 0;
}

static bool no_match(void *ctx, int i)
{
	(void)ctx;
	(void)i;
	return false;
}

START_TEST(list_next_match_wraps)
{
	struct ct_ui_list l;
	bool wrapped;

	memset(&l, 0, sizeof(l));
	l.sel = 1;
	ck_assert_int_eq(ct_list_next_match(&l, 5, 1, even_match, NULL, &wrapped), 2);
	ck_assert(!wrapped);
	ck_assert_int_eq(ct_list_next_match(&l, 5, -1, even_match, NULL, &wrapped), 0);
	ck_assert(!wrapped);
	l.sel = 4;
	ck_assert_int_eq(ct_list_next_match(&l, 5, 1, even_match, NULL, &wrapped), 0);
	ck_assert(wrapped);
	l.sel = 0;
	ck_assert_int_eq(ct_list_next_match(&l, 5, -1, even_match, NULL, &wrapped), 4);
	ck_assert(wrapped);
	/* the only match is the selection itself: n stays there, and has gone round */
	l.sel = 0;
	ck_assert_int_eq(ct_list_next_match(&l, 1, 1, even_match, NULL, &wrapped), 0);
	ck_assert(wrapped);
	ck_assert_int_eq(ct_list_next_match(&l, 5, 1, no_match, NULL, &wrapped), -1);
	ck_assert(!wrapped);
	ck_assert_int_eq(ct_list_next_match(&l, 0, 1, even_match, NULL, &wrapped), -1);
}
END_TEST

START_TEST(list_sideways)
{
	struct ct_ui_list l;

	memset(&l, 0, sizeof(l));
	ck_assert(ct_list_side(&l, ACT_RIGHT));
	ck_assert_int_eq(l.xoff, CT_LIST_SIDE_STEP);
	/* the text fits: back to the start, no hint */
	ct_list_side_clamp(&l, 30, 40);
	ck_assert_int_eq(l.xoff, 0);
	ck_assert_str_eq(ct_list_side_hint(&l, 30, 40), "");
	ck_assert_str_eq(ct_list_side_hint(&l, 100, 40), " (> scrolls)");
	/* far right: stops where the end shows (one cell marks the hidden start) */
	for (int i = 0; i < 10; i++)
		ct_list_side(&l, ACT_RIGHT);
	ct_list_side_clamp(&l, 100, 40);
	ck_assert_int_eq(l.xoff, 100 - 39);
	ck_assert_str_eq(ct_list_side_hint(&l, 100, 40), " (scrolled: < back)");
	ct_list_side(&l, ACT_LEFT);
	ck_assert_int_eq(l.xoff, 100 - 39 - CT_LIST_SIDE_STEP);
	ck_assert_str_eq(ct_list_side_hint(&l, 100, 40), " (scrolled: < back, > on)");
	for (int i = 0; i < 10; i++)
		ct_list_side(&l, ACT_LEFT);
	ck_assert_int_eq(l.xoff, 0);
	ck_assert(!ct_list_side(&l, ACT_UP));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rows");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	/* as the console runs: widths of UTF-8 text */
	setlocale(LC_ALL, "C.UTF-8");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, order_is_the_engines);
	tcase_add_test(tc, order_is_stable_across_rebuilds);
	tcase_add_test(tc, tree_shape);
	tcase_add_test(tc, filter_keeps_matches_and_ancestors);
	tcase_add_test(tc, filter_is_unicode_case_insensitive);
	tcase_add_test(tc, filter_keeps_the_whole_chain);
	tcase_add_test(tc, sort_moves_subtrees);
	tcase_add_test(tc, vm_rolls_up_its_disks);
	tcase_add_test(tc, row_matches_itself);
	tcase_add_test(tc, problems_only);
	tcase_add_test(tc, collapse_hides_children);
	tcase_add_test(tc, by_vm_follows_the_report);
	tcase_add_test(tc, not_loaded_is_a_note);
	tcase_add_test(tc, skip_and_width);
	tcase_add_test(tc, list_keeps_the_object);
	tcase_add_test(tc, list_sideways);
	tcase_add_test(tc, list_next_match_wraps);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
