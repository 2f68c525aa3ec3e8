/*
 * codepage_test: our CP852 and CP1250 tables against glibc iconv (tests only: the device has no
 * iconv), Polish letters both ways, fallbacks and their counts, invalid UTF-8, the output cap.
 */
#include <errno.h>
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codepage.h"

static const char *const iconv_names[CODEPAGE_MAX] = {
    [CODEPAGE_CP852] = "CP852",
    [CODEPAGE_CP1250] = "CP1250",
};

static const char polish[] = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ";

/* UTF-8 for code point u into s (room for 5); returns the length. */
static size_t utf8_put(uint32_t u, char *s)
{
	size_t n;
	if (u < 0x80) {
		s[0] = (char) u;
		n = 1;
	} else if (u < 0x800) {
		s[0] = (char) (0xC0 | (u >> 6));
		s[1] = (char) (0x80 | (u & 0x3F));
		n = 2;
	} else if (u < 0x10000) {
		s[0] = (char) (0xE0 | (u >> 12));
		s[1] = (char) (0x80 | ((u >> 6) & 0x3F));
		s[2] = (char) (0x80 | (u & 0x3F));
		n = 3;
	} else {
		s[0] = (char) (0xF0 | (u >> 18));
		s[1] = (char) (0x80 | ((u >> 12) & 0x3F));
		s[2] = (char) (0x80 | ((u >> 6) & 0x3F));
		s[3] = (char) (0x80 | (u & 0x3F));
		n = 4;
	}
	s[n] = '\0';
	return n;
}

/* iconv's code point for one byte of page cp, or -1 when iconv calls the byte invalid. */
static long iconv_decode_byte(enum codepage cp, uint8_t byte)
{
	iconv_t cd = iconv_open("UCS-4LE", iconv_names[cp]);
	assert_true(cd != (iconv_t) -1);
	char in[1] = {(char) byte};
	unsigned char out[8];
	char *ip = in, *op = (char *) out;
	size_t il = 1, ol = sizeof(out);
	size_t r = iconv(cd, &ip, &il, &op, &ol);
	iconv_close(cd);
	if (r == (size_t) -1 || sizeof(out) - ol != 4)
		return -1;
	return (long) (out[0] | (uint32_t) out[1] << 8 | (uint32_t) out[2] << 16 |
		       (uint32_t) out[3] << 24);
}

/* iconv's bytes for UTF-8 s in page cp. */
static size_t iconv_encode(enum codepage cp, const char *s, uint8_t *out, size_t cap)
{
	iconv_t cd = iconv_open(iconv_names[cp], "UTF-8");
	assert_true(cd != (iconv_t) -1);
	char *ip = (char *) (uintptr_t) s, *op = (char *) out;
	size_t il = strlen(s), ol = cap;
	size_t r = iconv(cd, &ip, &il, &op, &ol);
	iconv_close(cd);
	assert_int_not_equal(r, (size_t) -1);
	return cap - ol;
}

static void test_tables_match_iconv(void **state)
{
	(void) state;
	for (int cp = 0; cp < CODEPAGE_MAX; cp++) {
		int defined = 0;
		for (int b = 0x80; b <= 0xFF; b++) {
			long want = iconv_decode_byte((enum codepage) cp, (uint8_t) b);
			uint32_t got = codepage_decode((enum codepage) cp, (uint8_t) b);
			if (want < 0) {
				/* undefined in the page: never produced, decoded as U+FFFD */
				assert_int_equal(got, 0xFFFD);
				continue;
			}
			if ((uint32_t) want != got)
				print_error("%s 0x%02X: iconv U+%04lX, ours U+%04X\n",
					    iconv_names[cp], b, want, got);
			assert_int_equal(got, (uint32_t) want);
			defined++;
		}
		assert_int_equal(defined, cp == CODEPAGE_CP852 ? 128 : 123);
	}
}

static void test_every_byte_round_trips(void **state)
{
	(void) state;
	for (int cp = 0; cp < CODEPAGE_MAX; cp++) {
		for (int b = 0x01; b <= 0xFF; b++) {
			uint32_t u = codepage_decode((enum codepage) cp, (uint8_t) b);
			if (u == 0xFFFD)
				continue;
			char s[5];
			utf8_put(u, s);
			uint8_t out[4] = {0};
			size_t replaced = 99;
			size_t n =
			    codepage_encode((enum codepage) cp, s, out, sizeof(out), &replaced);
			assert_int_equal(n, 1);
			assert_int_equal(out[0], b);
			assert_int_equal(replaced, 0);
		}
	}
}

