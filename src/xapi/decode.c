/* decode.c - streaming decoder for XAPI's XML-RPC replies (see decode.h).
 *
 * Two layers in one pass. A tokenizer gives elements and text; a stack with one frame per
 * <value> element gives each value a role, chosen by the role of the enclosing value and the
 * current struct member name (envelope -> Value -> ref -> record -> field -> set item ...).
 * A value whose role is "skip" (unknown fields, members chaintop does not keep) is passed
 * over without storing its text or pushing frames. Three fast paths (skip_fast,
 * members_fast, plain_fast) read the common forms (plain tags, plain text, whole members
 * chaintop skips) straight from the buffer and hand the rest back to the tokenizer at the
 * byte where they stop, with the state it would have there: they check what it checks, so
 * no input is accepted or refused differently, whatever the chunking (fuzz/fuzz_decode.c
 * compares both with libexpat without exceptions for skipped members).
 *
 * The tokenizer is written for the XML XML-RPC uses (elements, attributes it checks and
 * ignores, text, the five predefined entities and character references, an optional UTF-8
 * byte order mark and <?xml?> declaration, processing instructions it skips) and refuses
 * the rest (DOCTYPE, entity declarations, CDATA, comments, mismatched or unclosed tags,
 * characters XML 1.0 does not allow, encodings other than UTF-8). Kept text gets XML's
 * end-of-line handling (CR LF and CR become LF). Chunk boundaries never change the result:
 * every piece of state that spans bytes (tag, reference, CR, quote, BOM) lives in the
 * decoder. It is chaintop's own XML tokenizer, not libexpat (which only the fuzz harness
 * links, as a reference for well-formedness): libexpat alone needed 0.88 s for the 83 MB a
 * 2000-VM pool sends, more than the whole budget; this one skims the text it does not keep
 * with memchr (and checks it for control characters eight bytes at a time). Text outside
 * the values chaintop keeps is not checked for entities, so a stray '&' in a map key of a
 * field chaintop ignores (xapi does not escape map keys) does not break the whole load.
 * Invalid UTF-8 in kept text becomes U+FFFD rather than failing the load. */
#include "xapi/decode.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/htab.h"
#include "lib/util.h"

/* ---- field tables ---------------------------------------------------------------------- */

/* Fields come from the record lists of model.h (ct_class_fields). Lookup by member name: a
 * hash table per class (lib/htab.h), built once. Records have up to ~100 members, of which
 * chaintop keeps ~20: most lookups are misses, which end at the first empty slot. */
static const struct ct_field *class_field[CT_NCLASSES];
static struct ct_htab field_tab[CT_NCLASSES];
static pthread_once_t field_once = PTHREAD_ONCE_INIT;

/* FNV-1a: the tokenizer's hash of element names. */
static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The hash a member name is looked up by: its length and three of its bytes tell chaintop's
 * fields apart well enough (a candidate is confirmed on the whole name), and cost nothing
 * next to a hash of every byte (every member of every record is looked up). */
static inline uint64_t field_key(const char *s, size_t n)
{
	uint64_t k = n ? ((uint64_t)n << 24 | (uint64_t)(unsigned char)s[0] << 16 |
			  (uint64_t)(unsigned char)s[n - 1] << 8 | (unsigned char)s[n / 2]) : 0;

	/* one multiply carries those 32 bits into the high half, where the table's tag is */
	return (k + 1) * 0x9e3779b97f4a7c15ULL;
}

static void field_init(void)
{
	for (int c = 0; c < CT_NCLASSES; c++) {
		size_t n;

		class_field[c] = ct_class_fields((enum ct_class)c, &n);
		ct_htab_reset(&field_tab[c], n);
		for (size_t i = 0; i < n; i++)
			ct_htab_add(&field_tab[c], field_key(class_field[c][i].name,
							     class_field[c][i].len), (uint32_t)i);
	}
}

static const struct ct_field *field_find(enum ct_class c, const char *name, size_t n)
{
	struct ct_hprobe p;
	long v;

	for (ct_htab_probe(&field_tab[c], field_key(name, n), &p);
	     (v = ct_htab_next(&field_tab[c], &p)) >= 0;)
		if (class_field[c][v].len == n && !memcmp(class_field[c][v].name, name, n))
			return &class_field[c][v];
	return NULL;
}

/* ---- decoder state --------------------------------------------------------------------- */

enum role {
	R_SKIP,
	R_IGNORE,       /* a container we read through but keep nothing of */
	R_ENVELOPE,
	R_STATUS,
	R_ERRDESC,
	R_ERRITEM,
	R_RECMAP,
	R_RECORD,
	R_FIELD,
	R_SETITEM,
	R_MAPITEM,
	R_MAPVALITEM,
	R_EVRESULT,
	R_EVARRAY,
	R_EVENT,
	R_EVCLASS,
	R_EVOP,
	R_EVREF,
	R_REFCOUNTS,
	R_REFCOUNT,
	R_TOKEN,
	R_TOPSTRING,
	R_TOPSET,
	R_TOPSETITEM,
	R_FAULTV,
	R_FAULTCODE,
	R_FAULTSTR,
};

enum scalar_type { T_BARE, T_STRING, T_INT, T_BOOL, T_DOUBLE, T_TIME, T_BASE64, T_NIL };

struct frame {
	unsigned char role;
	char kind;                  /* 0 until <struct> ('S') or <array> ('A') is seen */
	unsigned char scalar;       /* enum scalar_type once a type element is seen */
	bool typed;
	int depth;                  /* element depth of this <value> */
	const struct ct_field *fd;  /* R_FIELD */
	void *target;               /* R_FIELD: the field inside the record */
	struct ct_obj *obj;         /* R_RECORD: the record being filled (owned) */
	struct ct_sb name;          /* struct: current member name */
	bool has_name;
	/* R_EVENT */
	int ev_cls;                 /* -1 unknown or not kept, -2 not seen yet */
	int ev_op;                  /* -1 unknown */
	char *ev_ref;
	struct ct_obj *ev_snap;
};

#define TAG_MAX 1024        /* bytes between '<' and '>' (or "<?" and "?>") */
#define ENT_MAX 12          /* bytes between '&' and ';', leading zeros of a number aside */

enum tstate { TS_TEXT, TS_TAG, TS_ENTITY, TS_PI };

struct ct_decoder {
	/* tokenizer */
	enum tstate ts;
	char tagbuf[TAG_MAX + 1];
	size_t taglen;
	char quote;                 /* TS_TAG: inside an attribute value quoted with this */
	bool pi_q;                  /* TS_PI: the last byte was '?' */
	bool after_cr;              /* the last text byte was a CR (a following LF is dropped) */
	unsigned char bom;          /* bytes of a UTF-8 byte order mark read at the start */
	unsigned long long tag_at;  /* offset of the '<' of the current tag */
	char entbuf[ENT_MAX + 1];
	size_t entlen;
	bool ent_zero;              /* leading zeros of a character reference were dropped */
	uint32_t *tags;             /* hash of each open element's name */
	int ntags;
	bool seen_root, root_closed;
	enum ct_dec_kind kind;
	enum ct_class cls;
	ct_record_cb cb;
	void *ctx;
	size_t max_string, max_items;
	int max_depth;

	int depth;                  /* current element depth */
	int skip_until;             /* > 0: inside a skipped <value> at this depth */
	bool collect;               /* gather character data into text */
	bool in_name;
	bool in_param, in_fault, fault;
	char *fault_code, *fault_string;
	bool shape_bad;             /* STRING, SET: the Value has another shape */
	bool set_seen;
	struct ct_strset set;
	bool top_seen;
	bool failed, finished;
	struct ct_sb text;
	struct frame *fr;
	int nfr, cap;

	char *status;
	struct ct_strset errdesc;
	bool value_seen;
	struct ct_obj *single;
	struct ct_event_batch batch;
	char *str;
	size_t nrecords;
	unsigned long long bytes;
	struct ct_err err;
};

