/*
 * qr_test: rasters for both head widths decoded in-process with libzbar, centring, the quiet
 * zone, and refusal of too-small modules, too-narrow heads and too-long payloads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zbar.h>

#include "qr.h"

static const char url[] = "https://loyalty.example.com/c/ABCDEFGHJKMNPQRS";

static int pixel(const struct qr_raster *r, int x, int y)
{
	return (r->bits[(size_t) y * (size_t) r->stride + (size_t) (x / 8)] >> (7 - x % 8)) & 1;
}

/*
 * Decode the raster with zbar as an 8-bit grey image (white 255, black 0). Returns the number
 * of QR symbols found; the first one's data goes to text.
 */
static int zbar_decode(const struct qr_raster *r, char *text, size_t cap)
{
	size_t npix = (size_t) r->width_dots * (size_t) r->height_dots;
	uint8_t *grey = malloc(npix);
	assert_non_null(grey);
	for (int y = 0; y < r->height_dots; y++) {
		for (int x = 0; x < r->width_dots; x++)
			grey[(size_t) y * (size_t) r->width_dots + (size_t) x] =
			    pixel(r, x, y) ? 0 : 255;
	}

	zbar_image_scanner_t *scanner = zbar_image_scanner_create();
	assert_non_null(scanner);
	assert_int_equal(zbar_image_scanner_set_config(scanner, 0, ZBAR_CFG_ENABLE, 0), 0);
	assert_int_equal(zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1),
			 0);
	zbar_image_t *image = zbar_image_create();
	assert_non_null(image);
	zbar_image_set_format(image, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(image, (unsigned) r->width_dots, (unsigned) r->height_dots);
	zbar_image_set_data(image, grey, npix, NULL);

	int n = zbar_scan_image(scanner, image);
	text[0] = '\0';
	const zbar_symbol_t *sym = zbar_image_first_symbol(image);
	if (n > 0 && sym) {
		assert_int_equal(zbar_symbol_get_type(sym), ZBAR_QRCODE);
		size_t len = zbar_symbol_get_data_length(sym);
		assert_true(len < cap);
		memcpy(text, zbar_symbol_get_data(sym), len);
		text[len] = '\0';
	}
	zbar_image_destroy(image);
	zbar_image_scanner_destroy(scanner);
	free(grey);
	return n;
}

/* Leftmost and rightmost black columns of the raster, or -1 when it is all white. */
static void black_extent(const struct qr_raster *r, int *first, int *last)
{
	*first = -1;
	*last = -1;
	for (int x = 0; x < r->width_dots; x++) {
		for (int y = 0; y < r->height_dots; y++) {
			if (pixel(r, x, y)) {
				if (*first < 0)
					*first = x;
				*last = x;
				break;
			}
		}
	}
}

static void check_raster(const char *payload, int module_dots, int width_dots)
{
	struct qr_raster r;
	assert_int_equal(qr_raster_make(payload, module_dots, width_dots, &r), 0);

	assert_int_equal(r.width_dots, width_dots);
	assert_int_equal(r.stride, (width_dots + 7) / 8);
	assert_true(r.modules >= 21 && (r.modules - 17) % 4 == 0);
	assert_int_equal(r.height_dots, (r.modules + 2 * QR_QUIET_MODULES) * module_dots);
	assert_true(r.height_dots <= width_dots);

	/* the finder patterns put black in the symbol's first and last module columns */
	int first, last;
	black_extent(&r, &first, &last);
	int left_margin = first;
	int right_margin = width_dots - 1 - last;
	assert_int_equal(last - first + 1, r.modules * module_dots);
	assert_true(left_margin >= QR_QUIET_MODULES * module_dots);
	assert_true(right_margin >= QR_QUIET_MODULES * module_dots);
	/* centred: within a module, and in fact within one dot (the odd dot goes right) */
	assert_true(abs(left_margin - right_margin) <= module_dots);
	assert_true(right_margin - left_margin == 0 || right_margin - left_margin == 1);

	/* quiet zone above and below: the first and last four modules of rows are white */
	int quiet = QR_QUIET_MODULES * module_dots;
	for (int y = 0; y < r.height_dots; y++) {
		if (y >= quiet && y < r.height_dots - quiet)
			continue;
		for (int x = 0; x < width_dots; x++)
			assert_int_equal(pixel(&r, x, y), 0);
	}
	/* and a black top-left corner of the finder pattern just inside it */
	assert_int_equal(pixel(&r, first, quiet), 1);
	assert_int_equal(pixel(&r, first, r.height_dots - quiet - 1), 1);
	assert_int_equal(pixel(&r, first, r.height_dots - quiet), 0);

	char text[512];
	assert_int_equal(zbar_decode(&r, text, sizeof(text)), 1);
	assert_string_equal(text, payload);

	qr_raster_free(&r);
	assert_null(r.bits);
	qr_raster_free(&r);
}

static void test_58mm(void **state)
{
	(void) state;
	check_raster(url, 5, 384);
}

static void test_80mm(void **state)
{
	(void) state;
	check_raster(url, 6, 576);
}

static void test_odd_width_and_long_payload(void **state)
{
	(void) state;
	/* a head width that is not a multiple of 8, and a claim-points style payload */
	check_raster("https://loyalty.example.com/claim/7K3M9P2Q4R6S8T1V?s=0042&r=000123&v=1", 4,
		     390);
	/* the longest text a layout item can hold still fits a 58 mm head at 5 dots */
	char big[192];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	check_raster(big, 5, 384);
}

