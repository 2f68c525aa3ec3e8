#!/usr/bin/env bash
# checkout_test: the sale flow with the programme's offer: paying with points (up front, and at
# the offer with an answer and a confirmation), a coupon used once, refusals that book nothing,
# timeouts at the offer, partial and whole refunds, explain, and the cashier's console keys.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
one_terminal checkout_test
events() { q "SELECT COUNT(*) FROM events"; }
balance() { q "SELECT balance_pts FROM members WHERE member_id = 1"; }
text() { "$render" --text "$state/printer/$1.escpos"; }
card=04A1B2C3D4E5F6
tap() { ctl sim remove >/dev/null; ctl sim tap --uid "$card"; }

start_daemon "$state"
ctl sim clock --set 2026-11-27T09:00:00Z --freeze >/dev/null

# a new card: 150 points for 150 zł, the welcome bonus and a first-purchase coupon
ctl sale --amount 150 --no-wait >/dev/null
tap >"$work/out"
check "first sale: 150 + 50 welcome points" "200" "$(balance)"
coupon=$(q "SELECT id FROM coupons LIMIT 1")
check_true "a coupon was issued" test -n "$coupon"

# points up front: 100 points pay 10 zł of a 60 zł sale, which earns on the 50 zł paid
ctl sale --amount 60 --redeem 100 --no-wait >/dev/null
tap >"$work/out"
check_true "the answer given up front is booked" grep -q "paid with   100 pts = 10,00 zł" "$work/out"
check "200 - 100 + 50" "150" "$(balance)"
no=$(q "SELECT receipt_no FROM events WHERE kind = 'redeem' LIMIT 1")
text "$no" >"$work/receipt.txt"
check_true "the receipt shows the points paid" grep -q "Zapłacono 100 pkt: *-10,00 zł" "$work/receipt.txt"
check_true "and what is left to pay" grep -q "Do zapłaty: *50,00 zł" "$work/receipt.txt"

# more points than the card holds: refused with the reason, nothing booked
before=$(events)
ctl sale --amount 500 --redeem 400 --no-wait >/dev/null
tap >"$work/out" 2>&1 || true
check_true "more points than the balance is refused" grep -qi "points" "$work/out"
check "nothing booked for the refused sale" "$before" "$(events)"
check_true "the terminal is free again" bash -c "'$loyaltyctl' --state '$state' status | grep -q 'sale *idle'"

# the offer: the sale stops, the answer changes the totals, the confirmation books it
ctl sale --amount 80 --ask >/dev/null
tap >"$work/offer"
check_true "the sale stops at the offer" grep -q ": offer" "$work/offer"
check_true "the offer names the coupon" grep -q "coupon      $coupon" "$work/offer"
check_true "and the points" grep -q "offer       up to 100 pts" "$work/offer"
ctl answer --coupon auto >"$work/answer"
check_true "the coupon takes 10%" grep -q "to pay      72,00 zł of 80,00 zł" "$work/answer"
rc=0
ctl answer --coupon auto --redeem 100 >"$work/answer" 2>&1 || rc=$?
check "the coupon does not combine with points" 1 "$rc"
check_true "and says so" grep -qi "combin" "$work/answer"
ctl confirm >"$work/confirm"
check_true "confirmed with the coupon" grep -q "coupon      $coupon used: -8,00 zł" "$work/confirm"
check "the coupon is used" "1" "$(q "SELECT COUNT(*) FROM coupons WHERE id = '$coupon' AND used_us IS NOT NULL")"

# the same coupon again: refused, nothing booked
before=$(events)
ctl sale --amount 80 --coupon "$coupon" --no-wait >/dev/null
tap >"$work/out" 2>&1 || true
check_true "a used coupon is refused" grep -qi "used" "$work/out"
check "nothing booked" "$before" "$(events)"

# no answer within a minute: the sale is cancelled, nothing booked
ctl sale --amount 30 --ask >/dev/null
tap >/dev/null
ctl sim clock --advance 61 >/dev/null
sleep 1.2
check_true "an unanswered offer is cancelled" bash -c "'$loyaltyctl' --state '$state' status | grep -q 'sale *idle'"
check "nothing booked" "$before" "$(events)"
check_true "the log says why" grep -q "no answer within the time limit" "$state/loyaltyd.log"

