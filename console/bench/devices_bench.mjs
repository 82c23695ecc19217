// How the Devices page behaves with a large fleet (issue 21's bench, run by
// bench/console_bench.sh after `tether bench register --keep` filled the server): the
// REST API's paging figures as a browser sees them, and the page's time to first render,
// to filter and to turn a page. Prints medians of RUNS runs; reports, asserts nothing.
// usage: node bench/devices_bench.mjs URL RUNS
import { chromium } from 'playwright-core';

const [url, runsText = '5'] = process.argv.slice(2);
if (!url) throw new Error('usage: node bench/devices_bench.mjs URL [RUNS]');
const runs = Number(runsText);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(1)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;

// The API alone: the calls the page makes, timed from Node.
const calls = {
  'page of 50 with fleet counts': 'api/clients?limit=50&counts=true',
  'page in the middle of the names (after=bench-5)': 'api/clients?limit=50&after=bench-5&counts=true',
  'prefix bench-99999': 'api/clients?limit=50&prefix=bench-99999&counts=true',
  'contains 99999 (a filter: at most 100,000 names read)': 'api/clients?limit=50&q=99999&counts=true',
  'state=online (a filter)': 'api/clients?limit=50&state=online&counts=true',
};
console.log('REST API, from Node:');
for (const [name, path] of Object.entries(calls)) {
  const times = [];
  let body;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await fetch(url + path);
    body = await r.json();
    times.push(performance.now() - t0);
  }
  const bytes = JSON.stringify(body).length;
  console.log(`  ${name}: ${fmt(times)}; total ${body.total}, ${body.clients.length} rows` +
    `${body.matched !== undefined ? ', matched ' + body.matched : ''}` +
    `${body.scanned !== undefined ? ', scanned ' + body.scanned : ''}, ${bytes} bytes`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// Does `act` in the page and times, with the page's own clock, until the page's next answer
// (a `devices-rows` mark) is on screen with a first row that matches `expect`: no driver
// round trip inside the figure.
function timeInPage(page, act, expect) {
  return page.evaluate(async ([what, arg, source]) => {
    const before = performance.getEntriesByName('devices-rows').length;
    const t0 = performance.now();
    if (what === 'type') {
      const input = document.querySelector('input[type="search"]');
      input.value = arg;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    } else if (what === 'select') {
      const [label, value] = arg;
      const select = [...document.querySelectorAll('label')].find((l) => l.textContent.trim().startsWith(label)).querySelector('select');
      select.value = value;
      select.dispatchEvent(new Event('change', { bubbles: true }));
    } else {
      [...document.querySelectorAll('button')].find((b) => b.textContent === arg).click();
    }
    const re = new RegExp(source);
    const deadline = t0 + 120000;
    for (;;) {
      await new Promise((r) => requestAnimationFrame(r));
      const first = document.querySelector('tbody tr[data-endpoint]')?.dataset.endpoint ?? '';
      if (performance.getEntriesByName('devices-rows').length > before && re.test(first)) return performance.now() - t0;
      if (performance.now() > deadline) throw new Error('no answer for ' + what + ' ' + arg);
    }
  }, [act[0], act[1], expect]);
}

const figures = { render: [], navigation: [], api: [], prefix: [], contains: [], next: [], state: [] };
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // First render: from navigation to the first page of rows on screen (assets, /api/me,
  // the page of 50 with counts, the render).
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => !!document.querySelector('tbody tr[data-endpoint]'), null, { polling: 'raf', timeout: 120000 });
  figures.render.push(Date.now() - t0);
  const [mark] = await page.evaluate(() => performance.getEntriesByName('devices-rows').map((m) => [m.startTime, m.detail.ms]));
  figures.navigation.push(mark[0]);
  figures.api.push(mark[1]);

  const time = async (key, act, expect) => {
    const ms = await timeInPage(page, act, expect);
    if (key) figures[key].push(ms);
  };
  // bench-1, bench-10..19, bench-100..199, ...: more than a page in any fleet of 20+.
  await time('prefix', ['type', 'bench-1'], '^bench-1');
  await time('next', ['click', 'Next'], '^bench-1');
  await time(null, ['select', ['Match', 'q']], '^bench-');
  await time('contains', ['type', '777'], '777');
  await time(null, ['type', ''], '^bench-');
  await time('state', ['select', ['State', 'online']], '^bench-');
  await context.close();
}
await browser.close();
console.log('Devices page in Chromium (headless), from the action to the rows on screen (page clock):');
console.log(`  first render, from the driver's goto to the first 50 rows: ${fmt(figures.render)}`);
console.log(`  navigation start to the first page's rows, page clock: ${fmt(figures.navigation)}`);
console.log(`    of which the page's call to /api/clients: ${fmt(figures.api)}`);
console.log(`  filter "starts with" bench-1: ${fmt(figures.prefix)}`);
console.log(`  next page of that filter: ${fmt(figures.next)}`);
console.log(`  filter "contains" 777: ${fmt(figures.contains)}`);
console.log(`  state online: ${fmt(figures.state)}`);
