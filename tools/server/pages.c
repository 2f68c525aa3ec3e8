/* pages: the customer's pages on libmicrohttpd, plain HTTP (docs/card-page.md). */
#include "pages.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <qrencode.h>
#include <sodium.h>

#include "customer.h"
#include "first_name.h"
#include "money.h"
#include "pages_memo.h"
#include "pages_parse.h"
#include "rules.h"
#include "wartime.h"

#define PAGES_CONNECTIONS 64
#define PAGES_THREADS_MAX  64
#define PAGES_IDLE_TIMEOUT 15
#define PAGES_PAGE_MAX	  (256 * 1024) /* a cap on building, far above the 50 KB aim */
#define PAGES_EVENTS_MAX  200	       /* events read for a card page */
#define PAGES_HISTORY	  20	       /* of which shown */
#define PAGES_KEYS_MAX	  16	       /* keys sharing one key id */
#define PAGES_RATE_SLOTS  512
#define PAGES_CSRF_TTL_S  3600
#define PAGES_SURVEY_DAYS 30 /* a receipt can be rated this long */
#define PAGES_EXPORT_MAX  10000
#define PAGES_PAGE_START  (32 * 1024) /* a card page is about 17 KB: built without regrowing */
#define PAGES_MEMO_TOKENS 1024	      /* verified token texts kept (pages_memo.h) */
#define PAGES_MEMO_QRS	  256	      /* card link QR codes kept, up to 16 KiB each */

static const char style[] =
    "body{margin:0;font:16px/1.45 system-ui,sans-serif;color:#1b1b1b;background:#f4f1ea;"
    "overflow-wrap:anywhere}"
    "main{max-width:34rem;margin:0 auto;padding:1rem}"
    "header .store{margin:0;color:#6b5b3e;font-weight:600}"
    "h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}"
    "section{background:#fff;border-radius:.6rem;padding:1rem;margin:0 0 1rem;"
    "box-shadow:0 1px 2px rgba(0,0,0,.08)}"
    ".balance{font-size:2.4rem;font-weight:700;margin:0}.muted{color:#5f5f5f}"
    ".code{font:600 1.3rem/1.2 ui-monospace,monospace;letter-spacing:.08em;text-align:center}"
    ".qr{display:block;width:100%;max-width:16rem;height:auto;margin:0 auto .5rem}"
    "table{width:100%;border-collapse:collapse;font-size:.92rem}"
    "td,th{text-align:left;padding:.35rem .25rem;border-bottom:1px solid #eee;vertical-align:top}"
    "td.n{text-align:right;white-space:nowrap}"
    ".note{background:#fff7d6;border-left:4px solid #e0b400}"
    ".bad{background:#fde8e8;border-left:4px solid #c62828}"
    ".good{background:#e7f6ea;border-left:4px solid #2e7d32}"
    "label{display:block;margin:.4rem 0}"
    "input[type=text],textarea{box-sizing:border-box;width:100%;font:inherit;padding:.5rem;"
    "border:1px solid #bbb;border-radius:.4rem}"
    "button{font:inherit;font-weight:600;padding:.6rem 1rem;margin:.4rem 0;border:0;"
    "border-radius:.4rem;background:#6b5b3e;color:#fff}"
    ".scale{display:flex;flex-wrap:wrap;gap:.25rem}.scale label{margin:0}"
    ".scale input{margin:0 .1rem 0 0}"
    "footer{text-align:center;font-size:.9rem;margin:1.5rem 0}a{color:#5a3e8c}";

struct rate_slot {
	char addr[INET6_ADDRSTRLEN];
	int64_t start_s;
	unsigned n;
};

/*
 * Shared by the serving threads. cfg, csrf_key and csp are written before the daemon starts and
 * only read afterwards; the rate slots, the connection pool and the memo each have their mutex.
 * Each thread finds its store connection under key (set at its first request).
 */
struct pages {
	struct pages_config cfg;
	struct MHD_Daemon *d;
	unsigned threads;
	uint8_t csrf_key[crypto_auth_hmacsha256_KEYBYTES];
	char csp[256];
	struct pages_memo *memo; /* verified tokens, drawn QR codes; its own mutex */
	pthread_key_t key; /* the thread's struct store * */
	pthread_mutex_t conns_lock;
	struct store **conns; /* opened at start, one per thread; more if a thread is new */
	size_t n_conns, used_conns, alloc_conns;
	pthread_mutex_t rate_lock;
	struct rate_slot rate[PAGES_RATE_SLOTS];
};

