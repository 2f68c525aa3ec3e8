/*
 * receipt_golden_test: the receipt of each segment (new, returning, VIP, dormant) and of a sale
 * without a card, on 58 and 80 mm paper, in Polish and English, composed and encoded as the
 * terminal does, then read back by the ESC/POS renderer: the text must equal the golden file
 * (tests/unit/golden/receipt/<case>-<width>-<lang>.txt) and every QR code, decoded with libzbar
 * from the raster the printer would print, must hold the signed token URL it was given, in order.
 *
 * UPDATE_GOLDEN=1 rewrites the golden files from what is rendered (then read the diff).
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
#include <sodium.h>
#include <zbar.h>

#include "buf.h"
#include "escpos.h"
#include "receipt.h"
#include "render.h"
#include "token.h"

#define T0_US	 INT64_C(1795780800000000) /* 2026-11-27 12:00:00 UTC */
#define DAY_US	 (INT64_C(86400) * 1000000)
#define URL_BASE "HTTPS://K.EXAMPLE.PL/C/"

static uint8_t sk[crypto_sign_SECRETKEYBYTES];

static const struct printer_profile p58 = {.model = "POS-5890",
					   .width_dots = 384,
					   .columns = 32,
					   .encoding = CODEPAGE_CP852,
					   .codepage_slot = 18,
					   .qr_module_dots = 5,
					   .cutter = true};
static const struct printer_profile p80 = {.model = "TM-T20II",
					   .width_dots = 576,
					   .columns = 48,
					   .encoding = CODEPAGE_CP852,
					   .codepage_slot = 18,
					   .qr_module_dots = 6,
					   .cutter = true};

static void sign_url(struct token *tok, char *url, size_t size)
{
	char text[TOKEN_TEXT_MAX + 1];
	assert_true(token_sign(tok, sk, text, sizeof(text)) > 0);
	assert_true(token_url(URL_BASE, text, url, size) > 0);
}

static void card_url(const char *code, char *url, size_t size)
{
	struct token tok = {.type = TOKEN_CARD,
			    .issued_s = T0_US / 1000000,
			    .expires_s = T0_US / 1000000 + 5 * 366 * 86400};
	memcpy(tok.card_code, code, TOKEN_CARD_CODE_LEN + 1);
	sign_url(&tok, url, size);
}

static void coupon_url(const char *id, int64_t expires_us, char *url, size_t size)
{
	struct token tok = {
	    .type = TOKEN_COUPON, .issued_s = T0_US / 1000000, .expires_s = expires_us / 1000000};
	memcpy(tok.coupon_id, id, TOKEN_COUPON_ID_LEN + 1);
	sign_url(&tok, url, size);
}

static void claim_url(int64_t expires_us, char *url, size_t size)
{
	struct token tok = {.type = TOKEN_CLAIM,
			    .issued_s = T0_US / 1000000,
			    .expires_s = expires_us / 1000000,
			    .claim = {.terminal_id = "SIM1", .seq = 42, .points_pts = 36,
				      .amount_gr = 3650}};
	sign_url(&tok, url, size);
}

/* The QR codes of a rendered page, decoded in order into urls[]; returns how many. */
static size_t decode_qrs(const struct escpos_page *page, char urls[][256], size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < escpos_page_image_count(page) && n < max; i++) {
		int w, h;
		const uint8_t *img = escpos_page_image(page, i, &w, &h);
		zbar_image_scanner_t *scanner = zbar_image_scanner_create();
		zbar_image_scanner_set_config(scanner, 0, ZBAR_CFG_ENABLE, 0);
		zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
		zbar_image_t *image = zbar_image_create();
		zbar_image_set_format(image, zbar_fourcc('Y', '8', '0', '0'));
		zbar_image_set_size(image, (unsigned) w, (unsigned) h);
		zbar_image_set_data(image, img, (size_t) w * (size_t) h, NULL);
		urls[n][0] = '\0';
		if (zbar_scan_image(scanner, image) > 0) {
			const zbar_symbol_t *sym = zbar_image_first_symbol(image);
			snprintf(urls[n], 256, "%.*s", (int) zbar_symbol_get_data_length(sym),
				 zbar_symbol_get_data(sym));
		}
		n++;
		zbar_image_destroy(image);
		zbar_image_scanner_destroy(scanner);
	}
	return n;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[64 * 1024];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/*
 * Build, encode, render and check one receipt against golden/<name>.txt; qrs[] are the QR
 * payloads it must show, in order.
 */
