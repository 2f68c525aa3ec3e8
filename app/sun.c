/*
 * sun: NTAG 424 DNA SUN messages: the URL's query, the PICC data and the SDMMAC (AES mode).
 * libcrypto (OpenSSL 3) does AES and CMAC; its errors become -EIO here, at the boundary.
 */
#include "sun.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

const struct sun_url_format sun_url_format_default = {
    .picc_param = "picc_data",
    .mac_param = "cmac",
    .mac_input_param = NULL,
};

static const char *const status_str[SUN_STATUS_MAX] = {
    [SUN_OK] = "ok",
    [SUN_NO_QUERY] = "no query",
    [SUN_BAD_QUERY] = "malformed query",
    [SUN_MISSING_PARAM] = "missing parameter",
    [SUN_BAD_HEX] = "not uppercase hex",
    [SUN_BAD_LENGTH] = "bad length",
    [SUN_BAD_PICC_DATA] = "bad picc data",
    [SUN_BAD_MAC] = "bad mac",
};

const char *sun_status_str(enum sun_status status)
{
	if ((unsigned) status >= SUN_STATUS_MAX)
		return "unknown status";
	return status_str[status];
}

/* ---- the URL's query ---- */

static bool name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > SUN_PARAM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

static bool format_valid(const struct sun_url_format *f)
{
	if (!name_valid(f->picc_param) || !name_valid(f->mac_param) ||
	    strcmp(f->picc_param, f->mac_param) == 0)
		return false;
	if (!f->mac_input_param)
		return true;
	return name_valid(f->mac_input_param) && strcmp(f->mac_input_param, f->picc_param) != 0 &&
	       strcmp(f->mac_input_param, f->mac_param) != 0;
}

static bool name_is(const char *s, size_t len, const char *name)
{
	return name && strlen(name) == len && memcmp(s, name, len) == 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Uppercase hex of exactly 2 * n digits into out; the status says what is wrong. */
static enum sun_status hex_value(const char *s, size_t len, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < len; i++) {
		if (hex_digit(s[i]) < 0)
			return SUN_BAD_HEX;
	}
	if (len != 2 * n)
		return SUN_BAD_LENGTH;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t) (hex_digit(s[2 * i]) << 4 | hex_digit(s[2 * i + 1]));
	return SUN_OK;
}

enum { P_PICC, P_MAC, P_INPUT, P_MAX };

static enum sun_status parse_query(const char *url, size_t len, const struct sun_url_format *f,
				   struct sun_url *out)
{
	const char *q = memchr(url, '?', len);
	const char *val[P_MAX] = {NULL};
	size_t val_len[P_MAX] = {0};
	const char *end = url + len;
	enum sun_status st;

	if (len > SUN_URL_MAX)
		return SUN_BAD_LENGTH;
	if (!q || q + 1 == end)
		return SUN_NO_QUERY;
	if (memchr(url, '#', len))
		return SUN_BAD_QUERY;
	for (const char *p = q + 1; p <= end;) {
		const char *amp = memchr(p, '&', (size_t) (end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t) (stop - p));
		int which;

		if (!eq || eq == p)
			return SUN_BAD_QUERY;
		if (name_is(p, (size_t) (eq - p), f->picc_param))
			which = P_PICC;
		else if (name_is(p, (size_t) (eq - p), f->mac_param))
			which = P_MAC;
		else if (name_is(p, (size_t) (eq - p), f->mac_input_param))
			which = P_INPUT;
		else
			return SUN_BAD_QUERY;
		/* repeated, or anything after the MAC (it would not be authenticated) */
		if (val[which] || val[P_MAC])
			return SUN_BAD_QUERY;
		val[which] = eq + 1;
		val_len[which] = (size_t) (stop - eq - 1);
		if (!amp)
			break;
		p = amp + 1;
	}
	if (!val[P_PICC] || !val[P_MAC] || (f->mac_input_param && !val[P_INPUT]))
		return SUN_MISSING_PARAM;
	if ((st = hex_value(val[P_PICC], val_len[P_PICC], out->picc_data, SUN_PICC_DATA_LEN)))
		return st;
	if ((st = hex_value(val[P_MAC], val_len[P_MAC], out->mac, SUN_MAC_LEN)))
		return st;
	if (f->mac_input_param) {
		/* before the MAC, which is last: the input ends where the MAC's value starts */
		out->mac_input = val[P_INPUT];
		out->mac_input_len = (size_t) (val[P_MAC] - val[P_INPUT]);
	} else {
		out->mac_input = NULL;
		out->mac_input_len = 0;
	}
	return SUN_OK;
}

