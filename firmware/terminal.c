/* terminal: wiring of devices, ledger, control socket and register API; the main loop. */
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#include "ledger_sync.h"
#include "log.h"
#include "ndef.h"
#include "money.h"
#include "random.h"
#include "terminal-priv.h"

/* ---- display ---- */

void terminal_show(struct terminal *t, const char *l1, const char *l2, const char *l3)
{
	const char *lines[3] = {l1, l2 ? l2 : "", l3 ? l3 : ""};
	size_t n = l3 ? 3 : l2 ? 2 : 1;
	(void) hal_console_show(t->console, lines, n);
}

void terminal_show_idle(struct terminal *t)
{
	terminal_show(t, "Ready. Type the amount, Enter", "? = help", NULL);
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

/*
 * The device key that signs the receipts' card tokens: made at first start on a simulator
 * board; another board gets it at provisioning (loyaltyctl device-key --create).
 */
static int load_device_key(struct terminal *t)
{
	char err[256 + PATH_MAX];
	bool sim = !strncmp(t->board.name, "sim", 3);
	int r = devkey_load(t->state_dir, sim ? DEVKEY_CREATE : 0, &t->devkey, err, sizeof(err));
	if (r == -ENOENT) {
		log_err("no device key in %s/%s: provision the terminal (loyaltyctl --state %s "
			"device-key --create), then register its public key with the server",
			t->state_dir, DEVKEY_FILE, t->state_dir);
		return r;
	}
	if (r < 0) {
		log_err("device key: %s", err);
		return r;
	}
	log_info("device key %08x", (unsigned) t->devkey.key_id);
	return 0;
}

/* A tap with no sale waiting: show the card's balance. */
cJSON *terminal_card_inquiry(struct terminal *t, const uint8_t pseudonym[PSEUDONYM_LEN])
{
	struct ledger_member m;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON *c = cJSON_AddObjectToObject(o, "card");
	int r = ledger_member_by_pseudonym(t->ledger, pseudonym, &m);
	if (r == 0) {
		char l1[64 + FIRST_NAME_MAX], name[FIRST_NAME_MAX];
		int64_t chain;
		bool from_server = false;
		if (ledger_member_view(t->ledger, m.member_id, &chain, &from_server) < 0)
			from_server = false;
		if (ledger_member_first_name(t->ledger, m.member_id, name) < 0)
			name[0] = '\0';
		if (from_server && chain != m.balance_pts)
			snprintf(l1, sizeof(l1), "%s%sCard balance: %lld pts (%lld booked here)", name,
				 name[0] ? ": " : "", (long long) chain, (long long) m.balance_pts);
		else
			snprintf(l1, sizeof(l1), "%s%sCard balance: %lld pts", name,
				 name[0] ? ": " : "", (long long) m.balance_pts);
		terminal_show(t, l1, "Type an amount to start a sale", NULL);
		cJSON_AddBoolToObject(c, "known", true);
		if (name[0])
			cJSON_AddStringToObject(c, "first_name", name);
		cJSON_AddNumberToObject(c, "balance_pts", (double) m.balance_pts);
		if (from_server)
			cJSON_AddNumberToObject(c, "chain_balance_pts", (double) chain);
	} else {
		terminal_show(t, "New card (not enrolled yet)", "Type an amount to start a sale",
			      NULL);
		cJSON_AddBoolToObject(c, "known", false);
	}
	return o;
}

/* Handle one card tap. Returns the outcome (ownership to the caller). */
static cJSON *on_tap(struct terminal *t, const struct uid *uid, const struct hal_nfc_event *ev)
{
	int64_t now = hal_clock_mono_us(t->clock);
	uint8_t pseudonym[PSEUDONYM_LEN];
	const char *how = "card UID";
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
	memcpy(t->card.uid, ev->uid, ev->uid_len);
	t->card.uid_len = ev->uid_len;
	t->card.tag = ev->tag;
	t->card.blank = ev->read == HAL_NFC_READ_OK && ev->ndef_len == 0;
	int linked = identify_tap(t, ev, pseudonym, &how);
	if (linked == 0 && pseudonym_of_uid(t->pseudonym_key, uid->bytes, uid->len, pseudonym) < 0) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", false);
		cJSON_AddStringToObject(o, "error", "card could not be read");
		return o;
	}
	/* a card the server blocked is refused however it was named (its link or its UID) */
	struct ledger_member m;
	const char *why = how;
	if (linked == 0 && ledger_member_by_pseudonym(t->ledger, pseudonym, &m) == 0 &&
	    m.card_code[0] && identify_refused(t, m.card_code, &why) < 0)
		linked = -EACCES;
	if (linked < 0) {
		log_info("card refused: %s", why);
		terminal_show(t, "Card refused:", why, NULL);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", false);
		cJSON_AddStringToObject(o, "error", why);
		return o;
	}
	pseudonym_tag(pseudonym, tag);
	log_info("card %s tapped (by its %s)", tag, how);
	if (t->sale.state == SALE_AMOUNT)
		return checkout_card(t, pseudonym, t->card.sun_url);
	return terminal_card_inquiry(t, pseudonym);
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
			cJSON *o;
			if (ev.write != HAL_NFC_WRITE_NONE) {
				/* the answer to a card write, not a new tap: nothing to book */
				log_info("card write: %s", hal_nfc_write_name(ev.write));
				o = cJSON_CreateObject();
				cJSON_AddBoolToObject(o, "ok", ev.write == HAL_NFC_WRITE_OK);
				cJSON_AddStringToObject(o, "write", hal_nfc_write_name(ev.write));
			} else if (ev.read == HAL_NFC_READ_FAILED) {
				/* the card left mid-read: a card is never taken as blank for that
				 */
				log_warn("card could not be read (left the reader or stopped "
					 "answering mid-read): asked to tap again");
				terminal_show(t, "Tap again:", "the card could not be read",
					      sale_cancellable(&t->sale) ? "The sale is still open"
									 : NULL);
				o = cJSON_CreateObject();
				cJSON_AddBoolToObject(o, "ok", false);
				cJSON_AddStringToObject(o, "error",
							"the card could not be read: tap again");
			} else {
				o = on_tap(t, &uid, &ev);
			}
			/* the answer to a card write keeps the outcome of the tap before it */
			if (ret_outcome && (ev.write == HAL_NFC_WRITE_NONE || !*ret_outcome)) {
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
			/* a card on it counts as gone (the driver sends no REMOVED): its next
			 * tap counts again */
			t->card_present = false;
			t->last_tap.len = 0;
			log_warn("NFC reader lost; the terminal keeps working, reconnecting");
			if (t->sale.state == SALE_AMOUNT || !sale_cancellable(&t->sale))
				terminal_show(t, "NFC reader lost: reconnecting",
					      "cards cannot be read meanwhile",
					      t->sale.state == SALE_AMOUNT ? "The sale is still open"
									   : NULL);
			break;
		case HAL_NFC_READER_BACK:
			t->nfc_connected = true;
			log_info("NFC reader is back");
			if (t->sale.state == SALE_AMOUNT)
				checkout_show(t); /* the sale's prompt: tap the card */
			else if (!sale_cancellable(&t->sale))
				terminal_show(t, "NFC reader is back", "Ready. Type the amount, Enter",
					      NULL);
			break;
		case HAL_NFC_EVENT_MAX:
			break;
		}
	}
	if (r < 0)
		log_errno(r, "NFC reader");
}

