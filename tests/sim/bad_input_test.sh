#!/usr/bin/env bash
# bad_input_test: bad amounts, card UIDs, commands and configuration get a clear message and a
# non-zero exit (or a refusal on the console); nothing is written to the ledger and the daemon
# keeps running.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
one_terminal bad_input_test

# expect NAME STATUS PATTERN command...: exit status and a message matching PATTERN
expect() {
	local name=$1 status=$2 pattern=$3 out rc=0
	shift 3
	out=$("$@" 2>&1) || rc=$?
	checks=$((checks + 1))
	if [ "$rc" = "$status" ] && grep -qE -- "$pattern" <<<"$out"; then
		echo "ok: $name -> $rc: $(head -1 <<<"$out")"
	else
		echo "FAIL: $name: exit $rc (want $status), output: $out (want /$pattern/)"
		fails=$((fails + 1))
	fi
}

start_daemon "$state"
expect "amount abc" 1 "invalid amount: .*not a digit" ctl sale --amount abc --no-wait
expect "amount -5" 1 "invalid amount: .*sign" ctl sale --amount -5 --no-wait
expect "amount 0" 1 "invalid amount: .*more than 0" ctl sale --amount 0 --no-wait
expect "amount 12.345" 1 "invalid amount: .*2 decimal" ctl sale --amount 12.345 --no-wait
expect "amount 99999999999" 1 "invalid amount: .*more than 999" ctl sale --amount 99999999999 --no-wait
expect "amount empty" 1 "invalid amount: .*empty" ctl sale --amount "" --no-wait
expect "UID not hex" 1 "tap refused: .*hex" ctl sim tap --uid XYZ
expect "UID wrong length" 1 "tap refused: .*(4, 7 or 10|length)" ctl sim tap --uid 04A1B2
expect "unknown command" 2 "unknown command 'frobnicate'" ctl frobnicate
expect "sale without amount" 2 "--amount is required" ctl sale
expect "unknown option" 2 "unknown argument '--tip'" ctl sale --amount 5 --tip 1
expect "sim without action" 2 "which device action" ctl sim
expect "bad clock time" 2 "not a UTC time" ctl sim clock --set yesterday
expect "reprint with no receipts" 1 "no receipt to reprint yet" ctl reprint
expect "reprint of an unknown receipt" 1 "no such receipt" ctl reprint --receipt SIM1-999999
expect "cancel with no sale" 1 "no sale to cancel" ctl cancel
for c in status sale cancel reprint sim; do
	expect "$c --help" 0 "Usage: loyaltyctl $c" ctl $c --help
done
expect "loyaltyctl --help" 0 "Usage: loyaltyctl" ctl --help
expect "a tap with no sale is only an inquiry" 0 "not enrolled yet" ctl sim tap --uid 04A1B2C3D4E5F6
ctl sim remove >/dev/null
expect "a second sale while one waits" 1 "already in progress" bash -c \
	"'$loyaltyctl' --state '$state' sale --amount 5 --no-wait >/dev/null && '$loyaltyctl' --state '$state' sale --amount 6 --no-wait"
expect "cancel the waiting sale" 0 "ok" ctl cancel
check "nothing was booked" "0" "$(sqlite3 "$state/ledger.sqlite" 'SELECT COUNT(*) FROM events')"
expect "bad printer state" 2 "must be ready, paper-out or offline" ctl sim printer --state jammed

# Paper out: the sale is booked all the same (commit before print), the cashier is told, the
# receipt waits in the spool and prints by itself, once, when paper is back; a reprint on
# request prints another copy.
expect "printer out of paper" 0 "ok" ctl sim printer --state paper-out
ctl sale --amount 10 --no-wait >/dev/null
expect "sale with no paper is booked, not printed yet" 0 "NOT PRINTED YET: printer out of paper; queued" \
	ctl sim tap --uid 04BBBBBBBBBBBB
ctl sim remove >/dev/null
check "the unprinted sale is in the ledger (enrol, earn, welcome bonus, coupon)" "4" "$(sqlite3 "$state/ledger.sqlite" 'SELECT COUNT(*) FROM events')"
check_true "no receipt file while out of paper" test ! -e "$state/printer/SIM1-000001.escpos"
expect "reprint while out of paper fails" 1 "printer out of paper" ctl reprint
expect "the status says a receipt is queued" 0 "1 receipt\(s\) queued" ctl status
check_true "the spool holds it" test -s "$state/spool/SIM1-000001.job"
ctl sim printer --state ready >/dev/null
for _ in $(seq 60); do [ -s "$state/printer/SIM1-000001.escpos" ] && break; sleep 0.1; done
check_true "the queued receipt prints when paper is back" test -s "$state/printer/SIM1-000001.escpos"
check "it printed once, from the spool" "1" "$(grep -c "printed 1 spooled receipt" "$state/loyaltyd.log")"
check_true "the spool is empty" test ! -e "$state/spool/SIM1-000001.job"
expect "reprint on request" 0 "reprinted receipt SIM1-000001" ctl reprint
check "reprint booked nothing" "4" "$(sqlite3 "$state/ledger.sqlite" 'SELECT COUNT(*) FROM events')"
expect "the daemon still runs" 0 "sale        idle" ctl status

