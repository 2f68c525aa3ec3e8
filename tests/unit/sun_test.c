/*
 * sun_test: NTAG 424 DNA SUN messages (app/sun) against the worked examples of NXP AN12196
 * (Tables 1, 2, 4 and 5 of the note, as reproduced in public implementations: see docs/sun.md),
 * against messages built here step by step with an AES-CMAC written in this file from RFC 4493
 * (checked on the RFC's own vectors), every single-bit flip of PICC data, MAC and MAC input
 * rejected, and the URL parser's strictness.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sun.h"

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t) v;
	}
}

static void assert_hex(const uint8_t *got, size_t n, const char *want_hex)
{
	uint8_t want[64];
	assert_true(n <= sizeof(want));
	unhex(want_hex, want, n);
	assert_memory_equal(got, want, n);
}

static const uint8_t zero_key[SUN_KEY_LEN];

/* ---- an AES-CMAC of the test's own (RFC 4493), on AES-128 ECB blocks ---- */

static void aes_encrypt_block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL), 1);
	assert_int_equal(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out, &n, in, 16), 1);
	assert_int_equal(n, 16);
	EVP_CIPHER_CTX_free(ctx);
}

static void shift_left(const uint8_t in[16], uint8_t out[16])
{
	uint8_t carry = 0;
	for (int i = 15; i >= 0; i--) {
		out[i] = (uint8_t) (in[i] << 1 | carry);
		carry = in[i] >> 7;
	}
	if (in[0] & 0x80)
		out[15] ^= 0x87;
}

static void ref_cmac(const uint8_t key[16], const uint8_t *msg, size_t len, uint8_t out[16])
{
	uint8_t zero[16] = {0}, l[16], k1[16], k2[16], x[16] = {0}, block[16];
	size_t n = len == 0 ? 1 : (len + 15) / 16;
	bool complete = len > 0 && len % 16 == 0;

	aes_encrypt_block(key, zero, l);
	shift_left(l, k1);
	shift_left(k1, k2);
	for (size_t b = 0; b < n; b++) {
		size_t off = b * 16, take = len - off < 16 ? len - off : 16;
		memset(block, 0, sizeof(block));
		if (len)
			memcpy(block, msg + off, take);
		if (b == n - 1) {
			if (complete) {
				for (int i = 0; i < 16; i++)
					block[i] ^= k1[i];
			} else {
				block[take] = 0x80;
				for (int i = 0; i < 16; i++)
					block[i] ^= k2[i];
			}
		}
		for (int i = 0; i < 16; i++)
			x[i] ^= block[i];
		aes_encrypt_block(key, x, x);
	}
	memcpy(out, x, 16);
}

static void test_reference_cmac_rfc4493(void **state)
{
	(void) state;
	uint8_t key[16], msg[64], mac[16];
	unhex("2B7E151628AED2A6ABF7158809CF4F3C", key, 16);
	unhex("6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51"
	      "30C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710",
	      msg, 64);
	ref_cmac(key, msg, 0, mac);
	assert_hex(mac, 16, "BB1D6929E95937287FA37D129B756746");
	ref_cmac(key, msg, 16, mac);
	assert_hex(mac, 16, "070A16B46B4D4144F79BDD9DD04A287C");
	ref_cmac(key, msg, 40, mac);
	assert_hex(mac, 16, "DFA66747DE9AE63030CA32611497C827");
	ref_cmac(key, msg, 64, mac);
	assert_hex(mac, 16, "51F0BEBF7E3B9D92FC49741779363CFE");
}

/* ---- AN12196 ---- */

/* Table 1: the session MAC key from SV2 alone. */
static void test_an12196_session_key(void **state)
{
	(void) state;
	uint8_t key[16], session[16];
	struct sun_tap tap = {.read_ctr = 1};
	unhex("5ACE7E50AB65D5D51FD5BF5A16B8205B", key, 16);
	unhex("04C767F2066180", tap.uid, SUN_UID_LEN);
	assert_int_equal(sun_session_mac_key(key, &tap, session), 0);
	assert_hex(session, 16, "3A3E8110E05311F7A3FCF0D969BF2B48");
}

