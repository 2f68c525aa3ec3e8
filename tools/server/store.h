/*
 * store: where loyalty-server keeps what it knows, behind a table of operations so that the
 * embedded SQLite backend (store_sqlite.c) can be joined by others (PostgreSQL) without touching
 * the protocol code. Every event ever accepted is kept under its id for good (exactly-once).
 *
 * All operations return 0 (or a count) or a negative errno: -ENOENT for "no such row", -EIO
 * for a storage failure (the backend's message through store_errmsg()), -ENOMEM. Writes happen
 * between begin() and commit(); rollback() undoes them. Out-parameters are written on success.
 *
 * Not for: deciding anything (sync.c), parsing (sync_parse.c), HTTP.
 */
#pragma once

#include "first_name.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

#define STORE_PUBLIC_KEY_LEN 32
#define STORE_CODE_HASH_LEN  32
#define STORE_FLAG_CODE_MAX  31
#define STORE_DETAIL_MAX     255
#define STORE_TIER_MAX	     PROGRAMME_ID_MAX

struct store;

/* A terminal the server knows, with the head of its hash chain. */
struct store_terminal {
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	uint8_t public_key[STORE_PUBLIC_KEY_LEN]; /* its Ed25519 device key (TLS identity) */
	bool registered;			  /* public_key is set */
	bool revoked;
	int64_t last_seq; /* 0 before its first event */
	uint8_t last_hash[LEDGER_HASH_BYTES];
	int64_t created_us;
};

/* What identifies a stored event besides its id. */
struct store_event_ref {
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	int64_t seq;
	uint8_t hash[LEDGER_HASH_BYTES];
	int64_t received_us;
};

/* A member's server state, keyed by card code: the fold of its events from all terminals. */
struct store_member {
	char card_code[LEDGER_CARD_CODE_LEN + 1];
	int64_t balance_pts;
	int64_t events;
	char tier[STORE_TIER_MAX + 1];
	int64_t updated_us;
	/* the first name the member allows the tills to show ("" without that consent) */
	char first_name[FIRST_NAME_MAX];
};

/* Something for the store owner to review (docs/server.md, "Flags"). */
struct store_flag {
	int64_t id; /* set by the store */
	char code[STORE_FLAG_CODE_MAX + 1];
	uint8_t event_id[LEDGER_EVENT_ID_LEN];
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	char card_code[LEDGER_CARD_CODE_LEN + 1];
	int64_t amount; /* points or grosze, per code */
	char detail[STORE_DETAIL_MAX + 1];
	int64_t time_us;
};

/* Points a customer claimed on the card page from a receipt without a card: one per receipt,
 * (terminal_id, seq) the key (docs/card-page.md). */
struct store_claim {
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	int64_t seq; /* the receipt's first event */
	char card_code[LEDGER_CARD_CODE_LEN + 1]; /* "" once the member is erased */
	int64_t points;				  /* the receipt's, from its signed token */
	int64_t bonus_pts;			  /* the welcome bonus of a card made by the claim */
	int64_t amount_gr;
	bool new_card;
	int64_t claimed_us;
};

#define STORE_COMMENT_MAX 500

/* A one-question survey answer, one per receipt. */
struct store_survey {
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	int64_t seq;
	char card_code[LEDGER_CARD_CODE_LEN + 1];
	int score; /* 0-10 */
	char comment[STORE_COMMENT_MAX + 1];
	int64_t bonus_pts;
	int64_t time_us;
};

/* The member's consents, as given on the card page (both off until given). */
struct store_consent {
	char card_code[LEDGER_CARD_CODE_LEN + 1];
	bool marketing;	 /* marketing messages */
	bool first_name; /* the first name may be shown at the till */
	char name[FIRST_NAME_MAX]; /* that first name, kept only with that consent, else "" */
	int64_t updated_us;
};

/* Survey answers counted for the net promoter score. */
struct store_nps {
	int64_t promoters, passives, detractors; /* 9-10, 7-8, 0-6 */
};

struct store_change {
	int64_t cursor;
	const char *key;
	const char *json; /* the change as the pull answer gives it */
};

typedef int (*store_flag_fn)(void *userdata, const struct store_flag *flag);
typedef int (*store_member_fn)(void *userdata, const struct store_member *member);
typedef int (*store_change_fn)(void *userdata, const struct store_change *change);
typedef int (*store_event_fn)(void *userdata, const struct ledger_event *ev);
typedef int (*store_terminal_fn)(void *userdata, const struct store_terminal *t);

