/*
 * qr: a QR code drawn as a 1-bit raster for the printer head, with libqrencode doing the
 * encoding. Only drawing lives here; sending the raster is app/escpos's job.
 *
 * The data mask is chosen by app/qr_mask rather than by libqrencode: libqrencode applies and
 * scores each of the eight masks module by module, which is most of its time (about 200 us of
 * a 230 us card URL on fresh data, its branches mispredicting on every new symbol); qr_mask
 * scores them a row per word from one symbol. libqrencode is asked for the symbol with mask 0
 * through QRcode_encodeMask and for the split into segments through Split_splitStringToQRinput,
 * the two steps of its own QRcode_encodeString: both are exported by libqrencode 4 (Debian's
 * libqrencode4) but not declared in qrencode.h, so the build checks that they link and falls
 * back to QRcode_encodeString (libqrencode's own mask choice) where they do not.
 */
#include "qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "qr_mask.h"

#ifdef QR_OWN_MASK
extern QRcode *QRcode_encodeMask(QRinput *input, int mask);
extern int Split_splitStringToQRinput(const char *string, QRinput *input, QRencodeMode hint,
				      int casesensitive);

/* QRcode_encodeString(payload, 0, QR_ECLEVEL_M, QR_MODE_8, 1) with the mask chosen by qr_mask */
static QRcode *encode_string(const char *payload)
{
	QRinput *input = QRinput_new2(0, QR_ECLEVEL_M);
	if (!input)
		return NULL;
	QRcode *code = NULL;
	if (Split_splitStringToQRinput(payload, input, QR_MODE_8, 1) == 0)
		code = QRcode_encodeMask(input, 0);
	int saved = errno;
	QRinput_free(input);
	errno = saved;
	if (code)
		qr_mask_choose(code->data, code->width, 0, QR_ECC_BITS_M, NULL);
	return code;
}
#else
static QRcode *encode_string(const char *payload)
{
	return QRcode_encodeString(payload, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}
#endif

/* The symbol for payload (checked non-empty by the caller), or a negative errno. */
static int qr_encode(const char *payload, QRcode **ret_code)
{
	if (strlen(payload) > (size_t) INT32_MAX)
		return -E2BIG;
	errno = 0;
	/*
	 * Case-sensitive, so lowercase letters stay lowercase; libqrencode splits the text into
	 * numeric, alphanumeric and 8-bit segments where a switch saves bits (an uppercase token
	 * URL is one alphanumeric segment, 5.5 bits a character instead of 8). QR_MODE_8 only
	 * says that no Kanji mode is wanted.
	 */
	QRcode *code = encode_string(payload);
	if (!code) {
		/* libqrencode says ERANGE for data too large for any version */
		if (errno == ERANGE)
			return -E2BIG;
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	}
	*ret_code = code;
	return 0;
}

int qr_symbol_modules(const char *payload, int *ret_modules)
{
	if (!payload || !*payload || !ret_modules)
		return -EINVAL;
	QRcode *code;
	int r = qr_encode(payload, &code);
	if (r < 0)
		return r;
	*ret_modules = code->width;
	QRcode_free(code);
	return 0;
}

int qr_raster_make(const char *payload, int module_dots, int width_dots,
		   struct qr_raster *ret_raster)
{
	if (!payload || !*payload || !ret_raster)
		return -EINVAL;
	if (module_dots < QR_MODULE_DOTS_MIN || width_dots < 1 || width_dots > QR_WIDTH_DOTS_MAX)
		return -EINVAL;
	/* the smallest symbol (21 modules) must fit before we ask libqrencode for anything */
	if (module_dots > width_dots / (21 + 2 * QR_QUIET_MODULES))
		return -EINVAL;

	QRcode *code;
	int r = qr_encode(payload, &code);
	if (r < 0)
		return r;

	int modules = code->width;
	int side = modules + 2 * QR_QUIET_MODULES;
	if (side > width_dots / module_dots) {
		QRcode_free(code);
		return -EINVAL;
	}
	int side_dots = side * module_dots;
	int stride = (width_dots + 7) / 8;
	uint8_t *bits = calloc((size_t) stride, (size_t) side_dots);
	if (!bits) {
		QRcode_free(code);
		return -ENOMEM;
	}

	int left = (width_dots - side_dots) / 2 + QR_QUIET_MODULES * module_dots;
	int top = QR_QUIET_MODULES * module_dots;
	/* each module row is drawn once as its first dot row, then copied down module_dots-1 times */
	for (int my = 0; my < modules; my++) {
		uint8_t *row = bits + (size_t) (top + my * module_dots) * (size_t) stride;
		for (int mx = 0; mx < modules; mx++) {
			/* bit 0 of each libqrencode byte is the module colour, 1 = dark */
			if (!(code->data[my * modules + mx] & 1))
				continue;
			for (int x = left + mx * module_dots, end = x + module_dots; x < end; x++)
				row[x / 8] |= (uint8_t) (0x80u >> (x % 8));
		}
		for (int dy = 1; dy < module_dots; dy++)
			memcpy(row + (size_t) dy * (size_t) stride, row, (size_t) stride);
	}
	QRcode_free(code);

	*ret_raster = (struct qr_raster){
	    .width_dots = width_dots,
	    .height_dots = side_dots,
	    .stride = stride,
	    .modules = modules,
	    .bits = bits,
	};
	return 0;
}

void qr_raster_free(struct qr_raster *raster)
{
	if (!raster)
		return;
	free(raster->bits);
	memset(raster, 0, sizeof(*raster));
}