/* Tables 2 and 4: PICC data decrypted with a zero SDMMetaReadKey, then the SDMMAC of an empty
 * input under the session key derived from a zero SDMFileReadKey. */
static void test_an12196_empty_input(void **state)
{
	(void) state;
	const char *url = "https://ntag.nxp.com/424?e=EF963FF7828658A599F3041510671E88"
			  "&c=94EED9EE65337086";
	const struct sun_url_format fmt = {.picc_param = "e", .mac_param = "c"};
	struct sun_url u;
	struct sun_tap tap;
	enum sun_status st;
	uint8_t session[16], mac[SUN_MAC_LEN];

	assert_int_equal(sun_url_parse(url, strlen(url), &fmt, &u, &st), 0);
	assert_int_equal(st, SUN_OK);
	assert_hex(u.picc_data, 16, "EF963FF7828658A599F3041510671E88");
	assert_hex(u.mac, 8, "94EED9EE65337086");
	assert_null(u.mac_input);
	assert_int_equal(u.mac_input_len, 0);

	assert_int_equal(sun_picc_decrypt(zero_key, u.picc_data, &tap, &st), 0);
	assert_int_equal(st, SUN_OK);
	assert_hex(tap.uid, SUN_UID_LEN, "04DE5F1EACC040");
	assert_int_equal(tap.read_ctr, 61); /* 3D0000, least significant byte first */

	assert_int_equal(sun_session_mac_key(zero_key, &tap, session), 0);
	assert_hex(session, 16, "3FB5F6E3A807A03D5E3570ACE393776F");
	uint8_t full[16];
	ref_cmac(session, NULL, 0, full);
	assert_hex(full, 16, "E194C7EE12D9F7EE8A65C8331B704386");
	assert_int_equal(sun_mac(zero_key, &tap, NULL, 0, mac), 0);
	assert_hex(mac, 8, "94EED9EE65337086");

	memset(&tap, 0, sizeof(tap));
	assert_int_equal(sun_verify(zero_key, zero_key, &u, &tap, &st), 0);
	assert_int_equal(st, SUN_OK);
	assert_hex(tap.uid, SUN_UID_LEN, "04DE5F1EACC040");
	assert_int_equal(tap.read_ctr, 61);
}

#define T5_URL                                                                                     \
	"https://www.my424dna.com/?picc_data=FD91EC264309878BE6345CBE53BADF40"                     \
	"&enc=CEE9A53E3E463EF1F459635736738962&cmac=ECC1E7F6C6C73BF6"
static const struct sun_url_format t5_fmt = {
    .picc_param = "picc_data", .mac_param = "cmac", .mac_input_param = "enc"};

/* Table 5: the MAC input is the URL text from the encrypted file data to the MAC's value. */
static void test_an12196_text_input(void **state)
{
	(void) state;
	struct sun_url u;
	struct sun_tap tap;
	enum sun_status st;
	uint8_t session[16], full[16], mac[SUN_MAC_LEN];
	const char *input = "CEE9A53E3E463EF1F459635736738962&cmac=";

	assert_int_equal(sun_url_parse(T5_URL, strlen(T5_URL), &t5_fmt, &u, &st), 0);
	assert_int_equal(st, SUN_OK);
	assert_int_equal(u.mac_input_len, strlen(input));
	assert_memory_equal(u.mac_input, input, strlen(input));

	assert_int_equal(sun_picc_decrypt(zero_key, u.picc_data, &tap, &st), 0);
	assert_int_equal(st, SUN_OK);
	assert_hex(tap.uid, SUN_UID_LEN, "04958CAA5C5E80");
	assert_int_equal(tap.read_ctr, 8);
	assert_int_equal(sun_session_mac_key(zero_key, &tap, session), 0);
	assert_hex(session, 16, "3ED0920E5E6A0320D823D5987FEAFBB1");
	ref_cmac(session, (const uint8_t *) input, strlen(input), full);
	assert_hex(full, 16, "81EC45C175E72FF6FAC61BC7AB3BAEF6");
	assert_int_equal(sun_mac(zero_key, &tap, input, strlen(input), mac), 0);
	assert_hex(mac, 8, "ECC1E7F6C6C73BF6");

	assert_int_equal(sun_verify(zero_key, zero_key, &u, &tap, &st), 0);
	assert_int_equal(st, SUN_OK);

	/* the same URL read with an empty MAC input does not verify */
	assert_int_equal(sun_url_parse(T5_URL, strlen(T5_URL), &t5_fmt, &u, &st), 0);
	u.mac_input_len = 0;
	u.mac_input = NULL;
	assert_int_equal(sun_verify(zero_key, zero_key, &u, &tap, &st), 0);
	assert_int_equal(st, SUN_BAD_MAC);
}

