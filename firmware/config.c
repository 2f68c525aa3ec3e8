/* config: board profile and terminal config parsing (cJSON) and validation. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "console.h"
#include "ledger.h"
#include "nfc.h"
#include "printer.h"
#include "scanner.h"
#include "sync.h"

static int fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Check that obj has only the keys listed (NULL-terminated). */
static int only_keys(const cJSON *obj, const char *where, const char *const *keys, char *err,
		     size_t err_size)
{
	for (const cJSON *it = obj->child; it; it = it->next) {
		bool known = false;
		for (const char *const *k = keys; *k; k++)
			known = known || strcmp(it->string, *k) == 0;
		if (!known)
			return fail(err, err_size, "%s%s%s: unknown key", where, *where ? "." : "",
				    it->string);
	}
	return 0;
}

static int get_string(const cJSON *obj, const char *where, const char *key, bool required,
		      char *out, size_t out_size, char *err, size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *dot = *where ? "." : "";
	if (!v) {
		if (required)
			return fail(err, err_size, "%s%s%s: missing", where, dot, key);
		out[0] = '\0';
		return 0;
	}
	if (!cJSON_IsString(v))
		return fail(err, err_size, "%s%s%s: must be a string", where, dot, key);
	if (strlen(v->valuestring) >= out_size)
		return fail(err, err_size, "%s%s%s: longer than %zu characters", where, dot, key,
			    out_size - 1);
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int get_int(const cJSON *obj, const char *where, const char *key, int min, int max, int *out,
		   char *err, size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *dot = *where ? "." : "";
	if (!v)
		return fail(err, err_size, "%s%s%s: missing", where, dot, key);
	/* cJSON keeps numbers as double; accept only exact whole numbers in range */
	if (!cJSON_IsNumber(v) || v->valuedouble != (double) v->valueint || v->valueint < min ||
	    v->valueint > max)
		return fail(err, err_size, "%s%s%s: must be a whole number from %d to %d", where,
			    dot, key, min, max);
	*out = v->valueint;
	return 0;
}

static const cJSON *get_object(const cJSON *root, const char *key, char *err, size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!cJSON_IsObject(v)) {
		fail(err, err_size, "%s: %s", key, v ? "must be an object" : "missing");
		return NULL;
	}
	return v;
}

static int check_version(const cJSON *root, char *err, size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!v)
		return fail(err, err_size, "version: missing");
	if (!cJSON_IsNumber(v) || v->valuedouble != 1.0)
		return fail(err, err_size, "version: only version 1 is known");
	return 0;
}

static cJSON *parse_root(const char *text, size_t len, char *err, size_t err_size)
{
	if (len > CONFIG_FILE_MAX) {
		fail(err, err_size, "larger than %d bytes", CONFIG_FILE_MAX);
		return NULL;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		size_t off = end && end >= text ? (size_t) (end - text) : 0;
		size_t line = 1;
		for (size_t i = 0; i < off && i < len; i++)
			line += text[i] == '\n';
		fail(err, err_size, "not valid JSON (near line %zu)", line);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		fail(err, err_size, "must be a JSON object");
		return NULL;
	}
	return root;
}

typedef void (*names_fn)(char *buf, size_t size);

