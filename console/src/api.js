// The console's only way to the server: the documented REST API (docs/api.md), with the
// token the user typed kept for this tab only (sessionStorage) and sent as a bearer token.
import { SseParser } from './sse.js';

const TOKEN_KEY = 'tether-token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const h = { Accept: 'application/json', ...extra };
  if (token()) h.Authorization = 'Bearer ' + token();
  return h;
}

// Resolves to {status, body} (body parsed when JSON); never rejects on an HTTP status.
export async function call(method, path, body) {
  const init = { method, headers: headers(), cache: 'no-store' };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path.replace(/^\//, ''), init);
  } catch (e) {
    return { status: 0, body: { code: '5.03', message: 'the server cannot be reached' } };
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (e) {
    parsed = { message: text };
  }
  return { status: response.status, body: parsed };
}

export const get = (path) => call('GET', path);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

// Follows /api/events with these parameters until stop() is called; reconnects after a
// drop (and calls onReconnect, so the caller can fetch what it missed). onOpen(true/false)
// says whether the stream is connected.
export function follow(params, onEvent, onReconnect, onOpen) {
  const controller = new AbortController();
  let stopped = false;
  (async () => {
    let first = true;
    while (!stopped) {
      try {
        const response = await fetch('api/events' + query(params), {
          headers: headers({ Accept: 'text/event-stream' }),
          signal: controller.signal,
          cache: 'no-store',
        });
        if (!response.ok) throw new Error('status ' + response.status);
        if (!first && onReconnect) onReconnect();
        first = false;
        if (onOpen) onOpen(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const e of parser.push(value)) {
            try {
              onEvent(e.event, JSON.parse(e.data));
            } catch (err) {
              console.warn('event', e.event, err);
            }
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      if (onOpen) onOpen(false);
      if (!stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return () => {
    stopped = true;
    controller.abort();
  };
}
