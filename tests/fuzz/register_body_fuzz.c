/* register_body_fuzz: the register API's request bodies (sale, answer, refund) from any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "register_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_lines(const struct rules_line *lines, size_t n)
{
	if (n > RULES_LINES_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (lines[i].qty < 1 || lines[i].qty > RULES_QTY_MAX || lines[i].unit_gr < 0 ||
		    lines[i].sku[sizeof(lines[i].sku) - 1] ||
		    lines[i].category[sizeof(lines[i].category) - 1])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reg_sale_body sale;
	static struct reg_refund_body refund;
	struct reg_answer_body answer;
	char err[REG_ERR_MAX];
	const char *text = (const char *) data;

	err[0] = '\0';
	if (reg_parse_sale(text, size, &sale, err, sizeof(err)) == 0) {
		check_lines(sale.lines, sale.n_lines);
		if (sale.total_gr < 0 || (!sale.total_gr && !sale.n_lines))
			abort();
	} else if (!err[0]) {
		abort();
	}
	err[0] = '\0';
	if (reg_parse_answer(text, size, &answer, err, sizeof(err)) == 0) {
		if (answer.redeem_pts < -1 || answer.coupon[sizeof(answer.coupon) - 1])
			abort();
	} else if (!err[0]) {
		abort();
	}
	err[0] = '\0';
	if (reg_parse_refund(text, size, &refund, err, sizeof(err)) == 0) {
		check_lines(refund.lines, refund.n_lines);
		if (!refund.receipt[0] ||
		    (int) refund.whole + (refund.amount_gr > 0) + (refund.n_lines > 0) != 1)
			abort();
	} else if (!err[0]) {
		abort();
	}
	return 0;
}
