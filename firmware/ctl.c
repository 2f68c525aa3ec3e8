/* ctl: control socket server (accept, read one bounded request line, answer, close). */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

struct ctl_client {
	int fd; /* -1: free slot */
	unsigned id;
	bool answered_later; /* request handed over; answer comes through ctl_reply */
	size_t len;
	char buf[CTL_REQUEST_MAX + 1];
};

struct ctl {
	int listen_fd;
	char path[PATH_MAX];
	unsigned next_id;
	ctl_handler handler;
	void *userdata;
	struct ctl_client clients[CTL_CLIENTS_MAX];
};

static const char *const cmd_names[CTL_CMD_MAX] = {
    [CTL_STATUS] = "status",	   [CTL_SALE] = "sale",
    [CTL_CANCEL] = "cancel",	   [CTL_REPRINT] = "reprint",
    [CTL_SIM_TAP] = "sim_tap",	   [CTL_SIM_REMOVE] = "sim_remove",
    [CTL_SIM_CLOCK] = "sim_clock", [CTL_SIM_PRINTER] = "sim_printer",
    [CTL_ANSWER] = "answer",	   [CTL_CONFIRM] = "confirm",
    [CTL_REFUND] = "refund",	   [CTL_EXPLAIN] = "explain",
    [CTL_SYNC_NOW] = "sync_now",	   [CTL_NO_CARD] = "no_card",
    [CTL_SIM_SCAN] = "sim_scan",
};

static int copy_string(const cJSON *root, const char *key, bool required, char *out, size_t size,
		       char *err, size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!v) {
		if (required) {
			snprintf(err, err_size, "'%s' is missing", key);
			return -EINVAL;
		}
		return 0;
	}
	if (!cJSON_IsString(v)) {
		snprintf(err, err_size, "'%s' must be a string", key);
		return -EINVAL;
	}
	if (strlen(v->valuestring) >= size) {
		snprintf(err, err_size, "'%s' is longer than %zu characters", key, size - 1);
		return -EINVAL;
	}
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

/* "redeem": whole points from 0, or "max" (-1). */
static int get_redeem(const cJSON *root, int64_t *ret_pts, char *err, size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "redeem");
	*ret_pts = 0;
	if (!v)
		return 0;
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "max")) {
		*ret_pts = -1;
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e12 ||
	    v->valuedouble != (double) (int64_t) v->valuedouble) {
		snprintf(err, err_size, "'redeem' must be whole points from 0, or \"max\"");
		return -EINVAL;
	}
	*ret_pts = (int64_t) v->valuedouble;
	return 0;
}

static int get_bool(const cJSON *root, const char *key, bool *ret, char *err, size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (v && !cJSON_IsBool(v)) {
		snprintf(err, err_size, "'%s' must be true or false", key);
		return -EINVAL;
	}
	if (v)
		*ret = cJSON_IsTrue(v);
	return 0;
}

static int check_keys(const cJSON *root, const char *const *allowed, char *err, size_t err_size)
{
	for (const cJSON *it = root->child; it; it = it->next) {
		bool ok = strcmp(it->string, "cmd") == 0;
		for (const char *const *k = allowed; *k && !ok; k++)
			ok = strcmp(it->string, *k) == 0;
		if (!ok) {
			snprintf(err, err_size, "unknown field '%.40s'", it->string);
			return -EINVAL;
		}
	}
	return 0;
}

