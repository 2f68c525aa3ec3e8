/* server: loyalty-server's HTTPS routes (docs/sync-protocol.md) on libmicrohttpd. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <sodium.h>

#define SERVER_CONNECTIONS  64
#define SERVER_IDLE_TIMEOUT 30		/* seconds a silent connection is kept */
#define SERVER_BODY_FIRST   (64 * 1024) /* bytes of a request body allocated at its headers */
#define SERVER_TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct server {
	struct server_config cfg;
	struct MHD_Daemon *d;
};

struct rq {
	char *body;
	size_t len, size; /* size: allocated, from the announced length, grown by doubling */
	bool too_big;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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
	enum MHD_Result r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *code,
				     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *code,
				     const char *fmt, ...)
{
	char msg[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject(), *e;
	cJSON_AddBoolToObject(o, "ok", false);
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	return respond(c, status, o);
}

/* A refusal from sync_parse or sync, with the status its code deserves. */
static enum MHD_Result respond_sync_error(struct MHD_Connection *c, int r,
					  const struct sync_error *err)
{
	unsigned status = MHD_HTTP_BAD_REQUEST;
	if (r == -EFBIG)
		status = MHD_HTTP_CONTENT_TOO_LARGE;
	else if (r == -EPERM || r == -EACCES)
		status = MHD_HTTP_FORBIDDEN;
	else if (r == -EALREADY)
		status = MHD_HTTP_CONFLICT;
	else if (r == -EIO)
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	else if (r == -ENOMEM)
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	if (!strcmp(err->code, "batch_too_large"))
		status = MHD_HTTP_CONTENT_TOO_LARGE;
	return respond_error(c, status, err->code, "%s", err->message);
}

/* ---- authentication ---- */

/*
 * The terminal behind the connection's client certificate: trusted (the chain's CA), named by
 * its CN, known to the server, registered with this very key and not revoked. Returns 0, or
 * the HTTP status of the refusal already queued in *ret_queued.
 */
static unsigned authenticate(struct server *srv, struct MHD_Connection *c,
			     char id[LEDGER_TERMINAL_ID_MAX + 1], enum MHD_Result *ret_queued)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	uint8_t pk[32];
	char why[200];
	struct store_terminal t;
	struct store *st = srv->cfg.st;

	if (!ci || !ci->tls_session) {
		*ret_queued = respond_error(c, MHD_HTTP_UNAUTHORIZED, "client_certificate_required",
					    "TLS with a client certificate is required");
		return MHD_HTTP_UNAUTHORIZED;
	}
	switch (certs_peer((gnutls_session_t) ci->tls_session, id, pk, why, sizeof(why))) {
	case CERTS_PEER_OK:
		break;
	case CERTS_PEER_NONE:
		*ret_queued = respond_error(c, MHD_HTTP_UNAUTHORIZED, "client_certificate_required",
					    "this request needs the terminal's client certificate");
		return MHD_HTTP_UNAUTHORIZED;
	case CERTS_PEER_UNTRUSTED:
		*ret_queued =
		    respond_error(c, MHD_HTTP_UNAUTHORIZED, "client_certificate_untrusted",
				  "the client certificate is not valid for this chain: %s", why);
		return MHD_HTTP_UNAUTHORIZED;
	case CERTS_PEER_NOT_TERMINAL:
		*ret_queued = respond_error(c, MHD_HTTP_FORBIDDEN, "not_a_terminal", "%s", why);
		return MHD_HTTP_FORBIDDEN;
	}
	int r = st->ops->terminal_get(st, id, &t);
	if (r < 0 && r != -ENOENT) {
		*ret_queued = respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable",
					    "the server cannot read its store; try again later");
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	if (r == -ENOENT || !t.registered) {
		*ret_queued = respond_error(c, MHD_HTTP_FORBIDDEN, "unknown_terminal",
					    "terminal %s is not registered with this server", id);
		return MHD_HTTP_FORBIDDEN;
	}
	if (t.revoked) {
		*ret_queued = respond_error(c, MHD_HTTP_FORBIDDEN, "terminal_revoked",
					    "terminal %s is revoked", id);
		return MHD_HTTP_FORBIDDEN;
	}
	if (sodium_memcmp(t.public_key, pk, sizeof(pk))) {
		*ret_queued = respond_error(c, MHD_HTTP_FORBIDDEN, "key_mismatch",
					    "the certificate's key is not the key registered for "
					    "terminal %s",
					    id);
		return MHD_HTTP_FORBIDDEN;
	}
	return 0;
}

