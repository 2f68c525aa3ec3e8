/*
 * receipt: the thank-you receipt's content and order. The wording of both languages lives here:
 * the fixed labels in `words`, the store-editable texts as default templates in `defaults`.
 */
#include "receipt.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "wartime.h"

/*
 * The labels with numbers in them are printf formats kept in the language table below, so the
 * compiler cannot check them against their arguments: receipt_test checks that both languages'
 * formats have the conversions their callers pass (receipt_check_formats()).
 */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/* ---- words ---- */

/* The fixed labels, one row a language (enum programme_lang). */
static const struct words {
	const char *marking, *date, *receipt, *amount, *to_pay, *stamps_free, *coupon_n, *paid_pts;
	const char *earned, *reason_base, *welcome, *bonus, *donated, *balance, *expiring;
	const char *tier, *to_tier, *stamp_card, *free_now, *coupon, *coupon_off, *coupon_min;
	const char *coupon_until, *coupon_single, *coupon_excl1, *coupon_excl2, *coupon_code;
	const char *terms, *how, *base_for, *claim_pts, *claim_until;
	const char *refund, *refund_no, *of_receipt, *money_back, *reversed, *recredited;
	const char *expired, *refund_card, *pts, *currency;
	char decimal;
} words[PROGRAMME_LANG_MAX] = {
    [PROGRAMME_LANG_PL] =
	{
	    .marking = "WYDRUK NIEFISKALNY",
	    .date = "Data:",
	    .receipt = "Paragon:",
	    .amount = "Kwota zakupu:",
	    .to_pay = "Do zapłaty:",
	    .stamps_free = "Gratis (pieczątki):",
	    .coupon_n = "Kupon %s:",
	    .paid_pts = "Zapłacono %lld pkt:",
	    .earned = "Punkty za zakup:",
	    .reason_base = "1 pkt za każdy pełny 1 zł",
	    .welcome = "Premia powitalna:",
	    .bonus = "Premia:",
	    .donated = "Przekazano na cel:",
	    .balance = "Saldo punktów:",
	    .expiring = "Wygasa %04d-%02d-%02d:",
	    .tier = "Poziom:",
	    .to_tier = "do %s: %s",
	    .stamp_card = "Pieczątki %s:",
	    .free_now = "Gratis w tym zakupie: %d",
	    .coupon = "KUPON",
	    .coupon_off = "-%d%% na kolejne zakupy",
	    .coupon_min = "przy zakupach od %s",
	    .coupon_until = "ważny do %04d-%02d-%02d włącznie",
	    .coupon_single = "jednorazowy",
	    .coupon_excl1 = "nie łączy się z innym kuponem",
	    .coupon_excl2 = "ani z płatnością punktami",
	    .coupon_code = "kod kuponu: %s",
	    .terms = "Regulamin: %s",
	    .how = "Jak policzono punkty:",
	    .base_for = " za %s",
	    .claim_pts = "Punkty do odebrania:",
	    .claim_until = "kod ważny do %04d-%02d-%02d",
	    .refund = "ZWROT",
	    .refund_no = "Zwrot nr:",
	    .of_receipt = "Do paragonu:",
	    .money_back = "Zwrot pieniędzy:",
	    .reversed = "Punkty odebrane:",
	    .recredited = "Punkty zwrócone:",
	    .expired = "Punkty wygasłe:",
	    .refund_card = "Saldo i historia na karcie:",
	    .pts = "pkt",
	    .currency = "zł",
	    .decimal = ',',
	},
    [PROGRAMME_LANG_EN] =
	{
	    .marking = "NON-FISCAL PRINTOUT",
	    .date = "Date:",
	    .receipt = "Receipt:",
	    .amount = "Purchase:",
	    .to_pay = "To pay:",
	    .stamps_free = "Free (stamps):",
	    .coupon_n = "Coupon %s:",
	    .paid_pts = "Paid %lld pts:",
	    .earned = "Points earned:",
	    .reason_base = "1 pt per full 1 zł",
	    .welcome = "Welcome bonus:",
	    .bonus = "Bonus:",
	    .donated = "Donated:",
	    .balance = "Points balance:",
	    .expiring = "Expiring %04d-%02d-%02d:",
	    .tier = "Tier:",
	    .to_tier = "to %s: %s",
	    .stamp_card = "Stamps %s:",
	    .free_now = "Free in this purchase: %d",
	    .coupon = "COUPON",
	    .coupon_off = "%d%% off your next purchase",
	    .coupon_min = "on a basket of %s or more",
	    .coupon_until = "valid until %04d-%02d-%02d inclusive",
	    .coupon_single = "single use",
	    .coupon_excl1 = "not combinable with other coupons",
	    .coupon_excl2 = "or with paying by points",
	    .coupon_code = "coupon code: %s",
	    .terms = "Terms: %s",
	    .how = "How the points were counted:",
	    .base_for = " for %s",
	    .claim_pts = "Points to claim:",
	    .claim_until = "code valid until %04d-%02d-%02d",
	    .refund = "REFUND",
	    .refund_no = "Refund no:",
	    .of_receipt = "Of receipt:",
	    .money_back = "Money back:",
	    .reversed = "Points taken back:",
	    .recredited = "Points given back:",
	    .expired = "Points expired:",
	    .refund_card = "Balance and history on the card:",
	    .pts = "pts",
	    .currency = "zł",
	    .decimal = '.',
	},
};