static void fail(struct ct_decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fix_utf8(struct ct_sb *sb);

static void fail(struct ct_decoder *d, const char *fmt, ...)
{
	va_list ap;

	if (d->failed)
		return;
	d->failed = true;
	d->err.code = CT_E_PROTO;
	d->err.xapi_code[0] = '\0';
	d->err.n_params = 0;
	va_start(ap, fmt);
	vsnprintf(d->err.msg, sizeof(d->err.msg), fmt, ap);
	va_end(ap);
}

static void frame_clear_payload(struct frame *f)
{
	ct_obj_free(f->obj);
	f->obj = NULL;
	ct_obj_free(f->ev_snap);
	f->ev_snap = NULL;
	free(f->ev_ref);
	f->ev_ref = NULL;
}

static struct frame *top(struct ct_decoder *d)
{
	return d->nfr > 0 ? &d->fr[d->nfr - 1] : NULL;
}

static struct frame *push(struct ct_decoder *d, enum role r)
{
	struct frame *f;

	if (d->nfr == d->cap) {
		int ncap = d->cap ? d->cap * 2 : 16;

		d->fr = ct_xrealloc(d->fr, (size_t)ncap * sizeof(*d->fr));
		for (int i = d->cap; i < ncap; i++) {
			memset(&d->fr[i], 0, sizeof(d->fr[i]));
			ct_sb_init(&d->fr[i].name);
		}
		d->cap = ncap;
	}
	f = &d->fr[d->nfr++];
	f->role = (unsigned char)r;
	f->kind = 0;
	f->scalar = T_BARE;
	f->typed = false;
	f->depth = d->depth;
	f->fd = NULL;
	f->target = NULL;
	f->obj = NULL;
	f->name.len = 0;
	f->name.buf[0] = '\0';
	f->has_name = false;
	f->ev_cls = -2;
	f->ev_op = -1;
	f->ev_ref = NULL;
	f->ev_snap = NULL;
	return f;
}

static void pop(struct ct_decoder *d)
{
	frame_clear_payload(&d->fr[d->nfr - 1]);
	d->nfr--;
}

static bool scalar_role(enum role r)
{
	switch (r) {
	case R_STATUS: case R_ERRITEM: case R_FIELD: case R_SETITEM: case R_MAPITEM:
	case R_MAPVALITEM: case R_EVCLASS: case R_EVOP: case R_EVREF: case R_REFCOUNT:
	case R_TOKEN: case R_TOPSTRING: case R_TOPSETITEM: case R_FAULTCODE: case R_FAULTSTR:
		return true;
	default:
		return false;
	}
}

static struct ct_obj *new_record(struct ct_decoder *d, enum ct_class c)
{
	(void)d;
	return ct_obj_new(c);
}

/* Role of a <value> that starts inside frame parent (NULL at the top). */
static enum role child_role(struct ct_decoder *d, struct frame *parent, struct ct_obj **obj)
{
	const char *nm;
	size_t nl;

	*obj = NULL;
	if (!parent) {
		if (d->kind == CT_DEC_FRAGMENT) {
			if (d->top_seen) {
				fail(d, "the task result holds more than one value");
				return R_SKIP;
			}
			d->top_seen = true;
			return R_TOPSTRING;
		}
		if (d->in_fault) {
			if (d->fault) {
				fail(d, "the XML-RPC fault holds more than one value");
				return R_SKIP;
			}
			d->fault = true;
			return R_FAULTV;
		}
		if (!d->in_param || d->top_seen) {
			fail(d, "unexpected <value> outside <param> in the reply");
			return R_SKIP;
		}
		d->top_seen = true;
		return R_ENVELOPE;
	}
	if (parent->kind == 'S' && !parent->has_name &&
	    parent->role != R_IGNORE && parent->role != R_SKIP) {
		fail(d, "a struct member without a <name> in the reply");
		return R_SKIP;
	}
	nm = parent->name.buf;
	nl = parent->name.len;
	switch ((enum role)parent->role) {
	case R_ENVELOPE:
		if (!strcmp(nm, "Status"))
			return R_STATUS;
		if (!strcmp(nm, "ErrorDescription"))
			return R_ERRDESC;
		if (!strcmp(nm, "Value")) {
			d->value_seen = true;
			switch (d->kind) {
			case CT_DEC_RECORDS:
				return R_RECMAP;
			case CT_DEC_RECORD:
				*obj = new_record(d, d->cls);
				return R_RECORD;
			case CT_DEC_EVENTS:
				return R_EVRESULT;
			case CT_DEC_STRING:
				return R_TOPSTRING;
			case CT_DEC_SET:
				return R_TOPSET;
			default:
				return R_SKIP;
			}
		}
		return R_SKIP;
	case R_ERRDESC:
		return parent->kind == 'A' ? R_ERRITEM : R_SKIP;
	case R_RECMAP:
		if (parent->kind != 'S')
			return R_SKIP;
		*obj = new_record(d, d->cls);
		return R_RECORD;
	case R_RECORD:
		if (parent->kind != 'S' || !parent->obj)
			return R_SKIP;
		return field_find(parent->obj->cls, nm, nl) ? R_FIELD : R_SKIP;
	case R_FIELD:
		if (!parent->fd)
			return R_SKIP;
		if (parent->fd->kind == CT_F_SET && parent->kind == 'A')
			return R_SETITEM;
		if (parent->fd->kind == CT_F_MAP && parent->kind == 'S')
			return R_MAPITEM;
		if (parent->fd->kind == CT_F_MAPVALS && parent->kind == 'S')
			return R_MAPVALITEM;
		return R_SKIP;
	case R_EVRESULT:
		if (parent->kind != 'S')
			return R_SKIP;
		if (!strcmp(nm, "events"))
			return R_EVARRAY;
		if (!strcmp(nm, "valid_ref_counts"))
			return R_REFCOUNTS;
		if (!strcmp(nm, "token"))
			return R_TOKEN;
		return R_SKIP;
	case R_EVARRAY:
		return parent->kind == 'A' ? R_EVENT : R_SKIP;
	case R_EVENT:
		if (parent->kind != 'S')
			return R_SKIP;
		if (!strcmp(nm, "class"))
			return R_EVCLASS;
		if (!strcmp(nm, "operation"))
			return R_EVOP;
		if (!strcmp(nm, "ref"))
			return R_EVREF;
		if (!strcmp(nm, "snapshot")) {
			/* xapi sends class before snapshot; if not, the snapshot is dropped and
			 * the event is delivered without it (the caller fetches the record). */
			if (parent->ev_cls < 0)
				return R_SKIP;
			*obj = new_record(d, (enum ct_class)parent->ev_cls);
			return R_RECORD;
		}
		return R_SKIP;
	case R_REFCOUNTS:
		return parent->kind == 'S' ? R_REFCOUNT : R_SKIP;
	case R_TOPSET:
		return parent->kind == 'A' ? R_TOPSETITEM : R_SKIP;
	case R_FAULTV:
		if (parent->kind != 'S')
			return R_SKIP;
		if (!strcmp(nm, "faultCode"))
			return R_FAULTCODE;
		if (!strcmp(nm, "faultString"))
			return R_FAULTSTR;
		return R_SKIP;
	default:
		return R_SKIP;
	}
}

/* ---- scalar values ---------------------------------------------------------------------- */

static bool parse_bool(const char *s)
{
	return !strcmp(s, "1") || !strcasecmp(s, "true");
}

static bool parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (!*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end != s && errno == 0) {
		while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
			end++;
		if (!*end) {
			*out = v;
			return true;
		}
	}
	/* a float where an int was expected ("1.0"): keep the integer part */
	{
		double dv = strtod(s, &end);

		if (end != s && dv > -9.2e18 && dv < 9.2e18) {
			*out = (int64_t)dv;
			return true;
		}
	}
	return false;
}

