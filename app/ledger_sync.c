/*
 * ledger_sync: the server's changes kept in the ledger file (schema 7); see ledger_sync.h.
 */
#include "ledger_sync.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ledger-priv.h"
#include "log.h"

static bool card_code_ok(const char *code)
{
	return code && strlen(code) == LEDGER_CARD_CODE_LEN;
}

static int run_text(struct ledger *l, const char *sql, const char *text, int n, const int64_t *v)
{
	sqlite3_stmt *st;
	if (ledger_stmt(l, sql, &st) < 0)
		return ledger_sql_fail(l, sql);
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 2, v[i]);
	int s = sqlite3_step(st);
	int r = s == SQLITE_DONE ? 0 : ledger_sql_fail(l, sql);
	ledger_stmt_done(st);
	return r;
}

/* True when card_code's server row holds a first name other than name ("" for none). */
static bool name_dropped(struct ledger *l, const char *card_code, const char *name)
{
	sqlite3_stmt *st;
	bool dropped = false;
	if (ledger_stmt(l, "SELECT first_name FROM server_members WHERE card_code = ?1", &st) < 0)
		return true; /* cannot tell: purge */
	sqlite3_bind_text(st, 1, card_code, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *old = sqlite3_column_text(st, 0);
		dropped = old && strcmp((const char *) old, name) != 0;
	}
	ledger_stmt_done(st);
	return dropped;
}

static int apply_member(struct ledger *l, const struct ledger_change *c, int64_t as_of_seq)
{
	sqlite3_stmt *st;
	const char *sql = "INSERT INTO server_members (card_code, balance_pts, tier, spend_gr,"
			  " updated_us, as_of_seq, first_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
			  " ON CONFLICT (card_code) DO UPDATE SET balance_pts = ?2, tier = ?3,"
			  " spend_gr = ?4, updated_us = ?5, as_of_seq = ?6, first_name = ?7";
	if (ledger_stmt(l, sql, &st) < 0)
		return ledger_sql_fail(l, "prepare server member");
	sqlite3_bind_text(st, 1, c->card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, c->balance_pts);
	sqlite3_bind_text(st, 3, c->tier, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->spend_gr);
	sqlite3_bind_int64(st, 5, c->time_us);
	sqlite3_bind_int64(st, 6, as_of_seq);
	if (c->first_name[0])
		sqlite3_bind_text(st, 7, c->first_name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7); /* none given, or the consent withdrawn: none kept */
	int s = sqlite3_step(st);
	int r = s == SQLITE_DONE ? 0 : ledger_sql_fail(l, "store server member");
	ledger_stmt_done(st);
	return r;
}

