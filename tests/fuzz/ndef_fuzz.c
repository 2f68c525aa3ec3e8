/*
 * ndef_fuzz: the NDEF parser on arbitrary Type 2 areas. It must not crash or read past the
 * input; the status is always a known one; a URI it accepts is valid, within NDEF_URI_MAX and
 * NUL-terminated, and encoding that URI again and parsing the result gives the same text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndef.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "ndef_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ndef_uri uri, again;
	static uint8_t area[NDEF_MESSAGE_MAX + 8];
	enum ndef_status st = NDEF_STATUS_MAX;
	size_t off, len;
	uint8_t *copy;

	/* An exact-size copy, so reading past the input shows under ASan. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);

	CHECK(ndef_t2_find(copy, size, &off, &len, &st) == 0);
	CHECK(st < NDEF_STATUS_MAX);
	if (st == NDEF_OK)
		CHECK(len > 0 && off + len <= size && len <= NDEF_MESSAGE_MAX);

	/* The same bytes as a bare message (the Type 4 NDEF file's content). */
	CHECK(ndef_message_uri(copy, size, &uri, &st) == 0);
	CHECK(st < NDEF_STATUS_MAX);

	memset(&uri, 0, sizeof(uri));
	CHECK(ndef_t2_uri(copy, size, &uri, &st) == 0);
	CHECK(st < NDEF_STATUS_MAX);
	CHECK(ndef_status_text(st) != NULL);
	if (st == NDEF_OK) {
		CHECK(uri.len > 0 && uri.len <= NDEF_URI_MAX);
		CHECK(uri.text[uri.len] == '\0');
		CHECK(strlen(uri.text) == uri.len);
		CHECK(ndef_uri_valid(uri.text, uri.len));
		int n = ndef_t2_encode_uri(uri.text, uri.len, area, sizeof(area));
		CHECK(n > 0 || n == -EMSGSIZE);
		if (n > 0) {
			CHECK(ndef_t2_uri(area, (size_t) n, &again, &st) == 0);
			CHECK(st == NDEF_OK);
			CHECK(again.len == uri.len && memcmp(again.text, uri.text, uri.len) == 0);
		}
	}
	free(copy);
	return 0;
}
