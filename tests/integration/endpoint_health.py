"""Health-driven endpoints of app-aware answers (issue 16), checked the same
way on every path (kernel sockets, DPDK worker, AF_XDP worker):
health.example.test answers clients of the network client-lan with two
endpoints on popdns's own loopback, 127.0.0.98 (a TCP listener this test
starts and stops, checked by popdns) and 127.0.0.99 (marked down through
the management API); the name's own answer is 192.0.2.60.

    endpoint = Endpoint(ns)                   # before popdns starts
    top_yaml += endpoint.config(mgmt_port)    # health_checks + management
    append_health_variants(zone)
    ... start popdns ...
    check_endpoint_health(client_ns, host, endpoint, ...)
"""
import json
import re
import subprocess
import sys
import time

from checks import check, in_ns, run, variant_rdata

API_KEY = "health-test-key"
INTERVAL_MS = 200
CHECKED, MARKED, DEFAULT = "127.0.0.98", "127.0.0.99", "192.0.2.60"

# Accepts and closes connections until killed (a listener that never
# accepted would fill its backlog and time the checks out).
LISTENER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.close()
"""


class Endpoint:
    """The checked endpoint: a TCP listener on CHECKED in namespace `ns`
    (None: here), the namespace popdns runs in. Port 0: any, listening at
    once; else that port, listening from start() (a namespace the test has
    yet to make)."""

    def __init__(self, ns, port=0):
        self.ns = ns
        self.port = port
        self.proc = None
        if port == 0:
            self.start()

    def start(self):
        cmd = [sys.executable, "-c", LISTENER, CHECKED, str(self.port)]
        if self.ns:
            cmd = ["ip", "netns", "exec", self.ns] + cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def config(self, mgmt_port):
        """Top-level YAML: the check of CHECKED and a management endpoint."""
        return ("health_checks:\n"
                "  - {endpoint: %s, type: tcp, port: %d, interval_ms: %d,\n"
                "     timeout_ms: 100, fall: 1, rise: 1}\n"
                "management: {listen: \"127.0.0.1:%d\", api_key: %s}\n"
                % (CHECKED, self.port, INTERVAL_MS, mgmt_port, API_KEY))


def append_health_variants(zone):
    """health.example.test: its own A, and client-lan's two endpoints (as
    generic RDATA, like append_variants)."""
    with open(zone, "a") as f:
        f.write("health.example.test. 300 A %s\n" % DEFAULT)
        for addr in (CHECKED, MARKED):
            f.write("health.example.test. 5 TYPE65350 %s\n"
                    % variant_rdata("net:client-lan", addr))


def _answer(client_ns, host, port):
    cmd = ["kdig", "+notcp", "+short", "+time=1", "+retry=0", "-p", str(port),
           "@" + host, "health.example.test", "A"]
    r = in_ns(client_ns, cmd) if client_ns else run(cmd)
    return tuple(sorted(re.findall(r"^\d+\.\d+\.\d+\.\d+$", r.stdout, re.M)))


def _mark(ns, mgmt_port, addr, down):
    """PUT /api/v1/endpoints/ADDR from namespace `ns`; the HTTP status."""
    code = ("import sys, urllib.request\n"
            "r = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(),"
            " method='PUT', headers={'X-API-Key': sys.argv[3]})\n"
            "print(urllib.request.urlopen(r, timeout=5).status)\n")
    cmd = [sys.executable, "-c", code,
           "http://127.0.0.1:%d/api/v1/endpoints/%s" % (mgmt_port, addr),
           json.dumps({"admin_down": down}), API_KEY]
    r = in_ns(ns, cmd) if ns else run(cmd)
    return r.stdout.strip()


def _watch(client_ns, host, port, until, allowed, bound_s):
    """Asks until the answer is `until` (at most bound_s seconds); every
    answer seen on the way must be in `allowed` (one table or the other,
    never a mix). Returns (seconds, answers seen)."""
    start = time.monotonic()
    seen = []
    while time.monotonic() - start < bound_s:
        a = _answer(client_ns, host, port)
        seen.append(a)
        if a == until:
            break
        time.sleep(0.02)
    return time.monotonic() - start, seen


def check_endpoint_health(client_ns, host, endpoint, mgmt_port, ctl, what,
                          port=53):
    """The clients of client-lan (client_ns asking `host`) lose CHECKED
    within the check interval plus one publish when its listener stops, get
    the name's own answer when MARKED is marked down too, and both back.
    `ctl()` returns `popdnsctl endpoints`'s output."""
    both, only_marked = (CHECKED, MARKED), (MARKED,)
    if endpoint.proc is None:
        endpoint.start()
    _watch(client_ns, host, port, both, {both}, 5)
    check(_answer(client_ns, host, port) == both,
          "%s: client-lan gets both endpoints while they are up" % what)
    # fall 1: down at the first failed check, which starts at most one
    # interval after the stop; then one publish.
    endpoint.stop()
    bound = INTERVAL_MS / 1000 + 1.0
    took, seen = _watch(client_ns, host, port, only_marked,
                        {both, only_marked}, bound + 2)
    check(seen[-1] == only_marked and took <= bound and
          set(seen) <= {both, only_marked},
          "%s: the checked endpoint's listener stops: left out after %.2f s "
          "(bound %.1f s: interval + publish), every answer whole (%d asked)"
          % (what, took, bound, len(seen)))
    status = ctl()
    check(re.search(r"^%s down check tcp \d+: connect: Connection refused$"
                    % re.escape(CHECKED), status, re.M) is not None,
          "%s: popdnsctl endpoints says why it is down: %r" % (what, status))
    # The operator takes the other one out: no endpoint left, the name's
    # own answer.
    code = _mark(endpoint.ns, mgmt_port, MARKED, True)
    check(code == "200" and _answer(client_ns, host, port) == (DEFAULT,),
          "%s: PUT /api/v1/endpoints/%s {admin_down: true} (HTTP %s): no "
          "endpoint left, the name's own answer" % (what, MARKED, code))
    endpoint.start()
    took, seen = _watch(client_ns, host, port, (CHECKED,),
                        {(DEFAULT,), (CHECKED,)}, bound + 2)
    check(seen[-1] == (CHECKED,) and took <= bound,
          "%s: the listener back: the checked endpoint answers again after "
          "%.2f s" % (what, took))
    code = _mark(endpoint.ns, mgmt_port, MARKED, False)
    check(code == "200" and _answer(client_ns, host, port) == both,
          "%s: admin_down false: both endpoints again (HTTP %s)" % (what, code))
