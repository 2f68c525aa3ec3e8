/*
 * ledger_programme: the ledger side of the loyalty programme (schema 4). Reads a member's state
 * in the shape rules.h takes it and books what rules_apply() and rules_refund() return: events
 * on the hash chain and, in the same transaction, their effect on the member state (balance and
 * points lots, visits and spend, coupons, stamp cards, member facts) and the sale records that
 * refunds work from.
 *
 * Not for: deciding anything (rules.c decides, this file records), printing, sync.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger-priv.h"
#include "log.h"

#define US_PER_DAY INT64_C(86400000000)

/*
 * Credit pts to a lot earned at t, as rules.c does: a lot of the same time takes them; when the
 * member holds RULES_LOTS_MAX lots they join the nearest older lot (or the oldest).
 */
static int lot_credit(struct ledger *l, int64_t member_id, int64_t t, int64_t pts)
{
	int64_t v[3] = {pts, member_id, t}, changes, count, at;
	int r = ledger_run_ints(
	    l, "UPDATE lots SET pts = pts + ?1 WHERE member_id = ?2 AND earned_us = ?3", 3, v,
	    &changes);
	if (r < 0 || changes)
		return r;
	if ((r = ledger_read_int(l, "SELECT COUNT(*) FROM lots WHERE member_id = ?1", 1, &member_id,
				 &count)) < 0)
		return r;
	if (count < RULES_LOTS_MAX)
		return ledger_run_ints(
		    l, "INSERT INTO lots (pts, member_id, earned_us) VALUES (?1, ?2, ?3)", 3, v,
		    NULL);
	r = ledger_read_int(
	    l,
	    "SELECT COALESCE((SELECT MAX(earned_us) FROM lots WHERE member_id = ?1"
	    "  AND earned_us < ?2), (SELECT MIN(earned_us) FROM lots WHERE member_id = ?1))",
	    2, (int64_t[]){member_id, t}, &at);
	if (r < 0)
		return r;
	v[2] = at;
	return ledger_run_ints(
	    l, "UPDATE lots SET pts = pts + ?1 WHERE member_id = ?2 AND earned_us = ?3", 3, v,
	    NULL);
}

/* Take pts from the oldest lots first, partly from the last one touched. */
static int lot_debit(struct ledger *l, int64_t member_id, int64_t pts)
{
	sqlite3_stmt *st;
	int64_t gone_before = 0, part_at = 0, part_left = 0;
	bool part = false;
	if (ledger_stmt(l,
			"SELECT earned_us, pts FROM lots WHERE member_id = ?1"
			" ORDER BY earned_us",
			&st) < 0)
		return ledger_sql_fail(l, "prepare lots read");
	sqlite3_bind_int64(st, 1, member_id);
	int s;
	while (pts > 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(st, 0), lot = sqlite3_column_int64(st, 1);
		if (lot <= pts) {
			pts -= lot;
			gone_before = at + 1;
		} else {
			part = true;
			part_at = at;
			part_left = lot - pts;
			pts = 0;
		}
	}
	int r =
	    pts > 0 && s != SQLITE_ROW && s != SQLITE_DONE ? ledger_sql_fail(l, "read lots") : 0;
	ledger_stmt_done(st);
	if (r < 0)
		return r;
	if (pts > 0) {
		log_debug("ledger: member %lld's lots hold %lld pts less than its debit",
			  (long long) member_id, (long long) pts);
		return -EBADMSG;
	}
	if (gone_before &&
	    (r = ledger_run_ints(l, "DELETE FROM lots WHERE member_id = ?1 AND earned_us < ?2", 2,
				 (int64_t[]){member_id, gone_before}, NULL)) < 0)
		return r;
	if (part)
		r = ledger_run_ints(
		    l, "UPDATE lots SET pts = ?3 WHERE member_id = ?1 AND earned_us = ?2", 3,
		    (int64_t[]){member_id, part_at, part_left}, NULL);
	return r;
}

