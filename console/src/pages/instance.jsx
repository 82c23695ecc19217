// One object instance of a device: its resources from the model (names, units, types,
// operations) beside the values last read, each with the operations it allows.
import { Answer, Editor, ExecuteForm, MultiEditor } from './editors.jsx';

// "/3/0/2" before "/3/0/10": paths compare by their numbers.
export function byPath([a], [b]) {
  const x = a.split('/').slice(1).map(Number);
  const y = b.split('/').slice(1).map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? -1) !== (y[i] ?? -1)) return (x[i] ?? -1) - (y[i] ?? -1);
  }
  return 0;
}

const text = (v) => (typeof v === 'object' ? JSON.stringify(v) : String(v));

export function Instance(props) {
  const { objectId, instance, model, values, readOnly, observed, selected, answer, ops } = props;
  const path = `/${objectId}/${instance}`;
  const why = readOnly ? 'read users may only read' : undefined;
  const resources = model?.resources ?? [];
  const shown = new Map(resources.map((r) => [`${path}/${r.id}`, r]));
  for (const p of Object.keys(values)) {
    if (!p.startsWith(path + '/')) continue;
    const key = `${path}/${Number(p.split('/')[3])}`;
    if (!shown.has(key)) shown.set(key, { id: Number(p.split('/')[3]), name: '', operations: 'R', type: 'String', units: '' });
  }
  const under = (rpath) => Object.entries(values).filter(([p]) => p === rpath || p.startsWith(rpath + '/')).sort(byPath);
  const valueOf = (rpath) =>
    under(rpath).map(([p, v]) => (p === rpath ? '' : p.slice(rpath.length + 1) + ': ') + text(v)).join(', ');
  const instancesOf = (rpath) =>
    under(rpath).filter(([p]) => p !== rpath).map(([p, v]) => ({ id: p.slice(rpath.length + 1), text: text(v) }));
  return (
    <li class="instance">
      <div class="instance-head">
        <span>{path}</span>
        <button type="button" onClick={() => ops.read(path)} aria-label={'Read ' + path}>Read</button>
        <button type="button" onClick={() => ops.tools(path)} aria-label={'Discover ' + path}>Discover…</button>
        {props.confirming === path ? (
          <span role="group" aria-label={'Delete ' + path + '?'}>
            Delete {path}?{' '}
            <button type="button" onClick={() => ops.remove(path)}>Yes, delete</button>
            <button type="button" onClick={() => ops.confirm(null)}>No</button>
          </span>
        ) : (
          <button type="button" disabled={readOnly} title={why} aria-label={'Delete ' + path}
            onClick={() => ops.confirm(path)}>Delete</button>
        )}
        <Answer result={answer} />
      </div>
      <table class="values">
        <thead><tr><th scope="col">Select</th><th scope="col">Resource</th><th scope="col">Name</th><th scope="col">Value</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          {[...shown.entries()].sort(byPath).map(([rpath, def]) => {
            const can = def.operations;
            const observing = observed[rpath];
            const value = valueOf(rpath);
            return (
              <tr key={rpath} data-path={rpath}>
                <td>{!can.includes('E') && (
                  <input type="checkbox" aria-label={'Select ' + rpath} checked={selected.has(rpath)}
                    onChange={(e) => ops.select(rpath, e.target.checked)} />
                )}</td>
                <td>{rpath}</td>
                <td>{def.name}</td>
                <td class="value">{value}{def.units && value ? ' ' + def.units : ''}</td>
                <td class="actions">
                  {can.includes('R') && <button type="button" aria-label={'Read ' + rpath} onClick={() => ops.read(rpath)}>Read</button>}
                  {can.includes('R') && (observing ? (
                    <button type="button" aria-label={'Cancel the observation of ' + rpath} disabled={readOnly} title={why} onClick={() => ops.cancel(rpath)}>Cancel</button>
                  ) : (
                    <button type="button" aria-label={'Observe ' + rpath} disabled={readOnly} title={why} onClick={() => ops.observe(rpath, def)}>Observe</button>
                  ))}
                  {can.includes('W') && !def.multiple && <Editor def={def} disabled={readOnly} why={why} onWrite={(v) => ops.write(rpath, v)} />}
                  {can.includes('W') && def.multiple && (
                    <MultiEditor key={value} def={def} current={instancesOf(rpath)} disabled={readOnly} why={why} onWrite={(v) => ops.write(rpath, v)} />
                  )}
                  {can.includes('E') && <ExecuteForm rpath={rpath} disabled={readOnly} why={why} onExecute={(a) => ops.execute(rpath, a)} />}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </li>
  );
}
