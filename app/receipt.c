/* receipt: the thank-you receipt's content and order. Wording lives here, in Polish. */
#include "receipt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "wartime.h"

int receipt_card_url(const struct receipt_store *store, const char *card_code, char *buf,
		     size_t size)
{
	int n = snprintf(buf, size, "%s%s", store->card_url_base, card_code);
	return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

/* The URL without its scheme, as people read and type it. */
static const char *url_readable(const char *url)
{
	const char *p = strstr(url, "://");
	return p ? p + 3 : url;
}

/* Evaluate x; return its negative errno from the function (which has an int r). */
#define TRY(x)                                                                                     \
	do {                                                                                       \
		if ((r = (x)) < 0)                                                                 \
			return r;                                                                  \
	} while (0)

/* The store's name and address, and the non-fiscal marking. */
static int store_header(struct layout *l, const struct receipt_store *store)
{
	int r;
	TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD | LAYOUT_DOUBLE_HEIGHT, store->name));
	if (store->address && *store->address)
		TRY(layout_text(l, LAYOUT_CENTER, 0, store->address));
	TRY(layout_rule(l));
	TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD, "WYDRUK NIEFISKALNY"));
	TRY(layout_rule(l));
	return 0;
}

/* "label   -12,34 zł" */
static int discount_line(struct layout *l, const char *label, int64_t gr)
{
	char value[40];
	value[0] = '-';
	money_format(gr, 1, value + 1, sizeof(value) - 5);
	strcat(value, " zł");
	return layout_pair(l, 0, label, value);
}

/* The length in bytes of the UTF-8 character at s (1 for a stray byte), never past the NUL. */
static size_t char_len(const char *s)
{
	size_t n = 1;
	while (s[n] && ((unsigned char) s[n] & 0xc0) == 0x80 && n < 4)
		n++;
	return n;
}

/*
 * The message as centred lines of at most `columns` characters, broken at spaces; a word longer
 * than a line is cut. Control characters count as spaces. -E2BIG when too long.
 */
static int message_lines(struct layout *l, const char *msg, int columns)
{
	char line[LAYOUT_TEXT_MAX];
	const char *p = msg;
	int r;
	if (strlen(msg) > RECEIPT_MESSAGE_MAX || columns < 1)
		return -E2BIG;
	for (;;) {
		while (*p && (unsigned char) *p <= ' ')
			p++;
		if (!*p)
			return 0;
		/* take characters while they fit; remember the last space among them */
		const char *q = p, *space = NULL;
		for (int w = 0; *q && w < columns; w++, q += char_len(q))
			if ((unsigned char) *q <= ' ')
				space = q;
		const char *end = !*q || (unsigned char) *q <= ' ' ? q : space ? space : q;
		size_t n = 0;
		for (const char *c = p; c < end; c++) {
			if (n + 1 >= sizeof(line))
				return -E2BIG;
			line[n++] = (unsigned char) *c < ' ' ? ' ' : *c;
		}
		while (n && line[n - 1] == ' ')
			n--;
		line[n] = '\0';
		if ((r = layout_text(l, LAYOUT_CENTER, 0, line)) < 0)
			return r;
		p = end;
	}
}

/* How the points were counted: one line a step of the award trace. */
static int trace_block(struct layout *l, const struct rules_trace *trace, size_t n)
{
	char label[LAYOUT_TEXT_MAX], value[48], money[32];
	int r;
	if ((r = layout_text(l, LAYOUT_LEFT, LAYOUT_BOLD, "Jak policzono punkty:")) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct rules_trace *s = &trace[i];
		if (!strcmp(s->rule, "base")) {
			money_format(s->base_gr, 1, money, sizeof(money));
			snprintf(label, sizeof(label), " za %s zł", money);
			snprintf(value, sizeof(value), "%lld pkt", (long long) s->points);
		} else if (s->permille != 1000) {
			snprintf(label, sizeof(label), " %s x%d,%03d", s->rule, s->permille / 1000,
				 s->permille % 1000);
			snprintf(value, sizeof(value), "+%lld pkt", (long long) s->points);
		} else {
			snprintf(label, sizeof(label), " %s", s->rule);
			snprintf(value, sizeof(value), "+%lld pkt", (long long) s->points);
		}
		if ((r = layout_pair(l, 0, label, value)) < 0)
			return r;
	}
	return 0;
}

