/* xapi.c - one XAPI session: XML-RPC over libcurl (our own easy handles on one multi handle
 * per session, so connections are kept alive and TLS is under our control), xmlrpc-c to
 * encode requests, the streaming decoder (decode.c, with its limits on depth and sizes) for
 * every reply, from the login to records and events, fed from the write callback as the
 * bytes arrive.
 *
 * TLS: system CAs by default, ca_file, or a pin on the SHA-256 fingerprint of the server's
 * certificate (checked in an OpenSSL verify callback installed through
 * CURLOPT_SSL_CTX_FUNCTION). The same callback records the fingerprint of every server
 * certificate it sees, so a verification failure can tell the operator what to pin. */
#include "xapi/xapi.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xmlrpc-c/base.h>

#include "xapi/decode.h"
#include "lib/util.h"

#define ERRBODY_MAX 4096
#define LOGOUT_TIMEOUT_S 3
#define MAX_CONNECTIONS 4

struct tls_info {
	bool pin_set;
	unsigned char pin[32];
	bool seen;                 /* a server certificate was seen */
	unsigned char seen_fp[32];
	bool mismatch;             /* pinned and the certificate did not match */
	int verr;                  /* X509 verification error, 0 if none */
	char subject[256], issuer[256], not_before[32], not_after[32];
};

struct ct_xapi {
	char *url;                 /* as configured */
	char *master;              /* current target (after HOST_IS_SLAVE) */
	char *username, *password, *ca_file, *originator, *fingerprint_text;
	bool verify;
	bool pin_set, pin_bad;
	unsigned char pin[32];
	long connect_timeout, call_timeout, login_timeout, stall_s;
	uint64_t max_bytes, max_records;
	char *name;                /* pool name for messages, or NULL */
	int64_t deadline_ms;       /* ct_now_ms by which every transfer ends; 0 = none */
	char *deadline_why;
	char *session;
	CURLM *multi;
	atomic_bool cancel;
	atomic_int *cancel_flag;   /* the caller's flag (ct_xapi_cancel_with); this thread only */
	bool have_cert;            /* last_cert holds the last TLS failure */
	struct ct_xapi_cert last_cert;
};

enum sink { SINK_DEC, SINK_HTTP };

struct xfer {
	struct ct_xapi *x;
	CURL *h;
	struct curl_slist *hdrs;
	char *req;
	size_t req_len;
	const char *what;          /* method or path, for messages */
	char *url;                 /* target (no secrets in it for XML-RPC) */
	enum sink sink;
	const char *cls;           /* class of the records, for messages ("VM", "event") */
	ct_record_cb user_cb;      /* records are counted on their way to user_cb */
	void *user_ctx;
	uint64_t records, body_bytes;
	bool over_records, over_bytes;
	/* progress: all bytes received (headers too), and the stall window */
	uint64_t rx, win_rx;
	int64_t start_ms, win_ms, first_byte_ms;   /* first_byte_ms: wait for a first byte */
	bool stalled, no_first_byte, deadline_capped;
	struct ct_decoder *dec;
	struct ct_err derr;
	bool dec_failed;
	ct_http_write_cb wcb;
	void *wctx;
	int wcb_rc;
	struct ct_sb errbody;
	char *task_id;
	struct tls_info tls;
	char errbuf[CURL_ERROR_SIZE];
	CURLcode res;
	bool done;
	long status;
};

static int g_ssl_idx = -1;
static bool g_openssl = false;

/* ---- helpers ----------------------------------------------------------------------------- */

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "sha256:AB:CD:...", "AB:CD:...", "abcd...", "SHA256 Fingerprint=AB:..." -> 32 bytes. */
static bool parse_fingerprint(const char *s, unsigned char out[32])
{
	const char *eq = strchr(s, '=');
	int n = 0, hi = -1;

	if (eq)
		s = eq + 1;
	while (isspace((unsigned char)*s))
		s++;
	if (!strncasecmp(s, "sha256:", 7))
		s += 7;
	for (; *s; s++) {
		int v;

		if (*s == ':' || isspace((unsigned char)*s))
			continue;
		v = hexval((unsigned char)*s);
		if (v < 0 || n >= 32)
			return false;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	return n == 32 && hi < 0;
}

static void format_fingerprint(const unsigned char fp[32], char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < 32 && used + 3 < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%02X", i ? ":" : "", fp[i]);
}

/* ---- TLS --------------------------------------------------------------------------------- */

static void asn1_time_text(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	buf[0] = '\0';
	if (t && ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* What the operator reads before trusting the leaf certificate: subject, issuer, validity. */
static void cert_text(X509 *leaf, struct tls_info *ti)
{
	char raw[256];

	X509_NAME_oneline(X509_get_subject_name(leaf), raw, sizeof(raw));
	ct_sanitize(raw, ti->subject, sizeof(ti->subject));
	X509_NAME_oneline(X509_get_issuer_name(leaf), raw, sizeof(raw));
	ct_sanitize(raw, ti->issuer, sizeof(ti->issuer));
	asn1_time_text(X509_get0_notBefore(leaf), ti->not_before, sizeof(ti->not_before));
	asn1_time_text(X509_get0_notAfter(leaf), ti->not_after, sizeof(ti->not_after));
}

static int verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	SSL_CTX *ctx = ssl ? SSL_get_SSL_CTX(ssl) : NULL;
	struct tls_info *ti = ctx && g_ssl_idx >= 0 ? SSL_CTX_get_ex_data(ctx, g_ssl_idx) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
	unsigned int len = 0;

	if (!ti || !leaf)
		return ok;
	if (X509_digest(leaf, EVP_sha256(), ti->seen_fp, &len) == 1 && len == 32)
		ti->seen = true;
	if (X509_STORE_CTX_get_error_depth(sctx) == 0)
		cert_text(leaf, ti);
	if (!ti->pin_set) {
		if (!ok && !ti->verr)
			ti->verr = X509_STORE_CTX_get_error(sctx);
		return ok;
	}
	/* pinned: the leaf's fingerprint is the whole identity check */
	if (ti->seen && !memcmp(ti->seen_fp, ti->pin, 32)) {
		X509_STORE_CTX_set_error(sctx, X509_V_OK);
		return 1;
	}
	ti->mismatch = true;
	return 0;
}

static CURLcode on_ssl_ctx(CURL *h, void *sslctx, void *ud)
{
	SSL_CTX *ctx = sslctx;
	struct xfer *t = ud;

	(void)h;
	SSL_CTX_set_ex_data(ctx, g_ssl_idx, &t->tls);
	SSL_CTX_set_verify(ctx, t->tls.pin_set ? SSL_VERIFY_PEER : SSL_CTX_get_verify_mode(ctx),
			   verify_cb);
	return CURLE_OK;
}

/* ---- transfers ---------------------------------------------------------------------------- */

static size_t on_write(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *t = ud;
	size_t n = sz * nm;
	long code = 0;

	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &code);
	t->status = code;
	if (code != 200) {
		if (t->errbody.len < ERRBODY_MAX)
			ct_sb_add(&t->errbody, p, n < ERRBODY_MAX - t->errbody.len ?
				  n : ERRBODY_MAX - t->errbody.len);
		return n;
	}
	t->rx += n;
	if (t->sink != SINK_HTTP) {
		t->body_bytes += n;
		if (t->body_bytes > t->x->max_bytes) {
			t->over_bytes = true;
			return 0;
		}
	}
	switch (t->sink) {
	case SINK_DEC:
		if (ct_decoder_feed(t->dec, p, n, &t->derr) < 0) {
			t->dec_failed = true;
			return 0;
		}
		if (t->over_records)
			return 0;
		break;
	case SINK_HTTP:
		t->wcb_rc = t->wcb(t->wctx, p, n);
		if (t->wcb_rc)
			return 0;
		break;
	}
	return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *t = ud;
	size_t n = sz * nm;

	t->rx += n;
	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {   /* a new response (after a redirect) */
		free(t->task_id);
		t->task_id = NULL;
	} else if (n > 8 && !strncasecmp(p, "task-id:", 8)) {
		const char *v = p + 8;
		size_t len = n - 8;

		while (len && isspace((unsigned char)*v)) {
			v++;
			len--;
		}
		while (len && isspace((unsigned char)v[len - 1]))
			len--;
		free(t->task_id);
		t->task_id = len ? ct_xstrndup(v, len) : NULL;
	}
	return n;
}

/* Records on their way to the caller: counted, and dropped past the limit (on_write then
 * stops the transfer). */
static void on_record(void *ctx, struct ct_obj *o)
{
	struct xfer *t = ctx;

	if (++t->records > t->x->max_records) {
		t->over_records = true;
		ct_obj_free(o);
		return;
	}
	t->user_cb(t->user_ctx, o);
}

/* Cancelled by ct_xapi_cancel, or by the flag of ct_xapi_cancel_with. The flag is honoured
 * once: it latches into x->cancel and is forgotten, so that after ct_xapi_reset_cancel the
 * caller's last calls (destroying its own task) go through although the flag stays set. */
static bool is_cancelled(struct ct_xapi *x)
{
	if (x->cancel_flag && atomic_load(x->cancel_flag)) {
		x->cancel_flag = NULL;
		atomic_store(&x->cancel, true);
	}
	return atomic_load(&x->cancel);
}

/* Called about once a second at least. A reply that has started must keep moving at
 * CT_XAPI_STALL_BYTES_PER_S over every stall window: a byte a second keeps curl's own
 * low-speed check happy but would hold a call for hours. Before the first byte the server
 * may be working (VDI.destroy, event.from): first_byte_ms bounds that wait. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *t = ud;
	int64_t now;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	if (is_cancelled(t->x))
		return 1;
	now = ct_now_ms();
	if (t->rx == 0) {
		if (t->first_byte_ms > 0 && now - t->start_ms > t->first_byte_ms) {
			t->no_first_byte = true;
			return 1;
		}
		return 0;
	}
	if (t->win_ms == 0) {
		t->win_ms = now;
		t->win_rx = t->rx;
		return 0;
	}
	if (now - t->win_ms >= t->x->stall_s * 1000) {
		if (t->rx - t->win_rx < (uint64_t)t->x->stall_s * CT_XAPI_STALL_BYTES_PER_S) {
			t->stalled = true;
			return 1;
		}
		t->win_ms = now;
		t->win_rx = t->rx;
	}
	return 0;
}

/* Every transfer fails when its reply stalls (on_progress), when no first byte comes
 * within timeout_s (call_timeout when 0), when timeout_s > 0 has passed in all, and when the
 * deadline set with ct_xapi_set_deadline passes. */
static struct xfer *xfer_new(struct ct_xapi *x, const char *url, const char *what, enum sink sink,
			     long timeout_s)
{
	struct xfer *t = ct_xcalloc(1, sizeof(*t));
	CURL *h = curl_easy_init();
	bool https = !strncasecmp(url, "https://", 8);
	int64_t limit_ms = timeout_s > 0 ? (int64_t)timeout_s * 1000 : 0;

	if (!h)
		ct_fatal("out of memory creating a libcurl handle");
	t->x = x;
	t->h = h;
	t->what = what;
	t->url = ct_xstrdup(url);
	t->sink = sink;
	ct_sb_init(&t->errbody);
	ct_err_init(&t->derr);
	t->tls.pin_set = x->pin_set;
	memcpy(t->tls.pin, x->pin, sizeof(t->tls.pin));

	t->start_ms = ct_now_ms();
	t->first_byte_ms = timeout_s > 0 ? (int64_t)timeout_s * 1000 : (int64_t)x->call_timeout * 1000;
	if (x->deadline_ms > 0) {
		int64_t left = x->deadline_ms - t->start_ms;

		if (left < 1)
			left = 1;
		if (limit_ms == 0 || left < limit_ms) {
			limit_ms = left;
			t->deadline_capped = true;
		}
	}

	curl_easy_setopt(h, CURLOPT_URL, t->url);
	/* an https pool is never talked to in clear, not even through a redirect */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, https ? "https" : "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "chaintop/" CT_VERSION);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, x->connect_timeout);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	/* a call that legitimately waits (event.from) is not a stall */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
			 timeout_s > x->call_timeout && timeout_s < 10 * x->call_timeout ? timeout_s :
			 x->call_timeout);
	if (limit_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)limit_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 131072L);
	/* TLS */
	if (x->pin_set || !x->verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (x->ca_file)
			curl_easy_setopt(h, CURLOPT_CAINFO, x->ca_file);
	}
	if (g_openssl && g_ssl_idx >= 0) {
		curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, t);
	}
	return t;
}