int ledger_apply_event(struct ledger *l, const struct ledger_new_event *ev)
{
	int64_t m = ev->member_id, changes;
	int r = 0;
	if (!m)
		return 0;
	if (ev->points) {
		if ((r = ledger_run_ints(l,
					 "UPDATE members SET balance_pts = balance_pts + ?2"
					 " WHERE member_id = ?1",
					 2, (int64_t[]){m, ev->points}, NULL)) < 0)
			return r;
		r = ev->points > 0
			? lot_credit(l, m, ev->lot_us ? ev->lot_us : ev->time_us, ev->points)
			: lot_debit(l, m, -ev->points);
		if (r < 0)
			return r;
	}
	if (strcmp(ev->kind, "earn") == 0)
		return ledger_run_ints(
		    l,
		    "UPDATE members SET visits = visits + 1, first_purchase_done = 1,"
		    " last_visit_us = MAX(last_visit_us, ?2), monetary_gr = monetary_gr + ?3,"
		    " first_visit_us = CASE WHEN first_visit_us = 0 THEN ?2"
		    "  ELSE first_visit_us END WHERE member_id = ?1",
		    3, (int64_t[]){m, ev->time_us, ev->amount_gr}, NULL);
	if (strcmp(ev->kind, "refund") == 0)
		return ledger_run_ints(
		    l, "UPDATE members SET monetary_gr = monetary_gr + ?2 WHERE member_id = ?1", 2,
		    (int64_t[]){m, ev->amount_gr}, NULL);
	if (strcmp(ev->kind, "stamp") == 0 && ev->items > 0) {
		sqlite3_stmt *st;
		if (ledger_stmt(l,
				"INSERT INTO member_stamps (member_id, card, count)"
				" VALUES (?1, ?2, ?3) ON CONFLICT (member_id, card)"
				" DO UPDATE SET count = excluded.count",
				&st) < 0)
			return ledger_sql_fail(l, "prepare stamps");
		sqlite3_bind_int64(st, 1, m);
		sqlite3_bind_text(st, 2, ev->ref ? ev->ref : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, ev->progress);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "store stamps");
		ledger_stmt_done(st);
		return r;
	}
	if (strcmp(ev->kind, "coupon_use") == 0) {
		sqlite3_stmt *st;
		if (ledger_stmt(l,
				"UPDATE coupons SET used_us = ?3 WHERE id = ?1"
				" AND member_id = ?2 AND used_us IS NULL",
				&st) < 0)
			return ledger_sql_fail(l, "prepare coupon use");
		sqlite3_bind_text(st, 1, ev->ref ? ev->ref : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, m);
		sqlite3_bind_int64(st, 3, ev->time_us);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "coupon use");
		ledger_stmt_done(st);
		changes = sqlite3_changes64(l->db);
		if (r == 0 && changes != 1) {
			log_debug("ledger: member %lld holds no unused coupon '%s'", (long long) m,
				  ev->ref ? ev->ref : "");
			r = -EINVAL;
		}
	}
	return r;
}

/* A coupon issued at t: the member's used and expired coupons make room first, as in rules.c. */
static int coupon_issue(struct ledger *l, int64_t member_id, const struct rules_coupon *c,
			int64_t t)
{
	int r = ledger_run_ints(l,
				"DELETE FROM coupons WHERE member_id = ?1"
				" AND (used_us IS NOT NULL OR expires_us <= ?2)",
				2, (int64_t[]){member_id, t}, NULL);
	if (r < 0)
		return r;
	sqlite3_stmt *st;
	if (ledger_stmt(l,
			"INSERT INTO coupons (id, member_id, campaign, percent_bp,"
			" min_basket_gr, expires_us, combinable, issued_us)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			&st) < 0)
		return ledger_sql_fail(l, "prepare coupon insert");
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, member_id);
	sqlite3_bind_text(st, 3, c->campaign, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->percent_bp);
	sqlite3_bind_int64(st, 5, c->min_basket_gr);
	sqlite3_bind_int64(st, 6, c->expires_us);
	sqlite3_bind_int(st, 7, c->combinable);
	sqlite3_bind_int64(st, 8, t);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "insert coupon");
	ledger_stmt_done(st);
	if (r < 0)
		return r;
	return ledger_run_ints(l, "UPDATE members SET last_coupon_us = ?2 WHERE member_id = ?1", 2,
			       (int64_t[]){member_id, t}, NULL);
}

