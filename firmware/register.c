/*
 * register: the cash register's JSON-over-HTTP API (libmicrohttpd), served from the terminal's
 * own poll loop: the daemon runs without threads of its own (MHD_USE_EPOLL, one descriptor to
 * poll), so a request handler may touch the sale and the ledger directly. A request that waits
 * for the customer (GET /v1/sales/{id}?wait_s=N) is suspended and resumed when the sale
 * changes or its time is up. The API is described in docs/register-api.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <microhttpd.h>

#include "log.h"
#include "register_parse.h"
#include "terminal-priv.h"

#define REG_BODY_MAX	 (16 * 1024) /* bytes of a request body */
#define REG_WAIT_MAX_S	 60
#define REG_WAITERS_MAX	 16
#define REG_CONNECTIONS	 32
#define REG_IDLE_TIMEOUT 30 /* seconds a silent connection is kept */

struct rq {
	char *body;
	size_t len;
	bool too_big;
	bool suspended;
	int64_t deadline_mono_us; /* of a suspended request */
	struct MHD_Connection *conn;
};

struct reg {
	struct terminal *t;
	struct MHD_Daemon *d;
	int epoll_fd;
	char listen[80]; /* as bound */
	struct rq *waiters[REG_WAITERS_MAX];
};

/* ---- responses ---- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return MHD_NO;
	size_t n = strlen(text);
	char *body = realloc(text, n + 2);
	if (!body) {
		free(text);
		return MHD_NO;
	}
	body[n] = '\n';
	body[n + 1] = '\0';
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(n + 1, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"loyalty\"");
	enum MHD_Result r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *fmt,
				     ...) __attribute__((format(printf, 3, 4)));

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *fmt,
				     ...)
{
	char msg[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", msg);
	return respond(c, status, o);
}

/* An outcome of the checkout ({"ok":...}) with the status it deserves. */
static enum MHD_Result respond_outcome(struct MHD_Connection *c, cJSON *o, unsigned fail_status)
{
	return respond(c, cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")) ? MHD_HTTP_OK : fail_status,
		       o);
}

static enum MHD_Result respond_sale(struct reg *reg, struct MHD_Connection *c, unsigned status)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "sale", checkout_json(reg->t));
	return respond(c, status, o);
}

/* ---- routes ---- */

static enum MHD_Result sale_start(struct reg *reg, struct MHD_Connection *c, struct rq *rq)
{
	char err[REG_ERR_MAX];
	struct reg_sale_body *b = malloc(sizeof(*b));
	enum MHD_Result ret;
	if (!b)
		return MHD_NO;
	if (reg_parse_sale(rq->body, rq->len, b, err, sizeof(err)) < 0) {
		ret = respond_error(c, MHD_HTTP_BAD_REQUEST, "%s", err);
	} else {
		struct checkout_start s = {
		    .origin = ORIGIN_REGISTER,
		    .ask = true,
		    .lines = b->n_lines ? b->lines : NULL,
		    .n_lines = b->n_lines,
		    .total_gr = b->total_gr,
		};
		bool busy = sale_cancellable(&reg->t->sale);
		const char *why = checkout_begin(reg->t, &s);
		if (why)
			ret = respond_error(
			    c, busy ? MHD_HTTP_CONFLICT : MHD_HTTP_UNPROCESSABLE_CONTENT, "%s",
			    why);
		else
			ret = respond_sale(reg, c, MHD_HTTP_CREATED);
	}
	free(b);
	return ret;
}

static void waiter_remove(struct reg *reg, struct rq *rq)
{
	for (size_t i = 0; i < REG_WAITERS_MAX; i++)
		if (reg->waiters[i] == rq)
			reg->waiters[i] = NULL;
}

