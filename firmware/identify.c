/*
 * identify: who is at the till, from what a tap or a scan hands up, and the card link written to
 * a new card at its enrolment.
 *
 * A tap names a member in one of two ways. A card whose NDEF message is one of our card links (a
 * signed card token, docs/tokens.md) is the member with that card code when the token verifies
 * with a key this terminal trusts and the ledger holds the card: the member is then booked under
 * the pseudonym the card was enrolled with, whatever the UID (a replacement card, or a phone
 * that carries the link). Anything else (a blank card, another site's URL, a token that does not
 * verify, a card this terminal has not seen) is its UID's keyed hash, as always: a new card is
 * enrolled by it, and earns. The reason is logged, never the UID or the token.
 *
 * A scanned line goes through app/scan: a card token as above (a plain card code, as printed
 * under the QR, is refused: anyone can read it off a receipt), a coupon token as the answer to
 * the offer, and clear messages for claim tokens, phone numbers and anything else.
 *
 * Keys trusted: this terminal's own device key, and the keys of the chain's other terminals as
 * the server published them (ledger_sync.h; a revoked key is never trusted). A card token signed
 * by another terminal names a member enrolled there: the first time it is seen here the member
 * is taken on with its card code (ledger_adopt_member), so that what it earns here reaches the
 * server under the same card. A card the server revoked (lost, stolen) or erased is refused
 * outright, whether it comes by its link or by its UID.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ledger_sync.h"
#include "log.h"
#include "ndef.h"
#include "scan.h"
#include "sun.h"
#include "terminal-priv.h"
#include "token.h"

#define KEYS_MAX LEDGER_TRUSTED_KEYS_MAX

/* The keys this terminal verifies tokens with: its own first, then the chain's. */
static size_t trusted_keys(struct terminal *t, struct token_key *keys, size_t max)
{
	struct ledger_trusted_key chain[KEYS_MAX];
	size_t n = 0, got = 0;
	if (!max)
		return 0;
	token_key_init(&keys[n++], t->devkey.public_key, TOKEN_TYPES_ALL);
	int r = ledger_trusted_keys(t->ledger, chain, KEYS_MAX < max - 1 ? KEYS_MAX : max - 1, &got);
	if (r < 0)
		log_errno(r, "reading the chain's terminal keys (only this terminal's own is used)");
	for (size_t i = 0; r == 0 && i < got && n < max; i++)
		if (memcmp(chain[i].public_key, t->devkey.public_key, TOKEN_PUBLIC_KEY_LEN) != 0)
			token_key_init(&keys[n++], chain[i].public_key, TOKEN_TYPES_ALL);
	return n;
}

int identify_token(struct terminal *t, const char *text, size_t len, enum token_type want,
		   struct token *ret_token, const char **why)
{
	struct token_key keys[1 + KEYS_MAX];
	enum token_status st;
	size_t n = trusted_keys(t, keys, 1 + KEYS_MAX);
	int r = token_verify(text, len, keys, n, hal_clock_now_us(t->clock) / 1000000, ret_token,
			     &st);
	if (r < 0 || st != TOKEN_OK) {
		*why = st == TOKEN_EXPIRED	   ? "the code has expired"
		       : st == TOKEN_UNKNOWN_KEY   ? "the code comes from a terminal not known here yet"
		       : st == TOKEN_BAD_SIGNATURE ? "the code is not genuine"
						   : "the code cannot be read";
		return -EPERM;
	}
	if (ret_token->type != want) {
		*why = "the code is of another kind";
		return -EPERM;
	}
	return 0;
}

int identify_refused(struct terminal *t, const char *card_code, const char **why)
{
	int64_t revoked_us;
	int r = ledger_card_revoked(t->ledger, card_code, &revoked_us);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		*why = "the ledger could not be read";
		return r;
	}
	*why = "this card was blocked (reported lost or stolen, or its account deleted)";
	return -EACCES;
}

/* The pseudonym a member taken on by its card link is kept under: the keyed hash of its code. */
static int link_pseudonym(struct terminal *t, const char *card_code,
			  uint8_t pseudonym[PSEUDONYM_LEN])
{
	uint8_t what[5 + LEDGER_CARD_CODE_LEN];
	memcpy(what, "link:", 5);
	memcpy(what + 5, card_code, LEDGER_CARD_CODE_LEN);
	return pseudonym_of_uid(t->pseudonym_key, what, sizeof(what), pseudonym);
}

