/* sync: the server's decisions on pushes, pulls and registrations (docs/sync-protocol.md). */
#include "sync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "programme_sig.h"
#include "sun.h"
#include "token.h"

static int fail(struct sync_error *err, int r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct sync_error *err, int r, const char *code, const char *fmt, ...)
{
	va_list ap;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return r;
}

static int storage_failed(struct store *st, struct sync_error *err, int r)
{
	if (r == -ENOMEM)
		return fail(err, r, "internal", "out of memory");
	return fail(err, -EIO, "storage_unavailable", "the server could not store: %s",
		    st->ops->errmsg(st));
}

static int64_t day_start(int64_t time_us)
{
	int64_t d = time_us % SYNC_DAY_US;
	return time_us - (d < 0 ? d + SYNC_DAY_US : d);
}

static int put_change(struct store *st, const char *key, cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	int r = st->ops->change_put(st, key, text);
	free(text);
	return r;
}

void sync_json_i64(cJSON *o, const char *name, int64_t v)
{
	/* written as its digits: cJSON would print a double, 1.7957376e+15 for a whole day */
	char digits[24];
	snprintf(digits, sizeof(digits), "%" PRId64, v);
	cJSON_AddRawToObject(o, name, digits);
}

/* The batch being decided: its answer and what it raised. */
struct push_ctx {
	struct store *st;
	const struct sync_policy *pol;
	int64_t now_us;
	cJSON *flags;		      /* of the current event */
	struct store_member *members; /* touched by the batch, one entry per event at most */
	size_t n_members;
	uint32_t *slots; /* open addressing over members by card code: index + 1, 0 empty */
	size_t n_slots;	 /* a power of two, at least twice the batch */
};

static uint32_t card_hash(const char *card_code)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *card_code; card_code++)
		h = (h ^ (uint8_t) *card_code) * 16777619u;
	return h;
}

