/*
 * pages_parse: what the customer's pages (pages.c, docs/card-page.md) read from the outside,
 * with no HTTP, store or clock: the path of a page, the language a browser prefers, an
 * application/x-www-form-urlencoded body, a card code a person typed; and HTML escaping of
 * everything the pages write. Every parser takes any bytes (tests/fuzz/pages_fuzz.c) and either
 * gives a result whose every field is in range or refuses.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ledger.h"
#include "token.h"

#define PAGES_PATH_TOKEN_MAX 200 /* characters of a token in a path; longer is not found */
#define PAGES_CSRF_MAX	     80
#define PAGES_COMMENT_MAX    500 /* bytes of UTF-8 */
#define PAGES_FORM_MAX	     4096
#define PAGES_NAME_MAX	     160 /* bytes of a first name as typed (spaces and all) */

enum pages_lang { PAGES_PL, PAGES_EN };

enum pages_route {
	PAGES_NOT_FOUND,
	PAGES_TOKEN,	  /* /C/<token> (or /c/<token>) */
	PAGES_TOKEN_DATA, /* /C/<token>/data.json: the member's data, for download */
};

struct pages_path {
	enum pages_route route;
	char token[PAGES_PATH_TOKEN_MAX + 1]; /* as it stands in the path (not checked) */
	size_t token_len;
	bool lower_prefix;  /* /c/ rather than /C/ */
	bool token_lower;   /* the token has lowercase letters: canonical is uppercase */
};

/*
 * The route of a request path (without the query): "/C/" or "/c/", then 1 to
 * PAGES_PATH_TOKEN_MAX letters and digits, then nothing or "/data.json". Anything else is
 * PAGES_NOT_FOUND. The token is not checked here (token_verify does).
 */
void pages_parse_path(const char *path, struct pages_path *ret);

/*
 * The page language: lang_param ("pl" or "en", from ?lang=) when given and known, else the
 * first of pl and en with the highest q in an Accept-Language header (RFC 9110: tags with
 * optional ";q=0.xyz", compared in thousandths, no floating point), else Polish. NULLs are fine.
 */
enum pages_lang pages_pick_lang(const char *lang_param, const char *accept_language);

/* The fields a page's form may send; each at most once, nothing else. */
struct pages_form {
	char csrf[PAGES_CSRF_MAX + 1];
	char action[16];       /* claim, survey, consent, erase */
	char card[32];	       /* a card code as typed, normalised by pages_card_code */
	bool new_card;	       /* card=new: make a new card */
	int score;	       /* 0-10, -1 when absent */
	char comment[PAGES_COMMENT_MAX + 1];
	char receipt[LEDGER_RECEIPT_NO_MAX + 1];
	bool marketing, first_name, confirm; /* checkboxes: present means on */
	char name[PAGES_NAME_MAX + 1];	     /* the first name as typed (first_name_clean checks) */
	bool has[16];			     /* which fields came, by enum pages_field */
};

enum pages_field {
	PAGES_F_CSRF,
	PAGES_F_ACTION,
	PAGES_F_CARD,
	PAGES_F_SCORE,
	PAGES_F_COMMENT,
	PAGES_F_RECEIPT,
	PAGES_F_MARKETING,
	PAGES_F_FIRST_NAME,
	PAGES_F_CONFIRM,
	PAGES_F_NAME,
	PAGES_F_MAX
};

/*
 * Parse an application/x-www-form-urlencoded body of len bytes (at most PAGES_FORM_MAX):
 * name=value pairs joined by '&', '+' a space, %XY a byte; names from the list above, each at
 * most once; values within their sizes, valid UTF-8 without control characters (the comment may
 * hold line breaks; a CR is dropped), score 0-10 as digits, checkboxes "on". 0, or -EINVAL with
 * an English reason in why (size why_size).
 */
__attribute__((warn_unused_result)) int pages_parse_form(const char *body, size_t len,
							 struct pages_form *ret, char *why,
							 size_t why_size);

/*
 * A card code as a person types it into out[LEDGER_CARD_CODE_LEN + 1]: spaces and hyphens
 * dropped, lowercase taken as uppercase, I and L read as 1, O as 0 (Crockford's reading rules);
 * then exactly 12 characters of the alphabet. 0 or -EINVAL.
 */
__attribute__((warn_unused_result)) int pages_card_code(const char *typed,
							char out[LEDGER_CARD_CODE_LEN + 1]);

/* A receipt number "<terminal>-<seq>" (1-16 of A-Z 0-9, '-', 1-10 digits, seq >= 1). */
__attribute__((warn_unused_result)) int pages_parse_receipt(const char *text,
							    char terminal_id[LEDGER_TERMINAL_ID_MAX + 1],
							    int64_t *ret_seq);

/* Append s (NUL-terminated) to b with & < > " ' escaped. 0 or buf's error. */
__attribute__((warn_unused_result)) int pages_html(struct buf *b, const char *s);