/* Is name one of the comma-separated names a registry lists? */
static int check_driver(const char *where, const char *name, names_fn names, char *err,
			size_t err_size)
{
	char list[128];
	names(list, sizeof(list));
	for (char *save = NULL, *tok = strtok_r(list, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (strcmp(tok, name) == 0)
			return 0;
	}
	names(list, sizeof(list));
	return fail(err, err_size, "%s.driver: unknown driver '%s' (known: %s)", where, name, list);
}

static void clock_names(char *buf, size_t size)
{
	snprintf(buf, size, "%s, %s", hal_clock_real_ops.name, hal_clock_sim_ops.name);
}

/* An optional whole number: absent leaves *out alone. */
static int get_opt_int(const cJSON *obj, const char *where, const char *key, int min, int max,
		       int *out, char *err, size_t err_size)
{
	if (!cJSON_GetObjectItemCaseSensitive(obj, key))
		return 0;
	return get_int(obj, where, key, min, max, out, err, err_size);
}

/* Which drivers each link field belongs to; one outside them is refused, naming the field. */
static int check_link_fields(const cJSON *p, const char *driver, char *err, size_t err_size)
{
	static const struct {
		const char *key;
		const char *drivers; /* space-separated, with spaces around */
		const char *for_whom;
	} fields[] = {
	    {"path", " escpos usb serial ", "the escpos, usb and serial drivers"},
	    {"baud", " serial ", "the serial driver"},
	    {"flow", " serial ", "the serial driver"},
	    {"host", " tcp ", "the tcp driver"},
	    {"port", " tcp ", "the tcp driver"},
	    {"timeout_ms", " usb serial tcp ", "the usb, serial and tcp drivers"},
	    {"status_timeout_ms", " usb serial tcp ", "the usb, serial and tcp drivers"},
	    {"status", " usb serial tcp ", "the usb, serial and tcp drivers"},
	};
	char name[20];
	snprintf(name, sizeof(name), " %s ", driver);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (cJSON_GetObjectItemCaseSensitive(p, fields[i].key) &&
		    !strstr(fields[i].drivers, name))
			return fail(err, err_size, "printer.%s: only for %s, not '%s'",
				    fields[i].key, fields[i].for_whom, driver);
	}
	return 0;
}

/* The link fields of the usb, serial and tcp drivers, with their defaults. */
static int parse_printer_link(const cJSON *p, struct board_profile *b, char *err, size_t err_size)
{
	const char *d = b->printer_driver;
	bool serial = strcmp(d, "serial") == 0, tcp = strcmp(d, "tcp") == 0;
	char text[16];
	int v, r;

	if ((r = check_link_fields(p, d, err, err_size)) < 0)
		return r;
	if (strcmp(d, "escpos") == 0 || strcmp(d, "usb") == 0 || serial) {
		if (!b->printer_path[0])
			return fail(err, err_size, "printer.path: required by the '%s' driver", d);
		if (strcmp(d, "escpos") != 0 && b->printer_path[0] != '/')
			return fail(err, err_size,
				    "printer.path: must be an absolute device path, got '%s'",
				    b->printer_path);
	}
	if (serial) {
		v = HAL_PRINTER_BAUD_DEFAULT;
		if ((r = get_opt_int(p, "printer", "baud", 0, 1000000, &v, err, err_size)) < 0)
			return r;
		if (!hal_printer_baud_valid((unsigned) v))
			return fail(err, err_size,
				    "printer.baud: must be 9600, 19200, 38400, 57600 or 115200");
		b->printer_baud = (unsigned) v;
		if ((r = get_string(p, "printer", "flow", false, text, sizeof(text), err,
				    err_size)) < 0)
			return fail(err, err_size, "printer.flow: must be none, rtscts or xonxoff");
		if (text[0] && hal_printer_flow_from_name(text, &b->printer_flow) < 0)
			return fail(err, err_size,
				    "printer.flow: must be none, rtscts or xonxoff, got '%s'",
				    text);
	}
	if (tcp) {
		struct sockaddr_storage ss;
		bool loopback;
		char probe[80];
		if ((r = get_string(p, "printer", "host", true, b->printer_host,
				    sizeof(b->printer_host), err, err_size)) < 0)
			return r;
		/* an IP literal: the same check as a listen address, with a dummy port */
		snprintf(probe, sizeof(probe),
			 strchr(b->printer_host, ':') && b->printer_host[0] != '[' ? "[%s]:1"
										   : "%s:1",
			 b->printer_host);
		if (!b->printer_host[0] || config_listen_parse(probe, &ss, &loopback) < 0)
			return fail(err, err_size,
				    "printer.host: must be an IPv4 or IPv6 address (a name lookup "
				    "could stall the terminal), got '%s'",
				    b->printer_host);
		v = HAL_PRINTER_TCP_PORT_DEFAULT;
		if ((r = get_opt_int(p, "printer", "port", 1, 65535, &v, err, err_size)) < 0)
			return r;
		b->printer_port = (unsigned) v;
	}
	if (serial || tcp || strcmp(d, "usb") == 0) {
		b->printer_timeout_ms = HAL_PRINTER_TIMEOUT_MS_DEFAULT;
		b->printer_status_timeout_ms = HAL_PRINTER_STATUS_TIMEOUT_MS_DEFAULT;
		if ((r = get_opt_int(p, "printer", "timeout_ms", 100, 10000, &b->printer_timeout_ms,
				     err, err_size)) < 0 ||
		    (r = get_opt_int(p, "printer", "status_timeout_ms", 20, 2000,
				     &b->printer_status_timeout_ms, err, err_size)) < 0)
			return r;
		if (b->printer_status_timeout_ms > b->printer_timeout_ms)
			return fail(err, err_size,
				    "printer.status_timeout_ms: must not be more than timeout_ms");
		if ((r = get_string(p, "printer", "status", false, text, sizeof(text), err,
				    err_size)) < 0)
			return fail(err, err_size,
				    "printer.status: must be auto, required or none");
		if (text[0] && hal_printer_status_mode_from_name(text, &b->printer_status) < 0)
			return fail(err, err_size,
				    "printer.status: must be auto, required or none, got '%s'",
				    text);
	}
	return 0;
}

