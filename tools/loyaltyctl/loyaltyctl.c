/*
 * loyaltyctl: the technician's and cashier's command line for a running loyaltyd, over its
 * control socket (<state>/ctl.sock); "ledger verify" reads the ledger file itself, read-only.
 * Exit status: 0 done, 1 refused or failed (the reason is printed), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "devkey.h"
#include "ledger.h"
#include "money.h"
#include "token.h"
#include "wartime.h"

#define ANSWER_MAX    (64 * 1024)
#define SALE_WAIT_S   180 /* longer than the daemon's own card timeout */
#define DEFAULT_STATE "/var/lib/loyaltyd"

static const char *socket_path;
static const char *state_dir;
static bool json_output;

static void usage_main(FILE *f)
{
	fprintf(f,
		"Usage: loyaltyctl [--state DIR | --socket PATH] [--json] COMMAND [ARGS]\n"
		"\n"
		"Talks to a running loyaltyd; 'ledger verify' reads the ledger file itself.\n"
		"\n"
		"Commands:\n"
		"  status                     terminal, ledger and device status\n"
		"  sale --amount AMOUNT       start a sale and wait for the card tap\n"
		"       [--redeem PTS|max] [--coupon CODE|auto] [--ask]\n"
		"  answer [--redeem PTS|max] [--coupon CODE|auto]  the customer's answer\n"
		"  confirm                    book the sale waiting for confirmation\n"
		"  no-card                    the customer has no card: book the sale waiting\n"
		"                             for a tap, its receipt with a claim QR\n"
		"  cancel                     cancel the sale in progress\n"
		"  refund --receipt NO (--amount AMOUNT | --whole)  refund a sale\n"
		"  explain RECEIPT            why a receipt earned its points\n"
		"  reprint [--receipt NO] [--explain]  print a receipt again (with how it earned)\n"
		"  sync now                   sync with the server now and wait for the outcome\n"
		"  sim tap --uid UID          simulator: tap a card (hex UID, 4/7/10 bytes)\n"
		"       [--tag TYPE [--url URL]]  an NTAG21x, blank or holding a URL\n"
		"  sim scan --code TEXT       simulator: a code read by the scanner\n"
		"  sim remove                 simulator: take the card away\n"
		"  sim clock --set TIME       simulator: set the clock (2026-11-27T12:00:00Z)\n"
		"  sim printer --state STATE  simulator: ready, paper-out or offline\n"
		"  ledger verify [--db PATH] [--full]  check the ledger file (read-only)\n"
		"  ledger export [--format jsonl|csv]  the ledger's events, for audits\n"
		"\n"
		"Options:\n"
		"  --state DIR    the daemon's state folder (default $LOYALTY_STATE or %s)\n"
		"  --socket PATH  the control socket (default <state>/ctl.sock)\n"
		"  --json         print the daemon's answer as JSON\n"
		"  --help         this text; COMMAND --help for a command's options\n",
		DEFAULT_STATE);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "loyaltyctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'loyaltyctl --help'.\n");
	return 2;
}

/* Send request, read the one-line answer. Returns the parsed answer or NULL (message printed). */
static cJSON *call(cJSON *request, int timeout_s)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char *text = cJSON_PrintUnformatted(request);
	cJSON_Delete(request);
	if (!text)
		return NULL;
	if (strlen(socket_path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "loyaltyctl: socket path too long: %s\n", socket_path);
		free(text);
		return NULL;
	}
	memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0) {
		fprintf(stderr, "loyaltyctl: cannot reach loyaltyd at %s: %s (is it running?)\n",
			socket_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(text);
		return NULL;
	}
	struct timeval tv = {.tv_sec = timeout_s};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	size_t len = strlen(text);
	text[len] = '\n';
	bool sent = send(fd, text, len + 1, MSG_NOSIGNAL) == (ssize_t) (len + 1);
	free(text);
	if (!sent) {
		fprintf(stderr, "loyaltyctl: sending to loyaltyd failed: %s\n", strerror(errno));
		close(fd);
		return NULL;
	}
	char *answer = malloc(ANSWER_MAX + 1);
	size_t got = 0;
	while (answer && got < ANSWER_MAX) {
		ssize_t n = recv(fd, answer + got, ANSWER_MAX - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "loyaltyctl: no answer from loyaltyd: %s\n",
				errno == EAGAIN ? "timed out" : strerror(errno));
			free(answer);
			close(fd);
			return NULL;
		}
		if (n == 0 || memchr(answer + got, '\n', (size_t) n)) {
			got += (size_t) n;
			break;
		}
		got += (size_t) n;
	}
	close(fd);
	if (!answer)
		return NULL;
	cJSON *o = cJSON_ParseWithLength(answer, got);
	free(answer);
	if (!cJSON_IsObject(o)) {
		fprintf(stderr, "loyaltyctl: loyaltyd gave an answer that is not JSON\n");
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static long long num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? (long long) v->valuedouble : 0;
}

