/*
 * ledger_retention: what the ledger forgets and why it stays verifiable — the purge of old
 * synced events behind a checkpoint, the erasure of a member — and the rebuild of member state
 * from the events.
 *
 * Not for: deciding when to purge or whom to erase (the firmware's policy and the server's
 * tombstones decide); this file only carries it out, in one transaction each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger-priv.h"
#include "log.h"
#include "wartime.h"

#define US_PER_DAY INT64_C(86400000000)
#define US_PER_S   INT64_C(1000000)

int ledger_checkpoint_read(struct ledger *l, struct ledger_checkpoint *ret)
{
	sqlite3_stmt *st;
	struct ledger_checkpoint cp = {0};
	if (sqlite3_prepare_v2(l->db, "SELECT seq, hash, purged_events, time_us FROM checkpoint",
			       -1, &st, NULL) != SQLITE_OK)
		return ledger_sql_fail(l, "prepare checkpoint read");
	int r = 0, s = sqlite3_step(st);
	if (s == SQLITE_ROW && sqlite3_column_bytes(st, 1) == LEDGER_HASH_LEN) {
		cp.seq = sqlite3_column_int64(st, 0);
		memcpy(cp.hash, sqlite3_column_blob(st, 1), LEDGER_HASH_LEN);
		cp.purged_events = sqlite3_column_int64(st, 2);
		cp.time_us = sqlite3_column_int64(st, 3);
	} else if (s != SQLITE_DONE) {
		r = ledger_sql_fail(l, "checkpoint read");
	}
	sqlite3_finalize(st);
	if (r == 0)
		*ret = cp;
	return r;
}

/* ---- the fold: member state from the checkpoint and the events ---- */

struct fold_lot {
	int64_t earned_us, pts;
};

struct fold_stamp {
	char card[LEDGER_REF_MAX + 1];
	int64_t count;
};

struct fold_member {
	int64_t balance_pts, visits, last_visit_us, first_visit_us, monetary_gr, last_coupon_us;
	int32_t birthday_bonus_year;
	bool welcomed; /* a welcome bonus was booked */
	bool touched;  /* an event was folded in since the fold was made */
	bool present;  /* the members table holds the member */
	uint32_t n_lots, cap_lots, n_stamps, cap_stamps;
	struct fold_lot *lots;	   /* oldest first */
	struct fold_stamp *stamps; /* by card, in byte order */
};

/* An event waiting in the fold's batch: what the fold needs of it. */
struct fold_ev {
	int64_t seq, member_id, points, amount_gr, time_us, lot_us, progress;
	uint8_t kind;		      /* enum fold_kind */
	char ref[LEDGER_REF_MAX + 1]; /* the stamp card */
};

#define FOLD_BATCH 256

struct ledger_fold {
	struct fold_ev batch[FOLD_BATCH]; /* events not folded yet, in seq order */
	size_t n_batch;
	int64_t max_id; /* members 1..max_id */
	struct fold_member *m;
	bool oom;				/* an allocation failed: the fold is incomplete */
	int64_t missing_seq, missing_member_id; /* the first event of a member not in the ledger */
};

static void fold_flush(struct ledger_fold *f);

bool ledger_fold_missing_member(struct ledger_fold *f, int64_t *ret_seq, int64_t *ret_member_id)
{
	fold_flush(f);
	if (!f->missing_seq)
		return false;
	*ret_seq = f->missing_seq;
	*ret_member_id = f->missing_member_id;
	return true;
}

