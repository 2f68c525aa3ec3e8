/*
 * sync_client: registration, push and pull over libcurl's multi interface, driven by the
 * terminal's poll() loop (sync_client.h). The protocol's bodies and answers are app/sync.c's.
 */
#include "sync_client.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "ledger_sync.h"
#include "log.h"
#include "random.h"
#include "sync.h"

#define ANSWER_MAX  (4 * 1024 * 1024)
#define WAITERS_MAX 16
#define PATH_LEN    (PATH_MAX + 64)
#define ERROR_MAX   256

enum phase { PHASE_IDLE, PHASE_REGISTER, PHASE_PUSH, PHASE_PULL, PHASE_MAX };
static const char *const phase_names[PHASE_MAX] = {"idle", "registering", "pushing", "pulling"};

struct sock {
	curl_socket_t fd;
	short events;
};

struct sync_client {
	struct sync_client_config cfg;
	struct ledger *ledger;
	char state_dir[PATH_MAX];
	char terminal_id[LEDGER_TERMINAL_ID_MAX + 1];
	char url[CONFIG_URL_MAX];
	char enrolment_code[TSYNC_ENROL_CODE_LEN + 1];
	char ca_given[PATH_LEN];   /* the configured CA file, resolved; "" none */
	char cert_given[PATH_LEN]; /* the configured client certificate, resolved; "" none */
	int64_t interval_ms, timeout_ms;

	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	struct sock socks[SYNC_CLIENT_FDS_MAX];
	size_t n_socks;
	int64_t timer_due_mono_us; /* -1: none */
	bool in_flight;

	/* the request in flight */
	struct buf body;
	struct buf answer;
	int64_t req_start_mono_us, req_start_utc_us;
	char key_pem[256]; /* the device key as PKCS#8 PEM, for CURLOPT_SSLKEY_BLOB */

	/* the round */
	enum phase phase;
	int64_t next_round_mono_us;
	bool again; /* another round was asked for while this one ran */
	unsigned waiters[WAITERS_MAX], next_waiters[WAITERS_MAX];
	size_t n_waiters, n_next_waiters;
	struct ledger_event *batch; /* the events of the push in flight */
	size_t n_batch;
	struct tsync_push_answer *push;
	struct tsync_changes *changes;
	bool stuck; /* an event the server rejects blocks the outbox */
	unsigned failures;
	struct {
		int64_t pushed, accepted, duplicates, rejected, changes, tombstones, skipped;
		int64_t members, revoked_cards, keys;
		const char *programme; /* what became of a config pulled: NULL when none */
	} round;

