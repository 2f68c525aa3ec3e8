/*
 * uid: card UIDs typed as hex text (settings, the simulator console, tools) into bytes, and the
 * redacted form for logs. Not for UIDs read from a reader: those arrive as bytes from hal/nfc.
 */
#include "uid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int refuse(const char **ret_why, const char *why)
{
	if (ret_why)
		*ret_why = why;
	return -EINVAL;
}

/*
 * Text is split into groups at ':' or '-'. Without separators there is one group of any length;
 * with them every group is exactly one byte pair and all separators are the same character, so
 * "04:A1:B2:C3" and "04A1B2C3" pass while "04:A1B2C3", "04:A1-B2:C3", ":04A1" and "04:A1:"
 * do not. Digits past UID_MAX bytes are only counted, to report the length.
 */
int uid_parse(const char *text, struct uid *ret_uid, const char **ret_why)
{
	if (!text)
		return refuse(ret_why, "UID is empty");
	if (!ret_uid)
		return refuse(ret_why, "no place for the UID");

	const char *p = text;
	while (is_blank(*p))
		p++;
	const char *end = p + strlen(p);
	while (end > p && is_blank(end[-1]))
		end--;
	if (p == end)
		return refuse(ret_why, "UID is empty");

	struct uid u = {.len = 0};
	size_t digits = 0, group = 0;
	char sep = 0;
	for (const char *q = p; q < end; q++) {
		char c = *q;
		if (c == ':' || c == '-') {
			if (group != 2 || (sep && c != sep))
				return refuse(ret_why,
					      "UID separators must sit between every byte pair");
			sep = c;
			group = 0;
			continue;
		}
		int v = hex_digit_value(c);
		if (v < 0)
			return refuse(ret_why, "UID has a character that is not a hex digit");
		if (digits < 2 * UID_MAX)
			u.bytes[digits / 2] = (uint8_t) (u.bytes[digits / 2] << 4 | v);
		digits++;
		group++;
	}
	if (sep && group != 2)
		return refuse(ret_why, "UID separators must sit between every byte pair");
	if (digits % 2)
		return refuse(ret_why, "UID has an odd number of hex digits");
	if (digits != 8 && digits != 14 && digits != 20)
		return refuse(ret_why, "UID must be 4, 7 or 10 bytes");

	u.len = digits / 2;
	*ret_uid = u;
	return 0;
}

/*
 * Only the first byte is shown: for 7- and 10-byte UIDs it is the manufacturer code (0x04 for
 * NXP), for 4-byte ones usually 0x08 (random ID), so it tells card families apart without
 * identifying a card. A NULL or malformed uid prints a placeholder.
 */
void uid_redact(const struct uid *uid, char *buf, size_t size)
{
	if (!buf || size == 0)
		return;
	if (!uid || uid->len == 0 || uid->len > UID_MAX) {
		snprintf(buf, size, "(no UID)");
		return;
	}
	/* "\xe2\x80\xa6" is U+2026 HORIZONTAL ELLIPSIS in UTF-8 */
	snprintf(buf, size, "%02X\xe2\x80\xa6(%zu B)", uid->bytes[0], uid->len);
}
