#!/usr/bin/env bash
# nfc_enrol_test: enrolment through real libnfc and the PN532 emulator. A sale with a blank
# NTAG215 enrols the card and writes the member's signed card link to it (the driver's write,
# read back); the card taken away and put back reads that link, and is the member by its link;
# a second sale with it books to the same member.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
emu_bin=$build/tools/pn532-emu/pn532-emu
work=$(mktemp -d -t nfc_enrol_test.XXXXXX)
state=$work/state
link=$work/pn532
sock=$work/pn532.sock
emu_pid=
cleanup() {
	local rc=$?
	[ $rc != 0 ] && [ -f "$state/loyaltyd.log" ] && tail -n 30 "$state/loyaltyd.log"
	[ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$state"
cp "$src/board/sim/terminal.json" "$state/"
sed "s|/tmp/loyalty-pn532|$link|" "$src/board/sim-libnfc/board.json" >"$work/board.json"
ctl() { timeout 30 "$loyaltyctl" --state "$state" "$@"; }
emu() { timeout 10 "$emu_bin" --send "$sock" "$@" >/dev/null; }
log_count() { grep -c "$1" "$state/loyaltyd.log" || true; }
# until PATTERN has more than N lines in the log (at most 10 s)
wait_log() {
	for _ in $(seq 100); do
		[ "$(log_count "$1")" -gt "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

timeout 300 "$emu_bin" --link "$link" --control "$sock" >/dev/null 2>"$work/emu.log" &
emu_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
LIBNFC_LOG_LEVEL=0 timeout 300 "$loyaltyd" --board "$work/board.json" --state "$state" \
	--headless --log-level debug 2>>"$state/loyaltyd.log" &
daemon_pid=$!
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
ctl sim clock --set 2026-11-27T12:00:00Z --freeze >/dev/null

# 1. a sale with a blank NTAG215: a new member, and the link written to the card
ctl sale --amount 12,34 --no-wait >/dev/null
emu tap ntag215 04D1D2D3D4D5D6
check_true "the write is answered" wait_log "card write:" 0
check_true "the card link is written and read back" grep -q "card write: written" "$state/loyaltyd.log"
check "one member" "1" "$(q 'SELECT COUNT(*) FROM members')"
check "the sale is booked" "1" "$(q "SELECT COUNT(*) FROM events WHERE kind = 'earn'")"
code=$(q 'SELECT card_code FROM members')

# 2. the card away and back: it is the member by its link
n=$(log_count "tapped (by its card link)")
emu remove
wait_log "card left the field" 0 || true
emu back
check_true "the card put back is the member by its link" wait_log "tapped (by its card link)" "$n"

# 3. a second sale with it books to the same member
emu remove
wait_log "card left the field" 1 || true
ctl sale --amount 10,00 --no-wait >/dev/null
n=$(log_count "booked: receipt")
emu back
check_true "the second sale is booked" wait_log "booked: receipt" "$n"
check "still one member" "1" "$(q 'SELECT COUNT(*) FROM members')"
check "the member's balance: 62 + 10" "72" "$(q "SELECT balance_pts FROM members WHERE card_code = '$code'")"
check_true "no card UID in the log" bash -c "! grep -qi 04D1D2D3D4D5D6 '$state/loyaltyd.log'"
check_true "the ledger verifies" ctl ledger verify
stop_daemon
finish