/* ---- routes ---- */

static enum MHD_Result route_time(struct MHD_Connection *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	sync_json_i64(o, "server_time_us", now_us());
	return respond(c, MHD_HTTP_OK, o);
}

static int issue(void *userdata, const char *terminal_id, const uint8_t pk[SYNC_PUBLIC_KEY_LEN],
		 char **ret_pem)
{
	struct server *srv = userdata;
	return certs_issue(srv->cfg.ca, terminal_id, pk, now_us() / 1000000, SYNC_CERT_DAYS,
			   ret_pem);
}

static enum MHD_Result route_register(struct server *srv, struct MHD_Connection *c, struct rq *rq)
{
	struct sync_register reg;
	struct sync_error err;
	char id[LEDGER_TERMINAL_ID_MAX + 1], *pem = NULL;
	int r;
	if (!srv->cfg.ca)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "registration_disabled",
				     "this server issues no certificates (started without "
				     "--ca-key)");
	if ((r = sync_parse_register(rq->body, rq->len, &reg, &err)) < 0 ||
	    (r = sync_register(srv->cfg.st, &reg, now_us(), issue, srv, id, &pem, &err)) < 0)
		return respond_sync_error(c, r, &err);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "terminal_id", id);
	cJSON_AddStringToObject(o, "certificate", pem);
	cJSON_AddStringToObject(o, "ca_certificate", srv->cfg.ca_chain_pem);
	if (srv->cfg.config_key_hex)
		cJSON_AddStringToObject(o, "config_key", srv->cfg.config_key_hex);
	sync_json_i64(o, "server_time_us", now_us());
	free(pem);
	return respond(c, MHD_HTTP_CREATED, o);
}

static enum MHD_Result route_events(struct server *srv, struct MHD_Connection *c, struct rq *rq,
				    const char *id)
{
	struct sync_push push;
	struct sync_error err;
	cJSON *resp;
	int r;
	if ((r = sync_parse_push(rq->body, rq->len, &push, &err)) < 0)
		return respond_sync_error(c, r, &err);
	r = sync_push_apply(srv->cfg.st, &srv->cfg.pol, id, &push, now_us(), &resp, &err);
	sync_push_free(&push);
	if (r < 0)
		return respond_sync_error(c, r, &err);
	return respond(c, MHD_HTTP_OK, resp);
}

static bool query_int(struct MHD_Connection *c, const char *name, int64_t min, int64_t max,
		      int64_t *v)
{
	const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	if (!s)
		return true;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (!*s || *end || errno || x < min || x > max || (*s < '0' || *s > '9'))
		return false;
	*v = x;
	return true;
}

static enum MHD_Result route_changes(struct server *srv, struct MHD_Connection *c, const char *id)
{
	int64_t since = 0, limit = SYNC_PULL_MAX;
	struct sync_error err;
	cJSON *o;
	int r;
	if (!query_int(c, "since", 0, SYNC_INT_MAX, &since))
		return respond_error(c, MHD_HTTP_BAD_REQUEST, "bad_parameter",
				     "since: must be a cursor (a whole number from 0)");
	if (!query_int(c, "limit", 1, SYNC_PULL_MAX, &limit))
		return respond_error(c, MHD_HTTP_BAD_REQUEST, "bad_parameter",
				     "limit: must be a whole number from 1 to %d", SYNC_PULL_MAX);
	if ((r = sync_changes(srv->cfg.st, &srv->cfg.pol, id, since, (size_t) limit, now_us(), &o,
			      &err)) < 0)
		return respond_sync_error(c, r, &err);
	return respond(c, MHD_HTTP_OK, o);
}