# A sale waiting for a card is cancelled at its deadline (120 s on the simulated clock), and
# the register waiting for it is told why. The simulated clock stands still meanwhile, so that
# only --advance moves it, however slowly this machine runs (the margin is 1 s).
ctl sim clock --set 2026-11-28T10:00:00Z --freeze >/dev/null
"$loyaltyctl" --state "$state" sale --amount 9 >"$work/late.out" 2>&1 &
waiter=$!
for _ in $(seq 50); do ctl status | grep -q 'sale        waiting for card' && break; sleep 0.1; done
ctl sim clock --advance 119 >/dev/null
sleep 0.3
expect "still waiting before the deadline" 0 "sale        waiting for card" ctl status
ctl sim clock --advance 2 >/dev/null
rc=0
wait "$waiter" || rc=$?
check "the waiting register is answered with a refusal" 1 "$rc"
check_true "it names the time limit" grep -q "no card within the time limit" "$work/late.out"
expect "the sale is over" 0 "sale        idle" ctl status
expect "bad advance" 2 "--advance takes whole seconds" ctl sim clock --advance -5

# A waiting sale ends when its requester hangs up.
"$loyaltyctl" --state "$state" sale --amount 7 >/dev/null 2>&1 &
waiter=$!
sleep 0.3
kill "$waiter" 2>/dev/null || true
wait "$waiter" 2>/dev/null || true
sleep 0.3
expect "requester gone: sale cancelled" 0 "sale        idle" ctl status
stop_daemon

# Configuration errors stop the daemon at start with the reason.
run_d() { "$loyaltyd" --state "$state" --headless "$@"; }
expect "no --board" 2 "--board is required" run_d
expect "unknown option" 2 "unrecognized option" run_d --board x --frobnicate
expect "missing board file" 1 "board profile: /nonexistent.json: No such file" run_d --board /nonexistent.json
printf '{"version":1,"name":"x"' >"$work/broken.json"
expect "broken board JSON" 1 "broken.json: not valid JSON" run_d --board "$work/broken.json"
sed 's/"driver": "sim" },/"driver": "pn999" },/' "$src/board/sim/board.json" >"$work/baddrv.json"
expect "unknown NFC driver" 1 "nfc.driver: unknown driver 'pn999'" run_d --board "$work/baddrv.json"
expect "missing terminal config" 1 "provision the terminal" \
	"$loyaltyd" --board "$src/board/sim/board.json" --state "$work/empty" --headless
expect "bad log level" 2 "--log-level" run_d --board x --log-level loud

# The cashier console (stdio driver) refuses bad amounts and keeps going.
mkfifo "$work/keys"
"$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --register 127.0.0.1:0 <"$work/keys" \
	>"$work/display.txt" 2>>"$state/loyaltyd.log" &
daemon_pid=$!
exec 3>"$work/keys"
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
printf 'abc\n-5\n12.345\n\n' >&3
sleep 0.5
check "console refuses three bad entries" "3" "$(grep -c 'Refused:' "$work/display.txt")"
check "console names the amount problems" "2" "$(grep -c 'invalid amount' "$work/display.txt")"
printf '12,34\n' >&3
sleep 0.3
ctl sim tap --uid 04A1B2C3D4E5F6 >/dev/null
check "console sale goes through after refusals" "1" "$(grep -c 'Receipt SIM1-000005' "$work/display.txt")"
check "only that sale was booked (4 more events: enrol, earn, bonus, coupon)" "8" "$(sqlite3 "$state/ledger.sqlite" 'SELECT COUNT(*) FROM events')"
exec 3>&-
stop_daemon

# The card key is gone but the ledger knows cards: refuse, do not make a new key.
mv "$state/keys/pseudonym.key" "$work/pseudonym.key"
expect "missing card key with known cards" 1 "card key .* is missing, but the ledger knows 2 cards" \
	"$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --headless --register 127.0.0.1:0
check_true "no new key was made" test ! -e "$state/keys/pseudonym.key"
mv "$work/pseudonym.key" "$state/keys/pseudonym.key"
printf 'short' >"$work/short.key"
cp "$state/keys/pseudonym.key" "$work/good.key"
cp "$work/short.key" "$state/keys/pseudonym.key"
expect "a damaged card key" 1 "must hold exactly 32 bytes" \
	"$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --headless --register 127.0.0.1:0
cp "$work/good.key" "$state/keys/pseudonym.key"

finish
