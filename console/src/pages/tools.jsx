// The device page's operations on a path or a set of paths: Discover and Write-Attributes
// (Core TS 5.4.1, 5.4.4: on an object, an instance or a resource), Create, and the
// composite Read, Observe and Write of the selected resources (Core TS 5.4.5).
import { useState } from 'preact/hooks';
import { query } from '../api.js';
import { Answer } from './editors.jsx';

// Core TS 5.1.2: the notification attributes a Write-Attributes may set.
const ATTRIBUTES = ['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax', 'edge', 'con', 'hqmax'];
export const PATH = /^\/\d{1,5}(\/\d{1,5}){0,3}$/;

export function PathTools({ run, readOnly, why, path, setPath }) {
  const [depth, setDepth] = useState('');
  const [attrs, setAttrs] = useState({});
  const [unsetBlank, setUnsetBlank] = useState(false);
  const [result, setResult] = useState(null);
  const valid = PATH.test(path);
  const discover = async (e) => {
    e.preventDefault();
    setResult(await run('GET', path + '/discover' + query({ depth })));
  };
  const writeAttributes = async () => {
    const q = new URLSearchParams();
    for (const name of ATTRIBUTES) {
      const v = (attrs[name] ?? '').trim();
      if (v !== '') q.append(name, v);
    }
    // A name without a value unsets that attribute (docs/api.md).
    let s = q.toString();
    if (unsetBlank) {
      const blank = ATTRIBUTES.filter((n) => (attrs[n] ?? '').trim() === '');
      s = [s, ...blank].filter(Boolean).join('&');
    }
    setResult(await run('PUT', path + '/attributes' + (s ? '?' + s : '')));
  };
  return (
    <section class="tools" aria-label="Discover and attributes">
      <h2>Discover and attributes</h2>
      <form class="inline" onSubmit={discover}>
        <label>Path <input value={path} size="14" onInput={(e) => setPath(e.target.value.trim())}
          aria-invalid={valid ? 'false' : 'true'} /></label>
        <label>Depth <select value={depth} onChange={(e) => setDepth(e.target.value)}>
          <option value="">default</option><option>0</option><option>1</option><option>2</option><option>3</option>
        </select></label>
        <button type="submit" disabled={!valid}>Discover</button>
      </form>
      <fieldset class="attributes" disabled={readOnly || !valid} title={why}>
        <legend>Notification attributes of {path}</legend>
        {ATTRIBUTES.map((name) => (
          <label key={name}>{name} <input size="5" value={attrs[name] ?? ''} inputMode="decimal"
            onInput={(e) => setAttrs({ ...attrs, [name]: e.target.value })} /></label>
        ))}
        <label><input type="checkbox" checked={unsetBlank} onChange={(e) => setUnsetBlank(e.target.checked)} /> unset the blank ones</label>
        <button type="button" onClick={writeAttributes}>Write attributes</button>
      </fieldset>
      <Answer result={result} />
      {result?.body?.discovered && (
        <table class="discovered">
          <thead><tr><th scope="col">Path</th><th scope="col">Attributes</th><th scope="col">Instances</th></tr></thead>
          <tbody>
            {result.body.discovered.map((d) => (
              <tr key={d.path} data-path={d.path}>
                <td>{d.path}{d.version ? ` v${d.version}` : ''}</td>
                <td>{d.attributes ?? ''}</td>
                <td>{d.dim ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

// A new instance of an object: a JSON object of resource IDs (relative) or paths and
// values, as for a Write (docs/api.md, Values); the device picks the instance ID.
export function CreateForm({ objectId, model, onCreate, disabled, why }) {
  const sample = {};
  for (const r of model?.resources ?? []) {
    if (r.mandatory && r.operations.includes('W')) sample[r.id] = r.type === 'Boolean' ? false : r.type === 'String' ? '' : 0;
  }
  const [text, setText] = useState(JSON.stringify(sample));
  const [problem, setProblem] = useState('');
  const submit = (e) => {
    e.preventDefault();
    let body;
    try {
      body = JSON.parse(text);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error();
    } catch (err) {
      setProblem('a JSON object of resource IDs and values');
      return;
    }
    setProblem('');
    onCreate(body);
  };
  return (
    <form class="inline" onSubmit={submit}>
      <input aria-label={`Values of a new /${objectId} instance`} value={text} size="28" disabled={disabled}
        onInput={(e) => setText(e.target.value)} />
      <button type="submit" disabled={disabled} title={why} aria-label={`Create an instance of /${objectId}`}>Create</button>
      {problem && <span class="error" role="alert">{problem}</span>}
    </form>
  );
}

// The resources ticked in the tables, read, observed or written together. All three are
// POSTs (docs/api.md), so a read user may do none of them.
export function CompositePanel({ selected, values, run, readOnly, why, onObserved, onClear }) {
  const [writing, setWriting] = useState(null);
  const [result, setResult] = useState(null);
  const paths = [...selected];
  if (!paths.length && !result) return null;
  const read = async () => setResult(await run('POST', '/composite/read', { paths }));
  const observe = async () => {
    const r = await run('POST', '/composite/observe' + query({ pmin: 1, pmax: 2 }), { paths });
    setResult(r);
    if (r.status === 200 && r.body?.observation) onObserved(r.body.observation, paths);
  };
  const startWrite = () => {
    const body = {};
    for (const p of paths) body[p] = values[p] ?? '';
    setWriting(JSON.stringify(body));
  };
  const write = async (e) => {
    e.preventDefault();
    let body;
    try {
      body = JSON.parse(writing);
    } catch (err) {
      setResult({ status: 400, body: { message: 'not JSON' } });
      return;
    }
    setResult(await run('POST', '/composite/write', body));
  };
  return (
    <section class="composite" aria-label="Selected resources">
      <h2>Selected resources</h2>
      <p>{paths.join(', ') || 'none'}</p>
      <button type="button" onClick={read} disabled={readOnly || !paths.length} title={why}>Read selected</button>
      <button type="button" onClick={observe} disabled={readOnly || !paths.length} title={why}>Observe selected</button>
      <button type="button" onClick={startWrite} disabled={readOnly || !paths.length} title={why}>Write selected…</button>
      <button type="button" onClick={() => { setResult(null); setWriting(null); onClear(); }}>Clear</button>
      {writing !== null && (
        <form class="inline" onSubmit={write}>
          <input aria-label="Values of the composite write" value={writing} size="48" onInput={(e) => setWriting(e.target.value)} />
          <button type="submit" disabled={readOnly}>Write</button>
        </form>
      )}
      <Answer result={result} />
    </section>
  );
}
