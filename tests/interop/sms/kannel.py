"""A throw-away Kannel 1.4.5 (Debian's bearerbox + smsbox) for the SMS binding's interop tests.

Kannel(work_dir, callback_url) writes work_dir/kannel.conf with free ports on 127.0.0.1,
starts bearerbox then smsbox, and waits (bounded) until the admin status page answers with
smsbox attached and the sendsms port accepts connections; stop() (or leaving the `with`
block) ends both. The layout:

  fake SMSC `fake` (port fake_smsc_port)  <- modem_sim.py connects here (one client at a time)
  fake SMSC `fake2` (port fake_smsc2_port, with extra_fake_smsc=True) <- Kannel's fakesmsc
  MO (from an SMSC)  -> smsbox -> GET callback_url?from=..&to=..&udh=..&data=..&...
  MT send_mt()       -> GET sendsms_url?...&coding=1&text=..&udh=..&smsc=fake -> `fake`

What was found on 1.4.5 and shapes the config (see the comments at each option):
  * the callback's udh and data are percent-encoded binary (space as '+'); parse the query as
    latin-1 (decode_callback) to get the octets back; all 256 values survive both ways with
    coding=1 (8-bit); a `text` MO (7-bit) is passed as-is, not url-decoded;
  * there is no escape code for TP-PID (nor does the fake SMSC line carry PID or DCS);
  * sms-combine-concatenated-mo defaults to true: parts would be held until all arrive and
    handed over reassembled without UDH, so it is set false and each part reaches the callback
    with its UDH;
  * sendsms-user concatenation=false stops Kannel adding its own concat UDH but NOT splitting:
    an MT longer than 140 octets (UDH included) is cut into several SMS (up to max-messages),
    each carrying the caller's UDH, so callers must pass at most 140 octets per send_mt."""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"


def free_tcp_ports(n):
    """n distinct free ports on 127.0.0.1 (all sockets held open until every port is chosen so
    that the kernel does not hand the same one out twice)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def urlenc(data):
    """Percent-encodes every octet that is not unreserved (RFC 3986), as sendsms and the fake
    SMSC line expect binary."""
    return urllib.parse.quote_from_bytes(bytes(data), safe="")


def urldec(text):
    """Kannel's url-encoding writes a space as '+', a literal '+' as %2B."""
    return urllib.parse.unquote_to_bytes(text.replace("+", " "))


def decode_callback(query):
    """The callback's query string -> dict of str, with 'udh' and 'data' as bytes. Kannel sends
    them as percent-encoded octets; latin-1 maps each octet to one code point and back."""
    fields = urllib.parse.parse_qs(query, keep_blank_values=True, encoding="latin-1",
                                   errors="strict")
    out = {k: v[0] for k, v in fields.items()}
    for k in ("udh", "data"):
        out[k] = out.get(k, "").encode("latin-1")
    return out


def _stderr_log(msg):
    print("[kannel] " + msg, file=sys.stderr, flush=True)