static int apply_tombstone(struct ledger *l, const struct ledger_change *c, int64_t now_us,
			   bool *ret_erased)
{
	int64_t id;
	/* gone from the server for good: its card is refused here from now on */
	int r = run_text(l, "DELETE FROM server_members WHERE card_code = ?1", c->card_code, 0, NULL);
	if (r < 0 || (r = run_text(l,
				   "INSERT INTO revoked_cards (card_code, revoked_us) VALUES (?1, ?2)"
				   " ON CONFLICT (card_code) DO NOTHING",
				   c->card_code, 1, &c->time_us)) < 0)
		return r;
	*ret_erased = false;
	sqlite3_stmt *st;
	if (ledger_stmt(l, "SELECT member_id FROM members WHERE card_code = ?1 AND erased_us IS NULL",
			&st) < 0)
		return ledger_sql_fail(l, "prepare member by card code");
	sqlite3_bind_text(st, 1, c->card_code, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	id = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	r = s == SQLITE_ROW || s == SQLITE_DONE ? 0 : ledger_sql_fail(l, "read member");
	ledger_stmt_done(st);
	if (r < 0 || !id)
		return r;
	if ((r = ledger_erase_member_in_tx(l, id, now_us)) == 0)
		*ret_erased = true;
	return r;
}

static int apply_key(struct ledger *l, const struct ledger_change *c, int64_t now_us)
{
	sqlite3_stmt *st;
	bool revoke = c->type == LEDGER_CHANGE_REVOKED_KEY;
	const char *sql =
	    revoke ? "INSERT INTO trusted_keys (public_key, key_id, terminal_id, added_us,"
		     " revoked_us) VALUES (?1, ?2, ?3, ?4, ?4)"
		     " ON CONFLICT (public_key) DO UPDATE SET revoked_us = ?4 WHERE revoked_us = 0"
		   : "INSERT INTO trusted_keys (public_key, key_id, terminal_id, added_us)"
		     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (public_key) DO NOTHING";
	if (ledger_stmt(l, sql, &st) < 0)
		return ledger_sql_fail(l, "prepare trusted key");
	sqlite3_bind_blob(st, 1, c->public_key, LEDGER_PUBLIC_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, c->key_id);
	sqlite3_bind_text(st, 3, c->terminal_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_us);
	int s = sqlite3_step(st);
	int r = s == SQLITE_DONE ? 0 : ledger_sql_fail(l, "store trusted key");
	ledger_stmt_done(st);
	return r;
}

int ledger_sync_apply(struct ledger *ledger, const struct ledger_change *changes, size_t n,
		      int64_t cursor, int64_t now_us, struct ledger_sync_applied *ret_applied)
{
	struct ledger *l = ledger;
	struct ledger_sync_applied a = {0};
	int64_t stored, acked, pending;
	int r;

	if (!l || (n && !changes) || !ret_applied || cursor < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct ledger_change *c = &changes[i];
		bool coded = c->type == LEDGER_CHANGE_MEMBER || c->type == LEDGER_CHANGE_TOMBSTONE ||
			     c->type == LEDGER_CHANGE_REVOKED_CARD;
		if ((coded && !card_code_ok(c->card_code)) || c->type > LEDGER_CHANGE_REVOKED_KEY ||
		    !memchr(c->tier, 0, sizeof(c->tier)) ||
		    !memchr(c->terminal_id, 0, sizeof(c->terminal_id)))
			return -EINVAL;
	}
	/*
	 * A first name withdrawn or an erased member leaves no copy in the file: deleted content
	 * is zeroed while the page is applied (secure_delete, for this transaction only: the
	 * bookings do not pay for it), and the WAL is copied back and truncated after it.
	 */
	bool purge = false;
	if ((r = ledger_outbox_state(l, &acked, &pending)) < 0 ||
	    (r = ledger_exec(l, "PRAGMA secure_delete = ON")) < 0)
		return r;
	if ((r = ledger_begin(l)) < 0)
		goto done;
	if ((r = ledger_read_int(l, "SELECT cursor FROM sync_cursor WHERE id = 1", 0, NULL,
				 &stored)) == -ENOENT) {
		stored = 0;
		r = 0;
	}
	if (r < 0)
		goto rollback;
	if (cursor < stored) {
		r = -EINVAL;
		goto rollback;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct ledger_change *c = &changes[i];
		bool erased;
		switch (c->type) {
		case LEDGER_CHANGE_MEMBER:
			purge |= name_dropped(l, c->card_code, c->first_name);
			if ((r = apply_member(l, c, acked)) == 0)
				a.members++;
			break;
		case LEDGER_CHANGE_TOMBSTONE:
			purge = true;
			if ((r = apply_tombstone(l, c, now_us, &erased)) == 0 && erased)
				a.tombstones++;
			break;
		case LEDGER_CHANGE_REVOKED_CARD:
			if ((r = run_text(l,
					  "INSERT INTO revoked_cards (card_code, revoked_us)"
					  " VALUES (?1, ?2) ON CONFLICT (card_code) DO NOTHING",
					  c->card_code, 1, &c->time_us)) == 0)
				a.revoked_cards++;
			break;
		case LEDGER_CHANGE_TERMINAL_KEY:
		case LEDGER_CHANGE_REVOKED_KEY:
			if ((r = apply_key(l, c, now_us)) == 0) {
				if (c->type == LEDGER_CHANGE_REVOKED_KEY)
					a.revoked_keys++;
				else
					a.keys++;
			}
			break;
		}
	}
	if (r < 0 ||
	    (r = ledger_run_ints(l,
				 "INSERT INTO sync_cursor (id, cursor, applied_us) VALUES (1, ?1, ?2)"
				 " ON CONFLICT (id) DO UPDATE SET cursor = ?1, applied_us = ?2",
				 2, (int64_t[]){cursor, now_us}, NULL)) < 0 ||
	    (r = ledger_exec(l, "COMMIT")) < 0)
		goto rollback;
	*ret_applied = a;
	if (purge) /* best effort: other readers may keep the WAL for now; its next rounds overwrite it */
		(void) ledger_exec(l, "PRAGMA wal_checkpoint(TRUNCATE)");
	r = 0;
	goto done;
rollback:
	(void) ledger_exec(l, "ROLLBACK");
done:
	(void) ledger_exec(l, "PRAGMA secure_delete = OFF");
	return r;
}

int ledger_sync_cursor(struct ledger *ledger, int64_t *ret_cursor)
{
	if (!ledger || !ret_cursor)
		return -EINVAL;
	int r = ledger_read_int(ledger, "SELECT cursor FROM sync_cursor WHERE id = 1", 0, NULL,
				ret_cursor);
	if (r == -ENOENT) {
		*ret_cursor = 0;
		r = 0;
	}
	return r;
}

int ledger_server_member(struct ledger *ledger, const char *card_code,
			 struct ledger_server_member *ret_member)
{
	sqlite3_stmt *st;
	if (!ledger || !card_code_ok(card_code) || !ret_member)
		return -EINVAL;
	if (ledger_stmt(ledger,
			"SELECT balance_pts, tier, spend_gr, updated_us, as_of_seq, first_name"
			" FROM server_members WHERE card_code = ?1",
			&st) < 0)
		return ledger_sql_fail(ledger, "prepare server member read");
	sqlite3_bind_text(st, 1, card_code, -1, SQLITE_STATIC);
	int r, s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		struct ledger_server_member *m = ret_member;
		memset(m, 0, sizeof(*m));
		memcpy(m->card_code, card_code, LEDGER_CARD_CODE_LEN);
		m->balance_pts = sqlite3_column_int64(st, 0);
		const unsigned char *tier = sqlite3_column_text(st, 1);
		snprintf(m->tier, sizeof(m->tier), "%s", tier ? (const char *) tier : "");
		m->spend_gr = sqlite3_column_int64(st, 2);
		m->updated_us = sqlite3_column_int64(st, 3);
		m->as_of_seq = sqlite3_column_int64(st, 4);
		const unsigned char *name = sqlite3_column_text(st, 5);
		snprintf(m->first_name, sizeof(m->first_name), "%s",
			 name ? (const char *) name : "");
		r = 0;
	} else {
		r = s == SQLITE_DONE ? -ENOENT : ledger_sql_fail(ledger, "read server member");
	}
	ledger_stmt_done(st);
	return r;
}