/* Each format label and the conversions its callers pass, in order. */
static const struct {
	size_t offset;
	const char *conversions;
} formats[] = {
    {offsetof(struct words, coupon_n), "s"},	   {offsetof(struct words, paid_pts), "lld"},
    {offsetof(struct words, expiring), "ddd"},	   {offsetof(struct words, to_tier), "ss"},
    {offsetof(struct words, stamp_card), "s"},	   {offsetof(struct words, free_now), "d"},
    {offsetof(struct words, coupon_off), "d"},	   {offsetof(struct words, coupon_min), "s"},
    {offsetof(struct words, coupon_until), "ddd"}, {offsetof(struct words, coupon_code), "s"},
    {offsetof(struct words, terms), "s"},	   {offsetof(struct words, base_for), "s"},
    {offsetof(struct words, claim_until), "ddd"},
};

/* The conversions of a printf format ("%04d-%s" -> "ds"); NULL for one this file does not use. */
static const char *conversions(const char *fmt, char *buf, size_t size)
{
	size_t n = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		if (*++p == '%')
			continue;
		while (*p == '0' || *p == '-' || (*p >= '1' && *p <= '9'))
			p++;
		size_t len = !strncmp(p, "lld", 3) ? 3 : (*p == 'd' || *p == 's') ? 1 : 0;
		if (!len || n + len >= size)
			return NULL;
		memcpy(buf + n, p, len);
		n += len;
		p += len - 1;
	}
	buf[n] = '\0';
	return buf;
}