static void print_sale(const char *title, const cJSON *s)
{
	char amount[32];
	money_format(num(s, "amount_gr"), 1, amount, sizeof(amount));
	printf("%s %s\n", title, str(s, "receipt"));
	printf("  amount      %s zł\n", amount);
	if (num(s, "redeemed_pts")) {
		money_format(num(s, "points_discount_gr"), 1, amount, sizeof(amount));
		printf("  paid with   %lld pts = %s zł\n", num(s, "redeemed_pts"), amount);
	}
	if (*str(s, "coupon_used")) {
		money_format(num(s, "coupon_discount_gr"), 1, amount, sizeof(amount));
		printf("  coupon      %s used: -%s zł\n", str(s, "coupon_used"), amount);
	}
	if (cJSON_GetObjectItem(s, "to_pay_gr")) {
		money_format(num(s, "to_pay_gr"), 1, amount, sizeof(amount));
		printf("  to pay      %s zł\n", amount);
	}
	printf("  earned      +%lld pts%s\n", num(s, "earned_pts"),
	       cJSON_IsTrue(cJSON_GetObjectItem(s, "new_member")) ? " (new card)" : "");
	if (num(s, "bonus_pts"))
		printf("  bonus       +%lld pts\n", num(s, "bonus_pts"));
	if (*str(s, "coupon"))
		printf("  coupon      %s issued\n", str(s, "coupon"));
	printf("  balance     %lld pts\n", num(s, "balance_pts"));
	/* the signed link opens the card page (the QR's); the plain URL is what the receipt prints */
	if (*str(s, "card_link"))
		printf("  card page   %s\n", str(s, "card_link"));
	else if (*str(s, "card_url"))
		printf("  card page   %s\n", str(s, "card_url"));
	if (*str(s, "claim_link"))
		printf("  claim link  %s\n", str(s, "claim_link"));
	bool queued = cJSON_IsTrue(cJSON_GetObjectItem(s, "queued"));
	printf("  printed to  %s%s%s%s\n", str(s, "printed_to"),
	       !cJSON_IsFalse(cJSON_GetObjectItem(s, "printed")) ? ""
	       : queued						 ? "  NOT PRINTED YET: "
								 : "  PRINT FAILED: ",
	       str(s, "print_error"), queued ? "; queued, prints when the printer is back" : "");
}

/* A sale in progress: the member, the offer and what the answer makes of it. */
static void print_progress(const cJSON *s)
{
	char a[32], b[32];
	const cJSON *m = cJSON_GetObjectItem(s, "member");
	const cJSON *of = cJSON_GetObjectItem(s, "offer");
	const cJSON *an = cJSON_GetObjectItem(s, "answer");
	const cJSON *t = cJSON_GetObjectItem(s, "totals");
	printf("sale %s: %s\n", str(s, "id"), str(s, "state"));
	if (!m)
		return;
	printf("  card        %s, tier %s, %lld pts\n",
	       cJSON_IsTrue(cJSON_GetObjectItem(m, "known")) ? str(m, "card") : "new card",
	       str(m, "tier"), num(m, "balance_pts"));
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(m, "coupons"))
	{
		money_format(num(c, "min_basket_gr"), 1, a, sizeof(a));
		printf("  coupon      %s: -%lld%% from %s zł\n", str(c, "id"),
		       num(c, "percent_bp") / 100, a);
	}
	if (num(of, "redeem_max_pts"))
		printf("  offer       up to %lld pts\n", num(of, "redeem_max_pts"));
	else if (*str(of, "note"))
		printf("  offer       no points: %s\n", str(of, "note"));
	printf("  answer      %lld pts%s%s\n", num(an, "redeem_pts"),
	       *str(an, "coupon") ? ", coupon " : "", str(an, "coupon"));
	money_format(num(t, "to_pay_gr"), 1, a, sizeof(a));
	money_format(num(t, "basket_gr"), 1, b, sizeof(b));
	printf("  to pay      %s zł of %s zł\n", a, b);
	printf("  points      +%lld -%lld, balance after %lld\n",
	       num(t, "earned_pts") + num(t, "bonus_pts"), num(t, "redeemed_pts"),
	       num(t, "balance_after_pts"));
}

static void print_refund(const cJSON *r)
{
	char a[32];
	money_format(num(r, "money_back_gr"), 1, a, sizeof(a));
	printf("refund %s of receipt %s\n", str(r, "receipt"), str(r, "of_receipt"));
	printf("  pay back    %s zł\n", a);
	printf("  points      -%lld reversed, +%lld re-credited\n", num(r, "reversed_pts"),
	       num(r, "recredited_pts"));
	if (num(r, "shortfall_pts"))
		printf("  shortfall   %lld pts already spent, kept from the money\n",
		       num(r, "shortfall_pts"));
	printf("  balance     %lld pts\n", num(r, "balance_pts"));
}

static void print_explain(const cJSON *o)
{
	char a[32];
	printf("receipt %s\n", str(o, "receipt"));
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "events"))
	{
		money_format(num(e, "amount_gr"), 1, a, sizeof(a));
		printf("  %-12s %+6lld pts %12s zł  %s%s%s\n", str(e, "kind"), num(e, "points"), a,
		       str(e, "rule"), *str(e, "ref") ? " " : "", str(e, "ref"));
	}
	const cJSON *trace = cJSON_GetObjectItem(o, "trace");
	if (cJSON_GetArraySize(trace))
		printf("how the points were counted:\n");
	cJSON_ArrayForEach(e, trace) printf("  %s\n", str(e, "text"));
}

/* A UTC time in microseconds as text; "never" for 0. */
static void utc_text(long long us, char *buf, size_t size)
{
	struct tm tm;
	time_t s = (time_t) (us / 1000000);
	if (us <= 0)
		snprintf(buf, size, "never");
	else
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
}

/* The sync's state (status) or a round's outcome (sync now). */
static void print_sync(const cJSON *s, long long unsynced)
{
	char when[32];
	if (!s) {
		printf("sync        off (no server_url); %lld events not acknowledged\n", unsynced);
		return;
	}
	printf("sync        %s, %s%s\n", str(s, "server_url"), str(s, "state"),
	       cJSON_IsFalse(cJSON_GetObjectItem(s, "registered")) ? ", NOT REGISTERED" : "");
	printf("  queue     %lld events not yet acknowledged (acked up to seq %lld)\n",
	       num(s, "queue"), num(s, "acked_seq"));
	utc_text(num(s, "last_success_us"), when, sizeof(when));
	printf("  last ok   %s\n", when);
	if (*str(s, "last_error")) {
		utc_text(num(s, "last_error_us"), when, sizeof(when));
		printf("  error     %s (%s)\n", str(s, "last_error"), when);
	} else {
		printf("  error     none\n");
	}
	if (cJSON_GetObjectItem(s, "skew_us")) {
		long long skew = num(s, "skew_us");
		printf("  skew      server clock %s ours by %lld.%03lld s\n",
		       skew >= 0 ? "ahead of" : "behind", (skew < 0 ? -skew : skew) / 1000000,
		       ((skew < 0 ? -skew : skew) / 1000) % 1000);
	} else {
		printf("  skew      unknown (no answer from the server yet)\n");
	}
	if (num(s, "rejected_total")) {
		const cJSON *r = cJSON_GetObjectItem(s, "last_rejected");
		printf("  REJECTED  %lld event(s); last: seq %lld %s: %s\n", num(s, "rejected_total"),
		       num(r, "seq"), str(r, "code"), str(r, "message"));
	}
	const cJSON *b = cJSON_GetObjectItem(s, "budget");
	if (b)
		printf("  budget    %lld of %lld pts left today, member cap %lld pts\n",
		       num(b, "remaining_pts"), num(b, "terminal_pts"), num(b, "member_cap_pts"));
}