static void test_polish_letters(void **state)
{
	(void) state;
	for (int cp = 0; cp < CODEPAGE_MAX; cp++) {
		uint8_t ours[64], theirs[64];
		size_t replaced = 99;
		size_t n =
		    codepage_encode((enum codepage) cp, polish, ours, sizeof(ours), &replaced);
		assert_int_equal(n, 18);
		assert_int_equal(replaced, 0);
		assert_int_equal(iconv_encode((enum codepage) cp, polish, theirs, sizeof(theirs)),
				 n);
		assert_memory_equal(ours, theirs, n);

		char back[64];
		size_t len = 0;
		for (size_t i = 0; i < n; i++) {
			assert_true(ours[i] >= 0x80);
			len += utf8_put(codepage_decode((enum codepage) cp, ours[i]), back + len);
		}
		assert_string_equal(back, polish);
	}
	/* a few bytes known by heart */
	uint8_t out[4];
	assert_int_equal(codepage_encode(CODEPAGE_CP852, "łż", out, sizeof(out), NULL), 2);
	assert_int_equal(out[0], 0x88);
	assert_int_equal(out[1], 0xBE);
	assert_int_equal(codepage_encode(CODEPAGE_CP1250, "łż", out, sizeof(out), NULL), 2);
	assert_int_equal(out[0], 0xB3);
	assert_int_equal(out[1], 0xBF);
}

struct fallback_case {
	enum codepage cp;
	const char *in;
	const char *want;
	size_t replaced;
};

static void check_case(const struct fallback_case *c)
{
	uint8_t out[128];
	size_t replaced = 99;
	size_t n = codepage_encode(c->cp, c->in, out, sizeof(out), &replaced);
	size_t want_len = strlen(c->want);
	if (n != want_len || memcmp(out, c->want, n) != 0 || replaced != c->replaced)
		print_error("%s \"%s\": got %zu bytes, %zu replaced\n", codepage_name(c->cp), c->in,
			    n, replaced);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, c->want, n);
	assert_int_equal(replaced, c->replaced);
}

