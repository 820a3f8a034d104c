/* trust.c - first contact with a pool whose certificate is self-signed (XenServer and XCP-ng
 * hosts make their own): show the certificate and how to check it on the host, and on y pin
 * it in the configuration file and connect with the pin. Focus starts on Cancel (N). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/confedit.h"
#include "ui.h"
#include "lib/util.h"

struct trust_req {
	int pool;
	char name[128];
	char fp[128];                       /* "sha256:AB:..." */
};

static struct ct_pool_conf *pool_conf(struct ct_ui *ui, const char *name)
{
	for (int i = 0; i < ui->cfg->n_pools; i++)
		if (!strcmp(ui->cfg->pools[i].name, name))
			return &ui->cfg->pools[i];
	return NULL;
}

/* Whether pool p waits on a certificate the operator could trust (no pin configured). */
static bool wants_trust(struct ct_ui *ui, const struct ct_ui_pool *p)
{
	const struct ct_pool_conf *pc = pool_conf(ui, p->pv.name);

	return p->pv.held && p->have_cert && p->cert.untrusted && p->cert.fingerprint[0] &&
	       pc && !pc->tls.fingerprint;
}

static void trust_confirmed(struct ct_ui *ui, void *payload);

void ct_trust_check(struct ct_ui *ui)
{
	for (int i = 0; i < ui->n_pools; i++) {
		struct ct_ui_pool *p = &ui->pools[i];
		const struct ct_xapi_cert *c = &p->cert;
		struct trust_req *req;
		char title[192], url[300];

		/* asked once per failure: again after a retry (R) fails the same way */
		if ((p->trust_asked && p->trust_retries == p->pv.retries) || !wants_trust(ui, p) ||
		    ct_dialog_active(ui) || ui->input != IN_NONE)
			continue;
		p->trust_asked = true;
		p->trust_retries = p->pv.retries;
		req = ct_xcalloc(1, sizeof(*req));
		req->pool = i;
		snprintf(req->name, sizeof(req->name), "%s", p->pv.name);
		snprintf(req->fp, sizeof(req->fp), "sha256:%s", c->fingerprint);
		ct_sanitize(p->w->conf->url ? p->w->conf->url : "", url, sizeof(url));
		snprintf(title, sizeof(title), "Certificate of pool '%s' is not trusted", p->pv.name);
		ct_dialog_open(ui, title, "Trust (y)");
		ui->dlg.yes_key = true;
		ct_dialog_line(ui, "Pool '%s' (%s) presented a certificate that TLS verification refused%s%s.",
			       p->pv.name, url, c->verify_error[0] ? ": " : "", c->verify_error);
		ct_dialog_line(ui, "  subject:  %s", c->subject[0] ? c->subject : "(none)");
		ct_dialog_line(ui, "  issuer:   %s", c->issuer[0] ? c->issuer : "(none)");
		ct_dialog_line(ui, "  valid:    from %s to %s", c->not_before[0] ? c->not_before : "?",
			       c->not_after[0] ? c->not_after : "?");
		ct_dialog_line(ui, "  SHA-256:  %s", c->fingerprint);
		ct_dialog_line(ui, "%s", "");
		ct_dialog_line(ui, "XenServer and XCP-ng hosts use self-signed certificates. Check that "
			       "this one is your pool master's: on the master run");
		ct_dialog_line(ui, "  openssl x509 -in /etc/xensource/xapi-ssl.pem -noout -fingerprint -sha256");
		ct_dialog_line(ui, "and compare the fingerprints. If they match, chaintop writes "
			       "tls = { fingerprint = \"%s\"; } into pool '%s''s entry of %s (comments, "
			       "layout and file mode kept) and connects with the pin.", req->fp,
			       p->pv.name, ui->cfg->path ? ui->cfg->path : "(no configuration file)");
		ct_dialog_line(ui, "%s", "");
		ct_dialog_line(ui, "Trust and save to the configuration? [y/N]");
		ct_dialog_action(ui, trust_confirmed, req, free);
		return;
	}
}

static void pin(struct ct_ui *ui, const struct trust_req *req)
{
	struct ct_pool_conf *pc;
	struct ct_err e;

	pc = pool_conf(ui, req->name);
	ct_err_init(&e);
	if (!ui->cfg->path) {
		ct_status_msg(ui, MSG_ERROR, "pool '%s': no configuration file to save the pin in; add "
			      "tls = { fingerprint = \"%s\"; } to the pool's entry yourself", req->name,
			      req->fp);
		return;
	}
	if (ct_confedit_pin_file(ui->cfg->path, req->name, req->fp, &e) < 0) {
		ct_status_msg(ui, MSG_ERROR, "pool '%s': the pin was not saved: %s; add tls = { "
			      "fingerprint = \"%s\"; } to the pool's entry yourself, then press R",
			      req->name, e.msg, req->fp);
		return;
	}
	/* the console's own sessions (actions) use the pin from now on too */
	if (pc && !pc->tls.fingerprint)
		pc->tls.fingerprint = ct_xstrdup(req->fp);
	ct_watchset_trust(ui->ws, req->pool, req->fp);
	ct_status_msg(ui, MSG_INFO, "pool '%s': certificate %s pinned in %s; connecting with the pin",
		      req->name, req->fp, ui->cfg->path);
}

static void trust_confirmed(struct ct_ui *ui, void *payload)
{
	struct trust_req *req = payload;

	if (!req)
		return;
	pin(ui, req);
	free(req);
}
