/* random: bytes from the operating system's random source (getrandom). */
#pragma once

#include <stddef.h>

/* Fill buf with n random bytes. Returns 0 or a negative errno. */
__attribute__((warn_unused_result)) int hal_random_bytes(void *buf, size_t n);
