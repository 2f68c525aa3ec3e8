/* certs: issuing and checking the terminals' client certificates with GnuTLS. */
#include "certs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <sodium.h>

struct certs_ca {
	gnutls_x509_crt_t crt;
	gnutls_privkey_t key;
};

static int read_file(const char *path, gnutls_datum_t *ret)
{
	int r = gnutls_load_file(path, ret);
	return r < 0 ? -ENOENT : 0;
}

int certs_ca_load(const char *cert_path, const char *key_path, struct certs_ca **ret, char *err,
		  size_t err_size)
{
	gnutls_datum_t c = {0}, k = {0};
	struct certs_ca *ca = calloc(1, sizeof(*ca));
	int r;
	if (!ca)
		return -ENOMEM;
	if (read_file(cert_path, &c) < 0 || read_file(key_path, &k) < 0) {
		snprintf(err, err_size, "cannot read the CA certificate %s or key %s", cert_path,
			 key_path);
		r = -ENOENT;
		goto fail;
	}
	if ((r = gnutls_x509_crt_init(&ca->crt)) < 0 ||
	    (r = gnutls_x509_crt_import(ca->crt, &c, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (r = gnutls_privkey_init(&ca->key)) < 0 ||
	    (r = gnutls_privkey_import_x509_raw(ca->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		snprintf(err, err_size, "CA %s / %s: %s", cert_path, key_path, gnutls_strerror(r));
		r = -EINVAL;
		goto fail;
	}
	gnutls_free(c.data);
	gnutls_free(k.data);
	*ret = ca;
	return 0;
fail:
	gnutls_free(c.data);
	gnutls_free(k.data);
	certs_ca_free(ca);
	return r;
}

void certs_ca_free(struct certs_ca *ca)
{
	if (!ca)
		return;
	if (ca->crt)
		gnutls_x509_crt_deinit(ca->crt);
	if (ca->key)
		gnutls_privkey_deinit(ca->key);
	free(ca);
}

int certs_issue(struct certs_ca *ca, const char *terminal_id, const uint8_t public_key[32],
		int64_t now_s, int days, char **ret_pem)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	uint8_t raw[32], serial[16];
	gnutls_datum_t x = {raw, 32}, out = {0};
	int r;
	memcpy(raw, public_key, sizeof(raw));
	randombytes_buf(serial, sizeof(serial));
	serial[0] &= 0x7f;
	if ((r = gnutls_pubkey_init(&pub)) < 0 ||
	    (r = gnutls_pubkey_import_ecc_raw(pub, GNUTLS_ECC_CURVE_ED25519, &x, NULL)) < 0 ||
	    (r = gnutls_x509_crt_init(&crt)) < 0 ||
	    (r = gnutls_x509_crt_set_pubkey(crt, pub)) < 0 ||
	    (r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(crt, (time_t) (now_s - 3600))) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(crt, (time_t) (now_s + days * 86400LL))) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
					       "Loyalty terminal", 16)) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, terminal_id,
					       (unsigned) strlen(terminal_id))) < 0 ||
	    (r = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (r = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 1)) < 0 ||
	    (r = gnutls_x509_crt_privkey_sign(crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out)) < 0) {
		r = -EIO;
		goto out;
	}
	char *pem = malloc(out.size + 1);
	if (!pem) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(pem, out.data, out.size);
	pem[out.size] = '\0';
	*ret_pem = pem;
	r = 0;
out:
	gnutls_free(out.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (pub)
		gnutls_pubkey_deinit(pub);
	return r;
}

enum certs_peer_status certs_peer(gnutls_session_t session,
				  char ret_terminal_id[LEDGER_TERMINAL_ID_MAX + 1],
				  uint8_t ret_public_key[32], char *why, size_t why_size)
{
	unsigned n = 0, status = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(session, &n);
	enum certs_peer_status ret = CERTS_PEER_NOT_TERMINAL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t x = {0};
	gnutls_ecc_curve_t curve;
	char cn[64];
	size_t cn_len = sizeof(cn);

	if (!chain || !n) {
		snprintf(why, why_size, "no client certificate");
		return CERTS_PEER_NONE;
	}
	if (gnutls_certificate_verify_peers2(session, &status) < 0 || status) {
		gnutls_datum_t txt = {0};
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt,
								 0) >= 0) {
			snprintf(why, why_size, "%s", (const char *) txt.data);
			gnutls_free(txt.data);
		} else {
			snprintf(why, why_size, "the client certificate is not trusted");
		}
		return CERTS_PEER_UNTRUSTED;
	}
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len) <
		0 ||
	    cn_len < 1 || cn_len > LEDGER_TERMINAL_ID_MAX ||
	    strspn(cn, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != cn_len) {
		snprintf(why, why_size, "the certificate's CN is not a terminal id");
		goto out;
	}
	if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_x509(pub, crt, 0) < 0 ||
	    gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, NULL, 0) < 0 ||
	    curve != GNUTLS_ECC_CURVE_ED25519 || x.size != 32) {
		snprintf(why, why_size, "the certificate's key is not an Ed25519 device key");
		goto out;
	}
	memcpy(ret_terminal_id, cn, cn_len + 1);
	memcpy(ret_public_key, x.data, 32);
	ret = CERTS_PEER_OK;
	why[0] = '\0';
out:
	gnutls_free(x.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return ret;
}
