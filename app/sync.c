/* sync: the terminal's sync bodies and strict parsers of the server's answers (sync.h). */
#include "sync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "base32.h"
#include "programme_sig.h"

static int fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_size, const char *fmt, ...)
{
	if (err && err_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

void tsync_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool unhex(const char *hex, uint8_t *out, size_t n)
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

/* ---- bodies ---- */

/* Text the protocol allows in rule and ref: UTF-8 without control characters. */
static bool text_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* A JSON string of text without control characters: only '"' and '\' need escaping. */
static int put_string(struct buf *b, const char *s)
{
	int r = buf_append_byte(b, '"');
	for (const char *p = s; r == 0 && *p; p++) {
		if (*p == '"' || *p == '\\')
			r = buf_append_byte(b, '\\');
		if (r == 0)
			r = buf_append_byte(b, (uint8_t) *p);
	}
	return r ? r : buf_append_byte(b, '"');
}

static int put_event(struct buf *b, const struct ledger_event *ev)
{
	char id[2 * LEDGER_EVENT_ID_LEN + 1], hash[2 * LEDGER_HASH_BYTES + 1];
	tsync_hex(ev->event_id, LEDGER_EVENT_ID_LEN, id);
	tsync_hex(ev->hash, LEDGER_HASH_BYTES, hash);
	int r =
	    buf_printf(b, "{\"seq\":%" PRId64 ",\"event_id\":\"%s\",\"terminal_id\":", ev->seq, id);
	if (!r)
		r = put_string(b, ev->terminal_id);
	if (!r)
		r = buf_append_str(b, ",\"kind\":");
	if (!r)
		r = put_string(b, ev->kind);
	if (!r)
		r = buf_printf(b, ",\"member_id\":%" PRId64 ",\"card_code\":", ev->member_id);
	if (!r)
		r = put_string(b, ev->card_code);
	if (!r)
		r = buf_printf(b,
			       ",\"points\":%" PRId64 ",\"amount_gr\":%" PRId64 ",\"receipt_no\":",
			       ev->points, ev->amount_gr);
	if (!r)
		r = put_string(b, ev->receipt_no);
	if (!r)
		r = buf_printf(b, ",\"time_us\":%" PRId64 ",\"rule\":", ev->time_us);
	if (!r)
		r = put_string(b, ev->rule);
	if (!r)
		r = buf_append_str(b, ",\"ref\":");
	if (!r)
		r = put_string(b, ev->ref);
	if (!r)
		r = buf_printf(b,
			       ",\"lot_us\":%" PRId64 ",\"items\":%" PRId64 ",\"progress\":%" PRId64
			       ",\"encoding\":%u,\"hash\":\"%s\"}",
			       ev->lot_us, ev->items, ev->progress, (unsigned) ev->encoding, hash);
	/* the card's SUN message, outside the hash: the server checks it with the card keys */
	if (!r && ev->sun_url[0]) {
		b->len--; /* reopen the object */
		r = buf_append_str(b, ",\"sun_url\":");
		if (!r)
			r = put_string(b, ev->sun_url);
		if (!r)
			r = buf_append_byte(b, '}');
	}
	return r;
}

int tsync_push_body(const char *terminal_id, const struct ledger_event *evs, size_t n,
		    size_t max_body, struct buf *out, size_t *ret_n)
{
	if (!terminal_id || !out || !ret_n || (n && !evs) || n > TSYNC_BATCH_MAX ||
	    !ledger_terminal_id_valid(terminal_id))
		return -EINVAL;
	if (max_body == 0 || max_body > TSYNC_BODY_MAX)
		max_body = TSYNC_BODY_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct ledger_event *ev = &evs[i];
		if (strcmp(ev->terminal_id, terminal_id) || !text_ok(ev->kind) ||
		    !text_ok(ev->card_code) || !text_ok(ev->receipt_no) || !text_ok(ev->rule) ||
		    !text_ok(ev->ref) || !text_ok(ev->sun_url))
			return -EINVAL;
	}
	/* a local buffer over the cap, so that the last event that does not fit is cut off */
	struct buf b;
	buf_init(&b, max_body);
	buf_reset(out);
	int r = buf_append_str(&b, "{\"terminal_id\":");
	if (!r)
		r = put_string(&b, terminal_id);
	if (!r)
		r = buf_append_str(&b, ",\"events\":[");
	size_t k = 0;
	for (; r == 0 && k < n; k++) {
		size_t mark = b.len;
		if (k)
			r = buf_append_byte(&b, ',');
		if (!r)
			r = put_event(&b, &evs[k]);
		/* room for the closing "]}" */
		if (!r && b.len + 2 > max_body)
			r = -E2BIG;
		if (r == -E2BIG && k > 0) {
			b.len = mark;
			r = 0;
			break;
		}
	}
	if (!r)
		r = buf_append_str(&b, "]}");
	if (!r)
		r = buf_append(out, b.data, b.len);
	buf_free(&b);
	if (r < 0)
		return r;
	*ret_n = k;
	return 0;
}

bool tsync_enrol_code_valid(const char *code)
{
	if (!code || strlen(code) != TSYNC_ENROL_CODE_LEN)
		return false;
	for (size_t i = 0; i < TSYNC_ENROL_CODE_LEN; i++) {
		if (i % 6 == 5) {
			if (code[i] != '-')
				return false;
		} else if (base32_value(code[i]) < 0 || code[i] < '0' ||
			   (code[i] > '9' && code[i] < 'A') || code[i] > 'Z') {
			return false;
		}
	}
	return true;
}

int tsync_register_message(const char *code, const uint8_t public_key[TSYNC_PUBLIC_KEY_LEN],
			   uint8_t msg[TSYNC_REGISTER_MSG_LEN])
{
	static const char ctx[] = TSYNC_REGISTER_CONTEXT;
	if (!tsync_enrol_code_valid(code) || !public_key || !msg)
		return -EINVAL;
	memcpy(msg, ctx, sizeof(ctx) - 1);
	memcpy(msg + sizeof(ctx) - 1, code, TSYNC_ENROL_CODE_LEN);
	memcpy(msg + sizeof(ctx) - 1 + TSYNC_ENROL_CODE_LEN, public_key, TSYNC_PUBLIC_KEY_LEN);
	return (int) TSYNC_REGISTER_MSG_LEN;
}

int tsync_register_body(const char *code, const uint8_t public_key[TSYNC_PUBLIC_KEY_LEN],
			const uint8_t signature[TSYNC_SIGNATURE_LEN], struct buf *out)
{
	char pk[2 * TSYNC_PUBLIC_KEY_LEN + 1], sig[2 * TSYNC_SIGNATURE_LEN + 1];
	if (!tsync_enrol_code_valid(code) || !public_key || !signature || !out)
		return -EINVAL;
	tsync_hex(public_key, TSYNC_PUBLIC_KEY_LEN, pk);
	tsync_hex(signature, TSYNC_SIGNATURE_LEN, sig);
	buf_reset(out);
	return buf_printf(out,
			  "{\"enrolment_code\":\"%s\",\"public_key\":\"%s\",\"signature\":\"%s\"}",
			  code, pk, sig);
}

/* ---- parsing ---- */

/*
 * Every number token outside strings is an integer written as digits (no fraction, no exponent,
 * no leading zero) within +-(2^53 - 1): cJSON keeps only a double, which could not tell 1.0 from
 * 1 nor hold larger integers exactly.
 */
static int numbers_ok(const char *text, size_t len, char *err, size_t err_size)
{
	bool in_string = false;
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
			continue;
		}
		if (c != '-' && (c < '0' || c > '9'))
			continue;
		size_t start = i;
		if (c == '-')
			i++;
		size_t digits = i;
		int64_t v = 0;
		while (i < len && text[i] >= '0' && text[i] <= '9') {
			if (v > TSYNC_INT_MAX / 10)
				return fail(err, err_size, "a number is out of range (at byte %zu)",
					    start);
			v = v * 10 + (text[i] - '0');
			if (v > TSYNC_INT_MAX)
				return fail(err, err_size, "a number is out of range (at byte %zu)",
					    start);
			i++;
		}
		if (i == digits)
			return fail(err, err_size, "a '-' without digits (at byte %zu)", start);
		if (i - digits > 1 && text[digits] == '0')
			return fail(err, err_size, "a number with a leading zero (at byte %zu)",
				    start);
		if (i < len && (text[i] == '.' || text[i] == 'e' || text[i] == 'E'))
			return fail(
			    err, err_size,
			    "a number that is not an integer written as digits (at byte %zu)",
			    start);
		i--; /* the loop's i++ moves past the number */
	}
	return 0;
}

