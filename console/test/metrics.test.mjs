// The Prometheus text reader behind the console's server page (no browser needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMetrics, rate, total } from '../src/metrics.js';

const TEXT = `# HELP tether_registrations Clients registered now.
# TYPE tether_registrations gauge
tether_registrations 3
tether_requests_total{operation="read",result="2.05"} 10
tether_requests_total{operation="write",result="4.04"} 2
tether_requests_total{operation="read",result="timeout"} 1
tether_request_latency_seconds_bucket{le="0.005"} 4
`;

test('series by name and labels, comments skipped', () => {
  const m = parseMetrics(TEXT);
  assert.equal(m.tether_registrations, 3);
  assert.equal(m['tether_request_latency_seconds_bucket{le="0.005"}'], 4);
  assert.equal(total(m, 'tether_requests_total'), 13);
  assert.equal(total(m, 'tether_requests_total', (l) => !l.includes('result="2.')), 3);
  assert.equal(total(m, 'tether_missing'), 0);
});

test('rates per second, and a counter that restarted counts from zero', () => {
  assert.equal(rate(10, 30, 2), 10);
  assert.equal(rate(100, 6, 2), 3);
  assert.equal(rate(1, 2, 0), 0);
});