int ledger_sale_insert(struct ledger *l, const char *receipt_no, int64_t member_id,
		       const struct rules_sale_record *rec)
{
	sqlite3_stmt *st;
	if (ledger_stmt(l,
			"INSERT INTO sales (receipt_no, member_id, time_us, basket_gr,"
			" eligible_basket_gr, paid_gr, redeemed_pts, earned_pts, bonus_pts)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			&st) < 0)
		return ledger_sql_fail(l, "prepare sale insert");
	sqlite3_bind_text(st, 1, receipt_no, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, member_id);
	sqlite3_bind_int64(st, 3, rec->time_us);
	sqlite3_bind_int64(st, 4, rec->basket_gr);
	sqlite3_bind_int64(st, 5, rec->eligible_basket_gr);
	sqlite3_bind_int64(st, 6, rec->paid_gr);
	sqlite3_bind_int64(st, 7, rec->redeemed_pts);
	sqlite3_bind_int64(st, 8, rec->earned_pts);
	sqlite3_bind_int64(st, 9, rec->bonus_pts);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "insert sale");
	ledger_stmt_done(st);
	return r;
}

/* The sale record of receipt_no and its member. */
static int sale_read(struct ledger *l, const char *receipt_no, struct rules_sale_record *ret,
		     int64_t *ret_member_id)
{
	sqlite3_stmt *st;
	if (ledger_stmt(l,
			"SELECT time_us, basket_gr, eligible_basket_gr, paid_gr,"
			" redeemed_pts, earned_pts, bonus_pts, refunded_basket_gr,"
			" refunded_eligible_gr, refunded_paid_gr, reversed_pts,"
			" recredited_pts, member_id FROM sales WHERE receipt_no = ?1",
			&st) < 0)
		return ledger_sql_fail(l, "prepare sale read");
	sqlite3_bind_text(st, 1, receipt_no, -1, SQLITE_STATIC);
	int r = 0, s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		struct rules_sale_record rec = {
		    .time_us = sqlite3_column_int64(st, 0),
		    .basket_gr = sqlite3_column_int64(st, 1),
		    .eligible_basket_gr = sqlite3_column_int64(st, 2),
		    .paid_gr = sqlite3_column_int64(st, 3),
		    .redeemed_pts = sqlite3_column_int64(st, 4),
		    .earned_pts = sqlite3_column_int64(st, 5),
		    .bonus_pts = sqlite3_column_int64(st, 6),
		    .refunded_basket_gr = sqlite3_column_int64(st, 7),
		    .refunded_eligible_gr = sqlite3_column_int64(st, 8),
		    .refunded_paid_gr = sqlite3_column_int64(st, 9),
		    .reversed_pts = sqlite3_column_int64(st, 10),
		    .recredited_pts = sqlite3_column_int64(st, 11),
		};
		*ret = rec;
		if (ret_member_id)
			*ret_member_id = sqlite3_column_int64(st, 12);
	} else {
		r = s == SQLITE_DONE ? -ENOENT : ledger_sql_fail(l, "sale read");
	}
	ledger_stmt_done(st);
	return r;
}

int ledger_sale_record(struct ledger *ledger, const char *receipt_no,
		       struct rules_sale_record *ret_record)
{
	if (!ledger || !receipt_no || !ret_record || strlen(receipt_no) > LEDGER_RECEIPT_NO_MAX)
		return -EINVAL;
	return sale_read(ledger, receipt_no, ret_record, NULL);
}

