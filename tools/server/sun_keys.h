/*
 * sun_keys: the text of the file loyalty-server serve --sun-keys names (docs/server.md): the
 * chain's NTAG 424 DNA keys, SDMMetaReadKey on the first line and SDMFileReadKey on the second,
 * 32 hex digits each. Parsed strictly from untrusted bytes, with no file, no clock and no log.
 *
 * Not for: reading the file (main.c) or checking SUN messages with the keys (app/sun, sync.c).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sun.h"

#define SUN_KEYS_TEXT_MAX 4096 /* bytes of a keys file; a valid one holds at most 68 */

/*
 * Parse len bytes of text (no terminator needed): exactly two lines of 2 * SUN_KEY_LEN hex
 * digits, either case, each ended by "\n" or "\r\n" except that the last line may end the text.
 * Anything else is refused with -EINVAL and a sentence in err naming the line and the problem
 * ("line 2 (SDMFileReadKey): 31 hex digits, expected 32"): an empty text, a line short or long,
 * a character other than a hex digit (a space, a tab, a NUL byte, a lone "\r"), a missing
 * second line, a third line (even an empty one). -EFBIG past SUN_KEYS_TEXT_MAX bytes. The
 * sentence never quotes a hex digit of the text. ret_meta_key and ret_file_key are written
 * only on success; err may be NULL.
 */
__attribute__((warn_unused_result)) int sun_keys_parse(const char *text, size_t len,
						       uint8_t ret_meta_key[SUN_KEY_LEN],
						       uint8_t ret_file_key[SUN_KEY_LEN], char *err,
						       size_t err_size);