static bool grow(void **p, uint32_t *cap, uint32_t need, size_t size)
{
	if (need <= *cap)
		return true;
	uint32_t n = *cap ? *cap * 2 : 4;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* Credit pts to the lot earned at t, as lot_credit() in ledger_programme.c does. */
static void fold_credit(struct ledger_fold *f, struct fold_member *m, int64_t t, int64_t pts)
{
	uint32_t pos = m->n_lots;
	while (pos > 0 && m->lots[pos - 1].earned_us > t)
		pos--;
	if (pos > 0 && m->lots[pos - 1].earned_us == t) {
		m->lots[pos - 1].pts += pts;
		return;
	}
	if (m->n_lots >= RULES_LOTS_MAX) {
		m->lots[pos > 0 ? pos - 1 : 0].pts += pts;
		return;
	}
	if (!grow((void **) &m->lots, &m->cap_lots, m->n_lots + 1, sizeof(*m->lots))) {
		f->oom = true;
		return;
	}
	memmove(m->lots + pos + 1, m->lots + pos, (m->n_lots - pos) * sizeof(*m->lots));
	m->lots[pos] = (struct fold_lot){t, pts};
	m->n_lots++;
}

/* Take pts from the oldest lots first (as lot_debit() does; a shortfall leaves no lots). */
static void fold_debit(struct fold_member *m, int64_t pts)
{
	uint32_t gone = 0;
	while (gone < m->n_lots && pts > 0) {
		if (m->lots[gone].pts <= pts) {
			pts -= m->lots[gone++].pts;
		} else {
			m->lots[gone].pts -= pts;
			pts = 0;
		}
	}
	memmove(m->lots, m->lots + gone, (m->n_lots - gone) * sizeof(*m->lots));
	m->n_lots -= gone;
}

static void fold_stamp_set(struct ledger_fold *f, struct fold_member *m, const char *card,
			   size_t len, int64_t count)
{
	char key[LEDGER_REF_MAX + 1];
	snprintf(key, sizeof(key), "%.*s", (int) len, card ? card : "");
	uint32_t pos = 0;
	int c = 1;
	while (pos < m->n_stamps && (c = strcmp(m->stamps[pos].card, key)) < 0)
		pos++;
	if (pos < m->n_stamps && c == 0) {
		m->stamps[pos].count = count;
		return;
	}
	if (!grow((void **) &m->stamps, &m->cap_stamps, m->n_stamps + 1, sizeof(*m->stamps))) {
		f->oom = true;
		return;
	}
	memmove(m->stamps + pos + 1, m->stamps + pos, (m->n_stamps - pos) * sizeof(*m->stamps));
	memcpy(m->stamps[pos].card, key, sizeof(key));
	m->stamps[pos].count = count;
	m->n_stamps++;
}

static bool kind_is(const struct ledger_hash_event *ev, const char *kind)
{
	size_t n = strlen(kind);
	return ev->kind_len == n && memcmp(ev->kind, kind, n) == 0;
}

static bool rule_is(const struct ledger_hash_event *ev, const char *rule)
{
	size_t n = strlen(rule);
	return ev->rule_len == n && memcmp(ev->rule, rule, n) == 0;
}

/* What an event does to its member besides its points. */
enum fold_kind {
	FOLD_OTHER,
	FOLD_EARN,
	FOLD_REFUND,
	FOLD_COUPON_ISSUE,
	FOLD_WELCOME,
	FOLD_BIRTHDAY,
	FOLD_STAMP,
};

/* Fold one event whose member is in range (the batch's second pass). */
static void fold_apply(struct ledger_fold *f, const struct fold_ev *ev)
{
	struct fold_member *m = &f->m[ev->member_id];
	if (!m->present) {
		if (!f->missing_seq) {
			f->missing_seq = ev->seq;
			f->missing_member_id = ev->member_id;
		}
		return;
	}
	m->touched = true;
	if (ev->points > 0) {
		m->balance_pts += ev->points;
		fold_credit(f, m, ev->lot_us ? ev->lot_us : ev->time_us, ev->points);
	} else if (ev->points < 0) {
		m->balance_pts += ev->points;
		fold_debit(m, -ev->points);
	}
	switch ((enum fold_kind) ev->kind) {
	case FOLD_EARN:
		m->visits++;
		if (ev->time_us > m->last_visit_us)
			m->last_visit_us = ev->time_us;
		if (!m->first_visit_us)
			m->first_visit_us = ev->time_us;
		m->monetary_gr += ev->amount_gr;
		break;
	case FOLD_REFUND:
		m->monetary_gr += ev->amount_gr;
		break;
	case FOLD_COUPON_ISSUE:
		m->last_coupon_us = ev->time_us;
		break;
	case FOLD_WELCOME:
		m->welcomed = true;
		break;
	case FOLD_BIRTHDAY: {
		struct wartime w;
		int64_t sec = ev->time_us / US_PER_S - (ev->time_us % US_PER_S < 0);
		wartime_from_utc(sec, &w);
		m->birthday_bonus_year = w.year;
		break;
	}
	case FOLD_STAMP:
		fold_stamp_set(f, m, ev->ref, strlen(ev->ref), ev->progress);
		break;
	case FOLD_OTHER:
		break;
	}
}

/*
 * Fold the batched events in order. The events of a large ledger touch members at random, so
 * each costs a cache miss on its member and another on its lots: the members were prefetched
 * when the events were batched, their newest lots are prefetched here before the pass that
 * folds them.
 */
static void fold_flush(struct ledger_fold *f)
{
	for (size_t i = 0; i < f->n_batch; i++) {
		const struct fold_member *m = &f->m[f->batch[i].member_id];
		if (m->n_lots)
			__builtin_prefetch(&m->lots[m->n_lots - 1], 1);
	}
	for (size_t i = 0; i < f->n_batch; i++)
		fold_apply(f, &f->batch[i]);
	f->n_batch = 0;
}

void ledger_fold_event(struct ledger_fold *f, const struct ledger_hash_event *ev)
{
	if (!ev->member_id)
		return; /* an event of no member */
	if (ev->member_id < 0 || ev->member_id > f->max_id) {
		fold_flush(f); /* keep the first missing member the first in seq order */
		if (!f->missing_seq) {
			f->missing_seq = ev->seq;
			f->missing_member_id = ev->member_id;
		}
		return;
	}
	struct fold_ev *b = &f->batch[f->n_batch];
	b->seq = ev->seq;
	b->member_id = ev->member_id;
	b->points = ev->points;
	b->amount_gr = ev->amount_gr;
	b->time_us = ev->time_us;
	b->lot_us = ev->lot_us;
	b->progress = ev->progress;
	b->kind = FOLD_OTHER;
	if (kind_is(ev, "earn"))
		b->kind = FOLD_EARN;
	else if (kind_is(ev, "refund"))
		b->kind = FOLD_REFUND;
	else if (kind_is(ev, "coupon_issue"))
		b->kind = FOLD_COUPON_ISSUE;
	else if (kind_is(ev, "bonus") && rule_is(ev, "welcome"))
		b->kind = FOLD_WELCOME;
	else if (kind_is(ev, "bonus") && rule_is(ev, "birthday"))
		b->kind = FOLD_BIRTHDAY;
	else if (kind_is(ev, "stamp") && ev->items > 0) {
		b->kind = FOLD_STAMP;
		snprintf(b->ref, sizeof(b->ref), "%.*s", (int) ev->ref_len, ev->ref ? ev->ref : "");
	}
	__builtin_prefetch(&f->m[ev->member_id], 1);
	if (++f->n_batch == FOLD_BATCH)
		fold_flush(f);
}

void ledger_fold_free(struct ledger_fold *f)
{
	if (!f)
		return;
	for (int64_t i = 0; f->m && i <= f->max_id; i++) {
		free(f->m[i].lots);
		free(f->m[i].stamps);
	}
	free(f->m);
	free(f);
}

int ledger_fold_new(struct ledger *l, struct ledger_fold **ret_fold)
{
	int64_t max_id;
	sqlite3_stmt *st = NULL;
	int r =
	    ledger_read_int(l, "SELECT COALESCE(MAX(member_id), 0) FROM members", 0, NULL, &max_id);
	if (r < 0)
		return r;
	struct ledger_fold *f = calloc(1, sizeof(*f));
	if (!f || !(f->m = calloc((size_t) max_id + 1, sizeof(*f->m)))) {
		free(f);
		return -ENOMEM;
	}
	f->max_id = max_id;
	int s;
	if (sqlite3_prepare_v2(l->db, "SELECT member_id FROM members", -1, &st, NULL) !=
	    SQLITE_OK) {
		r = ledger_sql_fail(l, "prepare member ids");
		goto fail;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > 0 && id <= max_id)
			f->m[id].present = true;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (s != SQLITE_DONE) {
		r = ledger_sql_fail(l, "read member ids");
		goto fail;
	}
	if (sqlite3_prepare_v2(l->db,
			       "SELECT member_id, points, visits, last_visit_us, first_visit_us,"
			       " monetary_gr, last_coupon_us, birthday_bonus_year"
			       " FROM checkpoint_members",
			       -1, &st, NULL) != SQLITE_OK) {
		r = ledger_sql_fail(l, "prepare checkpoint members");
		goto fail;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id <= 0 || id > max_id)
			continue;
		struct fold_member *m = &f->m[id];
		m->balance_pts = sqlite3_column_int64(st, 1);
		m->visits = sqlite3_column_int64(st, 2);
		m->last_visit_us = sqlite3_column_int64(st, 3);
		m->first_visit_us = sqlite3_column_int64(st, 4);
		m->monetary_gr = sqlite3_column_int64(st, 5);
		m->last_coupon_us = sqlite3_column_int64(st, 6);
		m->birthday_bonus_year = (int32_t) sqlite3_column_int64(st, 7);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (s != SQLITE_DONE) {
		r = ledger_sql_fail(l, "read checkpoint members");
		goto fail;
	}
	if (sqlite3_prepare_v2(l->db,
			       "SELECT member_id, earned_us, pts FROM checkpoint_lots"
			       " ORDER BY member_id, earned_us",
			       -1, &st, NULL) != SQLITE_OK) {
		r = ledger_sql_fail(l, "prepare checkpoint lots");
		goto fail;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id <= 0 || id > max_id)
			continue;
		struct fold_member *m = &f->m[id];
		if (!grow((void **) &m->lots, &m->cap_lots, m->n_lots + 1, sizeof(*m->lots))) {
			r = -ENOMEM;
			goto fail;
		}
		m->lots[m->n_lots++] =
		    (struct fold_lot){sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2)};
	}
	sqlite3_finalize(st);
	st = NULL;
	if (s != SQLITE_DONE) {
		r = ledger_sql_fail(l, "read checkpoint lots");
		goto fail;
	}
	if (sqlite3_prepare_v2(l->db, "SELECT member_id, card, count FROM checkpoint_stamps", -1,
			       &st, NULL) != SQLITE_OK) {
		r = ledger_sql_fail(l, "prepare checkpoint stamps");
		goto fail;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id <= 0 || id > max_id)
			continue;
		fold_stamp_set(f, &f->m[id], (const char *) sqlite3_column_text(st, 1),
			       (size_t) sqlite3_column_bytes(st, 1), sqlite3_column_int64(st, 2));
	}
	sqlite3_finalize(st);
	st = NULL;
	if (s != SQLITE_DONE) {
		r = ledger_sql_fail(l, "read checkpoint stamps");
		goto fail;
	}
	if (f->oom) {
		r = -ENOMEM;
		goto fail;
	}
	*ret_fold = f;
	return 0;