static void print_sync_round(const cJSON *o)
{
	const cJSON *s = cJSON_GetObjectItem(o, "sync");
	printf("sync %s\n", cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")) ? "done" : "FAILED");
	printf("  pushed    %lld events: %lld accepted, %lld duplicates, %lld rejected\n",
	       num(s, "pushed"), num(s, "accepted"), num(s, "duplicates"), num(s, "rejected"));
	printf("  pulled    %lld changes (cursor %lld), %lld erasures applied\n", num(s, "changes"),
	       num(s, "cursor"), num(s, "tombstones_applied"));
	printf("  applied   %lld member balances, %lld cards revoked, %lld terminal keys,"
	       " %lld not applied\n",
	       num(s, "members_updated"), num(s, "cards_revoked"), num(s, "keys_updated"),
	       num(s, "changes_skipped"));
	if (cJSON_GetObjectItem(s, "programme"))
		printf("  programme %s\n", str(s, "programme"));
	printf("  queue     %lld events not yet acknowledged\n", num(s, "queue"));
}

static void print_status(const cJSON *o)
{
	const cJSON *l = cJSON_GetObjectItem(o, "ledger");
	const cJSON *d = cJSON_GetObjectItem(o, "devices");
	const cJSON *sale = cJSON_GetObjectItem(o, "sale");
	printf("terminal    %s (%s), loyaltyd %s\n", str(o, "terminal"), str(o, "store"),
	       str(o, "version"));
	printf("board       %s, up %lld s\n", str(o, "board"), num(o, "uptime_s"));
	printf("state       %s\n", str(o, "state_dir"));
	printf("sale        %s\n", str(sale, "state"));
	printf("ledger      %lld events, %lld cards, last receipt %s\n", num(l, "events"),
	       num(l, "members"), *str(l, "last_receipt") ? str(l, "last_receipt") : "none");
	print_sync(cJSON_GetObjectItem(o, "sync"), num(l, "unsynced"));
	const cJSON *nfc = cJSON_GetObjectItem(d, "nfc");
	const cJSON *pr = cJSON_GetObjectItem(d, "printer");
	printf("nfc         %s, %s\n", str(nfc, "driver"),
	       cJSON_IsTrue(cJSON_GetObjectItem(nfc, "connected")) ? "connected" : "NOT CONNECTED");
	printf("printer     %s (%s), %s\n", str(pr, "driver"), str(pr, "model"), str(pr, "state"));
	if (num(pr, "queued"))
		printf("            %lld receipt(s) queued, printing when the printer is back\n",
		       num(pr, "queued"));
}

/* Print the answer; returns the exit status. */
static int report(cJSON *o)
{
	if (!o)
		return 1;
	bool ok = cJSON_IsTrue(cJSON_GetObjectItem(o, "ok"));
	if (json_output) {
		char *text = cJSON_PrintUnformatted(o);
		printf("%s\n", text ? text : "{}");
		free(text);
	} else if (cJSON_IsObject(cJSON_GetObjectItem(o, "sync")) &&
		   !cJSON_GetObjectItem(o, "terminal")) {
		print_sync_round(o);
		if (!ok)
			fprintf(stderr, "loyaltyctl: sync failed: %s\n", str(o, "error"));
	} else if (!ok) {
		fprintf(stderr, "loyaltyctl: refused: %s\n", str(o, "error"));
	} else if (cJSON_GetObjectItem(o, "terminal")) {
		print_status(o);
	} else if (cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sale"), "state")) {
		print_progress(cJSON_GetObjectItem(o, "sale"));
	} else if (cJSON_GetObjectItem(o, "refund")) {
		print_refund(cJSON_GetObjectItem(o, "refund"));
	} else if (cJSON_GetObjectItem(o, "events")) {
		print_explain(o);
	} else if (cJSON_IsObject(cJSON_GetObjectItem(o, "sale"))) {
		print_sale("sale booked, receipt", cJSON_GetObjectItem(o, "sale"));
	} else if (cJSON_GetObjectItem(o, "reprint")) {
		print_sale("reprinted receipt", cJSON_GetObjectItem(o, "reprint"));
	} else if (cJSON_GetObjectItem(o, "card")) {
		const cJSON *c = cJSON_GetObjectItem(o, "card");
		if (cJSON_IsTrue(cJSON_GetObjectItem(c, "known")))
			printf("card tapped: balance %lld pts (no sale waiting)\n",
			       num(c, "balance_pts"));
		else
			printf("card tapped: not enrolled yet (no sale waiting)\n");
	} else if (cJSON_GetObjectItem(o, "ignored")) {
		printf("tap ignored: %s\n", str(o, "ignored"));
	} else if (*str(o, "sale")) {
		printf("sale %s\n", str(o, "sale"));
	} else {
		printf("ok\n");
	}
	cJSON_Delete(o);
	return ok ? 0 : 1;
}

static cJSON *request(const char *cmd)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cmd", cmd);
	return o;
}

