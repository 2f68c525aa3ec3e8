#!/usr/bin/env bash
# server.security: what loyalty-server refuses, each with a clear error and nothing stored: a
# server certificate from another CA, client certificates from another CA, expired, of an
# unknown terminal or with another key than the registered one, no certificate, a foreign
# terminal, replayed requests (registration, batches), a tampered event, oversized bodies,
# malformed JSON and bad fields.
source "$(dirname "$0")/lib.sh"

A=7K3M9QZX2H4P
start_server
check "register T1" register T1
check "register T2" register T2

# --- trust: the server's certificate is checked against the chain's CA only
"$src/tools/dev-ca" "$work/other" --terminal T1 >/dev/null
status=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$work/other/ca.pem" "$base/v1/time" 2>"$work/err") || status=curl$?
check "a client trusting another CA refuses the server (curl: $status)" eval '[ "$status" = curl60 ]'

good=$(batch T1 earn:$A:12:1234)
# client certificates
call --cert "$work/other/T1.pem" --key "$work/other/T1.key" -H 'Content-Type: application/json' --data-binary "@$good" /v1/events
check "a client certificate of another CA: 401 client_certificate_untrusted" \
	eval '[ "$status" = 401 ] && [ "$(field code)" = client_certificate_untrusted ]'
call -H 'Content-Type: application/json' --data-binary "@$good" /v1/events
check "no client certificate: 401 client_certificate_required" \
	eval '[ "$status" = 401 ] && [ "$(field code)" = client_certificate_required ]'
openssl genpkey -algorithm ED25519 -out "$work/old.key" 2>/dev/null
openssl req -new -key "$work/old.key" -subj "/CN=T1" -out "$work/old.csr" 2>/dev/null
openssl x509 -req -in "$work/old.csr" -CA "$work/ca/ca.pem" -CAkey "$work/ca/ca.key" -days 0 \
	-out "$work/old.pem" 2>/dev/null
sleep 1.1
call --cert "$work/old.pem" --key "$work/old.key" --data-binary "@$good" /v1/events
check "an expired client certificate: 401 client_certificate_untrusted ($(field message))" \
	eval '[ "$status" = 401 ] && [ "$(field code)" = client_certificate_untrusted ] && grep -qi expired <<<"$body"'
"$src/tools/dev-ca" "$work/ca" --terminal T9 --terminal T2 >/dev/null
call --cert "$work/ca/T9.pem" --key "$work/ca/T9.key" --data-binary "@$good" /v1/events
check "a certificate of the chain's CA for a terminal never registered: 403 unknown_terminal" \
	eval '[ "$status" = 403 ] && [ "$(field code)" = unknown_terminal ]'
call --cert "$work/ca/T2.pem" --key "$work/ca/T2.key" --data-binary "@$good" /v1/events
check "a certificate for T2 with another key than T2 registered: 403 key_mismatch" \
	eval '[ "$status" = 403 ] && [ "$(field code)" = key_mismatch ]'
"$server" enrol --db "$db" --terminal T5 >/dev/null
call --cert "$work/ca/T9.pem" --key "$work/ca/T9.key" /v1/changes
check "pulls need the same identity" eval '[ "$status" = 403 ]'

# --- foreign terminal
push T2 "$good"
check "T2 pushing T1's batch: 403 foreign_terminal" eval '[ "$status" = 403 ] && [ "$(field code)" = foreign_terminal ]'
sed 's/^{"terminal_id":"T1"/{"terminal_id":"T2"/' "$good" >"$work/mixed.json"
push T2 "$work/mixed.json"
check "T2's batch holding T1's event: that event rejected as foreign_terminal" \
	eval '[ "$status" = 200 ] && [ "$(field accepted)" = 0 ] && grep -q "\"code\":\"foreign_terminal\"" <<<"$body"'
check "nothing stored so far" eval '[ "$(stored_events)" = 0 ]'

# --- a tampered event
sed 's/"points":12,/"points":9012,/' "$good" >"$work/tampered.json"
push T1 "$work/tampered.json"
check "a tampered event: rejected as hash_mismatch" \
	eval '[ "$status" = 200 ] && [ "$(field status)" = rejected ] && [ "$(field code)" = hash_mismatch ] && [ "$(field acked_seq)" = 0 ]'
