#!/usr/bin/env bash
# sync_loss_test: a terminal syncs with loyalty-server over a link that really loses 30% of its
# IP packets, each way, and in the end not one event is lost or stored twice.
#
# Topology (two network namespaces made here, named with this test's PID and always deleted):
#
#   netns loyT<pid>                     this shell                    netns loyS<pid>
#   loyaltyd (sim board)  10.77.0.2  [llt<pid>] <-lossy_link-> [lls<pid>]  10.77.0.1  loyalty-server
#                                     TUN          30% drop        TUN                (real TLS)
#
# tests/server/lossy_link makes two TUN devices and passes IP packets between them, dropping
# each with a seeded chance; the devices are moved into the namespaces and given the two
# addresses of a /30, so every packet between terminal and server crosses it, and TCP has to
# recover from the losses itself (retransmissions; a request that takes too long fails and the
# terminal tries again). The kernel's own way to do this, tc qdisc netem, is not built into every
# kernel (this one has no sch_netem: "Specified qdisc kind is unknown"); TUN and namespaces are.
# The server's certificate is made for 10.77.0.1 (tools/dev-ca --san), so the terminal checks it
# as usual.
#
# With 30% loss a segment and its acknowledgement both pass only half the time, and TCP doubles
# its retransmission timeout at each miss (up to 120 s): runs took from 15 s to over 90 s. The
# namespaces cap that backoff at 2 s (net.ipv4.tcp_rto_max_ms, Linux 6.15 on; without it the
# test is only slower), which keeps a run at about 10 to 50 s and changes nothing it checks.
#
# Sales go on before the first sync (which registers over the same link) and while syncs are
# under way; "sync now" is repeated, a bounded number of times and within a deadline, until the
# outbox is empty. Then: the server's balances are the terminal's, the server holds every event
# of the terminal once (the same seq and event id, no more, no fewer), nothing was rejected, the
# outbox is empty, and the link did drop packets, about 30% of them each way.
#
# The seed of the drops is new each run and printed; SYNC_LOSS_SEED=N repeats its draws (the
# same packets in the same order meet the same fate; timing may still differ). Without TUN or
# network namespaces (not root, an unprivileged container) the test says why and exits 77,
# which ctest reports as skipped.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
SKIP=77
server=$build/tools/server/loyalty-server
link=$build/tools/server/tests/lossy_link
loss_pct=30
rto_max_ms=2000
ns_s=loyS$$ ns_t=loyT$$
tun_s=lls$$ tun_t=llt$$
addr_s=10.77.0.1 addr_t=10.77.0.2
seed=${SYNC_LOSS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
work=$(mktemp -d -t sync_loss_test.XXXXXX)
spid='' lpid='' ns_made=''
cleanup() {
	local rc=$? p
	set +e # every step is tried, whatever failed before
	for p in "${daemon_pid:-}" "$spid" "$lpid"; do
		if [ -n "$p" ]; then kill "$p" 2>/dev/null; fi
	done
	wait 2>/dev/null
	for p in $ns_made; do ip netns del "$p" || echo "could not delete netns $p"; done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
skip() {
	echo "SKIP: $*"
	exit "$SKIP"
}

# ---- can this machine make the link at all? ----
[ -c /dev/net/tun ] || skip "no /dev/net/tun here (a TUN device is the lossy link)"
command -v ip >/dev/null || skip "no 'ip' command (iproute2) to make network namespaces"
for ns in "$ns_s" "$ns_t"; do
	ip netns del "$ns" 2>/dev/null || true # left by a killed run of the same pid
	ip netns add "$ns" 2>"$work/netns.err" ||
		skip "cannot make network namespaces (root needed): $(cat "$work/netns.err")"
	ns_made="$ns_made $ns"
	# a chroot or container may make the namespace but not enter it (ip netns exec remounts /)
	ip netns exec "$ns" true 2>"$work/netns.err" ||
		skip "cannot run programs in a network namespace here: $(cat "$work/netns.err")"
done

echo "lossy_link seed $seed ($loss_pct% loss; SYNC_LOSS_SEED=$seed repeats the draws)"
"$link" --tun-a "$tun_s" --tun-b "$tun_t" --loss "$loss_pct" --seed "$seed" \
	--ready-file "$work/link.ready" --exit-after 280 2>>"$work/link.log" &
lpid=$!
for _ in $(seq 100); do
	[ -s "$work/link.ready" ] && break
	kill -0 "$lpid" 2>/dev/null || break
	sleep 0.05
done
if [ ! -s "$work/link.ready" ]; then
	rc=0
	wait "$lpid" || rc=$?
	lpid=
	[ "$rc" = 3 ] && skip "$(cat "$work/link.log")"
	echo "lossy_link did not start (exit $rc):"
	cat "$work/link.log"
	exit 1
fi

# each TUN into its namespace, one address of 10.77.0.0/30 on each end (the prefix gives the
# route to the other end), loopback up (the daemon's register port and the server's own)
net_up() { # NS TUN ADDR
	ip link set "$2" netns "$1"
	# IPv6 off, best effort: only the test's own packets cross the link
	ip netns exec "$1" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6' 2>/dev/null || true
	# TCP's retransmission backoff capped at 2 s, where the kernel has the knob (6.15 on)
	ip netns exec "$1" sh -c "echo $rto_max_ms >/proc/sys/net/ipv4/tcp_rto_max_ms" 2>/dev/null ||
		echo "no net.ipv4.tcp_rto_max_ms here: TCP backs off up to its default (slower)"
	ip -n "$1" addr add "$3/30" dev "$2"
	ip -n "$1" link set "$2" up
	ip -n "$1" link set lo up
}
net_up "$ns_s" "$tun_s" "$addr_s"
net_up "$ns_t" "$tun_t" "$addr_t"
check "the terminal's namespace routes to the server over the link" "$addr_s dev $tun_t" \
	"$(ip -n "$ns_t" route get "$addr_s" | grep -o "^$addr_s dev [a-z0-9]*")"

db=$work/server.sqlite
"$src/tools/dev-ca" "$work/ca" --san "IP:$addr_s" >/dev/null
ip netns exec "$ns_s" "$server" serve --db "$db" --cert "$work/ca/server.pem" \
	--key "$work/ca/server.key" --ca "$work/ca/ca.pem" --ca-key "$work/ca/ca.key" \
	--sign-key "$work/ca/config.key" --listen "$addr_s" --port 8443 --port-file "$work/port" \
	--exit-after 280 >>"$work/server.log" 2>&1 &
spid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "loyalty-server did not start:"; cat "$work/server.log"; exit 1; }
code=$("$server" enrol --db "$db" --terminal LOSS1)

# loyaltyd runs in the terminal's namespace: lib.sh's start_daemon runs $loyaltyd, here a
# wrapper that execs it there (the pid stays the daemon's). loyaltyctl reaches it through the
# socket in the state folder, which no network namespace hides.
real_loyaltyd=$loyaltyd
loyaltyd=$work/loyaltyd-in-netns
printf '#!/bin/sh\nexec env -u http_proxy -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY ip netns exec %s %s "$@"\n' \
	"$ns_t" "$real_loyaltyd" >"$loyaltyd"
chmod +x "$loyaltyd"
state=$work/LOSS1
mkdir -p "$state"
synced_terminal_json LOSS1 "https://$addr_s:8443" "$work/ca/ca.pem" "$code" "$state/terminal.json"
start_daemon "$state"
sq() { sqlite3 "$db" "$1"; }
now() { date +%s; }
# every sync below must be done by this time: ctest's TIMEOUT is well past it
deadline=$(($(now) + 150))
# sync_now S: one "sync now" waiting at most S s; its outcome and how long it took go to sync.out
sync_now() {
	local t0 rc=0 out
	t0=$(now)
	out=$(ctl sync now --timeout "$1" 2>&1) || rc=$?
	printf '== sync now: exit %s after %s s\n%s\n' "$rc" "$(($(now) - t0))" "$out" >>"$work/sync.out"
}
# sync_until_empty N: "sync now" until the outbox is empty, at most N times and not past the
# deadline; each try waits at most 60 s (the daemon's own limit for one request)
sync_until_empty() {
	local i left
	for i in $(seq "$1"); do
		left=$((deadline - $(now)))
		[ "$left" -gt 0 ] || break
		[ "$left" -gt 60 ] && left=60
		sync_now "$left"
		[ "$(queue)" = 0 ] && return 0
	done
	return 1
}
check_server() {
	check "$1: the outbox is empty" 0 "$(queue)"
	check "$1: the server's balances are the terminal's" \
		"$(q "SELECT card_code || ' ' || balance_pts FROM members" | sort)" \
		"$("$server" balances --db "$db" |
			sed 's/.*"card_code":"\([0-9A-Z]*\)","balance_pts":\(-\?[0-9]*\).*/\1 \2/' | sort)"
	check "$1: every event stored once" "$(q 'SELECT COUNT(*) FROM events')" \
		"$("$server" stats --db "$db" | sed 's/[^0-9]//g')"
	check "$1: the server holds the terminal's events, none lost, none twice" \
		"$(q "SELECT seq || ' ' || hex(event_id) FROM events ORDER BY seq")" \
		"$(sq "SELECT seq || ' ' || hex(event_id) FROM events WHERE terminal_id = 'LOSS1' ORDER BY seq")"
	check_true "$1: nothing rejected" test ! -e "$state/sync-rejected.jsonl"
}