int ledger_member_state(struct ledger *ledger, int64_t member_id, const struct programme *prog,
			int64_t now_us, struct rules_member *ret_state)
{
	struct ledger *l = ledger;
	sqlite3_stmt *st;
	int r, s;

	if (!l || !prog || !ret_state || member_id < 0 || prog->n_stamps > PROGRAMME_STAMPS_MAX)
		return -EINVAL;
	if (member_id == 0) {
		memset(ret_state, 0, sizeof(*ret_state));
		return 0;
	}
	struct rules_member *m = calloc(1, sizeof(*m)); /* large (the lots): not on the stack */
	if (!m)
		return -ENOMEM;
	/* one read transaction: the parts agree with each other */
	if ((r = ledger_exec(l, "BEGIN")) < 0)
		return r;
	if (ledger_stmt(l,
			"SELECT balance_pts, visits, last_visit_us, welcomed,"
			" first_purchase_done OR adopted_us > 0, birth_month, birth_day, birthday_bonus_year,"
			" referrer_id, first_visit_us, monetary_gr, last_coupon_us,"
			" offline_redeemed_pts FROM members WHERE member_id = ?1",
			&st) < 0) {
		r = ledger_sql_fail(l, "prepare member state");
		goto out;
	}
	sqlite3_bind_int64(st, 1, member_id);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		m->member_id = member_id;
		m->balance_pts = sqlite3_column_int64(st, 0);
		m->visits = sqlite3_column_int64(st, 1);
		m->last_visit_us = m->visits ? sqlite3_column_int64(st, 2) : 0;
		m->welcomed = sqlite3_column_int(st, 3) != 0;
		m->first_purchase_done = sqlite3_column_int(st, 4) != 0;
		m->birth_month = sqlite3_column_int(st, 5);
		m->birth_day = sqlite3_column_int(st, 6);
		m->birthday_bonus_year = sqlite3_column_int(st, 7);
		m->referrer_id = sqlite3_column_int64(st, 8);
		m->first_visit_us = sqlite3_column_int64(st, 9);
		m->monetary_gr = sqlite3_column_int64(st, 10);
		m->last_coupon_us = sqlite3_column_int64(st, 11);
		m->offline_redeemed_pts = sqlite3_column_int64(st, 12);
	} else {
		r = s == SQLITE_DONE ? -ENOENT : ledger_sql_fail(l, "member state");
	}
	ledger_stmt_done(st);
	if (r < 0)
		goto out;

	if (ledger_stmt(l,
			"SELECT earned_us, pts FROM lots WHERE member_id = ?1"
			" ORDER BY earned_us",
			&st) < 0) {
		r = ledger_sql_fail(l, "prepare lots read");
		goto out;
	}
	sqlite3_bind_int64(st, 1, member_id);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct rules_lot lot = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
		if (m->n_lots == RULES_LOTS_MAX)
			m->lots[m->n_lots - 1].pts += lot.pts; /* as rules.c keeps them */
		else
			m->lots[m->n_lots++] = lot;
	}
	r = s == SQLITE_DONE ? 0 : ledger_sql_fail(l, "read lots");
	ledger_stmt_done(st);
	if (r < 0)
		goto out;

	if (ledger_stmt(l,
			"SELECT id, campaign, percent_bp, min_basket_gr, expires_us,"
			" combinable, used_us IS NOT NULL FROM coupons WHERE member_id = ?1"
			" ORDER BY issued_us, rowid",
			&st) < 0) {
		r = ledger_sql_fail(l, "prepare coupons read");
		goto out;
	}
	sqlite3_bind_int64(st, 1, member_id);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (m->n_coupons == RULES_COUPONS_MAX) {
			s = SQLITE_FULL;
			break;
		}
		struct rules_coupon *c = &m->coupons[m->n_coupons++];
		snprintf(c->id, sizeof(c->id), "%s", (const char *) sqlite3_column_text(st, 0));
		snprintf(c->campaign, sizeof(c->campaign), "%s",
			 (const char *) sqlite3_column_text(st, 1));
		c->percent_bp = sqlite3_column_int(st, 2);
		c->min_basket_gr = sqlite3_column_int64(st, 3);
		c->expires_us = sqlite3_column_int64(st, 4);
		c->combinable = sqlite3_column_int(st, 5) != 0;
		c->used = sqlite3_column_int(st, 6) != 0;
	}
	if (s == SQLITE_FULL) {
		log_debug("ledger: member %lld holds more than %d coupons", (long long) member_id,
			  RULES_COUPONS_MAX);
		r = -EOVERFLOW;
	} else {
		r = s == SQLITE_DONE ? 0 : ledger_sql_fail(l, "read coupons");
	}
	ledger_stmt_done(st);
	if (r < 0)
		goto out;

	if (ledger_stmt(l, "SELECT count FROM member_stamps WHERE member_id = ?1 AND card = ?2",
			&st) < 0) {
		r = ledger_sql_fail(l, "prepare stamps read");
		goto out;
	}
	for (size_t k = 0; k < prog->n_stamps && r == 0; k++) {
		sqlite3_bind_int64(st, 1, member_id);
		sqlite3_bind_text(st, 2, prog->stamps[k].id, -1, SQLITE_STATIC);
		s = sqlite3_step(st);
		if (s == SQLITE_ROW)
			m->stamps[k] = sqlite3_column_int(st, 0);
		else if (s != SQLITE_DONE)
			r = ledger_sql_fail(l, "read stamps");
		sqlite3_reset(st);
	}
	ledger_stmt_done(st);
	if (r < 0)
		goto out;

	r = ledger_member_spend(l, member_id, now_us - prog->tier_window_days * US_PER_DAY, now_us,
				&m->spend_window_gr);