check "nothing stored" eval '[ "$(stored_events)" = 0 ] && [ -z "$(balance $A)" ]'
next=$(batch T1 earn:$A:1:100 earn:$A:2:200)
sed 's/"amount_gr":100,/"amount_gr":1,/' "$next" >"$work/tampered2.json"
sed -e 's/\]}$/,/' "$good" >"$work/chain.json"
sed -e 's/^{"terminal_id":"T1","events":\[//' "$work/tampered2.json" >>"$work/chain.json"
push T1 "$work/chain.json"
check "a batch with a tampered event in the middle: the events before it accepted, it and the rest rejected" \
	eval '[ "$(field accepted)" = 1 ] && [ "$(field rejected)" = 2 ] && [ "$(field acked_seq)" = 1 ] &&
	      grep -q "\"code\":\"hash_mismatch\".*\"code\":\"previous_rejected\"" <<<"$body"'
push T1 "$next"
check "the untampered events then follow" eval '[ "$(field accepted)" = 2 ] && [ "$(field acked_seq)" = 3 ]'
check "three events stored, balance 15" eval '[ "$(stored_events)" = 3 ] && [ "$(balance $A)" = 15 ]'
gap=$(batch T1 earn:$A:1:100 earn:$A:1:100)
sed 's/^\({"terminal_id":"T1","events":\[\){[^}]*},/\1/' "$gap" >"$work/gap.json"
push T1 "$work/gap.json"
check "a gap in the sequence: rejected as seq_gap" eval '[ "$(field code)" = seq_gap ] && [ "$(stored_events)" = 3 ]'
push T1 "$gap"
check "the whole batch then follows" eval '[ "$(field accepted)" = 2 ] && [ "$(stored_events)" = 5 ]'

# the card code is not in the hash: a member number keeps the card it first came with
swap=$(batch T1 earn:$A:1:100)
sed "s/\"card_code\":\"$A\"/\"card_code\":\"BBBBBBBBBBBB\"/" "$swap" >"$work/swap.json"
push T1 "$work/swap.json"
check "an event moving member points to another card: rejected as member_mismatch" \
	eval '[ "$(field code)" = member_mismatch ] && [ "$(stored_events)" = 5 ] && [ -z "$(balance BBBBBBBBBBBB)" ]'
push T1 "$swap"
check "the event as booked then follows" eval '[ "$(field accepted)" = 1 ] && [ "$(balance $A)" = 18 ]'

# --- replays
push T1 "$next"
check "a replayed batch: duplicates, nothing booked twice" \
	eval '[ "$(field duplicates)" = 2 ] && [ "$(stored_events)" = 6 ] && [ "$(balance $A)" = 18 ]'
code=$("$server" enrol --db "$db" --terminal T3)
openssl genpkey -algorithm ED25519 -out "$work/T3.key" 2>/dev/null
reg=$(register_body T3 "$code")
call --data-binary "$reg" /v1/register
check "registration with a fresh code: 201" eval '[ "$status" = 201 ] && [ "$(field terminal_id)" = T3 ]'
changes_before=$(sqlite3 "$db" 'SELECT max(cursor) FROM changes')
call --data-binary "$reg" /v1/register
check "the same registration again (its answer lost): a certificate for the same key, nothing else" \
	eval '[ "$status" = 201 ] && [ "$(field terminal_id)" = T3 ] &&
	      [ "$(sqlite3 "$db" "SELECT max(cursor) FROM changes")" = "$changes_before" ]'
openssl genpkey -algorithm ED25519 -out "$work/T3b.key" 2>/dev/null
call --data-binary "$(register_body T3b "$code")" /v1/register
check "the used code with another key: 409 enrolment_code_used" \
	eval '[ "$status" = 409 ] && [ "$(field code)" = enrolment_code_used ]'
"$server" revoke --db "$db" --terminal T3
call --data-binary "$reg" /v1/register
check "the old registration of a revoked terminal: 409 enrolment_code_used" \
	eval '[ "$status" = 409 ] && [ "$(field code)" = enrolment_code_used ]'
