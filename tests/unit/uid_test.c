/*
 * uid_test: uid_parse() takes 4, 7 and 10-byte UIDs in the spellings people and tools use and
 * refuses the rest with a reason; uid_redact() shows only the first byte and the length.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "uid.h"

static const char WHY_EMPTY[] = "UID is empty";
static const char WHY_HEX[] = "UID has a character that is not a hex digit";
static const char WHY_ODD[] = "UID has an odd number of hex digits";
static const char WHY_LEN[] = "UID must be 4, 7 or 10 bytes";
static const char WHY_SEP[] = "UID separators must sit between every byte pair";

struct good {
	const char *text;
	size_t len;
	uint8_t bytes[UID_MAX];
};

static const struct good goods[] = {
    {"04A1B2C3D4E5F6", 7, {0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6}},
    {"04a1b2c3d4e5f6", 7, {0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6}},
    {"04:a1:b2:c3:d4:e5:f6", 7, {0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6}},
    {"04-A1-b2-C3-d4-E5-f6", 7, {0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6}},
    {"DEADBEEF", 4, {0xde, 0xad, 0xbe, 0xef}},
    {"08:00:00:00", 4, {0x08, 0x00, 0x00, 0x00}},
    {"00000000", 4, {0}},
    {"ffffffff", 4, {0xff, 0xff, 0xff, 0xff}},
    {"0102030405060708090A", 10, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
    {"01:02:03:04:05:06:07:08:09:0a", 10, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
    {"  04A1B2C3  ", 4, {0x04, 0xa1, 0xb2, 0xc3}},
    {"\t04-a1-b2-c3\t", 4, {0x04, 0xa1, 0xb2, 0xc3}},
};

static void test_parse_good(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		struct uid u;
		const char *why = NULL;
		memset(&u, 0x5a, sizeof(u));
		int r = uid_parse(goods[i].text, &u, &why);
		if (r != 0)
			fail_msg("\"%s\" refused: %s", goods[i].text, why ? why : "(null)");
		assert_int_equal(u.len, goods[i].len);
		assert_memory_equal(u.bytes, goods[i].bytes, goods[i].len);
		assert_null(why);
	}
}

struct bad {
	const char *text;
	const char *why;
};

static const struct bad bads[] = {
    {"", WHY_EMPTY},
    {"   ", WHY_EMPTY},
    {"04A1B2G3", WHY_HEX},
    {"0x04A1B2C3", WHY_HEX},
    {"04 A1 B2 C3", WHY_HEX},
    {"04.A1.B2.C3", WHY_HEX},
    {"04A1B2C\xc3\xa9", WHY_HEX},
    {"zz", WHY_HEX},
    {"04A1B2C", WHY_ODD},
    {"4A1B2C3D4E5F6", WHY_ODD},
    {"0", WHY_ODD},
    {"04", WHY_LEN},
    {"04A1B2", WHY_LEN},
    {"04A1B2C3D4", WHY_LEN},
    {"04A1B2C3D4E5", WHY_LEN},
    {"04A1B2C3D4E5F6A7", WHY_LEN},
    {"0102030405060708090A0B", WHY_LEN},
    {"0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", WHY_LEN},
    {"04:A1:B2", WHY_LEN},
    {"04:A1B2C3", WHY_SEP},
    {"04A1:B2C3", WHY_SEP},
    {"4:A1:B2:C3", WHY_SEP},
    {"04:A1:B2:C3:", WHY_SEP},
    {":04:A1:B2:C3", WHY_SEP},
    {"04::A1:B2:C3", WHY_SEP},
    {"04:A1-B2:C3", WHY_SEP},
    {"04-A1:B2-C3", WHY_SEP},
    {"04:A1:B2:C", WHY_SEP},
    {":", WHY_SEP},
    {"-", WHY_SEP},
};

static void test_parse_bad(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct uid u, before;
		const char *why = NULL;
		memset(&u, 0x5a, sizeof(u));
		memcpy(&before, &u, sizeof(before));
		int r = uid_parse(bads[i].text, &u, &why);
		if (r != -EINVAL)
			fail_msg("\"%s\": r=%d, want -EINVAL", bads[i].text, r);
		assert_memory_equal(&u, &before, sizeof(u)); /* written only on success */
		assert_non_null(why);
		if (strcmp(why, bads[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", bads[i].text, why, bads[i].why);
	}
}

static void test_parse_long_input(void **state)
{
	(void) state;
	static char text[4097];
	struct uid u;
	const char *why = NULL;

	memset(text, 'a', sizeof(text) - 1);
	assert_int_equal(uid_parse(text, &u, &why), -EINVAL);
	assert_string_equal(why, WHY_LEN);
	text[sizeof(text) - 2] = '\0'; /* odd count */
	assert_int_equal(uid_parse(text, &u, &why), -EINVAL);
	assert_string_equal(why, WHY_ODD);
}

static void test_parse_null_arguments(void **state)
{
	(void) state;
	struct uid u;
	const char *why = NULL;

	assert_int_equal(uid_parse(NULL, &u, &why), -EINVAL);
	assert_non_null(why);
	why = NULL;
	assert_int_equal(uid_parse("DEADBEEF", NULL, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(uid_parse("xx", &u, NULL), -EINVAL);
	assert_int_equal(uid_parse("DEADBEEF", &u, NULL), 0);
	assert_int_equal(u.len, 4);
}

static void test_redact(void **state)
{
	(void) state;
	struct uid u;
	char buf[32];

	assert_int_equal(uid_parse("04:a1:b2:c3:d4:e5:f6", &u, NULL), 0);
	uid_redact(&u, buf, sizeof(buf));
	assert_string_equal(buf, "04\xe2\x80\xa6(7 B)");
	/* nothing of the other bytes leaks */
	assert_null(strstr(buf, "A1"));
	assert_null(strstr(buf, "a1"));

	assert_int_equal(uid_parse("DEADBEEF", &u, NULL), 0);
	uid_redact(&u, buf, sizeof(buf));
	assert_string_equal(buf, "DE\xe2\x80\xa6(4 B)");

	assert_int_equal(uid_parse("0102030405060708090a", &u, NULL), 0);
	uid_redact(&u, buf, sizeof(buf));
	assert_string_equal(buf, "01\xe2\x80\xa6(10 B)");
}

static void test_redact_edges(void **state)
{
	(void) state;
	struct uid u = {.bytes = {0x04}, .len = 0};
	char buf[32];

	uid_redact(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "(no UID)");
	uid_redact(&u, buf, sizeof(buf));
	assert_string_equal(buf, "(no UID)");
	u.len = UID_MAX + 1;
	uid_redact(&u, buf, sizeof(buf));
	assert_string_equal(buf, "(no UID)");

	/* cut to the buffer, always terminated; size 0 and NULL are harmless */
	u.len = 7;
	memset(buf, 'x', sizeof(buf));
	uid_redact(&u, buf, 3);
	assert_string_equal(buf, "04");
	assert_int_equal(buf[3], 'x');
	uid_redact(&u, buf, 0);
	assert_int_equal(buf[0], '0');
	uid_redact(&u, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),	     cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_long_input), cmocka_unit_test(test_parse_null_arguments),
	    cmocka_unit_test(test_redact),	     cmocka_unit_test(test_redact_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
