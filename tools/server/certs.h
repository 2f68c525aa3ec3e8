/*
 * certs: the terminals' TLS identities with GnuTLS: issuing a terminal's client certificate
 * (CN = terminal id, its Ed25519 device key, signed by the chain's CA) at registration, and
 * reading and checking the certificate a client presented on a connection.
 *
 * Not for: deciding whether the terminal may do something (http.c asks the store).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "ledger.h"

struct certs_ca; /* the CA that signs terminal certificates */

/* Load the CA certificate and key (PEM files). -EINVAL with a sentence in err. */
__attribute__((warn_unused_result)) int certs_ca_load(const char *cert_path, const char *key_path,
						      struct certs_ca **ret, char *err,
						      size_t err_size);
void certs_ca_free(struct certs_ca *ca);

/* A client certificate for terminal_id and its Ed25519 public key, valid days days from an
 * hour before now_s, as PEM (malloc'd, the caller's). */
__attribute__((warn_unused_result)) int certs_issue(struct certs_ca *ca, const char *terminal_id,
						    const uint8_t public_key[32], int64_t now_s,
						    int days, char **ret_pem);

enum certs_peer_status {
	CERTS_PEER_OK,
	CERTS_PEER_NONE,	/* no certificate presented */
	CERTS_PEER_UNTRUSTED,	/* not signed by the chain's CA, expired, revoked, malformed */
	CERTS_PEER_NOT_TERMINAL /* trusted, but no Ed25519 key or no terminal id as its CN */
};

/*
 * The identity the client of session proved: its certificate checked against the daemon's
 * trust list (the chain's CA), its CN as a terminal id and its Ed25519 public key. A short
 * reason goes to why.
 */
enum certs_peer_status certs_peer(gnutls_session_t session,
				  char ret_terminal_id[LEDGER_TERMINAL_ID_MAX + 1],
				  uint8_t ret_public_key[32], char *why, size_t why_size);