out:
	(void) ledger_exec(l, r < 0 ? "ROLLBACK" : "COMMIT");
	if (r == 0)
		*ret_state = *m;
	free(m);
	return r;
}

/* The receipt of a booking that has no earn event (a donation alone, a refund). */
static int receipt_of(struct ledger *l, const char *receipt_no, int64_t first_seq,
		      int64_t member_id, int64_t time_us, int64_t amount_gr, int64_t points,
		      bool new_member, struct ledger_receipt *ret)
{
	struct ledger_member m;
	struct ledger_receipt rc = {0};
	int r = ledger_member_by_id(l, member_id, &m);
	if (r < 0)
		return r;
	snprintf(rc.receipt_no, sizeof(rc.receipt_no), "%s", receipt_no);
	rc.seq = first_seq;
	rc.time_us = time_us;
	rc.amount_gr = amount_gr;
	rc.earned_pts = points;
	rc.balance_pts = m.balance_pts;
	rc.new_member = new_member;
	rc.member_id = member_id;
	memcpy(rc.card_code, m.card_code, sizeof(rc.card_code));
	sqlite3_stmt *st;
	if (ledger_stmt(l, "SELECT event_id FROM events WHERE seq = ?1", &st) < 0)
		return ledger_sql_fail(l, "prepare event id");
	sqlite3_bind_int64(st, 1, first_seq);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == LEDGER_EVENT_ID_LEN)
		memcpy(rc.event_id, sqlite3_column_blob(st, 0), LEDGER_EVENT_ID_LEN);
	ledger_stmt_done(st);
	*ret = rc;
	return 0;
}

/* The award trace of the booking receipt_no, one row per step in its order. */
static int trace_insert(struct ledger *l, const char *receipt_no, const struct rules_trace *t,
			size_t n)
{
	sqlite3_stmt *st;
	if (n == 0)
		return 0;
	if (ledger_stmt(l,
			"INSERT INTO sale_traces (receipt_no, n, rule, base_gr, base_pts,"
			" permille, points, dropped) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			&st) < 0)
		return ledger_sql_fail(l, "prepare trace insert");
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		sqlite3_bind_text(st, 1, receipt_no, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t) i);
		sqlite3_bind_text(st, 3, t[i].rule, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, t[i].base_gr);
		sqlite3_bind_int64(st, 5, t[i].base_pts);
		sqlite3_bind_int64(st, 6, t[i].permille);
		sqlite3_bind_int64(st, 7, t[i].points);
		sqlite3_bind_int64(st, 8, t[i].dropped);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "insert trace");
		sqlite3_reset(st);
	}
	ledger_stmt_done(st);
	return r;
}

int ledger_sale_trace(struct ledger *ledger, const char *receipt_no, struct rules_trace *ret,
		      size_t max, size_t *ret_n)
{
	struct ledger *l = ledger;
	sqlite3_stmt *st;
	if (!l || !receipt_no || (!ret && max) || !ret_n ||
	    strlen(receipt_no) > LEDGER_RECEIPT_NO_MAX)
		return -EINVAL;
	/* the receipt is known by its events; its trace rows go with them (the purge) */
	if (ledger_stmt(l,
			"SELECT -1, '', 0, 0, 0, 0, 0 WHERE EXISTS (SELECT 1 FROM events"
			"  WHERE receipt_no = ?1)"
			" UNION ALL SELECT n, rule, base_gr, base_pts, permille, points,"
			"  dropped FROM sale_traces WHERE receipt_no = ?1 ORDER BY 1",
			&st) < 0)
		return ledger_sql_fail(l, "prepare trace read");
	sqlite3_bind_text(st, 1, receipt_no, -1, SQLITE_STATIC);
	size_t n = 0;
	bool known = false;
	int r = 0, s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		known = true;
		if (sqlite3_column_int64(st, 0) < 0)
			continue;
		if (n == max) {
			r = -ENOBUFS;
			break;
		}
		struct rules_trace *t = &ret[n++];
		snprintf(t->rule, sizeof(t->rule), "%s", (const char *) sqlite3_column_text(st, 1));
		t->base_gr = sqlite3_column_int64(st, 2);
		t->base_pts = sqlite3_column_int64(st, 3);
		t->permille = (int32_t) sqlite3_column_int64(st, 4);
		t->points = sqlite3_column_int64(st, 5);
		t->dropped = sqlite3_column_int64(st, 6);
	}
	if (r == 0 && s != SQLITE_DONE)
		r = ledger_sql_fail(l, "read trace");
	else if (r == 0 && !known)
		r = -ENOENT;
	ledger_stmt_done(st);
	if (r == 0)
		*ret_n = n;
	return r;
}