static int parse_printer(const cJSON *p, struct board_profile *b, char *err, size_t err_size)
{
	static const char *const keys[] = {"driver",
					   "path",
					   "model",
					   "width_dots",
					   "columns",
					   "encoding",
					   "codepage_slot",
					   "qr_module_dots",
					   "cutter",
					   "baud",
					   "flow",
					   "host",
					   "port",
					   "timeout_ms",
					   "status_timeout_ms",
					   "status",
					   "preview",
					   NULL};
	struct printer_profile *pp = &b->printer;
	char encoding[16];
	int r;

	if ((r = only_keys(p, "printer", keys, err, err_size)) < 0 ||
	    (r = get_string(p, "printer", "driver", true, b->printer_driver,
			    sizeof(b->printer_driver), err, err_size)) < 0 ||
	    (r = check_driver("printer", b->printer_driver, hal_printer_driver_names, err,
			      err_size)) < 0 ||
	    (r = get_string(p, "printer", "path", false, b->printer_path, sizeof(b->printer_path),
			    err, err_size)) < 0 ||
	    (r = parse_printer_link(p, b, err, err_size)) < 0 ||
	    (r = get_string(p, "printer", "model", true, pp->model, sizeof(pp->model), err,
			    err_size)) < 0 ||
	    (r = get_int(p, "printer", "width_dots", 128, 1024, &pp->width_dots, err, err_size)) <
		0 ||
	    (r = get_int(p, "printer", "columns", 16, 96, &pp->columns, err, err_size)) < 0 ||
	    (r = get_string(p, "printer", "encoding", true, encoding, sizeof(encoding), err,
			    err_size)) < 0 ||
	    (r = get_int(p, "printer", "codepage_slot", 0, 255, &pp->codepage_slot, err,
			 err_size)) < 0 ||
	    (r = get_int(p, "printer", "qr_module_dots", 4, 16, &pp->qr_module_dots, err,
			 err_size)) < 0)
		return r;
	if (codepage_from_name(encoding, &pp->encoding) < 0)
		return fail(err, err_size, "printer.encoding: '%s' is not CP852 or CP1250",
			    encoding);
	const cJSON *cut = cJSON_GetObjectItemCaseSensitive(p, "cutter");
	if (!cJSON_IsBool(cut))
		return fail(err, err_size, "printer.cutter: %s",
			    cut ? "must be true or false" : "missing");
	pp->cutter = cJSON_IsTrue(cut);
	const cJSON *preview = cJSON_GetObjectItemCaseSensitive(p, "preview");
	if (preview) {
		if (!cJSON_IsBool(preview))
			return fail(err, err_size, "printer.preview: must be true or false");
		if (strcmp(b->printer_driver, "sim") != 0)
			return fail(err, err_size, "printer.preview: only the 'sim' driver has it");
		b->printer_preview = cJSON_IsTrue(preview);
	}
	return 0;
}