/*
 * The member and, when the server has told of its card code, the server's row: 1 with both, 0
 * with the member alone, or a negative errno (-ENOENT for no such member).
 */
static int member_and_server_row(struct ledger *ledger, int64_t member_id,
				 struct ledger_member *m, struct ledger_server_member *sm)
{
	int r = ledger_member_by_id(ledger, member_id, m);
	if (r < 0)
		return r;
	if (!m->card_code[0] || (r = ledger_server_member(ledger, m->card_code, sm)) == -ENOENT)
		return 0;
	return r < 0 ? r : 1;
}

int ledger_member_view(struct ledger *ledger, int64_t member_id, int64_t *ret_balance_pts,
		       bool *ret_from_server)
{
	struct ledger_member m;
	struct ledger_server_member sm;
	int64_t local;
	if (!ledger || !ret_balance_pts || !ret_from_server)
		return -EINVAL;
	int r = member_and_server_row(ledger, member_id, &m, &sm);
	if (r < 0)
		return r;
	*ret_balance_pts = m.balance_pts;
	*ret_from_server = false;
	if (r == 0)
		return 0;
	if ((r = ledger_read_int(ledger,
				 "SELECT COALESCE(SUM(points), 0) FROM events"
				 " WHERE member_id = ?1 AND seq > ?2",
				 2, (int64_t[]){member_id, sm.as_of_seq}, &local)) < 0)
		return r;
	*ret_balance_pts = sm.balance_pts + local;
	*ret_from_server = true;
	return 0;
}

int ledger_member_first_name(struct ledger *ledger, int64_t member_id, char out[FIRST_NAME_MAX])
{
	struct ledger_member m;
	struct ledger_server_member sm;
	if (!ledger || !out)
		return -EINVAL;
	out[0] = '\0';
	int r = member_and_server_row(ledger, member_id, &m, &sm);
	if (r == 1)
		memcpy(out, sm.first_name, sizeof(sm.first_name));
	return r < 0 ? r : 0;
}

int ledger_card_revoked(struct ledger *ledger, const char *card_code, int64_t *ret_revoked_us)
{
	sqlite3_stmt *st;
	if (!ledger || !card_code_ok(card_code) || !ret_revoked_us)
		return -EINVAL;
	if (ledger_stmt(ledger, "SELECT revoked_us FROM revoked_cards WHERE card_code = ?1", &st) <
	    0)
		return ledger_sql_fail(ledger, "prepare revoked card read");
	sqlite3_bind_text(st, 1, card_code, -1, SQLITE_STATIC);
	int r, s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*ret_revoked_us = sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = s == SQLITE_DONE ? -ENOENT : ledger_sql_fail(ledger, "read revoked card");
	}
	ledger_stmt_done(st);
	return r;
}