static void new_event_of(const struct rules_event *e, int64_t member_id, const char *receipt_no,
			 int64_t time_us, struct ledger_new_event *ret)
{
	struct ledger_new_event ev = {
	    .kind = rules_event_kind_name(e->kind),
	    .member_id = member_id,
	    .points = e->points,
	    .amount_gr = e->amount_gr,
	    .receipt_no = receipt_no,
	    .time_us = time_us,
	    .rule = e->rule,
	    .ref = e->ref,
	    .lot_us = e->lot_us,
	    .items = e->items,
	    .progress = e->progress,
	};
	*ret = ev;
}

/* The SUN URL of the tap with the earn event seq. */
static int keep_sun(struct ledger *l, int64_t seq, const char *url)
{
	sqlite3_stmt *st;
	if (strlen(url) > LEDGER_SUN_URL_MAX)
		return -EINVAL;
	if (ledger_stmt(l, "INSERT INTO sun_taps (seq, url) VALUES (?1, ?2)", &st) < 0)
		return ledger_sql_fail(l, "prepare SUN insert");
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "keep SUN message");
	ledger_stmt_done(st);
	return r;
}

int ledger_sun_taps(struct ledger *ledger, int64_t from_seq, int64_t to_seq, ledger_sun_fn fn,
		    void *userdata)
{
	sqlite3_stmt *st;
	if (!ledger || !fn)
		return -EINVAL;
	if (ledger_stmt(ledger, "SELECT seq, url FROM sun_taps WHERE seq BETWEEN ?1 AND ?2"
				" ORDER BY seq",
			&st) < 0)
		return ledger_sql_fail(ledger, "prepare SUN read");
	sqlite3_bind_int64(st, 1, from_seq);
	sqlite3_bind_int64(st, 2, to_seq);
	int s, r = 0, n = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *url = sqlite3_column_text(st, 1);
		if ((r = fn(userdata, sqlite3_column_int64(st, 0), url ? (const char *) url : "")))
			break;
		n++;
	}
	if (!r && s != SQLITE_DONE)
		r = ledger_sql_fail(ledger, "read SUN messages");
	ledger_stmt_done(st);
	return r ? r : n;
}

int ledger_book(struct ledger *ledger, const uint8_t pseudonym[PSEUDONYM_LEN],
		const struct rules_result *res, const struct ledger_booking *booking,
		struct ledger_receipt *ret_receipt)
{
	struct ledger *l = ledger;
	struct ledger_member found;
	struct ledger_chain chain;
	char receipt_no[LEDGER_RECEIPT_NO_MAX + 1];
	int64_t member_id = 0, first_seq, points = 0;
	bool is_new = false, sale = false, anonymous = !pseudonym;
	int r;

