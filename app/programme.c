/* programme: the programme configuration, parsed from JSON (cJSON) and validated. */
#include "programme.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#define MAX_SAFE_INT INT64_C(9007199254740992) /* 2^53: every whole double up to it is exact */
#define GR_MAX	     INT64_C(100000000000)     /* 1 000 000 000 PLN: far above any rule */
#define PTS_MAX	     INT64_C(1000000000)

struct ctx {
	char *err;
	size_t err_size;
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct ctx *c, const char *fmt, ...)
{
	if (c->err && c->err_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err, c->err_size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The keys of segments.messages, in the order of enum segment_kind (segment.h). */
static const char *const segment_keys[PROGRAMME_SEGMENTS_MAX + 1] = {"new", "returning", "vip",
								     "dormant", NULL};
static const char *const lang_keys[PROGRAMME_LANG_MAX + 1] = {"pl", "en", NULL};

/*
 * Defaults for a bakery or a small shop chain, where regulars come weekly or more often and a
 * basket is some 20 zł: recency 5 within a week, 4 within two, 3 within a month, 2 within two
 * months; frequency 2 from the second visit, 3 from 5, 4 from 12, 5 from 30 (weekly for over
 * half a year); monetary 2 from 50 zł, 3 from 200 zł, 4 from 500 zł, 5 from 1000 zł lifetime.
 */
static void segments_default(struct programme_segments *s)
{
	static const char *const msg[PROGRAMME_SEGMENTS_MAX][PROGRAMME_LANG_MAX] = {
	    {"Cieszymy się, że do nas dołączasz!", "We are glad you joined us!"},
	    {"Dziękujemy, że jesteś z nami.", "Thank you for staying with us."},
	    {"Jesteś jednym z naszych najwierniejszych klientów. Dziękujemy!",
	     "You are one of our most loyal customers. Thank you!"},
	    {"Stęskniliśmy się! Dziękujemy, że do nas wracasz.",
	     "We missed you! Thank you for coming back."},
	};
	static const int32_t recency[PROGRAMME_RFM_BREAKS] = {7, 14, 30, 60};
	static const int64_t frequency[PROGRAMME_RFM_BREAKS] = {2, 5, 12, 30};
	static const int64_t monetary[PROGRAMME_RFM_BREAKS] = {5000, 20000, 50000, 100000};

	s->dormant_days = 90;
	s->vip_top_tier = true;
	s->vip_rfm = true;
	s->vip_min_recency = 4;
	s->vip_min_frequency = 5;
	s->vip_min_monetary = 5;
	for (size_t i = 0; i < PROGRAMME_RFM_BREAKS; i++) {
		s->recency_days[i] = recency[i];
		s->frequency_visits[i] = frequency[i];
		s->monetary_gr[i] = monetary[i];
	}
	for (size_t k = 0; k < PROGRAMME_SEGMENTS_MAX; k++)
		for (size_t l = 0; l < PROGRAMME_LANG_MAX; l++)
			snprintf(s->message[k][l], sizeof(s->message[k][l]), "%s", msg[k][l]);
}

void programme_default(struct programme *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->version = PROGRAMME_VERSION;
	snprintf(ret->id, sizeof(ret->id), "default-1");
	snprintf(ret->terms_url, sizeof(ret->terms_url), "https://loyalty.example/terms/default-1");
	ret->earn_gr_per_point = 100;
	ret->welcome_pts = 50;
	ret->birthday_pts = 100;
	ret->referral_referrer_pts = 50;
	ret->referral_referred_pts = 50;
	ret->survey_pts = 20;
	static const struct {
		const char *name;
		int64_t threshold_gr;
		int32_t permille;
	} tiers[] = {{"Silver", 0, 1000}, {"Gold", 100000, 1250}, {"Platinum", 300000, 1500}};
	/* field by field on the zeroed struct, so padding stays zero and memcmp() compares */
	for (size_t i = 0; i < 3; i++) {
		snprintf(ret->tiers[i].name, sizeof(ret->tiers[i].name), "%s", tiers[i].name);
		ret->tiers[i].threshold_gr = tiers[i].threshold_gr;
		ret->tiers[i].permille = tiers[i].permille;
	}
	ret->n_tiers = 3;
	ret->tier_window_days = 365;
	snprintf(ret->stamps[0].id, sizeof(ret->stamps[0].id), "stamps-coffee");
	snprintf(ret->stamps[0].category, sizeof(ret->stamps[0].category), "coffee");
	ret->stamps[0].every = 10;
	ret->n_stamps = 1;
	struct programme_coupon_rule *fp = &ret->first_purchase, *re = &ret->reactivation;
	fp->enabled = re->enabled = true;
	fp->percent_bp = re->percent_bp = 1000;
	fp->min_basket_gr = re->min_basket_gr = 5000;
	fp->valid_days = re->valid_days = 30;
	fp->combinable = re->combinable = false;
	fp->daily_cap = 0;
	re->daily_cap = 50;
	re->dormant_days = 90;
	ret->coupon_member_interval_days = 7;
	ret->expiry_months = 12;
	ret->redeem_unit_pts = 100;
	ret->redeem_unit_gr = 1000;
	ret->redeem_min_pts = 100;
	ret->redeem_max_basket_bp = 5000;
	ret->donation_enabled = true;
	snprintf(ret->donation_cause, sizeof(ret->donation_cause), "local-food-bank");
	ret->donation_min_pts = 10;
	ret->refund_policy = PROGRAMME_REFUND_RECREDIT;
	ret->offline_terminal_budget_pts = 20000;
	ret->offline_member_cap_pts = 1000;
	ret->offline_max_age_s = 72 * 3600;
	segments_default(&ret->segments);
}

size_t programme_tier_for(const struct programme *p, int64_t spend_gr)
{
	size_t t = 0;
	for (size_t i = 1; i < p->n_tiers; i++)
		if (spend_gr >= p->tiers[i].threshold_gr)
			t = i;
	return t;
}

/* ---- helpers: each names the field as where.key ---- */

static void join(char *buf, size_t size, const char *where, const char *key)
{
	snprintf(buf, size, "%s%s%s", where, *where ? "." : "", key);
}

static int only_keys(struct ctx *c, const cJSON *obj, const char *where, const char *const *keys)
{
	for (const cJSON *it = obj->child; it; it = it->next) {
		bool known = false;
		for (const char *const *k = keys; *k && !known; k++)
			known = strcmp(it->string, *k) == 0;
		if (!known) {
			char f[96];
			join(f, sizeof(f), where, it->string);
			return fail(c, "%s: unknown key", f);
		}
	}
	return 0;
}

/* A whole number in [min, max]; absent: *out unchanged unless required. */
static int get_int(struct ctx *c, const cJSON *obj, const char *where, const char *key,
		   bool required, int64_t min, int64_t max, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char f[96];
	join(f, sizeof(f), where, key);
	if (!v)
		return required ? fail(c, "%s: missing", f) : 0;
	if (!cJSON_IsNumber(v))
		return fail(c, "%s: must be a number", f);
	double d = v->valuedouble;
	if (!(d >= -(double) MAX_SAFE_INT && d <= (double) MAX_SAFE_INT) ||
	    (double) (int64_t) d != d)
		return fail(c, "%s: must be a whole number", f);
	int64_t n = (int64_t) d;
	if (n < min || n > max)
		return fail(c, "%s: must be from %lld to %lld", f, (long long) min,
			    (long long) max);
	*out = n;
	return 0;
}

static int get_i32(struct ctx *c, const cJSON *obj, const char *where, const char *key,
		   bool required, int64_t min, int64_t max, int32_t *out)
{
	int64_t v = *out;
	int r = get_int(c, obj, where, key, required, min, max, &v);
	if (r == 0)
		*out = (int32_t) v;
	return r;
}

static int get_bool(struct ctx *c, const cJSON *obj, const char *where, const char *key, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	if (!cJSON_IsBool(v)) {
		char f[96];
		join(f, sizeof(f), where, key);
		return fail(c, "%s: must be true or false", f);
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

/* A string of 1..size-1 printable ASCII characters without spaces (ids) or any (free text). */
static int get_str(struct ctx *c, const cJSON *obj, const char *where, const char *key,
		   bool required, bool id, char *out, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char f[96];
	join(f, sizeof(f), where, key);
	if (!v)
		return required ? fail(c, "%s: missing", f) : 0;
	if (!cJSON_IsString(v))
		return fail(c, "%s: must be a string", f);
	size_t n = strlen(v->valuestring);
	if (n == 0)
		return fail(c, "%s: must not be empty", f);
	if (n >= size)
		return fail(c, "%s: longer than %zu characters", f, size - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char) v->valuestring[i];
		if (ch < 0x20 || ch == 0x7f || (id && (ch > 0x7e || ch == ' ')))
			return fail(c, "%s: %s", f,
				    id ? "only letters, digits and punctuation, no spaces"
				       : "must not hold control characters");
	}
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

/* Length of the valid UTF-8 sequence at s (a scalar value, shortest form), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		unsigned lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		unsigned lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80
			   ? 4
			   : 0;
	}
	return 0;
}

/*
 * Free text for people (a receipt message): 0..size-1 bytes of valid UTF-8 without control
 * characters (C0, DEL, C1). Empty is allowed and means "none".
 */
static int get_text(struct ctx *c, const cJSON *obj, const char *where, const char *key, char *out,
		    size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char f[96];
	join(f, sizeof(f), where, key);
	if (!v)
		return 0;
	if (!cJSON_IsString(v))
		return fail(c, "%s: must be a string", f);
	const unsigned char *t = (const unsigned char *) v->valuestring;
	size_t n = strlen(v->valuestring);
	if (n >= size)
		return fail(c, "%s: longer than %zu bytes", f, size - 1);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(t + i);
		if (k == 0)
			return fail(c, "%s: must be valid UTF-8", f);
		if (t[i] < 0x20 || t[i] == 0x7f || (t[i] == 0xc2 && t[i + 1] < 0xa0))
			return fail(c, "%s: must not hold control characters", f);
		i += k;
	}
	memset(out, 0, size); /* the whole field, so equal programmes compare equal */
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

/* The object at key, checked for its keys; *out NULL when absent. */
static int get_obj(struct ctx *c, const cJSON *obj, const char *where, const char *key,
		   const char *const *keys, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char f[96];
	join(f, sizeof(f), where, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return fail(c, "%s: must be an object", f);
	*out = v;
	return only_keys(c, v, f, keys);
}

static int get_array(struct ctx *c, const cJSON *obj, const char *where, const char *key,
		     size_t max, const cJSON **out, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char f[96];
	join(f, sizeof(f), where, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return fail(c, "%s: must be an array", f);
	size_t k = 0;
	for (const cJSON *it = v->child; it; it = it->next)
		if (++k > max)
			return fail(c, "%s: more than %zu entries", f, max);
	*out = v;
	*n = k;
	return 0;
}

/* ---- sections ---- */

static int parse_multipliers(struct ctx *c, const cJSON *arr, struct programme *p)
{
	static const char *const keys[] = {"id", "category", "sku", "permille", NULL};
	size_t i = 0;
	int r;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		struct programme_multiplier *m = &p->multipliers[i];
		char w[48];
		snprintf(w, sizeof(w), "earn.multipliers[%zu]", i);
		memset(m, 0, sizeof(*m));
		if (!cJSON_IsObject(it))
			return fail(c, "%s: must be an object", w);
		if ((r = only_keys(c, it, w, keys)) < 0 ||
		    (r = get_str(c, it, w, "id", true, true, m->id, sizeof(m->id))) < 0 ||
		    (r = get_str(c, it, w, "category", false, true, m->category,
				 sizeof(m->category))) < 0 ||
		    (r = get_str(c, it, w, "sku", false, true, m->sku, sizeof(m->sku))) < 0 ||
		    (r = get_i32(c, it, w, "permille", true, 1001, PROGRAMME_PERMILLE_MAX,
				 &m->permille)) < 0)
			return r;
		if (!m->category[0] == !m->sku[0])
			return fail(c, "%s: needs exactly one of category and sku", w);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->multipliers[j].id, m->id) == 0)
				return fail(c, "%s.id: '%s' is also earn.multipliers[%zu].id", w,
					    m->id, j);
	}
	p->n_multipliers = i;
	return 0;
}

static int parse_promos(struct ctx *c, const cJSON *arr, struct programme *p)
{
	static const char *const keys[] = {"id",	  "category",  "permille",
					   "start_us",	  "end_us",    "weekdays",
					   "from_minute", "to_minute", NULL};
	size_t i = 0;
	int r;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		struct programme_promo *m = &p->promos[i];
		char w[48];
		snprintf(w, sizeof(w), "earn.promotions[%zu]", i);
		memset(m, 0, sizeof(*m));
		m->to_minute = 1440;
		int32_t from = 0, to = 1440;
		if (!cJSON_IsObject(it))
			return fail(c, "%s: must be an object", w);
		if ((r = only_keys(c, it, w, keys)) < 0 ||
		    (r = get_str(c, it, w, "id", true, true, m->id, sizeof(m->id))) < 0 ||
		    (r = get_str(c, it, w, "category", false, true, m->category,
				 sizeof(m->category))) < 0 ||
		    (r = get_i32(c, it, w, "permille", true, 1001, PROGRAMME_PERMILLE_MAX,
				 &m->permille)) < 0 ||
		    (r = get_int(c, it, w, "start_us", false, 0, MAX_SAFE_INT, &m->start_us)) < 0 ||
		    (r = get_int(c, it, w, "end_us", false, 0, MAX_SAFE_INT, &m->end_us)) < 0 ||
		    (r = get_i32(c, it, w, "from_minute", false, 0, 1439, &from)) < 0 ||
		    (r = get_i32(c, it, w, "to_minute", false, 1, 1440, &to)) < 0)
			return r;
		if ((m->start_us == 0) != (m->end_us == 0))
			return fail(c, "%s: start_us and end_us go together", w);
		if (m->end_us && m->end_us <= m->start_us)
			return fail(c, "%s.end_us: must be after %s.start_us", w, w);
		if (to <= from)
			return fail(c, "%s.to_minute: must be after %s.from_minute", w, w);
		m->from_minute = (int16_t) from;
		m->to_minute = (int16_t) to;
		const cJSON *days;
		size_t nd = 0;
		if ((r = get_array(c, it, w, "weekdays", 7, &days, &nd)) < 0)
			return r;
		if (days) {
			size_t k = 0;
			for (const cJSON *d = days->child; d; d = d->next, k++) {
				if (!cJSON_IsNumber(d) || d->valuedouble < 0 ||
				    d->valuedouble > 6 ||
				    (double) (int) d->valuedouble != d->valuedouble)
					return fail(c, "%s.weekdays[%zu]: must be 0 (Sunday) to 6",
						    w, k);
				m->weekdays |= (uint8_t) (1u << (int) d->valuedouble);
			}
			if (!m->weekdays)
				return fail(c, "%s.weekdays: must not be empty", w);
		}
		if (!m->weekdays && (from != 0 || to != 1440))
			return fail(c, "%s: from_minute and to_minute need weekdays", w);
		if (!m->weekdays && !m->start_us)
			return fail(c, "%s: needs start_us/end_us or weekdays", w);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->promos[j].id, m->id) == 0)
				return fail(c, "%s.id: '%s' is also earn.promotions[%zu].id", w,
					    m->id, j);
	}
	p->n_promos = i;
	return 0;
}

