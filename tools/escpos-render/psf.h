/*
 * psf: Linux console bitmap fonts (PSF1 and PSF2, gzip-compressed or not) for drawing receipt
 * text as a printer does, from a fixed grid of dots. Debian's console-setup-linux ships
 * Terminus in the 12x24 cell of printer font A (/usr/share/consolefonts/Uni2-Terminus24x12.psf.gz,
 * SIL Open Font License).
 *
 * The file is untrusted input in the sense that a bad one is refused, never read past: sizes are
 * checked against the data, the file is capped at PSF_FILE_MAX bytes. Not a font renderer:
 * no scaling, no kerning, one glyph per code point (combining sequences are skipped).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define PSF_FILE_MAX   ((size_t) 4 * 1024 * 1024)
#define PSF_GLYPHS_MAX 65536
#define PSF_WIDTH_MAX  64
#define PSF_HEIGHT_MAX 128

struct psf;

/*
 * Load the font at path. Returns 0, -ENOENT when the file does not exist, -ENOTSUP when it is
 * not a PSF font or larger than PSF_FILE_MAX (so the caller may try another format), -EINVAL for a
 * PSF file that is malformed or larger than the caps, -EIO or -ENOMEM. *ret_font is written only on
 * success.
 */
__attribute__((warn_unused_result)) int psf_load(const char *path, struct psf **ret_font);
void psf_free(struct psf *font);

int psf_width(const struct psf *font);
int psf_height(const struct psf *font);

/*
 * Draw code point cp into ink (cell_h rows of cell_w bytes: 255 where the glyph has a dot, the
 * rest left as it was), the glyph centred in the cell and cut to it. A code point the font lacks
 * is drawn as U+FFFD, or '?' when that is missing too. Returns false when nothing was drawn.
 */
bool psf_draw(const struct psf *font, uint32_t cp, uint8_t *ink, int cell_w, int cell_h);