int receipt_check_formats(char *err, size_t err_size)
{
	char got[32];
	for (int lang = 0; lang < PROGRAMME_LANG_MAX; lang++) {
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
			const char *fmt =
			    *(const char *const *) ((const char *) &words[lang] + formats[i].offset);
			const char *c = fmt ? conversions(fmt, got, sizeof(got)) : NULL;
			if (!c || strcmp(c, formats[i].conversions) != 0) {
				snprintf(err, err_size, "language %d: '%s' must convert '%s'", lang,
					 fmt ? fmt : "(null)", formats[i].conversions);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* The store-editable texts' defaults (templates), per language and slot. */
static const char *const defaults[PROGRAMME_LANG_MAX][RECEIPT_TEXT_MAX] = {
    [PROGRAMME_LANG_PL] =
	{
	    [RECEIPT_TEXT_HEADER] = "{address}",
	    [RECEIPT_TEXT_THANKS_NEW] = "Witamy w naszym klubie!\nDziękujemy za pierwsze zakupy.",
	    [RECEIPT_TEXT_THANKS_RETURNING] = "Dziękujemy za zakupy!\nMiło znów Cię widzieć.",
	    [RECEIPT_TEXT_THANKS_VIP] = "Dziękujemy za zakupy!\nJesteś naszym wyjątkowym "
					"klientem.",
	    [RECEIPT_TEXT_THANKS_DORMANT] = "Miło, że wracasz!\nBrakowało nam Ciebie.",
	    [RECEIPT_TEXT_THANKS_ANONYMOUS] = "Dziękujemy za zakupy!",
	    [RECEIPT_TEXT_CARD] = "Zeskanuj kod telefonem:\nTwoja karta, punkty i nagrody",
	    [RECEIPT_TEXT_SURVEY] = "Odpowiedz na pytanie: +{survey_pts} pkt",
	    [RECEIPT_TEXT_CLAIM] = "Nie masz karty? Zeskanuj kod\ni odbierz {points} pkt",
	    [RECEIPT_TEXT_FOOTER] = "Do zobaczenia!",
	},
    [PROGRAMME_LANG_EN] =
	{
	    [RECEIPT_TEXT_HEADER] = "{address}",
	    [RECEIPT_TEXT_THANKS_NEW] = "Welcome to our club!\nThank you for your first purchase.",
	    [RECEIPT_TEXT_THANKS_RETURNING] = "Thank you for shopping with us!\nGood to see you "
					      "again.",
	    [RECEIPT_TEXT_THANKS_VIP] = "Thank you for shopping with us!\nYou are one of our "
					"best customers.",
	    [RECEIPT_TEXT_THANKS_DORMANT] = "Welcome back!\nWe missed you.",
	    [RECEIPT_TEXT_THANKS_ANONYMOUS] = "Thank you for shopping with us!",
	    [RECEIPT_TEXT_CARD] = "Scan with your phone:\nyour card, points and rewards",
	    [RECEIPT_TEXT_SURVEY] = "Answer one question: +{survey_pts} pts",
	    [RECEIPT_TEXT_CLAIM] = "No card? Scan the code\nto claim your {points} pts",
	    [RECEIPT_TEXT_FOOTER] = "See you soon!",
	},
};

static const char *const text_names[RECEIPT_TEXT_MAX] = {
    [RECEIPT_TEXT_HEADER] = "header",
    [RECEIPT_TEXT_THANKS_NEW] = "thanks_new",
    [RECEIPT_TEXT_THANKS_RETURNING] = "thanks_returning",
    [RECEIPT_TEXT_THANKS_VIP] = "thanks_vip",
    [RECEIPT_TEXT_THANKS_DORMANT] = "thanks_dormant",
    [RECEIPT_TEXT_THANKS_ANONYMOUS] = "thanks_anonymous",
    [RECEIPT_TEXT_CARD] = "card",
    [RECEIPT_TEXT_SURVEY] = "survey",
    [RECEIPT_TEXT_CLAIM] = "claim",
    [RECEIPT_TEXT_FOOTER] = "footer",
};

/* The variables every text may use, in this order (values filled by text_vars()). */
enum { V_STORE, V_ADDRESS, V_RECEIPT, V_DATE, V_POINTS, V_BALANCE, V_TIER, V_SURVEY, V_CLAIM, V_N };
static const char *const var_names[V_N] = {
    "store", "address", "receipt", "date", "points", "balance", "tier", "survey_pts", "claim_date",
};

const char *receipt_text_name(enum receipt_text slot)
{
	return (unsigned) slot < RECEIPT_TEXT_MAX ? text_names[slot] : NULL;
}

const char *receipt_text_default(enum programme_lang lang, enum receipt_text slot)
{
	if ((unsigned) lang >= PROGRAMME_LANG_MAX || (unsigned) slot >= RECEIPT_TEXT_MAX)
		return NULL;
	return defaults[lang][slot];
}

int receipt_texts_set(struct receipt_texts *texts, const char *name, const char *src, char *err,
		      size_t err_size)
{
	struct template_var vars[V_N];
	for (int i = 0; i < V_N; i++)
		vars[i] = (struct template_var){.name = var_names[i]};
	for (int slot = 0; slot < RECEIPT_TEXT_MAX; slot++) {
		if (strcmp(name, text_names[slot]) != 0)
			continue;
		int r = template_check(src, vars, V_N, err, err_size);
		if (r < 0)
			return r;
		snprintf(texts->src[slot], sizeof(texts->src[slot]), "%s", src);
		return 0;
	}
	if (err && err_size) {
		size_t used = (size_t) snprintf(err, err_size, "unknown text '%s'; known:", name);
		for (int slot = 0; slot < RECEIPT_TEXT_MAX && used < err_size; slot++)
			used += (size_t) snprintf(err + used, err_size - used, " %s",
						  text_names[slot]);
	}
	return -ENOENT;
}

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

static const struct words *words_of(enum programme_lang lang)
{
	return &words[(unsigned) lang < PROGRAMME_LANG_MAX ? lang : PROGRAMME_LANG_PL];
}

/* "1 234,50 zł" (Polish) or "1 234.50 zł" (English). */
static void money_text(const struct words *w, int64_t gr, char *buf, size_t size)
{
	char num[40];
	money_format(gr, 1, num, sizeof(num));
	char *comma = strrchr(num, ',');
	if (comma)
		*comma = w->decimal;
	snprintf(buf, size, "%s %s", num, w->currency);
}

static void pts_text(const struct words *w, const char *sign, int64_t pts, char *buf, size_t size)
{
	snprintf(buf, size, "%s%lld %s", sign, (long long) pts, w->pts);
}

/* The last valid day, in Warsaw, of something valid until the instant until_us. */
static void last_day(int64_t until_us, struct wartime *ret)
{
	wartime_from_utc(until_us / 1000000 - 1, ret);
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
 * text as lines of at most `columns` characters, broken at spaces (a newline always breaks);
 * a word longer than a line is cut. Other control characters count as spaces. The first line
 * gets first_style, the others style. -E2BIG when a line does not fit the layout.
 */
static int wrapped(struct layout *l, enum layout_align align, unsigned first_style,
		   unsigned style, const char *text, int columns)
{
	char line[LAYOUT_TEXT_MAX];
	const char *p = text;
	int r, n_lines = 0;
	if (columns < 1)
		return -E2BIG;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\n') {
			p++;
			continue;
		}
		if (!*p)
			return 0;
		/* take characters while they fit; remember the last space among them */
		const char *q = p, *space = NULL;
		for (int w = 0; *q && *q != '\n' && w < columns; w++, q += char_len(q))
			if ((unsigned char) *q <= ' ')
				space = q;
		const char *end =
		    !*q || (unsigned char) *q <= ' ' ? q : space ? space : q;
		size_t n = 0;
		for (const char *c = p; c < end; c++) {
			if (n + 1 >= sizeof(line))
				return -E2BIG;
			line[n++] = (unsigned char) *c < ' ' ? ' ' : *c;
		}
		while (n && line[n - 1] == ' ')
			n--;
		line[n] = '\0';
		if ((r = layout_text(l, align, n_lines++ ? style : first_style, line)) < 0)
			return r;
		p = end;
	}
}

/* The variables' values for the texts of one receipt. */
struct text_vars {
	struct template_var v[V_N];
	char date[20], points[24], balance[24], survey[24], claim[16];
};

static void text_vars(struct text_vars *tv, const struct receipt_facts *f,
		      const struct receipt_store *store)
{
	struct wartime wt;
	wartime_from_utc(f->time_us / 1000000, &wt);
	snprintf(tv->date, sizeof(tv->date), "%04d-%02d-%02d", wt.year, wt.month, wt.day);
	snprintf(tv->points, sizeof(tv->points), "%lld", (long long) f->earned_pts);
	snprintf(tv->balance, sizeof(tv->balance), "%lld", (long long) f->balance_pts);
	snprintf(tv->survey, sizeof(tv->survey), "%lld", (long long) store->survey_pts);
	tv->claim[0] = '\0';
	if (f->claim_expires_us) {
		last_day(f->claim_expires_us, &wt);
		snprintf(tv->claim, sizeof(tv->claim), "%04d-%02d-%02d", wt.year, wt.month,
			 wt.day);
	}
	const char *values[V_N] = {
	    [V_STORE] = store->name,	 [V_ADDRESS] = store->address, [V_RECEIPT] = f->receipt_no,
	    [V_DATE] = tv->date,	 [V_POINTS] = tv->points,      [V_BALANCE] = tv->balance,
	    [V_TIER] = f->tier,		 [V_SURVEY] = tv->survey,      [V_CLAIM] = tv->claim,
	};
	for (int i = 0; i < V_N; i++)
		tv->v[i] = (struct template_var){.name = var_names[i], .value = values[i]};
}

/* Print the store's text for slot (or the default), wrapped and centred. */
static int text_block(struct layout *l, const struct receipt_store *store,
		      const struct text_vars *tv, enum receipt_text slot, unsigned first_style)
{
	char out[TEMPLATE_SRC_MAX * 2];
	const char *src = store->texts && store->texts->src[slot][0]
			      ? store->texts->src[slot]
			      : receipt_text_default(store->lang, slot);
	int r = template_render(src ? src : "", tv->v, V_N, out, sizeof(out));
	if (r < 0)
		return -E2BIG;
	return wrapped(l, LAYOUT_CENTER, first_style, 0, out, l->columns);
}

/* The store's name, its header text and the non-fiscal marking. */
static int store_header(struct layout *l, const struct receipt_store *store,
			const struct text_vars *tv)
{
	int r;
	TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD | LAYOUT_DOUBLE_HEIGHT, store->name));
	TRY(text_block(l, store, tv, RECEIPT_TEXT_HEADER, 0));
	TRY(layout_rule(l));
	TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD, words_of(store->lang)->marking));
	TRY(layout_rule(l));
	return 0;
}

