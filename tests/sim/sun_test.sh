#!/usr/bin/env bash
# sun_test: the SUN message of an NTAG 424 DNA card, from the tap to the server's check. The
# terminal holds no card keys: a card whose NDEF URL is a SUN message counts by its UID, and the
# URL is kept with the sale's earn event (ledger table sun_taps, not in the hash chain) and sent
# with it. loyalty-server, given the chain's keys (--sun-keys), checks each: the first tap of
# AN12196's card (zero keys, read counter 61) passes, the same URL again is a copy
# (sun_replayed), a URL with its MAC changed is not genuine (sun_invalid); every sale is booked
# all the same. The simulator's reader hands up the card's NDEF message as a 424 DNA's would (the
# real libnfc path reading a 424 DNA's NDEF file is unit.nfc_libnfc_test's). Then a card that
# makes its message at each tap, as a real one does: the PN532 emulator (sun-keys) behind a
# terminal on the sim-libnfc board, two sales through real libnfc with read counters 5 and 6,
# both verified at the server with no flag; a copy of the first message tapped at T1 afterwards
# is flagged sun_replayed, naming counter 5.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
server=$build/tools/server/loyalty-server
work=$(mktemp -d -t sun_test.XXXXXX)
spid=
cleanup() {
	set +e
	[ -z "$spid" ] || kill "$spid" 2>/dev/null
	[ -z "${daemon_pid:-}" ] || kill "$daemon_pid" 2>/dev/null
	[ -z "${emu_pid:-}" ] || kill "$emu_pid" 2>/dev/null
	wait 2>/dev/null
	if [ "$fails" = 0 ]; then rm -rf "$work"; else echo "kept $work for a look"; fi
}
trap cleanup EXIT
db=$work/server.sqlite
"$src/tools/dev-ca" "$work/ca" >/dev/null

# bad keys files are refused at start, with the reason
printf 'nothex\n' >"$work/bad.keys"
rc=0
"$server" serve --db "$work/bad.sqlite" --cert "$work/ca/server.pem" --key "$work/ca/server.key" \
	--ca "$work/ca/ca.pem" --port 0 --sun-keys "$work/bad.keys" >"$work/bad.out" 2>&1 || rc=$?
check "a bad --sun-keys file: the server does not start" 2 "$rc"
check_true "and says what the file must hold" grep -q "must be two lines of 32 hex digits" "$work/bad.out"

# the chain's keys: AN12196's card has zero SDMMetaReadKey and SDMFileReadKey
printf '%032d\n%032d\n' 0 0 >"$work/sun.keys"
"$server" serve --db "$db" --cert "$work/ca/server.pem" --key "$work/ca/server.key" \
	--ca "$work/ca/ca.pem" --ca-key "$work/ca/ca.key" --sign-key "$work/ca/config.key" \
	--sun-keys "$work/sun.keys" --port 0 --port-file "$work/port" --exit-after 200 \
	>>"$work/server.log" 2>&1 &
spid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
state=$work/T1
mkdir -p "$state"
code=$("$server" enrol --db "$db" --terminal T1)
synced_terminal_json T1 "https://127.0.0.1:$port" "$work/ca/ca.pem" "$code" "$state/terminal.json"
start_daemon "$state"
sun='https://k.example.pl/c?picc_data=EF963FF7828658A599F3041510671E88&cmac=94EED9EE65337086'
forged=${sun%6}7 # the MAC's last digit changed
sale() { # AMOUNT URL
	ctl sim remove >/dev/null
	ctl sale --amount "$1" --no-wait >/dev/null
	ctl --json sim tap --uid 04DE5F1EACC040 --tag ntag215 --url "$2"
}
sale 10,00 "$sun" >"$work/s1.json"
check_true "a SUN card: the sale is booked" grep -q '"receipt":"T1-' "$work/s1.json"
check_true "the card counts by its UID, its SUN message kept" \
	grep -q "tapped (by its card UID, with its SUN message kept for the server)" "$state/loyaltyd.log"
sale 11,00 "$sun" >"$work/s2.json"
sale 12,00 "$forged" >"$work/s3.json"
check "three sales of one member" 1 "$(q "SELECT COUNT(*) FROM members")"
check "each sale's earn event keeps the card's SUN message" 3 \
	"$(q "SELECT COUNT(*) FROM sun_taps s JOIN events e USING (seq) WHERE e.kind = 'earn'")"
check "the messages as the card gave them" "$sun $sun $forged" \
	"$(q "SELECT url FROM sun_taps ORDER BY seq" | tr '\n' ' ' | sed 's/ $//')"
