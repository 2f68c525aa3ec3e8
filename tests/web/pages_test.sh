#!/usr/bin/env bash
# web.pages: the customer's pages of loyalty-server (docs/card-page.md) over loopback, curl as
# the phone: the card page from a token signed by a registered terminal's key (balance, history,
# headers, size, languages), tokens mutated, truncated, expired, foreign and of a revoked
# terminal refused with their status and nothing of the member; a claim once only, with CSRF,
# Origin and rate limits; the survey once per receipt and the NPS; consents, the data export and
# erasure reaching a terminal as a tombstone.
source "$1/tests/server/lib.sh"

tok=$bin/tests/web/web_token
A=7K3M9QZX2H4P
B=AAAABBBBCCCC
U=0123456789AB # known to no terminal
start_server --pages-listen 127.0.0.1:0 --pages-port-file "$work/pages.port" \
	--store-name 'Piekarnia <b>"Pod Lipą"</b>' --pages-rate-limit 40
pages=http://127.0.0.1:$(cat "$work/pages.port")

# page [curl options] PATH: the answer in $body, status in $status, headers in $work/headers
page() {
	local path=${*: -1}
	status=$(curl -sS -o "$work/body" -D "$work/headers" -w '%{http_code}' \
		"${@:1:$#-1}" "$pages$path") || status=curl$?
	body=$(cat "$work/body" 2>/dev/null || true)
}
has() { grep -qF -- "$1" <<<"$body"; }
header() { grep -i "^$1:" "$work/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
seed() { openssl pkey -in "$work/$1.key" -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n'; }
csrf() { grep -o 'name="csrf" value="[^"]*"' <<<"$body" | head -1 | sed 's/.*value="//; s/"$//'; }
# post PATH FIELDS [ORIGIN [SEC_FETCH_SITE]]: a form as the page sends it
post() {
	page -H 'Content-Type: application/x-www-form-urlencoded' -H "Origin: ${3:-$pages}" \
		-H "Sec-Fetch-Site: ${4:-same-origin}" --data-raw "$2" "$1"
}

for t in T1 T2 T3; do
	check "registration of $t" register $t
done
S1=$(seed T1)
S3=$(seed T3)
push T1 "$(batch T1 earn:$A:12:1234 earn:$A:50:5000 coupon_issue:$A:0:0:CPN0000001 earn:-:7:750 earn:-:3:300)"
check "T1's sales are on the server" eval '[ "$status" = 200 ] && [ "$(field accepted)" = 5 ]'
push T2 "$(batch T2 earn:$B:20:2000)"
push T3 "$(batch T3 earn:$B:30:3000)"

# --- the card page
card=$("$tok" "$S1" card $A)
page "/C/$card"
check "card page: 200" eval '[ "$status" = 200 ]'
check "card page: the balance the server folded" has 'data-points="62"'
check "card page: the card code in groups" has '7K3M 9QZX 2H4P'
check "card page: history with receipt numbers" eval 'has T1-000001 && has T1-000002'
check "card page: the coupon" has CPN0000001
check "card page: the tier" has 'id="tier"'
check "card page: the survey for the latest purchase" eval 'has "name=\"receipt\" value=\"T1-000002\""'
check "card page: no other member's data, no anonymous sale" eval '! has $B && ! has T1-000004'
check "card page: under 50 KB" eval '[ ${#body} -lt 51200 ]'
check "card page: the store name escaped" eval 'has "Piekarnia &lt;b&gt;&quot;Pod Lipą&quot;&lt;/b&gt;" && ! has "<b>\"Pod"'
check "card page: no script, no third-party address" \
	eval '! has "<script" && ! grep -qE "(src|href)=\"(https?:)?//" <<<"$body"'
check "card page: CSP default-src none, no framing" \
	eval 'header Content-Security-Policy | grep -q "default-src '"'"'none'"'"'" && header Content-Security-Policy | grep -q "frame-ancestors '"'"'none'"'"'"'
check "card page: Referrer-Policy no-referrer" eval '[ "$(header Referrer-Policy)" = no-referrer ]'
check "card page: nosniff, no-store" \
	eval '[ "$(header X-Content-Type-Options)" = nosniff ] && [ "$(header Cache-Control)" = no-store ]'
check "card page: sets no cookie" eval '! grep -qi "^set-cookie" "$work/headers"'
check "card page: Polish by default" eval 'has "Saldo punktów" && has "<html lang=\"pl\""'
page -H 'Accept-Language: en-GB,en;q=0.9,pl;q=0.5' "/C/$card"
check "card page: English by Accept-Language" eval 'has "Points balance" && [ "$(header Content-Language)" = en ]'
page -H 'Accept-Language: en' "/C/$card?lang=pl"
check "card page: ?lang=pl wins over the browser" has "Saldo punktów"
page "/c/$card?lang=en"
check "/c/ alias with ?lang=en" eval '[ "$status" = 200 ] && has "Points balance"'
lower=$(tr A-Z a-z <<<"$card")
page "/c/$lower"
check "a lowercase token is redirected to its canonical capitals" \
	eval '[ "$status" = 308 ] && [ "$(header Location)" = "/C/$card" ]'

# a genuine token for a card the server has no data of yet
page "/C/$("$tok" "$S1" card $U)"
check "card not synced yet: 200 and says so" eval '[ "$status" = 200 ] && has "id=\"not-synced\"" && has "0123 4567 89AB" && has T1'
check "card not synced yet: no balance" eval '! has "data-points"'

# --- refused tokens: status and nothing of the member
leak_free() { ! has $A && ! has "7K3M 9QZX" && ! has 'data-points' && ! has T1-0000 && ! has "$card"; }
mutate() { # flip the character at position $2 of token $1 to another of the alphabet
	local t=$1 i=$2 c=${1:$2:1} n
	n=$([ "$c" = A ] && echo B || echo A)
	echo "${t:0:$i}$n${t:$((i + 1))}"
}
for i in 0 1 3 8 13 20 25 40 70 100 134; do
	page "/C/$(mutate "$card" $i)"
	check "token mutated at $i: refused ($status), nothing leaked" \
		eval '[[ "$status" =~ ^(400|403)$ ]] && leak_free'
done
page "/C/${card:0:100}"
check "truncated token: 400, nothing leaked" eval '[ "$status" = 400 ] && leak_free'
page "/C/${card}AB"
check "token with extra characters: 400" eval '[ "$status" = 400 ] && leak_free'
page "/C/$("$tok" "$S1" card $A 1704067200 1706745600)"
check "expired token: 410, nothing leaked" eval '[ "$status" = 410 ] && leak_free'
openssl genpkey -algorithm ED25519 -out "$work/X.key" 2>/dev/null
page "/C/$("$tok" "$(seed X)" card $A)"
check "token of a key the server does not know: 403, nothing leaked" eval '[ "$status" = 403 ] && leak_free'
t3=$("$tok" "$S3" card $A)
page "/C/$t3"
check "token of terminal T3 before its revocation: 200" eval '[ "$status" = 200 ]'
"$server" revoke --db "$db" --terminal T3
page "/C/$t3"
check "the same token once T3 is revoked (verified before): 403, nothing leaked" \
	eval '[ "$status" = 403 ] && leak_free'
page "/C/$("$tok" "$S3" card $A)"
check "token of a revoked terminal: 403, nothing leaked" eval '[ "$status" = 403 ] && leak_free'
page "/C/$("$tok" "$S1" coupon CPN0000001)"
check "coupon token: its page" eval '[ "$status" = 200 ] && has CPN0000001 && leak_free'
page /nothing
check "another path: 404" eval '[ "$status" = 404 ]'
page "/C/$card/other"
check "another path under a token: 404, nothing leaked" eval '[ "$status" = 404 ] && leak_free'
page -X PUT "/C/$card"
check "PUT: 405" eval '[ "$status" = 405 ]'
page "/C/$(mutate "$card" 50)/data.json"
check "data export of a mutated token: refused, nothing leaked" eval '[[ "$status" =~ ^(400|403)$ ]] && leak_free'

# --- claim the points of a receipt without a card
claim=$("$tok" "$S1" claim T1 4 7 750)
page "/C/$claim"
check "claim page: the receipt's points and a form" \
	eval '[ "$status" = 200 ] && has "data-points=\"7\"" && has T1-000004 && has "name=\"csrf\""'
c=$(csrf)
post "/C/$claim" "action=claim&card=$A"
check "claim without the CSRF token: 403, nothing booked" eval '[ "$status" = 403 ] && [ "$(balance $A)" = 62 ]'
post "/C/$claim" "csrf=$c&action=claim&card=$A" http://evil.example
check "claim from another origin: 403" eval '[ "$status" = 403 ] && [ "$(balance $A)" = 62 ]'
post "/C/$claim" "csrf=$c&action=claim&card=$A" "$pages" cross-site
check "claim with Sec-Fetch-Site cross-site: 403" eval '[ "$status" = 403 ] && [ "$(balance $A)" = 62 ]'
post "/C/$claim" "csrf=$c&action=claim&card=ZZZZZZZZZZZZ"
check "claim to an unknown card: 422, nothing booked" eval '[ "$status" = 422 ] && has "id=\"error\""'
post "/C/$claim" "csrf=$c&action=claim&card=7k3m-9qzx-2h4p"
check "claim to a typed card code: 200, points added" eval '[ "$status" = 200 ] && [ "$(balance $A)" = 69 ]'
post "/C/$claim" "csrf=$c&action=claim&card=$B"
check "the same receipt again, to another card: 409, already claimed" \
	eval '[ "$status" = 409 ] && has "id=\"already\"" && [ "$(balance $B)" = 50 ] && [ "$(balance $A)" = 69 ]'
page "/C/$claim"
check "claim page after the claim: already claimed, no form, no card" \
	eval 'has "id=\"already\"" && ! has "name=\"csrf\"" && ! has $A'
claim2=$("$tok" "$S1" claim T1 5 3 300)
page "/C/$claim2"
post "/C/$claim2" "csrf=$(csrf)&action=claim&card=new"
check "claim to a new card: 201, its card page with the welcome bonus" \
	eval '[ "$status" = 201 ] && has "data-points=\"53\"" && has "id=\"notice\""'
newcode=$(grep -o 'id="card-code">[^<]*' <<<"$body" | sed 's/.*>//; s/ //g')
check "the new card is a member of the server" eval '[ "$(balance "$newcode")" = 53 ]'
post "/C/$("$tok" "$S1" claim T1 1 12 1234)" "csrf=x&action=claim&card=new"
check "a stale CSRF token: 403" eval '[ "$status" = 403 ]'
claim1=$("$tok" "$S1" claim T1 1 12 1234)
page "/C/$claim1"
post "/C/$claim1" "csrf=$(csrf)&action=claim&card=new"
check "a receipt booked to a card cannot be claimed: 409" eval '[ "$status" = 409 ]'
post "/C/$claim" "csrf=$c&action=claim&card=$A&card=$B"
check "a field twice: 400" eval '[ "$status" = 400 ]'

# --- the survey, once per receipt, and the NPS
page "/C/$card"
c=$(csrf)
post "/C/$card" "csrf=$c&action=survey&receipt=T1-000002&score=9&comment=Pyszne+%3Cb%3Echleby%3C%2Fb%3E"
check "survey: 200, thanks" eval '[ "$status" = 200 ] && has "id=\"notice\""'
post "/C/$card" "csrf=$c&action=survey&receipt=T1-000002&score=3"
check "survey again for the same receipt: 409" eval '[ "$status" = 409 ]'
post "/C/$card" "csrf=$c&action=survey&receipt=T2-000001&score=0"
check "survey for another card's receipt: 422" eval '[ "$status" = 422 ]'
post "/C/$card" "csrf=$c&action=survey&receipt=T1-000001&score=11"
check "survey with a score of 11: 400" eval '[ "$status" = 400 ]'
post "/C/$card" "csrf=$c&action=survey&receipt=T1-000001&score=4"
check "NPS: one promoter, one detractor" \
	eval '[ "$("$server" nps --db "$db")" = "{\"answers\":2,\"promoters\":1,\"passives\":0,\"detractors\":1,\"nps\":0}" ]'

# --- consents, the data export, erasure
post "/C/$card" "csrf=$c&action=consent&marketing=on"
check "consents saved" eval '[ "$status" = 200 ] && has "name=\"marketing\" checked"'
# the first name the tills may show: kept only with that consent, pulled by the terminals
as T1 '/v1/changes?since=0'
cursor=$(field cursor)
post "/C/$card" "csrf=$c&action=consent&marketing=on&first_name=on&name="
check "first name consent without a name: 400, not saved" \
	eval '[ "$status" = 400 ] && ! has "name=\"first_name\" checked"'
post "/C/$card" "csrf=$c&action=consent&marketing=on&first_name=on&name=Anna%E2%80%AEx"
check "a name with a bidirectional control: 400, not saved" \
	eval '[ "$status" = 400 ] && ! has "name=\"first_name\" checked"'
post "/C/$card" "csrf=$c&action=consent&marketing=on&first_name=on&name=+%C5%81ucja++Maria+"
check "first name saved in its clean form, shown in the form" \
	eval '[ "$status" = 200 ] && has "name=\"first_name\" checked" && has "name=\"name\" maxlength=\"24\" autocomplete=\"given-name\" value=\"Łucja Maria\""'
as T1 "/v1/changes?since=$cursor"
check "a terminal's next pull has the member with the first name" \
	eval 'grep -q "\"type\":\"member\",\"card_code\":\"$A\".*\"first_name\":\"Łucja Maria\"" <<<"$body"'
cursor=$(field cursor)
page "/C/$card/data.json"
check "data export: the first name with its consent" has '"first_name":true,"name":"Łucja Maria"'
post "/C/$card" "csrf=$c&action=consent&marketing=on&name=Anna"
check "first name consent withdrawn: the name is not kept" \
	eval '[ "$status" = 200 ] && ! has "name=\"first_name\" checked" && ! has "Anna\"" && ! has "Łucja"'
as T1 "/v1/changes?since=$cursor"
check "a terminal's next pull has the member without a first name" \
	eval 'grep -q "\"type\":\"member\",\"card_code\":\"$A\"" <<<"$body" && ! grep -q first_name <<<"$body"'
check "the server's database holds no first name any more" \
	eval '! sqlite3 "$db" "SELECT * FROM consents; SELECT * FROM members; SELECT json FROM changes" | grep -q -e Łucja -e Anna'
check "nor do its files, byte for byte (deleted rows zeroed, the WAL truncated)" \
	eval '! cat "$db" "$db-wal" 2>/dev/null | grep -qa Łucja'
post "/C/$card" "csrf=$c&action=consent&marketing=on&first_name=on&name=%C5%81ucja"
check "first name given again" eval '[ "$status" = 200 ] && has "value=\"Łucja\""'
page "/C/$card/data.json"
check "data export: JSON attachment with the member's events, claims, surveys, consents" \
	eval '[ "$status" = 200 ] && header Content-Type | grep -q application/json && header Content-Disposition | grep -q attachment && has "\"card_code\":\"$A\"" && has T1-000002 && has "\"marketing\":true" && has "Pyszne <b>chleby</b>" && ! has $B'
as T1 '/v1/changes?since=0'
cursor=$(field cursor)
post "/C/$card" "csrf=$c&action=erase"
check "erasure without the confirmation: 400, nothing erased" eval '[ "$status" = 400 ] && [ -n "$(balance $A)" ]'
post "/C/$card" "csrf=$c&action=erase&confirm=on"
check "erasure: 200, the member is gone from the server" eval '[ "$status" = 200 ] && [ -z "$(balance $A)" ]'
as T1 "/v1/changes?since=$cursor"
check "erasure: a terminal's next pull has the tombstone" \
	eval 'grep -q "\"type\":\"tombstone\",\"card_code\":\"$A\"" <<<"$body"'
check "erasure: the first name is gone from the server's database" \
	eval '! sqlite3 "$db" "SELECT * FROM consents; SELECT * FROM members; SELECT json FROM changes" | grep -q Łucja'
check "erasure: and from its files, byte for byte" \
	eval '! cat "$db" "$db-wal" 2>/dev/null | grep -qa Łucja'
page "/C/$card"
check "the erased card's page: 410, nothing of it" eval '[ "$status" = 410 ] && ! has data-points && ! has T1-000001'

# --- stamps, the next points expiry and why these points, from the events a terminal pushed
# (web_events: KIND:CARD:POINTS:AMOUNT:RULE:REF:ITEMS:PROGRESS:DAYS_AGO)
C=CCCCDDDDEEEE
"$bin/tests/web/web_events" "$work/T2.chain" T2 \
	earn:$C:25:2000:earn:-:0:0:300 bonus:$C:50:0:welcome:-:0:0:300 \
	stamp:$C:0:0:stamps-coffee:stamps-coffee:3:3:300 \
	earn:$C:12:1234:earn:-:0:0:100 stamp:$C:0:450:stamps-coffee:stamps-coffee:8:1:100 \
	redeem:$C:-30:300:redemption:-:0:0:100 \
	earn:$C:7:750:earn:-:0:0:10 stamp:$C:0:0:stamps-coffee:stamps-coffee:2:3:10 >"$work/c.json"
push T2 "$work/c.json"
check "T2's programme events are on the server" eval '[ "$(field accepted)" = 8 ] && [ "$(balance $C)" = 64 ]'
page "/C/$("$tok" "$S1" card $C)"
check "stamps: the till's count after the latest stamp event, of the programme's 10" \
	eval 'has "data-card=\"stamps-coffee\" data-stamps=\"3\"" && has "3 z 10"'
# 30 points redeemed 100 days ago took the oldest first: the 25 of the first sale and 5 of its
# welcome bonus, so the 45 left of the bonus expire first, 12 months after they were earned
t=$(($(date +%s) - 300 * 86400))
exp=$(TZ=Europe/Warsaw date -d "$(date -u -d "@$t" '+%Y-%m-%d %H:%M:%S') UTC +12 months" +%d.%m.%Y)
check "next expiry: 45 points on $exp" \
	eval 'has "id=\"expiry-points\" data-points=\"45\"" && has "id=\"expiry-date\">$exp<"'
check "why: the base per full złoty and the extra of tier and offers with the multiplier" \
	eval 'has "20 pkt: 1 pkt za każde pełne 1,00 zł + 5 pkt z poziomu i promocji (razem ×1,25)"'
check "why: the rule of a bonus, the stamps counted and the card's count, the redemption" \
	eval 'has "data-rule=\"welcome\"" && has "stamps-coffee: +8 szt., na karcie 1, gratis za 4,50 zł" && has "redemption: rabat 3,00 zł"'
check "why: a sale's events share its receipt number" eval '[ "$(grep -o "T2-000002<" <<<"$body" | wc -l)" = 3 ]'
page -H 'Accept-Language: en' "/C/$("$tok" "$S1" card $C)"
check "stamps, expiry and why in English" \
	eval 'has "3 of 10" && has "points expire on" && has "20 points: 1 point per full 1,00 zł"'

# --- a new card's first purchase: its receipt number names the enrol event, the earn follows
D=DDDDEEEEFFFF
first=$(($(cut -d' ' -f1 "$work/T2.chain") + 1))
"$bin/tests/web/web_events" "$work/T2.chain" T2 enrol:$D:0:0:-:-:0:0:1 \
	earn:$D:15:1500:earn:-:0:0:1 bonus:$D:50:0:welcome:-:0:0:1 >"$work/d.json"
push T2 "$work/d.json"
dcard=$("$tok" "$S1" card $D)
page "/C/$dcard"
receipt_d=T2-$(printf '%06d' "$first")
check "card page: the survey for a new card's first purchase" eval 'has "name=\"receipt\" value=\"$receipt_d\""'
c=$(csrf)
post "/C/$dcard" "csrf=$c&action=survey&receipt=$receipt_d&score=10"
check "survey of a new card's first purchase: 200, the bonus booked" \
	eval '[ "$status" = 200 ] && [ "$(balance $D)" = 85 ]'

# --- rate limit: form posts per client address
for _ in $(seq 45); do
	post "/C/$claim" "csrf=$c&action=claim&card=$B"
	[ "$status" = 429 ] && break
done
check "too many form posts from one address: 429" eval '[ "$status" = 429 ]'

finish
