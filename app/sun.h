/*
 * sun: verification of the Secure Unique NFC (SUN) messages of NTAG 424 DNA cards, as the server
 * checks them (NXP AN12196, "SUN message" with AES-128, PICC data encrypted, SDMMAC).
 *
 * At each tap the card writes into the URL of its NDEF file the PICC data (the UID and the SDM
 * read counter, encrypted with SDMMetaReadKey) and an 8-byte SDMMAC over part of the URL (often
 * nothing at all) under a session key that mixes SDMFileReadKey with the UID and the counter.
 * A copy of one URL therefore carries one counter value: the server accepts a counter only once
 * and only upwards (that bookkeeping is the caller's, not this module's).
 *
 * The steps, each a function so a server with per-card (diversified) file keys can run them in
 * turn: sun_url_parse (the URL's query: PICC data, MAC and the MAC input), sun_picc_decrypt
 * (SDMMetaReadKey: the UID and the counter), sun_mac_check (SDMFileReadKey: the session key and
 * the truncated CMAC, compared in constant time). sun_verify does both crypto steps with one
 * file key. docs/sun.md describes the message, the steps and the test vectors.
 *
 * The encrypted file data (SDMENCFileData), when a card mirrors some, is decrypted by
 * sun_file_data_decrypt once the MAC passed.
 *
 * Not here: card personalisation (writing keys and SDM settings), LRP mode, the counter's replay
 * bookkeeping, key storage.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUN_KEY_LEN	   16	    /* AES-128 */
#define SUN_UID_LEN	   7	    /* the card's UID as mirrored (PICC data tag 0xC7) */
#define SUN_PICC_DATA_LEN  16	    /* one AES block */
#define SUN_MAC_LEN	   8	    /* the truncated CMAC: its odd bytes */
#define SUN_READ_CTR_MAX   0xffffff /* a 24-bit counter */
#define SUN_URL_MAX	   512	    /* characters of a URL sun_url_parse looks at */
#define SUN_PARAM_NAME_MAX 16	    /* characters of a query parameter name */
#define SUN_PICC_DATA_TAG  0xc7	    /* UID and counter mirrored, a 7-byte UID */
#define SUN_FILE_DATA_MAX  256	    /* bytes of SDMENCFileData (the NDEF file's size) */

/* What a check found; only SUN_OK lets a message through. */
enum sun_status {
	SUN_OK = 0,
	SUN_NO_QUERY,	   /* the URL has no '?' or nothing after it */
	SUN_BAD_QUERY,	   /* a parameter without '=', empty, unknown, repeated, a fragment ('#'),
			      or something after the MAC parameter */
	SUN_MISSING_PARAM, /* the PICC data, the MAC or the MAC input parameter is not there */
	SUN_BAD_HEX,	   /* a value that is not uppercase hexadecimal (0-9 A-F) */
	SUN_BAD_LENGTH,	   /* a value of another length than 32 (PICC data) or 16 (MAC) digits, or
			      a URL over SUN_URL_MAX */
	SUN_BAD_PICC_DATA, /* the decrypted PICC data tag is not 0xC7: another SDMMetaReadKey,
			      altered data, or a card set up to mirror something else */
	SUN_BAD_MAC,	   /* the SDMMAC does not match: altered, copied into another URL, or
			      another SDMFileReadKey */
	SUN_STATUS_MAX
};

/* The parameter names of a card's SUN URL (as set when the card was personalised). */
struct sun_url_format {
	const char *picc_param; /* e.g. "picc_data" */
	const char *mac_param;	/* e.g. "cmac"; must be the query's last parameter */
	/* NULL: the MAC input is empty (SDMMACInputOffset = SDMMACOffset). Otherwise the MAC input
	 * runs from the first character of this parameter's value up to the MAC's value, e.g.
	 * "enc" for "enc=CEE9...62&cmac=" (AN12196's second example). */
	const char *mac_input_param;
};

/* "picc_data" and "cmac", empty MAC input: the terminal's own card format. */
extern const struct sun_url_format sun_url_format_default;

/* What sun_url_parse found in a URL. */
struct sun_url {
	uint8_t picc_data[SUN_PICC_DATA_LEN]; /* still encrypted */
	uint8_t mac[SUN_MAC_LEN];
	const char *mac_input; /* into the URL given; NULL with mac_input_len 0 when empty */
	size_t mac_input_len;
};

/* What the PICC data holds once decrypted. */
struct sun_tap {
	uint8_t uid[SUN_UID_LEN];
	uint32_t read_ctr; /* SDMReadCtr, 0 to SUN_READ_CTR_MAX */
};

/* A short English reason for logs ("bad mac", "missing parameter", ...), never NULL. */
const char *sun_status_str(enum sun_status status);

/*
 * Find the SUN parameters in the query of the len characters of url (no NUL needed). The part
 * before '?' is not checked (the MAC decides, not the host). The query must be name=value pairs
 * joined by '&', each name one of the format's, each once, the MAC parameter last; values are
 * uppercase hexadecimal as the card writes them, 32 digits of PICC data and 16 of MAC. Returns 0
 * and sets *ret_status; *ret_url is written only for SUN_OK (its mac_input points into url).
 * -EINVAL, setting nothing, for a NULL argument or a format whose names are NULL (the MAC input
 * one may be), empty, longer than SUN_PARAM_NAME_MAX, not of [A-Za-z0-9_] or equal.
 */