check_true "no UID in the ledger" bash -c "! sqlite3 '$state/ledger.sqlite' .dump | grep -qi 04DE5F1EACC040"

rc=0
ctl sync now >"$work/sync.out" 2>&1 || rc=$?
check "the sales sync" 0 "$rc"
check_true "nothing rejected" grep -q "0 rejected" "$work/sync.out"
"$server" flags --db "$db" >"$work/flags"
check "the first tap's message verifies: no flag on it" 0 \
	"$(grep -c "T1-$(printf '%06d' "$(q "SELECT MIN(seq) FROM sun_taps")")" "$work/flags" || true)"
check "the same message again: flagged as a copy" 1 "$(grep -c '"code":"sun_replayed"' "$work/flags" || true)"
check_true "naming the counter" grep -q "repeats read counter 61" "$work/flags"
check "the changed MAC: flagged as not genuine" 1 "$(grep -c '"code":"sun_invalid"' "$work/flags" || true)"
check "every sale is on the server" "$(q "SELECT COUNT(*) FROM events")" \
	"$("$server" stats --db "$db" | sed 's/[^0-9]//g')"
stop_daemon

# ---- a card that makes its SUN message at each tap, through real libnfc (the PN532 emulator) ----
emu_bin=$build/tools/pn532-emu/pn532-emu
sock=$work/pn532.sock
timeout 200 "$emu_bin" --link "$work/pn532" --control "$sock" >/dev/null 2>"$work/emu.log" &
emu_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
emu() { timeout 10 "$emu_bin" --send "$sock" "$@" >/dev/null; }
emu sun-keys 00000000000000000000000000000000 00000000000000000000000000000000 5
state=$work/T2
mkdir -p "$state"
code=$("$server" enrol --db "$db" --terminal T2)
synced_terminal_json T2 "https://127.0.0.1:$port" "$work/ca/ca.pem" "$code" "$state/terminal.json"
sed "s|/tmp/loyalty-pn532|$work/pn532|" "$src/board/sim-libnfc/board.json" >"$work/board.json"
LIBNFC_LOG_LEVEL=0 timeout 200 "$loyaltyd" --board "$work/board.json" --state "$state" \
	--headless --log-level debug 2>>"$state/loyaltyd.log" &
daemon_pid=$!
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
booked() { q "SELECT COUNT(*) FROM events WHERE kind = 'earn'"; }
emu_sale() { # AMOUNT: a sale paid with the SUN card, taken away after
	local n
	n=$(booked)
	ctl sale --amount "$1" --no-wait >/dev/null
	emu tap ntag424 04E1E2E3E4E5E6 HTTPS://K.EXAMPLE.PL/N
	for _ in $(seq 100); do [ "$(booked)" -gt "$n" ] && break; sleep 0.1; done
	n=$(grep -c "card left the field" "$state/loyaltyd.log" || true)
	emu remove
	for _ in $(seq 100); do
		[ "$(grep -c "card left the field" "$state/loyaltyd.log" || true)" -gt "$n" ] && break
		sleep 0.1
	done
}
emu_sale 10,00
emu_sale 11,00
check "two sales with the card through libnfc" 2 "$(booked)"
check "two SUN messages kept, each its own" 2 "$(q "SELECT COUNT(DISTINCT url) FROM sun_taps")"
rc=0
ctl sync now >"$work/sync2.out" 2>&1 || rc=$?
check "they sync" 0 "$rc"
"$server" flags --db "$db" >"$work/flags2"
check "both verify at the server, counters 5 and 6: no new flag" \
	"$(grep -c sun_ "$work/flags")" "$(grep -c sun_ "$work/flags2")"
# a copy of the first tap's message, made into another card and tapped at T1 after both
first=$(q "SELECT url FROM sun_taps ORDER BY seq LIMIT 1")
kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=
kill "$emu_pid" 2>/dev/null; wait "$emu_pid" 2>/dev/null || true
state=$work/T1
start_daemon "$state"
sale 13,00 "$first" >"$work/s4.json"
rc=0
ctl sync now >"$work/sync3.out" 2>&1 || rc=$?
check "T1 syncs the copy's sale" 0 "$rc"
"$server" flags --db "$db" >"$work/flags3"
check "the copy of a real tap's message: flagged" 2 "$(grep -c '"code":"sun_replayed"' "$work/flags3" || true)"
check_true "naming its counter" grep -q "repeats read counter 5" "$work/flags3"
stop_daemon

finish
