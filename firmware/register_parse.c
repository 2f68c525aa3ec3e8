/* register_parse: the register API's request bodies (cJSON), checked field by field. */
#include "register_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "money.h"

static int fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool whole_number(const cJSON *v, int64_t min, int64_t max, int64_t *ret)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < (double) min || v->valuedouble > (double) max ||
	    v->valuedouble != (double) (int64_t) v->valuedouble)
		return false;
	*ret = (int64_t) v->valuedouble;
	return true;
}

static int only_keys(const cJSON *obj, const char *where, const char *const *keys, char *err,
		     size_t err_size)
{
	for (const cJSON *it = obj->child; it; it = it->next) {
		bool ok = false;
		for (const char *const *k = keys; *k && !ok; k++)
			ok = !strcmp(it->string, *k);
		if (!ok)
			return fail(err, err_size, "%s%s%.40s: unknown field", where,
				    where[0] ? "." : "", it->string);
	}
	return 0;
}

static int parse_line(const cJSON *l, const char *where, struct rules_line *out, char *err,
		      size_t err_size)
{
	static const char *const keys[] = {"sku",      "category",  "qty", "unit_gr",
					   "tax_free", "gift_card", NULL};
	int64_t v;
	int r;
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(l))
		return fail(err, err_size, "%s: must be an object", where);
	if ((r = only_keys(l, where, keys, err, err_size)) < 0)
		return r;
	static const char *const names[2] = {"sku", "category"};
	char *dst[2] = {out->sku, out->category};
	for (int i = 0; i < 2; i++) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(l, names[i]);
		if (!s)
			continue;
		if (!cJSON_IsString(s) || strlen(s->valuestring) > PROGRAMME_ID_MAX)
			return fail(err, err_size,
				    "%s.%s: must be a string of at most %d characters", where,
				    names[i], PROGRAMME_ID_MAX);
		memcpy(dst[i], s->valuestring, strlen(s->valuestring) + 1);
	}
	if (!whole_number(cJSON_GetObjectItemCaseSensitive(l, "qty"), 1, RULES_QTY_MAX, &v))
		return fail(err, err_size, "%s.qty: must be a whole number from 1 to %d", where,
			    RULES_QTY_MAX);
	out->qty = (int32_t) v;
	if (!whole_number(cJSON_GetObjectItemCaseSensitive(l, "unit_gr"), 0, MONEY_MAX_GR,
			  &out->unit_gr))
		return fail(err, err_size, "%s.unit_gr: must be whole grosze from 0 to %" PRId64,
			    where, (int64_t) MONEY_MAX_GR);
	static const char *const flags[2] = {"tax_free", "gift_card"};
	bool *fdst[2] = {&out->tax_free, &out->gift_card};
	for (int i = 0; i < 2; i++) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(l, flags[i]);
		if (b && !cJSON_IsBool(b))
			return fail(err, err_size, "%s.%s: must be true or false", where, flags[i]);
		*fdst[i] = cJSON_IsTrue(b);
	}
	return 0;
}

static int parse_lines(const cJSON *arr, struct rules_line *lines, size_t *ret_n, char *err,
		       size_t err_size)
{
	size_t n = 0;
	int r;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
	    cJSON_GetArraySize(arr) > RULES_LINES_MAX)
		return fail(err, err_size, "lines: must be an array of 1 to %d lines",
			    RULES_LINES_MAX);
	const cJSON *l;
	cJSON_ArrayForEach(l, arr)
	{
		char where[32];
		snprintf(where, sizeof(where), "lines[%zu]", n);
		if ((r = parse_line(l, where, &lines[n], err, err_size)) < 0)
			return r;
		n++;
	}
	*ret_n = n;
	return 0;
}

static cJSON *parse_object(const char *text, size_t len, char *err, size_t err_size)
{
	if (!len) {
		fail(err, err_size, "the request needs a JSON object body");
		return NULL;
	}
	cJSON *o = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		fail(err, err_size, "the body is not a JSON object");
		return NULL;
	}
	return o;
}

