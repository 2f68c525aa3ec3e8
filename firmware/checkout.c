/*
 * checkout: the sale in progress (amount or basket, the card, the offer, the answer, the
 * confirmation, booking, printing), refunds by receipt number, reprints and receipts.
 *
 * The programme decides everything through rules_apply(); this file only asks it the right
 * questions: what the sale earns with no redemption (the preview), how many points may be
 * redeemed at most (the offer), and what the customer's answer gives. At confirmation the
 * member's state is read again and the answer applied once more, at the time of booking, so
 * what is booked is what the rules say at that moment.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escpos.h"
#include "ledger_sync.h"
#include "log.h"
#include "money.h"
#include "random.h"
#include "receipt.h"
#include "segment.h"
#include "token.h"
#include "terminal-priv.h"

#define MONEY_TEXT 24

struct checkout {
	char id[CHECKOUT_ID_LEN + 1];
	enum checkout_origin origin;
	bool ask, confirm_alone;
	int64_t preset_redeem_pts;
	char preset_coupon[RULES_COUPON_ID_MAX + 1];
	bool preset_coupon_set;
	unsigned ctl_client;

	struct rules_line lines[RULES_LINES_MAX];
	size_t n_lines;
	int64_t basket_gr;
	int64_t eligible_basket_gr; /* gross value of the lines that earn */

	/* the card */
	bool no_card; /* the customer has none: the receipt's QR lets them claim the points */
	uint8_t pseudonym[PSEUDONYM_LEN];
	char sun_url[LEDGER_SUN_URL_MAX + 1]; /* the card's SUN message at this sale's tap, or "" */
	struct ledger_member member;	      /* member_id 0: a new card */
	struct rules_member state;
	char new_coupon_id[11];
	struct segment seg;	      /* the member as they walk in (state before the sale) */
	int64_t offline_redeemed_pts; /* redeemed here since the server last acknowledged */

	/* the offer and the answer */
	int64_t offer_max_pts;
	char offer_note[RULES_TEXT_MAX];
	size_t usable[RULES_COUPONS_MAX]; /* indexes into state.coupons */
	size_t n_usable;
	int64_t redeem_pts;
	char coupon[RULES_COUPON_ID_MAX + 1];
	struct rules_result res; /* the sale as the answer makes it */
	struct rules_result scratch;

	cJSON *outcome; /* how the last sale ended, for the register; NULL while in progress */
};

static const char *const origin_names[ORIGIN_MAX] = {
    [ORIGIN_CONSOLE] = "console",
    [ORIGIN_CTL] = "ctl",
    [ORIGIN_REGISTER] = "register",
};

int checkout_new(struct checkout **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void checkout_free(struct checkout *co)
{
	if (!co)
		return;
	cJSON_Delete(co->outcome);
	free(co);
}

const char *checkout_id(struct terminal *t)
{
	return t->co->id;
}

static void step(struct terminal *t, enum sale_event ev)
{
	if (sale_feed(&t->sale, ev, hal_clock_mono_us(t->clock)) < 0)
		log_err("sale flow: event %d not allowed in state %s", (int) ev,
			sale_state_name(t->sale.state));
}

static cJSON *error_answer(const char *message)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", message);
	return o;
}

static const char *gr_text(int64_t gr, char buf[MONEY_TEXT])
{
	if (money_format(gr, 1, buf, MONEY_TEXT) < 0)
		snprintf(buf, MONEY_TEXT, "?");
	return buf;
}

/* The sale ended: keep the outcome (ownership passes here), answer the control client. */
static void finish(struct terminal *t, cJSON *outcome)
{
	struct checkout *co = t->co;
	cJSON_AddStringToObject(outcome, "sale_id", co->id);
	cJSON_Delete(co->outcome);
	co->outcome = outcome;
	if (co->ctl_client != NO_CLIENT)
		(void) ctl_reply(t->ctl, co->ctl_client, cJSON_Duplicate(outcome, true));
	co->ctl_client = NO_CLIENT;
	reg_sale_changed(t->reg);
}

bool checkout_cancel(struct terminal *t, const char *why)
{
	if (sale_feed(&t->sale, SALE_EV_CANCEL, hal_clock_mono_us(t->clock)) < 0)
		return false;
	log_info("sale %s cancelled: %s", t->co->id, why);
	finish(t, error_answer(why));
	return true;
}

/* ---- receipts ---- */

/* What a receipt's events say beyond struct ledger_receipt: discounts and points spent. */
struct receipt_extras {
	int64_t redeemed_pts, points_discount_gr;
	int64_t coupon_discount_gr, stamp_discount_gr;
	char coupon_used[LEDGER_REF_MAX + 1];
	int64_t donated_pts, expired_pts;
	int64_t basket_gr, paid_gr; /* before discounts, and paid in money (the sale record) */
	/* the stamp cards the sale counted items on: card id, progress after, free items given */
	struct {
		char card[LEDGER_REF_MAX + 1];
		int64_t items, progress;
	} stamps[RECEIPT_STAMPS_MAX];
	size_t n_stamps;
};

static void extras_event(struct receipt_extras *x, const struct ledger_event *ev)
{
	if (!strcmp(ev->kind, "redeem")) {
		x->redeemed_pts -= ev->points;
		x->points_discount_gr += ev->amount_gr;
	} else if (!strcmp(ev->kind, "coupon_use")) {
		x->coupon_discount_gr += ev->amount_gr;
		snprintf(x->coupon_used, sizeof(x->coupon_used), "%s", ev->ref);
	} else if (!strcmp(ev->kind, "stamp")) {
		x->stamp_discount_gr += ev->amount_gr;
		if (x->n_stamps < RECEIPT_STAMPS_MAX) {
			snprintf(x->stamps[x->n_stamps].card, sizeof(x->stamps[0].card), "%s",
				 ev->ref);
			x->stamps[x->n_stamps].items = ev->items;
			x->stamps[x->n_stamps++].progress = ev->progress;
		}
	} else if (!strcmp(ev->kind, "donate")) {
		x->donated_pts -= ev->points;
	} else if (!strcmp(ev->kind, "expire")) {
		x->expired_pts -= ev->points;
	}
}

/* The receipt's events start at the seq its number ends with. */
static int64_t receipt_first_seq(const char *receipt_no)
{
	const char *dash = strrchr(receipt_no, '-');
	if (!dash || !dash[1])
		return -1;
	char *end;
	long long seq = strtoll(dash + 1, &end, 10);
	return *end || seq <= 0 ? -1 : seq;
}

#define RECEIPT_EVENTS_MAX (RULES_EVENTS_MAX + 1) /* a sale's events and its enrolment */

struct receipt_walk {
	const char *receipt_no;
	struct ledger_event *evs;
	size_t n;
};

static int receipt_event(void *userdata, const struct ledger_event *ev)
{
	struct receipt_walk *w = userdata;
	if (strcmp(ev->receipt_no, w->receipt_no) != 0 || w->n == RECEIPT_EVENTS_MAX)
		return 1; /* past the receipt's events */
	w->evs[w->n++] = *ev;
	return 0;
}

/* The events booked under receipt_no, in order; *ret_n 0 when there are none. */
static int receipt_events(struct terminal *t, const char *receipt_no,
			  struct ledger_event evs[RECEIPT_EVENTS_MAX], size_t *ret_n)
{
	struct receipt_walk w = {.receipt_no = receipt_no, .evs = evs};
	int64_t seq = receipt_first_seq(receipt_no);
	*ret_n = 0;
	if (seq < 0)
		return 0;
	int r = ledger_for_each_event(t->ledger, seq, RECEIPT_EVENTS_MAX + 1, receipt_event, &w);
	if (r < 0)
		return r;
	*ret_n = w.n;
	return 0;
}

