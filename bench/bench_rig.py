"""What the Python bench rigs share (lorawan_bench.py, nidd_bench.py): a work directory for
logs, the processes started (killed at the end), free ports, waiting for a condition, and
calls to the REST API."""
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def api(port, method, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status, r.read().decode()


class Rig:
    def __init__(self, prefix):
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.procs = []

    def start(self, args, log):
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(self.work, log), "ab"))
        self.procs.append(p)
        return p

    def text(self, log):
        with open(os.path.join(self.work, log), errors="replace") as f:
            return f.read()

    def wait(self, pred, what, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if pred():
                return
            time.sleep(0.05)
        sys.exit(f"timed out waiting for {what}; logs in {self.work}")

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.procs.clear()
