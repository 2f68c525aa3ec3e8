/* sync_test: app/sync, the terminal's sync bodies and its parsers of the server's answers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "sync.h"

static struct tsync_push_answer push;
static struct tsync_changes changes;
static struct tsync_register_answer reg;

/* A file of the fuzz corpus (tests/fuzz/corpus/sync_reply), NUL-terminated; the caller frees. */
static char *corpus(const char *name, size_t *len)
{
	char path[1024];
	const char *src = getenv("LOYALTY_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/sync_reply/%s", src ? src : ".", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *text = calloc(1, 64 * 1024);
	*len = fread(text, 1, 64 * 1024 - 1, f);
	fclose(f);
	return text;
}

/* The three events the corpus answers: T1, seq 5 to 7, ids 05.., 06.., 07... */
static void sent_events(struct ledger_event ev[3])
{
	memset(ev, 0, 3 * sizeof(*ev));
	for (int i = 0; i < 3; i++) {
		ev[i].seq = 5 + i;
		memset(ev[i].event_id, 5 + i, LEDGER_EVENT_ID_LEN);
		memcpy(ev[i].terminal_id, "T1", 3);
		memcpy(ev[i].kind, "earn", 5);
		memcpy(ev[i].receipt_no, "T1-000005", 10);
		ev[i].points = 12;
		ev[i].amount_gr = 1234;
		ev[i].time_us = 1795000000000000;
		ev[i].encoding = 3;
		memset(ev[i].hash, 0xab, LEDGER_HASH_BYTES);
	}
}

static int parse_push_file(const char *name, struct ledger_event *ev, char *err, size_t size)
{
	size_t len;
	char *text = corpus(name, &len);
	int r = tsync_parse_push_answer(text, len, "T1", ev, 3, &push, err, size);
	free(text);
	return r;
}

static void test_push_body(void **state)
{
	(void) state;
	struct ledger_event ev[3];
	struct buf b;
	size_t n;
	sent_events(ev);
	snprintf(ev[1].ref, sizeof(ev[1].ref), "%s", "Schronisko \"dla\" ps\xc3\xb3w\\");
	memcpy(ev[1].card_code, "7K3M9QZX2H4P", 13);
	buf_init(&b, TSYNC_BODY_MAX);
	assert_int_equal(tsync_push_body("T1", ev, 3, 0, &b, &n), 0);
	assert_int_equal(n, 3);
	cJSON *o = cJSON_ParseWithLength((const char *) b.data, b.len);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "terminal_id")->valuestring, "T1");
	const cJSON *evs = cJSON_GetObjectItem(o, "events");
	assert_int_equal(cJSON_GetArraySize(evs), 3);
	const cJSON *e = cJSON_GetArrayItem(evs, 1);
	assert_string_equal(cJSON_GetObjectItem(e, "ref")->valuestring,
			    "Schronisko \"dla\" ps\xc3\xb3w\\");
	assert_string_equal(cJSON_GetObjectItem(e, "event_id")->valuestring,
			    "06060606060606060606060606060606");
	assert_int_equal(cJSON_GetObjectItem(e, "seq")->valueint, 6);
	assert_int_equal(cJSON_GetObjectItem(e, "amount_gr")->valueint, 1234);
	assert_int_equal(cJSON_GetObjectItem(e, "encoding")->valueint, 3);
	assert_string_equal(cJSON_GetObjectItem(e, "card_code")->valuestring, "7K3M9QZX2H4P");
	assert_int_equal(strlen(cJSON_GetObjectItem(e, "hash")->valuestring), 64);
	/* the 17 fields of an event, no more */
	assert_int_equal(cJSON_GetArraySize(e), 17);
	cJSON_Delete(o);

	/* a cap that holds two events: two go, the third waits for the next batch */
	size_t two = b.len - 300;
	assert_int_equal(tsync_push_body("T1", ev, 3, two, &b, &n), 0);
	assert_int_equal(n, 2);
	assert_true(b.len <= two);
	o = cJSON_ParseWithLength((const char *) b.data, b.len);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "events")), 2);
	cJSON_Delete(o);
	/* not even one fits */
	assert_int_equal(tsync_push_body("T1", ev, 3, 100, &b, &n), -E2BIG);
	/* another terminal's event, a control character */
	assert_int_equal(tsync_push_body("T2", ev, 3, 0, &b, &n), -EINVAL);
	ev[2].rule[0] = '\n';
	assert_int_equal(tsync_push_body("T1", ev, 3, 0, &b, &n), -EINVAL);
	buf_free(&b);
}

