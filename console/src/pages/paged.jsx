// A paged list by name cursor, as the API's long lists page (limit, after, prefix).
import { useEffect, useState } from 'preact/hooks';
import { get, query } from '../api.js';

export function usePages(route, listName, extra = {}, tick = 0) {
  const [prefix, setPrefix] = useState('');
  const [cursors, setCursors] = useState(['']);
  const [page, setPage] = useState(null);
  const [error, setError] = useState('');
  const after = cursors[cursors.length - 1];
  const extraKey = JSON.stringify(extra);
  useEffect(() => {
    let live = true; // an answer to an older request is dropped
    get(route + query({ limit: 50, after, prefix, ...extra })).then(({ status, body }) => {
      if (!live) return;
      if (status === 200) {
        setPage(body);
        setError('');
      } else setError(`${body?.code ?? status} ${body?.message ?? ''}`);
    });
    return () => {
      live = false;
    };
  }, [route, after, prefix, extraKey, tick]);
  const rows = page ? page[listName] : [];
  const search = (
    <label>
      Endpoint starts with{' '}
      <input type="search" value={prefix} onInput={(e) => { setPrefix(e.target.value); setCursors(['']); }} />
    </label>
  );
  const pager = (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
      <button type="button" disabled={!page?.next} onClick={() => setCursors([...cursors, page.next])}>Next</button>
    </nav>
  );
  return { rows, total: page?.total, error, search, pager };
}
