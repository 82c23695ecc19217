// The device list: one page of registrations at a time from GET /api/clients (a name
// cursor, so it stays fast with a million), the fleet's counts, and live state from two
// event streams: the fleet's comings and goings, and the visible rows' wake and sleep.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { follow, get, query } from '../api.js';

const PAGE = 50;

export function stateOf(row, gone) {
  if (gone) return gone;
  if (!row.queueMode) return 'online';
  return row.awake ? 'awake' : 'sleeping';
}

export function Badge({ state }) {
  return <span class={'badge badge-' + state} data-state={state}>{state}</span>;
}

function Counts({ counts, total }) {
  if (!counts) return null;
  const parts = (m) => Object.entries(m).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  return (
    <dl class="counts" aria-label="Fleet">
      <div><dt>Registered</dt><dd data-testid="total">{total}</dd></div>
      <div><dt>Online</dt><dd>{counts.state.online}</dd></div>
      <div><dt>Awake</dt><dd>{counts.state.awake}</dd></div>
      <div><dt>Sleeping</dt><dd>{counts.state.sleeping}</dd></div>
      <div><dt>Binding</dt><dd>{parts(counts.binding)}</dd></div>
      <div><dt>Version</dt><dd>{parts(counts.version)}</dd></div>
      <div><dt>Security</dt><dd>{parts(counts.security)}</dd></div>
    </dl>
  );
}

