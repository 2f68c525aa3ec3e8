#!/bin/bash
# printer-emu-test: the printer-emu program as shell tests use it. It starts on a pty and a
# TCP port, prints what it takes to its record file, answers DLE EOT, obeys its control FIFO,
# drops what arrives while out of paper, and stops on SIGTERM and when its parent goes away.
# usage: printer-emu-test.sh PATH-TO-printer-emu
set -euo pipefail
emu=$1
dir=$(mktemp -d /tmp/printer-emu-test.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "printer-emu-test: $*" >&2
	exit 1
}

# The next line the emulator prints: "KEY VALUE"; checks KEY, sets $value.
expect() {
	local key
	if ! read -r -t 5 key value <&"${EMU[0]}"; then
		fail "no '$1' line"
	fi
	[ "$key" = "$1" ] || fail "expected '$1', got '$key $value'"
}

coproc EMU { exec "$emu" --pty --tcp --record "$dir/rec" --control "$dir/ctl" </dev/null; }
pid=$EMU_PID
expect pty
pty=$value
expect port
port=$value
expect ready
[ -c "$pty" ] || fail "$pty is not a character device"

# over TCP: bytes are printed, DLE EOT 1 answered "online"
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'hello over tcp\n\x10\x04\x01' >&3
IFS= read -r -t 3 -N 1 answer <&3 || fail "no answer to DLE EOT 1"
[ "$answer" = $'\x12' ] || fail "DLE EOT 1 answered $(printf %q "$answer")"

# paper out through the FIFO: DLE EOT 4 says the roll is empty, bytes are dropped
echo paper-out >"$dir/ctl"
expect ok
[ "$value" = paper-out ] || fail "paper-out acknowledged as '$value'"
printf 'lost while out of paper\x10\x04\x04' >&3
IFS= read -r -t 3 -N 1 answer <&3 || fail "no answer to DLE EOT 4"
[ "$answer" = $'\x7e' ] || fail "DLE EOT 4 answered $(printf %q "$answer")"
echo ready >"$dir/ctl"
expect ok
[ "$value" = ready ] || fail "ready acknowledged as '$value'"
exec 3>&-

# over the pty
printf 'hello over the pty\n' >"$pty"
echo bogus >"$dir/ctl"
for _ in $(seq 50); do
	grep -q 'hello over the pty' "$dir/rec" && break
	sleep 0.1
done
grep -q 'hello over tcp' "$dir/rec" || fail "tcp bytes not recorded"
grep -q 'hello over the pty' "$dir/rec" || fail "pty bytes not recorded"
! grep -q 'lost while' "$dir/rec" || fail "bytes printed while out of paper"

# SIGTERM stops it
kill -TERM "$pid"
for _ in $(seq 30); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
! kill -0 "$pid" 2>/dev/null || fail "still running after SIGTERM"
pid=

# so does its parent going away
(
	"$emu" --tcp </dev/null >"$dir/out2" &
	echo $! >"$dir/pid2"
	sleep 0.3
)
orphan=$(cat "$dir/pid2")
for _ in $(seq 30); do
	kill -0 "$orphan" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$orphan" 2>/dev/null; then
	kill "$orphan"
	fail "still running after its parent left"
fi
grep -q '^port [0-9]' "$dir/out2" || fail "the second emulator printed no port"
echo "printer-emu-test: ok"