static int receipt_extras(struct terminal *t, const char *receipt_no, struct receipt_extras *x)
{
	struct ledger_event evs[RECEIPT_EVENTS_MAX];
	size_t n;
	memset(x, 0, sizeof(*x));
	int r = receipt_events(t, receipt_no, evs, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		extras_event(x, &evs[i]);
	struct rules_sale_record rec;
	r = ledger_sale_record(t->ledger, receipt_no, &rec);
	if (r == 0) {
		x->basket_gr = rec.basket_gr;
		x->paid_gr = rec.paid_gr;
	}
	return r == -ENOENT ? 0 : r;
}

static void receipt_file_path(struct terminal *t, const char *receipt_no, char *buf, size_t size)
{
	if (hal_printer_is_sim(t->printer))
		snprintf(buf, size, "%s/%s.escpos", t->printer_dir, receipt_no);
	else
		snprintf(buf, size, "%s", t->board.printer_path);
}

/* A card link stays valid for years: it is printed on receipts and written to the card's tag. */
#define CARD_TOKEN_S (INT64_C(5) * 366 * 24 * 3600)

/*
 * What the card QR encodes: the card page URL with the member's card token, signed with the
 * device key and dated by the sale (so a reprint gives the same bytes). The base is written in
 * capitals so the QR can use its compact alphanumeric mode; a base that cannot be is used as it
 * is. "" when there is no card code, or the token cannot be made (then the QR shows the card
 * URL as printed).
 */
/* Sign tok with the device key into a URL on the card page base (capitals: see above). */
static void token_qr_url(struct terminal *t, struct token *tok, char *buf, size_t size)
{
	char base[sizeof(t->cfg.card_url_base)], text[TOKEN_TEXT_MAX + 1];
	int r;
	buf[0] = '\0';
	if ((r = token_sign(tok, t->devkey.secret_key, text, sizeof(text))) < 0) {
		log_errno(r, "signing a %s token", tok->type == TOKEN_CARD ? "card" : "receipt");
		return;
	}
	for (size_t i = 0; i < sizeof(base); i++)
		base[i] = (char) toupper((unsigned char) t->cfg.card_url_base[i]);
	if (token_url(base, text, buf, size) < 0)
		snprintf(buf, size, "%s%s", t->cfg.card_url_base, text);
}

void checkout_card_link(struct terminal *t, const char *card_code, int64_t time_us, char *buf,
			size_t size)
{
	struct token tok = {.type = TOKEN_CARD, .issued_s = time_us / 1000000};
	buf[0] = '\0';
	if (!card_code || strlen(card_code) != TOKEN_CARD_CODE_LEN)
		return;
	tok.expires_s = tok.issued_s + CARD_TOKEN_S;
	memcpy(tok.card_code, card_code, TOKEN_CARD_CODE_LEN + 1);
	token_qr_url(t, &tok, buf, size);
}

/* A receipt without a card may be claimed within 14 days (PRODUCT.md, the cashier's flow 2). */
#define CLAIM_TOKEN_S (INT64_C(14) * 24 * 3600)

/* The "claim your points" QR of a sale without a card: terminal, receipt seq, points, amount. */
static void claim_qr_url(struct terminal *t, const struct ledger_receipt *rc, char *buf,
			 size_t size, int64_t *ret_expires_us)
{
	struct token tok = {.type = TOKEN_CLAIM, .issued_s = rc->time_us / 1000000};
	buf[0] = '\0';
	*ret_expires_us = 0;
	if (rc->seq < 1 || rc->seq > UINT32_MAX || rc->earned_pts < 0 ||
	    rc->earned_pts > UINT32_MAX || rc->amount_gr < 0 || rc->amount_gr > UINT32_MAX)
		return;
	tok.expires_s = tok.issued_s + CLAIM_TOKEN_S;
	snprintf(tok.claim.terminal_id, sizeof(tok.claim.terminal_id), "%s", t->cfg.terminal_id);
	tok.claim.seq = (uint32_t) rc->seq;
	tok.claim.points_pts = rc->earned_pts;
	tok.claim.amount_gr = rc->amount_gr;
	token_qr_url(t, &tok, buf, size);
	if (buf[0])
		*ret_expires_us = tok.expires_s * 1000000;
}

/* A coupon's QR: its id, valid as long as the coupon. "" when the id is not a token's. */
static void coupon_qr_url(struct terminal *t, const char *coupon_id, int64_t issued_us,
			  int64_t expires_us, char *buf, size_t size)
{
	struct token tok = {.type = TOKEN_COUPON, .issued_s = issued_us / 1000000};
	buf[0] = '\0';
	if (!coupon_id || strlen(coupon_id) != TOKEN_COUPON_ID_LEN || expires_us <= issued_us)
		return;
	tok.expires_s = (expires_us + 999999) / 1000000;
	memcpy(tok.coupon_id, coupon_id, TOKEN_COUPON_ID_LEN + 1);
	token_qr_url(t, &tok, buf, size);
}

/*
 * The simulator board's previews: `escpos-render --png <receipt>.png <receipt>.escpos` started
 * beside the printed file (found on PATH; tools/dev run and tools/demo put it there) and left
 * to run on its own; finished ones are reaped here, at the next preview.
 */
static void preview(struct terminal *t, const char *job_name)
{
	static bool warned;
	char file[PATH_MAX], png[PATH_MAX + 8];
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (!hal_printer_is_sim(t->printer))
		return;
	receipt_file_path(t, job_name, file, sizeof(file));
	snprintf(png, sizeof(png), "%.*s.png", (int) (strlen(file) - strlen(".escpos")), file);
	char prog[] = "escpos-render", opt[] = "--png";
	char *argv[] = {prog, opt, png, file, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0 && !warned) {
		log_warn("receipt previews: cannot start escpos-render (%s); is it on PATH?",
			 strerror(r));
		warned = true;
	}
}

/* Encode a laid-out receipt for this printer and print it as job job_name. With spool, a
 * receipt the printer cannot take now (or that would overtake older ones still owed) is kept
 * in the spool and printed when the printer is back: 1 is returned then, with *why saying why
 * it did not print now. */
static int print_layout(struct terminal *t, const char *job_name, const struct layout *layout,
			bool spool, const char **why)
{
	struct buf out;
	struct escpos_stats stats;
	int r;

	buf_init(&out, ESCPOS_RECEIPT_MAX);
	if ((r = escpos_encode(layout, &t->board.printer, &out, &stats)) < 0) {
		*why = "receipt encoding failed";
		goto out;
	}
	if (stats.replaced_chars)
		log_warn("receipt %s: %zu characters the printer's code page cannot show", job_name,
			 stats.replaced_chars);
	if (spool && t->spool && spool_count(t->spool) > 0) {
		checkout_drain_spool(t, true);
		if (spool_count(t->spool) > 0) {
			r = -EAGAIN; /* older receipts are still owed: this one waits behind them */
			*why = "the printer still owes older receipts";
			goto keep;
		}
	}
	if ((r = hal_printer_print(t->printer, job_name, out.data, out.len)) < 0) {
		*why = r == -ENOSPC ? "printer out of paper" : "printer not answering";
		goto keep;
	}
	log_info("receipt %s printed (%zu bytes)", job_name, out.len);
	if (t->board.printer_preview)
		preview(t, job_name);
	goto out;
keep:
	if (spool && t->spool) {
		int s = spool_add(t->spool, job_name, out.data, out.len);
		if (s >= 0) {
			log_info("receipt %s kept in the spool: it prints when the printer is back",
				 job_name);
			r = 1;
		} else {
			log_errno(s, "receipt %s could not be kept in the spool", job_name);
		}
	}
out:
	buf_free(&out);
	return r;
}

#define SPOOL_RETRY_US INT64_C(2000000)

void checkout_drain_spool(struct terminal *t, bool now)
{
	int64_t mono = hal_clock_mono_us(t->clock);
	struct spool_drain_result res;
	if (!t->spool || (!now && mono - t->last_drain_mono_us < SPOOL_RETRY_US) ||
	    spool_count(t->spool) <= 0)
		return;
	t->last_drain_mono_us = mono;
	int r = spool_drain(t->spool, t->printer, &res);
	if (r < 0)
		log_errno(r, "printing the spooled receipts");
	else if (res.printed)
		log_info("printed %d spooled receipt(s), %d still owed", res.printed, res.left);
}

int checkout_spool_wait_ms(struct terminal *t)
{
	if (!t->spool || spool_count(t->spool) <= 0)
		return -1;
	int64_t left = t->last_drain_mono_us + SPOOL_RETRY_US - hal_clock_mono_us(t->clock);
	return left <= 0 ? 0 : (int) ((left + 999) / 1000);
}

/*
 * The segment the member walked in with is kept with the sale as a step of its trace that
 * gives no points ("segment:<name>"), so a reprint prints the same thank-you message.
 */
#define SEGMENT_STEP "segment:"

static void add_segment_step(struct rules_result *res, const struct segment *seg)
{
	const char *name = segment_name(seg->kind);
	if (!name || res->n_trace >= RULES_TRACE_MAX)
		return;
	struct rules_trace *s = &res->trace[res->n_trace++];
	memset(s, 0, sizeof(*s));
	snprintf(s->rule, sizeof(s->rule), SEGMENT_STEP "%s", name);
	s->permille = 1000;
}

/*
 * The member's standing right after the sale is kept with it the same way, as a step
 * "standing:" that gives no points: base_gr holds the spend in the tier window (the tier and
 * its progress follow from the programme), base_pts and dropped the points that expire next
 * and when (UTC microseconds, 0: none). So a reprint prints what the sale's receipt printed.
 */
#define STANDING_STEP "standing:"

static void add_standing_step(struct rules_result *res)
{
	if (res->n_trace >= RULES_TRACE_MAX)
		return; /* the receipt then shows the member's standing at printing */
	struct rules_trace *s = &res->trace[res->n_trace++];
	memset(s, 0, sizeof(*s));
	snprintf(s->rule, sizeof(s->rule), STANDING_STEP "1");
	s->permille = 1000;
	s->base_gr = res->member.spend_window_gr;
	s->base_pts = res->next_expiry_pts;
	s->dropped = res->next_expiry_us;
}

/*
 * A member the server knows: its chain balance before this sale (base_pts) and the balance
 * booked at this terminal then (base_gr), so the receipt prints the chain balance after it and
 * a reprint prints the same.
 */
#define CHAIN_STEP "chain:"
static void add_chain_step(struct terminal *t, struct rules_result *res)
{
	struct ledger_member m;
	int64_t chain;
	bool from_server = false;
	if (res->n_trace >= RULES_TRACE_MAX || !res->member.member_id ||
	    ledger_member_view(t->ledger, res->member.member_id, &chain, &from_server) < 0 ||
	    !from_server || ledger_member_by_id(t->ledger, res->member.member_id, &m) < 0)
		return;
	struct rules_trace *s = &res->trace[res->n_trace++];
	memset(s, 0, sizeof(*s));
	snprintf(s->rule, sizeof(s->rule), CHAIN_STEP "1");
	s->permille = 1000;
	s->base_pts = chain;
	s->base_gr = m.balance_pts;
}

static bool info_step(const struct rules_trace *s)
{
	return !strncmp(s->rule, SEGMENT_STEP, strlen(SEGMENT_STEP)) ||
	       !strncmp(s->rule, STANDING_STEP, strlen(STANDING_STEP)) ||
	       !strncmp(s->rule, CHAIN_STEP, strlen(CHAIN_STEP));
}

/* The segment a sale's trace names; SEGMENT_MAX when none. */
static enum segment_kind trace_segment(const struct rules_trace *trace, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strncmp(trace[i].rule, SEGMENT_STEP, strlen(SEGMENT_STEP)) != 0)
			continue;
		for (int k = 0; k < SEGMENT_MAX; k++)
			if (!strcmp(trace[i].rule + strlen(SEGMENT_STEP),
				    segment_name((enum segment_kind) k)))
				return (enum segment_kind) k;
	}
	return SEGMENT_MAX;
}

