/* random: getrandom(2) with retry on EINTR and short reads. */
#include "random.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

int hal_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += got;
		n -= (size_t) got;
	}
	return 0;
}
