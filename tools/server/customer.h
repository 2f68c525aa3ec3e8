/*
 * customer: what the customer's pages change in the store (docs/card-page.md), each in one
 * transaction: points claimed from a receipt without a card (once per receipt, under (terminal,
 * seq)), a survey answer (once per receipt, with its bonus), consents, and erasure. The server's
 * balances stay the fold of the terminals' events plus these credits (sync_member_credit).
 *
 * Not for: HTTP, HTML, tokens (pages.c checks the token before any of this runs).
 */
#pragma once

#include <stdint.h>

#include "store.h"
#include "sync.h"
#include "token.h"

enum customer_result {
	CUSTOMER_OK,
	CUSTOMER_ALREADY,      /* the receipt was claimed or answered already */
	CUSTOMER_UNKNOWN_CARD, /* the typed card code is not a member the server knows */
	CUSTOMER_BLOCKED_CARD, /* the card was reported lost or stolen */
	CUSTOMER_NOT_CLAIMABLE, /* the synced receipt was booked to a card, or is not a sale */
	CUSTOMER_NOT_YOURS,    /* the receipt is not the card's (survey) */
};

/*
 * Attach the claim's points to card_code (an existing member), or, when card_code is NULL, to a
 * new card with the programme's welcome bonus (its code into ret->card_code). The claim is
 * stored under (terminal, seq): a second one is CUSTOMER_ALREADY, whatever card it names.
 * Returns 0 with *ret_result (and *ret for CUSTOMER_OK and CUSTOMER_ALREADY), or a negative
 * errno (-EIO storage) having stored nothing.
 */
__attribute__((warn_unused_result)) int
customer_claim(struct store *st, const struct sync_policy *pol, const struct token_claim *claim,
	       const char *card_code, int64_t now_us, struct store_claim *ret,
	       enum customer_result *ret_result);

/*
 * The one-question survey for the card's receipt (terminal, seq): score 0-10, an optional
 * comment; the programme's survey bonus credited once. CUSTOMER_NOT_YOURS when the server holds
 * no sale of that card at that seq.
 */
__attribute__((warn_unused_result)) int
customer_survey(struct store *st, const struct sync_policy *pol, const char *card_code,
		const char *terminal_id, int64_t seq, int score, const char *comment,
		int64_t now_us, struct store_survey *ret, enum customer_result *ret_result);

/*
 * The card page's consents. With first_name, name (checked by first_name_clean, not empty) is
 * the first name the tills may show; without it no name is kept, and a name given before is
 * dropped. The member change goes out again when the name the tills may show changes.
 * -EINVAL for first_name without a name.
 */
__attribute__((warn_unused_result)) int
customer_consent(struct store *st, const struct sync_policy *pol, const char *card_code,
		 bool marketing, bool first_name, const char *name, int64_t now_us);

/* NPS from the stored answers: (promoters - detractors) * 100 / answers, rounded half away from
 * zero, into *ret_nps; *ret_n the number of answers (0: no score). */
__attribute__((warn_unused_result)) int customer_nps(struct store *st, struct store_nps *ret_counts,
						     int64_t *ret_nps, int64_t *ret_n);
