/*
 * escpos-testpage: the bytes of a test receipt for one printer model, made by app/escpos exactly
 * as the terminal makes receipts: Polish text in the model's code page, styles, a QR code (raster
 * by default, the printer's own symbol with --native-qr) and a cut. For checking a printer model
 * file on paper (`escpos-testpage --printer board/printers/x.json > /dev/usb/lp0`) and for the
 * QR readability test; with --receipt, the receipt of a first sale as app/receipt lays it out.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escpos.h"
#include "printer_profile.h"
#include "receipt.h"

#define DEFAULT_QR "HTTPS://K.EXAMPLE.PL/C/0123456789ABCDEFGHJKMNPQRSTVWXYZ"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: escpos-testpage --printer FILE [OPTIONS]\n"
		"Write a test receipt for the printer model FILE (board/printers/*.json) to "
		"standard output.\n"
		"\n"
		"  --printer FILE     the printer model file (required)\n"
		"  --encoding NAME    CP852 (default) or CP1250\n"
		"  --qr TEXT          the QR payload (default " DEFAULT_QR ")\n"
		"  --module DOTS      dots per QR module (default 5 below 512 dots of head "
		"width, else 6)\n"
		"  --native-qr        let the printer draw the QR code (GS ( k) instead of a "
		"raster\n"
		"  -h, --help         show this help\n"
		"Exit status: 0 ok, 1 the receipt cannot be made for this model, 2 usage error.\n");
}

static int read_model(const char *path, struct printer_model *m)
{
	char text[PRINTER_MODEL_FILE_MAX + 1], err[160];
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "escpos-testpage: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (printer_model_parse(text, n, m, err, sizeof(err)) < 0) {
		fprintf(stderr, "escpos-testpage: %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

static int build(struct layout *l, const struct printer_profile *p, const char *qr)
{
	char line[LAYOUT_TEXT_MAX];
	layout_init(l, p->columns);
	snprintf(line, sizeof(line), "%s: szer. %d, kol. %d", p->model, p->width_dots, p->columns);
	int r;
	if ((r = layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD | LAYOUT_DOUBLE_HEIGHT,
			     "Test drukarki")) < 0 ||
	    (r = layout_text(l, LAYOUT_CENTER, 0, line)) < 0 || (r = layout_rule(l)) < 0 ||
	    (r = layout_text(l, LAYOUT_LEFT, 0, "Zażółć gęślą jaźń")) < 0 ||
	    (r = layout_text(l, LAYOUT_LEFT, 0, "ZAŻÓŁĆ GĘŚLĄ JAŹŃ")) < 0 ||
	    (r = layout_pair(l, 0, "Saldo punktów:", "1234 pkt")) < 0 ||
	    (r = layout_text(l, LAYOUT_RIGHT, LAYOUT_DOUBLE_WIDTH, "Dziękujemy")) < 0 ||
	    (r = layout_rule(l)) < 0 || (r = layout_qr(l, qr)) < 0 ||
	    (r = layout_text(l, LAYOUT_CENTER, 0, "Zeskanuj kod telefonem")) < 0 ||
	    (r = layout_cut(l)) < 0)
		return r;
	return 0;
}

/*
 * The receipt of a first sale as app/receipt lays it out (greeting, message, points, welcome
 * bonus, coupon, card QR), with qr as the card QR: the layout the terminal prints most.
 */
static int build_sale(struct layout *l, const struct printer_profile *p, const char *qr)
{
	static const struct receipt_store store = {
	    .name = "Piekarnia Pod Lipą",
	    .address = "ul. Długa 5, 31-147 Kraków",
	    .card_url_base = "https://k.example.pl/c/",
	};
	const int64_t day_us = 86400 * INT64_C(1000000);
	const int64_t time_us = INT64_C(1795780800) * 1000000; /* 2026-11-27 12:00 UTC */
	const struct receipt_facts facts = {
	    .receipt_no = "SIM1-000001",
	    .time_us = time_us,
	    .amount_gr = 1234,
	    .earned_pts = 12,
	    .balance_pts = 62,
	    .first_visit = true,
	    .card_code = "CARDCODE0000",
	    .bonus_pts = 50,
	    .coupons = {{.id = "COUPON0000",
			 .percent_bp = 1000,
			 .min_basket_gr = 5000,
			 .expires_us = time_us + 30 * day_us}},
	    .n_coupons = 1,
	    .message = "Zapraszamy ponownie!",
	    .card_qr_url = qr,
	};
	return receipt_build(&facts, &store, p->columns, l);
}

int main(int argc, char **argv)
{
	enum { OPT_PRINTER = 0x100, OPT_ENCODING, OPT_QR, OPT_MODULE, OPT_NATIVE, OPT_RECEIPT };
	static const struct option longopts[] = {
	    {"printer", required_argument, NULL, OPT_PRINTER},
	    {"encoding", required_argument, NULL, OPT_ENCODING},
	    {"qr", required_argument, NULL, OPT_QR},
	    {"module", required_argument, NULL, OPT_MODULE},
	    {"native-qr", no_argument, NULL, OPT_NATIVE},
	    {"receipt", no_argument, NULL, OPT_RECEIPT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *printer = NULL, *qr = DEFAULT_QR;
	enum codepage encoding = CODEPAGE_CP852;
	int module = 0, native = 0, sale = 0, c;
	char *end;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PRINTER:
			printer = optarg;
			break;
		case OPT_ENCODING:
			if (codepage_from_name(optarg, &encoding) < 0) {
				fprintf(stderr, "escpos-testpage: --encoding: CP852 or CP1250\n");
				return 2;
			}
			break;
		case OPT_QR:
			qr = optarg;
			break;
		case OPT_MODULE:
			module = (int) strtol(optarg, &end, 10);
			if (*end || module < 1 || module > 16) {
				fprintf(stderr, "escpos-testpage: --module: 1..16 dots\n");
				return 2;
			}
			break;
		case OPT_NATIVE:
			native = 1;
			break;
		case OPT_RECEIPT:
			sale = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!printer || optind != argc) {
		usage(stderr);
		return 2;
	}

	struct printer_model m;
	if (read_model(printer, &m) < 0)
		return 1;
	struct printer_profile p;
	char err[160];
	if (printer_model_profile(&m, encoding, native, &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "escpos-testpage: %s\n", err);
		return 1;
	}
	if (module)
		p.qr_module_dots = module;

	static struct layout l;
	struct buf out;
	buf_init(&out, ESCPOS_RECEIPT_MAX);
	int r = sale ? build_sale(&l, &p, qr) : build(&l, &p, qr);
	if (r == 0)
		r = escpos_encode(&l, &p, &out, NULL);
	if (r < 0) {
		fprintf(stderr, "escpos-testpage: cannot make the receipt: %s%s\n", strerror(-r),
			r == -EINVAL ? " (QR too wide for the head, or the module below 4 dots?)"
				     : "");
		buf_free(&out);
		return 1;
	}
	int status = 0;
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "escpos-testpage: cannot write: %s\n", strerror(errno));
		status = 1;
	}
	buf_free(&out);
	return status;
}
