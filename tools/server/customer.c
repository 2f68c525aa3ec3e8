/* customer: claims, surveys and consents from the card page (docs/card-page.md). */
#include "customer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "base32.h"
#include "rules.h"

/* A card code no member, tombstone or revoked card has: 60 random bits. */
static int new_card_code(struct store *st, char code[LEDGER_CARD_CODE_LEN + 1])
{
	char key[8 + LEDGER_CARD_CODE_LEN + 1], json[16];
	struct store_member m;
	for (int tries = 0; tries < 8; tries++) {
		uint64_t v;
		randombytes_buf(&v, sizeof(v));
		v &= (1ULL << 60) - 1;
		if (base32_code_encode(v, LEDGER_CARD_CODE_LEN, code) < 0)
			return -EINVAL;
		snprintf(key, sizeof(key), "member:%s", code);
		int r = st->ops->member_get(st, code, &m);
		if (r == 0)
			continue;
		if (r != -ENOENT)
			return r;
		if ((r = st->ops->change_get(st, key, json, sizeof(json))) == 0)
			continue;
		if (r != -ENOENT)
			return r;
		if ((r = st->ops->card_revoked(st, code)) < 0)
			return r;
		if (r == 0)
			return 0;
	}
	return -EAGAIN;
}

int customer_claim(struct store *st, const struct sync_policy *pol, const struct token_claim *tc,
		   const char *card_code, int64_t now_us, struct store_claim *ret,
		   enum customer_result *ret_result)
{
	struct store_claim c = {0};
	struct store_member m;
	struct ledger_event ev;
	int r;

	if ((r = st->ops->begin(st)) < 0)
		return r;
	r = st->ops->claim_get(st, tc->terminal_id, tc->seq, &c);
	if (r == 0) {
		*ret = c;
		*ret_result = CUSTOMER_ALREADY;
		goto rollback_ok;
	}
	if (r != -ENOENT)
		goto fail;
	/* a receipt the terminal has sent already must be a sale booked for no card */
	r = st->ops->event_at(st, tc->terminal_id, tc->seq, &ev);
	if (r == 0 && (ev.card_code[0] || ev.member_id || strcmp(ev.kind, "earn"))) {
		*ret_result = CUSTOMER_NOT_CLAIMABLE;
		goto rollback_ok;
	}
	if (r < 0 && r != -ENOENT)
		goto fail;
	memset(&c, 0, sizeof(c));
	snprintf(c.terminal_id, sizeof(c.terminal_id), "%s", tc->terminal_id);
	c.seq = tc->seq;
	c.points = tc->points_pts;
	c.amount_gr = tc->amount_gr;
	c.claimed_us = now_us;
	if (card_code) {
		r = st->ops->card_revoked(st, card_code);
		if (r < 0)
			goto fail;
		if (r) {
			*ret_result = CUSTOMER_BLOCKED_CARD;
			goto rollback_ok;
		}
		r = st->ops->member_get(st, card_code, &m);
		if (r == -ENOENT) {
			*ret_result = CUSTOMER_UNKNOWN_CARD;
			goto rollback_ok;
		}
		if (r < 0)
			goto fail;
		snprintf(c.card_code, sizeof(c.card_code), "%s", card_code);
	} else {
		if ((r = new_card_code(st, c.card_code)) < 0)
			goto fail;
		c.new_card = true;
		c.bonus_pts = pol->prog->welcome_pts;
	}
	/* the claim first: its amount counts in the tier the credit computes */
	if ((r = st->ops->claim_put(st, &c)) < 0 ||
	    (r = sync_member_credit(st, pol, c.card_code, c.points + c.bonus_pts, c.new_card,
				    now_us)) < 0 ||
	    (r = st->ops->commit(st)) < 0)
		goto fail;
	*ret = c;
	*ret_result = CUSTOMER_OK;
	return 0;
rollback_ok:
	st->ops->rollback(st);
	return 0;
fail:
	st->ops->rollback(st);
	return r == -EEXIST ? -EIO : r;
}

