/* ledger_sync_test: the server's changes kept in a real ledger file (schemas 7 to 9). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger.h"
#include "ledger_sync.h"

#define T0 INT64_C(1795000000000000)

struct fixture {
	char dir[64];
	char path[128];
	struct ledger *ledger;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ledger_sync_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ledger.sqlite", f->dir);
	assert_int_equal(ledger_open(f->path, "T2", &f->ledger), 0);
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

static struct ledger_change member(const char *code, int64_t balance)
{
	struct ledger_change c = {.type = LEDGER_CHANGE_MEMBER, .balance_pts = balance,
				  .spend_gr = balance * 100, .time_us = T0};
	snprintf(c.card_code, sizeof(c.card_code), "%s", code);
	snprintf(c.tier, sizeof(c.tier), "Silver");
	return c;
}

static struct ledger_change key(enum ledger_change_type type, uint8_t fill, const char *terminal)
{
	struct ledger_change c = {.type = type, .key_id = fill};
	memset(c.public_key, fill, sizeof(c.public_key));
	snprintf(c.terminal_id, sizeof(c.terminal_id), "%s", terminal);
	return c;
}

static struct ledger_sale sale_of(uint8_t card, int64_t pts)
{
	struct ledger_sale s = {.amount_gr = pts * 100, .earn_pts = pts, .time_us = T0};
	memset(s.pseudonym, card, sizeof(s.pseudonym));
	return s;
}

static void cursor_with_changes(void **state)
{
	struct fixture *f = *state;
	struct ledger_sync_applied a;
	struct ledger_server_member sm;
	int64_t cursor = -1;
	assert_int_equal(ledger_sync_cursor(f->ledger, &cursor), 0);
	assert_int_equal(cursor, 0);
	struct ledger_change c[2] = {member("7K3M9QZX2H4P", 62), member("0123456789AB", 5)};
	assert_int_equal(ledger_sync_apply(f->ledger, c, 2, 7, T0, &a), 0);
	assert_int_equal(a.members, 2);
	assert_int_equal(ledger_sync_cursor(f->ledger, &cursor), 0);
	assert_int_equal(cursor, 7);
	assert_int_equal(ledger_server_member(f->ledger, "7K3M9QZX2H4P", &sm), 0);
	assert_int_equal(sm.balance_pts, 62);
	assert_string_equal(sm.tier, "Silver");
	/* a newer balance replaces it */
	c[0].balance_pts = 80;
	assert_int_equal(ledger_sync_apply(f->ledger, c, 1, 9, T0, &a), 0);
	assert_int_equal(ledger_server_member(f->ledger, "7K3M9QZX2H4P", &sm), 0);
	assert_int_equal(sm.balance_pts, 80);
	/* a cursor behind the stored one is refused, and nothing of its page is kept */
	c[0].balance_pts = 1;
	assert_int_equal(ledger_sync_apply(f->ledger, c, 1, 8, T0, &a), -EINVAL);
	assert_int_equal(ledger_server_member(f->ledger, "7K3M9QZX2H4P", &sm), 0);
	assert_int_equal(sm.balance_pts, 80);
	assert_int_equal(ledger_server_member(f->ledger, "ZZZZZZZZZZZZ", &sm), -ENOENT);
}

static void a_bad_change_refuses_the_page(void **state)
{
	struct fixture *f = *state;
	struct ledger_sync_applied a;
	struct ledger_server_member sm;
	int64_t cursor;
	struct ledger_change c[2] = {member("7K3M9QZX2H4P", 62), member("SHORT", 5)};
	assert_int_equal(ledger_sync_apply(f->ledger, c, 2, 3, T0, &a), -EINVAL);
	assert_int_equal(ledger_server_member(f->ledger, "7K3M9QZX2H4P", &sm), -ENOENT);
	assert_int_equal(ledger_sync_cursor(f->ledger, &cursor), 0);
	assert_int_equal(cursor, 0);
}

