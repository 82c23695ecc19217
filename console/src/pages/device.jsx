// One device: its registration, and its objects named from the model registry
// (GET /api/models/{id}), each instance readable, its resources listed with their values.
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, follow, get, query } from '../api.js';
import { Badge, stateOf } from './devices.jsx';
import { Plot } from './plot.jsx';

// "/3/0/2" before "/3/0/10": paths compare by their numbers.
function byPath([a], [b]) {
  const x = a.split('/').slice(1).map(Number);
  const y = b.split('/').slice(1).map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? -1) !== (y[i] ?? -1)) return (x[i] ?? -1) - (y[i] ?? -1);
  }
  return 0;
}

function Field({ name, children }) {
  return <div><dt>{name}</dt><dd>{children}</dd></div>;
}

function Answer({ result }) {
  if (!result) return null;
  const { status, body } = result;
  const ok = status >= 200 && status < 300;
  return (
    <p class={ok ? 'answer' : 'answer error'} role="status">
      <strong>{body?.code ?? status}</strong> {body?.status ?? body?.message ?? ''}
    </p>
  );
}

const NUMERIC = new Set(['Integer', 'Unsigned Integer', 'Float', 'Time']);

// The value a Write sends, from what was typed, by the resource's type in the model.
export function typedValue(type, text) {
  if (type === 'Integer' || type === 'Unsigned Integer' || type === 'Time') {
    if (!/^-?\d+$/.test(text.trim())) throw new Error('a whole number');
    return Number(text);
  }
  if (type === 'Float') {
    if (text.trim() === '' || Number.isNaN(Number(text))) throw new Error('a number');
    return Number(text);
  }
  if (type === 'Boolean') {
    if (text !== 'true' && text !== 'false') throw new Error('true or false');
    return text === 'true';
  }
  return text;
}

function Editor({ def, onWrite, disabled, why }) {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState('');
  const submit = (e) => {
    e.preventDefault();
    try {
      onWrite(typedValue(def.type, text));
      setProblem('');
    } catch (err) {
      setProblem(`${def.name} takes ${err.message}`);
    }
  };
  const label = `New value of ${def.name}`;
  return (
    <form class="inline" onSubmit={submit}>
      {def.type === 'Boolean' ? (
        <select aria-label={label} value={text} onChange={(e) => setText(e.target.value)} disabled={disabled}>
          <option value="">…</option><option value="true">true</option><option value="false">false</option>
        </select>
      ) : (
        <input aria-label={label} value={text} size="12" disabled={disabled}
          inputMode={NUMERIC.has(def.type) ? 'decimal' : 'text'} onInput={(e) => setText(e.target.value)} />
      )}
      <button type="submit" disabled={disabled} title={why}>Write</button>
      {problem && <span class="error" role="alert">{problem}</span>}
    </form>
  );
}