void board_profile_printer_config(const struct board_profile *b,
				  struct hal_printer_config *ret_config)
{
	*ret_config = (struct hal_printer_config){
	    .path = b->printer_path[0] ? b->printer_path : NULL,
	    .baud = b->printer_baud,
	    .flow = b->printer_flow,
	    .host = b->printer_host[0] ? b->printer_host : NULL,
	    .port = b->printer_port,
	    .timeout_ms = b->printer_timeout_ms,
	    .status_timeout_ms = b->printer_status_timeout_ms,
	    .status = b->printer_status,
	};
}

/* "scanner": {"driver": "serial" | "hid" | "sim", "path": DEVICE, "baud": N}; optional. */
static int parse_scanner(const cJSON *root, struct board_profile *b, char *err, size_t err_size)
{
	static const char *const keys[] = {"driver", "path", "baud", NULL};
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "scanner");
	int r, baud = 0;
	if (!s)
		return 0;
	if (!(s = get_object(root, "scanner", err, err_size)))
		return -EINVAL;
	if ((r = only_keys(s, "scanner", keys, err, err_size)) < 0 ||
	    (r = get_string(s, "scanner", "driver", true, b->scanner_driver,
			    sizeof(b->scanner_driver), err, err_size)) < 0 ||
	    (r = check_driver("scanner", b->scanner_driver, hal_scanner_driver_names, err,
			      err_size)) < 0 ||
	    (r = get_string(s, "scanner", "path", false, b->scanner_path, sizeof(b->scanner_path),
			    err, err_size)) < 0 ||
	    (r = get_opt_int(s, "scanner", "baud", 0, 1000000, &baud, err, err_size)) < 0)
		return r;
	if (strcmp(b->scanner_driver, "sim") != 0 && b->scanner_path[0] != '/')
		return fail(err, err_size, "scanner.path: the '%s' driver needs an absolute device path",
			    b->scanner_driver);
	if (baud && (strcmp(b->scanner_driver, "serial") != 0 || !hal_scanner_baud_valid((unsigned) baud)))
		return fail(err, err_size,
			    "scanner.baud: only for the 'serial' driver, 1200 to 115200 (a standard "
			    "rate)");
	b->scanner_baud = (unsigned) baud;
	return 0;
}

int board_profile_parse(const char *text, size_t len, struct board_profile *ret_profile, char *err,
			size_t err_size)
{
	static const char *const keys[] = {"version", "name",	 "description", "nfc",
					   "printer", "console", "clock",	"scanner", NULL};
	static const char *const dev_keys[] = {"driver", NULL};
	static const char *const nfc_keys[] = {"driver", "connstring", NULL};
	struct board_profile b = {0};
	const cJSON *nfc, *printer, *console, *clock;
	int r = -EINVAL;

	cJSON *root = parse_root(text, len, err, err_size);
	if (!root)
		return -EINVAL;
	if ((r = check_version(root, err, err_size)) < 0 ||
	    (r = only_keys(root, "", keys, err, err_size)) < 0 ||
	    (r = get_string(root, "", "name", true, b.name, sizeof(b.name), err, err_size)) < 0)
		goto out;
	r = -EINVAL;
	if (!(nfc = get_object(root, "nfc", err, err_size)) ||
	    !(printer = get_object(root, "printer", err, err_size)) ||
	    !(console = get_object(root, "console", err, err_size)) ||
	    !(clock = get_object(root, "clock", err, err_size)))
		goto out;
	if ((r = only_keys(nfc, "nfc", nfc_keys, err, err_size)) < 0 ||
	    (r = get_string(nfc, "nfc", "driver", true, b.nfc_driver, sizeof(b.nfc_driver), err,
			    err_size)) < 0 ||
	    (r = check_driver("nfc", b.nfc_driver, hal_nfc_driver_names, err, err_size)) < 0 ||
	    (r = get_string(nfc, "nfc", "connstring", false, b.nfc_connstring,
			    sizeof(b.nfc_connstring), err, err_size)) < 0 ||
	    (r = parse_printer(printer, &b, err, err_size)) < 0 ||
	    (r = only_keys(console, "console", dev_keys, err, err_size)) < 0 ||
	    (r = get_string(console, "console", "driver", true, b.console_driver,
			    sizeof(b.console_driver), err, err_size)) < 0 ||
	    (r = check_driver("console", b.console_driver, hal_console_driver_names, err,
			      err_size)) < 0 ||
	    (r = only_keys(clock, "clock", dev_keys, err, err_size)) < 0 ||
	    (r = get_string(clock, "clock", "driver", true, b.clock_driver, sizeof(b.clock_driver),
			    err, err_size)) < 0 ||
	    (r = check_driver("clock", b.clock_driver, clock_names, err, err_size)) < 0 ||
	    (r = parse_scanner(root, &b, err, err_size)) < 0)
		goto out;
	*ret_profile = b;
out:
	cJSON_Delete(root);
	return r;
}