code=$("$server" enrol --db "$db" --terminal T4)
openssl genpkey -algorithm ED25519 -out "$work/T4.key" 2>/dev/null
reg=$(register_body T4 "$code")
openssl genpkey -algorithm ED25519 -out "$work/T4b.key" 2>/dev/null
other_sig=$(register_body T4b "$code" | sed 's/.*"signature":"\([0-9a-f]*\)".*/\1/')
bad_sig=$(sed "s/\"signature\":\"[0-9a-f]*\"/\"signature\":\"$other_sig\"/" <<<"$reg")
call --data-binary "$bad_sig" /v1/register
check "a registration signed by another key: 403 bad_signature" \
	eval '[ "$status" = 403 ] && [ "$(field code)" = bad_signature ]'
call --data-binary "$(register_body T4 ABCDE-ABCDE-ABCDE-ABCDE)" /v1/register
check "an unknown enrolment code: 403 enrolment_code_unknown" \
	eval '[ "$status" = 403 ] && [ "$(field code)" = enrolment_code_unknown ]'
call --data-binary "$reg" /v1/register
check "the code still works for its terminal" eval '[ "$status" = 201 ]'

# --- bodies
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$work/big.json"
push T1 "$work/big.json"
check "a body over 1 MiB: 413 body_too_large" eval '[ "$status" = 413 ] && [ "$(field code)" = body_too_large ]'
as T1 -H 'Transfer-Encoding: chunked' --data-binary "@$work/big.json" /v1/events
check "also sent in chunks, without a length: 413" eval '[ "$status" = 413 ] && [ "$(field code)" = body_too_large ]'
for bodytext in '{"terminal_id":"T1","events":[' 'not json' '[]' '{"terminal_id":"T1","events":[]} x' ''; do
	as T1 --data-binary "$bodytext" /v1/events
	check "malformed JSON '$bodytext': 400 malformed_json" \
		eval '[ "$status" = 400 ] && [ "$(field code)" = malformed_json ]'
done
fresh=$(batch T1 earn:$A:1:100)
declare -A mangle=(
	["fraction"]='s/"points":1,/"points":1.0,/'
	["exponent"]='s/"points":1,/"points":1e0,/'
	["huge integer"]='s/"points":1,/"points":9007199254740993,/'
	["unknown field"]='s/"points":1,/"points":1,"bonus":5,/'
	["repeated field"]='s/"points":1,/"points":1,"points":1,/'
	["missing field"]='s/"points":1,//'
	["string for a number"]='s/"points":1,/"points":"1",/'
	["bad event id"]='s/"event_id":"[0-9a-f]*"/"event_id":"XYZ"/'
	["bad kind"]='s/"kind":"earn"/"kind":"gift"/'
	["bad card code"]='s/"card_code":"[^"]*"/"card_code":"lowercase1234"/'
	["negative amount"]='s/"amount_gr":100,/"amount_gr":-100,/'
	["control character in a ref"]='s/"ref":""/"ref":"a\\u0001b"/'
	["bad UTF-8 in a ref"]='s/"ref":""/"ref":"\xc3\x28"/'
	["bad terminal id"]='s/^{"terminal_id":"T1"/{"terminal_id":"t-1"/'
)
for what in "${!mangle[@]}"; do
	sed "${mangle[$what]}" "$fresh" >"$work/mangled.json"
	push T1 "$work/mangled.json"
	check "$what: 400 bad_field ($(field message))" eval '[ "$status" = 400 ] && [ "$(field code)" = bad_field ]'
done
{
	printf '{"terminal_id":"T1","events":['
	for i in $(seq 1001); do
		[ "$i" = 1 ] || printf ','
		printf '{}'
	done
	printf ']}'
} >"$work/many.json"
push T1 "$work/many.json"
check "1001 events in a batch: 413 batch_too_large" eval '[ "$status" = 413 ] && [ "$(field code)" = batch_too_large ]'
as T1 '/v1/changes?since=-1'
check "a bad cursor: 400 bad_parameter" eval '[ "$status" = 400 ] && [ "$(field code)" = bad_parameter ]'
as T1 /v1/nothing
check "an unknown path: 404 not_found" eval '[ "$status" = 404 ] && [ "$(field code)" = not_found ]'
as T1 -X DELETE /v1/events
check "a wrong method: 405 method_not_allowed" eval '[ "$status" = 405 ]'
check "after all of it, still the six good events and nothing else" \
	eval '[ "$(stored_events)" = 6 ] && [ "$(balance $A)" = 18 ]'
push T1 "$fresh"
check "and the untouched batch is accepted" eval '[ "$(field accepted)" = 1 ] && [ "$(stored_events)" = 7 ]'
finish