/* Drain the scanner's events; the outcome of the last line goes to *ret_outcome if asked. */
static void scanner_drain(struct terminal *t, cJSON **ret_outcome)
{
	struct hal_scanner_event *ev = malloc(sizeof(*ev));
	int r = 0;
	if (!ev)
		return;
	while (t->scanner && (r = hal_scanner_next_event(t->scanner, ev)) > 0) {
		cJSON *o = NULL;
		switch (ev->kind) {
		case HAL_SCANNER_LINE:
			o = identify_scan(t, ev->line, ev->len);
			break;
		case HAL_SCANNER_TOO_LONG:
			log_warn("a scan of %zu bytes was too long and is dropped", ev->len);
			terminal_show(t, "Scan not used:", "too long for a loyalty code", NULL);
			break;
		case HAL_SCANNER_BAD_KEY:
			log_warn("a scan with an unknown key (code %u) is dropped", ev->key);
			terminal_show(t, "Scan not understood:",
				      "set the scanner to a US keyboard layout", NULL);
			break;
		case HAL_SCANNER_LOST:
			t->scanner_connected = false;
			log_warn("scanner lost; the terminal keeps working, reconnecting");
			break;
		case HAL_SCANNER_BACK:
			t->scanner_connected = true;
			log_info("scanner is back");
			break;
		case HAL_SCANNER_EVENT_MAX:
			break;
		}
		if (ret_outcome && o) {
			cJSON_Delete(*ret_outcome);
			*ret_outcome = o;
		} else {
			cJSON_Delete(o);
		}
	}
	if (r < 0)
		log_errno(r, "scanner");
	free(ev);
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
	cJSON_AddItemToObject(o, "sale", checkout_json(t));
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
	if (t->scanner) {
		cJSON *sc = cJSON_AddObjectToObject(d, "scanner");
		cJSON_AddStringToObject(sc, "driver", t->board.scanner_driver);
		cJSON_AddBoolToObject(sc, "connected", t->scanner_connected);
	}
	cJSON *p = cJSON_AddObjectToObject(d, "printer");
	cJSON_AddStringToObject(p, "driver", t->board.printer_driver);
	cJSON_AddStringToObject(p, "model", t->board.printer.model);
	cJSON_AddStringToObject(p, "state",
				hal_printer_state(t->printer, &ps) == 0 ? hal_printer_state_name(ps)
									: "unknown");
	cJSON_AddNumberToObject(p, "queued", t->spool ? spool_count(t->spool) : 0);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(d, "console"), "driver",
				t->console->ops->name);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(d, "clock"), "driver", t->clock->ops->name);
	if (t->sync)
		cJSON_AddItemToObject(o, "sync", sync_client_status_json(t->sync));
	return o;
}