/* "receipt": {"lang": "pl" | "en", "texts": {"<slot>": "<template>", ...}}, all optional. */
static int parse_receipt(const cJSON *root, struct terminal_config *t, char *err, size_t err_size)
{
	static const char *const keys[] = {"lang", "texts", NULL};
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(root, "receipt");
	char lang[8] = "", why[256];
	int r;
	t->receipt_lang = PROGRAMME_LANG_PL;
	if (!rc)
		return 0;
	if (!(rc = get_object(root, "receipt", err, err_size)))
		return -EINVAL;
	if ((r = only_keys(rc, "receipt", keys, err, err_size)) < 0 ||
	    (r = get_string(rc, "receipt", "lang", false, lang, sizeof(lang), err, err_size)) < 0)
		return r;
	if (!strcmp(lang, "en"))
		t->receipt_lang = PROGRAMME_LANG_EN;
	else if (lang[0] && strcmp(lang, "pl") != 0)
		return fail(err, err_size, "receipt.lang: must be \"pl\" or \"en\", got '%s'", lang);
	const cJSON *texts = cJSON_GetObjectItemCaseSensitive(rc, "texts");
	if (!texts)
		return 0;
	if (!cJSON_IsObject(texts))
		return fail(err, err_size, "receipt.texts: must be an object");
	const cJSON *item;
	cJSON_ArrayForEach(item, texts)
	{
		if (!cJSON_IsString(item))
			return fail(err, err_size, "receipt.texts.%s: must be a string", item->string);
		r = receipt_texts_set(&t->receipt_texts, item->string, item->valuestring, why,
				      sizeof(why));
		if (r == -ENOENT)
			return fail(err, err_size, "receipt.texts: %s", why);
		if (r < 0)
			return fail(err, err_size, "receipt.texts.%s: %s", item->string, why);
	}
	return 0;
}

/* A file path in terminal.json: absolute, or relative to the state folder; no control characters. */
static int check_path(const char *where, const char *path, char *err, size_t err_size)
{
	for (const unsigned char *p = (const unsigned char *) path; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return fail(err, err_size, "%s: a control character in the path", where);
	if (path[0] && path[strlen(path) - 1] == '/')
		return fail(err, err_size, "%s: must name a file, not a folder", where);
	return 0;
}

/*
 * "sync": {"ca": FILE, "cert": FILE, "enrolment_code": CODE, "interval_s": N}, all optional and
 * only with server_url: the chain CA certificate trusted until registration gives one, a client
 * certificate provisioned by hand, the one-time code to register with, the seconds between
 * rounds (docs/sync-client.md).
 */
static int parse_sync(const cJSON *root, struct terminal_config *t, char *err, size_t err_size)
{
	static const char *const keys[] = {"ca", "cert", "enrolment_code", "interval_s", NULL};
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "sync");
	int r;
	t->sync_interval_s = CONFIG_SYNC_INTERVAL_DEFAULT;
	if (!s)
		return 0;
	if (!(s = get_object(root, "sync", err, err_size)))
		return -EINVAL;
	if (!t->server_url[0])
		return fail(err, err_size, "sync: needs server_url (the chain's sync server)");
	if ((r = only_keys(s, "sync", keys, err, err_size)) < 0 ||
	    (r = get_string(s, "sync", "ca", false, t->sync_ca, sizeof(t->sync_ca), err,
			    err_size)) < 0 ||
	    (r = check_path("sync.ca", t->sync_ca, err, err_size)) < 0 ||
	    (r = get_string(s, "sync", "cert", false, t->sync_cert, sizeof(t->sync_cert), err,
			    err_size)) < 0 ||
	    (r = check_path("sync.cert", t->sync_cert, err, err_size)) < 0 ||
	    (r = get_string(s, "sync", "enrolment_code", false, t->sync_enrolment_code,
			    sizeof(t->sync_enrolment_code), err, err_size)) < 0 ||
	    (r = get_opt_int(s, "sync", "interval_s", 5, 86400, &t->sync_interval_s, err,
			     err_size)) < 0)
		return r;
	if (t->sync_enrolment_code[0] && !tsync_enrol_code_valid(t->sync_enrolment_code))
		return fail(err, err_size,
			    "sync.enrolment_code: must be XXXXX-XXXXX-XXXXX-XXXXX (Crockford base32 "
			    "capitals, as loyalty-server enrol prints it)");
	return 0;
}

