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
#include <string.h>

#include "ledger-priv.h"
#include "log.h"

#define US_PER_DAY INT64_C(86400000000)

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

void ledger_member_fold_from_row(sqlite3_stmt *st, struct ledger_member_fold *ret)
{
	ret->member_id = sqlite3_column_int64(st, 0);
	ret->balance_pts = sqlite3_column_int64(st, 1);
	ret->visits = sqlite3_column_int64(st, 2);
	ret->last_visit_us = sqlite3_column_int64(st, 3);
	ret->fold_balance_pts = sqlite3_column_int64(st, 4);
	ret->fold_visits = sqlite3_column_int64(st, 5);
	ret->fold_last_visit_us = sqlite3_column_int64(st, 6);
	ret->lots_pts = sqlite3_column_int64(st, 7);
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
	args[0] = cp.seq;
	args[1] = upto;
	if ((r = ledger_run_ints(
		 l,
		 "INSERT INTO checkpoint_members (member_id, points, visits, last_visit_us)"
		 " SELECT member_id, SUM(points), SUM(kind = 'earn'),"
		 "  COALESCE(MAX(CASE WHEN kind = 'earn' THEN time_us END), 0)"
		 " FROM events WHERE seq > ?1 AND seq <= ?2 AND member_id IS NOT NULL"
		 " GROUP BY member_id"
		 " ON CONFLICT (member_id) DO UPDATE SET points = points + excluded.points,"
		 "  visits = visits + excluded.visits,"
		 "  last_visit_us = MAX(last_visit_us, excluded.last_visit_us)",
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
	/* the card code is the public card link: replaced by a value no card code can take */
	if ((r = ledger_run_ints(
		 l,
		 "UPDATE members SET pseudonym = NULL, card_code = '~' || member_id,"
		 " birth_month = 0, birth_day = 0,"
		 " erased_us = COALESCE(erased_us, ?2) WHERE member_id = ?1",
		 2, args, NULL)) < 0 ||
	    (r = run(l, "COMMIT")) < 0)
		goto rollback;
	return 0;
rollback:
	(void) run(l, "ROLLBACK");
	return r;
}

int ledger_rebuild(struct ledger *ledger, struct ledger_rebuild_report *ret_report)
{
	struct ledger *l = ledger;
	struct ledger_rebuild_report rep = {0};
	sqlite3_stmt *st, *upd = NULL;
	int r, s;

	if (!l || !ret_report)
		return -EINVAL;
	if ((r = ledger_begin(l)) < 0)
		return r;
	if (sqlite3_prepare_v2(l->db, LEDGER_MEMBER_FOLD_SQL, -1, &st, NULL) != SQLITE_OK) {
		r = ledger_sql_fail(l, "prepare fold");
		goto rollback;
	}
	if (sqlite3_prepare_v2(
		l->db,
		"UPDATE members SET balance_pts = ?2, visits = ?3, last_visit_us = ?4"
		" WHERE member_id = ?1",
		-1, &upd, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		r = ledger_sql_fail(l, "prepare member update");
		goto rollback;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_member_fold f;
		ledger_member_fold_from_row(st, &f);
		rep.members++;
		if (f.balance_pts == f.fold_balance_pts && f.visits == f.fold_visits &&
		    f.last_visit_us == f.fold_last_visit_us)
			continue;
		if (!rep.first_changed_member)
			rep.first_changed_member = f.member_id;
		rep.changed++;
		sqlite3_bind_int64(upd, 1, f.member_id);
		sqlite3_bind_int64(upd, 2, f.fold_balance_pts);
		sqlite3_bind_int64(upd, 3, f.fold_visits);
		sqlite3_bind_int64(upd, 4, f.fold_last_visit_us);
		if (sqlite3_step(upd) != SQLITE_DONE) {
			s = SQLITE_ERROR;
			break;
		}
		sqlite3_reset(upd);
	}
	r = s == SQLITE_DONE ? 0 : ledger_sql_fail(l, "rebuild members");
	sqlite3_finalize(st);
	sqlite3_finalize(upd);
	if (r < 0 || (r = run(l, "COMMIT")) < 0)
		goto rollback;
	*ret_report = rep;
	return 0;
rollback:
	(void) run(l, "ROLLBACK");
	return r;
}