static enum MHD_Result sale_get(struct reg *reg, struct MHD_Connection *c, struct rq *rq)
{
	const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait_s");
	if (rq->suspended) {
		/* resumed: the sale changed or the time is up */
		rq->suspended = false;
		return respond_sale(reg, c, MHD_HTTP_OK);
	}
	if (w) {
		char *end;
		long s = strtol(w, &end, 10);
		if (!*w || *end || s < 0 || s > REG_WAIT_MAX_S)
			return respond_error(c, MHD_HTTP_BAD_REQUEST,
					     "wait_s: must be whole seconds from 0 to %d",
					     REG_WAIT_MAX_S);
		/* wait while the sale waits for the customer's card */
		if (s > 0 && reg->t->sale.state == SALE_AMOUNT) {
			for (size_t i = 0; i < REG_WAITERS_MAX; i++) {
				if (!reg->waiters[i]) {
					reg->waiters[i] = rq;
					rq->suspended = true;
					rq->conn = c;
					rq->deadline_mono_us =
					    hal_clock_mono_us(reg->t->clock) + s * 1000000;
					MHD_suspend_connection(c);
					return MHD_YES;
				}
			}
			return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					     "too many requests waiting; try again");
		}
	}
	return respond_sale(reg, c, MHD_HTTP_OK);
}

static enum MHD_Result sale_answer(struct reg *reg, struct MHD_Connection *c, struct rq *rq)
{
	char err[REG_ERR_MAX];
	struct reg_answer_body b;
	if (reg_parse_answer(rq->body, rq->len, &b, err, sizeof(err)) < 0)
		return respond_error(c, MHD_HTTP_BAD_REQUEST, "%s", err);
	bool waiting = reg->t->sale.state == SALE_OFFER || reg->t->sale.state == SALE_CONFIRM;
	const char *why = checkout_answer(reg->t, b.redeem_pts, b.coupon_set ? b.coupon : NULL);
	if (why)
		return respond_error(
		    c, waiting ? MHD_HTTP_UNPROCESSABLE_CONTENT : MHD_HTTP_CONFLICT, "%s", why);
	return respond_sale(reg, c, MHD_HTTP_OK);
}

static enum MHD_Result sale_confirm(struct reg *reg, struct MHD_Connection *c)
{
	enum sale_state before = reg->t->sale.state;
	cJSON *o = checkout_confirm(reg->t);
	enum sale_state after = reg->t->sale.state;
	unsigned fail = before != SALE_CONFIRM	? MHD_HTTP_CONFLICT
			: after == SALE_CONFIRM ? MHD_HTTP_UNPROCESSABLE_CONTENT /* refused */
						: MHD_HTTP_SERVICE_UNAVAILABLE;	 /* not booked */
	return respond_outcome(c, o, fail);
}

/* The customer has no card: book the points for a claim from the receipt's QR. */
static enum MHD_Result sale_no_card(struct reg *reg, struct MHD_Connection *c)
{
	enum sale_state before = reg->t->sale.state;
	cJSON *o = checkout_no_card(reg->t);
	return respond_outcome(c, o,
			       before != SALE_AMOUNT ? MHD_HTTP_CONFLICT
						     : MHD_HTTP_SERVICE_UNAVAILABLE);
}

static enum MHD_Result refund(struct reg *reg, struct MHD_Connection *c, struct rq *rq)
{
	char err[REG_ERR_MAX];
	struct reg_refund_body *b = malloc(sizeof(*b));
	enum MHD_Result ret;
	if (!b)
		return MHD_NO;
	if (reg_parse_refund(rq->body, rq->len, b, err, sizeof(err)) < 0) {
		ret = respond_error(c, MHD_HTTP_BAD_REQUEST, "%s", err);
	} else {
		struct checkout_refund rf = {
		    .receipt_no = b->receipt,
		    .whole = b->whole,
		    .lines = b->n_lines ? b->lines : NULL,
		    .n_lines = b->n_lines,
		    .amount_gr = b->amount_gr,
		};
		ret = respond_outcome(c, checkout_refund(reg->t, &rf),
				      MHD_HTTP_UNPROCESSABLE_CONTENT);
	}
	free(b);
	return ret;
}

