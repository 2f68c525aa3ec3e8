#!/usr/bin/env bash
# chain_test: one member at two terminals of the chain, through loyalty-server (real TLS on
# loopback). A card enrolled at T1 carries T1's signed card link. Before T2 has synced it does not
# know T1's key: the link is not used and the card counts by its UID (a member of T2's own). Once
# T2 has pulled the chain's terminal keys and the member's server balance, the same link is T1's
# member, taken on at T2 with its card code: no second welcome bonus, what it earns at T2 reaches
# the server under the same card, and T2 shows the chain balance (the server's plus its own
# events not yet pulled back). The member lets the tills show its first name on its card page:
# after their next sync both terminals greet by it, and once it is withdrawn neither shows or
# keeps it. The owner revokes the card on the server: after their next sync both terminals
# refuse it, by its link and by its UID, and book nothing.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
server=$build/tools/server/loyalty-server
work=$(mktemp -d -t chain_test.XXXXXX)
spid=
declare -A pid_of
cleanup() {
	set +e
	[ -z "$spid" ] || kill "$spid" 2>/dev/null
	for p in "${pid_of[@]}"; do [ -z "$p" ] || kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$fails" = 0 ]; then rm -rf "$work"; else echo "kept $work for a look"; fi
}
trap cleanup EXIT
db=$work/server.sqlite
"$src/tools/dev-ca" "$work/ca" >/dev/null
# start_server PORT: the server on 127.0.0.1:PORT (0: any; $port says which)
start_server() {
	rm -f "$work/port" "$work/pages.port"
	"$server" serve --db "$db" --cert "$work/ca/server.pem" --key "$work/ca/server.key" \
		--ca "$work/ca/ca.pem" --ca-key "$work/ca/ca.key" --sign-key "$work/ca/config.key" \
		--port "$1" --port-file "$work/port" --exit-after 280 \
		--pages-listen 127.0.0.1:0 --pages-port-file "$work/pages.port" >>"$work/server.log" 2>&1 &
	spid=$!
	for _ in $(seq 100); do [ -s "$work/port" ] && [ -s "$work/pages.port" ] && break; sleep 0.05; done
	port=$(cat "$work/port")
}
stop_server() {
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	spid=
}
# start_terminal T: T's state folder, enrolled with the server, and its loyaltyd
start_terminal() {
	local t=$1 st=$work/$1 code
	mkdir -p "$st"
	code=$("$server" enrol --db "$db" --terminal "$t")
	synced_terminal_json $t "https://127.0.0.1:$port" "$work/ca/ca.pem" "$code" "$st/terminal.json"
	start_daemon "$st"
	pid_of[$t]=$daemon_pid
	daemon_pid=
}
start_server 0
start_terminal T1

ctl() { local t=$1; shift; "$loyaltyctl" --state "$work/$t" "$@"; }
jctl() { local t=$1; shift; "$loyaltyctl" --state "$work/$t" --json "$@"; }
q() { sqlite3 "$work/$1/ledger.sqlite" "$2"; }
jfield() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -1; }
jnum() { sed -n "s/.*\"$1\":\(-\?[0-9]*\).*/\1/p" | head -1; }
# tap T UID [ARGS...]: a sale of AMOUNT on T paid with the card (--amount first)
sale_tap() {
	local t=$1 amount=$2 uid=$3
	shift 3
	ctl "$t" sim remove >/dev/null
	ctl "$t" sale --amount "$amount" --no-wait >/dev/null
	jctl "$t" sim tap --uid "$uid" --tag ntag215 "$@"
}
server_balance() {
	"$server" balances --db "$db" | sed -n "s/.*\"card_code\":\"$1\",\"balance_pts\":\(-\?[0-9]*\).*/\1/p"
}
sync_ok() { # T WHAT
	local rc=0
	ctl "$1" sync now >"$work/$1.sync" 2>&1 || rc=$?
	check "$2" 0 "$rc"
	[ "$rc" = 0 ] || cat "$work/$1.sync"
}

