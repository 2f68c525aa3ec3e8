/* programme_sig: the message a published programme's signature covers; see programme_sig.h. */
#include "programme_sig.h"

#include <stdlib.h>
#include <string.h>

uint8_t *programme_sig_message(int64_t issued_us, const void *programme, size_t len, size_t *ret_n)
{
	const size_t ctx = sizeof(PROGRAMME_SIG_CONTEXT) - 1;
	uint8_t *msg = malloc(ctx + 8 + len);
	if (!msg)
		return NULL;
	memcpy(msg, PROGRAMME_SIG_CONTEXT, ctx);
	for (int i = 0; i < 8; i++)
		msg[ctx + i] = (uint8_t) ((uint64_t) issued_us >> (56 - 8 * i));
	if (len)
		memcpy(msg + ctx + 8, programme, len);
	*ret_n = ctx + 8 + len;
	return msg;
}