static void xfer_set_post(struct xfer *t, char *body, size_t len, const char *content_type)
{
	t->req = body;
	t->req_len = len;
	t->hdrs = curl_slist_append(t->hdrs, content_type);
	t->hdrs = curl_slist_append(t->hdrs, "Expect:");
	curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(t->h, CURLOPT_POSTFIELDS, t->req);
	curl_easy_setopt(t->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->req_len);
}

static void xfer_free(struct xfer *t)
{
	if (!t)
		return;
	if (t->h)
		curl_easy_cleanup(t->h);
	curl_slist_free_all(t->hdrs);
	if (t->req) {
		explicit_bzero(t->req, t->req_len);
		free(t->req);
	}
	free(t->url);
	ct_sb_release(&t->errbody);
	ct_decoder_free(t->dec);
	free(t->task_id);
	free(t);
}

/* Run the transfers to completion (or cancellation) on this thread. */
static void run_xfers(struct ct_xapi *x, struct xfer **ts, size_t n)
{
	size_t pending = 0;

	for (size_t i = 0; i < n; i++) {
		if (curl_multi_add_handle(x->multi, ts[i]->h) == CURLM_OK) {
			pending++;
		} else {
			ts[i]->res = CURLE_FAILED_INIT;
			ts[i]->done = true;
		}
	}
	while (pending > 0 && !is_cancelled(x)) {
		int running = 0, q;
		CURLMsg *m;
		CURLMcode mc = curl_multi_perform(x->multi, &running);

		if (mc != CURLM_OK)
			break;
		while ((m = curl_multi_info_read(x->multi, &q))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			for (size_t i = 0; i < n; i++) {
				if (ts[i]->h == m->easy_handle && !ts[i]->done) {
					ts[i]->res = m->data.result;
					ts[i]->done = true;
					curl_multi_remove_handle(x->multi, ts[i]->h);
					pending--;
					break;
				}
			}
		}
		if (pending == 0)
			break;
		if (curl_multi_poll(x->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ts[i]->done) {
			ts[i]->res = is_cancelled(x) ? CURLE_ABORTED_BY_CALLBACK :
				     CURLE_FAILED_INIT;
			ts[i]->done = true;
			curl_multi_remove_handle(x->multi, ts[i]->h);
		}
		if (ts[i]->status == 0)
			curl_easy_getinfo(ts[i]->h, CURLINFO_RESPONSE_CODE, &ts[i]->status);
	}
}

static bool tls_error(CURLcode c)
{
	switch (c) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return true;
	default:
		return false;
	}
}

/* The body of an HTTP error (XAPI: a short HTML page) reduced to one line of text. */
static void error_body_text(const struct ct_sb *b, char *out, size_t len)
{
	struct ct_sb s;
	bool tag = false, space = false;

	ct_sb_init(&s);
	for (size_t i = 0; i < b->len && s.len < 300; i++) {
		char c = b->buf[i];

		if (c == '<') {
			tag = true;
			continue;
		}
		if (c == '>') {
			tag = false;
			space = s.len > 0;
			continue;
		}
		if (tag)
			continue;
		if (isspace((unsigned char)c)) {
			space = s.len > 0;
			continue;
		}
		if (space)
			ct_sb_add(&s, " ", 1);
		space = false;
		ct_sb_add(&s, &c, 1);
	}
	ct_sanitize(s.buf, out, len);
	ct_sb_release(&s);
}

/* "scheme://host:port" of a URL, in a static buffer (for messages: no query, no session). */
static const char *origin_of_url(const char *url)
{
	static _Thread_local char buf[256];
	const char *p = strstr(url, "://");
	const char *h = p ? p + 3 : url;

	snprintf(buf, sizeof(buf), "%.*s", (int)((size_t)(h - url) + strcspn(h, "/?#")), url);
	return buf;
}

/* "pool 'lab' (https://10.0.0.1)" or the URL alone when the pool has no name. */
static const char *who(const struct ct_xapi *x, char *buf, size_t len)
{
	char n[128];

	if (x->name)
		snprintf(buf, len, "pool '%s' (%s)", ct_sanitize(x->name, n, sizeof(n)), x->master);
	else
		snprintf(buf, len, "%s", x->master);
	return buf;
}

