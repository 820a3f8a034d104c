/* err.c - error reports and the table of XAPI error codes an operator may meet. */
#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ct_err_init(struct ct_err *e)
{
	memset(e, 0, sizeof(*e));
}

int ct_err_set(struct ct_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->code = code;
	if (code != CT_E_XAPI) {
		e->xapi_code[0] = '\0';
		e->n_params = 0;
	}
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int ct_err_prefix(struct ct_err *e, const char *fmt, ...)
{
	char prefix[512], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%.400s: %.600s", prefix, old);
	return -1;
}

/* What each code means for the operator and what to do next. The raw code is always kept
 * beside the sentence so it can be searched for. */
static const struct {
	const char *code;
	const char *hint;
} hints[] = {
	{ "SESSION_AUTHENTICATION_FAILED", "the user name or password was refused; check the pool's password_file or password_env" },
	{ "SESSION_INVALID", "the XAPI session expired or xapi restarted; chaintop logs in again" },
	{ "HOST_IS_SLAVE", "this host is a pool member, not the master; point the pool's url at the master" },
	{ "RBAC_PERMISSION_DENIED", "the user's role does not allow this operation; use an account with the pool-admin or pool-operator role" },
	{ "HANDLE_INVALID", "the object no longer exists (deleted by someone else); refresh and try again" },
	{ "UUID_INVALID", "no object has that uuid; check the name or uuid" },
	{ "MESSAGE_METHOD_UNKNOWN", "this XAPI version does not know the call; the pool may be older than chaintop expects" },
	{ "MESSAGE_PARAMETER_COUNT_MISMATCH", "this XAPI version expects other parameters for the call; the pool may be older than chaintop expects" },
	{ "VDI_IN_USE", "the disk is attached to a running VM; detach it or shut the VM down first" },
	{ "VDI_NOT_MANAGED", "the disk is a hidden base copy; the storage garbage collector removes it, not an operator" },
	{ "VDI_IS_A_PHYSICAL_DEVICE", "the disk is a physical device and cannot be deleted" },
	{ "VM_BAD_POWER_STATE", "the VM is not in a power state that allows this operation" },
	{ "OPERATION_NOT_ALLOWED", "XAPI does not allow this operation on the object now" },
	{ "OTHER_OPERATION_IN_PROGRESS", "another operation is running on the object; wait for it to finish and retry" },
	{ "SR_FULL", "the storage repository is full; free space or move disks before snapshotting" },
	{ "SR_NO_PBDS", "the storage repository is not plugged on the master; repair its PBDs" },
	{ "SR_BACKEND_FAILURE_44", "the storage repository has insufficient space; free space (delete stale snapshots, let the garbage collector coalesce) before the next snapshot" },
	{ "SR_BACKEND_FAILURE_109", "the snapshot chain is too long (limit 30); delete snapshots and let the garbage collector coalesce before the next snapshot" },
	{ "EVENTS_LOST", "XAPI dropped queued events; chaintop reloads the pool" },
	{ "EVENT_FROM_TOKEN_PARSE_FAILURE", "XAPI refused the event token; chaintop reloads the pool" },
	{ "MAP_DUPLICATE_KEY", "the key is already set on the object" },
	{ "TASK_CANCELLED", "the task was cancelled" },
	{ NULL, NULL },
};

const char *ct_xapi_error_hint(const char *code)
{
	for (int i = 0; hints[i].code; i++)
		if (!strcmp(hints[i].code, code))
			return hints[i].hint;
	return NULL;
}

int ct_err_set_xapi(struct ct_err *e, const char *const *desc, size_t n)
{
	const char *code = n > 0 && desc[0] ? desc[0] : "UNKNOWN_ERROR";
	const char *hint;
	char detail[512] = "";
	size_t used = 0;

	if (!e)
		return -1;
	e->code = CT_E_XAPI;
	snprintf(e->xapi_code, sizeof(e->xapi_code), "%s", code);
	e->n_params = 0;
	for (size_t i = 1; i < n && e->n_params < CT_ERR_MAX_PARAMS; i++) {
		const char *p = desc[i] ? desc[i] : "";

		snprintf(e->params[e->n_params++], sizeof(e->params[0]), "%s", p);
		/* SM failures carry ["", "<text>", "<stderr>"]: the non-empty ones are worth showing */
		if (*p && used < sizeof(detail) - 4) {
			int w = snprintf(detail + used, sizeof(detail) - used, "%s%s",
					 used ? "; " : "", p);
			if (w > 0)
				used += (size_t)w < sizeof(detail) - used ? (size_t)w : sizeof(detail) - used - 1;
		}
	}
	hint = ct_xapi_error_hint(code);
	if (hint && used)
		snprintf(e->msg, sizeof(e->msg), "%s (%s): %s", code, detail, hint);
	else if (hint)
		snprintf(e->msg, sizeof(e->msg), "%s: %s", code, hint);
	else if (used)
		snprintf(e->msg, sizeof(e->msg), "XAPI error %s (%s)", code, detail);
	else
		snprintf(e->msg, sizeof(e->msg), "XAPI error %s", code);
	return -1;
}

int ct_err_is(const struct ct_err *e, const char *xapi_code)
{
	return e && e->code == CT_E_XAPI && !strcmp(e->xapi_code, xapi_code);
}