export function Devices() {
  const [text, setText] = useState('');
  const [match, setMatch] = useState('prefix');
  const [state, setState] = useState('');
  const [cursors, setCursors] = useState(['']); // the `after` of each page seen
  const [page, setPage] = useState(null);
  const [gone, setGone] = useState({}); // endpoint -> expired | deregistered
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0); // bumps to fetch the page again
  const [live, setLive] = useState(false); // the fleet's event stream is connected
  const timer = useRef(null);
  const goneRef = useRef(gone);
  goneRef.current = gone;
  const keepGone = useRef(false); // false: the next fetch starts clean (a user's Refresh)
  const after = cursors[cursors.length - 1];
  const filters = useMemo(
    () => ({ [match === 'prefix' ? 'prefix' : 'q']: text, state }),
    [text, match, state],
  );

  const lastView = useRef('');
  useEffect(() => {
    let live = true;
    const started = performance.now();
    // Grey rows stay across the refetches of one view, not into another page or search.
    const viewKey = after + '\n' + JSON.stringify(filters);
    if (viewKey !== lastView.current) keepGone.current = false;
    lastView.current = viewKey;
    get('/api/clients' + query({ limit: PAGE, after, counts: true, ...filters })).then(({ status, body }) => {
      if (!live) return;
      if (status !== 200) {
        setError(`${body?.code ?? status} ${body?.message ?? ''}`);
        return;
      }
      setError('');
      // Rows that expired or de-registered stay, greyed, until the operator refreshes.
      setPage((prev) => {
        if (!prev || !keepGone.current) return body;
        const kept = prev.clients
          .filter((c) => goneRef.current[c.endpoint] && !body.clients.some((b) => b.endpoint === c.endpoint))
          .slice(0, PAGE);
        const clients = [...body.clients, ...kept].sort((a, b) => (a.endpoint < b.endpoint ? -1 : 1));
        return { ...body, clients };
      });
      keepGone.current = true;
      performance.mark('devices-rows', { detail: { ms: performance.now() - started, rows: body.clients.length } });
    });
    return () => {
      live = false;
    };
  }, [after, filters, tick]);

  const refetchSoon = () => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setTick((t) => t + 1), 150);
  };

  // A new registration that belongs on this page shows at once, from the event itself;
  // the page and counts are fetched again a moment later to agree with the server.
  const view = useRef({});
  view.current = { first: cursors.length === 1, text, match, state };
  const place = (r) =>
    setPage((p) => {
      const v = view.current;
      if (!p || !v.first || v.state) return p;
      const name = r.endpoint;
      const hit = v.match === 'prefix' ? name.startsWith(v.text) : name.toLowerCase().includes(v.text.toLowerCase());
      const last = p.clients[p.clients.length - 1];
      if (!hit || (p.next && last && name > last.endpoint)) return p;
      const clients = [...p.clients.filter((c) => c.endpoint !== name), { ...r, awake: true }];
      clients.sort((a, b) => (a.endpoint < b.endpoint ? -1 : 1));
      return { ...p, clients: clients.slice(0, PAGE) };
    });

  // The fleet: new names may belong on this page; names that went are marked, not dropped.
  useEffect(
    () =>
      follow(
        { events: 'registered,deregistered,expired' },
        (kind, e) => {
          if (kind === 'registered') {
            if (e.registration) place(e.registration);
            setGone((g) => ({ ...g, [e.endpoint]: undefined }));
            refetchSoon();
          } else {
            setGone((g) => ({ ...g, [e.endpoint]: kind }));
          }
        },
        refetchSoon,
        setLive,
      ),
    [],
  );

  // The rows on screen: their wake, sleep and updates.
  const visible = page ? page.clients.map((c) => c.endpoint) : [];
  const key = visible.join('\n');
  useEffect(() => {
    if (!visible.length) return undefined;
    return follow({ endpoint: visible, events: 'updated,awake,sleeping' }, (kind, e) => {
      setPage((p) => {
        if (!p) return p;
        const clients = p.clients.map((c) => {
          if (c.endpoint !== e.endpoint) return c;
          if (kind === 'updated' && e.registration) return { ...e.registration, awake: true };
          return { ...c, awake: kind === 'awake' };
        });
        return { ...p, clients };
      });
    });
  }, [key]);

  const search = (e) => {
    e.preventDefault();
    setCursors(['']);
  };
  return (
    <main>
      <h1>Devices</h1>
      <p class="muted" data-live={live ? 'true' : 'false'}>{live ? 'Live: new devices show as they register.' : 'Connecting to the event stream…'}</p>
      <form class="filters" role="search" onSubmit={search}>
        <label>
          Endpoint{' '}
          <input type="search" value={text} placeholder="name"
            onInput={(e) => { setText(e.target.value); setCursors(['']); }} />
        </label>
        <label>
          Match{' '}
          <select value={match} onChange={(e) => { setMatch(e.target.value); setCursors(['']); }}>
            <option value="prefix">starts with</option>
            <option value="q">contains</option>
          </select>
        </label>
        <label>
          State{' '}
          <select value={state} onChange={(e) => { setState(e.target.value); setCursors(['']); }}>
            <option value="">any</option>
            <option value="online">online</option>
            <option value="awake">awake</option>
            <option value="sleeping">sleeping</option>
          </select>
        </label>
        <button type="button" onClick={() => { keepGone.current = false; setGone({}); setTick((t) => t + 1); }}>Refresh</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {page && <Counts counts={page.counts} total={page.total} />}
      {page && page.matched !== undefined && <p>{page.matched} match.</p>}
      {page && page.scanned !== undefined && page.next && page.clients.length < PAGE && (
        // A large fleet is searched in slices (docs/api.md, Pages of registrations).
        <p role="status" data-testid="partial">Searched {page.scanned} names from here; Next searches on.</p>
      )}
      <table class="devices">
        <caption class="visually-hidden">Registered devices</caption>
        <thead>
          <tr>
            <th scope="col">Endpoint</th><th scope="col">State</th><th scope="col">Binding</th>
            <th scope="col">LwM2M</th><th scope="col">Transport</th><th scope="col">Security</th>
            <th scope="col">Lifetime</th><th scope="col">Last update</th><th scope="col">Address</th>
          </tr>
        </thead>
        <tbody>
          {page && page.clients.map((c) => {
            const s = stateOf(c, gone[c.endpoint]);
            return (
              <tr key={c.endpoint} data-endpoint={c.endpoint} class={gone[c.endpoint] ? 'gone' : ''}>
                <th scope="row"><a href={'#/devices/' + encodeURIComponent(c.endpoint)}>{c.endpoint}</a></th>
                <td><Badge state={s} /></td>
                <td>{c.binding}{c.queueMode ? ' (queue)' : ''}</td>
                <td>{c.version}</td>
                <td>{c.transport}</td>
                <td>{c.security}</td>
                <td>{c.lifetime} s</td>
                <td><time dateTime={c.lastUpdate}>{new Date(c.lastUpdate).toLocaleString()}</time></td>
                <td>{c.address}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {page && !page.clients.length && <p>No device {text || state ? 'matches' : 'is registered'}.</p>}
      <nav class="pager" aria-label="Pages of devices">
        <button type="button" disabled={cursors.length < 2}
          onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <button type="button" disabled={!page || !page.next}
          onClick={() => setCursors([...cursors, page.next])}>Next</button>
      </nav>
    </main>
  );
}