static int parse_tiers(struct ctx *c, const cJSON *arr, size_t n, struct programme *p)
{
	static const char *const keys[] = {"name", "threshold_gr", "permille", NULL};
	size_t i = 0;
	int r;
	if (n == 0)
		return fail(c, "tiers: needs at least one tier");
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		struct programme_tier *t = &p->tiers[i];
		char w[32];
		snprintf(w, sizeof(w), "tiers[%zu]", i);
		memset(t, 0, sizeof(*t));
		if (!cJSON_IsObject(it))
			return fail(c, "%s: must be an object", w);
		if ((r = only_keys(c, it, w, keys)) < 0 ||
		    (r = get_str(c, it, w, "name", true, false, t->name, sizeof(t->name))) < 0 ||
		    (r = get_int(c, it, w, "threshold_gr", true, 0, GR_MAX, &t->threshold_gr)) <
			0 ||
		    (r = get_i32(c, it, w, "permille", true, 1000, PROGRAMME_PERMILLE_MAX,
				 &t->permille)) < 0)
			return r;
		if (i == 0 && t->threshold_gr != 0)
			return fail(c,
				    "tiers[0].threshold_gr: must be 0 (every member has a tier)");
		if (i > 0 && t->threshold_gr <= p->tiers[i - 1].threshold_gr)
			return fail(c, "tiers[%zu].threshold_gr: must be > tiers[%zu].threshold_gr",
				    i, i - 1);
		if (i > 0 && t->permille < p->tiers[i - 1].permille)
			return fail(c, "tiers[%zu].permille: must be >= tiers[%zu].permille", i,
				    i - 1);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->tiers[j].name, t->name) == 0)
				return fail(c, "tiers[%zu].name: '%s' is also tiers[%zu].name", i,
					    t->name, j);
	}
	p->n_tiers = i;
	return 0;
}