static void check_receipt(const char *name, const struct receipt_facts *f,
			  const struct receipt_store *store, const struct printer_profile *prof,
			  const char *const *qrs, size_t n_qrs)
{
	static struct layout l;
	struct buf out;
	struct escpos_stats stats;
	struct escpos_page *page;
	struct escpos_render_error err;
	char path[4096], urls[8][256];

	assert_int_equal(receipt_build(f, store, prof->columns, &l), 0);
	buf_init(&out, ESCPOS_RECEIPT_MAX);
	assert_int_equal(escpos_encode(&l, prof, &out, &stats), 0);
	assert_int_equal(stats.replaced_chars, 0); /* all of both languages fits CP852 */
	struct escpos_render_options opt;
	escpos_render_options_init(&opt);
	opt.width_dots = prof->width_dots;
	assert_int_equal(escpos_render(out.data, out.len, &opt, &page, &err), 0);
	assert_int_equal(escpos_page_warning_count(page), 0);
	const char *text = escpos_page_text(page);

	/* every line within the paper's columns */
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t) (nl - line) : strlen(line);
		char one[512];
		snprintf(one, sizeof(one), "%.*s", (int) len, line);
		if (strncmp(one, "[image", 6) != 0 && utf8_width(one) > (size_t) prof->columns)
			fail_msg("%s: line wider than %d columns: '%s'", name, prof->columns, one);
		line += len + (nl ? 1 : 0);
	}

	snprintf(path, sizeof(path), "%s/tests/unit/golden/receipt/%s.txt",
		 getenv("LOYALTY_SOURCE_DIR"), name);
	const char *update = getenv("UPDATE_GOLDEN");
	if (update && !strcmp(update, "1")) {
		FILE *g = fopen(path, "w");
		assert_non_null(g);
		fputs(text, g);
		fclose(g);
	}
	const char *golden = read_file(path);
	if (!golden)
		fail_msg("%s: no golden file %s (UPDATE_GOLDEN=1 writes it)", name, path);
	if (strcmp(golden, text) != 0)
		fail_msg("%s: rendered text differs from %s:\n%s", name, path, text);

	size_t n = decode_qrs(page, urls, 8);
	assert_int_equal(n, n_qrs);
	for (size_t i = 0; i < n; i++)
		if (strcmp(urls[i], qrs[i]) != 0)
			fail_msg("%s: QR %zu decodes as '%s', want '%s'", name, i, urls[i], qrs[i]);
	escpos_page_free(page);
	buf_free(&out);
}

static const struct rules_trace gold_trace[] = {
    {.rule = "base", .base_gr = 24650, .base_pts = 246, .permille = 1000, .points = 246},
    {.rule = "tier:Gold", .base_gr = 24650, .base_pts = 246, .permille = 1250, .points = 61},
};

static void test_goldens(void **state)
{
	(void) state;
	static const char *const langs[] = {"pl", "en"};
	static const struct printer_profile *const profs[] = {&p58, &p80};
	static const char *const widths[] = {"58", "80"};
	char card[256], coupon[256], claim[256];
	const int64_t coupon_until = T0_US + 30 * DAY_US + 11 * 3600 * INT64_C(1000000);
	const int64_t claim_until = T0_US + 14 * DAY_US;

	card_url("3Z0QRNJV8AEF", card, sizeof(card));
	coupon_url("N43MYY3VCZ", coupon_until, coupon, sizeof(coupon));
	claim_url(claim_until, claim, sizeof(claim));

	for (int li = 0; li < 2; li++) {
		struct receipt_store store = {
		    .name = "Piekarnia Pod Lipą",
		    .address = "ul. Długa 5, 31-147 Kraków",
		    .card_url_base = "https://k.example.pl/c/",
		    .lang = li ? PROGRAMME_LANG_EN : PROGRAMME_LANG_PL,
		    .terms_url = "https://k.example.pl/regulamin/v3",
		    .survey_pts = 20,
		};
		for (int wi = 0; wi < 2; wi++) {
			char name[64];
			/* new: welcome bonus, first-purchase coupon with its own QR */
			struct receipt_facts f = {
			    .receipt_no = "SIM1-000001",
			    .time_us = T0_US,
			    .amount_gr = 1234,
			    .earned_pts = 12,
			    .balance_pts = 62,
			    .first_visit = true,
			    .greeting = RECEIPT_GREET_NEW,
			    .card_code = "3Z0QRNJV8AEF",
			    .bonus_pts = 50,
			    .coupons = {{.id = "N43MYY3VCZ",
					 .percent_bp = 1000,
					 .min_basket_gr = 5000,
					 .expires_us = coupon_until,
					 .qr_url = coupon}},
			    .n_coupons = 1,
			    .tier = "Silver",
			    .next_tier = "Gold",
			    .to_next_tier_gr = 98766,
			    .tier_span_gr = 100000,
			    .next_expiry_us = T0_US + 365 * DAY_US,
			    .next_expiry_pts = 62,
			    .card_qr_url = card,
			};
			const char *const qr_new[] = {coupon, card};
			snprintf(name, sizeof(name), "new-%s-%s", widths[wi], langs[li]);
			check_receipt(name, &f, &store, profs[wi], qr_new, 2);

			/* returning: a coupon used, points paid, stamps counted */
			struct receipt_facts r = f;
			r.receipt_no = "SIM1-000010";
			r.first_visit = false;
			r.greeting = RECEIPT_GREET_RETURNING;
			r.bonus_pts = 0;
			r.n_coupons = 0;
			r.amount_gr = 6000;
			r.coupon_used = "Q7KM2X9WT4";
			r.coupon_discount_gr = 600;
			r.redeemed_pts = 100;
			r.points_discount_gr = 1000;
			r.earned_pts = 44;
			r.balance_pts = 161;
			r.to_next_tier_gr = 88799;
			r.stamps[0] = (struct receipt_stamps){
			    .name = "kawa", .progress = 3, .every = 10, .free_items = 0};
			r.n_stamps = 1;
			const char *const qr_card[] = {card};
			snprintf(name, sizeof(name), "returning-%s-%s", widths[wi], langs[li]);
			check_receipt(name, &r, &store, profs[wi], qr_card, 1);

			/* VIP: Gold, a multiplier in the reason, a free item, a donation */
			struct receipt_facts v = r;
			v.receipt_no = "SIM1-000321";
			v.greeting = RECEIPT_GREET_VIP;
			v.amount_gr = 24650;
			v.coupon_used = NULL;
			v.coupon_discount_gr = v.redeemed_pts = v.points_discount_gr = 0;
			v.earned_pts = 307;
			v.donated_pts = 50;
			v.balance_pts = 2480;
			v.trace = gold_trace;
			v.n_trace = 2;
			v.tier = "Gold";
			v.next_tier = "Platinum";
			v.to_next_tier_gr = 51250;
			v.tier_span_gr = 200000;
			v.stamps[0] = (struct receipt_stamps){
			    .name = "kawa", .progress = 1, .every = 10, .free_items = 1};
			v.message = li ? "Thank you for being with us." : "Dziękujemy, że jesteś z nami.";
			snprintf(name, sizeof(name), "vip-%s-%s", widths[wi], langs[li]);
			check_receipt(name, &v, &store, profs[wi], qr_card, 1);

			/* dormant: back after months, at the top tier, nothing to expire soon */
			struct receipt_facts d = r;
			d.receipt_no = "SIM1-000777";
			d.greeting = RECEIPT_GREET_DORMANT;
			d.coupon_used = NULL;
			d.coupon_discount_gr = d.redeemed_pts = d.points_discount_gr = 0;
			d.amount_gr = 1999;
			d.earned_pts = 19;
			d.tier = "Platinum";
			d.next_tier = NULL;
			d.n_stamps = 0;
			d.next_expiry_us = d.next_expiry_pts = 0;
			snprintf(name, sizeof(name), "dormant-%s-%s", widths[wi], langs[li]);
			check_receipt(name, &d, &store, profs[wi], qr_card, 1);

			/* no card: the points wait behind a "claim your points" QR */
			struct receipt_facts a = {
			    .receipt_no = "SIM1-000042",
			    .time_us = T0_US,
			    .amount_gr = 3650,
			    .earned_pts = 36,
			    .claim_qr_url = claim,
			    .claim_expires_us = claim_until,
			};
			const char *const qr_claim[] = {claim};
			snprintf(name, sizeof(name), "anonymous-%s-%s", widths[wi], langs[li]);
			check_receipt(name, &a, &store, profs[wi], qr_claim, 1);
		}
	}
}