/* "label   -12,34 zł" */
static int discount_line(struct layout *l, const struct words *w, const char *label, int64_t gr)
{
	char value[48];
	value[0] = '-';
	money_text(w, gr, value + 1, sizeof(value) - 1);
	return layout_pair(l, 0, label, value);
}

/* "x1,25" or "x1.25", the multiplier without trailing zeros. */
static void permille_text(const struct words *w, int32_t permille, char *buf, size_t size)
{
	int whole = permille / 1000, frac = permille % 1000, digits = 3;
	while (digits && frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	if (digits)
		snprintf(buf, size, "x%d%c%0*d", whole, w->decimal, digits, frac);
	else
		snprintf(buf, size, "x%d", whole);
}

/* The reason under the points: the base rate and each multiplier ("Gold x1,25"). */
static int reason_line(struct layout *l, const struct words *w, const struct receipt_facts *f)
{
	char line[LAYOUT_TEXT_MAX], mult[24];
	size_t used = (size_t) snprintf(line, sizeof(line), "(%s", w->reason_base);
	for (size_t i = 0; i < f->n_trace && used < sizeof(line); i++) {
		const struct rules_trace *s = &f->trace[i];
		if (!strcmp(s->rule, "base") || s->permille == 1000)
			continue;
		const char *colon = strchr(s->rule, ':');
		permille_text(w, s->permille, mult, sizeof(mult));
		used += (size_t) snprintf(line + used, sizeof(line) - used, ", %s %s",
					  colon ? colon + 1 : s->rule, mult);
	}
	if (used + 2 > sizeof(line))
		return -E2BIG;
	strcat(line, ")");
	return wrapped(l, LAYOUT_LEFT, 0, 0, line, l->columns);
}

/* How the points were counted: one line a step of the award trace. */
static int trace_block(struct layout *l, const struct words *w, const struct rules_trace *trace,
		       size_t n)
{
	char label[LAYOUT_TEXT_MAX], value[48], money[40], mult[24];
	int r;
	TRY(layout_text(l, LAYOUT_LEFT, LAYOUT_BOLD, w->how));
	for (size_t i = 0; i < n; i++) {
		const struct rules_trace *s = &trace[i];
		if (!strcmp(s->rule, "base")) {
			money_text(w, s->base_gr, money, sizeof(money));
			snprintf(label, sizeof(label), w->base_for, money);
			pts_text(w, "", s->points, value, sizeof(value));
		} else if (s->permille != 1000) {
			permille_text(w, s->permille, mult, sizeof(mult));
			snprintf(label, sizeof(label), " %s %s", s->rule, mult);
			pts_text(w, "+", s->points, value, sizeof(value));
		} else {
			snprintf(label, sizeof(label), " %s", s->rule);
			pts_text(w, "+", s->points, value, sizeof(value));
		}
		TRY(layout_pair(l, 0, label, value));
	}
	return 0;
}

/* A bar of `cells` cells, filled in proportion have/of: "[#####.....]". */
static void bar_text(int64_t have, int64_t of, int cells, char *buf, size_t size)
{
	int64_t filled = of > 0 ? have * cells / of : cells;
	if (filled < 0)
		filled = 0;
	if (filled > cells)
		filled = cells;
	size_t n = 0;
	if (size < (size_t) cells + 3)
		cells = (int) size - 3;
	buf[n++] = '[';
	for (int i = 0; i < cells; i++)
		buf[n++] = i < filled ? '#' : '.';
	buf[n++] = ']';
	buf[n] = '\0';
}

/* The tier and how far the next one is, with a progress bar. */
static int tier_block(struct layout *l, const struct words *w, const struct receipt_facts *f)
{
	char value[LAYOUT_TEXT_MAX], money[40], bar[LAYOUT_TEXT_MAX];
	int r;
	TRY(layout_pair(l, 0, w->tier, f->tier));
	if (!f->next_tier || !*f->next_tier)
		return 0;
	money_text(w, f->to_next_tier_gr, money, sizeof(money));
	snprintf(value, sizeof(value), w->to_tier, f->next_tier, money);
	TRY(layout_text(l, LAYOUT_RIGHT, 0, value));
	int cells = l->columns - 2 > 30 ? 30 : l->columns - 2;
	bar_text(f->tier_span_gr - f->to_next_tier_gr, f->tier_span_gr, cells, bar, sizeof(bar));
	return layout_text(l, LAYOUT_CENTER, 0, bar);
}

/* A stamp card: "Stamps coffee: 3/10" and its row "[x][x][x][ ]...", the free one last. */
static int stamps_block(struct layout *l, const struct words *w, const struct receipt_stamps *s)
{
	char label[LAYOUT_TEXT_MAX], value[24], row[LAYOUT_TEXT_MAX];
	int r;
	snprintf(label, sizeof(label), w->stamp_card, s->name);
	snprintf(value, sizeof(value), "%d/%d", s->progress, s->every);
	TRY(layout_pair(l, 0, label, value));
	int cell = s->every * 3 <= l->columns ? 3 : 1;
	if (s->every * cell > l->columns || s->every < 1)
		return 0;
	size_t n = 0;
	for (int i = 0; i < s->every && n + 4 < sizeof(row); i++) {
		char mark = i < s->progress ? 'x' : i == s->every - 1 ? '+' : ' ';
		if (cell == 3) {
			row[n++] = '[';
			row[n++] = mark;
			row[n++] = ']';
		} else {
			row[n++] = mark == ' ' ? '.' : mark;
		}
	}
	row[n] = '\0';
	TRY(layout_text(l, LAYOUT_CENTER, 0, row));
	if (s->free_items > 0) {
		snprintf(row, sizeof(row), w->free_now, s->free_items);
		TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD, row));
	}
	return 0;
}

