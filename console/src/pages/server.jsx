// The server's figures from /metrics, sampled every two seconds: registrations, requests to
// devices per second and their errors, (D)TLS sessions, resident memory.
import { useEffect, useState } from 'preact/hooks';
import { token } from '../api.js';
import { parseMetrics, rate, total } from '../metrics.js';
import { Plot } from './plot.jsx';

const EVERY_MS = 2000;

async function sample() {
  const r = await fetch('metrics', { headers: token() ? { Authorization: 'Bearer ' + token() } : {}, cache: 'no-store' });
  if (!r.ok) throw new Error(String(r.status));
  return { t: Date.now(), m: parseMetrics(await r.text()) };
}

// What each chart shows, from the previous sample and this one.
const CHARTS = [
  { key: 'registrations', name: 'Registrations', value: (a, b) => total(b.m, 'tether_registrations') + total(b.m, 'tether_bootstrap_configs') },
  { key: 'requests', name: 'Requests to devices', units: '/s', value: (a, b, s) => rate(total(a.m, 'tether_requests_total'), total(b.m, 'tether_requests_total'), s) },
  {
    key: 'errors', name: 'Failed requests', units: '/s',
    value: (a, b, s) => {
      const failed = (l) => !l.includes('result="2.');
      return rate(total(a.m, 'tether_requests_total', failed), total(b.m, 'tether_requests_total', failed), s);
    },
  },
  { key: 'secure', name: '(D)TLS sessions', value: (a, b) => total(b.m, 'tether_secure_sessions') },
  { key: 'memory', name: 'Resident memory', units: 'MiB', value: (a, b) => Math.round(total(b.m, 'tether_process_resident_bytes') / 1048576) },
];

export function Server() {
  const [series, setSeries] = useState(Object.fromEntries(CHARTS.map((c) => [c.key, []])));
  const [error, setError] = useState('');
  useEffect(() => {
    let previous = null;
    let live = true;
    const tick = async () => {
      try {
        const now = await sample();
        if (!live) return;
        setError('');
        if (previous) {
          const seconds = (now.t - previous.t) / 1000;
          const p = previous;
          setSeries((s) => Object.fromEntries(CHARTS.map((c) => [c.key, [...s[c.key], { t: now.t, v: c.value(p, now, seconds) }].slice(-300)])));
        }
        previous = now;
      } catch (e) {
        setError('/metrics: ' + e.message);
      }
    };
    tick();
    const timer = setInterval(tick, EVERY_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return (
    <main>
      <h1>Server</h1>
      <p class="muted">From <code>/metrics</code> every two seconds; the same figures a Prometheus scrape gets.</p>
      {error && <p role="alert" class="error">{error}</p>}
      {CHARTS.map((c) => <Plot key={c.key} path={c.key} name={c.name} units={c.units} points={series[c.key]} />)}
    </main>
  );
}
