/*
 * sun_keys_test: the --sun-keys file's text (tools/server/sun_keys): two lines of 32 hex digits
 * in either case, LF or CRLF, with or without a final newline, are read as the two keys; every
 * other shape is refused with a sentence naming the line and the problem, and the keys given
 * are left as they were.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sun_keys.h"

#define META_HEX "00112233445566778899aabbccddeeff"
#define FILE_HEX "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

static const uint8_t meta_want[SUN_KEY_LEN] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const uint8_t file_want[SUN_KEY_LEN] = {0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
					       0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0};

static void accepts(const char *text, size_t len)
{
	uint8_t meta[SUN_KEY_LEN], file[SUN_KEY_LEN];
	char err[160] = "";
	assert_int_equal(sun_keys_parse(text, len, meta, file, err, sizeof(err)), 0);
	assert_memory_equal(meta, meta_want, SUN_KEY_LEN);
	assert_memory_equal(file, file_want, SUN_KEY_LEN);
}

/* Refused with r and exactly the sentence want; the keys are not touched. */
static void refuses(const char *text, size_t len, int r, const char *want)
{
	uint8_t meta[SUN_KEY_LEN], file[SUN_KEY_LEN];
	char err[160] = "";
	memset(meta, 0xa5, sizeof(meta));
	memset(file, 0x5a, sizeof(file));
	assert_int_equal(sun_keys_parse(text, len, meta, file, err, sizeof(err)), r);
	assert_string_equal(err, want);
	for (size_t i = 0; i < SUN_KEY_LEN; i++) {
		assert_int_equal(meta[i], 0xa5);
		assert_int_equal(file[i], 0x5a);
	}
}

static void refuses_str(const char *text, const char *want)
{
	refuses(text, strlen(text), -EINVAL, want);
}