static int parse_stamps(struct ctx *c, const cJSON *arr, struct programme *p)
{
	static const char *const keys[] = {"id", "category", "every", NULL};
	size_t i = 0;
	int r;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		struct programme_stamp_card *s = &p->stamps[i];
		char w[32];
		snprintf(w, sizeof(w), "stamps[%zu]", i);
		memset(s, 0, sizeof(*s));
		if (!cJSON_IsObject(it))
			return fail(c, "%s: must be an object", w);
		if ((r = only_keys(c, it, w, keys)) < 0 ||
		    (r = get_str(c, it, w, "id", true, true, s->id, sizeof(s->id))) < 0 ||
		    (r = get_str(c, it, w, "category", true, true, s->category,
				 sizeof(s->category))) < 0 ||
		    (r = get_i32(c, it, w, "every", true, 2, 100, &s->every)) < 0)
			return r;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->stamps[j].id, s->id) == 0)
				return fail(c, "%s.id: '%s' is also stamps[%zu].id", w, s->id, j);
			if (strcmp(p->stamps[j].category, s->category) == 0)
				return fail(c, "%s.category: '%s' already has stamps[%zu]", w,
					    s->category, j);
		}
	}
	p->n_stamps = i;
	return 0;
}

static int parse_coupon(struct ctx *c, const cJSON *o, const char *w, bool reactivation,
			struct programme_coupon_rule *cr)
{
	int r;
	if ((r = get_bool(c, o, w, "enabled", &cr->enabled)) < 0 ||
	    (r = get_i32(c, o, w, "percent_bp", false, 1, 10000, &cr->percent_bp)) < 0 ||
	    (r = get_int(c, o, w, "min_basket_gr", false, 0, GR_MAX, &cr->min_basket_gr)) < 0 ||
	    (r = get_i32(c, o, w, "valid_days", false, 1, 3660, &cr->valid_days)) < 0 ||
	    (r = get_bool(c, o, w, "combinable", &cr->combinable)) < 0 ||
	    (r = get_i32(c, o, w, "daily_cap", false, 0, 1000000, &cr->daily_cap)) < 0)
		return r;
	if (reactivation &&
	    (r = get_i32(c, o, w, "dormant_days", false, 1, 3660, &cr->dormant_days)) < 0)
		return r;
	return 0;
}

