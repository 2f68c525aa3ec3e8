/*
 * server: loyalty-server's HTTPS endpoint (libmicrohttpd over GnuTLS, one internal thread, so
 * the store is used by one request at a time): the routes of docs/sync-protocol.md, request
 * bodies capped at SYNC_BODY_MAX, terminals authenticated by their client certificate.
 *
 * Not for: the decisions (sync.c), parsing (sync_parse.c), the command line (main.c).
 */
#pragma once

#include <stdint.h>

#include "certs.h"
#include "store.h"
#include "sync.h"

struct server_config {
	const char *listen;	    /* an IPv4 or IPv6 address of this host, e.g. 127.0.0.1 */
	uint16_t port;		    /* 0: chosen by the system */
	const char *key_pem;	    /* the server's TLS key */
	const char *cert_pem;	    /* and certificate (the chain's CA signed it) */
	const char *ca_pem;	    /* the chain's CA: the only issuer of client certificates */
	struct certs_ca *ca;	    /* signs terminal certificates at registration; NULL: off */
	const char *ca_chain_pem;   /* given to a registered terminal as its trust anchor */
	const char *config_key_hex; /* the public key that signs the programme config; NULL: none */
	struct store *st;
	struct sync_policy pol;
};

struct server;

/* Listen and serve in a thread of libmicrohttpd's; *ret_port is the port bound. */
__attribute__((warn_unused_result)) int server_start(const struct server_config *cfg,
						     struct server **ret, uint16_t *ret_port);

/* Stop serving (waits for the request in progress); NULL is fine. */
void server_stop(struct server *srv);