int sun_url_parse(const char *url, size_t len, const struct sun_url_format *format,
		  struct sun_url *ret_url, enum sun_status *ret_status)
{
	struct sun_url u = {{0}};

	if (!url || !format || !ret_url || !ret_status || !format_valid(format))
		return -EINVAL;
	enum sun_status st = parse_query(url, len, format, &u);
	if (st == SUN_OK)
		*ret_url = u;
	*ret_status = st;
	return 0;
}

/* ---- crypto ---- */

/* AES-128 in the given mode with padding off; iv NULL for ECB. */
static int aes_crypt(const EVP_CIPHER *cipher, bool enc, const uint8_t key[SUN_KEY_LEN],
		     const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0, r = -EIO;

	if (!ctx)
		return -EIO;
	if (EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, enc ? 1 : 0) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int) len) == 1 &&
	    EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 && (size_t) (n + fin) == len)
		r = 0;
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

static int aes_cmac(const uint8_t key[SUN_KEY_LEN], const void *data, size_t len, uint8_t out[16])
{
	char cipher[] = "AES-128-CBC";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
	    OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t outl = 0;
	int r = -EIO;

	if (ctx && EVP_MAC_init(ctx, key, SUN_KEY_LEN, params) == 1 &&
	    (len == 0 || EVP_MAC_update(ctx, data, len) == 1) &&
	    EVP_MAC_final(ctx, out, &outl, 16) == 1 && outl == 16)
		r = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return r;
}

int sun_picc_decrypt(const uint8_t meta_key[SUN_KEY_LEN],
		     const uint8_t picc_data[SUN_PICC_DATA_LEN], struct sun_tap *ret_tap,
		     enum sun_status *ret_status)
{
	uint8_t plain[16];
	int r;

	if (!meta_key || !picc_data || !ret_tap || !ret_status)
		return -EINVAL;
	if ((r = aes_crypt(EVP_aes_128_ecb(), false, meta_key, NULL, picc_data, 16, plain)) < 0)
		return r;
	/* tag, UID (7), SDMReadCtr (3, least significant first), then random padding */
	if (plain[0] != SUN_PICC_DATA_TAG) {
		*ret_status = SUN_BAD_PICC_DATA;
	} else {
		memcpy(ret_tap->uid, plain + 1, SUN_UID_LEN);
		ret_tap->read_ctr =
		    (uint32_t) plain[8] | (uint32_t) plain[9] << 8 | (uint32_t) plain[10] << 16;
		*ret_status = SUN_OK;
	}
	OPENSSL_cleanse(plain, sizeof(plain));
	return 0;
}

int sun_session_mac_key(const uint8_t file_key[SUN_KEY_LEN], const struct sun_tap *tap,
			uint8_t ret_key[SUN_KEY_LEN])
{
	uint8_t sv2[16] = {0x3c, 0xc3, 0x00, 0x01, 0x00, 0x80};

	if (!file_key || !tap || !ret_key)
		return -EINVAL;
	if (tap->read_ctr > SUN_READ_CTR_MAX)
		return -ERANGE;
	memcpy(sv2 + 6, tap->uid, SUN_UID_LEN);
	sv2[13] = (uint8_t) tap->read_ctr;
	sv2[14] = (uint8_t) (tap->read_ctr >> 8);
	sv2[15] = (uint8_t) (tap->read_ctr >> 16);
	return aes_cmac(file_key, sv2, sizeof(sv2), ret_key);
}

int sun_mac(const uint8_t file_key[SUN_KEY_LEN], const struct sun_tap *tap, const void *input,
	    size_t len, uint8_t ret_mac[SUN_MAC_LEN])
{
	uint8_t session[SUN_KEY_LEN], full[16];
	int r;

	if (!ret_mac || (!input && len > 0))
		return -EINVAL;
	if ((r = sun_session_mac_key(file_key, tap, session)) < 0)
		return r;
	r = aes_cmac(session, input, len, full);
	OPENSSL_cleanse(session, sizeof(session));
	if (r < 0)
		return r;
	for (size_t i = 0; i < SUN_MAC_LEN; i++)
		ret_mac[i] = full[2 * i + 1];
	return 0;
}

int sun_mac_check(const uint8_t file_key[SUN_KEY_LEN], const struct sun_tap *tap, const void *input,
		  size_t len, const uint8_t mac[SUN_MAC_LEN], enum sun_status *ret_status)
{
	uint8_t want[SUN_MAC_LEN];
	int r;

	if (!mac || !ret_status)
		return -EINVAL;
	if ((r = sun_mac(file_key, tap, input, len, want)) < 0)
		return r;
	*ret_status = CRYPTO_memcmp(want, mac, SUN_MAC_LEN) == 0 ? SUN_OK : SUN_BAD_MAC;
	return 0;
}