struct rq {
	char body[PAGES_FORM_MAX + 1];
	size_t len;
	bool too_big;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- a store connection per serving thread ---- */

/* One more connection into the pool (under conns_lock once the daemon runs). */
static int conns_add(struct pages *pg, char *err, size_t err_size)
{
	if (pg->n_conns == pg->alloc_conns) {
		size_t n = pg->alloc_conns ? 2 * pg->alloc_conns : 4;
		struct store **c = realloc(pg->conns, n * sizeof(*c));
		if (!c)
			return -ENOMEM;
		pg->conns = c;
		pg->alloc_conns = n;
	}
	int r = store_sqlite_open(pg->cfg.db, &pg->conns[pg->n_conns], err, err_size);
	if (r == 0)
		pg->n_conns++;
	return r;
}

/* The calling thread's connection: the one it took at its first request, or a free one of
 * those opened at start (one per thread), or a new one; NULL when none opens. */
static struct store *thread_store(struct pages *pg)
{
	struct store *st = pthread_getspecific(pg->key);
	if (st)
		return st;
	char err[320];
	pthread_mutex_lock(&pg->conns_lock);
	if (pg->used_conns < pg->n_conns || conns_add(pg, err, sizeof(err)) == 0)
		st = pg->conns[pg->used_conns++];
	pthread_mutex_unlock(&pg->conns_lock);
	if (st && pthread_setspecific(pg->key, st) != 0)
		st = NULL; /* stays in the pool, closed at the stop */
	return st;
}

/* The connection of the thread serving the request (thread_store() ran at its start). */
static struct store *store_of(struct pages *pg)
{
	return pthread_getspecific(pg->key);
}

/* ---- building a page ---- */

struct page {
	struct buf b;
	enum pages_lang lang;
	bool fail;
	char csrf[PAGES_CSRF_MAX + 1]; /* the forms' CSRF token, made at the first form; "" */
};

#define T(p, pl, en) ((p)->lang == PAGES_EN ? (en) : (pl))

/* An empty page with room for a whole card page from the start (no regrowing and copying as
 * it is built); without that room it grows as any buffer. */
static void page_init_large(struct page *p)
{
	buf_init(&p->b, PAGES_PAGE_MAX);
	if ((p->b.data = malloc(PAGES_PAGE_START)))
		p->b.alloc = PAGES_PAGE_START;
}

static void raw(struct page *p, const char *s)
{
	if (!p->fail && buf_append_str(&p->b, s) < 0)
		p->fail = true;
}

/* Trusted HTML with numbers: never pass text from outside through the format. */
static void rawf(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rawf(struct page *p, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= sizeof(tmp))
		p->fail = true;
	else
		raw(p, tmp);
}

/* A number in decimal (the hot lines of a page: no printf). */
static void raw_i64(struct page *p, int64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);
	uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
	do {
		tmp[--n] = (char) ('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--n] = '-';
	if (!p->fail && buf_append(&p->b, tmp + n, sizeof(tmp) - n) < 0)
		p->fail = true;
}

static void esc(struct page *p, const char *s)
{
	if (!p->fail && pages_html(&p->b, s) < 0)
		p->fail = true;
}

static void page_begin(struct pages *pg, struct page *p, const char *title)
{
	raw(p, "<!doctype html><html lang=\"");
	raw(p, T(p, "pl", "en"));
	raw(p, "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
	       "content=\"width=device-width,initial-scale=1\"><meta name=\"referrer\" "
	       "content=\"no-referrer\"><meta name=\"robots\" content=\"noindex\"><title>");
	esc(p, title);
	raw(p, " · ");
	esc(p, pg->cfg.store_name);
	raw(p, "</title><style>");
	raw(p, style);
	raw(p, "</style></head><body><main><header><p class=\"store\">");
	esc(p, pg->cfg.store_name);
	raw(p, "</p><h1>");
	esc(p, title);
	raw(p, "</h1></header>");
}

static void page_end(struct page *p)
{
	raw(p, "<footer><a href=\"?lang=pl\" hreflang=\"pl\">Polski</a> · "
	       "<a href=\"?lang=en\" hreflang=\"en\">English</a></footer></main></body></html>\n");
}

static void add_security_headers(struct pages *pg, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", pg->csp);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

static enum MHD_Result send_buf(struct pages *pg, struct MHD_Connection *c, unsigned status,
				struct buf *b, const char *type, enum pages_lang lang,
				const char *disposition)
{
	/* the response takes the buffer over (no copy) */
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer_with_free_callback(b->len, b->data, free);
	if (!resp) {
		buf_free(b);
		return MHD_NO;
	}
	buf_init(b, b->max);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "Content-Language", lang == PAGES_EN ? "en" : "pl");
	MHD_add_response_header(resp, "Vary", "Accept-Language");
	if (disposition)
		MHD_add_response_header(resp, "Content-Disposition", disposition);
	add_security_headers(pg, resp);
	enum MHD_Result r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_page(struct pages *pg, struct MHD_Connection *c, unsigned status,
				 struct page *p)
{
	if (p->fail) {
		buf_free(&p->b);
		static const char oops[] = "<!doctype html><title>500</title><p>Internal error.\n";
		buf_init(&p->b, sizeof(oops));
		if (buf_append_str(&p->b, oops) < 0)
			return MHD_NO;
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	return send_buf(pg, c, status, &p->b, "text/html; charset=utf-8", p->lang, NULL);
}

/* A page that says one thing and shows nothing else. */
static enum MHD_Result message_page(struct pages *pg, struct MHD_Connection *c, unsigned status,
				    enum pages_lang lang, const char *title, const char *text,
				    const char *cls)
{
	struct page p = {.lang = lang};
	buf_init(&p.b, PAGES_PAGE_MAX);
	page_begin(pg, &p, title);
	raw(&p, "<section class=\"");
	raw(&p, cls);
	raw(&p, "\"><p>");
	esc(&p, text);
	raw(&p, "</p></section>");
	page_end(&p);
	return send_page(pg, c, status, &p);
}

/* ---- small formats ---- */

/* "DD.MM.YYYY" and, with time, " HH:MM" (a page has dozens: written without printf, which
 * takes the years 1000 to 9999 only) */
static void fmt_wartime(int64_t us, bool time, char *out, size_t size)
{
	struct wartime w;
	wartime_from_utc(us / 1000000, &w);
	if (size < 17 || w.year < 1000 || w.year > 9999) {
		if (time)
			snprintf(out, size, "%02d.%02d.%04d %02d:%02d", w.day, w.month, w.year,
				 w.hour, w.minute);
		else
			snprintf(out, size, "%02d.%02d.%04d", w.day, w.month, w.year);
		return;
	}
	const int f[4] = {w.day, w.month, w.year / 100, w.year % 100};
	char *o = out;
	for (int i = 0; i < 4; i++) {
		*o++ = (char) ('0' + f[i] / 10 % 10);
		*o++ = (char) ('0' + f[i] % 10);
		if (i < 2)
			*o++ = '.';
	}
	if (time) {
		*o++ = ' ';
		*o++ = (char) ('0' + w.hour / 10 % 10);
		*o++ = (char) ('0' + w.hour % 10);
		*o++ = ':';
		*o++ = (char) ('0' + w.minute / 10 % 10);
		*o++ = (char) ('0' + w.minute % 10);
	}
	*o = '\0';
}

static void fmt_date(int64_t us, char *out, size_t size)
{
	fmt_wartime(us, false, out, size);
}

static void fmt_datetime(int64_t us, char *out, size_t size)
{
	fmt_wartime(us, true, out, size);
}

/* "1 234,50 zł" (cut at size, as snprintf) */
static void money_pln(int64_t gr, char *out, size_t size)
{
	static const char unit[] = " zł";
	int n = money_format(gr, 1, out, size);
	if (n < 0 || (size_t) n >= size)
		return;
	size_t k = sizeof(unit) - 1, room = size - (size_t) n - 1;
	if (k > room)
		k = room;
	memcpy(out + n, unit, k);
	out[(size_t) n + k] = '\0';
}

/* A card code in groups of four: 7K3M 9QZX 2H4P. */
static void card_groups(const char *code, char out[16])
{
	snprintf(out, 16, "%.4s %.4s %.4s", code, code + 4, code + 8);
}

static const char *kind_label(const struct page *p, const char *kind)
{
	static const struct {
		const char *kind, *pl, *en;
	} k[] = {
	    {"enrol", "Założenie karty", "Card created"},
	    {"earn", "Zakupy", "Purchase"},
	    {"bonus", "Premia", "Bonus"},
	    {"redeem", "Zapłata punktami", "Paid with points"},
	    {"donate", "Darowizna", "Donation"},
	    {"expire", "Wygaśnięcie punktów", "Points expired"},
	    {"stamp", "Pieczątka", "Stamp"},
	    {"coupon_use", "Kupon wykorzystany", "Coupon used"},
	    {"coupon_issue", "Kupon wydany", "Coupon issued"},
	    {"refund", "Zwrot", "Refund"},
	    {"reverse", "Cofnięcie", "Reversal"},
	    {"recredit", "Zwrot punktów", "Points given back"},
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (!strcmp(k[i].kind, kind))
			return T(p, k[i].pl, k[i].en);
	return kind;
}

/* ---- the card QR as inline SVG (no image request) ---- */

/* The decimal digits of v at out (at most 10); their number. */
static size_t put_uint(char *out, unsigned v)
{
	char tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* The QR of payload as inline SVG; drawn once per payload while the memo keeps it (the drawing
 * is a pure function of the payload: libqrencode's mask choice included). */
static void qr_svg(struct pages *pg, struct page *p, const char *payload)
{
	if (p->fail)
		return;
	int r = pages_memo_qr_get(pg->memo, payload, &p->b);
	if (r != 0) {
		p->fail = r < 0;
		return;
	}
	size_t start = p->b.len;
	QRcode *q = QRcode_encodeString(payload, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!q) {
		p->fail = true;
		return;
	}
	int w = q->width, quiet = 4;
	char path[64];
	rawf(p,
	     "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	     "role=\"img\" aria-label=\"QR\" shape-rendering=\"crispEdges\">"
	     "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
	     w + 2 * quiet, w + 2 * quiet, w + 2 * quiet, w + 2 * quiet);
	for (int y = 0; y < w; y++) {
		for (int x = 0; x < w;) {
			if (!(q->data[y * w + x] & 1)) {
				x++;
				continue;
			}
			int run = 1;
			while (x + run < w && (q->data[y * w + x + run] & 1))
				run++;
			/* "M<x> <y>h<run>v1h-<run>z", written without printf (a page has hundreds) */
			size_t n = 0;
			path[n++] = 'M';
			n += put_uint(path + n, (unsigned) (x + quiet));
			path[n++] = ' ';
			n += put_uint(path + n, (unsigned) (y + quiet));
			path[n++] = 'h';
			n += put_uint(path + n, (unsigned) run);
			memcpy(path + n, "v1h-", 4);
			n += 4;
			n += put_uint(path + n, (unsigned) run);
			path[n++] = 'z';
			if (!p->fail && buf_append(&p->b, path, n) < 0)
				p->fail = true;
			x += run;
		}
	}
	raw(p, "\"/></svg>");
	QRcode_free(q);
	if (!p->fail)
		pages_memo_qr_put(pg->memo, payload, p->b.data + start, p->b.len - start);
}

/* ---- keys ---- */

struct keyset {
	uint32_t want;
	struct token_key keys[PAGES_KEYS_MAX + 1];
	char issuer[PAGES_KEYS_MAX + 1][LEDGER_TERMINAL_ID_MAX + 1];
	size_t n;
};

static int add_terminal_key(void *userdata, const struct store_terminal *t)
{
	struct keyset *ks = userdata;
	if (!t->registered || t->revoked || ks->n == PAGES_KEYS_MAX ||
	    token_key_id(t->public_key) != ks->want)
		return 0;
	token_key_init(&ks->keys[ks->n], t->public_key, TOKEN_TYPES_ALL);
	snprintf(ks->issuer[ks->n], sizeof(ks->issuer[0]), "%s", t->terminal_id);
	ks->n++;
	return 0;
}

/* The keys that may have signed a token with this key id: registered terminals that are not
 * revoked (every type) and the server's own token key (cards). */
static int load_keys(struct pages *pg, uint32_t key_id, struct keyset *ks)
{
	struct store *st = store_of(pg);
	memset(ks, 0, sizeof(*ks));
	ks->want = key_id;
	int r = st->ops->terminals_read(st, add_terminal_key, ks);
	if (r < 0)
		return r;
	if (pg->cfg.token_sk) {
		const uint8_t *pk = pg->cfg.token_sk + 32;
		if (token_key_id(pk) == key_id) {
			token_key_init(&ks->keys[ks->n], pk, TOKEN_TYPE_BIT(TOKEN_CARD));
			ks->issuer[ks->n][0] = '\0';
			ks->n++;
		}
	}
	return 0;
}

/*
 * token_verify against the keys trusted now, with the memo: a text whose signature was found
 * good before by a key that is still in ks (same key, allowed the token's type) is not checked
 * again (the signature of a given text by a given key does not change); its expiry is, each time.
 * A text checked anew and good is remembered with its key when exactly one key of ks could have
 * signed it (keys sharing an id: not remembered).
 */
static int token_check(struct pages *pg, const char *text, size_t len, const struct keyset *ks,
		       int64_t now_s, struct token *ret_tok, enum token_status *ret_status)
{
	struct token tok;
	uint8_t pk[TOKEN_PUBLIC_KEY_LEN];
	if (pages_memo_token_get(pg->memo, text, len, &tok, pk)) {
		for (size_t i = 0; i < ks->n; i++) {
			const struct token_key *k = &ks->keys[i];
			if (k->key_id != tok.key_id || !(k->types & TOKEN_TYPE_BIT(tok.type)) ||
			    sodium_memcmp(k->public_key, pk, sizeof(pk)))
				continue;
			*ret_status = now_s >= tok.expires_s ? TOKEN_EXPIRED : TOKEN_OK;
			if (*ret_status == TOKEN_OK)
				*ret_tok = tok;
			return 0;
		}
		/* its key is no longer trusted: the full check says why */
	}
	int r = token_verify(text, len, ks->keys, ks->n, now_s, &tok, ret_status);
	if (r < 0 || *ret_status != TOKEN_OK)
		return r;
	const struct token_key *signer = NULL;
	size_t candidates = 0;
	for (size_t i = 0; i < ks->n; i++)
		if (ks->keys[i].key_id == tok.key_id &&
		    (ks->keys[i].types & TOKEN_TYPE_BIT(tok.type))) {
			signer = &ks->keys[i];
			candidates++;
		}
	if (candidates == 1)
		pages_memo_token_put(pg->memo, text, len, &tok, signer->public_key);
	*ret_tok = tok;
	return 0;
}

/* ---- forms: CSRF and rate limits ---- */

static void csrf_mac(struct pages *pg, const char *token_text, int64_t t, char hex[33])
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	char msg[TOKEN_TEXT_MAX + 40];
	int n = snprintf(msg, sizeof(msg), "csrf/%s/%" PRId64, token_text, t);
	crypto_auth_hmacsha256(mac, (const uint8_t *) msg, (size_t) n, pg->csrf_key);
	sodium_bin2hex(hex, 33, mac, 16);
}

static void csrf_make(struct pages *pg, const char *token_text, char out[PAGES_CSRF_MAX + 1])
{
	char hex[33];
	int64_t t = now_us() / 1000000;
	csrf_mac(pg, token_text, t, hex);
	snprintf(out, PAGES_CSRF_MAX + 1, "%" PRId64 ".%s", t, hex);
}

static bool csrf_ok(struct pages *pg, const char *token_text, const char *csrf)
{
	int64_t t = 0, now = now_us() / 1000000;
	const char *s = csrf;
	char hex[33];
	for (; *s >= '0' && *s <= '9' && s - csrf < 12; s++)
		t = t * 10 + (*s - '0');
	if (s == csrf || *s != '.' || strlen(s + 1) != 32 || t > now || now - t > PAGES_CSRF_TTL_S)
		return false;
	csrf_mac(pg, token_text, t, hex);
	return sodium_memcmp(hex, s + 1, 32) == 0;
}

/* A form may come only from the pages themselves: Sec-Fetch-Site and Origin, when the browser
 * sends them, must say so (the CSRF token is checked besides). */
static bool same_origin(struct MHD_Connection *c)
{
	const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
		return false;
	/* with Referrer-Policy no-referrer, browsers send "Origin: null" on a form post: then
	 * Sec-Fetch-Site (above) and the CSRF token decide */
	if (origin && strcmp(origin, "null")) {
		const char *h = strstr(origin, "://");
		if (!h || !host || strcmp(h + 3, host))
			return false;
	}
	return true;
}

static void client_addr(struct MHD_Connection *c, char out[INET6_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, INET6_ADDRSTRLEN, "?");
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *) ci->client_addr)->sin_addr, out,
			  INET6_ADDRSTRLEN);
	} else if (ci->client_addr->sa_family == AF_INET6) {
		/* a /64 counts as one client */
		struct in6_addr a = ((const struct sockaddr_in6 *) ci->client_addr)->sin6_addr;
		memset(a.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &a, out, INET6_ADDRSTRLEN);
	}
}

/* Count a form post of the client; false when it is over its allowance for the window. */
static bool rate_take(struct pages *pg, struct MHD_Connection *c)
{
	char addr[INET6_ADDRSTRLEN];
	int64_t now = now_us() / 1000000;
	struct rate_slot *slot = NULL, *oldest = &pg->rate[0];
	bool ok;
	client_addr(c, addr);
	pthread_mutex_lock(&pg->rate_lock);
	for (size_t i = 0; i < PAGES_RATE_SLOTS; i++) {
		struct rate_slot *s = &pg->rate[i];
		if (!strcmp(s->addr, addr)) {
			slot = s;
			break;
		}
		if (s->start_s < oldest->start_s)
			oldest = s;
	}
	if (!slot) {
		slot = oldest;
		snprintf(slot->addr, sizeof(slot->addr), "%s", addr);
		slot->start_s = now;
		slot->n = 0;
	}
	if (now - slot->start_s >= (int64_t) pg->cfg.rate_window_s) {
		slot->start_s = now;
		slot->n = 0;
	}
	ok = ++slot->n <= pg->cfg.rate_per_window;
	pthread_mutex_unlock(&pg->rate_lock);
	return ok;
}

/* ---- the card page ---- */

/* A credit of points at its earned time (its lot, which expires with it). */
struct lot {
	int64_t earned_us, pts;
};

struct card_view {
	struct ledger_event *ev; /* the newest PAGES_EVENTS_MAX events, newest first */
	size_t n;
	struct lot *lots; /* every credit of the card: events, claims, survey bonuses */
	size_t n_lots, lots_alloc;
	/* the card's latest stamp event per stamp card (the till's count after it) */
	struct ledger_event stamp[PROGRAMME_STAMPS_MAX];
	size_t n_stamps;
	/* the spend in (spend_from_us, spend_to_us] as the store's member_spend sums it: earn and
	 * refund amounts and claimed amounts; whole when n_read < PAGES_EXPORT_MAX */
	int64_t spend_from_us, spend_to_us, spend_gr;
	size_t n_read;
};

static int add_lot(struct card_view *v, int64_t earned_us, int64_t pts)
{
	if (pts <= 0)
		return 0;
	if (v->n_lots == v->lots_alloc) {
		size_t n = v->lots_alloc ? 2 * v->lots_alloc : 64;
		struct lot *l = realloc(v->lots, n * sizeof(*l));
		if (!l)
			return -ENOMEM;
		v->lots = l;
		v->lots_alloc = n;
	}
	v->lots[v->n_lots++] = (struct lot){earned_us, pts};
	return 0;
}

/* Events come newest first: the first stamp event of a card is its latest. */
static int collect_event(void *userdata, const struct ledger_event *ev)
{
	struct card_view *v = userdata;
	v->n_read++;
	if ((!strcmp(ev->kind, "earn") || !strcmp(ev->kind, "refund")) &&
	    ev->time_us > v->spend_from_us && ev->time_us <= v->spend_to_us)
		v->spend_gr += ev->amount_gr;
	if (v->n < PAGES_EVENTS_MAX)
		v->ev[v->n++] = *ev;
	if (!strcmp(ev->kind, "stamp") && ev->ref[0]) {
		size_t i = 0;
		while (i < v->n_stamps && strcmp(v->stamp[i].ref, ev->ref))
			i++;
		if (i == v->n_stamps && v->n_stamps < PROGRAMME_STAMPS_MAX)
			v->stamp[v->n_stamps++] = *ev;
	}
	return add_lot(v, ev->lot_us ? ev->lot_us : ev->time_us, ev->points);
}

static int collect_claim(void *userdata, const struct store_claim *c)
{
	struct card_view *v = userdata;
	if (c->claimed_us > v->spend_from_us && c->claimed_us <= v->spend_to_us)
		v->spend_gr += c->amount_gr;
	return add_lot(v, c->claimed_us, c->points + c->bonus_pts);
}

static int collect_survey(void *userdata, const struct store_survey *sv)
{
	return add_lot(userdata, sv->time_us, sv->bonus_pts);
}

static int lot_newer_first(const void *a, const void *b)
{
	int64_t x = ((const struct lot *) a)->earned_us, y = ((const struct lot *) b)->earned_us;
	return (x < y) - (x > y);
}

static const struct programme_coupon_rule *campaign(const struct programme *prog,
						    const char *name)
{
	if (!strcmp(name, "first_purchase"))
		return &prog->first_purchase;
	if (!strcmp(name, "reactivation"))
		return &prog->reactivation;
	return NULL;
}

/* The card's link: the configured base (or this host) and the token, as the terminals print it. */
static void card_url(struct pages *pg, struct MHD_Connection *c, const char *token_text,
		     char *out, size_t size)
{
	char base[TOKEN_URL_BASE_MAX + 1];
	if (pg->cfg.url_base) {
		snprintf(base, sizeof(base), "%s", pg->cfg.url_base);
	} else {
		const char *host =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
		snprintf(base, sizeof(base), "HTTP://%s/C/", host ? host : "");
		for (char *s = base; *s; s++)
			if (*s >= 'a' && *s <= 'z')
				*s = (char) (*s - 'a' + 'A');
	}
	if (token_url(base, token_text, out, size) < 0)
		snprintf(out, size, "%s", token_text);
}

static void section_qr(struct pages *pg, struct MHD_Connection *c, struct page *p,
		       const char *token_text, const char *card_code)
{
	char url[TOKEN_URL_BASE_MAX + TOKEN_TEXT_MAX + 1], groups[16];
	card_url(pg, c, token_text, url, sizeof(url));
	card_groups(card_code, groups);
	raw(p, "<section>");
	qr_svg(pg, p, url);
	raw(p, "<p class=\"code\" id=\"card-code\">");
	esc(p, groups);
	raw(p, "</p><p class=\"muted\">");
	raw(p, T(p, "Pokaż ten kod przy kasie zamiast karty.",
		 "Show this code at the till instead of the card."));
	raw(p, "</p></section>");
}

static void section_balance(struct pages *pg, struct page *p, const struct store_member *m,
			    const struct card_view *v)
{
	const struct programme *prog = pg->cfg.pol.prog;
	int64_t spend = v->spend_gr;
	char tmp[64];
	raw(p, "<section><p class=\"muted\">");
	raw(p, T(p, "Saldo punktów", "Points balance"));
	rawf(p, "</p><p class=\"balance\" id=\"balance\" data-points=\"%" PRId64 "\">%" PRId64
		" <small>%s</small></p>",
	     m->balance_pts, m->balance_pts, T(p, "pkt", "points"));
	if (m->tier[0]) {
		raw(p, "<p>");
		raw(p, T(p, "Poziom: ", "Tier: "));
		raw(p, "<strong id=\"tier\">");
		esc(p, m->tier);
		raw(p, "</strong>");
		struct store *st = store_of(pg);
		/* every event read: the sum is whole; else the store sums them */
		if (v->n_read < PAGES_EXPORT_MAX ||
		    st->ops->member_spend(st, m->card_code, v->spend_from_us, v->spend_to_us,
					  &spend) == 0) {
			size_t i = programme_tier_for(prog, spend);
			if (i + 1 < prog->n_tiers) {
				money_pln(prog->tiers[i + 1].threshold_gr - spend, tmp, sizeof(tmp));
				raw(p, "<br><span class=\"muted\">");
				raw(p, T(p, "Do poziomu ", "To reach "));
				esc(p, prog->tiers[i + 1].name);
				raw(p, T(p, " brakuje zakupów za ", ": purchases of "));
				esc(p, tmp);
				rawf(p, T(p, " (w ciągu %d dni).", " more (within %d days)."),
				     (int) prog->tier_window_days);
				raw(p, "</span>");
			}
		}
		raw(p, "</p>");
	}
	fmt_datetime(m->updated_us, tmp, sizeof(tmp));
	raw(p, "<p class=\"muted\">");
	raw(p, T(p, "Stan na ", "As of "));
	esc(p, tmp);
	raw(p, T(p, " (zakupy, które kasa jeszcze nie przesłała, dojdą później).",
		 " (purchases the till has not sent yet will follow)."));
	raw(p, "</p></section>");
}

static bool coupon_used(const struct card_view *v, const char *id)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->ev[i].kind, "coupon_use") && !strcmp(v->ev[i].ref, id))
			return true;
	return false;
}

