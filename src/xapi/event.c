/* event.c - an event batch's life (see event.h). */
#include "xapi/event.h"

#include <stdlib.h>
#include <string.h>

void ct_event_batch_init(struct ct_event_batch *b)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < CT_NCLASSES; i++)
		b->valid_ref_counts[i] = -1;
}

void ct_event_batch_release(struct ct_event_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->ev[i].ref);
		ct_obj_free(b->ev[i].snapshot);
	}
	free(b->ev);
	free(b->token);
	ct_event_batch_init(b);
}