int ledger_trusted_keys(struct ledger *ledger, struct ledger_trusted_key *ret_keys, size_t max,
			size_t *ret_n)
{
	sqlite3_stmt *st;
	if (!ledger || (max && !ret_keys) || !ret_n)
		return -EINVAL;
	*ret_n = 0;
	if (ledger_stmt(ledger,
			"SELECT public_key, key_id, terminal_id FROM trusted_keys"
			" WHERE revoked_us = 0 ORDER BY added_us DESC, key_id",
			&st) < 0)
		return ledger_sql_fail(ledger, "prepare trusted keys read");
	int s;
	while (*ret_n < max && (s = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_trusted_key *k = &ret_keys[*ret_n];
		const void *pk = sqlite3_column_blob(st, 0);
		if (!pk || sqlite3_column_bytes(st, 0) != LEDGER_PUBLIC_KEY_LEN)
			continue;
		memset(k, 0, sizeof(*k));
		memcpy(k->public_key, pk, LEDGER_PUBLIC_KEY_LEN);
		k->key_id = (uint32_t) sqlite3_column_int64(st, 1);
		const unsigned char *id = sqlite3_column_text(st, 2);
		snprintf(k->terminal_id, sizeof(k->terminal_id), "%s", id ? (const char *) id : "");
		(*ret_n)++;
	}
	int r = *ret_n == max || s == SQLITE_DONE ? 0 : ledger_sql_fail(ledger, "read trusted keys");
	ledger_stmt_done(st);
	return r;
}

int ledger_key_revoked(struct ledger *ledger, const uint8_t public_key[LEDGER_PUBLIC_KEY_LEN],
		       bool *ret_revoked)
{
	sqlite3_stmt *st;
	if (!ledger || !public_key || !ret_revoked)
		return -EINVAL;
	if (ledger_stmt(ledger, "SELECT revoked_us FROM trusted_keys WHERE public_key = ?1", &st) <
	    0)
		return ledger_sql_fail(ledger, "prepare key read");
	sqlite3_bind_blob(st, 1, public_key, LEDGER_PUBLIC_KEY_LEN, SQLITE_STATIC);
	int r = 0, s = sqlite3_step(st);
	*ret_revoked = s == SQLITE_ROW && sqlite3_column_int64(st, 0) != 0;
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		r = ledger_sql_fail(ledger, "read key");
	ledger_stmt_done(st);
	return r;
}

int ledger_adopt_member(struct ledger *ledger, const uint8_t pseudonym[PSEUDONYM_LEN],
			const char *card_code, int64_t now_us, int64_t *ret_member_id)
{
	struct ledger *l = ledger;
	sqlite3_stmt *st;
	if (!l || !pseudonym || !card_code_ok(card_code) || !ret_member_id)
		return -EINVAL;
	for (size_t i = 0; i < LEDGER_CARD_CODE_LEN; i++)
		if (!((card_code[i] >= '0' && card_code[i] <= '9') ||
		      (card_code[i] >= 'A' && card_code[i] <= 'Z')))
			return -EINVAL;
	int r = ledger_begin(l);
	if (r < 0)
		return r;
	/* welcomed: the card had its welcome where it was enrolled; first purchase: adopted_us */
	if (ledger_stmt(l,
			"INSERT INTO members (pseudonym, card_code, created_us, last_visit_us,"
			" welcomed, adopted_us) VALUES (?1, ?2, ?3, ?3, 1, ?3)",
			&st) < 0) {
		r = ledger_sql_fail(l, "prepare member adoption");
		goto rollback;
	}
	sqlite3_bind_blob(st, 1, pseudonym, PSEUDONYM_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, card_code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_us);
	int s = sqlite3_step(st);
	ledger_stmt_done(st);
	if (s != SQLITE_DONE) {
		r = (s & 0xff) == SQLITE_CONSTRAINT ? -EEXIST : ledger_sql_fail(l, "adopt member");
		goto rollback;
	}
	*ret_member_id = sqlite3_last_insert_rowid(l->db);
	if ((r = ledger_exec(l, "COMMIT")) < 0)
		goto rollback;
	log_debug("ledger: member %lld taken on from the chain", (long long) *ret_member_id);
	return 0;
rollback:
	(void) ledger_exec(l, "ROLLBACK");
	return r;
}