static enum receipt_greeting greeting_of(enum segment_kind kind)
{
	switch (kind) {
	case SEGMENT_NEW:
		return RECEIPT_GREET_NEW;
	case SEGMENT_RETURNING:
		return RECEIPT_GREET_RETURNING;
	case SEGMENT_VIP:
		return RECEIPT_GREET_VIP;
	case SEGMENT_DORMANT:
		return RECEIPT_GREET_DORMANT;
	case SEGMENT_MAX:
		break;
	}
	return RECEIPT_GREET_AUTO;
}

/* The standing step of a trace; NULL when the sale has none (booked before it existed). */
static const struct rules_trace *standing_of(const struct rules_trace *trace, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(trace[i].rule, STANDING_STEP, strlen(STANDING_STEP)))
			return &trace[i];
	return NULL;
}

/* The trace without its segment and standing steps, for how the points were counted. */
static size_t points_steps(struct rules_trace *trace, size_t n)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!info_step(&trace[i]))
			trace[m++] = trace[i];
	return m;
}

/* The store's receipt settings, in the receipt's language. */
static void receipt_store_of(struct terminal *t, struct receipt_store *store)
{
	*store = (struct receipt_store){
	    .name = t->cfg.store_name,
	    .address = t->cfg.store_address,
	    .card_url_base = t->cfg.card_url_base,
	    .lang = t->cfg.receipt_lang,
	    .texts = &t->cfg.receipt_texts,
	    .terms_url = t->programme.terms_url,
	    .survey_pts = t->programme.survey_pts,
	};
}

/*
 * The member's standing for the receipt: tier and next expiry from the sale's standing step
 * (or, for a sale booked without one, from the member's state at printing), stamp cards from
 * the sale's own stamp events.
 */
static void member_standing(struct terminal *t, const struct ledger_receipt *rc,
			    const struct receipt_extras *x, const struct rules_trace *standing,
			    struct receipt_facts *f, struct rules_member *state)
{
	const struct programme *prog = &t->programme;
	int64_t spend = -1;
	if (standing) {
		spend = standing->base_gr;
		f->next_expiry_pts = standing->base_pts;
		f->next_expiry_us = standing->dropped;
	} else if (rc->member_id > 0 &&
		   ledger_member_state(t->ledger, rc->member_id, prog, hal_clock_now_us(t->clock),
				       state) == 0) {
		spend = state->spend_window_gr;
		if (state->n_lots) {
			f->next_expiry_us = rules_lot_expiry_us(prog, state->lots[0].earned_us);
			f->next_expiry_pts = state->lots[0].pts;
		}
	}
	if (spend >= 0 && prog->n_tiers > 1) {
		size_t tier = programme_tier_for(prog, spend);
		f->tier = prog->tiers[tier].name;
		if (tier + 1 < prog->n_tiers) {
			f->next_tier = prog->tiers[tier + 1].name;
			f->to_next_tier_gr = prog->tiers[tier + 1].threshold_gr - spend;
			f->tier_span_gr =
			    prog->tiers[tier + 1].threshold_gr - prog->tiers[tier].threshold_gr;
		}
	}
	for (size_t i = 0; i < x->n_stamps && f->n_stamps < RECEIPT_STAMPS_MAX; i++) {
		for (size_t c = 0; c < prog->n_stamps; c++) {
			const struct programme_stamp_card *card = &prog->stamps[c];
			if (strcmp(card->id, x->stamps[i].card) != 0)
				continue;
			struct receipt_stamps *row = &f->stamps[f->n_stamps++];
			int64_t before =
			    ((x->stamps[i].progress - x->stamps[i].items) % card->every +
			     card->every) %
			    card->every;
			row->name = card->category;
			row->every = card->every;
			row->progress = (int32_t) x->stamps[i].progress;
			row->free_items =
			    (int32_t) ((before + x->stamps[i].items - x->stamps[i].progress) /
				       card->every);
		}
	}
}

/* Render and print the receipt of a booked sale. 0 or a negative errno; *why on failure. */
static int print_receipt(struct terminal *t, const struct ledger_receipt *rc,
			 const struct receipt_extras *x, bool explain, bool spool, const char **why)
{
	struct rules_trace trace[RULES_TRACE_MAX];
	size_t n_trace = 0;
	int tr = ledger_sale_trace(t->ledger, rc->receipt_no, trace, RULES_TRACE_MAX, &n_trace);
	if (tr < 0 && tr != -ENOENT) {
		*why = "ledger read failed";
		return tr;
	}
	if (tr < 0)
		n_trace = 0;
	enum segment_kind seg = trace_segment(trace, n_trace);
	const char *message =
	    seg < SEGMENT_MAX ? segment_message(&t->programme, seg, t->cfg.receipt_lang) : NULL;
	int64_t balance_pts = rc->balance_pts;
	for (size_t i = 0; i < n_trace; i++)
		if (!strncmp(trace[i].rule, CHAIN_STEP, strlen(CHAIN_STEP)))
			balance_pts = trace[i].base_pts + (rc->balance_pts - trace[i].base_gr);
	struct rules_trace standing_step, *standing = NULL;
	if (standing_of(trace, n_trace)) {
		standing_step = *standing_of(trace, n_trace);
		standing = &standing_step;
	}
	n_trace = points_steps(trace, n_trace);
	char qr_url[LAYOUT_TEXT_MAX], coupon_url[LAYOUT_TEXT_MAX];
	checkout_card_link(t, rc->card_code, rc->time_us, qr_url, sizeof(qr_url));
	struct receipt_store store;
	receipt_store_of(t, &store);
	struct receipt_facts facts = {
	    .receipt_no = rc->receipt_no,
	    .time_us = rc->time_us,
	    .amount_gr = x->basket_gr ? x->basket_gr : rc->amount_gr,
	    .earned_pts = rc->earned_pts,
	    .balance_pts = balance_pts,
	    .first_visit = rc->new_member,
	    .greeting = greeting_of(seg),
	    .card_code = rc->card_code,
	    .bonus_pts = rc->bonus_pts,
	    .redeemed_pts = x->redeemed_pts,
	    .points_discount_gr = x->points_discount_gr,
	    .coupon_used = x->coupon_used,
	    .coupon_discount_gr = x->coupon_discount_gr,
	    .stamp_discount_gr = x->stamp_discount_gr,
	    .donated_pts = x->donated_pts,
	    .trace = trace,
	    .n_trace = n_trace,
	    .explain = explain,
	    .message = message,
	    .card_qr_url = qr_url,
	};
	char claim_url[LAYOUT_TEXT_MAX];
	if (!rc->card_code[0]) {
		claim_qr_url(t, rc, claim_url, sizeof(claim_url), &facts.claim_expires_us);
		facts.claim_qr_url = claim_url;
	}
	if (rc->coupon_id[0] && rc->coupon_percent_bp > 0) {
		coupon_qr_url(t, rc->coupon_id, rc->time_us, rc->coupon_expires_us, coupon_url,
			      sizeof(coupon_url));
		facts.coupons[facts.n_coupons++] = (struct receipt_coupon){
		    .id = rc->coupon_id,
		    .percent_bp = rc->coupon_percent_bp,
		    .min_basket_gr = rc->coupon_min_basket_gr,
		    .expires_us = rc->coupon_expires_us,
		    .qr_url = coupon_url,
		};
	}
	struct layout *layout = malloc(sizeof(*layout));
	struct rules_member *state = malloc(sizeof(*state));
	int r;

	if (!layout || !state) {
		free(layout);
		free(state);
		return -ENOMEM;
	}
	member_standing(t, rc, x, standing, &facts, state);
	if ((r = receipt_build(&facts, &store, t->board.printer.columns, layout)) < 0)
		*why = "receipt layout failed";
	else
		r = print_layout(t, rc->receipt_no, layout, spool, why);
	if (r < 0)
		log_errno(r, "receipt %s: %s", rc->receipt_no, *why);
	free(state);
	free(layout);
	return r;
}

/* A refund slip's facts, from the refund's events (so a reprint gives the same slip). */
struct refund_walk {
	struct receipt_refund_facts f;
	char of[LEDGER_REF_MAX + 1];
	char card[LEDGER_CARD_CODE_LEN + 1];
	bool found;
};

static void refund_event(struct refund_walk *w, const struct ledger_event *ev)
{
	w->f.time_us = ev->time_us;
	snprintf(w->card, sizeof(w->card), "%s", ev->card_code);
	if (!strcmp(ev->kind, "refund")) {
		w->found = true;
		w->f.money_back_gr = -ev->amount_gr;
		snprintf(w->of, sizeof(w->of), "%s", ev->ref);
	} else if (!strcmp(ev->kind, "reverse")) {
		w->f.reversed_pts -= ev->points;
	} else if (!strcmp(ev->kind, "recredit")) {
		w->f.recredited_pts += ev->points;
	} else if (!strcmp(ev->kind, "expire")) {
		w->f.expired_pts -= ev->points;
	}
}