int terminal_config_parse(const char *text, size_t len, struct terminal_config *ret_config,
			  char *err, size_t err_size)
{
	static const char *const keys[] = {
	    "version",	      "terminal_id", "store",	   "card_url_base",
	    "retention_days", "register",    "server_url", "receipt", "sync", NULL};
	static const char *const register_keys[] = {"listen", "token", NULL};
	static const char *const store_keys[] = {"name", "address", NULL};
	struct terminal_config t = {0};
	const cJSON *store;
	int r;

	cJSON *root = parse_root(text, len, err, err_size);
	if (!root)
		return -EINVAL;
	if ((r = check_version(root, err, err_size)) < 0 ||
	    (r = only_keys(root, "", keys, err, err_size)) < 0 ||
	    (r = get_string(root, "", "terminal_id", true, t.terminal_id, sizeof(t.terminal_id),
			    err, err_size)) < 0)
		goto out;
	r = -EINVAL;
	if (!ledger_terminal_id_valid(t.terminal_id)) {
		fail(err, err_size, "terminal_id: must be 1 to 16 of A-Z and 0-9, got '%s'",
		     t.terminal_id);
		goto out;
	}
	if (!(store = get_object(root, "store", err, err_size)))
		goto out;
	if ((r = only_keys(store, "store", store_keys, err, err_size)) < 0 ||
	    (r = get_string(store, "store", "name", true, t.store_name, sizeof(t.store_name), err,
			    err_size)) < 0 ||
	    (r = get_string(store, "store", "address", false, t.store_address,
			    sizeof(t.store_address), err, err_size)) < 0 ||
	    (r = get_string(root, "", "card_url_base", true, t.card_url_base,
			    sizeof(t.card_url_base), err, err_size)) < 0)
		goto out;
	r = -EINVAL;
	if (!t.store_name[0]) {
		fail(err, err_size, "store.name: must not be empty");
		goto out;
	}
	/* https, or plain http to this machine's own card pages (a development server) */
	bool loopback_http = !strncmp(t.card_url_base, "http://127.0.0.1:", 17) ||
			     !strncmp(t.card_url_base, "http://localhost:", 17);
	if ((strncmp(t.card_url_base, "https://", 8) != 0 && !loopback_http) ||
	    strlen(t.card_url_base) < 10 || strpbrk(t.card_url_base, " \t\r\n\"<>")) {
		fail(err, err_size,
		     "card_url_base: must be an https:// URL without spaces (or http://127.0.0.1:PORT/... "
		     "for a development server on this machine)");
		goto out;
	}
	if ((r = get_string(root, "", "server_url", false, t.server_url, sizeof(t.server_url), err,
			    err_size)) < 0)
		goto out;
	r = -EINVAL;
	if (t.server_url[0] &&
	    (strncmp(t.server_url, "https://", 8) != 0 || strlen(t.server_url) < 10 ||
	     strpbrk(t.server_url, " \t\r\n\"<>"))) {
		fail(err, err_size, "server_url: must be an https:// URL without spaces");
		goto out;
	}
	t.retention_days = CONFIG_RETENTION_DAYS_DEFAULT;
	if (cJSON_GetObjectItemCaseSensitive(root, "retention_days")) {
		if ((r = get_int(root, "", "retention_days", LEDGER_RETENTION_DAYS_MIN, 36500,
				 &t.retention_days, err, err_size)) < 0)
			goto out;
	}
	const cJSON *reg = cJSON_GetObjectItemCaseSensitive(root, "register");
	if (reg) {
		if (!(reg = get_object(root, "register", err, err_size)) ||
		    (r = only_keys(reg, "register", register_keys, err, err_size)) < 0 ||
		    (r = get_string(reg, "register", "listen", true, t.register_listen,
				    sizeof(t.register_listen), err, err_size)) < 0 ||
		    (r = get_string(reg, "register", "token", false, t.register_token,
				    sizeof(t.register_token), err, err_size)) < 0) {
			r = -EINVAL;
			goto out;
		}
		bool loopback;
		if ((r = config_listen_parse(t.register_listen, NULL, &loopback)) < 0) {
			fail(err, err_size,
			     "register.listen: must be an IP address and port, like 127.0.0.1:8731 "
			     "or [::1]:8731, got '%s'",
			     t.register_listen);
			goto out;
		}
		if (t.register_token[0] && strlen(t.register_token) < 16) {
			r = fail(err, err_size, "register.token: must be at least 16 characters");
			goto out;
		}
		if (!loopback && !t.register_token[0]) {
			r = fail(err, err_size,
				 "register.token: required when register.listen is not loopback");
			goto out;
		}
	}
	if ((r = parse_receipt(root, &t, err, err_size)) < 0 ||
	    (r = parse_sync(root, &t, err, err_size)) < 0)
		goto out;
	*ret_config = t;
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}