/* The whole text as one JSON object (nothing but white space after it). */
static int parse_object(const char *text, size_t len, cJSON **ret, char *err, size_t err_size)
{
	const char *end = NULL;
	*ret = NULL;
	if (!text || len == 0)
		return fail(err, err_size, "the answer is empty");
	if (memchr(text, '\0', len))
		return fail(err, err_size, "the answer holds a NUL byte");
	int r = numbers_ok(text, len, err, err_size);
	if (r < 0)
		return r;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root)
		return fail(err, err_size, "the answer is not JSON");
	for (const char *p = end; p && p < text + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			cJSON_Delete(root);
			return fail(err, err_size, "text after the JSON object");
		}
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return fail(err, err_size, "the answer is not a JSON object");
	}
	*ret = root;
	return 0;
}

/* The member key of object o, which must appear at most once. NULL when absent or repeated. */
static const cJSON *member(const cJSON *o, const char *key, bool *repeated)
{
	const cJSON *found = NULL;
	if (!o)
		return NULL;
	for (const cJSON *it = o->child; it; it = it->next) {
		if (it->string && !strcmp(it->string, key)) {
			if (found) {
				*repeated = true;
				return NULL;
			}
			found = it;
		}
	}
	return found;
}

/* Field readers: where names the object for the message ("results[3]"). */
struct reader {
	const cJSON *o;
	const char *where;
	char *err;
	size_t err_size;
};

