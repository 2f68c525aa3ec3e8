/*
 * rules: the programme applied to a sale or a refund (see rules.h and docs/rules.md). Integer
 * arithmetic only; every division rounds down unless a comment says otherwise.
 */
#include "rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "wartime.h"

#define US_PER_S   INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_S)

static const char *const kind_names[RULES_EV_MAX] = {
    [RULES_EV_EARN] = "earn",
    [RULES_EV_BONUS] = "bonus",
    [RULES_EV_REDEEM] = "redeem",
    [RULES_EV_DONATE] = "donate",
    [RULES_EV_EXPIRE] = "expire",
    [RULES_EV_STAMP] = "stamp",
    [RULES_EV_COUPON_USE] = "coupon_use",
    [RULES_EV_COUPON_ISSUE] = "coupon_issue",
    [RULES_EV_REFUND] = "refund",
    [RULES_EV_REVERSE] = "reverse",
    [RULES_EV_RECREDIT] = "recredit",
};

const char *rules_event_kind_name(enum rules_event_kind kind)
{
	return (unsigned) kind < RULES_EV_MAX ? kind_names[kind] : "?";
}

static int64_t div_floor(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t rules_lot_expiry_us(const struct programme *prog, int64_t earned_us)
{
	int64_t s = div_floor(earned_us, US_PER_S);
	struct wartime w;
	wartime_utc(s, &w);
	return wartime_utc_from_civil(w.year, w.month + prog->expiry_months, w.day, w.hour,
				      w.minute, w.second) *
		   US_PER_S +
	       (earned_us - s * US_PER_S);
}

int64_t rules_warsaw_day_start_us(int64_t utc_us, int days)
{
	struct wartime w, x;
	wartime_from_utc(div_floor(utc_us, US_PER_S), &w);
	int64_t civil = wartime_utc_from_civil(w.year, w.month, w.day + days, 0, 0, 0);
	/* midnight is never inside a summer-time change (those are at 02:00/03:00 local) */
	for (int off = 3600; off <= 7200; off += 3600) {
		wartime_from_utc(civil - off, &x);
		if (x.utc_offset_s == off && x.hour == 0 && x.minute == 0)
			return (civil - off) * US_PER_S;
	}
	return (civil - 3600) * US_PER_S;
}

/* ---- points lots ---- */

/* Take pts (<= balance) from the oldest lots first, partly from the last one touched. */
static void lots_take(struct rules_member *m, int64_t pts)
{
	size_t gone = 0;
	m->balance_pts -= pts;
	while (pts > 0 && gone < m->n_lots) {
		struct rules_lot *l = &m->lots[gone];
		if (l->pts <= pts) {
			pts -= l->pts;
			gone++;
		} else {
			l->pts -= pts;
			pts = 0;
		}
	}
	if (gone) {
		memmove(m->lots, m->lots + gone, (m->n_lots - gone) * sizeof(m->lots[0]));
		m->n_lots -= gone;
	}
}

/*
 * Credit pts as a lot earned at t, kept in order; a lot of the same time takes them. When every
 * slot is used the points join the nearest older lot (or the oldest), so they may expire sooner:
 * the caller keeps members below RULES_LOTS_MAX by booking one lot per sale.
 */
static void lots_add(struct rules_member *m, int64_t t, int64_t pts)
{
	size_t pos = m->n_lots;
	while (pos > 0 && m->lots[pos - 1].earned_us > t)
		pos--;
	m->balance_pts += pts;
	if (pos > 0 && m->lots[pos - 1].earned_us == t) {
		m->lots[pos - 1].pts += pts;
		return;
	}
	if (m->n_lots == RULES_LOTS_MAX) {
		m->lots[pos > 0 ? pos - 1 : 0].pts += pts;
		return;
	}
	memmove(m->lots + pos + 1, m->lots + pos, (m->n_lots - pos) * sizeof(m->lots[0]));
	m->lots[pos] = (struct rules_lot){.earned_us = t, .pts = pts};
	m->n_lots++;
}

/* Remove the lots expired at now; returns their points. */
static int64_t lots_expire(const struct programme *prog, struct rules_member *m, int64_t now_us)
{
	size_t n = 0;
	int64_t pts = 0;
	while (n < m->n_lots && rules_lot_expiry_us(prog, m->lots[n].earned_us) <= now_us)
		pts += m->lots[n++].pts;
	if (n) {
		memmove(m->lots, m->lots + n, (m->n_lots - n) * sizeof(m->lots[0]));
		m->n_lots -= n;
		m->balance_pts -= pts;
	}
	return pts;
}

static int check_member(const struct rules_member *m)
{
	if (m->n_lots > RULES_LOTS_MAX || m->n_coupons > RULES_COUPONS_MAX || m->balance_pts < 0)
		return -EINVAL;
	int64_t sum = 0;
	for (size_t i = 0; i < m->n_lots; i++) {
		if (m->lots[i].pts <= 0 || (i && m->lots[i].earned_us < m->lots[i - 1].earned_us))
			return -EINVAL;
		sum += m->lots[i].pts;
	}
	return sum == m->balance_pts ? 0 : -EINVAL;
}

/* ---- small writers ---- */

static void set_str(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	while (src && n + 1 < size && src[n])
		n++;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static void add_event(struct rules_event *evs, size_t *n, enum rules_event_kind kind,
		      int64_t member_id, int64_t pts, int64_t amount_gr, int64_t lot_us,
		      const char *rule, const char *ref)
{
	if (*n >= RULES_EVENTS_MAX)
		return; /* cannot happen: RULES_EVENTS_MAX covers every rule once */
	struct rules_event *e = &evs[(*n)++];
	e->kind = kind;
	e->member_id = member_id;
	e->points = pts;
	e->amount_gr = amount_gr;
	e->lot_us = lot_us;
	e->items = e->progress = 0;
	set_str(e->rule, sizeof(e->rule), rule);
	set_str(e->ref, sizeof(e->ref), ref);
}

static void add_trace(struct rules_result *r, const char *rule, int64_t base_gr, int64_t base_pts,
		      int32_t permille, int64_t pts, int64_t dropped)
{
	if (r->n_trace >= RULES_TRACE_MAX)
		return;
	struct rules_trace *t = &r->trace[r->n_trace++];
	set_str(t->rule, sizeof(t->rule), rule);
	t->base_gr = base_gr;
	t->base_pts = base_pts;
	t->permille = permille;
	t->points = pts;
	t->dropped = dropped;
}

static void appendf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	if (len + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* "1,25" for 1250 per-mille */
static void fmt_permille(char *buf, size_t size, int32_t pm)
{
	int frac = pm % 1000, digits = 3;
	while (frac && frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	if (frac)
		snprintf(buf, size, "%d,%0*d", pm / 1000, digits, frac);
	else
		snprintf(buf, size, "%d", pm / 1000);
}

static int refuse(struct rules_result *r, const struct rules_member *state, enum rules_refusal why,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct rules_result *r, const struct rules_member *state, enum rules_refusal why,
		  const char *fmt, ...)
{
	va_list ap;
	r->refusal = why;
	va_start(ap, fmt);
	vsnprintf(r->refusal_text, sizeof(r->refusal_text), fmt, ap);
	va_end(ap);
	r->n_events = 0;
	r->n_trace = 0;
	r->member = *state;
	return 0;
}

/* ---- the sale ---- */

static bool promo_active(const struct programme_promo *p, int64_t now_us)
{
	if (p->start_us && (now_us < p->start_us || now_us >= p->end_us))
		return false;
	if (!p->weekdays)
		return true;
	struct wartime w;
	wartime_from_utc(div_floor(now_us, US_PER_S), &w);
	int minute = w.hour * 60 + w.minute;
	return (p->weekdays & (1u << w.weekday)) && minute >= p->from_minute &&
	       minute < p->to_minute;
}

static bool line_earns(const struct rules_line *l)
{
	return !l->tax_free && !l->gift_card;
}

/* Extra points of a multiplier on eligible grosze: floor(floor(gr/gpp) * (pm-1000) / 1000). */
static int64_t multiplied(struct rules_result *r, const char *rule, int64_t gr, int64_t gpp,
			  int32_t pm)
{
	int64_t base = gr / gpp, milli = base * (pm - 1000);
	int64_t extra = milli / 1000;
	if (gr > 0)
		add_trace(r, rule, gr, base, pm, extra, milli % 1000);
	return extra;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool birthday_today(const struct rules_member *m, const struct wartime *w)
{
	if (m->birth_month == w->month && m->birth_day == w->day)
		return true;
	return m->birth_month == 2 && m->birth_day == 29 && !leap(w->year) && w->month == 2 &&
	       w->day == 28;
}

static void coupon_terms(const struct programme *prog, struct rules_result *r)
{
	const struct rules_coupon *c = &r->coupon;
	char min[32];
	money_format(c->min_basket_gr, 1, min, sizeof(min));
	r->coupon_text[0] = '\0';
	appendf(r->coupon_text, sizeof(r->coupon_text),
		"Kupon %s: %d%s%.*d%% rabatu na nastepne zakupy, min. koszyk %s zl, wazny do "
		"%04d-%02d-%02d wlacznie, jednorazowy, %s. Regulamin: %s",
		c->id, c->percent_bp / 100, c->percent_bp % 100 ? "," : "",
		c->percent_bp % 100 ? 2 : 0, c->percent_bp % 100 ? c->percent_bp % 100 : 0, min,
		r->coupon_year, r->coupon_month, r->coupon_day,
		c->combinable ? "laczy sie z wymiana punktow"
			      : "nie laczy sie z innymi promocjami ani z wymiana punktow",
		prog->terms_url);
}

/* Issue the coupon due after this sale, if any and within the caps. */
static void issue_coupon(const struct programme *prog, const struct rules_member *before,
			 struct rules_member *m, const struct rules_request *req, int64_t now_us,
			 struct rules_result *r)
{
	const struct programme_coupon_rule *rule = NULL;
	const char *campaign = NULL;
	int32_t issued_today = 0;
	if (!before->first_purchase_done && prog->first_purchase.enabled) {
		rule = &prog->first_purchase;
		campaign = "first_purchase";
		issued_today = req->issued_today_first_purchase;
	} else if (before->first_purchase_done && prog->reactivation.enabled &&
		   before->last_visit_us > 0 &&
		   now_us - before->last_visit_us >= prog->reactivation.dormant_days * US_PER_DAY) {
		rule = &prog->reactivation;
		campaign = "reactivation";
		issued_today = req->issued_today_reactivation;
	}
	if (!rule || !req->new_coupon_id || !req->new_coupon_id[0])
		return;
	if (before->last_coupon_us > 0 &&
	    now_us - before->last_coupon_us < prog->coupon_member_interval_days * US_PER_DAY) {
		r->coupon_withheld = "member frequency cap";
		return;
	}
	if (rule->daily_cap > 0 && issued_today >= rule->daily_cap) {
		r->coupon_withheld = "campaign daily cap";
		return;
	}
	/* make room: drop used and expired coupons */
	size_t k = 0;
	for (size_t i = 0; i < m->n_coupons; i++)
		if (!m->coupons[i].used && m->coupons[i].expires_us > now_us)
			m->coupons[k++] = m->coupons[i];
	m->n_coupons = k;
	if (m->n_coupons == RULES_COUPONS_MAX) {
		r->coupon_withheld = "member holds the most coupons allowed";
		return;
	}
	struct rules_coupon *c = &r->coupon;
	memset(c, 0, sizeof(*c));
	set_str(c->id, sizeof(c->id), req->new_coupon_id);
	set_str(c->campaign, sizeof(c->campaign), campaign);
	c->percent_bp = rule->percent_bp;
	c->min_basket_gr = rule->min_basket_gr;
	c->combinable = rule->combinable;
	/* valid through the printed day valid_days after today, Warsaw time */
	c->expires_us = rules_warsaw_day_start_us(now_us, rule->valid_days + 1);
	struct wartime w;
	wartime_from_utc(div_floor(c->expires_us, US_PER_S) - 1, &w);
	r->coupon_year = w.year;
	r->coupon_month = w.month;
	r->coupon_day = w.day;
	r->coupon_issued = true;
	m->coupons[m->n_coupons++] = *c;
	m->last_coupon_us = now_us;
	add_event(r->events, &r->n_events, RULES_EV_COUPON_ISSUE, m->member_id, 0, 0, 0, campaign,
		  c->id);
	coupon_terms(prog, r);
}

/* Discount d split over the lines' amounts in proportion (rounded down, remainder in order). */
static void allocate(const int64_t *amount, int64_t *share, size_t n, int64_t total, int64_t d)
{
	int64_t given = 0;
	for (size_t i = 0; i < n; i++) {
		share[i] = total > 0 ? d * amount[i] / total : 0;
		given += share[i];
	}
	for (size_t i = 0; i < n && given < d; i++) {
		if (share[i] < amount[i]) {
			share[i]++;
			given++;
		}
	}
}

int rules_apply(const struct programme *prog, const struct rules_member *state,
		const struct rules_basket *basket, const struct rules_request *req, int64_t now_us,
		struct rules_result *ret)
{
	if (!prog || !state || !basket || !req || !ret || prog->earn_gr_per_point <= 0 ||
	    basket->n_lines > RULES_LINES_MAX || (basket->n_lines && !basket->lines) ||
	    req->redeem_pts < 0 || req->donate_pts < 0 || check_member(state) < 0 ||
	    (req->survey_id && strlen(req->survey_id) > RULES_COUPON_ID_MAX))
		return -EINVAL;

	int64_t line_gr[RULES_LINES_MAX], net[RULES_LINES_MAX], share[RULES_LINES_MAX];
	int64_t basket_gr = 0, goods_gr = 0;
	for (size_t i = 0; i < basket->n_lines; i++) {
		const struct rules_line *l = &basket->lines[i];
		if (l->qty < 1 || l->qty > RULES_QTY_MAX || l->unit_gr < 0 ||
		    l->unit_gr > MONEY_MAX_GR)
			return -EINVAL;
		line_gr[i] = l->qty * l->unit_gr;
		basket_gr += line_gr[i];
		goods_gr += l->gift_card ? 0 : line_gr[i];
	}
	if (basket_gr > MONEY_MAX_GR)
		return -EINVAL;

	struct rules_result *r = ret;
	r->refusal = RULES_OK;
	r->refusal_text[0] = '\0';
	r->n_events = r->n_trace = 0;
	r->earn_text[0] = '\0';
	r->coupon_issued = false;
	r->coupon_text[0] = '\0';
	r->coupon_withheld = NULL;
	r->member = *state;
	struct rules_member *m = &r->member;
	const bool sale = basket->n_lines > 0;
	const int64_t gpp = prog->earn_gr_per_point;

	r->balance_before_pts = state->balance_pts;
	r->basket_gr = basket_gr;
	r->expired_pts = lots_expire(prog, m, now_us);
	if (r->expired_pts)
		add_event(r->events, &r->n_events, RULES_EV_EXPIRE, m->member_id, -r->expired_pts,
			  0, 0, "expiry", "");

	/* stamp cards: every Nth item of the category is free, counting the free one */
	int64_t stamp_gr = 0;
	for (size_t i = 0; i < basket->n_lines; i++)
		net[i] = line_gr[i];
	for (size_t k = 0; k < prog->n_stamps; k++) {
		const struct programme_stamp_card *card = &prog->stamps[k];
		int64_t count = m->stamps[k], free_gr = 0, counted = 0;
		int32_t free_n = 0;
		for (size_t i = 0; i < basket->n_lines; i++) {
			const struct rules_line *l = &basket->lines[i];
			if (l->gift_card || strcmp(l->category, card->category) != 0)
				continue;
			counted += l->qty;
			int64_t f = (count + l->qty) / card->every;
			count = (count + l->qty) % card->every;
			net[i] -= f * l->unit_gr;
			free_gr += f * l->unit_gr;
			free_n += (int32_t) f;
		}
		m->stamps[k] = (int32_t) count;
		r->stamps_free[k] = free_n;
		stamp_gr += free_gr;
		if (counted) {
			add_event(r->events, &r->n_events, RULES_EV_STAMP, m->member_id, 0, free_gr,
				  0, card->id, card->id);
			r->events[r->n_events - 1].items = counted;
			r->events[r->n_events - 1].progress = count;
		}
	}
	r->stamp_discount_gr = stamp_gr;
	int64_t discountable = goods_gr - stamp_gr;

	/* coupon presented */
	int64_t coupon_gr = 0;
	if (req->coupon_id && req->coupon_id[0]) {
		struct rules_coupon *c = NULL;
		for (size_t i = 0; i < m->n_coupons && !c; i++)
			if (strcmp(m->coupons[i].id, req->coupon_id) == 0)
				c = &m->coupons[i];
		if (!c)
			return refuse(r, state, RULES_REFUSED_COUPON_UNKNOWN,
				      "coupon %.32s is not this member's", req->coupon_id);
		if (c->used)
			return refuse(r, state, RULES_REFUSED_COUPON_USED,
				      "coupon %s was already used", c->id);
		if (now_us >= c->expires_us)
			return refuse(r, state, RULES_REFUSED_COUPON_EXPIRED,
				      "coupon %s has expired", c->id);
		if (goods_gr < c->min_basket_gr) {
			char min[32];
			money_format(c->min_basket_gr, 0, min, sizeof(min));
			return refuse(r, state, RULES_REFUSED_COUPON_MIN_BASKET,
				      "coupon %s needs a basket of at least %s PLN", c->id, min);
		}
		if (!c->combinable && req->redeem_pts > 0)
			return refuse(r, state, RULES_REFUSED_COUPON_NOT_COMBINABLE,
				      "coupon %s cannot be combined with points: use one or the "
				      "other",
				      c->id);
		coupon_gr = discountable * c->percent_bp / 10000;
		c->used = true;
		add_event(r->events, &r->n_events, RULES_EV_COUPON_USE, m->member_id, 0, coupon_gr,
			  0, c->campaign, c->id);
	}
	r->coupon_discount_gr = coupon_gr;

	/* points redemption */
	int64_t points_gr = 0;
	r->terminal_offline_redeemed_pts = req->terminal_offline_redeemed_pts;
	if (req->redeem_pts > 0) {
		int64_t pts = req->redeem_pts, unit = prog->redeem_unit_pts;
		if (pts < prog->redeem_min_pts)
			return refuse(r, state, RULES_REFUSED_REDEEM_MIN,
				      "at least %lld points can be redeemed",
				      (long long) prog->redeem_min_pts);
		if (pts % unit)
			return refuse(r, state, RULES_REFUSED_REDEEM_STEP,
				      "points are redeemed in steps of %lld", (long long) unit);
		if (pts > m->balance_pts)
			return refuse(r, state, RULES_REFUSED_REDEEM_BALANCE,
				      "the member has only %lld points",
				      (long long) m->balance_pts);
		int64_t max_gr = (discountable - coupon_gr) * prog->redeem_max_basket_bp / 10000;
		points_gr = pts / unit * prog->redeem_unit_gr;
		if (points_gr > max_gr)
			return refuse(r, state, RULES_REFUSED_REDEEM_BASKET,
				      "at most %lld points on this basket (points pay at most %d%% "
				      "of it)",
				      (long long) (max_gr / prog->redeem_unit_gr * unit),
				      prog->redeem_max_basket_bp / 100);
		if (req->offline) {
			/* the server's grant where there is one, else the programme's limits */
			int64_t max_age_s = req->budget_max_age_s > 0 ? req->budget_max_age_s
								      : prog->offline_max_age_s;
			int64_t budget = req->budget_granted ? req->budget_terminal_pts
							     : prog->offline_terminal_budget_pts;
			int64_t cap = req->budget_granted ? req->budget_member_cap_pts
							  : prog->offline_member_cap_pts;
			if (now_us - req->last_sync_us > max_age_s * US_PER_S)
				return refuse(r, state, RULES_REFUSED_OFFLINE_STALE,
					      "offline too long to redeem points: connect the "
					      "terminal first");
			if (req->terminal_offline_redeemed_pts + pts > budget)
				return refuse(r, state, RULES_REFUSED_OFFLINE_BUDGET,
					      "offline: this terminal's redemption budget is used "
					      "up (%lld points left)",
					      (long long) (budget - req->terminal_offline_redeemed_pts));
			if (m->offline_redeemed_pts + pts > cap)
				return refuse(r, state, RULES_REFUSED_OFFLINE_MEMBER_CAP,
					      "offline: the member may redeem %lld more points",
					      (long long) (cap - m->offline_redeemed_pts));
			m->offline_redeemed_pts += pts;
			r->terminal_offline_redeemed_pts += pts;
		}
		lots_take(m, pts);
		add_event(r->events, &r->n_events, RULES_EV_REDEEM, m->member_id, -pts, points_gr,
			  0, "redemption", "");
	}
	r->redeemed_pts = req->redeem_pts;
	r->points_discount_gr = points_gr;

	/* donation */
	r->donated_pts = 0;
	if (req->donate_pts > 0) {
		if (!prog->donation_enabled)
			return refuse(r, state, RULES_REFUSED_DONATION_OFF,
				      "donations are not part of this programme");
		if (req->donate_pts < prog->donation_min_pts)
			return refuse(r, state, RULES_REFUSED_DONATION_MIN,
				      "at least %lld points can be donated",
				      (long long) prog->donation_min_pts);
		if (req->donate_pts > m->balance_pts)
			return refuse(r, state, RULES_REFUSED_DONATION_BALANCE,
				      "the member has only %lld points left to donate",
				      (long long) m->balance_pts);
		lots_take(m, req->donate_pts);
		r->donated_pts = req->donate_pts;
		add_event(r->events, &r->n_events, RULES_EV_DONATE, m->member_id, -req->donate_pts,
			  0, 0, "donation", prog->donation_cause);
	}

	/* what is paid in money, line by line: coupon and points spread over the goods */
	int64_t eligible = 0, spend = 0;
	{
		int64_t d = coupon_gr + points_gr;
		int64_t goods_net[RULES_LINES_MAX];
		for (size_t i = 0; i < basket->n_lines; i++)
			goods_net[i] = basket->lines[i].gift_card ? 0 : net[i];
		allocate(goods_net, share, basket->n_lines, discountable, d);
		for (size_t i = 0; i < basket->n_lines; i++) {
			const struct rules_line *l = &basket->lines[i];
			net[i] -= share[i];
			if (line_earns(l))
				eligible += net[i];
			if (!l->gift_card)
				spend += net[i];
		}
	}
	r->to_pay_gr = basket_gr - stamp_gr - coupon_gr - points_gr;
	r->eligible_gr = eligible;
	r->spend_gr = spend;

	/* earn: base, tier, multipliers, promotions; each award rounded down on its own */
	size_t tier = programme_tier_for(prog, state->spend_window_gr);
	r->tier_before = tier;
	int64_t earned = 0;
	if (sale) {
		int64_t base = eligible / gpp;
		add_trace(r, "base", eligible, base, 1000, base, eligible % gpp);
		earned = base;
		char why[RULES_TEXT_MAX] = "", pm[16], amount[32];
		const struct programme_tier *t = &prog->tiers[tier];
		if (t->permille > 1000) {
			char rule[PROGRAMME_ID_MAX + 1];
			snprintf(rule, sizeof(rule), "tier:%.26s", t->name);
			int64_t x = multiplied(r, rule, eligible, gpp, t->permille);
			earned += x;
			fmt_permille(pm, sizeof(pm), t->permille);
			appendf(why, sizeof(why), ", %s x%s +%lld", t->name, pm, (long long) x);
		}
		for (size_t k = 0; k < prog->n_multipliers; k++) {
			const struct programme_multiplier *mu = &prog->multipliers[k];
			int64_t gr = 0;
			for (size_t i = 0; i < basket->n_lines; i++) {
				const struct rules_line *l = &basket->lines[i];
				if (!line_earns(l))
					continue;
				/* a product rule wins over a category rule for its lines */
				size_t first = prog->n_multipliers;
				for (size_t j = 0;
				     j < prog->n_multipliers && first == prog->n_multipliers; j++)
					if (prog->multipliers[j].sku[0] &&
					    strcmp(prog->multipliers[j].sku, l->sku) == 0)
						first = j;
				for (size_t j = 0;
				     j < prog->n_multipliers && first == prog->n_multipliers; j++)
					if (prog->multipliers[j].category[0] &&
					    strcmp(prog->multipliers[j].category, l->category) == 0)
						first = j;
				if (first == k)
					gr += net[i];
			}
			int64_t x = multiplied(r, mu->id, gr, gpp, mu->permille);
			earned += x;
			if (x) {
				fmt_permille(pm, sizeof(pm), mu->permille);
				appendf(why, sizeof(why), ", %s x%s +%lld", mu->id, pm,
					(long long) x);
			}
		}
		for (size_t k = 0; k < prog->n_promos; k++) {
			const struct programme_promo *p = &prog->promos[k];
			if (!promo_active(p, now_us))
				continue;
			int64_t gr = 0;
			for (size_t i = 0; i < basket->n_lines; i++)
				if (line_earns(&basket->lines[i]) &&
				    (!p->category[0] ||
				     strcmp(p->category, basket->lines[i].category) == 0))
					gr += net[i];
			int64_t x = multiplied(r, p->id, gr, gpp, p->permille);
			earned += x;
			if (x) {
				fmt_permille(pm, sizeof(pm), p->permille);
				appendf(why, sizeof(why), ", %s x%s +%lld", p->id, pm,
					(long long) x);
			}
		}
		money_format(eligible, 1, amount, sizeof(amount));
		appendf(r->earn_text, sizeof(r->earn_text),
			"%lld pkt za %s zl (1 pkt za kazde "
			"pelne %lld zl)%s",
			(long long) earned, amount, (long long) (gpp / 100), why);
		add_event(r->events, &r->n_events, RULES_EV_EARN, m->member_id, earned, spend,
			  now_us, "earn", "");
		if (earned)
			lots_add(m, now_us, earned);
	}
	r->earned_pts = earned;

	/* bonuses */
	int64_t bonus = 0;
	if (!state->welcomed && prog->welcome_pts > 0) {
		add_trace(r, "welcome", 0, 0, 1000, prog->welcome_pts, 0);
		add_event(r->events, &r->n_events, RULES_EV_BONUS, m->member_id, prog->welcome_pts,
			  0, now_us, "welcome", "");
		bonus += prog->welcome_pts;
	}
	m->welcomed = true;
	struct wartime today;
	wartime_from_utc(div_floor(now_us, US_PER_S), &today);
	if (sale && prog->birthday_pts > 0 && birthday_today(state, &today) &&
	    state->birthday_bonus_year != today.year) {
		add_trace(r, "birthday", 0, 0, 1000, prog->birthday_pts, 0);
		add_event(r->events, &r->n_events, RULES_EV_BONUS, m->member_id, prog->birthday_pts,
			  0, now_us, "birthday", "");
		bonus += prog->birthday_pts;
		m->birthday_bonus_year = today.year;
	}
	if (sale && !state->first_purchase_done && state->referrer_id) {
		if (prog->referral_referred_pts > 0) {
			add_trace(r, "referral", 0, 0, 1000, prog->referral_referred_pts, 0);
			add_event(r->events, &r->n_events, RULES_EV_BONUS, m->member_id,
				  prog->referral_referred_pts, 0, now_us, "referral", "");
			bonus += prog->referral_referred_pts;
		}
		if (prog->referral_referrer_pts > 0)
			add_event(r->events, &r->n_events, RULES_EV_BONUS, state->referrer_id,
				  prog->referral_referrer_pts, 0, now_us, "referral-referrer", "");
	}
	if (req->survey_id && req->survey_id[0] && prog->survey_pts > 0) {
		if (req->survey_done)
			return refuse(r, state, RULES_REFUSED_SURVEY_DONE,
				      "the bonus for survey %s was given already", req->survey_id);
		add_trace(r, "survey", 0, 0, 1000, prog->survey_pts, 0);
		add_event(r->events, &r->n_events, RULES_EV_BONUS, m->member_id, prog->survey_pts,
			  0, now_us, "survey", req->survey_id);
		bonus += prog->survey_pts;
	}
	if (bonus)
		lots_add(m, now_us, bonus);
	r->bonus_pts = bonus;

	/* coupons the sale earns, then the member's new state */
	if (sale) {
		issue_coupon(prog, state, m, req, now_us, r);
		m->first_purchase_done = true;
		m->visits++;
		if (!m->first_visit_us)
			m->first_visit_us = now_us;
		m->last_visit_us = now_us;
		m->monetary_gr += spend;
		m->spend_window_gr += spend;
	}
	r->tier = programme_tier_for(prog, m->spend_window_gr);
	r->to_next_tier_gr = r->tier + 1 < prog->n_tiers
				 ? prog->tiers[r->tier + 1].threshold_gr - m->spend_window_gr
				 : 0;
	r->balance_pts = m->balance_pts;
	r->next_expiry_us = m->n_lots ? rules_lot_expiry_us(prog, m->lots[0].earned_us) : 0;
	r->next_expiry_pts = m->n_lots ? m->lots[0].pts : 0;
	return 0;
}

/* ---- refunds ---- */

static int refund_refuse(struct rules_refund_result *r, const struct rules_member *state,
			 const struct rules_sale_record *rec, const char *text)
{
	r->refusal = RULES_REFUSED_REFUND_TOO_MUCH;
	set_str(r->refusal_text, sizeof(r->refusal_text), text);
	r->n_events = 0;
	r->member = *state;
	r->record = *rec;
	return 0;
}

int rules_refund(const struct programme *prog, const struct rules_member *state,
		 const struct rules_sale_record *rec, const struct rules_refund_request *req,
		 int64_t now_us, struct rules_refund_result *ret)
{
	if (!prog || !state || !rec || !req || !ret || check_member(state) < 0 ||
	    rec->basket_gr <= 0 || rec->basket_gr > MONEY_MAX_GR || rec->eligible_basket_gr < 0 ||
	    rec->eligible_basket_gr > rec->basket_gr || rec->paid_gr < 0 ||
	    rec->paid_gr > rec->basket_gr || rec->redeemed_pts < 0 || rec->earned_pts < 0 ||
	    rec->bonus_pts < 0 || req->basket_gr < 0 || req->eligible_gr < 0 ||
	    req->eligible_gr > req->basket_gr)
		return -EINVAL;

	struct rules_refund_result *r = ret;
	memset(r->refusal_text, 0, sizeof(r->refusal_text));
	r->refusal = RULES_OK;
	r->n_events = 0;
	r->member = *state;
	r->record = *rec;
	struct rules_member *m = &r->member;
	struct rules_sale_record *nr = &r->record;

	int64_t cum = rec->refunded_basket_gr + req->basket_gr;
	int64_t cum_el = rec->refunded_eligible_gr + req->eligible_gr;
	if (req->basket_gr == 0 || cum > rec->basket_gr || cum_el > rec->eligible_basket_gr)
		return refund_refuse(r, state, rec,
				     req->basket_gr == 0
					 ? "nothing to refund"
					 : "more is returned than this receipt has left");
	bool whole = cum == rec->basket_gr;

	/* money and re-credit: down in proportion, exact on the whole refund */
	int64_t paid_to = whole ? rec->paid_gr : rec->paid_gr * cum / rec->basket_gr;
	int64_t money = paid_to - rec->refunded_paid_gr;
	int64_t recredit = 0;
	if (prog->refund_policy == PROGRAMME_REFUND_RECREDIT) {
		int64_t to = whole ? rec->redeemed_pts : rec->redeemed_pts * cum / rec->basket_gr;
		recredit = to - rec->recredited_pts;
	}
	/* reversal: up in proportion (the member's disfavour), never past what was earned */
	int64_t rev_to = 0;
	if (rec->eligible_basket_gr > 0)
		rev_to = (rec->earned_pts * cum_el + rec->eligible_basket_gr - 1) /
			 rec->eligible_basket_gr;
	if (whole)
		rev_to = rec->earned_pts + rec->bonus_pts;
	int64_t reverse = rev_to - rec->reversed_pts;
	if (reverse < 0)
		reverse = 0;

	if (recredit > 0) {
		lots_add(m, rec->time_us, recredit);
		add_event(r->events, &r->n_events, RULES_EV_RECREDIT, m->member_id, recredit, 0,
			  rec->time_us, "refund", "");
	}
	r->expired_pts = lots_expire(prog, m, now_us);
	if (r->expired_pts)
		add_event(r->events, &r->n_events, RULES_EV_EXPIRE, m->member_id, -r->expired_pts,
			  0, 0, "expiry", "");
	int64_t taken = reverse < m->balance_pts ? reverse : m->balance_pts;
	int64_t short_pts = reverse - taken;
	/* points already spent are paid for from the money back, rounded up */
	int64_t short_gr =
	    (short_pts * prog->redeem_unit_gr + prog->redeem_unit_pts - 1) / prog->redeem_unit_pts;
	if (taken > 0) {
		lots_take(m, taken);
		add_event(r->events, &r->n_events, RULES_EV_REVERSE, m->member_id, -taken, 0, 0,
			  "refund", "");
	}
	int64_t out = money - short_gr < 0 ? 0 : money - short_gr;
	add_event(r->events, &r->n_events, RULES_EV_REFUND, m->member_id, 0, -out, 0, "refund", "");

	m->spend_window_gr -= money;
	m->monetary_gr -= money;
	nr->refunded_basket_gr = cum;
	nr->refunded_eligible_gr = cum_el;
	nr->refunded_paid_gr = paid_to;
	nr->reversed_pts = rec->reversed_pts + reverse;
	nr->recredited_pts = rec->recredited_pts + recredit;
	r->money_back_gr = out;
	r->reversed_pts = reverse;
	r->recredited_pts = recredit;
	r->shortfall_pts = short_pts;
	r->shortfall_gr = short_gr;
	r->balance_pts = m->balance_pts;
	return 0;
}