/*
 * An array of exactly PROGRAMME_RFM_BREAKS whole numbers in [min, max], strictly ascending;
 * absent: out unchanged.
 */
static int get_breaks(struct ctx *c, const cJSON *obj, const char *where, const char *key,
		      int64_t min, int64_t max, int64_t out[PROGRAMME_RFM_BREAKS])
{
	const cJSON *arr;
	size_t n = 0;
	char f[96];
	int r;
	join(f, sizeof(f), where, key);
	if ((r = get_array(c, obj, where, key, PROGRAMME_RFM_BREAKS, &arr, &n)) < 0)
		return r;
	if (!arr)
		return 0;
	if (n != PROGRAMME_RFM_BREAKS)
		return fail(c, "%s: must have %d entries", f, PROGRAMME_RFM_BREAKS);
	int64_t v[PROGRAMME_RFM_BREAKS];
	size_t i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		char w[112];
		snprintf(w, sizeof(w), "%s[%zu]", f, i);
		if (!cJSON_IsNumber(it))
			return fail(c, "%s: must be a number", w);
		double d = it->valuedouble;
		if (!(d >= -(double) MAX_SAFE_INT && d <= (double) MAX_SAFE_INT) ||
		    (double) (int64_t) d != d)
			return fail(c, "%s: must be a whole number", w);
		v[i] = (int64_t) d;
		if (v[i] < min || v[i] > max)
			return fail(c, "%s: must be from %lld to %lld", w, (long long) min,
				    (long long) max);
		if (i > 0 && v[i] <= v[i - 1])
			return fail(c, "%s: must be > %s[%zu]", w, f, i - 1);
	}
	memcpy(out, v, sizeof(v));
	return 0;
}

