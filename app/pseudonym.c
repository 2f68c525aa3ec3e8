/* pseudonym: HMAC-SHA256 of card UIDs (OpenSSL). */
#include "pseudonym.h"

#include <errno.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int pseudonym_of_uid(const uint8_t key[PSEUDONYM_KEY_LEN], const uint8_t *uid, size_t uid_len,
		     uint8_t ret_pseudonym[PSEUDONYM_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!uid || uid_len == 0)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key, PSEUDONYM_KEY_LEN, uid, uid_len, md, &md_len) ||
	    md_len != PSEUDONYM_LEN)
		return -EIO;
	for (size_t i = 0; i < PSEUDONYM_LEN; i++)
		ret_pseudonym[i] = md[i];
	return 0;
}

void pseudonym_tag(const uint8_t pseudonym[PSEUDONYM_LEN], char buf[9])
{
	snprintf(buf, 9, "%02x%02x%02x%02x", pseudonym[0], pseudonym[1], pseudonym[2],
		 pseudonym[3]);
}