	/* what status shows, kept in sync.json */
	int64_t cursor;
	int64_t last_success_us, last_attempt_us, last_error_us;
	char last_error[ERROR_MAX];
	int64_t skew_us;
	bool has_skew;
	bool has_budget;
	struct tsync_budget budget;
	int64_t budget_received_us;
	int64_t rejected_total;
	struct tsync_result last_rejected;
	char registered_id[LEDGER_TERMINAL_ID_MAX + 1];
	struct ledger_change *applying; /* a pull page as the ledger takes it */
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t utc_us(struct sync_client *sc)
{
	if (sc->cfg.now_utc_us)
		return sc->cfg.now_utc_us(sc->cfg.clock_userdata);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void path_of(const struct sync_client *sc, const char *rel, char *out, size_t size)
{
	if (rel[0] == '/')
		snprintf(out, size, "%s", rel);
	else
		snprintf(out, size, "%s/%s", sc->state_dir, rel);
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- the kept state ---- */

static void json_i64(cJSON *o, const char *name, int64_t v)
{
	char digits[24];
	snprintf(digits, sizeof(digits), "%" PRId64, v);
	cJSON_AddRawToObject(o, name, digits);
}

static int64_t json_get_i64(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? (int64_t) v->valuedouble : 0;
}

static cJSON *budget_json(const struct tsync_budget *b)
{
	cJSON *o = cJSON_CreateObject();
	json_i64(o, "day_start_us", b->day_start_us);
	json_i64(o, "day_end_us", b->day_end_us);
	json_i64(o, "terminal_pts", b->terminal_pts);
	json_i64(o, "member_cap_pts", b->member_cap_pts);
	json_i64(o, "max_offline_age_s", b->max_offline_age_s);
	json_i64(o, "redeemed_pts", b->redeemed_pts);
	json_i64(o, "remaining_pts", b->remaining_pts);
	json_i64(o, "coupon_overdraw_gr", b->coupon_overdraw_gr);
	return o;
}

static int save_state(struct sync_client *sc)
{
	char path[PATH_LEN];
	cJSON *o = cJSON_CreateObject();
	json_i64(o, "version", 1);
	cJSON_AddStringToObject(o, "terminal_id", sc->terminal_id);
	json_i64(o, "cursor", sc->cursor);
	json_i64(o, "last_success_us", sc->last_success_us);
	if (sc->has_skew)
		json_i64(o, "skew_us", sc->skew_us);
	if (sc->has_budget) {
		cJSON *b = budget_json(&sc->budget);
		json_i64(b, "received_us", sc->budget_received_us);
		cJSON_AddItemToObject(o, "budget", b);
	}
	json_i64(o, "rejected_total", sc->rejected_total);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	path_of(sc, SYNC_CLIENT_STATE_FILE, path, sizeof(path));
	int r = config_write_file(path, text, strlen(text), 0600);
	free(text);
	if (r < 0)
		log_errno(r, "sync: writing %s", path);
	return r;
}

static void load_state(struct sync_client *sc)
{
	char path[PATH_LEN], err[256];
	char *text;
	size_t len;
	path_of(sc, SYNC_CLIENT_STATE_FILE, path, sizeof(path));
	if (!file_exists(path))
		return;
	if (config_read_file(path, 64 * 1024, &text, &len, err, sizeof(err)) < 0) {
		log_warn("sync: %s; its status starts afresh", err);
		return;
	}
	cJSON *o = cJSON_ParseWithLength(text, len);
	free(text);
	const cJSON *tid = cJSON_GetObjectItemCaseSensitive(o, "terminal_id");
	if (!cJSON_IsObject(o) || !cJSON_IsString(tid) ||
	    strcmp(tid->valuestring, sc->terminal_id)) {
		log_warn("sync: %s is not this terminal's sync state; its status starts afresh",
			 path);
		cJSON_Delete(o);
		return;
	}
	sc->last_success_us = json_get_i64(o, "last_success_us");
	sc->rejected_total = json_get_i64(o, "rejected_total");
	if (cJSON_GetObjectItemCaseSensitive(o, "skew_us")) {
		sc->skew_us = json_get_i64(o, "skew_us");
		sc->has_skew = true;
	}
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "budget");
	if (cJSON_IsObject(b)) {
		sc->has_budget = true;
		sc->budget.day_start_us = json_get_i64(b, "day_start_us");
		sc->budget.day_end_us = json_get_i64(b, "day_end_us");
		sc->budget.terminal_pts = json_get_i64(b, "terminal_pts");
		sc->budget.member_cap_pts = json_get_i64(b, "member_cap_pts");
		sc->budget.max_offline_age_s = json_get_i64(b, "max_offline_age_s");
		sc->budget.redeemed_pts = json_get_i64(b, "redeemed_pts");
		sc->budget.remaining_pts = json_get_i64(b, "remaining_pts");
		sc->budget.coupon_overdraw_gr = json_get_i64(b, "coupon_overdraw_gr");
		sc->budget_received_us = json_get_i64(b, "received_us");
	}
	cJSON_Delete(o);
}

/* A rejected event, once per seq and code, for the technician (never silently dropped). */
static void record_rejection(struct sync_client *sc, const struct tsync_result *res)
{
	char path[PATH_LEN], id[2 * LEDGER_EVENT_ID_LEN + 1];
	if (sc->last_rejected.seq == res->seq && !strcmp(sc->last_rejected.code, res->code))
		return;
	sc->last_rejected = *res;
	sc->rejected_total++;
	log_err("sync: the server rejected event seq %" PRId64 ": %s: %s (the outbox waits at "
		"it; run loyaltyctl ledger verify and call support)",
		res->seq, res->code, res->message);
	tsync_hex(res->event_id, LEDGER_EVENT_ID_LEN, id);
	cJSON *o = cJSON_CreateObject();
	json_i64(o, "time_us", utc_us(sc));
	json_i64(o, "seq", res->seq);
	cJSON_AddStringToObject(o, "event_id", id);
	cJSON_AddStringToObject(o, "code", res->code);
	cJSON_AddStringToObject(o, "message", res->message);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	path_of(sc, SYNC_CLIENT_REJECTED_FILE, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0 && text) {
		size_t n = strlen(text);
		text[n] = '\n';
		if (write(fd, text, n + 1) != (ssize_t) (n + 1) || fsync(fd) < 0)
			log_errno(-errno, "sync: writing %s", path);
	} else {
		log_errno(-errno, "sync: opening %s", path);
	}
	if (fd >= 0)
		close(fd);
	free(text);
}

/* ---- curl plumbing ---- */

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct sync_client *sc = userp;
	(void) easy;
	(void) socketp;
	size_t i;
	for (i = 0; i < sc->n_socks && sc->socks[i].fd != s; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < sc->n_socks)
			sc->socks[i] = sc->socks[--sc->n_socks];
		return 0;
	}
	if (i == sc->n_socks) {
		if (sc->n_socks == SYNC_CLIENT_FDS_MAX) {
			log_err("sync: more than %d sockets", SYNC_CLIENT_FDS_MAX);
			return -1;
		}
		sc->n_socks++;
	}
	sc->socks[i].fd = s;
	sc->socks[i].events =
	    (short) (((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct sync_client *sc = userp;
	(void) multi;
	sc->timer_due_mono_us = timeout_ms < 0 ? -1 : mono_us() + (int64_t) timeout_ms * 1000;
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct sync_client *sc = userp;
	size_t n = size * nmemb;
	if (buf_append(&sc->answer, data, n) < 0)
		return 0; /* over ANSWER_MAX: the transfer fails */
	return n;
}

/* The device key's seed as a PKCS#8 PEM private key (RFC 8410). */
static int key_pem(const struct devkey *key, char *out, size_t size)
{
	static const uint8_t prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
					   0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
	uint8_t der[48];
	char b64[80];
	memcpy(der, prefix, sizeof(prefix));
	memcpy(der + sizeof(prefix), key->secret_key, 32); /* libsodium: the seed comes first */
	sodium_bin2base64(b64, sizeof(b64), der, sizeof(der), sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(out, size, "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n",
			 b64);
	sodium_memzero(der, sizeof(der));
	sodium_memzero(b64, sizeof(b64));
	return n > 0 && (size_t) n < size ? 0 : -ENOBUFS;
}

/* The CA file to trust: the one registration stored, else the configured one. */
static const char *ca_file(struct sync_client *sc, char *buf, size_t size)
{
	path_of(sc, SYNC_CLIENT_CA_FILE, buf, size);
	if (file_exists(buf))
		return buf;
	if (sc->ca_given[0])
		return sc->ca_given;
	return NULL;
}

static const char *cert_file(struct sync_client *sc, char *buf, size_t size)
{
	if (sc->cert_given[0])
		return sc->cert_given;
	path_of(sc, SYNC_CLIENT_CERT_FILE, buf, size);
	return file_exists(buf) ? buf : NULL;
}

static void set_error(struct sync_client *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct sync_client *sc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sc->last_error, sizeof(sc->last_error), fmt, ap);
	va_end(ap);
	sc->last_error_us = utc_us(sc);
}

static void round_end(struct sync_client *sc, bool ok);

/*
 * Start a request: path under the server URL, body (NULL for a GET), with the client
 * certificate unless registering. Returns 0, or fails the round.
 */
static int start_request(struct sync_client *sc, const char *path, bool with_cert)
{
	char url[CONFIG_URL_MAX + 128], ca_buf[PATH_LEN], cert_buf[PATH_LEN];
	const char *ca = ca_file(sc, ca_buf, sizeof(ca_buf));
	const char *cert = with_cert ? cert_file(sc, cert_buf, sizeof(cert_buf)) : NULL;
	if (!ca) {
		set_error(sc, "no CA certificate to trust: set server_ca in terminal.json");
		round_end(sc, false);
		return -ENOENT;
	}
	if (with_cert && !cert) {
		set_error(sc, "no client certificate: register the terminal (enrolment_code in "
			      "terminal.json)");
		round_end(sc, false);
		return -ENOENT;
	}
	size_t n = strlen(sc->url);
	snprintf(url, sizeof(url), "%.*s%s", (int) (n && sc->url[n - 1] == '/' ? n - 1 : n),
		 sc->url, path);
	CURL *e = sc->easy;
	curl_easy_reset(e);
	buf_reset(&sc->answer);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL); /* the chain's CA only, never the system's */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) sc->timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, sc);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, sc->headers);
	if (cert) {
		struct curl_blob blob = {
		    .data = sc->key_pem, .len = strlen(sc->key_pem), .flags = CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (sc->body.len) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *) sc->body.data);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) sc->body.len);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	sc->req_start_mono_us = mono_us();
	sc->req_start_utc_us = utc_us(sc);
	CURLMcode mr = curl_multi_add_handle(sc->multi, e);
	if (mr != CURLM_OK) {
		set_error(sc, "curl: %s", curl_multi_strerror(mr));
		round_end(sc, false);
		return -EIO;
	}
	sc->in_flight = true;
	return 0;
}