/* The failures of a transfer that stopped on one of our limits; 1 if it was not one. */
static int limit_error(struct xfer *t, struct ct_err *e)
{
	struct ct_xapi *x = t->x;
	char w[512], sz[32], cls[64];

	/* the class: the decoder's, else the method's prefix ("VM" of "VM.get_VBDs") */
	snprintf(cls, sizeof(cls), "%.*s", t->cls ? (int)strlen(t->cls) : (int)strcspn(t->what, "."),
		 t->cls ? t->cls : t->what);
	if (t->over_bytes) {
		ct_format_bytes((long long)x->max_bytes, sz, sizeof(sz));
		return ct_err_set(e, CT_E_PROTO, "the reply of %s to %s (class %s) passed the "
				  "limit of %s for one reply (limits.reply_bytes): the server sent more "
				  "than a pool of this size needs; if this pool really is that big, raise "
				  "limits.reply_bytes in the configuration", who(x, w, sizeof(w)),
				  t->what, cls, sz);
	}
	if (t->over_records)
		return ct_err_set(e, CT_E_PROTO, "the reply of %s to %s (class %s) passed the "
				  "limit of %llu records for one reply (limits.reply_records): the server "
				  "sent more than a pool of this size needs; if this pool really is that big, raise "
				  "limits.reply_records in the configuration", who(x, w, sizeof(w)),
				  t->what, cls, (unsigned long long)x->max_records);
	if (t->stalled)
		return ct_err_set(e, CT_E_TIMEOUT, "the reply of %s to %s stalled: less than %d "
				  "bytes in %ld s (limits.stall_time); the host or the network is "
				  "overloaded, or this is not a pool master", who(x, w, sizeof(w)),
				  t->what, CT_XAPI_STALL_BYTES_PER_S * (int)x->stall_s, x->stall_s);
	if (t->no_first_byte)
		return ct_err_set(e, CT_E_TIMEOUT, "%s did not start answering %s within %lld s: "
				  "the host may be down or overloaded", who(x, w, sizeof(w)), t->what,
				  (long long)(t->first_byte_ms / 1000));
	if (t->res == CURLE_OPERATION_TIMEDOUT && t->deadline_capped && x->deadline_ms > 0 &&
	    ct_now_ms() >= x->deadline_ms - 50)
		return ct_err_set(e, CT_E_TIMEOUT, "the time limit of the run (%s) ran out while "
				  "waiting for %s to answer %s%s", x->deadline_why ? x->deadline_why :
				  "deadline", who(x, w, sizeof(w)), t->what,
				  t->rx ? " (the reply had started)" : "");
	return 1;
}

/* Keep what the failed handshake saw, for ct_xapi_last_cert. */
static void remember_cert(struct ct_xapi *x, const struct xfer *t)
{
	struct ct_xapi_cert *c = &x->last_cert;

	memset(c, 0, sizeof(*c));
	x->have_cert = true;
	c->seen = t->tls.seen;
	c->mismatch = t->tls.mismatch;
	c->untrusted = t->tls.seen && !t->tls.pin_set && t->tls.verr != 0;
	if (t->tls.seen)
		format_fingerprint(t->tls.seen_fp, c->fingerprint, sizeof(c->fingerprint));
	snprintf(c->subject, sizeof(c->subject), "%s", t->tls.subject);
	snprintf(c->issuer, sizeof(c->issuer), "%s", t->tls.issuer);
	snprintf(c->not_before, sizeof(c->not_before), "%s", t->tls.not_before);
	snprintf(c->not_after, sizeof(c->not_after), "%s", t->tls.not_after);
	if (t->tls.verr)
		snprintf(c->verify_error, sizeof(c->verify_error), "%s",
			 X509_verify_cert_error_string(t->tls.verr));
}

bool ct_xapi_last_cert(const struct ct_xapi *x, struct ct_xapi_cert *out)
{
	if (!x->have_cert)
		return false;
	*out = x->last_cert;
	return true;
}

bool ct_xapi_set_pin(struct ct_xapi *x, const char *fp)
{
	unsigned char pin[32];

	if (!fp || !parse_fingerprint(fp, pin))
		return false;
	memcpy(x->pin, pin, sizeof(pin));
	x->pin_set = true;
	x->pin_bad = false;
	free(x->fingerprint_text);
	x->fingerprint_text = ct_xstrdup(fp);
	x->have_cert = false;
	return true;
}

/* Transport-level outcome of one transfer as a ct_err (decoder and HTTP-status errors
 * included). 0 when the HTTP exchange itself succeeded with status 200. */
static int xfer_error(struct xfer *t, struct ct_err *e)
{
	struct ct_xapi *x = t->x;
	char fp[128], pin[128], body[320];
	int lr;

	if (t->res == CURLE_OK) {
		if (t->status == 200)
			return 0;
		error_body_text(&t->errbody, body, sizeof(body));
		return ct_err_set(e, CT_E_NET, "%s answered HTTP status %ld to %s%s%s%s", x->master,
				  t->status, t->what, body[0] ? " (" : "", body, body[0] ? ")" : "");
	}
	if ((lr = limit_error(t, e)) <= 0)
		return lr;
	if (t->res == CURLE_ABORTED_BY_CALLBACK || is_cancelled(x))
		return ct_err_set(e, CT_E_CANCEL, "%s was cancelled", t->what);
	if (t->dec_failed) {
		*e = t->derr;
		return -1;
	}
	if (t->sink == SINK_HTTP && t->wcb_rc)
		return ct_err_set(e, CT_E_IO, "%s stopped: the data could not be written", t->what);
	if (tls_error(t->res)) {
		if (t->tls.seen)
			format_fingerprint(t->tls.seen_fp, fp, sizeof(fp));
		remember_cert(x, t);
		if (t->tls.mismatch && strcmp(x->master, x->url)) {
			format_fingerprint(t->tls.pin, pin, sizeof(pin));
			return ct_err_set(e, CT_E_TLS,
					  "%s is a pool member and named %s as the pool master "
					  "(HOST_IS_SLAVE), but the master's TLS certificate has the SHA-256 "
					  "fingerprint %s, not the pinned %s: every host has its own "
					  "certificate and the pin is kept across the redirect. If %s is "
					  "your pool master, set url to it and fingerprint = \"sha256:%s\" in "
					  "the pool's tls block", x->url, x->master, fp, pin, x->master, fp);
		}
		if (t->tls.mismatch) {
			format_fingerprint(t->tls.pin, pin, sizeof(pin));
			return ct_err_set(e, CT_E_TLS,
					  "the TLS certificate of %s has the SHA-256 fingerprint %s, not the "
					  "pinned %s: the certificate was replaced or this is not your pool "
					  "master; if the master's certificate was renewed on purpose, set "
					  "fingerprint = \"sha256:%s\" in the pool's tls block", x->master,
					  fp, pin, fp);
		}
		if (t->res == CURLE_SSL_CACERT_BADFILE)
			return ct_err_set(e, CT_E_TLS, "cannot use the ca_file '%s' for %s (%s): check "
					  "the path and that it holds PEM certificates",
					  x->ca_file ? x->ca_file : "(system CAs)", x->master,
					  t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res));
		if (t->tls.seen)
			return ct_err_set(e, CT_E_TLS,
					  "the TLS certificate of %s failed verification (%s); its SHA-256 "
					  "fingerprint is %s. If this is your pool master (XenServer and "
					  "XCP-ng hosts use self-signed certificates), pin it with "
					  "fingerprint = \"sha256:%s\" in the pool's tls block, or set "
					  "ca_file to the CA that signed it", x->master,
					  t->tls.verr ? X509_verify_cert_error_string(t->tls.verr) :
					  (t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res)),
					  fp, fp);
		return ct_err_set(e, CT_E_TLS, "the TLS handshake with %s%s%s%s failed (%s): is it an "
				  "https port of a pool master?", x->master,
				  strcmp(x->master, x->url) ? " (named as the pool master by the member " :
				  "", strcmp(x->master, x->url) ? x->url : "",
				  strcmp(x->master, x->url) ? ")" : "",
				  t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res));
	}
	if (t->res == CURLE_UNSUPPORTED_PROTOCOL && !strncasecmp(t->url, "https://", 8)) {
		char *to = NULL, where[256] = "";

		curl_easy_getinfo(t->h, CURLINFO_REDIRECT_URL, &to);
		if (to)
			ct_sanitize(origin_of_url(to), where, sizeof(where));
		return ct_err_set(e, CT_E_TLS, "%s redirected %s to %s, which is not https: "
				  "chaintop never leaves https for plain http (the session and the data "
				  "would travel in clear); check the pool's hosts and what stands "
				  "between them and this machine", x->master, t->what,
				  where[0] ? where : "a plain http address");
	}
	if (t->res == CURLE_OPERATION_TIMEDOUT)
		return ct_err_set(e, CT_E_TIMEOUT, "%s did not answer %s in time (%s): the host "
				  "may be down or overloaded", x->master, t->what,
				  t->errbuf[0] ? t->errbuf : "timeout");
	return ct_err_set(e, CT_E_NET, "cannot talk to %s for %s: %s", x->master, t->what,
			  t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res));
}