static enum MHD_Result route(struct reg *reg, struct MHD_Connection *c, const char *url,
			     const char *method, struct rq *rq)
{
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET);
	bool post = !strcmp(method, MHD_HTTP_METHOD_POST);
	const char *id = checkout_id(reg->t);
	char action[16] = "";

	if (!strcmp(url, "/v1/status")) {
		if (!get)
			goto method;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", true);
		cJSON_AddStringToObject(o, "terminal", reg->t->cfg.terminal_id);
		cJSON_AddStringToObject(o, "version", LOYALTY_VERSION);
		cJSON_AddItemToObject(o, "sale", checkout_json(reg->t));
		return respond(c, MHD_HTTP_OK, o);
	}
	if (!strcmp(url, "/v1/sales")) {
		if (!post)
			goto method;
		return sale_start(reg, c, rq);
	}
	if (!strcmp(url, "/v1/refunds")) {
		if (!post)
			goto method;
		return refund(reg, c, rq);
	}
	if (!strncmp(url, "/v1/receipts/", 13)) {
		const char *no = url + 13, *slash = strchr(no, '/');
		char receipt[LEDGER_RECEIPT_NO_MAX + 1];
		if (!slash || strcmp(slash, "/explain") ||
		    (size_t) (slash - no) > LEDGER_RECEIPT_NO_MAX)
			goto not_found;
		if (!get)
			goto method;
		memcpy(receipt, no, (size_t) (slash - no));
		receipt[slash - no] = '\0';
		return respond_outcome(c, checkout_explain(reg->t, receipt), MHD_HTTP_NOT_FOUND);
	}
	if (!strncmp(url, "/v1/sales/", 10)) {
		const char *rest = url + 10, *slash = strchr(rest, '/');
		size_t idlen = slash ? (size_t) (slash - rest) : strlen(rest);
		if (slash && strlen(slash + 1) < sizeof(action))
			snprintf(action, sizeof(action), "%s", slash + 1);
		else if (slash)
			goto not_found;
		if (!id[0] || idlen != strlen(id) || strncmp(rest, id, idlen))
			return respond_error(c, MHD_HTTP_NOT_FOUND,
					     "no sale %.*s: the terminal knows only the sale in "
					     "progress or the last one",
					     (int) (idlen > 32 ? 32 : idlen), rest);
		if (!action[0]) {
			if (!get)
				goto method;
			return sale_get(reg, c, rq);
		}
		if (!post)
			goto method;
		if (!strcmp(action, "answer"))
			return sale_answer(reg, c, rq);
		if (!strcmp(action, "confirm"))
			return sale_confirm(reg, c);
		if (!strcmp(action, "no-card"))
			return sale_no_card(reg, c);
		if (!strcmp(action, "cancel")) {
			if (!checkout_cancel(reg->t, "cancelled by the register"))
				return respond_error(c, MHD_HTTP_CONFLICT,
						     "the sale cannot be cancelled any more (%s)",
						     sale_state_name(reg->t->sale.state));
			terminal_show_idle(reg->t);
			return respond_sale(reg, c, MHD_HTTP_OK);
		}
	}
not_found:
	return respond_error(c, MHD_HTTP_NOT_FOUND, "no such resource: %.80s", url);
method:
	return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not allowed on %.80s", method,
			     url);
}

