/* nfc-libnfc: placeholder until implemented. */
#include <errno.h>
#include "nfc.h"
static int stub_open(const struct hal_nfc_config *c, struct hal_nfc **r)
{
	(void) c;
	(void) r;
	return -ENOTSUP;
}
const struct hal_nfc_ops hal_nfc_libnfc_ops = {.name = "libnfc", .open = stub_open};
