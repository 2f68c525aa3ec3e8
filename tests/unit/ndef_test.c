/*
 * ndef_test: the NDEF parser on tables of good and bad Type 2 areas and messages (TLVs, record
 * flags and lengths, URI prefix codes, caps), and the URI encoder giving back what it was given.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ndef.h"

struct area_case {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	enum ndef_status status;
	const char *uri; /* on NDEF_OK */
};

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* "https://k.example.pl/c/1" as a short URI record with prefix code 4. */
#define URI_REC                                                                                    \
	0xd1, 0x01, 0x11, 'U', 0x04, 'k', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'p', 'l',   \
	    '/', 'c', '/', '1'

static const struct area_case areas[] = {
    {"uri", BYTES(0x03, 21, URI_REC, 0xfe), NDEF_OK, "https://k.example.pl/c/1"},
    {"uri without terminator", BYTES(0x03, 21, URI_REC), NDEF_OK, "https://k.example.pl/c/1"},
    {"after null and lock tlvs", BYTES(0x00, 0x01, 0x03, 0xa0, 0x10, 0x44, 0x03, 21, URI_REC),
     NDEF_OK, "https://k.example.pl/c/1"},
    {"after memory and proprietary",
     BYTES(0x02, 0x03, 1, 2, 3, 0xfd, 0x01, 0x55, 0x03, 21, URI_REC), NDEF_OK,
     "https://k.example.pl/c/1"},
    {"blank ntag", BYTES(0x03, 0x00, 0xfe, 0x00), NDEF_EMPTY, NULL},
    {"terminator only", BYTES(0xfe), NDEF_EMPTY, NULL},
    {"zeros", BYTES(0, 0, 0, 0, 0, 0, 0, 0), NDEF_EMPTY, NULL},
    {"nothing", NULL, 0, NDEF_EMPTY, NULL},
    {"empty record", BYTES(0x03, 0x03, 0xd0, 0x00, 0x00, 0xfe), NDEF_EMPTY, NULL},
    {"text record only", BYTES(0x03, 0x08, 0xd1, 0x01, 0x04, 'T', 0x02, 'e', 'n', 'x', 0xfe),
     NDEF_NO_URI, NULL},
    {"unknown tlv", BYTES(0x04, 0x01, 0x00, 0x03, 21, URI_REC), NDEF_BAD_TLV, NULL},
    {"lock tlv of 2", BYTES(0x01, 0x02, 0x00, 0x00, 0x03, 21, URI_REC), NDEF_BAD_TLV, NULL},
    {"long form under 255", BYTES(0x03, 0xff, 0x00, 21, URI_REC), NDEF_BAD_TLV, NULL},
    {"long form ffff", BYTES(0x03, 0xff, 0xff, 0xff), NDEF_BAD_TLV, NULL},
    {"tlv over 1 KiB", BYTES(0x03, 0xff, 0x04, 0x01, 0xd1), NDEF_TOO_BIG, NULL},
    {"tlv cut", BYTES(0x03, 22, URI_REC), NDEF_TRUNCATED, NULL},
    {"length byte missing", BYTES(0x00, 0x03), NDEF_TRUNCATED, NULL},
    {"skipped tlv runs past", BYTES(0xfd, 0x10, 0x00), NDEF_TRUNCATED, NULL},
    {"record cut", BYTES(0x03, 0x02, 0xd1, 0x01), NDEF_TRUNCATED, NULL},
    {"payload past message", BYTES(0x03, 0x05, 0xd1, 0x01, 0x09, 'U', 0x04), NDEF_TRUNCATED, NULL},
    {"no mb", BYTES(0x03, 0x05, 0x51, 0x01, 0x01, 'U', 0x04), NDEF_BAD_RECORD, NULL},
    {"chunked", BYTES(0x03, 0x06, 0xf1, 0x01, 0x02, 'U', 0x00, 'a'), NDEF_BAD_RECORD, NULL},
    {"tnf unchanged", BYTES(0x03, 0x06, 0xd6, 0x01, 0x02, 'U', 0x00, 'a'), NDEF_BAD_RECORD, NULL},
    {"tnf reserved", BYTES(0x03, 0x06, 0xd7, 0x01, 0x02, 'U', 0x00, 'a'), NDEF_BAD_RECORD, NULL},
    {"empty with payload", BYTES(0x03, 0x04, 0xd0, 0x00, 0x01, 0x00), NDEF_BAD_RECORD, NULL},
    {"well known without type", BYTES(0x03, 0x04, 0xd1, 0x00, 0x01, 0x00), NDEF_BAD_RECORD, NULL},
    {"bytes after me", BYTES(0x03, 0x07, 0xd1, 0x01, 0x02, 'U', 0x00, 'a', 0x00), NDEF_BAD_RECORD,
     NULL},
    {"no me", BYTES(0x03, 0x06, 0x91, 0x01, 0x02, 'U', 0x00, 'a'), NDEF_TRUNCATED, NULL},
    {"second mb",
     BYTES(0x03, 0x0c, 0x91, 0x01, 0x02, 'U', 0x00, 'a', 0xd1, 0x01, 0x02, 'U', 0x00, 'b'),
     NDEF_BAD_RECORD, NULL},
    {"prefix code 0x24", BYTES(0x03, 0x06, 0xd1, 0x01, 0x02, 'U', 0x24, 'a'), NDEF_BAD_URI, NULL},
    {"empty uri", BYTES(0x03, 0x05, 0xd1, 0x01, 0x01, 'U', 0x00), NDEF_BAD_URI, NULL},
    {"uri with space", BYTES(0x03, 0x07, 0xd1, 0x01, 0x03, 'U', 0x00, 'a', ' '), NDEF_BAD_URI,
     NULL},
    {"uri with nul", BYTES(0x03, 0x07, 0xd1, 0x01, 0x03, 'U', 0x00, 'a', 0x00), NDEF_BAD_URI, NULL},
    {"uri bad utf-8", BYTES(0x03, 0x07, 0xd1, 0x01, 0x03, 'U', 0x00, 0xc3, 0x28), NDEF_BAD_URI,
     NULL},
    {"uri overlong utf-8", BYTES(0x03, 0x07, 0xd1, 0x01, 0x03, 'U', 0x00, 0xc0, 0xaf), NDEF_BAD_URI,
     NULL},
    {"uri utf-8", BYTES(0x03, 0x08, 0xd1, 0x01, 0x04, 'U', 0x03, 'x', 0xc5, 0x82), NDEF_OK,
     "http://x\xc5\x82"},
    {"prefix only", BYTES(0x03, 0x05, 0xd1, 0x01, 0x01, 'U', 0x05), NDEF_OK, "tel:"},
    {"urn:nfc", BYTES(0x03, 0x06, 0xd1, 0x01, 0x02, 'U', 0x23, 'x'), NDEF_OK, "urn:nfc:x"},
    {"aar then uri",
     BYTES(0x03, 0x1b, 0x94, 0x0f, 0x03, 'a', 'n', 'd', 'r', 'o', 'i', 'd', '.', 'c', 'o', 'm', ':',
	   'p', 'k', 'g', 'a', '.', 'b', 0x51, 0x01, 0x02, 'U', 0x00, 'z'),
     NDEF_OK, "z"},
    {"long record form", BYTES(0x03, 0x09, 0xc1, 0x01, 0x00, 0x00, 0x00, 0x02, 'U', 0x00, 'q'),
     NDEF_OK, "q"},
    {"long record over 4 GiB",
     BYTES(0x03, 0x09, 0xc1, 0x01, 0xff, 0xff, 0xff, 0xff, 'U', 0x00, 'q'), NDEF_TOO_BIG, NULL},
    {"id field", BYTES(0x03, 0x08, 0xd9, 0x01, 0x02, 0x01, 'U', '#', 0x00, 'i'), NDEF_OK, "i"},
};

