/*
 * printer_profile: the model files of board/printers/ (JSON, read with cJSON) and the encoder
 * profile made from one. The file format is in printer_profile.h and docs/receipts.md.
 */
#include "printer_profile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_size, const char *fmt, ...)
{
	if (err && err_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int get_string(const cJSON *o, const char *key, char *out, size_t cap, char *err,
		      size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return fail(err, err_size, "%s: missing", key);
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return fail(err, err_size, "%s: must be a non-empty string", key);
	size_t n = strlen(v->valuestring);
	if (out) {
		if (n >= cap)
			return fail(err, err_size, "%s: longer than %zu characters", key, cap - 1);
		memcpy(out, v->valuestring, n + 1);
	}
	return 0;
}

static int get_int(const cJSON *o, const char *key, int min, int max, int *out, char *err,
		   size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return fail(err, err_size, "%s: missing", key);
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1e300;
	if (d < min || d > max || d != (double) (int) d)
		return fail(err, err_size, "%s: must be a whole number from %d to %d", key, min,
			    max);
	*out = (int) d;
	return 0;
}

static int get_bool(const cJSON *o, const char *key, bool *out, char *err, size_t err_size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsBool(v))
		return fail(err, err_size, "%s: %s", key, v ? "must be true or false" : "missing");
	*out = cJSON_IsTrue(v);
	return 0;
}

static int parse(const cJSON *o, struct printer_model *m, char *err, size_t err_size)
{
	static const char *const keys[] = {
	    "model",   "vendor",	   "source",	"credit", "dpi",       "width_dots",
	    "columns", "codepage_command", "codepages", "raster", "native_qr", "cutter",
	};
	if (!cJSON_IsObject(o))
		return fail(err, err_size, "not a JSON object");
	for (const cJSON *it = o->child; it; it = it->next) {
		bool known = false;
		for (size_t i = 0; !known && i < sizeof(keys) / sizeof(keys[0]); i++)
			known = strcmp(it->string, keys[i]) == 0;
		if (!known)
			return fail(err, err_size, "%s: unknown key", it->string);
	}

	char cmd[16];
	int r;
	if ((r = get_string(o, "model", m->model, sizeof(m->model), err, err_size)) < 0 ||
	    (r = get_string(o, "vendor", m->vendor, sizeof(m->vendor), err, err_size)) < 0 ||
	    (r = get_string(o, "source", NULL, 0, err, err_size)) < 0 ||
	    (r = get_string(o, "credit", NULL, 0, err, err_size)) < 0 ||
	    (r = get_int(o, "dpi", 100, 400, &m->dpi, err, err_size)) < 0 ||
	    (r = get_int(o, "width_dots", 128, 1024, &m->width_dots, err, err_size)) < 0 ||
	    (r = get_int(o, "columns", 16, 96, &m->columns, err, err_size)) < 0 ||
	    (r = get_string(o, "codepage_command", cmd, sizeof(cmd), err, err_size)) < 0 ||
	    (r = get_bool(o, "raster", &m->raster, err, err_size)) < 0 ||
	    (r = get_bool(o, "native_qr", &m->native_qr, err, err_size)) < 0 ||
	    (r = get_bool(o, "cutter", &m->cutter, err, err_size)) < 0)
		return r;
	if (strcmp(cmd, "ESC t") == 0)
		m->codepage_cmd = PRINTER_CODEPAGE_ESC_T;
	else if (strcmp(cmd, "ESC GS t") == 0)
		m->codepage_cmd = PRINTER_CODEPAGE_STAR;
	else
		return fail(err, err_size,
			    "codepage_command: '%s' is not \"ESC t\" or \"ESC GS t\"", cmd);

	const cJSON *pages = cJSON_GetObjectItemCaseSensitive(o, "codepages");
	if (!cJSON_IsObject(pages) || !pages->child)
		return fail(err, err_size, "codepages: %s",
			    pages ? "must be an object naming CP852 or CP1250" : "missing");
	for (int i = 0; i < CODEPAGE_MAX; i++)
		m->slot[i] = -1;
	for (const cJSON *it = pages->child; it; it = it->next) {
		enum codepage cp;
		if (codepage_from_name(it->string, &cp) < 0)
			return fail(err, err_size, "codepages.%s: not CP852 or CP1250", it->string);
		if (m->slot[cp] >= 0)
			return fail(err, err_size, "codepages.%s: given twice", it->string);
		char key[32];
		snprintf(key, sizeof(key), "codepages.%s", it->string);
		double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
		if (d < 0 || d > 255 || d != (double) (int) d)
			return fail(err, err_size, "%s: must be a whole number from 0 to 255", key);
		m->slot[cp] = (int) d;
	}
	return 0;
}

int printer_model_parse(const char *text, size_t len, struct printer_model *ret_model, char *err,
			size_t err_size)
{
	if (err && err_size)
		err[0] = '\0';
	if (!text || !ret_model)
		return fail(err, err_size, "no model file");
	if (len > PRINTER_MODEL_FILE_MAX) {
		fail(err, err_size, "larger than %d bytes", PRINTER_MODEL_FILE_MAX);
		return -E2BIG;
	}
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!root)
		return fail(err, err_size, "not valid JSON (or out of memory)");
	struct printer_model m = {0};
	int r = parse(root, &m, err, err_size);
	cJSON_Delete(root);
	if (r < 0)
		return r;
	*ret_model = m;
	return 0;
}

int printer_model_profile(const struct printer_model *m, enum codepage encoding, bool native_qr,
			  struct printer_profile *ret_profile, char *err, size_t err_size)
{
	if (!m || !ret_profile || (unsigned) encoding >= CODEPAGE_MAX ||
	    (unsigned) m->codepage_cmd >= PRINTER_CODEPAGE_CMD_MAX)
		return fail(err, err_size, "invalid arguments");
	if (m->slot[encoding] < 0 || m->slot[encoding] > 255) {
		fail(err, err_size, "%s has no %s code page", m->model, codepage_name(encoding));
		return -ENOTSUP;
	}
	if (native_qr && !m->native_qr) {
		fail(err, err_size, "%s cannot print QR codes itself (GS ( k)", m->model);
		return -ENOTSUP;
	}
	if (!native_qr && !m->raster) {
		fail(err, err_size, "%s cannot print raster images (GS v 0)", m->model);
		return -ENOTSUP;
	}
	struct printer_profile p = {
	    .width_dots = m->width_dots,
	    .columns = m->columns,
	    .encoding = encoding,
	    .codepage_slot = m->slot[encoding],
	    .qr_module_dots = m->width_dots >= 512 ? 6 : 5,
	    .cutter = m->cutter,
	    .codepage_cmd = m->codepage_cmd,
	    .native_qr = native_qr,
	};
	snprintf(p.model, sizeof(p.model), "%s", m->model);
	*ret_profile = p;
	return 0;
}