static void section_coupons(struct pages *pg, struct page *p, const struct card_view *v)
{
	const struct programme *prog = pg->cfg.pol.prog;
	int64_t now = now_us();
	bool any = false;
	char tmp[64];
	for (size_t i = 0; i < v->n; i++) {
		const struct ledger_event *e = &v->ev[i];
		if (strcmp(e->kind, "coupon_issue") || coupon_used(v, e->ref))
			continue;
		const struct programme_coupon_rule *rule = campaign(prog, e->rule);
		int64_t expires = rule ? rules_warsaw_day_start_us(e->time_us, rule->valid_days + 1) : 0;
		if (rule && expires <= now)
			continue;
		if (!any)
			raw(p, "<section id=\"coupons\"><h2>"), raw(p, T(p, "Twoje kupony", "Your coupons")),
			    raw(p, "</h2><ul>");
		any = true;
		raw(p, "<li><strong>");
		esc(p, e->ref);
		raw(p, "</strong>");
		if (rule) {
			rawf(p, T(p, ": %d%% rabatu", ": %d%% off"), (int) (rule->percent_bp / 100));
			if (rule->percent_bp % 100)
				rawf(p, " (%d,%02d%%)", (int) (rule->percent_bp / 100),
				     (int) (rule->percent_bp % 100));
			if (rule->min_basket_gr > 0) {
				money_pln(rule->min_basket_gr, tmp, sizeof(tmp));
				raw(p, T(p, " przy zakupach od ", " on purchases from "));
				esc(p, tmp);
			}
			raw(p, rule->combinable ? T(p, "; łączy się z punktami", "; can be combined with points")
						: T(p, "; nie łączy się z punktami",
						    "; cannot be combined with points"));
			fmt_date(expires - 1, tmp, sizeof(tmp));
			raw(p, T(p, "; ważny do ", "; valid until "));
			esc(p, tmp);
			raw(p, ".");
		}
		if (prog->terms_url[0]) {
			raw(p, " <span class=\"muted\">");
			raw(p, T(p, "Regulamin: ", "Terms: "));
			esc(p, prog->terms_url);
			raw(p, "</span>");
		}
		raw(p, "</li>");
	}
	if (any)
		raw(p, "</ul></section>");
}