/* Print the slip of refund receipt_no. 0, -ENOENT when it is not a refund, or an error. */
static int print_refund_slip(struct terminal *t, const char *receipt_no, bool spool,
			     const char **why)
{
	struct refund_walk w = {0};
	struct ledger_event evs[RECEIPT_EVENTS_MAX];
	size_t n;
	int r = receipt_events(t, receipt_no, evs, &n);
	for (size_t i = 0; r == 0 && i < n; i++)
		refund_event(&w, &evs[i]);
	if (r < 0) {
		*why = "ledger read failed";
		return r;
	}
	if (!w.found) {
		*why = "no such receipt";
		return -ENOENT;
	}
	w.f.receipt_no = receipt_no;
	w.f.of_receipt_no = w.of;
	w.f.card_code = w.card;
	char qr_url[LAYOUT_TEXT_MAX];
	checkout_card_link(t, w.card, w.f.time_us, qr_url, sizeof(qr_url));
	w.f.card_qr_url = qr_url;
	struct receipt_store store;
	receipt_store_of(t, &store);
	struct layout *layout = malloc(sizeof(*layout));
	if (!layout)
		return -ENOMEM;
	if ((r = receipt_build_refund(&w.f, &store, t->board.printer.columns, layout)) < 0)
		*why = "refund slip layout failed";
	else
		r = print_layout(t, receipt_no, layout, spool, why);
	if (r < 0)
		log_errno(r, "refund slip %s: %s", receipt_no, *why);
	free(layout);
	return r;
}

static cJSON *receipt_json(struct terminal *t, const struct ledger_receipt *rc,
			   const struct receipt_extras *x)
{
	char url[256], file[PATH_MAX + 64];
	struct receipt_store store = {.card_url_base = t->cfg.card_url_base};
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "receipt", rc->receipt_no);
	cJSON_AddNumberToObject(o, "amount_gr",
				(double) (x->basket_gr ? x->basket_gr : rc->amount_gr));
	if (x->basket_gr)
		cJSON_AddNumberToObject(o, "to_pay_gr", (double) x->paid_gr);
	cJSON_AddNumberToObject(o, "earned_pts", (double) rc->earned_pts);
	cJSON_AddNumberToObject(o, "bonus_pts", (double) rc->bonus_pts);
	cJSON_AddNumberToObject(o, "redeemed_pts", (double) x->redeemed_pts);
	cJSON_AddNumberToObject(o, "points_discount_gr", (double) x->points_discount_gr);
	if (x->coupon_used[0]) {
		cJSON_AddStringToObject(o, "coupon_used", x->coupon_used);
		cJSON_AddNumberToObject(o, "coupon_discount_gr", (double) x->coupon_discount_gr);
	}
	if (x->stamp_discount_gr)
		cJSON_AddNumberToObject(o, "stamp_discount_gr", (double) x->stamp_discount_gr);
	if (rc->coupon_id[0])
		cJSON_AddStringToObject(o, "coupon", rc->coupon_id);
	cJSON_AddNumberToObject(o, "balance_pts", (double) rc->balance_pts);
	cJSON_AddBoolToObject(o, "new_member", rc->new_member);
	char link[LAYOUT_TEXT_MAX];
	if (!rc->card_code[0]) {
		int64_t until;
		claim_qr_url(t, rc, link, sizeof(link), &until);
		cJSON_AddBoolToObject(o, "no_card", true);
		if (link[0])
			cJSON_AddStringToObject(o, "claim_link", link);
	} else if (receipt_card_url(&store, rc->card_code, url, sizeof(url)) == 0) {
		cJSON_AddStringToObject(o, "card_url", url);
	}
	checkout_card_link(t, rc->card_code, rc->time_us, link, sizeof(link));
	if (link[0])
		cJSON_AddStringToObject(o, "card_link", link);
	receipt_file_path(t, rc->receipt_no, file, sizeof(file));
	cJSON_AddStringToObject(o, "printed_to", file);
	return o;
}

cJSON *checkout_reprint(struct terminal *t, const char *receipt_no, bool explain)
{
	char last[LEDGER_RECEIPT_NO_MAX + 1];
	struct ledger_receipt rc;
	struct receipt_extras x;
	const char *why = NULL;
	int r = 0;

	if (!receipt_no[0]) {
		r = ledger_last_receipt_no(t->ledger, last, sizeof(last));
		receipt_no = last;
		why = r == -ENOENT ? "no receipt to reprint yet" : "ledger read failed";
	}
	int slip = r == 0 ? print_refund_slip(t, receipt_no, false, &why) : -ENOENT;
	if (slip == 0) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", true);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "reprint"), "receipt",
					receipt_no);
		terminal_show(t, "Reprinted refund slip", receipt_no, NULL);
		return o;
	}
	if (slip != -ENOENT) {
		terminal_show(t, "Reprint failed:", why, NULL);
		return error_answer(why);
	}
	if (r == 0) {
		r = ledger_get_receipt(t->ledger, receipt_no, &rc);
		why = r == -ENOENT   ? "no such receipt"
		      : r == -EINVAL ? "invalid receipt number"
				     : "ledger read failed";
	}
	if (r == 0 && (r = receipt_extras(t, rc.receipt_no, &x)) < 0)
		why = "ledger read failed";
	if (r == 0)
		r = print_receipt(t, &rc, &x, explain, false, &why);
	if (r < 0) {
		terminal_show(t, "Reprint failed:", why, NULL);
		return error_answer(why);
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "reprint", receipt_json(t, &rc, &x));
	terminal_show(t, "Reprinted", rc.receipt_no, NULL);
	return o;
}

/* ---- the programme's questions ---- */

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

