/* terminal: wiring of devices, ledger and control socket; the sale flow; the main loop. */
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "console.h"
#include "ctl.h"
#include "escpos.h"
#include "ledger.h"
#include "log.h"
#include "money.h"
#include "nfc.h"
#include "printer.h"
#include "programme.h"
#include "pseudonym.h"
#include "random.h"
#include "receipt.h"
#include "rules.h"
#include "sale.h"
#include "uid.h"

#define NO_CLIENT 0u

struct terminal {
	struct board_profile board;
	struct terminal_config cfg;
	struct programme programme;
	char state_dir[PATH_MAX];
	char printer_dir[PATH_MAX];
	bool headless;

	struct hal_clock *clock;
	struct hal_nfc *nfc;
	struct hal_printer *printer;
	struct hal_console *console;
	struct ledger *ledger;
	struct ctl *ctl;
	int signal_fd;

	uint8_t pseudonym_key[PSEUDONYM_KEY_LEN];
	int64_t started_mono_us;
	int64_t last_purge_mono_us;
	bool nfc_connected;
	bool quit;

	struct sale sale;
	int64_t sale_amount_gr;
	unsigned sale_client; /* the control client waiting for the sale's end */

	/* coupons issued today (Warsaw day) per campaign, for the programme's daily caps */
	int64_t coupon_day_us;
	int32_t issued_first_purchase, issued_reactivation;

	struct uid last_tap;
	int64_t last_tap_mono_us;
	bool card_present;

	char line[64]; /* what the cashier is typing */
	size_t line_len;
};

/* ---- display ---- */

static void show(struct terminal *t, const char *l1, const char *l2, const char *l3)
{
	const char *lines[3] = {l1, l2 ? l2 : "", l3 ? l3 : ""};
	size_t n = l3 ? 3 : l2 ? 2 : 1;
	(void) hal_console_show(t->console, lines, n);
}

static void show_idle(struct terminal *t)
{
	show(t, "Ready. Type the amount, Enter", "? = help", NULL);
}

static void show_waiting(struct terminal *t)
{
	char l1[48], amount[24];
	money_format(t->sale_amount_gr, 1, amount, sizeof(amount));
	snprintf(l1, sizeof(l1), "Amount: %s zł", amount);
	show(t, l1, "Tap the customer's card", "Esc or c = cancel");
}

/* ---- keys ---- */