/* A coupon the sale issued: value, minimum basket, last day, exclusions, terms, QR, code. */
static int coupon_block(struct layout *l, const struct words *w, const struct receipt_store *store,
			const struct receipt_coupon *c)
{
	char line[LAYOUT_TEXT_MAX], money[40];
	struct wartime last;
	int r;
	last_day(c->expires_us, &last);
	TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD | LAYOUT_DOUBLE_HEIGHT, w->coupon));
	snprintf(line, sizeof(line), w->coupon_off, (int) (c->percent_bp / 100));
	TRY(wrapped(l, LAYOUT_CENTER, LAYOUT_BOLD, LAYOUT_BOLD, line, l->columns));
	money_text(w, c->min_basket_gr, money, sizeof(money));
	snprintf(line, sizeof(line), w->coupon_min, money);
	TRY(wrapped(l, LAYOUT_CENTER, 0, 0, line, l->columns));
	snprintf(line, sizeof(line), w->coupon_until, last.year, last.month, last.day);
	TRY(wrapped(l, LAYOUT_CENTER, 0, 0, line, l->columns));
	snprintf(line, sizeof(line), "%s, %s %s", w->coupon_single, w->coupon_excl1,
		 w->coupon_excl2);
	TRY(wrapped(l, LAYOUT_CENTER, 0, 0, line, l->columns));
	if (store->terms_url && *store->terms_url) {
		snprintf(line, sizeof(line), w->terms, url_readable(store->terms_url));
		TRY(wrapped(l, LAYOUT_CENTER, 0, 0, line, l->columns));
	}
	if (c->qr_url && *c->qr_url)
		TRY(layout_qr(l, c->qr_url));
	if (c->id && *c->id) {
		snprintf(line, sizeof(line), w->coupon_code, c->id);
		TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD, line));
	}
	return layout_rule(l);
}

