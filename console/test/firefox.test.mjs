// The web console in Debian's Firefox ESR (WebDriver BiDi through puppeteer-core) against
// a real `tether server` and real `tether client` devices: the same console works outside
// Chromium. The full set of scenarios runs in chromium.test.mjs; these cover each page and
// what differs between engines (fetch streams for events, canvas charts, forms, themes).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import puppeteer from 'puppeteer-core';
import { USERS, api, artifacts, startClient, startServer, stopAll, watchProblems } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
    headless: true,
    protocolTimeout: 60000,
  });
  console.log(`${await browser.version()}; screenshots in ${artifacts}`);
});

after(async () => {
  await browser?.close();
  stopAll();
});

// A page that records console errors, script errors and CSP violations.
async function openPage(user = USERS.ops) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  await watchProblems(page, (script) => page.evaluateOnNewDocument(script));
  await page.goto(server.url);
  await page.waitForSelector('input[type="password"]');
  await page.type('input[type="password"]', user.token);
  await page.click('button[type="submit"]');
  await page.waitForSelector('[data-testid="who"]');
  page.problems.length = 0; // the 401 that asked for the token is expected
  return page;
}

// Waits until the text of `selector` matches `pattern` (checked every 50 ms).
function textMatches(page, selector, pattern, timeout = 20000) {
  return page.waitForFunction(
    (s, source) => new RegExp(source).test(document.querySelector(s)?.textContent ?? ''),
    { timeout, polling: 50 }, selector, pattern.source);
}

const shot = (page, name) => page.screenshot({ path: join(artifacts, `firefox-${name}.png`), fullPage: true });

test('sign-in, and a new device listed live from the event stream', async () => {
  const page = await openPage();
  await textMatches(page, '[data-testid="who"]', /ops · operator · server/);
  await page.waitForSelector('[data-live="true"]');
  startClient(server, 'ff-live');
  await page.waitForSelector('tr[data-endpoint="ff-live"] [data-state="online"]', { timeout: 15000 });
  await shot(page, 'devices-light');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('reading /3/0 and writing the UTC offset on the device page', async () => {
  const page = await openPage();
  await page.goto(server.url + '#/devices/ff-live');
  await page.waitForSelector('button[aria-label="Read /3/0"]');
  await page.click('button[aria-label="Read /3/0"]');
  await textMatches(page, 'tr[data-path="/3/0/0"] .value', /^Tether$/);
  await page.type('tr[data-path="/3/0/14"] input[aria-label="New value of UTC Offset"]', '-05:00');
  await page.click('tr[data-path="/3/0/14"] button[type="submit"]');
  await textMatches(page, 'tr[data-path="/3/0/14"] .value', /-05:00/);
  const { body } = await api(server, '/api/clients/ff-live/3/0/14');
  assert.equal(body.values['/3/0/14'], '-05:00', 'the device holds the new offset');
  await shot(page, 'device-light');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('an observed temperature is plotted on a canvas, in the dark theme', async () => {
  const page = await openPage();
  await page.select('label.theme select', 'dark'); // kept in this profile's localStorage
  await page.goto(server.url + '#/devices/ff-live');
  await page.waitForSelector('button[aria-label="Observe /3303/0/5700"]');
  await page.click('button[aria-label="Observe /3303/0/5700"]');
  await page.waitForSelector('figure[data-plot="/3303/0/5700"] canvas');
  await textMatches(page, 'figure[data-plot="/3303/0/5700"] figcaption', /\([3-9] points\)|\(\d\d+ points\)/);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await shot(page, 'device-observe-dark');
  await page.click('button[aria-label="Cancel the observation of /3303/0/5700"]');
  await page.waitForSelector('figure[data-plot="/3303/0/5700"]', { hidden: true });
  assert.deepEqual((await api(server, '/api/clients/ff-live/observations')).body, []);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a read user cannot write, and the server page charts /metrics', async () => {
  const page = await openPage(USERS.viewer);
  await page.goto(server.url + '#/devices/ff-live');
  await page.waitForSelector('tr[data-path="/3/0/14"] button[type="submit"]');
  assert.equal(await page.$eval('tr[data-path="/3/0/14"] button[type="submit"]', (b) => b.disabled), true);
  await page.goto(server.url + '#/server');
  await textMatches(page, 'figure[data-plot="registrations"] figcaption', /\([2-9] points\)/);
  await shot(page, 'server-dark');
  assert.deepEqual(page.problems, []);
  await page.close();
});