/* ---- XML-RPC encoding ------------------------------------------------------------------------ */

static int build_request(const char *method, const char *session, const struct ct_xarg *args,
			 size_t nargs, char **body, size_t *len, struct ct_err *e)
{
	xmlrpc_env env;
	xmlrpc_value *params, *v = NULL;
	xmlrpc_mem_block *mb = NULL;
	int rc = -1;

	xmlrpc_env_init(&env);
	params = xmlrpc_array_new(&env);
	if (env.fault_occurred)
		goto out;
	if (session) {
		v = xmlrpc_string_new(&env, session);
		if (env.fault_occurred)
			goto out;
		xmlrpc_array_append_item(&env, params, v);
		xmlrpc_DECREF(v);
		if (env.fault_occurred)
			goto out;
	}
	for (size_t i = 0; i < nargs; i++) {
		const struct ct_xarg *a = &args[i];

		switch (a->type) {
		case CT_XARG_STR:
			v = xmlrpc_string_new(&env, a->s ? a->s : "");
			break;
		case CT_XARG_STRSET:
			v = xmlrpc_array_new(&env);
			for (size_t k = 0; !env.fault_occurred && k < a->n; k++) {
				xmlrpc_value *item = xmlrpc_string_new(&env, a->set[k] ? a->set[k] : "");

				if (env.fault_occurred)
					break;
				xmlrpc_array_append_item(&env, v, item);
				xmlrpc_DECREF(item);
			}
			break;
		case CT_XARG_DOUBLE:
			v = xmlrpc_double_new(&env, a->d);
			break;
		case CT_XARG_BOOL:
			v = xmlrpc_bool_new(&env, a->b);
			break;
		}
		if (env.fault_occurred) {
			if (v)
				xmlrpc_DECREF(v);
			goto out;
		}
		xmlrpc_array_append_item(&env, params, v);
		xmlrpc_DECREF(v);
		if (env.fault_occurred)
			goto out;
	}
	mb = xmlrpc_mem_block_new(&env, 0);
	if (env.fault_occurred)
		goto out;
	xmlrpc_serialize_call(&env, mb, method, params);
	if (env.fault_occurred)
		goto out;
	*len = xmlrpc_mem_block_size(mb);
	*body = ct_xmalloc(*len + 1);
	memcpy(*body, xmlrpc_mem_block_contents(mb), *len);
	(*body)[*len] = '\0';
	explicit_bzero(xmlrpc_mem_block_contents(mb), *len);
	rc = 0;
out:
	if (rc < 0)
		ct_err_set(e, CT_E_USAGE, "cannot encode the %s call (%s): an argument is not valid "
			   "UTF-8 text", method, env.fault_string ? env.fault_string : "error");
	if (mb)
		xmlrpc_mem_block_free(mb);
	if (params)
		xmlrpc_DECREF(params);
	xmlrpc_env_clean(&env);
	return rc;
}

/* ---- calls ------------------------------------------------------------------------------- */

enum {
	C_NOSESSION = 1,   /* no session argument (login) */
	C_NORETRY = 2,     /* no log-in-again on SESSION_INVALID */
	C_SHORT = 4,       /* short timeout (logout) */
	C_SECRET = 8,      /* SECRET_MARK in the request stands for the password */
};

/* The login request is encoded with this in place of the password, which is put in by
 * splice_secret: xmlrpc-c would otherwise keep a copy of it in a value it frees without
 * wiping. */
#define SECRET_MARK "chaintop-secret-9f2c6b1e04d7a385"

static int splice_secret(const struct ct_xapi *x, char **body, size_t *len, struct ct_err *e);

static int relogin(struct ct_xapi *x, struct ct_err *e);

static int check_cancel(struct ct_xapi *x, const char *what, struct ct_err *e)
{
	if (is_cancelled(x))
		return ct_err_set(e, CT_E_CANCEL, "%s was cancelled", what);
	return 0;
}

static int ensure_session(struct ct_xapi *x, struct ct_err *e)
{
	if (x->session)
		return 0;
	return ct_xapi_login(x, e);
}

/* One ordinary call whose reply a decoder of kind (CT_DEC_STRING or CT_DEC_SET) reads; on
 * success *out is that decoder, finished (owned: take the value, then ct_decoder_free). */
static int call_value(struct ct_xapi *x, const char *method, const struct ct_xarg *args,
		      size_t nargs, int flags, enum ct_dec_kind kind, struct ct_decoder **out,
		      struct ct_err *e)
{
	*out = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct xfer *t;
		char *body = NULL;
		size_t len = 0;
		int rc;

		if (check_cancel(x, method, e) < 0)
			return -1;
		if (!(flags & C_NOSESSION) && ensure_session(x, e) < 0)
			return -1;
		if (build_request(method, (flags & C_NOSESSION) ? NULL : x->session, args, nargs,
				  &body, &len, e) < 0)
			return -1;
		if ((flags & C_SECRET) && splice_secret(x, &body, &len, e) < 0)
			return -1;
		t = xfer_new(x, x->master, method, SINK_DEC,
			     (flags & C_SHORT) ? LOGOUT_TIMEOUT_S :
			     (flags & C_NOSESSION) ? x->login_timeout : x->call_timeout);
		t->dec = ct_decoder_new(kind, CT_POOL, NULL, NULL);
		xfer_set_post(t, body, len, "Content-Type: text/xml");
		run_xfers(x, &t, 1);
		rc = xfer_error(t, e);
		if (rc == 0)
			rc = ct_decoder_finish(t->dec, e);
		if (rc == 0) {
			*out = t->dec;
			t->dec = NULL;
		} else if (e->code == CT_E_PROTO) {
			ct_err_prefix(e, "the reply of %s to %s", x->master, method);
		}
		xfer_free(t);
		if (rc == 0)
			return 0;
		if (attempt == 0 && !(flags & (C_NOSESSION | C_NORETRY)) &&
		    ct_err_is(e, "SESSION_INVALID")) {
			if (relogin(x, e) < 0)
				return -1;
			continue;
		}
		return -1;
	}
	return -1;
}

int ct_xapi_call(struct ct_xapi *x, const char *method, const struct ct_xarg *args, size_t nargs,
		 char **out, struct ct_err *e)
{
	struct ct_decoder *d;

	if (out)
		*out = NULL;
	if (call_value(x, method, args, nargs, 0, CT_DEC_STRING, &d, e) < 0)
		return -1;
	if (out)
		*out = ct_decoder_take_string(d);
	ct_decoder_free(d);
	return 0;
}

int ct_xapi_call_set(struct ct_xapi *x, const char *method, const struct ct_xarg *args,
		     size_t nargs, struct ct_strset *out, struct ct_err *e)
{
	struct ct_decoder *d;
	struct ct_strset got;

	if (call_value(x, method, args, nargs, 0, CT_DEC_SET, &d, e) < 0)
		return -1;
	ct_decoder_take_set(d, &got);
	for (size_t i = 0; i < got.n; i++)
		ct_strset_add(out, got.v[i]);
	ct_strset_release(&got);
	ct_decoder_free(d);
	return 0;
}

/* ---- session --------------------------------------------------------------------------- */

/* Scheme, host part and port of a URL like "https://host[:port][/path]". */
static void split_url(const char *url, char *scheme, size_t slen, char *port, size_t plen)
{
	const char *p = strstr(url, "://");
	const char *host, *end, *colon = NULL;

	snprintf(scheme, slen, "%.*s", p ? (int)(p - url) : 5, p ? url : "https");
	port[0] = '\0';
	host = p ? p + 3 : url;
	end = host + strcspn(host, "/?#");
	if (*host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));

		if (rb && rb + 1 < end && rb[1] == ':')
			colon = rb + 1;
	} else {
		const char *c = memchr(host, ':', (size_t)(end - host));

		if (c && !memchr(c + 1, ':', (size_t)(end - c - 1)))
			colon = c;
	}
	if (colon)
		snprintf(port, plen, "%.*s", (int)(end - colon - 1), colon + 1);
}