	if (!l || !res || !booking || !booking->prog || !ret_receipt ||
	    res->refusal != RULES_OK || res->n_events > RULES_EVENTS_MAX ||
	    booking->prog->n_stamps > PROGRAMME_STAMPS_MAX)
		return -EINVAL;
	/* a sale without a card books its earn event alone, for no member */
	for (size_t i = 0; anonymous && i < res->n_events; i++)
		if (res->events[i].kind != RULES_EV_EARN || res->events[i].member_id != 0)
			return -EINVAL;
	if (anonymous && (res->member.member_id != 0 || res->n_events != 1))
		return -EINVAL;
	if ((r = ledger_begin(l)) < 0)
		return r;
	/* the result must be about this card's member (member 0 for a card not enrolled yet) */
	r = anonymous ? -ENOENT : ledger_member_by_pseudonym(l, pseudonym, &found);
	if (r == 0 ? res->member.member_id != found.member_id
		   : r != -ENOENT || res->member.member_id != 0) {
		r = r < 0 && r != -ENOENT ? r : -EINVAL;
		goto rollback;
	}
	if ((r = ledger_chain_tip(l, &chain)) < 0 ||
	    (!anonymous && (r = ledger_member_for_pseudonym(l, pseudonym, booking->time_us,
							     &member_id, &is_new)) < 0))
		goto rollback;
	first_seq = chain.seq + 1;
	snprintf(receipt_no, sizeof(receipt_no), "%s-%06lld", l->terminal_id,
		 (long long) first_seq);
	if (is_new) {
		struct ledger_new_event enrol = {.kind = "enrol",
						 .member_id = member_id,
						 .receipt_no = receipt_no,
						 .time_us = booking->time_us};
		if ((r = ledger_insert_event(l, &chain, &enrol)) < 0)
			goto rollback;
	}
	for (size_t i = 0; i < res->n_events; i++) {
		const struct rules_event *e = &res->events[i];
		struct ledger_new_event ev;
		int64_t whose = e->member_id == res->member.member_id ? member_id : e->member_id;
		new_event_of(e, whose, receipt_no, booking->time_us, &ev);
		if ((r = ledger_insert_event(l, &chain, &ev)) < 0 ||
		    (r = ledger_apply_event(l, &ev)) < 0)
			goto rollback;
		if (whose == member_id)
			points += e->points;
		if (e->kind == RULES_EV_EARN) {
			sale = true;
			if (booking->sun_url && booking->sun_url[0] &&
			    (r = keep_sun(l, chain.seq, booking->sun_url)) < 0)
				goto rollback;
		}
		if (e->kind == RULES_EV_COUPON_ISSUE) {
			if (!res->coupon_issued || strcmp(res->coupon.id, e->ref) != 0) {
				r = -EINVAL;
				goto rollback;
			}
			if ((r = coupon_issue(l, member_id, &res->coupon, booking->time_us)) < 0)
				goto rollback;
		}
	}
	/* the member facts the rules decided that no event amount carries */
	const struct rules_member *m = &res->member;
	if (!anonymous && (r = ledger_run_ints(l,
				 "UPDATE members SET welcomed = ?2, birthday_bonus_year = ?3,"
				 " offline_redeemed_pts = ?4 WHERE member_id = ?1",
				 4,
				 (int64_t[]){member_id, m->welcomed, m->birthday_bonus_year,
					     m->offline_redeemed_pts},
				 NULL)) < 0)
		goto rollback;
	if (sale && !anonymous) {
		struct rules_sale_record rec = {
		    .time_us = booking->time_us,
		    .basket_gr = res->basket_gr,
		    .eligible_basket_gr = booking->eligible_basket_gr,
		    .paid_gr = res->to_pay_gr,
		    .redeemed_pts = res->redeemed_pts,
		    .earned_pts = res->earned_pts,
		    .bonus_pts = res->bonus_pts,
		};
		if ((r = ledger_sale_insert(l, receipt_no, member_id, &rec)) < 0)
			goto rollback;
	}
	if ((r = trace_insert(l, receipt_no, res->trace, res->n_trace)) < 0)
		goto rollback;
	/* read what was booked before committing: once committed, the call must not fail */
	struct ledger_receipt booked;
	r = sale ? ledger_receipt_read(l, receipt_no, true, &booked)
		 : receipt_of(l, receipt_no, first_seq, member_id, booking->time_us, 0, points,
			      is_new, &booked);
	if (r < 0 || (r = ledger_exec(l, "COMMIT")) < 0)
		goto rollback;
	*ret_receipt = booked;
	return 0;
rollback:
	(void) ledger_exec(l, "ROLLBACK");
	return r;
}

int ledger_book_refund(struct ledger *ledger, const char *receipt_no,
		       const struct rules_refund_result *res, int64_t now_us,
		       struct ledger_receipt *ret_receipt)
{
	struct ledger *l = ledger;
	struct rules_sale_record old;
	struct ledger_chain chain;
	char refund_no[LEDGER_RECEIPT_NO_MAX + 1];
	int64_t member_id, first_seq, points = 0, amount_gr = 0;
	int r;