static void apply_field(struct ct_decoder *d, struct frame *f, const char *s, size_t n)
{
	void *p = f->target;
	int64_t iv;
	int ev;

	(void)d;
	switch ((enum ct_field_kind)f->fd->kind) {
	case CT_F_STR: {
		char **sp = p;

		free(*sp);
		*sp = ct_xstrndup(s, n);
		break;
	}
	case CT_F_BOOL:
		*(bool *)p = parse_bool(s);
		break;
	case CT_F_INT:
		if (parse_int(s, &iv))
			*(int64_t *)p = iv;
		break;
	case CT_F_DOUBLE: {
		char *end;
		double v = strtod(s, &end);

		if (end != s)
			*(double *)p = v;
		break;
	}
	case CT_F_TIME: {
		time_t t;

		/* an unparsable datetime reads as unset rather than failing the whole load */
		*(time_t *)p = ct_parse_xapi_time(s, &t) == 0 ? t : 0;
		break;
	}
	case CT_F_POWER:
		ev = ct_power_state_from_name(s);
		*(enum ct_power_state *)p = ev < 0 ? CT_POWER_UNKNOWN : (enum ct_power_state)ev;
		break;
	case CT_F_VDITYPE:
		ev = ct_vdi_type_from_name(s);
		*(enum ct_vdi_type *)p = ev < 0 ? CT_VDI_OTHER : (enum ct_vdi_type)ev;
		break;
	case CT_F_VBDTYPE:
		ev = ct_vbd_type_from_name(s);
		*(enum ct_vbd_type *)p = ev < 0 ? CT_VBD_OTHER : (enum ct_vbd_type)ev;
		break;
	case CT_F_VBDMODE:
		*(bool *)p = !strcasecmp(s, "RO");
		break;
	case CT_F_TASKSTATUS:
		ev = ct_task_status_from_name(s);
		if (ev >= 0)
			*(enum ct_task_status *)p = (enum ct_task_status)ev;
		break;
	case CT_F_SET:
	case CT_F_MAP:
	case CT_F_MAPVALS:
		/* a scalar where a set or map was expected (an empty value): leave it empty */
		break;
	}
}

static bool room_for(struct ct_decoder *d, size_t n)
{
	if (n >= d->max_items) {
		fail(d, "a set or map in the reply has more than %zu entries", d->max_items);
		return false;
	}
	return true;
}

static void deliver_scalar(struct ct_decoder *d, struct frame *f, struct frame *parent)
{
	const char *s = d->text.buf;
	size_t n = d->text.len;

	switch ((enum role)f->role) {
	case R_STATUS:
		free(d->status);
		d->status = ct_xstrndup(s, n);
		break;
	case R_ERRITEM:
		if (d->errdesc.n < 64)
			ct_strset_add(&d->errdesc, s);
		break;
	case R_FIELD:
		apply_field(d, f, s, n);
		break;
	case R_SETITEM:
	case R_MAPVALITEM: {
		struct ct_strset *set = parent->target;

		if (room_for(d, set->n))
			ct_strset_add(set, s);
		break;
	}
	case R_MAPITEM: {
		struct ct_map *m = parent->target;

		if (room_for(d, m->n))
			ct_map_set(m, parent->name.buf, s);
		break;
	}
	case R_EVCLASS:
		parent->ev_cls = ct_class_from_name(s);
		break;
	case R_EVOP:
		if (!strcmp(s, "add"))
			parent->ev_op = CT_EV_ADD;
		else if (!strcmp(s, "mod"))
			parent->ev_op = CT_EV_MOD;
		else if (!strcmp(s, "del"))
			parent->ev_op = CT_EV_DEL;
		break;
	case R_EVREF:
		free(parent->ev_ref);
		parent->ev_ref = ct_xstrndup(s, n);
		break;
	case R_REFCOUNT: {
		int c = ct_class_from_name(parent->name.buf);
		int64_t v;

		if (c >= 0 && parse_int(s, &v) && v >= 0 && v <= INT32_MAX)
			d->batch.valid_ref_counts[c] = (int)v;
		break;
	}
	case R_TOKEN:
		free(d->batch.token);
		d->batch.token = ct_xstrndup(s, n);
		break;
	case R_TOPSTRING:
		free(d->str);
		/* a boolean reads as the word, like every other XAPI client shows it */
		d->str = f->scalar == T_BOOL ? ct_xstrdup(parse_bool(s) ? "true" : "false") :
			 ct_xstrndup(s, n);
		break;
	case R_TOPSETITEM:
		if (room_for(d, d->set.n))
			ct_strset_add(&d->set, s);
		break;
	case R_FAULTCODE:
		free(d->fault_code);
		d->fault_code = ct_xstrndup(s, n);
		break;
	case R_FAULTSTR:
		free(d->fault_string);
		d->fault_string = ct_xstrndup(s, n);
		break;
	default:
		break;
	}
}

/* A value frame ends: hand its product to its parent. */
static void end_value(struct ct_decoder *d)
{
	struct frame *f = top(d);
	struct frame *parent = d->nfr >= 2 ? &d->fr[d->nfr - 2] : NULL;

	if (f->kind == 0) {
		if (scalar_role((enum role)f->role)) {
			fix_utf8(&d->text);
			deliver_scalar(d, f, parent);
		}
	} else if (f->role == R_RECORD && f->obj && f->kind == 'S') {
		struct ct_obj *o = f->obj;

		f->obj = NULL;
		if (parent && parent->role == R_RECMAP) {
			o->ref = ct_xstrndup(parent->name.buf, parent->name.len);
			d->nrecords++;
			if (d->cb)
				d->cb(d->ctx, o);
			else
				ct_obj_free(o);
		} else if (parent && parent->role == R_EVENT) {
			ct_obj_free(parent->ev_snap);
			parent->ev_snap = o;
		} else {
			ct_obj_free(d->single);
			d->single = o;
		}
	} else if (f->role == R_EVENT && f->kind == 'S') {
		if (f->ev_cls >= 0 && f->ev_op >= 0 && f->ev_ref && f->ev_ref[0]) {
			struct ct_event_batch *b = &d->batch;
			struct ct_event *ev;

			if (!room_for(d, b->n))
				return;
			if (b->n == b->cap) {
				b->cap = b->cap ? b->cap * 2 : 16;
				b->ev = ct_xrealloc(b->ev, b->cap * sizeof(*b->ev));
			}
			ev = &b->ev[b->n++];
			ev->op = (enum ct_event_op)f->ev_op;
			ev->cls = (enum ct_class)f->ev_cls;
			ev->ref = f->ev_ref;
			f->ev_ref = NULL;
			ev->snapshot = NULL;
			if (f->ev_op != CT_EV_DEL && f->ev_snap) {
				ev->snapshot = f->ev_snap;
				f->ev_snap = NULL;
				if (!ev->snapshot->ref)
					ev->snapshot->ref = ct_xstrdup(ev->ref);
			}
		}
	}
}

/* ---- element handlers --------------------------------------------------------------------- */

enum elem {
	E_UNKNOWN, E_METHODRESPONSE, E_PARAMS, E_PARAM, E_FAULT, E_VALUE, E_STRUCT, E_MEMBER,
	E_NAME, E_ARRAY, E_DATA, E_STRING, E_INT, E_BOOLEAN, E_DOUBLE, E_DATETIME, E_BASE64,
	E_NIL,
};

static enum elem elem_id(const char *s, size_t n)
{
	switch (n) {
	case 2:
		if (s[0] == 'i' && (s[1] == '4' || s[1] == '8'))
			return E_INT;
		break;
	case 3:
		if (!memcmp(s, "int", 3))
			return E_INT;
		if (!memcmp(s, "nil", 3))
			return E_NIL;
		break;
	case 4:
		if (!memcmp(s, "name", 4))
			return E_NAME;
		if (!memcmp(s, "data", 4))
			return E_DATA;
		break;
	case 5:
		if (!memcmp(s, "value", 5))
			return E_VALUE;
		if (!memcmp(s, "array", 5))
			return E_ARRAY;
		if (!memcmp(s, "param", 5))
			return E_PARAM;
		if (!memcmp(s, "fault", 5))
			return E_FAULT;
		if (!memcmp(s, "ex:i8", 5))
			return E_INT;
		break;
	case 6:
		if (!memcmp(s, "member", 6))
			return E_MEMBER;
		if (!memcmp(s, "struct", 6))
			return E_STRUCT;
		if (!memcmp(s, "string", 6))
			return E_STRING;
		if (!memcmp(s, "params", 6))
			return E_PARAMS;
		if (!memcmp(s, "double", 6))
			return E_DOUBLE;
		if (!memcmp(s, "base64", 6))
			return E_BASE64;
		if (!memcmp(s, "ex:nil", 6))
			return E_NIL;
		break;
	case 7:
		if (!memcmp(s, "boolean", 7))
			return E_BOOLEAN;
		break;
	case 14:
		if (!memcmp(s, "methodResponse", 14))
			return E_METHODRESPONSE;
		break;
	case 16:
		if (!memcmp(s, "dateTime.iso8601", 16))
			return E_DATETIME;
		break;
	default:
		break;
	}
	return E_UNKNOWN;
}

