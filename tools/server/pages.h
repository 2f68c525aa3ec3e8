/*
 * pages: the customer's pages of loyalty-server (docs/card-page.md): the card page behind the
 * receipt QR (/C/<token>), claiming a receipt's points, the one-question survey, consents, the
 * member's data as JSON and erasure. Plain HTTP on a listener of its own (in production behind
 * the chain's TLS reverse proxy), server-rendered HTML, no cookies, no JavaScript.
 *
 * It is served by a pool of threads (libmicrohttpd's, one event loop each); each thread has a
 * store connection of its own, opened from the database path (the sync API's thread has another),
 * so a connection serves one request at a time and SQLite (WAL, BEGIN IMMEDIATE, a busy timeout)
 * orders the writes of all of them. What the threads share (the rate limits; the memo of
 * verified tokens and drawn QR codes, pages_memo.h) is under a mutex; the rest of struct pages
 * is written before the threads start and only read after.
 */
#pragma once

#include <stdint.h>

#include "store.h"
#include "sync.h"
#include "token.h"

struct pages_config {
	const char *listen; /* an IPv4 or IPv6 address of this host */
	uint16_t port;	    /* 0: chosen by the system */
	const char *db;	    /* the SQLite store's path: one connection per thread */
	unsigned threads;   /* serving threads; 0: the number of online CPUs */
	struct sync_policy pol;
	const char *store_name;	      /* shown on every page */
	const char *url_base;	      /* QR-alphanumeric card page base, e.g. HTTPS://K.EXAMPLE.PL/C/;
				       * NULL: from the request's Host */
	const uint8_t *token_sk;      /* the server's token key (64 bytes, libsodium) for the card
				       * links of cards made by a claim; NULL: none */
	unsigned rate_per_window;     /* form posts per client address per window */
	unsigned rate_window_s;
};

struct pages;

/* Start the listener: -EINVAL a bad address, -EIO a store that does not open (a sentence in
 * err), -EADDRINUSE a listener that does not start, -ENOMEM. */
__attribute__((warn_unused_result)) int pages_start(const struct pages_config *cfg,
						    struct pages **ret, uint16_t *ret_port,
						    char *err, size_t err_size);
/* Stop serving (after the requests in progress), then close the threads' store connections. */
void pages_stop(struct pages *p);
