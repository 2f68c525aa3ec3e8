#!/usr/bin/env bash
# sync_test: three simulator terminals and one loyalty-server on loopback with real TLS (a CA
# from tools/dev-ca). Sales on all three while the server is down; then the server starts, each
# terminal registers with its enrolment code and `loyaltyctl sync now` pushes its outbox: the
# server's balances equal the terminals' own, every event is stored once, and the outboxes are
# empty. Then the fault case, three times: more sales, a sync in progress on all three, the
# server killed with SIGKILL while a terminal is pushing, restarted, synced again: nothing lost,
# nothing booked twice; then a terminal killed with SIGKILL mid-push, restarted and synced. Also:
# a terminal's sync settings refused with the field named.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
server=$build/tools/server/loyalty-server
work=$(mktemp -d -t sync_test.XXXXXX)
spid=
declare -A pid_of # the running daemons, by terminal
cleanup() {
	set +e
	[ -z "$spid" ] || kill -9 "$spid" 2>/dev/null
	for p in "${pid_of[@]}"; do [ -z "$p" ] || kill "$p" 2>/dev/null; done
	if [ "$fails" = 0 ]; then rm -rf "$work"; else echo "kept $work for a look"; fi
}
trap cleanup EXIT
db=$work/server.sqlite
"$src/tools/dev-ca" "$work/ca" >/dev/null

# start_server PORT: the server on 127.0.0.1:PORT (0: any; $port says which)
start_server() {
	rm -f "$work/port"
	"$server" serve --db "$db" --cert "$work/ca/server.pem" --key "$work/ca/server.key" \
		--ca "$work/ca/ca.pem" --ca-key "$work/ca/ca.key" --sign-key "$work/ca/config.key" \
		--port "$1" --port-file "$work/port" --exit-after 280 >>"$work/server.log" 2>&1 &
	spid=$!
	for _ in $(seq 100); do
		[ -s "$work/port" ] && break
		kill -0 "$spid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
		sleep 0.05
	done
	port=$(cat "$work/port")
}
stop_server() {
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	spid=
}

# the server's port, kept for its restarts (the terminals know it), and an enrolment code per
# terminal
start_server 0
for t in T1 T2 T3; do
	"$server" enrol --db "$db" --terminal "$t" >"$work/$t.code"
done
stop_server

ids=(T1 T2 T3)
for t in "${ids[@]}"; do
	st=$work/$t
	mkdir -p "$st"
	synced_terminal_json $t "https://127.0.0.1:$port" "$work/ca/ca.pem" "$(cat "$work/$t.code")" "$st/terminal.json"
	start_daemon "$st"
	pid_of[$t]=$daemon_pid
done
daemon_pid=

ctl() { local t=$1; shift; "$loyaltyctl" --state "$work/$t" "$@"; }
# sale T AMOUNT UID: a sale on terminal T paid with the card UID
sale() {
	ctl "$1" sale --amount "$2" --no-wait >/dev/null
	ctl "$1" sim remove >/dev/null
	ctl "$1" sim tap --uid "$3" >/dev/null
}
# sales T N: N sales on T over five cards
sales() {
	local t=$1 n=$2 i
	for i in $(seq "$n"); do
		sale "$t" "$((i % 7 + 3)).$((i % 10))0" "04A1B2C3D4E5$(printf '%02X' $((i % 5)))"
	done
}
q() { sqlite3 "$work/$1/ledger.sqlite" "$2"; }
# the terminals' member balances and the server's, as "CARD BALANCE" lines, sorted
terminal_fold() {
	for t in "${ids[@]}"; do q "$t" "SELECT card_code || ' ' || balance_pts FROM members"; done |
		sort
}
server_fold() {
	"$server" balances --db "$db" |
		sed 's/.*"card_code":"\([0-9A-Z]*\)","balance_pts":\(-\?[0-9]*\).*/\1 \2/' | sort
}
total_events() {
	local n=0 t
	for t in "${ids[@]}"; do n=$((n + $(q "$t" "SELECT COUNT(*) FROM events"))); done
	echo "$n"
}
queue() { ctl "$1" --json status | grep -o '"sync":{[^}]*"queue":[0-9]*' | sed 's/.*"queue"://'; }
# the server's view, checked against the terminals'
check_server() {
	local what=$1 t
	check "$what: the server's balances are the terminals'" "$(terminal_fold)" "$(server_fold)"
	check "$what: every event stored once" "$(total_events)" \
		"$("$server" stats --db "$db" | sed 's/[^0-9]//g')"
	for t in "${ids[@]}"; do
		check "$what: $t's outbox is empty" 0 "$(queue "$t")"
		check "$what: $t's acknowledgement mark is its last event" \
			"$(q "$t" "SELECT MAX(seq) FROM events")" \
			"$(q "$t" "SELECT acked_seq FROM outbox")"
	done
}