/* ---- the round ---- */

static void answer_waiters(struct sync_client *sc, bool ok)
{
	for (size_t i = 0; i < sc->n_waiters; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", ok);
		if (!ok)
			cJSON_AddStringToObject(o, "error", sc->last_error);
		cJSON *s = cJSON_AddObjectToObject(o, "sync");
		json_i64(s, "pushed", sc->round.pushed);
		json_i64(s, "accepted", sc->round.accepted);
		json_i64(s, "duplicates", sc->round.duplicates);
		json_i64(s, "rejected", sc->round.rejected);
		json_i64(s, "changes", sc->round.changes);
		json_i64(s, "tombstones_applied", sc->round.tombstones);
		json_i64(s, "members_updated", sc->round.members);
		json_i64(s, "cards_revoked", sc->round.revoked_cards);
		json_i64(s, "keys_updated", sc->round.keys);
		json_i64(s, "changes_skipped", sc->round.skipped);
		if (sc->round.programme)
			cJSON_AddStringToObject(s, "programme", sc->round.programme);
		int64_t acked, pending;
		if (ledger_outbox_state(sc->ledger, &acked, &pending) == 0) {
			json_i64(s, "acked_seq", acked);
			json_i64(s, "queue", pending);
		}
		json_i64(s, "cursor", sc->cursor);
		if (sc->has_skew)
			json_i64(s, "skew_us", sc->skew_us);
		if (sc->cfg.done)
			sc->cfg.done(sc->cfg.done_userdata, sc->waiters[i], o);
		else
			cJSON_Delete(o);
	}
	sc->n_waiters = 0;
}

