/*
 * uid_fuzz: uid_parse() on arbitrary bytes. It must not crash; on success the UID has 4, 7 or 10
 * bytes, prints back as hex that parses to the same UID, and redacts to its first byte; on
 * failure it returns -EINVAL with a reason and leaves the UID alone.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uid.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "uid_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';

	struct uid u, before;
	memset(&u, 0xa5, sizeof(u));
	memcpy(&before, &u, sizeof(u));
	const char *why = NULL;
	int r = uid_parse(text, &u, &why);
	if (r == 0) {
		CHECK(u.len == 4 || u.len == 7 || u.len == 10);

		char hex[2 * UID_MAX + 1];
		for (size_t i = 0; i < u.len; i++)
			snprintf(hex + 2 * i, 3, "%02x", u.bytes[i]);
		struct uid back;
		CHECK(uid_parse(hex, &back, NULL) == 0);
		CHECK(back.len == u.len && memcmp(back.bytes, u.bytes, u.len) == 0);

		/* the redacted form shows the first byte and the length, nothing more */
		char red[32], want[32];
		uid_redact(&u, red, sizeof(red));
		snprintf(want, sizeof(want), "%02X\xe2\x80\xa6(%zu B)", u.bytes[0], u.len);
		CHECK(strcmp(red, want) == 0);
	} else {
		CHECK(r == -EINVAL);
		CHECK(why && why[0]);
		CHECK(memcmp(&u, &before, sizeof(u)) == 0);
	}
	free(text);
	return 0;
}
