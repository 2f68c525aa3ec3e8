#!/usr/bin/env bash
# web.browser: the customer's side end to end, from a printed receipt. A loyalty-server (sync API
# on TLS, card pages on loopback) and a simulator terminal (loyaltyd on the sim board) configured
# by tools/local-server terminal-json as tools/dev run configures it: a sale with a new card
# (welcome bonus and first-purchase coupon) and a sale without a card, synced. The receipts'
# ESC/POS bytes are rendered with escpos-render and their QR codes decoded with zbarimg: the
# card URL and the claim URL come from there and nowhere else. Debian's Chromium (headless),
# driven by playwright-core (card-page.mjs), opens them at 360 px: the balance and coupon the
# receipt printed, the claim of the card-less receipt typed as people type the card code, the
# survey and its bonus, the consents, the data download, the deletion; then the terminal syncs
# and must have erased the member (the tombstone arrived). An earlier card-less receipt printed
# with the terminal's clock 20 days back gives an expired claim link, the card link with one
# character changed a forged one. Screenshots and the rendered receipts go to
# tests/web/artifacts/ in the build folder.
# playwright-core is installed with `npm ci` from the committed lock into the build folder.
# Skipped (exit 77, with the reason) only without /usr/bin/chromium, node and npm, or a reachable
# npm registry; tools/dev installs chromium, nodejs, npm, zbar-tools and sqlite3.
source "$1/tests/server/lib.sh"

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	echo "SKIP: $chromium is not installed (Debian package chromium; tools/dev installs it)"
	exit 77
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "SKIP: node and npm are not installed (Debian packages nodejs npm; tools/dev installs them)"
	exit 77
fi
for t in zbarimg sqlite3; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is missing (tools/dev installs zbar-tools sqlite3)"; exit 1; }
done
mods=$bin/tests-web-npm
mkdir -p "$mods"
if ! cmp -s "$src/tests/web/package-lock.json" "$mods/package-lock.json" ||
	[ ! -d "$mods/node_modules/playwright-core" ]; then
	cp "$src/tests/web/package.json" "$src/tests/web/package-lock.json" "$mods/"
	if ! (cd "$mods" && npm ci --no-audit --no-fund --loglevel=error --fetch-retries=1 \
		--fetch-timeout=30000) 2>"$mods/npm.err"; then
		cat "$mods/npm.err"
		if grep -qE 'SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)|CERT_|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH' "$mods/npm.err"; then
			echo "SKIP: the npm registry cannot be reached from this machine (see above)"
			exit 77
		fi
		echo "FAIL: npm ci in $mods failed"
		exit 1
	fi
fi
cp "$src/tests/web/card-page.mjs" "$mods/"
artifacts=$bin/tests/web/artifacts
rm -rf "$artifacts"
mkdir -p "$artifacts"

loyaltyd=$bin/firmware/loyaltyd
loyaltyctl=$bin/tools/loyaltyctl/loyaltyctl
render=$bin/tools/escpos-render/escpos-render
state=$work/SIM1
daemon=
stop_terminal() {
	[ -z "$daemon" ] || { kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; } || true
	[ "$failures" = 0 ] || sed 's/^/loyaltyd: /' "$state/loyaltyd.log" 2>/dev/null || true
	cleanup
}
trap stop_terminal EXIT
ctl() { "$loyaltyctl" --state "$state" "$@"; }
q() { sqlite3 "$state/ledger.sqlite" "$1"; }
# what the terminal makes of a token or scanned code (its output, whatever its status)
tcheck() { ctl token check "$1" 2>&1 || true; }
scan() { ctl --json sim scan --code "$1" 2>&1 || true; }
# a "field":"text" or "field":number of a JSON answer on stdin
jfield() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1; }

