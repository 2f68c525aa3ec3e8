/*
 * terminal-priv: the running terminal's state, shared by its parts: terminal.c (wiring, the
 * loop, the console and the control socket), checkout.c (the sale in progress, refunds,
 * receipts) and register.c (the cash register's HTTP API). Everything runs on the one thread
 * of the poll loop.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "config.h"
#include "devkey.h"
#include "console.h"
#include "ctl.h"
#include "ledger.h"
#include "nfc.h"
#include "printer.h"
#include "programme.h"
#include "pseudonym.h"
#include "rules.h"
#include "sale.h"
#include "scanner.h"
#include "spool.h"
#include "sync_client.h"
#include "token.h"
#include "uid.h"

#define NO_CLIENT	0u
#define CHECKOUT_ID_LEN 16 /* hex characters of a sale id */

/* Who started the sale in progress. */
enum checkout_origin {
	ORIGIN_CONSOLE,	 /* the cashier's keypad */
	ORIGIN_CTL,	 /* loyaltyctl or a script on the control socket */
	ORIGIN_REGISTER, /* the cash register over HTTP */
	ORIGIN_MAX
};

/* How a sale is to be started. */
struct checkout_start {
	enum checkout_origin origin;
	const struct rules_line *lines; /* NULL: one line of total_gr that earns */
	size_t n_lines;
	int64_t total_gr; /* with lines: 0, or the register's own total to check against */
	/*
	 * ask: stop for the customer's answer when there is something to offer, and for an
	 * explicit confirmation (the register). Without ask the answer comes with the request
	 * (redeem_pts, coupon) and the sale is booked as soon as the card is known.
	 */
	bool ask;
	bool confirm_alone;  /* with ask: book without a confirmation when nothing is offered */
	int64_t redeem_pts;  /* without ask: points to redeem, -1: as many as allowed */
	const char *coupon;  /* without ask: a coupon id, "auto": the best usable, NULL: none */
	unsigned ctl_client; /* a control client answered when the sale ends, or NO_CLIENT */
};

struct checkout; /* the sale in progress (checkout.c) */
struct reg;	 /* the register API (register.c) */

/* The card on the reader as its last tap showed it: enough to write a new card's link. */
struct terminal_card {
	uint8_t uid[HAL_NFC_UID_MAX];
	size_t uid_len;
	enum hal_nfc_tag tag;
	bool blank; /* read, and holds no NDEF message */
	/* the SUN URL an NTAG 424 DNA gave at this tap ("" when none): the terminal cannot check it
	 * (no card keys), it keeps it with the sale for the server */
	char sun_url[LEDGER_SUN_URL_MAX + 1];
};

struct terminal {
	struct board_profile board;
	struct terminal_config cfg;
	struct programme programme;
	int64_t programme_issued_us;	/* of the server's programme in use; 0: a local one */
	struct programme *programme_next; /* the server's, waiting for the sale to end */
	char state_dir[PATH_MAX];
	char printer_dir[PATH_MAX];
	bool headless;

	struct hal_clock *clock;
	struct hal_nfc *nfc;
	struct hal_printer *printer;
	struct hal_console *console;
	struct ledger *ledger;
	struct ctl *ctl;
	struct reg *reg;
	struct spool *spool; /* receipts owed to the printer */
	struct sync_client *sync; /* NULL for a terminal on its own (no server_url) */
	int64_t last_drain_mono_us;
	int signal_fd;

	uint8_t pseudonym_key[PSEUDONYM_KEY_LEN];
	struct devkey devkey; /* signs the receipts' tokens */
	int64_t started_mono_us;
	int64_t last_purge_mono_us;
	bool nfc_connected;
	struct hal_scanner *scanner; /* NULL: the board has none */
	bool scanner_connected;
	bool quit;

	struct sale sale;
	struct checkout *co; /* always allocated; meaningful while sale.state != IDLE */

	/* coupons issued today (Warsaw day) per campaign, for the programme's daily caps */
	int64_t coupon_day_us;
	int32_t issued_first_purchase, issued_reactivation;

	struct uid last_tap;
	int64_t last_tap_mono_us;
	bool card_present;
	struct terminal_card card; /* the card of the last tap */

	char line[64]; /* what the cashier is typing */
	size_t line_len;
};

/* ---- terminal.c ---- */

void terminal_show(struct terminal *t, const char *l1, const char *l2, const char *l3);
void terminal_show_idle(struct terminal *t);
/* A card shown with no sale in progress: who it is, on the display and in the answer. */
cJSON *terminal_card_inquiry(struct terminal *t, const uint8_t pseudonym[PSEUDONYM_LEN]);

/* Put the server's programme waiting (programme_next) in use, once no sale is in progress. */
void terminal_programme_switch(struct terminal *t);

/* ---- identify.c ---- */

/* Verify a token of type want with the keys this terminal trusts. 0, or -EPERM and *why. */
int identify_token(struct terminal *t, const char *text, size_t len, enum token_type want,
		   struct token *ret_token, const char **why);
/* A card token: 0 and the pseudonym its member was enrolled with (a member of another terminal
 * is taken on here); -EPERM (not genuine, expired, unknown key), -EACCES (revoked or erased) or
 * -ENOENT (this terminal's own card, erased here) with *why; other negative errnos. */