int reg_parse_sale(const char *text, size_t len, struct reg_sale_body *ret, char *err,
		   size_t err_size)
{
	static const char *const keys[] = {"total_gr", "lines", NULL};
	cJSON *o = parse_object(text, len, err, err_size);
	if (!o)
		return -EINVAL;
	const cJSON *total = cJSON_GetObjectItemCaseSensitive(o, "total_gr");
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(o, "lines");
	int r = only_keys(o, "", keys, err, err_size);
	ret->total_gr = 0;
	ret->n_lines = 0;
	if (r == 0 && total && !whole_number(total, 1, MONEY_MAX_GR, &ret->total_gr))
		r = fail(err, err_size, "total_gr: must be whole grosze from 1 to %" PRId64,
			 (int64_t) MONEY_MAX_GR);
	if (r == 0 && !total && !lines)
		r = fail(err, err_size, "lines: missing (or give total_gr)");
	if (r == 0 && lines)
		r = parse_lines(lines, ret->lines, &ret->n_lines, err, err_size);
	cJSON_Delete(o);
	return r;
}

int reg_parse_answer(const char *text, size_t len, struct reg_answer_body *ret, char *err,
		     size_t err_size)
{
	static const char *const keys[] = {"redeem_pts", "coupon", NULL};
	cJSON *o = parse_object(text, len, err, err_size);
	if (!o)
		return -EINVAL;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "redeem_pts");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "coupon");
	int r = only_keys(o, "", keys, err, err_size);
	memset(ret, 0, sizeof(*ret));
	if (r == 0 && p) {
		if (cJSON_IsString(p) && !strcmp(p->valuestring, "max"))
			ret->redeem_pts = -1;
		else if (!whole_number(p, 0, INT64_C(1000000000000), &ret->redeem_pts))
			r = fail(err, err_size,
				 "redeem_pts: must be whole points from 0, or \"max\"");
	}
	if (r == 0 && k && !cJSON_IsNull(k)) {
		if (!cJSON_IsString(k) || !k->valuestring[0] ||
		    strlen(k->valuestring) > RULES_COUPON_ID_MAX)
			r = fail(err, err_size, "coupon: must be a coupon code, \"auto\" or null");
		else {
			memcpy(ret->coupon, k->valuestring, strlen(k->valuestring) + 1);
			ret->coupon_set = true;
		}
	}
	cJSON_Delete(o);
	return r;
}

int reg_parse_refund(const char *text, size_t len, struct reg_refund_body *ret, char *err,
		     size_t err_size)
{
	static const char *const keys[] = {"receipt", "whole", "amount_gr", "lines", NULL};
	cJSON *o = parse_object(text, len, err, err_size);
	if (!o)
		return -EINVAL;
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(o, "receipt");
	const cJSON *whole = cJSON_GetObjectItemCaseSensitive(o, "whole");
	const cJSON *amount = cJSON_GetObjectItemCaseSensitive(o, "amount_gr");
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(o, "lines");
	int r = only_keys(o, "", keys, err, err_size);
	ret->receipt[0] = '\0';
	ret->whole = false;
	ret->amount_gr = 0;
	ret->n_lines = 0;
	if (r == 0 && (!cJSON_IsString(rc) || !rc->valuestring[0] ||
		       strlen(rc->valuestring) > LEDGER_RECEIPT_NO_MAX))
		r = fail(err, err_size, "receipt: must be the receipt number of the sale");
	if (r == 0)
		memcpy(ret->receipt, rc->valuestring, strlen(rc->valuestring) + 1);
	if (r == 0 && whole && !cJSON_IsBool(whole))
		r = fail(err, err_size, "whole: must be true or false");
	ret->whole = cJSON_IsTrue(whole);
	if (r == 0 && (int) ret->whole + (amount != NULL) + (lines != NULL) != 1)
		r = fail(err, err_size, "give exactly one of whole, amount_gr and lines");
	if (r == 0 && amount && !whole_number(amount, 1, MONEY_MAX_GR, &ret->amount_gr))
		r = fail(err, err_size, "amount_gr: must be whole grosze from 1 to %" PRId64,
			 (int64_t) MONEY_MAX_GR);
	if (r == 0 && lines)
		r = parse_lines(lines, ret->lines, &ret->n_lines, err, err_size);
	cJSON_Delete(o);
	return r;
}