int ctl_request_parse(const char *text, size_t len, struct ctl_request *ret_request, char *err,
		      size_t err_size)
{
	static const char *const none[] = {NULL};
	static const char *const sale_keys[] = {"amount", "wait", "ask", "redeem", "coupon", NULL};
	static const char *const answer_keys[] = {"redeem", "coupon", NULL};
	static const char *const refund_keys[] = {"receipt", "amount", "whole", NULL};
	static const char *const tap_keys[] = {"uid", "tag", "url", NULL};
	static const char *const scan_keys[] = {"code", NULL};
	static const char *const reprint_keys[] = {"receipt", "explain", NULL};
	static const char *const explain_keys[] = {"receipt", NULL};
	static const char *const clock_keys[] = {"utc_us", "freeze", "advance_s", NULL};
	static const char *const printer_keys[] = {"state", NULL};
	struct ctl_request req = {.wait = true};
	int r = -EINVAL;

	if (len > CTL_REQUEST_MAX) {
		snprintf(err, err_size, "request longer than %d bytes", CTL_REQUEST_MAX);
		return -EINVAL;
	}
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(root)) {
		snprintf(err, err_size, "request is not a JSON object");
		goto out;
	}
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(root, "cmd");
	if (!cJSON_IsString(cmd)) {
		snprintf(err, err_size, "'cmd' is missing or not a string");
		goto out;
	}
	req.cmd = CTL_CMD_MAX;
	for (int i = 0; i < CTL_CMD_MAX; i++) {
		if (strcmp(cmd->valuestring, cmd_names[i]) == 0)
			req.cmd = (enum ctl_cmd) i;
	}
	switch (req.cmd) {
	case CTL_STATUS:
	case CTL_CANCEL:
	case CTL_CONFIRM:
	case CTL_SIM_REMOVE:
	case CTL_SYNC_NOW:
	case CTL_NO_CARD:
		r = check_keys(root, none, err, err_size);
		break;
	case CTL_SALE:
		if ((r = check_keys(root, sale_keys, err, err_size)) < 0 ||
		    (r = copy_string(root, "amount", true, req.amount, sizeof(req.amount), err,
				     err_size)) < 0)
			break;
		if ((r = get_bool(root, "wait", &req.wait, err, err_size)) < 0 ||
		    (r = get_bool(root, "ask", &req.ask, err, err_size)) < 0)
			break;
		/* the answer given up front */
		/* fall through */
	case CTL_ANSWER:
		if ((req.cmd == CTL_ANSWER &&
		     (r = check_keys(root, answer_keys, err, err_size)) < 0) ||
		    (r = get_redeem(root, &req.redeem_pts, err, err_size)) < 0 ||
		    (r = copy_string(root, "coupon", false, req.coupon, sizeof(req.coupon), err,
				     err_size)) < 0)
			break;
		req.coupon_set = cJSON_GetObjectItemCaseSensitive(root, "coupon") != NULL;
		if (req.ask && (req.redeem_pts || req.coupon_set)) {
			snprintf(err, err_size, "'ask' and an answer up front exclude each other");
			r = -EINVAL;
		}
		break;
	case CTL_REFUND:
		if ((r = check_keys(root, refund_keys, err, err_size)) < 0 ||
		    (r = copy_string(root, "receipt", true, req.receipt_no, sizeof(req.receipt_no),
				     err, err_size)) < 0 ||
		    (r = copy_string(root, "amount", false, req.amount, sizeof(req.amount), err,
				     err_size)) < 0 ||
		    (r = get_bool(root, "whole", &req.whole, err, err_size)) < 0)
			break;
		if (req.whole == (req.amount[0] != '\0')) {
			snprintf(err, err_size, "give either 'amount' or \"whole\":true");
			r = -EINVAL;
		}
		break;
	case CTL_EXPLAIN:
		if ((r = check_keys(root, explain_keys, err, err_size)) < 0)
			break;
		r = copy_string(root, "receipt", true, req.receipt_no, sizeof(req.receipt_no), err,
				err_size);
		break;
	case CTL_REPRINT:
		if ((r = check_keys(root, reprint_keys, err, err_size)) < 0)
			break;
		if ((r = get_bool(root, "explain", &req.explain, err, err_size)) < 0)
			break;
		r = copy_string(root, "receipt", false, req.receipt_no, sizeof(req.receipt_no), err,
				err_size);
		break;
	case CTL_SIM_TAP:
		if ((r = check_keys(root, tap_keys, err, err_size)) < 0)
			break;
		if ((r = copy_string(root, "uid", true, req.uid, sizeof(req.uid), err, err_size)) <
			0 ||
		    (r = copy_string(root, "tag", false, req.tag, sizeof(req.tag), err, err_size)) <
			0)
			break;
		r = copy_string(root, "url", false, req.url, sizeof(req.url), err, err_size);
		break;
	case CTL_SIM_SCAN:
		if ((r = check_keys(root, scan_keys, err, err_size)) < 0)
			break;
		r = copy_string(root, "code", true, req.url, sizeof(req.url), err, err_size);
		break;
	case CTL_SIM_CLOCK: {
		if ((r = check_keys(root, clock_keys, err, err_size)) < 0)
			break;
		const cJSON *us = cJSON_GetObjectItemCaseSensitive(root, "utc_us");
		const cJSON *freeze = cJSON_GetObjectItemCaseSensitive(root, "freeze");
		const cJSON *adv = cJSON_GetObjectItemCaseSensitive(root, "advance_s");
		if (adv) {
			/* move the simulated clocks forward: whole seconds, at most a year */
			if (us || freeze || !cJSON_IsNumber(adv) || adv->valuedouble < 0 ||
			    adv->valuedouble > 31622400 ||
			    adv->valuedouble != (double) (int64_t) adv->valuedouble) {
				snprintf(err, err_size,
					 "'advance_s' must be whole seconds from 0 "
					 "to a year, alone");
				r = -EINVAL;
				break;
			}
			req.advance_us = (int64_t) adv->valuedouble * 1000000;
			r = 0;
			break;
		}
		/* whole microseconds within 1970..2200, exactly representable in a double */
		if (!cJSON_IsNumber(us) || us->valuedouble < 0 || us->valuedouble > 7.3e15 ||
		    us->valuedouble != (double) (int64_t) us->valuedouble) {
			snprintf(err, err_size, "'utc_us' must be whole microseconds since 1970");
			r = -EINVAL;
			break;
		}
		if (freeze && !cJSON_IsBool(freeze)) {
			snprintf(err, err_size, "'freeze' must be true or false");
			r = -EINVAL;
			break;
		}
		req.utc_us = (int64_t) us->valuedouble;
		req.freeze = cJSON_IsTrue(freeze);
		r = 0;
		break;
	}
	case CTL_SIM_PRINTER:
		if ((r = check_keys(root, printer_keys, err, err_size)) < 0 ||
		    (r = copy_string(root, "state", true, req.printer_state,
				     sizeof(req.printer_state), err, err_size)) < 0)
			break;
		if (strcmp(req.printer_state, "ready") && strcmp(req.printer_state, "paper_out") &&
		    strcmp(req.printer_state, "offline")) {
			snprintf(err, err_size, "'state' must be ready, paper_out or offline");
			r = -EINVAL;
		}
		break;
	case CTL_CMD_MAX:
		snprintf(err, err_size, "unknown command '%.40s'", cmd->valuestring);
		r = -EINVAL;
		break;
	}
	if (r == 0)
		*ret_request = req;