static void test_areas(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		const struct area_case *c = &areas[i];
		struct ndef_uri uri = {.len = 777};
		enum ndef_status st = NDEF_STATUS_MAX;

		print_message("%s\n", c->name);
		assert_int_equal(ndef_t2_uri(c->bytes, c->len, &uri, &st), 0);
		assert_int_equal(st, c->status);
		if (c->status == NDEF_OK) {
			assert_string_equal(uri.text, c->uri);
			assert_int_equal(uri.len, strlen(c->uri));
		} else {
			assert_int_equal(uri.len, 777); /* left alone */
		}
		assert_non_null(ndef_status_text(st));
	}
}

static void test_find_tells_how_much_to_read(void **state)
{
	uint8_t area[600] = {0x03, 0xff, 0x01, 0x10, 0xc1};
	size_t off, len;
	enum ndef_status st;

	(void) state;
	/* A 272-byte message of which only the first 16 bytes were read. */
	assert_int_equal(ndef_t2_find(area, 16, &off, &len, &st), 0);
	assert_int_equal(st, NDEF_TRUNCATED);
	assert_int_equal(off + len, 4 + 0x110);
	assert_int_equal(ndef_t2_find(area, sizeof(area), &off, &len, &st), 0);
	assert_int_equal(st, NDEF_OK);
	assert_int_equal(off, 4);
	assert_int_equal(len, 0x110);

	/* A proprietary TLV that goes on past the bytes read: read at least to its end. */
	const uint8_t prop[] = {0xfd, 0x20, 0x00, 0x00};
	assert_int_equal(ndef_t2_find(prop, sizeof(prop), &off, &len, &st), 0);
	assert_int_equal(st, NDEF_TRUNCATED);
	assert_int_equal(off + len, 2 + 0x20);

	assert_int_equal(ndef_t2_find(NULL, 1, &off, &len, &st), -EINVAL);
	assert_int_equal(ndef_t2_find(prop, 1, NULL, &len, &st), -EINVAL);
}

