#!/usr/bin/env bash
# sync_net_test: a bad network between a terminal and loyalty-server (real TLS on loopback),
# through tests/server/fault_proxy: first 2 s of latency on every chunk each way, then
# connections cut with a TCP reset at random points (each chunk from the server with a chance of
# 15%: in the TLS handshake, or while an answer is under way after the server stored the batch). Sales go on meanwhile; the terminal
# syncs again until its outbox is empty: the server's balances are the terminal's, every event
# is stored once, nothing is rejected. Last, a member erased on the server reaches the terminal
# as a tombstone.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
server=$build/tools/server/loyalty-server
proxy=$build/tools/server/tests/fault_proxy
work=$(mktemp -d -t sync_net_test.XXXXXX)
spid= ppid_=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	[ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null
	[ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
db=$work/server.sqlite
"$src/tools/dev-ca" "$work/ca" >/dev/null
"$server" serve --db "$db" --cert "$work/ca/server.pem" --key "$work/ca/server.key" \
	--ca "$work/ca/ca.pem" --ca-key "$work/ca/ca.key" --sign-key "$work/ca/config.key" \
	--port 0 --port-file "$work/port" --exit-after 280 >>"$work/server.log" 2>&1 &
spid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
code=$("$server" enrol --db "$db" --terminal NET1)

# start_proxy ARGS...: the proxy in front of the server ($pport: its port, kept across restarts)
start_proxy() {
	[ -n "$ppid_" ] && { kill "$ppid_" 2>/dev/null; wait "$ppid_" 2>/dev/null || true; }
	rm -f "$work/pport"
	"$proxy" --to "$(cat "$work/port")" --port "${pport:-0}" --port-file "$work/pport" \
		--exit-after 280 "$@" 2>>"$work/proxy.log" &
	ppid_=$!
	for _ in $(seq 100); do [ -s "$work/pport" ] && break; sleep 0.05; done
}
# the first proxy takes a free port and the terminal is told it; later proxies take the same
start_proxy
pport=$(cat "$work/pport")

state=$work/NET1
mkdir -p "$state"
synced_terminal_json NET1 "https://127.0.0.1:$pport" "$work/ca/ca.pem" "$code" "$state/terminal.json"
start_daemon "$state"
# sync_until_empty N: "sync now" until the outbox is empty, at most N times; echoes the tries
sync_until_empty() {
	local i
	for i in $(seq "$1"); do
		ctl sync now --timeout 60 >"$work/sync.out" 2>&1 || true
		[ "$(queue)" = 0 ] && { echo "$i"; return 0; }
	done
	echo "$1"
	return 1
}
check_server() {
	check "$1: the server's balances are the terminal's" \
		"$(q "SELECT card_code || ' ' || balance_pts FROM members" | sort)" \
		"$("$server" balances --db "$db" |
			sed 's/.*"card_code":"\([0-9A-Z]*\)","balance_pts":\(-\?[0-9]*\).*/\1 \2/' | sort)"
	check "$1: every event stored once" "$(q 'SELECT COUNT(*) FROM events')" \
		"$("$server" stats --db "$db" | sed 's/[^0-9]//g')"
	check_true "$1: nothing rejected" test ! -e "$state/sync-rejected.jsonl"
}

# ---- 2 s of latency on every chunk, each way ----
start_proxy --latency-ms 2000
for i in 1 2 3 4 5 6; do sale "$((i + 4)).50" "04A1B2C3D4E5$(printf '%02X' $((i % 3)))"; done
start=$(date +%s)
tries=$(sync_until_empty 3) || true
took=$(($(date +%s) - start))
check "with 2 s latency: the outbox empties" 0 "$(queue)"
check_true "and it took the latency (${took} s for $tries round(s))" test "$took" -ge 4
check_server "with 2 s latency"

# ---- connections reset at random points (a fixed seed: the same draws each run) ----
start_proxy --reset-pct 15 --seed 7
for round in 1 2 3 4 5 6 7 8; do
	for i in 1 2; do sale "$((i + round)).00" "04A1B2C3D4E5$(printf '%02X' $((i % 4)))"; done
	tries=$(sync_until_empty 25) || true
	check "resets, round $round: the outbox empties after $tries sync(s)" 0 "$(queue)"
	check_server "resets, round $round"
done
check_true "the proxy did reset connections ($(grep -c 'reset a connection' "$work/proxy.log" || true))" \
	grep -q "reset a connection" "$work/proxy.log"

# ---- an erasure on the server (the card page's account deletion does the same) reaches the
# terminal as a tombstone at its next sync: the member's card link and pseudonym are gone ----
start_proxy
card=$(q "SELECT card_code FROM members ORDER BY member_id LIMIT 1")
"$server" erase --db "$db" --card "$card" >/dev/null
rc=0
ctl sync now >"$work/sync.out" 2>&1 || rc=$?
check "the sync after the erasure succeeds" 0 "$rc"
# (the terminal's own retry round may pull it just before sync now: the proof is in the ledger)
check "the erasure is pulled and applied: the card is refused from now on" 1 \
	"$(q "SELECT COUNT(*) FROM revoked_cards WHERE card_code = '$card'")"
check "the terminal no longer knows the card" "0" \
	"$(q "SELECT COUNT(*) FROM members WHERE card_code = '$card'")"
check "the member is marked erased" "1" \
	"$(q "SELECT COUNT(*) FROM members WHERE erased_us IS NOT NULL")"
check_true "the terminal's ledger verifies" ctl ledger verify
stop_daemon
finish
