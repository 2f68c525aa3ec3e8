/* pages_memo: verified tokens and drawn QR codes kept between requests (pages_memo.h). */
#include "pages_memo.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PAYLOAD_MAX (TOKEN_URL_BASE_MAX + TOKEN_TEXT_MAX)

struct memo_token {
	size_t len; /* 0: empty */
	char text[TOKEN_TEXT_MAX];
	struct token tok;
	uint8_t public_key[TOKEN_PUBLIC_KEY_LEN];
};

struct memo_qr {
	size_t payload_len; /* 0: empty */
	char payload[PAYLOAD_MAX];
	uint8_t *svg;
	size_t svg_len;
};

struct pages_memo {
	pthread_mutex_t lock;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct memo_token *tokens;
	size_t n_tokens;
	struct memo_qr *qrs;
	size_t n_qrs;
};

int pages_memo_new(size_t token_slots, size_t qr_slots, struct pages_memo **ret)
{
	if (!ret || !token_slots || !qr_slots)
		return -EINVAL;
	struct pages_memo *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->tokens = calloc(token_slots, sizeof(*m->tokens));
	m->qrs = calloc(qr_slots, sizeof(*m->qrs));
	if (!m->tokens || !m->qrs) {
		free(m->tokens);
		free(m->qrs);
		free(m);
		return -ENOMEM;
	}
	m->n_tokens = token_slots;
	m->n_qrs = qr_slots;
	randombytes_buf(m->hash_key, sizeof(m->hash_key));
	pthread_mutex_init(&m->lock, NULL);
	*ret = m;
	return 0;
}

void pages_memo_free(struct pages_memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_qrs; i++)
		free(m->qrs[i].svg);
	free(m->qrs);
	sodium_memzero(m->tokens, m->n_tokens * sizeof(*m->tokens));
	free(m->tokens);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static size_t slot(const struct pages_memo *m, const void *text, size_t len, size_t n)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	crypto_shorthash(h, text, len, m->hash_key);
	for (size_t i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return (size_t) (v % n);
}

bool pages_memo_token_get(struct pages_memo *m, const char *text, size_t len,
			  struct token *ret_token, uint8_t ret_public_key[TOKEN_PUBLIC_KEY_LEN])
{
	if (!m || !text || !len || len > TOKEN_TEXT_MAX)
		return false;
	struct memo_token *e = &m->tokens[slot(m, text, len, m->n_tokens)];
	bool found = false;
	pthread_mutex_lock(&m->lock);
	if (e->len == len && !memcmp(e->text, text, len)) {
		*ret_token = e->tok;
		memcpy(ret_public_key, e->public_key, TOKEN_PUBLIC_KEY_LEN);
		found = true;
	}
	pthread_mutex_unlock(&m->lock);
	return found;
}

void pages_memo_token_put(struct pages_memo *m, const char *text, size_t len,
			  const struct token *tok, const uint8_t public_key[TOKEN_PUBLIC_KEY_LEN])
{
	if (!m || !text || !len || len > TOKEN_TEXT_MAX)
		return;
	struct memo_token *e = &m->tokens[slot(m, text, len, m->n_tokens)];
	pthread_mutex_lock(&m->lock);
	e->len = len;
	memcpy(e->text, text, len);
	e->tok = *tok;
	memcpy(e->public_key, public_key, TOKEN_PUBLIC_KEY_LEN);
	pthread_mutex_unlock(&m->lock);
}

int pages_memo_qr_get(struct pages_memo *m, const char *payload, struct buf *out)
{
	size_t len = payload ? strlen(payload) : 0;
	int r = 0;
	if (!m || !len || len > PAYLOAD_MAX)
		return 0;
	struct memo_qr *e = &m->qrs[slot(m, payload, len, m->n_qrs)];
	pthread_mutex_lock(&m->lock);
	if (e->payload_len == len && !memcmp(e->payload, payload, len)) {
		r = buf_append(out, e->svg, e->svg_len);
		if (r == 0)
			r = 1;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

void pages_memo_qr_put(struct pages_memo *m, const char *payload, const void *svg, size_t len)
{
	size_t plen = payload ? strlen(payload) : 0;
	if (!m || !plen || plen > PAYLOAD_MAX || !svg || !len || len > PAGES_MEMO_QR_MAX)
		return;
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, svg, len);
	struct memo_qr *e = &m->qrs[slot(m, payload, plen, m->n_qrs)];
	pthread_mutex_lock(&m->lock);
	uint8_t *old = e->svg;
	e->payload_len = plen;
	memcpy(e->payload, payload, plen);
	e->svg = copy;
	e->svg_len = len;
	pthread_mutex_unlock(&m->lock);
	free(old);
}
