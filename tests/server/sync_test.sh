#!/usr/bin/env bash
# server.sync: push and pull with loyalty-server over loopback TLS, curl as three terminals:
# exactly-once (a retried batch is answered "duplicate" and books nothing twice), the fold of
# three terminals' events into balances, the coupon double redemption, negative balances and
# budgets flagged, pull pages, tombstones and revoked keys.
source "$(dirname "$0")/lib.sh"

A=7K3M9QZX2H4P
B=AAAABBBBCCCC
C=0123456789AB
start_server --budget-pts 200 --member-cap-pts 150

for t in T1 T2 T3; do
	check "registration of $t gives a client certificate of the chain's CA" register $t
done
check "the server's time" eval 'call /v1/time; [ "$status" = 200 ] && [ -n "$(field server_time_us)" ]'

# --- a push and a pull
b1=$(batch T1 earn:$A:12:1234 earn:$A:50:5000)
push T1 "$b1"
check "push: 200, both accepted, acked up to seq 2" \
	eval '[ "$status" = 200 ] && [ "$(field accepted)" = 2 ] && [ "$(field acked_seq)" = 2 ] && [ "$(field rejected)" = 0 ]'
check "push: a per-event answer for each" eval '[ "$(grep -o "\"status\":\"accepted\"" <<<"$body" | wc -l)" = 2 ]'
as T1 '/v1/changes?since=0'
check "pull: the member's balance and tier" \
	eval 'grep -q "\"type\":\"member\",\"card_code\":\"$A\",\"balance_pts\":62,\"tier\":\"Silver\"" <<<"$body"'
check "pull: the terminals' public keys" \
	eval '[ "$(grep -o "\"type\":\"terminal_key\"" <<<"$body" | wc -l)" = 3 ]'
check "pull: today's offline budget" \
	eval 'grep -q "\"budget\":{\"day_start_us\":[0-9]*,\"day_end_us\":[0-9]*,\"terminal_pts\":200,\"member_cap_pts\":150" <<<"$body"'
check "pull: integers written exactly (no exponent, no fraction)" eval '! grep -q ":-\?[0-9]*[eE.]" <<<"$body"'
cursor=$(field cursor)

# --- exactly once
push T1 "$b1"
check "retried batch: every event a duplicate, none accepted, same ack" \
	eval '[ "$status" = 200 ] && [ "$(field duplicates)" = 2 ] && [ "$(field accepted)" = 0 ] && [ "$(field acked_seq)" = 2 ]'
check "retried batch: nothing booked twice" eval '[ "$(stored_events)" = 2 ] && [ "$(balance $A)" = 62 ]'
b2=$(batch T1 earn:$A:8:800 earn:$B:20:2000)
# the retry of a batch whose answer was lost, with the events that came after it
sed -e 's/\]}$/,/' "$b1" >"$work/overlap.json"
sed -e 's/^{"terminal_id":"T1","events":\[//' "$b2" >>"$work/overlap.json"
push T1 "$work/overlap.json"
check "overlapping retry: 2 duplicates, 2 accepted, acked up to 4" \
	eval '[ "$(field duplicates)" = 2 ] && [ "$(field accepted)" = 2 ] && [ "$(field acked_seq)" = 4 ]'
push T1 "$b2"
check "and again: all duplicates" eval '[ "$(field duplicates)" = 2 ] && [ "$(field accepted)" = 0 ]'

# --- three terminals fold to the right balances
push T2 "$(batch T2 earn:$A:100:10000 earn:$B:30:3000 redeem:$A:-40:400 earn:-:5:500)"
check "T2 accepted" eval '[ "$(field accepted)" = 4 ]'
push T3 "$(batch T3 earn:$B:7:700 earn:$C:1:100 bonus:$C:50:0)"
check "T3 accepted" eval '[ "$(field accepted)" = 3 ]'
check "balances are the fold of all terminals' events" \
	eval '[ "$(balance $A)" = $((12 + 50 + 8 + 100 - 40)) ] && [ "$(balance $B)" = $((20 + 30 + 7)) ] && [ "$(balance $C)" = 51 ]'
check "every event stored once" eval '[ "$(stored_events)" = 11 ]'
# the same events pushed again in between change nothing
push T2 "$b2"
check "T2 cannot push T1's events (foreign terminal)" eval '[ "$status" = 403 ] && [ "$(field code)" = foreign_terminal ]'
check "and nothing changed" eval '[ "$(stored_events)" = 11 ] && [ "$(balance $A)" = 130 ]'