/* The stamp cards: the till's count after the card's latest stamp event of each. */
static void section_stamps(struct pages *pg, struct page *p, const struct card_view *v)
{
	const struct programme *prog = pg->cfg.pol.prog;
	char date[32];
	if (!v->n_stamps)
		return;
	raw(p, "<section id=\"stamps\"><h2>");
	raw(p, T(p, "Pieczątki", "Stamps"));
	raw(p, "</h2><ul>");
	for (size_t i = 0; i < v->n_stamps; i++) {
		const struct ledger_event *e = &v->stamp[i];
		int32_t every = 0;
		for (size_t k = 0; k < prog->n_stamps; k++)
			if (!strcmp(prog->stamps[k].id, e->ref))
				every = prog->stamps[k].every;
		raw(p, "<li class=\"stamp-card\" data-card=\"");
		esc(p, e->ref);
		rawf(p, "\" data-stamps=\"%" PRId64 "\"><strong>", e->progress);
		esc(p, e->ref);
		raw(p, "</strong>: ");
		if (every > 0)
			rawf(p,
			     T(p, "%" PRId64 " z %d (co %d. gratis)",
			       "%" PRId64 " of %d (every %dth free)"),
			     e->progress, (int) every, (int) every);
		else
			rawf(p, T(p, "%" PRId64 " pieczątek", "%" PRId64 " stamps"), e->progress);
		fmt_date(e->time_us, date, sizeof(date));
		raw(p, T(p, " <span class=\"muted\">(stan po zakupie z ",
			 " <span class=\"muted\">(as of your purchase on "));
		esc(p, date);
		raw(p, ", ");
		esc(p, e->receipt_no);
		raw(p, ")</span></li>");
	}
	raw(p, "</ul></section>");
}

/*
 * The next points expiry: the points left are the newest credits (points are taken and expire
 * oldest first), so the oldest of them, cut to the balance, expire first. Shown with the date
 * and all the points left that expire that day.
 */
static void section_expiry(struct pages *pg, struct page *p, struct card_view *v,
			   int64_t balance_pts)
{
	const struct programme *prog = pg->cfg.pol.prog;
	char date[32], d2[32];
	if (balance_pts <= 0 || !v->n_lots || prog->expiry_months <= 0)
		return;
	qsort(v->lots, v->n_lots, sizeof(v->lots[0]), lot_newer_first);
	int64_t left = balance_pts;
	size_t i = 0;
	for (; i < v->n_lots && left > v->lots[i].pts; i++)
		left -= v->lots[i].pts;
	if (i == v->n_lots)
		i = v->n_lots - 1, left = v->lots[i].pts; /* more points than credits: the oldest */
	int64_t expires = rules_lot_expiry_us(prog, v->lots[i].earned_us), pts = left;
	fmt_date(expires, date, sizeof(date));
	/* newer lots expiring the same day */
	for (size_t k = i; k-- > 0;) {
		fmt_date(rules_lot_expiry_us(prog, v->lots[k].earned_us), d2, sizeof(d2));
		if (strcmp(d2, date))
			break;
		pts += v->lots[k].pts;
	}
	raw(p, "<section id=\"expiry\"><p>");
	rawf(p, "<span id=\"expiry-points\" data-points=\"%" PRId64 "\">%" PRId64 "</span> ", pts,
	     pts);
	raw(p, expires > now_us() ? T(p, "pkt wygaśnie ", "points expire on ")
				  : T(p, "pkt wygasło ", "points expired on "));
	raw(p, "<strong id=\"expiry-date\">");
	esc(p, date);
	raw(p, "</strong>");
	rawf(p,
	     T(p, " (punkty ważne są %d mies. od zakupu).",
	       " (points are valid %d months from the purchase)."),
	     (int) prog->expiry_months);
	raw(p, "</p></section>");
}

/* "1,25" for 1250 per mille, "1" for 1000 */
static void fmt_times(int64_t permille, char *out, size_t size)
{
	if (permille % 1000 == 0)
		snprintf(out, size, "%" PRId64, permille / 1000);
	else if (permille % 10 == 0)
		snprintf(out, size, "%" PRId64 ",%02" PRId64, permille / 1000,
			 permille % 1000 / 10);
	else
		snprintf(out, size, "%" PRId64 ",%03" PRId64, permille / 1000, permille % 1000);
}

/* Why these points: what the event carries (its rule, its reference, its counts). */
static void why_line(struct pages *pg, struct page *p, const struct ledger_event *e)
{
	const struct programme *prog = pg->cfg.pol.prog;
	char tmp[64];
	raw(p, "<br><span class=\"muted why\" data-rule=\"");
	esc(p, e->rule);
	raw(p, "\">");
	if (!strcmp(e->kind, "earn") && prog->earn_gr_per_point > 0) {
		int64_t gpp = prog->earn_gr_per_point, base = e->amount_gr / gpp;
		money_pln(gpp, tmp, sizeof(tmp));
		raw_i64(p, base);
		raw(p, T(p, " pkt: 1 pkt za każde pełne ", " points: 1 point per full "));
		esc(p, tmp);
		if (base > 0 && e->points > base) {
			fmt_times(e->points * 1000 / base, tmp, sizeof(tmp));
			rawf(p,
			     T(p, " + %" PRId64 " pkt z poziomu i promocji (razem ×",
			       " + %" PRId64 " points from tier and offers (×"),
			     e->points - base);
			esc(p, tmp);
			raw(p, ")");
		}
	} else if (!strcmp(e->kind, "stamp")) {
		esc(p, e->rule);
		rawf(p,
		     T(p, ": +%" PRId64 " szt., na karcie %" PRId64,
		       ": +%" PRId64 " items, %" PRId64 " on the card"),
		     e->items, e->progress);
		if (e->amount_gr > 0) {
			money_pln(e->amount_gr, tmp, sizeof(tmp));
			raw(p, T(p, ", gratis za ", ", free items worth "));
			esc(p, tmp);
		}
	} else if (!strcmp(e->kind, "redeem") || !strcmp(e->kind, "coupon_use")) {
		esc(p, e->rule);
		if (e->ref[0]) {
			raw(p, " ");
			esc(p, e->ref);
		}
		if (e->amount_gr) {
			money_pln(e->amount_gr, tmp, sizeof(tmp));
			raw(p, T(p, ": rabat ", ": discount "));
			esc(p, tmp);
		}
	} else if (!strcmp(e->kind, "expire")) {
		esc(p, e->rule);
		rawf(p, T(p, ": punkty starsze niż %d mies.", ": points older than %d months"),
		     (int) prog->expiry_months);
	} else {
		esc(p, e->rule);
		if (e->ref[0]) {
			raw(p, " · ");
			esc(p, e->ref);
		}
	}
	raw(p, "</span>");
}

static void section_history(struct pages *pg, struct page *p, const struct card_view *v)
{
	char date[32], amount[32];
	raw(p, "<section id=\"history\"><h2>");
	raw(p, T(p, "Ostatnie operacje", "Recent activity"));
	raw(p, "</h2>");
	if (!v->n) {
		raw(p, "<p class=\"muted\">");
		raw(p, T(p, "Jeszcze nic.", "Nothing yet."));
		raw(p, "</p></section>");
		return;
	}
	raw(p, "<table><thead><tr><th>");
	raw(p, T(p, "Data i paragon", "Date and receipt"));
	raw(p, "</th><th>");
	raw(p, T(p, "Co", "What"));
	raw(p, "</th><th class=\"n\">");
	raw(p, T(p, "Punkty", "Points"));
	raw(p, "</th></tr></thead><tbody>");
	for (size_t i = 0; i < v->n && i < PAGES_HISTORY; i++) {
		const struct ledger_event *e = &v->ev[i];
		fmt_date(e->time_us, date, sizeof(date));
		raw(p, "<tr><td>");
		esc(p, date);
		raw(p, "<br><span class=\"muted\">");
		esc(p, e->receipt_no);
		raw(p, "</span></td><td>");
		esc(p, kind_label(p, e->kind));
		if (e->amount_gr && (!strcmp(e->kind, "earn") || !strcmp(e->kind, "refund"))) {
			money_pln(e->amount_gr, amount, sizeof(amount));
			raw(p, " · ");
			esc(p, amount);
		}
		if (e->rule[0])
			why_line(pg, p, e);
		raw(p, e->points > 0 ? "</td><td class=\"n\">+" : "</td><td class=\"n\">");
		raw_i64(p, e->points);
		raw(p, "</td></tr>");
	}
	raw(p, "</tbody></table></section>");
}

/* The CSRF field; one token for all the forms of a page. */
static void hidden_csrf(struct pages *pg, struct page *p, const char *token_text)
{
	if (!p->csrf[0])
		csrf_make(pg, token_text, p->csrf);
	raw(p, "<input type=\"hidden\" name=\"csrf\" value=\"");
	esc(p, p->csrf);
	raw(p, "\">");
}

/* The survey for the card's latest purchase not answered yet and not older than 30 days. */
static void section_survey(struct pages *pg, struct page *p, const struct card_view *v,
			   const char *token_text)
{
	struct store *st = store_of(pg);
	int64_t now = now_us();
	for (size_t i = 0; i < v->n; i++) {
		const struct ledger_event *e = &v->ev[i];
		struct store_survey s;
		char tid[LEDGER_TERMINAL_ID_MAX + 1];
		int64_t seq;
		if (strcmp(e->kind, "earn") || now - e->time_us > PAGES_SURVEY_DAYS * SYNC_DAY_US)
			continue;
		if (pages_parse_receipt(e->receipt_no, tid, &seq) < 0)
			continue;
		if (st->ops->survey_get(st, tid, seq, &s) != -ENOENT)
			return; /* the latest purchase is rated: nothing to ask */
		raw(p, "<section id=\"survey\"><h2>");
		raw(p, T(p, "Jedno pytanie", "One question"));
		raw(p, "</h2><form method=\"post\"><input type=\"hidden\" name=\"action\" "
		       "value=\"survey\"><input type=\"hidden\" name=\"receipt\" value=\"");
		esc(p, e->receipt_no);
		raw(p, "\">");
		hidden_csrf(pg, p, token_text);
		raw(p, "<p>");
		raw(p, T(p, "Jak bardzo prawdopodobne jest, że polecisz nas znajomym? (paragon ",
			 "How likely are you to recommend us to a friend? (receipt "));
		esc(p, e->receipt_no);
		raw(p, ")</p><div class=\"scale\">");
		for (int k = 0; k <= 10; k++) {
			raw(p, "<label><input type=\"radio\" name=\"score\" value=\"");
			raw_i64(p, k);
			raw(p, "\" required>");
			raw_i64(p, k);
			raw(p, "</label>");
		}
		raw(p, "</div><label>");
		raw(p, T(p, "Komentarz (nieobowiązkowy)", "Comment (optional)"));
		rawf(p, "<textarea name=\"comment\" rows=\"3\" maxlength=\"%d\"></textarea></label>",
		     PAGES_COMMENT_MAX);
		if (pg->cfg.pol.prog->survey_pts > 0)
			rawf(p, T(p, "<p class=\"muted\">Za odpowiedź: %" PRId64 " pkt.</p>",
				  "<p class=\"muted\">For your answer: %" PRId64 " points.</p>"),
			     pg->cfg.pol.prog->survey_pts);
		raw(p, "<button type=\"submit\">");
		raw(p, T(p, "Wyślij", "Send"));
		raw(p, "</button></form></section>");
		return;
	}
}

