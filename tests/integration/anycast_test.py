#!/usr/bin/env python3
"""The anycast lab (scripts/anycast-lab.sh): health withdraws the route.

A router running BIRD 2, two PoPs each running popdns on a software NIC
(its wire tap in the router's namespace, so BGP crosses the exception path)
with BIRD 2 announcing 198.18.53.1/32 and fd00:53::1/128 while
scripts/bird-health-hook.sh sees GET /health answer 200, and a client
behind the router asking `id.server CH TXT` (answered "pop1"/"pop2") over
IPv4 and IPv6 all the time, a new source port a query, which the router
spreads over both PoPs (ECMP hashed on ports). Workers in idle: sleep, so
two popdns and three BIRDs fit two cores. Cases:
  - both PoPs up: every query answered, both PoPs answer, both families;
  - kill -9 of popdns in pop1: its routes leave the router's table within
    a bound; after convergence no query fails; started again, it is
    re-announced;
  - popdnsctl drain in pop1: /health 503 at once, the route is withdrawn
    before popdns stops, and not one query fails; the same for SIGTERM
    (shutdown_drain_seconds: 5);
  - a zone that fails to load in pop2: pop2 is not announced; fixed and
    reloaded, it is;
  - a secondary zone that expires in pop2 (its primary gone): pop2 is
    withdrawn; the primary back, pop2 is re-announced.
Namespaces are named after the test's PID; processes are stopped by PID;
everything is removed at exit. Usage: anycast_test.py BUILD_DIR SOURCE_DIR
(root; skipped with 77 without root, /dev/net/tun, bird2 or curl, a
failure in CI). Helper mode: anycast_test.py client LOG SECONDS (in the
client namespace).
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, failures, in_ns, require, run, summary  # noqa: E402

SVC4, SVC6 = "198.18.53.1", "fd00:53::1"
# A route must leave the router's table this soon after popdns dies (the
# wire tap goes with the process: immediate), and after /health turns 503
# (the hook polls every 0.5 s).
WITHDRAW_BOUND = 5.0
ANNOUNCE_BOUND = 30.0


# ---------------------------------------------------------------- client
def client_main(log, seconds):
    """Queries id.server CH TXT over IPv4 and IPv6, each from a new socket
    (so a new source port) every 20 ms, and logs one line per query:
    'SENT_TIME FAMILY ok POP' or 'SENT_TIME FAMILY fail -' (no answer in
    1 s). Stops after `seconds`."""
    out = open(log, "a", buffering=1)
    lock = threading.Lock()
    end = time.time() + seconds
    q = (struct.pack(">HHHHHH", 0, 0, 1, 0, 0, 0) +
         b"\x02id\x06server\x00" + struct.pack(">HH", 16, 3))

    def loop(host, fam, name):
        qid = 0
        next_at = time.monotonic()
        while time.time() < end:
            qid = (qid + 1) & 0xFFFF
            msg = struct.pack(">H", qid) + q[2:]
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(1.0)
            sent = time.time()
            result = "fail -"
            try:
                s.sendto(msg, (host, 53))
                while True:
                    r = s.recv(512)
                    if r[:2] == msg[:2]:
                        who = "pop1" if b"pop1" in r else (
                            "pop2" if b"pop2" in r else "other")
                        result = "ok " + who
                        break
            except OSError:
                pass
            s.close()
            with lock:
                out.write("%.3f %s %s\n" % (sent, name, result))
            next_at += 0.02
            d = next_at - time.monotonic()
            if d > 0:
                time.sleep(d)
            else:
                next_at = time.monotonic()

    ts = [threading.Thread(target=loop, args=(SVC4, socket.AF_INET, "v4")),
          threading.Thread(target=loop, args=(SVC6, socket.AF_INET6, "v6"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return 0


def read_log(log, start, end=None):
    """The client's results sent within [start, end): a list of
    (time, family, ok, pop)."""
    rows = []
    with open(log) as f:
        for line in f:
            p = line.split()
            if len(p) != 4:
                continue
            t = float(p[0])
            if t >= start and (end is None or t < end):
                rows.append((t, p[1], p[2] == "ok", p[3]))
    return rows


def describe(rows):
    fails = [r for r in rows if not r[2]]
    pops = sorted({r[3] for r in rows if r[2]})
    fams = sorted({r[1] for r in rows if r[2]})
    return len(rows), len(fails), pops, fams


# ---------------------------------------------------------------- the lab
class Lab:
    def __init__(self, build, src, tmp):
        self.src = src
        self.tag = "pdlab%d" % os.getpid()
        self.state = os.path.join(tmp, "state")
        self.popdnsctl = os.path.join(build, "control", "popdnsctl")
        self.env = dict(os.environ, LAB=self.tag, STATE=self.state,
                        POPDNS=os.path.join(build, "control", "popdns"),
                        DRAIN="5", IDLE="sleep")
        self.script = os.path.join(src, "scripts", "anycast-lab.sh")

    def ns(self, name):
        return "%s-%s" % (self.tag, name)

    def sh(self, *args, timeout=120):
        r = run(["bash", self.script] + list(args), env=self.env,
                timeout=timeout)
        print(r.stdout + r.stderr, end="")
        return r

    def routes(self):
        """{'v4': set of wire interfaces, 'v6': ...} the router's routes
        to the service address go through."""
        out = {}
        for fam, flag, pfx in (("v4", "-4", SVC4 + "/32"),
                               ("v6", "-6", SVC6 + "/128")):
            r = run(["ip", "-n", self.ns("router"), flag, "route", "show",
                     pfx], timeout=10)
            out[fam] = {w for w in ("p1wire", "p2wire") if w in r.stdout}
        return out

    def announced(self, pop):
        r = self.routes()
        wire = "p%dwire" % pop
        return wire in r["v4"] and wire in r["v6"]

    def withdrawn(self, pop):
        r = self.routes()
        wire = "p%dwire" % pop
        return wire not in r["v4"] and wire not in r["v6"]

    def wait(self, cond, bound, step=0.05):
        """Seconds until cond() held, or None after `bound` seconds."""
        t0 = time.time()
        while time.time() - t0 < bound:
            if cond():
                return time.time() - t0
            time.sleep(step)
        return None

    def ctl(self, pop, *args):
        return in_ns(self.ns("pop%d" % pop),
                     [self.popdnsctl, "--socket",
                      os.path.join(self.state, "pop%d" % pop, "control.sock")]
                     + list(args), timeout=20)

    def health(self, pop):
        r = in_ns(self.ns("pop%d" % pop),
                  ["curl", "-s", "-m", "2", "-w", "\n%{http_code}",
                   "http://127.0.0.1:8053/health"], timeout=10)
        body, _, code = r.stdout.rpartition("\n")
        return code, body

    def pid(self, pop):
        with open(os.path.join(self.state, "pop%d" % pop, "popdns.pid")) as f:
            return int(f.read())

    def alive(self, pid):
        """popdns `pid` runs (a zombie, or one still dying, does not)."""
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split(")")[-1].split()[0] not in ("Z", "X")
        except OSError:
            return False

    def kill9(self, pop):
        """kill -9 of popdns in `pop`; returns once it is gone (bounded)."""
        pid = self.pid(pop)
        os.kill(pid, signal.SIGKILL)
        self.wait(lambda: not self.alive(pid), 10)


def main(build, src):
    for tool in ("bird", "birdc", "curl"):
        if shutil.which(tool) is None:
            print("anycast_test: %s not installed (scripts/install-deps.sh)"
                  % tool)
            sys.exit(1 if os.environ.get("CI") else 77)
    tmp = tempfile.mkdtemp(prefix="popdns-anycast-")
    lab = Lab(build, src, tmp)
    log = os.path.join(tmp, "client.log")
    client = None
    try:
        up = lab.sh("up", timeout=180)
        check(up.returncode == 0,
              "anycast-lab.sh up: the router has the service route (IPv4 "
              "and IPv6) via both PoPs")
        if up.returncode != 0:
            return
        here = os.path.abspath(__file__)
        client = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("client"), sys.executable, here,
             "client", log, "400"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        # --- both PoPs up.
        t0 = time.time()
        time.sleep(5)
        n, nfail, pops, fams = describe(read_log(log, t0 + 0.5, time.time() - 1.5))
        check(n > 200 and nfail == 0,
              "both PoPs up: every query answered (%d sent, %d failed)"
              % (n, nfail))
        check(pops == ["pop1", "pop2"] and fams == ["v4", "v6"],
              "both PoPs answer, over IPv4 and IPv6 (%s, %s)" % (pops, fams))

        # --- kill -9 of popdns in pop1.
        pid = lab.pid(1)
        t_kill = time.time()
        os.kill(pid, signal.SIGKILL)
        took = lab.wait(lambda: lab.withdrawn(1), WITHDRAW_BOUND)
        check(took is not None,
              "kill -9 in pop1: its routes (IPv4, IPv6) leave the router's "
              "table within %.0f s (%s)" % (
                  WITHDRAW_BOUND, "%.2f s" % took if took is not None else
                  "still there: %s" % lab.routes()))
        t_conv = time.time()
        during = read_log(log, t_kill, t_conv)
        time.sleep(5)
        n, nfail, pops, _ = describe(read_log(log, t_conv + 1.0,
                                              time.time() - 1.5))
        print("     (queries sent between the kill and convergence: %d, "
              "failed: %d)" % (len(during), sum(1 for r in during if not r[2])))
        check(n > 100 and nfail == 0 and pops == ["pop2"],
              "after convergence no query fails, pop2 answers them all "
              "(%d sent, %d failed, %s)" % (n, nfail, pops))

        # --- pop1 comes back.
        st = lab.sh("start-pop", "1")
        took = lab.wait(lambda: lab.announced(1), ANNOUNCE_BOUND, 0.2)
        check(st.returncode == 0 and took is not None,
              "pop1 started again: re-announced (%s)" % (
                  "%.1f s" % took if took is not None else lab.routes()))
        t1 = time.time()
        time.sleep(4)
        n, nfail, pops, _ = describe(read_log(log, t1 + 0.5, time.time() - 1.5))
        check(nfail == 0 and pops == ["pop1", "pop2"],
              "both PoPs answer again, nothing fails (%d sent, %d failed, %s)"
              % (n, nfail, pops))

        # --- popdnsctl drain in pop1.
        pid = lab.pid(1)
        t_drain = time.time()
        d = lab.ctl(1, "drain")
        code, body = lab.health(1)
        check(d.returncode == 0 and code == "503" and "draining" in body,
              "popdnsctl drain: /health turns 503 at once (%s %r)"
              % (code, body.strip()))
        took = lab.wait(lambda: lab.withdrawn(1), WITHDRAW_BOUND)
        t_gone = time.time()
        still = lab.alive(pid)
        check(took is not None and still,
              "drain: the route is withdrawn (%s) while popdns still runs "
              "(%s)" % ("%.2f s" % took if took is not None else "not",
                        "alive" if still else "already stopped"))
        stop = lab.wait(lambda: not lab.alive(pid), 15, 0.1)
        t_stop = time.time()
        check(stop is not None and t_stop - t_drain >= 4.5,
              "drain: popdns stops by itself after shutdown_drain_seconds "
              "(%.1f s after the drain)" % (t_stop - t_drain))
        time.sleep(2.5)
        rows = read_log(log, t_drain - 0.2, t_stop + 1.0)
        n, nfail, pops, _ = describe(rows)
        check(n > 300 and nfail == 0,
              "drain: not one query failed from the drain until after "
              "popdns stopped (%d sent, %d failed; route gone after %.2f s, "
              "popdns stopped after %.1f s)" % (n, nfail, t_gone - t_drain,
                                                t_stop - t_drain))

        lab.sh("start-pop", "1")
        check(lab.wait(lambda: lab.announced(1), ANNOUNCE_BOUND, 0.2)
              is not None, "pop1 started after its drain: re-announced")

        # --- SIGTERM (systemctl stop/restart) drains the same way.
        time.sleep(2)
        pid = lab.pid(1)
        t_term = time.time()
        os.kill(pid, signal.SIGTERM)
        took = lab.wait(lambda: lab.withdrawn(1), WITHDRAW_BOUND)
        still = lab.alive(pid)
        stop = lab.wait(lambda: not lab.alive(pid), 15, 0.1)
        t_stop = time.time()
        check(took is not None and still and stop is not None and
              t_stop - t_term >= 4.5,
              "SIGTERM with shutdown_drain_seconds: route withdrawn (%s) "
              "while popdns runs, which stops %.1f s later" % (
                  "%.2f s" % took if took is not None else "not",
                  t_stop - t_term))
        time.sleep(2.5)
        n, nfail, _, _ = describe(read_log(log, t_term - 0.2, t_stop + 1.0))
        check(n > 300 and nfail == 0,
              "SIGTERM: not one query failed until after popdns stopped "
              "(%d sent, %d failed)" % (n, nfail))
        lab.sh("start-pop", "1")
        check(lab.wait(lambda: lab.announced(1), ANNOUNCE_BOUND, 0.2)
              is not None, "pop1 started after SIGTERM: re-announced")

        # --- a zone that fails to load in pop2.
        zone = os.path.join(lab.state, "pop2", "example.test.zone")
        good = open(zone).read()
        lab.kill9(2)
        lab.wait(lambda: lab.withdrawn(2), WITHDRAW_BOUND)
        with open(zone, "w") as f:
            f.write(good + "\nbroken line here IN A not-an-address\n")
        lab.sh("start-pop", "2")
        time.sleep(3)
        code, body = lab.health(2)
        check(code == "503" and "example.test.: not loaded" in body,
              "pop2 with a zone that fails to load: /health 503 (%s %r)"
              % (code, body.strip()))
        check(lab.withdrawn(2),
              "pop2 with a zone that fails to load is not announced (%s)"
              % lab.routes())
        t_fix = time.time()
        with open(zone, "w") as f:
            f.write(good)
        rl = lab.ctl(2, "reload")
        took = lab.wait(lambda: lab.announced(2), ANNOUNCE_BOUND, 0.2)
        check(rl.returncode == 0 and took is not None,
              "zone fixed and reloaded: pop2 re-announced (%s)" % (
                  "%.1f s" % took if took is not None else lab.routes()))
        time.sleep(3)
        n, nfail, pops, _ = describe(read_log(log, t_fix + took + 0.5
                                              if took else t_fix,
                                              time.time() - 1.5))
        check(nfail == 0 and pops == ["pop1", "pop2"],
              "both PoPs answer again, nothing fails (%d sent, %d failed, %s)"
              % (n, nfail, pops))

        # --- a secondary zone that expires in pop2.
        expiry_case(lab, tmp, log)
    finally:
        if client is not None and client.poll() is None:
            client.kill()
            client.wait()
        primary = getattr(lab, "primary", None)
        if primary is not None and primary.poll() is None:
            primary.terminate()
            try:
                primary.wait(timeout=5)
            except subprocess.TimeoutExpired:
                primary.kill()
                primary.wait()
        if failures:
            for name in ("router/bird.log", "pop1/popdns.log",
                         "pop1/hook.log", "pop2/popdns.log", "pop2/hook.log",
                         "pop2/bird.log"):
                p = os.path.join(lab.state, name)
                if os.path.exists(p):
                    print("--- %s (last 30 lines) ---" % name)
                    print("".join(open(p).readlines()[-30:]))
        lab.sh("down", timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


LAB_ZONE = """$ORIGIN lab.test.
$TTL 60
@   SOA ns1 hostmaster {serial} 2 1 12 60
    NS  ns1