static void round_end(struct sync_client *sc, bool ok)
{
	int64_t now = mono_us();
	sc->phase = PHASE_IDLE;
	if (ok) {
		sc->failures = 0;
		sc->last_success_us = utc_us(sc);
		sc->last_error[0] = '\0';
		sc->next_round_mono_us = now + sc->interval_ms * 1000;
		(void) save_state(sc);
	} else {
		uint32_t rnd = 0;
		if (hal_random_bytes(&rnd, sizeof(rnd)) < 0)
			rnd = (uint32_t) now;
		sc->failures++;
		int64_t wait_ms = tsync_backoff_ms(sc->failures, rnd);
		/* a stuck outbox waits for a technician: no faster than the interval */
		if (sc->stuck && wait_ms < sc->interval_ms)
			wait_ms = sc->interval_ms;
		sc->next_round_mono_us = now + wait_ms * 1000;
		log_warn("sync: %s; next try in %" PRId64 " ms", sc->last_error, wait_ms);
	}
	answer_waiters(sc, ok);
	if (sc->again) {
		/* asked for while this round ran: the next round starts now, for its waiters */
		sc->again = false;
		memcpy(sc->waiters, sc->next_waiters, sc->n_next_waiters * sizeof(unsigned));
		sc->n_waiters = sc->n_next_waiters;
		sc->n_next_waiters = 0;
		sc->next_round_mono_us = now;
	}
}

static void start_pull(struct sync_client *sc)
{
	char path[96];
	sc->phase = PHASE_PULL;
	buf_reset(&sc->body);
	snprintf(path, sizeof(path), "/v1/changes?since=%" PRId64 "&limit=%d", sc->cursor,
		 TSYNC_PULL_MAX);
	(void) start_request(sc, path, true);
}

static void start_push(struct sync_client *sc)
{
	size_t n = 0, in_body = 0;
	sc->phase = PHASE_PUSH;
	int r = ledger_outbox_read(sc->ledger, TSYNC_BATCH_MAX, sc->batch, &n);
	if (r < 0) {
		set_error(sc, "reading the outbox: %s (%s)", strerror(-r),
			  ledger_errmsg(sc->ledger));
		round_end(sc, false);
		return;
	}
	if (n == 0 || sc->stuck) {
		start_pull(sc);
		return;
	}
	r = tsync_push_body(sc->terminal_id, sc->batch, n, TSYNC_BODY_MAX, &sc->body, &in_body);
	if (r < 0) {
		set_error(sc, "event seq %" PRId64 " cannot be sent: %s", sc->batch[0].seq,
			  strerror(-r));
		round_end(sc, false);
		return;
	}
	sc->n_batch = in_body;
	(void) start_request(sc, "/v1/events", true);
}

static void start_register(struct sync_client *sc)
{
	uint8_t msg[TSYNC_REGISTER_MSG_LEN], sig[TSYNC_SIGNATURE_LEN];
	sc->phase = PHASE_REGISTER;
	if (tsync_register_message(sc->enrolment_code, sc->cfg.devkey->public_key, msg) < 0 ||
	    crypto_sign_detached(sig, NULL, msg, sizeof(msg), sc->cfg.devkey->secret_key) != 0 ||
	    tsync_register_body(sc->enrolment_code, sc->cfg.devkey->public_key, sig, &sc->body) <
		0) {
		set_error(sc, "cannot make the registration request");
		round_end(sc, false);
		return;
	}
	log_info("sync: registering with %s (enrolment code %.5s-...)", sc->url,
		 sc->enrolment_code);
	(void) start_request(sc, "/v1/register", false);
}

static void start_round(struct sync_client *sc)
{
	char buf[PATH_LEN];
	memset(&sc->round, 0, sizeof(sc->round));
	sc->stuck = false;
	sc->last_attempt_us = utc_us(sc);
	if (!cert_file(sc, buf, sizeof(buf)) && sc->enrolment_code[0])
		start_register(sc);
	else
		start_push(sc);
}

static void note_skew(struct sync_client *sc, int64_t server_time_us)
{
	/* the server's clock against ours at the middle of the request */
	int64_t mid = sc->req_start_utc_us + (mono_us() - sc->req_start_mono_us) / 2;
	sc->skew_us = server_time_us - mid;
	sc->has_skew = true;
}

/* A refusal's code and message, or what the transport said. */
static void http_failure(struct sync_client *sc, const char *what, long status)
{
	char code[TSYNC_CODE_MAX], message[TSYNC_MESSAGE_MAX];
	if (tsync_parse_error((const char *) sc->answer.data, sc->answer.len, code, message) == 0)
		set_error(sc, "%s: HTTP %ld %s: %s", what, status, code, message);
	else
		set_error(sc, "%s: HTTP %ld", what, status);
}

static void register_done(struct sync_client *sc, long status)
{
	char path[PATH_LEN], err[256];
	if (status != 201) {
		http_failure(sc, "registration", status);
		round_end(sc, false);
		return;
	}
	struct tsync_register_answer *a = malloc(sizeof(*a));
	if (!a) {
		set_error(sc, "registration: out of memory");
		round_end(sc, false);
		return;
	}
	int r = tsync_parse_register_answer((const char *) sc->answer.data, sc->answer.len, a, err,
					    sizeof(err));
	if (r < 0) {
		set_error(sc, "registration: the server's answer: %s", err);
	} else if (strcmp(a->terminal_id, sc->terminal_id)) {
		r = -EINVAL;
		set_error(sc,
			  "registration: the enrolment code is for terminal %s, but this "
			  "terminal is %s (terminal.json): ask for a code for %s",
			  a->terminal_id, sc->terminal_id, sc->terminal_id);
	} else {
		char dir[PATH_LEN];
		path_of(sc, "keys", dir, sizeof(dir));
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			r = -errno;
		path_of(sc, SYNC_CLIENT_CA_FILE, path, sizeof(path));
		if (r == 0)
			r = config_write_file(path, a->ca_certificate, strlen(a->ca_certificate), 0644);
		if (r == 0 && a->has_config_key) {
			char hex[2 * TSYNC_PUBLIC_KEY_LEN + 2];
			tsync_hex(a->config_key, TSYNC_PUBLIC_KEY_LEN, hex);
			strcat(hex, "\n");
			path_of(sc, SYNC_CLIENT_CONFIG_KEY_FILE, path, sizeof(path));
			r = config_write_file(path, hex, strlen(hex), 0644);
		}
		/* the certificate last: its presence says the terminal is registered */
		path_of(sc, SYNC_CLIENT_CERT_FILE, path, sizeof(path));
		if (r == 0)
			r = config_write_file(path, a->certificate, strlen(a->certificate), 0644);
		if (r < 0)
			set_error(sc, "registration: storing the certificate in %s: %s", dir,
				  strerror(-r));
		else
			log_info("sync: registered as %s; certificate in %s", a->terminal_id, path);
		note_skew(sc, a->server_time_us);
	}
	free(a);
	if (r < 0)
		round_end(sc, false);
	else
		start_push(sc);
}

