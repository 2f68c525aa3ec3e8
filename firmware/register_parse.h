/*
 * register_parse: the request bodies of the register API (docs/register-api.md), parsed and
 * checked without touching the terminal, so that they can be fuzzed. Each parser returns 0, or
 * -EINVAL with err naming the field and the problem ("lines[2].qty: must be a whole number from
 * 1 to 10000"), or -ENOMEM. Unknown fields are refused.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "rules.h"

#define REG_ERR_MAX 200

/* POST /v1/sales: {"total_gr": N} and/or {"lines": [...]}. */
struct reg_sale_body {
	int64_t total_gr; /* 0 when not given */
	struct rules_line lines[RULES_LINES_MAX];
	size_t n_lines; /* 0 when not given */
};

/* POST /v1/sales/{id}/answer: {"redeem_pts": N | "max", "coupon": "CODE" | "auto" | null}. */
struct reg_answer_body {
	int64_t redeem_pts; /* -1: "max" */
	char coupon[RULES_COUPON_ID_MAX + 1];
	bool coupon_set;
};

/* POST /v1/refunds: {"receipt": NO} and one of "whole": true, "amount_gr": N, "lines": [...]. */
struct reg_refund_body {
	char receipt[LEDGER_RECEIPT_NO_MAX + 1];
	bool whole;
	int64_t amount_gr;
	struct rules_line lines[RULES_LINES_MAX];
	size_t n_lines;
};

int reg_parse_sale(const char *text, size_t len, struct reg_sale_body *ret, char *err,
		   size_t err_size);
int reg_parse_answer(const char *text, size_t len, struct reg_answer_body *ret, char *err,
		     size_t err_size);
int reg_parse_refund(const char *text, size_t len, struct reg_refund_body *ret, char *err,
		     size_t err_size);