int config_read_file(const char *path, size_t max, char **ret_text, size_t *ret_len, char *err,
		     size_t err_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		fail(err, err_size, "%s: %s", path, strerror(errno));
		return r;
	}
	char *text = malloc(max + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, text + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			fail(err, err_size, "%s: %s", path, strerror(errno));
			free(text);
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t) n;
		if (len > max) {
			free(text);
			close(fd);
			return fail(err, err_size, "%s: larger than %zu bytes", path, max);
		}
	}
	close(fd);
	*ret_text = text;
	*ret_len = len;
	return 0;
}

int board_profile_load(const char *path, struct board_profile *ret_profile, char *err,
		       size_t err_size)
{
	char *text, why[CONFIG_ERR_MAX];
	size_t len;
	int r = config_read_file(path, CONFIG_FILE_MAX, &text, &len, err, err_size);
	if (r < 0)
		return r;
	r = board_profile_parse(text, len, ret_profile, why, sizeof(why));
	free(text);
	if (r < 0)
		snprintf(err, err_size, "%s: %s", path, why);
	return r;
}

int terminal_config_load(const char *path, struct terminal_config *ret_config, char *err,
			 size_t err_size)
{
	char *text, why[CONFIG_ERR_MAX];
	size_t len;
	int r = config_read_file(path, CONFIG_FILE_MAX, &text, &len, err, err_size);
	if (r < 0)
		return r;
	r = terminal_config_parse(text, len, ret_config, why, sizeof(why));
	free(text);
	if (r < 0)
		snprintf(err, err_size, "%s: %s", path, why);
	return r;
}

int config_listen_parse(const char *text, struct sockaddr_storage *ret_addr, bool *ret_loopback)
{
	char host[64];
	const char *colon;
	struct sockaddr_storage ss = {0};

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':' || (size_t) (close - text - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, (size_t) (close - text - 1));
		host[close - text - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || (size_t) (colon - text) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, (size_t) (colon - text));
		host[colon - text] = '\0';
	}
	char *end;
	if (!colon[1] || colon[1] == '-' || colon[1] == '+')
		return -EINVAL;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port > 65535)
		return -EINVAL;
	struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
	if (text[0] != '[' && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t) port);
		*ret_loopback = (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	} else if (text[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t) port);
		*ret_loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	} else {
		return -EINVAL;
	}
	if (ret_addr)
		*ret_addr = ss;
	return 0;
}

/* Write a whole file through a temporary one, fsynced, renamed in place. */
int config_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? -errno : -EIO;
			close(fd);
			unlink(tmp);
			return r;
		}
		p += n;
		left -= (size_t) n;
	}
	if (fsync(fd) < 0) {
		int r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}