static void push_done(struct sync_client *sc, long status)
{
	char err[256];
	if (status != 200) {
		http_failure(sc, "push", status);
		round_end(sc, false);
		return;
	}
	struct tsync_push_answer *a = sc->push;
	if (tsync_parse_push_answer((const char *) sc->answer.data, sc->answer.len, sc->terminal_id,
				    sc->batch, sc->n_batch, a, err, sizeof(err)) < 0) {
		set_error(sc, "push: the server's answer: %s", err);
		round_end(sc, false);
		return;
	}
	note_skew(sc, a->server_time_us);
	int64_t acked, pending;
	int r = ledger_outbox_state(sc->ledger, &acked, &pending);
	/* only events answered accepted or duplicate, as a run from the batch's first */
	if (r == 0 && a->ack_seq > acked)
		r = ledger_outbox_ack(sc->ledger, a->ack_seq);
	if (r < 0) {
		set_error(sc, "acknowledging up to seq %" PRId64 ": %s (%s)", a->ack_seq,
			  strerror(-r), ledger_errmsg(sc->ledger));
		round_end(sc, false);
		return;
	}
	sc->round.pushed += (int64_t) sc->n_batch;
	sc->round.accepted += a->accepted;
	sc->round.duplicates += a->duplicates;
	sc->round.rejected += a->rejected;
	for (size_t i = 0; i < a->n_results; i++) {
		const struct tsync_result *res = &a->results[i];
		if (res->status == TSYNC_ACCEPTED && res->flags[0])
			log_info("sync: event seq %" PRId64 " accepted, flagged for the owner: %s",
				 res->seq, res->flags);
	}
	if (a->first_rejected < a->n_results) {
		const struct tsync_result *res = &a->results[a->first_rejected];
		bool resolves =
		    !strcmp(res->code, "seq_gap") || !strcmp(res->code, "previous_rejected");
		if (!resolves || a->ack_seq < res->seq - 1 || a->first_rejected == 0) {
			/* the event itself is refused: it stays in the outbox, reported */
			record_rejection(sc, res);
			sc->stuck = true;
			set_error(sc, "event seq %" PRId64 " rejected by the server: %s: %s",
				  res->seq, res->code, res->message);
		}
	}
	start_push(sc); /* the next batch, or the pull when the outbox is empty or stuck */
}

/* The ledger's form of a change; false for one the ledger does not keep (counted as skipped). */
static bool ledger_change_of(const struct tsync_change *ch, struct ledger_change *ret)
{
	static const enum ledger_change_type types[TSYNC_CHANGE_MAX] = {
	    [TSYNC_CHANGE_MEMBER] = LEDGER_CHANGE_MEMBER,
	    [TSYNC_CHANGE_TOMBSTONE] = LEDGER_CHANGE_TOMBSTONE,
	    [TSYNC_CHANGE_REVOKED_CARD] = LEDGER_CHANGE_REVOKED_CARD,
	    [TSYNC_CHANGE_TERMINAL_KEY] = LEDGER_CHANGE_TERMINAL_KEY,
	    [TSYNC_CHANGE_REVOKED_KEY] = LEDGER_CHANGE_REVOKED_KEY,
	};
	switch (ch->type) {
	case TSYNC_CHANGE_MEMBER:
	case TSYNC_CHANGE_TOMBSTONE:
	case TSYNC_CHANGE_REVOKED_CARD:
	case TSYNC_CHANGE_TERMINAL_KEY:
	case TSYNC_CHANGE_REVOKED_KEY:
		break;
	case TSYNC_CHANGE_CONFIG: /* apply_config's, not the ledger's */
	case TSYNC_CHANGE_OTHER:
	case TSYNC_CHANGE_MAX:
		return false;
	}
	memset(ret, 0, sizeof(*ret));
	ret->type = types[ch->type];
	snprintf(ret->card_code, sizeof(ret->card_code), "%s", ch->card_code);
	ret->balance_pts = ch->balance_pts;
	snprintf(ret->tier, sizeof(ret->tier), "%s", ch->tier);
	ret->spend_gr = ch->spend_gr;
	snprintf(ret->first_name, sizeof(ret->first_name), "%s", ch->first_name);
	ret->time_us = ch->time_us;
	snprintf(ret->terminal_id, sizeof(ret->terminal_id), "%s", ch->terminal_id);
	memcpy(ret->public_key, ch->public_key, sizeof(ret->public_key));
	ret->key_id = ch->key_id;
	return true;
}

