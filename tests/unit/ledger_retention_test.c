/* ledger_retention_test: outbox, purge with checkpoint, erasure, rebuild, member lookups. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ledger.h"

#define DAY_US INT64_C(86400000000)
#define T0     INT64_C(1700000000000000) /* 2023-11-14 */

struct fixture {
	char dir[64];
	char path[128];
	struct ledger *ledger;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ledger_retention_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ledger.sqlite", f->dir);
	assert_int_equal(ledger_open(f->path, "T1", &f->ledger), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];
	ledger_close(f->ledger);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A sale for card (1..255) of amount_gr at time_us, earning amount/100 points. */
static void sell(struct fixture *f, uint8_t card, int64_t amount_gr, int64_t time_us,
		 struct ledger_receipt *ret)
{
	struct ledger_sale s = {
	    .amount_gr = amount_gr, .earn_pts = amount_gr / 100, .time_us = time_us};
	struct ledger_receipt rc;
	memset(s.pseudonym, card, sizeof(s.pseudonym));
	assert_int_equal(ledger_commit_sale(f->ledger, &s, ret ? ret : &rc), 0);
}

static void assert_intact(struct ledger *l)
{
	struct ledger_verify_report rep;
	assert_int_equal(ledger_verify(l, &rep), 0);
	if (rep.problem != LEDGER_PROBLEM_NONE)
		fail_msg("verify: %s", rep.message);
}

static int sql(const char *path, const char *q)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	int rc = sqlite3_exec(db, q, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int count_events(void *userdata, const struct ledger_event *ev)
{
	(void) ev;
	(*(int *) userdata)++;
	return 0;
}

static void test_outbox(void **state)
{
	struct fixture *f = *state;
	struct ledger_event batch[10];
	size_t n;
	int64_t acked, pending;

	assert_int_equal(ledger_outbox_read(f->ledger, 10, batch, &n), 0);
	assert_int_equal(n, 0);
	sell(f, 1, 1234, T0, NULL);	  /* seq 1 enrol, 2 earn */
	sell(f, 1, 500, T0 + 1000, NULL); /* seq 3 */
	sell(f, 2, 800, T0 + 2000, NULL); /* seq 4, 5 */
	assert_int_equal(ledger_outbox_state(f->ledger, &acked, &pending), 0);
	assert_int_equal(acked, 0);
	assert_int_equal(pending, 5);

	assert_int_equal(ledger_outbox_read(f->ledger, 2, batch, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(batch[0].seq, 1);
	assert_string_equal(batch[0].kind, "enrol");
	assert_string_equal(batch[1].kind, "earn");
	assert_int_equal(batch[1].points, 12);
	assert_int_equal(batch[1].amount_gr, 1234);
	assert_string_equal(batch[1].receipt_no, "T1-000001");
	assert_string_equal(batch[1].terminal_id, "T1");
	assert_int_equal(strlen(batch[1].card_code), LEDGER_CARD_CODE_LEN);

	assert_int_equal(ledger_outbox_ack(f->ledger, 2), 0);
	assert_int_equal(ledger_outbox_read(f->ledger, 10, batch, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(batch[0].seq, 3);
	/* a late duplicate acknowledgement does not move the mark back */
	assert_int_equal(ledger_outbox_ack(f->ledger, 1), 0);
	assert_int_equal(ledger_outbox_state(f->ledger, &acked, &pending), 0);
	assert_int_equal(acked, 2);
	assert_int_equal(pending, 3);
	/* the server cannot acknowledge what was never booked */
	assert_int_equal(ledger_outbox_ack(f->ledger, 6), -ERANGE);
	assert_int_equal(ledger_outbox_ack(f->ledger, -1), -EINVAL);
	assert_int_equal(ledger_outbox_read(f->ledger, 0, batch, &n), -EINVAL);
	assert_int_equal(ledger_outbox_ack(f->ledger, 5), 0);
	assert_int_equal(ledger_outbox_read(f->ledger, 10, batch, &n), 0);
	assert_int_equal(n, 0);

	int seen = 0;
	assert_int_equal(ledger_for_each_event(f->ledger, 1, 0, count_events, &seen), 5);
	assert_int_equal(seen, 5);
}

static void test_purge_keeps_chain_and_state(void **state)
{
	struct fixture *f = *state;
	struct ledger_purge_report rep;
	struct ledger_member m;
	struct ledger_receipt r;
	int64_t now = T0 + 800 * DAY_US;

	sell(f, 1, 10000, T0, NULL);		   /* 1, 2: old */
	sell(f, 2, 5000, T0 + DAY_US, NULL);	   /* 3, 4: old */
	sell(f, 1, 2000, T0 + 2 * DAY_US, NULL);   /* 5: old */
	sell(f, 1, 3000, now - 10 * DAY_US, NULL); /* 6: recent */
	sell(f, 3, 4000, now - 5 * DAY_US, NULL);  /* 7, 8: recent */

	/* nothing acknowledged: nothing goes, whatever its age */
	assert_int_equal(ledger_purge(f->ledger, now, 400, &rep), 0);
	assert_int_equal(rep.purged_events, 0);
	assert_int_equal(ledger_purge(f->ledger, now, 30, &rep), -EINVAL);
	/* the trigger refuses to delete unsynced events outside a purge */
	assert_int_not_equal(sql(f->path, "DELETE FROM events WHERE seq = 1"), SQLITE_OK);

	assert_int_equal(ledger_outbox_ack(f->ledger, 4), 0);
	assert_int_equal(ledger_purge(f->ledger, now, 400, &rep), 0);
	assert_int_equal(rep.purged_events, 4);
	assert_int_equal(rep.checkpoint_seq, 4);
	assert_intact(f->ledger);
	/* still behind the mark: event 5 is old but not acknowledged */
	assert_int_equal(ledger_outbox_ack(f->ledger, 8), 0);
	assert_int_equal(ledger_purge(f->ledger, now, 400, &rep), 0);
	assert_int_equal(rep.purged_events, 1); /* 5; 6.. are recent */
	assert_intact(f->ledger);
	assert_int_equal(ledger_purge(f->ledger, now, 400, &rep), 0);
	assert_int_equal(rep.purged_events, 0);

	/* member state survives: card 1 has 100 + 20 + 30 points over 3 visits */
	uint8_t p[PSEUDONYM_LEN];
	memset(p, 1, sizeof(p));
	assert_int_equal(ledger_member_by_pseudonym(f->ledger, p, &m), 0);
	assert_int_equal(m.balance_pts, 150);
	assert_int_equal(m.visits, 3);
	struct ledger_counts c;
	assert_int_equal(ledger_counts(f->ledger, &c), 0);
	assert_int_equal(c.events, 3);
	assert_int_equal(c.last_seq, 8);

	/* the chain and the numbering go on after the purge */
	sell(f, 1, 100, now, &r);
	assert_string_equal(r.receipt_no, "T1-000009");
	assert_int_equal(r.balance_pts, 151);
	assert_intact(f->ledger);

	/* purge everything: the next sale continues from the checkpoint */
	assert_int_equal(ledger_outbox_ack(f->ledger, 9), 0);
	assert_int_equal(ledger_purge(f->ledger, now + 500 * DAY_US, 400, &rep), 0);
	assert_int_equal(rep.purged_events, 4);
	assert_int_equal(ledger_counts(f->ledger, &c), 0);
	assert_int_equal(c.events, 0);
	assert_int_equal(c.last_seq, 9);
	assert_intact(f->ledger);
	sell(f, 1, 100, now + 501 * DAY_US, &r);
	assert_string_equal(r.receipt_no, "T1-000010");
	assert_int_equal(r.balance_pts, 152);
	assert_intact(f->ledger);

	/* a purged receipt is gone, not invented */
	assert_int_equal(ledger_get_receipt(f->ledger, "T1-000001", &r), -ENOENT);

	/* changing the checkpoint's folded points is caught */
	assert_int_equal(sql(f->path, "UPDATE checkpoint_members SET points = points + 5"),
			 SQLITE_OK);
	struct ledger_verify_report vr;
	assert_int_equal(ledger_verify(f->ledger, &vr), 0);
	assert_int_equal(vr.problem, LEDGER_PROBLEM_BALANCE);
	/* and changing the checkpoint hash breaks the chain */
	assert_int_equal(sql(f->path, "UPDATE checkpoint_members SET points = points - 5;"
				      "UPDATE checkpoint SET hash = zeroblob(32)"),
			 SQLITE_OK);
	assert_int_equal(ledger_verify(f->ledger, &vr), 0);
	assert_int_equal(vr.problem, LEDGER_PROBLEM_HASH);
	assert_int_equal(vr.seq, 10);
}

static void test_erase_member(void **state)
{
	struct fixture *f = *state;
	struct ledger_receipt r1;
	struct ledger_member m;
	uint8_t p[PSEUDONYM_LEN];

	sell(f, 7, 2500, T0, &r1);
	sell(f, 8, 1000, T0, NULL);
	assert_int_equal(ledger_member_by_card_code(f->ledger, r1.card_code, &m), 0);
	assert_int_equal(m.member_id, r1.member_id);
	assert_int_equal(ledger_erase_member(f->ledger, r1.member_id, T0 + DAY_US), 0);
	assert_int_equal(ledger_erase_member(f->ledger, r1.member_id, T0 + 2 * DAY_US), 0);
	assert_int_equal(ledger_erase_member(f->ledger, 999, T0), -ENOENT);

	/* the card no longer leads to the member, by pseudonym or card code */
	memset(p, 7, sizeof(p));
	assert_int_equal(ledger_member_by_pseudonym(f->ledger, p, &m), -ENOENT);
	assert_int_equal(ledger_member_by_card_code(f->ledger, r1.card_code, &m), -ENOENT);
	assert_int_equal(ledger_member_by_id(f->ledger, r1.member_id, &m), 0);
	assert_true(m.erased_us == T0 + DAY_US);
	assert_string_equal(m.card_code, "");
	assert_int_equal(m.balance_pts, 25); /* anonymous amounts stay */
	assert_intact(f->ledger);

	/* the same card tapped again is a new member */
	struct ledger_receipt r2;
	sell(f, 7, 100, T0 + 3 * DAY_US, &r2);
	assert_true(r2.new_member);
	assert_true(r2.member_id != r1.member_id);
	assert_string_not_equal(r2.card_code, r1.card_code);
	assert_int_equal(r2.balance_pts, 1);

	/* exported events of the erased member carry no card code */
	struct ledger_event ev[8];
	size_t n;
	assert_int_equal(ledger_outbox_read(f->ledger, 8, ev, &n), 0);
	assert_string_equal(ev[1].card_code, "");
	assert_int_equal(ev[1].member_id, r1.member_id);
}

static void test_rebuild_and_lookups(void **state)
{
	struct fixture *f = *state;
	struct ledger_rebuild_report rb;
	struct ledger_verify_report vr;
	struct ledger_member m;
	struct ledger_receipt r;
	int64_t spend;

	sell(f, 1, 10000, T0, &r);
	sell(f, 1, 2000, T0 + 100 * DAY_US, NULL);
	sell(f, 1, 3000, T0 + 400 * DAY_US, NULL);
	assert_int_equal(ledger_rebuild(f->ledger, &rb), 0);
	assert_int_equal(rb.members, 1);
	assert_int_equal(rb.changed, 0);

	assert_int_equal(sql(f->path, "UPDATE members SET balance_pts = 9999, visits = 1"),
			 SQLITE_OK);
	assert_int_equal(ledger_verify(f->ledger, &vr), 0);
	assert_int_equal(vr.problem, LEDGER_PROBLEM_BALANCE);
	assert_int_equal(ledger_rebuild(f->ledger, &rb), 0);
	assert_int_equal(rb.changed, 1);
	assert_int_equal(rb.first_changed_member, r.member_id);
	assert_intact(f->ledger);
	assert_int_equal(ledger_member_by_id(f->ledger, r.member_id, &m), 0);
	assert_int_equal(m.balance_pts, 150);
	assert_int_equal(m.visits, 3);
	assert_true(m.last_visit_us == T0 + 400 * DAY_US);

	/* rolling spend over a window */
	assert_int_equal(ledger_member_spend(f->ledger, r.member_id,
					     T0 + 400 * DAY_US - 365 * DAY_US, T0 + 400 * DAY_US,
					     &spend),
			 0);
	assert_int_equal(spend, 5000);
	assert_int_equal(
	    ledger_member_spend(f->ledger, r.member_id, T0 - 1, T0 + 400 * DAY_US, &spend), 0);
	assert_int_equal(spend, 15000);
	assert_int_equal(ledger_member_spend(f->ledger, r.member_id, 2, 1, &spend), -EINVAL);
	assert_int_equal(ledger_member_by_id(f->ledger, 12345, &m), -ENOENT);
	assert_int_equal(ledger_member_by_card_code(f->ledger, "short", &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purge_keeps_chain_and_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_erase_member, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rebuild_and_lookups, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