static void test_push_answers(void **state)
{
	(void) state;
	struct ledger_event ev[3];
	char err[256];
	sent_events(ev);
	assert_int_equal(parse_push_file("push_accepted.json", ev, err, sizeof(err)), 0);
	assert_int_equal(push.ack_seq, 7);
	assert_int_equal(push.acked_seq, 7);
	assert_int_equal(push.first_rejected, 3);
	assert_int_equal(push.results[0].status, TSYNC_DUPLICATE);
	assert_string_equal(push.results[1].flags, "coupon_conflict,budget_exceeded");

	/* a rejection: only the run before it is acknowledged */
	assert_int_equal(parse_push_file("push_rejected.json", ev, err, sizeof(err)), 0);
	assert_int_equal(push.ack_seq, 5);
	assert_int_equal(push.first_rejected, 1);
	assert_string_equal(push.results[1].code, "hash_mismatch");
	assert_non_null(strstr(push.results[1].message, "does not match"));

	/* the first one rejected: nothing of the batch, whatever acked_seq says */
	assert_int_equal(parse_push_file("push_first_rejected.json", ev, err, sizeof(err)), 0);
	assert_int_equal(push.ack_seq, 4);
	assert_int_equal(push.first_rejected, 0);

	assert_int_equal(parse_push_file("push_fraction.json", ev, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "integer"));

	/* an answer about other events than those sent */
	ev[2].event_id[0] = 0xff;
	assert_int_equal(parse_push_file("push_accepted.json", ev, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "results[2]"));
	sent_events(ev);
	/* fewer events sent than answered */
	size_t len;
	char *text = corpus("push_accepted.json", &len);
	assert_int_equal(tsync_parse_push_answer(text, len, "T1", ev, 2, &push, err, sizeof(err)),
			 -EBADMSG);
	/* another terminal's answer */
	assert_int_equal(tsync_parse_push_answer(text, len, "T9", ev, 3, &push, err, sizeof(err)),
			 -EBADMSG);
	/* acked_seq below what it answered as held; counts that do not add up */
	char *p = strstr(text, "\"acked_seq\":7");
	p[12] = '6';
	assert_int_equal(tsync_parse_push_answer(text, len, "T1", ev, 3, &push, err, sizeof(err)),
			 -EBADMSG);
	p[12] = '7';
	p = strstr(text, "\"accepted\":2");
	p[11] = '3';
	assert_int_equal(tsync_parse_push_answer(text, len, "T1", ev, 3, &push, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "counts"));
	free(text);
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"ok\":false}",
	    "{\"ok\":true,\"ok\":true}",
	    "{\"ok\":true,\"terminal_id\":\"T1\",\"acked_seq\":9007199254740992}",
	    "{\"ok\":true,\"terminal_id\":\"T1\",\"acked_seq\":01}",
	    "{\"ok\":true} {}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tsync_parse_push_answer(bad[i], strlen(bad[i]), "T1", ev, 3, &push,
							 err, sizeof(err)),
				 -EBADMSG);
		assert_true(err[0] != '\0');
	}
}

static int parse_changes_file(const char *name, int64_t since, char *err, size_t size)
{
	size_t len;
	char *text = corpus(name, &len);
	int r = tsync_parse_changes(text, len, since, TSYNC_PULL_MAX, &changes, err, size);
	free(text);
	return r;
}

static void test_changes(void **state)
{
	(void) state;
	char err[256];
	size_t len;
	assert_int_equal(parse_changes_file("changes_page.json", 2, err, sizeof(err)), 0);
	assert_int_equal(changes.n, 2);
	assert_true(changes.more);
	assert_int_equal(changes.cursor, 4);
	assert_int_equal(changes.changes[0].type, TSYNC_CHANGE_TERMINAL_KEY);
	assert_int_equal(changes.changes[0].key_id, 0x0cf58fe1);
	assert_int_equal(changes.changes[1].type, TSYNC_CHANGE_MEMBER);
	assert_int_equal(changes.changes[1].balance_pts, 62);
	assert_string_equal(changes.changes[1].tier, "Silver");
	assert_int_equal(changes.budget.remaining_pts, 19960);
	assert_int_equal(changes.budget.max_offline_age_s, 259200);

	assert_int_equal(parse_changes_file("changes_kinds.json", 2, err, sizeof(err)), 0);
	assert_int_equal(changes.n, 4);
	assert_int_equal(changes.changes[0].type, TSYNC_CHANGE_TOMBSTONE);
	assert_string_equal(changes.changes[0].card_code, "0123456789AB");
	assert_int_equal(changes.changes[1].type, TSYNC_CHANGE_REVOKED_KEY);
	assert_int_equal(changes.changes[2].type, TSYNC_CHANGE_REVOKED_CARD);
	assert_int_equal(changes.changes[3].type, TSYNC_CHANGE_OTHER); /* skipped, cursor kept */
	assert_int_equal(changes.cursor, 6);

	assert_int_equal(parse_changes_file("changes_config.json", 2, err, sizeof(err)), 0);
	assert_int_equal(changes.changes[0].type, TSYNC_CHANGE_CONFIG);
	assert_int_equal(changes.changes[0].programme_b64_len, 20);

	/* the first name a member allows the tills to show, or none */
	assert_int_equal(parse_changes_file("changes_first_name.json", 2, err, sizeof(err)), 0);
	assert_string_equal(changes.changes[0].first_name, "Łucja Maria");
	assert_string_equal(changes.changes[1].first_name, "");
	{
		static const char *const bad_names[][2] = {
		    {"\"\"", "first_name: must be text of 1 to"},
		    {"\"Anna\\u202e\"", "not part of a name"},
		    {"\"Anna\\u0007\"", "control character"},
		    {"\" Anna\"", "clean form"},
		    {"\"Abcdefghijklmnopqrstuvwxy\"", "longer than 24"},
		    {"7", "first_name: must be text"},
		};
		char *base = corpus("changes_first_name.json", &len);
		for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
			char reply[1024];
			const char *at = strstr(base, "\"Łucja Maria\"");
			assert_non_null(at);
			snprintf(reply, sizeof(reply), "%.*s%s%s", (int) (at - base), base,
				 bad_names[i][0], at + strlen("\"Łucja Maria\""));
			err[0] = '\0';
			assert_int_equal(tsync_parse_changes(reply, strlen(reply), 2, TSYNC_PULL_MAX,
							     &changes, err, sizeof(err)),
					 -EBADMSG);
			if (!strstr(err, bad_names[i][1]))
				fail_msg("%s: \"%s\"", bad_names[i][0], err);
		}
		free(base);
	}

	/* a page that starts at or before the cursor asked from */
	assert_int_equal(parse_changes_file("changes_page.json", 3, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "cursor"));
	/* a field given twice */
	assert_int_equal(parse_changes_file("changes_repeated.json", 2, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "twice"));
	/* more than asked for */
	char *text = corpus("changes_kinds.json", &len);
	assert_int_equal(tsync_parse_changes(text, len, 2, 3, &changes, err, sizeof(err)),
			 -EBADMSG);
	free(text);
}