static void view_is_server_plus_unsynced(void **state)
{
	struct fixture *f = *state;
	struct ledger_receipt rc;
	struct ledger_sync_applied a;
	int64_t view, acked, pending;
	bool from_server;
	struct ledger_sale s = sale_of(1, 10);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &rc), 0);
	/* no server row: the terminal's own balance */
	assert_int_equal(ledger_member_view(f->ledger, rc.member_id, &view, &from_server), 0);
	assert_false(from_server);
	assert_int_equal(view, 10);
	/* the server has the sale (acknowledged) and 50 from elsewhere */
	assert_int_equal(ledger_outbox_state(f->ledger, &acked, &pending), 0);
	assert_int_equal(ledger_outbox_ack(f->ledger, acked + pending), 0);
	struct ledger_change c = member(rc.card_code, 60);
	assert_int_equal(ledger_sync_apply(f->ledger, &c, 1, 1, T0, &a), 0);
	assert_int_equal(ledger_member_view(f->ledger, rc.member_id, &view, &from_server), 0);
	assert_true(from_server);
	assert_int_equal(view, 60);
	/* a sale here not pulled back yet adds to it */
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &rc), 0);
	assert_int_equal(ledger_member_view(f->ledger, rc.member_id, &view, &from_server), 0);
	assert_int_equal(view, 70);
}

static void tombstone_erases_and_blocks(void **state)
{
	struct fixture *f = *state;
	struct ledger_receipt rc;
	struct ledger_sync_applied a;
	struct ledger_member m;
	int64_t revoked;
	struct ledger_sale s = sale_of(2, 3);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &rc), 0);
	struct ledger_change c[2] = {member(rc.card_code, 3),
				     {.type = LEDGER_CHANGE_TOMBSTONE, .time_us = T0 + 1}};
	snprintf(c[1].card_code, sizeof(c[1].card_code), "%s", rc.card_code);
	assert_int_equal(ledger_card_revoked(f->ledger, rc.card_code, &revoked), -ENOENT);
	assert_int_equal(ledger_sync_apply(f->ledger, c, 2, 4, T0, &a), 0);
	assert_int_equal(a.tombstones, 1);
	assert_int_equal(ledger_member_by_card_code(f->ledger, rc.card_code, &m), -ENOENT);
	assert_int_equal(ledger_member_by_id(f->ledger, rc.member_id, &m), 0);
	assert_true(m.erased_us > 0);
	assert_int_equal(ledger_card_revoked(f->ledger, rc.card_code, &revoked), 0);
	assert_int_equal(revoked, T0 + 1);
	/* the same page again (a crash before the caller heard): nothing changes */
	assert_int_equal(ledger_sync_apply(f->ledger, c, 2, 4, T0, &a), 0);
	assert_int_equal(a.tombstones, 0);
}

/* The first name a member allows the tills to show comes and goes with the member changes. */
static void first_name_follows_the_changes(void **state)
{
	struct fixture *f = *state;
	struct ledger_receipt rc;
	struct ledger_sync_applied a;
	char name[FIRST_NAME_MAX];
	struct ledger_sale s = sale_of(3, 4);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &rc), 0);
	assert_int_equal(ledger_member_first_name(f->ledger, rc.member_id, name), 0);
	assert_string_equal(name, "");
	struct ledger_change c = member(rc.card_code, 4);
	snprintf(c.first_name, sizeof(c.first_name), "Łucja");
	assert_int_equal(ledger_sync_apply(f->ledger, &c, 1, 1, T0, &a), 0);
	assert_int_equal(ledger_member_first_name(f->ledger, rc.member_id, name), 0);
	assert_string_equal(name, "Łucja");
	/* the consent withdrawn: the next change has none, and none is kept */
	c.first_name[0] = '\0';
	assert_int_equal(ledger_sync_apply(f->ledger, &c, 1, 2, T0, &a), 0);
	assert_int_equal(ledger_member_first_name(f->ledger, rc.member_id, name), 0);
	assert_string_equal(name, "");
	/* given again, then the member erased: gone with its server row */
	snprintf(c.first_name, sizeof(c.first_name), "Łucja");
	struct ledger_change t = {.type = LEDGER_CHANGE_TOMBSTONE, .time_us = T0 + 1};
	snprintf(t.card_code, sizeof(t.card_code), "%s", rc.card_code);
	assert_int_equal(ledger_sync_apply(f->ledger, &c, 1, 3, T0, &a), 0);
	assert_int_equal(ledger_sync_apply(f->ledger, &t, 1, 4, T0, &a), 0);
	struct ledger_server_member sm;
	assert_int_equal(ledger_server_member(f->ledger, rc.card_code, &sm), -ENOENT);
	/* an unknown member id */
	assert_int_equal(ledger_member_first_name(f->ledger, 9999, name), -ENOENT);
}

