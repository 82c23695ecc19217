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