static enum scalar_type type_of(enum elem id)
{
	switch (id) {
	case E_STRING:
		return T_STRING;
	case E_INT:
		return T_INT;
	case E_BOOLEAN:
		return T_BOOL;
	case E_DOUBLE:
		return T_DOUBLE;
	case E_DATETIME:
		return T_TIME;
	case E_BASE64:
		return T_BASE64;
	case E_NIL:
		return T_NIL;
	default:
		return T_BARE;
	}
}

static void start_value(struct ct_decoder *d, struct frame *f)
{
	struct ct_obj *obj;
	enum role r;

	if (f && f->kind == 0) {
		fail(d, "a <value> directly inside another <value> in the reply");
		return;
	}
	r = child_role(d, f, &obj);
	if (d->failed) {
		ct_obj_free(obj);
		return;
	}
	if (r == R_SKIP) {
		d->skip_until = d->depth;
		d->collect = false;
		return;
	}
	f = push(d, r);
	f->obj = obj;
	if (r == R_FIELD) {
		struct frame *parent = &d->fr[d->nfr - 2];

		f->fd = field_find(parent->obj->cls, parent->name.buf, parent->name.len);
		f->target = (char *)parent->obj + f->fd->off;
	}
	d->collect = scalar_role(r);
	d->text.len = 0;
	d->text.buf[0] = '\0';
}

static void start_container(struct ct_decoder *d, struct frame *f, enum elem id)
{
	if (!f || f->kind != 0 || f->typed || f->depth != d->depth - 1) {
		fail(d, "a <%s> outside a <value> in the reply", id == E_STRUCT ? "struct" : "array");
		return;
	}
	f->typed = true;
	f->kind = id == E_STRUCT ? 'S' : 'A';
	d->collect = false;
	/* the kind of container each role accepts; anything else is read through */
	switch ((enum role)f->role) {
	case R_ENVELOPE: case R_RECMAP: case R_RECORD: case R_EVRESULT: case R_EVENT:
	case R_REFCOUNTS:
		if (f->kind != 'S')
			f->role = R_IGNORE;
		break;
	case R_ERRDESC: case R_EVARRAY:
		if (f->kind != 'A')
			f->role = R_IGNORE;
		break;
	case R_FAULTV:
		if (f->kind != 'S')
			f->role = R_IGNORE;
		break;
	case R_TOPSET:
		d->set_seen = true;
		if (f->kind != 'A') {
			d->shape_bad = true;
			f->role = R_IGNORE;
		}
		break;
	case R_TOPSTRING: case R_TOPSETITEM:
		/* a container where a string belongs (a task result may hold anything) */
		if (d->kind != CT_DEC_FRAGMENT)
			d->shape_bad = true;
		f->role = R_IGNORE;
		break;
	case R_FIELD:
		if (!((f->fd->kind == CT_F_SET && f->kind == 'A') ||
		      ((f->fd->kind == CT_F_MAP || f->fd->kind == CT_F_MAPVALS) && f->kind == 'S')))
			f->role = R_IGNORE;
		break;
	default:
		f->role = R_IGNORE;
		break;
	}
}

/* el[0..ellen) is the element's name (for messages). */
static void on_start(struct ct_decoder *d, enum elem id, const char *el, int ellen)
{
	struct frame *f;

	if (d->failed)
		return;
	if (++d->depth > d->max_depth) {
		fail(d, "the reply is nested deeper than %d XML elements", d->max_depth);
		return;
	}
	if (d->skip_until)
		return;
	f = top(d);
	switch (id) {
	case E_VALUE:
		start_value(d, f);
		return;
	case E_STRUCT:
	case E_ARRAY:
		start_container(d, f, id);
		return;
	case E_MEMBER:
		if (!f || f->kind != 'S') {
			fail(d, "a <member> outside a <struct> in the reply");
			return;
		}
		f->has_name = false;
		f->name.len = 0;
		f->name.buf[0] = '\0';
		return;
	case E_NAME:
		if (!f || f->kind != 'S') {
			fail(d, "a <name> outside a <struct> in the reply");
			return;
		}
		d->in_name = true;
		d->collect = f->role != R_IGNORE;
		d->text.len = 0;
		d->text.buf[0] = '\0';
		return;
	case E_DATA:
		if (!f || f->kind != 'A')
			fail(d, "a <data> outside an <array> in the reply");
		return;
	case E_METHODRESPONSE:
		if (d->depth != 1)
			fail(d, "a <methodResponse> inside the reply");
		return;
	case E_PARAMS:
		return;
	case E_PARAM:
		d->in_param = true;
		return;
	case E_FAULT:
		d->in_fault = true;
		return;
	case E_UNKNOWN:
		fail(d, "unexpected element <%.*s> in the reply", ellen < 40 ? ellen : 40, el);
		return;
	default:
		/* a scalar type element inside a value */
		if (!f || f->kind != 0 || f->typed || f->depth != d->depth - 1) {
			fail(d, "a <%.*s> outside a <value> in the reply", ellen < 40 ? ellen : 40, el);
			return;
		}
		f->typed = true;
		f->scalar = (unsigned char)type_of(id);
		d->collect = scalar_role((enum role)f->role);
		d->text.len = 0;
		d->text.buf[0] = '\0';
		return;
	}
}

static void on_end(struct ct_decoder *d, enum elem id)
{
	struct frame *f;

	if (d->failed)
		return;
	if (d->skip_until) {
		if (d->depth == d->skip_until)
			d->skip_until = 0;
		d->depth--;
		return;
	}
	f = top(d);
	switch (id) {
	case E_VALUE:
		if (f && f->depth == d->depth) {
			end_value(d);
			pop(d);
		}
		d->collect = false;
		break;
	case E_NAME:
		if (f && f->kind == 'S') {
			fix_utf8(&d->text);
			ct_sb_add(&f->name, d->text.buf, d->text.len);
			f->has_name = true;
		}
		d->in_name = false;
		d->collect = false;
		break;
	case E_PARAM:
		d->in_param = false;
		break;
	case E_FAULT:
		d->in_fault = false;
		break;
	default:
		if (type_of(id) != T_BARE)
			d->collect = false;
		break;
	}
	d->depth--;
}

static void on_text(struct ct_decoder *d, const char *s, size_t len)
{
	if (!d->collect || d->skip_until || d->failed)
		return;
	if (d->text.len + len > d->max_string) {
		fail(d, "a %s in the reply is longer than %zu bytes",
		     d->in_name ? "member name" : "string value", d->max_string);
		return;
	}
	ct_sb_add(&d->text, s, len);
}

/* ---- tokenizer ------------------------------------------------------------------------- */

static const char map_key_hint[] = "; XAPI does not escape map keys, so an other_config or "
	"sm_config key containing '&' or '<' breaks its replies: find and remove that key";

static void malformed(struct ct_decoder *d, const char *what)
{
	fail(d, "the reply is not well-formed XML (%s, near byte %llu)%s", what, d->bytes,
	     d->in_name ? map_key_hint : "");
}

/* Byte classes, as tables (these tests run for every byte of every tag or kept text).
 * Names: letters, digits, . - _ : and any non-ASCII byte (not a digit, '.' or '-' first).
 * Controls: the C0 characters XML 1.0
 * does not allow (all but tab, LF and CR). */
#define NC_ALPHA_DIGIT(b) \
	(((b) >= 'a' && (b) <= 'z') || ((b) >= 'A' && (b) <= 'Z') || ((b) >= '0' && (b) <= '9'))