static void test_fallbacks(void **state)
{
	(void) state;
	static const struct fallback_case cases[] = {
	    /* quotes, dashes and the ellipsis: ASCII in CP852, the page's own in CP1250 */
	    {CODEPAGE_CP852, "„Cześć” – …", "\"Cze\x98\x86\" - ...", 4},
	    {CODEPAGE_CP1250, "„Cześć” – …",
	     "\x84"
	     "Cze\x9C\xE6\x94 \x96 \x85",
	     0},
	    {CODEPAGE_CP852, "‘a’ ‚b’ “c” — d", "'a' 'b' \"c\" - d", 7},
	    {CODEPAGE_CP852, "1 − 2", "1 - 2", 1},
	    /* letters neither page has become their base letter */
	    {CODEPAGE_CP852, "ÀÑãøĀĞħŦ", "ANaoAGhT", 8},
	    {CODEPAGE_CP1250, "ÀÑãøĀĞħŦ", "ANaoAGhT", 8},
	    {CODEPAGE_CP852, "Œuvre æ Ĳ", "OEuvre ae IJ", 3},
	    {CODEPAGE_CP1250, "Ÿ", "Y", 1},
	    /* one page has it, the other lacks it */
	    {CODEPAGE_CP852, "€5", "EUR5", 1},
	    {CODEPAGE_CP1250, "€5",
	     "\x80"
	     "5",
	     0},
	    /* present in the pages: no fallback */
	    {CODEPAGE_CP852, "a\u00A0b ß",
	     "a\xFF"
	     "b \xE1",
	     0},
	    {CODEPAGE_CP1250, "a\u00A0b ß",
	     "a\xA0"
	     "b \xDF",
	     0},
	    /* no stand-in at all */
	    {CODEPAGE_CP852, "ok 😀 中 ☃", "ok ? ? ?", 3},
	    {CODEPAGE_CP1250, "þ×", "?\xD7", 1},
	    {CODEPAGE_CP852, "", "", 0},
	    {CODEPAGE_CP852, "plain ASCII ~!@#", "plain ASCII ~!@#", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

static void test_invalid_utf8(void **state)
{
	(void) state;
	static const struct fallback_case cases[] = {
	    {CODEPAGE_CP852, "\xC0\xAF", "??", 2},	     /* overlong '/' */
	    {CODEPAGE_CP852, "\xC1\xBF", "??", 2},	     /* overlong */
	    {CODEPAGE_CP852, "\xE0\x80\xAF", "???", 3},	     /* overlong, 3 bytes */
	    {CODEPAGE_CP852, "\xF0\x80\x80\xAF", "????", 4}, /* overlong, 4 bytes */
	    {CODEPAGE_CP852, "\xED\xA0\x80", "???", 3},	     /* surrogate U+D800 */
	    {CODEPAGE_CP852, "\xF4\x90\x80\x80", "????", 4}, /* past U+10FFFF */
	    {CODEPAGE_CP852, "\xF5\x80", "??", 2},	     /* never a lead */
	    {CODEPAGE_CP852, "\xFF\xFE", "??", 2},	     /* never in UTF-8 */
	    {CODEPAGE_CP852,
	     "a\x80"
	     "b",
	     "a?b", 1},					   /* stray continuation */
	    {CODEPAGE_CP852, "a\xE2\x82", "a?", 1},	   /* truncated at the end */
	    {CODEPAGE_CP852, "\xE2\x82x", "?x", 1},	   /* truncated in the middle */
	    {CODEPAGE_CP852, "\xF0\x9F\x98", "?", 1},	   /* truncated emoji */
	    {CODEPAGE_CP1250, "\xC5\x82\xC5", "\xB3?", 1}, /* 'ł' then a lone lead */
	    {CODEPAGE_CP1250, "\xEF\xBF\xBD", "?", 1},	   /* U+FFFD itself */
	    {CODEPAGE_CP1250, "\xC2\x81", "?", 1},	   /* U+0081, a C1 control */
	    {CODEPAGE_CP852, "\xF4\x8F\xBF\xBF", "?", 1},  /* U+10FFFF is valid */
	    {CODEPAGE_CP852, "\xEE\x80\x80", "?", 1},	   /* private use is valid */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

static void test_output_cap(void **state)
{
	(void) state;
	uint8_t out[16];
	size_t replaced = 99;

	memset(out, 0xAA, sizeof(out));
	assert_int_equal(codepage_encode(CODEPAGE_CP852, "zażółć", out, 3, &replaced), 3);
	assert_memory_equal(out, "za\xBE", 3);
	assert_int_equal(out[3], 0xAA);
	assert_int_equal(replaced, 0);

	/* the ellipsis needs three bytes: with two left it is left out whole */
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(codepage_encode(CODEPAGE_CP852, "ab…c", out, 4, &replaced), 2);
	assert_memory_equal(out, "ab", 2);
	assert_int_equal(out[2], 0xAA);
	assert_int_equal(replaced, 0);
	assert_int_equal(codepage_encode(CODEPAGE_CP852, "ab…c", out, 5, &replaced), 5);
	assert_memory_equal(out, "ab...", 5);
	assert_int_equal(replaced, 1);

	/* only written characters are counted */
	assert_int_equal(codepage_encode(CODEPAGE_CP852, "a😀😀", out, 2, &replaced), 2);
	assert_int_equal(replaced, 1);

	memset(out, 0xAA, sizeof(out));
	assert_int_equal(codepage_encode(CODEPAGE_CP852, "abc", out, 0, &replaced), 0);
	assert_int_equal(out[0], 0xAA);
	assert_int_equal(replaced, 0);
}

static void test_names_and_bad_arguments(void **state)
{
	(void) state;
	enum codepage cp = CODEPAGE_MAX;
	assert_int_equal(codepage_from_name("cp852", &cp), 0);
	assert_int_equal(cp, CODEPAGE_CP852);
	assert_int_equal(codepage_from_name("Cp1250", &cp), 0);
	assert_int_equal(cp, CODEPAGE_CP1250);
	assert_int_equal(codepage_from_name("CP437", &cp), -EINVAL);
	assert_int_equal(codepage_from_name("CP8520", &cp), -EINVAL);
	assert_int_equal(codepage_from_name(NULL, &cp), -EINVAL);
	assert_int_equal(cp, CODEPAGE_CP1250);
	assert_string_equal(codepage_name(CODEPAGE_CP852), "CP852");
	assert_string_equal(codepage_name(CODEPAGE_CP1250), "CP1250");
	assert_null(codepage_name(CODEPAGE_MAX));

	assert_int_equal(codepage_decode(CODEPAGE_MAX, 0xA5), 0xFFFD);
	assert_int_equal(codepage_decode(CODEPAGE_CP852, 'A'), 'A');
	uint8_t out[4];
	size_t replaced = 99;
	assert_int_equal(codepage_encode(CODEPAGE_MAX, "abc", out, sizeof(out), &replaced), 0);
	assert_int_equal(replaced, 0);
	assert_int_equal(codepage_encode(CODEPAGE_CP852, NULL, out, sizeof(out), NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables_match_iconv),
	    cmocka_unit_test(test_every_byte_round_trips),
	    cmocka_unit_test(test_polish_letters),
	    cmocka_unit_test(test_fallbacks),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_output_cap),
	    cmocka_unit_test(test_names_and_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
