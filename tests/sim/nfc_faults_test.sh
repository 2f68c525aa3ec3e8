#!/usr/bin/env bash
# nfc_faults_test: the whole loyaltyd on the sim-libnfc board (the hal libnfc driver, real libnfc
# pn532_uart) against the PN532 emulator (tools/pn532-emu) on a pty, driven through its control
# socket: a tap books a sale and prints its receipt; a card pulled away mid-read asks once to tap
# again and books nothing; each emulator fault (RF timeout, CRC error, UART checksum error, slow
# reply, lost reply) during a tap leaves the terminal running, named in the log, and the sale
# booked once; a card that cannot be read asks to tap again twice, not for ever; a fault in the
# presence check of a card left on the reader is not a second tap; an emulator crash is reported,
# the reader is reopened with backoff once the emulator is back, and the open sale is booked
# once. The ledger is checked with loyaltyctl. What each fault does to the driver alone
# is unit.nfc_libnfc_test's business; this test is about the terminal around it.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
emu_bin=$build/tools/pn532-emu/pn532-emu
work=$(mktemp -d -t nfc_faults_test.XXXXXX)
state=$work/state
link=$work/pn532
sock=$work/pn532.sock
emu_pid=
sale_pid=
cleanup() {
	local rc=$?
	if [ $rc != 0 ] && [ -f "$state/loyaltyd.log" ]; then
		echo "--- exit $rc; loyaltyd.log:"
		tail -n 40 "$state/loyaltyd.log"
	fi
	[ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null
	[ -n "$sale_pid" ] && kill "$sale_pid" 2>/dev/null
	exec 3>&- || true
	wait 2>/dev/null || true
	if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$state"
cp "$src/board/sim/terminal.json" "$state/"
# the sim-libnfc board, with the reader at this test's own link (tests run in parallel)
sed "s|/tmp/loyalty-pn532|$link|" "$src/board/sim-libnfc/board.json" >"$work/board.json"

ctl() { timeout 30 "$loyaltyctl" --state "$state" "$@"; }
emu() { timeout 10 "$emu_bin" --send "$sock" "$@" >/dev/null; }
log() { cat "$state/loyaltyd.log"; }
console() { cat "$work/console.out"; }
earns() { ctl ledger export --format csv | awk -F, '$4 == "earn"' | wc -l; }
# how many sales of this amount (in grosze) the ledger holds
booked() { ctl ledger export --format csv | awk -F, -v a="$1" '$4 == "earn" && $8 == a' | wc -l; }
sale_state() { ctl --json status | sed -n 's/.*"sale":{[^}]*"state":"\([a-z ]*\)".*/\1/p'; }
nfc_connected() { ctl --json status | sed -n 's/.*"nfc":{[^}]*"connected":\([a-z]*\).*/\1/p'; }
sale_waits() { [ "$(sale_state)" = "waiting for card" ]; }
# log_count PATTERN: lines of the daemon's log that match
log_count() { grep -c "$1" "$state/loyaltyd.log" || true; }
# log_more PATTERN N: more than N lines match
log_more() { [ "$(log_count "$1")" -gt "$2" ]; }

# wait_for SECONDS COMMAND...: until the command succeeds; 1 when it never did
wait_for() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

start_emu() {
	rm -f "$sock"
	timeout 600 "$emu_bin" --link "$link" --control "$sock" --trace \
		>>"$work/emu.out" 2>>"$work/emu.log" &
	emu_pid=$!
	wait_for 10 test -S "$sock" || { echo "the emulator did not start:"; cat "$work/emu.log"; exit 1; }
}

# the stdio console reads keys from a fifo this shell holds open, and shows on console.out
start_terminal() {
	mkfifo "$work/keys"
	exec 3<>"$work/keys"
	LIBNFC_LOG_LEVEL=0 timeout 600 "$loyaltyd" --board "$work/board.json" --state "$state" \
		--register 127.0.0.1:0 --log-level debug \
		<"$work/keys" >"$work/console.out" 2>>"$state/loyaltyd.log" &
	daemon_pid=$!
	wait_for 10 "$loyaltyctl" --state "$state" status ||
		{ echo "loyaltyd did not start:"; log; exit 1; }
}

# begin_sale AMOUNT: a sale from loyaltyctl that waits for the card, in the background
begin_sale() {
	timeout 90 "$loyaltyctl" --state "$state" sale --amount "$1" >"$work/sale.out" 2>&1 &
	sale_pid=$!
	check_true "sale of $1 zł waits for the card" wait_for 10 sale_waits
}

# end_sale: the waiting loyaltyctl's exit status
end_sale() {
	local rc=0
	wait "$sale_pid" || rc=$?
	sale_pid=
	[ $rc = 0 ] && sales=$((sales + 1))
	return $rc
}
sales=0

card=04A1B2C3D4E5F6
url=HTTPS://K.EXAMPLE.PL/C/7K3M9QZX2H4P
tap() { emu tap ntag215 "$card" "$url"; }
# take the card away and wait for the driver to notice
remove() {
	local n
	n=$(log_count "card left the field")
	emu remove
	wait_for 5 log_more "card left the field" "$n" || true
}

start_emu
start_terminal
check "the reader is open" "true" "$(nfc_connected)"

# -- a tap books the sale and prints its receipt
begin_sale 11.00
tap
check_true "the tap books the sale" end_sale
check_true "the sale answer names the receipt" grep -q "sale booked, receipt SIM1-000001" "$work/sale.out"
check_true "the receipt is printed" test -s "$state/printer/SIM1-000001.escpos"
"$render" --text "$state/printer/SIM1-000001.escpos" >"$work/receipt.txt"
check_true "with the amount" grep -q "11,00" "$work/receipt.txt"
check "one sale in the ledger" "1" "$(booked 1100)"
remove

# -- the card pulled away mid-read: one "tap again", nothing booked, the sale still open
before=$(earns)
begin_sale 12.00
# the reply to the first card command is held back (three times, so a late removal still fails
# the read); the card leaves while the driver waits for it
emu fault slow 2000 3 cmd 40
tap
check_true "the driver waits for the held-back reply" \
	wait_for 10 grep -q "(fault: reply held back)" "$work/emu.log"
emu remove
check_true "the read fails" wait_for 10 grep -q "asked to tap again" "$state/loyaltyd.log"
emu fault none
sleep 0.5
check "the console says tap again, once" "1" "$(console | grep -c "Tap again")"
check "and that the sale is still open" "1" "$(console | grep -c "The sale is still open")"
check "the log says why, once" "1" "$(log | grep -c "could not be read .*asked to tap again")"
check "nothing booked" "$before" "$(earns)"
check "the sale still waits for the card" "waiting for card" "$(sale_state)"
tap
check_true "the card tapped again books the sale" end_sale
check "once" "1" "$(booked 1200)"
remove

# -- each fault during a tap: the driver tries again, the sale is booked once
# (fault|what the log says at the default level, "-" when nothing failed)
amount=13
while IFS='|' read -r fault said <&4; do
	begin_sale "$amount.00"
	n=$(log_count "info  nfc: .*$said")
	read -ra words <<<"$fault"
	emu fault "${words[@]}"
	tap
	rc=0
	end_sale || rc=$?
	check "fault $fault: the sale is booked" 0 "$rc"
	check "fault $fault: once" "1" "$(booked "${amount}00")"
	[ "$said" = - ] || check_true "fault $fault: the log names it" log_more "info  nfc: .*$said" "$n"
	emu fault none
	remove
	amount=$((amount + 1))
done 4<<'EOF'
rf-timeout 1|reading the card failed (RF Transmission Error), try 1 of 3
crc 1|reading the card failed (RF Transmission Error), try 1 of 3
checksum 1 cmd 40|reading the card failed (Input / Output Error), try 1 of 3
slow 150 1 cmd 40|-
slow 800 1 cmd 40|reading the card failed (Timeout), try 1 of 3
lost 1 cmd 40|reading the card failed (Timeout), try 1 of 3
lost 1 cmd 4a|reader error (Timeout), trying again
checksum 1 cmd 4a|reader error (Input / Output Error), trying again
EOF
check_true "the terminal runs on" kill -0 "$daemon_pid"

# -- a card that cannot be read, lying on the reader: asked to tap again, and read once more by
# itself, not for ever; one booking once it reads
begin_sale "$amount.00"
n=$(log_count "asked to tap again")
emu fault rf-timeout 1000
tap
check_true "the read fails, and again" wait_for 10 log_more "asked to tap again" $((n + 1))
sleep 2
check "tap again twice, not more" "$((n + 2))" "$(log_count "asked to tap again")"
check "the console too" "$((n + 2))" "$(console | grep -c "Tap again")"
check "nothing booked" "0" "$(booked "${amount}00")"
emu fault none
remove
tap
check_true "the sale is booked when the card reads" end_sale
check "once" "1" "$(booked "${amount}00")"
amount=$((amount + 1))

# -- a fault in the presence check of a card left on the reader is not a new tap
ctl sale --amount "$amount.00" --no-wait >/dev/null
hits=$(grep -c "(fault: " "$work/emu.log" || true)
for fault in "rf-timeout 1 card 30" "crc 1 card 30" "lost 1 cmd 40"; do
	read -ra words <<<"$fault"
	emu fault "${words[@]}"
	sleep 1
	emu fault none
done
check "the presence checks met the three faults" "$((hits + 3))" "$(grep -c "(fault: " "$work/emu.log")"
check "the card left on the reader books nothing" "0" "$(booked "${amount}00")"
check "the sale still waits for a card" "waiting for card" "$(sale_state)"
ctl cancel >/dev/null || true
remove
amount=$((amount + 1))

# -- the emulator crashes while a sale waits: reported, reopened with backoff, booked once
begin_sale "$amount.00"
lost_before=$(log_count "NFC reader lost")
prompts=$(grep -c "Tap the customer's card" "$work/console.out" || true)
emu crash || true
wait "$emu_pid" 2>/dev/null || true
emu_pid=
# the crashed emulator left its link to a pty that is gone; a restarted one makes it again
rm -f "$link"
check_true "the driver notices" wait_for 20 log_more "NFC reader lost" "$lost_before"
check "the reader loss is logged" "$((lost_before + 1))" "$(log | grep -c "NFC reader lost")"
check "status says so" "false" "$(nfc_connected)"
check_true "the console says so" grep -q "NFC reader lost: reconnecting" "$work/console.out"
check "the sale stays open" "waiting for card" "$(sale_state)"
sleep 4
start_emu
check_true "the driver reopens the reader" wait_for 30 grep -q "NFC reader is back" "$state/loyaltyd.log"
check "the reader is back" "true" "$(nfc_connected)"
check "the console asks for the card again" "$((prompts + 1))" "$(grep -c "Tap the customer's card" "$work/console.out")"
# the reopen attempts while it was gone came further and further apart
log | sed -n 's/^\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z.*nfc: cannot open reader.*/\1 \2 \3/p' |
	awk '{ t = $1 * 3600 + $2 * 60 + $3; if (n) print t - last; last = t; n++ }' >"$work/gaps"
check_true "the reader was tried again more than once" test "$(wc -l <"$work/gaps")" -ge 1
# shellcheck disable=SC2016 # awk's own variables
check_true "with growing intervals (backoff)" awk 'NR > 1 && $1 < prev * 1.5 { bad = 1 } { prev = $1 } END { exit bad }' "$work/gaps"
tap
check_true "the open sale is booked once the reader is back" end_sale
check "once" "1" "$(booked "${amount}00")"
remove

# -- the ledger: every sale once, intact
check "every sale booked once" "$sales" "$(earns)"
check_true "the ledger verifies" bash -c "'$loyaltyctl' --state '$state' ledger verify >/dev/null"
check_true "the terminal runs on" kill -0 "$daemon_pid"
stop_daemon
finish