	if (!l || !receipt_no || !res || !ret_receipt ||
	    strlen(receipt_no) > LEDGER_RECEIPT_NO_MAX || res->refusal != RULES_OK ||
	    res->n_events == 0 || res->n_events > RULES_EVENTS_MAX)
		return -EINVAL;
	if ((r = ledger_begin(l)) < 0)
		return r;
	if ((r = sale_read(l, receipt_no, &old, &member_id)) < 0)
		goto rollback;
	if (res->member.member_id != member_id) {
		r = -EINVAL;
		goto rollback;
	}
	/* the result must continue the stored record: same sale, more refunded than so far */
	const struct rules_sale_record *nr = &res->record;
	if (nr->time_us != old.time_us || nr->basket_gr != old.basket_gr ||
	    nr->eligible_basket_gr != old.eligible_basket_gr || nr->paid_gr != old.paid_gr ||
	    nr->redeemed_pts != old.redeemed_pts || nr->earned_pts != old.earned_pts ||
	    nr->bonus_pts != old.bonus_pts || nr->refunded_basket_gr <= old.refunded_basket_gr ||
	    nr->refunded_paid_gr < old.refunded_paid_gr || nr->reversed_pts < old.reversed_pts ||
	    nr->recredited_pts < old.recredited_pts) {
		r = -ESTALE;
		goto rollback;
	}
	if ((r = ledger_chain_tip(l, &chain)) < 0)
		goto rollback;
	first_seq = chain.seq + 1;
	snprintf(refund_no, sizeof(refund_no), "%s-%06lld", l->terminal_id, (long long) first_seq);
	for (size_t i = 0; i < res->n_events; i++) {
		const struct rules_event *e = &res->events[i];
		struct ledger_new_event ev;
		int64_t whose =
		    e->member_id == member_id || !e->member_id ? member_id : e->member_id;
		new_event_of(e, whose, refund_no, now_us, &ev);
		if (!e->ref[0])
			ev.ref = receipt_no; /* the refunded sale */
		if ((r = ledger_insert_event(l, &chain, &ev)) < 0 ||
		    (r = ledger_apply_event(l, &ev)) < 0)
			goto rollback;
		if (whose == member_id)
			points += e->points;
		if (e->kind == RULES_EV_REFUND)
			amount_gr += e->amount_gr;
	}
	sqlite3_stmt *st;
	if (ledger_stmt(l,
			"UPDATE sales SET refunded_basket_gr = ?2, refunded_eligible_gr = ?3,"
			" refunded_paid_gr = ?4, reversed_pts = ?5, recredited_pts = ?6"
			" WHERE receipt_no = ?1",
			&st) < 0) {
		r = ledger_sql_fail(l, "prepare sale update");
		goto rollback;
	}
	sqlite3_bind_text(st, 1, receipt_no, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, nr->refunded_basket_gr);
	sqlite3_bind_int64(st, 3, nr->refunded_eligible_gr);
	sqlite3_bind_int64(st, 4, nr->refunded_paid_gr);
	sqlite3_bind_int64(st, 5, nr->reversed_pts);
	sqlite3_bind_int64(st, 6, nr->recredited_pts);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "update sale");
	ledger_stmt_done(st);
	struct ledger_receipt booked;
	if (r < 0 ||
	    (r = receipt_of(l, refund_no, first_seq, member_id, now_us, amount_gr, points, false,
			    &booked)) < 0 ||
	    (r = ledger_exec(l, "COMMIT")) < 0)
		goto rollback;
	*ret_receipt = booked;
	return 0;
rollback:
	(void) ledger_exec(l, "ROLLBACK");
	return r;
}

int ledger_coupons_issued_since(struct ledger *ledger, const char *campaign, int64_t since_us,
				int64_t *ret_count)
{
	sqlite3_stmt *st;
	if (!ledger || !campaign || !ret_count)
		return -EINVAL;
	if (ledger_stmt(ledger,
			"SELECT COUNT(*) FROM coupons WHERE campaign = ?1 AND issued_us >= ?2",
			&st) < 0)
		return ledger_sql_fail(ledger, "prepare coupon count");
	sqlite3_bind_text(st, 1, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since_us);
	int r = sqlite3_step(st) == SQLITE_ROW ? 0 : ledger_sql_fail(ledger, "coupon count");
	if (r == 0)
		*ret_count = sqlite3_column_int64(st, 0);
	ledger_stmt_done(st);
	return r;
}
