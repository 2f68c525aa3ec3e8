/*
 * qr_mask: penalty evaluation and the switch between data masks (see qr_mask.h).
 *
 * The word-parallel evaluation keeps each row and each column of the symbol as one 64-bit word
 * (module k at bit k + PAD, the bits outside the symbol 0 = light, as the quiet zone is), so
 * that a mask is applied to a row with one AND and one XOR, and each rule is a handful of
 * shifts, ANDs and popcounts per line. Its only branches depend on the width, never on the
 * data, which matters more than the operation count: the module-by-module evaluation branches
 * on every module and mispredicts about half of them on fresh data.
 */
#include "qr_mask.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PAD	   4
#define WORD_WIDTH 56 /* PAD light bits on both sides must fit in 64 */
#define PERIOD	   12 /* every mask pattern repeats after 12 rows and after 12 columns */
#define FUNCTION   0x80

#define N1 3
#define N2 3
#define N3 40
#define N4 10

/* ISO/IEC 18004 table 10: the module at row i, column j is inverted where this is true. */
static bool mask_bit(int mask, int i, int j)
{
	switch (mask) {
	case 0:
		return (i + j) % 2 == 0;
	case 1:
		return i % 2 == 0;
	case 2:
		return j % 3 == 0;
	case 3:
		return (i + j) % 3 == 0;
	case 4:
		return (i / 2 + j / 3) % 2 == 0;
	case 5:
		return (i * j) % 2 + (i * j) % 3 == 0;
	case 6:
		return ((i * j) % 2 + (i * j) % 3) % 2 == 0;
	default:
		return ((i + j) % 2 + (i * j) % 3) % 2 == 0;
	}
}

/* The 15 format bits for the ECC level and mask: BCH(15,5), then XOR 101010000010010. */
static unsigned format_bits(int ecc_bits, int mask)
{
	unsigned data = (unsigned) (ecc_bits & 3) << 3 | (unsigned) mask;
	unsigned rem = data;
	for (int k = 0; k < 10; k++)
		rem = (rem << 1) ^ ((rem >> 9) * 0x537u);
	return ((data << 10) | (rem & 0x3ffu)) ^ 0x5412u;
}

/*
 * Where format bit k (0 = least significant) sits in copy 0 (around the top-left finder) or
 * copy 1 (split between the bottom-left and top-right finders): row *y, column *x.
 */
static void format_position(int k, int width, int copy, int *y, int *x)
{
	if (copy == 0) {
		if (k < 6)
			*y = k, *x = 8;
		else if (k < 8)
			*y = k + 1, *x = 8;
		else if (k == 8)
			*y = 8, *x = 7;
		else
			*y = 8, *x = 14 - k;
	} else {
		if (k < 8)
			*y = 8, *x = width - 1 - k;
		else
			*y = width - 15 + k, *x = 8;
	}
}

void qr_mask_switch(uint8_t *mod, int width, int from, int to, int ecc_bits)
{
	if (from != to) {
		for (int i = 0; i < width; i++) {
			for (int j = 0; j < width; j++) {
				uint8_t *m = &mod[(size_t) i * (size_t) width + (size_t) j];
				if (!(*m & FUNCTION))
					*m ^= (uint8_t) (mask_bit(from, i, j) ^ mask_bit(to, i, j));
			}
		}
	}
	unsigned bits = format_bits(ecc_bits, to);
	for (int copy = 0; copy < 2; copy++) {
		for (int k = 0; k < 15; k++) {
			int y, x;
			format_position(k, width, copy, &y, &x);
			uint8_t *m = &mod[(size_t) y * (size_t) width + (size_t) x];
			*m = (uint8_t) ((*m & ~1u) | ((bits >> k) & 1u));
		}
	}
}

/* ---- module by module ---- */

static int dark_at(const uint8_t *mod, int width, bool rows, int line, int k)
{
	if (k < 0 || k >= width)
		return 0; /* the quiet zone */
	size_t i = (size_t) (rows ? line : k), j = (size_t) (rows ? k : line);
	return mod[i * (size_t) width + j] & 1;
}