static cJSON *ok_answer(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	return o;
}

/* Present a card on the simulated reader and process the tap now. */
static cJSON *sim_tap(struct terminal *t, const struct ctl_request *req, const char **why)
{
	static const char *const tags[] = {"ntag213", "ntag215", "ntag216"};
	static const enum hal_nfc_tag tag_of[] = {HAL_NFC_TAG_NTAG213, HAL_NFC_TAG_NTAG215,
						  HAL_NFC_TAG_NTAG216};
	uint8_t ndef[HAL_NFC_NDEF_MAX];
	int n = 0, tag = -1;
	struct uid uid;
	int r;
	if (!hal_nfc_is_sim(t->nfc)) {
		*why = "the NFC reader is not simulated on this board";
		return NULL;
	}
	if (uid_parse(req->uid, &uid, why) < 0)
		return NULL;
	for (int i = 0; req->tag[0] && i < 3; i++)
		if (!strcmp(req->tag, tags[i]))
			tag = i;
	if (req->tag[0] && tag < 0) {
		*why = "tag: ntag213, ntag215 or ntag216";
		return NULL;
	}
	if (req->url[0] && (n = ndef_message_encode_uri(req->url, strlen(req->url), ndef,
							 sizeof(ndef))) < 0) {
		*why = "url: not a URL a card can hold";
		return NULL;
	}
	r = tag < 0 ? hal_nfc_sim_present(t->nfc, uid.bytes, uid.len)
		    : hal_nfc_sim_present_card(t->nfc, uid.bytes, uid.len, tag_of[tag], ndef,
					       (size_t) n);
	if (r < 0) {
		*why = r == -ENODEV ? "the simulated reader is unplugged" : "the reader refused";
		return NULL;
	}
	cJSON *outcome = NULL;
	nfc_drain(t, &outcome);
	if (!outcome)
		outcome = ok_answer();
	/* what the cashier sees after the tap, for scripts and tests of a headless terminal */
	if (outcome && hal_console_is_sim(t->console))
		cJSON_AddStringToObject(outcome, "display", hal_console_sim_display(t->console));
	return outcome;
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
	case CTL_SALE: {
		int64_t gr;
		const char *reason;
		if (money_parse(req->amount, &gr, &reason) < 0) {
			snprintf(msg, sizeof(msg), "invalid amount: %s", reason);
			why = msg;
			break;
		}
		struct checkout_start s = {
		    .origin = ORIGIN_CTL,
		    .total_gr = gr,
		    .ask = req->ask,
		    .redeem_pts = req->redeem_pts,
		    .coupon = req->coupon_set ? req->coupon : NULL,
		    .ctl_client = req->wait && !req->ask ? client : NO_CLIENT,
		};
		if ((why = checkout_begin(t, &s)))
			break;
		if (s.ctl_client != NO_CLIENT)
			return; /* answered when the sale ends */
		o = ok_answer();
		cJSON_AddItemToObject(o, "sale", checkout_json(t));
		break;
	}
	case CTL_ANSWER:
		if ((why =
			 checkout_answer(t, req->redeem_pts, req->coupon_set ? req->coupon : NULL)))
			break;
		o = ok_answer();
		cJSON_AddItemToObject(o, "sale", checkout_json(t));
		break;
	case CTL_CONFIRM:
		o = checkout_confirm(t);
		break;
	case CTL_NO_CARD:
		o = checkout_no_card(t);
		break;
	case CTL_CANCEL:
		if (!checkout_cancel(t, "sale cancelled")) {
			why = "no sale to cancel";
			break;
		}
		terminal_show_idle(t);
		o = ok_answer();
		break;
	case CTL_REPRINT:
		o = checkout_reprint(t, req->receipt_no, req->explain);
		break;
	case CTL_REFUND: {
		struct checkout_refund rf = {.receipt_no = req->receipt_no, .whole = req->whole};
		const char *reason;
		if (!req->whole && money_parse(req->amount, &rf.amount_gr, &reason) < 0) {
			snprintf(msg, sizeof(msg), "invalid amount: %s", reason);
			why = msg;
			break;
		}
		o = checkout_refund(t, &rf);
		break;
	}
	case CTL_EXPLAIN:
		o = checkout_explain(t, req->receipt_no);
		break;
	case CTL_SIM_TAP:
		o = sim_tap(t, req, &why);
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
	case CTL_SIM_SCAN:
		if (!t->scanner || !hal_scanner_is_sim(t->scanner)) {
			why = "the scanner is not simulated on this board";
			break;
		}
		if (hal_scanner_sim_scan(t->scanner, req->url, strlen(req->url)) < 0) {
			why = "the simulated scanner refused the code";
			break;
		}
		scanner_drain(t, &o);
		if (!o)
			why = "the scan gave nothing (see the log)";
		break;
	case CTL_SYNC_NOW:
		if (!t->sync) {
			why = "this terminal has no server_url in terminal.json: nothing to sync";
			break;
		}
		if (sync_client_now(t->sync, client) < 0) {
			why = "too many sync requests waiting";
			break;
		}
		return; /* answered when the round ends */
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
	terminal_show(t, "12,34 Enter: sale  b: no card  c: cancel  p [no]: reprint (px: explained)",
		      "z <receipt> [amount]: refund  x <receipt>: explain  s: status  q: quit",
		      hal_nfc_is_sim(t->nfc) ? "t <UID> [ntag215 [URL]]: tap card  u: remove card"
					     : NULL);
}