/* A card token URL as app/token makes it: the base and 135 Crockford base32 characters. */
static void token_url(char *out, size_t cap)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	static const char base[] = "HTTPS://K.EXAMPLE.PL/C/";
	assert_true(cap > sizeof(base) + 135);
	memcpy(out, base, sizeof(base) - 1);
	for (size_t i = 0; i < 135; i++)
		out[sizeof(base) - 1 + i] = alphabet[(i * 7 + 3) % 32];
	out[sizeof(base) - 1 + 135] = '\0';
}

static void test_uppercase_url_is_alphanumeric(void **state)
{
	(void) state;
	char upper[200], lower[200];
	token_url(upper, sizeof(upper));
	assert_int_equal(strlen(upper), 158);
	for (size_t i = 0; i <= strlen(upper); i++)
		lower[i] = (char) (upper[i] >= 'A' && upper[i] <= 'Z' ? upper[i] + 32 : upper[i]);

	/* 158 alphanumeric characters fit version 7-M (45 modules, 178 at most); as 8-bit bytes
	 * they need version 9-M (53 modules, 180 bytes at most; 7-M holds 122) */
	int up, low;
	assert_int_equal(qr_symbol_modules(upper, &up), 0);
	assert_int_equal(qr_symbol_modules(lower, &low), 0);
	assert_int_equal(up, 45);
	assert_int_equal(low, 53);

	/* a claim URL (a 93-byte token, 149 characters) still fits version 7-M */
	char claim[200];
	memcpy(claim, upper, 158);
	memcpy(claim + 158, "0123456789ABCD", 15);
	assert_int_equal(qr_symbol_modules(claim, &up), 0);
	assert_int_equal(up, 45);

	/* the raster is that symbol, decodes to the same text, and fits both heads */
	check_raster(upper, 5, 384);
	check_raster(upper, 6, 576);
	struct qr_raster r;
	assert_int_equal(qr_raster_make(upper, 5, 384, &r), 0);
	assert_int_equal(r.modules, 45);
	assert_int_equal(r.height_dots, (45 + 8) * 5);
	qr_raster_free(&r);
	/* case is kept: the lowercase URL decodes as lowercase */
	check_raster(lower, 5, 384);

	assert_int_equal(qr_symbol_modules("", &up), -EINVAL);
	assert_int_equal(qr_symbol_modules(NULL, &up), -EINVAL);
}

static void test_deterministic(void **state)
{
	(void) state;
	struct qr_raster a, b;
	assert_int_equal(qr_raster_make(url, 5, 384, &a), 0);
	assert_int_equal(qr_raster_make(url, 5, 384, &b), 0);
	assert_int_equal(a.height_dots, b.height_dots);
	assert_memory_equal(a.bits, b.bits, (size_t) a.stride * (size_t) a.height_dots);
	qr_raster_free(&a);
	qr_raster_free(&b);
}

static void test_refusals(void **state)
{
	(void) state;
	struct qr_raster r = {.width_dots = -7};

	assert_int_equal(qr_raster_make(url, 3, 384, &r), -EINVAL);
	assert_int_equal(qr_raster_make(url, 0, 384, &r), -EINVAL);
	assert_int_equal(qr_raster_make(url, -5, 384, &r), -EINVAL);
	assert_int_equal(qr_raster_make("", 5, 384, &r), -EINVAL);
	assert_int_equal(qr_raster_make(NULL, 5, 384, &r), -EINVAL);
	assert_int_equal(qr_raster_make(url, 5, 0, &r), -EINVAL);
	assert_int_equal(qr_raster_make(url, 5, QR_WIDTH_DOTS_MAX + 1, &r), -EINVAL);
	assert_int_equal(qr_raster_make(url, 5, 384, NULL), -EINVAL);
	/* the URL needs 29 modules (an 8-bit and an alphanumeric segment) + 8 quiet = 37: 16 dots
	 * each is 592, wider than 576 */
	assert_int_equal(qr_raster_make(url, 16, 576, &r), -EINVAL);
	/* a module too large even for the smallest symbol */
	assert_int_equal(qr_raster_make("a", 20, 576, &r), -EINVAL);

	/* valid as a QR code, too large for a 58 mm head at 5 dots */
	char *mid = malloc(1001);
	assert_non_null(mid);
	memset(mid, 'y', 1000);
	mid[1000] = '\0';
	assert_int_equal(qr_raster_make(mid, 5, 384, &r), -EINVAL);
	free(mid);

	/* more than version 40-M holds in 8-bit mode (2331 bytes) */
	char *huge = malloc(3001);
	assert_non_null(huge);
	memset(huge, 'z', 3000);
	huge[3000] = '\0';
	assert_int_equal(qr_raster_make(huge, 4, QR_WIDTH_DOTS_MAX, &r), -E2BIG);
	free(huge);

	/* nothing written on failure */
	assert_int_equal(r.width_dots, -7);
	assert_null(r.bits);
	qr_raster_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_58mm),
	    cmocka_unit_test(test_80mm),
	    cmocka_unit_test(test_odd_width_and_long_payload),
	    cmocka_unit_test(test_uppercase_url_is_alphanumeric),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
