/*
 * nfc_sim_test: the "sim" NFC driver's cards with a type and an NDEF message (the tap carries
 * them as the libnfc driver's does), its answers to hal_nfc_write_ndef(), and the names of the
 * outcomes. The UID-only taps, removal and unplugging are hal_sim_test's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ndef.h"
#include "nfc.h"

static const uint8_t uid7[] = {0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6};
static const uint8_t uid4[] = {0x5e, 0x11, 0x22, 0x33};

static struct hal_nfc_event ev;

static void next(struct hal_nfc *nfc, enum hal_nfc_event_kind kind)
{
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 1);
	assert_int_equal(ev.kind, kind);
}

static void test_cards_and_writes(void **state)
{
	struct hal_nfc *nfc = NULL;
	uint8_t msg[HAL_NFC_NDEF_MAX], other[64];
	struct ndef_uri u;
	enum ndef_status st;

	(void) state;
	int len =
	    ndef_message_encode_uri("https://k.example.pl/c/7K3M9QZX2H4P", 35, msg, sizeof(msg));
	int olen =
	    ndef_message_encode_uri("https://k.example.pl/c/OTHER", 28, other, sizeof(other));
	assert_true(len > 0 && olen > 0);
	assert_int_equal(hal_nfc_open("sim", NULL, &nfc), 0);

	/* A UID-only card: nothing read, as before. */
	assert_int_equal(hal_nfc_sim_present(nfc, uid4, sizeof(uid4)), 0);
	next(nfc, HAL_NFC_TAP);
	assert_int_equal(ev.tag, HAL_NFC_TAG_UNKNOWN);
	assert_int_equal(ev.read, HAL_NFC_READ_NONE);
	assert_int_equal(ev.write, HAL_NFC_WRITE_NONE);
	/* ... and it is not written. */
	assert_int_equal(hal_nfc_write_ndef(nfc, uid4, sizeof(uid4), msg, (size_t) len), 0);
	next(nfc, HAL_NFC_TAP);
	assert_int_equal(ev.write, HAL_NFC_WRITE_UNSUPPORTED);

	/* A blank NTAG215: written, and the answer carries it. */
	assert_int_equal(
	    hal_nfc_sim_present_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG215, NULL, 0), 0);
	next(nfc, HAL_NFC_REMOVED);
	next(nfc, HAL_NFC_TAP);
	assert_int_equal(ev.tag, HAL_NFC_TAG_NTAG215);
	assert_int_equal(ev.read, HAL_NFC_READ_OK);
	assert_int_equal(ev.ndef_len, 0);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, (size_t) len), 0);
	next(nfc, HAL_NFC_TAP);
	assert_int_equal(ev.write, HAL_NFC_WRITE_OK);
	assert_int_equal(ndef_message_uri(ev.ndef, ev.ndef_len, &u, &st), 0);
	assert_int_equal(st, NDEF_OK);
	assert_string_equal(u.text, "https://k.example.pl/c/7K3M9QZX2H4P");
	/* Not blank any more; another UID is not there. */
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), other, (size_t) olen), 0);
	next(nfc, HAL_NFC_TAP);
	assert_int_equal(ev.write, HAL_NFC_WRITE_NOT_BLANK);
	assert_int_equal(ev.ndef_len, (size_t) len);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid4, sizeof(uid4), msg, (size_t) len), 0);
	next(nfc, HAL_NFC_TAP);
	assert_int_equal(ev.write, HAL_NFC_WRITE_NO_CARD);

	/* A message an NTAG213 cannot hold. */
	assert_int_equal(
	    hal_nfc_sim_present_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG213, NULL, 0), 0);
	next(nfc, HAL_NFC_REMOVED);
	next(nfc, HAL_NFC_TAP);
	memset(msg, 'x', 200);
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, 200), 0);
	next(nfc, HAL_NFC_TAP);
	assert_int_equal(ev.write, HAL_NFC_WRITE_TOO_BIG);

	/* Refusals. */
	assert_int_equal(hal_nfc_write_ndef(nfc, uid7, sizeof(uid7), msg, 0), -EINVAL);
	assert_int_equal(
	    hal_nfc_sim_present_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_UNKNOWN, msg, 3),
	    -EINVAL);
	assert_int_equal(hal_nfc_sim_present_card(nfc, uid7, sizeof(uid7), HAL_NFC_TAG_NTAG216, msg,
						  HAL_NFC_NDEF_MAX + 1),
			 -EINVAL);
	assert_int_equal(hal_nfc_next_event(nfc, &ev), 0);
	hal_nfc_close(nfc);
}

static void test_names(void **state)
{
	(void) state;
	for (int i = 0; i <= HAL_NFC_TAG_MAX; i++)
		assert_non_null(hal_nfc_tag_name((enum hal_nfc_tag) i));
	for (int i = 0; i <= HAL_NFC_READ_MAX; i++)
		assert_non_null(hal_nfc_read_name((enum hal_nfc_read) i));
	for (int i = 0; i <= HAL_NFC_WRITE_MAX; i++)
		assert_non_null(hal_nfc_write_name((enum hal_nfc_write) i));
	assert_string_equal(hal_nfc_tag_name(HAL_NFC_TAG_NTAG424DNA), "ntag424dna");
	assert_string_equal(hal_nfc_read_name(HAL_NFC_READ_FAILED), "read failed, tap again");
	assert_string_equal(hal_nfc_write_name(HAL_NFC_WRITE_NOT_BLANK), "card not blank");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cards_and_writes),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