/* The config key registration stored; -ENOENT without one. */
static int config_key(struct sync_client *sc, uint8_t key[TSYNC_PUBLIC_KEY_LEN])
{
	char path[PATH_LEN], err[256], *text;
	size_t len;
	path_of(sc, SYNC_CLIENT_CONFIG_KEY_FILE, path, sizeof(path));
	if (!file_exists(path))
		return -ENOENT;
	if (config_read_file(path, 256, &text, &len, err, sizeof(err)) < 0)
		return -EIO;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	size_t got = 0;
	int r = len == 2 * TSYNC_PUBLIC_KEY_LEN &&
			sodium_hex2bin(key, TSYNC_PUBLIC_KEY_LEN, text, len, NULL, &got, NULL) == 0 &&
			got == TSYNC_PUBLIC_KEY_LEN
		    ? 0
		    : -EBADMSG;
	free(text);
	return r;
}

/*
 * The page's config, if any: checked, then handed to the terminal. Applied before the ledger
 * stores the cursor past it; applying the same config again is refused as not newer, so a
 * crash in between repeats nothing. A config that does not verify is refused and logged; the
 * pull goes on (the owner must publish a good one).
 */
static void apply_config(struct sync_client *sc, const struct tsync_changes *c)
{
	uint8_t key[TSYNC_PUBLIC_KEY_LEN];
	char err[256] = "";
	if (c->config_index < 0)
		return;
	const struct tsync_change *ch = &c->changes[c->config_index];
	int r = config_key(sc, key);
	if (r < 0) {
		sc->round.programme = "refused: no config key from registration";
	} else if ((r = tsync_config_check(ch, c->programme, c->programme_len, key)) < 0) {
		sc->round.programme = r == -EKEYREJECTED ? "refused: signed by another key"
							 : "refused: the signature does not hold";
	} else if (!sc->cfg.programme) {
		sc->round.programme = "not applied (no programme hook)";
		return;
	} else if ((r = sc->cfg.programme(sc->cfg.programme_userdata, c->programme,
					  c->programme_len, ch->time_us, err, sizeof(err))) < 0) {
		sc->round.programme = "refused: the programme does not parse";
	} else {
		sc->round.programme = r == 0 ? "applied" : "unchanged (not newer)";
		if (r == 0)
			log_info("sync: the programme issued at %" PRId64 " us applied", ch->time_us);
		return;
	}
	log_warn("sync: the server's programme (issued %" PRId64 " us) %s%s%s", ch->time_us,
		 sc->round.programme, err[0] ? ": " : "", err);
}

/* Apply a pull page and its cursor in one ledger transaction. */
static int apply_changes(struct sync_client *sc, const struct tsync_changes *c)
{
	struct ledger_sync_applied a;
	size_t n = 0;
	apply_config(sc, c);
	for (size_t i = 0; i < c->n; i++) {
		if (ledger_change_of(&c->changes[i], &sc->applying[n]))
			n++;
		else if (c->changes[i].type != TSYNC_CHANGE_CONFIG)
			sc->round.skipped++;
	}
	int r = ledger_sync_apply(sc->ledger, sc->applying, n, c->cursor, utc_us(sc), &a);
	if (r < 0)
		return r;
	sc->round.tombstones += a.tombstones;
	sc->round.members += a.members;
	sc->round.revoked_cards += a.revoked_cards;
	sc->round.keys += a.keys + a.revoked_keys;
	if (a.revoked_keys)
		log_warn("sync: %" PRId64 " terminal key(s) revoked by the server: their codes are "
			 "refused from now on",
			 a.revoked_keys);
	return 0;
}

static void pull_done(struct sync_client *sc, long status)
{
	char err[256];
	if (status != 200) {
		http_failure(sc, "pull", status);
		round_end(sc, false);
		return;
	}
	struct tsync_changes *c = sc->changes;
	if (tsync_parse_changes((const char *) sc->answer.data, sc->answer.len, sc->cursor,
				TSYNC_PULL_MAX, c, err, sizeof(err)) < 0) {
		set_error(sc, "pull: the server's answer: %s", err);
		round_end(sc, false);
		return;
	}
	note_skew(sc, c->server_time_us);
	int r = apply_changes(sc, c);
	if (r < 0) {
		log_errno(r, "sync: applying the server's changes");
		set_error(sc, "pull: the server's changes could not be stored in the ledger");
		round_end(sc, false);
		return;
	}
	sc->round.changes += (int64_t) c->n;
	sc->cursor = c->cursor;
	sc->budget = c->budget;
	sc->has_budget = true;
	sc->budget_received_us = utc_us(sc);
	if (save_state(sc) < 0) {
		set_error(sc, "pull: cannot store the sync state");
		round_end(sc, false);
		return;
	}
	if (c->more) {
		start_pull(sc);
		return;
	}
	round_end(sc, !sc->stuck);
}