/* "r" / "r 500": redeem the most allowed, or these points. */
static const char *console_redeem(struct terminal *t, const char *arg)
{
	int64_t pts = -1;
	if (arg && *arg) {
		char *end;
		long long v = strtoll(arg, &end, 10);
		if (*end || v < 0)
			return "points must be a whole number";
		pts = v;
	}
	/* a coupon already chosen stays */
	const char *why =
	    checkout_answer(t, pts, t->sale.state == SALE_CONFIRM ? checkout_coupon(t) : NULL);
	if (!why && pts < 0 && checkout_redeem_pts(t) == 0)
		return checkout_offer_note(t);
	return why;
}

/* "k" / "k CODE": use the best usable coupon, or this one (keeping the points asked). */
static const char *console_coupon(struct terminal *t, const char *arg)
{
	/* points already asked for stay */
	int64_t pts = t->sale.state == SALE_CONFIRM ? checkout_redeem_pts(t) : 0;
	return checkout_answer(t, pts, arg && *arg ? arg : "auto");
}

/* A refusal on the display: the reason over two lines, cut at a space. */
static void show_refusal(struct terminal *t, const char *why)
{
	char l2[HAL_CONSOLE_LINE_MAX], l3[HAL_CONSOLE_LINE_MAX];
	size_t n = strlen(why), cut = n;
	if (n >= sizeof(l2)) {
		cut = sizeof(l2) - 1;
		while (cut > 0 && why[cut] != ' ')
			cut--;
		if (!cut)
			cut = sizeof(l2) - 1;
	}
	snprintf(l2, sizeof(l2), "%.*s", (int) cut, why);
	snprintf(l3, sizeof(l3), "%s", why[cut] == ' ' ? why + cut + 1 : why + cut);
	terminal_show(
	    t, sale_cancellable(&t->sale) ? "Refused (the sale is still open):" : "Refused:", l2,
	    l3[0] ? l3 : NULL);
}