struct store_ops {
	void (*close)(struct store *st);
	const char *(*errmsg)(struct store *st);
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	void (*rollback)(struct store *st);
	/* A read-only transaction (one snapshot for several reads; ended by commit() or
	 * rollback()); NULL in a backend without it. */
	int (*read_begin)(struct store *st);

	int (*terminal_get)(struct store *st, const char *terminal_id, struct store_terminal *ret);
	int (*terminal_put)(struct store *st, const struct store_terminal *t); /* upsert */

	/* One-time enrolment codes, kept as SHA-256 hashes. take: -ENOENT unknown, -ETIMEDOUT
	 * expired, -EALREADY used for another key; 1 used already for this very key (a retry);
	 * 0 when it marks the code used for key. 0 and 1 give the code's terminal id. */
	int (*enrolment_add)(struct store *st, const uint8_t hash[STORE_CODE_HASH_LEN],
			     const char *terminal_id, int64_t expires_us);
	int (*enrolment_take)(struct store *st, const uint8_t hash[STORE_CODE_HASH_LEN],
			      const uint8_t key[STORE_PUBLIC_KEY_LEN], int64_t now_us,
			      char ret_terminal_id[LEDGER_TERMINAL_ID_MAX + 1]);

	int (*event_get)(struct store *st, const uint8_t id[LEDGER_EVENT_ID_LEN],
			 struct store_event_ref *ret);
	int (*event_put)(struct store *st, const struct ledger_event *ev, int64_t received_us);
	/* The first coupon_use of coupon ref to arrive; -ENOENT when none. */
	int (*coupon_first_use)(struct store *st, const char *ref, struct store_event_ref *ret);
	/* Points redeemed (redeem events, as a positive number) in [from_us, to_us), by the
	 * terminal (card_code NULL) or by the member (terminal_id NULL). */
	int (*redeemed_pts)(struct store *st, const char *terminal_id, const char *card_code,
			    int64_t from_us, int64_t to_us, int64_t *ret_pts);
	/* The member's spend in (from_us, to_us]: amounts of earn and refund events and of
	 * the receipts the member claimed. */
	int (*member_spend)(struct store *st, const char *card_code, int64_t from_us, int64_t to_us,
			    int64_t *ret_gr);
	/* The sum of the amounts of flags with this code raised by the terminal in the window. */
	int (*flag_sum)(struct store *st, const char *code, const char *terminal_id,
			int64_t from_us, int64_t to_us, int64_t *ret_sum);

	/* Which card code the terminal's own member number stands for; -ENOENT before the
	 * first event of that member with a card code. */
	int (*link_get)(struct store *st, const char *terminal_id, int64_t member_id,
			char ret_card_code[LEDGER_CARD_CODE_LEN + 1]);
	int (*link_put)(struct store *st, const char *terminal_id, int64_t member_id,
			const char *card_code);

	/* Revoked cards (lost or stolen): card_revoked gives 1 or 0. */
	int (*card_revoke)(struct store *st, const char *card_code, int64_t now_us);
	int (*card_revoked)(struct store *st, const char *card_code);

	/*
	 * An NTAG 424 DNA's read counter seen in a checked SUN message, for the card whose UID has
	 * this hash: 1 and stored when it is above every counter seen of that card, 0 (a replay)
	 * otherwise, with *ret_last the highest seen before (-1: none).
	 */
	int (*sun_counter)(struct store *st, const uint8_t uid_hash[32], int64_t read_ctr,
			   int64_t *ret_last);

	int (*member_get)(struct store *st, const char *card_code, struct store_member *ret);
	int (*member_put)(struct store *st, const struct store_member *m); /* upsert */
	/* Erasure: the member row, its links and consents go, its events, claims and survey
	 * answers keep amounts, points and scores without the card (comments go). */
	int (*member_erase)(struct store *st, const char *card_code);

	int (*flag_add)(struct store *st, const struct store_flag *flag);
	/* Record the latest state under key with a new cursor, replacing the one before. */
	int (*change_put)(struct store *st, const char *key, const char *json);

	int (*changes_read)(struct store *st, int64_t after_cursor, size_t max, store_change_fn fn,
			    void *userdata);
	int (*flags_read)(struct store *st, store_flag_fn fn, void *userdata);
	int (*members_read)(struct store *st, store_member_fn fn, void *userdata);
	int (*count_events)(struct store *st, int64_t *ret_n);

