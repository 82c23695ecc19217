"""What the Python interop scenarios share: failing with the logs of the work directory, and
finding a port free for both UDP and TCP on 127.0.0.1."""
import os
import socket
import sys


def fail_with_logs(msg, work):
    print("FAIL: " + msg, file=sys.stderr)
    for name in sorted(os.listdir(work)):
        if name.endswith(".log"):
            print("--- " + name, file=sys.stderr)
            with open(os.path.join(work, name), errors="replace") as f:
                print(f.read()[-6000:], file=sys.stderr)
    sys.exit(1)


def free_port():
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


class Scenario:
    """What a scenario script shares: its work directory, the processes it started (killed at
    the end), and checks that fail with the logs of the work directory."""

    def __init__(self, prefix):
        import tempfile
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.procs = []

    def fail(self, msg):
        fail_with_logs(msg, self.work)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)

    def wait_until(self, pred, what, timeout=20):
        import time
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.05)
        self.fail("timed out waiting for " + what)

    def run(self, scenarios, name):
        try:
            scenarios[name]()
            print("ok " + name)
        finally:
            for p in self.procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()


def tcp_listening(port):
    """Whether something accepts TCP connections on 127.0.0.1:port (a broker, a server)."""
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def api_answers(http_port):
    """Whether a tether service's API on 127.0.0.1:http_port answers /api/health."""
    from raw_wire import http
    try:
        return http(http_port, "GET", "/api/health", timeout=2)[0] == 200
    except OSError:
        return False


def start_service(scenario, args, log, http_port, what, may_retry):
    """Starts a tether service (stderr appended to `log`) and waits up to 30 s for its API.
    Returns the process; None when it exited at start because a port it was given was taken
    meanwhile (another process's socket) and `may_retry`: the caller picks other ports."""
    import subprocess
    start = os.path.getsize(log) if os.path.exists(log) else 0
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    scenario.procs.append(proc)
    scenario.wait_until(lambda: proc.poll() is not None or api_answers(http_port),
                        what + " to answer /api/health", timeout=30)
    if proc.poll() is None:
        return proc
    with open(log, errors="replace") as f:
        f.seek(start)
        scenario.check(may_retry and "in use" in f.read(), what + " exited at start")
    return None