fail:
	sqlite3_finalize(st);
	ledger_fold_free(f);
	return r;
}

int ledger_fold_events(struct ledger *l, struct ledger_fold *f, int64_t from_seq, int64_t to_seq)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(l->db,
			       "SELECT " LEDGER_EVENT_COLUMNS " FROM events WHERE seq >= ?1"
			       " AND seq <= ?2 ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		return ledger_sql_fail(l, "prepare fold events");
	sqlite3_bind_int64(st, 1, from_seq);
	sqlite3_bind_int64(st, 2, to_seq ? to_seq : INT64_MAX);
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_hash_event ev;
		ledger_event_from_row(l, st, 0, &ev);
		ledger_fold_event(f, &ev);
	}
	fold_flush(f);
	int r = s == SQLITE_DONE ? 0 : ledger_sql_fail(l, "read fold events");
	sqlite3_finalize(st);
	if (r == 0 && f->oom)
		r = -ENOMEM;
	return r;
}

/* Cursors over the stored member state, all in member_id order. */
struct stored {
	sqlite3_stmt *members, *lots, *stamps;
	int lots_s, stamps_s; /* the last step of each */
	struct fold_lot *buf;
	uint32_t n_buf, cap_buf;
};

static int stored_open(struct ledger *l, struct stored *c)
{
	memset(c, 0, sizeof(*c));
	if (sqlite3_prepare_v2(l->db,
			       "SELECT member_id, balance_pts, visits, last_visit_us, created_us,"
			       " first_visit_us, monetary_gr, first_purchase_done, last_coupon_us,"
			       " birthday_bonus_year, welcomed FROM members ORDER BY member_id",
			       -1, &c->members, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(l->db,
			       "SELECT member_id, earned_us, pts FROM lots"
			       " ORDER BY member_id, earned_us",
			       -1, &c->lots, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(l->db,
			       "SELECT member_id, card, count FROM member_stamps WHERE count > 0"
			       " ORDER BY member_id, card",
			       -1, &c->stamps, NULL) != SQLITE_OK)
		return ledger_sql_fail(l, "prepare member state read");
	c->lots_s = sqlite3_step(c->lots);
	c->stamps_s = sqlite3_step(c->stamps);
	return 0;
}

static void stored_close(struct stored *c)
{
	sqlite3_finalize(c->members);
	sqlite3_finalize(c->lots);
	sqlite3_finalize(c->stamps);
	free(c->buf);
}

static const struct fold_member no_member;

/* Compare member id (the current row of c->members) with its fold into *d. */
static int compare_one(struct ledger_fold *f, struct stored *c, struct ledger_fold_diff *d)
{
	sqlite3_stmt *st = c->members;
	int64_t id = sqlite3_column_int64(st, 0);
	const struct fold_member *m = id > 0 && id <= f->max_id ? &f->m[id] : &no_member;
	int64_t created = sqlite3_column_int64(st, 4);
	int64_t fold_last = m->last_visit_us > created ? m->last_visit_us : created;
	memset(d, 0, sizeof(*d));
	d->member_id = id;
	d->stored_balance_pts = sqlite3_column_int64(st, 1);
	d->fold_balance_pts = m->balance_pts;
	d->stored_visits = sqlite3_column_int64(st, 2);
	d->fold_visits = m->visits;

	/* the stored lots of this member */
	c->n_buf = 0;
	while (c->lots_s == SQLITE_ROW && sqlite3_column_int64(c->lots, 0) < id)
		c->lots_s = sqlite3_step(c->lots);
	while (c->lots_s == SQLITE_ROW && sqlite3_column_int64(c->lots, 0) == id) {
		if (!grow((void **) &c->buf, &c->cap_buf, c->n_buf + 1, sizeof(*c->buf)))
			return -ENOMEM;
		c->buf[c->n_buf++] = (struct fold_lot){sqlite3_column_int64(c->lots, 1),
						       sqlite3_column_int64(c->lots, 2)};
		d->stored_lots_pts += sqlite3_column_int64(c->lots, 2);
		c->lots_s = sqlite3_step(c->lots);
	}
	if (c->lots_s != SQLITE_ROW && c->lots_s != SQLITE_DONE)
		return -EIO;

	if (d->stored_balance_pts != d->fold_balance_pts)
		d->what |= LEDGER_FOLD_BALANCE;
	if (d->stored_lots_pts != d->stored_balance_pts)
		d->what |= LEDGER_FOLD_LOTSUM;
	if (d->stored_visits != m->visits || sqlite3_column_int64(st, 3) != fold_last)
		d->what |= LEDGER_FOLD_VISITS;

	const char *fact = NULL;
	int64_t stored_v = 0, fold_v = 0;
#define FACT(col, name, value)                                                                     \
	if (!fact && sqlite3_column_int64(st, col) != (value)) {                                   \
		fact = name;                                                                       \
		stored_v = sqlite3_column_int64(st, col);                                          \
		fold_v = (value);                                                                  \
	}
	FACT(5, "first visit", m->first_visit_us)
	FACT(6, "lifetime spend", m->monetary_gr)
	FACT(7, "first purchase flag", m->visits > 0)
	FACT(8, "last coupon time", m->last_coupon_us)
	FACT(9, "birthday bonus year", m->birthday_bonus_year)
#undef FACT
	if (!fact && m->welcomed && !sqlite3_column_int64(st, 10)) {
		fact = "welcome flag";
		fold_v = 1;
	}
	if (fact) {
		d->what |= LEDGER_FOLD_FACTS;
		snprintf(d->detail, sizeof(d->detail), "%s: %lld stored, %lld from the events",
			 fact, (long long) stored_v, (long long) fold_v);
	}

	bool lots_same = c->n_buf == m->n_lots;
	for (uint32_t i = 0; lots_same && i < m->n_lots; i++)
		lots_same =
		    c->buf[i].earned_us == m->lots[i].earned_us && c->buf[i].pts == m->lots[i].pts;
	if (!lots_same) {
		d->what |= LEDGER_FOLD_LOTS;
		if (!d->detail[0])
			snprintf(d->detail, sizeof(d->detail),
				 "points lots: %u stored, %u from the events", c->n_buf, m->n_lots);
	}

	/* stamp cards with a count: stored rows against the fold's */
	while (c->stamps_s == SQLITE_ROW && sqlite3_column_int64(c->stamps, 0) < id)
		c->stamps_s = sqlite3_step(c->stamps);
	uint32_t k = 0;
	bool stamps_same = true;
	const char *card = NULL;
	while (c->stamps_s == SQLITE_ROW && sqlite3_column_int64(c->stamps, 0) == id) {
		while (k < m->n_stamps && m->stamps[k].count == 0)
			k++;
		const char *sc = (const char *) sqlite3_column_text(c->stamps, 1);
		if (stamps_same && (k == m->n_stamps || strcmp(sc ? sc : "", m->stamps[k].card) ||
				    sqlite3_column_int64(c->stamps, 2) != m->stamps[k].count)) {
			stamps_same = false;
			if (!d->detail[0])
				snprintf(
				    d->detail, sizeof(d->detail),
				    "stamp card %s: %lld stamps stored, %lld from the events",
				    sc ? sc : "", (long long) sqlite3_column_int64(c->stamps, 2),
				    (long long) (k < m->n_stamps && strcmp(sc ? sc : "",
									   m->stamps[k].card) == 0
						     ? m->stamps[k].count
						     : 0));
		}
		k++;
		c->stamps_s = sqlite3_step(c->stamps);
	}
	while (stamps_same && k < m->n_stamps) {
		if (m->stamps[k].count) {
			stamps_same = false;
			card = m->stamps[k].card;
		}
		k++;
	}
	if (card && !d->detail[0])
		snprintf(d->detail, sizeof(d->detail), "stamp card %s: no stamps stored", card);
	if (!stamps_same)
		d->what |= LEDGER_FOLD_STAMPS;
	if (c->stamps_s != SQLITE_ROW && c->stamps_s != SQLITE_DONE)
		return -EIO;
	return 0;
}

int ledger_fold_compare(struct ledger *l, struct ledger_fold *f, ledger_fold_fn fn, void *userdata)
{
	fold_flush(f);
	if (f->oom)
		return -ENOMEM;
	struct stored c;
	int r = stored_open(l, &c), s;
	if (r < 0) {
		stored_close(&c);
		return r;
	}
	while ((s = sqlite3_step(c.members)) == SQLITE_ROW) {
		struct ledger_fold_diff d;
		if ((r = compare_one(f, &c, &d)) < 0) {
			if (r == -EIO)
				r = ledger_sql_fail(l, "read member state");
			break;
		}
		if ((r = fn(userdata, &d)) != 0)
			break;
	}
	if (r == 0 && s != SQLITE_DONE)
		r = ledger_sql_fail(l, "read members");
	stored_close(&c);
	return r;
}

/* Replace the rows of member id in table (lots or stamps of the state or the checkpoint). */
static int store_rows(struct ledger *l, const struct fold_member *m, int64_t id, bool checkpoint)
{
	sqlite3_stmt *st;
	int r;
	if ((r = ledger_run_ints(l,
				 checkpoint ? "DELETE FROM checkpoint_lots WHERE member_id = ?1"
					    : "DELETE FROM lots WHERE member_id = ?1",
				 1, &id, NULL)) < 0 ||
	    (r = ledger_run_ints(l,
				 checkpoint ? "DELETE FROM checkpoint_stamps WHERE member_id = ?1"
					    : "DELETE FROM member_stamps WHERE member_id = ?1",
				 1, &id, NULL)) < 0)
		return r;
	for (uint32_t i = 0; i < m->n_lots; i++)
		if ((r = ledger_run_ints(
			 l,
			 checkpoint
			     ? "INSERT INTO checkpoint_lots (member_id, earned_us, pts)"
			       " VALUES (?1, ?2, ?3)"
			     : "INSERT INTO lots (member_id, earned_us, pts) VALUES (?1, ?2, ?3)",
			 3, (int64_t[]){id, m->lots[i].earned_us, m->lots[i].pts}, NULL)) < 0)
			return r;
	if (sqlite3_prepare_v2(l->db,
			       checkpoint ? "INSERT INTO checkpoint_stamps (member_id, card, count)"
					    " VALUES (?1, ?2, ?3)"
					  : "INSERT INTO member_stamps (member_id, card, count)"
					    " VALUES (?1, ?2, ?3)",
			       -1, &st, NULL) != SQLITE_OK)
		return ledger_sql_fail(l, "prepare stamps store");
	for (uint32_t i = 0; i < m->n_stamps && r == 0; i++) {
		if (!m->stamps[i].count)
			continue;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, m->stamps[i].card, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, m->stamps[i].count);
		r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "store stamps");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}

int ledger_fold_store(struct ledger *l, struct ledger_fold *f, int64_t id)
{
	fold_flush(f);
	const struct fold_member *m = id > 0 && id <= f->max_id ? &f->m[id] : &no_member;
	int r = ledger_run_ints(
	    l,
	    "UPDATE members SET balance_pts = ?2, visits = ?3,"
	    " last_visit_us = MAX(created_us, ?4), first_visit_us = ?5, monetary_gr = ?6,"
	    " first_purchase_done = ?3 > 0, last_coupon_us = ?7, birthday_bonus_year = ?8,"
	    " welcomed = welcomed OR ?9 WHERE member_id = ?1",
	    9,
	    (int64_t[]){id, m->balance_pts, m->visits, m->last_visit_us, m->first_visit_us,
			m->monetary_gr, m->last_coupon_us, m->birthday_bonus_year, m->welcomed},
	    NULL);
	return r < 0 ? r : store_rows(l, m, id, false);
}

int ledger_fold_store_checkpoint(struct ledger *l, struct ledger_fold *f)
{
	fold_flush(f);
	if (f->oom)
		return -ENOMEM;
	int r = 0;
	for (int64_t id = 1; id <= f->max_id && r == 0; id++) {
		const struct fold_member *m = &f->m[id];
		if (!m->touched)
			continue;
		r = ledger_run_ints(
		    l,
		    "INSERT OR REPLACE INTO checkpoint_members (member_id, points, visits,"
		    " last_visit_us, first_visit_us, monetary_gr, last_coupon_us,"
		    " birthday_bonus_year) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		    8,
		    (int64_t[]){id, m->balance_pts, m->visits, m->last_visit_us, m->first_visit_us,
				m->monetary_gr, m->last_coupon_us, m->birthday_bonus_year},
		    NULL);
		if (r == 0)
			r = store_rows(l, m, id, true);
	}
	return r;
}

static int run(struct ledger *l, const char *sql)
{
	if (sqlite3_exec(l->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ledger_sql_fail(l, sql);
	return 0;
}

/* Run a statement with up to three integer parameters to completion. */
int ledger_purge(struct ledger *ledger, int64_t now_us, int retention_days,
		 struct ledger_purge_report *ret_report)
{
	struct ledger *l = ledger;
	struct ledger_purge_report rep = {0};
	struct ledger_checkpoint cp;
	int64_t upto, cutoff, hash_seq;
	int r;

	if (!l || !ret_report || retention_days < LEDGER_RETENTION_DAYS_MIN ||
	    retention_days > 100000)
		return -EINVAL;
	cutoff = now_us - (int64_t) retention_days * US_PER_DAY;
	if ((r = ledger_begin(l)) < 0)
		return r;
	if ((r = ledger_checkpoint_read(l, &cp)) < 0)
		goto rollback;
	/* the longest prefix of events that are all acknowledged and older than the cutoff */
	int64_t args[2] = {cutoff, 0};
	if ((r = ledger_read_int(l,
				 "SELECT COALESCE((SELECT MIN(seq) FROM events WHERE time_us >= ?1"
				 "   OR seq > (SELECT acked_seq FROM outbox)),"
				 "  (SELECT MAX(seq) FROM events) + 1, 0) - 1",
				 1, args, &upto)) < 0)
		goto rollback;
	rep.checkpoint_seq = cp.seq;
	if (upto <= cp.seq) {
		r = run(l, "COMMIT");
		if (r == 0)
			*ret_report = rep;
		return r;
	}
	hash_seq = upto;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(l->db, "SELECT hash FROM events WHERE seq = ?1", -1, &st, NULL) !=
	    SQLITE_OK) {
		r = ledger_sql_fail(l, "prepare purge hash");
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, hash_seq);
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != LEDGER_HASH_LEN) {
		sqlite3_finalize(st);
		log_debug("ledger: purge: event %lld has no hash", (long long) hash_seq);
		r = -EBADMSG;
		goto rollback;
	}
	memcpy(cp.hash, sqlite3_column_blob(st, 0), LEDGER_HASH_LEN);
	sqlite3_finalize(st);

	/* fold what goes into the checkpoint, then the checkpoint, then the deletion (the trigger
	 * lets through only synced events behind the checkpoint) */
	struct ledger_fold *f;
	if ((r = ledger_fold_new(l, &f)) < 0)
		goto rollback;
	if ((r = ledger_fold_events(l, f, cp.seq + 1, upto)) == 0)
		r = ledger_fold_store_checkpoint(l, f);
	ledger_fold_free(f);
	if (r < 0)
		goto rollback;
	/* the sale records and award traces of the receipts whose events all go */
	args[0] = cp.seq;
	args[1] = upto;
	if ((r = ledger_run_ints(
		 l,
		 "DELETE FROM sale_traces WHERE receipt_no IN (SELECT receipt_no"
		 " FROM events WHERE seq > ?1 AND seq <= ?2) AND NOT EXISTS"
		 " (SELECT 1 FROM events e WHERE e.receipt_no = sale_traces.receipt_no"
		 "  AND e.seq > ?2)",
		 2, args, NULL)) < 0 ||
	    (r = ledger_run_ints(l,
				 "DELETE FROM sales WHERE receipt_no IN (SELECT receipt_no"
				 " FROM events WHERE seq > ?1 AND seq <= ?2) AND NOT EXISTS"
				 " (SELECT 1 FROM events e WHERE e.receipt_no = sales.receipt_no"
				 "  AND e.seq > ?2)",
				 2, args, NULL)) < 0)
		goto rollback;
	rep.purged_events = upto - cp.seq;
	cp.purged_events += rep.purged_events;
	cp.seq = upto;
	if (sqlite3_prepare_v2(l->db,
			       "INSERT OR REPLACE INTO checkpoint (id, seq, hash, purged_events,"
			       " time_us) VALUES (1, ?1, ?2, ?3, ?4)",
			       -1, &st, NULL) != SQLITE_OK) {
		r = ledger_sql_fail(l, "prepare checkpoint");
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, cp.seq);
	sqlite3_bind_blob(st, 2, cp.hash, LEDGER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, cp.purged_events);
	sqlite3_bind_int64(st, 4, now_us);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : ledger_sql_fail(l, "store checkpoint");
	sqlite3_finalize(st);
	if (r < 0)
		goto rollback;
	if ((r = ledger_run_ints(l, "DELETE FROM events WHERE seq <= ?1", 1, &upto, NULL)) < 0 ||
	    (r = ledger_run_ints(l, "DELETE FROM sun_taps WHERE seq <= ?1", 1, &upto, NULL)) < 0 ||
	    (r = run(l, "COMMIT")) < 0)
		goto rollback;
	rep.checkpoint_seq = upto;
	*ret_report = rep;
	return 0;
rollback:
	(void) run(l, "ROLLBACK");
	return r;
}

int ledger_erase_member(struct ledger *ledger, int64_t member_id, int64_t now_us)
{
	struct ledger *l = ledger;
	int64_t found, args[2] = {member_id, now_us};
	int r;
	if (!l || member_id <= 0)
		return -EINVAL;
	if ((r = ledger_begin(l)) < 0)
		return r;
	if ((r = ledger_read_int(l, "SELECT COUNT(*) FROM members WHERE member_id = ?1", 1, args,
				 &found)) < 0)
		goto rollback;
	if (!found) {
		r = -ENOENT;
		goto rollback;
	}
	if ((r = ledger_erase_member_in_tx(l, member_id, now_us)) < 0 || (r = run(l, "COMMIT")) < 0)
		goto rollback;
	return 0;
rollback:
	(void) run(l, "ROLLBACK");
	return r;
}

int ledger_erase_member_in_tx(struct ledger *l, int64_t member_id, int64_t now_us)
{
	/* the card code is the public card link: replaced by a value no card code can take */
	return ledger_run_ints(l,
			       "UPDATE members SET pseudonym = NULL, card_code = '~' || member_id,"
			       " birth_month = 0, birth_day = 0,"
			       " erased_us = COALESCE(erased_us, ?2) WHERE member_id = ?1",
			       2, (int64_t[]){member_id, now_us}, NULL);
}

struct rebuild {
	struct ledger_rebuild_report rep;
	int64_t *changed;
	size_t cap;
};

static int rebuild_member(void *userdata, const struct ledger_fold_diff *d)
{
	struct rebuild *b = userdata;
	b->rep.members++;
	if (!d->what)
		return 0;
	if (!b->rep.first_changed_member)
		b->rep.first_changed_member = d->member_id;
	if ((size_t) b->rep.changed == b->cap) {
		size_t n = b->cap ? b->cap * 2 : 64;
		int64_t *p = realloc(b->changed, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->changed = p;
		b->cap = n;
	}
	b->changed[b->rep.changed++] = d->member_id;
	return 0;
}

int ledger_rebuild(struct ledger *ledger, struct ledger_rebuild_report *ret_report)
{
	struct ledger *l = ledger;
	struct rebuild b = {.rep = {0}};
	struct ledger_fold *f = NULL;
	int r;

	if (!l || !ret_report)
		return -EINVAL;
	if ((r = ledger_begin(l)) < 0)
		return r;
	/* the fold first, then the members that differ from it (not while reading them) */
	if ((r = ledger_fold_new(l, &f)) < 0 || (r = ledger_fold_events(l, f, 1, 0)) < 0 ||
	    (r = ledger_fold_compare(l, f, rebuild_member, &b)) < 0)
		goto rollback;
	for (int64_t i = 0; i < b.rep.changed; i++)
		if ((r = ledger_fold_store(l, f, b.changed[i])) < 0)
			goto rollback;
	if ((r = run(l, "COMMIT")) < 0)
		goto rollback;
	ledger_fold_free(f);
	free(b.changed);
	*ret_report = b.rep;
	return 0;
rollback:
	(void) run(l, "ROLLBACK");
	ledger_fold_free(f);
	free(b.changed);
	return r;
}