/* Table 5's encrypted file data, and the SV1 session ENC key of Table 2's card. */
static void test_an12196_file_data(void **state)
{
	(void) state;
	struct sun_tap tap = {.read_ctr = 8};
	uint8_t enc[16], plain[16], sv1[16], key[16];

	unhex("04958CAA5C5E80", tap.uid, SUN_UID_LEN);
	unhex("CEE9A53E3E463EF1F459635736738962", enc, 16);
	assert_int_equal(sun_file_data_decrypt(zero_key, &tap, enc, 16, plain), 0);
	assert_memory_equal(plain, "xxxxxxxxxxxxxxxx", 16);

	/* SV1 = C3 3C 00 01 00 80 || UID || counter, here with the reference CMAC */
	unhex("C33C0001008004DE5F1EACC0403D0000", sv1, 16);
	ref_cmac(zero_key, sv1, 16, key);
	assert_hex(key, 16, "DF38382B84FB90D2DDDB24E51AAFF7AC");

	/* a wrong key or counter gives other bytes, not an error */
	tap.read_ctr = 9;
	assert_int_equal(sun_file_data_decrypt(zero_key, &tap, enc, 16, plain), 0);
	assert_memory_not_equal(plain, "xxxxxxxxxxxxxxxx", 16);
}

/* File data encrypted here step by step and decrypted by sun_file_data_decrypt. */
static void test_file_data_round_trip(void **state)
{
	(void) state;
	uint8_t file_key[16], sv1[16] = {0xc3, 0x3c, 0x00, 0x01, 0x00, 0x80}, key[16],
			      ctr[16] = {0}, iv[16];
	uint8_t plain[SUN_FILE_DATA_MAX], enc[SUN_FILE_DATA_MAX], out[SUN_FILE_DATA_MAX];
	struct sun_tap tap = {.uid = {0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66},
			      .read_ctr = 0x0a0b0c};

	for (int i = 0; i < 16; i++)
		file_key[i] = (uint8_t) (0xa0 + i);
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t) ('A' + i % 26);
	memcpy(sv1 + 6, tap.uid, 7);
	sv1[13] = ctr[0] = 0x0c;
	sv1[14] = ctr[1] = 0x0b;
	sv1[15] = ctr[2] = 0x0a;
	ref_cmac(file_key, sv1, 16, key);
	aes_encrypt_block(key, ctr, iv);
	for (size_t len = 16; len <= SUN_FILE_DATA_MAX; len += 16) {
		uint8_t x[16];
		memcpy(x, iv, 16);
		for (size_t b = 0; b < len; b += 16) { /* CBC by hand */
			for (int i = 0; i < 16; i++)
				x[i] ^= plain[b + (size_t) i];
			aes_encrypt_block(key, x, x);
			memcpy(enc + b, x, 16);
		}
		assert_int_equal(sun_file_data_decrypt(file_key, &tap, enc, len, out), 0);
		assert_memory_equal(out, plain, len);
	}
	assert_int_equal(sun_file_data_decrypt(file_key, &tap, enc, 0, out), -EINVAL);
	assert_int_equal(sun_file_data_decrypt(file_key, &tap, enc, 15, out), -EINVAL);
	assert_int_equal(sun_file_data_decrypt(file_key, &tap, enc, SUN_FILE_DATA_MAX + 16, out),
			 -EINVAL);
	assert_int_equal(sun_file_data_decrypt(file_key, &tap, NULL, 16, out), -EINVAL);
	assert_int_equal(sun_file_data_decrypt(file_key, &tap, enc, 16, NULL), -EINVAL);
	tap.read_ctr = SUN_READ_CTR_MAX + 1;
	assert_int_equal(sun_file_data_decrypt(file_key, &tap, enc, 16, out), -ERANGE);
}