# ---- sales while the server is down ----
for t in "${ids[@]}"; do sales "$t" 8; done
ctl T1 refund --receipt T1-000001 --amount 1 >/dev/null
for t in "${ids[@]}"; do
	check_true "$t: events wait in the outbox" test "$(queue "$t")" -gt 0
	rc=0
	ctl "$t" sync now >"$work/out" 2>&1 || rc=$?
	check "$t: sync now fails while the server is down" 1 "$rc"
	check_true "$t: and says why" grep -qi "couldn't connect\|connect" "$work/out"
	ctl "$t" status >"$work/status"
	check_true "$t: status shows the queue" grep -q "queue     [1-9][0-9]* events not yet acknowledged" "$work/status"
	check_true "$t: and the last error" grep -q "error     .*connect" "$work/status"
	check_true "$t: never synced" grep -q "last ok   never" "$work/status"
done

# ---- the server comes up: register, push, pull ----
start_server "$port"
for t in "${ids[@]}"; do
	rc=0
	ctl "$t" sync now >"$work/$t.sync" 2>&1 || rc=$?
	check "$t: sync now goes through" 0 "$rc"
	[ "$rc" = 0 ] || cat "$work/$t.sync"
	check_true "$t: registered (client certificate stored)" test -s "$work/$t/keys/client.pem"
	check_true "$t: nothing rejected" grep -q "0 rejected" "$work/$t.sync"
	ctl "$t" status >"$work/status"
	check_true "$t: status shows the last success" grep -q "last ok   20" "$work/status"
	check_true "$t: no error" grep -q "error     none" "$work/status"
	check_true "$t: the server's clock skew" grep -q "skew      server clock" "$work/status"
	check_true "$t: the day's budget" grep -q "budget    [0-9]* of [0-9]* pts left today" "$work/status"
done
check_server "after the first sync"
# a second sync of the same terminal sends nothing and keeps everything
ctl T2 sync now >"$work/out"
check_true "a sync with an empty outbox pushes nothing" grep -q "pushed    0 events" "$work/out"
check_server "after a sync with nothing to send"