static int raise_flag(struct push_ctx *c, const struct ledger_event *ev, const char *code,
		      int64_t amount, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int raise_flag(struct push_ctx *c, const struct ledger_event *ev, const char *code,
		      int64_t amount, const char *fmt, ...)
{
	struct store_flag f = {.amount = amount, .time_us = ev->time_us};
	va_list ap;
	snprintf(f.code, sizeof(f.code), "%s", code);
	memcpy(f.event_id, ev->event_id, sizeof(f.event_id));
	memcpy(f.terminal_id, ev->terminal_id, sizeof(f.terminal_id));
	memcpy(f.card_code, ev->card_code, sizeof(f.card_code));
	va_start(ap, fmt);
	vsnprintf(f.detail, sizeof(f.detail), fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(c->flags, cJSON_CreateString(code));
	return c->st->ops->flag_add(c->st, &f);
}

/*
 * A member the store does not hold yet: its card code, and the first name its card page may
 * have allowed the tills to show before any of its events reached the server.
 */
static int member_new(struct store *st, const char *card_code, struct store_member *m)
{
	struct store_consent cs;
	memset(m, 0, sizeof(*m));
	snprintf(m->card_code, sizeof(m->card_code), "%s", card_code);
	int r = st->ops->consent_get(st, card_code, &cs);
	if (r == 0 && cs.first_name)
		snprintf(m->first_name, sizeof(m->first_name), "%s", cs.name);
	return r == -ENOENT ? 0 : r;
}

/* The batch's member, read from the store the first time the batch touches it. */
static int batch_member(struct push_ctx *c, const char *card_code, struct store_member **ret)
{
	size_t slot = card_hash(card_code) & (c->n_slots - 1);
	for (; c->slots[slot]; slot = (slot + 1) & (c->n_slots - 1)) {
		struct store_member *m = &c->members[c->slots[slot] - 1];
		if (!strcmp(m->card_code, card_code)) {
			*ret = m;
			return 0;
		}
	}
	struct store_member *m = &c->members[c->n_members];
	int r = c->st->ops->member_get(c->st, card_code, m);
	if (r == -ENOENT)
		r = member_new(c->st, card_code, m);
	if (r < 0)
		return r;
	c->slots[slot] = (uint32_t) ++c->n_members;
	*ret = m;
	return 0;
}

/* The member's balance after ev, and the flags for a revoked card and a negative balance. */
static int fold_member(struct push_ctx *c, const struct ledger_event *ev)
{
	struct store_member *m;
	int r = batch_member(c, ev->card_code, &m);
	if (r < 0)
		return r;
	if ((r = c->st->ops->card_revoked(c->st, ev->card_code)) < 0 ||
	    (r &&
	     (r = raise_flag(c, ev, "revoked_card", ev->points, "revoked card %s used at %s (%s)",
			     ev->card_code, ev->terminal_id, ev->receipt_no)) < 0))
		return r;
	m->balance_pts += ev->points;
	m->events++;
	if (m->balance_pts < 0)
		return raise_flag(c, ev, "negative_balance", m->balance_pts,
				  "member %s has %" PRId64 " points after %s", m->card_code,
				  m->balance_pts, ev->receipt_no);
	return 0;
}

/* Store a member's state: the balance, the tier for the spend over the tier window before now,
 * and the change terminals pull. */
static int put_member(struct store *st, const struct sync_policy *pol, struct store_member *m,
		      int64_t now_us)
{
	int64_t window_us = (int64_t) pol->prog->tier_window_days * SYNC_DAY_US, spend;
	char key[8 + LEDGER_CARD_CODE_LEN + 1];
	int r;
	if ((r = st->ops->member_spend(st, m->card_code, now_us - window_us, now_us, &spend)) < 0)
		return r;
	snprintf(m->tier, sizeof(m->tier), "%s",
		 pol->prog->tiers[programme_tier_for(pol->prog, spend)].name);
	m->updated_us = now_us;
	if ((r = st->ops->member_put(st, m)) < 0)
		return r;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "member");
	cJSON_AddStringToObject(o, "card_code", m->card_code);
	sync_json_i64(o, "balance_pts", m->balance_pts);
	cJSON_AddStringToObject(o, "tier", m->tier);
	sync_json_i64(o, "spend_gr", spend);
	sync_json_i64(o, "updated_us", m->updated_us);
	if (m->first_name[0])
		cJSON_AddStringToObject(o, "first_name", m->first_name);
	snprintf(key, sizeof(key), "member:%s", m->card_code);
	return put_change(st, key, o);
}

/* Store the members the batch touched, once each. */
static int store_members(struct push_ctx *c)
{
	int r;
	for (size_t i = 0; i < c->n_members; i++)
		if ((r = put_member(c->st, c->pol, &c->members[i], c->now_us)) < 0)
			return r;
	return 0;
}

int sync_member_credit(struct store *st, const struct sync_policy *pol, const char *card_code,
		       int64_t points, bool create, int64_t now_us)
{
	struct store_member m;
	int r = st->ops->member_get(st, card_code, &m);
	if (r == -ENOENT && create)
		r = member_new(st, card_code, &m);
	if (r < 0)
		return r;
	m.balance_pts += points;
	return put_member(st, pol, &m, now_us);
}

int sync_member_name(struct store *st, const struct sync_policy *pol, const char *card_code,
		     const char *first_name, int64_t now_us)
{
	struct store_member m;
	int r = st->ops->member_get(st, card_code, &m);
	if (r == -ENOENT)
		return 0; /* taken from the consent when its first event comes */
	if (r < 0)
		return r;
	if (!strcmp(m.first_name, first_name))
		return 0;
	snprintf(m.first_name, sizeof(m.first_name), "%s", first_name);
	return put_member(st, pol, &m, now_us);
}

/*
 * The SUN message of a sale's tap (an NTAG 424 DNA), with the chain's keys: a message that does
 * not verify is flagged sun_invalid, a read counter not above the card's last one sun_replayed
 * (a copied URL). The sale is booked either way: it happened at the counter.
 */
static int check_sun(struct push_ctx *c, const struct ledger_event *ev)
{
	struct sun_url url;
	struct sun_tap tap;
	enum sun_status st;
	uint8_t uid_hash[crypto_hash_sha256_BYTES];
	int64_t last;
	if (!ev->sun_url[0] || !c->pol->has_sun_keys)
		return 0;
	int r = sun_url_parse(ev->sun_url, strlen(ev->sun_url), &sun_url_format_default, &url, &st);
	if (r == 0 && st == SUN_OK)
		r = sun_verify(c->pol->sun_meta_key, c->pol->sun_file_key, &url, &tap, &st);
	if (r < 0)
		return r;
	if (st != SUN_OK)
		return raise_flag(c, ev, "sun_invalid", 0, "the card's SUN message of %s does not verify: %s",
				  ev->receipt_no, sun_status_str(st));
	/* the UID only as a hash, under a context of its own */
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *) "loyalty/sun-uid", 15);
	crypto_hash_sha256_update(&h, tap.uid, SUN_UID_LEN);
	crypto_hash_sha256_final(&h, uid_hash);
	if ((r = c->st->ops->sun_counter(c->st, uid_hash, tap.read_ctr, &last)) < 0)
		return r;
	if (r == 0)
		return raise_flag(c, ev, "sun_replayed", 0,
				  "the card's SUN message of %s repeats read counter %u (seen up to %"
				  PRId64 "): a copied card or URL",
				  ev->receipt_no, (unsigned) tap.read_ctr, last);
	return 0;
}

