/*
 * ledger_hash: canonical event encoding (versions 1 to 3, docs/ledger.md) hashed with SHA-256.
 *
 * The encoding is gathered in a buffer on the stack and hashed with OpenSSL's low-level SHA-256,
 * whose context lives on the stack too: no allocation, no algorithm lookup and one update per
 * event, because a full verification hashes every event of the ledger. Through EVP the same
 * hash costs about twice as much for inputs this small (a context allocated per call, and
 * EVP_sha256() looks its implementation up at every init), and OpenSSL 3's one-shot SHA256()
 * goes through that lookup as well. The low-level functions are deprecated in OpenSSL 3 but built
 * in every 3.x library that keeps deprecated interfaces, as Debian's does.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "ledger_hash.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/sha.h>

/* A typical event encodes to about 180 bytes with the previous hash, so it is hashed in one
 * update. */
#define ENC_BUF_LEN 256

/* The encoding on its way into the hash: bytes gather in buf, longer fields go straight in. */
struct enc {
	SHA256_CTX sha;
	bool ok;
	size_t n;
	uint8_t buf[ENC_BUF_LEN];
};

static void enc_flush(struct enc *e)
{
	if (e->n > 0 && SHA256_Update(&e->sha, e->buf, e->n) != 1)
		e->ok = false;
	e->n = 0;
}

static void enc_put(struct enc *e, const void *data, size_t len)
{
	if (len == 0)
		return;
	if (len > sizeof(e->buf) - e->n) {
		enc_flush(e);
		if (len > sizeof(e->buf)) {
			if (SHA256_Update(&e->sha, data, len) != 1)
				e->ok = false;
			return;
		}
	}
	memcpy(e->buf + e->n, data, len);
	e->n += len;
}

static void put_i64(struct enc *e, int64_t v)
{
	uint64_t u = (uint64_t) v;
	uint8_t b[8];
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t) (u & 0xff);
		u >>= 8;
	}
	enc_put(e, b, sizeof(b));
}

static void put_bytes(struct enc *e, const void *data, size_t len)
{
	uint8_t b[4] = {(uint8_t) (len >> 24), (uint8_t) (len >> 16), (uint8_t) (len >> 8),
			(uint8_t) len};
	enc_put(e, b, sizeof(b));
	enc_put(e, data, len);
}

static bool field_ok(const void *data, size_t len)
{
	return (data || len == 0) && len <= UINT32_MAX;
}

int ledger_hash_event(const struct ledger_hash_event *ev, const uint8_t prev_hash[LEDGER_HASH_LEN],
		      uint8_t ret_hash[LEDGER_HASH_LEN])
{
	struct enc e;

	if (!ev || !prev_hash || !ret_hash || !field_ok(ev->event_id, ev->event_id_len) ||
	    !field_ok(ev->terminal_id, ev->terminal_id_len) || !field_ok(ev->kind, ev->kind_len) ||
	    !field_ok(ev->receipt_no, ev->receipt_no_len) || !field_ok(ev->rule, ev->rule_len) ||
	    !field_ok(ev->ref, ev->ref_len))
		return -EINVAL;
	const uint8_t version = ev->encoding ? ev->encoding : LEDGER_HASH_ENCODING_VER;
	if (version < LEDGER_HASH_ENCODING_V1 || version > LEDGER_HASH_ENCODING_VER)
		return -EINVAL;
	e.ok = SHA256_Init(&e.sha) == 1;
	e.n = 0;
	enc_put(&e, &version, 1);
	put_i64(&e, ev->seq);
	put_bytes(&e, ev->event_id, ev->event_id_len);
	put_bytes(&e, ev->terminal_id, ev->terminal_id_len);
	put_bytes(&e, ev->kind, ev->kind_len);
	put_i64(&e, ev->member_id);
	put_i64(&e, ev->points);
	put_i64(&e, ev->amount_gr);
	put_bytes(&e, ev->receipt_no, ev->receipt_no_len);
	put_i64(&e, ev->time_us);
	if (version >= 2) {
		put_bytes(&e, ev->rule, ev->rule_len);
		put_bytes(&e, ev->ref, ev->ref_len);
		put_i64(&e, ev->lot_us);
	}
	if (version >= 3) {
		put_i64(&e, ev->items);
		put_i64(&e, ev->progress);
	}
	/* prev_hash is copied before ret_hash is written, so the two may be the same buffer */
	enc_put(&e, prev_hash, LEDGER_HASH_LEN);
	enc_flush(&e);
	if (!e.ok || SHA256_Final(ret_hash, &e.sha) != 1)
		return -EIO;
	return 0;
}