/* True when s[0..n) is a host name or IPv4 address (letters, digits, '-', '.', '_'). */
static bool host_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return false;
	return true;
}

/* True when s[0..n) is an IPv6 address as written inside brackets (no zone). */
static bool ipv6_ok(const char *s, size_t n)
{
	if (n < 2 || n > 45)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
			return false;
	return memchr(s, ':', n) != NULL;
}

static bool port_ok(const char *s)
{
	long v = 0;

	if (!*s || strlen(s) > 5)
		return false;
	for (const char *c = s; *c; c++) {
		if (!isdigit((unsigned char)*c))
			return false;
		v = v * 10 + (*c - '0');
	}
	return v >= 1 && v <= 65535;
}

/* The master's URL from HOST_IS_SLAVE's parameter. xapi sends the master's address
 * (Pool_role.get_master_address: an IP address, no scheme, no port); a host name, a port
 * and a bracketed IPv6 address are accepted too. Our scheme is kept (and with it the TLS
 * settings and the pin, which belong to the session), and our port unless one is given.
 * Anything else (a URL, a path, user info, spaces, control characters) is refused: NULL. */
static char *master_url(const char *cur, const char *param)
{
	char scheme[16], port[16];
	size_t len = strlen(param), colons = 0;
	const char *last_colon = NULL;

	if (len == 0 || len > 300)
		return NULL;
	split_url(cur, scheme, sizeof(scheme), port, sizeof(port));
	for (const char *c = param; *c; c++) {
		if (*c == ':') {
			colons++;
			last_colon = c;
		}
	}
	if (param[0] == '[') {
		const char *rb = strchr(param, ']');

		if (!rb || !ipv6_ok(param + 1, (size_t)(rb - param - 1)))
			return NULL;
		if (rb[1] == '\0')
			return ct_xasprintf("%s://%.*s%s%s", scheme, (int)(rb - param + 1), param,
					    port[0] ? ":" : "", port);
		if (rb[1] != ':' || !port_ok(rb + 2))
			return NULL;
		return ct_xasprintf("%s://%s", scheme, param);
	}
	if (colons > 1) {
		if (!ipv6_ok(param, len))
			return NULL;
		return ct_xasprintf("%s://[%s]%s%s", scheme, param, port[0] ? ":" : "", port);
	}
	if (colons == 1) {
		if (!host_name_ok(param, (size_t)(last_colon - param)) || !port_ok(last_colon + 1))
			return NULL;
		return ct_xasprintf("%s://%s", scheme, param);
	}
	if (!host_name_ok(param, len))
		return NULL;
	return ct_xasprintf("%s://%s%s%s", scheme, param, port[0] ? ":" : "", port);
}

/* Replace SECRET_MARK in the encoded request by the password, XML-escaped, into a buffer
 * of the exact size; every intermediate copy is wiped. */
static int splice_secret(const struct ct_xapi *x, char **body, size_t *len, struct ct_err *e)
{
	const char *pw = x->password, *mark = strstr(*body, SECRET_MARK);
	size_t esc = 0, mlen = strlen(SECRET_MARK), head, n, o = 0;
	char *out;

	if (!mark) {
		explicit_bzero(*body, *len);
		free(*body);
		*body = NULL;
		return ct_err_set(e, CT_E_USAGE, "cannot encode the login call");
	}
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
			explicit_bzero(*body, *len);
			free(*body);
			*body = NULL;
			return ct_err_set(e, CT_E_CONFIG, "the password of user '%s' holds a control "
					  "character, which XML-RPC cannot carry: check the password "
					  "file or variable", x->username);
		}
		esc += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : *p == '\r' ? 5 : 1;
	}
	head = (size_t)(mark - *body);
	n = *len - mlen + esc;
	out = ct_xmalloc(n + 1);
	memcpy(out, *body, head);
	o = head;
	for (const char *p = pw; *p; p++) {
		const char *r = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" :
				*p == '\r' ? "&#13;" : NULL;

		if (r) {
			memcpy(out + o, r, strlen(r));
			o += strlen(r);
		} else {
			out[o++] = *p;
		}
	}
	memcpy(out + o, mark + mlen, *len - head - mlen);
	out[n] = '\0';
	explicit_bzero(*body, *len);
	free(*body);
	*body = out;
	*len = n;
	return 0;
}

static int login_at(struct ct_xapi *x, struct ct_err *e)
{
	struct ct_xarg args[4] = {
		CT_XSTR(x->username), CT_XSTR(SECRET_MARK), CT_XSTR("1.0"), CT_XSTR(x->originator),
	};
	struct ct_decoder *d;
	char *s;

	if (call_value(x, "session.login_with_password", args, 4, C_NOSESSION | C_SECRET,
		       CT_DEC_STRING, &d,
		       e) < 0)
		return -1;
	s = ct_decoder_take_string(d);
	ct_decoder_free(d);
	if (!s || !s[0]) {
		free(s);
		return ct_err_set(e, CT_E_PROTO, "%s answered the login without a session "
				  "reference", x->master);
	}
	free(x->session);
	x->session = s;
	return 0;
}

int ct_xapi_login(struct ct_xapi *x, struct ct_err *e)
{
	bool redirected = false, back_to_configured = false;

	free(x->session);
	x->session = NULL;
	if (x->pin_bad)
		return ct_err_set(e, CT_E_CONFIG, "the tls fingerprint '%s' is not a SHA-256 "
				  "fingerprint: write the 64 hex digits openssl prints, as in "
				  "fingerprint = \"sha256:AB:CD:...\"", x->fingerprint_text);
	if (x->pin_set && !g_openssl)
		return ct_err_set(e, CT_E_TLS, "certificate pinning needs libcurl built with OpenSSL, "
				  "and this one uses another TLS library: use ca_file instead");
	for (;;) {
		if (login_at(x, e) == 0)
			return 0;
		if (ct_err_is(e, "HOST_IS_SLAVE") && e->n_params >= 1 && e->params[0][0]) {
			char *prev = ct_xstrdup(x->master), *next;
			char addr[256];

			ct_sanitize(e->params[0], addr, sizeof(addr));
			if (redirected) {
				ct_err_set(e, CT_E_XAPI, "%s is a pool member too (HOST_IS_SLAVE, master "
					   "%s): the pool master is changing; point the pool's url at "
					   "the current master", prev, addr);
				snprintf(e->xapi_code, sizeof(e->xapi_code), "HOST_IS_SLAVE");
				free(prev);
				return -1;
			}
			next = master_url(prev, e->params[0]);
			if (!next) {
				char w[512];

				ct_err_set(e, CT_E_PROTO, "%s is a pool member and named '%s' as its "
					   "master (HOST_IS_SLAVE), which is not a host address (a host name "
					   "or IP address, maybe with a port): chaintop does not follow it, "
					   "so the pool's scheme, TLS settings and pin stay as configured. "
					   "Set the pool's url to the pool master (on any host: xe pool-list "
					   "params=master, then xe host-list params=address)",
					   who(x, w, sizeof(w)), addr);
				free(prev);
				return -1;
			}
			free(x->master);
			x->master = next;
			free(prev);
			redirected = true;
			continue;
		}
		if (ct_err_is(e, "SESSION_AUTHENTICATION_FAILED")) {
			char user[128];

			ct_err_set(e, CT_E_AUTH, "%s refused user '%s' (SESSION_AUTHENTICATION_FAILED): "
				   "check the password in the pool's password_file or password_env",
				   x->master, ct_sanitize(x->username, user, sizeof(user)));
			snprintf(e->xapi_code, sizeof(e->xapi_code), "SESSION_AUTHENTICATION_FAILED");
			return -1;
		}
		/* the master we were sent to earlier is gone: ask the configured host again */
		if ((e->code == CT_E_NET || e->code == CT_E_TIMEOUT) && !redirected &&
		    !back_to_configured && strcmp(x->master, x->url)) {
			free(x->master);
			x->master = ct_xstrdup(x->url);
			back_to_configured = true;
			continue;
		}
		return -1;
	}
}

static int relogin(struct ct_xapi *x, struct ct_err *e)
{
	struct ct_err le;

	ct_err_init(&le);
	if (ct_xapi_login(x, &le) < 0) {
		*e = le;
		return -1;
	}
	return 0;
}