static void test_valid(void **state)
{
	(void) state;
	static const char *const ok[] = {
	    META_HEX "\n" FILE_HEX "\n",	 /* LF */
	    META_HEX "\n" FILE_HEX,		 /* no final newline */
	    META_HEX "\r\n" FILE_HEX "\r\n",	 /* CRLF */
	    META_HEX "\r\n" FILE_HEX,		 /* CRLF, no final newline */
	    META_HEX "\n" FILE_HEX "\r\n",	 /* mixed */
	    "00112233445566778899AABBCCDDEEFF\n" /* uppercase */
	    "0F1E2D3C4B5A69788796A5B4C3D2E1F0\n",
	    "00112233445566778899aAbBcCdDeEfF\n" FILE_HEX, /* mixed case */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		accepts(ok[i], strlen(ok[i]));
}

/* The text need not end with a NUL: only len bytes are read. */
static void test_length_not_terminator(void **state)
{
	(void) state;
	const char text[] = META_HEX "\n" FILE_HEX "\nthe rest of a bigger buffer";
	accepts(text, 2 * 33);
	refuses(text, 2 * 33 + 1, -EINVAL, "line 3: text after the second key's line");
}

static void test_shape(void **state)
{
	(void) state;
	refuses_str("", "empty, expected two lines of 32 hex digits");
	refuses_str(META_HEX, "line 2 (SDMFileReadKey): missing");
	refuses_str(META_HEX "\n", "line 2 (SDMFileReadKey): missing");
	refuses_str(META_HEX "\r\n", "line 2 (SDMFileReadKey): missing");
	refuses_str("\n" FILE_HEX "\n", "line 1 (SDMMetaReadKey): empty, expected 32 hex digits");
	refuses_str(META_HEX "\n\n", "line 2 (SDMFileReadKey): empty, expected 32 hex digits");
	refuses_str(META_HEX "\n" FILE_HEX "\n\n", "line 3: text after the second key's line");
	refuses_str(META_HEX "\n" FILE_HEX "\n" META_HEX "\n",
		    "line 3: text after the second key's line");
	refuses_str(META_HEX "\n" FILE_HEX "\r\n\r\n", "line 3: text after the second key's line");
	/* both keys on one line */
	refuses_str(META_HEX FILE_HEX "\n", "line 1 (SDMMetaReadKey): 64 hex digits, expected 32");
}

static void test_length(void **state)
{
	(void) state;
	refuses_str("00112233445566778899aabbccddeef\n" FILE_HEX "\n",
		    "line 1 (SDMMetaReadKey): 31 hex digits, expected 32");
	refuses_str(META_HEX "0\n" FILE_HEX "\n",
		    "line 1 (SDMMetaReadKey): 33 hex digits, expected 32");
	refuses_str(META_HEX "\n0f1e2d3c4b5a69788796a5b4c3d2e1f\n",
		    "line 2 (SDMFileReadKey): 31 hex digits, expected 32");
	refuses_str(META_HEX "\n" FILE_HEX "00\n",
		    "line 2 (SDMFileReadKey): 34 hex digits, expected 32");
	/* a key of 16 digits, as if half of it were lost */
	refuses_str("0011223344556677\n" FILE_HEX "\n",
		    "line 1 (SDMMetaReadKey): 16 hex digits, expected 32");
}

static void test_characters(void **state)
{
	(void) state;
	refuses_str("nothex\n",
		    "line 1 (SDMMetaReadKey): 'n' at column 1, expected only hex digits");
	refuses_str(" " META_HEX "\n" FILE_HEX "\n",
		    "line 1 (SDMMetaReadKey): a space at column 1, expected only hex digits");
	refuses_str(META_HEX " \n" FILE_HEX "\n",
		    "line 1 (SDMMetaReadKey): a space at column 33, expected only hex digits");
	refuses_str("0011 2233445566778899aabbccddeeff\n" FILE_HEX "\n",
		    "line 1 (SDMMetaReadKey): a space at column 5, expected only hex digits");
	refuses_str(META_HEX "\n" FILE_HEX "\t\n",
		    "line 2 (SDMFileReadKey): a tab at column 33, expected only hex digits");
	refuses_str(META_HEX "\n0x1e2d3c4b5a69788796a5b4c3d2e1f0\n",
		    "line 2 (SDMFileReadKey): 'x' at column 2, expected only hex digits");
	refuses_str(META_HEX "\n" FILE_HEX "\r",
		    "line 2 (SDMFileReadKey): a lone CR at column 33, expected only hex digits");
	refuses_str(META_HEX "\r" FILE_HEX "\n",
		    "line 1 (SDMMetaReadKey): a lone CR at column 33, expected only hex digits");
	refuses_str("\xef\xbb\xbf" META_HEX "\n" FILE_HEX "\n",
		    "line 1 (SDMMetaReadKey): byte 0xEF at column 1, expected only hex digits");
	refuses_str("# keys\n" FILE_HEX "\n",
		    "line 1 (SDMMetaReadKey): '#' at column 1, expected only hex digits");
}

static void test_nul(void **state)
{
	(void) state;
	char text[] = META_HEX "\n" FILE_HEX "\n";
	text[40] = '\0';
	refuses(text, sizeof(text) - 1, -EINVAL,
		"line 2 (SDMFileReadKey): a NUL byte at column 8, expected only hex digits");
	refuses(META_HEX "\n" FILE_HEX "\n", 2 * 33 + 1, -EINVAL,
		"line 3: text after the second key's line");
	refuses("\0", 1, -EINVAL,
		"line 1 (SDMMetaReadKey): a NUL byte at column 1, expected only hex digits");
}

static void test_size_cap(void **state)
{
	(void) state;
	static char big[SUN_KEYS_TEXT_MAX + 1];
	memset(big, '0', sizeof(big));
	refuses(big, sizeof(big), -EFBIG, "4097 bytes, more than 4096");
	/* at the cap, the size is not the complaint */
	refuses(big, SUN_KEYS_TEXT_MAX, -EINVAL,
		"line 1 (SDMMetaReadKey): 4096 hex digits, expected 32");
}

static void test_arguments(void **state)
{
	(void) state;
	uint8_t meta[SUN_KEY_LEN], file[SUN_KEY_LEN];
	char err[160];
	const char text[] = META_HEX "\n" FILE_HEX "\n";
	assert_int_equal(sun_keys_parse(NULL, 0, meta, file, err, sizeof(err)), -EINVAL);
	assert_int_equal(sun_keys_parse(text, strlen(text), NULL, file, err, sizeof(err)), -EINVAL);
	assert_int_equal(sun_keys_parse(text, strlen(text), meta, NULL, err, sizeof(err)), -EINVAL);
	/* err may be NULL, or too small for the sentence */
	assert_int_equal(sun_keys_parse("x", 1, meta, file, NULL, 0), -EINVAL);
	assert_int_equal(sun_keys_parse("x", 1, meta, file, err, 5), -EINVAL);
	assert_string_equal(err, "line");
	assert_int_equal(sun_keys_parse(text, strlen(text), meta, file, NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),      cmocka_unit_test(test_length_not_terminator),
	    cmocka_unit_test(test_shape),      cmocka_unit_test(test_length),
	    cmocka_unit_test(test_characters), cmocka_unit_test(test_nul),
	    cmocka_unit_test(test_size_cap),   cmocka_unit_test(test_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