/* Conflicts and budgets of an event about to be stored (coupon) or just stored (redeem). */
static int check_coupon(struct push_ctx *c, const struct ledger_event *ev)
{
	struct store_event_ref first;
	if (strcmp(ev->kind, "coupon_use") || !ev->ref[0])
		return 0;
	int r = c->st->ops->coupon_first_use(c->st, ev->ref, &first);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return raise_flag(c, ev, "coupon_conflict", ev->amount_gr,
			  "coupon %s used again (first at %s seq %" PRId64 "): %" PRId64
			  " gr overdrawn by %s",
			  ev->ref, first.terminal_id, first.seq, ev->amount_gr, ev->terminal_id);
}

static int check_budget(struct push_ctx *c, const struct ledger_event *ev)
{
	struct store *st = c->st;
	int64_t from = day_start(ev->time_us), to = from + SYNC_DAY_US, used, pts = -ev->points;
	int r;
	if (strcmp(ev->kind, "redeem") || pts <= 0)
		return 0;
	if ((r = st->ops->redeemed_pts(st, ev->terminal_id, NULL, from, to, &used)) < 0)
		return r;
	if (used > c->pol->terminal_budget_pts &&
	    (r = raise_flag(c, ev, "budget_exceeded",
			    used - pts >= c->pol->terminal_budget_pts
				? pts
				: used - c->pol->terminal_budget_pts,
			    "terminal %s redeemed %" PRId64 " of %" PRId64 " points that day",
			    ev->terminal_id, used, c->pol->terminal_budget_pts)) < 0)
		return r;
	if (!ev->card_code[0])
		return 0;
	if ((r = st->ops->redeemed_pts(st, NULL, ev->card_code, from, to, &used)) < 0)
		return r;
	if (used > c->pol->member_cap_pts &&
	    (r = raise_flag(c, ev, "member_cap_exceeded",
			    used - pts >= c->pol->member_cap_pts ? pts
								 : used - c->pol->member_cap_pts,
			    "member %s redeemed %" PRId64 " of %" PRId64 " points that day",
			    ev->card_code, used, c->pol->member_cap_pts)) < 0)
		return r;
	return 0;
}

static cJSON *result(cJSON *results, const struct ledger_event *ev, const char *status)
{
	char hex[2 * LEDGER_EVENT_ID_LEN + 1];
	cJSON *o = cJSON_CreateObject();
	sync_hex_encode(ev->event_id, LEDGER_EVENT_ID_LEN, hex);
	sync_json_i64(o, "seq", ev->seq);
	cJSON_AddStringToObject(o, "event_id", hex);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddItemToArray(results, o);
	return o;
}