static const cJSON *field(struct reader *rd, const char *key, bool required, int *r)
{
	bool repeated = false;
	const cJSON *v = member(rd->o, key, &repeated);
	if (repeated)
		*r = fail(rd->err, rd->err_size, "%s%s%s: given twice", rd->where,
			  rd->where[0] ? "." : "", key);
	else if (!v && required)
		*r = fail(rd->err, rd->err_size, "%s%s%s: missing", rd->where,
			  rd->where[0] ? "." : "", key);
	return repeated ? NULL : v;
}

static int get_int(struct reader *rd, const char *key, int64_t min, int64_t max, int64_t *ret)
{
	int r = 0;
	const cJSON *v = field(rd, key, true, &r);
	if (r)
		return r;
	/* the digits were checked by numbers_ok: the double holds the integer exactly */
	if (!cJSON_IsNumber(v) || v->valuedouble < (double) min || v->valuedouble > (double) max)
		return fail(rd->err, rd->err_size,
			    "%s%s%s: must be an integer from %" PRId64 " to %" PRId64, rd->where,
			    rd->where[0] ? "." : "", key, min, max);
	*ret = (int64_t) v->valuedouble;
	return 0;
}

static int get_bool(struct reader *rd, const char *key, bool *ret)
{
	int r = 0;
	const cJSON *v = field(rd, key, true, &r);
	if (r)
		return r;
	if (!cJSON_IsBool(v))
		return fail(rd->err, rd->err_size, "%s%s%s: must be true or false", rd->where,
			    rd->where[0] ? "." : "", key);
	*ret = cJSON_IsTrue(v);
	return 0;
}