void ct_xapi_logout(struct ct_xapi *x)
{
	struct ct_err e;
	struct ct_decoder *d = NULL;

	if (!x || !x->session)
		return;
	ct_err_init(&e);
	if (!is_cancelled(x))
		call_value(x, "session.logout", NULL, 0, C_NORETRY | C_SHORT, CT_DEC_STRING, &d, &e);
	ct_decoder_free(d);
	free(x->session);
	x->session = NULL;
}

const char *ct_xapi_url(const struct ct_xapi *x)
{
	return x->master;
}

const char *ct_xapi_session(const struct ct_xapi *x)
{
	return x->session;
}

void ct_xapi_set_deadline(struct ct_xapi *x, int64_t deadline_ms, const char *why)
{
	x->deadline_ms = deadline_ms;
	free(x->deadline_why);
	x->deadline_why = ct_xstrdup(why);
}

void ct_xapi_cancel(struct ct_xapi *x)
{
	if (!x)
		return;
	atomic_store(&x->cancel, true);
	curl_multi_wakeup(x->multi);
}

void ct_xapi_reset_cancel(struct ct_xapi *x)
{
	if (x)
		atomic_store(&x->cancel, false);
}

void ct_xapi_cancel_with(struct ct_xapi *x, atomic_int *flag)
{
	if (x)
		x->cancel_flag = flag;
}

struct ct_xapi *ct_xapi_new(const struct ct_xapi_opts *o)
{
	struct ct_xapi *x = ct_xcalloc(1, sizeof(*x));
	size_t len;

	x->url = ct_xstrdup(o->url ? o->url : "");
	len = strlen(x->url);
	while (len > 0 && x->url[len - 1] == '/' && strstr(x->url, "://") &&
	       strstr(x->url, "://") + 3 < x->url + len - 1)
		x->url[--len] = '\0';
	x->master = ct_xstrdup(x->url);
	x->username = ct_xstrdup(o->username ? o->username : "root");
	x->password = ct_xstrdup(o->password ? o->password : "");
	x->ca_file = ct_xstrdup(o->ca_file);
	x->originator = ct_xstrdup(o->originator ? o->originator : "chaintop");
	x->verify = o->tls_verify;
	if (o->fingerprint && o->fingerprint[0]) {
		x->fingerprint_text = ct_xstrdup(o->fingerprint);
		x->pin_set = parse_fingerprint(o->fingerprint, x->pin);
		x->pin_bad = !x->pin_set;
	}
	x->connect_timeout = o->connect_timeout_s > 0 ? o->connect_timeout_s : 10;
	x->call_timeout = o->call_timeout_s > 0 ? o->call_timeout_s : 120;
	x->login_timeout = o->login_timeout_s > 0 ? o->login_timeout_s : 10;
	x->stall_s = o->stall_s > 0 ? o->stall_s : 20;
	x->max_bytes = o->reply_max_bytes > 0 ? o->reply_max_bytes : CT_XAPI_REPLY_BYTES;
	x->max_records = o->reply_max_records > 0 ? o->reply_max_records : CT_XAPI_REPLY_RECORDS;
	x->name = ct_xstrdup(o->name);
	atomic_init(&x->cancel, false);
	x->multi = curl_multi_init();
	if (!x->multi)
		ct_fatal("out of memory creating a libcurl multi handle");
	/* a few connections are enough to overlap the big replies; more only crowd the
	 * server's accept queue (a dropped SYN costs a 1 s retransmit) */
	curl_multi_setopt(x->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)MAX_CONNECTIONS);
	return x;
}

void ct_xapi_free(struct ct_xapi *x)
{
	if (!x)
		return;
	ct_xapi_logout(x);
	curl_multi_cleanup(x->multi);
	free(x->url);
	free(x->master);
	free(x->username);
	wipe_free(x->password);
	free(x->ca_file);
	free(x->originator);
	free(x->fingerprint_text);
	free(x->name);
	free(x->deadline_why);
	explicit_bzero(x->pin, sizeof(x->pin));
	free(x->session);
	free(x);
}

/* ---- records and events (streamed) --------------------------------------------------------- */

/* Run n streamed calls in parallel. bodies[i] are taken. On SESSION_INVALID in any of them,
 * log in again and run those again once. */
struct stream_call {
	char method[64];
	enum ct_dec_kind kind;
	enum ct_class cls;
	struct ct_xarg args[4];
	size_t nargs;
	long timeout_s;            /* whole-call limit; 0: the stall limit only */
	ct_record_cb cb;
	void *ctx;
	struct ct_decoder *dec;    /* out: the finished decoder (RECORD, EVENTS) */
	bool ok;
};

static int run_streams(struct ct_xapi *x, struct stream_call *sc, size_t n, struct ct_err *e)
{
	struct xfer **ts = ct_xcalloc(n ? n : 1, sizeof(*ts));
	size_t *which = ct_xcalloc(n ? n : 1, sizeof(*which));
	int rc = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		size_t nt = 0;
		bool retry = false;
		struct ct_err first;

		ct_err_init(&first);
		if (check_cancel(x, sc[0].method, e) < 0 || ensure_session(x, e) < 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			char *body = NULL;
			size_t len = 0;
			struct xfer *t;

			if (sc[i].ok)
				continue;
			if (build_request(sc[i].method, x->session, sc[i].args, sc[i].nargs, &body,
					  &len, e) < 0) {
				rc = -1;
				goto out;
			}
			t = xfer_new(x, x->master, sc[i].method, SINK_DEC, sc[i].timeout_s);
			t->cls = sc[i].kind == CT_DEC_EVENTS ? "event" : ct_class_name(sc[i].cls);
			t->user_cb = sc[i].cb;
			t->user_ctx = sc[i].ctx;
			t->dec = ct_decoder_new(sc[i].kind, sc[i].cls, sc[i].cb ? on_record : NULL,
						sc[i].cb ? t : NULL);
			xfer_set_post(t, body, len, "Content-Type: text/xml");
			which[nt] = i;
			ts[nt++] = t;
		}
		run_xfers(x, ts, nt);
		for (size_t k = 0; k < nt; k++) {
			struct xfer *t = ts[k];
			struct stream_call *c = &sc[which[k]];
			struct ct_err te;

			ct_err_init(&te);
			if (xfer_error(t, &te) == 0 && ct_decoder_finish(t->dec, &te) == 0) {
				c->ok = true;
				c->dec = t->dec;
				t->dec = NULL;
			} else if (ct_err_is(&te, "SESSION_INVALID")) {
				retry = true;
			} else if (first.code == CT_OK) {
				first = te;
				if (te.code == CT_E_PROTO && !t->over_bytes && !t->over_records)
					ct_err_prefix(&first, "the reply of %s to %s", x->master, t->what);
			}
			xfer_free(t);
			ts[k] = NULL;
		}
		if (first.code != CT_OK) {
			*e = first;
			rc = -1;
			break;
		}
		if (!retry)
			break;
		if (attempt == 1) {
			rc = ct_err_set(e, CT_E_XAPI, "%s refused a fresh session at once "
					"(SESSION_INVALID twice): xapi may be restarting", x->master);
			snprintf(e->xapi_code, sizeof(e->xapi_code), "SESSION_INVALID");
			break;
		}
		if (relogin(x, e) < 0) {
			rc = -1;
			break;
		}
		/* the session argument changes: rebuilt from x->session above */
	}
out:
	for (size_t k = 0; k < n; k++)
		xfer_free(ts[k]);
	free(ts);
	free(which);
	return rc;
}

static void records_call(struct stream_call *c, const struct ct_xapi *x, enum ct_class cls,
			 const char *where, ct_record_cb cb, void *ctx)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->method, sizeof(c->method), "%s.%s", ct_class_name(cls),
		 where ? "get_all_records_where" : "get_all_records");
	c->kind = CT_DEC_RECORDS;
	c->cls = cls;
	if (where) {
		c->args[0] = CT_XSTR(where);
		c->nargs = 1;
	}
	c->cb = cb;
	c->ctx = ctx;
	/* a pool-wide reply may be hundreds of MB: the stall limit guards it, and a generous
	 * cap keeps a trickling server from holding the load forever */
	c->timeout_s = x->call_timeout * 10;
}

int ct_xapi_get_all_records(struct ct_xapi *x, enum ct_class c, const char *where,
			    ct_record_cb cb, void *ctx, struct ct_err *e)
{
	struct stream_call sc;
	int rc;

	records_call(&sc, x, c, where, cb, ctx);
	rc = run_streams(x, &sc, 1, e);
	ct_decoder_free(sc.dec);
	return rc;
}

