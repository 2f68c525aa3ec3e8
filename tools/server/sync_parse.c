/* sync_parse: the sync protocol's request bodies (cJSON), checked field by field. */
#include "sync_parse.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char *const kinds[] = {
    "enrol",	  "earn",	  "bonus",  "redeem",  "donate",   "expire", "stamp",
    "coupon_use", "coupon_issue", "refund", "reverse", "recredit", NULL,
};

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

bool sync_kind_valid(const char *kind)
{
	for (const char *const *k = kinds; *k; k++)
		if (!strcmp(kind, *k))
			return true;
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool sync_hex_decode(const char *hex, uint8_t *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t) (hi << 4 | lo);
	}
	return true;
}

void sync_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * Every number token outside strings is a plain integer (no '.', 'e' or 'E'): cJSON keeps only
 * a double, so a fraction or an exponent could not be told from the integer it rounds to.
 */
static bool numbers_integral(const char *text, size_t len)
{
	bool in_string = false, in_number = false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
			in_number = false;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			in_number = true;
		} else if (in_number && (c == '.' || c == 'e' || c == 'E' || c == '+')) {
			return false;
		} else {
			in_number = false;
		}
	}
	return true;
}

static int parse_json(const char *text, size_t len, cJSON **ret, struct sync_error *err)
{
	const char *end = NULL;
	if (len > SYNC_BODY_MAX)
		return fail(err, -EFBIG, "body_too_large", "the body is larger than %d bytes",
			    SYNC_BODY_MAX);
	if (!len || memchr(text, '\0', len))
		return fail(err, -EINVAL, "malformed_json", "the body is not a JSON object");
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at && at >= text && at <= text + len ? (size_t) (at - text) : 0;
		return fail(err, -EINVAL, "malformed_json", "malformed JSON near byte %zu", off);
	}
	for (; end && end < text + len; end++) {
		if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
			cJSON_Delete(root);
			return fail(err, -EINVAL, "malformed_json",
				    "malformed JSON: text after the object at byte %zu",
				    (size_t) (end - text));
		}
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return fail(err, -EINVAL, "malformed_json", "the body is not a JSON object");
	}
	if (!numbers_integral(text, len)) {
		cJSON_Delete(root);
		return fail(err, -EINVAL, "bad_field",
			    "numbers must be integers written without a fraction or exponent");
	}
	*ret = root;
	return 0;
}

/* A key of a list: "?name" is an optional field named name. */
static bool key_is(const char *given, const char *key)
{
	return !strcmp(given, key[0] == '?' ? key + 1 : key);
}

/*
 * obj has exactly the keys listed (at most 32), each once, "?name" ones optional; with found,
 * found[i] is the member named keys[i] (NULL for an optional one absent). Members in the order
 * listed (as terminals send them) are matched at once.
 */

static int exact_keys(const cJSON *obj, const char *where, const char *const *keys,
		      const cJSON **found, struct sync_error *err)
{
	uint32_t seen = 0;
	size_t n_keys = 0, i = 0;
	while (keys[n_keys])
		n_keys++;
	assert(n_keys <= 32);
	if (found)
		for (size_t k = 0; k < n_keys; k++)
			found[k] = NULL;
	for (const cJSON *it = obj->child; it; it = it->next, i++) {
		size_t k = i < n_keys && key_is(it->string, keys[i]) ? i : n_keys;
		for (size_t j = 0; k == n_keys && j < n_keys; j++)
			if (key_is(it->string, keys[j]))
				k = j;
		if (k == n_keys)
			return fail(err, -EINVAL, "bad_field", "%s%s%.40s: unknown field", where,
				    where[0] ? "." : "", it->string);
		if (seen & (1u << k))
			return fail(err, -EINVAL, "bad_field", "%s%s%.40s: repeated field", where,
				    where[0] ? "." : "", it->string);
		seen |= 1u << k;
		if (found)
			found[k] = it;
	}
	for (size_t k = 0; k < n_keys; k++)
		if (!(seen & (1u << k)) && keys[k][0] != '?')
			return fail(err, -EINVAL, "bad_field", "%s%s%s: missing", where,
				    where[0] ? "." : "", keys[k]);
	return 0;
}

