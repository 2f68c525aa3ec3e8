/*
 * programme_sig: what the owner's signature over a published programme covers, for the server
 * that signs it (loyalty-server config) and the terminals that check it (tsync_config_check):
 * the ASCII bytes PROGRAMME_SIG_CONTEXT, issued_us as 8 big-endian bytes, then the programme's
 * bytes. Plain Ed25519 over that concatenation (docs/sync-protocol.md, "config").
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PROGRAMME_SIG_CONTEXT "loyalty/config"

/* The signed message in a new buffer (the caller frees it), *ret_n its length; NULL without
 * memory. */
uint8_t *programme_sig_message(int64_t issued_us, const void *programme, size_t len, size_t *ret_n);