static void show_outcome(struct terminal *t, cJSON *o, const char *what)
{
	const cJSON *ok = cJSON_GetObjectItem(o, "ok");
	const cJSON *err = cJSON_GetObjectItem(o, "error");
	if (!cJSON_IsTrue(ok))
		terminal_show(t, what, cJSON_IsString(err) ? err->valuestring : "failed", NULL);
	cJSON_Delete(o);
}

static void console_line(struct terminal *t, char *line)
{
	char *arg = strchr(line, ' ');
	const char *why = NULL;
	char msg[96];
	if (arg) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	}
	bool in_sale = sale_cancellable(&t->sale);
	if (!line[0]) {
		/* Enter: no thanks to the offer, or confirm */
		if (t->sale.state == SALE_OFFER && !(why = checkout_answer(t, 0, NULL)))
			show_outcome(t, checkout_confirm(t), "Sale NOT booked:");
		else if (t->sale.state == SALE_CONFIRM)
			show_outcome(t, checkout_confirm(t), "Sale NOT booked:");
		else if (in_sale)
			checkout_show(t);
		else
			terminal_show_idle(t);
	} else if ((line[0] >= '0' && line[0] <= '9') || line[0] == '-' || line[0] == '+' ||
		   line[0] == '.' || line[0] == ',') {
		int64_t gr;
		const char *reason;
		if (money_parse(line, &gr, &reason) < 0) {
			snprintf(msg, sizeof(msg), "invalid amount: %s", reason);
			why = msg;
		} else {
			struct checkout_start s = {
			    .origin = ORIGIN_CONSOLE,
			    .total_gr = gr,
			    .ask = true,
			    .confirm_alone = true,
			};
			why = checkout_begin(t, &s);
		}
	} else if (!strcmp(line, "c") || !strcmp(line, "cancel")) {
		checkout_cancel(t, "sale cancelled at the console");
		terminal_show_idle(t);
	} else if (!strcmp(line, "r") || !strcmp(line, "redeem")) {
		why = console_redeem(t, arg);
	} else if (!strcmp(line, "k") || !strcmp(line, "coupon")) {
		why = console_coupon(t, arg);
	} else if (!strcmp(line, "n") || !strcmp(line, "none")) {
		why = checkout_answer(t, 0, NULL);
	} else if (!strcmp(line, "b") || !strcmp(line, "nocard")) {
		show_outcome(t, checkout_no_card(t), "Sale NOT booked:");
	} else if (!strcmp(line, "p") || !strcmp(line, "reprint")) {
		show_outcome(t, checkout_reprint(t, arg ? arg : "", false), "Reprint failed:");
	} else if (!strcmp(line, "px")) {
		show_outcome(t, checkout_reprint(t, arg ? arg : "", true), "Reprint failed:");
	} else if (!strcmp(line, "z") || !strcmp(line, "refund")) {
		char *amount = arg ? strchr(arg, ' ') : NULL;
		struct checkout_refund rf = {.receipt_no = arg ? arg : "", .whole = true};
		const char *reason;
		if (amount) {
			*amount++ = '\0';
			rf.whole = false;
			if (money_parse(amount, &rf.amount_gr, &reason) < 0) {
				snprintf(msg, sizeof(msg), "invalid amount: %s", reason);
				why = msg;
			}
		}
		if (!why && !rf.receipt_no[0])
			why = "refund: give the receipt number";
		else if (!why)
			show_outcome(t, checkout_refund(t, &rf), "Refund refused:");
	} else if (!strcmp(line, "x") || !strcmp(line, "explain")) {
		cJSON *o = checkout_explain(t, arg ? arg : "");
		const cJSON *evs = cJSON_GetObjectItem(o, "events");
		if (cJSON_IsArray(evs)) {
			char l1[96] = "", part[48];
			const cJSON *e;
			cJSON_ArrayForEach(e, evs)
			{
				snprintf(part, sizeof(part), "%s %+lld ",
					 cJSON_GetObjectItem(e, "kind")->valuestring,
					 (long long) cJSON_GetObjectItem(e, "points")->valuedouble);
				if (strlen(l1) + strlen(part) < sizeof(l1))
					strcat(l1, part);
			}
			terminal_show(t, arg, l1, NULL);
			cJSON_Delete(o);
		} else {
			show_outcome(t, o, "Explain failed:");
		}
	} else if (!strcmp(line, "t") || !strcmp(line, "tap")) {
		/* "t UID [TAG [URL]]": a card by UID, or an NTAG21x, blank or holding URL */
		struct ctl_request rq = {.cmd = CTL_SIM_TAP};
		char *tag = arg ? strchr(arg, ' ') : NULL, *url = NULL;
		if (tag) {
			*tag++ = '\0';
			if ((url = strchr(tag, ' ')))
				*url++ = '\0';
		}
		snprintf(rq.uid, sizeof(rq.uid), "%s", arg ? arg : "");
		snprintf(rq.tag, sizeof(rq.tag), "%s", tag ? tag : "");
		snprintf(rq.url, sizeof(rq.url), "%s", url ? url : "");
		cJSON *o = sim_tap(t, &rq, &why);
		cJSON_Delete(o);
	} else if (!strcmp(line, "u") || !strcmp(line, "remove")) {
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
		terminal_show(t, l1, l2, t->nfc_connected ? "NFC reader OK" : "NFC reader LOST");
	} else if (!strcmp(line, "q") || !strcmp(line, "quit")) {
		t->quit = true;
	} else if (!strcmp(line, "?") || !strcmp(line, "h") || !strcmp(line, "help")) {
		console_help(t);
	} else {
		why = "unknown command (? = help)";
	}
	if (why)
		show_refusal(t, why);
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
			checkout_cancel(t, "sale cancelled at the console");
			terminal_show_idle(t);
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