static void rejected(cJSON *results, const struct ledger_event *ev, const char *code,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void rejected(cJSON *results, const struct ledger_event *ev, const char *code,
		     const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = result(results, ev, "rejected");
	cJSON_AddStringToObject(o, "code", code);
	cJSON_AddStringToObject(o, "error", msg);
}

int sync_push_apply(struct store *st, const struct sync_policy *pol, const char *auth_id,
		    const struct sync_push *push, int64_t now_us, cJSON **ret_response,
		    struct sync_error *err)
{
	struct push_ctx c = {.st = st, .pol = pol, .now_us = now_us};
	struct store_terminal t;
	int64_t n_acc = 0, n_dup = 0, n_rej = 0;
	bool broken = false;
	int r;

	if (strcmp(push->terminal_id, auth_id))
		return fail(err, -EPERM, "foreign_terminal",
			    "terminal %s cannot push for terminal %s", auth_id, push->terminal_id);
	cJSON *resp = cJSON_CreateObject(), *results = cJSON_CreateArray();
	if (!resp || !results) {
		cJSON_Delete(resp);
		cJSON_Delete(results);
		return fail(err, -ENOMEM, "internal", "out of memory");
	}
	for (c.n_slots = 16; c.n_slots < 2 * push->n_events; c.n_slots *= 2)
		;
	if (!(c.members = malloc((push->n_events ? push->n_events : 1) * sizeof(*c.members))) ||
	    !(c.slots = calloc(c.n_slots, sizeof(*c.slots)))) {
		r = -ENOMEM;
		goto storage;
	}
	if ((r = st->ops->begin(st)) < 0)
		goto storage;
	if ((r = st->ops->terminal_get(st, auth_id, &t)) < 0)
		goto rollback;
	for (size_t i = 0; i < push->n_events; i++) {
		const struct ledger_event *ev = &push->events[i];
		struct store_event_ref have;
		uint8_t h[LEDGER_HASH_BYTES];

		if (strcmp(ev->terminal_id, auth_id)) {
			rejected(results, ev, "foreign_terminal",
				 "the event belongs to terminal %s, not %s", ev->terminal_id,
				 auth_id);
			broken = true;
			n_rej++;
			continue;
		}
		r = st->ops->event_get(st, ev->event_id, &have);
		if (r < 0 && r != -ENOENT)
			goto rollback;
		if (r == 0) {
			if (!strcmp(have.terminal_id, ev->terminal_id) && have.seq == ev->seq &&
			    !memcmp(have.hash, ev->hash, LEDGER_HASH_BYTES)) {
				result(results, ev, "duplicate");
				n_dup++;
			} else {
				rejected(results, ev, "id_conflict",
					 "another event with this id is stored (%s seq %" PRId64
					 ")",
					 have.terminal_id, have.seq);
				broken = true;
				n_rej++;
			}
			continue;
		}
		if (broken) {
			rejected(results, ev, "previous_rejected",
				 "an earlier event of the batch was rejected; send again from it");
			n_rej++;
			continue;
		}
		if (ev->seq <= t.last_seq) {
			rejected(results, ev, "seq_conflict",
				 "the server holds another event at seq %" PRId64, ev->seq);
			broken = true;
			n_rej++;
			continue;
		}
		if (ev->seq != t.last_seq + 1) {
			rejected(results, ev, "seq_gap",
				 "expected seq %" PRId64 " (events must arrive in order)",
				 t.last_seq + 1);
			broken = true;
			n_rej++;
			continue;
		}
		if ((r = ledger_event_hash(ev, t.last_hash, h)) < 0)
			goto rollback;
		if (memcmp(h, ev->hash, LEDGER_HASH_BYTES)) {
			rejected(results, ev, "hash_mismatch",
				 "the hash does not match the event's fields chained to seq "
				 "%" PRId64,
				 t.last_seq);
			broken = true;
			n_rej++;
			continue;
		}
		if (ev->member_id && ev->card_code[0]) {
			/* the terminal's member number names one card for good */
			char linked[LEDGER_CARD_CODE_LEN + 1];
			r = st->ops->link_get(st, ev->terminal_id, ev->member_id, linked);
			if (r < 0 && r != -ENOENT)
				goto rollback;
			if (r == 0 && strcmp(linked, ev->card_code)) {
				rejected(results, ev, "member_mismatch",
					 "member %" PRId64 " of terminal %s has card %s, not %s",
					 ev->member_id, ev->terminal_id, linked, ev->card_code);
				broken = true;
				n_rej++;
				continue;
			}
			if (r == -ENOENT &&
			    (r = st->ops->link_put(st, ev->terminal_id, ev->member_id,
						   ev->card_code)) < 0)
				goto rollback;
		}
		c.flags = cJSON_CreateArray();
		if ((r = check_coupon(&c, ev)) < 0 ||
		    (r = st->ops->event_put(st, ev, now_us)) < 0 ||
		    (r = check_budget(&c, ev)) < 0 || (r = check_sun(&c, ev)) < 0 ||
		    (ev->card_code[0] && (r = fold_member(&c, ev)) < 0)) {
			cJSON_Delete(c.flags);
			goto rollback;
		}
		cJSON *o = result(results, ev, "accepted");
		if (cJSON_GetArraySize(c.flags))
			cJSON_AddItemToObject(o, "flags", c.flags);
		else
			cJSON_Delete(c.flags);
		t.last_seq = ev->seq;
		memcpy(t.last_hash, ev->hash, LEDGER_HASH_BYTES);
		n_acc++;
	}
	if ((r = store_members(&c)) < 0 || (n_acc && (r = st->ops->terminal_put(st, &t)) < 0) ||
	    (r = st->ops->commit(st)) < 0)
		goto rollback;
	free(c.members);
	free(c.slots);

	cJSON_AddBoolToObject(resp, "ok", true);
	cJSON_AddStringToObject(resp, "terminal_id", auth_id);
	sync_json_i64(resp, "acked_seq", t.last_seq);
	sync_json_i64(resp, "accepted", n_acc);
	sync_json_i64(resp, "duplicates", n_dup);
	sync_json_i64(resp, "rejected", n_rej);
	sync_json_i64(resp, "server_time_us", now_us);
	cJSON_AddItemToObject(resp, "results", results);
	*ret_response = resp;
	return 0;
rollback:
	st->ops->rollback(st);
storage:
	free(c.members);
	free(c.slots);
	cJSON_Delete(resp);
	cJSON_Delete(results);
	return storage_failed(st, err, r);
}

struct changes_ctx {
	cJSON *list;
	int64_t last;
	size_t n, limit;
	bool more;
};

static int add_change(void *userdata, const struct store_change *ch)
{
	struct changes_ctx *c = userdata;
	if (c->n == c->limit) {
		/* one more was read to know there are more: it is the next pull's */
		c->more = true;
		return 0;
	}
	/* the stored object with its cursor first, its integers as stored */
	size_t len = strlen(ch->json);
	char *raw = malloc(len + 32);
	if (!raw || len < 2 || ch->json[0] != '{') {
		free(raw);
		return -EIO;
	}
	snprintf(raw, len + 32, "{\"cursor\":%" PRId64 "%s%s", ch->cursor, len > 2 ? "," : "",
		 ch->json + 1);
	cJSON *item = cJSON_CreateRaw(raw);
	free(raw);
	if (!item)
		return -ENOMEM;
	cJSON_AddItemToArray(c->list, item);
	c->last = ch->cursor;
	c->n++;
	return 0;
}

int sync_changes(struct store *st, const struct sync_policy *pol, const char *terminal_id,
		 int64_t since, size_t limit, int64_t now_us, cJSON **ret, struct sync_error *err)
{
	struct changes_ctx c = {.last = since};
	int64_t from = day_start(now_us), redeemed, overdraw;
	int r;
	if (limit < 1 || limit > SYNC_PULL_MAX)
		limit = SYNC_PULL_MAX;
	c.limit = limit;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddBoolToObject(o, "ok", true) ||
	    !(c.list = cJSON_AddArrayToObject(o, "changes"))) {
		cJSON_Delete(o);
		return fail(err, -ENOMEM, "internal", "out of memory");
	}
	if ((r = st->ops->changes_read(st, since, limit + 1, add_change, &c)) < 0 ||
	    (r = st->ops->redeemed_pts(st, terminal_id, NULL, from, from + SYNC_DAY_US,
				       &redeemed)) < 0 ||
	    (r = st->ops->flag_sum(st, "coupon_conflict", terminal_id, from, from + SYNC_DAY_US,
				   &overdraw)) < 0) {
		cJSON_Delete(o);
		return storage_failed(st, err, r);
	}
	sync_json_i64(o, "server_time_us", now_us);
	sync_json_i64(o, "cursor", c.last);
	cJSON_AddBoolToObject(o, "more", c.more);
	cJSON *b = cJSON_AddObjectToObject(o, "budget");
	sync_json_i64(b, "day_start_us", from);
	sync_json_i64(b, "day_end_us", from + SYNC_DAY_US);
	sync_json_i64(b, "terminal_pts", pol->terminal_budget_pts);
	sync_json_i64(b, "member_cap_pts", pol->member_cap_pts);
	sync_json_i64(b, "max_offline_age_s", pol->max_offline_age_s);
	sync_json_i64(b, "redeemed_pts", redeemed);
	sync_json_i64(b, "remaining_pts",
		      redeemed < pol->terminal_budget_pts ? pol->terminal_budget_pts - redeemed
							  : 0);
	sync_json_i64(b, "coupon_overdraw_gr", overdraw);
	*ret = o;
	return 0;
}