out:
	cJSON_Delete(root);
	return r;
}

int ctl_open(const char *state_dir, ctl_handler handler, void *userdata, struct ctl **ret_ctl)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->handler = handler;
	c->userdata = userdata;
	c->next_id = 1;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		c->clients[i].fd = -1;
	int n = snprintf(c->path, sizeof(c->path), "%s/%s", state_dir, CTL_SOCKET_NAME);
	if (n < 0 || (size_t) n >= sizeof(addr.sun_path)) {
		free(c);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, c->path, (size_t) n + 1);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0) {
		int r = -errno;
		free(c);
		return r;
	}
	(void) unlink(c->path);
	mode_t old = umask(0177);
	int r = bind(c->listen_fd, (struct sockaddr *) &addr, sizeof(addr));
	umask(old);
	if (r < 0 || listen(c->listen_fd, 8) < 0) {
		r = -errno;
		close(c->listen_fd);
		free(c);
		return r;
	}
	*ret_ctl = c;
	return 0;
}

static void client_close(struct ctl_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	cl->len = 0;
	cl->answered_later = false;
}

void ctl_close(struct ctl *ctl)
{
	if (!ctl)
		return;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		client_close(&ctl->clients[i]);
	close(ctl->listen_fd);
	(void) unlink(ctl->path);
	free(ctl);
}