static int load_pseudonym_key(struct terminal *t, int64_t known_cards)
{
	char dir[PATH_MAX + 8], path[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/keys", t->state_dir);
	snprintf(path, sizeof(path), "%s/pseudonym.key", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_errno(-errno, "create %s", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && known_cards > 0) {
		log_err("the card key %s is missing, but the ledger knows %lld cards: restore "
			"keys/pseudonym.key from the backup (a new key would turn every known card "
			"into a new member)",
			path, (long long) known_cards);
		return -ENOKEY;
	}
	if (fd < 0 && errno == ENOENT) {
		/* first start: make the key, write it whole, then make it visible */
		char tmp[PATH_MAX + 40];
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		int r = hal_random_bytes(t->pseudonym_key, sizeof(t->pseudonym_key));
		if (r < 0)
			return log_errno(r, "random source");
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return log_errno(-errno, "create %s", tmp);
		if (write(fd, t->pseudonym_key, sizeof(t->pseudonym_key)) !=
			(ssize_t) sizeof(t->pseudonym_key) ||
		    fsync(fd) < 0) {
			r = -errno ? -errno : -EIO;
			close(fd);
			return log_errno(r, "write %s", tmp);
		}
		close(fd);
		if (rename(tmp, path) < 0)
			return log_errno(-errno, "rename %s", tmp);
		log_info("made a new card pseudonym key in %s", path);
		return 0;
	}
	if (fd < 0)
		return log_errno(-errno, "open %s", path);
	uint8_t extra;
	ssize_t n = read(fd, t->pseudonym_key, sizeof(t->pseudonym_key));
	ssize_t more = read(fd, &extra, 1);
	close(fd);
	if (n != (ssize_t) sizeof(t->pseudonym_key) || more != 0) {
		log_err("%s: must hold exactly %d bytes; restore it from the backup (without it "
			"known cards are not recognised)",
			path, PSEUDONYM_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

/* ---- receipts ---- */

static void receipt_file_path(struct terminal *t, const char *receipt_no, char *buf, size_t size)
{
	if (hal_printer_is_sim(t->printer))
		snprintf(buf, size, "%s/%s.escpos", t->printer_dir, receipt_no);
	else
		snprintf(buf, size, "%s", t->board.printer_path);
}

/* Render and print the receipt of a booked sale. 0 or a negative errno; *why on failure. */
static int print_receipt(struct terminal *t, const struct ledger_receipt *rc, const char **why)
{
	struct receipt_store store = {
	    .name = t->cfg.store_name,
	    .address = t->cfg.store_address,
	    .card_url_base = t->cfg.card_url_base,
	};
	struct receipt_facts facts = {
	    .receipt_no = rc->receipt_no,
	    .time_us = rc->time_us,
	    .amount_gr = rc->amount_gr,
	    .earned_pts = rc->earned_pts,
	    .balance_pts = rc->balance_pts,
	    .first_visit = rc->new_member,
	    .card_code = rc->card_code,
	    .bonus_pts = rc->bonus_pts,
	    .coupon_id = rc->coupon_id,
	    .coupon_percent_bp = rc->coupon_id[0] ? rc->coupon_percent_bp : 0,
	    .coupon_min_basket_gr = rc->coupon_min_basket_gr,
	    .coupon_expires_us = rc->coupon_expires_us,
	};
	struct layout *layout = malloc(sizeof(*layout));
	struct buf out;
	struct escpos_stats stats;
	int r;

	if (!layout)
		return -ENOMEM;
	buf_init(&out, ESCPOS_RECEIPT_MAX);
	if ((r = receipt_build(&facts, &store, t->board.printer.columns, layout)) < 0) {
		*why = "receipt layout failed";
		goto out;
	}
	if ((r = escpos_encode(layout, &t->board.printer, &out, &stats)) < 0) {
		*why = "receipt encoding failed";
		goto out;
	}
	if (stats.replaced_chars)
		log_warn("receipt %s: %zu characters the printer's code page cannot show",
			 rc->receipt_no, stats.replaced_chars);
	if ((r = hal_printer_print(t->printer, rc->receipt_no, out.data, out.len)) < 0) {
		*why = r == -ENOSPC ? "printer out of paper" : "printer not answering";
		goto out;
	}
	log_info("receipt %s printed (%zu bytes)", rc->receipt_no, out.len);
out:
	if (r < 0)
		log_errno(r, "receipt %s: %s", rc->receipt_no, *why);
	buf_free(&out);
	free(layout);
	return r;
}

static cJSON *receipt_json(struct terminal *t, const struct ledger_receipt *rc)
{
	char url[256], file[PATH_MAX + 64];
	struct receipt_store store = {.card_url_base = t->cfg.card_url_base};
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "receipt", rc->receipt_no);
	cJSON_AddNumberToObject(o, "amount_gr", (double) rc->amount_gr);
	cJSON_AddNumberToObject(o, "earned_pts", (double) rc->earned_pts);
	cJSON_AddNumberToObject(o, "bonus_pts", (double) rc->bonus_pts);
	if (rc->coupon_id[0])
		cJSON_AddStringToObject(o, "coupon", rc->coupon_id);
	cJSON_AddNumberToObject(o, "balance_pts", (double) rc->balance_pts);
	cJSON_AddBoolToObject(o, "new_member", rc->new_member);
	if (receipt_card_url(&store, rc->card_code, url, sizeof(url)) == 0)
		cJSON_AddStringToObject(o, "card_url", url);
	receipt_file_path(t, rc->receipt_no, file, sizeof(file));
	cJSON_AddStringToObject(o, "printed_to", file);
	return o;
}

/* ---- the sale ---- */

/* A transition the flow guarantees; one refused means a bug, logged loudly. */
static void sale_step(struct terminal *t, enum sale_event ev)
{
	if (sale_feed(&t->sale, ev, hal_clock_mono_us(t->clock)) < 0)
		log_err("sale flow: event %d not allowed in state %s", (int) ev,
			sale_state_name(t->sale.state));
}

static void sale_finish(struct terminal *t, cJSON *answer)
{
	if (t->sale_client != NO_CLIENT)
		(void) ctl_reply(t->ctl, t->sale_client, answer);
	else
		cJSON_Delete(answer);
	t->sale_client = NO_CLIENT;
}

static void sale_cancel(struct terminal *t, const char *why)
{
	if (sale_feed(&t->sale, SALE_EV_CANCEL, hal_clock_mono_us(t->clock)) < 0)
		return;
	log_info("sale cancelled: %s", why);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", why);
	sale_finish(t, o);
}

/*
 * Start a sale of amount_text. Returns NULL, or the reason it was refused (nothing changes).
 */
static const char *sale_start(struct terminal *t, const char *amount_text, unsigned client)
{
	static char why[96];
	const char *reason;
	int64_t gr;

	if (sale_cancellable(&t->sale))
		return "a sale is already waiting for a card (cancel it first)";
	if (money_parse(amount_text, &gr, &reason) < 0) {
		snprintf(why, sizeof(why), "invalid amount: %s", reason);
		return why;
	}
	if (sale_feed(&t->sale, SALE_EV_AMOUNT, hal_clock_mono_us(t->clock)) < 0)
		return "the terminal is busy finishing the last sale";
	t->sale_amount_gr = gr;
	t->sale_client = client;
	log_info("sale of %lld gr waiting for a card", (long long) gr);
	show_waiting(t);
	return NULL;
}

/* A fresh coupon id: 10 Crockford base32 characters (50 random bits). */
static int make_coupon_id(char id[11])
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint8_t rnd[10];
	int r = hal_random_bytes(rnd, sizeof(rnd));
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(rnd); i++)
		id[i] = alphabet[rnd[i] & 31];
	id[10] = '\0';
	return 0;
}

/* The day's coupon counts: read from the ledger when the Warsaw day changes, then kept. */
static int coupon_counts(struct terminal *t, int64_t now_us)
{
	int64_t day = rules_warsaw_day_start_us(now_us, 0), first, react;
	if (day == t->coupon_day_us)
		return 0;
	int r = ledger_coupons_issued_since(t->ledger, "first_purchase", day, &first);
	if (r == 0)
		r = ledger_coupons_issued_since(t->ledger, "reactivation", day, &react);
	if (r < 0)
		return r;
	t->coupon_day_us = day;
	t->issued_first_purchase = (int32_t) first;
	t->issued_reactivation = (int32_t) react;
	return 0;
}

/*
 * Apply the programme to the waiting sale for this card and book the result in one
 * transaction. Returns 0, a negative errno (storage; nothing booked), or 1 with *refusal set
 * when the programme refuses the sale (nothing booked).
 */
static int book_sale(struct terminal *t, const uint8_t pseudonym[PSEUDONYM_LEN], int64_t now_us,
		     struct ledger_receipt *ret_receipt, char *refusal, size_t refusal_size)
{
	struct rules_member *state = calloc(1, sizeof(*state));
	struct rules_result *res = calloc(1, sizeof(*res));
	struct ledger_member m;
	int64_t member_id = 0;
	char coupon_id[11];
	int r;

	if (!state || !res) {
		r = -ENOMEM;
		goto out;
	}
	r = ledger_member_by_pseudonym(t->ledger, pseudonym, &m);
	if (r == 0)
		member_id = m.member_id;
	else if (r != -ENOENT)
		goto out;
	if ((r = ledger_member_state(t->ledger, member_id, &t->programme, now_us, state)) < 0 ||
	    (r = make_coupon_id(coupon_id)) < 0 || (r = coupon_counts(t, now_us)) < 0)
		goto out;
	/* the keypad gives a total only: one line that earns */
	struct rules_line line = {.qty = 1, .unit_gr = t->sale_amount_gr};
	struct rules_basket basket = {.lines = &line, .n_lines = 1};
	/* no server yet: the terminal is offline (this matters for redemption only) */
	struct rules_request req = {
	    .new_coupon_id = coupon_id,
	    .offline = true,
	    .issued_today_first_purchase = t->issued_first_purchase,
	    .issued_today_reactivation = t->issued_reactivation,
	};
	if ((r = rules_apply(&t->programme, state, &basket, &req, now_us, res)) < 0)
		goto out;
	if (res->refusal != RULES_OK) {
		snprintf(refusal, refusal_size, "%s", res->refusal_text);
		r = 1;
		goto out;
	}
	struct ledger_booking booking = {
	    .prog = &t->programme,
	    .time_us = now_us,
	    .eligible_basket_gr = t->sale_amount_gr,
	};
	r = ledger_book(t->ledger, pseudonym, res, &booking, ret_receipt);
	if (r == 0 && res->coupon_issued) {
		if (!strcmp(res->coupon.campaign, "first_purchase"))
			t->issued_first_purchase++;
		else if (!strcmp(res->coupon.campaign, "reactivation"))
			t->issued_reactivation++;
	}
	if (r == 0 && res->coupon_withheld)
		log_info("no coupon for this sale: %s", res->coupon_withheld);
out:
	free(state);
	free(res);
	return r;
}

/* Book the waiting sale for the card, then print. Returns the outcome for the tapper. */
static cJSON *sale_commit(struct terminal *t, const uint8_t pseudonym[PSEUDONYM_LEN])
{
	struct ledger_receipt rc;
	char refusal[RULES_TEXT_MAX];
	int64_t mono = hal_clock_mono_us(t->clock);
	/* nothing to offer yet (no redemption): the tap confirms the sale */
	if (sale_feed(&t->sale, SALE_EV_CARD, mono) < 0 ||
	    sale_feed(&t->sale, SALE_EV_NO_OFFER, mono) < 0 ||
	    sale_feed(&t->sale, SALE_EV_CONFIRM, mono) < 0) {
		log_err("sale flow out of step in state %s", sale_state_name(t->sale.state));
		return NULL;
	}
	int r = book_sale(t, pseudonym, hal_clock_now_us(t->clock), &rc, refusal, sizeof(refusal));
	if (r == 1) {
		/* the programme refused: nothing booked, the sale ends */
		sale_step(t, SALE_EV_BOOK_FAILED);
		log_info("sale refused by the programme: %s", refusal);
		show(t, "Sale refused:", refusal, NULL);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", false);
		cJSON_AddStringToObject(o, "error", refusal);
		sale_finish(t, cJSON_Duplicate(o, true));
		return o;
	}
	sale_step(t, r < 0 ? SALE_EV_BOOK_FAILED : SALE_EV_BOOKED);
	if (r < 0) {
		const char *why = r == -ENOSPC	  ? "the terminal's disk is full"
				  : r == -EBUSY	  ? "the ledger is locked by another program"
				  : r == -EBADMSG ? "the ledger file is damaged"
						  : "the ledger could not be written";
		char msg[160];
		log_errno(r, "booking the sale failed (%s); nothing was booked",
			  ledger_errmsg(t->ledger));
		show(t, "ERROR: sale NOT booked", why, "Call support; take the sale by hand");
		snprintf(msg, sizeof(msg), "%s; nothing was booked", why);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", false);
		cJSON_AddStringToObject(o, "error", msg);
		sale_finish(t, cJSON_Duplicate(o, true));
		return o;
	}
	log_info("sale booked: receipt %s, +%lld pts%s", rc.receipt_no, (long long) rc.earned_pts,
		 rc.new_member ? ", new card" : "");
	const char *why = NULL;
	int pr = print_receipt(t, &rc, &why);
	sale_step(t, pr < 0 ? SALE_EV_PRINT_FAILED : SALE_EV_PRINTED);
	sale_step(t, SALE_EV_DONE);

	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON *s = receipt_json(t, &rc);
	cJSON_AddBoolToObject(s, "printed", pr == 0);
	if (pr < 0)
		cJSON_AddStringToObject(s, "print_error", why);
	cJSON_AddItemToObject(o, "sale", s);

	char l1[64], l2[64];
	snprintf(l1, sizeof(l1), "Receipt %s", rc.receipt_no);
	snprintf(l2, sizeof(l2), "+%lld pts, balance %lld pts",
		 (long long) (rc.earned_pts + rc.bonus_pts), (long long) rc.balance_pts);
	show(t, l1, l2,
	     pr < 0	     ? "PRINT FAILED: fix, then reprint"
	     : rc.new_member ? "New card: welcome!"
			     : "Thank you!");
	sale_finish(t, cJSON_Duplicate(o, true));
	return o;
}

/* A tap with no sale waiting: show the card's balance. */
static cJSON *card_inquiry(struct terminal *t, const uint8_t pseudonym[PSEUDONYM_LEN])
{
	struct ledger_member m;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON *c = cJSON_AddObjectToObject(o, "card");
	int r = ledger_member_by_pseudonym(t->ledger, pseudonym, &m);
	if (r == 0) {
		char l1[48];
		snprintf(l1, sizeof(l1), "Card balance: %lld pts", (long long) m.balance_pts);
		show(t, l1, "Type an amount to start a sale", NULL);
		cJSON_AddBoolToObject(c, "known", true);
		cJSON_AddNumberToObject(c, "balance_pts", (double) m.balance_pts);
	} else {
		show(t, "New card (not enrolled yet)", "Type an amount to start a sale", NULL);
		cJSON_AddBoolToObject(c, "known", false);
	}
	return o;
}

/* Handle one card tap. Returns the outcome (ownership to the caller). */
static cJSON *on_tap(struct terminal *t, const struct uid *uid)
{
	int64_t now = hal_clock_mono_us(t->clock);
	uint8_t pseudonym[PSEUDONYM_LEN];
	char tag[9];

	if (t->last_tap.len == uid->len && memcmp(t->last_tap.bytes, uid->bytes, uid->len) == 0 &&
	    now - t->last_tap_mono_us < TERMINAL_DEBOUNCE_US) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", true);
		cJSON_AddStringToObject(o, "ignored", "the same card within 2 s counts as one tap");
		return o;
	}
	t->last_tap = *uid;
	t->last_tap_mono_us = now;
	if (pseudonym_of_uid(t->pseudonym_key, uid->bytes, uid->len, pseudonym) < 0) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", false);
		cJSON_AddStringToObject(o, "error", "card could not be read");
		return o;
	}
	pseudonym_tag(pseudonym, tag);
	log_info("card %s tapped", tag);
	if (t->sale.state == SALE_AMOUNT)
		return sale_commit(t, pseudonym);
	return card_inquiry(t, pseudonym);
}

