/* server_pages_fuzz: what the customer's pages parse from the outside (tools/server/pages_parse):
 * the path, Accept-Language, a form body, a typed card code, a receipt number, and HTML escaping,
 * from any bytes: each accepted result is in range, each refusal has a reason, and escaped text
 * holds no markup character. Links server_parse (tools/server/CMakeLists.txt adds it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pages_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool in_alphabet(const char *s)
{
	return strspn(s, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct pages_path path;
	pages_parse_path(text, &path);
	if (path.route != PAGES_NOT_FOUND &&
	    (path.token_len < 1 || path.token_len > PAGES_PATH_TOKEN_MAX ||
	     strlen(path.token) != path.token_len))
		abort();

	enum pages_lang lang = pages_pick_lang(NULL, text);
	if (lang != PAGES_PL && lang != PAGES_EN)
		abort();

	struct pages_form f;
	char why[160] = "";
	if (pages_parse_form(text, size, &f, why, sizeof(why)) == 0) {
		if (f.score < -1 || f.score > 10 || strlen(f.comment) > PAGES_COMMENT_MAX ||
		    strchr(f.comment, '\r'))
			abort();
		for (const char *s = f.card; *s; s++)
			if ((unsigned char) *s < 0x20)
				abort();
	} else if (!why[0]) {
		abort();
	}

	char code[LEDGER_CARD_CODE_LEN + 1];
	if (pages_card_code(text, code) == 0 &&
	    (strlen(code) != LEDGER_CARD_CODE_LEN || !in_alphabet(code)))
		abort();

	char tid[LEDGER_TERMINAL_ID_MAX + 1];
	int64_t seq;
	if (pages_parse_receipt(text, tid, &seq) == 0 && (seq < 1 || !tid[0]))
		abort();

	struct buf b;
	buf_init(&b, 8 * size + 16);
	if (pages_html(&b, text) == 0) {
		const char *out = buf_cstr(&b);
		if (strpbrk(out, "<>\"'"))
			abort();
	}
	buf_free(&b);
	free(text);
	return 0;
}
