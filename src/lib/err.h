/* err.h - error reports passed up from every core function.
 *
 * Functions that can fail return 0 or -1 and fill a caller-provided struct ct_err. The text
 * in msg is a complete sentence for an operator: what happened, to which object, and what
 * to do next. XAPI failures keep the raw code and parameters beside the sentence. */
#ifndef CT_ERR_H
#define CT_ERR_H

#include <stddef.h>

enum ct_err_code {
	CT_OK = 0,
	CT_E_NOMEM,
	CT_E_NET,      /* connection refused, reset, DNS, HTTP status other than 200 */
	CT_E_TLS,      /* certificate verification or fingerprint mismatch */
	CT_E_TIMEOUT,
	CT_E_PROTO,    /* reply not XAPI's XML-RPC: malformed, oversized, wrong shape */
	CT_E_XAPI,     /* XAPI answered Status=Failure; xapi_code is set */
	CT_E_AUTH,     /* SESSION_AUTHENTICATION_FAILED */
	CT_E_CONFIG,
	CT_E_DB,
	CT_E_USAGE,
	CT_E_STATE,    /* the object is not in a state that allows the operation */
	CT_E_CANCEL,
	CT_E_IO,       /* local files */
};

#define CT_ERR_MAX_PARAMS 8

struct ct_err {
	int code;                 /* enum ct_err_code */
	char xapi_code[64];       /* e.g. "SR_BACKEND_FAILURE_44", empty if not from XAPI */
	int n_params;
	char params[CT_ERR_MAX_PARAMS][256];
	char msg[1024];
};

void ct_err_init(struct ct_err *e);
/* Sets code and message; always returns -1 so callers can `return ct_err_set(...)`. */
int ct_err_set(struct ct_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes context to an existing message: "pool 'lab': <old msg>". Returns -1. */
int ct_err_prefix(struct ct_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* From an XAPI ErrorDescription (code, params...): fills xapi_code/params and writes
 * a sentence from the table of known codes (raw code kept in the sentence). Returns -1. */
int ct_err_set_xapi(struct ct_err *e, const char *const *desc, size_t n);
/* The sentence for a known XAPI code, or NULL. */
const char *ct_xapi_error_hint(const char *code);
/* True if e carries this XAPI code. */
int ct_err_is(const struct ct_err *e, const char *xapi_code);

#endif