static void test_register(void **state)
{
	(void) state;
	char err[256], code[TSYNC_CODE_MAX], message[TSYNC_MESSAGE_MAX];
	size_t len;
	char *text = corpus("register.json", &len);
	assert_int_equal(tsync_parse_register_answer(text, len, &reg, err, sizeof(err)), 0);
	assert_string_equal(reg.terminal_id, "KRK01");
	assert_true(reg.has_config_key);
	assert_int_equal(reg.config_key[0], 0x0a);
	assert_non_null(strstr(reg.certificate, "\nMIIB\n"));
	char *p = strstr(text, "-----BEGIN CERTIFICATE-----");
	p[5] = 'X';
	assert_int_equal(tsync_parse_register_answer(text, len, &reg, err, sizeof(err)), -EBADMSG);
	free(text);

	text = corpus("error.json", &len);
	assert_int_equal(tsync_parse_error(text, len, code, message), 0);
	assert_string_equal(code, "body_too_large");
	assert_non_null(strstr(message, "1048576"));
	free(text);
	text = corpus("error_trailing.json", &len);
	assert_int_equal(tsync_parse_error(text, len, code, message), -EBADMSG);
	assert_string_equal(code, "");
	free(text);
}

static void test_codes_and_backoff(void **state)
{
	(void) state;
	uint8_t pk[TSYNC_PUBLIC_KEY_LEN], msg[TSYNC_REGISTER_MSG_LEN];
	assert_true(tsync_enrol_code_valid("PA6G4-8MTHF-VJCTE-9MSHA"));
	assert_false(tsync_enrol_code_valid("PA6G4-8MTHF-VJCTE-9MSH"));
	assert_false(tsync_enrol_code_valid("pa6g4-8mthf-vjcte-9msha"));
	assert_false(tsync_enrol_code_valid("PA6G4-8MTHF-VJCTE-9MSHI")); /* I is not base32 */
	assert_false(tsync_enrol_code_valid("PA6G4_8MTHF-VJCTE-9MSHA"));
	memset(pk, 7, sizeof(pk));
	assert_int_equal(tsync_register_message("PA6G4-8MTHF-VJCTE-9MSHA", pk, msg),
			 (int) TSYNC_REGISTER_MSG_LEN);
	assert_memory_equal(msg, "loyalty/registerPA6G4-8MTHF-VJCTE-9MSHA", 39);
	assert_memory_equal(msg + 39, pk, sizeof(pk));

	/* exponential from 1 s, jitter in [d/2, d], capped at 5 minutes */
	int64_t d = TSYNC_BACKOFF_BASE_MS;
	for (unsigned a = 1; a < 40; a++) {
		int64_t lo = tsync_backoff_ms(a, 0), hi = tsync_backoff_ms(a, UINT32_MAX);
		assert_true(lo >= d / 2 && lo <= d);
		assert_true(hi >= d / 2 && hi <= d);
		for (uint32_t r = 1; r < 100000; r += 7919) {
			int64_t v = tsync_backoff_ms(a, r * 2654435761u);
			assert_true(v >= d / 2 && v <= d);
		}
		d = d * 2 > TSYNC_BACKOFF_CAP_MS ? TSYNC_BACKOFF_CAP_MS : d * 2;
	}
	assert_int_equal(tsync_backoff_ms(100, 0), TSYNC_BACKOFF_CAP_MS / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_push_body),	      cmocka_unit_test(test_push_answers),
	    cmocka_unit_test(test_changes),	      cmocka_unit_test(test_register),
	    cmocka_unit_test(test_codes_and_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
