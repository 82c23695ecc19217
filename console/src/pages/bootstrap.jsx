// The bootstrap server's console: configurations per endpoint (edited as the JSON the API
// takes, checked by a dry run as you go), server-initiated bootstrap, and the last session's
// steps, live from `bootstrap` events.
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, follow, get, query } from '../api.js';
import { usePages } from './paged.jsx';

const EXAMPLE = `{
  "security": {"1": {"uri": "coap://127.0.0.1:5683", "bootstrap": false, "mode": "nosec", "shortServerId": 101}},
  "servers": {"0": {"shortServerId": 101, "lifetime": 300, "binding": "U"}}
}`;

function Session({ endpoint }) {
  const [session, setSession] = useState(null);
  const [live, setLive] = useState([]);
  useEffect(() => {
    const load = () => get(`/api/bootstrap/${encodeURIComponent(endpoint)}/session`).then(({ status, body }) => setSession(status === 200 ? body : null));
    load();
    setLive([]);
    return follow({ endpoint, events: 'bootstrap' }, (kind, e) => {
      setLive((l) => [...l, e.detail].slice(-100));
      if (/^(finished|failed)/.test(e.detail ?? '')) load();
    });
  }, [endpoint]);
  return (
    <section aria-label="Last session">
      <h3>Last session</h3>
      {!session && <p class="muted">None yet.</p>}
      {session && (
        <>
          <p data-testid="session-state">{session.state}{session.error ? ': ' + session.error : ''} <span class="muted">{session.transport} {session.address}</span></p>
          <ol class="steps">
            {session.steps.map((s, i) => <li key={i}>{s.operation} {s.path} <strong>{s.result}</strong></li>)}
          </ol>
        </>
      )}
      {live.length > 0 && (
        <>
          <h4>Live</h4>
          <ol class="steps" data-testid="live">{live.map((d, i) => <li key={i}>{d}</li>)}</ol>
        </>
      )}
    </section>
  );
}

export function Bootstrap({ me }) {
  const readOnly = me.role === 'read';
  const why = readOnly ? 'read users may only read' : undefined;
  const [tick, setTick] = useState(0);
  const list = usePages('/api/bootstrap', 'configs', {}, tick);
  const [endpoint, setEndpoint] = useState('');
  const [text, setText] = useState(EXAMPLE);
  const [check, setCheck] = useState(null);
  const [answer, setAnswer] = useState(null);
  const timer = useRef(null);

  // Every edit is checked by the server (a dry run) a moment after typing stops.
  useEffect(() => {
    clearTimeout(timer.current);
    setCheck(null); // nothing typed since is checked yet: Save waits
    if (!endpoint || readOnly) return undefined;
    let live = true;
    timer.current = setTimeout(async () => {
      const r = await call('PUT', `/api/bootstrap/${encodeURIComponent(endpoint)}` + query({ dryRun: true }), text);
      if (live) setCheck(r);
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer.current);
    };
  }, [endpoint, text]);

  const open = (c) => {
    const { endpoint: ep, ...config } = c;
    setEndpoint(ep);
    setText(JSON.stringify(config, null, 2));
    setAnswer(null);
  };
  const save = async (e) => {
    e.preventDefault();
    const r = await call('PUT', `/api/bootstrap/${encodeURIComponent(endpoint)}`, text);
    setAnswer(r.status === 200 ? { ok: true, text: 'Saved.' } : { ok: false, text: `${r.body?.code} ${r.body?.message}` });
    if (r.status === 200) setTick(tick + 1);
  };
  const start = async () => {
    const r = await call('POST', `/api/bootstrap/${encodeURIComponent(endpoint)}/start`, {});
    setAnswer(r.status === 202 ? { ok: true, text: 'Bootstrap started.' } : { ok: false, text: `${r.body?.code} ${r.body?.message}` });
  };
  const remove = async () => {
    const r = await call('DELETE', `/api/bootstrap/${encodeURIComponent(endpoint)}`);
    setAnswer(r.status === 204 ? { ok: true, text: 'Removed.' } : { ok: false, text: `${r.body?.code} ${r.body?.message}` });
    setTick(tick + 1);
  };
  return (
    <main>
      <h1>Bootstrap configurations</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>{list.search}</form>
      {list.error && <p role="alert" class="error">{list.error}</p>}
      <ul class="configs">
        {list.rows.map((c) => (
          <li key={c.endpoint}><button type="button" class="link" onClick={() => open(c)}>{c.endpoint}</button></li>
        ))}
      </ul>
      {list.total === 0 && <p>No configuration yet.</p>}
      {list.pager}
      <h2>{endpoint ? 'Configuration of ' + endpoint : 'New configuration'}</h2>
      <form class="editor" onSubmit={save}>
        <label>Endpoint <input value={endpoint} required disabled={readOnly} onInput={(e) => setEndpoint(e.target.value)} /></label>
        <label class="block">Configuration (JSON, docs/bootstrap.md){' '}
          <textarea rows="12" spellcheck={false} value={text} disabled={readOnly} onInput={(e) => setText(e.target.value)} />
        </label>
        {check && (
          <p role="status" data-testid="check" class={check.status === 200 ? 'answer' : 'answer error'}>
            {check.status === 200 ? 'Valid.' : `${check.body?.code} ${check.body?.message}`}
          </p>
        )}
        <div class="buttons">
          <button type="submit" disabled={readOnly || check?.status !== 200} title={why}>Save</button>
          <button type="button" disabled={readOnly || !endpoint} title={why} onClick={start}>Start bootstrap</button>
          <button type="button" disabled={readOnly || !endpoint} title={why} onClick={remove}>Remove</button>
        </div>
      </form>
      {answer && <p role="status" class={answer.ok ? 'answer' : 'answer error'}>{answer.text}</p>}
      {endpoint && <Session endpoint={endpoint} />}
    </main>
  );
}