/* ---- messages built here, step by step ---- */

struct built {
	char url[256];
	uint8_t meta_key[16], file_key[16];
	struct sun_tap tap;
};

/*
 * What a card does at a tap, spelled out: PICC data = AES-128-ECB (one block, so CBC with a zero
 * IV) under the meta key of C7 || UID || counter (LSB first) || 5 padding bytes; SV2 = 3C C3 00
 * 01 00 80 || UID || counter; session key = CMAC(file key, SV2); SDMMAC = bytes 1, 3, ... 15 of
 * CMAC(session key, empty input). Uses only the test's CMAC.
 */
static void build(struct built *b, uint8_t seed, uint32_t ctr)
{
	uint8_t plain[16], picc[16], sv2[16] = {0x3c, 0xc3, 0x00, 0x01, 0x00, 0x80}, session[16],
				     full[16];
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < 16; i++) {
		b->meta_key[i] = (uint8_t) (seed * 7 + i * 13 + 1);
		b->file_key[i] = (uint8_t) (seed * 11 + i * 29 + 5);
	}
	b->tap.uid[0] = 0x04;
	for (int i = 1; i < SUN_UID_LEN; i++)
		b->tap.uid[i] = (uint8_t) (seed * 31 + i * 17);
	b->tap.read_ctr = ctr;

	plain[0] = 0xc7;
	memcpy(plain + 1, b->tap.uid, 7);
	plain[8] = (uint8_t) ctr;
	plain[9] = (uint8_t) (ctr >> 8);
	plain[10] = (uint8_t) (ctr >> 16);
	for (int i = 11; i < 16; i++)
		plain[i] = (uint8_t) (seed ^ (i * 0x35));
	aes_encrypt_block(b->meta_key, plain, picc);

	memcpy(sv2 + 6, b->tap.uid, 7);
	memcpy(sv2 + 13, plain + 8, 3);
	ref_cmac(b->file_key, sv2, 16, session);
	ref_cmac(session, NULL, 0, full);

	int n = snprintf(b->url, sizeof(b->url), "HTTPS://K.EXAMPLE.PL/N?picc_data=");
	for (int i = 0; i < 16; i++)
		n += snprintf(b->url + n, sizeof(b->url) - (size_t) n, "%02X", picc[i]);
	n += snprintf(b->url + n, sizeof(b->url) - (size_t) n, "&cmac=");
	for (int i = 0; i < 8; i++)
		n += snprintf(b->url + n, sizeof(b->url) - (size_t) n, "%02X", full[2 * i + 1]);
}

/* sun_url_make writes what the test's own builder spells out, byte for byte. */
static void test_url_make(void **state)
{
	(void) state;
	static const uint32_t ctrs[] = {0, 1, 0x3d, 0x123456, SUN_READ_CTR_MAX};
	for (uint8_t seed = 0; seed < 8; seed++) {
		for (size_t k = 0; k < sizeof(ctrs) / sizeof(ctrs[0]); k++) {
			struct built b;
			uint8_t pad[5];
			char url[256];
			build(&b, seed, ctrs[k]);
			for (int i = 11; i < 16; i++)
				pad[i - 11] = (uint8_t) (seed ^ (i * 0x35));
			int n = sun_url_make(b.meta_key, b.file_key, &b.tap, pad,
					     "HTTPS://K.EXAMPLE.PL/N", url, sizeof(url));
			assert_int_equal(n, (int) strlen(b.url));
			assert_string_equal(url, b.url);
		}
	}
	struct built b;
	char url[256];
	build(&b, 1, 1);
	b.tap.read_ctr = SUN_READ_CTR_MAX + 1;
	assert_int_equal(sun_url_make(b.meta_key, b.file_key, &b.tap, (uint8_t[5]){0}, "X", url,
				      sizeof(url)),
			 -ERANGE);
	b.tap.read_ctr = 1;
	assert_int_equal(sun_url_make(b.meta_key, b.file_key, &b.tap, (uint8_t[5]){0}, "X?y", url,
				      sizeof(url)),
			 -EINVAL);
	assert_int_equal(sun_url_make(b.meta_key, b.file_key, &b.tap, (uint8_t[5]){0}, "X", url, 20),
			 -ENOSPC);
}