int customer_survey(struct store *st, const struct sync_policy *pol, const char *card_code,
		    const char *terminal_id, int64_t seq, int score, const char *comment,
		    int64_t now_us, struct store_survey *ret, enum customer_result *ret_result)
{
	struct store_survey s = {0};
	struct ledger_event ev;
	struct store_claim c;
	int r;

	if (score < 0 || score > 10)
		return -EINVAL;
	if ((r = st->ops->begin(st)) < 0)
		return r;
	r = st->ops->survey_get(st, terminal_id, seq, &s);
	if (r == 0) {
		*ret = s;
		*ret_result = CUSTOMER_ALREADY;
		goto rollback_ok;
	}
	if (r != -ENOENT)
		goto fail;
	/* the card's sale: booked to it by the terminal, or claimed for it. The receipt's number
	 * names its first event (a new card's enrol), and its earn event follows among the
	 * receipt's own events */
	bool yours = false;
	char receipt_no[LEDGER_RECEIPT_NO_MAX + 1] = "";
	for (int64_t at = seq; at <= seq + RULES_EVENTS_MAX; at++) {
		r = st->ops->event_at(st, terminal_id, at, &ev);
		if (r == -ENOENT)
			break;
		if (r < 0)
			goto fail;
		if (at == seq)
			snprintf(receipt_no, sizeof(receipt_no), "%s", ev.receipt_no);
		else if (strcmp(ev.receipt_no, receipt_no) != 0)
			break;
		if (!strcmp(ev.kind, "earn")) {
			yours = !strcmp(ev.card_code, card_code);
			break;
		}
	}
	if (!yours) {
		r = st->ops->claim_get(st, terminal_id, seq, &c);
		if (r == 0)
			yours = !strcmp(c.card_code, card_code);
		else if (r != -ENOENT)
			goto fail;
	}
	if (!yours) {
		*ret_result = CUSTOMER_NOT_YOURS;
		goto rollback_ok;
	}
	memset(&s, 0, sizeof(s));
	snprintf(s.terminal_id, sizeof(s.terminal_id), "%s", terminal_id);
	s.seq = seq;
	snprintf(s.card_code, sizeof(s.card_code), "%s", card_code);
	s.score = score;
	snprintf(s.comment, sizeof(s.comment), "%s", comment ? comment : "");
	s.bonus_pts = pol->prog->survey_pts;
	s.time_us = now_us;
	if ((r = st->ops->survey_put(st, &s)) < 0 ||
	    (s.bonus_pts &&
	     (r = sync_member_credit(st, pol, card_code, s.bonus_pts, false, now_us)) < 0) ||
	    (r = st->ops->commit(st)) < 0)
		goto fail;
	*ret = s;
	*ret_result = CUSTOMER_OK;
	return 0;
rollback_ok:
	st->ops->rollback(st);
	return 0;
fail:
	st->ops->rollback(st);
	return r == -EEXIST || r == -ENOENT ? -EIO : r;
}

int customer_consent(struct store *st, const struct sync_policy *pol, const char *card_code,
		     bool marketing, bool first_name, const char *name, int64_t now_us)
{
	struct store_consent c = {.marketing = marketing, .first_name = first_name,
				  .updated_us = now_us};
	int r;
	if (first_name && (!name || !name[0]))
		return -EINVAL;
	snprintf(c.card_code, sizeof(c.card_code), "%s", card_code);
	if (first_name)
		snprintf(c.name, sizeof(c.name), "%s", name);
	struct store_consent before;
	bool dropped = false; /* a name given before is no longer kept */
	if ((r = st->ops->begin(st)) < 0)
		return r;
	if ((r = st->ops->consent_get(st, card_code, &before)) == 0)
		dropped = before.first_name && before.name[0] && strcmp(before.name, c.name);
	if ((r < 0 && r != -ENOENT) || (r = st->ops->consent_put(st, &c)) < 0 ||
	    (r = sync_member_name(st, pol, card_code, c.name, now_us)) < 0 ||
	    (r = st->ops->commit(st)) < 0) {
		st->ops->rollback(st);
		return r;
	}
	/* a first name no longer kept leaves no copy behind (best effort) */
	if (dropped && st->ops->purge)
		(void) st->ops->purge(st);
	return 0;
}

int customer_nps(struct store *st, struct store_nps *ret_counts, int64_t *ret_nps, int64_t *ret_n)
{
	struct store_nps n;
	int r = st->ops->survey_counts(st, &n);
	if (r < 0)
		return r;
	int64_t total = n.promoters + n.passives + n.detractors;
	int64_t num = (n.promoters - n.detractors) * 100, nps = 0;
	if (total) {
		/* rounded half away from zero, in integers */
		nps = num >= 0 ? (2 * num + total) / (2 * total) : -((-2 * num + total) / (2 * total));
	}
	*ret_counts = n;
	*ret_nps = nps;
	*ret_n = total;
	return 0;
}
