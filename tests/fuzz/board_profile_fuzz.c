/* board_profile_fuzz: board profile and terminal config parsing of arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct board_profile b;
	struct terminal_config t;
	char err[CONFIG_ERR_MAX];
	if (board_profile_parse((const char *) data, size, &b, err, sizeof(err)) == 0) {
		if (b.printer.width_dots < 128 || b.printer.width_dots > 1024 ||
		    b.printer.qr_module_dots < 4 || b.name[sizeof(b.name) - 1] != '\0')
			abort();
	} else if (!err[0] || !memchr(err, '\0', sizeof(err))) {
		abort(); /* a refusal always says why */
	}
	if (terminal_config_parse((const char *) data, size, &t, err, sizeof(err)) == 0) {
		/* https, or plain http to this machine only (a development server's pages) */
		if (!t.terminal_id[0] || (strncmp(t.card_url_base, "https://", 8) != 0 &&
					  strncmp(t.card_url_base, "http://127.0.0.1:", 17) != 0 &&
					  strncmp(t.card_url_base, "http://localhost:", 17) != 0))
			abort();
		/* every text the store set is a template the receipt takes */
		for (int slot = 0; slot < RECEIPT_TEXT_MAX; slot++) {
			struct receipt_texts probe = {0};
			if (t.receipt_texts.src[slot][0] &&
			    receipt_texts_set(&probe, receipt_text_name((enum receipt_text) slot),
					      t.receipt_texts.src[slot], err, sizeof(err)) != 0)
				abort();
		}
	}
	return 0;
}