/* ---- sync ---- */

static int64_t sync_clock(void *userdata)
{
	return hal_clock_now_us(userdata);
}

/* A sync round asked for by loyaltyctl sync now ended: answer the client. */
static void sync_done(void *userdata, unsigned waiter, cJSON *outcome)
{
	struct terminal *t = userdata;
	(void) ctl_reply(t->ctl, waiter, outcome);
}

#define PROGRAMME_ISSUED_FILE "programme.issued"

/*
 * A programme the server signed (the sync client checked the signature): kept as
 * <state>/programme.json and programme.issued (its issued time) for the next start, and used at
 * once, or when the sale in progress ends. Not newer than the one in use: 1, nothing changes.
 */
static int sync_programme(void *userdata, const uint8_t *bytes, size_t len, int64_t issued_us,
			  char *err, size_t err_size)
{
	struct terminal *t = userdata;
	char path[PATH_MAX + 32], issued[24];
	if (issued_us <= t->programme_issued_us)
		return 1;
	struct programme *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	int r = programme_parse((const char *) bytes, len, p, err, err_size);
	if (r < 0) {
		free(p);
		return r;
	}
	snprintf(path, sizeof(path), "%s/programme.json", t->state_dir);
	if ((r = config_write_file(path, bytes, len, 0644)) == 0) {
		snprintf(issued, sizeof(issued), "%lld\n", (long long) issued_us);
		snprintf(path, sizeof(path), "%s/" PROGRAMME_ISSUED_FILE, t->state_dir);
		r = config_write_file(path, issued, strlen(issued), 0644);
	}
	if (r < 0) {
		snprintf(err, err_size, "cannot store it in %s: %s", t->state_dir, strerror(-r));
		free(p);
		return r;
	}
	t->programme_issued_us = issued_us;
	free(t->programme_next);
	t->programme_next = p;
	terminal_programme_switch(t);
	return 0;
}

void terminal_programme_switch(struct terminal *t)
{
	if (!t->programme_next || t->sale.state != SALE_IDLE)
		return;
	t->programme = *t->programme_next;
	free(t->programme_next);
	t->programme_next = NULL;
	log_info("programme: the server's, issued at %lld us, in use",
		 (long long) t->programme_issued_us);
}

