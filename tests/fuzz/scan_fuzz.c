/*
 * scan_fuzz: routing of arbitrary scanned lines. It must not crash or read past the input; kind
 * and reason are known ones, unknown exactly when there is a reason; a token it routes peeks to
 * that type from text inside the line; a plain card code follows the card URL base; a phone is
 * "+48" and the 9 digits of the line in order, the first not 0.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "token.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "scan_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define BASE "https://k.example.pl/c/"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_result r;
	char *line;

	/* an exact-size copy, so reading past the input shows under ASan */
	line = malloc(size ? size : 1);
	if (!line)
		return 0;
	if (size)
		memcpy(line, data, size);

	CHECK(scan_route(line, size, BASE, &r) == 0);
	CHECK(r.kind < SCAN_KIND_MAX && r.reason < SCAN_REASON_MAX);
	CHECK((r.kind == SCAN_UNKNOWN) == (r.reason != SCAN_REASON_NONE));
	CHECK(scan_kind_name(r.kind) != NULL && scan_reason_str(r.reason) != NULL);
	if (r.text) {
		CHECK(r.text >= line && r.text_len > 0 && r.text + r.text_len <= line + size);
	}
	switch (r.kind) {
	case SCAN_CARD:
	case SCAN_COUPON:
	case SCAN_CLAIM:
		CHECK(size <= SCAN_LINE_MAX);
		if (r.plain_code) {
			CHECK(r.kind == SCAN_CARD && r.text_len == TOKEN_CARD_CODE_LEN);
			CHECK(size == strlen(BASE) + TOKEN_CARD_CODE_LEN);
			CHECK(strncasecmp(line, BASE, strlen(BASE)) == 0);
			CHECK(r.text && memcmp(r.card_code, r.text, TOKEN_CARD_CODE_LEN) == 0);
		} else {
			struct token tok;
			enum token_status st;
			CHECK(r.text + r.text_len == line + size);
			CHECK(token_peek(r.text, r.text_len, &tok, &st) == 0 && st == TOKEN_OK);
			CHECK(tok.type == r.token.type && tok.key_id == r.token.key_id);
			CHECK(tok.issued_s == r.token.issued_s &&
			      tok.expires_s == r.token.expires_s);
			CHECK((r.kind == SCAN_CARD) == (tok.type == TOKEN_CARD));
			CHECK((r.kind == SCAN_COUPON) == (tok.type == TOKEN_COUPON));
			CHECK((r.kind == SCAN_CLAIM) == (tok.type == TOKEN_CLAIM));
		}
		if (r.kind == SCAN_CARD)
			CHECK(strlen(r.card_code) == TOKEN_CARD_CODE_LEN);
		break;
	case SCAN_PHONE: {
		size_t k = 3;
		CHECK(strlen(r.phone) == SCAN_PHONE_LEN && memcmp(r.phone, "+48", 3) == 0);
		CHECK(r.phone[3] != '0');
		/* the digits after "+48" in the line, in order */
		const char *p = memmem(line, size, "+48", 3);
		CHECK(p != NULL);
		for (p += 3; p < line + size; p++) {
			if (*p >= '0' && *p <= '9') {
				CHECK(k < SCAN_PHONE_LEN && r.phone[k] == *p);
				k++;
			} else {
				CHECK(*p == ' ' || *p == '-');
			}
		}
		CHECK(k == SCAN_PHONE_LEN);
		break;
	}
	case SCAN_UNKNOWN:
		CHECK(r.phone[0] == '\0' && r.card_code[0] == '\0');
		CHECK(r.text == NULL || r.reason == SCAN_BAD_TOKEN);
		break;
	case SCAN_KIND_MAX:
		CHECK(0);
	}
	free(line);
	return 0;
}
