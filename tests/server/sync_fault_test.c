/*
 * sync_fault_test: a push is stored whole or not at all. The store's writes and its commit fail
 * in turn (the Nth call, once); every failed push leaves the store as it was (events, members,
 * flags, changes, the terminal's chain head), and the same batch sent again is then booked once
 * with the same flags, and a third time answered all "duplicate".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sync.h"

#define CARD "7K3M9QZX2H4P"
#define DAY0 1795737600000000LL /* a UTC midnight */

static const struct store_ops *real;
static struct store_ops faulty;
static int calls, fail_at;

static bool fault(void)
{
	return ++calls == fail_at;
}

static int f_event_put(struct store *st, const struct ledger_event *ev, int64_t received_us)
{
	return fault() ? -EIO : real->event_put(st, ev, received_us);
}

static int f_member_put(struct store *st, const struct store_member *m)
{
	return fault() ? -EIO : real->member_put(st, m);
}

static int f_flag_add(struct store *st, const struct store_flag *f)
{
	return fault() ? -EIO : real->flag_add(st, f);
}

static int f_change_put(struct store *st, const char *key, const char *json)
{
	return fault() ? -EIO : real->change_put(st, key, json);
}

static int f_terminal_put(struct store *st, const struct store_terminal *t)
{
	return fault() ? -EIO : real->terminal_put(st, t);
}

static int f_commit(struct store *st)
{
	return fault() ? -EIO : real->commit(st);
}

static int f_begin(struct store *st)
{
	return fault() ? -EIO : real->begin(st);
}

/* n events of terminal, chained on from *seq and prev (both updated). */
static void make_event(struct ledger_event *ev, const char *terminal, int64_t *seq,
		       uint8_t prev[LEDGER_HASH_BYTES], const char *kind, const char *card,
		       int64_t points, int64_t amount_gr, const char *ref)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = ++*seq;
	randombytes_buf(ev->event_id, sizeof(ev->event_id));
	snprintf(ev->terminal_id, sizeof(ev->terminal_id), "%s", terminal);
	snprintf(ev->kind, sizeof(ev->kind), "%s", kind);
	snprintf(ev->card_code, sizeof(ev->card_code), "%s", card);
	ev->member_id = card[0] ? 1 : 0;
	ev->points = points;
	ev->amount_gr = amount_gr;
	snprintf(ev->receipt_no, sizeof(ev->receipt_no), "%s-%06lld", terminal, (long long) *seq);
	ev->time_us = DAY0 + 3600000000LL + *seq;
	snprintf(ev->ref, sizeof(ev->ref), "%s", ref);
	ev->encoding = 3;
	assert_int_equal(ledger_event_hash(ev, prev, prev), 0);
	memcpy(ev->hash, prev, LEDGER_HASH_BYTES);
}

struct snapshot {
	int64_t events, flags, changes, last_seq, balance;
};

static int count_flag(void *userdata, const struct store_flag *f)
{
	(void) f;
	++*(int64_t *) userdata;
	return 0;
}

static int count_change(void *userdata, const struct store_change *c)
{
	(void) c;
	++*(int64_t *) userdata;
	return 0;
}

static void snap(struct store *st, struct snapshot *s)
{
	struct store_terminal t;
	struct store_member m;
	memset(s, 0, sizeof(*s));
	assert_int_equal(real->count_events(st, &s->events), 0);
	assert_int_equal(real->flags_read(st, count_flag, &s->flags), 0);
	assert_true(real->changes_read(st, 0, 1000, count_change, &s->changes) >= 0);
	assert_int_equal(real->terminal_get(st, "T1", &t), 0);
	s->last_seq = t.last_seq;
	s->balance = real->member_get(st, CARD, &m) == 0 ? m.balance_pts : -999999;
}

static void put_terminal(struct store *st, const char *id)
{
	struct store_terminal t = {.registered = true, .created_us = DAY0};
	snprintf(t.terminal_id, sizeof(t.terminal_id), "%s", id);
	memset(t.public_key, id[1], sizeof(t.public_key));
	assert_int_equal(st->ops->begin(st), 0);
	assert_int_equal(st->ops->terminal_put(st, &t), 0);
	assert_int_equal(st->ops->commit(st), 0);
}

