/*
 * server_sun_keys_fuzz: the --sun-keys file's parser (tools/server/sun_keys) on any bytes. It
 * must not crash or read past the input; it accepts exactly two lines of 32 hex digits (each
 * ended by LF or CRLF, the last one optionally by nothing), and then the keys are the digits'
 * bytes; otherwise it refuses with a sentence and leaves the keys alone. Links server_parse
 * (tools/server/CMakeLists.txt adds it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sun_keys.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "server_sun_keys_fuzz: %s:%d: %s\n", __FILE__, __LINE__,   \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define LINE_HEX (2 * SUN_KEY_LEN)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A line of 32 hex digits at text[*pos] that decodes to key, then its end; *pos past it. */
static int line_matches(const char *text, size_t len, size_t *pos, const uint8_t *key)
{
	size_t i = *pos;
	if (len - i < LINE_HEX)
		return 0;
	for (size_t k = 0; k < SUN_KEY_LEN; k++) {
		int hi = hexval(text[i + 2 * k]), lo = hexval(text[i + 2 * k + 1]);
		if (hi < 0 || lo < 0 || key[k] != (uint8_t) (hi << 4 | lo))
			return 0;
	}
	i += LINE_HEX;
	if (i < len && text[i] == '\r') {
		if (i + 1 >= len || text[i + 1] != '\n')
			return 0;
		i++;
	}
	if (i < len) {
		if (text[i] != '\n')
			return 0;
		i++;
	}
	*pos = i;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t meta[SUN_KEY_LEN], file[SUN_KEY_LEN];
	char err[160];
	size_t pos = 0;
	char *text;
	int r;

	/* an exact-size copy, so reading past the input shows under ASan */
	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	memset(meta, 0xa5, sizeof(meta));
	memset(file, 0x5a, sizeof(file));
	err[0] = '\0';

	r = sun_keys_parse(text, size, meta, file, err, sizeof(err));
	if (r == 0) {
		/* 32 + 32 digits, two line ends at most of two bytes each */
		CHECK(size >= 2 * LINE_HEX + 1 && size <= 2 * LINE_HEX + 4);
		CHECK(line_matches(text, size, &pos, meta));
		CHECK(pos < size);
		CHECK(line_matches(text, size, &pos, file));
		CHECK(pos == size);
		CHECK(memchr(text, '\0', size) == NULL);
	} else {
		CHECK(r == -EINVAL || (r == -EFBIG && size > SUN_KEYS_TEXT_MAX));
		CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
		for (size_t i = 0; i < SUN_KEY_LEN; i++)
			CHECK(meta[i] == 0xa5 && file[i] == 0x5a);
	}
	free(text);
	return 0;
}