/* "redeem" and "coupon" of a sale or an answer. Returns 0 or 2 (usage error printed). */
static int add_answer(cJSON *q, const char *redeem, const char *coupon)
{
	if (redeem && !strcmp(redeem, "max")) {
		cJSON_AddStringToObject(q, "redeem", "max");
	} else if (redeem) {
		char *end;
		long long v = strtoll(redeem, &end, 10);
		if (!*redeem || *end || v < 0)
			return usage_error("--redeem: whole points from 0, or max");
		cJSON_AddNumberToObject(q, "redeem", (double) v);
	}
	if (coupon)
		cJSON_AddStringToObject(q, "coupon", coupon);
	return 0;
}

/* Parse one option of a subcommand: "--name value" or "--name=value". */
struct subopt {
	const char *name;
	bool has_value;
	const char *value; /* out; "" for flags that were given */
};

static int parse_subopts(int argc, char **argv, struct subopt *opts, const char *help)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s", help);
			return 1;
		}
		struct subopt *match = NULL;
		const char *inline_value = NULL;
		for (struct subopt *o = opts; o->name; o++) {
			size_t n = strlen(o->name);
			if (!strncmp(argv[i], "--", 2) && !strncmp(argv[i] + 2, o->name, n) &&
			    (argv[i][2 + n] == '\0' || argv[i][2 + n] == '=')) {
				match = o;
				inline_value = argv[i][2 + n] == '=' ? argv[i] + 3 + n : NULL;
			}
		}
		if (!match) {
			fprintf(stderr, "loyaltyctl: unknown argument '%s'\n%s", argv[i], help);
			return 2;
		}
		if (!match->has_value) {
			if (inline_value) {
				fprintf(stderr, "loyaltyctl: --%s takes no value\n", match->name);
				return 2;
			}
			match->value = "";
		} else if (inline_value) {
			match->value = inline_value;
		} else if (i + 1 < argc) {
			match->value = argv[++i];
		} else {
			fprintf(stderr, "loyaltyctl: --%s needs a value\n%s", match->name, help);
			return 2;
		}
	}
	return 0;
}

/* "2026-11-27T12:00:00Z" to microseconds since the epoch. */
static int parse_time(const char *text, long long *ret_us)
{
	int y, mo, d, h, mi, s;
	char z, extra;
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &y, &mo, &d, &h, &mi, &s, &z, &extra) !=
		7 ||
	    z != 'Z' || y < 1970 || y > 2199 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || s > 59 || h < 0 || mi < 0 || s < 0)
		return -EINVAL;
	*ret_us = (long long) wartime_utc_from_civil(y, mo, d, h, mi, s) * 1000000LL;
	return 0;
}

static int cmd_sim(int argc, char **argv)
{
	static const char help[] =
	    "Usage: loyaltyctl sim tap --uid UID [--tag ntag213|ntag215|ntag216 [--url URL]]\n"
	    "       loyaltyctl sim scan --code TEXT\n"
	    "       loyaltyctl sim remove\n"
	    "       loyaltyctl sim clock --set 2026-11-27T12:00:00Z [--freeze]\n"
	    "       loyaltyctl sim printer --state ready|paper-out|offline\n"
	    "Drive the simulated devices of a terminal on the sim board.\n";
	if (argc < 1)
		return usage_error("sim: which device action? (tap, remove, clock)");
	if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		printf("%s", help);
		return 0;
	}
	if (!strcmp(argv[0], "tap")) {
		struct subopt o[] = {
		    {"uid", true, NULL}, {"tag", true, NULL}, {"url", true, NULL}, {NULL, false, NULL}};
		int r = parse_subopts(argc - 1, argv + 1, o, help);
		if (r)
			return r == 1 ? 0 : 2;
		if (!o[0].value)
			return usage_error("sim tap: --uid is required");
		if (o[2].value && !o[1].value)
			return usage_error("sim tap: --url needs --tag (the card that holds it)");
		cJSON *q = request("sim_tap");
		cJSON_AddStringToObject(q, "uid", o[0].value);
		if (o[1].value)
			cJSON_AddStringToObject(q, "tag", o[1].value);
		if (o[2].value)
			cJSON_AddStringToObject(q, "url", o[2].value);
		return report(call(q, 10));
	}
	if (!strcmp(argv[0], "scan")) {
		struct subopt o[] = {{"code", true, NULL}, {NULL, false, NULL}};
		int r = parse_subopts(argc - 1, argv + 1, o, help);
		if (r)
			return r == 1 ? 0 : 2;
		if (!o[0].value)
			return usage_error("sim scan: --code is required");
		cJSON *q = request("sim_scan");
		cJSON_AddStringToObject(q, "code", o[0].value);
		return report(call(q, 10));
	}
	if (!strcmp(argv[0], "remove")) {
		struct subopt o[] = {{NULL, false, NULL}};
		int r = parse_subopts(argc - 1, argv + 1, o, help);
		if (r)
			return r == 1 ? 0 : 2;
		return report(call(request("sim_remove"), 10));
	}
	if (!strcmp(argv[0], "clock")) {
		struct subopt o[] = {{"set", true, NULL},
				     {"freeze", false, NULL},
				     {"advance", true, NULL},
				     {NULL, false, NULL}};
		long long us;
		int r = parse_subopts(argc - 1, argv + 1, o, help);
		if (r)
			return r == 1 ? 0 : 2;
		if (o[2].value) {
			char *end;
			errno = 0;
			long long sec = strtoll(o[2].value, &end, 10);
			if (o[0].value || o[1].value || errno || end == o[2].value || *end ||
			    sec < 0 || sec > 31622400)
				return usage_error(
				    "sim clock: --advance takes whole seconds (up to "
				    "a year), alone");
			cJSON *q = request("sim_clock");
			cJSON_AddNumberToObject(q, "advance_s", (double) sec);
			return report(call(q, 10));
		}
		if (!o[0].value)
			return usage_error("sim clock: --set or --advance is required");
		if (parse_time(o[0].value, &us) < 0)
			return usage_error("sim clock: '%s' is not a UTC time like "
					   "2026-11-27T12:00:00Z",
					   o[0].value);
		cJSON *q = request("sim_clock");
		cJSON_AddNumberToObject(q, "utc_us", (double) us);
		cJSON_AddBoolToObject(q, "freeze", o[1].value != NULL);
		return report(call(q, 10));
	}
	if (!strcmp(argv[0], "printer")) {
		struct subopt o[] = {{"state", true, NULL}, {NULL, false, NULL}};
		int r = parse_subopts(argc - 1, argv + 1, o, help);
		if (r)
			return r == 1 ? 0 : 2;
		const char *st = o[0].value;
		if (!st ||
		    (strcmp(st, "ready") && strcmp(st, "paper-out") && strcmp(st, "offline")))
			return usage_error(
			    "sim printer: --state must be ready, paper-out or offline");
		cJSON *q = request("sim_printer");
		cJSON_AddStringToObject(q, "state", strcmp(st, "paper-out") ? st : "paper_out");
		return report(call(q, 10));
	}
	return usage_error("sim: unknown action '%s' (tap, remove, clock, printer)", argv[0]);
}

