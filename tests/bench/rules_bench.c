/*
 * rules_bench: rules_apply() for a 30-line basket with the default programme (a Gold member
 * with 50 points lots, a coffee stamp card, a redemption), against a same-run anchor: a plain
 * loop over the same basket summing qty * unit price. Each call is timed on its own with
 * CLOCK_MONOTONIC; the table gives p50/p99/max in microseconds, the last line one JSON object.
 *
 *   rules_bench [--iterations N]   (default 200000)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "programme.h"
#include "rules.h"

#define LINES 30

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return (x > y) - (x < y);
}

static int64_t pct(const int64_t *sorted, size_t n, int p)
{
	return sorted[(n - 1) * (size_t) p / 100];
}

static volatile int64_t sink;

static int64_t plain_sum(const struct rules_line *lines, size_t n)
{
	int64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += lines[i].qty * lines[i].unit_gr;
	return s;
}

int main(int argc, char **argv)
{
	size_t iters = 200000;
	if (argc == 3 && strcmp(argv[1], "--iterations") == 0)
		iters = (size_t) strtoull(argv[2], NULL, 10);
	else if (argc != 1) {
		fprintf(stderr, "usage: rules_bench [--iterations N]\n");
		return 2;
	}
	if (iters < 100)
		iters = 100;

	static struct programme prog;
	static struct rules_member mem;
	static struct rules_result res;
	programme_default(&prog);
	const int64_t now = INT64_C(1749549600000000); /* 2025-06-10 10:00 UTC */
	static const char *const cats[] = {"food", "coffee", "drink", "bakery", "tobacco"};
	struct rules_line lines[LINES];
	for (size_t i = 0; i < LINES; i++) {
		memset(&lines[i], 0, sizeof(lines[i]));
		snprintf(lines[i].sku, sizeof(lines[i].sku), "590%010zu", i);
		snprintf(lines[i].category, sizeof(lines[i].category), "%s", cats[i % 5]);
		lines[i].qty = (int32_t) (i % 3) + 1;
		lines[i].unit_gr = 199 + (int64_t) i * 137;
		lines[i].tax_free = i % 5 == 4;
		lines[i].gift_card = i == 29;
	}
	mem.member_id = 1;
	mem.welcomed = mem.first_purchase_done = true;
	mem.spend_window_gr = 150000;
	mem.last_visit_us = now - 86400 * INT64_C(1000000);
	mem.visits = 40;
	for (size_t i = 0; i < 50; i++) {
		mem.lots[i] = (struct rules_lot){now - (int64_t) (50 - i) * 86400 * 1000000, 20};
		mem.balance_pts += 20;
	}
	mem.n_lots = 50;
	mem.stamps[0] = 7;
	struct rules_basket basket = {.lines = lines, .n_lines = LINES};
	struct rules_request req = {.redeem_pts = 300, .new_coupon_id = "BENCH-1"};

	int64_t *t_apply = malloc(iters * sizeof(int64_t));
	int64_t *t_anchor = malloc(iters * sizeof(int64_t));
	if (!t_apply || !t_anchor)
		return 1;
	for (size_t i = 0; i < iters / 10; i++) /* warm up */
		if (rules_apply(&prog, &mem, &basket, &req, now, &res) != 0)
			return 1;
	if (res.refusal != RULES_OK) {
		fprintf(stderr, "rules_bench: refused: %s\n", res.refusal_text);
		return 1;
	}
	for (size_t i = 0; i < iters; i++) {
		int64_t a = now_ns();
		sink = plain_sum(lines, LINES);
		int64_t b = now_ns();
		int r = rules_apply(&prog, &mem, &basket, &req, now + (int64_t) i, &res);
		int64_t c = now_ns();
		if (r != 0)
			return 1;
		t_anchor[i] = b - a;
		t_apply[i] = c - b;
	}
	qsort(t_apply, iters, sizeof(int64_t), cmp64);
	qsort(t_anchor, iters, sizeof(int64_t), cmp64);
	int64_t ap50 = pct(t_apply, iters, 50), ap99 = pct(t_apply, iters, 99);
	int64_t an50 = pct(t_anchor, iters, 50), an99 = pct(t_anchor, iters, 99);

	printf("rules bench: %zu calls, %d-line basket, default programme, Gold member, 50 lots\n",
	       iters, LINES);
	printf("%-34s %10s %10s %10s\n", "", "p50 us", "p99 us", "max us");
	printf("%-34s %10.3f %10.3f %10.3f\n", "rules_apply", ap50 / 1e3, ap99 / 1e3,
	       t_apply[iters - 1] / 1e3);
	printf("%-34s %10.3f %10.3f %10.3f\n", "anchor: plain sum of the basket", an50 / 1e3,
	       an99 / 1e3, t_anchor[iters - 1] / 1e3);
	printf("(earned %" PRId64 " pts, to pay %" PRId64 " gr, %zu events, %zu trace steps)\n",
	       res.earned_pts, res.to_pay_gr, res.n_events, res.n_trace);
	printf("{\"bench\":\"rules\",\"calls\":%zu,\"lines\":%d,\"apply_p50_us\":%.3f,"
	       "\"apply_p99_us\":%.3f,\"anchor_sum_p50_us\":%.3f,\"anchor_sum_p99_us\":%.3f,"
	       "\"target\":{\"p99_us_max\":20}}\n",
	       iters, LINES, ap50 / 1e3, ap99 / 1e3, an50 / 1e3, an99 / 1e3);
	free(t_apply);
	free(t_anchor);
	return 0;
}