static int64_t field(cJSON *o, const char *name)
{
	char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, name));
	int64_t v = strtoll(s, NULL, 10);
	free(s);
	return v;
}

static void test_push_whole_or_nothing(void **state)
{
	struct programme prog;
	(void) state;
	programme_default(&prog);
	struct sync_policy pol = {.prog = &prog,
				  .terminal_budget_pts = 100,
				  .member_cap_pts = 50,
				  .max_offline_age_s = 1};
	int faults_seen = 0;

	for (fail_at = 1;; fail_at++) {
		char dir[] = "/tmp/sync_fault.XXXXXX", path[64], err[256];
		struct store *st;
		struct sync_error serr;
		struct snapshot before, after;
		cJSON *resp = NULL;
		uint8_t h1[LEDGER_HASH_BYTES] = {0}, h2[LEDGER_HASH_BYTES] = {0};
		int64_t s1 = 0, s2 = 0;
		struct ledger_event first[1], ev[4];

		assert_non_null(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/server.sqlite", dir);
		assert_int_equal(store_sqlite_open(path, &st, err, sizeof(err)), 0);
		real = st->ops;
		put_terminal(st, "T1");
		put_terminal(st, "T2");

		/* T2 used coupon C-1 first */
		make_event(&first[0], "T2", &s2, h2, "coupon_use", CARD, 0, 500, "C-1");
		struct sync_push p2 = {.terminal_id = "T2", .n_events = 1, .events = first};
		assert_int_equal(sync_push_apply(st, &pol, "T2", &p2, DAY0 + 1, &resp, &serr), 0);
		cJSON_Delete(resp);

		/* T1: an earn, the same coupon (conflict), a redemption past budget, cap and
		 * balance, an anonymous earn */
		make_event(&ev[0], "T1", &s1, h1, "earn", CARD, 30, 3000, "");
		make_event(&ev[1], "T1", &s1, h1, "coupon_use", CARD, 0, 500, "C-1");
		make_event(&ev[2], "T1", &s1, h1, "redeem", CARD, -120, 1200, "");
		make_event(&ev[3], "T1", &s1, h1, "earn", "", 5, 500, "");
		struct sync_push p1 = {.terminal_id = "T1", .n_events = 4, .events = ev};

		snap(st, &before);
		faulty = *real;
		faulty.begin = f_begin;
		faulty.event_put = f_event_put;
		faulty.member_put = f_member_put;
		faulty.flag_add = f_flag_add;
		faulty.change_put = f_change_put;
		faulty.terminal_put = f_terminal_put;
		faulty.commit = f_commit;
		st->ops = &faulty;
		calls = 0;
		resp = NULL;
		int r = sync_push_apply(st, &pol, "T1", &p1, DAY0 + 2, &resp, &serr);
		st->ops = real;
		bool failed = r < 0;
		if (failed) {
			faults_seen++;
			assert_int_equal(r, -EIO);
			assert_string_equal(serr.code, "storage_unavailable");
			assert_null(resp);
			snap(st, &after);
			assert_memory_equal(&before, &after, sizeof(before));
			/* the terminal sends the batch again */
			assert_int_equal(
			    sync_push_apply(st, &pol, "T1", &p1, DAY0 + 3, &resp, &serr), 0);
		}
		assert_int_equal(field(resp, "accepted"), 4);
		assert_int_equal(field(resp, "acked_seq"), 4);
		cJSON_Delete(resp);
		snap(st, &after);
		assert_int_equal(after.events, 5);
		assert_int_equal(after.balance, 30 - 120);
		/* coupon_conflict, budget_exceeded, member_cap_exceeded, negative_balance */
		assert_int_equal(after.flags, 4);
		assert_int_equal(sync_push_apply(st, &pol, "T1", &p1, DAY0 + 4, &resp, &serr), 0);
		assert_int_equal(field(resp, "duplicates"), 4);
		assert_int_equal(field(resp, "accepted"), 0);
		cJSON_Delete(resp);
		struct snapshot again;
		snap(st, &again);
		assert_memory_equal(&after, &again, sizeof(after));

		store_close(st);
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
		if (!failed)
			break; /* fail_at is past the last write: every one was tried */
	}
	/* begin, 4 events and their flags, the member and its change, the head, commit */
	assert_true(faults_seen >= 12);
	printf("%d failing calls tried\n", faults_seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_push_whole_or_nothing),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