int receipt_build(const struct receipt_facts *f, const struct receipt_store *store, int columns,
		  struct layout *l)
{
	char line[LAYOUT_TEXT_MAX], value[64], url[LAYOUT_TEXT_MAX];
	struct wartime wt;
	int r = 0;

	layout_init(l, columns);
	if ((r = receipt_card_url(store, f->card_code, url, sizeof(url))) < 0)
		return -E2BIG;
	wartime_from_utc(f->time_us / 1000000, &wt);

	TRY(store_header(l, store));
	if (f->first_visit) {
		TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD, "Witamy w naszym klubie!"));
		TRY(layout_text(l, LAYOUT_CENTER, 0, "Dziękujemy za pierwsze zakupy."));
	} else {
		TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD, "Dziękujemy za zakupy!"));
		TRY(layout_text(l, LAYOUT_CENTER, 0, "Miło znów Cię widzieć."));
	}
	if (f->message && *f->message)
		TRY(message_lines(l, f->message, columns));
	TRY(layout_feed(l, 1));
	snprintf(value, sizeof(value), "%04d-%02d-%02d %02d:%02d", wt.year, wt.month, wt.day,
		 wt.hour, wt.minute);
	TRY(layout_pair(l, 0, "Data:", value));
	TRY(layout_pair(l, 0, "Paragon:", f->receipt_no));
	money_format(f->amount_gr, 1, value, sizeof(value) - 4);
	strcat(value, " zł");
	TRY(layout_pair(l, 0, "Kwota zakupu:", value));
	if (f->stamp_discount_gr || f->coupon_discount_gr || f->points_discount_gr) {
		int64_t paid = f->amount_gr;
		if (f->stamp_discount_gr) {
			TRY(discount_line(l, "Gratis (pieczątki):", f->stamp_discount_gr));
			paid -= f->stamp_discount_gr;
		}
		if (f->coupon_discount_gr) {
			snprintf(line, sizeof(line),
				 "Kupon %s:", f->coupon_used ? f->coupon_used : "");
			TRY(discount_line(l, line, f->coupon_discount_gr));
			paid -= f->coupon_discount_gr;
		}
		if (f->points_discount_gr) {
			snprintf(line, sizeof(line),
				 "Zapłacono %lld pkt:", (long long) f->redeemed_pts);
			TRY(discount_line(l, line, f->points_discount_gr));
			paid -= f->points_discount_gr;
		}
		money_format(paid, 1, value, sizeof(value) - 4);
		strcat(value, " zł");
		TRY(layout_pair(l, LAYOUT_BOLD, "Do zapłaty:", value));
	}
	snprintf(value, sizeof(value), "+%lld pkt", (long long) f->earned_pts);
	TRY(layout_pair(l, LAYOUT_BOLD, "Punkty za zakup:", value));
	TRY(layout_text(l, LAYOUT_LEFT, 0, "(1 pkt za każdy pełny 1 zł)"));
	if (f->n_trace)
		TRY(trace_block(l, f->trace, f->n_trace));
	if (f->bonus_pts) {
		snprintf(value, sizeof(value), "+%lld pkt", (long long) f->bonus_pts);
		TRY(layout_pair(l, LAYOUT_BOLD,
				f->first_visit ? "Premia powitalna:" : "Premia:", value));
	}
	snprintf(value, sizeof(value), "%lld pkt", (long long) f->balance_pts);
	TRY(layout_pair(l, LAYOUT_BOLD, "Saldo punktów:", value));
	TRY(layout_rule(l));
	if (f->coupon_percent_bp > 0) {
		/* the last valid day is the one before the first invalid instant, in Warsaw */
		struct wartime last;
		wartime_from_utc(f->coupon_expires_us / 1000000 - 1, &last);
		TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD | LAYOUT_DOUBLE_HEIGHT, "KUPON"));
		snprintf(line, sizeof(line), "-%d%% na kolejne zakupy",
			 (int) (f->coupon_percent_bp / 100));
		TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD, line));
		money_format(f->coupon_min_basket_gr, 1, value, sizeof(value) - 4);
		snprintf(line, sizeof(line), "przy zakupach od %s zł", value);
		TRY(layout_text(l, LAYOUT_CENTER, 0, line));
		snprintf(line, sizeof(line), "ważny do %04d-%02d-%02d włącznie", last.year,
			 last.month, last.day);
		TRY(layout_text(l, LAYOUT_CENTER, 0, line));
		TRY(layout_text(l, LAYOUT_CENTER, 0, "jednorazowy, nie łączy się"));
		TRY(layout_text(l, LAYOUT_CENTER, 0, "z płatnością punktami"));
		if (f->coupon_id && *f->coupon_id) {
			snprintf(line, sizeof(line), "kod kuponu: %s", f->coupon_id);
			TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD, line));
		}
		TRY(layout_rule(l));
	}
	TRY(layout_text(l, LAYOUT_CENTER, 0, "Zeskanuj kod telefonem:"));
	TRY(layout_text(l, LAYOUT_CENTER, 0, "Twoja karta, punkty i nagrody"));
	TRY(layout_qr(l, f->card_qr_url && *f->card_qr_url ? f->card_qr_url : url));
	snprintf(line, sizeof(line), "%s", url_readable(url));
	TRY(layout_text(l, LAYOUT_CENTER, 0, line));
	TRY(layout_rule(l));
	TRY(layout_text(l, LAYOUT_CENTER, 0, "Do zobaczenia!"));
	TRY(layout_cut(l));
	return 0;
}

