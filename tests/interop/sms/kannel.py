"""A throw-away Kannel 1.4.5 (Debian's bearerbox + smsbox) for the SMS binding's interop tests.

Kannel(work_dir, callback_url, modem_smsc="fake"|"smpp") writes work_dir/kannel.conf with free
ports on 127.0.0.1, starts bearerbox then smsbox, and waits (bounded) until the admin status
page answers with smsbox attached and the sendsms port accepts connections; stop() (or leaving
the `with` block) ends both. modem_sim_args() gives the options that point modem_sim.py at the
modem path's SMSC, whichever it is. The layout:

  SMSC `fake` (port smsc_port), the modem path, by modem_smsc:
    "fake" (default): Kannel's fake driver listens, modem_sim.py connects (fake_smsc_port)
    "smpp": modem_sim.py is an SMPP 3.4 SMSC (smpp_port), bearerbox connects and binds
  fake SMSC `fake2` (port fake_smsc2_port, with extra_fake_smsc=True) <- Kannel's fakesmsc
  MO (from an SMSC)  -> smsbox -> GET callback_url?from=..&to=..&udh=..&data=..&...
  MT send_mt()       -> GET sendsms_url?...&coding=1&text=..&udh=..&smsc=fake -> `fake`

The id stays `fake` with SMPP too, so default-smsc, allowed-smsc-id, smsc=fake in send-sms and
wait_smsc_online("fake") hold for both. What was found on 1.4.5 and shapes the config:
  * the callback's udh and data are percent-encoded binary (space as '+'); parse the query as
    latin-1 (decode_callback) to get the octets back; all 256 values survive both ways with
    coding=1 (8-bit); a `text` MO (7-bit) is passed as-is, not url-decoded;
  * %O is the DCS in decimal, at least 2 digits ("04" for 0x04, "246" for 0xF6), not hex;
  * no escape code gives TP-PID; the fake SMSC line carries neither PID nor DCS (an MO over it
    arrives as dcs=04 whatever the modem sent);
  * sms-combine-concatenated-mo defaults to true: parts would be held until all arrive and
    handed over reassembled without UDH, so it is set false and each part reaches the callback
    with its UDH;
  * sendsms-user concatenation=false stops Kannel adding its own concat UDH but NOT splitting:
    an MT longer than 140 octets (UDH included) is cut into several SMS (up to max-messages),
    each carrying the caller's UDH (and PID/DCS), so callers must pass at most 140 octets per
    send_mt; parts sent one per send-sms arrive as they were sent, never combined.
With SMPP (transceiver-mode: one connection, bind_transceiver, interface_version 0x34):
  * MT submit_sm: a '+' number goes as its digits with TON 1 / NPI 1 (source and
    destination), one without '+' as TON 2 (national) / NPI 1 ("00..." unchanged), a name as
    TON 5 / NPI 0; modem_sim puts the '+' back for TON 1, so the modem sees +CMT from "+..."
    (type 0x91) as with the fake driver. esm_class 0x03 (store and forward), | 0x40 with a
    UDH; short_message = UDH + data, 8-bit octets unchanged; protocol_id = pid (0 without);
    data_coding: coding=1 -> 0x04, coding=1&mclass=M -> 0xF4|M (mclass=2: 0xF6; a class makes
    Kannel use the F0 group), coding=0 -> 0x00 with GSM septets one per octet;
  * MO deliver_sm: bearerbox adds '+' to TON 1 source and destination (not to TON 0), so the
    callback gets from=+... to=+... as with the fake driver; esm_class 0x40 splits the UDH off;
    coding=1 for an 8-bit DCS, dcs=%O the DCS (246 for 0xF6); TP-PID only reaches the callback
    because modem_sim repeats it in TLV 0x1401 and an smpp-tlv group names it: the get-url
    gets meta=%D ("?smpp?tp_pid=127&"), which decode_callback turns into "pid";
  * bearerbox retries a refused connection every reconnect-delay (1 s), so it may start before
    modem_sim; on SIGTERM it unbinds and stops in about 0.1 s, with or without modem_sim."""
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
MODEM_SMSC_KINDS = ("fake", "smpp")
PID_TLV = 0x1401    # the SMPP TLV that carries TP-PID to the callback's meta (SMPP only)
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
    # SMPP mode: TP-PID arrives inside the meta-data, "?smpp?tp_pid=127&".
    m = re.search(r"(?:^|[?&])tp_pid=(\d+)", out.get("meta", ""))
    if m and "pid" not in out:
        out["pid"] = m.group(1)
    return out


def _stderr_log(msg):
    print("[kannel] " + msg, file=sys.stderr, flush=True)