int identify_card_token(struct terminal *t, const char *text, size_t len,
			uint8_t pseudonym[PSEUDONYM_LEN], const char **why)
{
	struct token tok;
	int64_t member_id;
	int r = identify_token(t, text, len, TOKEN_CARD, &tok, why);
	if (r < 0)
		return r;
	if ((r = identify_refused(t, tok.card_code, why)) < 0)
		return r;
	r = ledger_member_pseudonym(t->ledger, tok.card_code, pseudonym);
	if (r != -ENOENT) {
		if (r < 0)
			*why = "the ledger could not be read";
		return r;
	}
	/* a card of this terminal that is no member here any more (erased) stays unknown */
	if (tok.key_id == token_key_id(t->devkey.public_key)) {
		*why = "the card is genuine but no longer a member here";
		return -ENOENT;
	}
	if ((r = link_pseudonym(t, tok.card_code, pseudonym)) < 0 ||
	    (r = ledger_adopt_member(t->ledger, pseudonym, tok.card_code,
				     hal_clock_now_us(t->clock), &member_id)) < 0) {
		*why = "the card's member could not be taken on here";
		log_errno(r, "taking on a member of another terminal");
		return r;
	}
	log_info("card of another terminal of the chain: member %" PRId64 " taken on here with "
		 "its card code",
		 member_id);
	return 0;
}

/*
 * An NTAG 424 DNA's SUN URL (docs/sun.md): its PICC data and MAC are well formed; the card
 * counts by its UID, and the URL is kept in t->card for the sale (the server checks it).
 */
static bool sun_message(struct terminal *t, const struct ndef_uri *uri)
{
	struct sun_url su;
	enum sun_status st;
	if (uri->len > LEDGER_SUN_URL_MAX ||
	    sun_url_parse(uri->text, uri->len, &sun_url_format_default, &su, &st) < 0 ||
	    st != SUN_OK)
		return false;
	memcpy(t->card.sun_url, uri->text, uri->len);
	t->card.sun_url[uri->len] = '\0';
	return true;
}

int identify_tap(struct terminal *t, const struct hal_nfc_event *ev,
		 uint8_t pseudonym[PSEUDONYM_LEN], const char **how)
{
	struct ndef_uri uri;
	enum ndef_status st;
	struct scan_result sr;
	const char *why = NULL;

	*how = "card UID";
	t->card.sun_url[0] = '\0';
	if (ev->read != HAL_NFC_READ_OK || !ev->ndef_len)
		return 0;
	if (ndef_message_uri(ev->ndef, ev->ndef_len, &uri, &st) < 0 || st != NDEF_OK)
		return 0;
	if (sun_message(t, &uri)) {
		*how = "card UID, with its SUN message kept for the server";
		return 0;
	}
	if (scan_route(uri.text, uri.len, t->cfg.card_url_base, &sr) < 0)
		return 0;
	if (sr.kind == SCAN_UNKNOWN && sr.reason == SCAN_BAD_TOKEN) {
		log_info("the card's link was not used (the code cannot be read): the card counts "
			 "by its UID");
		return 0;
	}
	if (sr.kind != SCAN_CARD || sr.plain_code)
		return 0;
	int r = identify_card_token(t, sr.text, sr.text_len, pseudonym, &why);
	if (r == -EACCES) {
		*how = why;
		return r;
	}
	if (r < 0) {
		log_info("the card's link was not used (%s): the card counts by its UID", why);
		return 0;
	}
	*how = "card link";
	return 1;
}

/* The NDEF message of the card link for card_code, sized for the tag: the signed token URL
 * where it fits (NTAG215/216), else the plain card URL (an NTAG213 holds 144 bytes). */
static int card_link_message(struct terminal *t, enum hal_nfc_tag tag, const char *card_code,
			     int64_t time_us, uint8_t *msg, size_t cap)
{
	char url[LAYOUT_TEXT_MAX];
	if (tag != HAL_NFC_TAG_NTAG213) {
		checkout_card_link(t, card_code, time_us, url, sizeof(url));
		if (url[0])
			return ndef_message_encode_uri(url, strlen(url), msg, cap);
	}
	int n = snprintf(url, sizeof(url), "%s%s", t->cfg.card_url_base, card_code);
	if (n < 0 || (size_t) n >= sizeof(url))
		return -ENOBUFS;
	return ndef_message_encode_uri(url, (size_t) n, msg, cap);
}

