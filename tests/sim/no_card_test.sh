#!/usr/bin/env bash
# no_card_test: a sale without a card through the register API (POST /v1/sales/{id}/no-card).
# The points are booked for no member, the receipt carries a "claim your points" QR that
# decodes to a claim token signed by this terminal naming the receipt, its points and amount,
# valid 14 days; nothing else is booked (no enrolment, no bonus, no coupon); the ledger
# verifies; a reprint gives the same bytes; a card tapped afterwards is a new card as before.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
one_terminal no_card_test
http() {
	curl -s -o "$work/body" -w '%{http_code}' -X "$1" "http://$addr$2" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"}
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$work/body" | head -1; }

start_daemon "$state"
ctl sim clock --set 2026-11-27T12:00:00Z --freeze >/dev/null
addr=$(cat "$state/register.addr")

check "no-card without a sale" 404 "$(http POST /v1/sales/NOSALE/no-card)"
check "start a sale of 36,50 zł" 201 "$(http POST /v1/sales '{"total_gr":3650}')"
id=$(field id)
check "the customer has no card" 200 "$(http POST "/v1/sales/$id/no-card")"
receipt=$(field receipt)
link=$(field claim_link)
check_true "the answer says so" grep -q '"no_card":true' "$work/body"
check_true "36 points to claim" grep -q '"earned_pts":36' "$work/body"
check_true "no bonus" grep -q '"bonus_pts":0' "$work/body"
check_true "no coupon issued" bash -c "! grep -q '\"coupon\":' '$work/body'"
check_true "a claim link" test -n "$link"
check "no-card twice" 409 "$(http POST "/v1/sales/$id/no-card")"

# the ledger: one earn event, for no member; nothing else
check "one event" "1" "$(q "SELECT COUNT(*) FROM events WHERE receipt_no = '$receipt'")"
check "an earn for no member" "earn||36|3650" \
	"$(q "SELECT kind, member_id, points, amount_gr FROM events WHERE receipt_no = '$receipt'")"
check "no member enrolled" "0" "$(q 'SELECT COUNT(*) FROM members')"
check_true "the ledger verifies" ctl ledger verify

# the receipt: claim block and its QR
f=$state/printer/$receipt.escpos
check_true "the receipt is printed" test -s "$f"
"$render" --text --width 384 "$f" >"$work/receipt.txt"
check_true "it offers the points to claim" grep -q "Punkty do odebrania: *36 pkt" "$work/receipt.txt"
check_true "with the claim text" grep -q "Nie masz karty" "$work/receipt.txt"
check_true "valid 14 days" grep -q "kod ważny do 2026-12-11" "$work/receipt.txt"
check_true "no card page line" bash -c "! grep -q 'k.example.pl/c/' '$work/receipt.txt'"
"$render" --png "$work/receipt.png" --width 384 "$f" >/dev/null
url=$(zbarimg --raw -q "$work/receipt.png" 2>/dev/null || true)
check "one QR, the claim link" "$link" "$url"
seq=${receipt#SIM1-}
check "the QR is a claim token of this terminal for the receipt" \
	"claim token, receipt $receipt, 36 pts, 3650 gr" "$(ctl token check "$url" 2>&1 | head -1)"

# a reprint gives the same bytes
cp "$f" "$work/original.escpos"
ctl reprint --receipt "$receipt" >/dev/null
check_true "reprint gives the same bytes" cmp -s "$work/original.escpos" "$f"

# a refund by its number says what it was
rc=0
ctl refund --receipt "$receipt" --whole >"$work/refund.out" 2>&1 || rc=$?
check "a refund of a sale without a card is refused" 1 "$rc"
check_true "saying why" grep -q "was a sale without a card" "$work/refund.out"
check "and books nothing" "1" "$(q 'SELECT COUNT(*) FROM events')"

# the same from loyaltyctl: a sale waits for the card, then "no-card"
ctl sale --amount 5,00 >"$work/sale2.out" 2>&1 &
sale_pid=$!
for _ in $(seq 50); do
	ctl status 2>/dev/null | grep -q "waiting for card" && break
	sleep 0.1
done
rc=0
ctl no-card >"$work/nocard.out" 2>&1 || rc=$?
check "loyaltyctl no-card books it" 0 "$rc"
wait "$sale_pid" || true
check_true "with 5 points to claim" grep -q "earned *+5 pts" "$work/nocard.out"
check "two card-less sales, two earn events for no member" "2" \
	"$(q "SELECT COUNT(*) FROM events WHERE kind = 'earn' AND member_id IS NULL")"
rc=0
ctl no-card >"$work/nocard2.out" 2>&1 || rc=$?
check "no-card with no sale waiting is refused" 1 "$rc"
check_true "saying why" grep -q "no sale is waiting for a card" "$work/nocard2.out"

# a card tapped afterwards is enrolled as any new card
check "start another sale" 201 "$(http POST /v1/sales '{"total_gr":1000}')"
id=$(field id)
(sleep 0.3 && ctl sim tap --uid 04A1B2C3D4E5F6 >/dev/null) &
check "wait for the card" 200 "$(http GET "/v1/sales/$id?wait_s=20")"
check "confirm" 200 "$(http POST "/v1/sales/$id/confirm")"
check_true "a new card with its welcome bonus" grep -q '"bonus_pts":50' "$work/body"
check_true "the ledger still verifies" ctl ledger verify
stop_daemon
finish