static int parse_segments(struct ctx *c, const cJSON *o, struct programme_segments *s)
{
	static const char *const vip_keys[] = {"top_tier",	"rfm",		"min_recency",
					       "min_frequency", "min_monetary", NULL};
	static const char *const rfm_keys[] = {"recency_days", "frequency_visits", "monetary_gr",
					       NULL};
	const cJSON *v, *m;
	int64_t rec[PROGRAMME_RFM_BREAKS];
	int r;

	if ((r = get_i32(c, o, "segments", "dormant_days", false, 1, 3660, &s->dormant_days)) < 0 ||
	    (r = get_obj(c, o, "segments", "vip", vip_keys, &v)) < 0 ||
	    (v && ((r = get_bool(c, v, "segments.vip", "top_tier", &s->vip_top_tier)) < 0 ||
		   (r = get_bool(c, v, "segments.vip", "rfm", &s->vip_rfm)) < 0 ||
		   (r = get_i32(c, v, "segments.vip", "min_recency", false, 1, 5,
				&s->vip_min_recency)) < 0 ||
		   (r = get_i32(c, v, "segments.vip", "min_frequency", false, 1, 5,
				&s->vip_min_frequency)) < 0 ||
		   (r = get_i32(c, v, "segments.vip", "min_monetary", false, 1, 5,
				&s->vip_min_monetary)) < 0)))
		return r;

	if ((r = get_obj(c, o, "segments", "rfm", rfm_keys, &v)) < 0)
		return r;
	if (v) {
		for (size_t i = 0; i < PROGRAMME_RFM_BREAKS; i++)
			rec[i] = s->recency_days[i];
		if ((r = get_breaks(c, v, "segments.rfm", "recency_days", 1, 3660, rec)) < 0 ||
		    (r = get_breaks(c, v, "segments.rfm", "frequency_visits", 1, 1000000,
				    s->frequency_visits)) < 0 ||
		    (r = get_breaks(c, v, "segments.rfm", "monetary_gr", 1, GR_MAX,
				    s->monetary_gr)) < 0)
			return r;
		for (size_t i = 0; i < PROGRAMME_RFM_BREAKS; i++)
			s->recency_days[i] = (int32_t) rec[i];
	}

	if ((r = get_obj(c, o, "segments", "messages", segment_keys, &m)) < 0)
		return r;
	for (size_t k = 0; m && k < PROGRAMME_SEGMENTS_MAX; k++) {
		char w[48];
		snprintf(w, sizeof(w), "segments.messages.%s", segment_keys[k]);
		if ((r = get_obj(c, m, "segments.messages", segment_keys[k], lang_keys, &v)) < 0)
			return r;
		for (size_t l = 0; v && l < PROGRAMME_LANG_MAX; l++)
			if ((r = get_text(c, v, w, lang_keys[l], s->message[k][l],
					  sizeof(s->message[k][l]))) < 0)
				return r;
	}
	return 0;
}