static void test_built_messages(void **state)
{
	(void) state;
	static const uint32_t ctrs[] = {0, 1, 0x3d, 0x0100, 0x123456, SUN_READ_CTR_MAX};
	for (uint8_t seed = 1; seed <= 8; seed++) {
		for (size_t c = 0; c < sizeof(ctrs) / sizeof(ctrs[0]); c++) {
			struct built b;
			struct sun_url u;
			struct sun_tap tap;
			enum sun_status st;
			build(&b, seed, ctrs[c]);
			assert_int_equal(
			    sun_url_parse(b.url, strlen(b.url), &sun_url_format_default, &u, &st),
			    0);
			assert_int_equal(st, SUN_OK);
			assert_int_equal(sun_verify(b.meta_key, b.file_key, &u, &tap, &st), 0);
			assert_int_equal(st, SUN_OK);
			assert_memory_equal(tap.uid, b.tap.uid, SUN_UID_LEN);
			assert_int_equal(tap.read_ctr, ctrs[c]);

			/* keys swapped or of another card */
			struct built other;
			build(&other, (uint8_t) (seed + 100), ctrs[c]);
			assert_int_equal(sun_verify(b.meta_key, other.file_key, &u, &tap, &st), 0);
			assert_int_equal(st, SUN_BAD_MAC);
			assert_int_equal(sun_verify(other.meta_key, b.file_key, &u, &tap, &st), 0);
			assert_int_not_equal(st, SUN_OK);
			assert_int_equal(sun_verify(b.file_key, b.meta_key, &u, &tap, &st), 0);
			assert_int_not_equal(st, SUN_OK);
		}
	}
}

/* ---- every single-bit flip ---- */

static void flips_rejected(const uint8_t meta[16], const uint8_t file[16],
			   const struct sun_url *good)
{
	struct sun_tap tap;
	enum sun_status st;

	for (size_t bit = 0; bit < 8 * SUN_PICC_DATA_LEN; bit++) {
		struct sun_url u = *good;
		u.picc_data[bit / 8] ^= (uint8_t) (1u << (bit % 8));
		memset(&tap, 0xaa, sizeof(tap));
		assert_int_equal(sun_verify(meta, file, &u, &tap, &st), 0);
		assert_true(st == SUN_BAD_PICC_DATA || st == SUN_BAD_MAC);
		assert_int_equal(tap.read_ctr, 0xaaaaaaaau); /* not written */
	}
	for (size_t bit = 0; bit < 8 * SUN_MAC_LEN; bit++) {
		struct sun_url u = *good;
		u.mac[bit / 8] ^= (uint8_t) (1u << (bit % 8));
		assert_int_equal(sun_verify(meta, file, &u, &tap, &st), 0);
		assert_int_equal(st, SUN_BAD_MAC);
	}
	if (good->mac_input_len) {
		char input[SUN_URL_MAX];
		for (size_t bit = 0; bit < 8 * good->mac_input_len; bit++) {
			struct sun_url u = *good;
			memcpy(input, good->mac_input, good->mac_input_len);
			input[bit / 8] ^= (char) (1u << (bit % 8));
			u.mac_input = input;
			assert_int_equal(sun_verify(meta, file, &u, &tap, &st), 0);
			assert_int_equal(st, SUN_BAD_MAC);
		}
	}
	assert_int_equal(sun_verify(meta, file, good, &tap, &st), 0);
	assert_int_equal(st, SUN_OK);
}

/* Each bit of each character of the URL's query: refused by the parser or by the check. */
static void text_flips_rejected(const char *url, const struct sun_url_format *fmt,
				const uint8_t meta[16], const uint8_t file[16])
{
	char buf[SUN_URL_MAX];
	size_t len = strlen(url), q = (size_t) (strchr(url, '?') - url);
	memcpy(buf, url, len);
	for (size_t i = q; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct sun_url u;
			struct sun_tap tap;
			enum sun_status st;
			buf[i] ^= (char) (1 << bit);
			assert_int_equal(sun_url_parse(buf, len, fmt, &u, &st), 0);
			if (st == SUN_OK) {
				assert_int_equal(sun_verify(meta, file, &u, &tap, &st), 0);
				assert_int_not_equal(st, SUN_OK);
			}
			buf[i] ^= (char) (1 << bit);
		}
	}
}

