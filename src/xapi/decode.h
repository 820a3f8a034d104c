/* decode.h - streaming decoder for XAPI's XML-RPC replies, internal to xapi.c and
 * its tests.
 *
 * Every XAPI reply goes through it, from the login to the biggest get_all_records.
 * Fed chunk by chunk (straight from libcurl's write callback), it decodes XAPI's value
 * encoding (xapi-reference.md 1.3: bare-text and <string> strings, ints as text or
 * <i4>/<i8>/<int>, <boolean>, <double>, dateTime.iso8601 with or without dashes and zone,
 * <struct> maps and records, <array> sets) straight into the typed records of model.h,
 * keeping only the fields chaintop uses. Unknown fields are skipped without being stored,
 * missing fields keep the defaults of ct_obj_new. The Status/Value/ErrorDescription envelope
 * is checked at the end: a Failure gives a struct ct_err with XAPI's code and params, an
 * XML-RPC fault its faultCode and faultString.
 *
 * Guards: element depth, the size of each kept string and the number of entries of each set
 * or map are bounded; a DOCTYPE or entity declaration is refused; a malformed or truncated
 * reply is CT_E_PROTO with a sentence saying what was wrong. Never crashes on bad input. */
#ifndef CT_DECODE_H
#define CT_DECODE_H

#include <stddef.h>

#include "lib/err.h"
#include "model/model.h"
#include "xapi/event.h"

enum ct_dec_kind {
	CT_DEC_RECORDS,   /* get_all_records[_where]: Value = struct ref -> record; cb per record */
	CT_DEC_RECORD,    /* get_record: Value = one record; take it with ct_decoder_take_record */
	CT_DEC_EVENTS,    /* event.from: Value = { events, valid_ref_counts, token } */
	CT_DEC_FRAGMENT,  /* a lone "<value>...</value>" (task result): one string */
	CT_DEC_STRING,    /* an ordinary call: Value = a string (ref, uuid, void "", a scalar) */
	CT_DEC_SET,       /* an ordinary call: Value = a set of strings */
};

#define CT_DEC_MAX_STRING ((size_t)4 << 20)   /* bytes of one kept string value */
#define CT_DEC_MAX_DEPTH 128                   /* XML element nesting */
#define CT_DEC_MAX_ITEMS ((size_t)1 << 20)     /* entries of one set or map, events of a batch */

struct ct_decoder;

/* Returns owned; free with ct_decoder_free. For CT_DEC_RECORDS, cb receives every record
 * (owned by cb) as soon as its struct is complete; the record's ref is the member name.
 * For CT_DEC_RECORD, c is the class of the record; cb and ctx are unused. */
struct ct_decoder *ct_decoder_new(enum ct_dec_kind kind, enum ct_class c, ct_record_cb cb,
				  void *ctx);
void ct_decoder_free(struct ct_decoder *d);
/* Lower the limits (tests); 0 keeps a limit unchanged. */
void ct_decoder_set_limits(struct ct_decoder *d, size_t max_string, int max_depth,
			   size_t max_items);

/* Feed the next n bytes. Returns -1 (CT_E_PROTO) as soon as the input is known to be bad;
 * later feeds then fail at once with the same error. */
int ct_decoder_feed(struct ct_decoder *d, const void *buf, size_t n, struct ct_err *e);
/* End of input: checks the XML is complete and the envelope says Success. A Failure
 * envelope gives CT_E_XAPI with the code and params (ct_err_set_xapi). */
int ct_decoder_finish(struct ct_decoder *d, struct ct_err *e);

/* After a successful finish. Each returns owned data and leaves the decoder without it. */
struct ct_obj *ct_decoder_take_record(struct ct_decoder *d);                 /* RECORD */
void ct_decoder_take_events(struct ct_decoder *d, struct ct_event_batch *out);  /* EVENTS */
char *ct_decoder_take_string(struct ct_decoder *d);                  /* FRAGMENT, STRING */
void ct_decoder_take_set(struct ct_decoder *d, struct ct_strset *out);       /* SET */
/* Records handed to cb so far (RECORDS), bytes fed so far. */
size_t ct_decoder_records(const struct ct_decoder *d);
unsigned long long ct_decoder_bytes(const struct ct_decoder *d);

#endif