static void transfer_done(struct sync_client *sc, CURLcode cr)
{
	long status = 0;
	curl_multi_remove_handle(sc->multi, sc->easy);
	sc->in_flight = false;
	if (cr != CURLE_OK) {
		set_error(sc, "%s: %s (%s)", phase_names[sc->phase], curl_easy_strerror(cr),
			  sc->url);
		round_end(sc, false);
		return;
	}
	curl_easy_getinfo(sc->easy, CURLINFO_RESPONSE_CODE, &status);
	switch (sc->phase) {
	case PHASE_REGISTER:
		register_done(sc, status);
		break;
	case PHASE_PUSH:
		push_done(sc, status);
		break;
	case PHASE_PULL:
		pull_done(sc, status);
		break;
	case PHASE_IDLE:
	case PHASE_MAX:
		break;
	}
}

/* ---- the loop's side ---- */

size_t sync_client_pollfds(struct sync_client *sc, struct pollfd *fds, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; sc && i < sc->n_socks && n < max; i++)
		fds[n++] = (struct pollfd){.fd = sc->socks[i].fd, .events = sc->socks[i].events};
	return n;
}

int sync_client_wait_ms(struct sync_client *sc)
{
	if (!sc)
		return -1;
	int64_t now = mono_us(), due = -1;
	if (sc->timer_due_mono_us >= 0)
		due = sc->timer_due_mono_us;
	if (sc->phase == PHASE_IDLE && (due < 0 || sc->next_round_mono_us < due))
		due = sc->next_round_mono_us;
	if (due < 0)
		return -1;
	if (due <= now)
		return 0;
	int64_t ms = (due - now + 999) / 1000;
	return ms > INT_MAX ? INT_MAX : (int) ms;
}

void sync_client_run(struct sync_client *sc, const struct pollfd *fds, size_t n)
{
	int running = 0;
	if (!sc)
		return;
	/* the sockets may change under socket_action: act on a copy */
	struct pollfd ready[SYNC_CLIENT_FDS_MAX];
	size_t k = 0;
	for (size_t i = 0; i < n && k < SYNC_CLIENT_FDS_MAX; i++)
		if (fds[i].revents)
			ready[k++] = fds[i];
	for (size_t i = 0; i < k; i++) {
		int ev = ((ready[i].revents & POLLIN) ? CURL_CSELECT_IN : 0) |
			 ((ready[i].revents & POLLOUT) ? CURL_CSELECT_OUT : 0) |
			 ((ready[i].revents & (POLLERR | POLLHUP)) ? CURL_CSELECT_ERR : 0);
		curl_multi_socket_action(sc->multi, ready[i].fd, ev, &running);
	}
	if (sc->timer_due_mono_us >= 0 && sc->timer_due_mono_us <= mono_us()) {
		sc->timer_due_mono_us = -1;
		curl_multi_socket_action(sc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(sc->multi, &left))) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == sc->easy)
			transfer_done(sc, msg->data.result);
	}
	if (sc->phase == PHASE_IDLE && !sc->in_flight && mono_us() >= sc->next_round_mono_us)
		start_round(sc);
}

int sync_client_now(struct sync_client *sc, unsigned waiter)
{
	if (sc->phase == PHASE_IDLE) {
		if (waiter) {
			if (sc->n_waiters == WAITERS_MAX)
				return -EBUSY;
			sc->waiters[sc->n_waiters++] = waiter;
		}
		sc->next_round_mono_us = mono_us();
		return 0;
	}
	if (waiter) {
		if (sc->n_next_waiters == WAITERS_MAX)
			return -EBUSY;
		sc->next_waiters[sc->n_next_waiters++] = waiter;
	}
	sc->again = true;
	return 0;
}

bool sync_client_busy(struct sync_client *sc)
{
	return sc && sc->phase != PHASE_IDLE;
}

int64_t sync_client_last_success_us(struct sync_client *sc)
{
	return sc ? sc->last_success_us : 0;
}

bool sync_client_budget(struct sync_client *sc, struct tsync_budget *ret)
{
	if (!sc || !sc->has_budget)
		return false;
	*ret = sc->budget;
	return true;
}

cJSON *sync_client_status_json(struct sync_client *sc)
{
	char buf[PATH_LEN];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "server_url", sc->url);
	cJSON_AddStringToObject(o, "state", phase_names[sc->phase]);
	cJSON_AddBoolToObject(o, "registered", cert_file(sc, buf, sizeof(buf)) != NULL);
	int64_t acked, pending;
	if (ledger_outbox_state(sc->ledger, &acked, &pending) == 0) {
		json_i64(o, "queue", pending);
		json_i64(o, "acked_seq", acked);
	}
	json_i64(o, "last_success_us", sc->last_success_us);
	json_i64(o, "last_attempt_us", sc->last_attempt_us);
	cJSON_AddStringToObject(o, "last_error", sc->last_error);
	json_i64(o, "last_error_us", sc->last_error[0] ? sc->last_error_us : 0);
	if (sc->has_skew)
		json_i64(o, "skew_us", sc->skew_us);
	json_i64(o, "cursor", sc->cursor);
	json_i64(o, "failures", sc->failures);
	if (sc->phase == PHASE_IDLE) {
		int64_t in = (sc->next_round_mono_us - mono_us()) / 1000000;
		json_i64(o, "next_in_s", in > 0 ? in : 0);
	}
	json_i64(o, "interval_s", sc->interval_ms / 1000);
	json_i64(o, "rejected_total", sc->rejected_total);
	if (sc->last_rejected.seq) {
		cJSON *r = cJSON_AddObjectToObject(o, "last_rejected");
		json_i64(r, "seq", sc->last_rejected.seq);
		cJSON_AddStringToObject(r, "code", sc->last_rejected.code);
		cJSON_AddStringToObject(r, "message", sc->last_rejected.message);
	}
	if (sc->has_budget) {
		cJSON *b = budget_json(&sc->budget);
		json_i64(b, "received_us", sc->budget_received_us);
		cJSON_AddItemToObject(o, "budget", b);
	}
	return o;
}