/* Drain the reader's events; the outcome of the last tap goes to *ret_outcome if asked. */
static void nfc_drain(struct terminal *t, cJSON **ret_outcome)
{
	struct hal_nfc_event ev;
	int r;
	while ((r = hal_nfc_next_event(t->nfc, &ev)) > 0) {
		switch (ev.kind) {
		case HAL_NFC_TAP: {
			struct uid uid = {.len = ev.uid_len};
			memcpy(uid.bytes, ev.uid, ev.uid_len < UID_MAX ? ev.uid_len : UID_MAX);
			t->card_present = true;
			cJSON *o = on_tap(t, &uid);
			if (ret_outcome) {
				cJSON_Delete(*ret_outcome);
				*ret_outcome = o;
			} else {
				cJSON_Delete(o);
			}
			break;
		}
		case HAL_NFC_REMOVED:
			t->card_present = false;
			/* a new tap of the same card after removal counts again */
			t->last_tap.len = 0;
			break;
		case HAL_NFC_READER_LOST:
			t->nfc_connected = false;
			log_warn("NFC reader lost; the terminal keeps working, reconnecting");
			break;
		case HAL_NFC_READER_BACK:
			t->nfc_connected = true;
			log_info("NFC reader is back");
			break;
		case HAL_NFC_EVENT_MAX:
			break;
		}
	}
	if (r < 0)
		log_errno(r, "NFC reader");
}