static int get_int(const cJSON *v, const char *where, const char *key, int64_t min, int64_t max,
		   int64_t *ret, struct sync_error *err)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < (double) min || v->valuedouble > (double) max ||
	    v->valuedouble != (double) (int64_t) v->valuedouble)
		return fail(err, -EINVAL, "bad_field",
			    "%s.%s: must be an integer from %" PRId64 " to %" PRId64, where, key,
			    min, max);
	*ret = (int64_t) v->valuedouble;
	return 0;
}

/* A string of min..max printable ASCII characters (no space) copied into out[max + 1]. */
static int get_text(const cJSON *v, const char *where, const char *key, size_t min, size_t max,
		    char *out, struct sync_error *err)
{
	size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
	bool ok = cJSON_IsString(v) && n >= min && n <= max;
	for (size_t i = 0; ok && i < n; i++)
		ok = v->valuestring[i] > ' ' && v->valuestring[i] < 0x7f;
	if (!ok)
		return fail(err, -EINVAL, "bad_field",
			    "%s.%s: must be a string of %zu to %zu printable ASCII characters",
			    where, key, min, max);
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

/* The length of the UTF-8 sequence at t (shortest form, no surrogates, <= U+10FFFF); 0 if bad. */
static size_t utf8_seq(const unsigned char *t)
{
	if (t[0] < 0x80)
		return 1;
	if (t[0] >= 0xc2 && t[0] <= 0xdf)
		return (t[1] & 0xc0) == 0x80 ? 2 : 0;
	if (t[0] >= 0xe0 && t[0] <= 0xef) {
		if ((t[1] & 0xc0) != 0x80 || (t[2] & 0xc0) != 0x80 ||
		    (t[0] == 0xe0 && t[1] < 0xa0) || (t[0] == 0xed && t[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (t[0] >= 0xf0 && t[0] <= 0xf4) {
		if ((t[1] & 0xc0) != 0x80 || (t[2] & 0xc0) != 0x80 || (t[3] & 0xc0) != 0x80 ||
		    (t[0] == 0xf0 && t[1] < 0x90) || (t[0] == 0xf4 && t[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * A string of at most max bytes of UTF-8 without control characters (C0, DEL, C1), as the
 * programme allows for its ids (rule ids, stamp cards, causes: "Złoty", "Schronisko dla psów"),
 * copied into out[max + 1]. Empty is allowed.
 */
static int get_utf8(const cJSON *v, const char *where, const char *key, size_t max, char *out,
		    struct sync_error *err)
{
	size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
	bool ok = cJSON_IsString(v) && n <= max;
	const unsigned char *t = ok ? (const unsigned char *) v->valuestring : NULL;
	for (size_t i = 0, k; ok && i < n; i += k) {
		k = utf8_seq(t + i);
		ok = k && t[i] >= 0x20 && t[i] != 0x7f && !(t[i] == 0xc2 && t[i + 1] < 0xa0);
	}
	if (!ok)
		return fail(err, -EINVAL, "bad_field",
			    "%s.%s: must be a string of at most %zu bytes of UTF-8 without control "
			    "characters",
			    where, key, max);
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

static bool terminal_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > LEDGER_TERMINAL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9')))
			return false;
	return true;
}

static bool crockford(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", s[i]) || !s[i])
			return false;
	return true;
}

static int get_hex(const cJSON *v, const char *where, const char *key, uint8_t *out, size_t n,
		   struct sync_error *err)
{
	if (!cJSON_IsString(v) || !sync_hex_decode(v->valuestring, out, n))
		return fail(err, -EINVAL, "bad_field", "%s.%s: must be %zu lowercase hex digits",
			    where, key, 2 * n);
	return 0;
}

static int parse_event(const cJSON *o, const char *where, struct ledger_event *ev,
		       struct sync_error *err)
{
	static const char *const keys[] = {
	    "seq",    "event_id",  "terminal_id", "kind",     "member_id", "card_code",
	    "points", "amount_gr", "receipt_no",  "time_us",  "rule",	   "ref",
	    "lot_us", "items",	   "progress",	  "encoding", "hash",	   "?sun_url", NULL,
	};
	enum {
		SEQ,
		EVENT_ID,
		TERMINAL_ID,
		KIND,
		MEMBER_ID,
		CARD_CODE,
		POINTS,
		AMOUNT_GR,
		RECEIPT_NO,
		TIME_US,
		RULE,
		REF,
		LOT_US,
		ITEMS,
		PROGRESS,
		ENCODING,
		HASH,
		SUN_URL, /* optional: an NTAG 424 DNA's SUN message of the sale's tap (not hashed) */
		KEYS_MAX
	};
	const cJSON *f[KEYS_MAX];
	int64_t v;
	int r;
	memset(ev, 0, sizeof(*ev));
	if (!cJSON_IsObject(o))
		return fail(err, -EINVAL, "bad_field", "%s: must be an object", where);
	if ((r = exact_keys(o, where, keys, f, err)) < 0 ||
	    (r = get_int(f[SEQ], where, "seq", 1, SYNC_INT_MAX, &ev->seq, err)) < 0 ||
	    (r = get_hex(f[EVENT_ID], where, "event_id", ev->event_id, LEDGER_EVENT_ID_LEN, err)) <
		0 ||
	    (r = get_text(f[TERMINAL_ID], where, "terminal_id", 1, LEDGER_TERMINAL_ID_MAX,
			  ev->terminal_id, err)) < 0)
		return r;
	if (!terminal_id_valid(ev->terminal_id))
		return fail(err, -EINVAL, "bad_field", "%s.terminal_id: must be 1 to %d of A-Z 0-9",
			    where, LEDGER_TERMINAL_ID_MAX);
	if ((r = get_text(f[KIND], where, "kind", 1, LEDGER_KIND_MAX, ev->kind, err)) < 0)
		return r;
	if (!sync_kind_valid(ev->kind))
		return fail(err, -EINVAL, "bad_field", "%s.kind: not an event kind", where);
	if ((r = get_int(f[MEMBER_ID], where, "member_id", 0, SYNC_INT_MAX, &ev->member_id, err)) <
	    0)
		return r;
	const cJSON *cc = f[CARD_CODE];
	if (!cJSON_IsString(cc) ||
	    (cc->valuestring[0] && !crockford(cc->valuestring, LEDGER_CARD_CODE_LEN)))
		return fail(err, -EINVAL, "bad_field",
			    "%s.card_code: must be \"\" or %d Crockford base32 characters", where,
			    LEDGER_CARD_CODE_LEN);
	memcpy(ev->card_code, cc->valuestring, strlen(cc->valuestring) + 1);
	if ((r = get_int(f[POINTS], where, "points", -SYNC_INT_MAX, SYNC_INT_MAX, &ev->points,
			 err)) < 0 ||
	    (r = get_int(f[AMOUNT_GR], where, "amount_gr", -SYNC_INT_MAX, SYNC_INT_MAX,
			 &ev->amount_gr, err)) < 0)
		return r;
	if (ev->amount_gr < 0 && strcmp(ev->kind, "refund"))
		return fail(err, -EINVAL, "bad_field",
			    "%s.amount_gr: only a refund may be negative", where);
	if ((r = get_text(f[RECEIPT_NO], where, "receipt_no", 1, LEDGER_RECEIPT_NO_MAX,
			  ev->receipt_no, err)) < 0 ||
	    (r = get_int(f[TIME_US], where, "time_us", 1, SYNC_INT_MAX, &ev->time_us, err)) < 0 ||
	    (r = get_utf8(f[RULE], where, "rule", PROGRAMME_ID_MAX, ev->rule, err)) < 0 ||
	    (r = get_utf8(f[REF], where, "ref", LEDGER_REF_MAX, ev->ref, err)) < 0 ||
	    (r = get_int(f[LOT_US], where, "lot_us", 0, SYNC_INT_MAX, &ev->lot_us, err)) < 0 ||
	    (r = get_int(f[ITEMS], where, "items", 0, SYNC_INT_MAX, &ev->items, err)) < 0 ||
	    (r = get_int(f[PROGRESS], where, "progress", 0, SYNC_INT_MAX, &ev->progress, err)) <
		0 ||
	    (r = get_int(f[ENCODING], where, "encoding", 2, 3, &v, err)) < 0 ||
	    (r = get_hex(f[HASH], where, "hash", ev->hash, LEDGER_HASH_BYTES, err)) < 0 ||
	    (f[SUN_URL] && (r = get_text(f[SUN_URL], where, "sun_url", 1, LEDGER_SUN_URL_MAX,
					 ev->sun_url, err)) < 0))
		return r;
	if (f[SUN_URL] && strcmp(ev->kind, "earn"))
		return fail(err, -EINVAL, "bad_field", "%s.sun_url: only an earn event carries one",
			    where);
	ev->encoding = (uint8_t) v;
	return 0;
}

int sync_parse_push(const char *text, size_t len, struct sync_push *ret, struct sync_error *err)
{
	static const char *const keys[] = {"terminal_id", "events", NULL};
	struct sync_push p = {0};
	cJSON *root;
	int r;
	if ((r = parse_json(text, len, &root, err)) < 0)
		return r;
	const cJSON *f[2];
	if ((r = exact_keys(root, "", keys, f, err)) < 0 ||
	    (r = get_text(f[0], "body", "terminal_id", 1, LEDGER_TERMINAL_ID_MAX, p.terminal_id,
			  err)) < 0)
		goto out;
	if (!terminal_id_valid(p.terminal_id)) {
		r = fail(err, -EINVAL, "bad_field", "terminal_id: must be 1 to %d of A-Z 0-9",
			 LEDGER_TERMINAL_ID_MAX);
		goto out;
	}
	const cJSON *evs = f[1];
	if (!cJSON_IsArray(evs)) {
		r = fail(err, -EINVAL, "bad_field", "events: must be an array");
		goto out;
	}
	int n = cJSON_GetArraySize(evs);
	if (n < 1 || n > SYNC_BATCH_MAX) {
		r = fail(err, -EINVAL, n < 1 ? "bad_field" : "batch_too_large",
			 "events: must hold 1 to %d events", SYNC_BATCH_MAX);
		goto out;
	}
	if (!(p.events = calloc((size_t) n, sizeof(*p.events)))) {
		r = fail(err, -ENOMEM, "internal", "out of memory");
		goto out;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, evs)
	{
		char where[32];
		snprintf(where, sizeof(where), "events[%zu]", p.n_events);
		if ((r = parse_event(it, where, &p.events[p.n_events], err)) < 0)
			goto out;
		p.n_events++;
	}
	*ret = p;
	p.events = NULL;
	r = 0;
out:
	free(p.events);
	cJSON_Delete(root);
	return r;
}

void sync_push_free(struct sync_push *push)
{
	if (!push)
		return;
	free(push->events);
	push->events = NULL;
	push->n_events = 0;
}

int sync_parse_register(const char *text, size_t len, struct sync_register *ret,
			struct sync_error *err)
{
	static const char *const keys[] = {"enrolment_code", "public_key", "signature", NULL};
	struct sync_register reg;
	cJSON *root;
	int r;
	if ((r = parse_json(text, len, &root, err)) < 0)
		return r;
	const cJSON *f[3];
	if ((r = exact_keys(root, "", keys, f, err)) < 0)
		goto out;
	const cJSON *c = f[0];
	bool ok = cJSON_IsString(c) && strlen(c->valuestring) == SYNC_ENROL_CODE_LEN;
	for (size_t i = 0; ok && i < SYNC_ENROL_CODE_LEN; i++)
		ok = i % 6 == 5 ? c->valuestring[i] == '-'
				: !!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c->valuestring[i]);
	if (!ok) {
		r = fail(err, -EINVAL, "bad_field",
			 "enrolment_code: must be XXXXX-XXXXX-XXXXX-XXXXX (Crockford base32)");
		goto out;
	}
	memcpy(reg.enrolment_code, c->valuestring, SYNC_ENROL_CODE_LEN + 1);
	if ((r = get_hex(f[1], "body", "public_key", reg.public_key, SYNC_PUBLIC_KEY_LEN, err)) <
		0 ||
	    (r = get_hex(f[2], "body", "signature", reg.signature, SYNC_SIGNATURE_LEN, err)) < 0)
		goto out;
	*ret = reg;
out:
	cJSON_Delete(root);
	return r;
}
