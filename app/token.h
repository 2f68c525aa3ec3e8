/*
 * token: signed tokens for the receipt QR codes and card tags (the card link, coupons and
 * "claim your points"), verifiable offline by any terminal that knows the signer's public key.
 *
 * A token is a short binary record (format version, type, key id, issue and expiry hour, the
 * type's fields) followed by an Ed25519 signature over it, written as strict Crockford base32
 * (app/base32) so that an uppercase URL carrying it fits a QR code in alphanumeric mode. The byte
 * layout, the budget per QR version and the reasons for each field's size are in docs/tokens.md.
 *
 * Times in a token are whole hours since TOKEN_EPOCH_S: token_sign rounds the issue time down
 * and the expiry up, so a token is never valid for less than asked (an expiry on a whole hour,
 * as a Warsaw midnight is, is kept exactly). A token is valid while now < expiry.
 *
 * Not here: where keys come from (firmware/devkey, provisioning), revocation lists (a revoked
 * key is simply left out of the key set), single-use bookkeeping of coupons and claims (the
 * ledger's), and the card page itself.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_VERSION	      1
#define TOKEN_EPOCH_S	      1704067200 /* 2024-01-01T00:00:00Z */
#define TOKEN_HOURS_MAX	      0xffffff	 /* 24-bit hour counts: until the year 3938 */
#define TOKEN_PUBLIC_KEY_LEN  32	 /* Ed25519 (libsodium crypto_sign) */
#define TOKEN_SECRET_KEY_LEN  64	 /* libsodium's layout: seed, then the public key */
#define TOKEN_SIG_LEN	      64
#define TOKEN_CARD_CODE_LEN   12 /* Crockford base32, 60 bits, as LEDGER_CARD_CODE_LEN */
#define TOKEN_COUPON_ID_LEN   10 /* Crockford base32, 50 bits */
#define TOKEN_TERMINAL_ID_MAX 16 /* 1-16 of A-Z 0-9, as LEDGER_TERMINAL_ID_MAX */
#define TOKEN_HEADER_LEN      12 /* version, type, key id, issued, expires */
#define TOKEN_BYTES_MAX	      (TOKEN_HEADER_LEN + 1 + TOKEN_TERMINAL_ID_MAX + 12 + TOKEN_SIG_LEN)
#define TOKEN_TEXT_MAX	      168 /* base32 characters of TOKEN_BYTES_MAX bytes */
#define TOKEN_URL_BASE_MAX    64

enum token_type {
	TOKEN_CARD = 1,	  /* the member's card page: the card code */
	TOKEN_COUPON = 2, /* a coupon: its id (terms live with the coupon, not in the token) */
	TOKEN_CLAIM = 3,  /* "claim your points" from a receipt without a card */
	TOKEN_TYPE_MAX
};

/* A bit per type, for struct token_key.types. */
#define TOKEN_TYPE_BIT(type) (1u << (unsigned) (type))
#define TOKEN_TYPES_ALL                                                                            \
	(TOKEN_TYPE_BIT(TOKEN_CARD) | TOKEN_TYPE_BIT(TOKEN_COUPON) | TOKEN_TYPE_BIT(TOKEN_CLAIM))

struct token_claim {
	char terminal_id[TOKEN_TERMINAL_ID_MAX + 1];
	uint32_t seq;	    /* the receipt's sequence number at that terminal, 1 or more */
	int64_t points_pts; /* 0 to UINT32_MAX */
	int64_t amount_gr;  /* 0 to UINT32_MAX */
};

struct token {
	enum token_type type;
	uint32_t key_id;   /* of the signing key; token_sign takes it from the key */
	int64_t issued_s;  /* Unix seconds, UTC */
	int64_t expires_s; /* Unix seconds, UTC, later than issued_s */
	union {
		char card_code[TOKEN_CARD_CODE_LEN + 1]; /* TOKEN_CARD */
		char coupon_id[TOKEN_COUPON_ID_LEN + 1]; /* TOKEN_COUPON */
		struct token_claim claim;		 /* TOKEN_CLAIM */
	};
};

/* What a check of a token found; only TOKEN_OK lets a token through. */
enum token_status {
	TOKEN_OK = 0,
	TOKEN_BAD_LENGTH,      /* too short or long, for any token or for its type */
	TOKEN_BAD_CHAR,	       /* a character outside the base32 alphabet (lowercase too) */
	TOKEN_NOT_CANONICAL,   /* the last character's unused bits are not zero */
	TOKEN_BAD_VERSION,     /* a format version this code does not know */
	TOKEN_BAD_TYPE,	       /* a type this code does not know */
	TOKEN_BAD_FIELD,       /* a field out of its range (code bits, terminal id, seq, times) */
	TOKEN_UNKNOWN_KEY,     /* no key of the set has the token's key id */
	TOKEN_KEY_NOT_ALLOWED, /* the key is known but may not sign this type */
	TOKEN_BAD_SIGNATURE,   /* forged, altered or signed by another key with the same id */
	TOKEN_EXPIRED,	       /* genuine, but now is at or after its expiry */
	TOKEN_STATUS_MAX
};