int ct_xapi_load_classes(struct ct_xapi *x, const enum ct_class *cls, size_t n,
			 ct_record_cb cb, void *ctx, struct ct_err *e)
{
	struct stream_call *sc;
	int rc;

	if (n == 0)
		return 0;
	sc = ct_xcalloc(n, sizeof(*sc));
	for (size_t i = 0; i < n; i++)
		records_call(&sc[i], x, cls[i], NULL, cb, ctx);
	rc = run_streams(x, sc, n, e);
	for (size_t i = 0; i < n; i++)
		ct_decoder_free(sc[i].dec);
	free(sc);
	return rc;
}

int ct_xapi_get_record(struct ct_xapi *x, enum ct_class c, const char *ref,
		       struct ct_obj **out, struct ct_err *e)
{
	struct stream_call sc;
	int rc;

	*out = NULL;
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.method, sizeof(sc.method), "%s.get_record", ct_class_name(c));
	sc.kind = CT_DEC_RECORD;
	sc.cls = c;
	sc.args[0] = CT_XSTR(ref);
	sc.nargs = 1;
	sc.timeout_s = x->call_timeout;
	rc = run_streams(x, &sc, 1, e);
	if (rc == 0) {
		*out = ct_decoder_take_record(sc.dec);
		if (*out && !(*out)->ref)
			(*out)->ref = ct_xstrdup(ref);
	}
	ct_decoder_free(sc.dec);
	return rc;
}

int ct_xapi_event_from(struct ct_xapi *x, const char *const *classes, size_t nclasses,
		       const char *token, double timeout_s, struct ct_event_batch *out,
		       struct ct_err *e)
{
	struct stream_call sc;
	int rc;

	ct_event_batch_init(out);
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.method, sizeof(sc.method), "event.from");
	sc.kind = CT_DEC_EVENTS;
	sc.cls = CT_POOL;
	sc.args[0] = (struct ct_xarg){ .type = CT_XARG_STRSET, .set = classes, .n = nclasses };
	sc.args[1] = CT_XSTR(token ? token : "");
	sc.args[2] = (struct ct_xarg){ .type = CT_XARG_DOUBLE, .d = timeout_s };
	sc.nargs = 3;
	sc.timeout_s = (long)timeout_s + 30;
	rc = run_streams(x, &sc, 1, e);
	if (rc == 0)
		ct_decoder_take_events(sc.dec, out);
	ct_decoder_free(sc.dec);
	return rc;
}

int ct_xapi_event_inject(struct ct_xapi *x, enum ct_class c, const char *ref, char **token,
			 struct ct_err *e)
{
	struct ct_xarg args[2] = { CT_XSTR(ct_class_name(c)), CT_XSTR(ref) };

	return ct_xapi_call(x, "event.inject", args, 2, token, e);
}

int ct_xapi_parse_task_result(const char *fragment, char **out, struct ct_err *e)
{
	struct ct_decoder *d;
	const char *p = fragment ? fragment : "";
	int rc;

	*out = NULL;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '<') {   /* void ("") or a bare value */
		*out = ct_xstrdup(p);
		return 0;
	}
	d = ct_decoder_new(CT_DEC_FRAGMENT, CT_POOL, NULL, NULL);
	rc = ct_decoder_feed(d, p, strlen(p), e);
	if (rc == 0)
		rc = ct_decoder_finish(d, e);
	if (rc == 0)
		*out = ct_decoder_take_string(d);
	else
		ct_err_prefix(e, "the task result");
	ct_decoder_free(d);
	return rc;
}

/* ---- HTTP GET -------------------------------------------------------------------------------- */

/* "https://host:port" of a URL, without any path (HTTP handlers live at the root). */
static char *origin_of(const char *url)
{
	const char *p = strstr(url, "://");
	const char *h = p ? p + 3 : url;

	return ct_xstrndup(url, (size_t)(h - url) + strcspn(h, "/?#"));
}

/* The master's origin, path_query and the session: an HTTP handler's URL (owned; it holds
 * the session id, so wipe it before freeing). */
static char *session_url(const struct ct_xapi *x, const char *path_query)
{
	CURL *tmp = curl_easy_init();
	char *esc, *origin, *url;

	if (!tmp)
		ct_fatal("out of memory creating a libcurl handle");
	esc = curl_easy_escape(tmp, x->session, 0);
	origin = origin_of(x->master);
	url = ct_xasprintf("%s%s%s%ssession_id=%s", origin, path_query[0] == '/' ? "" : "/",
			   path_query, strchr(path_query, '?') ? "&" : "?", esc ? esc : "");
	free(origin);
	curl_free(esc);
	curl_easy_cleanup(tmp);
	return url;
}

