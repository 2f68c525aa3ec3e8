# lib.sh: helpers for the simulator tests (sourced). Needs $src and $build.
fails=0
checks=0

check() { # name expected actual
	checks=$((checks + 1))
	if [ "$2" == "$3" ]; then
		echo "ok: $1"
	else
		echo "FAIL: $1"
		echo "  expected: $2"
		echo "  got:      $3"
		fails=$((fails + 1))
	fi
}

check_true() { # name command...
	local name=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok: $name"
	else
		echo "FAIL: $name"
		fails=$((fails + 1))
	fi
}

finish() {
	echo "$((checks - fails)) passed, $fails failed"
	[ "$fails" = 0 ]
}

hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }

# one_terminal NAME: $work, a temporary folder removed at exit (the daemon killed first), and
# $state in it, one terminal's state folder with the sim board's terminal.json
one_terminal() {
	work=$(mktemp -d -t "$1.XXXXXX")
	trap '[ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null; rm -rf "$work"' EXIT
	state=$work/state
	mkdir -p "$state"
	cp "$src/board/sim/terminal.json" "$state/"
}
# synced_terminal_json T URL CA CODE OUT: the sim board's terminal.json as terminal T, syncing
# with the server at URL (CA its certificate authority's file) and registering with CODE
synced_terminal_json() {
	sed -e "s|\"terminal_id\": \"SIM1\"|\"terminal_id\": \"$1\"|" \
		-e "s|\"card_url_base\"|\"server_url\": \"$2\", \"sync\": {\"ca\": \"$3\", \"enrolment_code\": \"$4\", \"interval_s\": 3600}, \"card_url_base\"|" \
		"$src/board/sim/terminal.json" >"$5"
}
# loyaltyctl and the ledger of the terminal in $state (a test of several terminals has its own)
ctl() { "$loyaltyctl" --state "$state" "$@"; }
q() { sqlite3 "$state/ledger.sqlite" "$1"; }
# sale AMOUNT UID: a sale on that terminal paid with the simulated card UID (a test with cards
# of its own kind has its own sale)
sale() {
	ctl sale --amount "$1" --no-wait >/dev/null
	ctl sim remove >/dev/null
	ctl sim tap --uid "$2" >/dev/null
}
# queue: the events its outbox has not had acknowledged
queue() { ctl --json status | grep -o '"sync":{[^}]*"queue":[0-9]*' | sed 's/.*"queue"://'; }

loyaltyd=$build/firmware/loyaltyd
loyaltyctl=$build/tools/loyaltyctl/loyaltyctl
render=$build/tools/escpos-render/escpos-render

# start_daemon STATE [extra args]: loyaltyd on the sim board, headless, waits for the socket
start_daemon() {
	local state=$1
	shift
	"$loyaltyd" --board "$src/board/sim/board.json" --state "$state" --headless \
		--register 127.0.0.1:0 "$@" \
		2>>"$state/loyaltyd.log" &
	daemon_pid=$!
	for _ in $(seq 100); do
		"$loyaltyctl" --state "$state" status >/dev/null 2>&1 && return 0
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "loyaltyd did not start:"
	cat "$state/loyaltyd.log"
	return 1
}

# stop_daemon: SIGTERM, then the exit status must be 0 (clean shutdown; no leak reports
# under the sanitizers)
stop_daemon() {
	[ -n "${daemon_pid:-}" ] || return 0
	local rc=0
	kill "$daemon_pid" 2>/dev/null || true
	wait "$daemon_pid" 2>/dev/null || rc=$?
	daemon_pid=
	check "loyaltyd stops cleanly on SIGTERM" 0 "$rc"
}