static int make_sale_id(char id[CHECKOUT_ID_LEN + 1])
{
	uint8_t rnd[CHECKOUT_ID_LEN / 2];
	int r = hal_random_bytes(rnd, sizeof(rnd));
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
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

/* Points redeemed on this terminal since the server last acknowledged its events. */
static int redeemed_unsynced(void *userdata, const struct ledger_event *ev)
{
	if (!strcmp(ev->kind, "redeem"))
		*(int64_t *) userdata -= ev->points;
	return 0;
}

static int offline_redeemed(struct terminal *t, int64_t *ret_pts)
{
	int64_t acked, pending;
	*ret_pts = 0;
	int r = ledger_outbox_state(t->ledger, &acked, &pending);
	if (r == 0 && pending)
		r = ledger_for_each_event(t->ledger, acked + 1, 0, redeemed_unsynced, ret_pts);
	return r < 0 ? r : 0;
}

/*
 * rules_apply() for the sale in progress at now_us. A terminal on its own (no server_url) books
 * against its own ledger, the authority for its members: it is never "offline" in the
 * programme's sense. A terminal of a chain is offline until it syncs (the sync client comes
 * with the sync release; until then it has never synced): redemption then follows the
 * programme's offline limits, counted from the events the server has not acknowledged.
 */
static int apply(struct terminal *t, int64_t redeem_pts, const char *coupon, int64_t now_us,
		 struct rules_result *res)
{
	struct checkout *co = t->co;
	struct rules_basket basket = {.lines = co->lines, .n_lines = co->n_lines};
	struct rules_request req = {
	    .redeem_pts = redeem_pts,
	    .coupon_id = coupon && coupon[0] ? coupon : NULL,
	    .new_coupon_id = co->new_coupon_id,
	    .offline = t->cfg.server_url[0] != '\0',
	    .last_sync_us = t->sync ? sync_client_last_success_us(t->sync) : 0,
	    .terminal_offline_redeemed_pts = co->offline_redeemed_pts,
	};
	struct tsync_budget budget;
	/* what is left of today's grant; past its day, the programme's own limits */
	if (sync_client_budget(t->sync, &budget) && now_us >= budget.day_start_us &&
	    now_us < budget.day_end_us) {
		req.budget_granted = true;
		req.budget_terminal_pts = budget.remaining_pts > 0 ? budget.remaining_pts : 0;
		req.budget_member_cap_pts = budget.member_cap_pts;
		req.budget_max_age_s = budget.max_offline_age_s;
	}
	int r = coupon_counts(t, now_us);
	if (r < 0)
		return r;
	req.issued_today_first_purchase = t->issued_first_purchase;
	req.issued_today_reactivation = t->issued_reactivation;
	return rules_apply(&t->programme, &co->state, &basket, &req, now_us, res);
}

/*
 * The most points the customer may redeem with this coupon (NULL: none): the balance and the
 * programme's basket share, in whole redemption units, checked against the rules. 0 with
 * co->offer_note saying why when nothing can be redeemed.
 */
static int redeem_max(struct terminal *t, const char *coupon, int64_t now_us, int64_t *ret_pts)
{
	struct checkout *co = t->co;
	const struct programme *p = &t->programme;
	struct rules_result *res = &co->scratch;
	char a[MONEY_TEXT];
	int r;

	*ret_pts = 0;
	co->offer_note[0] = '\0';
	if (co->state.balance_pts < p->redeem_min_pts) {
		snprintf(co->offer_note, sizeof(co->offer_note),
			 "%" PRId64 " points: redemption starts at %" PRId64, co->state.balance_pts,
			 p->redeem_min_pts);
		return 0;
	}
	if ((r = apply(t, 0, coupon, now_us, res)) < 0)
		return r;
	if (res->refusal != RULES_OK) {
		snprintf(co->offer_note, sizeof(co->offer_note), "%s", res->refusal_text);
		return 0;
	}
	/* an upper bound: the balance and the basket share of what is left to pay */
	int64_t share_gr = res->to_pay_gr * p->redeem_max_basket_bp / 10000;
	int64_t hi = co->state.balance_pts / p->redeem_unit_pts, lo;
	if (share_gr / p->redeem_unit_gr < hi)
		hi = share_gr / p->redeem_unit_gr;
	int64_t min_units = (p->redeem_min_pts + p->redeem_unit_pts - 1) / p->redeem_unit_pts;
	if (min_units < 1)
		min_units = 1;
	char why[RULES_TEXT_MAX] = "";
	/*
	 * The most units the rules accept, by bisection (fewer points never fail where more
	 * pass): units up to lo pass, units above hi fail; the bound itself is tried first.
	 */
	lo = min_units - 1;
	for (bool first = true; lo < hi; first = false) {
		int64_t mid = first ? hi : lo + (hi - lo + 1) / 2;
		if ((r = apply(t, mid * p->redeem_unit_pts, coupon, now_us, res)) < 0)
			return r;
		if (res->refusal == RULES_OK) {
			lo = mid;
		} else if (res->refusal != RULES_REFUSED_OFFLINE_STALE &&
			   res->refusal != RULES_REFUSED_COUPON_NOT_COMBINABLE) {
			/* too many points for the basket, the balance or a budget */
			snprintf(why, sizeof(why), "%s", res->refusal_text);
			hi = mid - 1;
		} else {
			/* no points at all */
			snprintf(co->offer_note, sizeof(co->offer_note), "%s", res->refusal_text);
			return 0;
		}
	}
	if (lo >= min_units) {
		*ret_pts = lo * p->redeem_unit_pts;
		return 0;
	}
	if (why[0])
		snprintf(co->offer_note, sizeof(co->offer_note), "%s", why);
	else
		snprintf(co->offer_note, sizeof(co->offer_note),
			 "the basket is too small to pay with points (at most %s zł of it)",
			 gr_text(share_gr, a));
	return 0;
}

/* The coupons of the card that this basket can use now. */
static void usable_coupons(struct terminal *t, int64_t now_us)
{
	struct checkout *co = t->co;
	co->n_usable = 0;
	for (size_t i = 0; i < co->state.n_coupons; i++) {
		const struct rules_coupon *c = &co->state.coupons[i];
		if (!c->used && now_us < c->expires_us && co->basket_gr >= c->min_basket_gr)
			co->usable[co->n_usable++] = i;
	}
}

/* The usable coupon worth the most (then the one expiring first); NULL when none. */
static const char *best_coupon(struct checkout *co)
{
	const struct rules_coupon *best = NULL;
	for (size_t i = 0; i < co->n_usable; i++) {
		const struct rules_coupon *c = &co->state.coupons[co->usable[i]];
		if (!best || c->percent_bp > best->percent_bp ||
		    (c->percent_bp == best->percent_bp && c->expires_us < best->expires_us))
			best = c;
	}
	return best ? best->id : NULL;
}

/* Read the card's member and state afresh (at identification and at confirmation). */
static int load_member(struct terminal *t, int64_t now_us)
{
	struct checkout *co = t->co;
	int r = ledger_member_by_pseudonym(t->ledger, co->pseudonym, &co->member);
	if (r == -ENOENT) {
		memset(&co->member, 0, sizeof(co->member));
		r = 0;
	}
	if (r < 0)
		return r;
	r = ledger_member_state(t->ledger, co->member.member_id, &t->programme, now_us, &co->state);
	co->offline_redeemed_pts = 0;
	if (r == 0 && t->cfg.server_url[0])
		r = offline_redeemed(t, &co->offline_redeemed_pts);
	return r;
}

/*
 * Work out the sale for an answer: redeem_pts (-1: the most allowed) with coupon ("auto": the
 * best usable). Returns 0 with co->res holding the sale (its refusal set when the rules
 * refuse), or a negative errno.
 */
static int work_out(struct terminal *t, int64_t redeem_pts, const char *coupon, int64_t now_us)
{
	struct checkout *co = t->co;
	int r;
	char chosen[sizeof(co->coupon)];
	if (coupon && !strcmp(coupon, "auto"))
		coupon = best_coupon(co);
	snprintf(chosen, sizeof(chosen), "%s", coupon ? coupon : ""); /* coupon may be co->coupon */
	memcpy(co->coupon, chosen, sizeof(chosen));
	if (redeem_pts < 0 && (r = redeem_max(t, co->coupon, now_us, &redeem_pts)) < 0)
		return r;
	co->redeem_pts = redeem_pts;
	return apply(t, co->redeem_pts, co->coupon, now_us, &co->res);
}

/* ---- the sale ---- */

static const char *check_lines(const struct checkout_start *s, int64_t *ret_basket,
			       int64_t *ret_eligible)
{
	int64_t basket = 0, eligible = 0;
	if (s->n_lines == 0 || s->n_lines > RULES_LINES_MAX)
		return "a sale has 1 to 100 lines";
	for (size_t i = 0; i < s->n_lines; i++) {
		const struct rules_line *l = &s->lines[i];
		if (l->qty < 1 || l->qty > RULES_QTY_MAX)
			return "a line's quantity must be 1 to 10000";
		if (l->unit_gr < 0 || l->unit_gr > MONEY_MAX_GR)
			return "a line's unit price is out of range";
		int64_t v = l->unit_gr * l->qty;
		if (v > MONEY_MAX_GR || basket + v > MONEY_MAX_GR)
			return "the basket's total is out of range";
		basket += v;
		if (!l->tax_free && !l->gift_card)
			eligible += v;
	}
	if (s->total_gr && s->total_gr != basket)
		return "total_gr is not the sum of the lines";
	*ret_basket = basket;
	*ret_eligible = eligible;
	return NULL;
}

const char *checkout_begin(struct terminal *t, const struct checkout_start *s)
{
	static char why[RULES_TEXT_MAX];
	struct checkout *co = t->co;
	int64_t basket, eligible;
	const char *bad;

	if (sale_cancellable(&t->sale))
		return "a sale is already in progress (cancel it first)";
	if (s->lines) {
		if ((bad = check_lines(s, &basket, &eligible)))
			return bad;
	} else {
		if (s->total_gr <= 0 || s->total_gr > MONEY_MAX_GR)
			return "the amount must be more than 0";
		basket = eligible = s->total_gr;
	}
	if (basket <= 0)
		return "the basket is empty";
	if (!s->ask && s->coupon && strlen(s->coupon) > RULES_COUPON_ID_MAX)
		return "coupon: too long";
	char id[CHECKOUT_ID_LEN + 1];
	if (make_sale_id(id) < 0 || make_coupon_id(co->new_coupon_id) < 0)
		return "the random source failed";
	if (sale_feed(&t->sale, SALE_EV_AMOUNT, hal_clock_mono_us(t->clock)) < 0) {
		snprintf(why, sizeof(why), "the terminal is busy (%s)",
			 sale_state_name(t->sale.state));
		return why;
	}
	memcpy(co->id, id, sizeof(co->id));
	co->origin = s->origin;
	co->ask = s->ask;
	co->confirm_alone = s->confirm_alone;
	co->preset_redeem_pts = s->redeem_pts;
	co->preset_coupon_set = s->coupon != NULL;
	snprintf(co->preset_coupon, sizeof(co->preset_coupon), "%s", s->coupon ? s->coupon : "");
	co->ctl_client = s->ctl_client;
	if (s->lines) {
		memcpy(co->lines, s->lines, s->n_lines * sizeof(*s->lines));
		co->n_lines = s->n_lines;
	} else {
		co->lines[0] = (struct rules_line){.qty = 1, .unit_gr = s->total_gr};
		co->n_lines = 1;
	}
	co->basket_gr = basket;
	co->eligible_basket_gr = eligible;
	memset(&co->member, 0, sizeof(co->member));
	co->no_card = false;
	co->offer_max_pts = co->redeem_pts = 0;
	co->offer_note[0] = co->coupon[0] = '\0';
	co->n_usable = 0;
	cJSON_Delete(co->outcome);
	co->outcome = NULL;
	log_info("sale %s of %" PRId64 " gr (%zu lines, from %s) waiting for a card", co->id,
		 basket, co->n_lines, origin_names[co->origin]);
	checkout_show(t);
	reg_sale_changed(t->reg);
	return NULL;
}

static const char *storage_why(int r)
{
	return r == -ENOSPC    ? "the terminal's disk is full"
	       : r == -EBUSY   ? "the ledger is locked by another program"
	       : r == -EBADMSG ? "the ledger file is damaged"
			       : "the ledger could not be written";
}

/* A programme refusal or a storage failure before booking: the sale ends, nothing booked. */
static cJSON *end_unbooked(struct terminal *t, const char *why)
{
	cJSON *o = error_answer(why);
	if (sale_feed(&t->sale, SALE_EV_CANCEL, hal_clock_mono_us(t->clock)) == 0)
		finish(t, cJSON_Duplicate(o, true));
	terminal_show(t, "Sale NOT booked:", why, NULL);
	return o;
}

static cJSON *sale_answer_json(struct terminal *t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddItemToObject(o, "sale", checkout_json(t));
	return o;
}

cJSON *checkout_card(struct terminal *t, const uint8_t pseudonym[PSEUDONYM_LEN],
		     const char *sun_url)
{
	struct checkout *co = t->co;
	int64_t now = hal_clock_now_us(t->clock);
	int r;

	step(t, SALE_EV_CARD);
	memcpy(co->pseudonym, pseudonym, PSEUDONYM_LEN);
	snprintf(co->sun_url, sizeof(co->sun_url), "%s", sun_url ? sun_url : "");
	if ((r = load_member(t, now)) < 0) {
		log_errno(r, "reading the card's member (%s)", ledger_errmsg(t->ledger));
		return end_unbooked(t, "the ledger could not be read; nothing was booked");
	}
	if (segment_of(&t->programme, &co->state, now, &co->seg) < 0)
		memset(&co->seg, 0, sizeof(co->seg));
	usable_coupons(t, now);
	if ((r = redeem_max(t, NULL, now, &co->offer_max_pts)) < 0)
		return end_unbooked(t, "the programme could not be applied");
	if (!co->ask) {
		/* the answer came with the request: book at once */
		r = work_out(t, co->preset_redeem_pts,
			     co->preset_coupon_set ? co->preset_coupon : NULL, now);
		if (r < 0)
			return end_unbooked(t, "the programme could not be applied");
		if (co->res.refusal != RULES_OK)
			return end_unbooked(t, co->res.refusal_text);
		step(t, SALE_EV_NO_OFFER);
		return checkout_confirm(t);
	}
	if ((r = work_out(t, 0, NULL, now)) < 0)
		return end_unbooked(t, "the programme could not be applied");
	if (co->res.refusal != RULES_OK)
		return end_unbooked(t, co->res.refusal_text);
	if (co->offer_max_pts > 0 || co->n_usable > 0) {
		step(t, SALE_EV_OFFER);
	} else {
		step(t, SALE_EV_NO_OFFER);
		if (co->confirm_alone)
			return checkout_confirm(t);
	}
	checkout_show(t);
	reg_sale_changed(t->reg);
	return sale_answer_json(t);
}

/*
 * A sale without a card: the base points (and the programme's multipliers that need no member)
 * of a customer with no history, without bonuses, coupons or stamps, booked for no member.
 */
static int apply_no_card(struct terminal *t, int64_t now_us, struct rules_result *res)
{
	struct checkout *co = t->co;
	struct rules_basket basket = {.lines = co->lines, .n_lines = co->n_lines};
	struct rules_request req = {.offline = t->cfg.server_url[0] != '\0'};
	memset(&co->state, 0, sizeof(co->state));
	co->state.welcomed = co->state.first_purchase_done = true; /* the claim decides those */
	int r = rules_apply(&t->programme, &co->state, &basket, &req, now_us, res);
	if (r < 0 || res->refusal != RULES_OK)
		return r;
	size_t n = 0;
	for (size_t i = 0; i < res->n_events; i++)
		if (res->events[i].kind == RULES_EV_EARN)
			res->events[n++] = res->events[i];
	res->n_events = n;
	res->bonus_pts = 0;
	res->coupon_issued = false;
	res->stamp_discount_gr = 0;
	memset(res->stamps_free, 0, sizeof(res->stamps_free));
	return n == 1 ? 0 : -EINVAL;
}

cJSON *checkout_no_card(struct terminal *t)
{
	struct checkout *co = t->co;
	int64_t now = hal_clock_now_us(t->clock);
	if (t->sale.state != SALE_AMOUNT)
		return error_answer("no sale is waiting for a card");
	step(t, SALE_EV_CARD);
	co->no_card = true;
	memset(co->pseudonym, 0, sizeof(co->pseudonym));
	int r = apply_no_card(t, now, &co->res);
	if (r < 0)
		return end_unbooked(t, "the programme could not be applied");
	if (co->res.refusal != RULES_OK)
		return end_unbooked(t, co->res.refusal_text);
	log_info("sale %s: no card; %" PRId64 " pts to claim from the receipt", co->id,
		 co->res.earned_pts);
	step(t, SALE_EV_NO_OFFER);
	return checkout_confirm(t);
}

const char *checkout_answer(struct terminal *t, int64_t redeem_pts, const char *coupon)
{
	static char why[RULES_TEXT_MAX];
	struct checkout *co = t->co;
	int64_t now = hal_clock_now_us(t->clock);
	if (t->sale.state != SALE_OFFER && t->sale.state != SALE_CONFIRM)
		return "no sale is waiting for an answer";
	if (coupon && strlen(coupon) > RULES_COUPON_ID_MAX)
		return "coupon: too long";
	if (coupon && !strcmp(coupon, "auto") && !best_coupon(co))
		return "the card has no coupon this basket can use";
	int64_t old_pts = co->redeem_pts;
	char old_coupon[sizeof(co->coupon)];
	memcpy(old_coupon, co->coupon, sizeof(old_coupon));
	if (work_out(t, redeem_pts, coupon, now) < 0)
		return "the programme could not be applied";
	if (co->res.refusal != RULES_OK) {
		snprintf(why, sizeof(why), "%s", co->res.refusal_text);
		/* keep what was agreed before */
		if (work_out(t, old_pts, old_coupon, now) < 0)
			return "the programme could not be applied";
		return why;
	}
	step(t, SALE_EV_ANSWER);
	log_info("sale %s: redeem %" PRId64 " pts, coupon '%s'", co->id, co->redeem_pts,
		 co->coupon);
	checkout_show(t);
	reg_sale_changed(t->reg);
	return NULL;
}

cJSON *checkout_confirm(struct terminal *t)
{
	struct checkout *co = t->co;
	struct ledger_receipt rc;
	struct receipt_extras x;
	int64_t now = hal_clock_now_us(t->clock);
	int r;

	if (t->sale.state != SALE_CONFIRM)
		return error_answer(t->sale.state == SALE_OFFER
					? "the offer waits for an answer first"
					: "no sale is waiting for confirmation");
	/* the state and the time of booking decide */
	if (co->no_card ? (r = apply_no_card(t, now, &co->res)) < 0
			: (r = load_member(t, now)) < 0 ||
			      (r = apply(t, co->redeem_pts, co->coupon, now, &co->res)) < 0) {
		log_errno(r, "working out sale %s (%s)", co->id, ledger_errmsg(t->ledger));
		return end_unbooked(t, "the ledger could not be read; nothing was booked");
	}
	if (co->res.refusal != RULES_OK)
		return error_answer(co->res.refusal_text); /* still waiting: answer again */
	if (!co->no_card) {
		if (segment_of(&t->programme, &co->state, now, &co->seg) == 0)
			add_segment_step(&co->res, &co->seg);
		add_standing_step(&co->res);
		add_chain_step(t, &co->res);
	}
	step(t, SALE_EV_CONFIRM);
	struct ledger_booking booking = {
	    .sun_url = co->sun_url,
	    .prog = &t->programme,
	    .time_us = now,
	    .eligible_basket_gr = co->eligible_basket_gr,
	};
	r = ledger_book(t->ledger, co->no_card ? NULL : co->pseudonym, &co->res, &booking, &rc);
	if (r < 0) {
		char msg[RULES_TEXT_MAX];
		step(t, SALE_EV_BOOK_FAILED);
		log_errno(r, "booking sale %s failed (%s); nothing was booked", co->id,
			  ledger_errmsg(t->ledger));
		terminal_show(t, "ERROR: sale NOT booked", storage_why(r),
			      "Call support; take the sale by hand");
		snprintf(msg, sizeof(msg), "%s; nothing was booked", storage_why(r));
		cJSON *o = error_answer(msg);
		finish(t, cJSON_Duplicate(o, true));
		return o;
	}
	step(t, SALE_EV_BOOKED);
	if (rc.new_member)
		identify_enrolled(t, rc.card_code, rc.time_us);
	if (co->res.coupon_issued) {
		if (!strcmp(co->res.coupon.campaign, "first_purchase"))
			t->issued_first_purchase++;
		else if (!strcmp(co->res.coupon.campaign, "reactivation"))
			t->issued_reactivation++;
	}
	if (co->res.coupon_withheld)
		log_info("no coupon for this sale: %s", co->res.coupon_withheld);
	log_info("sale %s booked: receipt %s, +%" PRId64 " pts, -%" PRId64 " pts%s", co->id,
		 rc.receipt_no, rc.earned_pts + rc.bonus_pts, co->res.redeemed_pts,
		 rc.new_member ? ", new card" : "");

	const char *why = NULL;
	int pr = receipt_extras(t, rc.receipt_no, &x);
	if (pr < 0)
		why = "ledger read failed";
	else
		pr = print_receipt(t, &rc, &x, false, true, &why);
	step(t, pr != 0 ? SALE_EV_PRINT_FAILED : SALE_EV_PRINTED);
	step(t, SALE_EV_DONE);

	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON *s = receipt_json(t, &rc, &x);
	cJSON_AddBoolToObject(s, "printed", pr == 0);
	if (pr != 0)
		cJSON_AddStringToObject(s, "print_error", why);
	if (pr == 1)
		cJSON_AddBoolToObject(s, "queued", true);
	cJSON_AddItemToObject(o, "sale", s);

	char l1[96], l2[64], pay[MONEY_TEXT];
	snprintf(l1, sizeof(l1), "Receipt %s, to pay %s zł", rc.receipt_no,
		 gr_text(co->res.to_pay_gr, pay));
	if (co->no_card)
		snprintf(l2, sizeof(l2), "no card: %" PRId64 " pts to claim by the receipt's QR",
			 rc.earned_pts);
	else
		snprintf(l2, sizeof(l2), "+%" PRId64 " pts, balance %" PRId64 " pts",
			 rc.earned_pts + rc.bonus_pts, rc.balance_pts);
	terminal_show(t, l1, l2,
		      pr == 1	      ? "NOT PRINTED: queued, prints when the printer is back"
		      : pr < 0	      ? "PRINT FAILED: fix, then reprint"
		      : rc.new_member ? "New card: welcome!"
				      : "Thank you!");
	finish(t, cJSON_Duplicate(o, true));
	return o;
}

void checkout_tick(struct terminal *t)
{
	struct checkout *co = t->co;
	if (!sale_cancellable(&t->sale))
		return;
	if (co->ctl_client != NO_CLIENT && !ctl_client_alive(t->ctl, co->ctl_client)) {
		/* the script that asked for the sale hung up */
		co->ctl_client = NO_CLIENT;
		checkout_cancel(t, "the requester went away");
		terminal_show_idle(t);
		return;
	}
	enum sale_state before = t->sale.state;
	if (sale_tick(&t->sale, hal_clock_mono_us(t->clock))) {
		const char *why = before == SALE_AMOUNT ? "no card within the time limit"
							: "no answer within the time limit";
		log_info("sale %s cancelled: %s", co->id, why);
		finish(t, error_answer(why));
		char l1[64];
		snprintf(l1, sizeof(l1), "Sale cancelled: %s", why);
		terminal_show(t, l1, NULL, NULL);
	}
}

/* ---- what the sale looks like ---- */

static void tier_of(struct terminal *t, const struct rules_member *m, const char **name)
{
	size_t tier = programme_tier_for(&t->programme, m->spend_window_gr);
	*name = t->programme.n_tiers ? t->programme.tiers[tier].name : "";
}

cJSON *checkout_json(struct terminal *t)
{
	struct checkout *co = t->co;
	enum sale_state st = t->sale.state;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", co->id);
	cJSON_AddStringToObject(o, "state", sale_state_name(st));
	if (st == SALE_IDLE || st == SALE_PRINTED) {
		if (co->outcome)
			cJSON_AddItemToObject(o, "outcome", cJSON_Duplicate(co->outcome, true));
		return o;
	}
	cJSON_AddStringToObject(o, "origin", origin_names[co->origin]);
	cJSON_AddNumberToObject(o, "basket_gr", (double) co->basket_gr);
	cJSON_AddNumberToObject(o, "lines", (double) co->n_lines);
	if (st == SALE_AMOUNT)
		return o;

	const char *tier;
	tier_of(t, &co->state, &tier);
	cJSON *m = cJSON_AddObjectToObject(o, "member");
	cJSON_AddBoolToObject(m, "known", co->member.member_id != 0);
	if (co->member.card_code[0])
		cJSON_AddStringToObject(m, "card", co->member.card_code);
	cJSON_AddStringToObject(m, "tier", tier);
	cJSON_AddStringToObject(m, "segment", segment_name(co->seg.kind));
	cJSON *rfm = cJSON_AddObjectToObject(m, "rfm");
	cJSON_AddNumberToObject(rfm, "recency", co->seg.recency);
	cJSON_AddNumberToObject(rfm, "frequency", co->seg.frequency);
	cJSON_AddNumberToObject(rfm, "monetary", co->seg.monetary);
	cJSON_AddNumberToObject(m, "balance_pts", (double) co->state.balance_pts);
	int64_t chain;
	bool from_server = false;
	if (co->member.member_id &&
	    ledger_member_view(t->ledger, co->member.member_id, &chain, &from_server) == 0 &&
	    from_server)
		cJSON_AddNumberToObject(m, "chain_balance_pts", (double) chain);
	char name[FIRST_NAME_MAX];
	if (co->member.member_id &&
	    ledger_member_first_name(t->ledger, co->member.member_id, name) == 0 && name[0])
		cJSON_AddStringToObject(m, "first_name", name);
	cJSON *cs = cJSON_AddArrayToObject(m, "coupons");
	for (size_t i = 0; i < co->n_usable; i++) {
		const struct rules_coupon *c = &co->state.coupons[co->usable[i]];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", c->id);
		cJSON_AddNumberToObject(j, "percent_bp", c->percent_bp);
		cJSON_AddNumberToObject(j, "min_basket_gr", (double) c->min_basket_gr);
		cJSON_AddNumberToObject(j, "expires_us", (double) c->expires_us);
		cJSON_AddBoolToObject(j, "combinable", c->combinable);
		cJSON_AddItemToArray(cs, j);
	}
	cJSON *of = cJSON_AddObjectToObject(o, "offer");
	cJSON_AddNumberToObject(of, "redeem_max_pts", (double) co->offer_max_pts);
	cJSON_AddNumberToObject(of, "redeem_unit_pts", (double) t->programme.redeem_unit_pts);
	cJSON_AddNumberToObject(of, "redeem_unit_gr", (double) t->programme.redeem_unit_gr);
	if (co->offer_note[0] && !co->offer_max_pts)
		cJSON_AddStringToObject(of, "note", co->offer_note);
	cJSON *a = cJSON_AddObjectToObject(o, "answer");
	cJSON_AddNumberToObject(a, "redeem_pts", (double) co->redeem_pts);
	cJSON_AddStringToObject(a, "coupon", co->coupon);
	const struct rules_result *r = &co->res;
	cJSON *tt = cJSON_AddObjectToObject(o, "totals");
	cJSON_AddNumberToObject(tt, "basket_gr", (double) r->basket_gr);
	cJSON_AddNumberToObject(tt, "stamp_discount_gr", (double) r->stamp_discount_gr);
	cJSON_AddNumberToObject(tt, "coupon_discount_gr", (double) r->coupon_discount_gr);
	cJSON_AddNumberToObject(tt, "points_discount_gr", (double) r->points_discount_gr);
	cJSON_AddNumberToObject(tt, "to_pay_gr", (double) r->to_pay_gr);
	cJSON_AddNumberToObject(tt, "earned_pts", (double) r->earned_pts);
	cJSON_AddNumberToObject(tt, "bonus_pts", (double) r->bonus_pts);
	cJSON_AddNumberToObject(tt, "redeemed_pts", (double) r->redeemed_pts);
	cJSON_AddNumberToObject(tt, "balance_after_pts", (double) r->balance_pts);
	return o;
}

/*
 * "Łucja: " for a member who allows the tills to show its first name (PRODUCT.md, "Cashier":
 * the display greets by it), "" otherwise.
 */
static void greeting(struct terminal *t, const struct checkout *co, char out[FIRST_NAME_MAX + 2])
{
	char name[FIRST_NAME_MAX];
	out[0] = '\0';
	if (co->member.member_id &&
	    ledger_member_first_name(t->ledger, co->member.member_id, name) == 0 && name[0])
		snprintf(out, FIRST_NAME_MAX + 2, "%s: ", name);
}

void checkout_show(struct terminal *t)
{
	struct checkout *co = t->co;
	char l1[96 + FIRST_NAME_MAX], l2[96 + FIRST_NAME_MAX], l3[96], a[MONEY_TEXT], b[MONEY_TEXT],
	    hello[FIRST_NAME_MAX + 2];
	const char *tier;

	switch (t->sale.state) {
	case SALE_AMOUNT:
		snprintf(l1, sizeof(l1), "Amount: %s zł", gr_text(co->basket_gr, a));
		terminal_show(t, l1, "Tap the customer's card (b = no card: claim QR)",
			      "Esc or c = cancel");
		return;
	case SALE_OFFER: {
		tier_of(t, &co->state, &tier);
		greeting(t, co, hello);
		snprintf(l1, sizeof(l1), "%s%s card, %s, %s, %" PRId64 " pts", hello,
			 co->member.member_id ? "Member" : "New", segment_name(co->seg.kind), tier,
			 co->state.balance_pts);
		if (co->offer_max_pts)
			snprintf(l2, sizeof(l2), "Points: up to %" PRId64 " pts = %s zł%s",
				 co->offer_max_pts,
				 gr_text(co->offer_max_pts / t->programme.redeem_unit_pts *
					     t->programme.redeem_unit_gr,
					 b),
				 co->n_usable ? "; coupon" : "");
		else
			snprintf(l2, sizeof(l2), "Coupons: %zu usable (k = use the best)",
				 co->n_usable);
		snprintf(l3, sizeof(l3), "r [pts]: points  k [code]: coupon  Enter: neither");
		terminal_show(t, l1, l2, l3);
		return;
	}
	case SALE_CONFIRM:
		snprintf(l1, sizeof(l1), "To pay %s zł (of %s zł)", gr_text(co->res.to_pay_gr, a),
			 gr_text(co->res.basket_gr, b));
		/* with no offer this is the first screen after the tap: the greeting goes here */
		greeting(t, co, hello);
		if (co->res.redeemed_pts)
			snprintf(l2, sizeof(l2),
				 "%sPaid with %" PRId64 " pts, earns +%" PRId64 " pts", hello,
				 co->res.redeemed_pts, co->res.earned_pts + co->res.bonus_pts);
		else if (co->coupon[0])
			snprintf(l2, sizeof(l2), "%sCoupon %s, earns +%" PRId64 " pts", hello,
				 co->coupon, co->res.earned_pts + co->res.bonus_pts);
		else
			snprintf(l2, sizeof(l2), "%sEarns +%" PRId64 " pts", hello,
				 co->res.earned_pts + co->res.bonus_pts);
		terminal_show(t, l1, l2, "Enter: confirm  c: cancel");
		return;
	case SALE_IDLE:
	case SALE_IDENTIFIED:
	case SALE_COMMITTING:
	case SALE_COMMITTED:
	case SALE_PRINTED:
	case SALE_STATE_MAX:
		break;
	}
}

/* ---- refunds ---- */

cJSON *checkout_refund(struct terminal *t, const struct checkout_refund *req)
{
	struct ledger_receipt sale_rc, rc;
	struct rules_sale_record rec;
	struct rules_member *state = NULL;
	struct rules_refund_result *res = NULL;
	int64_t now = hal_clock_now_us(t->clock);
	char why[RULES_TEXT_MAX + 64];
	cJSON *o = NULL;
	int r;

	if (t->sale.state == SALE_COMMITTING || t->sale.state == SALE_COMMITTED)
		return error_answer("the terminal is finishing a sale; try again");
	r = ledger_get_receipt(t->ledger, req->receipt_no, &sale_rc);
	if (r == 0 && !sale_rc.card_code[0] && sale_rc.member_id == 0) {
		snprintf(why, sizeof(why),
			 "receipt '%s' was a sale without a card: no points to take back here "
			 "(its claim stays with the server); give the money back at the till",
			 req->receipt_no);
		return error_answer(why);
	}
	if (r == 0)
		r = ledger_sale_record(t->ledger, req->receipt_no, &rec);
	if (r == -ENOENT || r == -EINVAL) {
		snprintf(why, sizeof(why), "no sale with receipt number '%s' on this terminal",
			 req->receipt_no);
		return error_answer(why);
	}
	if (r < 0)
		return error_answer("the ledger could not be read");

	int64_t left_basket = rec.basket_gr - rec.refunded_basket_gr;
	int64_t left_eligible = rec.eligible_basket_gr - rec.refunded_eligible_gr;
	struct rules_refund_request rr = {0};
	if (req->whole) {
		rr.basket_gr = left_basket;
		rr.eligible_gr = left_eligible;
	} else if (req->lines) {
		for (size_t i = 0; i < req->n_lines; i++) {
			const struct rules_line *l = &req->lines[i];
			if (l->qty < 1 || l->qty > RULES_QTY_MAX || l->unit_gr < 0 ||
			    l->unit_gr > MONEY_MAX_GR || rr.basket_gr > MONEY_MAX_GR)
				return error_answer("a returned line is out of range");
			rr.basket_gr += l->unit_gr * l->qty;
			if (!l->tax_free && !l->gift_card)
				rr.eligible_gr += l->unit_gr * l->qty;
		}
	} else {
		rr.basket_gr = req->amount_gr;
		/* the earning share of the sale, rounded down (the member's favour is not at
		 * stake: the rules round the points reversed up) */
		rr.eligible_gr = rec.basket_gr ? (int64_t) ((__int128) req->amount_gr *
							    rec.eligible_basket_gr / rec.basket_gr)
					       : 0;
		if (rr.eligible_gr > left_eligible)
			rr.eligible_gr = left_eligible;
	}
	if (rr.basket_gr <= 0)
		return error_answer(left_basket
					? "nothing to refund: the amount must be more than 0"
					: "this sale is already refunded in full");
	state = calloc(1, sizeof(*state));
	res = calloc(1, sizeof(*res));
	if (!state || !res) {
		o = error_answer("out of memory");
		goto out;
	}
	if ((r = ledger_member_state(t->ledger, sale_rc.member_id, &t->programme, now, state)) <
		0 ||
	    (r = rules_refund(&t->programme, state, &rec, &rr, now, res)) < 0) {
		o = error_answer("the refund could not be worked out");
		goto out;
	}
	if (res->refusal != RULES_OK) {
		o = error_answer(res->refusal_text);
		goto out;
	}
	r = ledger_book_refund(t->ledger, req->receipt_no, res, now, &rc);
	if (r < 0) {
		log_errno(r, "booking the refund of %s failed (%s)", req->receipt_no,
			  ledger_errmsg(t->ledger));
		snprintf(why, sizeof(why), "%s; nothing was refunded", storage_why(r));
		o = error_answer(why);
		goto out;
	}
	log_info("refund %s of receipt %s: %" PRId64 " gr back, -%" PRId64 " pts, +%" PRId64 " pts",
		 rc.receipt_no, req->receipt_no, res->money_back_gr, res->reversed_pts,
		 res->recredited_pts);
	const char *pwhy = NULL;
	int pr = print_refund_slip(t, rc.receipt_no, true, &pwhy);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON *j = cJSON_AddObjectToObject(o, "refund");
	cJSON_AddBoolToObject(j, "printed", pr == 0);
	if (pr != 0)
		cJSON_AddStringToObject(j, "print_error", pwhy);
	if (pr == 1)
		cJSON_AddBoolToObject(j, "queued", true);
	cJSON_AddStringToObject(j, "receipt", rc.receipt_no);
	cJSON_AddStringToObject(j, "of_receipt", req->receipt_no);
	cJSON_AddNumberToObject(j, "returned_gr", (double) rr.basket_gr);
	cJSON_AddNumberToObject(j, "money_back_gr", (double) res->money_back_gr);
	cJSON_AddNumberToObject(j, "reversed_pts", (double) res->reversed_pts);
	cJSON_AddNumberToObject(j, "recredited_pts", (double) res->recredited_pts);
	cJSON_AddNumberToObject(j, "shortfall_pts", (double) res->shortfall_pts);
	cJSON_AddNumberToObject(j, "shortfall_gr", (double) res->shortfall_gr);
	cJSON_AddNumberToObject(j, "balance_pts", (double) res->balance_pts);
	char l1[112], l2[80], m[MONEY_TEXT];
	snprintf(l1, sizeof(l1), "Refund %s: pay back %s zł", rc.receipt_no,
		 gr_text(res->money_back_gr, m));
	snprintf(l2, sizeof(l2), "-%" PRId64 " pts +%" PRId64 " pts, balance %" PRId64 " pts",
		 res->reversed_pts, res->recredited_pts, res->balance_pts);
	terminal_show(t, l1, l2, NULL);
out:
	free(state);
	free(res);
	return o;
}

/* ---- explain ---- */

static cJSON *event_json(const struct ledger_event *ev)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "seq", (double) ev->seq);
	cJSON_AddStringToObject(e, "kind", ev->kind);
	cJSON_AddNumberToObject(e, "points", (double) ev->points);
	cJSON_AddNumberToObject(e, "amount_gr", (double) ev->amount_gr);
	cJSON_AddStringToObject(e, "rule", ev->rule);
	cJSON_AddStringToObject(e, "ref", ev->ref);
	return e;
}

