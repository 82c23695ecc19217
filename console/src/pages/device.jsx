// One device: its registration, and its objects named from the model registry
// (GET /api/models/{id}), each instance readable, its resources listed with their values.
import { useEffect, useState } from 'preact/hooks';
import { call, follow, get, query } from '../api.js';
import { Badge, stateOf } from './devices.jsx';

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

function Instance({ endpoint, objectId, instance, model }) {
  const [result, setResult] = useState(null);
  const path = `/${objectId}/${instance}`;
  const base = '/api/clients/' + encodeURIComponent(endpoint);
  const read = async () => setResult(await call('GET', base + path));
  const values = result?.body?.values ?? {};
  const resources = model?.resources ?? [];
  return (
    <li class="instance">
      <div class="instance-head">
        <span>{path}</span>
        <button type="button" onClick={read} aria-label={'Read ' + path}>Read</button>
        <Answer result={result} />
      </div>
      {result && (
        <table class="values">
          <thead><tr><th scope="col">Resource</th><th scope="col">Name</th><th scope="col">Value</th><th scope="col">Units</th></tr></thead>
          <tbody>
            {Object.entries(values).sort(byPath).map(([p, v]) => {
              const id = Number(p.split('/')[3]);
              const def = resources.find((r) => r.id === id);
              return (
                <tr key={p} data-path={p}>
                  <td>{p}</td>
                  <td>{def?.name ?? ''}</td>
                  <td class="value">{typeof v === 'object' ? JSON.stringify(v) : String(v)}</td>
                  <td>{def?.units ?? ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </li>
  );
}

export function Device({ endpoint }) {
  const [reg, setReg] = useState(null);
  const [gone, setGone] = useState(null);
  const [error, setError] = useState('');
  const [models, setModels] = useState({});
  const base = '/api/clients/' + encodeURIComponent(endpoint);

  useEffect(() => {
    get(base).then(({ status, body }) => {
      if (status === 200) setReg(body);
      else setError(`${body?.code ?? status} ${body?.message ?? ''}`);
    });
    return follow({ endpoint, events: 'registered,updated,deregistered,expired,awake,sleeping' }, (kind, e) => {
      if (kind === 'expired' || kind === 'deregistered') setGone(kind);
      else if (kind === 'awake' || kind === 'sleeping') setReg((r) => r && { ...r, awake: kind === 'awake' });
      else if (e.registration) {
        setGone(null);
        setReg((r) => ({ ...r, ...e.registration, awake: true }));
      }
    });
  }, [endpoint]);

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
      <h2>Objects</h2>
      <ul class="objects">
        {reg.objects.map((o) => (
          <li key={o.id}>
            <h3>{models[o.id]?.name ?? 'Object'} <span class="muted">/{o.id}{o.version ? ' v' + o.version : ''}</span></h3>
            <ul>
              {o.instances.map((i) => (
                <Instance key={i} endpoint={endpoint} objectId={o.id} instance={i} model={models[o.id]} />
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </main>
  );
}