/* ---- status and control ---- */

static cJSON *status_json(struct terminal *t)
{
	struct ledger_counts counts;
	char last[LEDGER_RECEIPT_NO_MAX + 1];
	enum hal_printer_state ps;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "version", LOYALTY_VERSION);
	cJSON_AddStringToObject(o, "terminal", t->cfg.terminal_id);
	cJSON_AddStringToObject(o, "store", t->cfg.store_name);
	cJSON_AddStringToObject(o, "board", t->board.name);
	cJSON_AddStringToObject(o, "state_dir", t->state_dir);
	cJSON_AddNumberToObject(
	    o, "uptime_s", (double) ((hal_clock_mono_us(t->clock) - t->started_mono_us) / 1000000));
	cJSON_AddNumberToObject(o, "now_utc_us", (double) hal_clock_now_us(t->clock));
	cJSON *sale = cJSON_AddObjectToObject(o, "sale");
	cJSON_AddStringToObject(sale, "state", sale_state_name(t->sale.state));
	if (sale_cancellable(&t->sale))
		cJSON_AddNumberToObject(sale, "amount_gr", (double) t->sale_amount_gr);
	if (ledger_counts(t->ledger, &counts) == 0) {
		cJSON *l = cJSON_AddObjectToObject(o, "ledger");
		cJSON_AddNumberToObject(l, "events", (double) counts.events);
		cJSON_AddNumberToObject(l, "members", (double) counts.members);
		cJSON_AddNumberToObject(l, "last_seq", (double) counts.last_seq);
		if (ledger_last_receipt_no(t->ledger, last, sizeof(last)) == 0)
			cJSON_AddStringToObject(l, "last_receipt", last);
		int64_t acked, pending;
		if (ledger_outbox_state(t->ledger, &acked, &pending) == 0) {
			cJSON_AddNumberToObject(l, "acked_seq", (double) acked);
			cJSON_AddNumberToObject(l, "unsynced", (double) pending);
		}
	}
	cJSON *d = cJSON_AddObjectToObject(o, "devices");
	cJSON *n = cJSON_AddObjectToObject(d, "nfc");
	cJSON_AddStringToObject(n, "driver", t->board.nfc_driver);
	cJSON_AddBoolToObject(n, "connected", t->nfc_connected);
	cJSON *p = cJSON_AddObjectToObject(d, "printer");
	cJSON_AddStringToObject(p, "driver", t->board.printer_driver);
	cJSON_AddStringToObject(p, "model", t->board.printer.model);
	cJSON_AddStringToObject(p, "state",
				hal_printer_state(t->printer, &ps) == 0 ? hal_printer_state_name(ps)
									: "unknown");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(d, "console"), "driver",
				t->console->ops->name);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(d, "clock"), "driver", t->clock->ops->name);
	return o;
}