#define NC(b) (NC_ALPHA_DIGIT(b) || (b) == '.' || (b) == '-' || (b) == '_' || (b) == ':' || (b) >= 0x80)
#define NS(b) (NC(b) && (b) != '.' && (b) != '-' && !((b) >= '0' && (b) <= '9'))
#define CTL(b) ((b) < 0x20 && (b) != '\t' && (b) != '\n' && (b) != '\r')
/* kept text stops at markup, CR (end-of-line handling) and controls */
#define TXT(b) ((b) == '<' || (b) == '&' || (b) == '\r' || CTL(b))
/* a tag stops at its end, a quote, a '<' (always an error) and controls */
#define TAG(b) ((b) == '>' || (b) == '"' || (b) == '\'' || (b) == '<' || CTL(b))
#define T4(F, b) F(b), F((b) + 1), F((b) + 2), F((b) + 3)
#define T16(F, b) T4(F, b), T4(F, (b) + 4), T4(F, (b) + 8), T4(F, (b) + 12)
#define T64(F, b) T16(F, b), T16(F, (b) + 16), T16(F, (b) + 32), T16(F, (b) + 48)
#define T256(F) { T64(F, 0), T64(F, 64), T64(F, 128), T64(F, 192) }

static const bool name_chars[256] = T256(NC);
static const bool name_start_chars[256] = T256(NS);
static const bool ctl_chars[256] = T256(CTL);
static const bool text_stop[256] = T256(TXT);
static const bool tag_stop[256] = T256(TAG);

static inline bool name_char(unsigned char c)
{
	return name_chars[c];
}

static inline bool name_start(unsigned char c)
{
	return name_start_chars[c];
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Does p[0..n) hold a control character XML does not allow? Eight bytes at a time: text
 * chaintop skips is most of a reply, and almost never holds any byte below 0x20. */
static bool has_ctl(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (i + 8 <= n) {
			uint64_t x;

			memcpy(&x, p + i, 8);
			if (!((x - 0x2020202020202020ULL) & ~x & 0x8080808080808080ULL)) {
				i += 8;
				continue;
			}
			for (size_t k = i; k < i + 8; k++)
				if (ctl_chars[(unsigned char)p[k]])
					return true;
			i += 8;
			continue;
		}
		if (ctl_chars[(unsigned char)p[i]])
			return true;
		i++;
	}
	return false;
}

/* A character XML 1.0 allows (production Char). */
static bool xml_char(unsigned long cp)
{
	return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
	       (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* The reference between '&' and ';' (s[0..n), leading zeros of a number may be gone):
 * >= 0 the character, -1 malformed or unknown, -2 a character XML does not allow. */
static long reference(const char *s, size_t n)
{
	static const struct {
		const char *name;
		char c;
	} named[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' } };
	unsigned long cp = 0;
	bool hex;
	size_t i;

	if (n == 0)
		return -1;
	if (s[0] != '#') {
		for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
			if (strlen(named[k].name) == n && !memcmp(named[k].name, s, n))
				return named[k].c;
		return -1;
	}
	hex = n > 1 && s[1] == 'x';
	i = hex ? 2 : 1;
	if (i == n)
		return -1;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (hex && c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (hex && c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return -1;
		cp = cp * (hex ? 16 : 10) + (unsigned long)v;
		if (cp > 0x10FFFF)
			return -2;
	}
	return xml_char(cp) ? (long)cp : -2;
}

/* Is v[0..n) a valid attribute value (no '<', every '&' a valid reference)? */
static bool attr_value_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '<')
			return false;
		if (v[i] == '&') {
			const char *semi = memchr(v + i + 1, ';', n - i - 1);

			if (!semi || reference(v + i + 1, (size_t)(semi - v - i - 1)) < 0)
				return false;
			i = (size_t)(semi - v);
		}
	}
	return true;
}

struct attr {
	const char *name, *val;
	size_t nlen, vlen;
};

/* The next attribute of s[*i..n): 1 one read, 0 none left, -1 malformed. Each attribute is
 * preceded by white space: S Name S? '=' S? ('"' value '"' | "'" value "'"). */
static int next_attr(const char *s, size_t n, size_t *i, struct attr *a)
{
	size_t k = *i;
	bool space = false;
	const char *q;

	while (k < n && is_space((unsigned char)s[k])) {
		k++;
		space = true;
	}
	if (k == n) {
		*i = k;
		return 0;
	}
	if (!space || !name_start((unsigned char)s[k]))
		return -1;
	a->name = s + k;
	while (k < n && name_char((unsigned char)s[k]))
		k++;
	a->nlen = (size_t)(s + k - a->name);
	while (k < n && is_space((unsigned char)s[k]))
		k++;
	if (k == n || s[k] != '=')
		return -1;
	k++;
	while (k < n && is_space((unsigned char)s[k]))
		k++;
	if (k == n || (s[k] != '"' && s[k] != '\''))
		return -1;
	q = memchr(s + k + 1, s[k], n - k - 1);
	if (!q)
		return -1;
	a->val = s + k + 1;
	a->vlen = (size_t)(q - a->val);
	if (!attr_value_ok(a->val, a->vlen))
		return -1;
	*i = (size_t)(q - s) + 1;
	return 1;
}

/* The attributes of a tag (s[0..n) after the element name): well-formed, none twice. */
static bool attrs_ok(const char *s, size_t n)
{
	struct attr seen[16], a;
	size_t i = 0, ns = 0;
	int rc;

	while ((rc = next_attr(s, n, &i, &a)) == 1) {
		for (size_t k = 0; k < ns; k++)
			if (seen[k].nlen == a.nlen && !memcmp(seen[k].name, a.name, a.nlen))
				return false;
		if (ns < sizeof(seen) / sizeof(seen[0]))
			seen[ns++] = a;
	}
	return rc == 0;
}

/* The XML declaration after "<?xml": version, then optionally encoding and standalone.
 * Replies are read as UTF-8, so another declared encoding is refused rather than misread. */
static void xml_decl(struct ct_decoder *d, const char *s, size_t n)
{
	static const char *const order[] = { "version", "encoding", "standalone" };
	size_t i = 0, next = 0;
	struct attr a;
	int rc;

	while ((rc = next_attr(s, n, &i, &a)) == 1) {
		size_t k = next;

		while (k < 3 && !(strlen(order[k]) == a.nlen && !memcmp(order[k], a.name, a.nlen)))
			k++;
		if (k == 3 || (next == 0 && k != 0)) {
			malformed(d, "a malformed XML declaration");
			return;
		}
		next = k + 1;
		/* any version number (expat reads "1.1" or "2.0" as 1.0, and so do we) */
		if (k == 0 && strspn(a.val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789_.:-") < a.vlen) {
			malformed(d, "a malformed version in the XML declaration");
			return;
		}
		if (k == 1 && !((a.vlen == 5 && !strncasecmp(a.val, "UTF-8", 5)) ||
				(a.vlen == 8 && !strncasecmp(a.val, "US-ASCII", 8)))) {
			fail(d, "the reply declares the encoding '%.*s'; XAPI replies are UTF-8",
			     (int)(a.vlen < 40 ? a.vlen : 40), a.val);
			return;
		}
		if (k == 2 && !((a.vlen == 3 && !memcmp(a.val, "yes", 3)) ||
				(a.vlen == 2 && !memcmp(a.val, "no", 2)))) {
			malformed(d, "a malformed XML declaration");
			return;
		}
	}
	if (rc < 0 || next == 0)
		malformed(d, "a malformed XML declaration");
}

/* A processing instruction, between "<?" and "?>". The XML declaration is checked; any
 * other instruction means nothing to XML-RPC and is skipped. */
static void pi(struct ct_decoder *d, const char *s, size_t n)
{
	size_t k = 0;

	if (n == 0 || !name_start((unsigned char)s[0])) {
		malformed(d, "a processing instruction without a target");
		return;
	}
	while (k < n && name_char((unsigned char)s[k]))
		k++;
	if (k < n && !is_space((unsigned char)s[k])) {
		malformed(d, "an invalid character in a processing instruction's target");
		return;
	}
	if (k == 3 && !strncasecmp(s, "xml", 3)) {
		if (memcmp(s, "xml", 3) || d->tag_at != d->bom)
			malformed(d, "an XML declaration that is not at the start of the reply");
		else
			xml_decl(d, s + 3, n - 3);
	}
}

/* What the stack of open elements holds for an element named s[0..k) whose id is id: known
 * elements by their id, length and last byte (so that aliases such as <i4> and <i8> still
 * have to match), others (only allowed inside values chaintop skips) by a hash with the top
 * bit set. */
static inline uint32_t elem_hash(enum elem id, const char *s, size_t k)
{
	return id != E_UNKNOWN ? (uint32_t)id | (uint32_t)k << 8 | (uint32_t)(unsigned char)s[k - 1] << 16 :
	       name_hash(s, k) | 0x80000000u;
}

/* The content of one tag, between '<' and '>'. */
static void tag(struct ct_decoder *d, const char *s, size_t n)
{
	size_t k = 0;
	bool end = false, empty = false;
	enum elem id;
	uint32_t h;

	if (n > 0 && s[0] == '/') {
		end = true;
		s++;
		n--;
	} else if (n > 0 && s[n - 1] == '/') {
		empty = true;
		n--;
	}
	/* almost every tag is an XML-RPC element without attributes: known as a whole, its
	 * name needs no byte-by-byte check (a loop whose exit the CPU mispredicts) */
	id = elem_id(s, n);
	if (id != E_UNKNOWN) {
		k = n;
	} else {
		if (n == 0 || !name_start((unsigned char)s[0])) {
			malformed(d, "a tag without a name");
			return;
		}
		while (k < n && name_char((unsigned char)s[k]))
			k++;
		if (end) {
			for (size_t i = k; i < n; i++) {
				if (!is_space((unsigned char)s[i])) {
					malformed(d, "junk in an end tag");
					return;
				}
			}
		} else if (k < n && (!is_space((unsigned char)s[k]) || !attrs_ok(s + k, n - k))) {
			malformed(d, is_space((unsigned char)s[k]) ? "a malformed attribute" :
				  "an invalid character in a tag name");
			return;
		}
		id = elem_id(s, k);
	}
	h = elem_hash(id, s, k);
	if (end) {
		if (d->ntags == 0 || d->tags[d->ntags - 1] != h) {
			malformed(d, "an end tag that does not match the open element");
			return;
		}
		d->ntags--;
		/* inside a value chaintop skips, only the nesting is followed */
		if (d->skip_until && d->ntags >= d->skip_until) {
			d->depth--;
			return;
		}
		on_end(d, id);
		if (d->ntags == 0)
			d->root_closed = true;
		return;
	}
	if (d->root_closed) {
		malformed(d, "a second root element");
		return;
	}
	if (d->skip_until && empty)
		return;
	if (d->ntags >= d->max_depth) {
		fail(d, "the reply is nested deeper than %d XML elements", d->max_depth);
		return;
	}
	if (d->skip_until) {
		d->tags[d->ntags++] = h;
		d->depth++;
		return;
	}
	d->seen_root = true;
	d->tags[d->ntags++] = h;
	on_start(d, id, s, (int)k);
	if (empty && !d->failed) {
		d->ntags--;
		on_end(d, id);
		if (d->ntags == 0)
			d->root_closed = true;
	}
}

static void put_utf8(struct ct_decoder *d, unsigned long cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	on_text(d, b, n);
}

static void entity(struct ct_decoder *d)
{
	long cp = reference(d->entbuf, d->entlen);

	if (cp >= 0)
		put_utf8(d, (unsigned long)cp);
	else if (cp == -2 || (d->ent_zero && d->entlen <= 2))   /* &#0; */
		malformed(d, "a character reference to a character XML does not allow");
	else if (d->entlen > 0 && d->entbuf[0] == '#')
		malformed(d, "a malformed character reference");
	else
		malformed(d, "an unknown entity or a bare '&'");
}

static bool only_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_space((unsigned char)p[i]))
			return false;
	return true;
}