# the server as tests/server/lib.sh starts it (it stops by itself after 280 s, whatever
# happens to this script), its files in the layout of tools/local-server, so that
# terminal-json enrols and configures the terminal exactly as for tools/dev run
store=$(sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' "$src/board/sim/terminal.json" | head -1)
start_server --pages-listen 127.0.0.1:0 --pages-port-file "$work/pages.port" --store-name "$store"
echo "$pid" >"$work/pid"
BUILD=$bin "$src/tools/local-server" terminal-json "$work" "$state"
# only the test's own "sync now" syncs, so that each sync's outcome is known
sed -i 's/"interval_s": *[0-9]*/"interval_s": 3600/' "$state/terminal.json"
check "the terminal's card links are the server's pages" \
	grep -q "\"card_url_base\": \"http://127.0.0.1:$(cat "$work/pages.port")/c/\"" "$state/terminal.json"

"$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --headless \
	--register 127.0.0.1:0 2>>"$state/loyaltyd.log" &
daemon=$!
for _ in $(seq 100); do
	ctl status >/dev/null 2>&1 && break
	kill -0 "$daemon" 2>/dev/null || break
	sleep 0.1
done
check "loyaltyd on the sim board is up" eval 'ctl status >/dev/null'
ctl sync now >"$work/sync0.out" 2>&1 || true
check "the terminal is registered with the server" grep -q "sync done" "$work/sync0.out"

# sale ARGS...: a sale, the customer taps the card or has none; the answer's JSON on stdout
sale() {
	local amount=$1
	shift
	ctl sale --amount "$amount" --no-wait >/dev/null
	ctl --json "$@"
	[ "$1" != sim ] || ctl sim remove >/dev/null
}
# a sale without a card 20 days ago: its claim link (14 days) has expired by today
ctl sim clock --set "$(date -u -d '20 days ago' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
sale 3,00 no-card >"$work/old.json"
ctl sim clock --set "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
sale 12,34 sim tap --uid 04A1B2C3D4E5F6 >"$work/card.json"
# the card's next purchase: the card page's survey asks about the card's latest purchase. (A
# new card's first purchase cannot be rated yet: its receipt number is the seq of its enrol
# event, and customer_survey looks for an earn event at that seq.)
sale 23,45 sim tap --uid 04A1B2C3D4E5F6 >"$work/card2.json"
sale 7,50 no-card >"$work/nocard.json"
check "a new card" grep -q '"new_member":true' "$work/card.json"
check "the same card again" grep -q '"new_member":false' "$work/card2.json"
check "a sale without a card" grep -q '"no_card":true' "$work/nocard.json"
ctl sync now >"$work/sync1.out" 2>&1 || true
check "the sales are synced ($(grep pushed "$work/sync1.out" | tr -s ' '))" \
	grep -q "queue *0 events" "$work/sync1.out"

pages=http://127.0.0.1:$(cat "$work/pages.port")
# the receipts as printed: text and paper, the QR codes as a phone reads them
for r in card card2 nocard old; do
	no=$(jfield receipt <"$work/$r.json")
	"$render" --text --width 384 "$state/printer/$no.escpos" >"$work/$r.txt"
	"$render" --png "$artifacts/receipt-$r.png" --width 384 "$state/printer/$no.escpos" >/dev/null
	zbarimg --raw -q "$artifacts/receipt-$r.png" 2>/dev/null >"$work/$r.qr" || true
done
# qr_of RECEIPT TYPE: the receipt's QR that holds a genuine token of that type (card, claim,
# coupon), as the terminal reads it
qr_of() {
	local url
	while read -r url; do
		grep -q "^$2 token" <<<"$(tcheck "$url")" && { echo "$url"; return 0; }
	done <"$work/$1.qr"
	return 0
}
card_url=$(qr_of card card)
claim_url=$(qr_of nocard claim)
coupon_url=$(qr_of card coupon)
# an expired token is not genuine to the terminal either: the old receipt's one QR
old_url=$(head -1 "$work/old.qr")
check "the card receipt's QR codes: the card and the coupon ($(wc -l <"$work/card.qr"))" \
	test -n "$card_url" -a -n "$coupon_url"
check "the card-less receipt's QR: a claim" test -n "$claim_url"
check "the old receipt's QR: an expired claim" \
	eval '[[ "${old_url,,}" == "$pages/c/"* ]] && grep -q "expired" <<<"$(tcheck "$old_url")"'
check "the QR codes open this server's pages" \
	eval '[[ "${card_url,,}" == "$pages/c/"* && "${claim_url,,}" == "$pages/c/"* ]]'
# what the receipts print: balance (the latest), card code, coupon (the first purchase's),
# points to claim, the survey's bonus
printed() { sed -n "s/^ *$2 *\([^ ]*\).*/\1/p" "$work/$1.txt" | head -1; }
balance=$(printed card2 'Saldo punktów:')
code=$(sed -n 's|.*/c/\([0-9A-Z]*\) *$|\1|p' "$work/card.txt" | head -1)
coupon=$(printed card 'kod kuponu:')
claim_pts=$(printed nocard 'Punkty do odebrania:')
survey_pts=$(printed card2 'Odpowiedz na pytanie: +')
check "the receipt prints the balance, card code, coupon and survey bonus" \
	test -n "$balance" -a -n "$code" -a -n "$coupon" -a -n "$survey_pts"
check "the card-less receipt prints the points to claim" test -n "$claim_pts"
check "the printed card code is the card QR's" \
	eval 'grep -q "^card token, card $code\$" <<<"$(tcheck "$card_url")"'
check "the next receipt's card QR is the same card" \
	eval 'grep -q "^card token, card $code\$" <<<"$(tcheck "$(qr_of card2 card)")"'
check "the printed coupon is the coupon QR's" \
	eval 'grep -q "^coupon token, coupon $coupon\$" <<<"$(tcheck "$coupon_url")"'
check "the terminal knows the card before" \
	eval 'grep -q "\"known\":true" <<<"$(scan "$card_url")"'
# the card link with a character of its signature changed
at=$((${#card_url} - 10))
c=${card_url:$at:1}
forged=${card_url:0:$at}$([ "$c" = A ] && echo B || echo A)${card_url:$((at + 1))}

cat >"$work/browser.json" <<EOF
{"card_url": "$card_url", "claim_url": "$claim_url", "code": "$code", "balance": $balance,
 "coupon": "$coupon", "claim_pts": $claim_pts, "survey_pts": $survey_pts,
 "forged_url": "$forged", "expired_url": "$old_url", "out": "$artifacts"}
EOF
start=$(date +%s)
if (cd "$mods" && node card-page.mjs "$work/browser.json"); then
	ok "the card pages in Chromium ($(($(date +%s) - start)) s)"
else
	bad "the card pages in Chromium"
fi
# the page's own QR is the receipt's card link
zbarimg --raw -q "$artifacts/card-qr.png" 2>/dev/null >"$work/page.qr" || true
check "the card page's QR decodes to the receipt's card link" \
	eval '[ "$(head -1 "$work/page.qr")" = "$card_url" ]'

# the deletion reaches the terminal at its next sync
ctl sync now >"$work/sync2.out" 2>&1 || true
# (a round of the terminal's own just before sync now may have pulled it: the proof is the ledger)
check "the terminal pulls the tombstone ($(grep pulled "$work/sync2.out" | tr -s ' '))" \
	eval '[ "$(q "SELECT COUNT(*) FROM revoked_cards WHERE card_code = '\''$code'\''")" = 1 ]'
check "the terminal no longer knows the card" \
	eval '[ "$(q "SELECT COUNT(*) FROM members WHERE card_code = '\''$code'\''")" = 0 ]'
check "the member is marked erased" \
	eval '[ "$(q "SELECT COUNT(*) FROM members WHERE erased_us IS NOT NULL")" = 1 ]'
check "the card's QR no longer shows the member at the till" \
	eval '! grep -q "\"known\":true" <<<"$(scan "$card_url")"'
check "the terminal's ledger verifies" eval 'ctl ledger verify >"$work/verify.out"'
kill "$daemon" 2>/dev/null || true
rc=0
wait "$daemon" 2>/dev/null || rc=$?
daemon=
check "loyaltyd stops cleanly" test "$rc" = 0

echo "screenshots and receipts: $artifacts"
ls "$artifacts"
finish
