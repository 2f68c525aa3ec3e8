/*
 * escpos-render: show what an ESC/POS byte stream prints, as UTF-8 text (golden text for tests),
 * as a PNG of the paper (for QR decoding and for support staff) and as the raster images it
 * carries. The interpreting is in render.c; this file is only the command line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "printer_profile.h"
#include "render.h"

enum {
	EXIT_BAD_INPUT = 1,
	EXIT_USAGE = 2,
};

enum {
	OPT_TEXT = 0x100,
	OPT_PNG,
	OPT_IMAGES,
	OPT_WIDTH,
	OPT_CODEPAGE,
	OPT_FONT,
	OPT_BOLD_FONT,
	OPT_MAX_HEIGHT,
	OPT_PRINTER,
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: escpos-render [OPTIONS] [FILE]\n"
	    "Interpret the ESC/POS bytes of FILE (or standard input, or '-') and show the "
	    "receipt.\n"
	    "\n"
	    "  --text             print the receipt as UTF-8 text lines (the default output)\n"
	    "  --png FILE         write the paper as a grayscale PNG\n"
	    "  --images DIR       write each GS v 0 raster image as DIR/image-N.png, N from 1\n"
	    "  --printer FILE     a printer model file (board/printers/*.json): its head width\n"
	    "                     and code page slots\n"
	    "  --width DOTS       head width in dots: 384 for 58 mm (default), 576 for 80 mm\n"
	    "  --codepage N=NAME  ESC t slot N selects NAME (CP852 or CP1250); repeatable;\n"
	    "                     defaults 18=CP852 and 45=CP1250 (ESC GS t, Star: 5 and 33)\n"
	    "  --font FILE        font for text in the PNG: a PSF console font or a TrueType\n"
	    "                     font (default %s,\n"
	    "                     or DejaVu Sans Mono when that is not installed)\n"
	    "  --bold-font FILE   font for bold text (default %s;\n"
	    "                     with only --font given, bold is the regular font emboldened)\n"
	    "  --max-height DOTS  refuse pages taller than this (default %d)\n"
	    "  -q, --quiet        do not print warnings\n"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Text output: alignment as leading spaces within width/12 columns, images as\n"
	    "\"[image WxH]\", cuts as \"[cut]\", native QR codes as \"[native QR: payload]\".\n"
	    "Exit status: 0 ok, 1 input rejected or output not written, 2 usage error.\n",
	    ESCPOS_RENDER_FONT_REGULAR, ESCPOS_RENDER_FONT_BOLD, ESCPOS_RENDER_HEIGHT_MAX);
}

static int parse_int(const char *s, long min, long max, int *ret)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = (int) v;
	return 0;
}

/* Read all of f, up to cap + 1 bytes so that a too large input is seen as such. */
static int read_input(FILE *f, size_t cap, uint8_t **ret_data, size_t *ret_len)
{
	size_t alloc = (size_t) 64 * 1024, len = 0;
	uint8_t *data = malloc(alloc);
	if (!data)
		return -ENOMEM;
	for (;;) {
		if (len == alloc) {
			if (alloc > cap) /* already past the cap: render reports it */
				break;
			alloc *= 2;
			uint8_t *p = realloc(data, alloc);
			if (!p) {
				free(data);
				return -ENOMEM;
			}
			data = p;
		}
		size_t got = fread(data + len, 1, alloc - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(data);
		return -EIO;
	}
	*ret_data = data;
	*ret_len = len;
	return 0;
}

static void print_warnings(const struct escpos_page *page, const char *name)
{
	const char *w = escpos_page_warnings(page);
	while (*w) {
		const char *nl = strchr(w, '\n');
		int n = nl ? (int) (nl - w) : (int) strlen(w);
		fprintf(stderr, "escpos-render: %s: warning: %.*s\n", name, n, w);
		w += n + (nl ? 1 : 0);
	}
}

static int write_images(const struct escpos_page *page, const char *dir)
{
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "escpos-render: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < escpos_page_image_count(page); i++) {
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/image-%zu.png", dir, i + 1) >=
		    (int) sizeof(path)) {
			fprintf(stderr, "escpos-render: %s: path too long\n", dir);
			return -ENAMETOOLONG;
		}
		int r = escpos_page_write_image_png(page, i, path);
		if (r < 0) {
			fprintf(stderr, "escpos-render: %s: cannot write: %s\n", path,
				strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Take the head width and the code page slots of a board/printers model file. */
static int load_printer(const char *path, struct escpos_render_options *opt)
{
	char text[PRINTER_MODEL_FILE_MAX + 1], err[160];
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "escpos-render: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	size_t n = fread(text, 1, sizeof(text), f);
	fclose(f);
	struct printer_model m;
	int r = printer_model_parse(text, n, &m, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "escpos-render: %s: %s\n", path, err);
		return r;
	}
	opt->width_dots = m.width_dots;
	int *table =
	    m.codepage_cmd == PRINTER_CODEPAGE_STAR ? opt->star_slot_codepage : opt->slot_codepage;
	for (int cp = 0; cp < CODEPAGE_MAX; cp++) {
		if (m.slot[cp] >= 0)
			table[m.slot[cp]] = cp;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"text", no_argument, NULL, OPT_TEXT},
	    {"png", required_argument, NULL, OPT_PNG},
	    {"images", required_argument, NULL, OPT_IMAGES},
	    {"width", required_argument, NULL, OPT_WIDTH},
	    {"printer", required_argument, NULL, OPT_PRINTER},
	    {"codepage", required_argument, NULL, OPT_CODEPAGE},
	    {"font", required_argument, NULL, OPT_FONT},
	    {"bold-font", required_argument, NULL, OPT_BOLD_FONT},
	    {"max-height", required_argument, NULL, OPT_MAX_HEIGHT},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct escpos_render_options opt;
	escpos_render_options_init(&opt);
	const char *png = NULL, *images = NULL, *font = NULL, *bold_font = NULL;
	int text = 0, quiet = 0, c;

	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TEXT:
			text = 1;
			break;
		case OPT_PNG:
			png = optarg;
			break;
		case OPT_IMAGES:
			images = optarg;
			break;
		case OPT_WIDTH:
			if (parse_int(optarg, ESCPOS_RENDER_WIDTH_MIN, ESCPOS_RENDER_WIDTH_MAX,
				      &opt.width_dots) < 0) {
				fprintf(stderr, "escpos-render: --width: expected %d..%d dots\n",
					ESCPOS_RENDER_WIDTH_MIN, ESCPOS_RENDER_WIDTH_MAX);
				return EXIT_USAGE;
			}
			break;
		case OPT_PRINTER:
			if (load_printer(optarg, &opt) < 0)
				return EXIT_USAGE;
			break;
		case OPT_MAX_HEIGHT:
			if (parse_int(optarg, 1, 1000000, &opt.max_height) < 0) {
				fprintf(stderr,
					"escpos-render: --max-height: expected 1..1000000\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_CODEPAGE:
			if (escpos_render_options_set_slot(&opt, optarg) < 0) {
				fprintf(stderr,
					"escpos-render: --codepage '%s': expected N=CP852 or "
					"N=CP1250 with N in 0..255\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_FONT:
			font = optarg;
			break;
		case OPT_BOLD_FONT:
			bold_font = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "escpos-render: one input file at most\n");
		return EXIT_USAGE;
	}
	if (!png && !images)
		text = 1;
	bool default_font = !font && !bold_font;
	if (!font) {
		font = ESCPOS_RENDER_FONT_REGULAR;
		if (!bold_font)
			bold_font = ESCPOS_RENDER_FONT_BOLD;
	}

	const char *name = optind < argc ? argv[optind] : "-";
	FILE *in = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
	if (!in) {
		fprintf(stderr, "escpos-render: %s: %s\n", name, strerror(errno));
		return EXIT_BAD_INPUT;
	}
	uint8_t *data = NULL;
	size_t len = 0;
	int r = read_input(in, opt.max_input, &data, &len);
	if (in != stdin)
		fclose(in);
	if (r < 0) {
		fprintf(stderr, "escpos-render: %s: cannot read: %s\n", name, strerror(-r));
		return EXIT_BAD_INPUT;
	}

	struct escpos_font *f = NULL;
	if (png) {
		r = escpos_font_open(font, bold_font, &f);
		if (r == -ENOENT && default_font) {
			if (!quiet)
				fprintf(stderr,
					"escpos-render: note: %s is not installed (Debian package "
					"console-setup-linux); text drawn with %s\n",
					font, ESCPOS_RENDER_FONT_TTF_REGULAR);
			font = ESCPOS_RENDER_FONT_TTF_REGULAR;
			bold_font = ESCPOS_RENDER_FONT_TTF_BOLD;
			r = escpos_font_open(font, bold_font, &f);
		}
		if (r < 0) {
			fprintf(stderr, "escpos-render: cannot load font %s%s%s: %s\n", font,
				bold_font ? " or " : "", bold_font ? bold_font : "", strerror(-r));
			free(data);
			return EXIT_USAGE;
		}
		opt.font = f;
	}

	struct escpos_page *page = NULL;
	struct escpos_render_error err = {0};
	r = escpos_render(data, len, &opt, &page, &err);
	free(data);
	if (r < 0) {
		fprintf(stderr, "escpos-render: %s: offset %zu: %s\n", name, err.offset,
			err.message);
		escpos_font_free(f);
		return EXIT_BAD_INPUT;
	}
	if (!quiet)
		print_warnings(page, name);

	int status = 0;
	if (text) {
		fputs(escpos_page_text(page), stdout);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "escpos-render: cannot write the text: %s\n",
				strerror(errno));
			status = EXIT_BAD_INPUT;
		}
	}
	if (png) {
		r = escpos_page_write_png(page, png);
		if (r < 0) {
			fprintf(stderr, "escpos-render: %s: cannot write: %s\n", png, strerror(-r));
			status = EXIT_BAD_INPUT;
		}
	}
	if (images && write_images(page, images) < 0)
		status = EXIT_BAD_INPUT;

	escpos_page_free(page);
	escpos_font_free(f);
	return status;
}
