/*
 * receipt_bench: what a sale costs between the ledger and the printer: compose the receipt
 * (receipt_build: the default receipt, a returning member's, with a segment message, a coupon
 * used, tier progress, a stamp card and the card QR), sign the card token (Ed25519), and encode
 * it for the printer (escpos_encode: text in CP852, the QR symbol made with libqrencode and
 * rasterised), for a 58 mm and an 80 mm printer; then the same receipt when the sale also issued
 * a coupon (a block with its own signed QR: two symbols). The same-run anchors are libqrencode
 * encoding the same kind of URLs alone (new tokens each time, as receipts have). Each receipt is timed on its
 * own with CLOCK_MONOTONIC; the table gives p50/p99 and the bytes sent per receipt, the last line
 * one JSON object.
 *
 *   receipt_bench [--iterations N]   (default 20000)
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qrencode.h>
#include <sodium.h>

#include "buf.h"
#include "escpos.h"
#include "layout.h"
#include "receipt.h"
#include "token.h"

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return (x > y) - (x < y);
}

static int64_t pct(const int64_t *sorted, size_t n, int p)
{
	return sorted[(n - 1) * (size_t) p / 100];
}

static const struct receipt_store store = {
    .name = "Piekarnia Pod Lipą",
    .address = "ul. Długa 5, 31-147 Kraków",
    .card_url_base = "https://k.example.pl/c/",
};

struct run {
	int64_t p50_ns, p99_ns;
	size_t bytes;
};

/* One receipt: compose, sign, encode. Returns the bytes, or 0 on failure. */
static size_t one_receipt(const struct printer_profile *prof, const uint8_t sk[64], int64_t time_us,
			  bool coupon, struct layout *l, struct buf *out)
{
	char text[TOKEN_TEXT_MAX + 1], url[LAYOUT_TEXT_MAX], curl[LAYOUT_TEXT_MAX];
	const int64_t coupon_until = time_us + INT64_C(30) * 86400 * 1000000;
	struct token tok = {.type = TOKEN_CARD,
			    .issued_s = time_us / 1000000,
			    .expires_s = time_us / 1000000 + 5 * 366 * 86400};
	memcpy(tok.card_code, "3Z0QRNJV8AEF", 13);
	if (token_sign(&tok, sk, text, sizeof(text)) < 0 ||
	    token_url("HTTPS://K.EXAMPLE.PL/C/", text, url, sizeof(url)) < 0)
		return 0;
	struct token ctok = {.type = TOKEN_COUPON,
			     .issued_s = time_us / 1000000,
			     .expires_s = coupon_until / 1000000};
	memcpy(ctok.coupon_id, "N43MYY3VCZ", 11);
	if (coupon && (token_sign(&ctok, sk, text, sizeof(text)) < 0 ||
		       token_url("HTTPS://K.EXAMPLE.PL/C/", text, curl, sizeof(curl)) < 0))
		return 0;
	struct receipt_facts f = {
	    .receipt_no = "SIM1-000010",
	    .time_us = time_us,
	    .amount_gr = 6000,
	    .earned_pts = 54,
	    .balance_pts = 161,
	    .card_code = "3Z0QRNJV8AEF",
	    .coupons = {{.id = "N43MYY3VCZ",
			 .percent_bp = 1000,
			 .min_basket_gr = 5000,
			 .expires_us = coupon_until,
			 .qr_url = curl}},
	    .n_coupons = coupon ? 1 : 0,
	    .tier = "Silver",
	    .next_tier = "Gold",
	    .to_next_tier_gr = 88799,
	    .tier_span_gr = 100000,
	    .stamps = {{.name = "kawa", .progress = 3, .every = 10}},
	    .n_stamps = 1,
	    .next_expiry_us = time_us + INT64_C(365) * 86400 * 1000000,
	    .next_expiry_pts = 161,
	    .coupon_used = "Q7KM2X9WT4",
	    .coupon_discount_gr = 600,
	    .message = "Dziękujemy, że jesteś z nami.",
	    .card_qr_url = url,
	};
	struct escpos_stats stats;
	buf_reset(out);
	if (receipt_build(&f, &store, prof->columns, l) < 0 ||
	    escpos_encode(l, prof, out, &stats) < 0)
		return 0;
	return out->len;
}