# ---- a card enrolled at T1, with T1's link written to it ----
sale_tap T1 20,00 04A1A2A3A4A5A6 >"$work/t1.json"
link=$(jfield card_link <"$work/t1.json")
card=$(q T1 "SELECT card_code FROM members")
check_true "T1 enrols the card and writes its link" test -n "$link" -a -n "$card"
t1_pts=$(q T1 "SELECT balance_pts FROM members")
sync_ok T1 "T1 syncs"
# T2 starts while the server is down, so it has not synced at its first tap
stop_server
start_terminal T2

# ---- T2 before any sync: T1's key is unknown, the card counts by its UID ----
sale_tap T2 5,00 04B1B2B3B4B5B6 --url "$link" >"$work/t2a.json"
check_true "T2 unsynced: the link is not used" \
	grep -q "the card's link was not used (the code comes from a terminal not known here yet)" \
	"$work/T2/loyaltyd.log"
check_true "T2 unsynced: a new member of its own" grep -q '"new_member":true' "$work/t2a.json"
t2_own=$(q T2 "SELECT card_code FROM members")
check_true "under another card code" test "$t2_own" != "$card"

# ---- T2 syncs: the chain's keys and T1's member arrive ----
start_server "$port"
sync_ok T2 "T2 syncs"
# (T2's own retry after its failed round at start may have pulled them just before sync now:
# the proof is in T2's ledger)
check_true "the sync's outcome says what it applied" \
	grep -q "applied   [0-9]* member balances, [0-9]* cards revoked, [0-9]* terminal keys" \
	"$work/T2.sync"
check "T2 trusts T1's key" 1 "$(q T2 "SELECT COUNT(*) FROM trusted_keys WHERE terminal_id = 'T1'")"
check "T2 holds the server's balance of T1's card" "$t1_pts" \
	"$(q T2 "SELECT balance_pts FROM server_members WHERE card_code = '$card'")"
check "the cursor is in the ledger" "$(q T2 "SELECT cursor FROM sync_cursor")" \
	"$(ctl T2 --json status | jnum cursor)"

# ---- the same link at T2 now: T1's member, taken on with its card code ----
sale_tap T2 10,00 04C1C2C3C4C5C6 --url "$link" >"$work/t2b.json"
check_true "T2: tapped by its card link" grep -q "tapped (by its card link)" "$work/T2/loyaltyd.log"
check_true "T2: taken on from the chain" grep -q "card of another terminal of the chain" "$work/T2/loyaltyd.log"
check "T2 books under the card's own code" 1 \
	"$(q T2 "SELECT COUNT(*) FROM members WHERE card_code = '$card' AND adopted_us > 0")"
check "no second welcome bonus at T2" 0 \
	"$(q T2 "SELECT COUNT(*) FROM events e JOIN members m USING (member_id) WHERE m.card_code = '$card' AND e.rule = 'welcome'")"
check "no enrol event at T2 for it" 0 \
	"$(q T2 "SELECT COUNT(*) FROM events e JOIN members m USING (member_id) WHERE m.card_code = '$card' AND e.kind = 'enrol'")"
t2_pts=$(q T2 "SELECT balance_pts FROM members WHERE card_code = '$card'")
check "T2 earns 10 pts for 10 zł" 10 "$t2_pts"
ctl T2 sim remove >/dev/null
jctl T2 sim tap --uid 04C1C2C3C4C5C6 --tag ntag215 --url "$link" >"$work/inq.json"
check "T2 shows the chain balance (server + its own unsynced)" "$((t1_pts + t2_pts))" \
	"$(jnum chain_balance_pts <"$work/inq.json")"
receipt=$(jfield receipt <"$work/t2b.json")
"$render" --text "$work/T2/printer/$receipt.escpos" >"$work/t2b.txt"
check_true "T2's receipt prints the chain balance" \
	grep -q "Saldo punktów: *$((t1_pts + t2_pts)) pkt" "$work/t2b.txt"
