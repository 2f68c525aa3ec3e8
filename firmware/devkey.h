/*
 * devkey: the terminal's device key, the Ed25519 key pair that signs its tokens (app/token).
 *
 * The key lives in <state>/keys/device.key as its 32-byte seed, mode 0600, owned by the daemon's
 * user. Until provisioning exists, the simulator board makes it at first start (DEVKEY_CREATE);
 * a terminal without the flag refuses to run without one. A key file that is not a regular file,
 * has the wrong size, belongs to another user or is open to group or others is refused with the
 * reason, never repaired or replaced: the public key may already be known to other terminals.
 *
 * Not for the card pseudonym key (firmware/terminal, keys/pseudonym.key), not for TLS identities.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "token.h"

#define DEVKEY_FILE	"keys/device.key" /* under the state folder */
#define DEVKEY_SEED_LEN 32
#define DEVKEY_CREATE	(1u << 0) /* make a key when there is none (simulator board) */

struct devkey {
	uint8_t secret_key[TOKEN_SECRET_KEY_LEN]; /* for token_sign */
	uint8_t public_key[TOKEN_PUBLIC_KEY_LEN];
	uint32_t key_id; /* token_key_id(public_key) */
};

/*
 * Load the device key of state_dir, or with DEVKEY_CREATE make one if there is none: 32 random
 * bytes written to a temporary file (0600) in keys/ (made 0700 if missing), fsynced, renamed in
 * place without replacing a key another process made meanwhile (that one is loaded then), and
 * the folder fsynced. Returns 0, or a negative errno with a sentence for the technician in err
 * (err may be NULL): -ENOENT no key and no DEVKEY_CREATE; -EPERM the file is open to group or
 * others, or owned by another user; -EINVAL wrong size, or not a regular file (a symlink, a
 * folder); -ENAMETOOLONG; other errnos from the file system or the random source. *ret_key is
 * written only on success; wipe it with devkey_wipe() when done.
 */
__attribute__((warn_unused_result)) int devkey_load(const char *state_dir, unsigned flags,
						    struct devkey *ret_key, char *err,
						    size_t err_size);

/* Overwrite the key with zeros (sodium_memzero); NULL is fine. */
void devkey_wipe(struct devkey *key);

/* The public key as 64 lowercase hex digits and a NUL, for provisioning and diagnostics. */
void devkey_public_hex(const struct devkey *key, char buf[2 * TOKEN_PUBLIC_KEY_LEN + 1]);
