/* ledger_hash: canonical event encoding (version 1, docs/ledger.md) hashed with OpenSSL EVP. */
#include "ledger_hash.h"

#include <errno.h>
#include <stdbool.h>

#include <openssl/evp.h>

static bool put_i64(EVP_MD_CTX *ctx, int64_t v)
{
	uint64_t u = (uint64_t) v;
	uint8_t b[8];
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t) (u & 0xff);
		u >>= 8;
	}
	return EVP_DigestUpdate(ctx, b, sizeof(b)) == 1;
}

static bool put_bytes(EVP_MD_CTX *ctx, const void *data, size_t len)
{
	uint8_t b[4] = {(uint8_t) (len >> 24), (uint8_t) (len >> 16), (uint8_t) (len >> 8),
			(uint8_t) len};
	return EVP_DigestUpdate(ctx, b, sizeof(b)) == 1 &&
	       (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1);
}

static bool field_ok(const void *data, size_t len)
{
	return (data || len == 0) && len <= UINT32_MAX;
}

int ledger_hash_event(const struct ledger_hash_event *ev, const uint8_t prev_hash[LEDGER_HASH_LEN],
		      uint8_t ret_hash[LEDGER_HASH_LEN])
{
	static const uint8_t version = LEDGER_HASH_ENCODING_VER;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!ev || !prev_hash || !ret_hash || !field_ok(ev->event_id, ev->event_id_len) ||
	    !field_ok(ev->terminal_id, ev->terminal_id_len) || !field_ok(ev->kind, ev->kind_len) ||
	    !field_ok(ev->receipt_no, ev->receipt_no_len))
		return -EINVAL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		  EVP_DigestUpdate(ctx, &version, 1) == 1 && put_i64(ctx, ev->seq) &&
		  put_bytes(ctx, ev->event_id, ev->event_id_len) &&
		  put_bytes(ctx, ev->terminal_id, ev->terminal_id_len) &&
		  put_bytes(ctx, ev->kind, ev->kind_len) && put_i64(ctx, ev->member_id) &&
		  put_i64(ctx, ev->points) && put_i64(ctx, ev->amount_gr) &&
		  put_bytes(ctx, ev->receipt_no, ev->receipt_no_len) && put_i64(ctx, ev->time_us) &&
		  EVP_DigestUpdate(ctx, prev_hash, LEDGER_HASH_LEN) == 1 &&
		  EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == LEDGER_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	for (size_t i = 0; i < LEDGER_HASH_LEN; i++)
		ret_hash[i] = md[i];
	return 0;
}
