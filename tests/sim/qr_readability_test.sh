#!/usr/bin/env bash
# qr_readability_test: is the receipt QR readable by a phone, not just by a decoder looking at a
# perfect bitmap? The receipt of a first sale (escpos-testpage --receipt: app/receipt's layout
# and app/escpos, as the terminal prints it) for a 58 mm and an 80 mm model, its QR a
# full-length card token URL, is rendered to a 203 dpi PNG (escpos-render), then photographed in
# simulation with ImageMagick: grey, thermal dot gain, paper contrast, rotation up to 15 degrees
# either way, defocus, about 0.6 camera pixels per printer dot, sensor noise and JPEG at quality
# 70; the photographs frame the lower part of the receipt (as a phone held over the QR code
# does). zbarimg must read 10 of 10 such photographs at the default module size (5 dots at
# 58 mm, 6 at 80 mm). The same photographs of a 2-dot-module symbol must fail, which shows the
# degradation has teeth.
# QR_READABILITY_SWEEP=1 also prints the figures for 2..6 dots (slower; for docs/receipts.md).
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
testpage=$build/tools/escpos-render/escpos-testpage

convert=/usr/bin/convert
[ -x "$convert" ] || convert=$(command -v convert || true)
if [ -z "$convert" ] || ! command -v zbarimg >/dev/null; then
	echo "FAIL: ImageMagick convert or zbarimg missing (tools/dev installs imagemagick zbar-tools)"
	exit 1
fi
work=$(mktemp -d -t qr_readability.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A card token URL as app/token makes it: 23 characters of base and 135 of Crockford base32.
b32=0123456789ABCDEFGHJKMNPQRSTVWXYZ
url="HTTPS://K.EXAMPLE.PL/C/$(printf '%s' "$b32$b32$b32$b32$b32" | cut -c 1-135)"

# degrade IN OUT I ROWS: the I-th simulated phone photograph (1..10) of the last ROWS dots of
# the paper IN.
angles=(0 -15 -12 -9 -6 -3 3 6 9 12 15)
degrade() {
	local i=$3
	local blur=$((10 + i % 3 * 2)) # defocus sigma 1.0 .. 1.4 printer dots (0.6 .. 0.84 pixels)
	"$convert" "$1" -gravity South -crop "x$4+0+0" +repage -gravity Center -colorspace Gray \
		-blur 0x0.7 -threshold 60% \
		+level 10%,90% \
		-background white -rotate "${angles[$i]}" \
		-blur "0x$((blur / 10)).$((blur % 10))" -resize 60% \
		-seed "$i" -attenuate 0.5 +noise Gaussian \
		-quality 70 "$2"
}

# photos NAME ESCPOS WIDTH: how many of the 10 photographs of the rendered ESCPOS decode to $url
photos() {
	local name=$1 i
	"$render" --quiet --width "$3" --png "$work/$name.png" "$2"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		degrade "$work/$name.png" "$work/$name-$i.jpg" "$i" $(($3 * 5 / 3)) &
	done
	wait
	# one zbarimg for the ten: a line per symbol found; a wrong decode does not count
	zbarimg --raw -q "$work/$name"-{1..10}.jpg 2>/dev/null | grep -cxF "$url" || true
}

# native QR at any module size, drawn by the renderer: for sizes escpos refuses (below 4)
byte() { printf "\\x$(printf %02x "$1")"; }
native() { # MODULE OUT
	{
		printf '\x1b@\x1ba\x01\x1bJ'
		byte $((4 * $1))
		printf '\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C'
		byte "$1"
		printf '\x1d(k\x03\x001E1\x1d(k'
		byte $((${#url} + 3))
		printf '\x001P0%s\x1d(k\x03\x001Q0\x1bJ' "$url"
		byte $((4 * $1))
		printf '\n\n\n'
	} >"$2"
}

"$testpage" --receipt --printer "$src/board/printers/zjiang-pos-5890.json" --qr "$url" >"$work/r58.bin"
"$testpage" --receipt --printer "$src/board/printers/epson-tm-t20ii.json" --qr "$url" >"$work/r80.bin"
native 2 "$work/m2.bin"

# the pristine images decode (else the photographs below would prove nothing)
"$render" --quiet --width 384 --png "$work/p58.png" "$work/r58.bin"
check "58 mm pristine" "$url" "$(zbarimg --raw -q "$work/p58.png" 2>/dev/null || true)"
"$render" --quiet --width 384 --png "$work/p2.png" "$work/m2.bin"
check "2-dot module pristine" "$url" "$(zbarimg --raw -q "$work/p2.png" 2>/dev/null || true)"

n58=$(photos r58 "$work/r58.bin" 384)
n80=$(photos r80 "$work/r80.bin" 576)
n2=$(photos m2 "$work/m2.bin" 384)
echo "decoded photographs: 58 mm at 5 dots/module $n58/10, 80 mm at 6 dots/module $n80/10," \
	"2 dots/module $n2/10"
check "58 mm, 5 dots per module: 10 of 10 photographs decode" 10 "$n58"
check "80 mm, 6 dots per module: 10 of 10 photographs decode" 10 "$n80"
check_true "2 dots per module: at most 2 of 10 decode (the degradation has teeth)" [ "$n2" -le 2 ]

if [ "${QR_READABILITY_SWEEP:-0}" = 1 ]; then
	for m in 2 3 4 5 6; do
		native "$m" "$work/s$m.bin"
		echo "sweep: $m dots/module, 58 mm head: $(photos "s$m" "$work/s$m.bin" 384)/10"
	done
fi
finish
