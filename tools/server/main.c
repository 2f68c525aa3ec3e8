/*
 * loyalty-server: the chain's central server for terminal sync (docs/server.md): the HTTPS API
 * of docs/sync-protocol.md on one store, and the owner's commands on that store (enrolment
 * codes, revocation, erasure, balances, flags).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <sodium.h>

#include "certs.h"
#include "customer.h"
#include "pages.h"
#include "server.h"
#include "store.h"
#include "sun_keys.h"
#include "sync.h"

static const char usage[] =
    "usage: loyalty-server COMMAND --db FILE [options]\n"
    "\n"
    "  serve     serve the sync API over HTTPS until SIGINT/SIGTERM\n"
    "            --cert PEM --key PEM   the server's certificate and key\n"
    "            --ca PEM               the chain's CA (trust anchor for client certificates)\n"
    "            --ca-key PEM           its key, to issue terminal certificates at registration\n"
    "            --listen ADDR          address to listen on (default 127.0.0.1)\n"
    "            --port N               port (default 8443; 0: chosen by the system)\n"
    "            --port-file FILE       write the bound port there once listening\n"
    "            --programme FILE       the programme (tiers; default: built in)\n"
    "            --budget-pts N         points a terminal may redeem offline per day\n"
    "            --member-cap-pts N     of which one member at most per day\n"
    "            --sign-key FILE        the config key (32-byte Ed25519 seed), named at "
    "registration\n"
    "            --sun-keys FILE        the chain's NTAG 424 DNA keys: two lines of 32 hex "
    "digits,\n"
    "                                   SDMMetaReadKey then SDMFileReadKey (checks the SUN "
    "messages sales carry)\n"
    "            --exit-after S         stop by itself after S seconds (tests)\n"
    "            --pages-listen ADDR:PORT  also serve the customer's card pages over plain HTTP\n"
    "                                   there (behind the chain's TLS reverse proxy; port 0:\n"
    "                                   chosen by the system)\n"
    "            --pages-port-file FILE  write the pages' bound port there\n"
    "            --store-name TEXT      the name the pages show (default: Program lojalnościowy)\n"
    "            --pages-rate-limit N   form posts per client address per 10 minutes (default 10)\n"
    "            --pages-threads N      threads serving the pages, each with its own store\n"
    "                                   connection (default: the number of online CPUs)\n"
    "            --pages-url-base URL   the card link base for the page's QR, in capitals\n"
    "                                   (e.g. HTTPS://K.EXAMPLE.PL/C/; default: the request's host)\n"
    "  enrol     --terminal ID [--valid-hours H]   print a one-time enrolment code\n"
    "  config    --programme FILE --sign-key FILE   publish the programme, signed, to every "
    "terminal\n"
    "  revoke    --terminal ID          refuse the terminal from now on, publish its key revoked\n"
    "  revoke-card --card CODE          a lost or stolen card: published, its use flagged\n"
    "  erase     --card CODE            erase a member: tombstone for every terminal\n"
    "  balances                         every member's balance and tier, one JSON per line\n"
    "  flags                            what the owner should review, one JSON per line\n"
    "  stats                            the number of events stored\n"
    "  nps                              the net promoter score of the card page's survey\n";

struct opts {
	const char *db, *cert, *key, *ca, *ca_key, *listen, *port_file, *programme, *terminal,
	    *card, *sign_key, *pages_listen, *pages_port_file, *store_name, *pages_url_base,
	    *sun_keys;
	long port, exit_after, valid_hours, pages_rate, pages_threads;
	int64_t budget_pts, member_cap_pts;
	bool budget_set, cap_set;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *slurp(const char *path, size_t max, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return NULL;
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (!buf || n > max) {
		if (buf)
			sodium_memzero(buf, n); /* the key files come through here too */
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	if (ret_len)
		*ret_len = n;
	return buf;
}

static bool parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

static int print_member(void *userdata, const struct store_member *m)
{
	(void) userdata;
	printf("{\"card_code\":\"%s\",\"balance_pts\":%" PRId64
	       ",\"tier\":\"%s\",\"events\":%" PRId64 "}\n",
	       m->card_code, m->balance_pts, m->tier, m->events);
	return 0;
}