static void test_single_bit_flips(void **state)
{
	(void) state;
	const char *t4 = "https://ntag.nxp.com/424?e=EF963FF7828658A599F3041510671E88"
			 "&c=94EED9EE65337086";
	const struct sun_url_format t4_fmt = {.picc_param = "e", .mac_param = "c"};
	struct sun_url u;
	enum sun_status st;

	assert_int_equal(sun_url_parse(t4, strlen(t4), &t4_fmt, &u, &st), 0);
	flips_rejected(zero_key, zero_key, &u);
	text_flips_rejected(t4, &t4_fmt, zero_key, zero_key);

	assert_int_equal(sun_url_parse(T5_URL, strlen(T5_URL), &t5_fmt, &u, &st), 0);
	flips_rejected(zero_key, zero_key, &u);
	text_flips_rejected(T5_URL, &t5_fmt, zero_key, zero_key);

	for (uint8_t seed = 1; seed <= 3; seed++) {
		struct built b;
		build(&b, seed, 1000u * seed);
		assert_int_equal(
		    sun_url_parse(b.url, strlen(b.url), &sun_url_format_default, &u, &st), 0);
		flips_rejected(b.meta_key, b.file_key, &u);
		text_flips_rejected(b.url, &sun_url_format_default, b.meta_key, b.file_key);
	}
}

/* ---- the parser ---- */

#define PD  "EF963FF7828658A599F3041510671E88"
#define MAC "94EED9EE65337086"

struct url_case {
	const char *name;
	const char *url;
	enum sun_status status;
};

static const struct url_case url_cases[] = {
    {"good", "https://k.example.pl/n?picc_data=" PD "&cmac=" MAC, SUN_OK},
    {"no path", "?picc_data=" PD "&cmac=" MAC, SUN_OK},
    {"no query", "https://k.example.pl/n", SUN_NO_QUERY},
    {"empty query", "https://k.example.pl/n?", SUN_NO_QUERY},
    {"empty", "", SUN_NO_QUERY},
    {"fragment", "https://k.example.pl/n?picc_data=" PD "&cmac=" MAC "#x", SUN_BAD_QUERY},
    {"fragment before query", "https://k.example.pl/n#?picc_data=" PD "&cmac=" MAC, SUN_BAD_QUERY},
    {"unknown parameter", "https://k.example.pl/n?x=1&picc_data=" PD "&cmac=" MAC, SUN_BAD_QUERY},
    {"name case", "https://k.example.pl/n?PICC_DATA=" PD "&cmac=" MAC, SUN_BAD_QUERY},
    {"repeated", "https://k.example.pl/n?picc_data=" PD "&picc_data=" PD "&cmac=" MAC,
     SUN_BAD_QUERY},
    {"mac not last", "https://k.example.pl/n?cmac=" MAC "&picc_data=" PD, SUN_BAD_QUERY},
    {"after mac", "https://k.example.pl/n?picc_data=" PD "&cmac=" MAC "&x=1", SUN_BAD_QUERY},
    {"trailing ampersand", "https://k.example.pl/n?picc_data=" PD "&cmac=" MAC "&", SUN_BAD_QUERY},
    {"double ampersand", "https://k.example.pl/n?picc_data=" PD "&&cmac=" MAC, SUN_BAD_QUERY},
    {"no equals", "https://k.example.pl/n?picc_data&cmac=" MAC, SUN_BAD_QUERY},
    {"empty name", "https://k.example.pl/n?=" PD "&cmac=" MAC, SUN_BAD_QUERY},
    {"missing mac", "https://k.example.pl/n?picc_data=" PD, SUN_MISSING_PARAM},
    {"missing picc", "https://k.example.pl/n?cmac=" MAC, SUN_MISSING_PARAM},
    {"lowercase hex", "https://k.example.pl/n?picc_data=ef963ff7828658a599f3041510671e88&cmac=" MAC,
     SUN_BAD_HEX},
    {"lowercase mac", "https://k.example.pl/n?picc_data=" PD "&cmac=94eed9ee65337086", SUN_BAD_HEX},
    {"space in value", "https://k.example.pl/n?picc_data=" PD "&cmac=94EED9EE 5337086",
     SUN_BAD_HEX},
    {"percent escape", "https://k.example.pl/n?picc_data=" PD "&cmac=%394EED9EE653370",
     SUN_BAD_HEX},
    {"short picc", "https://k.example.pl/n?picc_data=EF963FF7828658A599F3041510671E&cmac=" MAC,
     SUN_BAD_LENGTH},
    {"long picc", "https://k.example.pl/n?picc_data=" PD "00&cmac=" MAC, SUN_BAD_LENGTH},
    {"empty picc", "https://k.example.pl/n?picc_data=&cmac=" MAC, SUN_BAD_LENGTH},
    {"short mac", "https://k.example.pl/n?picc_data=" PD "&cmac=94EED9EE653370", SUN_BAD_LENGTH},
    {"long mac", "https://k.example.pl/n?picc_data=" PD "&cmac=" MAC "0", SUN_BAD_LENGTH},
};

