/*
 * codepage: UTF-8 to CP852 / CP1250 for the receipt printer, and back for single bytes.
 *
 * The tables below are ours (written from the code page charts, checked against glibc iconv in
 * tests/unit/codepage_test.c), so the device needs no iconv or gconv modules. Encoding is a
 * strict UTF-8 decoder, a reverse lookup in the page, and a small fallback table; it is not a
 * general converter and knows no other page.
 */
#include "codepage.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define REPLACEMENT_CHAR 0xFFFDu

/* Bytes 0x80..0xFF as Unicode; 0 marks a byte the page leaves undefined. */
static const uint16_t cp852_high[128] = {
    /* 0x80 */ 0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x016F, 0x0107, 0x00E7,
    /* 0x88 */ 0x0142, 0x00EB, 0x0150, 0x0151, 0x00EE, 0x0179, 0x00C4, 0x0106,
    /* 0x90 */ 0x00C9, 0x0139, 0x013A, 0x00F4, 0x00F6, 0x013D, 0x013E, 0x015A,
    /* 0x98 */ 0x015B, 0x00D6, 0x00DC, 0x0164, 0x0165, 0x0141, 0x00D7, 0x010D,
    /* 0xA0 */ 0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x0104, 0x0105, 0x017D, 0x017E,
    /* 0xA8 */ 0x0118, 0x0119, 0x00AC, 0x017A, 0x010C, 0x015F, 0x00AB, 0x00BB,
    /* 0xB0 */ 0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x011A,
    /* 0xB8 */ 0x015E, 0x2563, 0x2551, 0x2557, 0x255D, 0x017B, 0x017C, 0x2510,
    /* 0xC0 */ 0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x0102, 0x0103,
    /* 0xC8 */ 0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4,
    /* 0xD0 */ 0x0111, 0x0110, 0x010E, 0x00CB, 0x010F, 0x0147, 0x00CD, 0x00CE,
    /* 0xD8 */ 0x011B, 0x2518, 0x250C, 0x2588, 0x2584, 0x0162, 0x016E, 0x2580,
    /* 0xE0 */ 0x00D3, 0x00DF, 0x00D4, 0x0143, 0x0144, 0x0148, 0x0160, 0x0161,
    /* 0xE8 */ 0x0154, 0x00DA, 0x0155, 0x0170, 0x00FD, 0x00DD, 0x0163, 0x00B4,
    /* 0xF0 */ 0x00AD, 0x02DD, 0x02DB, 0x02C7, 0x02D8, 0x00A7, 0x00F7, 0x00B8,
    /* 0xF8 */ 0x00B0, 0x00A8, 0x02D9, 0x0171, 0x0158, 0x0159, 0x25A0, 0x00A0,
};