/* Reprint receipt_no (empty: the last one). Returns the answer for the requester. */
static cJSON *reprint(struct terminal *t, const char *receipt_no)
{
	char last[LEDGER_RECEIPT_NO_MAX + 1];
	struct ledger_receipt rc;
	const char *why = NULL;
	cJSON *o = cJSON_CreateObject();
	int r = 0;

	if (!receipt_no[0]) {
		r = ledger_last_receipt_no(t->ledger, last, sizeof(last));
		receipt_no = last;
		why = r == -ENOENT ? "no receipt to reprint yet" : "ledger read failed";
	}
	if (r == 0) {
		r = ledger_get_receipt(t->ledger, receipt_no, &rc);
		why = r == -ENOENT   ? "no such receipt"
		      : r == -EINVAL ? "invalid receipt number"
				     : "ledger read failed";
	}
	if (r == 0)
		r = print_receipt(t, &rc, &why);
	cJSON_AddBoolToObject(o, "ok", r == 0);
	if (r < 0) {
		cJSON_AddStringToObject(o, "error", why);
		show(t, "Reprint failed:", why, NULL);
	} else {
		cJSON_AddItemToObject(o, "reprint", receipt_json(t, &rc));
		show(t, "Reprinted", rc.receipt_no, NULL);
	}
	return o;
}

static cJSON *ok_answer(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return o;
}

/* Present a card on the simulated reader and process the tap now. */
static cJSON *sim_tap(struct terminal *t, const char *uid_text, const char **why)
{
	struct uid uid;
	int r;
	if (!hal_nfc_is_sim(t->nfc)) {
		*why = "the NFC reader is not simulated on this board";
		return NULL;
	}
	if (uid_parse(uid_text, &uid, why) < 0)
		return NULL;
	if ((r = hal_nfc_sim_present(t->nfc, uid.bytes, uid.len)) < 0) {
		*why = r == -ENODEV ? "the simulated reader is unplugged" : "the reader refused";
		return NULL;
	}
	cJSON *outcome = NULL;
	nfc_drain(t, &outcome);
	return outcome ? outcome : ok_answer();
}

