/*
 * sync_client: the terminal's sync with the chain's server (docs/sync-client.md,
 * docs/sync-protocol.md): registration with an enrolment code, push of the ledger's outbox,
 * pull of the changes, over HTTPS with mutual TLS (the chain's CA only; the client certificate
 * with the Ed25519 device key as its key).
 *
 * It runs on the thread of loyaltyd's poll() loop, on libcurl's multi interface: the loop polls
 * the descriptors sync_client_pollfds() gives, with at most sync_client_wait_ms() as timeout, and
 * calls sync_client_run() after poll(). Network waits never block the loop; what runs on it is
 * the work between two requests (reading up to 1000 outbox events, writing the body, parsing the
 * answer, one acknowledgement write), a few milliseconds per batch. It uses the terminal's own
 * ledger connection, so nothing else needs locking.
 *
 * A round: register (when there is no client certificate yet and an enrolment code is given),
 * push batches while the outbox has events and the server takes them, then pull pages while the
 * server has more. Rounds start every interval_s seconds, at once on sync_client_now(), and after
 * a failure with exponential backoff and jitter (app/sync.h, tsync_backoff_ms).
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "devkey.h"
#include "ledger.h"
#include "sync.h"

#define SYNC_CLIENT_FDS_MAX	     8
#define SYNC_CLIENT_INTERVAL_DEFAULT 30			   /* seconds between rounds */
#define SYNC_CLIENT_STATE_FILE	     "sync.json"	   /* under the state folder */
#define SYNC_CLIENT_REJECTED_FILE    "sync-rejected.jsonl" /* under the state folder */
#define SYNC_CLIENT_CERT_FILE	     "keys/client.pem"	   /* written by registration */
#define SYNC_CLIENT_CA_FILE	     "keys/ca.pem"	   /* written by registration */
#define SYNC_CLIENT_CONFIG_KEY_FILE  "keys/config.pub"	   /* hex, written by registration */

/* Called with the outcome of a round for each waiter of sync_client_now (ownership passes). */
typedef void (*sync_client_done_fn)(void *userdata, unsigned waiter, cJSON *outcome);

struct sync_client_config {
	const char *state_dir;
	const char *terminal_id;
	const char *server_url; /* https://host[:port][/prefix]; the client adds /v1/... */
	/* the chain's CA certificate (PEM) trusted before registration; "" or NULL: none. After
	 * registration the CA certificate the server gave (keys/ca.pem) is the trust anchor. A
	 * relative path is taken from the state folder. */
	const char *ca_file;
	/* a client certificate provisioned by hand (its key must be the device key); "" or NULL:
	 * keys/client.pem, written by registration */
	const char *cert_file;
	const char *enrolment_code; /* "" or NULL: none */
	int interval_s;		    /* 0: SYNC_CLIENT_INTERVAL_DEFAULT */
	int timeout_s;		    /* one request's limit; 0: 60 */
	const struct devkey *devkey;
	/* the terminal's UTC clock (the one that stamps events); NULL: the system clock */
	int64_t (*now_utc_us)(void *clock_userdata);
	void *clock_userdata;
	sync_client_done_fn done;
	void *done_userdata;
	/*
	 * A programme the server published, its signature checked against the config key from
	 * registration: the terminal applies it and returns 0, returns 1 when it is not newer than
	 * the one it has (issued_us), or a negative errno with err for one it refuses. NULL: configs
	 * are not applied.
	 */
	int (*programme)(void *userdata, const uint8_t *bytes, size_t len, int64_t issued_us,
			 char *err, size_t err_size);
	void *programme_userdata;
};

struct sync_client;

/*
 * Make the client (no network yet; the first round starts at once). Reads the state kept in
 * <state>/sync.json. Returns 0 or a negative errno (the reason logged).
 */
__attribute__((warn_unused_result)) int sync_client_open(const struct sync_client_config *cfg,
							 struct ledger *ledger,
							 struct sync_client **ret);
void sync_client_close(struct sync_client *sc);

/* The descriptors to poll (at most max, SYNC_CLIENT_FDS_MAX is enough); returns how many. */
size_t sync_client_pollfds(struct sync_client *sc, struct pollfd *fds, size_t max);
/* Milliseconds until sync_client_run must be called anyway (timers, the next round); -1: none. */
int sync_client_wait_ms(struct sync_client *sc);
/* Serve what is ready: fds as sync_client_pollfds gave them, after poll(). */
void sync_client_run(struct sync_client *sc, const struct pollfd *fds, size_t n);

/*
 * Start a round now (after the one running, if any); waiter (not 0) gets the round's outcome
 * through cfg->done: {"ok":true,"sync":{...}} or {"ok":false,"error":"...","sync":{...}}.
 * Returns -EBUSY when too many waiters are waiting.
 */
int sync_client_now(struct sync_client *sc, unsigned waiter);

/* True while a round is running. */
bool sync_client_busy(struct sync_client *sc);

/* The sync's state for loyaltyctl status (a new object). */
cJSON *sync_client_status_json(struct sync_client *sc);

/* The UTC time of the last round that went through whole; 0 when never. */
int64_t sync_client_last_success_us(struct sync_client *sc);
/* The offline budget the server granted at the last successful pull; false when none yet. */
bool sync_client_budget(struct sync_client *sc, struct tsync_budget *ret);
