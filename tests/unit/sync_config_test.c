/* sync_config_test: the check of a programme the server signed (tsync_config_check). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "programme_sig.h"
#include "sync.h"

static const char programme[] = "{\"earn\":{\"gr_per_point\":100}}";

/* A config change signed with sk over the context, issued_us and the programme. */
static void signed_change(struct tsync_change *ch, const uint8_t pk[32], const uint8_t sk[64],
			  int64_t issued_us)
{
	uint8_t msg[64 + sizeof(programme)];
	size_t ctx = strlen(PROGRAMME_SIG_CONTEXT), n = 0;
	memset(ch, 0, sizeof(*ch));
	ch->type = TSYNC_CHANGE_CONFIG;
	ch->time_us = issued_us;
	memcpy(ch->public_key, pk, 32);
	memcpy(msg, PROGRAMME_SIG_CONTEXT, ctx);
	n = ctx;
	for (int i = 7; i >= 0; i--)
		msg[n++] = (uint8_t) ((uint64_t) issued_us >> (8 * i));
	memcpy(msg + n, programme, strlen(programme));
	n += strlen(programme);
	crypto_sign_detached(ch->signature, NULL, msg, n, sk);
}

static void checks(void **state)
{
	(void) state;
	uint8_t pk[32], sk[64], pk2[32], sk2[64];
	struct tsync_change ch;
	const uint8_t *p = (const uint8_t *) programme;
	size_t len = strlen(programme);
	assert_int_equal(sodium_init() >= 0, 1);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);

	signed_change(&ch, pk, sk, INT64_C(1795000000000000));
	assert_int_equal(tsync_config_check(&ch, p, len, pk), 0);
	/* the config key from registration is another */
	assert_int_equal(tsync_config_check(&ch, p, len, pk2), -EKEYREJECTED);
	/* a byte of the programme changed */
	char changed[sizeof(programme)];
	memcpy(changed, programme, sizeof(programme));
	changed[10] ^= 1;
	assert_int_equal(tsync_config_check(&ch, (const uint8_t *) changed, len, pk), -EBADMSG);
	/* the issued time changed (an old config passed off as new) */
	ch.time_us++;
	assert_int_equal(tsync_config_check(&ch, p, len, pk), -EBADMSG);
	/* signed by another key that claims the config key */
	signed_change(&ch, pk, sk2, INT64_C(1795000000000000));
	assert_int_equal(tsync_config_check(&ch, p, len, pk), -EBADMSG);
	/* not a config, or nothing to check */
	signed_change(&ch, pk, sk, INT64_C(1795000000000000));
	ch.type = TSYNC_CHANGE_MEMBER;
	assert_int_equal(tsync_config_check(&ch, p, len, pk), -EINVAL);
	ch.type = TSYNC_CHANGE_CONFIG;
	assert_int_equal(tsync_config_check(&ch, p, 0, pk), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(checks)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
