#!/usr/bin/env bash
# register_test: the cash register's HTTP API driven with curl as docs/register-api.md shows:
# a whole sale with lines, a long poll for the card, an answer, a confirmation and a refund;
# then malformed and out-of-turn requests, each refused with the right status and a message
# naming the problem; then the bearer token.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
one_terminal register_test
card=04A1B2C3D4E5F6

# http METHOD PATH [BODY]: the status code; the body goes to $work/body
http() {
	local args=(-s -o "$work/body" -w '%{http_code}' -X "$1" "http://$addr$2")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[ -n "${token:-}" ] && args+=(-H "Authorization: Bearer $token")
	curl "${args[@]}"
}
body() { cat "$work/body"; }
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$work/body" | head -1; }

start_daemon "$state"
addr=$(cat "$state/register.addr")
check_true "the API listens on loopback" grep -q "^127.0.0.1:[0-9]" "$state/register.addr"

check "status" 200 "$(http GET /v1/status)"
check_true "status names the terminal" grep -q '"terminal":"SIM1"' "$work/body"

# a sale of two loaves and a gift card
sale='{"lines":[{"sku":"CHLEB","category":"bread","qty":2,"unit_gr":650},
  {"sku":"GIFT50","qty":1,"unit_gr":5000,"gift_card":true}]}'
check "start a sale" 201 "$(http POST /v1/sales "$sale")"
id=$(field id)
check_true "the sale has an id" test -n "$id"
check_true "it waits for the card" grep -q '"state":"waiting for card"' "$work/body"
check "a second sale meanwhile" 409 "$(http POST /v1/sales '{"total_gr":100}')"
check_true "is refused as busy" grep -q "already in progress" "$work/body"

# the long poll returns when the card is tapped
(sleep 0.5 && ctl sim tap --uid "$card" >/dev/null) &
start=$(date +%s%N)
check "wait for the card" 200 "$(http GET "/v1/sales/$id?wait_s=20")"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check_true "the wait ended with the tap, not the time limit (${elapsed_ms} ms)" test "$elapsed_ms" -lt 10000
check_true "the card is known now" grep -q '"member":{"known":false' "$work/body"
check_true "the gift card earns nothing: 13 points" grep -q '"earned_pts":13' "$work/body"
check "confirm" 200 "$(http POST "/v1/sales/$id/confirm")"
receipt=$(field receipt)
check_true "the confirmation gives the receipt" test -n "$receipt"
check_true "the register gets the points" grep -q '"earned_pts":13' "$work/body"
check "confirm twice" 409 "$(http POST "/v1/sales/$id/confirm")"
check "the sale's outcome stays readable" 200 "$(http GET "/v1/sales/$id")"
check_true "with its receipt" grep -q "\"receipt\":\"$receipt\"" "$work/body"

# points for a redemption, then a sale paid partly with them
ctl sim remove >/dev/null
ctl sale --amount 300 --no-wait >/dev/null
ctl sim tap --uid "$card" >/dev/null
ctl sim remove >/dev/null
check "a sale with a total" 201 "$(http POST /v1/sales '{"total_gr":10000}')"
id=$(field id)
ctl sim tap --uid "$card" >/dev/null
check "its offer" 200 "$(http GET "/v1/sales/$id")"
check_true "offers the points" grep -q '"redeem_max_pts":300' "$work/body"
check "too many points" 422 "$(http POST "/v1/sales/$id/answer" '{"redeem_pts":5000}')"
check_true "is refused with the reason" grep -qi "points" "$work/body"
check "the most points" 200 "$(http POST "/v1/sales/$id/answer" '{"redeem_pts":"max"}')"
check_true "paid partly with points" grep -q '"points_discount_gr":3000' "$work/body"
check "confirm" 200 "$(http POST "/v1/sales/$id/confirm")"
paid=$(field receipt)
check_true "30 zł paid with points" grep -q '"points_discount_gr":3000' "$work/body"

# refunds
check "refund part of the first sale" 200 \
	"$(http POST /v1/refunds "{\"receipt\":\"$receipt\",\"lines\":[{\"qty\":1,\"unit_gr\":650}]}")"