static void on_ctl(void *userdata, unsigned client, const struct ctl_request *req)
{
	struct terminal *t = userdata;
	const char *why = NULL;
	cJSON *o = NULL;
	char msg[160];

	switch (req->cmd) {
	case CTL_STATUS:
		o = status_json(t);
		break;
	case CTL_SALE:
		why = sale_start(t, req->amount, req->wait ? client : NO_CLIENT);
		if (!why && req->wait)
			return; /* answered when the sale ends */
		if (!why) {
			o = ok_answer();
			cJSON_AddStringToObject(o, "sale", "waiting for card");
		}
		break;
	case CTL_CANCEL:
		if (t->sale.state != SALE_AMOUNT) {
			why = "no sale to cancel";
			break;
		}
		sale_cancel(t, "sale cancelled");
		show_idle(t);
		o = ok_answer();
		break;
	case CTL_REPRINT:
		o = reprint(t, req->receipt_no);
		break;
	case CTL_SIM_TAP:
		o = sim_tap(t, req->uid, &why);
		if (!o) {
			snprintf(msg, sizeof(msg), "tap refused: %s", why);
			why = msg;
		}
		break;
	case CTL_SIM_REMOVE:
		if (hal_nfc_sim_remove(t->nfc) < 0) {
			why = "the NFC reader is not simulated on this board";
			break;
		}
		nfc_drain(t, NULL);
		o = ok_answer();
		break;
	case CTL_SIM_CLOCK:
		if ((req->advance_us ? hal_clock_sim_advance(t->clock, req->advance_us)
				     : hal_clock_sim_set(t->clock, req->utc_us, req->freeze)) < 0) {
			why = "the clock is not simulated on this board";
			break;
		}
		o = ok_answer();
		break;
	case CTL_SIM_PRINTER: {
		enum hal_printer_state ps =
		    !strcmp(req->printer_state, "paper_out") ? HAL_PRINTER_PAPER_OUT
		    : !strcmp(req->printer_state, "offline") ? HAL_PRINTER_OFFLINE
							     : HAL_PRINTER_READY;
		if (hal_printer_sim_set_state(t->printer, ps) < 0) {
			why = "the printer is not simulated on this board";
			break;
		}
		o = ok_answer();
		break;
	}
	case CTL_CMD_MAX:
		why = "unknown command";
		break;
	}
	if (why)
		(void) ctl_reply_error(t->ctl, client, why);
	else
		(void) ctl_reply(t->ctl, client, o);
}

/* ---- the cashier console ---- */

static void console_help(struct terminal *t)
{
	show(t, "12,34 Enter: sale  c: cancel", "p: reprint  s: status  q: quit",
	     hal_nfc_is_sim(t->nfc) ? "t <UID>: tap card  r: remove card" : NULL);
}

static void console_line(struct terminal *t, char *line)
{
	char *arg = strchr(line, ' ');
	const char *why = NULL;
	if (arg) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	}
	if (!line[0]) {
		if (t->sale.state == SALE_AMOUNT)
			show_waiting(t);
		else
			show_idle(t);
	} else if ((line[0] >= '0' && line[0] <= '9') || line[0] == '-' || line[0] == '+' ||
		   line[0] == '.' || line[0] == ',') {
		why = sale_start(t, line, NO_CLIENT);
	} else if (!strcmp(line, "c") || !strcmp(line, "cancel")) {
		if (t->sale.state == SALE_AMOUNT)
			sale_cancel(t, "sale cancelled at the console");
		show_idle(t);
	} else if (!strcmp(line, "p") || !strcmp(line, "reprint")) {
		cJSON_Delete(reprint(t, arg ? arg : ""));
	} else if (!strcmp(line, "t") || !strcmp(line, "tap")) {
		cJSON *o = sim_tap(t, arg ? arg : "", &why);
		cJSON_Delete(o);
	} else if (!strcmp(line, "r") || !strcmp(line, "remove")) {
		if (hal_nfc_sim_remove(t->nfc) < 0)
			why = "the NFC reader is not simulated on this board";
		else
			nfc_drain(t, NULL);
	} else if (!strcmp(line, "s") || !strcmp(line, "status")) {
		struct ledger_counts c;
		char l1[80], l2[48];
		snprintf(l1, sizeof(l1), "Terminal %s, board %s", t->cfg.terminal_id,
			 t->board.name);
		if (ledger_counts(t->ledger, &c) == 0)
			snprintf(l2, sizeof(l2), "%lld events, %lld cards", (long long) c.events,
				 (long long) c.members);
		else
			snprintf(l2, sizeof(l2), "ledger unreadable");
		show(t, l1, l2, t->nfc_connected ? "NFC reader OK" : "NFC reader LOST");
	} else if (!strcmp(line, "q") || !strcmp(line, "quit")) {
		t->quit = true;
	} else if (!strcmp(line, "?") || !strcmp(line, "h") || !strcmp(line, "help")) {
		console_help(t);
	} else {
		why = "unknown command (? = help)";
	}
	if (why)
		show(t, "Refused:", why,
		     t->sale.state == SALE_AMOUNT ? "Sale still waiting" : NULL);
}

static void console_keys(struct terminal *t)
{
	int key, r;
	while ((r = hal_console_next_key(t->console, &key)) > 0) {
		if (key == HAL_KEY_ENTER) {
			t->line[t->line_len] = '\0';
			t->line_len = 0;
			console_line(t, t->line);
		} else if (key == HAL_KEY_CANCEL) {
			t->line_len = 0;
			if (t->sale.state == SALE_AMOUNT)
				sale_cancel(t, "sale cancelled at the console");
			show_idle(t);
		} else if (key == HAL_KEY_BACKSPACE) {
			if (t->line_len)
				t->line_len--;
		} else if (key >= 0x20 && key < 0x100 && t->line_len < sizeof(t->line) - 1) {
			t->line[t->line_len++] = (char) key;
		}
	}
	if (r == -EPIPE)
		log_info(
		    "console input closed; the terminal keeps running (stop it with a signal)");
}

/* ---- retention ---- */

#define PURGE_EVERY_US (INT64_C(24) * 3600 * 1000000)