static void section_privacy(struct pages *pg, struct page *p, const char *card_code,
			    const char *token_text)
{
	struct store *st = store_of(pg);
	struct store_consent cs = {0};
	(void) st->ops->consent_get(st, card_code, &cs);
	raw(p, "<section id=\"privacy\"><h2>");
	raw(p, T(p, "Twoje dane", "Your data"));
	raw(p, "</h2><form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"consent\">");
	hidden_csrf(pg, p, token_text);
	rawf(p, "<label><input type=\"checkbox\" name=\"marketing\"%s> %s</label>",
	     cs.marketing ? " checked" : "",
	     T(p, "Chcę dostawać wiadomości o promocjach", "Send me messages about offers"));
	rawf(p, "<label><input type=\"checkbox\" name=\"first_name\"%s> %s</label>",
	     cs.first_name ? " checked" : "",
	     T(p, "Kasa może pokazywać moje imię", "The till may show my first name"));
	rawf(p, "<label>%s <input type=\"text\" name=\"name\" maxlength=\"%d\""
		" autocomplete=\"given-name\" value=\"",
	     T(p, "Imię:", "First name:"), FIRST_NAME_CHARS);
	esc(p, cs.first_name ? cs.name : "");
	raw(p, "\"></label>");
	raw(p, "<button type=\"submit\">");
	raw(p, T(p, "Zapisz zgody", "Save my choices"));
	raw(p, "</button></form><p><a href=\"");
	esc(p, token_text);
	raw(p, "/data.json\" download>");
	raw(p, T(p, "Pobierz wszystkie swoje dane (JSON)", "Download all your data (JSON)"));
	raw(p, "</a></p><form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"erase\">");
	hidden_csrf(pg, p, token_text);
	raw(p, "<label><input type=\"checkbox\" name=\"confirm\" required> ");
	raw(p, T(p, "Rozumiem, że punkty przepadną, a karta przestanie działać.",
		 "I understand that my points are lost and the card stops working."));
	raw(p, "</label><button type=\"submit\">");
	raw(p, T(p, "Usuń moje konto", "Delete my account"));
	raw(p, "</button></form></section>");
}

/* The card was erased (a tombstone) or blocked: 410 with nothing of the member. */
static int card_gone(struct pages *pg, const char *card_code)
{
	struct store *st = store_of(pg);
	char key[8 + LEDGER_CARD_CODE_LEN + 1], json[256];
	snprintf(key, sizeof(key), "member:%s", card_code);
	int r = st->ops->change_get(st, key, json, sizeof(json));
	if (r == 0 && strstr(json, "\"type\":\"tombstone\""))
		return 1;
	if (r < 0 && r != -ENOENT)
		return r;
	r = st->ops->card_revoked(st, card_code);
	return r < 0 ? r : r ? 2 : 0;
}

static enum MHD_Result card_page_read(struct pages *pg, struct MHD_Connection *c,
				      enum pages_lang lang, const struct token *tok,
				      const char *issuer, const char *token_text,
				      const char *notice, const char *notice_cls, unsigned status)
{
	struct store *st = store_of(pg);
	struct store_member m;
	struct page p = {.lang = lang};
	struct card_view v = {0};
	char tmp[64];
	int gone = card_gone(pg, tok->card_code);
	if (gone < 0)
		goto unavailable;
	if (gone == 1)
		return message_page(pg, c, MHD_HTTP_GONE, lang, T(&p, "Karta usunięta", "Card deleted"),
				    T(&p, "Dane tej karty zostały usunięte na prośbę jej właściciela.",
				      "This card's data was deleted at its owner's request."),
				    "note");
	if (gone == 2)
		return message_page(pg, c, MHD_HTTP_GONE, lang,
				    T(&p, "Karta zablokowana", "Card blocked"),
				    T(&p, "Ta karta została zgłoszona jako zgubiona lub skradziona. "
					  "Zapytaj przy kasie o nową.",
				      "This card was reported lost or stolen. Ask at the till for a "
				      "new one."),
				    "note");
	int r = st->ops->member_get(st, tok->card_code, &m);
	if (r < 0 && r != -ENOENT)
		goto unavailable;
	page_init_large(&p);
	page_begin(pg, &p, T(&p, "Twoja karta", "Your card"));
	if (notice) {
		raw(&p, "<section class=\"");
		raw(&p, notice_cls);
		raw(&p, "\" id=\"notice\"><p>");
		esc(&p, notice);
		raw(&p, "</p></section>");
	}
	section_qr(pg, c, &p, token_text, tok->card_code);
	if (r == -ENOENT) {
		/* the token is genuine, the server has nothing yet: say what the token proves */
		raw(&p, "<section class=\"note\" id=\"not-synced\"><p>");
		raw(&p, T(&p, "Kasa, która wydała tę kartę, nie przesłała jeszcze danych do "
			      "centrali. Saldo i historia pojawią się tutaj po jej synchronizacji.",
			  "The till that issued this card has not sent its data to us yet. Your "
			  "balance and history appear here once it has synced."));
		raw(&p, "</p><p>");
		raw(&p, T(&p, "Ten kod potwierdza: karta ", "This code proves: card "));
		card_groups(tok->card_code, tmp);
		esc(&p, tmp);
		if (issuer[0]) {
			raw(&p, T(&p, ", wydana przez kasę ", ", issued by till "));
			esc(&p, issuer);
		}
		fmt_date(tok->issued_s * 1000000, tmp, sizeof(tmp));
		raw(&p, T(&p, " dnia ", " on "));
		esc(&p, tmp);
		raw(&p, ".</p></section>");
		page_end(&p);
		return send_page(pg, c, status, &p);
	}
	/* the tier window's spend is summed from the same rows */
	v.spend_to_us = now_us();
	v.spend_from_us =
	    v.spend_to_us - (int64_t) pg->cfg.pol.prog->tier_window_days * SYNC_DAY_US;
	/* collect_event writes each entry it counts: no need to clear them first */
	if (!(v.ev = malloc(PAGES_EVENTS_MAX * sizeof(*v.ev))) ||
	    store_sqlite_card_page_events(st, tok->card_code, PAGES_EXPORT_MAX, collect_event, &v) <
		0 ||
	    st->ops->member_claims(st, tok->card_code, collect_claim, &v) < 0 ||
	    st->ops->member_surveys(st, tok->card_code, collect_survey, &v) < 0) {
		free(v.ev);
		free(v.lots);
		buf_free(&p.b);
		goto unavailable;
	}
	section_balance(pg, &p, &m, &v);
	section_expiry(pg, &p, &v, m.balance_pts);
	section_stamps(pg, &p, &v);
	section_coupons(pg, &p, &v);
	section_survey(pg, &p, &v, token_text);
	section_history(pg, &p, &v);
	section_privacy(pg, &p, tok->card_code, token_text);
	free(v.ev);
	free(v.lots);
	page_end(&p);
	return send_page(pg, c, status, &p);
unavailable:
	return message_page(pg, c, MHD_HTTP_SERVICE_UNAVAILABLE, lang,
			    T(&p, "Chwilowa przerwa", "Temporarily unavailable"),
			    T(&p, "Nie możemy teraz pokazać karty. Spróbuj za chwilę.",
			      "We cannot show the card right now. Please try again shortly."),
			    "bad");
}

/* The card page from one read transaction: one snapshot, one lock for all its reads. */
static enum MHD_Result card_page(struct pages *pg, struct MHD_Connection *c, enum pages_lang lang,
				 const struct token *tok, const char *issuer,
				 const char *token_text, const char *notice, const char *notice_cls,
				 unsigned status)
{
	struct store *st = store_of(pg);
	bool rtx = store_sqlite_read_begin(st) == 0;
	enum MHD_Result r =
	    card_page_read(pg, c, lang, tok, issuer, token_text, notice, notice_cls, status);
	if (rtx && store_sqlite_read_end(st) < 0)
		st->ops->rollback(st);
	return r;
}

/* ---- the claim page ---- */

static void claim_form(struct pages *pg, struct page *p, const char *token_text,
		       const char *typed)
{
	raw(p, "<section id=\"claim\"><h2>");
	raw(p, T(p, "Mam kartę", "I have a card"));
	raw(p, "</h2><form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"claim\">");
	hidden_csrf(pg, p, token_text);
	raw(p, "<label>");
	raw(p, T(p, "Kod karty (12 znaków z karty lub paragonu)",
		 "Card code (12 characters, on the card or a receipt)"));
	raw(p, "<input type=\"text\" name=\"card\" autocomplete=\"off\" autocapitalize=\"characters\" "
	       "spellcheck=\"false\" maxlength=\"20\" required value=\"");
	esc(p, typed ? typed : "");
	raw(p, "\"></label><button type=\"submit\">");
	raw(p, T(p, "Dopisz punkty do karty", "Add the points to my card"));
	raw(p, "</button></form><h2>");
	raw(p, T(p, "Nie mam karty", "I have no card"));
	raw(p, "</h2><form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"claim\">"
	       "<input type=\"hidden\" name=\"card\" value=\"new\">");
	hidden_csrf(pg, p, token_text);
	if (pg->cfg.pol.prog->welcome_pts > 0)
		rawf(p, T(p, "<p class=\"muted\">Nowa karta dostaje %" PRId64 " pkt na powitanie.</p>",
			  "<p class=\"muted\">A new card gets %" PRId64 " welcome points.</p>"),
		     pg->cfg.pol.prog->welcome_pts);
	raw(p, "<button type=\"submit\">");
	raw(p, T(p, "Załóż nową kartę z tymi punktami", "Make me a new card with these points"));
	raw(p, "</button></form></section>");
}

static void claim_summary(struct page *p, const struct token *tok, const char *issuer)
{
	char amount[32], date[32], until[32];
	const struct token_claim *cl = &tok->claim;
	money_pln(cl->amount_gr, amount, sizeof(amount));
	fmt_date(tok->issued_s * 1000000, date, sizeof(date));
	fmt_datetime(tok->expires_s * 1000000, until, sizeof(until));
	rawf(p, "<section><p class=\"muted\">%s</p><p class=\"balance\" id=\"claim-points\" "
		"data-points=\"%" PRId64 "\">%" PRId64 " <small>%s</small></p><p>",
	     T(p, "Punkty z paragonu", "Points from the receipt"), cl->points_pts, cl->points_pts,
	     T(p, "pkt", "points"));
	raw(p, T(p, "Paragon ", "Receipt "));
	rawf(p, "<strong>");
	esc(p, cl->terminal_id);
	rawf(p, "-%06" PRIu32 "</strong>", cl->seq);
	raw(p, T(p, " na kwotę ", " for "));
	esc(p, amount);
	raw(p, T(p, ", z dnia ", ", of "));
	esc(p, date);
	(void) issuer;
	raw(p, ".</p><p class=\"muted\">");
	raw(p, T(p, "Punkty można odebrać do ", "The points can be claimed until "));
	esc(p, until);
	raw(p, ".</p></section>");
}