static void test_url_cases(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *c = &url_cases[i];
		struct sun_url u;
		enum sun_status st = SUN_STATUS_MAX;
		memset(&u, 0x5a, sizeof(u));
		if (sun_url_parse(c->url, strlen(c->url), &sun_url_format_default, &u, &st) != 0 ||
		    st != c->status) {
			fail_msg("%s: got %s, want %s", c->name, sun_status_str(st),
				 sun_status_str(c->status));
		}
		if (st != SUN_OK)
			assert_int_equal(u.picc_data[0], 0x5a); /* not written */
		assert_non_null(sun_status_str(st));
	}
}

static void test_url_length_and_nul(void **state)
{
	(void) state;
	char buf[SUN_URL_MAX + 2];
	struct sun_url u;
	enum sun_status st;
	const char *tail = "?picc_data=" PD "&cmac=" MAC;
	size_t tl = strlen(tail);

	/* exactly SUN_URL_MAX characters: looked at; one more: refused */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + SUN_URL_MAX - tl, tail, tl);
	assert_int_equal(sun_url_parse(buf, SUN_URL_MAX, &sun_url_format_default, &u, &st), 0);
	assert_int_equal(st, SUN_OK);
	memcpy(buf + SUN_URL_MAX + 1 - tl, tail, tl);
	assert_int_equal(sun_url_parse(buf, SUN_URL_MAX + 1, &sun_url_format_default, &u, &st), 0);
	assert_int_equal(st, SUN_BAD_LENGTH);

	/* a NUL inside is a character like another: not hex */
	char nul[] = "?picc_data=" PD "&cmac=94EED9EE6533708\0";
	assert_int_equal(sun_url_parse(nul, sizeof(nul) - 1, &sun_url_format_default, &u, &st), 0);
	assert_int_equal(st, SUN_BAD_HEX);
	/* the length given is what counts, not a NUL */
	const char *good = "?picc_data=" PD "&cmac=" MAC "&junk";
	assert_int_equal(sun_url_parse(good, strlen(good) - 5, &sun_url_format_default, &u, &st),
			 0);
	assert_int_equal(st, SUN_OK);
}

static void test_mac_input_param(void **state)
{
	(void) state;
	struct sun_url u;
	enum sun_status st;
	const char *missing = "https://x/?picc_data=FD91EC264309878BE6345CBE53BADF40&cmac=" MAC;
	assert_int_equal(sun_url_parse(missing, strlen(missing), &t5_fmt, &u, &st), 0);
	assert_int_equal(st, SUN_MISSING_PARAM);
	/* the input parameter may come first: the input then covers the PICC data too */
	const char *first = "https://x/?enc=AB&picc_data=" PD "&cmac=" MAC;
	assert_int_equal(sun_url_parse(first, strlen(first), &t5_fmt, &u, &st), 0);
	assert_int_equal(st, SUN_OK);
	assert_int_equal(u.mac_input_len, strlen("AB&picc_data=" PD "&cmac="));
	assert_memory_equal(u.mac_input, "AB&picc_data=", 13);
	/* an empty input value: the input is "&cmac=" */
	const char *empty = "https://x/?picc_data=" PD "&enc=&cmac=" MAC;
	assert_int_equal(sun_url_parse(empty, strlen(empty), &t5_fmt, &u, &st), 0);
	assert_int_equal(st, SUN_OK);
	assert_int_equal(u.mac_input_len, 6);
	assert_memory_equal(u.mac_input, "&cmac=", 6);
}

