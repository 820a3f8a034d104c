/* event.h - the types the decoder hands to the session layer and the session layer hands
 * to its callers: decoded records one by one (ct_record_cb) and the events of one
 * event.from reply (struct ct_event_batch).
 *
 * A leaf of src/xapi: decode.h and xapi.h both include it, and neither includes the other's
 * header for these types. */
#ifndef CT_EVENT_H
#define CT_EVENT_H

#include <stddef.h>

#include "model/model.h"

/* Records are handed to cb one by one as they are decoded; cb owns them. */
typedef void (*ct_record_cb)(void *ctx, struct ct_obj *o);

enum ct_event_op { CT_EV_ADD, CT_EV_MOD, CT_EV_DEL };

struct ct_event {
	enum ct_event_op op;
	enum ct_class cls;
	char *ref;                 /* owned */
	struct ct_obj *snapshot;   /* owned; NULL on del */
};

struct ct_event_batch {
	struct ct_event *ev;
	size_t n, cap;
	char *token;               /* owned: pass to the next event.from */
	int valid_ref_counts[CT_NCLASSES];  /* -1 when XAPI did not send the class */
};

/* Initialise an empty batch (valid_ref_counts all -1). */
void ct_event_batch_init(struct ct_event_batch *b);
/* Free every event and the token; b is left empty, as after ct_event_batch_init. */
void ct_event_batch_release(struct ct_event_batch *b);

#endif