int sun_url_make(const uint8_t meta_key[SUN_KEY_LEN], const uint8_t file_key[SUN_KEY_LEN],
		 const struct sun_tap *tap, const uint8_t pad[5], const char *base, char *out,
		 size_t cap)
{
	static const char digits[] = "0123456789ABCDEF";
	uint8_t plain[16], picc[16], mac[SUN_MAC_LEN];
	int r;

	if (!meta_key || !file_key || !tap || !pad || !base || !out || strchr(base, '?'))
		return -EINVAL;
	if (tap->read_ctr > SUN_READ_CTR_MAX)
		return -ERANGE;
	plain[0] = SUN_PICC_DATA_TAG;
	memcpy(plain + 1, tap->uid, SUN_UID_LEN);
	plain[8] = (uint8_t) tap->read_ctr;
	plain[9] = (uint8_t) (tap->read_ctr >> 8);
	plain[10] = (uint8_t) (tap->read_ctr >> 16);
	memcpy(plain + 11, pad, 5);
	r = aes_crypt(EVP_aes_128_ecb(), true, meta_key, NULL, plain, 16, picc);
	OPENSSL_cleanse(plain, sizeof(plain));
	if (r < 0 || (r = sun_mac(file_key, tap, NULL, 0, mac)) < 0)
		return r;
	char picc_hex[2 * 16 + 1], mac_hex[2 * SUN_MAC_LEN + 1];
	for (size_t i = 0; i < 16; i++) {
		picc_hex[2 * i] = digits[picc[i] >> 4];
		picc_hex[2 * i + 1] = digits[picc[i] & 15];
	}
	for (size_t i = 0; i < SUN_MAC_LEN; i++) {
		mac_hex[2 * i] = digits[mac[i] >> 4];
		mac_hex[2 * i + 1] = digits[mac[i] & 15];
	}
	picc_hex[32] = mac_hex[16] = '\0';
	int n = snprintf(out, cap, "%s?%s=%s&%s=%s", base, sun_url_format_default.picc_param,
			 picc_hex, sun_url_format_default.mac_param, mac_hex);
	return n < 0 || (size_t) n >= cap ? -ENOSPC : n;
}

int sun_verify(const uint8_t meta_key[SUN_KEY_LEN], const uint8_t file_key[SUN_KEY_LEN],
	       const struct sun_url *url, struct sun_tap *ret_tap, enum sun_status *ret_status)
{
	struct sun_tap tap;
	enum sun_status st;
	int r;

	if (!meta_key || !file_key || !url || !ret_tap || !ret_status)
		return -EINVAL;
	if ((r = sun_picc_decrypt(meta_key, url->picc_data, &tap, &st)) < 0)
		return r;
	if (st == SUN_OK && (r = sun_mac_check(file_key, &tap, url->mac_input, url->mac_input_len,
					       url->mac, &st)) < 0)
		return r;
	if (st == SUN_OK)
		*ret_tap = tap;
	*ret_status = st;
	OPENSSL_cleanse(&tap, sizeof(tap));
	return 0;
}

int sun_file_data_decrypt(const uint8_t file_key[SUN_KEY_LEN], const struct sun_tap *tap,
			  const uint8_t *enc, size_t len, uint8_t *ret_plain)
{
	uint8_t sv1[16] = {0xc3, 0x3c, 0x00, 0x01, 0x00, 0x80}, key[SUN_KEY_LEN], ctr[16] = {0},
		iv[16];
	int r;

	if (!file_key || !tap || !enc || !ret_plain || len == 0 || len % 16 != 0 ||
	    len > SUN_FILE_DATA_MAX)
		return -EINVAL;
	if (tap->read_ctr > SUN_READ_CTR_MAX)
		return -ERANGE;
	memcpy(sv1 + 6, tap->uid, SUN_UID_LEN);
	sv1[13] = ctr[0] = (uint8_t) tap->read_ctr;
	sv1[14] = ctr[1] = (uint8_t) (tap->read_ctr >> 8);
	sv1[15] = ctr[2] = (uint8_t) (tap->read_ctr >> 16);
	if ((r = aes_cmac(file_key, sv1, sizeof(sv1), key)) == 0 &&
	    (r = aes_crypt(EVP_aes_128_ecb(), true, key, NULL, ctr, 16, iv)) == 0)
		r = aes_crypt(EVP_aes_128_cbc(), false, key, iv, enc, len, ret_plain);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	return r;
}
