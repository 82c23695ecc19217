// The event-stream parser the console reads /api/events with (no browser needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser } from '../src/sse.js';

test('events split across chunks come out whole, comments skipped', () => {
  const p = new SseParser();
  assert.deepEqual(p.push(': tether events\n\nevent: registered\nda'), []);
  assert.deepEqual(p.push('ta: {"endpoint":"dev1"}\n\n: keep-alive\n\n'), [
    { event: 'registered', data: '{"endpoint":"dev1"}' },
  ]);
});

test('CRLF line ends, multi-line data and a default event name', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('data: a\r\ndata: b\r\n\r\nevent:x\ndata:1\n\n'), [
    { event: 'message', data: 'a\nb' },
    { event: 'x', data: '1' },
  ]);
});

test('an event without data is no event', () => {
  assert.deepEqual(new SseParser().push('event: registered\n\n'), []);
});
