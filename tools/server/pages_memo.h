/*
 * pages_memo: what the customer's pages remember between requests, so that the costly parts of
 * a page are done once per token rather than once per view: which public key a token text's
 * signature was checked against (Ed25519) and the inline SVG of a QR payload (libqrencode tries
 * all 8 masks); the two were half of a card page view's CPU (docs/card-page.md).
 *
 * Both are pure functions of their exact key text, so an entry found gives what the work would
 * give. Not for anything that changes: the token's expiry and whether the key that signed it is
 * still trusted (its terminal registered and not revoked) are the caller's to check on every
 * request, and nothing of the store is kept here.
 *
 * Bounded: a fixed number of slots of each kind, a slot chosen by a keyed hash of the text (a
 * random key per memo, so texts cannot be aimed at one slot), a new entry replacing the slot's
 * old one. Shared by the serving threads: every call takes the memo's mutex.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "token.h"

#define PAGES_MEMO_QR_MAX (16 * 1024) /* a longer SVG is not kept */

struct pages_memo;

/* A memo with token_slots and qr_slots entries (each at least 1): 0, or -ENOMEM. */
__attribute__((warn_unused_result)) int pages_memo_new(size_t token_slots, size_t qr_slots,
						       struct pages_memo **ret);
/* Accepts NULL. */
void pages_memo_free(struct pages_memo *m);

/*
 * True when the len characters of text were put as verified: *ret_token is the token as
 * token_verify gave it and ret_public_key the key whose signature matched. Says nothing about
 * expiry or whether that key is trusted now. False when not known (or len is over
 * TOKEN_TEXT_MAX); nothing written then.
 */
bool pages_memo_token_get(struct pages_memo *m, const char *text, size_t len,
			  struct token *ret_token, uint8_t ret_public_key[TOKEN_PUBLIC_KEY_LEN]);

/* Remember that text (len characters, at most TOKEN_TEXT_MAX; longer is ignored) verified as tok
 * with public_key. Only for token_verify's TOKEN_OK. */
void pages_memo_token_put(struct pages_memo *m, const char *text, size_t len,
			  const struct token *tok, const uint8_t public_key[TOKEN_PUBLIC_KEY_LEN]);

/* The SVG kept for payload appended to out: 1; 0 when none is kept (out unchanged); a negative
 * errno when out cannot take it (out unchanged). */
__attribute__((warn_unused_result)) int pages_memo_qr_get(struct pages_memo *m, const char *payload,
							  struct buf *out);

/* Keep the len bytes of svg for payload (a copy); over PAGES_MEMO_QR_MAX or out of memory:
 * nothing kept. */
void pages_memo_qr_put(struct pages_memo *m, const char *payload, const void *svg, size_t len);
