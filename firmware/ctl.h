/*
 * ctl: the control socket of loyaltyd (a Unix stream socket in the state folder) used by
 * loyaltyctl and scripts (the cash register has its own HTTP API, firmware/register.c).
 *
 * Protocol: one request per connection, a single JSON object on one line (at most
 * CTL_REQUEST_MAX bytes), answered by one JSON object on one line: {"ok":true,...} or
 * {"ok":false,"error":"<message>"}. A "sale" request that waits for the card is answered when
 * the sale ends. Requests:
 *   {"cmd":"status"}
 *   {"cmd":"sale","amount":"12.34","wait":true}
 *   {"cmd":"cancel"}
 *   {"cmd":"sale","amount":"12.34","redeem":"max","coupon":"auto"}   the answer given up front
 *   {"cmd":"sale","amount":"12.34","ask":true}   stop for the answer and the confirmation
 *   {"cmd":"answer","redeem":500,"coupon":"7KQ2M9XW4T"}   ("redeem": points or "max")
 *   {"cmd":"confirm"}
 *   {"cmd":"refund","receipt":"T1-000003","amount":"5.00"} or {..., "whole":true}
 *   {"cmd":"explain","receipt":"T1-000003"}
 *   {"cmd":"reprint"} or {"cmd":"reprint","receipt":"T1-000003","explain":true}
 *   {"cmd":"sim_tap","uid":"04A1B2C3D4E5F6"}, {"cmd":"sim_remove"}   (simulated reader only)
 *   {"cmd":"sim_clock","utc_us":1795000000000000,"freeze":true}       (simulated clock only)
 *   {"cmd":"sim_clock","advance_s":121}        move the simulated clocks forward
 *   {"cmd":"sim_printer","state":"paper_out"}   ready, paper_out, offline (simulated printer)
 *   {"cmd":"sync_now"}   sync with the server now; answered with the round's outcome
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define CTL_REQUEST_MAX 4096
#define CTL_CLIENTS_MAX 16
#define CTL_SOCKET_NAME "ctl.sock"

enum ctl_cmd {
	CTL_STATUS,
	CTL_SALE,
	CTL_CANCEL,
	CTL_REPRINT,
	CTL_SIM_TAP,
	CTL_SIM_REMOVE,
	CTL_SIM_CLOCK,
	CTL_SIM_PRINTER,
	CTL_ANSWER,
	CTL_CONFIRM,
	CTL_REFUND,
	CTL_EXPLAIN,
	CTL_SYNC_NOW,
	CTL_NO_CARD,
	CTL_SIM_SCAN,
	CTL_CMD_MAX
};

struct ctl_request {
	enum ctl_cmd cmd;
	char amount[32];     /* CTL_SALE: decimal text, parsed by the sale */
	bool wait;	     /* CTL_SALE: answer when the sale ends (default true) */
	char uid[48];	     /* CTL_SIM_TAP: hex text, parsed by the terminal */
	char tag[16];	     /* CTL_SIM_TAP: "" (a card by UID alone), "ntag213", "ntag215", ... */
	char url[512];	     /* CTL_SIM_TAP: the URL the card holds ("" blank); CTL_SIM_SCAN */
	char receipt_no[48]; /* CTL_REPRINT: empty for the last receipt; CTL_REFUND, CTL_EXPLAIN */
	int64_t utc_us;	     /* CTL_SIM_CLOCK */
	bool freeze;	     /* CTL_SIM_CLOCK */
	int64_t advance_us;  /* CTL_SIM_CLOCK: > 0 moves the clocks forward instead */
	char printer_state[16]; /* CTL_SIM_PRINTER: ready, paper_out or offline */
	bool ask;		/* CTL_SALE: stop for the answer and the confirmation */
	int64_t redeem_pts;	/* CTL_SALE, CTL_ANSWER: points, -1: as many as allowed */
	char coupon[32];	/* CTL_SALE, CTL_ANSWER: "" none, "auto" the best usable */
	bool coupon_set;
	bool whole;   /* CTL_REFUND: everything still refundable (else amount) */
	bool explain; /* CTL_REPRINT: with how the points were counted */
};

/* Parse one request line. Returns 0, or -EINVAL with err set to a message for the client. */
int ctl_request_parse(const char *text, size_t len, struct ctl_request *ret_request, char *err,
		      size_t err_size);

struct ctl;
struct pollfd;

/* Handles one parsed request for client id; answer now or later with ctl_reply(). */
typedef void (*ctl_handler)(void *userdata, unsigned client_id, const struct ctl_request *req);

/* Listen on <state_dir>/ctl.sock (mode 0600; a stale socket file is replaced). */
__attribute__((warn_unused_result)) int ctl_open(const char *state_dir, ctl_handler handler,
						 void *userdata, struct ctl **ret_ctl);
void ctl_close(struct ctl *ctl);

/* Add the descriptors to poll to fds (room for 1 + CTL_CLIENTS_MAX); returns how many. */
size_t ctl_pollfds(struct ctl *ctl, struct pollfd *fds);
/* Service the descriptors after poll() returned (same array and count as ctl_pollfds). */
void ctl_dispatch(struct ctl *ctl, const struct pollfd *fds, size_t n);

/*
 * Answer client id with obj (ownership of obj passes here) and close the connection.
 * Returns -ENOENT when the client has gone away meanwhile.
 */
int ctl_reply(struct ctl *ctl, unsigned client_id, cJSON *obj);
/* Shortcut for {"ok":false,"error":message}. */
int ctl_reply_error(struct ctl *ctl, unsigned client_id, const char *message);
/* Is the client still connected (waiting for its answer)? */
bool ctl_client_alive(struct ctl *ctl, unsigned client_id);
