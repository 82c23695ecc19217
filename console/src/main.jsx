// The Tether web console: a single page on the REST API of `tether server` or `tether
// bootstrap`. Routes live in the URL's hash (#/devices, #/devices/dev1), so the server
// serves one page and its assets, nothing else.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, setToken } from './api.js';
import { Devices } from './pages/devices.jsx';
import { Device } from './pages/device.jsx';
import { Server } from './pages/server.jsx';
import { Security } from './pages/security.jsx';
import { Bootstrap } from './pages/bootstrap.jsx';
import './style.css';

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const THEME_KEY = 'tether-theme';

function ThemeToggle() {
  const [theme, setTheme] = useState(localStorage.getItem(THEME_KEY) || 'auto');
  useEffect(() => {
    if (theme === 'auto') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);
  return (
    <label class="theme">
      Theme{' '}
      <select value={theme} onChange={(e) => setTheme(e.target.value)}>
        <option value="auto">system</option>
        <option value="light">light</option>
        <option value="dark">dark</option>
      </select>
    </label>
  );
}

function Login({ message, onDone }) {
  const [value, setValue] = useState('');
  const submit = (e) => {
    e.preventDefault();
    setToken(value.trim());
    onDone();
  };
  return (
    <main class="login">
      <h1>Tether</h1>
      <form onSubmit={submit}>
        <p role="alert">{message}</p>
        <label>
          API token <input type="password" autocomplete="off" value={value} required
            onInput={(e) => setValue(e.target.value)} autofocus />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <p class="hint">The token stays in this tab only. Users and roles: docs/api.md.</p>
    </main>
  );
}

function App() {
  const hash = useHash();
  const [me, setMe] = useState(null);
  const [refusal, setRefusal] = useState('');
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    get('/api/me').then(({ status, body }) => {
      if (status === 200) {
        setMe(body);
        setRefusal('');
      } else {
        setMe(null);
        setRefusal(status === 401 || status === 403 ? body?.message || 'Sign in' : 'The server did not answer (' + status + ')');
      }
    });
  }, [attempt]);
  if (!me && refusal) return <Login message={refusal} onDone={() => setAttempt(attempt + 1)} />;
  if (!me) return <main aria-busy="true">Loading…</main>;
  const path = hash.replace(/^#\/?/, '').split('/').map((part) => {
    try {
      return decodeURIComponent(part);
    } catch (e) {
      return part; // a malformed escape is just text
    }
  });
  // The bootstrap server has configurations where the server has devices.
  const bootstrap = me.service === 'bootstrap';
  const home = bootstrap ? 'bootstrap' : 'devices';
  const at = path[0] || home;
  let page;
  if (at === 'server') page = <Server />;
  else if (at === 'security' && !bootstrap) page = <Security me={me} />;
  else if (bootstrap) page = <Bootstrap me={me} />;
  else if (at === 'devices' && path[1]) page = <Device key={path[1]} endpoint={path[1]} me={me} />;
  else page = <Devices me={me} />;
  const link = (name, label) => (
    <a href={'#/' + name} aria-current={at === name ? 'page' : undefined}>{label}</a>
  );
  const signOut = () => {
    setToken('');
    setAttempt(attempt + 1);
  };
  return (
    <>
      <header>
        <a class="brand" href={'#/' + home}>Tether</a>
        <nav aria-label="Pages" class="pages">
          {bootstrap ? link('bootstrap', 'Configurations') : link('devices', 'Devices')}
          {!bootstrap && link('security', 'Security')}
          {link('server', 'Server')}
        </nav>
        <span class="who" data-testid="who">
          {me.user ?? 'anonymous'} · {me.role} · {me.service} {me.version}
        </span>
        <ThemeToggle />
        {me.user && <button type="button" onClick={signOut}>Sign out</button>}
      </header>
      {page}
    </>
  );
}

render(<App />, document.getElementById('app'));
