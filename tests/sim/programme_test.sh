#!/usr/bin/env bash
# programme_test: loyaltyd with a programme file of its own: a field error stops the start with
# the field named; a campaign's daily coupon cap holds across a restart and opens the next day.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
one_terminal programme_test

# a programme that does not parse: the start is refused, naming the field
printf '{"version":1,"coupons":{"first_purchase":{"daily_cap":-1}}}' >"$state/programme.json"
rc=0
"$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --headless --register 127.0.0.1:0 2>"$work/bad.log" || rc=$?
check "a bad programme stops the start" 1 "$rc"
check_true "and names the field" grep -q "programme .*coupons.first_purchase.daily_cap" "$work/bad.log"

# one first-purchase coupon a day
printf '{"version":1,"coupons":{"first_purchase":{"daily_cap":1}}}' >"$state/programme.json"
start_daemon "$state"
ctl sim clock --set 2026-11-27T09:00:00Z --freeze >/dev/null
sale() {
	ctl sale --amount "$1" --no-wait >/dev/null
	ctl sim tap --uid "$2" >"$work/last.out"
	ctl sim remove >/dev/null
}
sale 10 04000000000001
check_true "the first new card gets the coupon" grep -q "coupon .* issued" "$work/last.out"
sale 10 04000000000002
check_true "the second new card the same day does not" bash -c "! grep -q coupon '$work/last.out'"
check_true "the daemon says why" grep -q "no coupon for this sale: campaign daily cap" "$state/loyaltyd.log"
stop_daemon

# the count survives a restart (read back from the ledger for the day)
start_daemon "$state"
ctl sim clock --set 2026-11-27T20:00:00Z --freeze >/dev/null
sale 10 04000000000003
check_true "after a restart, still no coupon the same day" bash -c "! grep -q coupon '$work/last.out'"
# 23:30 UTC on 27 November is already 28 November in Warsaw: a new day
ctl sim clock --set 2026-11-27T23:30:00Z --freeze >/dev/null
sale 10 04000000000004
check_true "the next Warsaw day the cap opens again" grep -q "coupon .* issued" "$work/last.out"
stop_daemon
check "two coupons in the ledger" "2" "$(q "SELECT COUNT(*) FROM coupons")"
check "four welcome bonuses all the same" "4" "$(q "SELECT COUNT(*) FROM events WHERE kind = 'bonus'")"

finish