static int n4_penalty(int dark, int total)
{
	int dev20 = abs(20 * dark - 10 * total); /* |share - 50 %| in units of 5 %, times total */
	return dev20 == 0 ? 0 : ((dev20 + total - 1) / total - 1) * N4;
}

static int line_penalty(const uint8_t *mod, int width, bool rows, int line)
{
	static const int finder[7] = {1, 0, 1, 1, 1, 0, 1};
	int p = 0;
	for (int k = 0, run = 0; k <= width; k++) {
		if (k > 0 && k < width &&
		    dark_at(mod, width, rows, line, k) == dark_at(mod, width, rows, line, k - 1)) {
			run++;
			continue;
		}
		if (run >= 5)
			p += N1 + run - 5;
		run = 1;
	}
	for (int q = 0; q + 7 <= width; q++) {
		bool core = true, left = true, right = true;
		for (int k = 0; k < 7; k++)
			core &= dark_at(mod, width, rows, line, q + k) == finder[k];
		for (int k = 1; k <= 4; k++) {
			left &= !dark_at(mod, width, rows, line, q - k);
			right &= !dark_at(mod, width, rows, line, q + 6 + k);
		}
		if (core && (left || right))
			p += N3;
	}
	return p;
}

int qr_mask_penalty(const uint8_t *mod, int width)
{
	int p = 0, dark = 0;
	for (int line = 0; line < width; line++)
		p += line_penalty(mod, width, true, line) + line_penalty(mod, width, false, line);
	for (int i = 0; i < width; i++) {
		for (int j = 0; j < width; j++) {
			int d = dark_at(mod, width, true, i, j);
			dark += d;
			if (i + 1 < width && j + 1 < width &&
			    d == dark_at(mod, width, true, i, j + 1) &&
			    d == dark_at(mod, width, true, i + 1, j) &&
			    d == dark_at(mod, width, true, i + 1, j + 1))
				p += N2;
		}
	}
	return p + n4_penalty(dark, width * width);
}

/* ---- a line per word ---- */

static uint64_t row_pattern[QR_MASKS][PERIOD], col_pattern[QR_MASKS][PERIOD];
static pthread_once_t patterns_once = PTHREAD_ONCE_INIT;

static void patterns_init(void)
{
	for (int m = 0; m < QR_MASKS; m++) {
		for (int r = 0; r < PERIOD; r++) {
			for (int k = 0; k < WORD_WIDTH; k++) {
				row_pattern[m][r] |= (uint64_t) mask_bit(m, r, k) << (k + PAD);
				col_pattern[m][r] |= (uint64_t) mask_bit(m, k, r) << (k + PAD);
			}
		}
	}
}

/* N1 for the set bits of x: a run of n >= 5 has n - 4 starts of five, and one first start. */
static int runs_penalty(uint64_t x)
{
	uint64_t r = x & x >> 1 & x >> 2 & x >> 3 & x >> 4;
	return __builtin_popcountll(r) + (N1 - 1) * __builtin_popcountll(r & ~(r << 1));
}

/* N1 and N3 of one row or column. */
static int word_penalty(uint64_t w, uint64_t full)
{
	uint64_t l = ~w; /* light, the outside included */
	int p = runs_penalty(w) + runs_penalty(l & full);
	/* bit q: modules q-4 .. q+2 (q counted with PAD) are 1011101, then the light sides */
	uint64_t core = w >> 4 & l >> 5 & w >> 6 & w >> 7 & w >> 8 & l >> 9 & w >> 10;
	uint64_t left = l & l >> 1 & l >> 2 & l >> 3;
	uint64_t right = l >> 11 & l >> 12 & l >> 13 & l >> 14;
	return p + N3 * __builtin_popcountll(core & (left | right));
}