/* Purge the synced events older than the retention period (at start and once a day). */
static void retention_purge(struct terminal *t)
{
	struct ledger_purge_report rep;
	t->last_purge_mono_us = hal_clock_mono_us(t->clock);
	int r = ledger_purge(t->ledger, hal_clock_now_us(t->clock), t->cfg.retention_days, &rep);
	if (r < 0)
		log_errno(r, "purging events older than %d days", t->cfg.retention_days);
	else if (rep.purged_events)
		log_info("purged %lld synced events older than %d days (checkpoint at event %lld)",
			 (long long) rep.purged_events, t->cfg.retention_days,
			 (long long) rep.checkpoint_seq);
}

/* ---- set-up ---- */

/*
 * The programme: the given file, else <state>/programme.json when present, else the built-in
 * default (the same as board/programme.json). A file that does not parse stops the start.
 */
static int load_programme(struct terminal *t, const char *given)
{
	char path[PATH_MAX + 32], err[256];
	struct stat st;
	if (given)
		snprintf(path, sizeof(path), "%s", given);
	else
		snprintf(path, sizeof(path), "%s/programme.json", t->state_dir);
	if (!given && stat(path, &st) < 0 && errno == ENOENT) {
		programme_default(&t->programme);
		log_info("programme: the built-in default (no %s)", path);
		return 0;
	}
	char *text;
	size_t len;
	int r = config_read_file(path, PROGRAMME_TEXT_MAX, &text, &len, err, sizeof(err));
	if (r < 0) {
		log_err("programme %s", err);
		return r;
	}
	r = programme_parse(text, len, &t->programme, err, sizeof(err));
	free(text);
	if (r < 0) {
		log_err("programme %s: %s", path, err);
		return r;
	}
	log_info("programme: %s", path);
	return 0;
}

static int open_devices(struct terminal *t)
{
	struct hal_nfc_config nfc_cfg = {
	    .connstring = t->board.nfc_connstring[0] ? t->board.nfc_connstring : NULL,
	};
	struct hal_printer_config printer_cfg = {
	    .path = strcmp(t->board.printer_driver, "sim") == 0 ? t->printer_dir
								: t->board.printer_path,
	};
	const char *console = t->headless ? "sim" : t->board.console_driver;
	int r;

	if ((r = hal_clock_open(t->board.clock_driver, &t->clock)) < 0)
		return log_errno(r, "clock driver '%s'", t->board.clock_driver);
	if ((r = hal_console_open(console, &t->console)) < 0)
		return log_errno(r, "console driver '%s'", console);
	if ((r = hal_nfc_open(t->board.nfc_driver, &nfc_cfg, &t->nfc)) < 0)
		return log_errno(r, "NFC reader '%s' (%s): check the reader and nfc.connstring",
				 t->board.nfc_driver,
				 nfc_cfg.connstring ? nfc_cfg.connstring : "first found");
	t->nfc_connected = true;
	if ((r = hal_printer_open(t->board.printer_driver, &printer_cfg, &t->printer)) < 0)
		return log_errno(r, "printer '%s' at %s: check the cable and printer.path",
				 t->board.printer_driver, printer_cfg.path);
	return 0;
}

/* The quick ledger check at start: a damaged ledger stops the terminal, saying what to do. */
static int check_ledger(struct terminal *t, const char *path)
{
	struct ledger_verify_report rep;
	int r = ledger_verify_quick(t->ledger, &rep);
	if (r < 0)
		return log_errno(r, "check ledger %s (%s)", path, ledger_errmsg(t->ledger));
	if (rep.problem != LEDGER_PROBLEM_NONE) {
		log_err("ledger %s is damaged: %s", path, rep.message);
		log_err("refusing to book sales on it: restore the ledger from the backup or call "
			"support; run `loyaltyctl ledger verify --db %s` for the full report",
			path);
		return -EBADMSG;
	}
	log_info("ledger %s checked: %lld events, %lld cards", path, (long long) rep.events,
		 (long long) rep.members);
	return 0;
}