/* A public key that verification trusts, with the types it may sign. */
struct token_key {
	uint32_t key_id; /* token_key_id(public_key); token_key_init fills it */
	uint8_t public_key[TOKEN_PUBLIC_KEY_LEN];
	unsigned types; /* TOKEN_TYPE_BIT() of each type, e.g. TOKEN_TYPES_ALL */
};

/* A short English reason for logs and the cashier ("expired", "unknown key", ...). */
const char *token_status_str(enum token_status status);

/*
 * The key id of a public key: the first 4 bytes, big-endian, of its BLAKE2b-256 hash
 * (libsodium crypto_generichash). It only finds the key; the signature decides.
 */
uint32_t token_key_id(const uint8_t public_key[TOKEN_PUBLIC_KEY_LEN]);

/* Fill *ret_key with public_key, its id and types. */
void token_key_init(struct token_key *ret_key, const uint8_t public_key[TOKEN_PUBLIC_KEY_LEN],
		    unsigned types);

/*
 * Sign tok with secret_key (libsodium's 64-byte form; the key id comes from its public half and
 * tok->key_id is ignored) and write the token as base32 text and a NUL into buf. Returns the
 * number of characters, or -EINVAL for a NULL argument, an unknown type, a card code or coupon id
 * that is not exactly its length of base32 characters, a terminal id that is not 1-16 of A-Z 0-9
 * or a receipt seq of 0; -ERANGE for times before TOKEN_EPOCH_S or past TOKEN_HOURS_MAX hours, an
 * expiry not after the issue time, or points or amount outside 0..UINT32_MAX; -ENOSPC when buf
 * is too small (TOKEN_TEXT_MAX + 1 always does).
 */
__attribute__((warn_unused_result)) int token_sign(const struct token *tok,
						   const uint8_t secret_key[TOKEN_SECRET_KEY_LEN],
						   char *buf, size_t size);

/*
 * Check the len characters of text (no NUL needed): strict base32, then the layout (length,
 * version, type, every field in range), then a key of keys[0..n_keys) with the token's id that
 * may sign its type and whose signature matches, then the expiry against now_s. Returns 0 and
 * sets *ret_status to the first problem found or TOKEN_OK; *ret_token is written only for
 * TOKEN_OK, with its times as stored (whole hours) and every unused byte zero (tokens compare
 * with memcmp). Returns -EINVAL, setting nothing, when text, ret_status or ret_token is NULL or
 * keys is NULL with n_keys > 0.
 */
__attribute__((warn_unused_result)) int token_verify(const char *text, size_t len,
						     const struct token_key *keys, size_t n_keys,
						     int64_t now_s, struct token *ret_token,
						     enum token_status *ret_status);

/*
 * The layout checks of token_verify alone, with no key and no clock: *ret_token is written when
 * *ret_status is TOKEN_OK. The token is NOT authenticated: use it for diagnostics (which key id,
 * which type) and never to grant anything.
 */
__attribute__((warn_unused_result)) int
token_peek(const char *text, size_t len, struct token *ret_token, enum token_status *ret_status);

/*
 * True when base is a URL prefix a QR code can hold in alphanumeric mode: 1 to
 * TOKEN_URL_BASE_MAX of 0-9 A-Z space $ % * + - . / : (so uppercase only, e.g.
 * "HTTPS://K.EXAMPLE.PL/C/"; scheme and host are case-insensitive, the server must accept the
 * path in capitals).
 */
bool token_url_base_valid(const char *base);

/*
 * Write base followed by the token text into buf with a NUL. Returns the URL's length, or
 * -EINVAL when base is not token_url_base_valid or text is not base32 of at most TOKEN_TEXT_MAX
 * characters, -ENOSPC when buf is too small (buf is then "" if size > 0).
 */
__attribute__((warn_unused_result)) int token_url(const char *base, const char *text, char *buf,
						  size_t size);

/*
 * The token text in a scanned URL: what follows its last '/'. Returns 0 with *ret_text pointing
 * into url and *ret_len its length, or -EINVAL when url is NULL, has no '/' or ends with one. The
 * base is not checked (the signature decides, not the host) and neither is the text: hand it to
 * token_verify.
 */
__attribute__((warn_unused_result)) int token_url_text(const char *url, const char **ret_text,
						       size_t *ret_len);