static void test_arguments(void **state)
{
	(void) state;
	struct sun_url u;
	struct sun_tap tap = {.read_ctr = SUN_READ_CTR_MAX + 1};
	enum sun_status st = SUN_STATUS_MAX;
	uint8_t out[16];
	const char *url = "?picc_data=" PD "&cmac=" MAC;
	const struct sun_url_format bad[] = {
	    {.picc_param = NULL, .mac_param = "c"},
	    {.picc_param = "p", .mac_param = NULL},
	    {.picc_param = "", .mac_param = "c"},
	    {.picc_param = "p", .mac_param = "p"},
	    {.picc_param = "p", .mac_param = "c", .mac_input_param = "c"},
	    {.picc_param = "p", .mac_param = "c", .mac_input_param = ""},
	    {.picc_param = "p=", .mac_param = "c"},
	    {.picc_param = "p&", .mac_param = "c"},
	    {.picc_param = "a_very_long_name_", .mac_param = "c"},
	};

	assert_int_equal(sun_url_parse(NULL, 0, &sun_url_format_default, &u, &st), -EINVAL);
	assert_int_equal(sun_url_parse(url, strlen(url), NULL, &u, &st), -EINVAL);
	assert_int_equal(sun_url_parse(url, strlen(url), &sun_url_format_default, NULL, &st),
			 -EINVAL);
	assert_int_equal(sun_url_parse(url, strlen(url), &sun_url_format_default, &u, NULL),
			 -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sun_url_parse(url, strlen(url), &bad[i], &u, &st), -EINVAL);
	assert_int_equal(st, SUN_STATUS_MAX);
	const struct sun_url_format longest = {.picc_param = "a_very_long_name", .mac_param = "c"};
	assert_int_equal(sun_url_parse(url, strlen(url), &longest, &u, &st), 0);
	assert_int_equal(st, SUN_BAD_QUERY);

	assert_int_equal(sun_session_mac_key(zero_key, &tap, out), -ERANGE);
	assert_int_equal(sun_mac(zero_key, &tap, NULL, 0, out), -ERANGE);
	tap.read_ctr = 0;
	assert_int_equal(sun_mac(zero_key, &tap, NULL, 1, out), -EINVAL);
	assert_int_equal(sun_mac(NULL, &tap, NULL, 0, out), -EINVAL);
	assert_int_equal(sun_picc_decrypt(zero_key, NULL, &tap, &st), -EINVAL);
	assert_int_equal(sun_mac_check(zero_key, &tap, NULL, 0, NULL, &st), -EINVAL);
	assert_int_equal(sun_verify(zero_key, zero_key, NULL, &tap, &st), -EINVAL);
	assert_string_equal(sun_status_str(SUN_STATUS_MAX), "unknown status");
	for (int s = 0; s < SUN_STATUS_MAX; s++)
		assert_non_null(sun_status_str((enum sun_status) s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference_cmac_rfc4493),
	    cmocka_unit_test(test_an12196_session_key),
	    cmocka_unit_test(test_an12196_empty_input),
	    cmocka_unit_test(test_an12196_text_input),
	    cmocka_unit_test(test_an12196_file_data),
	    cmocka_unit_test(test_file_data_round_trip),
	    cmocka_unit_test(test_url_make),
	    cmocka_unit_test(test_built_messages),
	    cmocka_unit_test(test_single_bit_flips),
	    cmocka_unit_test(test_url_cases),
	    cmocka_unit_test(test_url_length_and_nul),
	    cmocka_unit_test(test_mac_input_param),
	    cmocka_unit_test(test_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