static const char bom_bytes[3] = { '\xEF', '\xBB', '\xBF' };

/* ---- fast paths ------------------------------------------------------------------------
 * Most of a reply is members chaintop does not keep. The two functions below read them in
 * whole pieces straight from the buffer, and stop, leaving the position and every piece of
 * decoder state exactly as scan() would have at that byte, at anything that is not in
 * XAPI's usual form or does not end inside the buffer: scan() then goes on from there, so
 * the verdict on any input, and the result however the input is chunked, are scan()'s own.
 * They check what scan() checks in the same place: control characters in skipped text, tag
 * names and their nesting, the depth limit. */

/* Inside a skipped value (d->skip_until), at a text position: follow plain tags ("<name>",
 * "</name>", no attributes or white space) and skim the text between them, until the
 * skipped value ends or something else comes. Returns the new position. */
static const char *skip_fast(struct ct_decoder *d, const char *p, const char *end)
{
	while (d->skip_until && p < end) {
		const char *q = *p == '<' ? p : memchr(p, '<', (size_t)(end - p));
		const char *nm, *t;
		bool close;
		enum elem id;
		uint32_t h;
		size_t k;

		if (!q || q + 2 >= end)
			return p;
		close = q[1] == '/';
		nm = q + 1 + close;
		for (t = nm; t < end && name_chars[(unsigned char)*t]; t++)
			;
		k = (size_t)(t - nm);
		if (t == end || *t != '>' || k == 0)
			return p;
		id = elem_id(nm, k);
		if (id == E_UNKNOWN && !name_start((unsigned char)nm[0]))
			return p;
		if (q > p && has_ctl(p, (size_t)(q - p)))
			return p;
		h = elem_hash(id, nm, k);
		if (close) {
			if (d->ntags == 0 || d->tags[d->ntags - 1] != h)
				return p;
		} else if (d->root_closed || d->ntags >= d->max_depth) {
			return p;
		}
		d->after_cr = false;
		d->bytes += (unsigned long long)(q - p);
		d->tag_at = d->bytes;
		d->bytes += (unsigned long long)(t - q) + 1;
		p = t + 1;
		if (!close) {
			d->tags[d->ntags++] = h;
			d->depth++;
		} else if (--d->ntags >= d->skip_until) {
			d->depth--;
		} else {
			on_end(d, id);
			if (d->ntags == 0)
				d->root_closed = true;
		}
	}
	return p;
}

/* Outside skipped values: plain tags of XML-RPC elements and text without references or CRs,
 * handed to the handlers tag() and scan() would call, in the same order. Stops after a
 * </member> (members_fast may take the next one), when a value is skipped, and at anything
 * else. */
static const char *plain_fast(struct ct_decoder *d, const char *p, const char *end)
{
	while (p < end && !d->failed && !d->skip_until) {
		const char *q, *nm, *t;
		bool close;
		enum elem id;
		uint32_t h;
		size_t k;

		if (*p != '<') {
			q = memchr(p, '<', (size_t)(end - p));
			if (!q || d->ntags == 0 || d->after_cr)
				return p;
			if (d->collect) {
				for (const char *c = p; c < q; c++)
					if (text_stop[(unsigned char)*c])
						return p;
				on_text(d, p, (size_t)(q - p));
			} else if (has_ctl(p, (size_t)(q - p))) {
				return p;
			}
			d->bytes += (unsigned long long)(q - p);
			p = q;
			if (d->failed)
				return p;
		}
		if (p + 2 >= end)
			return p;
		close = p[1] == '/';
		nm = p + 1 + close;
		for (t = nm; t < end && name_chars[(unsigned char)*t]; t++)
			;
		k = (size_t)(t - nm);
		if (t == end || *t != '>' || k == 0)
			return p;
		id = elem_id(nm, k);
		if (id == E_UNKNOWN)
			return p;
		h = elem_hash(id, nm, k);
		if (close) {
			if (d->ntags == 0 || d->tags[d->ntags - 1] != h)
				return p;
		} else if (d->root_closed || d->ntags >= d->max_depth) {
			return p;
		}
		d->after_cr = false;
		d->tag_at = d->bytes;
		d->bytes += (unsigned long long)(t - p) + 1;
		p = t + 1;
		if (close) {
			d->ntags--;
			on_end(d, id);
			if (d->ntags == 0)
				d->root_closed = true;
			if (id == E_MEMBER)
				return p;
		} else {
			d->seen_root = true;
			d->tags[d->ntags++] = h;
			on_start(d, id, nm, (int)k);
		}
	}
	return p;
}

/* s (a literal) at p? Literals here are 7 to 16 bytes: two overlapping 8-byte compares
 * rather than a call to memcmp. */
static inline bool lit_eq(const char *p, const char *end, const char *s, size_t n)
{
	uint64_t a, b, x, y;

	if ((size_t)(end - p) < n)
		return false;
	if (n < 8)
		return !memcmp(p, s, n);
	memcpy(&a, p, 8);
	memcpy(&b, s, 8);
	memcpy(&x, p + n - 8, 8);
	memcpy(&y, s + n - 8, 8);
	return a == b && x == y;
}