# ---- an answer lost: the server stored a batch, the terminal never heard (its state folder put
# back as it was before the sync): the same events again are duplicates, booked once. The server
# is down while T1 restarts, so T1's own first round cannot go ahead of the sync now ----
restart_t1() { # [COMMAND...] run while T1 is stopped
	daemon_pid=${pid_of[T1]}
	pid_of[T1]=
	stop_daemon
	[ $# = 0 ] || "$@"
	start_daemon "$work/T1"
	pid_of[T1]=$daemon_pid
	daemon_pid=
	# its first round, at start, has failed (no server)
	for _ in $(seq 100); do
		ctl T1 --json status | grep -q '"state":"idle".*"last_error":"[^"]' && break
		sleep 0.05
	done
}
snapshot() { cp -a "$work/T1" "$work/T1.before"; }
put_back() { rm -rf "$work/T1" && mv "$work/T1.before" "$work/T1"; }
sales T1 5
stop_server
restart_t1 snapshot
pushed=$(queue T1)
check_true "T1: five sales wait in the outbox" test "${pushed:-0}" -ge 5
stored=$("$server" stats --db "$db" | sed 's/[^0-9]//g')
start_server "$port"
# sync now, or T1's own retry just before it (its backoff after the failed round at start):
# either way the server stores them all and T1 hears it
ctl T1 sync now >"$work/out"
check "T1: five sales pushed" 0 "$(queue T1)"
check "T1: the server stored them" "$((stored + pushed))" \
	"$("$server" stats --db "$db" | sed 's/[^0-9]//g')"
stop_server
restart_t1 put_back
# (the server still down: T1's own rounds cannot send them yet)
check "T1: the outbox holds them again" "$pushed" "$(queue T1)"
stored=$("$server" stats --db "$db" | sed 's/[^0-9]//g')
start_server "$port"
ctl T1 sync now >"$work/out"
# T1's own retry (its backoff after the failed round at start) may have sent them first, so
# the proof is the server's: everything acknowledged, and not one event more stored
if ! grep -q "pushed    $pushed events: 0 accepted, $pushed duplicates, 0 rejected" "$work/out"; then
	check_true "T1: the events were sent again by its own round" grep -q "pushed    0 events" "$work/out"
fi
check "T1: sent again, all acknowledged" 0 "$(queue T1)"
check "T1: sent again, all duplicates (nothing more stored)" "$stored" \
	"$("$server" stats --db "$db" | sed 's/[^0-9]//g')"
check_server "after an answer lost"

# ---- fault: the server killed with SIGKILL while terminals push ----
# pushing T: T's sync round is sending its outbox (a request in flight or being answered)
pushing() { ctl "$1" --json status | grep -q '"state":"pushing"'; }
for round in 1 2 3; do
	# Round 1: the server stands still (SIGSTOP) while the three terminals start pushing, and
	# is killed so: every push in flight. Rounds 2 and 3: the server runs and is killed a few
	# milliseconds after the three syncs start, somewhere in its work on them (a batch may be
	# stored whose answer never leaves); an attempt where every sync ended first books more
	# sales and tries again. (Not SIGCONT: loyalty-server takes it for the end of --exit-after.)
	seen=0
	for _ in 1 2 3 4 5 6; do
		jobs_=()
		for t in "${ids[@]}"; do
			sales "$t" $((10 + round * 5)) &
			jobs_+=($!)
		done
		wait "${jobs_[@]}"
		[ "$round" = 1 ] && kill -STOP "$spid"
		jobs_=()
		for t in "${ids[@]}"; do
			ctl "$t" sync now >"$work/$t.killed" 2>&1 &
			jobs_+=($!)
		done
		if [ "$round" = 1 ]; then
			for _ in $(seq 600); do
				n=0
				for t in "${ids[@]}"; do
					pushing "$t" && n=$((n + 1))
				done
				[ "$n" -ge 3 ] && break
			done
			[ "$n" -ge 3 ] && seen=1
			break
		fi
		sleep "0.0$((RANDOM % 15 + 5))"
		kill -9 "$spid" 2>/dev/null || true
		failed=0
		for j in "${jobs_[@]}"; do wait "$j" || failed=1; done
		if [ "$failed" = 1 ]; then
			seen=1
			break
		fi
		# all three were through before the kill: the server again, and more
		wait "$spid" 2>/dev/null || true
		start_server "$port"
	done
	kill -9 "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	spid=
	for j in "${jobs_[@]}"; do wait "$j" || true; done
	check "round $round: the server was killed while the terminals synced" 1 "$seen"
	start_server "$port"
	for t in "${ids[@]}"; do
		rc=0
		ctl "$t" sync now >"$work/$t.sync" 2>&1 || rc=$?
		check "round $round: $t syncs after the restart" 0 "$rc"
		[ "$rc" = 0 ] || cat "$work/$t.sync" "$work/$t.killed"
		check_true "round $round: $t: nothing rejected" grep -q " 0 rejected" "$work/$t.sync"
		dup=$(sed -n 's/.* \([0-9]*\) duplicates.*/\1/p' "$work/$t.sync")
		[ "${dup:-0}" = 0 ] ||
			echo "note: round $round: $t sent $dup event(s) again that the server had stored"
	done
	check_server "round $round"
done
for t in "${ids[@]}"; do
	check_true "$t: no rejection recorded" test ! -e "$work/$t/sync-rejected.jsonl"
done

# ---- fault: a terminal killed with SIGKILL in the middle of its push. The server stands still
# (SIGSTOP) so the push is surely in flight, then is killed too (not SIGCONT, as above) and
# restarted; the terminal restarts from its ledger and syncs: nothing lost, nothing twice ----
sales T2 12
kill -STOP "$spid"
ctl T2 sync now >"$work/T2.killed" 2>&1 &
sync_job=$!
seen=0
for _ in $(seq 600); do pushing T2 && { seen=1; break; }; done
check "T2 was pushing when it was killed" 1 "$seen"
kill -9 "${pid_of[T2]}"
wait "${pid_of[T2]}" 2>/dev/null || true
wait "$sync_job" 2>/dev/null || true
kill -9 "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true
spid=
start_server "$port"
start_daemon "$work/T2"
pid_of[T2]=$daemon_pid
daemon_pid=
rc=0
ctl T2 sync now >"$work/T2.sync" 2>&1 || rc=$?
check "T2 syncs after its restart" 0 "$rc"
check_true "T2: nothing rejected" grep -q " 0 rejected" "$work/T2.sync"
check_true "T2: its ledger verifies" ctl T2 ledger verify
check_server "after a terminal killed mid-sync"

# ---- a terminal that trusts another CA refuses the server: nothing sent, nothing registered ----
"$src/tools/dev-ca" "$work/ca2" >/dev/null
"$server" enrol --db "$db" --terminal T4 >"$work/T4.code"
mkdir -p "$work/T4"
sed -e "s|\"terminal_id\": \"SIM1\"|\"terminal_id\": \"T4\"|" \
	-e "s|\"card_url_base\"|\"server_url\": \"https://127.0.0.1:$port\", \"sync\": {\"ca\": \"$work/ca2/ca.pem\", \"enrolment_code\": \"$(cat "$work/T4.code")\"}, \"card_url_base\"|" \
	"$src/board/sim/terminal.json" >"$work/T4/terminal.json"
start_daemon "$work/T4"
pid_of[T4]=$daemon_pid
daemon_pid=
sale T4 5 04A1B2C3D4E5F6
rc=0
ctl T4 sync now >"$work/out" 2>&1 || rc=$?
check "a server whose certificate another CA issued: sync fails" 1 "$rc"
check_true "the reason is the certificate" grep -qi "certificate\|SSL" "$work/out"
check_true "T4 is not registered" test ! -e "$work/T4/keys/client.pem"
check "T4's events stay in its outbox" "$(q T4 "SELECT COUNT(*) FROM events")" "$(queue T4)"
check "the server holds nothing of T4" "$(total_events)" \
	"$("$server" stats --db "$db" | sed 's/[^0-9]//g')"
ids+=(T4)

# ---- the terminals stop cleanly ----
for t in "${ids[@]}"; do
	daemon_pid=${pid_of[$t]}
	pid_of[$t]=
	stop_daemon
done
stop_server

# ---- bad sync settings are refused at start, with the field named ----
bad() { # WHAT SED-EXPRESSION EXPECTED-MESSAGE
	mkdir -p "$work/bad"
	sed "$2" "$src/board/sim/terminal.json" >"$work/bad/terminal.json"
	rc=0
	"$loyaltyd" --board "$src/board/sim/board.json" --state "$work/bad" --headless \
		>"$work/bad/out" 2>&1 || rc=$?
	check "$1: loyaltyd refuses to start" 1 "$rc"
	check_true "$1: the message names it" grep -q "$3" "$work/bad/out"
}
bad "sync without server_url" 's|"card_url_base"|"sync": {"interval_s": 60}, "card_url_base"|' \
	"sync: needs server_url"
bad "a bad enrolment code" \
	's|"card_url_base"|"server_url": "https://127.0.0.1:1", "sync": {"enrolment_code": "ABC"}, "card_url_base"|' \
	"sync.enrolment_code: must be"
bad "an interval of 1 s" \
	's|"card_url_base"|"server_url": "https://127.0.0.1:1", "sync": {"interval_s": 1}, "card_url_base"|' \
	"sync.interval_s: must be a whole number from 5"
bad "an unknown sync field" \
	's|"card_url_base"|"server_url": "https://127.0.0.1:1", "sync": {"cafile": "x"}, "card_url_base"|' \
	"sync.cafile: unknown key"
finish