/* The store's own texts replace the defaults; every default passes the template check. */
static void test_store_texts(void **state)
{
	(void) state;
	static struct layout l;
	struct receipt_texts texts = {0};
	char err[256];
	for (int lang = 0; lang < PROGRAMME_LANG_MAX; lang++)
		for (int slot = 0; slot < RECEIPT_TEXT_MAX; slot++) {
			struct receipt_texts probe = {0};
			const char *src = receipt_text_default((enum programme_lang) lang,
							       (enum receipt_text) slot);
			assert_non_null(src);
			if (receipt_texts_set(&probe, receipt_text_name((enum receipt_text) slot),
					      src, err, sizeof(err)) != 0)
				fail_msg("default %d/%d: %s", lang, slot, err);
		}
	assert_int_equal(receipt_check_formats(err, sizeof(err)), 0);
	assert_int_equal(receipt_texts_set(&texts, "footer", "Do zobaczenia w {store}!\nParagon {receipt}",
					   err, sizeof(err)),
			 0);
	assert_int_equal(receipt_texts_set(&texts, "footer", "Hej {imie}", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unknown placeholder {imie}"));
	assert_int_equal(receipt_texts_set(&texts, "stopka", "x", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "unknown text 'stopka'"));
	struct receipt_store store = {
	    .name = "Sklep",
	    .card_url_base = "https://k.example.pl/c/",
	    .texts = &texts,
	};
	struct receipt_facts f = {.receipt_no = "SIM1-000001", .time_us = T0_US,
				  .card_code = "3Z0QRNJV8AEF"};
	assert_int_equal(receipt_build(&f, &store, 32, &l), 0);
	int found = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (!strcmp(l.items[i].text, "Do zobaczenia w Sklep!"))
			found |= 1;
		if (!strcmp(l.items[i].text, "Paragon SIM1-000001"))
			found |= 2;
		if (strstr(l.items[i].text, "Do zobaczenia!"))
			found |= 4;
	}
	assert_int_equal(found, 3);
}

int main(void)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], seed[crypto_sign_SEEDBYTES];
	if (sodium_init() < 0)
		return 1;
	memset(seed, 7, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_goldens),
	    cmocka_unit_test(test_store_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
