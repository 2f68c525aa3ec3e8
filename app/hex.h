/*
 * hex: the value of one hexadecimal digit, either case, for the parsers that read hex from
 * people and files (card UIDs, key files, %-escapes, the emulator's scenario lines). Parsers
 * whose format allows one case only (SUN URLs: uppercase; the sync protocol: lowercase) check
 * the case themselves.
 */
#pragma once

/* 0 to 15 for 0-9, a-f and A-F; -1 for any other character. */
static inline int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
