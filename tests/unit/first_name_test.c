/*
 * first_name_test: the first names the card page takes and the terminal shows: letters of any
 * script kept, spaces put in one form, and each kind of bad text refused with its reason.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "first_name.h"

static void ok(const char *in, const char *want)
{
	char out[FIRST_NAME_MAX];
	const char *why = NULL;
	int r = first_name_clean(in, strlen(in), out, &why);
	if (r != 0)
		fail_msg("\"%s\" refused: %s", in, why);
	assert_string_equal(out, want);
}

static void bad(const char *in, size_t len, const char *why_part)
{
	char out[FIRST_NAME_MAX] = "untouched";
	const char *why = NULL;
	assert_int_equal(first_name_clean(in, len, out, &why), -EINVAL);
	assert_non_null(why);
	if (!strstr(why, why_part))
		fail_msg("reason \"%s\" does not say \"%s\"", why, why_part);
	assert_string_equal(out, "untouched");
}

static void test_names_kept(void **state)
{
	(void) state;
	ok("Anna", "Anna");
	ok("Łucja", "Łucja");
	ok("  Zoë   Maria ", "Zoë Maria");
	ok("Jean-Luc", "Jean-Luc");
	ok("O'Neil", "O'Neil");
	ok("St. John", "St. John");
	ok("Анна", "Анна");
	ok("Γιώργος", "Γιώργος");
	ok("太郎", "太郎");
	ok("e\xcc\x81milie", "e\xcc\x81milie"); /* a combining acute accent */
	/* 24 characters, the spaces counted */
	ok("Abcdefghijkl Mnopqrstuvw", "Abcdefghijkl Mnopqrstuvw");
	ok("ŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁ", "ŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁ");
	ok("\xf0\x9f\x80\x80\xf0\xa0\x80\x80", "\xf0\x9f\x80\x80\xf0\xa0\x80\x80");
}

static void test_names_refused(void **state)
{
	(void) state;
	bad("", 0, "empty");
	bad("   ", 3, "empty");
	bad("-.'", 3, "no letter");
	bad("Abcdefghijkl Mnopqrstuvwx", 25, "longer than 24");
	bad("ŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁ", strlen("ŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁ"), "longer than 24");
	bad("Anna2", 5, "not part of a name");
	bad("<b>Anna</b>", 11, "not part of a name");
	bad("Anna\tMaria", 10, "control character");
	bad("Anna\x7f", 5, "control character");
	bad("Anna\xc2\x85", 6, "control character");	  /* U+0085, a C1 control */
	bad("Anna\xe2\x80\xae", 7, "not part of a name"); /* U+202E right-to-left override */
	bad("Anna\xe2\x81\xa6", 7, "not part of a name"); /* U+2066 isolate */
	bad("\xef\xbb\xbf"
	    "Anna",
	    7, "not part of a name");			  /* U+FEFF */
	bad("Anna\xee\x80\x80", 7, "not part of a name"); /* U+E000 private use */
	bad("Anna\xef\xbf\xbe", 7, "not part of a name"); /* U+FFFE */
	bad("Anna\xc3\x97", 6, "not part of a name");	  /* U+00D7 multiplication sign */
	bad("Anna\xc2\xa0", 6, "not part of a name");	  /* U+00A0 no-break space */
	bad("Anna\xc0\x80", 6, "UTF-8");		  /* overlong NUL */
	bad("Anna\xed\xa0\x80", 7, "UTF-8");		  /* a surrogate */
	bad("Anna\xf4\x90\x80\x80", 8, "UTF-8");	  /* above U+10FFFF */
	bad("Anna\xc5", 5, "UTF-8");			  /* cut short */
	bad("Anna\0Maria", 10, "control character");
	bad(NULL, 0, "no first name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_kept),
	    cmocka_unit_test(test_names_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