#define LIT(p, end, s) lit_eq((p), (end), (s), sizeof(s) - 1)

/* Directly inside a record's <struct>, at a '<': the members in XAPI's form
 * "<member><name>NAME</name><value>...</value></member>" with an ASCII name that needs no
 * entity. A member chaintop does not keep is read to its end here (its value through
 * skip_fast); for one it keeps, the name is stored and scan() takes over at its <value>. */
static const char *members_fast(struct ct_decoder *d, struct frame *f, const char *p, const char *end)
{
	while (p < end && !d->failed) {
		const char *nm = p + sizeof("<member><name>") - 1, *q, *v;
		size_t nl;

		if (!LIT(p, end, "<member><name>") || nm >= end)
			return p;
		q = memchr(nm, '<', (size_t)(end - nm));
		if (!q || !LIT(q, end, "</name><value"))
			return p;
		for (const char *c = nm; c < q; c++)
			if (text_stop[(unsigned char)*c] || (unsigned char)*c >= 0x80)
				return p;
		nl = (size_t)(q - nm);
		/* <member> and <name>, then <name> closed and <value> opened: as tag() and on_start()
		 * would refuse them */
		if (nl > d->max_string || d->ntags + 2 > d->max_depth || d->depth + 2 > d->max_depth)
			return p;
		v = q + sizeof("</name>") - 1;
		/* <member> opened, <name> read */
		d->tags[d->ntags++] = elem_hash(E_MEMBER, "member", 6);
		d->depth++;
		f->name.len = 0;
		ct_sb_add(&f->name, nm, nl);
		f->has_name = true;
		d->after_cr = false;
		d->tag_at = d->bytes + (unsigned long long)(q - p);
		d->bytes += (unsigned long long)(v - p);
		p = v;
		if (field_find(f->obj->cls, nm, nl))
			return p;
		/* a member chaintop skips: its <value> (or <value/>) */
		if (LIT(p, end, "<value/>")) {
			d->tag_at = d->bytes;
			d->bytes += sizeof("<value/>") - 1;
			p += sizeof("<value/>") - 1;
		} else if (LIT(p, end, "<value>")) {
			d->tag_at = d->bytes;
			d->bytes += sizeof("<value>") - 1;
			p += sizeof("<value>") - 1;
			d->tags[d->ntags++] = elem_hash(E_VALUE, "value", 5);
			d->depth++;
			d->skip_until = d->depth;
			d->collect = false;
			p = skip_fast(d, p, end);
			if (d->skip_until || d->failed)
				return p;
		} else {
			return p;
		}
		if (!LIT(p, end, "</member>"))
			return p;
		d->tag_at = d->bytes;
		d->bytes += sizeof("</member>") - 1;
		p += sizeof("</member>") - 1;
		d->ntags--;
		d->depth--;
	}
	return p;
}


static void scan(struct ct_decoder *d, const char *p, size_t n)
{
	const char *end = p + n;

	/* a UTF-8 byte order mark may open the reply */
	while (p < end && d->bom < 3 && d->bytes == d->bom) {
		if (*p != bom_bytes[d->bom]) {
			if (d->bom)
				malformed(d, "a broken byte order mark");
			break;
		}
		d->bom++;
		d->bytes++;
		p++;
	}
	while (p < end && !d->failed) {
		switch (d->ts) {
		case TS_TEXT: {
			const char *q;

			/* the fast paths, as long as one of them gets on */
			for (;;) {
				const char *from = p;
				struct frame *f = top(d);

				if (d->skip_until)
					p = skip_fast(d, p, end);
				else if (*p == '<' && f && f->role == R_RECORD && f->kind == 'S' &&
					 f->obj && d->depth == f->depth + 1)
					p = members_fast(d, f, p, end);
				else
					p = plain_fast(d, p, end);
				if (p == from || p == end || d->failed)
					break;
			}
			if (p == end || d->failed)
				break;
			if (d->collect && !d->skip_until) {
				if (d->after_cr && *p == '\n') {   /* CR LF -> LF */
					p++;
					d->bytes++;
				}
				d->after_cr = false;
				q = p;
				while (q < end && !text_stop[(unsigned char)*q])
					q++;
				on_text(d, p, (size_t)(q - p));
				if (q < end && *q == '\r') {       /* CR -> LF */
					on_text(d, "\n", 1);
					d->after_cr = true;
					d->bytes += (unsigned long long)(q - p) + 1;
					p = q + 1;
					break;
				}
				if (q < end && *q != '<' && *q != '&') {
					d->bytes += (unsigned long long)(q - p);
					malformed(d, "a control character XML does not allow");
					return;
				}
			} else {
				/* between tags there is usually nothing at all */
				q = *p == '<' ? p : memchr(p, '<', (size_t)(end - p));
				if (!q)
					q = end;
				if (q > p) {
					if (d->ntags == 0 && !only_space(p, (size_t)(q - p))) {
						malformed(d, d->seen_root ? "text after the root element" :
							  "text before the root element (not an XML reply)");
						return;
					}
					if (has_ctl(p, (size_t)(q - p))) {
						malformed(d, "a control character XML does not allow");
						return;
					}
				}
			}
			d->bytes += (unsigned long long)(q - p);
			p = q;
			if (p == end)
				break;
			d->after_cr = false;
			d->tag_at = d->bytes;
			d->bytes++;
			if (*p++ == '&') {
				d->ts = TS_ENTITY;
				d->entlen = 0;
				d->ent_zero = false;
			} else {
				d->ts = TS_TAG;
				d->taglen = 0;
				d->quote = 0;
			}
			break;
		}
		case TS_TAG: {
			const char *q = NULL;
			size_t k;

			if (d->taglen == 0 && *p == '!') {
				fail(d, "the reply carries a DOCTYPE, comment or CDATA section, which XAPI "
				     "never sends");
				return;
			}
			if (d->taglen == 0 && *p == '?') {
				d->ts = TS_PI;
				d->pi_q = false;
				d->bytes++;
				p++;
				break;
			}
			/* tags are short: a plain loop beats a memchr call; a '>' inside a quoted
			 * attribute value does not end the tag; a '<' is an error (an unescaped
			 * '<' in text opens a bogus tag) */
			for (const char *c = p; c < end; c++) {
				unsigned char b = (unsigned char)*c;

				if (!tag_stop[b])
					continue;
				if (b == '>') {
					if (d->quote)
						continue;
					q = c;
					break;
				}
				if (b == '"' || b == '\'') {
					if (!d->quote)
						d->quote = (char)b;
					else if (d->quote == (char)b)
						d->quote = 0;
					continue;
				}
				d->bytes += (unsigned long long)(c - p);
				malformed(d, b == '<' ? "a '<' inside a tag" :
					  "a control character XML does not allow");
				return;
			}
			k = (size_t)((q ? q : end) - p);

			if (d->taglen + k > TAG_MAX) {
				malformed(d, "a tag longer than 1024 bytes");
				return;
			}
			d->bytes += k + (q ? 1 : 0);
			if (q && d->taglen == 0) {
				tag(d, p, k);
			} else {
				memcpy(d->tagbuf + d->taglen, p, k);
				d->taglen += k;
				if (q)
					tag(d, d->tagbuf, d->taglen);
			}
			p += k;
			if (q) {
				p++;
				d->ts = TS_TEXT;
			}
			break;
		}
		case TS_PI:
			while (p < end) {
				unsigned char b = (unsigned char)*p++;

				d->bytes++;
				if (b == '>' && d->pi_q) {
					pi(d, d->tagbuf, d->taglen - 1);
					d->ts = TS_TEXT;
					break;
				}
				if (ctl_chars[b]) {
					malformed(d, "a control character XML does not allow");
					return;
				}
				if (d->taglen >= TAG_MAX) {
					malformed(d, "a processing instruction longer than 1024 bytes");
					return;
				}
				d->tagbuf[d->taglen++] = (char)b;
				d->pi_q = b == '?';
			}
			break;
		case TS_ENTITY:
			while (p < end && *p != ';') {
				unsigned char b = (unsigned char)*p;

				if (!name_char(b) && b != '#') {
					malformed(d, "an unknown entity or a bare '&'");
					return;
				}
				p++;
				d->bytes++;
				/* leading zeros of a number: "&#x0041;" is 'A' */
				if (b == '0' && ((d->entlen == 1 && d->entbuf[0] == '#') ||
						 (d->entlen == 2 && d->entbuf[0] == '#' && d->entbuf[1] == 'x'))) {
					d->ent_zero = true;
					continue;
				}
				if (d->entlen >= ENT_MAX) {
					malformed(d, "an unknown entity or a bare '&'");
					return;
				}
				d->entbuf[d->entlen++] = (char)b;
			}
			if (p < end) {
				p++;
				d->bytes++;
				entity(d);
				d->ts = TS_TEXT;
			}
			break;
		}
	}
}

