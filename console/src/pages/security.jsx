// Credentials per endpoint (Transport TS 5.2.6): listed with keys masked (the API never
// returns one), set per mode with write-only key fields, removed.
import { useState } from 'preact/hooks';
import { call } from '../api.js';
import { usePages } from './paged.jsx';

const MODES = {
  psk: [['identity', 'PSK identity', 'text'], ['key', 'Key (hex)', 'password']],
  rpk: [['publicKey', 'Public key (hex DER)', 'text']],
  x509: [['commonName', 'Certificate CN', 'text']],
  oscore: [['masterSecret', 'Master secret (hex)', 'password'], ['senderId', 'Sender ID (hex)', 'text'], ['recipientId', 'Recipient ID (hex)', 'text']],
};

function shown(c) {
  const secret = (c.keySet || c.masterSecretSet || c.passwordSet) ? 'set (hidden)' : '';
  return [c.identity, c.publicKey && c.publicKey.slice(0, 16) + '…', c.commonName, c.senderId && 'sender ' + c.senderId, secret]
    .filter(Boolean).join(' · ');
}

export function Security({ me }) {
  const readOnly = me.role === 'read';
  const why = readOnly ? 'read users may only read' : undefined;
  const [tick, setTick] = useState(0);
  const list = usePages('/api/security/clients', 'credentials', {}, tick);
  const [endpoint, setEndpoint] = useState('');
  const [mode, setMode] = useState('psk');
  const [fields, setFields] = useState({});
  const [answer, setAnswer] = useState(null);
  const save = async (e) => {
    e.preventDefault();
    const body = { mode };
    for (const [name] of MODES[mode]) body[name] = fields[name] ?? '';
    const r = await call('PUT', '/api/security/clients/' + encodeURIComponent(endpoint), body);
    setAnswer(r);
    if (r.status === 200) {
      setFields({});
      setTick(tick + 1);
    }
  };
  const remove = async (ep) => {
    setAnswer(await call('DELETE', '/api/security/clients/' + encodeURIComponent(ep)));
    setTick(tick + 1);
  };
  return (
    <main>
      <h1>Security</h1>
      <p class="muted">Keys go in and never come out: the list says that a key is set, not what it is.</p>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>{list.search}</form>
      {list.error && <p role="alert" class="error">{list.error}</p>}
      <table class="credentials">
        <thead><tr><th scope="col">Endpoint</th><th scope="col">Mode</th><th scope="col">Identity and keys</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {list.rows.map((c) => (
            <tr key={c.endpoint} data-endpoint={c.endpoint}>
              <th scope="row">{c.endpoint}</th>
              <td>{c.mode}</td>
              <td>{shown(c)}</td>
              <td><button type="button" disabled={readOnly} title={why} aria-label={'Remove the credentials of ' + c.endpoint}
                onClick={() => remove(c.endpoint)}>Remove</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.total === 0 && <p>No credentials on file.</p>}
      {list.pager}
      <h2>Set credentials</h2>
      <form class="editor" onSubmit={save}>
        <label>Endpoint <input value={endpoint} required disabled={readOnly} onInput={(e) => setEndpoint(e.target.value)} /></label>
        <label>Mode{' '}
          <select value={mode} disabled={readOnly} onChange={(e) => { setMode(e.target.value); setFields({}); }}>
            {Object.keys(MODES).map((m) => <option key={m} value={m}>{m}</option>)}
          </select>
        </label>
        {MODES[mode].map(([name, label, type]) => (
          <label key={name}>{label}{' '}
            <input type={type} autocomplete="off" value={fields[name] ?? ''} disabled={readOnly}
              onInput={(e) => setFields({ ...fields, [name]: e.target.value })} />
          </label>
        ))}
        <button type="submit" disabled={readOnly} title={why}>Save</button>
      </form>
      {answer && (
        <p role="status" class={answer.status < 300 ? 'answer' : 'answer error'}>
          {answer.status === 204 ? 'Removed.' : answer.status === 200 ? 'Saved.' : `${answer.body?.code} ${answer.body?.message}`}
        </p>
      )}
    </main>
  );
}