static cJSON *key_change(const char *type, const char *terminal_id,
			 const uint8_t pk[SYNC_PUBLIC_KEY_LEN])
{
	char hex[2 * SYNC_PUBLIC_KEY_LEN + 1], id[9];
	cJSON *o = cJSON_CreateObject();
	sync_hex_encode(pk, SYNC_PUBLIC_KEY_LEN, hex);
	snprintf(id, sizeof(id), "%08" PRIx32, token_key_id(pk));
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "terminal_id", terminal_id);
	cJSON_AddStringToObject(o, "public_key", hex);
	cJSON_AddStringToObject(o, "key_id", id);
	return o;
}

int sync_register(struct store *st, const struct sync_register *reg, int64_t now_us,
		  sync_issue_fn issue, void *userdata,
		  char ret_terminal_id[LEDGER_TERMINAL_ID_MAX + 1], char **ret_pem,
		  struct sync_error *err)
{
	static const char ctx[] = SYNC_REGISTER_CONTEXT;
	uint8_t msg[sizeof(ctx) - 1 + SYNC_ENROL_CODE_LEN + SYNC_PUBLIC_KEY_LEN];
	uint8_t code_hash[STORE_CODE_HASH_LEN];
	char id[LEDGER_TERMINAL_ID_MAX + 1], key[9 + LEDGER_TERMINAL_ID_MAX + 1];
	struct store_terminal t;
	char *pem = NULL;
	int r;

