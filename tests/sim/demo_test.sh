#!/usr/bin/env bash
# demo_test: the demo (three sales) on the simulator board, then the ledger rows and balances,
# the receipt bytes, the receipts rendered as text against golden files, the QR decoded from
# the rendered image with zbarimg, and a reprint giving the same bytes.
set -euo pipefail
src=$1
build=$2
. "$src/tests/sim/lib.sh"
work=$(mktemp -d -t demo_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
state=$work/state

DEMO_STATE=$state DEMO_CLOCK=2026-11-27T12:00:00Z "$src/tools/demo" "$build" >"$work/demo.out"
cat "$work/demo.out"
db=$state/ledger.sqlite
q() { sqlite3 "$db" "$1"; }

# the default programme: 1 pt per full PLN, 50 welcome points and a first-purchase coupon; the
# coupon used on the first card's third sale, then 100 points paying 10 PLN of its fourth
check "ledger events" "1|enrol|0|0|SIM1-000001|
2|earn|12|1234|SIM1-000001|earn
3|bonus|50|0|SIM1-000001|welcome
4|coupon_issue|0|0|SIM1-000001|first_purchase
5|earn|45|4567|SIM1-000005|earn
6|enrol|0|0|SIM1-000006|
7|earn|8|800|SIM1-000006|earn
8|bonus|50|0|SIM1-000006|welcome
9|coupon_issue|0|0|SIM1-000006|first_purchase
10|coupon_use|0|600|SIM1-000010|first_purchase
11|earn|54|5400|SIM1-000010|earn
12|redeem|-100|1000|SIM1-000012|redemption
13|earn|20|2000|SIM1-000012|earn" "$(q 'SELECT seq, kind, points, amount_gr, receipt_no, rule FROM events ORDER BY seq')"
check "member balances" "81
58" "$(q 'SELECT balance_pts FROM members ORDER BY member_id')"
check "each new card got one coupon: 10%, from 50 PLN, for 30 days" "2|1000|5000|1" \
	"$(q "SELECT COUNT(*), MIN(percent_bp), MIN(min_basket_gr), COUNT(DISTINCT expires_us) FROM coupons")"
check "balances equal the sum of events" "0" \
	"$(q 'SELECT COUNT(*) FROM members m WHERE balance_pts != (SELECT SUM(points) FROM events e WHERE e.member_id = m.member_id)')"
check "event ids are 16 distinct bytes" "13" "$(q 'SELECT COUNT(DISTINCT event_id) FROM events WHERE length(event_id) = 16')"
check "event time is the frozen clock" "1795780800000000" "$(q 'SELECT DISTINCT time_us FROM events')"
check_true "no card UID in clear in the ledger files" \
	bash -c "! cat '$state'/ledger.sqlite* | od -An -v -tx1 | tr -d ' \n' | grep -qi -e 04a1b2c3d4e5f6 -e 04c0ffee123456"
check_true "no card UID in the log" bash -c "! grep -qi -e 04A1B2C3D4E5F6 -e 04C0FFEE123456 '$state/loyaltyd.log'"
check "demo summary shows balances" "2" "$(grep -c -e 'balance     107 pts' -e 'balance     58 pts' "$work/demo.out")"

receipts=$(cd "$state/printer" && ls *.escpos | tr '\n' ' ')
check "one receipt file per sale" "SIM1-000001.escpos SIM1-000005.escpos SIM1-000006.escpos SIM1-000010.escpos SIM1-000012.escpos " "$receipts"

for r in SIM1-000001 SIM1-000005 SIM1-000006 SIM1-000010 SIM1-000012; do
	f=$state/printer/$r.escpos
	h=$(hex "$f")
	check_true "$r starts with ESC @ ESC t 18 (CP852)" bash -c "[[ '$h' == 1b401b7412* ]]"
	check_true "$r has a GS v 0 raster" bash -c "[[ '$h' == *1d763000* ]]"
	check_true "$r re-selects the code page after the image" \
		bash -c "[[ '$h' =~ 1d7630.*1b7412 ]]"
	check_true "$r ends with a cut" bash -c "[[ '$h' == *1d564200 ]]"
	check_true "$r has 'Dziękujemy' in CP852" bash -c "[[ '$h' == *447a69a96b756a656d79* ]]"
	code=$(q "SELECT m.card_code FROM events e JOIN members m USING (member_id) WHERE e.receipt_no = '$r' AND e.kind = 'earn'")
	coupon=$(q "SELECT ref FROM events WHERE receipt_no = '$r' AND kind = 'coupon_issue'")
	used=$(q "SELECT ref FROM events WHERE receipt_no = '$r' AND kind = 'coupon_use'")
	"$render" --text --width 384 "$f" | sed -e "s/$code/CARDCODE0000/" \
		-e "s/kod kuponu: ${coupon:-NONE}/kod kuponu: COUPON0000/" \
		-e "s/Kupon ${used:-NONE}:/Kupon COUPON0000:/" >"$work/$r.txt"
	# UPDATE_GOLDEN=1 writes the rendered text as the new golden file (then check the diff)
	[ "${UPDATE_GOLDEN:-}" = 1 ] && cp "$work/$r.txt" "$src/tests/sim/golden/$r.txt"
	if ! diff -u "$src/tests/sim/golden/$r.txt" "$work/$r.txt"; then
		check "$r renders as the golden text" "same" "different"
	else
		check "$r renders as the golden text" "same" "same"
	fi
	"$render" --png "$work/$r.png" --width 384 "$f" >/dev/null
	# every QR on the receipt: the card's, and each issued coupon's own
	card_kind="" coupon_kind="" n_qr=0
	while read -r url; do
		[ -n "$url" ] || continue
		n_qr=$((n_qr + 1))
		check_true "$r QR holds a token URL on the card page base" \
			bash -c "[[ '$url' == HTTPS://K.EXAMPLE.PL/C/* ]]"
		kind=$("$loyaltyctl" --state "$state" token check "$url" 2>&1 | head -1)
		case $kind in
		"card token"*) card_kind=$kind ;;
		"coupon token"*) coupon_kind=$kind ;;
		esac
	done < <(zbarimg --raw -q "$work/$r.png" 2>/dev/null || true)
	check "$r QR count (card and coupons)" "$((1 + (${#coupon} > 0)))" "$n_qr"
	check "$r card QR is the card's, signed by this terminal" "card token, card $code" "$card_kind"
	if [ -n "$coupon" ]; then
		check "$r coupon QR is the coupon's, signed by this terminal" \
			"coupon token, coupon $coupon" "$coupon_kind"
	fi
done

# a QR token with one character changed is refused
url=$(zbarimg --raw -q "$work/SIM1-000005.png" 2>/dev/null || true)
last=${url: -1}
bad=${url:0:${#url}-1}$([ "$last" = A ] && echo B || echo A)
rc=0
"$loyaltyctl" --state "$state" token check "$bad" >"$work/bad.out" 2>&1 || rc=$?
check "a changed token is refused" 1 "$rc"
check_true "and says why" grep -q "token refused" "$work/bad.out"

# A reprint after a restart gives the same bytes.
cp "$state/printer/SIM1-000005.escpos" "$work/original.escpos"
rm "$state/printer/SIM1-000005.escpos"
start_daemon "$state"
"$loyaltyctl" --state "$state" reprint --receipt SIM1-000005 >/dev/null
check_true "reprint gives the same bytes" cmp -s "$work/original.escpos" "$state/printer/SIM1-000005.escpos"
check "reprint books nothing" "13" "$(q 'SELECT COUNT(*) FROM events')"
stop_daemon

finish
