# tests/server/lib.sh: a loyalty-server on loopback (port chosen by the system, real TLS with a
# development CA from tools/dev-ca) and curl as the terminal. Sourced by the *_test.sh scripts
# with the source and build folders as $1 and $2.
set -euo pipefail

src=$1
bin=$2
server=$bin/tools/server/loyalty-server
events=$bin/tools/server/tests/server_events
work=$(mktemp -d /tmp/loyalty-server-test.XXXXXX)
db=$work/server.sqlite
pid=
failures=0

cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ "$failures" = 0 ]; then
		rm -rf "$work"
	else
		echo "kept $work for a look"
	fi
}
trap cleanup EXIT

ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
# check DESCRIPTION COMMAND...: the command must succeed
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
finish() {
	stop_server
	if [ "$failures" != 0 ]; then
		echo "$failures check(s) failed"
		[ -f "$work/server.log" ] && sed 's/^/server: /' "$work/server.log"
		exit 1
	fi
	echo "all checks passed"
}

"$src/tools/dev-ca" "$work/ca" >/dev/null

# start_server [serve options]: a fresh server; $port is its port
start_server() {
	rm -f "$work/port"
	"$server" serve --db "$db" --cert "$work/ca/server.pem" --key "$work/ca/server.key" \
		--ca "$work/ca/ca.pem" --ca-key "$work/ca/ca.key" --sign-key "$work/ca/config.key" \
		--port 0 --port-file "$work/port" --exit-after 280 "$@" >"$work/server.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		[ -s "$work/port" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
		sleep 0.05
	done
	port=$(cat "$work/port")
	base=https://127.0.0.1:$port
}

# stop_server: SIGTERM, and the server must stop cleanly (no sanitizer report, exit 0)
stop_server() {
	local rc=0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || rc=$?
	pid=
	if [ "$rc" != 0 ] || grep -q "Sanitizer" "$work/server.log"; then
		bad "the server stopped with status $rc"
		cat "$work/server.log"
	fi
}

# call [curl options] PATH: the answer's body in $body, its HTTP status in $status
call() {
	local path=${*: -1}
	status=$(curl -sS -o "$work/body" -w '%{http_code}' --cacert "$work/ca/ca.pem" \
		"${@:1:$#-1}" "$base$path") || status=curl$?
	body=$(cat "$work/body" 2>/dev/null || true)
}

# as TERMINAL [curl options] PATH: call with the terminal's client certificate
as() {
	local t=$1
	shift
	call --cert "$work/$t.pem" --key "$work/$t.key" "$@"
}

# a JSON string or integer field of $body (the first with that name)
field() {
	grep -o "\"$1\":\(\"[^\"]*\"\|-\?[0-9]*\|true\|false\)" <<<"$body" | head -1 |
		sed -e "s/^\"$1\"://" -e 's/^"//' -e 's/"$//'
}

# the signed registration body for TERMINAL's key and CODE
register_body() {
	local t=$1 code=$2 pk sig
	pk=$(openssl pkey -in "$work/$t.key" -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
	{ printf 'loyalty/register%s' "$code"; printf '%b' "$(sed 's/../\\x&/g' <<<"$pk")"; } >"$work/$t.msg"
	sig=$(openssl pkeyutl -sign -rawin -inkey "$work/$t.key" -in "$work/$t.msg" | od -An -tx1 | tr -d ' \n')
	printf '{"enrolment_code":"%s","public_key":"%s","signature":"%s"}' "$code" "$pk" "$sig"
}

# register TERMINAL: an enrolment code from the owner, a fresh Ed25519 key, POST /v1/register,
# the certificate it answers kept as $work/TERMINAL.pem
register() {
	local t=$1 code
	code=$("$server" enrol --db "$db" --terminal "$t")
	openssl genpkey -algorithm ED25519 -out "$work/$t.key" 2>/dev/null
	call -H 'Content-Type: application/json' --data-binary "$(register_body "$t" "$code")" /v1/register
	[ "$status" = 201 ] || { echo "register $t: $status $body"; return 1; }
	field config_key >"$work/$t.config_key"
	field certificate | sed 's/\\n/\n/g; s/\\\//\//g' >"$work/$t.pem"
	openssl x509 -in "$work/$t.pem" -noout -subject | grep -q "CN = $t"
}

# batch TERMINAL SPEC...: a push body of new events of the terminal into a new file of $work;
# prints the file name
batch() {
	local t=$1 file
	shift
	file=$(mktemp "$work/batch.XXXXXX")
	"$events" "$work/$t.chain" "$t" "$@" >"$file"
	echo "$file"
}

push() {
	local t=$1 file=$2
	as "$t" -H 'Content-Type: application/json' --data-binary "@$file" /v1/events
}

stored_events() {
	"$server" stats --db "$db" | sed 's/[^0-9]//g'
}

balance() {
	"$server" balances --db "$db" | grep "\"card_code\":\"$1\"" |
		sed 's/.*"balance_pts":\(-\?[0-9]*\).*/\1/'
}