/* Replace invalid UTF-8 (and U+FFFE, U+FFFF, which XML does not allow) in a kept string with
 * U+FFFD so later consumers (JSON output, terminal sanitising) always see valid text. */
static void fix_utf8(struct ct_sb *sb)
{
	const unsigned char *s = (const unsigned char *)sb->buf;
	struct ct_sb out;
	size_t i = 0, n = sb->len;
	bool bad = false;
	size_t at = 0;

	/* almost every kept string is ASCII: look for a high bit eight bytes at a time */
	for (; at + 8 <= n && !bad; at += 8) {
		uint64_t x;

		memcpy(&x, s + at, 8);
		bad = x & 0x8080808080808080ULL;
	}
	for (; at < n && !bad; at++)
		bad = s[at] >= 0x80;
	if (!bad)
		return;
	ct_sb_init(&out);
	while (i < n) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		bool ok = len > 0 && i + len <= n;
		unsigned long cp = 0;

		for (size_t k = 1; ok && k < len; k++)
			ok = (s[i + k] & 0xC0) == 0x80;
		if (ok && len > 1) {
			cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
			for (size_t k = 1; k < len; k++)
				cp = cp << 6 | (s[i + k] & 0x3F);
			ok = !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) &&
			     !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) &&
			     !(cp >= 0xD800 && cp <= 0xDFFF) && cp != 0xFFFE && cp != 0xFFFF;
		}
		if (ok) {
			ct_sb_add(&out, sb->buf + i, len);
			i += len;
		} else {
			ct_sb_add(&out, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
	ct_sb_release(sb);
	*sb = out;
}

/* ---- public ----------------------------------------------------------------------------- */

struct ct_decoder *ct_decoder_new(enum ct_dec_kind kind, enum ct_class c, ct_record_cb cb,
				  void *ctx)
{
	struct ct_decoder *d = ct_xcalloc(1, sizeof(*d));

	pthread_once(&field_once, field_init);
	d->kind = kind;
	d->cls = c;
	d->cb = cb;
	d->ctx = ctx;
	d->max_string = CT_DEC_MAX_STRING;
	d->max_depth = CT_DEC_MAX_DEPTH;
	d->max_items = CT_DEC_MAX_ITEMS;
	ct_sb_init(&d->text);
	ct_err_init(&d->err);
	ct_event_batch_init(&d->batch);
	d->tags = ct_xcalloc((size_t)d->max_depth + 1, sizeof(*d->tags));
	return d;
}

void ct_decoder_set_limits(struct ct_decoder *d, size_t max_string, int max_depth,
			   size_t max_items)
{
	if (max_string)
		d->max_string = max_string;
	if (max_depth > 0 && max_depth <= d->max_depth)
		d->max_depth = max_depth;
	if (max_items)
		d->max_items = max_items;
}

void ct_decoder_free(struct ct_decoder *d)
{
	if (!d)
		return;
	free(d->tags);
	for (int i = 0; i < d->cap; i++) {
		if (i < d->nfr)
			frame_clear_payload(&d->fr[i]);
		ct_sb_release(&d->fr[i].name);
	}
	free(d->fr);
	/* an ordinary call's reply may be a session ref (the login's): wipe what held it */
	if (d->kind == CT_DEC_STRING) {
		if (d->text.buf)
			explicit_bzero(d->text.buf, d->text.cap);
		if (d->str)
			explicit_bzero(d->str, strlen(d->str));
	}
	ct_sb_release(&d->text);
	free(d->status);
	ct_strset_release(&d->errdesc);
	ct_obj_free(d->single);
	ct_event_batch_release(&d->batch);
	free(d->str);
	free(d->fault_code);
	free(d->fault_string);
	ct_strset_release(&d->set);
	free(d);
}

int ct_decoder_feed(struct ct_decoder *d, const void *buf, size_t n, struct ct_err *e)
{
	if (!d->failed)
		scan(d, buf, n);
	if (d->failed) {
		*e = d->err;
		return -1;
	}
	return 0;
}

int ct_decoder_finish(struct ct_decoder *d, struct ct_err *e)
{
	if (d->failed) {
		*e = d->err;
		return -1;
	}
	if (d->finished)
		return 0;
	if (d->ts != TS_TEXT || d->ntags > 0 || !d->seen_root) {
		if (d->bytes == 0)
			fail(d, "the reply is empty");
		else
			fail(d, "the reply ended after %llu bytes, before the XML-RPC answer was "
			     "complete (connection cut?)", d->bytes);
		*e = d->err;
		return -1;
	}
	d->finished = true;
	if (d->kind == CT_DEC_FRAGMENT) {
		if (!d->str)
			d->str = ct_xstrdup("");
		return 0;
	}
	d->failed = true;   /* until proven otherwise: later calls repeat the error */
	if (d->fault) {
		char code[32], why[256];

		ct_err_set(&d->err, CT_E_PROTO, "the server answered with an XML-RPC fault (%s: %s), "
			   "not XAPI's Status/Value envelope: is this URL a XenServer/XCP-ng pool master?",
			   ct_sanitize(d->fault_code ? d->fault_code : "no code", code, sizeof(code)),
			   ct_sanitize(d->fault_string ? d->fault_string : "no reason", why,
				       sizeof(why)));
	} else if (!d->status) {
		ct_err_set(&d->err, CT_E_PROTO, "the reply has no Status member: not an XAPI "
			   "answer (is this URL a XenServer/XCP-ng pool master?)");
	} else if (!strcmp(d->status, "Failure")) {
		ct_err_set_xapi(&d->err, (const char *const *)d->errdesc.v, d->errdesc.n);
	} else if (strcmp(d->status, "Success")) {
		char st[64];

		ct_err_set(&d->err, CT_E_PROTO, "the reply has Status '%s', neither Success nor "
			   "Failure", ct_sanitize(d->status, st, sizeof(st)));
	} else if (!d->value_seen) {
		ct_err_set(&d->err, CT_E_PROTO, "the reply says Success but carries no Value");
	} else if (d->kind == CT_DEC_RECORD && !d->single) {
		ct_err_set(&d->err, CT_E_PROTO, "the reply's Value is not a record");
	} else if (d->kind == CT_DEC_EVENTS && !d->batch.token) {
		ct_err_set(&d->err, CT_E_PROTO, "the event.from reply carries no token");
	} else if (d->kind == CT_DEC_STRING && (d->shape_bad || !d->str)) {
		ct_err_set(&d->err, CT_E_PROTO, "the reply's Value is not a string");
	} else if (d->kind == CT_DEC_SET && (d->shape_bad || !d->set_seen)) {
		ct_err_set(&d->err, CT_E_PROTO, "the reply's Value is not a set of strings");
	} else {
		d->failed = false;
		return 0;
	}
	*e = d->err;
	return -1;
}

struct ct_obj *ct_decoder_take_record(struct ct_decoder *d)
{
	struct ct_obj *o = d->single;

	d->single = NULL;
	return o;
}

void ct_decoder_take_events(struct ct_decoder *d, struct ct_event_batch *out)
{
	*out = d->batch;
	ct_event_batch_init(&d->batch);
}

void ct_decoder_take_set(struct ct_decoder *d, struct ct_strset *out)
{
	*out = d->set;
	memset(&d->set, 0, sizeof(d->set));
}

char *ct_decoder_take_string(struct ct_decoder *d)
{
	char *s = d->str;

	d->str = NULL;
	return s;
}

size_t ct_decoder_records(const struct ct_decoder *d)
{
	return d->nrecords;
}

unsigned long long ct_decoder_bytes(const struct ct_decoder *d)
{
	return d->bytes;
}