static int parse_root(struct ctx *c, const cJSON *root, struct programme *p)
{
	static const char *const keys[] = {
	    "version",	"id",	    "terms_url", "earn",       "welcome",
	    "birthday", "referral", "survey",	 "tiers",      "tier_window_days",
	    "stamps",	"coupons",  "expiry",	 "redemption", "donation",
	    "refund",	"offline",  "segments",	 NULL};
	static const char *const earn_keys[] = {"gr_per_point", "multipliers", "promotions", NULL};
	static const char *const pts_keys[] = {"points", NULL};
	static const char *const ref_keys[] = {"referrer_points", "referred_points", NULL};
	static const char *const coupons_keys[] = {"first_purchase", "reactivation",
						   "member_interval_days", NULL};
	static const char *const fp_keys[] = {"enabled",    "percent_bp", "min_basket_gr",
					      "valid_days", "combinable", "daily_cap",
					      NULL};
	static const char *const re_keys[] = {"enabled",      "percent_bp", "min_basket_gr",
					      "valid_days",   "combinable", "daily_cap",
					      "dormant_days", NULL};
	static const char *const exp_keys[] = {"months", NULL};
	static const char *const red_keys[] = {"unit_points", "unit_gr", "min_points",
					       "max_basket_bp", NULL};
	static const char *const don_keys[] = {"enabled", "cause", "min_points", NULL};
	static const char *const refund_keys[] = {"redeemed_points", NULL};
	static const char *const off_keys[] = {"terminal_budget_points", "member_cap_points",
					       "max_age_s", NULL};
	static const char *const seg_keys[] = {"dormant_days", "vip", "rfm", "messages", NULL};
	const cJSON *o, *arr, *o2;
	size_t n = 0;
	int r;

	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!v)
		return fail(c, "version: missing");
	if (!cJSON_IsNumber(v) || v->valuedouble != (double) PROGRAMME_VERSION)
		return fail(c, "version: only version %d is known", PROGRAMME_VERSION);
	if ((r = only_keys(c, root, "", keys)) < 0 ||
	    (r = get_str(c, root, "", "id", false, true, p->id, sizeof(p->id))) < 0 ||
	    (r = get_str(c, root, "", "terms_url", false, true, p->terms_url,
			 sizeof(p->terms_url))) < 0)
		return r;
	if (strncmp(p->terms_url, "https://", 8) != 0)
		return fail(c, "terms_url: must be an https:// URL");

	if ((r = get_obj(c, root, "", "earn", earn_keys, &o)) < 0)
		return r;
	if (o) {
		if ((r = get_int(c, o, "earn", "gr_per_point", false, 1, 100000,
				 &p->earn_gr_per_point)) < 0 ||
		    (r = get_array(c, o, "earn", "multipliers", PROGRAMME_MULTIPLIERS_MAX, &arr,
				   &n)) < 0 ||
		    (arr && (r = parse_multipliers(c, arr, p)) < 0) ||
		    (r = get_array(c, o, "earn", "promotions", PROGRAMME_PROMOS_MAX, &arr, &n)) <
			0 ||
		    (arr && (r = parse_promos(c, arr, p)) < 0))
			return r;
	}

	struct {
		const char *key;
		int64_t *pts;
	} bonus[] = {{"welcome", &p->welcome_pts},
		     {"birthday", &p->birthday_pts},
		     {"survey", &p->survey_pts}};
	for (size_t i = 0; i < sizeof(bonus) / sizeof(bonus[0]); i++) {
		if ((r = get_obj(c, root, "", bonus[i].key, pts_keys, &o)) < 0 ||
		    (o && (r = get_int(c, o, bonus[i].key, "points", false, 0, 100000,
				       bonus[i].pts)) < 0))
			return r;
	}
	if ((r = get_obj(c, root, "", "referral", ref_keys, &o)) < 0 ||
	    (o && ((r = get_int(c, o, "referral", "referrer_points", false, 0, 100000,
				&p->referral_referrer_pts)) < 0 ||
		   (r = get_int(c, o, "referral", "referred_points", false, 0, 100000,
				&p->referral_referred_pts)) < 0)))
		return r;

	if ((r = get_array(c, root, "", "tiers", PROGRAMME_TIERS_MAX, &arr, &n)) < 0 ||
	    (arr && (r = parse_tiers(c, arr, n, p)) < 0) ||
	    (r = get_i32(c, root, "", "tier_window_days", false, 28, 3660, &p->tier_window_days)) <
		0 ||
	    (r = get_array(c, root, "", "stamps", PROGRAMME_STAMPS_MAX, &arr, &n)) < 0 ||
	    (arr && (r = parse_stamps(c, arr, p)) < 0))
		return r;

	if ((r = get_obj(c, root, "", "coupons", coupons_keys, &o)) < 0)
		return r;
	if (o) {
		if ((r = get_obj(c, o, "coupons", "first_purchase", fp_keys, &o2)) < 0 ||
		    (o2 && (r = parse_coupon(c, o2, "coupons.first_purchase", false,
					     &p->first_purchase)) < 0) ||
		    (r = get_obj(c, o, "coupons", "reactivation", re_keys, &o2)) < 0 ||
		    (o2 && (r = parse_coupon(c, o2, "coupons.reactivation", true,
					     &p->reactivation)) < 0) ||
		    (r = get_i32(c, o, "coupons", "member_interval_days", false, 0, 3660,
				 &p->coupon_member_interval_days)) < 0)
			return r;
	}

	if ((r = get_obj(c, root, "", "expiry", exp_keys, &o)) < 0 ||
	    (o && (r = get_i32(c, o, "expiry", "months", false, 1, 120, &p->expiry_months)) < 0))
		return r;

	if ((r = get_obj(c, root, "", "redemption", red_keys, &o)) < 0)
		return r;
	if (o && ((r = get_int(c, o, "redemption", "unit_points", false, 1, 100000,
			       &p->redeem_unit_pts)) < 0 ||
		  (r = get_int(c, o, "redemption", "unit_gr", false, 1, 1000000,
			       &p->redeem_unit_gr)) < 0 ||
		  (r = get_int(c, o, "redemption", "min_points", false, 0, PTS_MAX,
			       &p->redeem_min_pts)) < 0 ||
		  (r = get_i32(c, o, "redemption", "max_basket_bp", false, 0, 10000,
			       &p->redeem_max_basket_bp)) < 0))
		return r;
	if (p->redeem_min_pts % p->redeem_unit_pts != 0)
		return fail(c,
			    "redemption.min_points: must be a multiple of redemption.unit_points");

	if ((r = get_obj(c, root, "", "donation", don_keys, &o)) < 0 ||
	    (o && ((r = get_bool(c, o, "donation", "enabled", &p->donation_enabled)) < 0 ||
		   (r = get_str(c, o, "donation", "cause", false, true, p->donation_cause,
				sizeof(p->donation_cause))) < 0 ||
		   (r = get_int(c, o, "donation", "min_points", false, 1, PTS_MAX,
				&p->donation_min_pts)) < 0)))
		return r;

	if ((r = get_obj(c, root, "", "refund", refund_keys, &o)) < 0)
		return r;
	if (o) {
		const cJSON *pol = cJSON_GetObjectItemCaseSensitive(o, "redeemed_points");
		if (pol) {
			if (cJSON_IsString(pol) && strcmp(pol->valuestring, "recredit") == 0)
				p->refund_policy = PROGRAMME_REFUND_RECREDIT;
			else if (cJSON_IsString(pol) && strcmp(pol->valuestring, "forfeit") == 0)
				p->refund_policy = PROGRAMME_REFUND_FORFEIT;
			else
				return fail(c, "refund.redeemed_points: must be \"recredit\" or "
					       "\"forfeit\"");
		}
	}

	if ((r = get_obj(c, root, "", "offline", off_keys, &o)) < 0 ||
	    (o && ((r = get_int(c, o, "offline", "terminal_budget_points", false, 0, PTS_MAX,
				&p->offline_terminal_budget_pts)) < 0 ||
		   (r = get_int(c, o, "offline", "member_cap_points", false, 0, PTS_MAX,
				&p->offline_member_cap_pts)) < 0 ||
		   (r = get_int(c, o, "offline", "max_age_s", false, 0, 366 * 86400,
				&p->offline_max_age_s)) < 0)))
		return r;
	if (p->offline_member_cap_pts > p->offline_terminal_budget_pts)
		return fail(c, "offline.member_cap_points: must be <= "
			       "offline.terminal_budget_points");

	if ((r = get_obj(c, root, "", "segments", seg_keys, &o)) < 0 ||
	    (o && (r = parse_segments(c, o, &p->segments)) < 0))
		return r;
	return 0;
}

int programme_parse(const char *text, size_t len, struct programme *ret, char *err, size_t err_size)
{
	struct ctx c = {.err = err, .err_size = err_size};
	if (!text || !ret)
		return -EINVAL;
	if (err && err_size)
		err[0] = '\0';
	if (len > PROGRAMME_TEXT_MAX) {
		fail(&c, "programme: larger than %d bytes", PROGRAMME_TEXT_MAX);
		return -EFBIG;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		size_t off = end && end >= text ? (size_t) (end - text) : 0, line = 1;
		for (size_t i = 0; i < off && i < len; i++)
			line += text[i] == '\n';
		return fail(&c, "programme: not valid JSON (near line %zu)", line);
	}
	struct programme p;
	programme_default(&p);
	int r = cJSON_IsObject(root) ? parse_root(&c, root, &p)
				     : fail(&c, "programme: must be a JSON object");
	cJSON_Delete(root);
	if (r == 0)
		*ret = p;
	return r;
}