int identify_card_token(struct terminal *t, const char *text, size_t len,
			uint8_t pseudonym[PSEUDONYM_LEN], const char **why);
/* 0 when card_code may be used here; -EACCES and *why for a card the server revoked or erased. */
int identify_refused(struct terminal *t, const char *card_code, const char **why);
/* A tap: 1 and the pseudonym of the member its card link names, or 0 when the card counts by
 * its UID (*how says which); -EACCES for a card refused (*how says why). */
int identify_tap(struct terminal *t, const struct hal_nfc_event *ev,
		 uint8_t pseudonym[PSEUDONYM_LEN], const char **how);
/* A sale enrolled the card on the reader: write its card link when it is a blank NTAG21x. */
void identify_enrolled(struct terminal *t, const char *card_code, int64_t time_us);
/* A scanned line (len bytes): routed and acted on. Returns the outcome. */
cJSON *identify_scan(struct terminal *t, const char *line, size_t len);

/* ---- checkout.c ---- */

int checkout_new(struct checkout **ret);
void checkout_free(struct checkout *co);

/*
 * Start a sale. Returns NULL, or why it was refused (nothing changes; the text lives until
 * the next call).
 */
const char *checkout_begin(struct terminal *t, const struct checkout_start *start);

/* A card with this pseudonym was tapped while the sale waits for it. Returns the outcome. */
cJSON *checkout_card(struct terminal *t, const uint8_t pseudonym[PSEUDONYM_LEN],
		     const char *sun_url);

/*
 * The customer has no card: book the sale's points for no member and print a receipt whose
 * "claim your points" QR (a signed claim token, valid 14 days) attaches them to a card later.
 * Returns the outcome, as checkout_confirm().
 */
cJSON *checkout_no_card(struct terminal *t);

/*
 * The customer's answer to the offer: redeem_pts points (-1: as many as allowed, 0: none) and
 * coupon (NULL or "": none, "auto": the best usable). Returns NULL and moves to CONFIRM, or a
 * refusal for the cashier (the sale keeps waiting for an answer).
 */
const char *checkout_answer(struct terminal *t, int64_t redeem_pts, const char *coupon);

/* The answer agreed so far: points to redeem and the coupon ("" when none). */
int64_t checkout_redeem_pts(struct terminal *t);
const char *checkout_coupon(struct terminal *t);
/* Why the offer has no points (after an answer asking for the most), for the cashier. */
const char *checkout_offer_note(struct terminal *t);

/* The signed card link of card_code (as its receipts' QR), dated time_us; "" when none. */
void checkout_card_link(struct terminal *t, const char *card_code, int64_t time_us, char *buf,
			size_t size);

/* Book and print the sale waiting for confirmation. Returns the outcome (as a ctl answer). */
cJSON *checkout_confirm(struct terminal *t);

/* Cancel the sale if it is not booked yet; false when there was nothing to cancel. */
bool checkout_cancel(struct terminal *t, const char *why);

/* Apply the deadlines and notice a requester that went away. */
void checkout_tick(struct terminal *t);

/* The sale in progress (or the last one) as JSON, for status and the register. */
cJSON *checkout_json(struct terminal *t);
/* The id of the sale in progress or the last one; "" before the first sale. */
const char *checkout_id(struct terminal *t);
/* Show the sale in progress on the cashier's display. */
void checkout_show(struct terminal *t);

/* Print the receipts the printer owes, oldest first, when it is time to try again. */
void checkout_drain_spool(struct terminal *t, bool now);
/* Milliseconds until the next try at the spool, or -1 when it is empty. */
int checkout_spool_wait_ms(struct terminal *t);

/* What comes back in a refund. */
struct checkout_refund {
	const char *receipt_no;
	bool whole;			/* everything still refundable */
	const struct rules_line *lines; /* the items returned ... */
	size_t n_lines;
	int64_t amount_gr; /* ... or, without lines, their gross value (earning in the sale's
			      proportion) */
};

/* Book and print a refund. Returns the outcome ({"ok":...,"refund":{...}}). */
cJSON *checkout_refund(struct terminal *t, const struct checkout_refund *req);

/* Reprint receipt_no (empty: the last one), with the award trace when explain. Returns the
 * outcome. */
cJSON *checkout_reprint(struct terminal *t, const char *receipt_no, bool explain);

/* The trace of the points of receipt_no, as JSON (for explain). */
cJSON *checkout_explain(struct terminal *t, const char *receipt_no);

/* ---- register.c ---- */

/* Listen for the register (when the terminal config enables it). */
int reg_open(struct terminal *t, struct reg **ret);
void reg_close(struct reg *reg);
/* The descriptor to poll (POLLIN), or -1 when the register API is off. */
int reg_fd(struct reg *reg);
/* Serve what is ready; call after poll() every loop round. */
void reg_run(struct reg *reg);
/* The sale changed: wake the register's requests waiting for it. */
void reg_sale_changed(struct reg *reg);
/* Milliseconds until the register API needs reg_run again, or -1. */
int reg_wait_ms(struct reg *reg);