static const uint16_t cp1250_high[128] = {
    /* 0x80 */ 0x20AC, 0,      0x201A, 0,      0x201E, 0x2026, 0x2020, 0x2021,
    /* 0x88 */ 0,      0x2030, 0x0160, 0x2039, 0x015A, 0x0164, 0x017D, 0x0179,
    /* 0x90 */ 0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    /* 0x98 */ 0,      0x2122, 0x0161, 0x203A, 0x015B, 0x0165, 0x017E, 0x017A,
    /* 0xA0 */ 0x00A0, 0x02C7, 0x02D8, 0x0141, 0x00A4, 0x0104, 0x00A6, 0x00A7,
    /* 0xA8 */ 0x00A8, 0x00A9, 0x015E, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x017B,
    /* 0xB0 */ 0x00B0, 0x00B1, 0x02DB, 0x0142, 0x00B4, 0x00B5, 0x00B6, 0x00B7,
    /* 0xB8 */ 0x00B8, 0x0105, 0x015F, 0x00BB, 0x013D, 0x02DD, 0x013E, 0x017C,
    /* 0xC0 */ 0x0154, 0x00C1, 0x00C2, 0x0102, 0x00C4, 0x0139, 0x0106, 0x00C7,
    /* 0xC8 */ 0x010C, 0x00C9, 0x0118, 0x00CB, 0x011A, 0x00CD, 0x00CE, 0x010E,
    /* 0xD0 */ 0x0110, 0x0143, 0x0147, 0x00D3, 0x00D4, 0x0150, 0x00D6, 0x00D7,
    /* 0xD8 */ 0x0158, 0x016E, 0x00DA, 0x0170, 0x00DC, 0x00DD, 0x0162, 0x00DF,
    /* 0xE0 */ 0x0155, 0x00E1, 0x00E2, 0x0103, 0x00E4, 0x013A, 0x0107, 0x00E7,
    /* 0xE8 */ 0x010D, 0x00E9, 0x0119, 0x00EB, 0x011B, 0x00ED, 0x00EE, 0x010F,
    /* 0xF0 */ 0x0111, 0x0144, 0x0148, 0x00F3, 0x00F4, 0x0151, 0x00F6, 0x00F7,
    /* 0xF8 */ 0x0159, 0x016F, 0x00FA, 0x0171, 0x00FC, 0x00FD, 0x0163, 0x02D9,
};

static const uint16_t *const high_tables[CODEPAGE_MAX] = {
    [CODEPAGE_CP852] = cp852_high,
    [CODEPAGE_CP1250] = cp1250_high,
};

static const char *const names[CODEPAGE_MAX] = {
    [CODEPAGE_CP852] = "CP852",
    [CODEPAGE_CP1250] = "CP1250",
};

/*
 * Fallbacks that are not a single base letter, or lie outside the letter ranges below. Used
 * only when the page lacks the character itself (CP1250 has its own quotes and dashes).
 */
static const struct {
	uint32_t cp;
	const char *ascii;
} fallback_special[] = {
    {0x00A0, " "}, /* no-break space */
    {0x00C6, "AE"},  {0x00E6, "ae"},  {0x00DF, "ss"}, {0x0132, "IJ"}, {0x0133, "ij"},
    {0x0152, "OE"},  {0x0153, "oe"},  {0x2010, "-"},  {0x2011, "-"},  {0x2012, "-"},
    {0x2013, "-"},   {0x2014, "-"},   {0x2015, "-"},  {0x2212, "-"}, /* minus sign */
    {0x2018, "'"},   {0x2019, "'"},   {0x201A, "'"},  {0x201B, "'"},  {0x2032, "'"},
    {0x201C, "\""},  {0x201D, "\""},  {0x201E, "\""}, {0x201F, "\""}, {0x2033, "\""},
    {0x2026, "..."}, {0x20AC, "EUR"},
};

/* Base letters for U+00C0..U+00FF and U+0100..U+017F; '?' where there is none. */
static const char fallback_latin1[64 + 1] = "AAAAAA?CEEEEIIII"
					    "DNOOOOO?OUUUUY??"
					    "aaaaaa?ceeeeiiii"
					    "dnooooo?ouuuuy?y";
static const char fallback_ext_a[128 + 1] = "AaAaAaCcCcCcCcDd"
					    "DdEeEeEeEeEeGgGg"
					    "GgGgHhHhIiIiIiIi"
					    "Ii??JjKkkLlLlLlL"
					    "lLlNnNnNnnNnOoOo"
					    "Oo??RrRrRrSsSsSs"
					    "SsTtTtTtUuUuUuUu"
					    "UuUuWwYyYZzZzZzs";