static int measure(const struct printer_profile *prof, const uint8_t sk[64], size_t iters,
		   bool coupon, struct run *ret)
{
	struct layout *l = malloc(sizeof(*l));
	int64_t *t = malloc(iters * sizeof(int64_t));
	struct buf out;
	buf_init(&out, ESCPOS_RECEIPT_MAX);
	if (!l || !t)
		return -1;
	const int64_t t0 = INT64_C(1795780800000000);
	for (size_t i = 0; i < iters / 10; i++) /* warm up */
		if (!one_receipt(prof, sk, t0, coupon, l, &out))
			return -1;
	for (size_t i = 0; i < iters; i++) {
		int64_t a = now_ns();
		size_t n = one_receipt(prof, sk, t0 + (int64_t) i * 3600000000, coupon, l, &out);
		t[i] = now_ns() - a;
		if (!n)
			return -1;
		ret->bytes = n;
	}
	qsort(t, iters, sizeof(int64_t), cmp64);
	ret->p50_ns = pct(t, iters, 50);
	ret->p99_ns = pct(t, iters, 99);
	buf_free(&out);
	free(t);
	free(l);
	return 0;
}

/*
 * The anchor: libqrencode alone (QRcode_encodeString, with libqrencode's own mask choice, as
 * the receipts used before app/qr_mask) on the URLs of the same tokens the receipts carry (card,
 * and coupon when asked), signed anew for each iteration outside the timing as each receipt's are;
 * p50/p99 in ns. (Encoding one URL over and over is about three times faster: the branch
 * predictor learns the symbol, so it would flatter libqrencode.)
 */
