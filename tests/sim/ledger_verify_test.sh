#!/usr/bin/env bash
# ledger_verify_test: after the demo `loyaltyctl ledger verify` passes, also while loyaltyd runs
# and books a sale; after an event row is changed with sqlite3 it fails naming the event, and
# loyaltyd refuses to start on that ledger, saying what to do and leaving the file as it is.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
work=$(mktemp -d -t ledger_verify_test.XXXXXX)
trap '[ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null; rm -rf "$work"' EXIT
state=$work/state
db=$state/ledger.sqlite

# run NAME command...: output in $work/NAME.out, exit status in $rc
run() {
	local name=$1
	shift
	rc=0
	"$@" >"$work/$name.out" 2>&1 || rc=$?
}

DEMO_STATE=$state DEMO_CLOCK=2026-11-27T12:00:00Z "$src/tools/demo" "$build" >/dev/null

run intact ctl ledger verify
cat "$work/intact.out"
check "verify after the demo exits 0" 0 "$rc"
check_true "verify checked the chain of events 1 to 13" \
	grep -q 'hash chain checked for 13 (1 to 13)$' "$work/intact.out"
check_true "verify checked both balances" grep -q 'balances checked for 2$' "$work/intact.out"
check_true "verify says the ledger is intact" grep -q '^result      OK' "$work/intact.out"

# beside a running loyaltyd, after another sale
start_daemon "$state"
ctl sale --amount 3.00 --no-wait >/dev/null
ctl sim tap --uid 04C0FFEE123456 >/dev/null
run running ctl ledger verify --db "$db"
check "verify while loyaltyd runs exits 0" 0 "$rc"
check_true "verify sees the new sale's event" \
	grep -q 'hash chain checked for 14 (1 to 14)$' "$work/running.out"
stop_daemon

run usage ctl ledger verify --frobnicate
check "an unknown option is a usage error" 2 "$rc"
run help ctl ledger verify --help
check "verify --help exits 0" 0 "$rc"
check_true "verify --help shows the usage" grep -q '^Usage: loyaltyctl ledger verify' "$work/help.out"
run missing ctl ledger verify --db "$work/nothing.sqlite"
check "a missing ledger file fails" 1 "$rc"
check_true "and says so" grep -q "no ledger at $work/nothing.sqlite" "$work/missing.out"

# export for audits: every event, exact integers, the stored hashes
run export ctl ledger export
check "export exits 0" 0 "$rc"
n=$(sqlite3 "$db" 'SELECT COUNT(*) FROM events')
check "export has one JSON line per event" "$n" "$(grep -c '^{"seq":' "$work/export.out")"
h3=$(sqlite3 "$db" 'SELECT lower(hex(hash)) FROM events WHERE seq = 3')
check_true "export carries event 3's hash" grep -q "\"seq\":3,.*\"hash\":\"$h3\"" "$work/export.out"
check_true "export keeps microseconds exact" grep -q '"time_us":1795780800000000,' "$work/export.out"
run csv ctl ledger export --format csv --from-seq 2
check "csv export exits 0" 0 "$rc"
check "csv has a header and events 2.." "$n" "$(wc -l <"$work/csv.out")"
check_true "csv header" grep -q '^seq,event_id,terminal_id,kind,member_id,card_code,points,amount_gr,receipt_no,time_us,time_utc,rule,ref,lot_us,hash$' "$work/csv.out"
run badfmt ctl ledger export --format xml
check "an unknown export format is a usage error" 2 "$rc"
echo "not a database" >"$work/junk.sqlite"
run notledger ctl ledger export --db "$work/junk.sqlite"
check "exporting a file that is not a ledger fails" 1 "$rc"
check_true "and says so" grep -q "not a ledger database" "$work/notledger.out"

# someone changes an earn event's points with sqlite3
sqlite3 "$db" "DROP TRIGGER events_immutable; UPDATE events SET points = 450 WHERE seq = 3;"
run tampered ctl ledger verify
cat "$work/tampered.out"
check "verify of a tampered ledger exits 1" 1 "$rc"
check_true "verify names the changed event" \
	grep -q '^result      DAMAGED: event 3 does not match its hash' "$work/tampered.out"

rc=0
timeout 30 "$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --headless --register 127.0.0.1:0 \
	2>"$work/start.log" || rc=$?
cat "$work/start.log"
check "loyaltyd refuses to start on the tampered ledger" 1 "$rc"
check_true "loyaltyd says what is wrong" \
	grep -q "ledger $db is damaged: event 3 does not match its hash" "$work/start.log"
check_true "loyaltyd says what to do" \
	grep -q "restore the ledger from the backup or call support; run \`loyaltyctl ledger verify --db $db\`" \
	"$work/start.log"
check "the tampered ledger is left as it was" "450|14" \
	"$(sqlite3 "$db" 'SELECT points, (SELECT COUNT(*) FROM events) FROM events WHERE seq = 3')"

finish
