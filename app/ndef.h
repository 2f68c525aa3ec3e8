/*
 * ndef: NFC Forum NDEF messages as member cards carry them: the card's URL in a URI record,
 * inside a Type 2 tag TLV area (NTAG213/215/216) or as the NDEF file of a Type 4 tag (NTAG 424
 * DNA). A strict parser with a cap and an encoder for the one message the terminal writes.
 *
 * Pure bytes in, values out: no I/O, no card commands (hal/nfc-libnfc.c reads and writes the
 * card). Strict means: a malformed TLV area, record or URI is refused with a status telling
 * which, never guessed at; chunked records are refused; the message and the URI text are capped
 * at 1 KiB (NDEF_MESSAGE_MAX, NDEF_URI_MAX).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NDEF_MESSAGE_MAX 1024 /* bytes of one NDEF message accepted */
#define NDEF_URI_MAX	 1024 /* bytes of URI text (prefix expanded), without the NUL */

/* What a card's NDEF data said. Only NDEF_OK carries a URI. */
enum ndef_status {
	NDEF_OK,	 /* a URI record was found */
	NDEF_EMPTY,	 /* no NDEF message, or an empty one: a blank card */
	NDEF_NO_URI,	 /* a well-formed message without a URI record */
	NDEF_TRUNCATED,	 /* the data ends inside the TLV or the message */
	NDEF_BAD_TLV,	 /* a TLV area that is not well formed */
	NDEF_BAD_RECORD, /* a record header, flag or length that is not well formed */
	NDEF_BAD_URI,	 /* a URI record with an unknown prefix code or a bad character */
	NDEF_TOO_BIG,	 /* message over NDEF_MESSAGE_MAX or URI over NDEF_URI_MAX */
	NDEF_STATUS_MAX
};

struct ndef_uri {
	char text[NDEF_URI_MAX + 1]; /* NUL-terminated, the prefix code expanded */
	size_t len;
};

/* A short English text for a status ("no NDEF message (blank card)"), never NULL. */
const char *ndef_status_text(enum ndef_status status);

/*
 * Find the NDEF message TLV in a Type 2 tag data area (the bytes from page 4 on). Skips NULL,
 * Lock Control, Memory Control and proprietary TLVs; stops at the first NDEF TLV or the
 * Terminator. On NDEF_OK, *ret_off and *ret_len give the message within area (ret_len > 0).
 * On NDEF_TRUNCATED, *ret_off + *ret_len is how many bytes of area are needed to go on (read
 * that much and call again); 0 when even that is not known yet. NDEF_EMPTY for a Terminator,
 * an empty NDEF TLV or an area of only NULL TLVs. Returns 0 with *ret_status set, or -EINVAL.
 */
__attribute__((warn_unused_result)) int ndef_t2_find(const uint8_t *area, size_t len,
						     size_t *ret_off, size_t *ret_len,
						     enum ndef_status *ret_status);

/*
 * Parse one NDEF message strictly (MB on the first record only, ME on the last, no chunks, no
 * bytes after ME, TNF rules for empty and well-known records) and take the first URI record
 * (well-known type "U"). A message of one empty record (TNF 0) is NDEF_EMPTY. On NDEF_OK,
 * *ret_uri holds the URI; it is left alone otherwise. Returns 0 with *ret_status, or -EINVAL.
 */
__attribute__((warn_unused_result)) int ndef_message_uri(const uint8_t *msg, size_t len,
							 struct ndef_uri *ret_uri,
							 enum ndef_status *ret_status);

/* ndef_t2_find() then ndef_message_uri(): the URI of a Type 2 data area. */
__attribute__((warn_unused_result)) int ndef_t2_uri(const uint8_t *area, size_t len,
						    struct ndef_uri *ret_uri,
						    enum ndef_status *ret_status);

/*
 * Is this text a URI the encoder takes and the parser gives back unchanged: 1 to NDEF_URI_MAX
 * bytes of printable ASCII (0x21-0x7e) or well-formed UTF-8, no spaces or control characters.
 */
bool ndef_uri_valid(const char *uri, size_t len);

/*
 * The NDEF message of one URI record (MB, ME, short record when it fits) for uri, with the
 * longest matching prefix code (case-sensitive, so the parser gives back the very same text).
 * Returns the message length, -EINVAL for a URI ndef_uri_valid() refuses, -EMSGSIZE when the
 * message would exceed NDEF_MESSAGE_MAX (a URI of over 1016 bytes), -ENOSPC when cap is too
 * small. Nothing is written to buf on failure.
 */
__attribute__((warn_unused_result)) int ndef_message_encode_uri(const char *uri, size_t len,
								uint8_t *buf, size_t cap);

/*
 * A Type 2 data area for uri: the NDEF TLV (1- or 3-byte length) holding that message, then a
 * Terminator TLV. Returns the byte count, or an error as ndef_message_encode_uri() (cap
 * is the card's user memory: 144 bytes on an NTAG213, 504 on an NTAG215, 888 on an NTAG216).
 */
__attribute__((warn_unused_result)) int ndef_t2_encode_uri(const char *uri, size_t len,
							   uint8_t *buf, size_t cap);