static enum receipt_text greeting_text(const struct receipt_facts *f, bool anonymous)
{
	if (anonymous)
		return RECEIPT_TEXT_THANKS_ANONYMOUS;
	switch (f->greeting) {
	case RECEIPT_GREET_NEW:
		return RECEIPT_TEXT_THANKS_NEW;
	case RECEIPT_GREET_RETURNING:
		return RECEIPT_TEXT_THANKS_RETURNING;
	case RECEIPT_GREET_VIP:
		return RECEIPT_TEXT_THANKS_VIP;
	case RECEIPT_GREET_DORMANT:
		return RECEIPT_TEXT_THANKS_DORMANT;
	case RECEIPT_GREET_AUTO:
	case RECEIPT_GREET_MAX:
		break;
	}
	return f->first_visit ? RECEIPT_TEXT_THANKS_NEW : RECEIPT_TEXT_THANKS_RETURNING;
}

/* The money part: date, number, amount, each discount and what is left to pay. */
static int money_block(struct layout *l, const struct words *w, const struct receipt_facts *f)
{
	char line[LAYOUT_TEXT_MAX], value[64];
	struct wartime wt;
	int r;
	wartime_from_utc(f->time_us / 1000000, &wt);
	snprintf(value, sizeof(value), "%04d-%02d-%02d %02d:%02d", wt.year, wt.month, wt.day,
		 wt.hour, wt.minute);
	TRY(layout_pair(l, 0, w->date, value));
	TRY(layout_pair(l, 0, w->receipt, f->receipt_no));
	money_text(w, f->amount_gr, value, sizeof(value));
	TRY(layout_pair(l, 0, w->amount, value));
	if (!f->stamp_discount_gr && !f->coupon_discount_gr && !f->points_discount_gr)
		return 0;
	int64_t paid = f->amount_gr;
	if (f->stamp_discount_gr) {
		TRY(discount_line(l, w, w->stamps_free, f->stamp_discount_gr));
		paid -= f->stamp_discount_gr;
	}
	if (f->coupon_discount_gr) {
		snprintf(line, sizeof(line), w->coupon_n, f->coupon_used ? f->coupon_used : "");
		TRY(discount_line(l, w, line, f->coupon_discount_gr));
		paid -= f->coupon_discount_gr;
	}
	if (f->points_discount_gr) {
		snprintf(line, sizeof(line), w->paid_pts, (long long) f->redeemed_pts);
		TRY(discount_line(l, w, line, f->points_discount_gr));
		paid -= f->points_discount_gr;
	}
	money_text(w, paid, value, sizeof(value));
	return layout_pair(l, LAYOUT_BOLD, w->to_pay, value);
}