static const char *const problem_names[LEDGER_PROBLEM_MAX] = {
    [LEDGER_PROBLEM_NONE] = "none",	  [LEDGER_PROBLEM_FILE] = "file",
    [LEDGER_PROBLEM_SCHEMA] = "schema",	  [LEDGER_PROBLEM_MISSING] = "missing_event",
    [LEDGER_PROBLEM_HASH] = "hash",	  [LEDGER_PROBLEM_MEMBER] = "member",
    [LEDGER_PROBLEM_BALANCE] = "balance",
};

static void print_verify_json(const char *path, const struct ledger_verify_report *rep)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ledger", path);
	cJSON_AddBoolToObject(o, "ok", rep->problem == LEDGER_PROBLEM_NONE);
	cJSON_AddStringToObject(o, "problem", problem_names[rep->problem]);
	cJSON_AddStringToObject(o, "message", rep->message);
	cJSON_AddNumberToObject(o, "seq", (double) rep->seq);
	cJSON_AddNumberToObject(o, "member_id", (double) rep->member_id);
	cJSON_AddNumberToObject(o, "events", (double) rep->events);
	cJSON_AddNumberToObject(o, "events_checked", (double) rep->events_checked);
	cJSON_AddNumberToObject(o, "members", (double) rep->members);
	cJSON_AddNumberToObject(o, "members_checked", (double) rep->members_checked);
	char *text = cJSON_PrintUnformatted(o);
	printf("%s\n", text ? text : "{}");
	free(text);
	cJSON_Delete(o);
}

static void hex(char *out, const uint8_t *data, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", data[i]);
}

/* CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
static void csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static int export_event(void *userdata, const struct ledger_event *ev)
{
	const bool *csv = userdata;
	char id[2 * LEDGER_EVENT_ID_LEN + 1], hash[2 * LEDGER_HASH_BYTES + 1], when[40];
	struct wartime t;
	int64_t s = ev->time_us / 1000000 - (ev->time_us % 1000000 < 0);
	hex(id, ev->event_id, LEDGER_EVENT_ID_LEN);
	hex(hash, ev->hash, LEDGER_HASH_BYTES);
	wartime_utc(s, &t);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", t.year, t.month,
		 t.day, t.hour, t.minute, t.second, (long long) (ev->time_us - s * 1000000));
	if (*csv) {
		printf("%lld,%s,", (long long) ev->seq, id);
		csv_field(ev->terminal_id);
		printf(",%s,%lld,%s,%lld,%lld,", ev->kind, (long long) ev->member_id, ev->card_code,
		       (long long) ev->points, (long long) ev->amount_gr);
		csv_field(ev->receipt_no);
		printf(",%lld,%s,", (long long) ev->time_us, when);
		csv_field(ev->rule);
		putchar(',');
		csv_field(ev->ref);
		printf(",%lld,%s\n", (long long) ev->lot_us, hash);
		return 0;
	}
	/* printed by hand: 64-bit integers stay exact (cJSON keeps numbers as double) */
	printf("{\"seq\":%lld,\"event_id\":\"%s\",\"terminal_id\":", (long long) ev->seq, id);
	json_str(ev->terminal_id);
	printf(",\"kind\":");
	json_str(ev->kind);
	printf(",\"member_id\":%lld,\"card_code\":", (long long) ev->member_id);
	json_str(ev->card_code);
	printf(",\"points\":%lld,\"amount_gr\":%lld,\"receipt_no\":", (long long) ev->points,
	       (long long) ev->amount_gr);
	json_str(ev->receipt_no);
	printf(",\"time_us\":%lld,\"time_utc\":\"%s\",\"rule\":", (long long) ev->time_us, when);
	json_str(ev->rule);
	printf(",\"ref\":");
	json_str(ev->ref);
	/* schema 5: a stamp event's items and progress, and the encoding that hashes the event */
	printf(",\"lot_us\":%lld,\"items\":%lld,\"progress\":%lld,\"encoding\":%d,"
	       "\"hash\":\"%s\"}\n",
	       (long long) ev->lot_us, (long long) ev->items, (long long) ev->progress,
	       ev->encoding, hash);
	return 0;
}