check_true "6,50 zł back" grep -q '"money_back_gr":650' "$work/body"
check "refund the rest" 200 "$(http POST /v1/refunds "{\"receipt\":\"$paid\",\"whole\":true}")"
check_true "the money paid comes back, not the points' share" grep -q '"money_back_gr":7000' "$work/body"
check "refund it again" 422 "$(http POST /v1/refunds "{\"receipt\":\"$paid\",\"whole\":true}")"
check "refund an unknown receipt" 422 "$(http POST /v1/refunds '{"receipt":"SIM1-999999","whole":true}')"
check "explain" 200 "$(http GET "/v1/receipts/$receipt/explain")"
check_true "explain lists the events" grep -q '"kind":"earn"' "$work/body"

# malformed requests
check "not JSON" 400 "$(http POST /v1/sales '{"lines":[')"
check_true "says so" grep -q "not a JSON object" "$work/body"
check "unknown field" 400 "$(http POST /v1/sales '{"total_gr":100,"discount":5}')"
check_true "names it" grep -q "discount: unknown field" "$work/body"
check "bad quantity" 400 "$(http POST /v1/sales '{"lines":[{"qty":1,"unit_gr":100},{"qty":0,"unit_gr":1}]}')"
check_true "names the line and field" grep -q "lines\[1\].qty: must be a whole number" "$work/body"
check "fractional grosze" 400 "$(http POST /v1/sales '{"total_gr":12.5}')"
check_true "names total_gr" grep -q "total_gr: must be whole grosze" "$work/body"
check "a string price" 400 "$(http POST /v1/sales '{"lines":[{"qty":1,"unit_gr":"12.00"}]}')"
check_true "names unit_gr" grep -q "lines\[0\].unit_gr" "$work/body"
check "lines and total disagree" 422 "$(http POST /v1/sales '{"total_gr":999,"lines":[{"qty":1,"unit_gr":100}]}')"
check "no body" 400 "$(http POST /v1/sales)"
head -c 20000 /dev/zero | tr '\0' ' ' >"$work/big"
check "a body over 16 KiB" 413 "$(curl -s -o "$work/body" -w '%{http_code}' -X POST --data-binary @"$work/big" "http://$addr/v1/sales")"
check "wrong method" 405 "$(http DELETE /v1/sales)"
check "unknown path" 404 "$(http GET /v1/nothing)"
check "unknown sale" 404 "$(http GET /v1/sales/0123456789abcdef)"
check "bad wait" 400 "$(http GET "/v1/sales/$id?wait_s=600")"
check "answer with no sale" 409 "$(http POST "/v1/sales/$id/answer" '{"redeem_pts":0}')"
check "cancel a finished sale" 409 "$(http POST "/v1/sales/$id/cancel")"
check "a cancelled sale" 201 "$(http POST /v1/sales '{"total_gr":500}')"
id=$(field id)
check "cancel" 200 "$(http POST "/v1/sales/$id/cancel")"
check "nothing was booked by the bad requests" \
	"$(q "SELECT COUNT(*) FROM events WHERE kind IN ('earn', 'refund')")" 5
stop_daemon

# a bearer token
cat >"$state/terminal.json" <<JSON
{ "version": 1, "terminal_id": "SIM1", "store": { "name": "Piekarnia" },
  "card_url_base": "https://k.example.pl/c/",
  "register": { "listen": "127.0.0.1:0", "token": "s3cret-token-for-tests" } }
JSON
"$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --headless \
	2>>"$state/loyaltyd.log" &
daemon_pid=$!
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
addr=$(cat "$state/register.addr")
check "no token" 401 "$(http GET /v1/status)"
token=wrong-token-of-the-same-size
check "a wrong token" 401 "$(http GET /v1/status)"
token=s3cret-token-for-tests
check "the token" 200 "$(http GET /v1/status)"
token=
stop_daemon

# off loopback a token is required
sed -i 's/"listen": "127.0.0.1:0", "token": "s3cret-token-for-tests"/"listen": "0.0.0.0:0"/' \
	"$state/terminal.json"
rc=0
"$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --headless \
	2>"$work/lan.log" || rc=$?
check "the LAN without a token is refused" 1 "$rc"
check_true "and says why" grep -q "register.token: required when register.listen is not loopback" "$work/lan.log"

finish