	/* ---- the customer's pages (pages.c, customer.c) ---- */
	int (*terminals_read)(struct store *st, store_terminal_fn fn, void *userdata);
	/* The event the terminal booked at seq; -ENOENT when the server does not hold it. */
	int (*event_at)(struct store *st, const char *terminal_id, int64_t seq,
			struct ledger_event *ret);
	/* The card's events, newest first, at most max. */
	int (*member_events)(struct store *st, const char *card_code, size_t max,
			     store_event_fn fn, void *userdata);
	/* Claims and surveys, one per (terminal_id, seq): put gives -EEXIST for a second one. */
	int (*claim_get)(struct store *st, const char *terminal_id, int64_t seq,
			 struct store_claim *ret);
	int (*claim_put)(struct store *st, const struct store_claim *c);
	int (*survey_get)(struct store *st, const char *terminal_id, int64_t seq,
			  struct store_survey *ret);
	int (*survey_put)(struct store *st, const struct store_survey *s);
	int (*survey_counts)(struct store *st, struct store_nps *ret);
	/* -ENOENT when the member never chose. */
	int (*consent_get)(struct store *st, const char *card_code, struct store_consent *ret);
	int (*consent_put)(struct store *st, const struct store_consent *c); /* upsert */
	/* The latest change under key (its JSON into json, cut to size); -ENOENT when none. */
	int (*change_get)(struct store *st, const char *key, char *json, size_t size);
	/* The card's claims and surveys, oldest first, for the member's data export. */
	int (*member_claims)(struct store *st, const char *card_code,
			     int (*fn)(void *userdata, const struct store_claim *c),
			     void *userdata);
	int (*member_surveys)(struct store *st, const char *card_code,
			      int (*fn)(void *userdata, const struct store_survey *s),
			      void *userdata);
	/*
	 * After an erasure or a withdrawn first name, outside any transaction: leave no older copy
	 * of what was deleted in the store's files, as far as the backend can (SQLite zeroes
	 * deleted content as it goes, secure_delete; this copies the WAL back into the database
	 * and truncates it, so no older page image stays there). Best effort: 0, or -EBUSY when
	 * other connections kept it from finishing (the WAL's next rounds overwrite the rest).
	 * NULL in a backend without it.
	 */
	int (*purge)(struct store *st);
};

struct store {
	const struct store_ops *ops;
};

/* Open (creating it if missing) the SQLite store at path. -EIO with a sentence in err. */
__attribute__((warn_unused_result)) int store_sqlite_open(const char *path, struct store **ret,
							  char *err, size_t err_size);

static inline void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

/*
 * For the card pages (tools/server/pages.c), whose every view reads a member's whole history,
 * on a store from store_sqlite_open only.
 *
 * store_sqlite_read_begin / store_sqlite_read_end: read_begin and commit with statements
 * prepared once (the ops parse "BEGIN DEFERRED" and "COMMIT" each time). 0 or -EIO.
 *
 * store_sqlite_card_page_events: member_events with only the fields the page shows and counts
 * (kind, points, amount_gr, receipt_no, time_us, rule, ref, lot_us, items, progress); the
 * others are zero or "". The same rows in the same order (newest first, at most max); fn's
 * non-zero return stops and is returned; -EIO.
 */
__attribute__((warn_unused_result)) int store_sqlite_read_begin(struct store *st);
__attribute__((warn_unused_result)) int store_sqlite_read_end(struct store *st);
__attribute__((warn_unused_result)) int
store_sqlite_card_page_events(struct store *st, const char *card_code, size_t max,
			      store_event_fn fn, void *userdata);

/*
 * store_sqlite_checkpoint_apart: for the connection that takes the pushes. Copying the WAL back
 * into the database file (a checkpoint) happens in a thread of its own with its own connection,
 * woken when the WAL passes 1000 pages, instead of inside the commit that filled the WAL: the
 * writer's commits only append to the WAL and sync it (durable as before, synchronous=FULL).
 * Should the thread fall behind by 16384 pages (a reader holding the WAL), the writer
 * checkpoints itself as SQLite would. Stopped by store_close(). 0, -EIO, -ENOMEM or -EAGAIN
 * (then the connection keeps SQLite's checkpoints at the commit).
 */
__attribute__((warn_unused_result)) int store_sqlite_checkpoint_apart(struct store *st);