__attribute__((warn_unused_result)) int sun_url_parse(const char *url, size_t len,
						      const struct sun_url_format *format,
						      struct sun_url *ret_url,
						      enum sun_status *ret_status);

/*
 * Decrypt the PICC data with SDMMetaReadKey (AES-128 CBC, zero IV: one block). Returns 0 and
 * sets *ret_status to SUN_OK, writing *ret_tap, or to SUN_BAD_PICC_DATA when the tag byte is
 * not SUN_PICC_DATA_TAG. The result is not authenticated until sun_mac_check passes. -EINVAL
 * for a NULL argument, -EIO when libcrypto fails.
 */
__attribute__((warn_unused_result)) int sun_picc_decrypt(const uint8_t meta_key[SUN_KEY_LEN],
							 const uint8_t picc_data[SUN_PICC_DATA_LEN],
							 struct sun_tap *ret_tap,
							 enum sun_status *ret_status);

/*
 * The SDM session MAC key: AES-CMAC under SDMFileReadKey of SV2 = 3C C3 00 01 00 80, the UID,
 * the read counter (3 bytes, least significant first). -EINVAL, -ERANGE for a counter over
 * SUN_READ_CTR_MAX, -EIO when libcrypto fails.
 */
__attribute__((warn_unused_result)) int sun_session_mac_key(const uint8_t file_key[SUN_KEY_LEN],
							    const struct sun_tap *tap,
							    uint8_t ret_key[SUN_KEY_LEN]);

/*
 * The SDMMAC the card computes: the AES-CMAC of input (len bytes, 0 allowed, input may then be
 * NULL) under the session key, truncated to its bytes 1, 3, 5, ... 15 (counting from 0).
 * Errors as sun_session_mac_key.
 */
__attribute__((warn_unused_result)) int sun_mac(const uint8_t file_key[SUN_KEY_LEN],
						const struct sun_tap *tap, const void *input,
						size_t len, uint8_t ret_mac[SUN_MAC_LEN]);

/*
 * Compare mac with sun_mac(file_key, tap, input, len) in constant time. Returns 0 and sets
 * *ret_status to SUN_OK or SUN_BAD_MAC; errors as sun_mac.
 */
__attribute__((warn_unused_result)) int sun_mac_check(const uint8_t file_key[SUN_KEY_LEN],
						      const struct sun_tap *tap, const void *input,
						      size_t len, const uint8_t mac[SUN_MAC_LEN],
						      enum sun_status *ret_status);

/*
 * sun_picc_decrypt then sun_mac_check over the parsed URL's MAC input, with one file key for
 * every card. Returns 0 and sets *ret_status to the first problem or SUN_OK; *ret_tap is written
 * only for SUN_OK. Errors as above.
 */
__attribute__((warn_unused_result)) int
sun_verify(const uint8_t meta_key[SUN_KEY_LEN], const uint8_t file_key[SUN_KEY_LEN],
	   const struct sun_url *url, struct sun_tap *ret_tap, enum sun_status *ret_status);

/*
 * What a card writes at a tap, for simulators and tests (the terminal never makes one): base
 * (a URL without '?', e.g. "HTTPS://K.EXAMPLE.PL/N") then "?picc_data=" and the PICC data (C7,
 * the UID, the counter least significant first and the 5 bytes of pad, encrypted under
 * SDMMetaReadKey) and "&cmac=" and the SDMMAC over the empty input, in uppercase hex, into out
 * (cap bytes with the NUL), sun_url_format_default's form. Returns its length, -EINVAL (a NULL
 * argument, a '?' in base), -ERANGE for a counter over SUN_READ_CTR_MAX, -ENOSPC when it does
 * not fit, -EIO when libcrypto fails.
 */
__attribute__((warn_unused_result)) int sun_url_make(const uint8_t meta_key[SUN_KEY_LEN],
						     const uint8_t file_key[SUN_KEY_LEN],
						     const struct sun_tap *tap, const uint8_t pad[5],
						     const char *base, char *out, size_t cap);

/*
 * Decrypt len bytes of SDMENCFileData (a multiple of 16, 16 to SUN_FILE_DATA_MAX) into
 * ret_plain (len bytes): AES-128 CBC under the session ENC key, the AES-CMAC under
 * SDMFileReadKey of SV1 = C3 3C 00 01 00 80 || UID || SDMReadCtr (least significant first),
 * with the IV the encryption under that key of the counter (3 bytes, least significant first)
 * and 13 zero bytes. Only meaningful once the MAC over the URL (which covers this data when the
 * card is set up so) passed. -EINVAL (a NULL argument, a bad length), -ERANGE for a counter
 * over SUN_READ_CTR_MAX, -EIO when libcrypto fails.
 */
__attribute__((warn_unused_result)) int sun_file_data_decrypt(const uint8_t file_key[SUN_KEY_LEN],
							      const struct sun_tap *tap,
							      const uint8_t *enc, size_t len,
							      uint8_t *ret_plain);
