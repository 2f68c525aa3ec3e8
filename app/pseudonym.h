/*
 * pseudonym: the keyed hash that stands for a card UID in the ledger.
 *
 * HMAC-SHA256(key, UID bytes). The key lives outside the database file (the firmware keeps it in
 * the state folder's keys/ directory), so a copied ledger does not reveal which cards were used.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PSEUDONYM_KEY_LEN 32
#define PSEUDONYM_LEN	  32

/* Returns 0, or -EINVAL for an empty UID, or -EIO when the hash fails. */
__attribute__((warn_unused_result)) int pseudonym_of_uid(const uint8_t key[PSEUDONYM_KEY_LEN],
							 const uint8_t *uid, size_t uid_len,
							 uint8_t ret_pseudonym[PSEUDONYM_LEN]);

/* The first 4 bytes as 8 hex digits: a short handle for logs that reveals nothing of the UID. */
void pseudonym_tag(const uint8_t pseudonym[PSEUDONYM_LEN], char buf[9]);
