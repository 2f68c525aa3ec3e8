/*
 * config: the two configuration files of a terminal, validated at load with messages that
 * name the field and the problem.
 *
 * - The board profile (board/<name>/board.json): which driver runs each device class and how
 *   the printer is built. Hardware only.
 * - The terminal config (terminal.json in the state folder, written at provisioning): terminal
 *   id, store name and address, the card page URL base.
 * Both are JSON objects with "version": 1; unknown keys are refused (a typo must not pass).
 */
#pragma once

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "printer.h"
#include "printer_profile.h"
#include "receipt.h"

#define CONFIG_FILE_MAX (64 * 1024)
#define CONFIG_ERR_MAX	256

struct board_profile {
	char name[32];
	char nfc_driver[16];
	char nfc_connstring[128]; /* empty: the first reader libnfc finds */
	char printer_driver[16];
	char printer_path[256]; /* device or file ("escpos", "usb", "serial"); unused otherwise */
	/* the link to the printer (docs/printers.md); 0 or "" where a driver does not use it */
	unsigned printer_baud;			     /* "serial": default 9600 */
	enum hal_printer_flow printer_flow;	     /* "serial": default none */
	char printer_host[64];			     /* "tcp": an IP literal */
	unsigned printer_port;			     /* "tcp": default 9100 */
	int printer_timeout_ms;			     /* usb, serial, tcp: a whole job */
	int printer_status_timeout_ms;		     /* usb, serial, tcp: one DLE EOT round trip */
	enum hal_printer_status_mode printer_status; /* usb, serial, tcp: default auto */
	struct printer_profile printer;
	bool printer_preview; /* "sim": render each receipt to <receipt>.png beside its .escpos */
	/* the 2D scanner: "" none, "serial", "hid" or "sim" (hal/scanner) */
	char scanner_driver[16];
	char scanner_path[128];
	unsigned scanner_baud; /* "serial"; 0: the driver's default */
	char console_driver[16];
	char clock_driver[16];
};

#define CONFIG_URL_MAX		     128
#define CONFIG_SYNC_INTERVAL_DEFAULT 30

struct terminal_config {
	char terminal_id[17];
	char store_name[48];
	char store_address[96];
	char card_url_base[96];
	int retention_days; /* synced events older than this are purged; default 730 */
	/* the cash register's HTTP API: "" when off, else an IP literal and port ("127.0.0.1:8731",
	 * "[::1]:8731"; port 0: any free port); a token is required off loopback */
	char register_listen[64];
	char register_token[96];
	/* the chain's sync server; "" for a terminal on its own, whose ledger is the authority.
	 * With a server, the terminal is offline until it syncs: redemption then follows the
	 * programme's offline limits. */
	char server_url[CONFIG_URL_MAX];
	/* "sync" (with server_url): the chain CA file trusted until registration stores one, a
	 * client certificate provisioned by hand, the enrolment code to register with, the seconds
	 * between sync rounds (docs/sync-client.md); "" when not given */
	char sync_ca[256];
	char sync_cert[256];
	char sync_enrolment_code[24];
	int sync_interval_s; /* default CONFIG_SYNC_INTERVAL_DEFAULT */
	/* the receipt's language and the store's own texts (app/receipt, templates) */
	enum programme_lang receipt_lang;
	struct receipt_texts receipt_texts;
};

#define CONFIG_RETENTION_DAYS_DEFAULT 730

/*
 * The hal_printer_config of a board's printer: its link fields, path = printer_path (the caller
 * sets the output folder for "sim"). Pointers point into the profile.
 */
void board_profile_printer_config(const struct board_profile *profile,
				  struct hal_printer_config *ret_config);

/* Parse a board profile from text. Returns 0, or -EINVAL with err set to "<field>: <problem>". */
int board_profile_parse(const char *text, size_t len, struct board_profile *ret_profile, char *err,
			size_t err_size);
int terminal_config_parse(const char *text, size_t len, struct terminal_config *ret_config,
			  char *err, size_t err_size);

/*
 * Read a whole file of at most max bytes into a new buffer (the caller frees
 * it). Returns 0, -EINVAL past max, or a negative errno; err names the path and the problem.
 */
int config_read_file(const char *path, size_t max, char **ret_text, size_t *ret_len, char *err,
		     size_t err_size);

/*
 * Write a whole file through a temporary one beside it (path.new), fsynced, renamed in place:
 * a crash leaves the old file or the new one, never a part. 0 or a negative errno.
 */
int config_write_file(const char *path, const void *data, size_t len, mode_t mode);

/* Read and parse a file (at most CONFIG_FILE_MAX bytes); err names the path and the problem. */
int board_profile_load(const char *path, struct board_profile *ret_profile, char *err,
		       size_t err_size);
int terminal_config_load(const char *path, struct terminal_config *ret_config, char *err,
			 size_t err_size);

/*
 * Parse "a.b.c.d:port" or "[v6]:port" (IP literals only: no name lookups at start). Returns 0
 * with the address (when ret_addr is not NULL) and whether it is a loopback address, or
 * -EINVAL.
 */
int config_listen_parse(const char *text, struct sockaddr_storage *ret_addr, bool *ret_loopback);