	memcpy(msg, ctx, sizeof(ctx) - 1);
	memcpy(msg + sizeof(ctx) - 1, reg->enrolment_code, SYNC_ENROL_CODE_LEN);
	memcpy(msg + sizeof(ctx) - 1 + SYNC_ENROL_CODE_LEN, reg->public_key, SYNC_PUBLIC_KEY_LEN);
	if (crypto_sign_verify_detached(reg->signature, msg, sizeof(msg), reg->public_key))
		return fail(err, -EACCES, "bad_signature",
			    "the signature does not prove the public key's private key");
	crypto_hash_sha256(code_hash, (const uint8_t *) reg->enrolment_code, SYNC_ENROL_CODE_LEN);
	if ((r = st->ops->begin(st)) < 0)
		return storage_failed(st, err, r);
	r = st->ops->enrolment_take(st, code_hash, reg->public_key, now_us, id);
	if (r == -ENOENT || r == -ETIMEDOUT || r == -EALREADY) {
		st->ops->rollback(st);
		if (r == -EALREADY)
			return fail(err, r, "enrolment_code_used",
				    "this enrolment code was used already; ask for a new one");
		return fail(err, -EACCES,
			    r == -ENOENT ? "enrolment_code_unknown" : "enrolment_code_expired",
			    "this enrolment code is %s", r == -ENOENT ? "unknown" : "expired");
	}
	bool again = r == 1;
	if (r < 0 || (r = st->ops->terminal_get(st, id, &t)) < 0)
		goto rollback;
	if (again) {
		/* the same registration again, its answer lost: a certificate for the same key,
		 * as long as that key is still the terminal's */
		if (!t.registered || t.revoked ||
		    memcmp(t.public_key, reg->public_key, SYNC_PUBLIC_KEY_LEN)) {
			st->ops->rollback(st);
			return fail(err, -EALREADY, "enrolment_code_used",
				    "this enrolment code was used already; ask for a new one");
		}
	} else {
		memcpy(t.public_key, reg->public_key, SYNC_PUBLIC_KEY_LEN);
		t.registered = true;
		t.revoked = false;
		snprintf(key, sizeof(key), "terminal:%s", id);
		if ((r = st->ops->terminal_put(st, &t)) < 0 ||
		    (r = put_change(st, key, key_change("terminal_key", id, reg->public_key))) < 0)
			goto rollback;
	}
	if ((r = issue(userdata, id, reg->public_key, &pem)) < 0) {
		st->ops->rollback(st);
		return fail(err, r, "internal", "the certificate could not be issued");
	}
	if ((r = st->ops->commit(st)) < 0) {
		free(pem);
		goto rollback;
	}
	memcpy(ret_terminal_id, id, sizeof(id));
	*ret_pem = pem;
	return 0;
rollback:
	st->ops->rollback(st);
	return storage_failed(st, err, r);
}