size_t ctl_pollfds(struct ctl *ctl, struct pollfd *fds)
{
	size_t n = 0;
	fds[n++] = (struct pollfd){.fd = ctl->listen_fd, .events = POLLIN};
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		const struct ctl_client *cl = &ctl->clients[i];
		fds[n++] = (struct pollfd){.fd = cl->fd, .events = POLLIN | POLLRDHUP};
	}
	return n;
}

static struct ctl_client *client_by_id(struct ctl *ctl, unsigned id)
{
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		if (ctl->clients[i].fd >= 0 && ctl->clients[i].id == id)
			return &ctl->clients[i];
	}
	return NULL;
}

bool ctl_client_alive(struct ctl *ctl, unsigned client_id)
{
	return client_by_id(ctl, client_id) != NULL;
}

int ctl_reply(struct ctl *ctl, unsigned client_id, cJSON *obj)
{
	struct ctl_client *cl = client_by_id(ctl, client_id);
	if (!cl) {
		cJSON_Delete(obj);
		return -ENOENT;
	}
	char *text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (text) {
		size_t len = strlen(text);
		text[len] = '\n'; /* replaces the NUL; sent with an explicit length */
		if (send(cl->fd, text, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("ctl: answer to client %u lost: %s", client_id, strerror(errno));
		free(text);
	}
	client_close(cl);
	return 0;
}

int ctl_reply_error(struct ctl *ctl, unsigned client_id, const char *message)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON_AddBoolToObject(obj, "ok", false);
	cJSON_AddStringToObject(obj, "error", message);
	return ctl_reply(ctl, client_id, obj);
}

static void accept_clients(struct ctl *ctl)
{
	for (;;) {
		int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ctl_client *slot = NULL;
		for (size_t i = 0; i < CTL_CLIENTS_MAX && !slot; i++) {
			if (ctl->clients[i].fd < 0)
				slot = &ctl->clients[i];
		}
		if (!slot) {
			static const char busy[] =
			    "{\"ok\":false,\"error\":\"too many clients\"}\n";
			(void) !send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		slot->fd = fd;
		slot->id = ctl->next_id++;
		if (ctl->next_id == 0)
			ctl->next_id = 1;
		slot->len = 0;
		slot->answered_later = false;
	}
}

static void client_read(struct ctl *ctl, struct ctl_client *cl)
{
	ssize_t n = recv(cl->fd, cl->buf + cl->len, CTL_REQUEST_MAX + 1 - cl->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(cl);
		return;
	}
	cl->len += (size_t) n;
	char *nl = memchr(cl->buf, '\n', cl->len);
	if (!nl) {
		if (cl->len > CTL_REQUEST_MAX)
			(void) ctl_reply_error(ctl, cl->id, "request too long");
		return;
	}
	struct ctl_request req;
	char err[160];
	if (ctl_request_parse(cl->buf, (size_t) (nl - cl->buf), &req, err, sizeof(err)) < 0) {
		(void) ctl_reply_error(ctl, cl->id, err);
		return;
	}
	cl->answered_later = true;
	ctl->handler(ctl->userdata, cl->id, &req);
}

void ctl_dispatch(struct ctl *ctl, const struct pollfd *fds, size_t n)
{
	if (n == 0)
		return;
	for (size_t i = 1; i < n && i <= CTL_CLIENTS_MAX; i++) {
		struct ctl_client *cl = &ctl->clients[i - 1];
		if (cl->fd < 0 || fds[i].fd != cl->fd || !fds[i].revents)
			continue;
		if (cl->answered_later) {
			/* a client waiting for its answer may only hang up; anything it sends more
			 * is dropped. The waiter notices a hang-up through ctl_client_alive. */
			char scratch[256];
			ssize_t got = recv(cl->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR) ||
			    (fds[i].revents & (POLLHUP | POLLERR)))
				client_close(cl);
			continue;
		}
		client_read(ctl, cl);
	}
	if (fds[0].revents & POLLIN)
		accept_clients(ctl);
}