/* The member's points: earned and why, bonus, donation, balance, next expiry, tier, stamps. */
static int points_block(struct layout *l, const struct words *w, const struct receipt_facts *f)
{
	char line[LAYOUT_TEXT_MAX], value[64];
	struct wartime wt;
	int r;
	pts_text(w, "+", f->earned_pts, value, sizeof(value));
	TRY(layout_pair(l, LAYOUT_BOLD, w->earned, value));
	TRY(reason_line(l, w, f));
	if (f->explain && f->n_trace)
		TRY(trace_block(l, w, f->trace, f->n_trace));
	if (f->bonus_pts) {
		pts_text(w, "+", f->bonus_pts, value, sizeof(value));
		TRY(layout_pair(l, LAYOUT_BOLD, f->first_visit ? w->welcome : w->bonus, value));
	}
	if (f->donated_pts) {
		pts_text(w, "-", f->donated_pts, value, sizeof(value));
		TRY(layout_pair(l, 0, w->donated, value));
	}
	pts_text(w, "", f->balance_pts, value, sizeof(value));
	TRY(layout_pair(l, LAYOUT_BOLD, w->balance, value));
	if (f->next_expiry_us && f->next_expiry_pts) {
		last_day(f->next_expiry_us, &wt);
		snprintf(line, sizeof(line), w->expiring, wt.year, wt.month, wt.day);
		pts_text(w, "", f->next_expiry_pts, value, sizeof(value));
		TRY(layout_pair(l, 0, line, value));
	}
	if (f->tier && *f->tier)
		TRY(tier_block(l, w, f));
	for (size_t i = 0; i < f->n_stamps && i < RECEIPT_STAMPS_MAX; i++)
		TRY(stamps_block(l, w, &f->stamps[i]));
	return 0;
}

int receipt_build(const struct receipt_facts *f, const struct receipt_store *store, int columns,
		  struct layout *l)
{
	char url[LAYOUT_TEXT_MAX], value[64];
	const struct words *w = words_of(store->lang);
	bool anonymous = !f->card_code || !*f->card_code;
	struct text_vars tv;
	int r = 0;

	layout_init(l, columns);
	if (!anonymous && receipt_card_url(store, f->card_code, url, sizeof(url)) < 0)
		return -E2BIG;
	if (f->message && strlen(f->message) > RECEIPT_MESSAGE_MAX)
		return -E2BIG;
	text_vars(&tv, f, store);