class Kannel:
    """bearerbox + smsbox in work_dir. Attributes: modem_smsc, smsc_port (the modem path's SMSC),
    fake_smsc_port (None with SMPP), smpp_port (None with fake), fake_smsc2_port (or None),
    sendsms_url, username, password, admin_url, admin_password, conf_path, smpp_system_id,
    smpp_password, smpp_system_type."""

    username = "tether"
    password = "tether-secret"
    admin_password = "tether-admin"
    # SMPP 3.4 limits: system_id 15, password 8, system_type 12 characters.
    smpp_system_id = "tether"
    smpp_password = "smpp-pw"
    smpp_system_type = "tether"
    START_TIMEOUT = 20.0
    STOP_TIMEOUT = 5.0

    def __init__(self, work_dir, callback_url, log=_stderr_log, extra_fake_smsc=False,
                 log_level=0, start=True, modem_smsc="fake"):
        if '"' in callback_url or "\n" in callback_url:
            raise ValueError("callback_url must not contain quotes or newlines")
        if modem_smsc not in MODEM_SMSC_KINDS:
            raise ValueError("modem_smsc must be one of %s" % ", ".join(MODEM_SMSC_KINDS))
        self.modem_smsc = modem_smsc
        self.work_dir = os.path.abspath(work_dir)
        os.makedirs(self.work_dir, exist_ok=True)
        self.callback_url = callback_url
        self.log = log or (lambda msg: None)
        self.extra_fake_smsc = extra_fake_smsc
        self.log_level = log_level
        (self.admin_port, self.smsbox_port, self.sendsms_port, self.smsc_port,
         fake2) = free_tcp_ports(5)
        # smsc_port: where the modem path's SMSC is, whichever the driver. fake_smsc_port is
        # only set for the fake driver and smpp_port only for SMPP, so that a caller that
        # hands modem_sim the wrong one fails at once.
        self.fake_smsc_port = self.smsc_port if modem_smsc == "fake" else None
        self.smpp_port = self.smsc_port if modem_smsc == "smpp" else None
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
        # (0 7-bit, 1 8-bit, 2 UCS2), %O DCS in decimal, %i SMSC id. 1.4.5 has no PID escape.
        get_url = (self.callback_url + sep +
                   "from=%p&to=%P&udh=%u&data=%b&coding=%c&dcs=%O&smsc=%i")
        if self.modem_smsc == "smpp":
            # %D: the meta-data, here "?smpp?tp_pid=N&" from the smpp-tlv below.
            get_url += "&meta=%D"
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
"""
        conf += self.modem_smsc_config()
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

    def modem_smsc_config(self):
        """The `group = smsc` of the modem path: smsc-id `fake` whichever the driver, so that
        default-smsc, allowed-smsc-id and callers' smsc=fake hold for both."""
        if self.modem_smsc == "fake":
            return f"""
# The SMSC the modem simulator connects to (the fake driver listens; one client at a time).
# allowed-smsc-id: only messages routed to `fake` go here (sendsms-user default-smsc).
group = smsc
smsc = fake
smsc-id = fake
allowed-smsc-id = fake
port = {self.smsc_port}
connect-allow-ip = 127.0.0.1
"""
        return f"""
# The SMSC of the modem path is modem_sim.py's SMPP 3.4 server: bearerbox is the ESME and
# connects out (one connection, bind_transceiver). Its id stays `fake`, so default-smsc,
# allowed-smsc-id and send-sms smsc=fake work as with the fake driver.
group = smsc
smsc = smpp
smsc-id = fake
allowed-smsc-id = fake
host = 127.0.0.1
port = {self.smsc_port}
transceiver-mode = true
smsc-username = {self.smpp_system_id}
smsc-password = {self.smpp_password}
system-type = {self.smpp_system_type}
interface-version = 34
# Seconds; bearerbox starts before modem_sim listens, so it retries every second until then.
reconnect-delay = 1
enquire-link-interval = 10
max-pending-submits = 10

# smsbox has no escape code for TP-PID (the SMPP protocol_id), but it passes the SMPP TLVs
# that an smpp-tlv group names as meta-data (%D). modem_sim repeats TP-PID in TLV 0x1401
# (the SMSC-specific range) of each deliver_sm, so the callback gets meta=?smpp?tp_pid=N&.
group = smpp-tlv
name = tp_pid
tag = 0x{PID_TLV:04x}
type = integer
length = 1
smsc-id = fake
"""

    def modem_sim_args(self):
        """modem_sim.py's options that point it at this Kannel's modem-path SMSC."""
        if self.modem_smsc == "fake":
            return ["--smsc-port", str(self.smsc_port)]
        return ["--smpp-port", str(self.smsc_port), "--smpp-system-id", self.smpp_system_id,
                "--smpp-password", self.smpp_password, "--smpp-pid-tlv", "0x%04x" % PID_TLV]

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
        self.log("up in %.2f s: admin %s, sendsms %s, %s SMSC port %d%s" % (
            time.monotonic() - t0, self.admin_url, self.sendsms_url, self.modem_smsc,
            self.smsc_port,
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

    def send_mt(self, sender, receiver, data, udh=b"", smsc="fake", timeout=10.0, pid=None,
                mclass=None, coding=1, extra=()):
        """One MT SMS through sendsms, by default as 8-bit data (coding=1: no charset
        conversion); `udh` is the whole header, UDHL first. Keep len(udh) + len(data) <= 140
        or Kannel splits it. pid (TP-PID) and mclass (message class 0-3) are passed when not
        None; `extra` adds (name, value) pairs. Returns (HTTP status, body); 202 "0: Accepted
        for delivery" on success."""
        params = [("username", self.username), ("password", self.password),
                  ("from", sender), ("to", receiver), ("coding", str(coding))]
        if smsc:
            params.append(("smsc", smsc))
        if pid is not None:
            params.append(("pid", str(pid)))
        if mclass is not None:
            params.append(("mclass", str(mclass)))
        params += [(k, str(v)) for k, v in extra]
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