int ct_xapi_http_get(struct ct_xapi *x, const char *path_query, ct_http_write_cb write_cb,
		     void *ctx, char **task_id, struct ct_err *e)
{
	int rc = -1;

	if (task_id)
		*task_id = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct xfer *t;
		char *url;
		long status;

		if (check_cancel(x, path_query, e) < 0 || ensure_session(x, e) < 0)
			return -1;
		url = session_url(x, path_query);
		t = xfer_new(x, url, path_query, SINK_HTTP, 0);
		explicit_bzero(url, strlen(url));
		free(url);
		t->wcb = write_cb;
		t->wctx = ctx;
		curl_easy_setopt(t->h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(t->h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(t->h, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(t->h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(t->h, CURLOPT_HEADERDATA, t);
		run_xfers(x, &t, 1);
		status = t->status;
		rc = xfer_error(t, e);
		if (t->url)
			explicit_bzero(t->url, strlen(t->url));
		if (task_id && t->task_id) {
			free(*task_id);
			*task_id = t->task_id;
			t->task_id = NULL;
		}
		xfer_free(t);
		if (rc == 0)
			return 0;
		if (attempt == 0 && (status == 401 || status == 403) && e->code == CT_E_NET) {
			if (relogin(x, e) < 0)
				return -1;
			if (task_id) {
				free(*task_id);
				*task_id = NULL;
			}
			continue;
		}
		return -1;
	}
	return rc;
}

/* ---- HTTP GET that may be redirected to a pool member ----------------------------------------- */

/* "https://host:port/..." -> "host:port" (owned). */
static char *authority_of(const char *url)
{
	const char *p = strstr(url, "://");
	const char *h = p ? p + 3 : url;

	return ct_xstrndup(h, strcspn(h, "/?#"));
}

/* An error of a hop to a redirect target, naming that host and the check that failed. */
static int hop_error(struct xfer *t, const char *host, const char *pin_source, struct ct_err *e)
{
	char fp[128], pin[128], body[320];

	if (t->res == CURLE_OK) {
		error_body_text(&t->errbody, body, sizeof(body));
		return ct_err_set(e, CT_E_NET, "pool member %s answered HTTP status %ld to %s%s%s%s", host,
				  t->status, t->what, body[0] ? " (" : "", body, body[0] ? ")" : "");
	}
	if (t->res == CURLE_ABORTED_BY_CALLBACK || is_cancelled(t->x))
		return ct_err_set(e, CT_E_CANCEL, "%s was cancelled", t->what);
	if (t->wcb_rc)
		return ct_err_set(e, CT_E_IO, "%s stopped: the data could not be written", t->what);
	if (tls_error(t->res)) {
		if (t->tls.seen)
			format_fingerprint(t->tls.seen_fp, fp, sizeof(fp));
		else
			snprintf(fp, sizeof(fp), "(none seen)");
		if (t->tls.mismatch) {
			format_fingerprint(t->tls.pin, pin, sizeof(pin));
			return ct_err_set(e, CT_E_TLS,
					  "the pool master redirected the export to pool member %s, whose TLS "
					  "certificate has the SHA-256 fingerprint %s, not %s (%s): the member's "
					  "certificate changed since the master recorded it, or %s is not that "
					  "member; check the member's certificate in XenCenter or Xen Orchestra",
					  host, fp, pin, pin_source, host);
		}
		return ct_err_set(e, CT_E_TLS, "the pool master redirected the export to pool member %s, "
				  "whose TLS certificate failed verification (%s; SHA-256 fingerprint %s)%s%s",
				  host, t->tls.verr ? X509_verify_cert_error_string(t->tls.verr) :
				  (t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res)), fp,
				  pin_source ? ": " : "", pin_source ? pin_source : "");
	}
	if (t->res == CURLE_OPERATION_TIMEDOUT)
		return ct_err_set(e, CT_E_TIMEOUT, "pool member %s did not answer %s in time (%s)", host,
				  t->what, t->errbuf[0] ? t->errbuf : "timeout");
	return ct_err_set(e, CT_E_NET, "cannot talk to pool member %s for %s (the pool master "
			  "redirected the export there): %s", host, t->what,
			  t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res));
}

int ct_xapi_http_get_redirected(struct ct_xapi *x, const char *path_query,
				ct_http_redirect_cb redirect_cb, void *rctx,
				ct_http_write_cb write_cb, void *ctx, char **task_id,
				struct ct_err *e)
{
	char *url, *cur_scheme_https;
	int rc = -1;

	if (task_id)
		*task_id = NULL;
	if (check_cancel(x, path_query, e) < 0 || ensure_session(x, e) < 0)
		return -1;
	url = session_url(x, path_query);
	cur_scheme_https = strncasecmp(url, "https://", 8) ? NULL : url;
	for (int hop = 0; hop <= 5; hop++) {
		struct xfer *t = xfer_new(x, url, path_query, SINK_HTTP, 0);
		char *host = hop ? authority_of(url) : NULL, *pin = NULL, *pin_source = NULL;
		char *loc = NULL;
		const char *redir = NULL;

		t->wcb = write_cb;
		t->wctx = ctx;
		curl_easy_setopt(t->h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(t->h, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(t->h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(t->h, CURLOPT_HEADERDATA, t);
		if (hop) {
			/* a member: its own certificate, learnt from the master by the caller */
			if (redirect_cb(rctx, host, &pin, &pin_source, e) < 0) {
				xfer_free(t);
				free(host);
				goto out;
			}
			t->tls.pin_set = pin && parse_fingerprint(pin, t->tls.pin);
			if (t->tls.pin_set || !x->verify) {
				curl_easy_setopt(t->h, CURLOPT_SSL_VERIFYPEER, 0L);
				curl_easy_setopt(t->h, CURLOPT_SSL_VERIFYHOST, 0L);
			} else {
				curl_easy_setopt(t->h, CURLOPT_SSL_VERIFYPEER, 1L);
				curl_easy_setopt(t->h, CURLOPT_SSL_VERIFYHOST, 2L);
				if (x->ca_file)
					curl_easy_setopt(t->h, CURLOPT_CAINFO, x->ca_file);
			}
		}
		run_xfers(x, &t, 1);
		if (t->res == CURLE_OK && t->status >= 300 && t->status < 400 &&
		    curl_easy_getinfo(t->h, CURLINFO_REDIRECT_URL, &redir) == CURLE_OK && redir)
			loc = ct_xstrdup(redir);
		if (loc) {
			xfer_free(t);
			free(host);
			free(pin);
			free(pin_source);
			if (!redirect_cb) {
				ct_err_set(e, CT_E_PROTO, "%s answered %s with a redirect, which is not followed here",
					   x->master, path_query);
				explicit_bzero(loc, strlen(loc));
				free(loc);
				goto out;
			}
			if (cur_scheme_https && strncasecmp(loc, "https://", 8) != 0) {
				char *where = authority_of(loc), safe[256];

				ct_sanitize(where ? where : "", safe, sizeof(safe));
				ct_err_set(e, CT_E_TLS, "%s redirected %s to %s, which is not https: "
					   "chaintop never leaves https for plain http (the session and "
					   "the data would travel in clear); check the pool's hosts and "
					   "what stands between them and this machine",
					   hop ? "a pool member" : x->master, path_query,
					   safe[0] ? safe : "a plain http address");
				free(where);
				explicit_bzero(loc, strlen(loc));
				free(loc);
				goto out;
			}
			explicit_bzero(url, strlen(url));
			free(url);
			url = loc;
			cur_scheme_https = strncasecmp(url, "https://", 8) ? NULL : url;
			continue;
		}
		if (hop == 0)
			rc = xfer_error(t, e);
		else
			rc = t->res == CURLE_OK && t->status == 200 ? 0 :
			     hop_error(t, host, pin_source, e);
		if (task_id && t->task_id) {
			*task_id = t->task_id;
			t->task_id = NULL;
		}
		if (t->url)
			explicit_bzero(t->url, strlen(t->url));
		xfer_free(t);
		free(host);
		free(pin);
		free(pin_source);
		goto out;
	}
	ct_err_set(e, CT_E_PROTO, "%s: more than 5 redirects", path_query);
out:
	explicit_bzero(url, strlen(url));
	free(url);
	return rc;
}

/* ---- HTTP POST of a document (notification webhooks) ----------------------------------------- */

static int discard(void *ctx, const void *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

int ct_xapi_http_post(struct ct_xapi *x, const char *content_type, const char *body, size_t len,
		      long timeout_s, struct ct_err *e)
{
	struct xfer *t;
	char fp[128] = "(none seen)", pin[128], text[320], hdr[160];
	int rc = -1;

	if (check_cancel(x, "the POST", e) < 0)
		return -1;
	t = xfer_new(x, x->url, "the POST", SINK_HTTP, timeout_s);
	t->wcb = discard;
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", content_type);
	xfer_set_post(t, ct_xstrndup(body, len), len, hdr);
	curl_easy_setopt(t->h, CURLOPT_FOLLOWLOCATION, 0L);
	run_xfers(x, &t, 1);
	if (t->tls.seen)
		format_fingerprint(t->tls.seen_fp, fp, sizeof(fp));
	if (t->res == CURLE_OK && t->status >= 200 && t->status < 300) {
		rc = 0;
	} else if (t->res == CURLE_OK) {
		error_body_text(&t->errbody, text, sizeof(text));
		ct_err_set(e, CT_E_NET, "%s answered HTTP status %ld to the POST%s%s%s", x->url,
			   t->status, text[0] ? " (" : "", text, text[0] ? ")" : "");
	} else if (t->res == CURLE_ABORTED_BY_CALLBACK && is_cancelled(x)) {
		ct_err_set(e, CT_E_CANCEL, "the POST to %s was cancelled", x->url);
	} else if (tls_error(t->res) && t->tls.mismatch) {
		format_fingerprint(t->tls.pin, pin, sizeof(pin));
		ct_err_set(e, CT_E_TLS, "the TLS certificate of %s has the SHA-256 fingerprint %s, "
			   "not the pinned %s: the certificate was replaced or this is not the server "
			   "meant; if it was renewed on purpose, pin fingerprint = \"sha256:%s\" in the "
			   "notify block's tls block",
			   x->url, fp, pin, fp);
	} else if (t->res == CURLE_SSL_CACERT_BADFILE) {
		ct_err_set(e, CT_E_TLS, "cannot use the ca_file '%s' for %s (%s): check the path and "
			   "that it holds PEM certificates", x->ca_file ? x->ca_file : "(system CAs)",
			   x->url, t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res));
	} else if (tls_error(t->res)) {
		ct_err_set(e, CT_E_TLS, "the TLS certificate of %s failed verification (%s); its "
			   "SHA-256 fingerprint is %s: set ca_file to the CA that signed it, or pin "
			   "it with fingerprint = \"sha256:%s\" in the notify block's tls block", x->url,
			   t->tls.verr ? X509_verify_cert_error_string(t->tls.verr) :
			   (t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res)), fp, fp);
	} else if (t->res == CURLE_OPERATION_TIMEDOUT || t->no_first_byte) {
		ct_err_set(e, CT_E_TIMEOUT, "%s did not answer the POST in time", x->url);
	} else {
		ct_err_set(e, CT_E_NET, "cannot POST to %s: %s", x->url,
			   t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->res));
	}
	xfer_free(t);
	return rc;
}

/* ---- global -------------------------------------------------------------------------------- */

int ct_xapi_global_init(struct ct_err *e)
{
	const curl_version_info_data *vi;
	CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (c != CURLE_OK)
		return ct_err_set(e, CT_E_NET, "cannot initialise libcurl: %s", curl_easy_strerror(c));
	vi = curl_version_info(CURLVERSION_NOW);
	g_openssl = vi && vi->ssl_version && !strncasecmp(vi->ssl_version, "OpenSSL", 7);
	if (g_openssl && g_ssl_idx < 0)
		g_ssl_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	return 0;
}

void ct_xapi_global_cleanup(void)
{
	curl_global_cleanup();
}