static enum MHD_Result claim_page(struct pages *pg, struct MHD_Connection *c, enum pages_lang lang,
				  const struct token *tok, const char *issuer,
				  const char *token_text, const char *error, const char *typed,
				  unsigned status)
{
	struct store *st = store_of(pg);
	struct store_claim cl;
	struct page p = {.lang = lang};
	int r = st->ops->claim_get(st, tok->claim.terminal_id, tok->claim.seq, &cl);
	if (r < 0 && r != -ENOENT)
		return message_page(pg, c, MHD_HTTP_SERVICE_UNAVAILABLE, lang,
				    T(&p, "Chwilowa przerwa", "Temporarily unavailable"),
				    T(&p, "Spróbuj za chwilę.", "Please try again shortly."), "bad");
	buf_init(&p.b, PAGES_PAGE_MAX);
	page_begin(pg, &p, T(&p, "Odbierz punkty", "Claim your points"));
	claim_summary(&p, tok, issuer);
	if (r == 0) {
		char date[32];
		fmt_datetime(cl.claimed_us, date, sizeof(date));
		raw(&p, "<section class=\"note\" id=\"already\"><p>");
		raw(&p, T(&p, "Punkty z tego paragonu zostały już odebrane (",
			  "The points of this receipt were already claimed ("));
		esc(&p, date);
		raw(&p, ").</p></section>");
	} else {
		if (error) {
			raw(&p, "<section class=\"bad\" id=\"error\"><p>");
			esc(&p, error);
			raw(&p, "</p></section>");
		}
		claim_form(pg, &p, token_text, typed);
	}
	page_end(&p);
	return send_page(pg, c, status, &p);
}

/* ---- the coupon page ---- */

static enum MHD_Result coupon_page(struct pages *pg, struct MHD_Connection *c,
				   enum pages_lang lang, const struct token *tok,
				   const char *token_text)
{
	struct page p = {.lang = lang};
	char url[TOKEN_URL_BASE_MAX + TOKEN_TEXT_MAX + 1], until[32];
	buf_init(&p.b, PAGES_PAGE_MAX);
	page_begin(pg, &p, T(&p, "Twój kupon", "Your coupon"));
	card_url(pg, c, token_text, url, sizeof(url));
	raw(&p, "<section>");
	qr_svg(pg, &p, url);
	raw(&p, "<p class=\"code\" id=\"coupon-id\">");
	esc(&p, tok->coupon_id);
	raw(&p, "</p><p class=\"muted\">");
	raw(&p, T(&p, "Pokaż ten kod przy kasie. Warunki kuponu są wydrukowane na paragonie. "
		      "Ten kod jest ważny do ",
		  "Show this code at the till. The coupon's terms are printed on the receipt. "
		  "This code is valid until "));
	fmt_datetime(tok->expires_s * 1000000, until, sizeof(until));
	esc(&p, until);
	raw(&p, ".</p></section>");
	page_end(&p);
	return send_page(pg, c, MHD_HTTP_OK, &p);
}

/* ---- the member's data (JSON) ---- */

static void json_i64(cJSON *o, const char *name, int64_t v)
{
	sync_json_i64(o, name, v);
}

static int export_event(void *userdata, const struct ledger_event *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "receipt_no", e->receipt_no);
	cJSON_AddStringToObject(o, "terminal_id", e->terminal_id);
	cJSON_AddStringToObject(o, "kind", e->kind);
	json_i64(o, "points", e->points);
	json_i64(o, "amount_gr", e->amount_gr);
	json_i64(o, "time_us", e->time_us);
	cJSON_AddStringToObject(o, "rule", e->rule);
	cJSON_AddStringToObject(o, "ref", e->ref);
	cJSON_AddItemToArray(userdata, o);
	return 0;
}

static int export_claim(void *userdata, const struct store_claim *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "terminal_id", c->terminal_id);
	json_i64(o, "seq", c->seq);
	json_i64(o, "points", c->points);
	json_i64(o, "bonus_pts", c->bonus_pts);
	json_i64(o, "amount_gr", c->amount_gr);
	cJSON_AddBoolToObject(o, "new_card", c->new_card);
	json_i64(o, "claimed_us", c->claimed_us);
	cJSON_AddItemToArray(userdata, o);
	return 0;
}

static int export_survey(void *userdata, const struct store_survey *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "terminal_id", s->terminal_id);
	json_i64(o, "seq", s->seq);
	json_i64(o, "score", s->score);
	cJSON_AddStringToObject(o, "comment", s->comment);
	json_i64(o, "bonus_pts", s->bonus_pts);
	json_i64(o, "time_us", s->time_us);
	cJSON_AddItemToArray(userdata, o);
	return 0;
}

static enum MHD_Result data_export(struct pages *pg, struct MHD_Connection *c,
				   enum pages_lang lang, const struct token *tok)
{
	struct store *st = store_of(pg);
	struct store_member m;
	struct store_consent cs;
	struct page p = {.lang = lang};
	int r = card_gone(pg, tok->card_code);
	if (r == 1 || r == 2)
		return message_page(pg, c, MHD_HTTP_GONE, lang, T(&p, "Brak danych", "No data"),
				    T(&p, "Ta karta nie ma już danych.", "This card has no data any more."),
				    "note");
	r = r < 0 ? r : st->ops->member_get(st, tok->card_code, &m);
	if (r == -ENOENT)
		return message_page(pg, c, MHD_HTTP_NOT_FOUND, lang, T(&p, "Brak danych", "No data"),
				    T(&p, "Nie mamy jeszcze danych tej karty.",
				      "We hold no data of this card yet."),
				    "note");
	cJSON *o = cJSON_CreateObject(), *mo, *list;
	if (r < 0 || !o)
		goto fail;
	cJSON_AddStringToObject(o, "card_code", m.card_code);
	json_i64(o, "exported_us", now_us());
	mo = cJSON_AddObjectToObject(o, "member");
	json_i64(mo, "balance_pts", m.balance_pts);
	cJSON_AddStringToObject(mo, "tier", m.tier);
	json_i64(mo, "updated_us", m.updated_us);
	mo = cJSON_AddObjectToObject(o, "consents");
	r = st->ops->consent_get(st, m.card_code, &cs);
	if (r < 0 && r != -ENOENT)
		goto fail;
	cJSON_AddBoolToObject(mo, "marketing", r == 0 && cs.marketing);
	cJSON_AddBoolToObject(mo, "first_name", r == 0 && cs.first_name);
	if (r == 0 && cs.first_name && cs.name[0])
		cJSON_AddStringToObject(mo, "name", cs.name);
	if (r == 0)
		json_i64(mo, "updated_us", cs.updated_us);
	list = cJSON_AddArrayToObject(o, "events");
	if (st->ops->member_events(st, m.card_code, PAGES_EXPORT_MAX, export_event, list) < 0)
		goto fail;
	list = cJSON_AddArrayToObject(o, "claims");
	if (st->ops->member_claims(st, m.card_code, export_claim, list) < 0)
		goto fail;
	list = cJSON_AddArrayToObject(o, "surveys");
	if (st->ops->member_surveys(st, m.card_code, export_survey, list) < 0)
		goto fail;
	cJSON_AddStringToObject(o, "note",
				"The server holds no name, card UID or contact details; the "
				"terminals hold the card's pseudonym (a keyed hash of its UID).");
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	o = NULL;
	if (!text)
		goto fail;
	struct buf b;
	char disp[80];
	buf_init(&b, 16 * 1024 * 1024);
	r = buf_append_str(&b, text);
	free(text);
	if (r < 0 || buf_append_byte(&b, '\n') < 0) {
		buf_free(&b);
		goto fail;
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"loyalty-%s.json\"", m.card_code);
	return send_buf(pg, c, MHD_HTTP_OK, &b, "application/json", lang, disp);
fail:
	cJSON_Delete(o);
	return message_page(pg, c, MHD_HTTP_SERVICE_UNAVAILABLE, lang,
			    T(&p, "Chwilowa przerwa", "Temporarily unavailable"),
			    T(&p, "Spróbuj za chwilę.", "Please try again shortly."), "bad");
}

/* ---- form posts ---- */