# --- the same coupon redeemed at two terminals: the first wins, the second is booked and flagged
push T2 "$(batch T2 coupon_use:$A:0:500:C-1)"
check "first use of coupon C-1 accepted without a flag" \
	eval '[ "$(field accepted)" = 1 ] && ! grep -q flags <<<"$body"'
push T3 "$(batch T3 coupon_use:$A:0:500:C-1)"
check "second use of C-1 at another terminal is booked and flagged" \
	eval '[ "$(field accepted)" = 1 ] && grep -q "\"flags\":\[\"coupon_conflict\"\]" <<<"$body"'
check "the conflict is in the owner's flags, as an overdraw of T3" \
	eval '"$server" flags --db "$db" | grep "\"code\":\"coupon_conflict\"" | grep -q "\"terminal_id\":\"T3\",\"card_code\":\"$A\",\"amount\":500"'
check "only one conflict" eval '[ "$("$server" flags --db "$db" | grep -c coupon_conflict)" = 1 ]'
as T3 "/v1/changes?since=$cursor"
check "T3's budget shows the overdraw" eval 'grep -q "\"coupon_overdraw_gr\":500" <<<"$body"'
as T2 "/v1/changes?since=$cursor"
check "T2's budget does not" eval 'grep -q "\"coupon_overdraw_gr\":0" <<<"$body" && grep -q "\"redeemed_pts\":40" <<<"$body"'

# --- negative balance, terminal budget and member cap
push T3 "$(batch T3 redeem:$B:-250:2500)"
check "a redemption past the balance, the budget and the cap is booked and flagged thrice" \
	eval 'grep -q "\"flags\":\[\"budget_exceeded\",\"member_cap_exceeded\",\"negative_balance\"\]" <<<"$body"'
check "the negative balance is the fold" eval '[ "$(balance $B)" = $((57 - 250)) ]'
check "the flags name the amounts" \
	eval '"$server" flags --db "$db" | grep -q "\"code\":\"negative_balance\",.*\"amount\":-193" &&
	      "$server" flags --db "$db" | grep -q "\"code\":\"member_cap_exceeded\",.*\"amount\":100"'

# --- pull in pages, tombstones, revoked keys
as T1 '/v1/changes?since=0&limit=2'
check "a page of 2 changes with more to come" \
	eval '[ "$(grep -o "\"cursor\":[0-9]*," <<<"$body" | wc -l)" -ge 2 ] && [ "$(field more)" = true ]'
page_cursor=$(grep -o '"cursor":[0-9]*,"more"' <<<"$body" | sed 's/[^0-9]//g')
as T1 "/v1/changes?since=$page_cursor&limit=500"
check "the next page goes on after it" eval '[ "$(field more)" = false ] && [ "$(field cursor)" -gt "$page_cursor" ]'
last=$(grep -o '"cursor":[0-9]*,"more"' <<<"$body" | sed 's/[^0-9]//g')
check "erase a member" "$server" erase --db "$db" --card $C
check "revoke a terminal" "$server" revoke --db "$db" --terminal T3
as T1 "/v1/changes?since=$last"
check "the erasure reaches terminals as a tombstone" \
	eval 'grep -q "\"type\":\"tombstone\",\"card_code\":\"$C\"" <<<"$body"'
check "the revoked key reaches terminals" eval 'grep -q "\"type\":\"revoked_key\",\"terminal_id\":\"T3\"" <<<"$body"'
check "the erased member has no balance any more" eval '[ -z "$(balance $C)" ]'
push T3 "$(batch T3 earn:$A:1:100)"
check "a revoked terminal is refused" eval '[ "$status" = 403 ] && [ "$(field code)" = terminal_revoked ]'
as T3 /v1/changes
check "also for pulls" eval '[ "$status" = 403 ]'

# --- a lost card
check "revoke a card" "$server" revoke-card --db "$db" --card $B
as T1 "/v1/changes?since=$last"
check "the revoked card reaches terminals" eval 'grep -q "\"type\":\"revoked_card\",\"card_code\":\"$B\"" <<<"$body"'
push T2 "$(batch T2 earn:$B:3:300)"
check "its later use is booked and flagged (the balance is still negative, too)" \
	eval '[ "$(field accepted)" = 1 ] && grep -q "\"flags\":\[\"revoked_card\"," <<<"$body"'

