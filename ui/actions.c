/* actions.c - the action table (see actions.h). */
#include <curses.h>
#include <string.h>

#include "actions.h"

const struct ct_action_def ct_actions[ACT_COUNT] = {
#define CT_ACTION_DEF(id, nm, lb, k1, k2, k3, vw, fl, hp) \
	[ACT_##id] = { ACT_##id, nm, lb, { k1, k2, k3 }, vw, fl, hp },
	CT_ACTIONS(CT_ACTION_DEF)
#undef CT_ACTION_DEF
};

enum ct_action ct_action_for_key(int key, int view_bit)
{
	if (key == 0)
		return ACT_NONE;
	for (int i = 0; i < ACT_COUNT; i++) {
		if (!(ct_actions[i].views & view_bit))
			continue;
		for (int k = 0; k < 3; k++)
			if (ct_actions[i].keys[k] == key)
				return (enum ct_action)i;
	}
	return ACT_NONE;
}

enum ct_action ct_action_by_name(const char *name)
{
	for (int i = 0; i < ACT_COUNT; i++)
		if (!strcmp(ct_actions[i].name, name))
			return (enum ct_action)i;
	return ACT_NONE;
}
