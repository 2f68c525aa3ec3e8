// card-page.mjs: Debian's Chromium, driven by playwright-core, on loyalty-server's card pages as
// a 360 px wide phone shows them. tests/web/browser_test.sh runs the server and a simulator
// terminal and hands over, in a JSON file, what the terminal's receipts printed: the card URL
// and the claim URL decoded from their QR codes, the card code, balance, coupon, points to
// claim and survey bonus; an expired and a forged link. Screenshots go to "out".
//   node card-page.mjs CONFIG.json
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(await readFile(process.argv[2], 'utf8'));
const origin = new URL(cfg.card_url).origin;
const out = cfg.out;
let failures = 0;
const ok = (what, cond) => {
	console.log(`${cond ? 'ok' : 'FAIL'}: ${what}`);
	if (!cond) failures++;
};
const points = async (page) => Number(await page.locator('#balance').getAttribute('data-points'));
// submit FORM's button and wait for the answer of its post
const submit = async (page, button) =>
	(await Promise.all([page.waitForNavigation(), button.click()]))[0];

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox', '--disable-gpu'],
});
try {
	const context = await browser.newContext({
		viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, locale: 'pl-PL',
		acceptDownloads: true,
	});
	const page = await context.newPage();
	const foreign = [], cspErrors = [];
	page.on('request', (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });
	page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) cspErrors.push(m.text()); });

	// the card page, as the receipt's card QR opens it
	let resp = await page.goto(cfg.card_url);
	ok('card page: 200', resp.status() === 200);
	let shown = await points(page);
	ok(`card page: the balance the receipt printed, ${cfg.balance} (shown ${shown})`, shown === cfg.balance);
	ok('card page: the card code', (await page.locator('#card-code').innerText()).replace(/ /g, '') === cfg.code);
	ok(`card page: the receipt's coupon ${cfg.coupon}`,
		(await page.locator('#coupons li', { hasText: cfg.coupon }).count()) === 1);
	ok('card page: Polish', (await page.textContent('body')).includes('Saldo punktów'));
	ok('card page: the QR drawn inline', (await page.locator('svg.qr path').count()) === 1);
	// fits the phone: no horizontal scroll, and no text running past the screen's edge
	const width = await page.evaluate(() => document.documentElement.scrollWidth);
	const past = await page.evaluate(() => {
		const edge = document.documentElement.clientWidth, found = [];
		const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const r = document.createRange();
			r.selectNodeContents(n);
			if (r.getBoundingClientRect().right > edge + 0.5)
				found.push({ text: n.textContent.trim().slice(0, 60),
					coupons: !!n.parentElement.closest('#coupons') });
		}
		return found;
	});
	ok(`card page: fits 360 px (scroll width ${width}${past.length ? `; past the edge: ${past.map((t) => t.text).join(' | ')}` : ''})`,
		width <= 360 && past.length === 0);
	await page.screenshot({ path: `${out}/card-page.png`, fullPage: true });
	// the page's QR alone, with a white margin, for zbarimg in browser_test.sh
	await page.locator('svg.qr').evaluate((e) => { e.style.padding = '24px'; e.style.background = '#fff'; });
	await page.locator('svg.qr').screenshot({ path: `${out}/card-qr.png` });

	// the receipt without a card, claimed onto this card by its code typed as people type it
	resp = await page.goto(cfg.claim_url);
	ok('claim page: 200', resp.status() === 200);
	const toClaim = Number(await page.locator('#claim-points').innerText().then((t) => t.replace(/\D/g, '')));
	ok(`claim page: the ${cfg.claim_pts} points the receipt printed (shown ${toClaim})`, toClaim === cfg.claim_pts);
	await page.screenshot({ path: `${out}/claim-page.png`, fullPage: true });
	await page.locator('input[type=text][name=card]').fill(cfg.code.toLowerCase().replace(/(....)(?=.)/g, '$1-'));
	resp = await submit(page, page.locator('#claim form').first().locator('button'));
	ok(`claim: 200 and done (${resp.status()})`, resp.status() === 200 && (await page.locator('#notice').count()) === 1);
	await page.screenshot({ path: `${out}/claim-done.png`, fullPage: true });
	await page.goto(cfg.claim_url);
	ok('claim page again: already claimed, no form',
		(await page.locator('#already').count()) === 1 && (await page.locator('form').count()) === 0);
	await page.goto(cfg.card_url);
	shown = await points(page);
	ok(`claim: the card has ${cfg.claim_pts} points more (${shown})`, shown === cfg.balance + cfg.claim_pts);

	// the survey: a tap on 10, a comment, send; the bonus the receipt promised on the balance
	ok('survey: asked', (await page.locator('#survey').count()) === 1);
	ok(`survey: promises ${cfg.survey_pts} points`, (await page.locator('#survey').innerText()).includes(`${cfg.survey_pts} pkt`));
	await page.locator('#survey input[name=score][value="10"]').check();
	await page.locator('#survey textarea').fill('Bardzo dobre pieczywo <b>!</b>');
	resp = await submit(page, page.locator('#survey button'));
	ok(`survey: 200 and thanks (${resp.status()})`, resp.status() === 200 && (await page.locator('#notice').count()) === 1);
	ok('survey: gone from the page once answered', (await page.locator('#survey').count()) === 0);
	const afterSurvey = await points(page);
	ok(`survey: the bonus on the balance (${afterSurvey})`, afterSurvey === cfg.balance + cfg.claim_pts + cfg.survey_pts);
	await page.screenshot({ path: `${out}/card-page-survey.png`, fullPage: true });

	// consents: marketing ticked, saved, ticked on the next visit
	await page.locator('#privacy input[name=marketing]').check();
	resp = await submit(page, page.locator('#privacy form').first().locator('button'));
	ok(`consent: 200 and saved (${resp.status()})`, resp.status() === 200 && (await page.locator('#notice').count()) === 1);
	await page.goto(cfg.card_url);
	ok('consent: marketing ticked on the next visit', await page.locator('#privacy input[name=marketing]').isChecked());
	ok('consent: first name still not', !(await page.locator('#privacy input[name=first_name]').isChecked()));
	await page.screenshot({ path: `${out}/card-page-consent.png`, fullPage: true });

	// the data download
	const [download] = await Promise.all([
		page.waitForEvent('download'), page.locator('#privacy a[download]').click(),
	]);
	ok(`download: named for the card (${download.suggestedFilename()})`, download.suggestedFilename() === `loyalty-${cfg.code}.json`);
	let data = null;
	try {
		data = JSON.parse(await readFile(await download.path(), 'utf8'));
	} catch (e) {
		console.log(`download: ${e}`);
	}
	ok('download: JSON', data !== null);
	if (data) {
		const text = JSON.stringify(data);
		ok('download: holds the card code', text.includes(`"${cfg.code}"`));
		ok('download: the marketing consent', data.consents?.marketing === true && data.consents?.first_name === false);
		ok(`download: the claim and the survey (${data.claims?.length}, ${data.surveys?.length})`,
			data.claims?.length === 1 && data.surveys?.length === 1);
		ok('download: the card\'s events', Array.isArray(data.events) && data.events.length > 0);
		await download.saveAs(`${out}/data.json`);
	}

	// the first name the till may show: ticked with the name typed, saved, shown on the next visit
	await page.locator('#privacy input[name=first_name]').check();
	await page.locator('#privacy input[name=name]').fill('  Łucja ');
	resp = await submit(page, page.locator('#privacy form').first().locator('button'));
	ok(`first name: 200 and saved (${resp.status()})`, resp.status() === 200);
	await page.goto(cfg.card_url);
	ok('first name: ticked on the next visit', await page.locator('#privacy input[name=first_name]').isChecked());
	const typed = await page.locator('#privacy input[name=name]').inputValue();
	ok(`first name: kept in its clean form (${typed})`, typed === 'Łucja');
	// ticked with no name: refused with the rule, nothing changed
	await page.locator('#privacy input[name=name]').fill('');
	resp = await submit(page, page.locator('#privacy form').first().locator('button'));
	ok(`first name: an empty one refused (${resp.status()})`, resp.status() === 400 && (await page.textContent('body')).includes('do 24 znaków'));
	await page.goto(cfg.card_url);
	ok('first name: the one saved before stays', (await page.locator('#privacy input[name=name]').inputValue()) === 'Łucja');
	await page.screenshot({ path: `${out}/card-page-first-name.png`, fullPage: true });

	// English by the browser's preference
	const en = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'en-GB' });
	const p2 = await en.newPage();
	p2.on('request', (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });
	await p2.goto(cfg.card_url);
	ok('English by Accept-Language', (await p2.textContent('body')).includes('Points balance'));
	await p2.screenshot({ path: `${out}/card-page-en.png`, fullPage: true });
	await en.close();

	// refused links: the right status and nothing of the member
	for (const [what, url, status] of [['forged', cfg.forged_url, 403], ['expired', cfg.expired_url, 410]]) {
		resp = await page.goto(url);
		const text = await page.textContent('body');
		ok(`${what} link: ${status} (got ${resp.status()})`, resp.status() === status);
		ok(`${what} link: nothing of the card shown`,
			!text.includes(cfg.code.slice(0, 4)) && (await page.locator('#balance').count()) === 0);
		await page.screenshot({ path: `${out}/${what}-link.png`, fullPage: true });
	}

	// deleting the account: the box must be ticked, then the card page is gone
	await page.goto(cfg.card_url);
	await page.locator('#privacy input[name=confirm]').check();
	resp = await submit(page, page.locator('#privacy form').nth(1).locator('button'));
	ok(`delete: 200 (${resp.status()})`, resp.status() === 200);
	ok(`delete: says so (${await page.title()})`, (await page.textContent('body')).includes('Usunęliśmy Twoje dane'));
	await page.screenshot({ path: `${out}/account-deleted.png`, fullPage: true });
	resp = await page.goto(cfg.card_url);
	const gone = await page.textContent('body');
	ok(`card page after deletion: 410 (got ${resp.status()})`, resp.status() === 410);
	ok('card page after deletion: nothing of the card',
		!gone.includes(cfg.code.slice(0, 4)) && (await page.locator('#balance').count()) === 0);
	await page.screenshot({ path: `${out}/card-page-deleted.png`, fullPage: true });

	ok(`no request left the server (${foreign.join(' ')})`, foreign.length === 0);
	ok(`no CSP violation (${cspErrors.join(' | ')})`, cspErrors.length === 0);
} finally {
	await browser.close();
}
console.log(failures ? `${failures} check(s) failed` : 'all browser checks passed');
process.exit(failures ? 1 : 0);
