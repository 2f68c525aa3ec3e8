/*
 * qr_mask: the data mask of a QR symbol, chosen by the penalty rules of ISO/IEC 18004
 * (section 7.8.3), without re-encoding the symbol for each of the eight masks.
 *
 * Symbols are libqrencode's module arrays: width * width bytes, row by row; bit 0 of a byte is
 * the module's colour (1 = dark), bit 7 marks a function module (finder, separator, timing,
 * alignment, format and version information), which masks never touch.
 *
 * Internal to app/qr; declared here for its tests.
 */
#pragma once

#include <stdint.h>

#define QR_MASKS 8
/* The two error-correction bits of the format information (ISO/IEC 18004 table 12). */
#define QR_ECC_BITS_L 1
#define QR_ECC_BITS_M 0
#define QR_ECC_BITS_Q 3
#define QR_ECC_BITS_H 2

/*
 * The penalty of the symbol as it stands (N1 + N2 + N3 + N4):
 * - N1: 3 + (n - 5) for each run of n >= 5 modules of one colour in a row or a column;
 * - N2: 3 for each 2 x 2 block of one colour (overlapping blocks each count);
 * - N3: 40 for each dark-light-dark-dark-dark-light-dark run of single modules in a row or
 *   a column with 4 light modules before it or after it (counted once even when both sides are
 *   light); the quiet zone around the symbol is light. The same pattern at twice the scale is
 *   not looked for: its 6-module run and 2 x 2 blocks already cost under N1 and N2;
 * - N4: 10 * k where the dark share lies more than 5k % and at most 5(k+1) % from 50 %.
 * Module by module; the reference for qr_mask_choose's word-parallel evaluation.
 */
int qr_mask_penalty(const uint8_t *mod, int width);

/*
 * Re-masks the symbol from mask `from` to mask `to` (0..7; the same mask is a no-op for the
 * data) and writes the format information for ecc_bits and `to` in both of its copies.
 */
void qr_mask_switch(uint8_t *mod, int width, int from, int to, int ecc_bits);

/*
 * The mask with the lowest penalty for a symbol currently masked with `current` (the lowest
 * number on a tie), with the symbol switched to it. ret_penalties, when not NULL, gets the
 * penalty of each mask (as qr_mask_penalty would compute on the symbol switched to it).
 * Symbols up to 56 modules wide (version 9) are evaluated a row or a column per machine word;
 * wider ones module by module. Returns the chosen mask.
 */
int qr_mask_choose(uint8_t *mod, int width, int current, int ecc_bits, int ret_penalties[QR_MASKS]);