/* One step of the points arithmetic, for a person. */
static void trace_text(const struct rules_trace *s, char *buf, size_t size)
{
	char a[MONEY_TEXT], b[MONEY_TEXT];
	if (!strncmp(s->rule, SEGMENT_STEP, strlen(SEGMENT_STEP)))
		snprintf(buf, size, "segment: %s (chooses the receipt's thank-you message)",
			 s->rule + strlen(SEGMENT_STEP));
	else if (!strncmp(s->rule, CHAIN_STEP, strlen(CHAIN_STEP)))
		snprintf(buf, size,
			 "chain balance before the sale: %" PRId64
			 " pts (the server's, with %" PRId64 " pts booked here; for the receipt)",
			 s->base_pts, s->base_gr);
	else if (!strncmp(s->rule, STANDING_STEP, strlen(STANDING_STEP)))
		snprintf(buf, size,
			 "standing after the sale: %s zł spent in the tier window, %" PRId64
			 " pts expire next (for the receipt)",
			 gr_text(s->base_gr, a), s->base_pts);
	else if (!strcmp(s->rule, "base"))
		snprintf(buf, size,
			 "base: %s zł earning -> %" PRId64
			 " pts (%s zł below a whole point dropped)",
			 gr_text(s->base_gr, a), s->points, gr_text(s->dropped, b));
	else if (s->permille != 1000)
		snprintf(buf, size,
			 "%s: x%d.%03d on %" PRId64 " pts (of %s zł) -> +%" PRId64 " pts (%" PRId64
			 "/1000 pt dropped)",
			 s->rule, s->permille / 1000, s->permille % 1000, s->base_pts,
			 gr_text(s->base_gr, a), s->points, s->dropped);
	else
		snprintf(buf, size, "%s: +%" PRId64 " pts", s->rule, s->points);
}

