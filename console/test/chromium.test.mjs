// The web console in Debian's Chromium against a real `tether server` and real `tether
// client` devices (issue 21): what an operator relies on, seen in the browser.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  USERS, api, artifacts, launch, loggedAt, modelsDir, openPage, screenshot, startClient, startServer, stopAll,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
  console.log('screenshots and logs in ' + artifacts);
});

after(async () => {
  await browser?.close();
  stopAll();
});

const row = (page, endpoint) => page.locator(`tr[data-endpoint="${endpoint}"]`);

test('the sign-in page takes a token, and a wrong one is refused', async () => {
  const page = await openPage(browser, server, { user: null });
  await screenshot(page, 'login-light');
  await page.getByLabel('API token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /token|user/i }).waitFor();
  await page.getByLabel('API token').fill(USERS.ops.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await assert.doesNotReject(page.getByTestId('who').filter({ hasText: 'ops · operator · server' }).waitFor());
  assert.deepEqual(page.problems.filter((p) => !p.includes('401')), []);
  await page.context().close();
});

test('a device shows in the list within a second of its registration', async () => {
  const page = await openPage(browser, server);
  await page.getByRole('heading', { name: 'Devices' }).waitFor();
  await page.getByTestId('total').waitFor();
  await page.locator('[data-live="true"]').waitFor();
  startClient(server, 'dev-live');
  // Checked every animation frame: a locator's own wait backs off to 500 ms between looks.
  await page.waitForFunction(() => !!document.querySelector('tr[data-endpoint="dev-live"]'), null,
    { polling: 'raf', timeout: 15000 });
  const seen = Date.now();
  const registered = loggedAt(server, 'event=registered ep=dev-live');
  assert.ok(registered, 'the server logged the registration');
  console.log(`dev-live shown ${seen - registered} ms after the server registered it`);
  assert.ok(seen - registered < 1000, `shown ${seen - registered} ms after the server registered it`);
  await row(page, 'dev-live').locator('[data-state="online"]').waitFor();
  await screenshot(page, 'devices-light');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('reading /3/0 shows the manufacturer with its name from the model', async () => {
  startClient(server, 'dev-read');
  const page = await openPage(browser, server);
  await row(page, 'dev-read').getByRole('link').click();
  await page.getByRole('heading', { name: /Device/ }).first().waitFor();
  await page.getByRole('button', { name: 'Read /3/0', exact: true }).click();
  // The rows come from the model at once; the value comes with the device's answer.
  const manufacturer = page.locator('tr[data-path="/3/0/0"]');
  await page.getByRole('status').filter({ hasText: '2.05' }).first().waitFor();
  await manufacturer.locator('.value').filter({ hasText: /./ }).waitFor();
  assert.equal(await manufacturer.locator('td').nth(2).textContent(), 'Manufacturer');
  assert.equal(await manufacturer.locator('.value').textContent(), 'Tether');
  await screenshot(page, 'device-light');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('writing the UTC offset changes it on the device, and the request log says who', async () => {
  const page = await openPage(browser, server);
  await page.goto(server.url + '#/devices/dev-read');
  const offset = page.locator('tr[data-path="/3/0/14"]');
  await offset.getByLabel('New value of UTC Offset').fill('+02:00');
  await offset.getByRole('button', { name: 'Write' }).click();
  await page.getByRole('status').filter({ hasText: '2.04' }).first().waitFor();
  await offset.locator('.value').filter({ hasText: '+02:00' }).waitFor();
  const { body } = await api(server, '/api/clients/dev-read/3/0/14');
  assert.equal(body.values['/3/0/14'], '+02:00', 'the device holds the new offset');
  const log = page.locator('table.requests tbody tr');
  await log.filter({ hasText: 'write' }).filter({ hasText: 'ops' }).filter({ hasText: '2.04' }).waitFor();
  // Observed, a text value changes on the page when someone else writes it.
  await offset.getByRole('button', { name: 'Observe /3/0/14' }).click();
  const observed = page.locator('p[data-observed="/3/0/14"]');
  await observed.filter({ hasText: '+02:00' }).waitFor();
  assert.equal((await api(server, '/api/clients/dev-read/3/0/14', USERS.ops, 'PUT', '"+03:00"')).status, 200);
  await observed.filter({ hasText: '+03:00' }).waitFor();
  await offset.getByRole('button', { name: 'Cancel the observation of /3/0/14' }).click();
  await observed.waitFor({ state: 'detached' });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('observing the temperature plots new points until cancelled', async () => {
  const page = await openPage(browser, server);
  await page.goto(server.url + '#/devices/dev-read');
  await page.getByRole('button', { name: 'Observe /3303/0/5700' }).click();
  const plot = page.locator('figure[data-plot="/3303/0/5700"]');
  await plot.waitFor();
  await plot.locator('canvas').first().waitFor();
  await plot.getByRole('button', { name: 'Show as table' }).click();
  await page.waitForFunction(
    () => document.querySelectorAll('figure[data-plot="/3303/0/5700"] table.points tbody tr').length >= 3,
    null, { timeout: 20000 });
  await screenshot(page, 'device-observe-light');
  await page.getByRole('button', { name: 'Cancel the observation of /3303/0/5700' }).click();
  await plot.waitFor({ state: 'detached' });
  const { body } = await api(server, '/api/clients/dev-read/observations');
  assert.deepEqual(body, [], 'the server holds no observation after the cancel');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

// A model both sides know (--models): a Playlist whose Tracks is a writable
// multiple-instance resource; the client creates and deletes its instances on request.
const PLAYLIST = `<?xml version="1.0" encoding="utf-8"?>
<LWM2M><Object ObjectType="MODefinition"><Name>Playlist</Name><Description1>Tracks to play.</Description1>
<ObjectID>32769</ObjectID><ObjectURN>urn:oma:lwm2m:x:32769</ObjectURN><LWM2MVersion>1.1</LWM2MVersion>
<ObjectVersion>1.0</ObjectVersion><MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
<Resources>
<Item ID="0"><Name>Tracks</Name><Operations>RW</Operations><MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Type>String</Type><RangeEnumeration></RangeEnumeration><Units></Units><Description>Track names.</Description></Item>
<Item ID="1"><Name>Volume</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory><Type>Integer</Type><RangeEnumeration>0..100</RangeEnumeration><Units>%</Units><Description>Loudness.</Description></Item>
</Resources><Description2></Description2></Object></LWM2M>
`;

test('an instance is created, its multiple-instance resource written whole, and deleted', async () => {
  const models = modelsDir({ 'playlist.xml': PLAYLIST });
  const own = await startServer(['--models', models]);
  startClient(own, 'dev-create', ['--models', models]);
  const page = await openPage(browser, own);
  await page.goto(own.url + '#/devices/dev-create');
  await page.getByRole('heading', { name: /Playlist/ }).waitFor();
  await page.getByLabel('Values of a new /32769 instance').fill('{"1": 40, "0": ["intro"]}');
  await page.getByRole('button', { name: 'Create an instance of /32769' }).click();
  await page.getByRole('status').filter({ hasText: /2\.01.* at \/32769\/0/ }).waitFor();
  // The client's Update lists the new instance; its table comes from the model.
  const tracks = page.locator('tr[data-path="/32769/0/0"]');
  await page.getByRole('button', { name: 'Read /32769/0', exact: true }).click();
  await tracks.locator('.value').filter({ hasText: 'intro' }).waitFor();
  await tracks.getByRole('button', { name: 'Add an instance' }).click();
  await tracks.getByLabel('Value 2 of Tracks').fill('outro');
  await tracks.getByLabel('Instance ID 2 of Tracks').fill('5');
  await tracks.getByRole('button', { name: 'Write all' }).click();
  await tracks.locator('.value').filter({ hasText: '5: outro' }).waitFor();
  const { body } = await api(own, '/api/clients/dev-create/32769/0/0');
  assert.deepEqual(body.values, { '/32769/0/0/0': 'intro', '/32769/0/0/5': 'outro' });
  await screenshot(page, 'device-create-light');
  await page.getByRole('button', { name: 'Delete /32769/0' }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByRole('status').filter({ hasText: '2.02' }).waitFor();
  await page.locator('tr[data-path="/32769/0/1"]').waitFor({ state: 'detached' });
  const after = await api(own, '/api/clients/dev-create/32769/0');
  assert.equal(after.status, 404, 'the device no longer has the instance');
  // The page may open before the client registers (404), and comes alive when it does.
  assert.deepEqual(page.problems.filter((p) => !p.includes('status of 404')), []);
  await page.context().close();
});

test('selected resources are read together in the chosen format, attributes written and discovered', async () => {
  const page = await openPage(browser, server);
  await page.goto(server.url + '#/devices/dev-read');
  await page.getByLabel('Select /3/0/0').check();
  await page.getByLabel('Select /3303/0/5700').check();
  await page.getByLabel('Content format').selectOption('senml-json');
  await page.getByRole('button', { name: 'Read selected' }).click();
  const panel = page.getByRole('region', { name: 'Selected resources' });
  await panel.getByRole('status').filter({ hasText: /2\.05.*senml\+json/ }).waitFor();
  await page.locator('tr[data-path="/3/0/0"] .value').filter({ hasText: 'Tether' }).waitFor();
  await page.locator('tr[data-path="/3303/0/5700"] .value').filter({ hasText: /\d/ }).waitFor();
  await page.getByRole('button', { name: 'Observe selected' }).click();
  const composite = page.getByRole('list', { name: 'Composite observations' });
  await composite.getByRole('button', { name: 'Cancel the observation of /3/0/0, /3303/0/5700' }).click();
  await composite.waitFor({ state: 'detached' });
  assert.deepEqual((await api(server, '/api/clients/dev-read/observations')).body, [],
    'the composite observation ended with the cancel');

  await page.getByRole('button', { name: 'Discover /3303/0' }).click();
  const tools = page.getByRole('region', { name: 'Discover and attributes' });
  await tools.getByLabel('Path').fill('/3303/0/5700');
  await tools.getByLabel('pmin', { exact: true }).fill('7');
  await tools.getByLabel('gt', { exact: true }).fill('30.5');
  await tools.getByRole('button', { name: 'Write attributes' }).click();
  await tools.getByRole('status').filter({ hasText: '2.04' }).waitFor();
  await tools.getByLabel('Path').fill('/3303/0');
  await tools.getByRole('button', { name: 'Discover' }).click();
  const attrs = tools.locator('table.discovered tr[data-path="/3303/0/5700"] td').nth(1);
  await attrs.filter({ hasText: 'pmin=7' }).waitFor();
  assert.match(await attrs.textContent(), /gt=30\.5/);
  await screenshot(page, 'device-tools-light');
  // Leave the temperature as the other tests expect it: both attributes unset.
  assert.equal((await api(server, '/api/clients/dev-read/3303/0/5700/attributes?pmin&gt', USERS.ops, 'PUT', '')).status, 200);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a read user sees the list and their role, and cannot write', async () => {
  const page = await openPage(browser, server, { user: USERS.viewer, colorScheme: 'dark' });
  await page.getByTestId('who').filter({ hasText: 'viewer · read' }).waitFor();
  await page.getByTestId('total').waitFor();
  await screenshot(page, 'devices-dark');
  await page.goto(server.url + '#/devices/dev-read');
  const offset = page.locator('tr[data-path="/3/0/14"]');
  const write = offset.getByRole('button', { name: 'Write' });
  await write.waitFor();
  assert.equal(await write.isDisabled(), true);
  assert.equal(await write.getAttribute('title'), 'read users may only read');
  assert.equal(await page.getByRole('button', { name: 'Observe /3303/0/5700' }).isDisabled(), true);
  // The page may not, and neither may the API it calls.
  const forced = await page.evaluate(async () => {
    const r = await fetch('api/clients/dev-read/3/0/14', {
      method: 'PUT', body: '"+05:00"',
      headers: { Authorization: 'Bearer ' + sessionStorage.getItem('tether-token') },
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(forced.status, 403);
  assert.equal(forced.body.code, '4.03');
  await screenshot(page, 'device-read-user-dark');
  assert.deepEqual(page.problems.filter((p) => !p.includes('403')), []);
  await page.context().close();
});

test('a user with a password signs in through the browser\'s own Digest prompt', async () => {
  const pat = { name: 'pat', role: 'read', password: 'pat-secret-51c0' };
  const own = await startServer([], 'server', [USERS.ops, pat]);
  startClient(own, 'dev-digest');
  // Playwright answers the browser's authentication prompt, as a person would.
  const page = await openPage(browser, own, { user: null, httpCredentials: { username: pat.name, password: pat.password } });
  await page.getByTestId('who').filter({ hasText: 'pat · read · server' }).waitFor();
  await page.locator('[data-live="true"]').waitFor();
  await row(page, 'dev-digest').getByRole('link').click();
  await page.locator('tr[data-path="/3/0/14"]').getByRole('button', { name: 'Write' }).waitFor();
  assert.equal(await page.locator('tr[data-path="/3/0/14"]').getByRole('button', { name: 'Write' }).isDisabled(), true);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a device that goes silent turns grey, marked expired', async () => {
  const page = await openPage(browser, server);
  await page.locator('[data-live="true"]').waitFor();
  const client = startClient(server, 'dev-silent', ['--lifetime', '2']);
  await row(page, 'dev-silent').waitFor({ timeout: 15000 });
  client.child.kill('SIGKILL'); // no De-register: the lifetime runs out
  await row(page, 'dev-silent').locator('[data-state="expired"]').waitFor({ timeout: 10000 });
  assert.match(await row(page, 'dev-silent').getAttribute('class'), /gone/);
  const { status } = await api(server, '/api/clients/dev-silent');
  assert.equal(status, 404);
  await screenshot(page, 'devices-expired-light');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the server page charts /metrics after two samples', async () => {
  const page = await openPage(browser, server);
  await page.getByRole('link', { name: 'Server' }).click();
  const registrations = page.locator('figure[data-plot="registrations"]');
  await page.waitForFunction(
    () => /\(2 points\)|\([3-9] points\)/.test(document.querySelector('figure[data-plot="registrations"] figcaption')?.textContent ?? ''),
    null, { timeout: 15000 });
  const { body } = await api(server, '/api/clients?limit=0');
  assert.equal(await registrations.getByTestId('latest').textContent(), String(body.total));
  await page.locator('figure[data-plot="memory"] canvas').first().waitFor();
  await screenshot(page, 'server-light');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('credentials are set with write-only keys and listed masked', async () => {
  const page = await openPage(browser, server);
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByLabel('Endpoint', { exact: true }).fill('sec-dev');
  await page.getByLabel('Mode').selectOption('psk');
  await page.getByLabel('PSK identity').fill('sec-dev-id');
  await page.getByLabel('Key (hex)').fill('c0ffee00c0ffee00');
  assert.equal(await page.getByLabel('Key (hex)').getAttribute('type'), 'password');
  await page.getByRole('button', { name: 'Save' }).click();
  const listed = page.locator('tr[data-endpoint="sec-dev"]');
  await listed.filter({ hasText: 'sec-dev-id' }).filter({ hasText: 'set (hidden)' }).waitFor();
  assert.equal(await page.getByLabel('Key (hex)').inputValue(), '', 'the key field is emptied');
  assert.ok(!(await page.content()).includes('c0ffee00'), 'the key shows nowhere on the page');
  const { body } = await api(server, '/api/security/clients/sec-dev');
  assert.equal(body.keySet, true);
  await screenshot(page, 'security-light');
  await listed.getByRole('button', { name: 'Remove the credentials of sec-dev' }).click();
  await listed.waitFor({ state: 'detached' });
  assert.equal((await api(server, '/api/security/clients/sec-dev')).status, 404);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a bootstrap configuration is checked as it is typed, saved, and its session shown', async () => {
  const bs = await startServer([], 'bootstrap');
  const page = await openPage(browser, bs);
  await page.getByRole('heading', { name: 'Bootstrap configurations' }).waitFor();
  await page.getByLabel('Endpoint', { exact: true }).fill('bs-dev');
  await page.getByTestId('check').filter({ hasText: 'Valid.' }).waitFor();
  const editor = page.getByLabel(/Configuration \(JSON/);
  const good = await editor.inputValue();
  await editor.fill('{"colour": 1}');
  await page.getByTestId('check').filter({ hasText: '4.00' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), true);
  assert.equal((await api(bs, '/api/bootstrap/bs-dev')).status, 404, 'a dry run stores nothing');
  await editor.fill(good.replace('coap://127.0.0.1:5683', `coap://127.0.0.1:${server.coap}`));
  await page.getByTestId('check').filter({ hasText: 'Valid.' }).waitFor();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('button', { name: 'bs-dev' }).waitFor();
  // A real client bootstraps from it; the page follows the session to its end.
  startClient(bs, 'bs-dev', ['--server', '', '--bootstrap', `coap://127.0.0.1:${bs.coap}`]);
  await page.getByTestId('session-state').filter({ hasText: 'finished' }).waitFor({ timeout: 20000 });
  assert.ok((await page.locator('ol.steps li').count()) >= 2, 'the steps are listed');
  await screenshot(page, 'bootstrap-light');
  // The 404 of "no session yet" and the 400 of the broken draft are answers, not faults.
  assert.deepEqual(page.problems.filter((p) => !/status of (400|404)/.test(p)), []);
  await page.context().close();
});

test('the keyboard reaches the search, the rows and the device page', async () => {
  const page = await openPage(browser, server);
  await row(page, 'dev-live').waitFor();
  const focused = async () => page.evaluate(() => document.activeElement?.getAttribute('href') || document.activeElement?.tagName);
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = (await focused()) === '#/devices/dev-live';
  }
  assert.ok(reached, 'Tab reaches the device link');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Read /3/0', exact: true }).waitFor();
  await page.context().close();
});
