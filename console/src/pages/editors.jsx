// The forms of the device page: an answer line, the typed editors a Write uses (one value,
// or the instances of a multiple-instance resource) and the arguments of an Execute.
import { useState } from 'preact/hooks';

// The answer of a device operation, with its LwM2M code (docs/api.md: "code", "status").
export function Answer({ result }) {
  if (!result) return null;
  const { status, body } = result;
  const ok = status >= 200 && status < 300;
  return (
    <p class={ok ? 'answer' : 'answer error'} role="status">
      <strong>{body?.code ?? status}</strong> {body?.status ?? body?.message ?? ''}
      {body?.format && <span class="muted"> {body.format}</span>}
      {body?.location && <span> at {body.location}</span>}
    </p>
  );
}

export const NUMERIC = new Set(['Integer', 'Unsigned Integer', 'Float', 'Time']);

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

function ValueInput({ def, label, value, onInput, disabled }) {
  if (def.type === 'Boolean') {
    return (
      <select aria-label={label} value={value} onChange={(e) => onInput(e.target.value)} disabled={disabled}>
        <option value="">…</option><option value="true">true</option><option value="false">false</option>
      </select>
    );
  }
  return (
    <input aria-label={label} value={value} size="12" disabled={disabled}
      inputMode={NUMERIC.has(def.type) ? 'decimal' : 'text'} onInput={(e) => onInput(e.target.value)} />
  );
}

export function Editor({ def, onWrite, disabled, why }) {
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
  return (
    <form class="inline" onSubmit={submit}>
      <ValueInput def={def} label={`New value of ${def.name}`} value={text} onInput={setText} disabled={disabled} />
      <button type="submit" disabled={disabled} title={why}>Write</button>
      {problem && <span class="error" role="alert">{problem}</span>}
    </form>
  );
}

// A multiple-instance resource is written whole (Write-Replace): each row is an instance
// ID and its value, sent as {"<id>": value} relative to the resource (docs/api.md, Values).
export function MultiEditor({ def, current, onWrite, disabled, why }) {
  const [rows, setRows] = useState(null);
  const [problem, setProblem] = useState('');
  const shown = rows ?? (current.length ? current : [{ id: '0', text: '' }]);
  const change = (i, field, v) => setRows(shown.map((r, j) => (j === i ? { ...r, [field]: v } : r)));
  const submit = (e) => {
    e.preventDefault();
    try {
      const body = {};
      for (const r of shown) {
        // 65535 is reserved; "07" would be instance 7 twice over.
        if (!/^(0|[1-9]\d{0,4})$/.test(r.id) || Number(r.id) > 65534) throw new Error('instance IDs 0-65534');
        if (r.id in body) throw new Error(`instance ${r.id} once`);
        body[r.id] = typedValue(def.type, r.text);
      }
      setProblem('');
      onWrite(body);
    } catch (err) {
      setProblem(`${def.name} takes ${err.message}`);
    }
  };
  const next = () => String(Math.max(-1, ...shown.map((r) => Number(r.id) || 0)) + 1);
  return (
    <form class="multi" onSubmit={submit} aria-label={`Instances of ${def.name}`}>
      {shown.map((r, i) => (
        <div key={i} class="multi-row">
          <input aria-label={`Instance ID ${i + 1} of ${def.name}`} value={r.id} size="4" inputMode="numeric"
            disabled={disabled} onInput={(e) => change(i, 'id', e.target.value)} />
          <ValueInput def={def} label={`Value ${i + 1} of ${def.name}`} value={r.text} disabled={disabled}
            onInput={(v) => change(i, 'text', v)} />
          <button type="button" disabled={disabled} aria-label={`Remove instance ${i + 1} of ${def.name}`}
            onClick={() => setRows(shown.filter((_, j) => j !== i))}>−</button>
        </div>
      ))}
      <button type="button" disabled={disabled} onClick={() => setRows([...shown, { id: next(), text: '' }])}>
        Add an instance
      </button>
      <button type="submit" disabled={disabled} title={why}>Write all</button>
      {problem && <span class="error" role="alert">{problem}</span>}
    </form>
  );
}

export function ExecuteForm({ rpath, disabled, why, onExecute }) {
  const [args, setArgs] = useState('');
  return (
    <form class="inline" onSubmit={(e) => { e.preventDefault(); onExecute(args); }}>
      <input aria-label={'Arguments for ' + rpath} placeholder="0='a',1" size="8" value={args} disabled={disabled}
        onInput={(e) => setArgs(e.target.value)} />
      <button type="submit" disabled={disabled} title={why} aria-label={'Execute ' + rpath}>Execute</button>
    </form>
  );
}