cp "$work/T2/printer/$receipt.escpos" "$work/t2b.escpos"
sync_ok T2 "T2 syncs its sale"
ctl T2 reprint --receipt "$receipt" >/dev/null
check_true "a reprint after the sync gives the same bytes" \
	cmp -s "$work/t2b.escpos" "$work/T2/printer/$receipt.escpos"
check "the server folds both terminals under one card" "$((t1_pts + t2_pts))" "$(server_balance "$card")"
ctl T2 sim remove >/dev/null
jctl T2 sim tap --uid 04C1C2C3C4C5C6 --tag ntag215 --url "$link" >"$work/inq2.json"
check "after the pull the chain balance is the server's" "$((t1_pts + t2_pts))" \
	"$(jnum chain_balance_pts <"$work/inq2.json")"
check "and T2's ledger verifies" 0 "$(ctl T2 ledger verify >/dev/null 2>&1; echo $?)"

# ---- the first name: given on the card page, then the tills greet by it; withdrawn, gone ----
pages=http://127.0.0.1:$(cat "$work/pages.port")
cpath=/${link#*://*/}
csrf=$(curl -sS "$pages$cpath" | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
consent() { # FIELDS: the card page's consent form as a phone sends it; prints the status
	curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
		-H "Origin: $pages" -H 'Sec-Fetch-Site: same-origin' \
		--data-raw "csrf=$csrf&action=consent&$1" "$pages$cpath"
}
inquiry() { # T OUT: the card tapped with no sale waiting
	ctl "$1" sim remove >/dev/null
	jctl "$1" sim tap --uid 04C1C2C3C4C5C6 --tag ntag215 --url "$link" >"$2"
}
check "the member lets the tills show its first name" 200 "$(consent 'first_name=on&name=%C5%81ucja')"
sync_ok T2 "T2 pulls the first name"
inquiry T2 "$work/name.json"
check "T2's card inquiry carries the first name" "Łucja" "$(jfield first_name <"$work/name.json")"
check_true "T2's display greets by it" grep -q '"display":"Łucja: Card balance' "$work/name.json"
sync_ok T1 "T1 pulls it too"
ctl T1 sim remove >/dev/null
jctl T1 sim tap --uid 04A1A2A3A4A5A6 --tag ntag215 --url "$link" >"$work/name1.json"
check_true "the issuing terminal greets by it as well" grep -q '"display":"Łucja: ' "$work/name1.json"
# a sale through the register API: the offer names the member for the cashier and the register
addr=$(cat "$work/T2/register.addr")
curl -s -o "$work/rsale.json" -X POST -H 'Content-Type: application/json' \
	--data-binary '{"total_gr":300}' "http://$addr/v1/sales"
sale_id=$(jfield id <"$work/rsale.json")
ctl T2 sim remove >/dev/null
jctl T2 sim tap --uid 04C1C2C3C4C5C6 --tag ntag215 --url "$link" >"$work/rtap.json"
curl -s -o "$work/roffer.json" "http://$addr/v1/sales/$sale_id?wait_s=5"
check "the register's member has the first name" "Łucja" "$(jfield first_name <"$work/roffer.json")"
check_true "the cashier's screen after the tap greets by it" \
	grep -q '"display":"To pay 3,00 zł (of 3,00 zł)\\nŁucja: Earns +3 pts' "$work/rtap.json"
curl -s -o /dev/null -X POST "http://$addr/v1/sales/$sale_id/cancel"
check "withdrawn on the card page" 200 "$(consent 'marketing=on')"
sync_ok T2 "T2 pulls the withdrawal"
inquiry T2 "$work/noname.json"
check_true "T2 shows no first name any more" \
	eval '! grep -q -e first_name -e Łucja "$work/noname.json" && grep -q "\"display\":\"Card balance" "$work/noname.json"'
check "and keeps none" 0 "$(q T2 "SELECT COUNT(*) FROM server_members WHERE first_name IS NOT NULL")"
check_true "nor any copy in its ledger's files (deleted content zeroed, the WAL truncated)" \
	eval '! cat "$work/T2/ledger.sqlite" "$work/T2/ledger.sqlite-wal" 2>/dev/null | grep -qa Łucja'

# ---- the card revoked on the server: refused at both after their sync ----
"$server" revoke-card --db "$db" --card "$card"
sync_ok T1 "T1 syncs the revocation"
sync_ok T2 "T2 syncs the revocation"
check_true "T1 applied it" grep -q "1 cards revoked" "$work/T1.sync"
for t in T1 T2; do
	before=$(q "$t" "SELECT COUNT(*) FROM events")
	rc=0
	sale_tap "$t" 7,00 04A1A2A3A4A5A6 --url "$link" >"$work/rev.json" || rc=$?
	check_true "$t refuses the revoked card by its link" grep -q "this card was blocked" "$work/rev.json"
	check "$t books nothing for it" "$before" "$(q "$t" "SELECT COUNT(*) FROM events")"
	ctl "$t" cancel >/dev/null 2>&1 || true
done
# by its UID alone (no link): T1 knows the UID as the card's
ctl T1 sim remove >/dev/null
ctl T1 sale --amount 7,00 --no-wait >/dev/null
jctl T1 sim tap --uid 04A1A2A3A4A5A6 --tag ntag215 >"$work/rev_uid.json" || true
check_true "T1 refuses it by its UID too" grep -q "this card was blocked" "$work/rev_uid.json"
ctl T1 cancel >/dev/null 2>&1 || true
# another card goes on as usual
sale_tap T2 3,00 04D1D2D3D4D5D6 >"$work/other.json"
check_true "another card still books at T2" grep -q '"receipt":"T2-' "$work/other.json"

# ---- the owner publishes a programme: a welcome of 70 points ----
sed 's/"welcome": { "points": 50 }/"welcome": { "points": 70 }/' "$src/board/programme.json" \
	>"$work/programme70.json"
check_true "the test's programme differs" grep -q '"points": 70' "$work/programme70.json"
"$server" config --db "$db" --programme "$work/programme70.json" --sign-key "$work/ca/config.key"
sync_ok T2 "T2 pulls the programme"
check_true "T2 applied it" grep -q "programme applied" "$work/T2.sync"
check_true "T2 keeps it for its next start" cmp -s "$work/programme70.json" "$work/T2/programme.json"
sale_tap T2 4,00 04E1E2E3E4E5E6 >"$work/new70.json"
check "a new card at T2 gets the new welcome" 70 \
	"$(q T2 "SELECT points FROM events WHERE rule = 'welcome' ORDER BY seq DESC LIMIT 1")"
sync_ok T2 "T2 syncs again"
check_true "the programme is not applied twice" bash -c "! grep -q 'programme applied' '$work/T2.sync'"
# signed by a key that is not the chain's config key: refused, the programme in use stays
head -c 32 /dev/urandom >"$work/other.key"
chmod 600 "$work/other.key"
sed 's/"welcome": { "points": 50 }/"welcome": { "points": 5 }/' "$src/board/programme.json" \
	>"$work/programme5.json"
"$server" config --db "$db" --programme "$work/programme5.json" --sign-key "$work/other.key"
sync_ok T2 "T2 syncs past a programme of another key"
check_true "T2 refuses it" grep -q "programme refused: signed by another key" "$work/T2.sync"
check_true "and its programme file stays" cmp -s "$work/programme70.json" "$work/T2/programme.json"
# a restart keeps the server's programme
daemon_pid=${pid_of[T2]}
stop_daemon
start_daemon "$work/T2"
pid_of[T2]=$daemon_pid
daemon_pid=
check_true "T2 starts with the server's programme" grep -q "programme: the server's, issued at" "$work/T2/loyaltyd.log"
sale_tap T2 4,00 04F1F2F3F4F5F6 >"$work/new70b.json"
check "after the restart a new card still gets 70" 70 \
	"$(q T2 "SELECT points FROM events WHERE rule = 'welcome' ORDER BY seq DESC LIMIT 1")"

finish