static int print_flag(void *userdata, const struct store_flag *f)
{
	char id[2 * LEDGER_EVENT_ID_LEN + 1];
	(void) userdata;
	sync_hex_encode(f->event_id, LEDGER_EVENT_ID_LEN, id);
	cJSON *o = cJSON_CreateObject();
	sync_json_i64(o, "id", f->id);
	cJSON_AddStringToObject(o, "code", f->code);
	cJSON_AddStringToObject(o, "event_id", id);
	cJSON_AddStringToObject(o, "terminal_id", f->terminal_id);
	cJSON_AddStringToObject(o, "card_code", f->card_code);
	sync_json_i64(o, "amount", f->amount);
	cJSON_AddStringToObject(o, "detail", f->detail);
	sync_json_i64(o, "time_us", f->time_us);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return -ENOMEM;
	puts(s);
	free(s);
	return 0;
}

/* The config key: a regular file of exactly 32 bytes (the Ed25519 seed) open to nobody else. */
static int read_seed(const char *path, uint8_t seed[SYNC_SEED_LEN])
{
	struct stat sb;
	size_t len = 0;
	if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "loyalty-server: %s: not a regular file\n", path);
		return -EINVAL;
	}
	if (sb.st_mode & 0077) {
		fprintf(stderr, "loyalty-server: %s: open to group or others (chmod 600)\n", path);
		return -EPERM;
	}
	char *buf = slurp(path, SYNC_SEED_LEN, &len);
	if (!buf || len != SYNC_SEED_LEN) {
		fprintf(stderr, "loyalty-server: %s: must hold exactly %d bytes\n", path,
			SYNC_SEED_LEN);
		free(buf);
		return -EINVAL;
	}
	memcpy(seed, buf, SYNC_SEED_LEN);
	sodium_memzero(buf, len);
	free(buf);
	return 0;
}

static bool card_code_ok(const char *card)
{
	return card && strlen(card) == LEDGER_CARD_CODE_LEN &&
	       strspn(card, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == LEDGER_CARD_CODE_LEN;
}

static bool terminal_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	return n >= 1 && n <= LEDGER_TERMINAL_ID_MAX &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

static int publish_config(struct store *st, const struct opts *o)
{
	struct programme prog;
	uint8_t seed[SYNC_SEED_LEN];
	char err[320];
	size_t len;
	int r;
	if (!o->programme || !o->sign_key) {
		fprintf(stderr, "loyalty-server: config needs --programme and --sign-key\n");
		return 2;
	}
	char *text = slurp(o->programme, PROGRAMME_TEXT_MAX, &len);
	if (!text) {
		fprintf(stderr, "loyalty-server: cannot read %s: %m\n", o->programme);
		return 1;
	}
	if (programme_parse(text, len, &prog, err, sizeof(err)) < 0) {
		fprintf(stderr, "loyalty-server: %s: %s\n", o->programme, err);
		free(text);
		return 1;
	}
	if (read_seed(o->sign_key, seed) < 0) {
		free(text);
		return 1;
	}
	r = sync_publish_config(st, seed, text, len, now_us());
	sodium_memzero(seed, sizeof(seed));
	free(text);
	if (r < 0) {
		fprintf(stderr, "loyalty-server: config: %s\n", st->ops->errmsg(st));
		return 1;
	}
	return 0;
}

/* --sun-keys FILE: SDMMetaReadKey and SDMFileReadKey, a line of 32 hex digits each (sun_keys.h). */
static int read_sun_keys(const char *path, struct sync_policy *pol)
{
	static const char format[] = "the file must be two lines of 32 hex digits: SDMMetaReadKey, "
				     "then SDMFileReadKey";
	char err[160];
	size_t len;
	char *text = slurp(path, SUN_KEYS_TEXT_MAX, &len);
	if (!text && errno == EFBIG) {
		fprintf(stderr, "loyalty-server: %s: more than %d bytes (%s)\n", path,
			SUN_KEYS_TEXT_MAX, format);
		return -1;
	}
	if (!text) {
		fprintf(stderr, "loyalty-server: cannot read %s: %m\n", path);
		return -1;
	}
	int r = sun_keys_parse(text, len, pol->sun_meta_key, pol->sun_file_key, err, sizeof(err));
	sodium_memzero(text, len);
	free(text);
	if (r < 0) {
		fprintf(stderr, "loyalty-server: %s: %s (%s)\n", path, err, format);
		return -1;
	}
	pol->has_sun_keys = true;
	return 0;
}

static int write_port_file(const char *path, uint16_t port)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f || fprintf(f, "%u\n", (unsigned) port) < 0 || fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "loyalty-server: cannot write %s: %m\n", path);
		return -1;
	}
	return 0;
}

/*
 * The customer's pages on --pages-listen ADDR:PORT ([ADDR]:PORT for IPv6), served by
 * --pages-threads threads with a store connection each (the pages open them) and, with
 * --sign-key, the server's token key for the links of cards made on the pages.
 */