# ---- sales before the first sync; that sync registers over the lossy link too ----
start=$(now)
for i in $(seq 10); do sale "$((i + 4)).50" "04A1B2C3D4E5$(printf '%02X' $((i % 5)))"; done
sync_until_empty 8 || true
check_server "first sync (registration and 10 sales)"

# ---- sales while a sync is under way, then syncs until the outbox is empty ----
for round in 1 2 3 4 5; do
	sync_now 60 &
	bg=$!
	for i in 1 2 3; do sale "$((i + round)).00" "04A1B2C3D4E5$(printf '%02X' $(((i + round) % 7)))"; done
	wait "$bg" || true
	sync_until_empty 8 || true
	check_server "round $round (3 sales during a sync)"
done
took=$(($(now) - start))
n_sync=$(grep -c '^== sync now' "$work/sync.out" || true)
n_done=$(grep -c '^sync done' "$work/sync.out" || true)
each=$(sed -n 's/^== sync now: exit \([0-9]*\) after \([0-9]*\) s$/\2/p' "$work/sync.out" | paste -sd ' ')
dups=$(sed -n 's/.* \([0-9]*\) duplicates.*/\1/p' "$work/sync.out" | awk '{ n += $1 } END { print n + 0 }')
echo "sales and syncs took ${took} s: $n_sync sync now, $n_done went through (seconds each: $each);" \
	"$(q 'SELECT COUNT(*) FROM events') events; sent again after a lost answer: $dups"
