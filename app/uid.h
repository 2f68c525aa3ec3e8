/*
 * uid: NFC card UIDs as typed by people and tools ("04A1B2C3D4E5F6", "04:a1:b2:...").
 *
 * ISO/IEC 14443-3 type A UIDs are 4, 7 or 10 bytes. A UID must never be logged or stored in
 * clear: use uid_redact() for messages and the pseudonym module for storage.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define UID_MAX 10

struct uid {
	uint8_t bytes[UID_MAX];
	size_t len;
};

/*
 * Parse hex digits (either case), optionally with ':' or '-' between every byte pair (the same
 * separator throughout), into 4, 7 or 10 bytes; leading and trailing blanks are ignored. *ret_uid
 * is written only on success. Returns 0, or -EINVAL with *ret_why set (ret_why may be NULL): empty,
 * not hex, odd number of digits, wrong length (with the sizes allowed), separators misplaced.
 */
__attribute__((warn_unused_result)) int uid_parse(const char *text, struct uid *ret_uid,
						  const char **ret_why);

/*
 * A redacted form safe for logs: the first byte and the length, e.g. "04…(7 B)" (UTF-8 ellipsis),
 * cut to size like snprintf. A NULL uid or a length outside 1-UID_MAX gives "(no UID)".
 */
void uid_redact(const struct uid *uid, char *buf, size_t size);