static int start_pages(const struct opts *o, const struct sync_policy *pol, struct pages **ret)
{
	static uint8_t token_sk[crypto_sign_SECRETKEYBYTES];
	char addr[64], err[320];
	const char *colon = strrchr(o->pages_listen, ':');
	long port;
	const char *a = o->pages_listen;
	size_t alen = colon ? (size_t) (colon - a) : 0;
	if (alen && a[0] == '[' && a[alen - 1] == ']')
		a++, alen -= 2;
	if (!colon || !alen || alen >= sizeof(addr) || !parse_long(colon + 1, 0, 65535, &port)) {
		fprintf(stderr, "loyalty-server: --pages-listen: ADDR:PORT, e.g. 127.0.0.1:8080\n");
		return -1;
	}
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	struct pages_config pc = {
	    .listen = addr,
	    .port = (uint16_t) port,
	    .db = o->db,
	    .threads = (unsigned) o->pages_threads,
	    .pol = *pol,
	    .store_name = o->store_name ? o->store_name : "Program lojalnościowy",
	    .url_base = o->pages_url_base,
	    .rate_per_window = (unsigned) o->pages_rate,
	    .rate_window_s = 600,
	};
	if (pc.url_base && !token_url_base_valid(pc.url_base)) {
		fprintf(stderr, "loyalty-server: --pages-url-base: capitals, digits and $%%*+-./: "
				"only, e.g. HTTPS://K.EXAMPLE.PL/C/\n");
		return -1;
	}
	if (o->sign_key) {
		uint8_t seed[SYNC_SEED_LEN], pk[crypto_sign_PUBLICKEYBYTES];
		if (read_seed(o->sign_key, seed) < 0)
			return -1;
		crypto_sign_seed_keypair(pk, token_sk, seed);
		sodium_memzero(seed, sizeof(seed));
		pc.token_sk = token_sk;
	}
	uint16_t bound;
	int r = pages_start(&pc, ret, &bound, err, sizeof(err));
	if (r == -EIO) {
		fprintf(stderr, "loyalty-server: %s\n", err);
		return -1;
	}
	if (r < 0) {
		fprintf(stderr, "loyalty-server: cannot listen for the pages on %s\n",
			o->pages_listen);
		return -1;
	}
	if (o->pages_port_file && write_port_file(o->pages_port_file, bound) < 0)
		return -1;
	printf("loyalty-server: card pages on http://%s%s%s:%u/C/\n", strchr(addr, ':') ? "[" : "",
	       addr, strchr(addr, ':') ? "]" : "", (unsigned) bound);
	return 0;
}