/* A string of 1..size-1 bytes (0.. when empty_ok) without control characters. */
static int get_str(struct reader *rd, const char *key, bool required, bool empty_ok, char *out,
		   size_t size)
{
	int r = 0;
	const cJSON *v = field(rd, key, required, &r);
	if (r)
		return r;
	if (!v) {
		out[0] = '\0';
		return 0;
	}
	if (!cJSON_IsString(v) || (!empty_ok && !v->valuestring[0]) ||
	    strlen(v->valuestring) >= size)
		return fail(rd->err, rd->err_size, "%s%s%s: must be text of %s%zu bytes", rd->where,
			    rd->where[0] ? "." : "", key, empty_ok ? "up to " : "1 to ", size - 1);
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* A string that must be exactly n bytes of lowercase hex. */
static int get_hex(struct reader *rd, const char *key, uint8_t *out, size_t n)
{
	int r = 0;
	const cJSON *v = field(rd, key, true, &r);
	if (r)
		return r;
	if (!cJSON_IsString(v) || !unhex(v->valuestring, out, n))
		return fail(rd->err, rd->err_size, "%s%s%s: must be %zu lowercase hex digits",
			    rd->where, rd->where[0] ? "." : "", key, 2 * n);
	return 0;
}

static bool card_code_ok(const char *s, bool empty_ok)
{
	size_t n = strlen(s);
	if (n == 0)
		return empty_ok;
	if (n != LEDGER_CARD_CODE_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (base32_value(s[i]) < 0 || (s[i] >= 'a' && s[i] <= 'z'))
			return false;
	return true;
}

static int get_card(struct reader *rd, const char *key, char out[LEDGER_CARD_CODE_LEN + 1])
{
	char tmp[LEDGER_CARD_CODE_LEN + 2];
	int r = get_str(rd, key, true, false, tmp, sizeof(tmp));
	if (r)
		return r;
	if (!card_code_ok(tmp, false))
		return fail(rd->err, rd->err_size, "%s.%s: must be %d Crockford base32 characters",
			    rd->where, key, LEDGER_CARD_CODE_LEN);
	memcpy(out, tmp, LEDGER_CARD_CODE_LEN + 1);
	return 0;
}

static int check_ok(struct reader *rd)
{
	bool ok = false;
	int r = get_bool(rd, "ok", &ok);
	if (r)
		return r;
	if (!ok)
		return fail(rd->err, rd->err_size,
			    "ok: false in an answer that should be a success");
	return 0;
}

/* ---- the push answer ---- */

static int parse_flags(const cJSON *flags, struct tsync_result *res, const char *where, char *err,
		       size_t err_size)
{
	size_t used = 0;
	if (!cJSON_IsArray(flags))
		return fail(err, err_size, "%s.flags: must be an array of codes", where);
	const cJSON *f;
	cJSON_ArrayForEach(f, flags)
	{
		if (!cJSON_IsString(f) || !f->valuestring[0] ||
		    strlen(f->valuestring) >= TSYNC_CODE_MAX || !text_ok(f->valuestring))
			return fail(err, err_size, "%s.flags: must be an array of codes", where);
		size_t n = strlen(f->valuestring);
		if (used + n + 2 > sizeof(res->flags))
			return fail(err, err_size, "%s.flags: too many", where);
		if (used)
			res->flags[used++] = ',';
		memcpy(res->flags + used, f->valuestring, n + 1);
		used += n;
	}
	return 0;
}

static int parse_result(const cJSON *o, size_t i, const struct ledger_event *sent,
			struct tsync_result *res, char *err, size_t err_size)
{
	char where[32], status[16];
	snprintf(where, sizeof(where), "results[%zu]", i);
	struct reader rd = {o, where, err, err_size};
	int r;
	memset(res, 0, sizeof(*res));
	if (!cJSON_IsObject(o))
		return fail(err, err_size, "%s: must be an object", where);
	if ((r = get_int(&rd, "seq", 1, TSYNC_INT_MAX, &res->seq)) ||
	    (r = get_hex(&rd, "event_id", res->event_id, LEDGER_EVENT_ID_LEN)) ||
	    (r = get_str(&rd, "status", true, false, status, sizeof(status))))
		return r;
	if (res->seq != sent->seq || memcmp(res->event_id, sent->event_id, LEDGER_EVENT_ID_LEN))
		return fail(err, err_size,
			    "%s: answers seq %" PRId64 ", not the event sent (seq %" PRId64 ")",
			    where, res->seq, sent->seq);
	const cJSON *flags = field(&rd, "flags", false, &r);
	if (r)
		return r;
	if (!strcmp(status, "accepted")) {
		res->status = TSYNC_ACCEPTED;
		if (flags && (r = parse_flags(flags, res, where, err, err_size)))
			return r;
	} else if (!strcmp(status, "duplicate")) {
		res->status = TSYNC_DUPLICATE;
	} else if (!strcmp(status, "rejected")) {
		res->status = TSYNC_REJECTED;
		if ((r = get_str(&rd, "code", true, false, res->code, sizeof(res->code))))
			return r;
		/* the sentence is for people: kept whole up to the room there is */
		const cJSON *m = field(&rd, "error", false, &r);
		if (r)
			return r;
		if (m && !cJSON_IsString(m))
			return fail(err, err_size, "%s.error: must be text", where);
		if (m)
			snprintf(res->message, sizeof(res->message), "%s", m->valuestring);
		if (!text_ok(res->code) || !text_ok(res->message))
			return fail(err, err_size, "%s: a control character in the rejection",
				    where);
	} else {
		return fail(err, err_size, "%s.status: must be accepted, duplicate or rejected",
			    where);
	}
	return 0;
}

int tsync_parse_push_answer(const char *text, size_t len, const char *terminal_id,
			    const struct ledger_event *sent, size_t n_sent,
			    struct tsync_push_answer *ret, char *err, size_t err_size)
{
	cJSON *root;
	char tid[LEDGER_TERMINAL_ID_MAX + 2];
	if (!ret || !terminal_id || n_sent > TSYNC_BATCH_MAX || (n_sent && !sent))
		return fail(err, err_size, "bad arguments");
	int r = parse_object(text, len, &root, err, err_size);
	if (r)
		return r;
	struct reader rd = {root, "", err, err_size};
	memset(ret, 0, offsetof(struct tsync_push_answer, results));
	if ((r = check_ok(&rd)) || (r = get_str(&rd, "terminal_id", true, false, tid, sizeof(tid))))
		goto out;
	if (strcmp(tid, terminal_id)) {
		r = fail(err, err_size, "terminal_id: the answer is for %s, not %s", tid,
			 terminal_id);
		goto out;
	}
	if ((r = get_int(&rd, "acked_seq", 0, TSYNC_INT_MAX, &ret->acked_seq)) ||
	    (r = get_int(&rd, "accepted", 0, TSYNC_BATCH_MAX, &ret->accepted)) ||
	    (r = get_int(&rd, "duplicates", 0, TSYNC_BATCH_MAX, &ret->duplicates)) ||
	    (r = get_int(&rd, "rejected", 0, TSYNC_BATCH_MAX, &ret->rejected)) ||
	    (r = get_int(&rd, "server_time_us", 1, TSYNC_INT_MAX, &ret->server_time_us)))
		goto out;
	const cJSON *results = field(&rd, "results", true, &r);
	if (r)
		goto out;
	if (!cJSON_IsArray(results) || (size_t) cJSON_GetArraySize(results) != n_sent) {
		r = fail(err, err_size,
			 "results: must be an array of one answer per event sent (%zu)", n_sent);
		goto out;
	}
	int64_t counts[3] = {0};
	size_t i = 0;
	const cJSON *o;
	ret->first_rejected = n_sent;
	ret->ack_seq = n_sent ? sent[0].seq - 1 : ret->acked_seq;
	bool prefix = true;
	cJSON_ArrayForEach(o, results)
	{
		struct tsync_result *res = &ret->results[i];
		if ((r = parse_result(o, i, &sent[i], res, err, err_size)))
			goto out;
		counts[res->status]++;
		if (res->status == TSYNC_REJECTED) {
			if (prefix)
				ret->first_rejected = i;
			prefix = false;
		} else if (prefix) {
			ret->ack_seq = res->seq;
		}
		i++;
	}
	ret->n_results = n_sent;
	if (counts[TSYNC_ACCEPTED] != ret->accepted || counts[TSYNC_DUPLICATE] != ret->duplicates ||
	    counts[TSYNC_REJECTED] != ret->rejected) {
		r = fail(err, err_size, "the counts do not match the results");
		goto out;
	}
	if (n_sent && ret->ack_seq > ret->acked_seq) {
		r = fail(err, err_size,
			 "acked_seq %" PRId64 " is below seq %" PRId64 " answered as held",
			 ret->acked_seq, ret->ack_seq);
		goto out;
	}
	for (size_t k = 1; k < n_sent; k++) {
		if (sent[k].seq != sent[k - 1].seq + 1) {
			r = fail(err, err_size, "the events sent were not in seq order");
			goto out;
		}
	}
out:
	cJSON_Delete(root);
	return r;
}

/* ---- the changes ---- */

static const char *const change_types[TSYNC_CHANGE_MAX] = {
    [TSYNC_CHANGE_MEMBER] = "member",
    [TSYNC_CHANGE_TOMBSTONE] = "tombstone",
    [TSYNC_CHANGE_REVOKED_CARD] = "revoked_card",
    [TSYNC_CHANGE_TERMINAL_KEY] = "terminal_key",
    [TSYNC_CHANGE_REVOKED_KEY] = "revoked_key",
    [TSYNC_CHANGE_CONFIG] = "config",
    [TSYNC_CHANGE_OTHER] = NULL,
};

static int get_key_id(struct reader *rd, uint32_t *ret)
{
	uint8_t b[4];
	int r = get_hex(rd, "key_id", b, sizeof(b));
	if (!r)
		*ret = (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
	return r;
}

static bool base64_ok(const char *s, size_t *ret_len)
{
	size_t n = strlen(s), pad = 0;
	if (n == 0 || n % 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum =
		    (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (c == '=') {
			if (i < n - 2)
				return false;
			pad++;
		} else if (pad || (!alnum && c != '+' && c != '/')) {
			return false;
		}
	}
	*ret_len = n;
	return true;
}

static int parse_change(const cJSON *o, size_t i, struct tsync_change *ch, char *err,
			size_t err_size)
{
	char where[32], type[24];
	snprintf(where, sizeof(where), "changes[%zu]", i);
	struct reader rd = {o, where, err, err_size};
	int r;
	memset(ch, 0, sizeof(*ch));
	if (!cJSON_IsObject(o))
		return fail(err, err_size, "%s: must be an object", where);
	if ((r = get_int(&rd, "cursor", 1, TSYNC_INT_MAX, &ch->cursor)) ||
	    (r = get_str(&rd, "type", true, false, type, sizeof(type))))
		return r;
	ch->type = TSYNC_CHANGE_OTHER;
	for (int t = 0; t < TSYNC_CHANGE_OTHER; t++)
		if (!strcmp(type, change_types[t]))
			ch->type = (enum tsync_change_type) t;
	switch (ch->type) {
	case TSYNC_CHANGE_MEMBER:
		if ((r = get_card(&rd, "card_code", ch->card_code)) ||
		    (r = get_int(&rd, "balance_pts", -TSYNC_INT_MAX, TSYNC_INT_MAX,
				 &ch->balance_pts)) ||
		    (r = get_str(&rd, "tier", true, true, ch->tier, sizeof(ch->tier))) ||
		    (r = get_int(&rd, "spend_gr", -TSYNC_INT_MAX, TSYNC_INT_MAX, &ch->spend_gr)) ||
		    (r = get_int(&rd, "updated_us", 0, TSYNC_INT_MAX, &ch->time_us)))
			return r;
		if (!text_ok(ch->tier))
			return fail(err, err_size, "%s.tier: a control character", where);
		if ((r = get_str(&rd, "first_name", false, false, ch->first_name,
				 sizeof(ch->first_name))))
			return r;
		if (ch->first_name[0]) {
			char clean[FIRST_NAME_MAX];
			const char *why;
			if (first_name_clean(ch->first_name, strlen(ch->first_name), clean, &why) < 0)
				return fail(err, err_size, "%s.first_name: %s", where, why);
			if (strcmp(clean, ch->first_name))
				return fail(err, err_size,
					    "%s.first_name: not in its clean form (spaces)", where);
		}
		return 0;
	case TSYNC_CHANGE_TOMBSTONE:
		if ((r = get_card(&rd, "card_code", ch->card_code)))
			return r;
		return get_int(&rd, "erased_us", 0, TSYNC_INT_MAX, &ch->time_us);
	case TSYNC_CHANGE_REVOKED_CARD:
		if ((r = get_card(&rd, "card_code", ch->card_code)))
			return r;
		return get_int(&rd, "revoked_us", 0, TSYNC_INT_MAX, &ch->time_us);
	case TSYNC_CHANGE_TERMINAL_KEY:
	case TSYNC_CHANGE_REVOKED_KEY:
		if ((r = get_str(&rd, "terminal_id", true, false, ch->terminal_id,
				 sizeof(ch->terminal_id))))
			return r;
		if (!ledger_terminal_id_valid(ch->terminal_id))
			return fail(err, err_size, "%s.terminal_id: must be 1 to 16 of A-Z 0-9",
				    where);
		if ((r = get_hex(&rd, "public_key", ch->public_key, TSYNC_PUBLIC_KEY_LEN)))
			return r;
		return get_key_id(&rd, &ch->key_id);
	case TSYNC_CHANGE_CONFIG: {
		if ((r = get_int(&rd, "issued_us", 0, TSYNC_INT_MAX, &ch->time_us)) ||
		    (r = get_hex(&rd, "signature", ch->signature, TSYNC_SIGNATURE_LEN)) ||
		    (r = get_hex(&rd, "public_key", ch->public_key, TSYNC_PUBLIC_KEY_LEN)) ||
		    (r = get_key_id(&rd, &ch->key_id)))
			return r;
		const cJSON *b = field(&rd, "programme_b64", true, &r);
		if (r)
			return r;
		if (!cJSON_IsString(b) || !base64_ok(b->valuestring, &ch->programme_b64_len))
			return fail(err, err_size, "%s.programme_b64: must be base64", where);
		return 0;
	}
	case TSYNC_CHANGE_OTHER:
	case TSYNC_CHANGE_MAX:
		break;
	}
	return 0;
}

static int parse_budget(const cJSON *b, struct tsync_budget *ret, char *err, size_t err_size)
{
	struct reader rd = {b, "budget", err, err_size};
	int r;
	if (!cJSON_IsObject(b))
		return fail(err, err_size, "budget: must be an object");
	if ((r = get_int(&rd, "day_start_us", 0, TSYNC_INT_MAX, &ret->day_start_us)) ||
	    (r = get_int(&rd, "day_end_us", 0, TSYNC_INT_MAX, &ret->day_end_us)) ||
	    (r = get_int(&rd, "terminal_pts", 0, TSYNC_INT_MAX, &ret->terminal_pts)) ||
	    (r = get_int(&rd, "member_cap_pts", 0, TSYNC_INT_MAX, &ret->member_cap_pts)) ||
	    (r = get_int(&rd, "max_offline_age_s", 0, TSYNC_INT_MAX, &ret->max_offline_age_s)) ||
	    (r = get_int(&rd, "redeemed_pts", 0, TSYNC_INT_MAX, &ret->redeemed_pts)) ||
	    (r = get_int(&rd, "remaining_pts", 0, TSYNC_INT_MAX, &ret->remaining_pts)) ||
	    (r = get_int(&rd, "coupon_overdraw_gr", 0, TSYNC_INT_MAX, &ret->coupon_overdraw_gr)))
		return r;
	if (ret->day_end_us <= ret->day_start_us)
		return fail(err, err_size, "budget: the day ends before it starts");
	if (ret->remaining_pts > ret->terminal_pts)
		return fail(err, err_size, "budget: more remaining than granted");
	return 0;
}

int tsync_parse_changes(const char *text, size_t len, int64_t since, size_t limit,
			struct tsync_changes *ret, char *err, size_t err_size)
{
	cJSON *root;
	if (!ret || since < 0 || limit < 1 || limit > TSYNC_PULL_MAX)
		return fail(err, err_size, "bad arguments");
	int r = parse_object(text, len, &root, err, err_size);
	if (r)
		return r;
	struct reader rd = {root, "", err, err_size};
	ret->n = 0;
	ret->config_index = -1;
	ret->programme_len = 0;
	if ((r = check_ok(&rd)) || (r = get_int(&rd, "cursor", 0, TSYNC_INT_MAX, &ret->cursor)) ||
	    (r = get_bool(&rd, "more", &ret->more)) ||
	    (r = get_int(&rd, "server_time_us", 1, TSYNC_INT_MAX, &ret->server_time_us)))
		goto out;
	const cJSON *b = field(&rd, "budget", true, &r);
	if (r || (r = parse_budget(b, &ret->budget, err, err_size)))
		goto out;
	const cJSON *list = field(&rd, "changes", true, &r);
	if (r)
		goto out;
	if (!cJSON_IsArray(list) || (size_t) cJSON_GetArraySize(list) > limit) {
		r = fail(err, err_size, "changes: must be an array of at most %zu changes", limit);
		goto out;
	}
	int64_t last = since;
	const cJSON *o;
	cJSON_ArrayForEach(o, list)
	{
		struct tsync_change *ch = &ret->changes[ret->n];
		if ((r = parse_change(o, ret->n, ch, err, err_size)))
			goto out;
		if (ch->cursor <= last) {
			r = fail(err, err_size,
				 "changes[%zu].cursor: %" PRId64 " does not follow %" PRId64,
				 ret->n, ch->cursor, last);
			goto out;
		}
		last = ch->cursor;
		/* the programme's bytes, decoded: the latest config of the page is the one kept */
		if (ch->type == TSYNC_CHANGE_CONFIG) {
			const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(o, "programme_b64");
			if (sodium_base642bin(ret->programme, sizeof(ret->programme), b64->valuestring,
					      ch->programme_b64_len, NULL, &ret->programme_len, NULL,
					      sodium_base64_VARIANT_ORIGINAL) != 0 ||
			    ret->programme_len == 0) {
				r = fail(err, err_size,
					 "changes[%zu].programme_b64: not base64 of 1 to %d bytes",
					 ret->n, PROGRAMME_TEXT_MAX);
				goto out;
			}
			ret->config_index = (int64_t) ret->n;
		}
		ret->n++;
	}
	if (ret->cursor != last) {
		r = fail(err, err_size, "cursor: %" PRId64 ", but the last change is at %" PRId64,
			 ret->cursor, last);
		goto out;
	}
	if (ret->more && ret->n == 0) {
		r = fail(err, err_size, "more: true on an empty page");
		goto out;
	}
out:
	cJSON_Delete(root);
	return r;
}

int tsync_config_check(const struct tsync_change *ch, const uint8_t *programme, size_t len,
		       const uint8_t config_key[TSYNC_PUBLIC_KEY_LEN])
{
	if (!ch || ch->type != TSYNC_CHANGE_CONFIG || !programme || !len || !config_key)
		return -EINVAL;
	if (sodium_memcmp(ch->public_key, config_key, TSYNC_PUBLIC_KEY_LEN) != 0)
		return -EKEYREJECTED;
	size_t n;
	uint8_t *msg = programme_sig_message(ch->time_us, programme, len, &n);
	if (!msg)
		return -ENOMEM;
	int ok = crypto_sign_verify_detached(ch->signature, msg, n, config_key) == 0;
	free(msg);
	return ok ? 0 : -EBADMSG;
}

/* ---- registration and errors ---- */

static bool pem_ok(const char *s)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	if (strncmp(s, begin, sizeof(begin) - 1) || !strstr(s, "-----END CERTIFICATE-----"))
		return false;
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\r') || *p >= 0x7f)
			return false;
	return true;
}

int tsync_parse_register_answer(const char *text, size_t len, struct tsync_register_answer *ret,
				char *err, size_t err_size)
{
	cJSON *root;
	if (!ret)
		return fail(err, err_size, "bad arguments");
	int r = parse_object(text, len, &root, err, err_size);
	if (r)
		return r;
	struct reader rd = {root, "", err, err_size};
	memset(ret, 0, sizeof(*ret));
	if ((r = check_ok(&rd)) ||
	    (r = get_str(&rd, "terminal_id", true, false, ret->terminal_id,
			 sizeof(ret->terminal_id))) ||
	    (r = get_str(&rd, "certificate", true, false, ret->certificate,
			 sizeof(ret->certificate))) ||
	    (r = get_str(&rd, "ca_certificate", true, false, ret->ca_certificate,
			 sizeof(ret->ca_certificate))) ||
	    (r = get_int(&rd, "server_time_us", 1, TSYNC_INT_MAX, &ret->server_time_us)))
		goto out;
	if (!ledger_terminal_id_valid(ret->terminal_id)) {
		r = fail(err, err_size, "terminal_id: must be 1 to 16 of A-Z 0-9");
		goto out;
	}
	if (!pem_ok(ret->certificate) || !pem_ok(ret->ca_certificate)) {
		r = fail(err, err_size, "certificate, ca_certificate: must be PEM certificates");
		goto out;
	}
	const cJSON *ck = field(&rd, "config_key", false, &r);
	if (r)
		goto out;
	if (ck) {
		if ((r = get_hex(&rd, "config_key", ret->config_key, TSYNC_PUBLIC_KEY_LEN)))
			goto out;
		ret->has_config_key = true;
	}
out:
	cJSON_Delete(root);
	return r;
}

int tsync_parse_error(const char *text, size_t len, char code[TSYNC_CODE_MAX],
		      char message[TSYNC_MESSAGE_MAX])
{
	cJSON *root;
	code[0] = message[0] = '\0';
	if (parse_object(text, len, &root, NULL, 0) < 0)
		return -EBADMSG;
	bool repeated = false;
	const cJSON *ok = member(root, "ok", &repeated);
	const cJSON *e = member(root, "error", &repeated);
	const cJSON *c = cJSON_IsObject(e) ? member(e, "code", &repeated) : NULL;
	const cJSON *m = cJSON_IsObject(e) ? member(e, "message", &repeated) : NULL;
	int r = -EBADMSG;
	if (!repeated && cJSON_IsFalse(ok) && cJSON_IsString(c) && c->valuestring[0] &&
	    strlen(c->valuestring) < TSYNC_CODE_MAX && text_ok(c->valuestring) &&
	    (!m || (cJSON_IsString(m) && text_ok(m->valuestring)))) {
		snprintf(code, TSYNC_CODE_MAX, "%s", c->valuestring);
		snprintf(message, TSYNC_MESSAGE_MAX, "%s", m ? m->valuestring : "");
		r = 0;
	}
	cJSON_Delete(root);
	return r;
}

int64_t tsync_backoff_ms(unsigned attempt, uint32_t random)
{
	int64_t d = TSYNC_BACKOFF_BASE_MS;
	for (unsigned i = 1; i < attempt && d < TSYNC_BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > TSYNC_BACKOFF_CAP_MS)
		d = TSYNC_BACKOFF_CAP_MS;
	/* full range [d/2, d]: half fixed so a retry is never immediate */
	return d / 2 + (int64_t) (random % (uint32_t) (d / 2 + 1));
}
