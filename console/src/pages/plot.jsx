// A time series of one observed numeric resource, drawn by uPlot on a canvas. Canvas is
// not readable without sight, so the latest value is in the caption and the points can be
// shown as a table.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef, useState } from 'preact/hooks';

export function Plot({ path, name, units, points }) {
  const box = useRef(null);
  const chart = useRef(null);
  const [table, setTable] = useState(false);
  const data = [points.map((p) => p.t / 1000), points.map((p) => p.v)];

  useEffect(() => {
    const dark = matchMedia('(prefers-color-scheme: dark)').matches || document.documentElement.dataset.theme === 'dark';
    const stroke = dark ? '#79b8ff' : '#0b57d0';
    chart.current = new uPlot(
      {
        width: Math.min(640, (box.current?.clientWidth || 640)),
        height: 200,
        series: [{}, { label: name || path, stroke, width: 2, dash: [6, 3], points: { show: true, size: 5 } }],
        axes: [{ stroke: dark ? '#9da7b3' : '#57606a' }, { stroke: dark ? '#9da7b3' : '#57606a' }],
        legend: { show: false },
      },
      data,
      box.current,
    );
    return () => chart.current?.destroy();
  }, []);
  useEffect(() => {
    chart.current?.setData(data);
  }, [points]);

  const last = points[points.length - 1];
  return (
    <figure class="plot" data-plot={path}>
      <figcaption>
        {name || path} {path.startsWith("/") && <span class="muted">{path}</span>}: latest{" "}
        <strong data-testid="latest">{last ? `${last.v}${units ? ' ' + units : ''}` : 'none yet'}</strong>{' '}
        ({points.length} points){' '}
        <button type="button" aria-expanded={table} onClick={() => setTable(!table)}>
          {table ? 'Hide table' : 'Show as table'}
        </button>
      </figcaption>
      <div ref={box} aria-hidden="true" />
      {table && (
        <table class="points">
          <thead><tr><th scope="col">Time</th><th scope="col">Value</th></tr></thead>
          <tbody>
            {points.map((p, i) => <tr key={i}><td>{new Date(p.t).toLocaleTimeString()}</td><td>{p.v}</td></tr>)}
          </tbody>
        </table>
      )}
    </figure>
  );
}