# --- programme ids are UTF-8 text: a donation to a cause with a Polish name
before=$(balance $A)
push T1 "$(batch T1 "donate:$A:-5:0:Schronisko dla psów")"
check "an event whose ref is UTF-8 with spaces is accepted" \
	eval '[ "$(field accepted)" = 1 ] && [ "$(balance $A)" = $((before - 5)) ]'

# --- the programme, signed with the config key the registration named
check "a bad programme is not published" \
	eval '! "$server" config --db "$db" --programme "$src/README.md" --sign-key "$work/ca/config.key" 2>/dev/null'
check "publish the programme" \
	"$server" config --db "$db" --programme "$src/board/programme.json" --sign-key "$work/ca/config.key"
as T1 "/v1/changes?since=$last"
config=$(grep -o '"type":"config",[^}]*' <<<"$body" || true)
get() { grep -o "\"$1\":\"\?[^\",]*" <<<"$config" | sed "s/^\"$1\":\"\?//"; }
check "the programme reaches terminals" eval '[ -n "$config" ]'
check "signed by the key the registration named" eval '[ "$(get public_key)" = "$(cat "$work/T1.config_key")" ]'
get programme_b64 | base64 -d >"$work/programme.bin"
check "the programme's bytes as published" cmp -s "$work/programme.bin" "$src/board/programme.json"
hex2bin() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }
{
	printf 'loyalty/config'
	hex2bin "$(printf '%016x' "$(get issued_us)")"
	cat "$work/programme.bin"
} >"$work/config.msg"
hex2bin "$(get signature)" >"$work/config.sig"
{
	echo "-----BEGIN PUBLIC KEY-----"
	hex2bin "302a300506032b6570032100$(cat "$work/T1.config_key")" | base64
	echo "-----END PUBLIC KEY-----"
} >"$work/config.pub"
check "the signature verifies (openssl)" eval 'openssl pkeyutl -verify -pubin -inkey "$work/config.pub" -rawin \
	-in "$work/config.msg" -sigfile "$work/config.sig" >/dev/null'
sed -i 's/^loyalty\/config/loyalty\/CONFIG/' "$work/config.msg"
check "and not over other bytes" eval '! openssl pkeyutl -verify -pubin -inkey "$work/config.pub" -rawin \
	-in "$work/config.msg" -sigfile "$work/config.sig" >/dev/null 2>&1'

# --- the store survives a restart
stop_server
start_server
push T1 "$b2"
check "after a restart, a retried batch is still all duplicates" \
	eval '[ "$(field duplicates)" = 2 ] && [ "$(field acked_seq)" = 5 ]'
check "and the events stored are the same" eval '[ "$(stored_events)" = 16 ]'

# --- a store file of schema version 1 (before first names) is brought up to 2 at open
v1=$work/v1.sqlite
sqlite3 "$v1" "CREATE TABLE members(card_code TEXT PRIMARY KEY NOT NULL, balance_pts INTEGER NOT NULL,
	events INTEGER NOT NULL, tier TEXT NOT NULL, updated_us INTEGER NOT NULL);
	CREATE TABLE consents(card_code TEXT PRIMARY KEY NOT NULL, marketing INTEGER NOT NULL,
	first_name INTEGER NOT NULL, updated_us INTEGER NOT NULL) WITHOUT ROWID;
	INSERT INTO members VALUES('7K3M9QZX2H4P', 62, 2, 'Silver', 1);
	INSERT INTO consents VALUES('7K3M9QZX2H4P', 1, 1, 1);
	PRAGMA user_version=1;"
check "a version 1 store opens, its members kept" \
	eval '"$server" balances --db "$v1" | grep -q "\"card_code\":\"7K3M9QZX2H4P\",\"balance_pts\":62"'
check "and is version 2, with the first name columns" \
	eval '[ "$(sqlite3 "$v1" "PRAGMA user_version; SELECT COUNT(*) FROM pragma_table_info('"'members'"') WHERE name = '"'first_name'"'; SELECT COUNT(*) FROM pragma_table_info('"'consents'"') WHERE name = '"'name'"'" | tr "\n" " ")" = "2 1 1 " ]'
sqlite3 "$v1" "PRAGMA user_version=3"
check "a store of a newer server is refused with the reason" \
	eval '! "$server" balances --db "$v1" 2>"$work/v3.err" && grep -q "made by a newer loyalty-server" "$work/v3.err"'
finish
