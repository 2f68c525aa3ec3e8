/*
 * template: the store-editable texts of a receipt, a tiny template language with no code in it.
 *
 * A template is UTF-8 text with placeholders: "{name}" is replaced by the value of the variable
 * `name` (a lowercase ASCII identifier the caller lists), "{{" and "}}" stand for literal braces,
 * and "\n" in the text (a real newline) starts a new printed line. That is all: no conditions,
 * loops, filters or nesting, so a template cannot run anything and its output is bounded by its
 * length plus the values' lengths, capped by the caller's buffer.
 *
 * Templates are checked once, when the configuration is loaded (template_check): an unknown
 * placeholder, an unclosed or empty brace, a lone '}', a control character other than the
 * newline, invalid UTF-8, more than TEMPLATE_LINES_MAX lines or more than TEMPLATE_SRC_MAX bytes
 * is an error with a message naming the problem and its byte offset. Rendering a checked
 * template cannot fail except for room (-E2BIG, nothing half-written is used by the caller).
 */
#pragma once

#include <stddef.h>

#define TEMPLATE_SRC_MAX   256 /* bytes of a template, without the NUL */
#define TEMPLATE_LINES_MAX 4   /* printed lines a template may have */
#define TEMPLATE_NAME_MAX  16  /* bytes of a placeholder name */

/* A variable a template may use: its name, and (at render time) its value, NULL meaning "". */
struct template_var {
	const char *name;
	const char *value;
};

/*
 * Check src against the variables vars[0..n) (their values are not used). Returns 0, or -EINVAL
 * with a one-line English reason in err (e.g. "unknown placeholder {nme} at byte 9; known:
 * store, receipt"), or -E2BIG for a template over TEMPLATE_SRC_MAX bytes or TEMPLATE_LINES_MAX
 * lines (also with a reason).
 */
int template_check(const char *src, const struct template_var *vars, size_t n, char *err,
		   size_t err_size);

/*
 * Render a checked src with the values of vars into out (NUL-terminated). Returns the length,
 * -E2BIG when out is too small, -EINVAL when src does not pass template_check.
 */
int template_render(const char *src, const struct template_var *vars, size_t n, char *out,
		    size_t size);