/* Constant-time comparison of the bearer token. */
static bool authorised(struct reg *reg, struct MHD_Connection *c)
{
	const char *want = reg->t->cfg.register_token;
	if (!want[0])
		return true;
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (!h || strncmp(h, "Bearer ", 7))
		return false;
	h += 7;
	size_t n = strlen(want), m = strlen(h);
	unsigned char diff = (unsigned char) (n != m);
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char) (want[i] ^ (i < m ? h[i] : 0));
	return diff == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct reg *reg = cls;
	struct rq *rq = *con_cls;
	(void) version;

	if (!rq) {
		/* the headers: refuse an announced oversize body before reading it */
		const char *cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*con_cls = rq;
		if (cl && strtoull(cl, NULL, 10) > REG_BODY_MAX)
			rq->too_big = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big && rq->len + *upload_size <= REG_BODY_MAX) {
			char *b = realloc(rq->body, rq->len + *upload_size + 1);
			if (!b)
				return MHD_NO;
			memcpy(b + rq->len, upload, *upload_size);
			rq->body = b;
			rq->len += *upload_size;
			b[rq->len] = '\0';
		} else {
			rq->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!authorised(reg, c))
		return respond_error(c, MHD_HTTP_UNAUTHORIZED,
				     "missing or wrong bearer token (Authorization: Bearer ...)");
	if (rq->too_big)
		return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
				     "the request body is larger than %d bytes", REG_BODY_MAX);
	return route(reg, c, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct reg *reg = cls;
	struct rq *rq = *con_cls;
	(void) c;
	(void) toe;
	if (!rq)
		return;
	waiter_remove(reg, rq);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

/* ---- the daemon ---- */

static void resume_waiters(struct reg *reg, bool expired_only)
{
	int64_t now = hal_clock_mono_us(reg->t->clock);
	for (size_t i = 0; i < REG_WAITERS_MAX; i++) {
		struct rq *rq = reg->waiters[i];
		if (!rq || (expired_only && now < rq->deadline_mono_us))
			continue;
		reg->waiters[i] = NULL;
		MHD_resume_connection(rq->conn);
	}
}

int reg_open(struct terminal *t, struct reg **ret)
{
	struct sockaddr_storage ss;
	bool loopback;
	*ret = NULL;
	if (!t->cfg.register_listen[0]) {
		log_info("register API off (no register.listen in the terminal config)");
		return 0;
	}
	if (config_listen_parse(t->cfg.register_listen, &ss, &loopback) < 0)
		return log_errno(-EINVAL, "register.listen '%s'", t->cfg.register_listen);
	if (!loopback && !t->cfg.register_token[0]) {
		log_err("register API on %s needs register.token (it is not loopback)",
			t->cfg.register_listen);
		return -EINVAL;
	}
	struct reg *reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	reg->t = t;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	reg->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, handle, reg, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned) REG_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned) REG_IDLE_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) (64 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, completed, reg, MHD_OPTION_END);
	if (!reg->d) {
		free(reg);
		log_err("register API: cannot listen on %s (address in use, or not an address "
			"of this terminal)",
			t->cfg.register_listen);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *fd = MHD_get_daemon_info(reg->d, MHD_DAEMON_INFO_EPOLL_FD);
	const union MHD_DaemonInfo *port = MHD_get_daemon_info(reg->d, MHD_DAEMON_INFO_BIND_PORT);
	reg->epoll_fd = fd ? fd->epoll_fd : -1;
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, host, sizeof(host));
	snprintf(reg->listen, sizeof(reg->listen), ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		 host, port ? (unsigned) port->port : 0u);
	/* where scripts find the port (it may have been chosen by the system) */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/register.addr", t->state_dir);
	FILE *f = fopen(path, "we");
	if (f) {
		fprintf(f, "%s\n", reg->listen);
		fclose(f);
	}
	log_info("register API on http://%s/v1/ (%s)", reg->listen,
		 t->cfg.register_token[0] ? "bearer token required" : "loopback, no token");
	*ret = reg;
	return 0;
}

void reg_close(struct reg *reg)
{
	if (!reg)
		return;
	resume_waiters(reg, false);
	MHD_stop_daemon(reg->d);
	free(reg);
}

int reg_fd(struct reg *reg)
{
	return reg ? reg->epoll_fd : -1;
}

void reg_run(struct reg *reg)
{
	if (!reg)
		return;
	resume_waiters(reg, true);
	MHD_run(reg->d);
}

void reg_sale_changed(struct reg *reg)
{
	if (reg)
		resume_waiters(reg, false);
}

int reg_wait_ms(struct reg *reg)
{
	if (!reg)
		return -1;
	int64_t best = -1, now = hal_clock_mono_us(reg->t->clock);
	for (size_t i = 0; i < REG_WAITERS_MAX; i++) {
		if (!reg->waiters[i])
			continue;
		int64_t ms = (reg->waiters[i]->deadline_mono_us - now + 999) / 1000;
		if (ms < 0)
			ms = 0;
		if (best < 0 || ms < best)
			best = ms;
	}
	MHD_UNSIGNED_LONG_LONG t;
	if (MHD_get_timeout(reg->d, &t) == MHD_YES && (best < 0 || (int64_t) t < best))
		best = (int64_t) t;
	return best > 60000 ? 60000 : (int) best;
}