# refunds: part of the first sale, then the rest, then nothing is left
first=SIM1-000001
ctl refund --receipt "$first" --amount 50 >"$work/refund"
slip=$(sed -n "s/^refund \(SIM1-[0-9]*\) of receipt.*/\1/p" "$work/refund")
text "$slip" >"$work/slip.txt"
check_true "a refund slip is printed" grep -q "ZWROT" "$work/slip.txt"
check_true "naming the sale" grep -q "Do paragonu: *$first" "$work/slip.txt"
check_true "and the money back" grep -q "Zwrot pieniędzy: *50,00 zł" "$work/slip.txt"
cp "$state/printer/$slip.escpos" "$work/slip.escpos"
ctl reprint --receipt "$slip" >/dev/null
check_true "a reprinted slip has the same bytes" cmp -s "$work/slip.escpos" "$state/printer/$slip.escpos"
check_true "a partial refund pays back 50 zł" grep -q "pay back    50,00 zł" "$work/refund"
check_true "and reverses 50 of the 150 points" grep -q "points      -50 reversed" "$work/refund"
ctl refund --receipt "$first" --whole >"$work/refund"
check_true "the rest pays back 100 zł" grep -q "pay back    100,00 zł" "$work/refund"
rc=0
ctl refund --receipt "$first" --whole >"$work/refund" 2>&1 || rc=$?
check "a third refund is refused" 1 "$rc"
check_true "nothing is left to refund" grep -q "already refunded in full" "$work/refund"
rc=0
ctl refund --receipt SIM1-999999 --amount 5 >"$work/refund" 2>&1 || rc=$?
check "an unknown receipt is refused" 1 "$rc"
check_true "and named" grep -q "no sale with receipt number 'SIM1-999999'" "$work/refund"

# the thank-you message follows the segment: back after 100 days, the member is dormant
ctl sim clock --advance 8640000 >/dev/null
ctl sale --amount 20 --no-wait >/dev/null
tap >/dev/null
back=$(q "SELECT receipt_no FROM events ORDER BY seq DESC LIMIT 1")
text "$back" >"$work/back.txt"
check_true "a dormant member is welcomed back" grep -q "Stęskniliśmy się!" "$work/back.txt"
text "$first" >"$work/first.txt"
check_true "the first sale thanked a new member" grep -q "Cieszymy się, że do nas" "$work/first.txt"

# points for the console sale below
ctl sale --amount 400 --no-wait >/dev/null
tap >/dev/null

# explain lists the receipt's events and rules
ctl explain "$first" >"$work/explain"
check_true "explain shows the earn event" grep -q "earn .*+150 pts" "$work/explain"
check_true "and the welcome bonus" grep -q "bonus .*+50 pts .*welcome" "$work/explain"
check_true "and how the points were counted" grep -q "base: 150,00 zł earning -> 150 pts" "$work/explain"
ctl reprint --receipt "$first" --explain >/dev/null
text "$first" >"$work/explained.txt"
check_true "a reprint on request explains the points" grep -q "Jak policzono punkty:" "$work/explained.txt"
check_true "step by step" grep -q " za 150,00 zł *150 pkt" "$work/explained.txt"
stop_daemon
check_true "the ledger verifies after all this" "$loyaltyctl" ledger verify --db "$state/ledger.sqlite"

# the cashier's console: amount, tap, r (the most points), Enter (confirm)
mkfifo "$work/keys"
"$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --register 127.0.0.1:0 \
	<"$work/keys" >"$work/display.txt" 2>>"$state/loyaltyd.log" &
daemon_pid=$!
exec 3>"$work/keys"
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
ctl sim clock --set 2026-11-28T09:00:00Z --freeze >/dev/null
before_bal=$(balance)
printf '200\n' >&3
for _ in $(seq 50); do grep -q "Tap the customer" "$work/display.txt" && break; sleep 0.1; done
tap >/dev/null
printf 'r\n' >&3
for _ in $(seq 50); do grep -q "To pay" "$work/display.txt" && break; sleep 0.1; done
printf '\n' >&3
for _ in $(seq 50); do grep -q "Receipt SIM1-" "$work/display.txt" && break; sleep 0.1; done
check_true "the console shows the offer" grep -q "Points: up to" "$work/display.txt"
check_true "the console books the sale" grep -q "Receipt SIM1-" "$work/display.txt"
redeemed=$(q "SELECT -points FROM events WHERE kind = 'redeem' ORDER BY seq DESC LIMIT 1")
check "the console redeemed the most allowed" "$((before_bal / 100 * 100))" "$redeemed"
exec 3>&-
stop_daemon

# a terminal of a chain (a server_url) that has not synced is offline: no redemption, and the
# cashier is told why; earning goes on
state=$work/chain
mkdir -p "$state"
sed 's|"card_url_base"|"server_url": "https://sync.example.pl/", "card_url_base"|' \
	"$src/board/sim/terminal.json" >"$state/terminal.json"
start_daemon "$state"
ctl sale --amount 300 --no-wait >/dev/null
tap >/dev/null
check "the offline terminal books the sale" "350" "$(balance)"
before=$(events)
ctl sale --amount 100 --redeem 100 --no-wait >/dev/null
tap >"$work/out" 2>&1 || true
check_true "redemption offline is refused with the reason" grep -q "offline too long to redeem" "$work/out"
check "nothing booked" "$before" "$(events)"
ctl sale --amount 100 --ask >/dev/null
tap >"$work/offer"
check_true "the offer says why there are no points" grep -q "no points: offline too long" "$work/offer"
ctl cancel >/dev/null
stop_daemon

finish