int terminal_open(const struct terminal_options *opt, struct terminal **ret_terminal)
{
	char err[CONFIG_ERR_MAX + PATH_MAX], path[PATH_MAX + 32];
	struct terminal *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->signal_fd = -1;
	t->headless = opt->headless;
	sale_init(&t->sale, NULL);
	if (strlen(opt->state_dir) > PATH_MAX - 64) {
		free(t);
		log_err("state folder path too long");
		return -ENAMETOOLONG;
	}
	snprintf(t->state_dir, sizeof(t->state_dir), "%s", opt->state_dir);
	snprintf(t->printer_dir, sizeof(t->printer_dir), "%s/printer", opt->state_dir);
	if ((r = board_profile_load(opt->board_path, &t->board, err, sizeof(err))) < 0) {
		log_err("board profile: %s", err);
		goto fail;
	}
	if (opt->terminal_path)
		snprintf(path, sizeof(path), "%s", opt->terminal_path);
	else
		snprintf(path, sizeof(path), "%s/terminal.json", t->state_dir);
	if ((r = terminal_config_load(path, &t->cfg, err, sizeof(err))) < 0) {
		log_err("terminal config: %s", err);
		if (r == -ENOENT)
			log_err("provision the terminal: write %s (see board/sim/terminal.json)",
				path);
		goto fail;
	}
	if ((r = load_programme(t, opt->programme_path)) < 0)
		goto fail;
	if (mkdir(t->state_dir, 0750) < 0 && errno != EEXIST) {
		r = log_errno(-errno, "create state folder %s", t->state_dir);
		goto fail;
	}
	if (mkdir(t->printer_dir, 0750) < 0 && errno != EEXIST) {
		r = log_errno(-errno, "create %s", t->printer_dir);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/ledger.sqlite", t->state_dir);
	if ((r = ledger_open(path, t->cfg.terminal_id, &t->ledger)) < 0) {
		if (r == -EPROTO)
			log_err("ledger %s was written by a newer firmware: install that firmware "
				"again or restore a backup",
				path);
		else if (r == -EEXIST)
			log_err("ledger %s belongs to another terminal id than '%s': check "
				"terminal.json",
				path, t->cfg.terminal_id);
		else
			log_errno(r, "open ledger %s", path);
		goto fail;
	}
	if ((r = check_ledger(t, path)) < 0)
		goto fail;
	struct ledger_counts counts;
	if ((r = ledger_counts(t->ledger, &counts)) < 0) {
		log_errno(r, "read ledger %s", path);
		goto fail;
	}
	/* a new key would make every known card a stranger: only a ledger without cards may
	 * get one */
	if ((r = load_pseudonym_key(t, counts.members)) < 0)
		goto fail;
	if ((r = open_devices(t)) < 0)
		goto fail;
	if ((r = ctl_open(t->state_dir, on_ctl, t, &t->ctl)) < 0) {
		log_errno(r, "control socket in %s", t->state_dir);
		goto fail;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	t->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (t->signal_fd < 0) {
		r = log_errno(-errno, "signalfd");
		goto fail;
	}
	t->started_mono_us = hal_clock_mono_us(t->clock);
	retention_purge(t);
	*ret_terminal = t;
	return 0;
fail:
	terminal_close(t);
	return r;
}

void terminal_close(struct terminal *t)
{
	if (!t)
		return;
	if (t->sale.state == SALE_AMOUNT)
		sale_cancel(t, "terminal stopping");
	ctl_close(t->ctl);
	hal_printer_close(t->printer);
	hal_nfc_close(t->nfc);
	hal_console_close(t->console);
	hal_clock_close(t->clock);
	ledger_close(t->ledger);
	if (t->signal_fd >= 0)
		close(t->signal_fd);
	memset(t->pseudonym_key, 0, sizeof(t->pseudonym_key));
	free(t);
}

/* ---- the loop ---- */

enum { FD_SIGNAL, FD_NFC, FD_CONSOLE, FD_CTL, FD_MAX = FD_CTL + 1 + CTL_CLIENTS_MAX };

int terminal_run(struct terminal *t)
{
	struct pollfd fds[FD_MAX];

	log_info("terminal %s running on board '%s'; state folder %s", t->cfg.terminal_id,
		 t->board.name, t->state_dir);
	log_info("control socket %s/%s", t->state_dir, CTL_SOCKET_NAME);
	show_idle(t);
	while (!t->quit) {
		fds[FD_SIGNAL] = (struct pollfd){.fd = t->signal_fd, .events = POLLIN};
		fds[FD_NFC] = (struct pollfd){.fd = hal_nfc_fd(t->nfc), .events = POLLIN};
		fds[FD_CONSOLE] =
		    (struct pollfd){.fd = hal_console_fd(t->console), .events = POLLIN};
		size_t nctl = ctl_pollfds(t->ctl, &fds[FD_CTL]);
		int timeout_ms = 60000; /* wakes now and then for the daily purge */
		int wait = sale_wait_ms(&t->sale, hal_clock_mono_us(t->clock));
		if (wait >= 0 && wait < timeout_ms)
			timeout_ms = wait > 1000 ? 1000 : wait; /* the sim clock may be moved */
		int n = poll(fds, FD_CTL + nctl, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_errno(-errno, "poll");
		}
		if (fds[FD_SIGNAL].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(t->signal_fd, &si, sizeof(si)) == (ssize_t) sizeof(si))
				log_info("signal %u: stopping", si.ssi_signo);
			break;
		}
		if (fds[FD_NFC].revents)
			nfc_drain(t, NULL);
		if (fds[FD_CONSOLE].revents)
			console_keys(t);
		ctl_dispatch(t->ctl, &fds[FD_CTL], nctl);
		if (t->sale.state == SALE_IDLE &&
		    hal_clock_mono_us(t->clock) - t->last_purge_mono_us >= PURGE_EVERY_US)
			retention_purge(t);
		if (t->sale.state == SALE_AMOUNT) {
			if (t->sale_client != NO_CLIENT &&
			    !ctl_client_alive(t->ctl, t->sale_client)) {
				/* the register that asked for the sale hung up */
				t->sale_client = NO_CLIENT;
				sale_cancel(t, "the requester went away");
				show_idle(t);
			} else if (sale_tick(&t->sale, hal_clock_mono_us(t->clock))) {
				log_info("sale cancelled: no card within the time limit");
				cJSON *o = cJSON_CreateObject();
				cJSON_AddBoolToObject(o, "ok", false);
				cJSON_AddStringToObject(o, "error",
							"no card within the time limit");
				sale_finish(t, o);
				show(t, "Sale cancelled: no card tapped", NULL, NULL);
			}
		}
	}
	log_info("terminal %s stopped", t->cfg.terminal_id);
	return 0;
}