/* loyaltyctl ledger export: every event (or from a seq on) as JSON lines or CSV. */
static int cmd_ledger_export(int argc, char **argv)
{
	static const char help[] =
	    "Usage: loyaltyctl ledger export [--db PATH] [--format jsonl|csv] [--from-seq N]\n"
	    "Write the ledger's events in seq order to standard output, for support and audits:\n"
	    "seq, event id, terminal, kind, member id, card code (empty once erased), points,\n"
	    "amount in grosze, receipt number, time (UTC), rule, reference, lot time and hash\n"
	    "(every field the hash covers, so an auditor can recompute the chain). Read-only.\n"
	    "  --db PATH        the ledger file (default <state>/ledger.sqlite)\n"
	    "  --format FORMAT  jsonl (default: one JSON object per line) or csv (with a header)\n"
	    "  --from-seq N     start at event N (default 1)\n";
	static char path[4096];
	struct subopt o[] = {{"db", true, NULL},
			     {"format", true, NULL},
			     {"from-seq", true, NULL},
			     {NULL, false, NULL}};
	int r = parse_subopts(argc, argv, o, help);
	if (r)
		return r == 1 ? 0 : 2;
	bool csv = false;
	if (o[1].value && !strcmp(o[1].value, "csv"))
		csv = true;
	else if (o[1].value && strcmp(o[1].value, "jsonl") != 0)
		return usage_error("ledger export: --format must be jsonl or csv, not '%s'",
				   o[1].value);
	long long from = 1;
	if (o[2].value) {
		char *end;
		errno = 0;
		from = strtoll(o[2].value, &end, 10);
		if (errno || end == o[2].value || *end || from < 1)
			return usage_error(
			    "ledger export: --from-seq must be a whole number from 1, "
			    "not '%s'",
			    o[2].value);
	}
	if (o[0].value)
		snprintf(path, sizeof(path), "%s", o[0].value);
	else
		snprintf(path, sizeof(path), "%s/ledger.sqlite", state_dir);
	struct ledger *l;
	r = ledger_open_readonly(path, &l);
	if (r < 0) {
		fprintf(stderr, "loyaltyctl: cannot read the ledger %s: %s\n", path,
			r == -ENOENT ? "no such file"
			: r == -EPROTO
			    ? "another schema version (start loyaltyd once to migrate an "
			      "older ledger; a newer one needs its own loyaltyctl)"
			: r == -EBADMSG ? "not a ledger database (damaged or another file)"
					: strerror(-r));
		return 1;
	}
	if (csv)
		printf("seq,event_id,terminal_id,kind,member_id,card_code,points,amount_gr,"
		       "receipt_no,time_us,time_utc,rule,ref,lot_us,hash\n");
	r = ledger_for_each_event(l, from, 0, export_event, &csv);
	ledger_close(l);
	if (fflush(stdout) != 0 || r < 0) {
		fprintf(stderr, "loyaltyctl: export failed: %s\n",
			r < 0 ? strerror(-r) : strerror(errno));
		return 1;
	}
	return 0;
}

/* loyaltyctl ledger verify: the full check of the ledger file, without loyaltyd. */
static int cmd_ledger(int argc, char **argv)
{
	static const char help[] =
	    "Usage: loyaltyctl ledger verify [--db PATH] [--full]\n"
	    "       loyaltyctl ledger export [--db PATH] [--format jsonl|csv] [--from-seq N]\n"
	    "Check the ledger file: SQLite's quick check of the file, event numbers without\n"
	    "gaps, the hash chain of every event, and each card's balance, points lots, stamp\n"
	    "cards and visits against its events. Opens the file read-only, so it can run while\n"
	    "loyaltyd runs. Exit status 0 when the ledger is intact, 1 when it is damaged or\n"
	    "cannot be read, 2 on a usage error.\n"
	    "  --db PATH  the ledger file (default <state>/ledger.sqlite)\n"
	    "  --full     SQLite's full integrity check instead of the quick one (every index\n"
	    "             against its table; some ten times longer on a large ledger)\n";
	static char path[4096];
	struct ledger_verify_report rep;

	if (argc < 1)
		return usage_error("ledger: which action? (verify, export)");
	if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		printf("%s", help);
		return 0;
	}
	if (!strcmp(argv[0], "export"))
		return cmd_ledger_export(argc - 1, argv + 1);
	if (strcmp(argv[0], "verify") != 0)
		return usage_error("ledger: unknown action '%s' (verify, export)", argv[0]);
	struct subopt o[] = {{"db", true, NULL}, {"full", false, NULL}, {NULL, false, NULL}};
	int r = parse_subopts(argc - 1, argv + 1, o, help);
	if (r)
		return r == 1 ? 0 : 2;
	if (o[0].value)
		snprintf(path, sizeof(path), "%s", o[0].value);
	else
		snprintf(path, sizeof(path), "%s/ledger.sqlite", state_dir);
	r = o[1].value ? ledger_verify_file_full(path, &rep) : ledger_verify_file(path, &rep);
	if (r == -ENOENT) {
		fprintf(stderr, "loyaltyctl: no ledger at %s\n", path);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "loyaltyctl: cannot verify the ledger %s: %s\n", path,
			strerror(-r));
		return 1;
	}
	if (json_output) {
		print_verify_json(path, &rep);
		return rep.problem == LEDGER_PROBLEM_NONE ? 0 : 1;
	}
	printf("ledger      %s\n", path);
	if (rep.problem != LEDGER_PROBLEM_FILE && rep.problem != LEDGER_PROBLEM_SCHEMA) {
		const char *stopped = rep.problem != LEDGER_PROBLEM_NONE ? ", then stopped" : "";
		printf("events      %lld; hash chain checked for %lld", (long long) rep.events,
		       (long long) rep.events_checked);
		if (rep.events_checked > 0)
			printf(" (%lld to %lld)", (long long) rep.first_seq_checked,
			       (long long) (rep.first_seq_checked + rep.events_checked - 1));
		printf("%s\ncards       %lld; balances checked for %lld%s\n",
		       rep.events_checked < rep.events ? stopped : "", (long long) rep.members,
		       (long long) rep.members_checked,
		       rep.members_checked < rep.members ? stopped : "");
	}
	if (rep.problem == LEDGER_PROBLEM_NONE) {
		printf("result      OK: the ledger is intact\n");
		return 0;
	}
	printf("result      DAMAGED: %s\n", rep.message);
	printf("what to do  do not book sales on this ledger; restore it from the backup or call "
	       "support\n");
	return 1;
}

/* ---- the device key and tokens ---- */

