#!/usr/bin/env bash
# foreign_encoder_test: tools/escpos-render on ESC/POS bytes we did not write. make-receipts.mjs
# has @point-of-sale/receipt-printer-encoder (installed with `npm ci` from the committed lock
# into the build folder) encode a 58 mm and an 80 mm receipt: CP852 text in styles, a GS v 0
# raster image, a native GS ( k QR code, a cut. The renderer must show the text, draw the image
# dot for dot, draw a QR code zbarimg decodes, and warn about nothing.
# Without node and npm, or without a reachable npm registry, the test is skipped (exit 77, shown
# by CTest with the reason); tools/dev installs node and npm.
set -euo pipefail
src=$1
build=$2
render=$build/tools/escpos-render/escpos-render
fails=0
check() { # name expected actual
	if [ "$2" == "$3" ]; then
		echo "ok: $1"
	else
		printf 'FAIL: %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3"
		fails=$((fails + 1))
	fi
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "SKIP: node and npm are not installed (Debian packages nodejs npm; tools/dev installs them)"
	exit 77
fi
convert=/usr/bin/convert
[ -x "$convert" ] || convert=$(command -v convert || true)
compare=$(command -v compare || true)
if [ -z "$convert" ] || [ -z "$compare" ] || ! command -v zbarimg >/dev/null; then
	echo "FAIL: ImageMagick or zbarimg missing (tools/dev installs imagemagick zbar-tools)"
	exit 1
fi

# the encoder, as locked, in the build folder (installed again only when the lock changes)
mods=$build/tests-npm
mkdir -p "$mods"
if ! cmp -s "$src/tests/npm/package-lock.json" "$mods/package-lock.json" ||
	[ ! -d "$mods/node_modules/@point-of-sale/receipt-printer-encoder" ]; then
	cp "$src/tests/npm/package.json" "$src/tests/npm/package-lock.json" "$mods/"
	if ! (cd "$mods" && npm ci --no-audit --no-fund --loglevel=error --fetch-retries=1 \
		--fetch-timeout=30000) 2>"$mods/npm.err"; then
		cat "$mods/npm.err"
		# a machine that cannot reach the registry (no route, or a TLS interception its
		# certificate store does not trust) cannot run this test: say so, as a skip
		if grep -qE 'SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)|CERT_|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH' "$mods/npm.err"; then
			echo "SKIP: the npm registry cannot be reached from this machine (see above)"
			exit 77
		fi
		echo "FAIL: npm ci in $mods failed"
		exit 1
	fi
fi
cp "$src/tests/npm/make-receipts.mjs" "$mods/"

work=$(mktemp -d -t foreign_encoder.XXXXXX)
trap 'rm -rf "$work"' EXIT
node "$mods/make-receipts.mjs" "$work"
qr=$(cat "$work/qr.txt")
echo "receipts by @point-of-sale/receipt-printer-encoder $(node -p "require('$mods/node_modules/@point-of-sale/receipt-printer-encoder/package.json').version")"

for w in 58 80; do
	dots=$([ $w = 58 ] && echo 384 || echo 576)
	cols=$((dots / 12))
	rule=$(printf '%*s' "$cols" '' | tr ' ' -)
	title="Piekarnia Pod Lipą"
	pad=$(((cols - 18) / 2))
	want="$(printf '%*s' "$pad" '')$title
Zażółć gęślą jaźń
ZAŻÓŁĆ GĘŚLĄ JAŹŃ
Dziękujemy
$rule
[image 64x32]

[native QR: $qr]

Koniec
[cut]"
	"$render" --width "$dots" --text --png "$work/$w.png" --images "$work/img$w" \
		"$work/receipt-$w.bin" >"$work/$w.txt" 2>"$work/$w.warn"
	check "$w mm: the text" "$want" "$(cat "$work/$w.txt")"
	check "$w mm: no warnings" "" "$(cat "$work/$w.warn")"
	check "$w mm: the QR code decodes" "$qr" "$(zbarimg --raw -q "$work/$w.png" 2>/dev/null || true)"
	# the raster image as sent, dot for dot (AE: the number of differing pixels)
	diff=$("$compare" -metric AE "$work/img$w/image-1.png" "$work/image.pbm" null: 2>&1 || true)
	check "$w mm: the image dot for dot" 0 "$diff"
done
echo "$fails failed"
[ "$fails" = 0 ]