static int anchor(const uint8_t sk[64], bool coupon, size_t iters, int64_t *p50, int64_t *p99)
{
	int64_t *t = malloc(iters * sizeof(int64_t));
	char text[TOKEN_TEXT_MAX + 1], url[LAYOUT_TEXT_MAX], curl[LAYOUT_TEXT_MAX];
	const int64_t t0 = INT64_C(1795780800);
	if (!t)
		return -1;
	for (size_t i = 0; i < iters; i++) {
		int64_t issued = t0 + (int64_t) i * 3600;
		struct token tok = {
		    .type = TOKEN_CARD, .issued_s = issued, .expires_s = issued + 5 * 366 * 86400};
		memcpy(tok.card_code, "3Z0QRNJV8AEF", 13);
		struct token ctok = {
		    .type = TOKEN_COUPON, .issued_s = issued, .expires_s = issued + 30 * 86400};
		memcpy(ctok.coupon_id, "N43MYY3VCZ", 11);
		if (token_sign(&tok, sk, text, sizeof(text)) < 0 ||
		    token_url("HTTPS://K.EXAMPLE.PL/C/", text, url, sizeof(url)) < 0 ||
		    token_sign(&ctok, sk, text, sizeof(text)) < 0 ||
		    token_url("HTTPS://K.EXAMPLE.PL/C/", text, curl, sizeof(curl)) < 0) {
			free(t);
			return -1;
		}
		int64_t a = now_ns();
		QRcode *q = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
		QRcode *c = coupon ? QRcode_encodeString(curl, 0, QR_ECLEVEL_M, QR_MODE_8, 1) : NULL;
		t[i] = now_ns() - a;
		if (!q || (coupon && !c)) {
			free(t);
			return -1;
		}
		QRcode_free(q);
		QRcode_free(c);
	}
	qsort(t, iters, sizeof(int64_t), cmp64);
	*p50 = pct(t, iters, 50);
	*p99 = pct(t, iters, 99);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	size_t iters = 20000;
	if (argc == 3 && strcmp(argv[1], "--iterations") == 0)
		iters = (size_t) strtoull(argv[2], NULL, 10);
	else if (argc != 1) {
		fprintf(stderr, "usage: receipt_bench [--iterations N]\n");
		return 2;
	}
	if (iters < 100)
		iters = 100;
	if (sodium_init() < 0)
		return 1;
	uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	memset(seed, 7, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);

	const struct printer_profile p58 = {.model = "POS-5890",
					    .width_dots = 384,
					    .columns = 32,
					    .encoding = CODEPAGE_CP852,
					    .codepage_slot = 18,
					    .qr_module_dots = 5,
					    .cutter = true};
	const struct printer_profile p80 = {.model = "TM-T20II",
					    .width_dots = 576,
					    .columns = 48,
					    .encoding = CODEPAGE_CP852,
					    .codepage_slot = 18,
					    .qr_module_dots = 6,
					    .cutter = true};
	struct run r58 = {0}, r80 = {0}, c58 = {0}, c80 = {0};
	if (measure(&p58, sk, iters, false, &r58) < 0 || measure(&p80, sk, iters, false, &r80) < 0 ||
	    measure(&p58, sk, iters, true, &c58) < 0 || measure(&p80, sk, iters, true, &c80) < 0) {
		fprintf(stderr, "receipt_bench: a receipt could not be made\n");
		return 1;
	}

	int64_t q50, q99, qc50, qc99;
	if (anchor(sk, false, iters, &q50, &q99) < 0 || anchor(sk, true, iters, &qc50, &qc99) < 0)
		return 1;

	printf("receipt bench: %zu receipts per kind and printer; compose + sign + encode (QR, "
	       "raster)\n",
	       iters);
	printf("%-44s %10s %10s %10s\n", "", "p50 us", "p99 us", "bytes");
	printf("%-44s %10.1f %10.1f %10zu\n", "default receipt, 58 mm (384 dots, 5/module)",
	       (double) r58.p50_ns / 1000, (double) r58.p99_ns / 1000, r58.bytes);
	printf("%-44s %10.1f %10.1f %10zu\n", "default receipt, 80 mm (576 dots, 6/module)",
	       (double) r80.p50_ns / 1000, (double) r80.p99_ns / 1000, r80.bytes);
	printf("%-44s %10.1f %10.1f\n", "anchor: libqrencode alone, the card URL", (double) q50 / 1000,
	       (double) q99 / 1000);
	printf("%-44s %10.1f %10.1f %10zu\n", "with a coupon issued (2 QR), 58 mm",
	       (double) c58.p50_ns / 1000, (double) c58.p99_ns / 1000, c58.bytes);
	printf("%-44s %10.1f %10.1f %10zu\n", "with a coupon issued (2 QR), 80 mm",
	       (double) c80.p50_ns / 1000, (double) c80.p99_ns / 1000, c80.bytes);
	printf("%-44s %10.1f %10.1f\n", "anchor: libqrencode alone, card + coupon",
	       (double) qc50 / 1000, (double) qc99 / 1000);
	printf("ratio: default receipt p50 / libqrencode alone p50 = %.2f\n",
	       (double) r58.p50_ns / (double) q50);
	printf("target: p99 <= 300 us (the default receipt: a returning member's, one QR)\n");
	printf("{\"bench\":\"receipt\",\"p50_us\":%.1f,\"p99_us\":%.1f,\"p50_us_80mm\":%.1f,"
	       "\"p99_us_80mm\":%.1f,\"bytes_58mm\":%zu,\"bytes_80mm\":%zu,"
	       "\"p50_us_coupon_58mm\":%.1f,\"p99_us_coupon_58mm\":%.1f,"
	       "\"p50_us_coupon_80mm\":%.1f,\"p99_us_coupon_80mm\":%.1f,"
	       "\"bytes_coupon_58mm\":%zu,\"bytes_coupon_80mm\":%zu,"
	       "\"anchor_qrencode_p50_us\":%.1f,\"anchor_qrencode_p99_us\":%.1f,"
	       "\"anchor_qrencode_2_p50_us\":%.1f,\"anchor_qrencode_2_p99_us\":%.1f,"
	       "\"ratio\":%.2f,\"target\":{\"p99_us\":300}}\n",
	       (double) r58.p50_ns / 1000, (double) r58.p99_ns / 1000, (double) r80.p50_ns / 1000,
	       (double) r80.p99_ns / 1000, r58.bytes, r80.bytes, (double) c58.p50_ns / 1000,
	       (double) c58.p99_ns / 1000, (double) c80.p50_ns / 1000, (double) c80.p99_ns / 1000,
	       c58.bytes, c80.bytes, (double) q50 / 1000, (double) q99 / 1000, (double) qc50 / 1000,
	       (double) qc99 / 1000, (double) r58.p50_ns / (double) q50);
	return 0;
}