static int cmd_device_key(int argc, char **argv)
{
	struct subopt o[] = {{"create", false, NULL}, {NULL, false, NULL}};
	int r = parse_subopts(
	    argc, argv, o,
	    "Usage: loyaltyctl device-key [--create]\n"
	    "Show the terminal's device key (its id and public key, for the server);\n"
	    "--create makes one when there is none (provisioning).\n");
	if (r)
		return r == 1 ? 0 : 2;
	struct devkey key;
	char err[512], hex[2 * TOKEN_PUBLIC_KEY_LEN + 1];
	r = devkey_load(state_dir, o[0].value ? DEVKEY_CREATE : 0, &key, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "loyaltyctl: %s\n", err);
		return 1;
	}
	devkey_public_hex(&key, hex);
	printf("key id      %08x\npublic key  %s\n", (unsigned) key.key_id, hex);
	devkey_wipe(&key);
	return 0;
}

static int cmd_token(int argc, char **argv)
{
	static const char help[] =
	    "Usage: loyaltyctl token check TOKEN|URL\n"
	    "Check a token (or the URL of a scanned QR) against this terminal's device key:\n"
	    "its signature, expiry and contents. Exit 0 when it is genuine and valid.\n";
	if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		printf("%s", help);
		return 0;
	}
	if (argc != 2 || strcmp(argv[0], "check"))
		return usage_error("token: expected 'check TOKEN|URL'");
	const char *text = argv[1];
	size_t len = strlen(text);
	if (strchr(text, '/') && token_url_text(argv[1], &text, &len) < 0)
		return usage_error("token: '%s' has no token after its last '/'", argv[1]);
	struct devkey key;
	struct token_key tk;
	char err[512];
	int r = devkey_load(state_dir, 0, &key, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "loyaltyctl: %s\n", err);
		return 1;
	}
	token_key_init(&tk, key.public_key, TOKEN_TYPES_ALL);
	devkey_wipe(&key);
	struct token tok;
	enum token_status st;
	r = token_verify(text, len, &tk, 1, (int64_t) time(NULL), &tok, &st);
	if (r < 0 || st != TOKEN_OK) {
		fprintf(stderr, "loyaltyctl: token refused: %s\n",
			r < 0 ? strerror(-r) : token_status_str(st));
		return 1;
	}
	char issued[32], expires[32];
	struct tm tm;
	time_t s = (time_t) tok.issued_s;
	strftime(issued, sizeof(issued), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
	s = (time_t) tok.expires_s;
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
	switch (tok.type) {
	case TOKEN_CARD:
		printf("card token, card %s\n", tok.card_code);
		break;
	case TOKEN_COUPON:
		printf("coupon token, coupon %s\n", tok.coupon_id);
		break;
	case TOKEN_CLAIM:
		printf("claim token, receipt %s-%06u, %lld pts, %lld gr\n", tok.claim.terminal_id,
		       (unsigned) tok.claim.seq, (long long) tok.claim.points_pts,
		       (long long) tok.claim.amount_gr);
		break;
	case TOKEN_TYPE_MAX:
		break;
	}
	printf("key %08x, issued %s, expires %s: genuine\n", (unsigned) tok.key_id, issued,
	       expires);
	return 0;
}

