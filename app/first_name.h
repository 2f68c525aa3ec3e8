/*
 * first_name: the first name a member chose to have shown at the till (card page consent),
 * checked and put in one form, the same on the server that takes it and the terminal that
 * shows it.
 *
 * A first name is 1 to FIRST_NAME_CHARS characters of valid UTF-8, at least one of them a
 * letter: ASCII letters, the space, '-', '\'' and '.', and the code points from U+00C0 up
 * (Latin letters with diacritics, Greek, Cyrillic, CJK and the other scripts, combining marks)
 * except those that are no part of a name or that would change how the text around it shows:
 * U+00D7 and U+00F7, the general punctuation block U+2000-U+206F (the bidirectional controls
 * among them), U+FE00-U+FE0F, U+FEFF, U+FFF0-U+FFFF, the private use areas, the noncharacters.
 * Leading and trailing spaces are dropped and runs of spaces become one.
 *
 * Not for: surnames, addresses or any other personal data; none is kept.
 */
#pragma once

#include <stddef.h>

#define FIRST_NAME_CHARS 24
#define FIRST_NAME_MAX	 (FIRST_NAME_CHARS * 4 + 1) /* bytes with the NUL */

/*
 * Check text[0..len) and write its clean form to out (FIRST_NAME_MAX bytes). Returns 0, or
 * -EINVAL with *ret_why (static text) saying what is wrong: empty, too long, not UTF-8, or the
 * character not allowed. out is written only on success.
 */
__attribute__((warn_unused_result)) int
first_name_clean(const char *text, size_t len, char out[FIRST_NAME_MAX], const char **ret_why);