check_true "the terminal's ledger verifies" ctl ledger verify
check "the status counts no rejection" 0 \
	"$(ctl --json status | grep -o '"rejected_total":[0-9]*' | sed 's/.*://')"

# TCP had to recover: segments sent again in the terminal's and the server's namespace
retrans() {
	ip netns exec "$1" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 }
		else print $c["RetransSegs"] }' /proc/net/snmp
}
rt=$(retrans "$ns_t") rs=$(retrans "$ns_s")
echo "TCP segments retransmitted: terminal $rt, server $rs"
check_true "TCP retransmitted segments over the link" test "$((rt + rs))" -gt 0

stop_daemon
kill "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true
spid=
# ---- the link: its counts, printed when it stops ----
kill "$lpid"
wait "$lpid" || true
lpid=
cat "$work/link.log"
dropped() { sed -n "s/^lossy_link: $1 [0-9]* forwarded \([0-9]*\) dropped.*/\1/p" "$work/link.log"; }
drop_ab=$(dropped 'a->b') drop_ba=$(dropped 'b->a')
check_true "the link dropped packets server -> terminal ($drop_ab)" test "${drop_ab:-0}" -gt 0
check_true "the link dropped packets terminal -> server ($drop_ba)" test "${drop_ba:-0}" -gt 0
total=$(sed -n 's/^lossy_link: total \([0-9]*\) packets.*/\1/p' "$work/link.log")
# the share dropped is a binomial draw: within 5 standard deviations of 30%
check_true "about $loss_pct% of the $total packets dropped ($((drop_ab + drop_ba)))" \
	awk -v n="${total:-0}" -v d="$((drop_ab + drop_ba))" -v p="$loss_pct" \
	'BEGIN { p /= 100; exit !(n >= 100 && (d / n - p) ^ 2 <= 25 * p * (1 - p) / n) }'
[ "$fails" = 0 ] || { echo "--- the syncs:"; cat "$work/sync.out"; }
finish