int receipt_build_refund(const struct receipt_refund_facts *f, const struct receipt_store *store,
			 int columns, struct layout *l)
{
	char value[64], url[LAYOUT_TEXT_MAX];
	struct wartime wt;
	int r = 0;

	layout_init(l, columns);
	if ((r = receipt_card_url(store, f->card_code, url, sizeof(url))) < 0)
		return -E2BIG;
	wartime_from_utc(f->time_us / 1000000, &wt);

	TRY(store_header(l, store));
	TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD | LAYOUT_DOUBLE_HEIGHT, "ZWROT"));
	TRY(layout_feed(l, 1));
	snprintf(value, sizeof(value), "%04d-%02d-%02d %02d:%02d", wt.year, wt.month, wt.day,
		 wt.hour, wt.minute);
	TRY(layout_pair(l, 0, "Data:", value));
	TRY(layout_pair(l, 0, "Zwrot nr:", f->receipt_no));
	TRY(layout_pair(l, 0, "Do paragonu:", f->of_receipt_no));
	money_format(f->money_back_gr, 1, value, sizeof(value) - 4);
	strcat(value, " zł");
	TRY(layout_pair(l, LAYOUT_BOLD, "Zwrot pieniędzy:", value));
	if (f->reversed_pts) {
		snprintf(value, sizeof(value), "-%lld pkt", (long long) f->reversed_pts);
		TRY(layout_pair(l, 0, "Punkty odebrane:", value));
	}
	if (f->recredited_pts) {
		snprintf(value, sizeof(value), "+%lld pkt", (long long) f->recredited_pts);
		TRY(layout_pair(l, 0, "Punkty zwrócone:", value));
	}
	if (f->expired_pts) {
		snprintf(value, sizeof(value), "-%lld pkt", (long long) f->expired_pts);
		TRY(layout_pair(l, 0, "Punkty wygasłe:", value));
	}
	TRY(layout_rule(l));
	TRY(layout_text(l, LAYOUT_CENTER, 0, "Saldo i historia na karcie:"));
	TRY(layout_qr(l, f->card_qr_url && *f->card_qr_url ? f->card_qr_url : url));
	TRY(layout_text(l, LAYOUT_CENTER, 0, url_readable(url)));
	TRY(layout_cut(l));
	return 0;
}
