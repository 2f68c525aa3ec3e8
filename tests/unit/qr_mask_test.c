/*
 * qr_mask_test: the mask switch against libqrencode's own symbols for every mask, the
 * word-parallel penalties against the module-by-module rules, those rules on symbols worked out
 * by hand, and the chosen mask as the lowest penalty.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <qrencode.h>

#include "qr_mask.h"

#ifdef QR_OWN_MASK
extern QRcode *QRcode_encodeMask(QRinput *input, int mask);
extern int Split_splitStringToQRinput(const char *string, QRinput *input, QRencodeMode hint,
				      int casesensitive);

static QRcode *encode(const char *payload, int mask)
{
	QRinput *input = QRinput_new2(0, QR_ECLEVEL_M);
	assert_non_null(input);
	assert_int_equal(Split_splitStringToQRinput(payload, input, QR_MODE_8, 1), 0);
	QRcode *code = QRcode_encodeMask(input, mask);
	assert_non_null(code);
	QRinput_free(input);
	return code;
}

/* Payloads of every kind the receipts print and some they do not, short to version 13. */
static void payload(unsigned seed, char *out, size_t len)
{
	static const char an[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	static const char mixed[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP/:.?=&-";
	srand(seed);
	size_t k = 0;
	if (seed % 3 == 0)
		k = (size_t) snprintf(out, len + 1, "HTTPS://K.EXAMPLE.PL/C/");
	else if (seed % 3 == 1)
		k = (size_t) snprintf(out, len + 1, "https://loyalty.example.com/c/");
	for (; k < len; k++)
		out[k] = seed % 2 ? mixed[rand() % (int) (sizeof(mixed) - 1)]
				  : an[rand() % (int) (sizeof(an) - 1)];
	out[len] = '\0';
}

static void test_switch_matches_libqrencode(void **state)
{
	(void) state;
	char text[400];
	for (unsigned seed = 0; seed < 60; seed++) {
		payload(seed, text, 30 + (seed * 37) % 330);
		QRcode *base = encode(text, 0);
		size_t n = (size_t) base->width * (size_t) base->width;
		uint8_t *mod = malloc(n);
		assert_non_null(mod);
		for (int m = 0; m < QR_MASKS; m++) {
			QRcode *want = encode(text, m);
			assert_int_equal(want->width, base->width);
			memcpy(mod, base->data, n);
			qr_mask_switch(mod, base->width, 0, m, QR_ECC_BITS_M);
			assert_memory_equal(mod, want->data, n);
			/* and back from m to 0 */
			qr_mask_switch(mod, base->width, m, 0, QR_ECC_BITS_M);
			assert_memory_equal(mod, base->data, n);
			QRcode_free(want);
		}
		free(mod);
		QRcode_free(base);
	}
}

static void test_choice_is_lowest_penalty(void **state)
{
	(void) state;
	char text[400];
	int words = 0, modules = 0;
	for (unsigned seed = 100; seed < 180; seed++) {
		payload(seed, text, 20 + (seed * 53) % 380);
		QRcode *by_mask[QR_MASKS];
		int ref[QR_MASKS], lowest = 0;
		for (int m = 0; m < QR_MASKS; m++) {
			by_mask[m] = encode(text, m);
			ref[m] = qr_mask_penalty(by_mask[m]->data, by_mask[m]->width);
			if (ref[m] < ref[lowest])
				lowest = m;
		}
		int width = by_mask[0]->width;
		size_t n = (size_t) width * (size_t) width;
		/* start from a mask other than 0 too */
		int start = (int) (seed % QR_MASKS);
		uint8_t *mod = malloc(n);
		assert_non_null(mod);
		memcpy(mod, by_mask[start]->data, n);
		int pen[QR_MASKS];
		int chosen = qr_mask_choose(mod, width, start, QR_ECC_BITS_M, pen);
		for (int m = 0; m < QR_MASKS; m++) {
			if (pen[m] != ref[m])
				fail_msg("seed %u width %d mask %d: %d against %d", seed, width, m,
					 pen[m], ref[m]);
		}
		assert_int_equal(chosen, lowest);
		assert_memory_equal(mod, by_mask[lowest]->data, n);
		if (width <= 56)
			words++;
		else
			modules++;
		free(mod);
		for (int m = 0; m < QR_MASKS; m++)
			QRcode_free(by_mask[m]);
	}
	/* both ways of evaluating were exercised */
	assert_true(words >= 20);
	assert_true(modules >= 10);
}
#else
static void test_switch_matches_libqrencode(void **state)
{
	(void) state;
	skip(); /* this libqrencode exports no QRcode_encodeMask: qr.c uses its own mask choice */
}

static void test_choice_is_lowest_penalty(void **state)
{
	(void) state;
	skip();
}
#endif

/* A 21 x 21 all-light symbol of data modules. */
static void test_penalty_all_light(void **state)
{
	(void) state;
	uint8_t mod[21 * 21] = {0};
	/*
	 * N1: 42 lines of 21 -> 42 * (3 + 16) = 798; N2: 20 * 20 blocks * 3 = 1200; N3: none;
	 * N4: 0 % dark is 50 % off, more than 45 % -> k = 9, 90.
	 */
	assert_int_equal(qr_mask_penalty(mod, 21), 798 + 1200 + 90);
}

/* A checkerboard: no runs, no blocks, no finder look-alikes; 221 of 441 dark. */
static void test_penalty_checkerboard(void **state)
{
	(void) state;
	uint8_t mod[21 * 21];
	for (int i = 0; i < 21; i++)
		for (int j = 0; j < 21; j++)
			mod[i * 21 + j] = (uint8_t) ((i + j) % 2 == 0);
	assert_int_equal(qr_mask_penalty(mod, 21), 0);
}

/*
 * The checkerboard's row 0 made 1011101 at its left edge (one module, column 3, turned dark):
 * the quiet zone is the light on its left, so N3 counts it once (40). Column 3 now starts
 * 1 1 0 1 (no run of five), the 2 x 2 blocks at columns 2-4 over row 1 (1 0 1) are mixed, and
 * 222 of 441 dark is 50.3 % (N4 0).
 */
static void test_penalty_finder_at_edge(void **state)
{
	(void) state;
	uint8_t mod[21 * 21];
	for (int i = 0; i < 21; i++)
		for (int j = 0; j < 21; j++)
			mod[i * 21 + j] = (uint8_t) ((i + j) % 2 == 0);
	mod[3] = 1;
	assert_int_equal(qr_mask_penalty(mod, 21), 40);
	/*
	 * Moved two columns right (columns 2..8, column 5 turned dark instead): light, light,
	 * dark, light before it and 0 1 0 1 after it, so no finder look-alike; nothing else
	 * changes either.
	 */
	mod[3] = 0;
	mod[5] = 1;
	assert_int_equal(qr_mask_penalty(mod, 21), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_switch_matches_libqrencode),
	    cmocka_unit_test(test_choice_is_lowest_penalty),
	    cmocka_unit_test(test_penalty_all_light),
	    cmocka_unit_test(test_penalty_checkerboard),
	    cmocka_unit_test(test_penalty_finder_at_edge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
