/*
 * sync: what loyalty-server decides on a terminal's requests (docs/sync-protocol.md): which
 * events of a pushed batch are accepted, duplicates or rejected; the fold of the accepted ones
 * into the members' balances and tiers; the flags for the store owner (coupon conflicts,
 * negative balances, offline budgets exceeded); the changes a terminal pulls; registration.
 *
 * Works on a struct store, inside one transaction per request: a request either stores all it
 * accepted or nothing. Not for: HTTP, TLS or parsing.
 */
#pragma once

#include <stdint.h>

#include <cjson/cJSON.h>

#include "programme.h"
#include "store.h"
#include "sync_parse.h"

#define SYNC_DAY_US    (86400LL * 1000000LL)
#define SYNC_PULL_MAX  500 /* changes in one pull answer */
#define SYNC_CERT_DAYS 365

struct sync_policy {
	const struct programme *prog; /* tiers and their window */
	int64_t terminal_budget_pts;  /* points a terminal may redeem offline per UTC day */
	int64_t member_cap_pts;	      /* of which one member at most, per UTC day */
	int64_t max_offline_age_s;    /* how old the terminal's last sync may be to redeem */
	/* the chain's NTAG 424 DNA keys (SDMMetaReadKey, SDMFileReadKey), to check the SUN message
	 * a sale carries; without them the message is stored unchecked */
	bool has_sun_keys;
	uint8_t sun_meta_key[16], sun_file_key[16];
};

/*
 * Decide on a batch from the authenticated terminal auth_id and store what is accepted, in one
 * transaction. On 0, *ret_response is the answer's JSON (the caller's); a negative errno (-EIO
 * storage, -ENOMEM) stores nothing and fills err. -EPERM with err "foreign_terminal" when the
 * batch names another terminal than auth_id.
 */
__attribute__((warn_unused_result)) int
sync_push_apply(struct store *st, const struct sync_policy *pol, const char *auth_id,
		const struct sync_push *push, int64_t now_us, cJSON **ret_response,
		struct sync_error *err);

/* The pull answer for terminal_id: changes after cursor since (at most limit), server time and
 * the terminal's budget for today. */
__attribute__((warn_unused_result)) int
sync_changes(struct store *st, const struct sync_policy *pol, const char *terminal_id,
	     int64_t since, size_t limit, int64_t now_us, cJSON **ret, struct sync_error *err);

/*
 * Inside the caller's transaction: the first name the tills may show for card_code ("" for
 * none, when the consent is withdrawn), published with the member change when it differs. A
 * card the server holds no member of yet is left alone: its first event takes the name from the
 * consent. first_name must have passed first_name_clean().
 */
__attribute__((warn_unused_result)) int sync_member_name(struct store *st,
							 const struct sync_policy *pol,
							 const char *card_code,
							 const char *first_name, int64_t now_us);

/*
 * Inside the caller's transaction: add points to the member's server balance (a claim or a
 * survey bonus from the card page), recompute its tier and publish the member change. -ENOENT
 * for an unknown card unless create (a card made on the card page).
 */
__attribute__((warn_unused_result)) int sync_member_credit(struct store *st,
							   const struct sync_policy *pol,
							   const char *card_code, int64_t points,
							   bool create, int64_t now_us);

/* Add the integer v to o under name, written exactly as its decimal digits. */
void sync_json_i64(cJSON *o, const char *name, int64_t v);

/* Issues the terminal's client certificate for its public key (PEM, malloc'd, the caller's). */
typedef int (*sync_issue_fn)(void *userdata, const char *terminal_id,
			     const uint8_t public_key[SYNC_PUBLIC_KEY_LEN], char **ret_pem);

/*
 * Registration: check the signature (Ed25519 over SYNC_REGISTER_CONTEXT, the code's 23 bytes
 * and the public key), take the one-time code, record the terminal's public key, publish it as
 * a change, and have issue() make its certificate, all in one transaction. The same request
 * again (its answer was lost) gets a certificate again while the key is still the terminal's;
 * the code with another key is "enrolment_code_used". Returns 0 with
 * ret_terminal_id and *ret_pem, or a negative errno with the code in err: -EACCES
 * "bad_signature", "enrolment_code_unknown", "enrolment_code_expired"; -EALREADY
 * "enrolment_code_used", "terminal_registered"; -EIO.
 */
__attribute__((warn_unused_result)) int
sync_register(struct store *st, const struct sync_register *reg, int64_t now_us,
	      sync_issue_fn issue, void *userdata, char ret_terminal_id[LEDGER_TERMINAL_ID_MAX + 1],
	      char **ret_pem, struct sync_error *err);

/* A new one-time enrolment code for terminal_id (made known to the server if new), valid for
 * valid_s seconds, into code[SYNC_ENROL_CODE_LEN + 1]. */
__attribute__((warn_unused_result)) int sync_enrol_code(struct store *st, const char *terminal_id,
							int64_t now_us, int64_t valid_s,
							char code[SYNC_ENROL_CODE_LEN + 1]);

/* Revoke a terminal: its requests are refused, its key is published as revoked. */
__attribute__((warn_unused_result)) int sync_revoke(struct store *st, const char *terminal_id,
						    int64_t now_us);

/* Revoke a card (lost, stolen): published to every terminal; its later events are flagged. */
__attribute__((warn_unused_result)) int sync_revoke_card(struct store *st, const char *card_code,
							 int64_t now_us);

/* Erase a member: the balance goes, a tombstone is published. -ENOENT when unknown. */
__attribute__((warn_unused_result)) int sync_erase(struct store *st, const char *card_code,
						   int64_t now_us);

#define SYNC_SEED_LEN	    32

/*
 * Publish the programme text (len bytes, already validated) as the "config" change: its bytes
 * in base64, issued_us = now_us, and an Ed25519 signature by the server's config key (from
 * seed) over programme_sig_message() (app/programme_sig.h) of issued_us and the bytes. Replaces the
 * config published before. 0 or a negative errno.
 */
__attribute__((warn_unused_result)) int sync_publish_config(struct store *st,
							    const uint8_t seed[SYNC_SEED_LEN],
							    const char *text, size_t len,
							    int64_t now_us);