/* The sync client of a terminal of a chain (server_url in terminal.json). */
static int open_sync(struct terminal *t)
{
	if (!t->cfg.server_url[0])
		return 0;
	struct sync_client_config sc = {
	    .state_dir = t->state_dir,
	    .terminal_id = t->cfg.terminal_id,
	    .server_url = t->cfg.server_url,
	    .ca_file = t->cfg.sync_ca,
	    .cert_file = t->cfg.sync_cert,
	    .enrolment_code = t->cfg.sync_enrolment_code,
	    .interval_s = t->cfg.sync_interval_s,
	    .devkey = &t->devkey,
	    .now_utc_us = sync_clock,
	    .clock_userdata = t->clock,
	    .done = sync_done,
	    .done_userdata = t,
	    .programme = sync_programme,
	    .programme_userdata = t,
	};
	int r = sync_client_open(&sc, t->ledger, &t->sync);
	if (r < 0)
		return log_errno(r, "sync client for %s", t->cfg.server_url);
	return 0;
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
	/* the server's, when it came by sync: its issued time, so an older one is not taken */
	char issued[PATH_MAX + 32], *num;
	size_t nlen;
	snprintf(issued, sizeof(issued), "%s/" PROGRAMME_ISSUED_FILE, t->state_dir);
	if (!given && access(issued, F_OK) == 0 &&
	    config_read_file(issued, 32, &num, &nlen, err, sizeof(err)) == 0) {
		char *end;
		errno = 0;
		long long v = strtoll(num, &end, 10);
		if (errno || end == num || (*end && *end != '\n') || v <= 0)
			log_warn("programme: %s is not a time in microseconds: the next programme "
				 "the server sends is taken",
				 issued);
		else
			t->programme_issued_us = v;
		free(num);
		if (t->programme_issued_us)
			log_info("programme: the server's, issued at %lld us",
				 (long long) t->programme_issued_us);
	}
	return 0;
}

