// card-page.mjs: Debian's Chromium, driven by playwright-core, on loyalty-server's card pages as
// a 360 px wide phone shows them (tests/web/browser_test.sh starts the server and signs tokens).
//   node card-page.mjs BASE CARD_TOKEN CARD_CODE BALANCE CLAIM_TOKEN CLAIM_POINTS MUTATED EXPIRED OUT
import { chromium } from 'playwright-core';

const [base, card, code, balance, claim, claimPoints, mutated, expired, out] = process.argv.slice(2);
let failures = 0;
const ok = (what, cond) => {
	console.log(`${cond ? 'ok' : 'FAIL'}: ${what}`);
	if (!cond) failures++;
};

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox', '--disable-gpu'],
});
try {
	const context = await browser.newContext({
		viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, locale: 'pl-PL',
	});
	const page = await context.newPage();
	const foreign = [], cspErrors = [];
	page.on('request', (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });
	page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) cspErrors.push(m.text()); });

	// the card page from the token, as the receipt's QR opens it
	let resp = await page.goto(`${base}/C/${card}`);
	ok('card page: 200', resp.status() === 200);
	const shown = await page.locator('#balance').getAttribute('data-points');
	ok(`card page: balance ${balance} (shown ${shown})`, shown === balance);
	ok('card page: the card code', (await page.locator('#card-code').innerText()).replace(/ /g, '') === code);
	ok('card page: Polish', (await page.textContent('body')).includes('Saldo punktów'));
	ok('card page: the QR drawn inline', (await page.locator('svg.qr path').count()) === 1);
	const width = await page.evaluate(() => document.documentElement.scrollWidth);
	ok(`card page: fits 360 px (scroll width ${width})`, width <= 360);
	await page.screenshot({ path: `${out}/card-page.png`, fullPage: true });

	// the survey: a tap on 10 and send
	await page.locator('#survey input[name=score][value="10"]').check();
	await page.locator('#survey textarea').fill('Bardzo dobre pieczywo <b>!</b>');
	await Promise.all([page.waitForNavigation(), page.locator('#survey button').click()]);
	ok(`survey: thanks shown (${await page.title()})`, (await page.locator('#notice').count()) === 1);
	ok('survey: gone from the page once answered', (await page.locator('#survey').count()) === 0);
	const after = Number(await page.locator('#balance').getAttribute('data-points'));
	ok(`survey: the bonus on the balance (${after})`, after > Number(balance));
	await page.screenshot({ path: `${out}/card-page-survey.png`, fullPage: true });

	// claiming a receipt without a card onto this card
	resp = await page.goto(`${base}/C/${claim}`);
	ok('claim page: 200', resp.status() === 200);
	await page.screenshot({ path: `${out}/claim-page.png`, fullPage: true });
	await page.locator('input[type=text][name=card]').fill(code.toLowerCase().replace(/(....)(?=.)/g, '$1-'));
	resp = (await Promise.all([page.waitForNavigation(), page.locator('#claim form').first().locator('button').click()]))[0];
	ok('claim: 200 and done', resp.status() === 200 && (await page.locator('#notice').count()) === 1);
	await page.goto(`${base}/C/${card}`);
	const claimed = Number(await page.locator('#balance').getAttribute('data-points'));
	ok(`claim: the card has ${claimPoints} points more (${claimed})`, claimed === after + Number(claimPoints));
	resp = await page.goto(`${base}/C/${claim}`);
	ok('claim page again: already claimed, no form', (await page.locator('#already').count()) === 1 && (await page.locator('form').count()) === 0);

	// refused tokens: the right status and nothing of the member
	for (const [what, token, status] of [['mutated', mutated, 403], ['expired', expired, 410]]) {
		resp = await page.goto(`${base}/C/${token}`);
		const text = await page.textContent('body');
		ok(`${what} token: ${status} (got ${resp.status()})`, resp.status() === status);
		ok(`${what} token: nothing of the card shown`, !text.includes(code.slice(0, 4)) && (await page.locator('#balance').count()) === 0);
		await page.screenshot({ path: `${out}/${what}-token.png`, fullPage: true });
	}
	ok(`no request left the server (${foreign.join(' ')})`, foreign.length === 0);
	ok(`no CSP violation (${cspErrors.join(' | ')})`, cspErrors.length === 0);

	// English by the browser's preference
	const en = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'en-GB' });
	const p2 = await en.newPage();
	await p2.goto(`${base}/C/${card}`);
	ok('English by Accept-Language', (await p2.textContent('body')).includes('Points balance'));
	await p2.screenshot({ path: `${out}/card-page-en.png`, fullPage: true });
} finally {
	await browser.close();
}
console.log(failures ? `${failures} check(s) failed` : 'all browser checks passed');
process.exit(failures ? 1 : 0);
