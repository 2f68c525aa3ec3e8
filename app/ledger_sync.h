/*
 * ledger_sync: what the terminal keeps of the server's changes, in the ledger file (schema 7).
 *
 * A pull page (docs/sync-protocol.md, "Pull") is applied in one transaction together with the
 * cursor that covers it, so a crash between the two cannot skip a change or store a cursor past
 * one not applied:
 *   - member: the server's balance, tier and tier spend of a card code, the first name the
 *     member allows the tills to show (schema 9; none without that consent), with this terminal's
 *     acknowledgement mark at that moment (as_of_seq). The terminal's view of the balance is the
 *     server's balance plus its own events of the member after as_of_seq (PRODUCT.md: "last
 *     server balance + its own unsynced events");
 *   - tombstone: the member with that card code is erased (as ledger_erase_member());
 *   - revoked_card: the card code is refused at the counter;
 *   - terminal_key / revoked_key: the public keys whose tokens this terminal accepts (cards,
 *     coupons and claims that other terminals of the chain printed), and their revocation.
 *
 * A member of another terminal is taken on here with its own card code (ledger_adopt_member),
 * so that what it earns at this terminal reaches the server under the same card.
 *
 * Not for: the protocol or the HTTP client (sync.h, firmware/sync_client.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "first_name.h"
#include "ledger.h"

#define LEDGER_TIER_MAX	      32 /* bytes with the NUL */
#define LEDGER_PUBLIC_KEY_LEN 32 /* Ed25519 */
#define LEDGER_TRUSTED_KEYS_MAX 256

enum ledger_change_type {
	LEDGER_CHANGE_MEMBER,
	LEDGER_CHANGE_TOMBSTONE,
	LEDGER_CHANGE_REVOKED_CARD,
	LEDGER_CHANGE_TERMINAL_KEY,
	LEDGER_CHANGE_REVOKED_KEY,
};

/* One change to apply; the fields of its type are set. */
struct ledger_change {
	enum ledger_change_type type;
	char card_code[LEDGER_CARD_CODE_LEN + 1]; /* member, tombstone, revoked_card */
	int64_t balance_pts;			  /* member */
	char tier[LEDGER_TIER_MAX];		  /* member */
	int64_t spend_gr;			  /* member */
	char first_name[FIRST_NAME_MAX]; /* member: the one it allows the tills to show, or "" */
	int64_t time_us; /* member: updated; tombstone: erased; revoked_card: revoked */
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1]; /* keys */
	uint8_t public_key[LEDGER_PUBLIC_KEY_LEN];     /* keys */
	uint32_t key_id;			       /* keys */
};

/* What one ledger_sync_apply() did. */
struct ledger_sync_applied {
	int64_t members, tombstones, revoked_cards, keys, revoked_keys;
};

/*
 * Apply changes[0..n) and store cursor, in one durable transaction (all or nothing). A member
 * change records the terminal's acknowledgement mark as its as_of_seq. A tombstone erases the
 * member with that card code if there is one (and drops its server row); a revoked key stays
 * listed, marked revoked (a key revoked once is never trusted again, even if offered anew).
 * -EINVAL for a NULL argument, a card code that is not LEDGER_CARD_CODE_LEN characters, a
 * negative cursor or one behind the stored cursor; storage errors as ledger_book().
 */
__attribute__((warn_unused_result)) int
ledger_sync_apply(struct ledger *ledger, const struct ledger_change *changes, size_t n,
		  int64_t cursor, int64_t now_us, struct ledger_sync_applied *ret_applied);

/* The stored pull cursor (0 before the first pull). */
__attribute__((warn_unused_result)) int ledger_sync_cursor(struct ledger *ledger,
							   int64_t *ret_cursor);

/* The server's view of a member, as last pulled. */
struct ledger_server_member {
	char card_code[LEDGER_CARD_CODE_LEN + 1];
	int64_t balance_pts;
	char tier[LEDGER_TIER_MAX];
	int64_t spend_gr;
	char first_name[FIRST_NAME_MAX]; /* the one it allows the tills to show, or "" */
	int64_t updated_us;
	int64_t as_of_seq; /* this terminal's acknowledgement mark when it was pulled */
};

/* -ENOENT when the server has told nothing of card_code. */
__attribute__((warn_unused_result)) int
ledger_server_member(struct ledger *ledger, const char *card_code,
		     struct ledger_server_member *ret_member);

/*
 * The member's balance as the terminal sees it: with a server row, the server's balance plus
 * the points of this terminal's events of the member after the row's as_of_seq; without one,
 * the terminal's own balance. *ret_from_server says which.
 */
__attribute__((warn_unused_result)) int ledger_member_view(struct ledger *ledger,
							   int64_t member_id,
							   int64_t *ret_balance_pts,
							   bool *ret_from_server);

/*
 * The first name the member allows the tills to show (the greeting at the counter), from the
 * server's last member change; "" when it gave none (no consent, or a member the server has
 * not told of). Storage errors as ledger_book().
 */
__attribute__((warn_unused_result)) int ledger_member_first_name(struct ledger *ledger,
								 int64_t member_id,
								 char out[FIRST_NAME_MAX]);

/* 0 and *ret_revoked_us when card_code was revoked by the server; -ENOENT when it was not. */
__attribute__((warn_unused_result)) int ledger_card_revoked(struct ledger *ledger,
							    const char *card_code,
							    int64_t *ret_revoked_us);

/* A public key of another terminal of the chain, as the server published it. */
struct ledger_trusted_key {
	uint8_t public_key[LEDGER_PUBLIC_KEY_LEN];
	uint32_t key_id;
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	int64_t revoked_us; /* 0 while trusted */
};

/*
 * The keys not revoked, at most max of them (the newest first); *ret_n says how many.
 */
__attribute__((warn_unused_result)) int ledger_trusted_keys(struct ledger *ledger,
							    struct ledger_trusted_key *ret_keys,
							    size_t max, size_t *ret_n);

/* True when public_key was published and then revoked (never trust it, even as one's own). */
__attribute__((warn_unused_result)) int ledger_key_revoked(struct ledger *ledger,
							   const uint8_t public_key[LEDGER_PUBLIC_KEY_LEN],
							   bool *ret_revoked);

/*
 * Take on the member with card_code, enrolled at another terminal, under pseudonym (the keyed
 * hash this terminal gives the card): a member row with that card code, marked as known to the
 * chain (no welcome bonus, no first-purchase offer here), and no event; its first sale here
 * books its events under the card code. *ret_member_id is the member's id here. -EEXIST when
 * card_code is a member here already (or the pseudonym is another member's), -EINVAL for a bad
 * card code; storage errors as ledger_book().
 */
__attribute__((warn_unused_result)) int
ledger_adopt_member(struct ledger *ledger, const uint8_t pseudonym[PSEUDONYM_LEN],
		    const char *card_code, int64_t now_us, int64_t *ret_member_id);
