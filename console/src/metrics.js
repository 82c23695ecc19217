// Reads Prometheus text (GET /metrics) into {"name{labels}": value}, and turns two samples
// into rates, for the console's server page.
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space < 0) continue;
    const value = Number(line.slice(space + 1));
    if (!Number.isNaN(value)) out[line.slice(0, space)] = value;
  }
  return out;
}

// The sum of every series of `name`, whatever its labels (a filter on them narrows).
export function total(metrics, name, filter = () => true) {
  let sum = 0;
  for (const [key, value] of Object.entries(metrics)) {
    const brace = key.indexOf('{');
    const base = brace < 0 ? key : key.slice(0, brace);
    if (base === name && filter(brace < 0 ? '' : key.slice(brace))) sum += value;
  }
  return sum;
}

// Per second between two samples taken `seconds` apart; a counter that went back (a restart)
// counts from zero.
export function rate(before, after, seconds) {
  if (seconds <= 0) return 0;
  return (after >= before ? after - before : after) / seconds;
}
