/*
 * sun_fuzz: the SUN URL parser on arbitrary text. The first byte picks the parameter names (the
 * default "picc_data"/"cmac", AN12196's "e"/"c", or "picc_data"/"cmac" with the MAC input from
 * "enc"), the rest is the URL. It must not crash or read past the input; the status is a known
 * one; an accepted URL's values are the uppercase hex found in its text, its MAC input lies
 * inside the URL and ends where the MAC's value starts; verification with zero keys gives a
 * known status, and SUN_OK only when the MAC computed for the decrypted tap matches.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sun.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "sun_fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define MAC_HEX ((size_t) 2 * SUN_MAC_LEN)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct sun_url_format formats[] = {
    {.picc_param = "picc_data", .mac_param = "cmac"},
    {.picc_param = "e", .mac_param = "c"},
    {.picc_param = "picc_data", .mac_param = "cmac", .mac_input_param = "enc"},
};

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* "name=value" occurs in url at a parameter boundary ('?' or '&' before it). */
static int has_param(const char *url, size_t len, const char *name, const char *value)
{
	char want[64];
	int n = snprintf(want, sizeof(want), "%s=%s", name, value);
	size_t wl = (size_t) n;
	for (size_t i = 1; i + wl <= len; i++) {
		if ((url[i - 1] == '?' || url[i - 1] == '&') && memcmp(url + i, want, wl) == 0)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero_key[SUN_KEY_LEN];
	const struct sun_url_format *f;
	struct sun_url u;
	struct sun_tap tap;
	enum sun_status st = SUN_STATUS_MAX;
	char text[2 * SUN_PICC_DATA_LEN + 1];
	char *url;
	size_t len;

	if (size == 0)
		return 0;
	f = &formats[data[0] % (sizeof(formats) / sizeof(formats[0]))];
	len = size - 1;
	/* an exact-size copy, so reading past the input shows under ASan */
	url = malloc(len ? len : 1);
	if (!url)
		return 0;
	if (len)
		memcpy(url, data + 1, len);

	CHECK(sun_url_parse(url, len, f, &u, &st) == 0);
	CHECK(st < SUN_STATUS_MAX);
	CHECK(sun_status_str(st) != NULL);
	if (st == SUN_OK) {
		CHECK(len <= SUN_URL_MAX);
		hex(u.picc_data, SUN_PICC_DATA_LEN, text);
		CHECK(has_param(url, len, f->picc_param, text));
		hex(u.mac, SUN_MAC_LEN, text);
		CHECK(has_param(url, len, f->mac_param, text));
		/* the MAC's value closes the URL */
		CHECK(memcmp(url + len - MAC_HEX, text, MAC_HEX) == 0);
		if (f->mac_input_param) {
			CHECK(u.mac_input >= url && u.mac_input + u.mac_input_len <= url + len);
			CHECK(u.mac_input + u.mac_input_len == url + len - MAC_HEX);
		} else {
			CHECK(u.mac_input == NULL && u.mac_input_len == 0);
		}
		CHECK(sun_verify(zero_key, zero_key, &u, &tap, &st) == 0);
		CHECK(st == SUN_OK || st == SUN_BAD_PICC_DATA || st == SUN_BAD_MAC);
		if (st == SUN_OK) {
			uint8_t mac[SUN_MAC_LEN];
			CHECK(tap.read_ctr <= SUN_READ_CTR_MAX);
			CHECK(sun_mac(zero_key, &tap, u.mac_input, u.mac_input_len, mac) == 0);
			CHECK(memcmp(mac, u.mac, SUN_MAC_LEN) == 0);
		}
	}
	free(url);
	return 0;
}