cJSON *checkout_explain(struct terminal *t, const char *receipt_no)
{
	if (receipt_first_seq(receipt_no) < 0)
		return error_answer("invalid receipt number");
	struct ledger_event evs[RECEIPT_EVENTS_MAX];
	size_t n_evs;
	int r = receipt_events(t, receipt_no, evs, &n_evs);
	if (r < 0 || n_evs == 0)
		return error_answer(r < 0 ? "the ledger could not be read" : "no such receipt");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "receipt", receipt_no);
	cJSON *events = cJSON_AddArrayToObject(o, "events");
	for (size_t i = 0; i < n_evs; i++)
		cJSON_AddItemToArray(events, event_json(&evs[i]));
	struct rules_trace trace[RULES_TRACE_MAX];
	size_t n = 0;
	r = ledger_sale_trace(t->ledger, receipt_no, trace, RULES_TRACE_MAX, &n);
	if (r < 0 && r != -ENOENT) {
		cJSON_Delete(o);
		return error_answer("the ledger could not be read");
	}
	cJSON *tr = cJSON_AddArrayToObject(o, "trace");
	for (size_t i = 0; r == 0 && i < n; i++) {
		char text[160];
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "rule", trace[i].rule);
		cJSON_AddNumberToObject(s, "base_gr", (double) trace[i].base_gr);
		cJSON_AddNumberToObject(s, "base_pts", (double) trace[i].base_pts);
		cJSON_AddNumberToObject(s, "permille", trace[i].permille);
		cJSON_AddNumberToObject(s, "points", (double) trace[i].points);
		cJSON_AddNumberToObject(s, "dropped", (double) trace[i].dropped);
		trace_text(&trace[i], text, sizeof(text));
		cJSON_AddStringToObject(s, "text", text);
		cJSON_AddItemToArray(tr, s);
	}
	return o;
}

int64_t checkout_redeem_pts(struct terminal *t)
{
	return t->co->redeem_pts;
}

const char *checkout_coupon(struct terminal *t)
{
	return t->co->coupon;
}

const char *checkout_offer_note(struct terminal *t)
{
	return t->co->offer_note[0] ? t->co->offer_note : "no points can be used on this sale";
}