static enum MHD_Result route(struct server *srv, struct MHD_Connection *c, const char *url,
			     const char *method, struct rq *rq)
{
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET);
	bool post = !strcmp(method, MHD_HTTP_METHOD_POST);
	char id[LEDGER_TERMINAL_ID_MAX + 1];
	enum MHD_Result queued;
	bool events = !strcmp(url, "/v1/events"), changes = !strcmp(url, "/v1/changes");

	if (!strcmp(url, "/v1/time")) {
		if (!get)
			goto method;
		return route_time(c);
	}
	if (!strcmp(url, "/v1/register")) {
		if (!post)
			goto method;
		if (rq->too_big)
			goto too_big;
		return route_register(srv, c, rq);
	}
	if (!events && !changes)
		return respond_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such resource: %.80s",
				     url);
	if ((events && !post) || (changes && !get))
		goto method;
	if (authenticate(srv, c, id, &queued))
		return queued;
	if (rq->too_big)
		goto too_big;
	return events ? route_events(srv, c, rq, id) : route_changes(srv, c, id);
method:
	return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
			     "%s is not allowed on %.80s", method, url);
too_big:
	return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
			     "the request body is larger than %d bytes", SYNC_BODY_MAX);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct server *srv = cls;
	struct rq *rq = *con_cls;
	(void) version;

	if (!rq) {
		/* the headers: refuse an announced oversize body before reading it */
		const char *cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*con_cls = rq;
		unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
		if (announced > SYNC_BODY_MAX) {
			rq->too_big = true;
			/* answer at once; libmicrohttpd then closes without reading the body */
			return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
					     "the request body is larger than %d bytes",
					     SYNC_BODY_MAX);
		}
		/* room for the announced body up to 64 KiB, doubled while it comes (a push of
		 * 400 KB arrives in chunks of a few KB); a client that announces more than it sends
		 * holds no more than that */
		rq->size = announced < SERVER_BODY_FIRST ? (size_t) announced : SERVER_BODY_FIRST;
		if (rq->size && !(rq->body = malloc(rq->size + 1)))
			return MHD_NO;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big && rq->len + *upload_size <= SYNC_BODY_MAX) {
			if (rq->len + *upload_size > rq->size) {
				size_t size = rq->size ? rq->size : 4096;
				while (size < rq->len + *upload_size)
					size *= 2;
				char *b = realloc(rq->body, size + 1);
				if (!b)
					return MHD_NO;
				rq->body = b;
				rq->size = size;
			}
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		} else {
			rq->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return route(srv, c, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct rq *rq = *con_cls;
	(void) cls;
	(void) c;
	(void) toe;
	if (!rq)
		return;
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

int server_start(const struct server_config *cfg, struct server **ret, uint16_t *ret_port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
	unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (inet_pton(AF_INET, cfg->listen, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(cfg->port);
	} else if (inet_pton(AF_INET6, cfg->listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(cfg->port);
		flags |= MHD_USE_IPv6;
	} else {
		return -EINVAL;
	}
	struct server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->cfg = *cfg;
	/* the pushes' commits only append to the WAL; copying it back runs beside them (before
	 * the daemon's thread uses the connection). Without it, SQLite's own checkpoints. */
	if (store_sqlite_checkpoint_apart(cfg->st) < 0)
		fprintf(stderr,
			"loyalty-server: no checkpoint thread; checkpoints at the commit\n");
	srv->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, handle, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
	    MHD_OPTION_HTTPS_MEM_KEY, cfg->key_pem, MHD_OPTION_HTTPS_MEM_CERT, cfg->cert_pem,
	    MHD_OPTION_HTTPS_MEM_TRUST, cfg->ca_pem, MHD_OPTION_HTTPS_PRIORITIES,
	    SERVER_TLS_PRIORITY, MHD_OPTION_CONNECTION_LIMIT, (unsigned) SERVER_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) SERVER_IDLE_TIMEOUT,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, srv, MHD_OPTION_END);
	if (!srv->d) {
		free(srv);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *port = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	*ret_port = port ? port->port : 0;
	*ret = srv;
	return 0;
}

void server_stop(struct server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->d);
	free(srv);
}
