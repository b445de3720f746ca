"""Shared by the integration tests: named checks with a closing
'N passed, M failed' line, and a free loopback port for UDP and TCP."""
import socket

passed = 0
failures = []


def check(cond, what):
    global passed
    if cond:
        passed += 1
        print("ok   " + what)
    else:
        failures.append(what)
        print("FAIL " + what)


def summary():
    """Prints the closing line; returns the exit status."""
    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


def free_port():
    """A port free on 127.0.0.1 for both UDP and TCP."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue
    raise RuntimeError("no free port")