	TRY(store_header(l, store, &tv));
	TRY(text_block(l, store, &tv, greeting_text(f, anonymous), LAYOUT_BOLD));
	if (!anonymous && f->message && *f->message)
		TRY(wrapped(l, LAYOUT_CENTER, 0, 0, f->message, columns));
	TRY(layout_feed(l, 1));
	TRY(money_block(l, w, f));
	if (anonymous) {
		pts_text(w, "", f->earned_pts, value, sizeof(value));
		TRY(layout_pair(l, LAYOUT_BOLD, w->claim_pts, value));
	} else {
		TRY(points_block(l, w, f));
	}
	TRY(layout_rule(l));
	for (size_t i = 0; !anonymous && i < f->n_coupons && i < RECEIPT_COUPONS_MAX; i++)
		if (f->coupons[i].percent_bp > 0)
			TRY(coupon_block(l, w, store, &f->coupons[i]));
	if (anonymous) {
		if (f->claim_qr_url && *f->claim_qr_url) {
			struct wartime last;
			TRY(text_block(l, store, &tv, RECEIPT_TEXT_CLAIM, 0));
			TRY(layout_qr(l, f->claim_qr_url));
			last_day(f->claim_expires_us, &last);
			snprintf(value, sizeof(value), w->claim_until, last.year, last.month,
				 last.day);
			TRY(layout_text(l, LAYOUT_CENTER, 0, value));
			TRY(layout_rule(l));
		}
	} else {
		TRY(text_block(l, store, &tv, RECEIPT_TEXT_CARD, 0));
		TRY(layout_qr(l, f->card_qr_url && *f->card_qr_url ? f->card_qr_url : url));
		TRY(layout_text(l, LAYOUT_CENTER, 0, url_readable(url)));
		if (store->survey_pts > 0)
			TRY(text_block(l, store, &tv, RECEIPT_TEXT_SURVEY, 0));
		TRY(layout_rule(l));
	}
	TRY(text_block(l, store, &tv, RECEIPT_TEXT_FOOTER, 0));
	TRY(layout_cut(l));
	return 0;
}

int receipt_build_refund(const struct receipt_refund_facts *f, const struct receipt_store *store,
			 int columns, struct layout *l)
{
	char value[64], url[LAYOUT_TEXT_MAX];
	const struct words *w = words_of(store->lang);
	struct receipt_facts sale = {.receipt_no = f->receipt_no, .time_us = f->time_us};
	struct text_vars tv;
	struct wartime wt;
	int r = 0;

	layout_init(l, columns);
	bool card = f->card_code && *f->card_code;
	if (card && receipt_card_url(store, f->card_code, url, sizeof(url)) < 0)
		return -E2BIG;
	wartime_from_utc(f->time_us / 1000000, &wt);
	text_vars(&tv, &sale, store);

	TRY(store_header(l, store, &tv));
	TRY(layout_text(l, LAYOUT_CENTER, LAYOUT_BOLD | LAYOUT_DOUBLE_HEIGHT, w->refund));
	TRY(layout_feed(l, 1));
	snprintf(value, sizeof(value), "%04d-%02d-%02d %02d:%02d", wt.year, wt.month, wt.day,
		 wt.hour, wt.minute);
	TRY(layout_pair(l, 0, w->date, value));
	TRY(layout_pair(l, 0, w->refund_no, f->receipt_no));
	TRY(layout_pair(l, 0, w->of_receipt, f->of_receipt_no));
	money_text(w, f->money_back_gr, value, sizeof(value));
	TRY(layout_pair(l, LAYOUT_BOLD, w->money_back, value));
	if (f->reversed_pts) {
		pts_text(w, "-", f->reversed_pts, value, sizeof(value));
		TRY(layout_pair(l, 0, w->reversed, value));
	}
	if (f->recredited_pts) {
		pts_text(w, "+", f->recredited_pts, value, sizeof(value));
		TRY(layout_pair(l, 0, w->recredited, value));
	}
	if (f->expired_pts) {
		pts_text(w, "-", f->expired_pts, value, sizeof(value));
		TRY(layout_pair(l, 0, w->expired, value));
	}
	TRY(layout_rule(l));
	if (card) {
		TRY(layout_text(l, LAYOUT_CENTER, 0, w->refund_card));
		TRY(layout_qr(l, f->card_qr_url && *f->card_qr_url ? f->card_qr_url : url));
		TRY(layout_text(l, LAYOUT_CENTER, 0, url_readable(url)));
	}
	TRY(layout_cut(l));
	return 0;
}