static void keys_trusted_and_revoked_for_good(void **state)
{
	struct fixture *f = *state;
	struct ledger_sync_applied a;
	struct ledger_trusted_key keys[4];
	size_t n;
	bool revoked;
	struct ledger_change c[2] = {key(LEDGER_CHANGE_TERMINAL_KEY, 0x11, "T1"),
				     key(LEDGER_CHANGE_TERMINAL_KEY, 0x33, "T3")};
	assert_int_equal(ledger_sync_apply(f->ledger, c, 2, 2, T0, &a), 0);
	assert_int_equal(a.keys, 2);
	assert_int_equal(ledger_trusted_keys(f->ledger, keys, 4, &n), 0);
	assert_int_equal(n, 2);
	struct ledger_change r = key(LEDGER_CHANGE_REVOKED_KEY, 0x33, "T3");
	assert_int_equal(ledger_sync_apply(f->ledger, &r, 1, 3, T0 + 5, &a), 0);
	assert_int_equal(a.revoked_keys, 1);
	assert_int_equal(ledger_trusted_keys(f->ledger, keys, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0].terminal_id, "T1");
	assert_memory_equal(keys[0].public_key, c[0].public_key, LEDGER_PUBLIC_KEY_LEN);
	/* offered again as a terminal key: still revoked */
	assert_int_equal(ledger_sync_apply(f->ledger, &c[1], 1, 4, T0 + 6, &a), 0);
	assert_int_equal(ledger_trusted_keys(f->ledger, keys, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ledger_key_revoked(f->ledger, c[1].public_key, &revoked), 0);
	assert_true(revoked);
	assert_int_equal(ledger_key_revoked(f->ledger, c[0].public_key, &revoked), 0);
	assert_false(revoked);
	/* max bounds what is returned */
	assert_int_equal(ledger_trusted_keys(f->ledger, keys, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void adopted_member_books_under_its_code(void **state)
{
	struct fixture *f = *state;
	uint8_t pseudonym[PSEUDONYM_LEN];
	struct ledger_receipt rc;
	struct ledger_member m;
	int64_t id, again;
	memset(pseudonym, 7, sizeof(pseudonym));
	assert_int_equal(ledger_adopt_member(f->ledger, pseudonym, "7K3M9QZX2H4P", T0, &id), 0);
	assert_int_equal(ledger_member_by_card_code(f->ledger, "7K3M9QZX2H4P", &m), 0);
	assert_int_equal(m.member_id, id);
	assert_int_equal(m.balance_pts, 0);
	/* the code or the pseudonym taken already */
	assert_int_equal(ledger_adopt_member(f->ledger, pseudonym, "0123456789AB", T0, &again),
			 -EEXIST);
	uint8_t other[PSEUDONYM_LEN];
	memset(other, 8, sizeof(other));
	assert_int_equal(ledger_adopt_member(f->ledger, other, "7K3M9QZX2H4P", T0, &again),
			 -EEXIST);
	assert_int_equal(ledger_adopt_member(f->ledger, other, "7k3m9qzx2h4p", T0, &again),
			 -EINVAL);
	/* its sale books no enrol event, under the card code */
	struct ledger_sale s = sale_of(7, 4);
	assert_int_equal(ledger_commit_sale(f->ledger, &s, &rc), 0);
	assert_false(rc.new_member);
	assert_string_equal(rc.card_code, "7K3M9QZX2H4P");
	assert_int_equal(rc.balance_pts, 4);
	struct ledger_verify_report rep;
	assert_int_equal(ledger_verify(f->ledger, &rep), 0);
	assert_int_equal(rep.problem, LEDGER_PROBLEM_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(cursor_with_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_bad_change_refuses_the_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(view_is_server_plus_unsynced, setup, teardown),
	    cmocka_unit_test_setup_teardown(tombstone_erases_and_blocks, setup, teardown),
	    cmocka_unit_test_setup_teardown(first_name_follows_the_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(keys_trusted_and_revoked_for_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(adopted_member_books_under_its_code, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
