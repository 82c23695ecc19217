// One device: its registration, and its objects named from the model registry
// (GET /api/models/{id}), each instance with its resources and values, and every operation
// of the REST API on them (docs/api.md, Routes) in the content format chosen.
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, follow, get, query } from '../api.js';
import { Badge, stateOf } from './devices.jsx';
import { Answer, NUMERIC } from './editors.jsx';
import { Instance } from './instance.jsx';
import { Plot } from './plot.jsx';
import { CompositePanel, CreateForm, PathTools } from './tools.jsx';

// docs/api.md, Formats: the names ?format= takes.
const FORMATS = ['text', 'opaque', 'tlv', 'senml-json', 'senml-cbor', 'lwm2m-cbor', 'json'];

const plotted = (def) => NUMERIC.has(def?.type) && !def?.multiple;

function Field({ name, children }) {
  return <div><dt>{name}</dt><dd>{children}</dd></div>;
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
  const [values, setValues] = useState({}); // path -> value, from reads and notifications
  const [answers, setAnswers] = useState({}); // instance or object path -> last answer
  const [observed, setObserved] = useState({}); // path -> {id, def, points: [{t, v}]}
  const [composites, setComposites] = useState([]); // [{id, paths}]
  const [selected, setSelected] = useState(new Set());
  const [format, setFormat] = useState('');
  const [toolsPath, setToolsPath] = useState('/3/0');
  const [confirming, setConfirming] = useState(null);
  const [requests, setRequests] = useState([]);
  const [notice, setNotice] = useState(null);
  const readOnly = me?.role === 'read';
  const why = readOnly ? 'read users may only read' : undefined;
  const [gone, setGone] = useState(null);
  const [error, setError] = useState('');
  const [models, setModels] = useState({});
  const base = '/api/clients/' + encodeURIComponent(endpoint);
  const merge = (more) => setValues((v) => ({ ...v, ...more }));

  const known = useRef(false); // a registration was seen: a late 404 is not the news
  useEffect(() => {
    let live = true;
    // Read when the page opens and again whenever the event stream (re)connects, so a
    // registration between the two is never missed.
    const load = () => get(base).then(({ status, body }) => {
      if (!live) return;
      if (status === 200) {
        known.current = true;
        setError('');
        setReg(body);
      } else if (!known.current) setError(`${body?.code ?? status} ${body?.message ?? ''}`);
    });
    load();
    get(base + '/requests').then(({ status, body }) => live && status === 200 && setRequests(body));
    const events = 'registered,updated,deregistered,expired,awake,sleeping,notification,send,request';
    const stop = follow({ endpoint, events }, (kind, e) => {
      if (kind === 'notification' || kind === 'send') {
        const got = e.content?.values ?? {};
        const at = e.time ? Date.parse(e.time) : Date.now();
        merge(got);
        setObserved((o) => {
          const next = { ...o };
          for (const [p, v] of Object.entries(got)) {
            if (next[p] && typeof v === 'number') next[p] = { ...next[p], points: [...next[p].points, { t: at, v }].slice(-500) };
          }
          return next;
        });
      } else if (kind === 'request') {
        setRequests((r) => [e, ...r].slice(0, 50));
      } else if (kind === 'expired' || kind === 'deregistered') setGone(kind);
      else if (kind === 'awake' || kind === 'sleeping') setReg((r) => r && { ...r, awake: kind === 'awake' });
      else if (e.registration) {
        // A page opened before the device registered comes alive when it does.
        known.current = true;
        setError('');
        setGone(null);
        setReg((r) => ({ ...r, ...e.registration, awake: true }));
      }
    }, undefined, (open) => open && load());
    return () => {
      live = false;
      stop();
    };
  }, [endpoint]);

  // Observations this page started end when it closes: nobody would see their values. Each
  // is ended by its own ID, so others' observations of the same path stay; one whose answer
  // comes after the page closed is ended then.
  const endObservation = (id) => call('DELETE', base + '/observations/' + encodeURIComponent(id));
  const mine = useRef({});
  mine.current = { observed, composites };
  const closed = useRef(false);
  useEffect(() => {
    closed.current = false;
    return () => {
      closed.current = true;
      for (const o of Object.values(mine.current.observed)) endObservation(o.id);
      for (const c of mine.current.composites) endObservation(c.id);
    };
  }, [endpoint]);
  const started = (id) => {
    if (!closed.current) return true;
    endObservation(id);
    return false;
  };

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

  // One call to the device; reads and writes carry the chosen format, and values that come
  // back join the table.
  const run = async (method, suffix, body, formatted = true) => {
    const f = formatted && format ? (suffix.includes('?') ? '&' : '?') + 'format=' + format : '';
    const r = await call(method, base + suffix + f, body);
    if (r.status === 200 && r.body?.values) merge(r.body.values);
    return r;
  };
  // An answer shows on its instance (or object) line; a Delete's on the object's, since the
  // instance it removed leaves the page.
  const answerAt = (path, depth = 3) => (r) => {
    const key = path.split('/').slice(0, depth).join('/');
    setAnswers((a) => ({ ...a, [key]: r }));
    return r;
  };
  const ops = {
    read: async (p) => answerAt(p)(await run('GET', p)),
    // After a Write, the value is read back (the answer shown stays the Write's).
    write: async (p, value) => {
      if (answerAt(p)(await run('PUT', p, JSON.stringify(value))).status !== 200) return;
      setValues((v) => Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith(p + '/'))));
      await run('GET', p);
    },
    execute: async (p, args) => answerAt(p)(await run('POST', p, args, false)),
    remove: async (p) => {
      setConfirming(null);
      const r = answerAt(p, 2)(await run('DELETE', p, undefined, false));
      if (r.status === 200) setValues((v) => Object.fromEntries(Object.entries(v).filter(([k]) => k !== p && !k.startsWith(p + '/'))));
    },
    confirm: setConfirming,
    tools: (p) => {
      setToolsPath(p);
      document.getElementById('tools')?.scrollIntoView();
    },
    select: (p, on) => setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(p);
      else next.delete(p);
      return next;
    }),
    observe: async (path, def) => {
      const r = await run('POST', path + '/observe' + query({ pmin: 1, pmax: 2 }), undefined, false);
      setNotice(r);
      if (r.status !== 200 || !r.body?.observation || !started(r.body.observation)) return;
      const first = r.body.values?.[path];
      const points = typeof first === 'number' ? [{ t: Date.now(), v: first }] : [];
      setObserved((o) => ({ ...o, [path]: { id: r.body.observation, def, points } }));
    },
    cancel: async (path) => {
      setNotice(await endObservation(observed[path].id));
      setObserved((o) => {
        const next = { ...o };
        delete next[path];
        return next;
      });
    },
  };
  const cancelComposite = async (id) => {
    setNotice(await endObservation(id));
    setComposites((c) => c.filter((x) => x.id !== id));
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
        <Field name="Formats">{(reg.contentFormats ?? []).join(', ') || 'not listed'}</Field>
      </dl>
      {readOnly && <p class="muted" role="note">You may only read: writing, executing and observing need an operator.</p>}
      {Object.keys(observed).length > 0 && <h2>Observed</h2>}
      {/* Numeric values are plotted; the others change in the table as they come. */}
      {Object.entries(observed).map(([p, o]) => (plotted(o.def) ? (
        <Plot key={p} path={p} name={o.def?.name} units={o.def?.units} points={o.points} />
      ) : (
        <p key={p} data-observed={p}>{p} {o.def?.name}: {Object.entries(values)
          .filter(([k]) => k === p || k.startsWith(p + '/')).map(([, v]) => String(v)).join(', ') || '…'}</p>
      )))}
      {composites.length > 0 && (
        <ul class="composites" aria-label="Composite observations">
          {composites.map((c) => (
            <li key={c.id}>{c.paths.join(', ')}{' '}
              <button type="button" onClick={() => cancelComposite(c.id)} disabled={readOnly}
                aria-label={'Cancel the observation of ' + c.paths.join(', ')}>Cancel</button>
            </li>
          ))}
        </ul>
      )}
      <Answer result={notice} />
      <CompositePanel selected={selected} values={values} run={run} readOnly={readOnly} why={why}
        onObserved={(id, paths) => started(id) && setComposites((c) => [...c, { id, paths }])} onClear={() => setSelected(new Set())} />
      <h2>Objects</h2>
      <p>
        <label>Content format <select value={format} onChange={(e) => setFormat(e.target.value)}>
          <option value="">the device's choice</option>
          {FORMATS.map((f) => <option key={f} value={f}>{f}</option>)}
        </select></label>
      </p>
      <ul class="objects">
        {reg.objects.map((o) => (
          <li key={o.id}>
            <h3>{models[o.id]?.name ?? 'Object'} <span class="muted">/{o.id}{o.version ? ' v' + o.version : ''}</span></h3>
            <div class="instance-head">
              <button type="button" onClick={() => ops.read('/' + o.id)} aria-label={'Read /' + o.id}>Read all</button>
              {(models[o.id]?.multiple !== false || o.instances.length === 0) && (
                <CreateForm key={models[o.id] ? 'model' : 'none'} objectId={o.id} model={models[o.id]} disabled={readOnly} why={why}
                  onCreate={async (b) => answerAt('/' + o.id)(await run('POST', '/' + o.id, b))} />
              )}
              <Answer result={answers['/' + o.id]} />
            </div>
            <ul>
              {o.instances.map((i) => (
                <Instance key={i} objectId={o.id} instance={i} model={models[o.id]} values={values}
                  readOnly={readOnly} observed={observed} selected={selected} answer={answers[`/${o.id}/${i}`]}
                  confirming={confirming} ops={ops} />
              ))}
            </ul>
          </li>
        ))}
      </ul>
      <div id="tools">
        <PathTools run={(m, s) => run(m, s, undefined, false)} readOnly={readOnly} why={why} path={toolsPath} setPath={setToolsPath} />
      </div>
      <h2>Requests</h2>
      <RequestLog entries={requests} />
    </main>
  );
}