static int open_devices(struct terminal *t)
{
	struct hal_nfc_config nfc_cfg = {
	    .connstring = t->board.nfc_connstring[0] ? t->board.nfc_connstring : NULL,
	};
	struct hal_printer_config printer_cfg;
	board_profile_printer_config(&t->board, &printer_cfg);
	if (strcmp(t->board.printer_driver, "sim") == 0)
		printer_cfg.path = t->printer_dir;
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
	if (t->board.scanner_driver[0]) {
		struct hal_scanner_config sc = {
		    .path = t->board.scanner_path[0] ? t->board.scanner_path : NULL,
		    .baud = t->board.scanner_baud,
		};
		if ((r = hal_scanner_open(t->board.scanner_driver, &sc, &t->scanner)) < 0)
			return log_errno(r, "scanner '%s' (%s): check the scanner and the board's "
					    "scanner section",
					 t->board.scanner_driver,
					 sc.path ? sc.path : "no path");
		t->scanner_connected = true;
	}
	if ((r = hal_printer_open(t->board.printer_driver, &printer_cfg, &t->printer)) < 0)
		return log_errno(
		    r, "printer '%s' at %s%s%s: check the cable and the board's printer section",
		    t->board.printer_driver, printer_cfg.path ? printer_cfg.path : "",
		    printer_cfg.host ? " " : "", printer_cfg.host ? printer_cfg.host : "");
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
	if (checkout_new(&t->co) < 0) {
		free(t);
		return -ENOMEM;
	}
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
	if (opt->register_listen) {
		bool loopback;
		if (!strcmp(opt->register_listen, "off")) {
			t->cfg.register_listen[0] = '\0';
		} else if (strlen(opt->register_listen) >= sizeof(t->cfg.register_listen) ||
			   config_listen_parse(opt->register_listen, NULL, &loopback) < 0) {
			log_err("--register: '%s' is not an IP address and port (127.0.0.1:8731)",
				opt->register_listen);
			r = -EINVAL;
			goto fail;
		} else {
			snprintf(t->cfg.register_listen, sizeof(t->cfg.register_listen), "%s",
				 opt->register_listen);
		}
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
	if ((r = load_device_key(t)) < 0)
		goto fail;
	if ((r = open_devices(t)) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/spool", t->state_dir);
	if ((r = spool_open(path, &t->spool)) < 0) {
		log_errno(r, "receipt spool %s", path);
		goto fail;
	}
	if (spool_count(t->spool) > 0)
		log_info("%d receipt(s) from before wait for the printer", spool_count(t->spool));
	if ((r = ctl_open(t->state_dir, on_ctl, t, &t->ctl)) < 0) {
		log_errno(r, "control socket in %s", t->state_dir);
		goto fail;
	}
	if ((r = reg_open(t, &t->reg)) < 0)
		goto fail;
	if ((r = open_sync(t)) < 0)
		goto fail;
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
	if (t->co && sale_cancellable(&t->sale))
		checkout_cancel(t, "terminal stopping");
	reg_close(t->reg);
	sync_client_close(t->sync);
	spool_close(t->spool);
	ctl_close(t->ctl);
	checkout_free(t->co);
	free(t->programme_next);
	hal_printer_close(t->printer);
	hal_nfc_close(t->nfc);
	hal_scanner_close(t->scanner);
	hal_console_close(t->console);
	hal_clock_close(t->clock);
	ledger_close(t->ledger);
	if (t->signal_fd >= 0)
		close(t->signal_fd);
	memset(t->pseudonym_key, 0, sizeof(t->pseudonym_key));
	devkey_wipe(&t->devkey);
	free(t);
}

/* ---- the loop ---- */

enum {
	FD_SIGNAL,
	FD_NFC,
	FD_SCANNER,
	FD_CONSOLE,
	FD_REG,
	FD_CTL,
	FD_MAX = FD_CTL + 1 + CTL_CLIENTS_MAX + SYNC_CLIENT_FDS_MAX
};

int terminal_run(struct terminal *t)
{
	struct pollfd fds[FD_MAX];

	log_info("terminal %s running on board '%s'; state folder %s", t->cfg.terminal_id,
		 t->board.name, t->state_dir);
	log_info("control socket %s/%s", t->state_dir, CTL_SOCKET_NAME);
	terminal_show_idle(t);
	while (!t->quit) {
		fds[FD_SIGNAL] = (struct pollfd){.fd = t->signal_fd, .events = POLLIN};
		fds[FD_NFC] = (struct pollfd){.fd = hal_nfc_fd(t->nfc), .events = POLLIN};
		fds[FD_SCANNER] = (struct pollfd){
		    .fd = t->scanner ? hal_scanner_fd(t->scanner) : -1, .events = POLLIN};
		fds[FD_CONSOLE] =
		    (struct pollfd){.fd = hal_console_fd(t->console), .events = POLLIN};
		fds[FD_REG] = (struct pollfd){.fd = reg_fd(t->reg), .events = POLLIN};
		size_t nctl = ctl_pollfds(t->ctl, &fds[FD_CTL]);
		/* the sync client's sockets after the control socket's */
		size_t nsync = sync_client_pollfds(t->sync, &fds[FD_CTL + nctl], SYNC_CLIENT_FDS_MAX);
		int timeout_ms = 60000; /* wakes now and then for the daily purge */
		int wait = sale_wait_ms(&t->sale, hal_clock_mono_us(t->clock));
		if (wait >= 0 && wait < timeout_ms)
			timeout_ms = wait > 1000 ? 1000 : wait; /* the sim clock may be moved */
		wait = reg_wait_ms(t->reg);
		if (wait >= 0 && wait < timeout_ms)
			timeout_ms = wait;
		wait = checkout_spool_wait_ms(t);
		if (wait >= 0 && wait < timeout_ms)
			timeout_ms = wait;
		wait = sync_client_wait_ms(t->sync);
		if (wait >= 0 && wait < timeout_ms)
			timeout_ms = wait;
		int n = poll(fds, FD_CTL + nctl + nsync, timeout_ms);
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
		if (fds[FD_SCANNER].revents)
			scanner_drain(t, NULL);
		if (fds[FD_CONSOLE].revents)
			console_keys(t);
		ctl_dispatch(t->ctl, &fds[FD_CTL], nctl);
		sync_client_run(t->sync, &fds[FD_CTL + nctl], nsync);
		if (t->sale.state == SALE_IDLE &&
		    hal_clock_mono_us(t->clock) - t->last_purge_mono_us >= PURGE_EVERY_US)
			retention_purge(t);
		reg_run(t->reg);
		checkout_tick(t);
		terminal_programme_switch(t);
		checkout_drain_spool(t, false);
	}
	log_info("terminal %s stopped", t->cfg.terminal_id);
	return 0;
}