ns1 A   198.18.53.1
www A   198.18.53.10
"""


def expiry_case(lab, tmp, log):
    """pop2 also serves lab.test as a secondary of a primary on its own
    loopback (expire 12 s, retry 1 s): without the primary the zone expires
    and pop2 is withdrawn; with the primary back it refreshes and pop2 is
    announced again."""
    d = os.path.join(lab.state, "pop2")
    seed = os.path.join(d, "lab.test.zone")
    with open(seed, "w") as f:
        f.write(LAB_ZONE.format(serial=1))
    conf = os.path.join(d, "popdns.yaml")
    text = open(conf).read()
    text = text.replace("zones:\n", (
        "zones:\n"
        "  - name: lab.test\n"
        "    file: %s\n"
        "    primaries: [\"127.0.0.1:5300\"]\n"
        "    refresh: 2\n    retry: 1\n    expire: 12\n" % seed), 1)
    with open(conf, "w") as f:
        f.write(text)
    lab.kill9(2)
    lab.wait(lambda: lab.withdrawn(2), WITHDRAW_BOUND)
    lab.sh("start-pop", "2")
    took = lab.wait(lambda: lab.announced(2), ANNOUNCE_BOUND, 0.2)
    check(took is not None,
          "pop2 with a secondary zone whose primary is gone: announced while "
          "its copy is fresh (%s)" % lab.routes())
    took = lab.wait(lambda: lab.withdrawn(2), 12 + 10, 0.2)
    code, body = lab.health(2)
    check(took is not None and "lab.test.: expired" in body,
          "the secondary zone expires: pop2 withdrawn (%s; /health %s %r)"
          % ("after %.1f s" % took if took is not None else lab.routes(),
             code, body.strip()))
    # The primary comes back (a kernel-socket popdns in pop2's namespace).
    pzone = os.path.join(tmp, "primary-lab.test.zone")
    with open(pzone, "w") as f:
        f.write(LAB_ZONE.format(serial=2))
    pconf = os.path.join(tmp, "primary.yaml")
    with open(pconf, "w") as f:
        f.write("zones:\n  - name: lab.test\n    file: %s\n"
                "    allow_transfer: [\"127.0.0.0/8\"]\n"
                "listen: [\"127.0.0.1:5300\"]\ncontrol_socket: %s\n"
                % (pzone, os.path.join(tmp, "primary.sock")))
    lab.primary = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns("pop2"), lab.env["POPDNS"], "--config",
         pconf], stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(tmp, "primary.log"), "w"))
    t_back = time.time()
    took = lab.wait(lambda: lab.announced(2), ANNOUNCE_BOUND, 0.2)
    check(took is not None,
          "the primary back: lab.test refreshed, pop2 re-announced (%s)"
          % ("%.1f s" % took if took is not None else lab.routes()))
    # Through pop2's kernel sockets on the service address: the same
    # snapshot its workers answer from.
    r = in_ns(lab.ns("pop2"), ["dig", "+short", "+time=1", "+tries=2",
                               "@" + SVC4, "lab.test", "SOA"], timeout=10)
    check(" 2 2 1 12 60" in r.stdout,
          "pop2 serves lab.test at the primary's serial (%r)"
          % r.stdout.strip())
    time.sleep(3)
    n, nfail, pops, _ = describe(read_log(log, t_back + (took or 0) + 0.5,
                                          time.time() - 1.5))
    check(nfail == 0 and pops == ["pop1", "pop2"],
          "both PoPs answer, nothing fails (%d sent, %d failed, %s)"
          % (n, nfail, pops))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        sys.exit(client_main(sys.argv[2], float(sys.argv[3])))
    require("anycast_test", "network namespaces, net_tap, BIRD", tun=True)
    main(sys.argv[1], sys.argv[2])
    sys.exit(summary())
