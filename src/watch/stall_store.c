/* stall_store.c - the coalesce stall memory on disk (stall_store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "watch/stall_store.h"
#include "lib/util.h"

int ct_stall_load(struct ct_stall *s, const char *path, struct ct_err *e)
{
	json_error_t je;
	json_t *root, *arr;
	size_t i;
	FILE *f = fopen(path, "r");

	memset(s, 0, sizeof(*s));
	if (!f)
		return 0;   /* missing: nothing remembered yet */
	root = json_loadf(f, 0, &je);
	fclose(f);
	if (!root)
		return ct_err_set(e, CT_E_IO, "cannot read the coalesce stall memory '%s' (line %d: "
				  "%s): delete the file, it is rebuilt on the next run", path,
				  je.line, je.text);
	arr = json_object_get(root, "srs");
	if (!json_is_array(arr)) {
		json_decref(root);
		return ct_err_set(e, CT_E_IO, "the coalesce stall memory '%s' has no \"srs\" list: "
				  "delete the file, it is rebuilt on the next run", path);
	}
	s->cap = (int)json_array_size(arr) + 1;
	s->e = ct_xcalloc((size_t)s->cap, sizeof(*s->e));
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *o = json_array_get(arr, i);
		const char *u = json_string_value(json_object_get(o, "sr_uuid"));
		struct ct_stall_entry *en;

		if (!u || strlen(u) >= sizeof(en->sr_uuid))
			continue;
		en = &s->e[s->n++];
		snprintf(en->sr_uuid, sizeof(en->sr_uuid), "%s", u);
		en->pending = (int)json_integer_value(json_object_get(o, "pending"));
		en->since = (time_t)json_integer_value(json_object_get(o, "since"));
		en->gc_progress = json_is_number(json_object_get(o, "gc_progress")) ?
			json_number_value(json_object_get(o, "gc_progress")) : -1;
		en->gc_progress_at = (time_t)json_integer_value(json_object_get(o, "gc_progress_at"));
		en->gc_seen_at = (time_t)json_integer_value(json_object_get(o, "gc_seen_at"));
		en->gc_failed_at = (time_t)json_integer_value(json_object_get(o, "gc_failed_at"));
		en->work_last = (int64_t)json_integer_value(json_object_get(o, "work_bytes"));
		en->work_at = (time_t)json_integer_value(json_object_get(o, "work_at"));
		en->rate = json_number_value(json_object_get(o, "rate"));
		{
			const char *gt = json_string_value(json_object_get(o, "gc_task"));
			json_t *ca = json_object_get(o, "candidates");

			en->gc_task = gt ? strtoull(gt, NULL, 16) : 0;
			for (size_t k = 0; json_is_array(ca) && k < json_array_size(ca); k++) {
				json_t *c = json_array_get(ca, k);
				const char *h = json_string_value(json_object_get(c, "h"));

				if (!h)
					continue;
				if (en->n_cand == en->cap_cand) {
					en->cap_cand = en->cap_cand ? en->cap_cand * 2 : 8;
					en->cand = ct_xrealloc(en->cand, (size_t)en->cap_cand *
							       sizeof(*en->cand));
				}
				en->cand[en->n_cand].h = strtoull(h, NULL, 16);
				en->cand[en->n_cand++].runs =
					(int)json_integer_value(json_object_get(c, "runs"));
			}
		}
	}
	arr = json_object_get(root, "paused");
	if (json_is_array(arr)) {
		s->pcap = (int)json_array_size(arr) + 1;
		s->p = ct_xcalloc((size_t)s->pcap, sizeof(*s->p));
		for (i = 0; i < json_array_size(arr); i++) {
			json_t *o = json_array_get(arr, i);
			const char *u = json_string_value(json_object_get(o, "vdi_uuid"));
			struct ct_paused_entry *pe;

			if (!u || strlen(u) >= sizeof(pe->vdi_uuid))
				continue;
			pe = &s->p[s->np++];
			snprintf(pe->vdi_uuid, sizeof(pe->vdi_uuid), "%s", u);
			pe->since = (time_t)json_integer_value(json_object_get(o, "since"));
		}
	}
	json_decref(root);
	return 0;
}

int ct_stall_save(const struct ct_stall *s, const char *path, struct ct_err *e)
{
	json_t *root = json_object(), *arr = json_array();
	char *tmp = ct_xasprintf("%s.%ld.tmp", path, (long)getpid());
	int rc = -1, fd;
	FILE *f;

	json_object_set_new(root, "version", json_integer(1));
	for (int i = 0; i < s->n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "sr_uuid", json_string(s->e[i].sr_uuid));
		json_object_set_new(o, "pending", json_integer(s->e[i].pending));
		json_object_set_new(o, "since", json_integer((json_int_t)s->e[i].since));
		json_object_set_new(o, "gc_progress", s->e[i].gc_progress >= 0 ?
				    json_real(s->e[i].gc_progress) : json_null());
		json_object_set_new(o, "gc_progress_at", json_integer((json_int_t)s->e[i].gc_progress_at));
		json_object_set_new(o, "gc_seen_at", json_integer((json_int_t)s->e[i].gc_seen_at));
		json_object_set_new(o, "gc_failed_at", json_integer((json_int_t)s->e[i].gc_failed_at));
		json_object_set_new(o, "work_bytes", json_integer((json_int_t)s->e[i].work_last));
		json_object_set_new(o, "work_at", json_integer((json_int_t)s->e[i].work_at));
		json_object_set_new(o, "rate", json_real(s->e[i].rate));
		if (s->e[i].gc_task || s->e[i].n_cand) {
			json_t *ca = json_array();
			char h[24];

			snprintf(h, sizeof(h), "%llx", (unsigned long long)s->e[i].gc_task);
			json_object_set_new(o, "gc_task", json_string(h));
			for (int k = 0; k < s->e[i].n_cand; k++) {
				json_t *c = json_object();

				snprintf(h, sizeof(h), "%llx", (unsigned long long)s->e[i].cand[k].h);
				json_object_set_new(c, "h", json_string(h));
				json_object_set_new(c, "runs", json_integer(s->e[i].cand[k].runs));
				json_array_append_new(ca, c);
			}
			json_object_set_new(o, "candidates", ca);
		}
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "srs", arr);
	arr = json_array();
	for (int i = 0; i < s->np; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "vdi_uuid", json_string(s->p[i].vdi_uuid));
		json_object_set_new(o, "since", json_integer((json_int_t)s->p[i].since));
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "paused", arr);
	fd = ct_open_private(tmp, O_CREAT | O_EXCL);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || json_dumpf(root, f, JSON_INDENT(1)) < 0 || fflush(f) == EOF) {
		ct_err_set(e, CT_E_IO, "cannot write the coalesce stall memory '%s': %s; check that "
			   "the state directory exists and is writable", tmp,
			   strerror(errno ? errno : EIO));
		if (f)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		if (fd >= 0)
			remove(tmp);
		goto out;
	}
	if (fclose(f) == EOF) {
		ct_err_set(e, CT_E_IO, "cannot write the coalesce stall memory '%s': %s", tmp,
			   strerror(errno));
		remove(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		ct_err_set(e, CT_E_IO, "cannot replace '%s' with '%s': check the state directory's "
			   "permissions", path, tmp);
		remove(tmp);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	free(tmp);
	return rc;
}