static int serve(struct store *st, const struct opts *o)
{
	struct programme prog;
	struct server_config cfg = {.listen = o->listen, .port = (uint16_t) o->port, .st = st};
	char err[320];
	char *key = NULL, *cert = NULL, *ca = NULL;
	char config_key[2 * crypto_sign_PUBLICKEYBYTES + 1];
	struct server *srv = NULL;
	struct pages *pages = NULL;
	uint16_t port;
	int r = 1;

	programme_default(&prog);
	if (o->programme) {
		size_t len;
		char *text = slurp(o->programme, PROGRAMME_TEXT_MAX, &len);
		if (!text) {
			fprintf(stderr, "loyalty-server: cannot read %s: %m\n", o->programme);
			return 1;
		}
		int pr = programme_parse(text, len, &prog, err, sizeof(err));
		free(text);
		if (pr < 0) {
			fprintf(stderr, "loyalty-server: %s: %s\n", o->programme, err);
			return 1;
		}
	}
	cfg.pol = (struct sync_policy){
	    .prog = &prog,
	    .terminal_budget_pts = o->budget_set ? o->budget_pts : prog.offline_terminal_budget_pts,
	    .member_cap_pts = o->cap_set ? o->member_cap_pts : prog.offline_member_cap_pts,
	    .max_offline_age_s = prog.offline_max_age_s,
	};
	if (o->sun_keys && read_sun_keys(o->sun_keys, &cfg.pol) < 0)
		return 2;
	if (!o->cert || !o->key || !o->ca) {
		fprintf(stderr, "loyalty-server: serve needs --cert, --key and --ca\n");
		return 2;
	}
	if (!(key = slurp(o->key, 64 * 1024, NULL)) || !(cert = slurp(o->cert, 64 * 1024, NULL)) ||
	    !(ca = slurp(o->ca, 64 * 1024, NULL))) {
		fprintf(stderr, "loyalty-server: cannot read --key, --cert or --ca: %m\n");
		goto out;
	}
	cfg.key_pem = key;
	cfg.cert_pem = cert;
	cfg.ca_pem = ca;
	cfg.ca_chain_pem = ca;
	if (o->sign_key) {
		uint8_t seed[SYNC_SEED_LEN], pk[crypto_sign_PUBLICKEYBYTES],
		    sk[crypto_sign_SECRETKEYBYTES];
		if (read_seed(o->sign_key, seed) < 0)
			goto out;
		crypto_sign_seed_keypair(pk, sk, seed);
		sodium_memzero(seed, sizeof(seed));
		sodium_memzero(sk, sizeof(sk));
		sync_hex_encode(pk, sizeof(pk), config_key);
		cfg.config_key_hex = config_key;
	}
	if (o->ca_key && certs_ca_load(o->ca, o->ca_key, &cfg.ca, err, sizeof(err)) < 0) {
		fprintf(stderr, "loyalty-server: %s\n", err);
		goto out;
	}
	/* signals are waited for here; the server's thread inherits the mask */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (server_start(&cfg, &srv, &port) < 0) {
		fprintf(stderr,
			"loyalty-server: cannot listen on %s port %ld (address in use, not an "
			"address of this host, or a bad key or certificate)\n",
			o->listen, o->port);
		goto out;
	}
	/* the pages first: once the port file is there, everything listens */
	if (o->pages_listen && start_pages(o, &cfg.pol, &pages) < 0)
		goto out;
	if (o->port_file && write_port_file(o->port_file, port) < 0)
		goto out;
	printf("loyalty-server: listening on https://%s:%u/v1/ (registration %s)\n", o->listen,
	       (unsigned) port, cfg.ca ? "on" : "off: no --ca-key");
	fflush(stdout);
	struct timespec ts = {.tv_sec = o->exit_after > 0 ? o->exit_after : 365L * 86400};
	int sig = sigtimedwait(&set, NULL, &ts);
	printf("loyalty-server: stopping (%s)\n", sig > 0 ? strsignal(sig) : "time is up");
	r = 0;
out:
	pages_stop(pages);
	server_stop(srv);
	certs_ca_free(cfg.ca);
	free(key);
	free(cert);
	free(ca);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"ca", required_argument, NULL, 'a'},
	    {"ca-key", required_argument, NULL, 'K'},
	    {"listen", required_argument, NULL, 'l'},
	    {"port", required_argument, NULL, 'p'},
	    {"port-file", required_argument, NULL, 'P'},
	    {"programme", required_argument, NULL, 'g'},
	    {"budget-pts", required_argument, NULL, 'b'},
	    {"member-cap-pts", required_argument, NULL, 'm'},
	    {"exit-after", required_argument, NULL, 'x'},
	    {"terminal", required_argument, NULL, 't'},
	    {"card", required_argument, NULL, 'C'},
	    {"valid-hours", required_argument, NULL, 'v'},
	    {"sign-key", required_argument, NULL, 's'},
	    {"sun-keys", required_argument, NULL, 'S'},
	    {"pages-listen", required_argument, NULL, 'L'},
	    {"pages-port-file", required_argument, NULL, 'F'},
	    {"store-name", required_argument, NULL, 'N'},
	    {"pages-url-base", required_argument, NULL, 'U'},
	    {"pages-rate-limit", required_argument, NULL, 'R'},
	    {"pages-threads", required_argument, NULL, 'W'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct opts o = {.listen = "127.0.0.1", .port = 8443, .valid_hours = 24};
	long v;
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.db = optarg;
			break;
		case 'c':
			o.cert = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'a':
			o.ca = optarg;
			break;
		case 'K':
			o.ca_key = optarg;
			break;
		case 'l':
			o.listen = optarg;
			break;
		case 'P':
			o.port_file = optarg;
			break;
		case 'g':
			o.programme = optarg;
			break;
		case 't':
			o.terminal = optarg;
			break;
		case 'C':
			o.card = optarg;
			break;
		case 's':
			o.sign_key = optarg;
			break;
		case 'S':
			o.sun_keys = optarg;
			break;
		case 'L':
			o.pages_listen = optarg;
			break;
		case 'F':
			o.pages_port_file = optarg;
			break;
		case 'N':
			o.store_name = optarg;
			break;
		case 'U':
			o.pages_url_base = optarg;
			break;
		case 'R':
			if (!parse_long(optarg, 1, 100000, &v)) {
				fprintf(stderr, "loyalty-server: bad number '%s'\n", optarg);
				return 2;
			}
			o.pages_rate = v;
			break;
		case 'W':
			if (!parse_long(optarg, 1, 64, &v)) {
				fprintf(stderr, "loyalty-server: --pages-threads: 1 to 64\n");
				return 2;
			}
			o.pages_threads = v;
			break;
		case 'p':
		case 'x':
		case 'v':
		case 'b':
		case 'm':
			if (!parse_long(optarg, c == 'v' ? 1 : 0,
					c == 'p'   ? 65535
					: c == 'v' ? 24 * 365
						   : 1000000000L,
					&v)) {
				fprintf(stderr, "loyalty-server: bad number '%s'\n", optarg);
				return 2;
			}
			if (c == 'p')
				o.port = v;
			else if (c == 'x')
				o.exit_after = v;
			else if (c == 'v')
				o.valid_hours = v;
			else if (c == 'b')
				o.budget_pts = v, o.budget_set = true;
			else
				o.member_cap_pts = v, o.cap_set = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc || !o.db) {
		fprintf(stderr, "loyalty-server: %s\n",
			optind != argc ? "unexpected argument" : "--db FILE is required");
		return 2;
	}
	if (sodium_init() < 0 || gnutls_global_init() < 0) {
		fprintf(stderr, "loyalty-server: cannot initialise libsodium or GnuTLS\n");
		return 1;
	}
	struct store *st;
	char err[320];
	if (store_sqlite_open(o.db, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "loyalty-server: %s\n", err);
		return 1;
	}
	int r = 0;
	if (!strcmp(cmd, "serve")) {
		r = serve(st, &o);
	} else if (!strcmp(cmd, "enrol")) {
		char code[SYNC_ENROL_CODE_LEN + 1];
		if (!terminal_id_ok(o.terminal)) {
			fprintf(stderr, "loyalty-server: --terminal: 1-16 characters A-Z 0-9\n");
			r = 2;
		} else if (sync_enrol_code(st, o.terminal, now_us(), o.valid_hours * 3600, code) <
			   0) {
			fprintf(stderr, "loyalty-server: %s\n", st->ops->errmsg(st));
			r = 1;
		} else {
			printf("%s\n", code);
		}
	} else if (!strcmp(cmd, "config")) {
		r = publish_config(st, &o);
	} else if (!strcmp(cmd, "revoke")) {
		int e =
		    terminal_id_ok(o.terminal) ? sync_revoke(st, o.terminal, now_us()) : -EINVAL;
		if (e < 0) {
			fprintf(stderr, "loyalty-server: revoke %s: %s\n",
				o.terminal ? o.terminal : "(no --terminal)",
				e == -ENOENT ? "no such terminal" : "failed");
			r = 1;
		}
	} else if (!strcmp(cmd, "revoke-card")) {
		int e = card_code_ok(o.card) ? sync_revoke_card(st, o.card, now_us()) : -EINVAL;
		if (e < 0) {
			fprintf(stderr, "loyalty-server: revoke-card: %s\n",
				e == -EINVAL ? "--card: 12 characters of Crockford base32"
					     : "failed");
			r = e == -EINVAL ? 2 : 1;
		}
	} else if (!strcmp(cmd, "erase")) {
		int e = o.card ? sync_erase(st, o.card, now_us()) : -EINVAL;
		if (e < 0) {
			fprintf(stderr, "loyalty-server: erase %s: %s\n", o.card ? o.card : "",
				e == -ENOENT ? "no such member" : "failed");
			r = 1;
		}
	} else if (!strcmp(cmd, "balances")) {
		r = st->ops->members_read(st, print_member, NULL) < 0;
	} else if (!strcmp(cmd, "flags")) {
		r = st->ops->flags_read(st, print_flag, NULL) < 0;
	} else if (!strcmp(cmd, "nps")) {
		struct store_nps n;
		int64_t nps, total;
		if (customer_nps(st, &n, &nps, &total) < 0) {
			r = 1;
		} else {
			printf("{\"answers\":%" PRId64 ",\"promoters\":%" PRId64
			       ",\"passives\":%" PRId64 ",\"detractors\":%" PRId64,
			       total, n.promoters, n.passives, n.detractors);
			if (total)
				printf(",\"nps\":%" PRId64, nps);
			printf("}\n");
		}
	} else if (!strcmp(cmd, "stats")) {
		int64_t n;
		if (st->ops->count_events(st, &n) < 0)
			r = 1;
		else
			printf("{\"events\":%" PRId64 "}\n", n);
	} else {
		fprintf(stderr, "loyalty-server: unknown command '%s'\n%s", cmd, usage);
		r = 2;
	}
	store_close(st);
	gnutls_global_deinit();
	return r;
}
