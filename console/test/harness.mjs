// What the console's browser tests share: free ports on 127.0.0.1, a real `tether server`
// and real `tether client` devices (TETHER_BIN), Debian's Chromium driven by
// playwright-core, and a folder for screenshots and logs (TETHER_ARTIFACTS). Everything
// started here is stopped by stopAll().
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';

export const tether = process.env.TETHER_BIN;
if (!tether) throw new Error('set TETHER_BIN to the tether binary');
export const artifacts = process.env.TETHER_ARTIFACTS || mkdtempSync(join(tmpdir(), 'tether-console-'));
mkdirSync(artifacts, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'tether-console-work-'));
const processes = [];

function tcpFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// A port free for UDP and TCP alike (CoAP listens on both).
export async function freePort() {
  for (let i = 0; i < 50; i++) {
    const sock = dgram.createSocket('udp4');
    const port = await new Promise((resolve) => sock.bind(0, '127.0.0.1', () => resolve(sock.address().port)));
    sock.close();
    if (await tcpFree(port)) return port;
  }
  throw new Error('no free port');
}

let started = 0;
const suite = basename(process.argv[1] ?? 'test', '.test.mjs');
function start(name, args) {
  // Numbered, so a second server of the same kind keeps its own log, and named after the
  // test file, so the Chromium and Firefox runs keep theirs.
  const log = join(artifacts, `${suite}-${++started}-${name}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(tether, args, { stdio: ['ignore', 'ignore', fd] });
  processes.push(child);
  return { child, log, text: () => readFileSync(log, 'utf8') };
}

export const USERS = {
  ops: { name: 'ops', role: 'operator', token: 'ops-token-2f9c' },
  viewer: { name: 'viewer', role: 'read', token: 'viewer-token-7d1a' },
};

export async function startServer(extra = [], role = 'server', users = Object.values(USERS)) {
  const coap = await freePort();
  const http = await freePort();
  const usersFile = join(mkdtempSync(join(work, 'users-')), 'users.json');
  writeFileSync(usersFile, JSON.stringify({ users }));
  const server = start(role, [role, '--data-dir', mkdtempSync(join(work, role + '-')), '--bind', '127.0.0.1', '--coap-port', String(coap), '--coaps-port', '0',
    '--http-port', String(http), '--store', 'memory', '--api-users', usersFile, ...extra]);
  server.coap = coap;
  server.url = `http://127.0.0.1:${http}/`;
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const r = await fetch(server.url + 'api/health');
      if (r.ok) break;
    } catch (e) {
      // not up yet
    }
    if (server.child.exitCode !== null) throw new Error('the server exited:\n' + server.text());
    if (Date.now() > deadline) throw new Error('the server did not come up:\n' + server.text());
    await new Promise((r) => setTimeout(r, 100));
  }
  return server;
}

// A folder of object definitions (--models) holding these files.
export function modelsDir(files) {
  const dir = mkdtempSync(join(work, 'models-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

export function startClient(server, endpoint, extra = []) {
  return start('client-' + endpoint, ['client', '-e', endpoint, '--server', `coap://127.0.0.1:${server.coap}`,
    '--lifetime', '60', ...extra]);
}

// The API as a test sees it (to check what the page did).
export async function api(server, path, user = USERS.ops, method = 'GET', body = undefined) {
  const r = await fetch(server.url + path.replace(/^\//, ''),
    { method, body, headers: { Authorization: 'Bearer ' + user.token } });
  return { status: r.status, body: await r.json() };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Records in page.problems what goes wrong in a page: console errors, script errors, CSP
// violations, failed loads. Playwright and puppeteer pages alike; `addScript` runs a
// function in every document the page loads.
export async function watchProblems(page, addScript) {
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => page.problems.push('page error: ' + e.message));
  await addScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective));
  });
}

// A signed-in page of the console (Playwright).
export async function openPage(browser, server, { user = USERS.ops, colorScheme = 'light', httpCredentials } = {}) {
  const context = await browser.newContext({ colorScheme, viewport: { width: 1280, height: 800 }, httpCredentials });
  const page = await context.newPage();
  await watchProblems(page, (script) => page.addInitScript(script));
  await page.goto(server.url);
  if (user) {
    await page.getByLabel('API token').fill(user.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').waitFor();
    page.problems.length = 0; // the 401 that asked for the token is expected
  }
  return page;
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `chromium-${name}.png`), fullPage: true });
}

export function stopAll() {
  for (const p of processes) if (p.exitCode === null) p.kill('SIGKILL');
}

// The time (ms since the epoch) of the first server log line that contains `text`.
export function loggedAt(server, text) {
  for (const line of server.text().split('\n')) {
    if (line.includes(text)) {
      const m = line.match(/ts=(\S+)/);
      if (m) return Date.parse(m[1]);
    }
  }
  return null;
}