static enum MHD_Result post_claim(struct pages *pg, struct MHD_Connection *c, enum pages_lang lang,
				  const struct token *tok, const char *issuer,
				  const char *token_text, const struct pages_form *f)
{
	struct page p = {.lang = lang};
	char code[LEDGER_CARD_CODE_LEN + 1];
	struct store_claim cl;
	enum customer_result res;
	if (!f->has[PAGES_F_CARD])
		return claim_page(pg, c, lang, tok, issuer, token_text,
				  T(&p, "Wpisz kod karty.", "Type the card code."), NULL,
				  MHD_HTTP_BAD_REQUEST);
	if (!f->new_card && pages_card_code(f->card, code) < 0)
		return claim_page(pg, c, lang, tok, issuer, token_text,
				  T(&p, "To nie jest kod karty: 12 znaków, litery i cyfry.",
				    "That is not a card code: 12 letters and digits."),
				  f->card, 422);
	int r = customer_claim(store_of(pg), &pg->cfg.pol, &tok->claim, f->new_card ? NULL : code,
			       now_us(), &cl, &res);
	if (r < 0)
		return message_page(pg, c, MHD_HTTP_SERVICE_UNAVAILABLE, lang,
				    T(&p, "Chwilowa przerwa", "Temporarily unavailable"),
				    T(&p, "Punkty nie zostały dopisane. Spróbuj za chwilę.",
				      "The points were not added. Please try again shortly."),
				    "bad");
	if (res == CUSTOMER_ALREADY)
		return claim_page(pg, c, lang, tok, issuer, token_text, NULL, NULL,
				  MHD_HTTP_CONFLICT);
	if (res == CUSTOMER_UNKNOWN_CARD)
		return claim_page(pg, c, lang, tok, issuer, token_text,
				  T(&p, "Nie znamy karty o tym kodzie. Sprawdź kod albo załóż nową "
					"kartę.",
				    "We do not know a card with this code. Check it, or make a new "
				    "card."),
				  f->card, 422);
	if (res == CUSTOMER_BLOCKED_CARD)
		return claim_page(pg, c, lang, tok, issuer, token_text,
				  T(&p, "Ta karta jest zablokowana.", "This card is blocked."),
				  f->card, 422);
	if (res != CUSTOMER_OK)
		return message_page(pg, c, MHD_HTTP_CONFLICT, lang,
				    T(&p, "Nie można odebrać", "Cannot be claimed"),
				    T(&p, "Ten paragon nie ma punktów do odebrania.",
				      "This receipt has no points to claim."),
				    "note");
	/* done: the card's page when the server can give its link, else its code */
	char msg[200], groups[16];
	card_groups(cl.card_code, groups);
	if (cl.new_card)
		snprintf(msg, sizeof(msg),
			 T(&p, "Gotowe: nowa karta %s ma %" PRId64 " pkt (w tym %" PRId64
			       " pkt na powitanie).",
			   "Done: your new card %s has %" PRId64 " points (%" PRId64
			   " welcome points included)."),
			 groups, cl.points + cl.bonus_pts, cl.bonus_pts);
	else
		snprintf(msg, sizeof(msg),
			 T(&p, "Gotowe: %" PRId64 " pkt dopisano do karty %s.",
			   "Done: %" PRId64 " points were added to card %s."),
			 cl.points, groups);
	if (cl.new_card && pg->cfg.token_sk) {
		struct token card = {.type = TOKEN_CARD};
		char text[TOKEN_TEXT_MAX + 1];
		int64_t now_s = now_us() / 1000000;
		card.issued_s = now_s;
		card.expires_s = now_s + 5 * 366 * 86400;
		snprintf(card.card_code, sizeof(card.card_code), "%s", cl.card_code);
		struct token shown;
		enum token_status ts;
		struct token_key k;
		token_key_init(&k, pg->cfg.token_sk + 32, TOKEN_TYPE_BIT(TOKEN_CARD));
		/* read back as any card token is, so the page shows what the link holds */
		if (token_sign(&card, pg->cfg.token_sk, text, sizeof(text)) > 0 &&
		    token_verify(text, strlen(text), &k, 1, now_s, &shown, &ts) == 0 &&
		    ts == TOKEN_OK)
			return card_page(pg, c, lang, &shown, "", text, msg, "good",
					 MHD_HTTP_CREATED);
	}
	struct page q = {.lang = lang};
	buf_init(&q.b, PAGES_PAGE_MAX);
	page_begin(pg, &q, T(&q, "Punkty odebrane", "Points claimed"));
	raw(&q, "<section class=\"good\" id=\"notice\"><p>");
	esc(&q, msg);
	raw(&q, "</p><p>");
	raw(&q, T(&q, "Saldo zobaczysz, skanując kod QR karty z paragonu.",
		  "Scan your card's QR code on a receipt to see the balance."));
	raw(&q, "</p></section>");
	page_end(&q);
	return send_page(pg, c, cl.new_card ? MHD_HTTP_CREATED : MHD_HTTP_OK, &q);
}

static enum MHD_Result post_card(struct pages *pg, struct MHD_Connection *c, enum pages_lang lang,
				 const struct token *tok, const char *issuer,
				 const char *token_text, const struct pages_form *f)
{
	struct store *st = store_of(pg);
	struct store_member m;
	struct page p = {.lang = lang};
	int r = card_gone(pg, tok->card_code);
	if (r != 0 || (r = st->ops->member_get(st, tok->card_code, &m)) < 0)
		return card_page(pg, c, lang, tok, issuer, token_text, NULL, NULL,
				 MHD_HTTP_CONFLICT);
	if (!strcmp(f->action, "survey")) {
		char tid[LEDGER_TERMINAL_ID_MAX + 1];
		int64_t seq;
		struct store_survey s;
		enum customer_result res;
		if (f->score < 0 || pages_parse_receipt(f->receipt, tid, &seq) < 0)
			return card_page(pg, c, lang, tok, issuer, token_text,
					 T(&p, "Wybierz ocenę od 0 do 10.", "Pick a score from 0 to 10."),
					 "bad", MHD_HTTP_BAD_REQUEST);
		if (customer_survey(st, &pg->cfg.pol, tok->card_code, tid, seq, f->score, f->comment,
				    now_us(), &s, &res) < 0)
			goto unavailable;
		if (res == CUSTOMER_ALREADY)
			return card_page(pg, c, lang, tok, issuer, token_text,
					 T(&p, "Ten paragon ma już ocenę. Dziękujemy!",
					   "This receipt was rated already. Thank you!"),
					 "note", MHD_HTTP_CONFLICT);
		if (res != CUSTOMER_OK)
			return card_page(pg, c, lang, tok, issuer, token_text,
					 T(&p, "Tego paragonu nie ma na tej karcie.",
					   "This receipt is not on this card."),
					 "bad", 422);
		char msg[160];
		if (s.bonus_pts > 0)
			snprintf(msg, sizeof(msg),
				 T(&p, "Dziękujemy za odpowiedź! Dopisaliśmy %" PRId64 " pkt.",
				   "Thank you for your answer! %" PRId64 " points were added."),
				 s.bonus_pts);
		else
			snprintf(msg, sizeof(msg), "%s",
				 T(&p, "Dziękujemy za odpowiedź!", "Thank you for your answer!"));
		return card_page(pg, c, lang, tok, issuer, token_text, msg, "good", MHD_HTTP_OK);
	}
	if (!strcmp(f->action, "consent")) {
		char name[FIRST_NAME_MAX] = "";
		const char *why;
		if (f->first_name && first_name_clean(f->name, strlen(f->name), name, &why) < 0)
			return card_page(pg, c, lang, tok, issuer, token_text,
					 T(&p,
					   "Wpisz imię, które kasa może pokazywać: litery, spacje, "
					   "łączniki, apostrofy i kropki, do 24 znaków.",
					   "Type the first name the till may show: letters, spaces, "
					   "hyphens, apostrophes and full stops, up to 24 characters."),
					 "bad", MHD_HTTP_BAD_REQUEST);
		if (customer_consent(st, &pg->cfg.pol, tok->card_code, f->marketing, f->first_name,
				     name, now_us()) < 0)
			goto unavailable;
		return card_page(pg, c, lang, tok, issuer, token_text,
				 T(&p, "Zapisaliśmy Twoje zgody.", "Your choices were saved."), "good",
				 MHD_HTTP_OK);
	}
	if (!strcmp(f->action, "erase")) {
		if (!f->confirm)
			return card_page(pg, c, lang, tok, issuer, token_text,
					 T(&p, "Zaznacz potwierdzenie, aby usunąć konto.",
					   "Tick the confirmation to delete the account."),
					 "bad", MHD_HTTP_BAD_REQUEST);
		if (sync_erase(st, tok->card_code, now_us()) < 0)
			goto unavailable;
		return message_page(pg, c, MHD_HTTP_OK, lang,
				    T(&p, "Konto usunięte", "Account deleted"),
				    T(&p, "Usunęliśmy Twoje dane i punkty. Kasy dowiedzą się o tym "
					  "przy najbliższej synchronizacji.",
				      "Your data and points were deleted. The tills learn of it at "
				      "their next sync."),
				    "good");
	}
	return message_page(pg, c, MHD_HTTP_BAD_REQUEST, lang,
			    T(&p, "Nieznany formularz", "Unknown form"),
			    T(&p, "Tego formularza nie znamy.", "We do not know this form."), "bad");
unavailable:
	return message_page(pg, c, MHD_HTTP_SERVICE_UNAVAILABLE, lang,
			    T(&p, "Chwilowa przerwa", "Temporarily unavailable"),
			    T(&p, "Nic nie zostało zmienione. Spróbuj za chwilę.",
			      "Nothing was changed. Please try again shortly."),
			    "bad");
}

/* ---- routing ---- */

static enum MHD_Result token_refused(struct pages *pg, struct MHD_Connection *c,
				     enum pages_lang lang, enum token_status ts)
{
	struct page p = {.lang = lang};
	if (ts == TOKEN_EXPIRED)
		return message_page(pg, c, MHD_HTTP_GONE, lang,
				    T(&p, "Link wygasł", "This link has expired"),
				    T(&p, "Ten kod z paragonu stracił ważność. Nowy znajdziesz na "
					  "następnym paragonie.",
				      "This receipt code is no longer valid. Your next receipt has a "
				      "new one."),
				    "note");
	if (ts == TOKEN_UNKNOWN_KEY || ts == TOKEN_KEY_NOT_ALLOWED || ts == TOKEN_BAD_SIGNATURE)
		return message_page(pg, c, MHD_HTTP_FORBIDDEN, lang,
				    T(&p, "Nieznany kod", "Unknown code"),
				    T(&p, "Tego kodu nie wydała żadna z naszych kas (albo został "
					  "zmieniony).",
				      "None of our tills issued this code (or it was altered)."),
				    "bad");
	return message_page(pg, c, MHD_HTTP_BAD_REQUEST, lang,
				    T(&p, "Uszkodzony link", "Damaged link"),
				    T(&p, "Ten link jest niepełny albo uszkodzony. Zeskanuj kod QR z "
					  "paragonu jeszcze raz.",
				      "This link is incomplete or damaged. Scan the receipt's QR code "
				      "again."),
				    "bad");
}

static enum MHD_Result route_token(struct pages *pg, struct MHD_Connection *c,
				   enum pages_lang lang, struct pages_path *pp, bool get,
				   bool in_read, struct rq *rq);