/* ---- set-up ---- */

static void resolve(const struct sync_client *sc, const char *given, char *out, size_t size)
{
	out[0] = '\0';
	if (given && given[0])
		path_of(sc, given, out, size);
}

int sync_client_open(const struct sync_client_config *cfg, struct ledger *ledger,
		     struct sync_client **ret)
{
	static bool curl_ready;
	if (!cfg || !ledger || !ret || !cfg->devkey || !cfg->state_dir || !cfg->terminal_id ||
	    !cfg->server_url || strlen(cfg->server_url) >= CONFIG_URL_MAX ||
	    strlen(cfg->state_dir) >= PATH_MAX ||
	    (cfg->enrolment_code && cfg->enrolment_code[0] &&
	     !tsync_enrol_code_valid(cfg->enrolment_code)))
		return -EINVAL;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_err("sync: libcurl did not start");
			return -EIO;
		}
		curl_ready = true;
	}
	struct sync_client *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->cfg = *cfg;
	sc->ledger = ledger;
	snprintf(sc->state_dir, sizeof(sc->state_dir), "%s", cfg->state_dir);
	snprintf(sc->terminal_id, sizeof(sc->terminal_id), "%s", cfg->terminal_id);
	snprintf(sc->url, sizeof(sc->url), "%s", cfg->server_url);
	snprintf(sc->enrolment_code, sizeof(sc->enrolment_code), "%s",
		 cfg->enrolment_code ? cfg->enrolment_code : "");
	resolve(sc, cfg->ca_file, sc->ca_given, sizeof(sc->ca_given));
	resolve(sc, cfg->cert_file, sc->cert_given, sizeof(sc->cert_given));
	sc->interval_ms =
	    (int64_t) (cfg->interval_s > 0 ? cfg->interval_s : SYNC_CLIENT_INTERVAL_DEFAULT) * 1000;
	sc->timeout_ms = (int64_t) (cfg->timeout_s > 0 ? cfg->timeout_s : 60) * 1000;
	sc->timer_due_mono_us = -1;
	sc->next_round_mono_us = mono_us();
	buf_init(&sc->body, TSYNC_BODY_MAX);
	buf_init(&sc->answer, ANSWER_MAX);
	int r = -ENOMEM;
	sc->batch = calloc(TSYNC_BATCH_MAX, sizeof(*sc->batch));
	sc->push = malloc(sizeof(*sc->push));
	sc->changes = malloc(sizeof(*sc->changes));
	sc->applying = calloc(TSYNC_PULL_MAX, sizeof(*sc->applying));
	sc->multi = curl_multi_init();
	sc->easy = curl_easy_init();
	sc->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* the whole body at once: no "Expect: 100-continue" round trip before it */
	if (sc->headers)
		sc->headers = curl_slist_append(sc->headers, "Expect:");
	if (!sc->batch || !sc->push || !sc->changes || !sc->applying || !sc->multi || !sc->easy || !sc->headers)
		goto fail;
	if ((r = key_pem(cfg->devkey, sc->key_pem, sizeof(sc->key_pem))) < 0)
		goto fail;
	curl_multi_setopt(sc->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(sc->multi, CURLMOPT_SOCKETDATA, sc);
	curl_multi_setopt(sc->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(sc->multi, CURLMOPT_TIMERDATA, sc);
	load_state(sc);
	/* the cursor is the ledger's, stored with the changes it covers (sync.json's is only shown) */
	if ((r = ledger_sync_cursor(ledger, &sc->cursor)) < 0)
		goto fail;
	char buf[PATH_LEN];
	if (sc->ca_given[0] && !file_exists(sc->ca_given))
		log_warn("sync: server_ca %s is not a file", sc->ca_given);
	if (!cert_file(sc, buf, sizeof(buf)) && !sc->enrolment_code[0])
		log_warn("sync: the terminal is not registered and has no enrolment_code in "
			 "terminal.json: it cannot sync");
	log_info("sync: server %s, every %d s, cursor %" PRId64, sc->url,
		 (int) (sc->interval_ms / 1000), sc->cursor);
	*ret = sc;
	return 0;
fail:
	sync_client_close(sc);
	return r;
}

void sync_client_close(struct sync_client *sc)
{
	if (!sc)
		return;
	if (sc->in_flight)
		curl_multi_remove_handle(sc->multi, sc->easy);
	sc->n_waiters = 0;
	if (sc->easy)
		curl_easy_cleanup(sc->easy);
	if (sc->multi)
		curl_multi_cleanup(sc->multi);
	curl_slist_free_all(sc->headers);
	buf_free(&sc->body);
	buf_free(&sc->answer);
	free(sc->batch);
	free(sc->push);
	free(sc->changes);
	free(sc->applying);
	sodium_memzero(sc->key_pem, sizeof(sc->key_pem));
	free(sc);
}