int codepage_from_name(const char *name, enum codepage *ret_cp)
{
	if (!name || !ret_cp)
		return -EINVAL;
	for (int i = 0; i < CODEPAGE_MAX; i++) {
		if (strcasecmp(name, names[i]) == 0) {
			*ret_cp = (enum codepage) i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *codepage_name(enum codepage cp)
{
	if ((unsigned) cp >= CODEPAGE_MAX)
		return NULL;
	return names[cp];
}

uint32_t codepage_decode(enum codepage cp, uint8_t byte)
{
	if ((unsigned) cp >= CODEPAGE_MAX)
		return REPLACEMENT_CHAR;
	if (byte < 0x80)
		return byte;
	uint16_t u = high_tables[cp][byte - 0x80];
	return u ? u : REPLACEMENT_CHAR;
}

/* The byte for code point u in the page, or -1 when the page lacks it. */
static int page_lookup(const uint16_t *high, uint32_t u)
{
	if (u < 0x80)
		return (int) u;
	if (u > 0xFFFF)
		return -1;
	for (int i = 0; i < 128; i++) {
		if (high[i] == u)
			return 0x80 + i;
	}
	return -1;
}

/* The ASCII stand-in for a character the page lacks: 1..3 bytes into buf, returns the count. */
static size_t fallback_for(uint32_t u, char buf[static 3])
{
	for (size_t i = 0; i < sizeof(fallback_special) / sizeof(fallback_special[0]); i++) {
		if (fallback_special[i].cp == u) {
			size_t n = strlen(fallback_special[i].ascii);
			memcpy(buf, fallback_special[i].ascii, n);
			return n;
		}
	}
	if (u >= 0xC0 && u < 0x100)
		buf[0] = fallback_latin1[u - 0xC0];
	else if (u >= 0x100 && u < 0x180)
		buf[0] = fallback_ext_a[u - 0x100];
	else
		buf[0] = '?';
	return 1;
}

/*
 * Decode one character at s (not at the terminating NUL). Returns its byte length and sets *u,
 * or, for ill-formed input, returns the length of the maximal invalid subpart (at least 1) and
 * sets *u to REPLACEMENT_CHAR with *invalid = true. Never reads past a NUL.
 */
static size_t utf8_next(const unsigned char *s, uint32_t *u, bool *invalid)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	uint32_t v;

	*invalid = false;
	if (c < 0x80) {
		*u = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0Fu;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07u;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* past U+10FFFF */
	} else {
		/* a stray continuation byte, an overlong lead (C0, C1) or F5..FF */
		*u = REPLACEMENT_CHAR;
		*invalid = true;
		return 1;
	}
	for (size_t i = 1; i <= need; i++) {
		unsigned char t = s[i];
		bool ok = i == 1 ? (t >= lo && t <= hi) : (t >= 0x80 && t <= 0xBF);
		if (!ok) {
			/* a NUL also ends up here, so a truncated sequence stops at it */
			*u = REPLACEMENT_CHAR;
			*invalid = true;
			return i;
		}
		v = (v << 6) | (t & 0x3Fu);
	}
	*u = v;
	return need + 1;
}

size_t codepage_encode(enum codepage cp, const char *utf8, uint8_t *out, size_t cap,
		       size_t *ret_replaced)
{
	size_t len = 0;
	size_t replaced = 0;

	if ((unsigned) cp >= CODEPAGE_MAX || !utf8 || !out) {
		if (ret_replaced)
			*ret_replaced = 0;
		return 0;
	}
	const uint16_t *high = high_tables[cp];
	const unsigned char *p = (const unsigned char *) utf8;
	while (cap > 0 && *p) {
		uint32_t u;
		bool invalid;
		p += utf8_next(p, &u, &invalid);

		int byte = invalid ? -1 : page_lookup(high, u);
		if (byte >= 0) {
			if (len + 1 > cap)
				break;
			out[len++] = (uint8_t) byte;
			continue;
		}
		char fb[3] = {'?'};
		size_t n = invalid ? 1 : fallback_for(u, fb);
		if (n > cap - len)
			break;
		memcpy(out + len, fb, n);
		len += n;
		replaced++;
	}
	if (ret_replaced)
		*ret_replaced = replaced;
	return len;
}