static enum MHD_Result route(struct pages *pg, struct MHD_Connection *c, const char *url,
			     const char *method, struct rq *rq)
{
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
	bool post = !strcmp(method, MHD_HTTP_METHOD_POST);
	const char *lang_q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang");
	enum pages_lang lang = pages_pick_lang(
	    lang_q, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Language"));
	struct page p = {.lang = lang};
	struct pages_path path;

	pages_parse_path(url, &path);
	if (path.route == PAGES_NOT_FOUND) {
		if (!strcmp(url, "/") && get)
			return message_page(pg, c, MHD_HTTP_OK, lang,
					    T(&p, "Karta lojalnościowa", "Loyalty card"),
					    T(&p, "Zeskanuj kod QR z paragonu, aby zobaczyć swoją kartę.",
					      "Scan the QR code on your receipt to see your card."),
					    "note");
		return message_page(pg, c, MHD_HTTP_NOT_FOUND, lang,
				    T(&p, "Nie ma takiej strony", "No such page"),
				    T(&p, "Zeskanuj kod QR z paragonu, aby zobaczyć swoją kartę.",
				      "Scan the QR code on your receipt to see your card."),
				    "note");
	}
	if (!get && !(post && path.route == PAGES_TOKEN)) {
		struct page q = {.lang = lang};
		buf_init(&q.b, PAGES_PAGE_MAX);
		page_begin(pg, &q, T(&q, "Niedozwolona metoda", "Method not allowed"));
		page_end(&q);
		return send_page(pg, c, MHD_HTTP_METHOD_NOT_ALLOWED, &q);
	}
	if (path.token_lower && get) {
		/* the canonical address: /C/ and the token in capitals (base32 is case-blind
		 * to people, not to the signature check) */
		char loc[16 + PAGES_PATH_TOKEN_MAX + 16];
		for (char *s = path.token; *s; s++)
			if (*s >= 'a' && *s <= 'z')
				*s = (char) (*s - 'a' + 'A');
		snprintf(loc, sizeof(loc), "/C/%s%s%s", path.token,
			 path.route == PAGES_TOKEN_DATA ? "/data.json" : "",
			 lang_q && (!strcmp(lang_q, "en") || !strcmp(lang_q, "pl"))
			     ? (lang == PAGES_EN ? "?lang=en" : "?lang=pl")
			     : "");
		struct MHD_Response *resp =
		    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
		add_security_headers(pg, resp);
		enum MHD_Result r = MHD_queue_response(c, MHD_HTTP_PERMANENT_REDIRECT, resp);
		MHD_destroy_response(resp);
		return r;
	}
	if (!get)
		return route_token(pg, c, lang, &path, false, false, rq);
	/* a page: its token's keys and everything it shows from one read transaction (one
	 * snapshot, one lock) */
	struct store *st = store_of(pg);
	bool rtx = store_sqlite_read_begin(st) == 0;
	enum MHD_Result r = route_token(pg, c, lang, &path, true, rtx, rq);
	if (rtx && store_sqlite_read_end(st) < 0)
		st->ops->rollback(st);
	return r;
}

/* The token's request, once method and address are settled; in_read: within a read
 * transaction already (a GET). */
static enum MHD_Result route_token(struct pages *pg, struct MHD_Connection *c,
				   enum pages_lang lang, struct pages_path *pp, bool get,
				   bool in_read, struct rq *rq)
{
	struct page p = {.lang = lang};
	struct pages_path path = *pp;

	/* the token: layout, key, signature, expiry; nothing is read before it passes */
	struct token tok;
	enum token_status ts;
	struct keyset ks;
	if (token_peek(path.token, path.token_len, &tok, &ts) < 0 || ts != TOKEN_OK)
		return token_refused(pg, c, lang, ts);
	if (load_keys(pg, tok.key_id, &ks) < 0)
		return message_page(pg, c, MHD_HTTP_SERVICE_UNAVAILABLE, lang,
				    T(&p, "Chwilowa przerwa", "Temporarily unavailable"),
				    T(&p, "Spróbuj za chwilę.", "Please try again shortly."), "bad");
	if (token_check(pg, path.token, path.token_len, &ks, now_us() / 1000000, &tok, &ts) < 0 ||
	    ts != TOKEN_OK)
		return token_refused(pg, c, lang, ts);
	const char *issuer = "";
	for (size_t i = 0; i < ks.n; i++)
		if (ks.keys[i].key_id == tok.key_id)
			issuer = ks.issuer[i];
	if (ks.n > 1)
		issuer = ""; /* keys sharing an id: the page names no till */

	if (path.route == PAGES_TOKEN_DATA) {
		if (tok.type != TOKEN_CARD)
			return message_page(pg, c, MHD_HTTP_NOT_FOUND, lang,
					    T(&p, "Nie ma takiej strony", "No such page"),
					    T(&p, "Dane są dostępne tylko dla karty.",
					      "Data is available for a card only."),
					    "note");
		return data_export(pg, c, lang, &tok);
	}
	if (get) {
		if (tok.type == TOKEN_CARD && in_read)
			return card_page_read(pg, c, lang, &tok, issuer, path.token, NULL, NULL,
					      MHD_HTTP_OK);
		if (tok.type == TOKEN_CARD)
			return card_page(pg, c, lang, &tok, issuer, path.token, NULL, NULL,
					 MHD_HTTP_OK);
		if (tok.type == TOKEN_CLAIM)
			return claim_page(pg, c, lang, &tok, issuer, path.token, NULL, NULL,
					  MHD_HTTP_OK);
		return coupon_page(pg, c, lang, &tok, path.token);
	}

	/* a form: from our own page, within the client's allowance, with a fresh CSRF token */
	struct pages_form f;
	char why[160];
	if (tok.type == TOKEN_COUPON)
		goto method;
	if (!rate_take(pg, c)) {
		struct page q = {.lang = lang};
		enum MHD_Result r;
		buf_init(&q.b, PAGES_PAGE_MAX);
		page_begin(pg, &q, T(&q, "Za dużo prób", "Too many attempts"));
		raw(&q, "<section class=\"bad\"><p>");
		rawf(&q, T(&q, "Spróbuj ponownie za %u minut.", "Please try again in %u minutes."),
		     (pg->cfg.rate_window_s + 59) / 60);
		raw(&q, "</p></section>");
		page_end(&q);
		r = send_page(pg, c, MHD_HTTP_TOO_MANY_REQUESTS, &q);
		return r;
	}
	if (rq->too_big)
		return message_page(pg, c, MHD_HTTP_CONTENT_TOO_LARGE, lang,
				    T(&p, "Za duży formularz", "Form too large"),
				    T(&p, "Formularz jest za duży.", "The form is too large."), "bad");
	if (!same_origin(c))
		return message_page(pg, c, MHD_HTTP_FORBIDDEN, lang,
				    T(&p, "Formularz z innej strony", "Form from another site"),
				    T(&p, "Ten formularz nie pochodzi z naszej strony.",
				      "This form did not come from our page."),
				    "bad");
	if (pages_parse_form(rq->body, rq->len, &f, why, sizeof(why)) < 0)
		return message_page(pg, c, MHD_HTTP_BAD_REQUEST, lang,
				    T(&p, "Błędny formularz", "Bad form"), why, "bad");
	if (!csrf_ok(pg, path.token, f.csrf))
		return message_page(pg, c, MHD_HTTP_FORBIDDEN, lang,
				    T(&p, "Formularz wygasł", "The form has expired"),
				    T(&p, "Otwórz stronę jeszcze raz i wyślij formularz ponownie.",
				      "Open the page again and send the form once more."),
				    "bad");
	if (tok.type == TOKEN_CLAIM && !strcmp(f.action, "claim"))
		return post_claim(pg, c, lang, &tok, issuer, path.token, &f);
	if (tok.type == TOKEN_CARD)
		return post_card(pg, c, lang, &tok, issuer, path.token, &f);
method:
	return message_page(pg, c, MHD_HTTP_BAD_REQUEST, lang, T(&p, "Nieznany formularz", "Unknown form"),
			    T(&p, "Tego formularza nie znamy.", "We do not know this form."), "bad");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct pages *pg = cls;
	struct rq *rq = *con_cls;
	(void) version;
	if (!rq) {
		const char *cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*con_cls = rq;
		if (cl && strtoull(cl, NULL, 10) > PAGES_FORM_MAX)
			rq->too_big = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big && rq->len + *upload_size <= PAGES_FORM_MAX) {
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		} else {
			rq->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!thread_store(pg)) {
		struct page p = {.lang = PAGES_PL};
		return message_page(pg, c, MHD_HTTP_SERVICE_UNAVAILABLE, PAGES_PL,
				    T(&p, "Chwilowa przerwa", "Temporarily unavailable"),
				    T(&p, "Spróbuj za chwilę.", "Please try again shortly."),
				    "bad");
	}
	return route(pg, c, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void) cls;
	(void) c;
	(void) toe;
	free(*con_cls);
	*con_cls = NULL;
}

static void pages_free(struct pages *pg)
{
	for (size_t i = 0; i < pg->n_conns; i++)
		store_close(pg->conns[i]);
	free(pg->conns);
	pages_memo_free(pg->memo);
	pthread_key_delete(pg->key);
	pthread_mutex_destroy(&pg->conns_lock);
	pthread_mutex_destroy(&pg->rate_lock);
	sodium_memzero(pg->csrf_key, sizeof(pg->csrf_key));
	free(pg);
}

int pages_start(const struct pages_config *cfg, struct pages **ret, uint16_t *ret_port, char *err,
		size_t err_size)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	uint8_t h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];

	if (inet_pton(AF_INET, cfg->listen, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(cfg->port);
	} else if (inet_pton(AF_INET6, cfg->listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, err_size, "not an IPv4 or IPv6 address: %s", cfg->listen);
		return -EINVAL;
	}
	struct pages *pg = calloc(1, sizeof(*pg));
	if (!pg)
		return -ENOMEM;
	if (pthread_key_create(&pg->key, NULL) != 0) {
		free(pg);
		return -ENOMEM;
	}
	pthread_mutex_init(&pg->conns_lock, NULL);
	pthread_mutex_init(&pg->rate_lock, NULL);
	pg->cfg = *cfg;
	pg->threads = cfg->threads;
	if (!pg->threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		pg->threads = n > 0 ? (unsigned) n : 1;
	}
	if (pg->threads > PAGES_THREADS_MAX)
		pg->threads = PAGES_THREADS_MAX;
	/* a connection per thread, opened now so that a store that does not open stops the start */
	for (unsigned i = 0; i < pg->threads; i++) {
		int r = conns_add(pg, err, err_size);
		if (r < 0) {
			pages_free(pg);
			return r == -ENOMEM ? r : -EIO;
		}
	}
	if (pages_memo_new(PAGES_MEMO_TOKENS, PAGES_MEMO_QRS, &pg->memo) < 0) {
		pages_free(pg);
		return -ENOMEM;
	}
	if (!pg->cfg.store_name)
		pg->cfg.store_name = "";
	if (!pg->cfg.rate_per_window)
		pg->cfg.rate_per_window = 10;
	if (!pg->cfg.rate_window_s)
		pg->cfg.rate_window_s = 600;
	randombytes_buf(pg->csrf_key, sizeof(pg->csrf_key));
	/* the one inline stylesheet is allowed by its hash; nothing else loads */
	crypto_hash_sha256(h, (const uint8_t *) style, sizeof(style) - 1);
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
	snprintf(pg->csp, sizeof(pg->csp),
		 "default-src 'none'; style-src 'sha256-%s'; "
		 "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		 b64);
	/* libmicrohttpd's thread pool: each thread accepts and serves its own connections (an
	 * epoll loop each); one thread is the daemon's own internal thread */
	pg->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, pg, MHD_OPTION_SOCK_ADDR,
				 (struct sockaddr *) &ss, MHD_OPTION_CONNECTION_LIMIT,
				 (unsigned) PAGES_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
				 (unsigned) PAGES_IDLE_TIMEOUT, MHD_OPTION_NOTIFY_COMPLETED,
				 completed, pg, MHD_OPTION_THREAD_POOL_SIZE,
				 pg->threads > 1 ? pg->threads : 0u, MHD_OPTION_END);
	if (!pg->d) {
		snprintf(err, err_size, "cannot listen on %s port %u", cfg->listen,
			 (unsigned) cfg->port);
		pages_free(pg);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *port = MHD_get_daemon_info(pg->d, MHD_DAEMON_INFO_BIND_PORT);
	*ret_port = port ? port->port : 0;
	*ret = pg;
	return 0;
}

void pages_stop(struct pages *pg)
{
	if (!pg)
		return;
	MHD_stop_daemon(pg->d); /* joins the threads: no connection is in use after it */
	pages_free(pg);
}
