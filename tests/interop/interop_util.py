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
