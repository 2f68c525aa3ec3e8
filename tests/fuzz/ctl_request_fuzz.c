/* ctl_request_fuzz: control socket request parsing of arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request r;
	char err[160];
	err[0] = '\0';
	if (ctl_request_parse((const char *) data, size, &r, err, sizeof(err)) == 0) {
		if (r.cmd >= CTL_CMD_MAX || r.amount[sizeof(r.amount) - 1] != '\0' ||
		    r.uid[sizeof(r.uid) - 1] != '\0')
			abort();
	} else if (!err[0]) {
		abort();
	}
	return 0;
}