static int words_penalty(const uint64_t *rows, const uint64_t *cols, int width)
{
	const uint64_t full = ((UINT64_C(1) << width) - 1) << PAD;
	const uint64_t pairs = ((UINT64_C(1) << (width - 1)) - 1) << PAD;
	int p = 0, dark = 0, blocks = 0;
	for (int k = 0; k < width; k++) {
		p += word_penalty(rows[k], full) + word_penalty(cols[k], full);
		dark += __builtin_popcountll(rows[k]);
	}
	for (int i = 0; i + 1 < width; i++) {
		uint64_t d = rows[i] & rows[i + 1], l = ~(rows[i] | rows[i + 1]) & full;
		blocks += __builtin_popcountll(((d & d >> 1) | (l & l >> 1)) & pairs);
	}
	return p + N2 * blocks + n4_penalty(dark, width * width);
}

static int choose_by_words(const uint8_t *mod, int width, int current, int ecc_bits,
			   int pen[QR_MASKS])
{
	pthread_once(&patterns_once, patterns_init);
	uint64_t rows[WORD_WIDTH] = {0}, cols[WORD_WIDTH] = {0};
	uint64_t data_rows[WORD_WIDTH] = {0}, data_cols[WORD_WIDTH] = {0};
	for (int i = 0; i < width; i++) {
		for (int j = 0; j < width; j++) {
			uint64_t m = mod[(size_t) i * (size_t) width + (size_t) j];
			uint64_t d = m & 1, data = ((m & FUNCTION) >> 7) ^ 1;
			rows[i] |= d << (j + PAD);
			cols[j] |= d << (i + PAD);
			data_rows[i] |= data << (j + PAD);
			data_cols[j] |= data << (i + PAD);
		}
	}
	/* unmask, and clear the format modules: each mask writes its own */
	for (int k = 0; k < width; k++) {
		rows[k] ^= row_pattern[current][k % PERIOD] & data_rows[k];
		cols[k] ^= col_pattern[current][k % PERIOD] & data_cols[k];
	}
	int fy[30], fx[30];
	for (int copy = 0; copy < 2; copy++) {
		for (int k = 0; k < 15; k++) {
			int *y = &fy[copy * 15 + k], *x = &fx[copy * 15 + k];
			format_position(k, width, copy, y, x);
			rows[*y] &= ~(UINT64_C(1) << (*x + PAD));
			cols[*x] &= ~(UINT64_C(1) << (*y + PAD));
		}
	}

	int best = 0;
	for (int m = 0; m < QR_MASKS; m++) {
		uint64_t mr[WORD_WIDTH], mc[WORD_WIDTH];
		for (int k = 0; k < width; k++) {
			mr[k] = rows[k] ^ (row_pattern[m][k % PERIOD] & data_rows[k]);
			mc[k] = cols[k] ^ (col_pattern[m][k % PERIOD] & data_cols[k]);
		}
		unsigned bits = format_bits(ecc_bits, m);
		for (int n = 0; n < 30; n++) {
			uint64_t b = (bits >> (n % 15)) & 1;
			mr[fy[n]] |= b << (fx[n] + PAD);
			mc[fx[n]] |= b << (fy[n] + PAD);
		}
		pen[m] = words_penalty(mr, mc, width);
		if (pen[m] < pen[best])
			best = m;
	}
	return best;
}

static int choose_by_modules(const uint8_t *mod, int width, int current, int ecc_bits,
			     int pen[QR_MASKS])
{
	size_t n = (size_t) width * (size_t) width;
	uint8_t *copy = malloc(n);
	int best = 0;
	for (int m = 0; m < QR_MASKS; m++) {
		if (!copy) {
			pen[m] = 0; /* no memory to compare in: keep mask 0 */
			continue;
		}
		memcpy(copy, mod, n);
		qr_mask_switch(copy, width, current, m, ecc_bits);
		pen[m] = qr_mask_penalty(copy, width);
		if (pen[m] < pen[best])
			best = m;
	}
	free(copy);
	return best;
}

int qr_mask_choose(uint8_t *mod, int width, int current, int ecc_bits, int ret_penalties[QR_MASKS])
{
	int pen[QR_MASKS];
	int best = width <= WORD_WIDTH ? choose_by_words(mod, width, current, ecc_bits, pen)
				       : choose_by_modules(mod, width, current, ecc_bits, pen);
	qr_mask_switch(mod, width, current, best, ecc_bits);
	if (ret_penalties)
		memcpy(ret_penalties, pen, sizeof(pen));
	return best;
}