int sync_enrol_code(struct store *st, const char *terminal_id, int64_t now_us, int64_t valid_s,
		    char code[SYNC_ENROL_CODE_LEN + 1])
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint8_t rnd[20], hash[STORE_CODE_HASH_LEN];
	struct store_terminal t;
	int r;
	randombytes_buf(rnd, sizeof(rnd));
	for (size_t i = 0, j = 0; i < SYNC_ENROL_CODE_LEN; i++)
		code[i] = i % 6 == 5 ? '-' : alphabet[rnd[j++] & 31];
	code[SYNC_ENROL_CODE_LEN] = '\0';
	sodium_memzero(rnd, sizeof(rnd));
	crypto_hash_sha256(hash, (const uint8_t *) code, SYNC_ENROL_CODE_LEN);
	if ((r = st->ops->begin(st)) < 0)
		return r;
	r = st->ops->terminal_get(st, terminal_id, &t);
	if (r == -ENOENT) {
		memset(&t, 0, sizeof(t));
		snprintf(t.terminal_id, sizeof(t.terminal_id), "%s", terminal_id);
		t.created_us = now_us;
		r = st->ops->terminal_put(st, &t);
	}
	if (r < 0 ||
	    (r = st->ops->enrolment_add(st, hash, terminal_id, now_us + valid_s * 1000000)) < 0 ||
	    (r = st->ops->commit(st)) < 0) {
		st->ops->rollback(st);
		return r;
	}
	return 0;
}