class Kannel:
    """bearerbox + smsbox in work_dir. Attributes: fake_smsc_port, fake_smsc2_port (or None),
    sendsms_url, username, password, admin_url, admin_password, conf_path."""

    username = "tether"
    password = "tether-secret"
    admin_password = "tether-admin"
    START_TIMEOUT = 20.0
    STOP_TIMEOUT = 5.0

    def __init__(self, work_dir, callback_url, log=_stderr_log, extra_fake_smsc=False,
                 log_level=0, start=True):
        if '"' in callback_url or "\n" in callback_url:
            raise ValueError("callback_url must not contain quotes or newlines")
        self.work_dir = os.path.abspath(work_dir)
        os.makedirs(self.work_dir, exist_ok=True)
        self.callback_url = callback_url
        self.log = log or (lambda msg: None)
        self.extra_fake_smsc = extra_fake_smsc
        self.log_level = log_level
        (self.admin_port, self.smsbox_port, self.sendsms_port, self.fake_smsc_port,
         fake2) = free_tcp_ports(5)
        self.fake_smsc2_port = fake2 if extra_fake_smsc else None
        self.admin_url = "http://127.0.0.1:%d" % self.admin_port
        self.sendsms_url = "http://127.0.0.1:%d/cgi-bin/sendsms" % self.sendsms_port
        self.conf_path = os.path.join(self.work_dir, "kannel.conf")
        self.procs = {}
        self._files = []
        with open(self.conf_path, "w") as f:
            f.write(self.config())
        if start:
            self.start()

    # --- configuration
    def config(self):
        w = self.work_dir
        sep = "&" if "?" in self.callback_url else "?"
        # %p sender, %P receiver, %u UDH and %b body (both percent-encoded octets), %c coding
        # (0 7-bit, 1 8-bit, 2 UCS2), %O DCS in hex, %i SMSC id. 1.4.5 has no PID escape.
        get_url = (self.callback_url + sep +
                   "from=%p&to=%P&udh=%u&data=%b&coding=%c&dcs=%O&smsc=%i")
        conf = f"""\
# Written by tests/interop/sms/kannel.py; ports are free ones on 127.0.0.1.
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = {self.admin_password}
admin-allow-ip = 127.0.0.1
smsbox-port = {self.smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
# No wapbox-port: bearerbox then starts no WAP side at all.
log-file = "{w}/bearerbox.log"
log-level = {self.log_level}
access-log = "{w}/bearerbox-access.log"
dlr-storage = internal
# Default true: bearerbox would hold parts of a concatenated MO until all arrive and pass one
# reassembled message without UDH. Tether reassembles itself, so every part must reach the
# callback with its UDH.
sms-combine-concatenated-mo = false
# No store-type/store-location: nothing is persisted between runs (status shows store -1).

# The SMSC the modem simulator connects to (the fake driver listens; one client at a time).
# allowed-smsc-id: only messages routed to `fake` go here (sendsms-user default-smsc).
group = smsc
smsc = fake
smsc-id = fake
allowed-smsc-id = fake
port = {self.fake_smsc_port}
connect-allow-ip = 127.0.0.1
"""
        if self.extra_fake_smsc:
            conf += f"""
# A second fake SMSC for Kannel's own fakesmsc tool (MO injection). allowed-smsc-id keeps MT
# traffic away unless sendsms asks for smsc=fake2: without it bearerbox would load-balance
# MT over both and an smsc id it does not know would still be routed.
group = smsc
smsc = fake
smsc-id = fake2
allowed-smsc-id = fake2
port = {self.fake_smsc2_port}
connect-allow-ip = 127.0.0.1
"""
        conf += f"""
group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{w}/smsbox.log"
log-level = {self.log_level}
access-log = "{w}/smsbox-access.log"
# mo-recode stays off (default): MO data is not recoded.

group = sendsms-user
username = {self.username}
password = {self.password}
user-allow-ip = 127.0.0.1
max-messages = 10
# Tether splits and writes its own concat UDH. Note: Kannel still splits an MT over 140
# octets (UDH included) into several SMS, copying the caller's UDH into each.
concatenation = false
default-smsc = fake

group = sms-service
keyword = default
catch-all = true
get-url = "{get_url}"
# No reply SMS from the callback's answer; an empty answer sends nothing either.
max-messages = 0
omit-empty = true
# Without it smsbox logs "Tried to set Coding field, denied." for every callback answer.
accept-x-kannel-headers = true
"""
        return conf

    # --- processes
    def _spawn(self, name, exe):
        out = open(os.path.join(self.work_dir, name + ".stdout"), "wb")
        err = open(os.path.join(self.work_dir, name + ".stderr"), "wb")
        self._files += [out, err]
        # Own session: a Ctrl-C at the terminal reaches only us, and we end the boxes in order.
        proc = subprocess.Popen([exe, self.conf_path], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, cwd=self.work_dir, start_new_session=True)
        self.procs[name] = proc
        self.log("%s started, pid %d" % (name, proc.pid))
        return proc

    def start(self):
        t0 = time.monotonic()
        try:
            self._spawn("bearerbox", BEARERBOX)
            self._wait(lambda: self.status() is not None, "bearerbox admin page", t0)
            self._spawn("smsbox", SMSBOX)
            self._wait(lambda: re.search(r"smsbox:\S*, IP", self.status() or ""),
                       "smsbox attached to bearerbox", t0)
            self._wait(self._sendsms_accepts, "smsbox sendsms port", t0)
        except BaseException:
            self.stop()
            raise
        self.log("up in %.2f s: admin %s, sendsms %s, fake SMSC port %d%s" % (
            time.monotonic() - t0, self.admin_url, self.sendsms_url, self.fake_smsc_port,
            ", fake2 port %d" % self.fake_smsc2_port if self.fake_smsc2_port else ""))
        return self

    def _wait(self, pred, what, t0):
        deadline = t0 + self.START_TIMEOUT
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError("%s exited (%s) while waiting for %s; see %s" % (
                        name, proc.returncode, what, self.tail(name + ".log")))
            if pred():
                return
            time.sleep(0.1)
        raise RuntimeError("timed out after %.0f s waiting for %s" % (self.START_TIMEOUT, what))

    def _sendsms_accepts(self):
        try:
            socket.create_connection(("127.0.0.1", self.sendsms_port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        """SIGTERM smsbox then bearerbox, SIGKILL whichever is still there after STOP_TIMEOUT."""
        for name in ("smsbox", "bearerbox"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.log("%s ignored SIGTERM for %.0f s, killing" % (name, self.STOP_TIMEOUT))
                proc.kill()
                proc.wait(timeout=self.STOP_TIMEOUT)
            except ProcessLookupError:
                pass
        for f in self._files:
            f.close()
        self._files = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass

    # --- HTTP
    @staticmethod
    def _get(url, timeout=5.0):
        """(status, body) of a GET, bypassing any http_proxy in the environment."""
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        try:
            conn.request("GET", u.path + ("?" + u.query if u.query else ""))
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def status(self):
        """bearerbox's plain-text status page, or None if it does not answer (yet)."""
        try:
            code, body = self._get("%s/status.txt?password=%s" % (self.admin_url,
                                                                 self.admin_password), 2.0)
        except OSError:
            return None
        return body if code == 200 else None

    def smsc_online(self, smsc_id="fake"):
        """Whether the fake SMSC `smsc_id` has its client connected ('online' on the page)."""
        return re.search(r"^\s*%s\[%s\]\s.*\(online" % (re.escape(smsc_id), re.escape(smsc_id)),
                         self.status() or "", re.M) is not None

    def wait_smsc_online(self, smsc_id="fake", timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.smsc_online(smsc_id):
                return
            time.sleep(0.1)
        raise RuntimeError("SMSC %s not online after %.0f s" % (smsc_id, timeout))

    def send_mt(self, sender, receiver, data, udh=b"", smsc="fake", timeout=10.0):
        """One MT SMS through sendsms as 8-bit data (coding=1: no charset conversion); `udh`
        is the whole header, UDHL first. Keep len(udh) + len(data) <= 140 or Kannel splits
        it. Returns (HTTP status, body); 202 "0: Accepted for delivery" on success."""
        params = [("username", self.username), ("password", self.password),
                  ("from", sender), ("to", receiver), ("coding", "1")]
        if smsc:
            params.append(("smsc", smsc))
        query = "&".join("%s=%s" % (k, urlenc(v.encode())) for k, v in params)
        query += "&text=" + urlenc(data)
        if udh:
            query += "&udh=" + urlenc(udh)
        return self._get(self.sendsms_url + "?" + query, timeout)

    def tail(self, name, chars=3000):
        try:
            with open(os.path.join(self.work_dir, name), errors="replace") as f:
                return f.read()[-chars:]
        except OSError as e:
            return "(%s)" % e