function Instance({ endpoint, objectId, instance, model, readOnly, observed, onObserve, onCancel }) {
  const [result, setResult] = useState(null);
  const [values, setValues] = useState({});
  const path = `/${objectId}/${instance}`;
  const base = '/api/clients/' + encodeURIComponent(endpoint);
  const why = readOnly ? 'read users may only read' : undefined;
  const answer = (r) => {
    setResult(r);
    if (r.status === 200 && r.body?.values) setValues((v) => ({ ...v, ...r.body.values }));
    return r;
  };
  const read = async (p = path) => answer(await call('GET', base + p));
  // After a Write, the value is read back (the answer shown stays the Write's).
  const write = async (p, value) => {
    if ((await answer(await call('PUT', base + p, JSON.stringify(value)))).status !== 200) return;
    const back = await call('GET', base + p);
    if (back.status === 200 && back.body?.values) setValues((v) => ({ ...v, ...back.body.values }));
  };
  const execute = async (p, args) => answer(await call('POST', base + p, args));
  const resources = model?.resources ?? [];
  const shown = new Map(resources.map((r) => [`${path}/${r.id}`, r]));
  for (const p of Object.keys(values)) {
    const rid = Number(p.split('/')[3]);
    const key = `${path}/${rid}`;
    if (!shown.has(key)) shown.set(key, { id: rid, name: '', operations: 'R', type: 'String', units: '' });
  }
  const valueOf = (rpath) =>
    Object.entries(values).filter(([p]) => p === rpath || p.startsWith(rpath + '/')).sort(byPath)
      .map(([p, v]) => (p === rpath ? '' : p.slice(rpath.length + 1) + ': ') + (typeof v === 'object' ? JSON.stringify(v) : String(v)))
      .join(', ');
  return (
    <li class="instance">
      <div class="instance-head">
        <span>{path}</span>
        <button type="button" onClick={() => read()} aria-label={'Read ' + path}>Read</button>
        <Answer result={result} />
      </div>
      <table class="values">
        <thead><tr><th scope="col">Resource</th><th scope="col">Name</th><th scope="col">Value</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {[...shown.entries()].sort(byPath).map(([rpath, def]) => {
            const ops = def.operations;
            const observing = observed[rpath];
            return (
              <tr key={rpath} data-path={rpath}>
                <td>{rpath}</td>
                <td>{def.name}</td>
                <td class="value">{valueOf(rpath)}{def.units && valueOf(rpath) ? ' ' + def.units : ''}</td>
                <td class="actions">
                  {ops.includes('R') && <button type="button" aria-label={'Read ' + rpath} onClick={() => read(rpath)}>Read</button>}
                  {ops.includes('R') && NUMERIC.has(def.type) && !def.multiple && (observing ? (
                    <button type="button" aria-label={'Cancel the observation of ' + rpath} disabled={readOnly} title={why} onClick={() => onCancel(rpath)}>Cancel</button>
                  ) : (
                    <button type="button" aria-label={'Observe ' + rpath} disabled={readOnly} title={why} onClick={() => onObserve(rpath, def)}>Observe</button>
                  ))}
                  {ops.includes('W') && !def.multiple && <Editor def={def} disabled={readOnly} why={why} onWrite={(v) => write(rpath, v)} />}
                  {ops.includes('E') && <ExecuteForm rpath={rpath} disabled={readOnly} why={why} onExecute={(a) => execute(rpath, a)} />}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </li>
  );
}

function ExecuteForm({ rpath, disabled, why, onExecute }) {
  const [args, setArgs] = useState('');
  return (
    <form class="inline" onSubmit={(e) => { e.preventDefault(); onExecute(args); }}>
      <input aria-label={'Arguments for ' + rpath} placeholder="0='a',1" size="8" value={args} disabled={disabled}
        onInput={(e) => setArgs(e.target.value)} />
      <button type="submit" disabled={disabled} title={why} aria-label={'Execute ' + rpath}>Execute</button>
    </form>
  );
}

function RequestLog({ entries }) {
  if (!entries.length) return <p class="muted">No request made through the API yet.</p>;
  return (
    <table class="requests">
      <thead><tr><th scope="col">Time</th><th scope="col">User</th><th scope="col">Operation</th><th scope="col">Path</th><th scope="col">Result</th><th scope="col">ms</th></tr></thead>
      <tbody>
        {entries.map((e, i) => (
          <tr key={i}>
            <td><time dateTime={e.time}>{new Date(e.time).toLocaleTimeString()}</time></td>
            <td>{e.user ?? 'anonymous'}</td>
            <td>{e.operation}</td>
            <td>{e.path ?? (e.paths || []).join(' ')}</td>
            <td>{e.code ?? e.result}</td>
            <td>{e.ms}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Device({ endpoint, me }) {
  const [reg, setReg] = useState(null);
  const [observed, setObserved] = useState({}); // path -> {id, def, points: [{t, v}]}
  const [requests, setRequests] = useState([]);
  const [notice, setNotice] = useState(null);
  const readOnly = me?.role === 'read';
  const [gone, setGone] = useState(null);
  const [error, setError] = useState('');
  const [models, setModels] = useState({});
  const base = '/api/clients/' + encodeURIComponent(endpoint);

  useEffect(() => {
    let live = true;
    get(base).then(({ status, body }) => {
      if (!live) return;
      if (status === 200) setReg(body);
      else setError(`${body?.code ?? status} ${body?.message ?? ''}`);
    });
    get(base + '/requests').then(({ status, body }) => live && status === 200 && setRequests(body));
    const events = 'registered,updated,deregistered,expired,awake,sleeping,notification,send,request';
    const stop = follow({ endpoint, events }, (kind, e) => {
      if (kind === 'notification' || kind === 'send') {
        const values = e.content?.values ?? {};
        const at = e.time ? Date.parse(e.time) : Date.now();
        setObserved((o) => {
          const next = { ...o };
          for (const [p, v] of Object.entries(values)) {
            if (next[p] && typeof v === 'number') next[p] = { ...next[p], points: [...next[p].points, { t: at, v }].slice(-500) };
          }
          return next;
        });
      } else if (kind === 'request') {
        setRequests((r) => [e, ...r].slice(0, 50));
      } else if (kind === 'expired' || kind === 'deregistered') setGone(kind);
      else if (kind === 'awake' || kind === 'sleeping') setReg((r) => r && { ...r, awake: kind === 'awake' });
      else if (e.registration) {
        setGone(null);
        setReg((r) => ({ ...r, ...e.registration, awake: true }));
      }
    });
    return () => {
      live = false;
      stop();
    };
  }, [endpoint]);

  // Observations this page started end when it closes: nobody would see their values.
  const mine = useRef({});
  mine.current = observed;
  useEffect(
    () => () => {
      for (const path of Object.keys(mine.current)) call('DELETE', base + path + '/observe');
    },
    [endpoint],
  );

  useEffect(() => {
    if (!reg) return;
    for (const o of reg.objects) {
      if (models[o.id]) continue;
      get(`/api/models/${o.id}` + query(o.version ? { version: o.version } : { lwm2m: reg.version }))
        .then(({ status, body }) => {
          if (status === 200) setModels((m) => ({ ...m, [o.id]: body }));
        });
    }
  }, [reg?.objectLinks]);

  const observe = async (path, def) => {
    const r = await call('POST', base + path + '/observe' + query({ pmin: 1, pmax: 2 }));
    setNotice(r);
    if (r.status !== 200 || !r.body?.observation) return;
    const first = r.body.values?.[path];
    const points = typeof first === 'number' ? [{ t: Date.now(), v: first }] : [];
    setObserved((o) => ({ ...o, [path]: { id: r.body.observation, def, points } }));
  };
  const cancel = async (path) => {
    const r = await call('DELETE', base + path + '/observe');
    setNotice(r);
    setObserved((o) => {
      const next = { ...o };
      delete next[path];
      return next;
    });
  };

  if (error) return <main><h1>{endpoint}</h1><p role="alert" class="error">{error}</p></main>;
  if (!reg) return <main aria-busy="true"><h1>{endpoint}</h1></main>;
  return (
    <main>
      <p><a href="#/devices">← Devices</a></p>
      <h1>{endpoint} <Badge state={stateOf(reg, gone)} /></h1>
      <dl class="details">
        <Field name="Binding">{reg.binding}{reg.queueMode ? ' (queue mode)' : ''}</Field>
        <Field name="LwM2M">{reg.version}</Field>
        <Field name="Lifetime">{reg.lifetime} s</Field>
        <Field name="Last update"><time dateTime={reg.lastUpdate}>{new Date(reg.lastUpdate).toLocaleString()}</time></Field>
        <Field name="Expires"><time dateTime={reg.expiresAt}>{new Date(reg.expiresAt).toLocaleString()}</time></Field>
        <Field name="Security">{reg.security}</Field>
        <Field name="Transport">{reg.transport} {reg.address}</Field>
        <Field name="Location">{reg.location}</Field>
      </dl>
      {readOnly && <p class="muted" role="note">You may only read: writing, executing and observing need an operator.</p>}
      {Object.keys(observed).length > 0 && <h2>Observed</h2>}
      {Object.entries(observed).map(([p, o]) => (
        <Plot key={p} path={p} name={o.def?.name} units={o.def?.units} points={o.points} />
      ))}
      <Answer result={notice} />
      <h2>Objects</h2>
      <ul class="objects">
        {reg.objects.map((o) => (
          <li key={o.id}>
            <h3>{models[o.id]?.name ?? 'Object'} <span class="muted">/{o.id}{o.version ? ' v' + o.version : ''}</span></h3>
            <ul>
              {o.instances.map((i) => (
                <Instance key={i} endpoint={endpoint} objectId={o.id} instance={i} model={models[o.id]}
                  readOnly={readOnly} observed={observed} onObserve={observe} onCancel={cancel} />
              ))}
            </ul>
          </li>
        ))}
      </ul>
      <h2>Requests</h2>
      <RequestLog entries={requests} />
    </main>
  );
}
