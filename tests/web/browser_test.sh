#!/usr/bin/env bash
# web.browser: Debian's Chromium (headless) driven by playwright-core opens the card page from
# a token signed by a registered terminal's key, checks the balance, answers the survey, claims
# a receipt without a card, sees mutated and expired tokens refused, and saves screenshots to
# tests/web/artifacts/ in the build folder. playwright-core is installed with `npm ci` from the
# committed lock into the build folder. Skipped (exit 77, with the reason) only without
# /usr/bin/chromium, node and npm, or a reachable npm registry; tools/dev installs chromium,
# nodejs and npm.
source "$1/tests/server/lib.sh"

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	echo "SKIP: $chromium is not installed (Debian package chromium; tools/dev installs it)"
	exit 77
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "SKIP: node and npm are not installed (Debian packages nodejs npm; tools/dev installs them)"
	exit 77
fi
mods=$bin/tests-web-npm
mkdir -p "$mods"
if ! cmp -s "$src/tests/web/package-lock.json" "$mods/package-lock.json" ||
	[ ! -d "$mods/node_modules/playwright-core" ]; then
	cp "$src/tests/web/package.json" "$src/tests/web/package-lock.json" "$mods/"
	if ! (cd "$mods" && npm ci --no-audit --no-fund --loglevel=error --fetch-retries=1 \
		--fetch-timeout=30000) 2>"$mods/npm.err"; then
		cat "$mods/npm.err"
		if grep -qE 'SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)|CERT_|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH' "$mods/npm.err"; then
			echo "SKIP: the npm registry cannot be reached from this machine (see above)"
			exit 77
		fi
		echo "FAIL: npm ci in $mods failed"
		exit 1
	fi
fi
cp "$src/tests/web/card-page.mjs" "$mods/"
artifacts=$bin/tests/web/artifacts
rm -rf "$artifacts"
mkdir -p "$artifacts"

tok=$bin/tests/web/web_token
A=7K3M9QZX2H4P
start_server --pages-listen 127.0.0.1:0 --pages-port-file "$work/pages.port" \
	--store-name 'Piekarnia Pod Lipą' --pages-rate-limit 100
pages=http://127.0.0.1:$(cat "$work/pages.port")
check "registration of T1" register T1
seed=$(openssl pkey -in "$work/T1.key" -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
push T1 "$(batch T1 earn:$A:12:1234 earn:$A:50:5000 earn:-:7:750)"
check "T1's sales are on the server" eval '[ "$(field accepted)" = 3 ]'
card=$("$tok" "$seed" card $A)
claim=$("$tok" "$seed" claim T1 3 7 750)
mutated=${card:0:60}$([ "${card:60:1}" = A ] && echo B || echo A)${card:61}
expired=$("$tok" "$seed" card $A 1704067200 1706745600)

if (cd "$mods" && node card-page.mjs "$pages" "$card" "$A" 62 "$claim" 7 "$mutated" "$expired" \
	"$artifacts"); then
	ok "the card pages in Chromium"
else
	bad "the card pages in Chromium"
fi
echo "screenshots: $artifacts"
ls "$artifacts"
finish