static void round_trip(const char *text, int want_prefix)
{
	uint8_t area[1100];
	struct ndef_uri uri;
	enum ndef_status st;
	size_t len = strlen(text);
	int n = ndef_t2_encode_uri(text, len, area, sizeof(area));

	assert_true(n > 0);
	assert_int_equal(area[0], 0x03);
	assert_int_equal(area[n - 1], 0xfe);
	const size_t hdr = area[1] == 0xff ? 4 : 2;
	const size_t rec_hdr = (area[hdr] & 0x10) ? 3 : 6;
	if (want_prefix >= 0)
		assert_int_equal(area[hdr + rec_hdr + 1], want_prefix);
	assert_int_equal(ndef_t2_uri(area, (size_t) n, &uri, &st), 0);
	assert_int_equal(st, NDEF_OK);
	assert_int_equal(uri.len, len);
	assert_memory_equal(uri.text, text, len);
}

static void test_encode_round_trip(void **state)
{
	char big[NDEF_URI_MAX + 2];

	(void) state;
	round_trip("https://k.example.pl/c/ABC", 0x04);
	round_trip("https://www.example.pl/", 0x02);
	round_trip("HTTPS://K.EXAMPLE.PL/C/040WBRGTP4049201KBM07K3M9QZX2H4P", 0x00);
	round_trip("urn:epc:id:sgtin:1", 0x1e);
	round_trip("urn:nfc:sn:1", 0x23);
	round_trip("mailto:", 0x06);
	round_trip("x", 0x00);
	/* Over 255 bytes: a long record and a 3-byte TLV length. */
	memset(big, 'a', 300);
	memcpy(big, "https://", 8);
	big[300] = '\0';
	round_trip(big, 0x04);
	/* The largest message of all: 8 bytes of header, type and prefix code, 1016 of URI. */
	memset(big, 'b', NDEF_MESSAGE_MAX - 8);
	big[NDEF_MESSAGE_MAX - 8] = '\0';
	round_trip(big, 0x00);
}

static void test_encode_refusals(void **state)
{
	uint8_t buf[200];
	char big[NDEF_URI_MAX + 2];

	(void) state;
	assert_int_equal(ndef_t2_encode_uri("", 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ndef_t2_encode_uri("a b", 3, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ndef_t2_encode_uri("a\nb", 3, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ndef_t2_encode_uri("\xc3(", 2, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ndef_t2_encode_uri(NULL, 3, buf, sizeof(buf)), -EINVAL);
	memset(big, 'c', sizeof(big));
	assert_int_equal(ndef_t2_encode_uri(big, NDEF_URI_MAX + 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ndef_t2_encode_uri(big, NDEF_MESSAGE_MAX - 7, buf, sizeof(buf)),
			 -EMSGSIZE);
	/* A card URL of 158 characters does not fit an NTAG213's 144 bytes. */
	memset(big, 'D', 158);
	memcpy(big, "HTTPS://K.EXAMPLE.PL/C/", 23);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(ndef_t2_encode_uri(big, 158, buf, 144), -ENOSPC);
	assert_int_equal(buf[0], 0x5a);
	assert_true(ndef_t2_encode_uri(big, 158, buf, 200) > 144);
	assert_false(ndef_uri_valid("a", 0));
	assert_true(ndef_uri_valid("a", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_areas),
	    cmocka_unit_test(test_find_tells_how_much_to_read),
	    cmocka_unit_test(test_encode_round_trip),
	    cmocka_unit_test(test_encode_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