static int run(int argc, char **argv)
{
	const char *cmd = argv[0];
	if (!strcmp(cmd, "status")) {
		struct subopt o[] = {{NULL, false, NULL}};
		int r = parse_subopts(argc - 1, argv + 1, o,
				      "Usage: loyaltyctl status\nTerminal, ledger and device "
				      "status.\n");
		return r ? (r == 1 ? 0 : 2) : report(call(request("status"), 10));
	}
	if (!strcmp(cmd, "sale")) {
		static const char help[] =
		    "Usage: loyaltyctl sale --amount AMOUNT [--redeem PTS|max] [--coupon "
		    "CODE|auto]\n"
		    "                       [--no-wait | --ask]\n"
		    "Start a sale of AMOUNT PLN (12.34 or 12,34) and wait until the customer's\n"
		    "card is tapped and the sale is booked and printed (or cancelled).\n"
		    "  --redeem PTS|max  pay with these points (or as many as allowed)\n"
		    "  --coupon CODE     use this coupon of the card (auto: the best usable)\n"
		    "  --no-wait         return as soon as the terminal waits for the card\n"
		    "  --ask             stop at the offer: answer with 'answer', then 'confirm'\n";
		struct subopt o[] = {{"amount", true, NULL}, {"no-wait", false, NULL},
				     {"redeem", true, NULL}, {"coupon", true, NULL},
				     {"ask", false, NULL},   {NULL, false, NULL}};
		int r = parse_subopts(argc - 1, argv + 1, o, help);
		if (r)
			return r == 1 ? 0 : 2;
		if (!o[0].value)
			return usage_error("sale: --amount is required");
		if (o[4].value && (o[2].value || o[3].value))
			return usage_error(
			    "sale: --ask takes the answer later, not --redeem/--coupon");
		cJSON *q = request("sale");
		cJSON_AddStringToObject(q, "amount", o[0].value);
		cJSON_AddBoolToObject(q, "wait", o[1].value == NULL);
		if (o[4].value)
			cJSON_AddBoolToObject(q, "ask", true);
		if ((r = add_answer(q, o[2].value, o[3].value)) != 0) {
			cJSON_Delete(q);
			return r;
		}
		return report(call(q, o[4].value ? 10 : SALE_WAIT_S));
	}
	if (!strcmp(cmd, "answer")) {
		struct subopt o[] = {
		    {"redeem", true, NULL}, {"coupon", true, NULL}, {NULL, false, NULL}};
		int r = parse_subopts(
		    argc - 1, argv + 1, o,
		    "Usage: loyaltyctl answer [--redeem PTS|max] [--coupon CODE|auto]\n"
		    "The customer's answer to the offer (no options: neither).\n");
		if (r)
			return r == 1 ? 0 : 2;
		cJSON *q = request("answer");
		if ((r = add_answer(q, o[0].value, o[1].value)) != 0) {
			cJSON_Delete(q);
			return r;
		}
		return report(call(q, 10));
	}
	if (!strcmp(cmd, "confirm")) {
		struct subopt o[] = {{NULL, false, NULL}};
		int r = parse_subopts(argc - 1, argv + 1, o,
				      "Usage: loyaltyctl confirm\nBook and print the sale waiting "
				      "for confirmation.\n");
		return r ? (r == 1 ? 0 : 2) : report(call(request("confirm"), 30));
	}
	if (!strcmp(cmd, "no-card")) {
		struct subopt o[] = {{NULL, false, NULL}};
		int r = parse_subopts(argc - 1, argv + 1, o,
				      "Usage: loyaltyctl no-card\nThe customer has no card: book "
				      "the sale waiting for a tap for no member and print its\n"
				      "receipt with a \"claim your points\" QR (valid 14 days).\n");
		return r ? (r == 1 ? 0 : 2) : report(call(request("no_card"), 30));
	}
	if (!strcmp(cmd, "refund")) {
		struct subopt o[] = {{"receipt", true, NULL},
				     {"amount", true, NULL},
				     {"whole", false, NULL},
				     {NULL, false, NULL}};
		int r = parse_subopts(
		    argc - 1, argv + 1, o,
		    "Usage: loyaltyctl refund --receipt NO (--amount AMOUNT | --whole)\n"
		    "Refund AMOUNT PLN of the goods of sale NO (or all that is left of it): the\n"
		    "points it earned go back in proportion, points it spent as the programme "
		    "says.\n");
		if (r)
			return r == 1 ? 0 : 2;
		if (!o[0].value || !o[1].value == !o[2].value)
			return usage_error(
			    "refund: --receipt and one of --amount and --whole are needed");
		cJSON *q = request("refund");
		cJSON_AddStringToObject(q, "receipt", o[0].value);
		if (o[1].value)
			cJSON_AddStringToObject(q, "amount", o[1].value);
		else
			cJSON_AddBoolToObject(q, "whole", true);
		return report(call(q, 30));
	}
	if (!strcmp(cmd, "explain")) {
		struct subopt o[] = {{"receipt", true, NULL}, {NULL, false, NULL}};
		bool positional = argc > 1 && strncmp(argv[1], "--", 2) != 0;
		int r = parse_subopts(argc - 1 - positional, argv + 1 + positional, o,
				      "Usage: loyaltyctl explain RECEIPT\nThe events of a receipt "
				      "and how its points were counted.\n");
		if (r)
			return r == 1 ? 0 : 2;
		const char *no = positional ? argv[1] : o[0].value;
		if (!no)
			return usage_error("explain: give the receipt number");
		cJSON *q = request("explain");
		cJSON_AddStringToObject(q, "receipt", no);
		return report(call(q, 10));
	}
	if (!strcmp(cmd, "cancel")) {
		struct subopt o[] = {{NULL, false, NULL}};
		int r = parse_subopts(argc - 1, argv + 1, o,
				      "Usage: loyaltyctl cancel\nCancel the sale waiting for a "
				      "card.\n");
		return r ? (r == 1 ? 0 : 2) : report(call(request("cancel"), 10));
	}
	if (!strcmp(cmd, "reprint")) {
		struct subopt o[] = {
		    {"receipt", true, NULL}, {"explain", false, NULL}, {NULL, false, NULL}};
		int r = parse_subopts(
		    argc - 1, argv + 1, o,
		    "Usage: loyaltyctl reprint [--receipt NO] [--explain]\nPrint the last "
		    "receipt (or receipt NO, e.g. T1-000003) again; --explain adds how\n"
		    "its points were counted.\n");
		if (r)
			return r == 1 ? 0 : 2;
		cJSON *q = request("reprint");
		if (o[0].value)
			cJSON_AddStringToObject(q, "receipt", o[0].value);
		if (o[1].value)
			cJSON_AddBoolToObject(q, "explain", true);
		return report(call(q, 30));
	}
	if (!strcmp(cmd, "sync")) {
		static const char help[] =
		    "Usage: loyaltyctl sync now [--timeout S]\n"
		    "Sync with the server now (push the outbox, pull the changes) and wait for\n"
		    "the outcome (default at most 300 s). Exit 0 when the round went through.\n";
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			printf("%s", help);
			return 0;
		}
		if (argc < 2 || strcmp(argv[1], "now"))
			return usage_error("sync: expected 'now'");
		struct subopt o[] = {{"timeout", true, NULL}, {NULL, false, NULL}};
		int r = parse_subopts(argc - 2, argv + 2, o, help);
		if (r)
			return r == 1 ? 0 : 2;
		long timeout = 300;
		if (o[0].value) {
			char *end;
			timeout = strtol(o[0].value, &end, 10);
			if (!*o[0].value || *end || timeout < 1 || timeout > 86400)
				return usage_error("sync now: --timeout must be seconds from 1");
		}
		return report(call(request("sync_now"), (int) timeout));
	}
	if (!strcmp(cmd, "sim"))
		return cmd_sim(argc - 1, argv + 1);
	if (!strcmp(cmd, "device-key"))
		return cmd_device_key(argc - 1, argv + 1);
	if (!strcmp(cmd, "token"))
		return cmd_token(argc - 1, argv + 1);
	if (!strcmp(cmd, "ledger"))
		return cmd_ledger(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"socket", required_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static char path[4096];
	const char *state = getenv("LOYALTY_STATE");
	int c;

	/* options before the command only: the command's own options follow it */
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			state = optarg;
			break;
		case 'S':
			socket_path = optarg;
			break;
		case 'j':
			json_output = true;
			break;
		case 'h':
			usage_main(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'loyaltyctl --help'.\n");
			return 2;
		}
	}
	if (optind >= argc)
		return usage_error("a command is required");
	state_dir = state && *state ? state : DEFAULT_STATE;
	if (!socket_path) {
		snprintf(path, sizeof(path), "%s/ctl.sock", state_dir);
		socket_path = path;
	}
	return run(argc - optind, argv + optind);
}
