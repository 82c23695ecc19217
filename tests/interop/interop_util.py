"""What the Python interop scenarios share: failing with the logs of the work directory, and
finding a port free for both UDP and TCP on 127.0.0.1."""
import os
import random
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


def ephemeral_start():
    """Where the kernel starts handing out ports for outgoing sockets."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        u.bind(("127.0.0.1", port))
        t.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        t.close()
        u.close()


def free_port():
    """A port free for UDP and TCP, taken below the ephemeral range: a port the kernel may
    hand to an outgoing socket (any client, any test) between this check and the server's
    bind is how servers failed with "Address already in use"."""
    low, high = 10000, ephemeral_start()
    pick = random.SystemRandom()
    for _ in range(200 if high - low > 1000 else 0):
        port = pick.randrange(low, high)
        if bindable(port):
            return port
    for _ in range(50):  # no room below the range: any port the kernel picks
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        u.close()
        if bindable(port):
            return port
    raise RuntimeError("no free port")


def free_port_pair():
    """Two consecutive free ports (a server on P and, secured, P+1), as free_port picks."""
    for _ in range(100):
        port = free_port()
        if port < 65535 and bindable(port + 1):
            return port
    raise RuntimeError("no two free ports")


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
