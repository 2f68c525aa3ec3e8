#!/usr/bin/env bash
# card_link_test: members identified by their card link, and the link written at enrolment.
# A new blank NTAG215 is enrolled by a sale and gets the member's signed card link written to it;
# a card (another UID: a replacement, a phone) that holds that link is the same member; a link
# that does not verify counts by the card's UID as before. Scanned codes: the card QR is the
# member, a coupon QR answers the offer, a plain printed card code, a phone number, a claim code
# and a product barcode are refused with a reason, and nothing is booked for them.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
one_terminal card_link_test
jctl() { "$loyaltyctl" --state "$state" --json "$@"; }
jfield() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -1; }
events() { q 'SELECT COUNT(*) FROM events'; }

start_daemon "$state"
ctl sim clock --set 2026-11-27T12:00:00Z --freeze >/dev/null

# 1. a blank NTAG215 enrolled by a sale: its link is written to it
ctl sale --amount 12,34 --no-wait >/dev/null
jctl sim tap --uid 04A1A2A3A4A5A6 --tag ntag215 >"$work/sale1.json"
link=$(jfield card_link <"$work/sale1.json")
receipt1=$(jfield receipt <"$work/sale1.json")
check_true "a new card" grep -q '"new_member":true' "$work/sale1.json"
check_true "with a signed card link" bash -c "[[ '$link' == HTTPS://K.EXAMPLE.PL/C/* ]]"
for _ in $(seq 50); do grep -q "card write:" "$state/loyaltyd.log" && break; sleep 0.1; done
check_true "the link is written to the new card" grep -q "writing the card link to the new card (ntag215)" "$state/loyaltyd.log"
check_true "and reads back the same" grep -q "card write: written" "$state/loyaltyd.log"
ctl sim remove >/dev/null
check "one member" "1" "$(q 'SELECT COUNT(*) FROM members')"

# 2. another card holding that link is the same member
ctl sale --amount 10,00 --no-wait >/dev/null
jctl sim tap --uid 04B1B2B3B4B5B6 --tag ntag215 --url "$link" >"$work/sale2.json"
check_true "the member, not a new card" grep -q '"new_member":false' "$work/sale2.json"
check_true "its balance goes on (62 + 10)" grep -q '"balance_pts":72' "$work/sale2.json"
check_true "identified by the card link" grep -q "tapped (by its card link)" "$state/loyaltyd.log"
check "still one member" "1" "$(q 'SELECT COUNT(*) FROM members')"
ctl sim remove >/dev/null

# 3. a link with one character changed is not genuine: the card counts by its UID
# a character of the signature changed (the layout still reads, the signature does not hold)
at=$((${#link} - 10))
c=${link:$at:1}
forged=${link:0:$at}$([ "$c" = A ] && echo B || echo A)${link:$((at + 1))}
ctl sale --amount 5,00 --no-wait >/dev/null
jctl sim tap --uid 04C1C2C3C4C5C6 --tag ntag215 --url "$forged" >"$work/sale3.json"
check_true "a forged link is a new card by its UID" grep -q '"new_member":true' "$work/sale3.json"
check_true "and the log says why" grep -q "the card's link was not used (the code is not genuine)" "$state/loyaltyd.log"
check "two members" "2" "$(q 'SELECT COUNT(*) FROM members')"
ctl sim remove >/dev/null

# 4. scans
jctl sim scan --code "$link" >"$work/scan1.json" || true
check_true "the card QR scanned with no sale: the member is shown" grep -q '"known":true' "$work/scan1.json"
ctl sale --amount 20,00 --no-wait >/dev/null
jctl sim scan --code "$link" >"$work/scan2.json"
check_true "the card QR scanned during a sale books it to the member" grep -q '"balance_pts":92' "$work/scan2.json"

# the coupon of the first receipt, from its printed QR
"$render" --png "$work/r1.png" --width 384 "$state/printer/$receipt1.escpos" >/dev/null
coupon_url=""
while read -r url; do
	ctl token check "$url" 2>/dev/null | grep -q "^coupon token" && coupon_url=$url
done < <(zbarimg --raw -q "$work/r1.png" 2>/dev/null || true)
check_true "the first receipt has a coupon QR" test -n "$coupon_url"
coupon=$(q "SELECT ref FROM events WHERE receipt_no = '$receipt1' AND kind = 'coupon_issue'")
ctl sale --amount 60,00 --ask >/dev/null
jctl sim scan --code "$link" >/dev/null
jctl sim scan --code "$coupon_url" >"$work/scan3.json"
check_true "the coupon QR answers the offer" grep -q "\"coupon\":\"$coupon\"" "$work/scan3.json"
ctl confirm >"$work/confirm"
check_true "and the sale uses it" grep -q "coupon      $coupon used: -6,00 zł" "$work/confirm"

before=$(events)
for code in "https://k.example.pl/c/$(q 'SELECT card_code FROM members WHERE member_id = 1')" \
	"+48 600 100 200" "5901234123457"; do
	rc=0
	ctl sim scan --code "$code" >"$work/refused" 2>&1 || rc=$?
	check "scan '$code' is refused" 1 "$rc"
done
check_true "a printed card code, with the reason" bash -c "ctl() { '$loyaltyctl' --state '$state' \"\$@\"; }; ctl sim scan --code 'https://k.example.pl/c/$(q 'SELECT card_code FROM members WHERE member_id = 1')' 2>&1 | grep -q 'plain card code'"
check_true "a phone number, with the reason" bash -c "'$loyaltyctl' --state '$state' sim scan --code '+48600100200' 2>&1 | grep -q 'needs the server'"
check_true "a product barcode, with the reason" bash -c "'$loyaltyctl' --state '$state' sim scan --code 5901234123457 2>&1 | grep -qi 'product'"
check "nothing booked for them" "$before" "$(events)"
check_true "no card UID or token in the log" bash -c "! grep -qi -e 04A1A2A3A4A5A6 -e 04B1B2B3B4B5B6 -e '${link##*/}' '$state/loyaltyd.log'"
check_true "the ledger verifies" ctl ledger verify
stop_daemon
finish