void identify_enrolled(struct terminal *t, const char *card_code, int64_t time_us)
{
	uint8_t msg[HAL_NFC_NDEF_MAX];
	const struct terminal_card *c = &t->card;
	if (!c->blank || !c->uid_len || !t->card_present)
		return; /* a card with a message, a card not read, or gone: it keeps what it has */
	if (c->tag != HAL_NFC_TAG_NTAG213 && c->tag != HAL_NFC_TAG_NTAG215 &&
	    c->tag != HAL_NFC_TAG_NTAG216)
		return;
	int n = card_link_message(t, c->tag, card_code, time_us, msg, sizeof(msg));
	int r = n < 0 ? n : hal_nfc_write_ndef(t->nfc, c->uid, c->uid_len, msg, (size_t) n);
	if (r < 0)
		log_errno(r, "writing the card link to the new card");
	else
		log_info("writing the card link to the new card (%s)", hal_nfc_tag_name(c->tag));
}

static cJSON *answer(bool ok, const char *key, const char *text)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", ok);
	cJSON_AddStringToObject(o, key, text);
	return o;
}

/* A scanned card: as a tap of that card. */
static cJSON *scan_card(struct terminal *t, const struct scan_result *sr)
{
	uint8_t pseudonym[PSEUDONYM_LEN];
	const char *why = NULL;
	if (sr->plain_code) {
		terminal_show(t, "Card code refused:", "a printed code is no proof of the card",
			      "Tap the card or scan the QR");
		return answer(false, "error",
			      "a plain card code is not accepted: tap the card or scan its QR");
	}
	if (identify_card_token(t, sr->text, sr->text_len, pseudonym, &why) < 0) {
		terminal_show(t, "Card refused:", why, NULL);
		return answer(false, "error", why);
	}
	log_info("card identified by its scanned link");
	if (t->sale.state == SALE_AMOUNT)
		return checkout_card(t, pseudonym, NULL);
	return terminal_card_inquiry(t, pseudonym);
}

/* A scanned coupon: the answer to the offer, with the points asked so far. */
static cJSON *scan_coupon(struct terminal *t, const struct scan_result *sr)
{
	struct token tok;
	const char *why = NULL;
	if (t->sale.state != SALE_OFFER && t->sale.state != SALE_CONFIRM) {
		why = "scan the coupon after the card, at the offer";
	} else if (identify_token(t, sr->text, sr->text_len, TOKEN_COUPON, &tok, &why) == 0) {
		why = checkout_answer(t, t->sale.state == SALE_CONFIRM ? checkout_redeem_pts(t) : 0,
				      tok.coupon_id);
		if (!why) {
			cJSON *o = answer(true, "coupon", tok.coupon_id);
			cJSON_AddItemToObject(o, "sale", checkout_json(t));
			return o;
		}
	}
	terminal_show(t, "Coupon refused:", why, NULL);
	return answer(false, "error", why);
}

cJSON *identify_scan(struct terminal *t, const char *line, size_t len)
{
	struct scan_result sr;
	const char *why;
	if (scan_route(line, len, t->cfg.card_url_base, &sr) < 0)
		return answer(false, "error", "the scan could not be read");
	log_info("scanned: %s", sr.kind == SCAN_UNKNOWN ? scan_reason_str(sr.reason)
						       : scan_kind_name(sr.kind));
	switch (sr.kind) {
	case SCAN_CARD:
		return scan_card(t, &sr);
	case SCAN_COUPON:
		return scan_coupon(t, &sr);
	case SCAN_CLAIM:
		why = "a claim code is for the customer's phone: the card page takes it";
		break;
	case SCAN_PHONE:
		why = "finding a member by phone needs the server: tap the card or scan its QR";
		break;
	case SCAN_UNKNOWN:
	case SCAN_KIND_MAX:
	default:
		why = scan_reason_str(sr.reason);
		break;
	}
	terminal_show(t, "Scanned code not used:", why, NULL);
	return answer(false, "error", why);
}
