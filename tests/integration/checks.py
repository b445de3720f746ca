"""Shared by the integration tests: named checks with a closing
'N passed, M failed' line, a free loopback port for UDP and TCP, and
running commands (inside network namespaces) with a time limit."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

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


def run(cmd, timeout=30, **kw):
    """Runs cmd, capturing text output; bounded by `timeout` seconds."""
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, **kw)


def in_ns(ns, cmd, **kw):
    """run() inside network namespace `ns`."""
    return run(["ip", "netns", "exec", ns] + cmd, **kw)


def popdnsctl_stats(ns, popdnsctl, sock):
    """`popdnsctl stats` of the popdns in namespace `ns`, as {key: int}."""
    out = in_ns(ns, [popdnsctl, "--socket", sock, "stats"]).stdout
    stats = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        if value.isdigit():
            stats[key] = int(value)
    return stats


def dataplane_config(src, prefix, dataplane):
    """A temp dir holding a copy of tests/testdata/example.test.zone and a
    popdns config that serves it, with its control socket in the dir and
    `dataplane` (YAML lines, indented two spaces) as its dataplane section.
    Returns (tmp, zone, sock, conf)."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    zone = os.path.join(tmp, "example.test.zone")
    shutil.copy(os.path.join(src, "tests", "testdata", "example.test.zone"), zone)
    sock = os.path.join(tmp, "control.sock")
    conf = os.path.join(tmp, "popdns.yaml")
    with open(conf, "w") as f:
        f.write("zones:\n  - name: example.test\n    file: %s\n"
                "control_socket: %s\ndataplane:\n%s" % (zone, sock, dataplane))
    return tmp, zone, sock, conf


def require(test, needs, tun=False):
    """Exits unless this runs as root with dnsperf (and /dev/net/tun if
    `tun`): a failure in CI (exit 1), a skip elsewhere (exit 77). `needs`
    names what root is for, in the message."""
    missing = None
    if os.geteuid() != 0:
        missing = "needs root (%s)" % needs
    elif tun and not os.path.exists("/dev/net/tun"):
        missing = "no /dev/net/tun"
    elif shutil.which("dnsperf") is None:
        missing = "dnsperf not installed"
    if missing:
        print("%s: %s" % (test, missing))
        sys.exit(1 if os.environ.get("CI") else 77)