int sync_revoke(struct store *st, const char *terminal_id, int64_t now_us)
{
	struct store_terminal t;
	char key[9 + LEDGER_TERMINAL_ID_MAX + 1];
	int r;
	(void) now_us;
	if ((r = st->ops->begin(st)) < 0)
		return r;
	if ((r = st->ops->terminal_get(st, terminal_id, &t)) < 0)
		goto out;
	t.revoked = true;
	snprintf(key, sizeof(key), "terminal:%s", terminal_id);
	if ((r = st->ops->terminal_put(st, &t)) < 0 ||
	    (t.registered &&
	     (r = put_change(st, key, key_change("revoked_key", terminal_id, t.public_key))) < 0))
		goto out;
	if ((r = st->ops->commit(st)) < 0)
		goto out;
	return 0;
out:
	st->ops->rollback(st);
	return r;
}

int sync_revoke_card(struct store *st, const char *card_code, int64_t now_us)
{
	char key[6 + LEDGER_CARD_CODE_LEN + 1];
	int r;
	if ((r = st->ops->begin(st)) < 0)
		return r;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "revoked_card");
	cJSON_AddStringToObject(o, "card_code", card_code);
	sync_json_i64(o, "revoked_us", now_us);
	snprintf(key, sizeof(key), "card:%s", card_code);
	if ((r = st->ops->card_revoke(st, card_code, now_us)) < 0 ||
	    (r = put_change(st, key, o)) < 0 || (r = st->ops->commit(st)) < 0) {
		st->ops->rollback(st);
		return r;
	}
	return 0;
}

int sync_erase(struct store *st, const char *card_code, int64_t now_us)
{
	struct store_member m;
	char key[8 + LEDGER_CARD_CODE_LEN + 1];
	int r;
	if ((r = st->ops->begin(st)) < 0)
		return r;
	if ((r = st->ops->member_get(st, card_code, &m)) < 0 ||
	    (r = st->ops->member_erase(st, card_code)) < 0)
		goto out;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "tombstone");
	cJSON_AddStringToObject(o, "card_code", card_code);
	sync_json_i64(o, "erased_us", now_us);
	snprintf(key, sizeof(key), "member:%s", card_code);
	if ((r = put_change(st, key, o)) < 0 || (r = st->ops->commit(st)) < 0)
		goto out;
	if (st->ops->purge)
		(void) st->ops->purge(st); /* best effort: the erasure stands either way */
	return 0;
out:
	st->ops->rollback(st);
	return r;
}

int sync_publish_config(struct store *st, const uint8_t seed[SYNC_SEED_LEN], const char *text,
			size_t len, int64_t now_us)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t sig[crypto_sign_BYTES];
	char sig_hex[2 * crypto_sign_BYTES + 1], pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1], id[9];
	size_t n;
	int r;

	crypto_sign_seed_keypair(pk, sk, seed);
	/* plain Ed25519 (not the pre-hashed Ed25519ph) over the concatenation */
	uint8_t *msg = programme_sig_message(now_us, text, len, &n);
	size_t b64_size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64_size);
	if (!msg || !b64) {
		free(msg);
		free(b64);
		sodium_memzero(sk, sizeof(sk));
		return -ENOMEM;
	}
	crypto_sign_detached(sig, NULL, msg, n, sk);
	sodium_memzero(sk, sizeof(sk));
	free(msg);
	sodium_bin2base64(b64, b64_size, (const uint8_t *) text, len,
			  sodium_base64_VARIANT_ORIGINAL);
	sync_hex_encode(sig, sizeof(sig), sig_hex);
	sync_hex_encode(pk, sizeof(pk), pk_hex);
	snprintf(id, sizeof(id), "%08" PRIx32, token_key_id(pk));

	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "config");
	sync_json_i64(o, "issued_us", now_us);
	cJSON_AddStringToObject(o, "programme_b64", b64);
	cJSON_AddStringToObject(o, "signature", sig_hex);
	cJSON_AddStringToObject(o, "key_id", id);
	cJSON_AddStringToObject(o, "public_key", pk_hex);
	free(b64);
	if ((r = st->ops->begin(st)) < 0)
		return r;
	if ((r = put_change(st, "config", o)) < 0 || (r = st->ops->commit(st)) < 0) {
		st->ops->rollback(st);
		return r;
	}
	return 0;
}
