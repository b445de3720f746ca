#!/usr/bin/python3
"""RFC 2136 UPDATE benchmark: popdns vs knotd, each the primary of the same
zone, measured in the same run, one after the other, with the same client.

  bench/update_bench.sh [--quick] [--names N] [--updates 500]
                        [--senders 8] [--duration 10] [--stream 1000]
                        [--propagation 50] [--udp-threads 2] ...
  (bench/update_bench.sh runs this file with /usr/bin/python3; --help lists
  every option.)

The zone: bench/zone_load_helper.py gen --shape names (1,000,000 names,
~1.37M records: A, two-A sets, AAAA, TXT, MX, CNAME chains, tenant
labels, delegations, a wildcard; --quick: 50,000 names), origin
apps.example.net. Everything runs on 127.0.0.1 on free high ports; every
server is stopped by its PID; every phase is bounded in time.

Servers (one at a time; the other is not running):
  - popdns: listen 127.0.0.1:P, udp_threads (--udp-threads, default 2: see
    below), control_socket, keys [navigator hmac-sha256], the zone with
    file + storage (LMDB journal) + update [{key: navigator, subtree:
    apps.example.net}]; for phase 4 restarted with notify + allow_transfer
    + key, and a popdns secondary (primaries, key, storage).
  - knotd: the same listen/worker counts (udp-workers = --udp-threads,
    tcp-workers 1, background-workers 1), acl [transfer, update] with the
    key, journal-content changes, zonefile-load difference, zonefile-sync
    -1 (as tests/integration/peers.py's Knot primary); for phase 4
    restarted with notify, and a knotd secondary.
  Each is timed from exec until it answers the zone's SOA (load time), and
  again after the restart (from its storage/journal).

Why udp_threads 2 by default: popdns runs the UPDATE on the UDP socket
thread that received it (commit = journal fsync + incremental build +
publish, before the answer), so with 1 thread UPDATEs over UDP are
committed strictly one after another (its batching of concurrent UPDATEs
needs concurrent requests) and the queries that thread received in the
same recvmmsg burst wait for the commit. 2 threads = the VM's 2 cores;
knotd gets the same number of UDP workers.

Measurements, each for popdns and then knotd:
  1. Acknowledgement latency, sequential: --updates single-record UPDATEs
     (delete the A RRset of an existing host, add one A: one RR replaced),
     TSIG hmac-sha256, one at a time over UDP: request -> NOERROR p50/p99/
     max. Right after each NOERROR the name is queried over UDP (a query
     as soon as the previous answer arrives) until the new address is in
     the answer: ack -> visible p50/p99/max and the share visible at the
     first query.
  2. Throughput with the dataplane meanwhile: --senders processes
     (multiprocessing: no GIL between them), each a sequential UDP client
     sending such UPDATEs for --duration s: updates/s acknowledged
     (NOERROR), latency p50/p99, timeouts, serials moved (batching), the
     senders' CPU. Meanwhile dnsperf (-c 4 -T 1 -q 100, max rate unless
     --dnsperf-qps) queries the same server from a file of existing names
     and types (A, AAAA, MX, TXT of hosts; A of CNAME aliases; 5%
     NXDOMAIN); its answer rate is compared with a dnsperf run of the same
     length just before without updates (ratio). Server CPU from
     /proc/PID/stat.
  3. knsupdate stream: one knsupdate (TSIG -y) reading a script of
     --stream `update add <new name> 300 A ...` / `send` pairs (a
     sequential client, as an operator's tooling): total time, updates/s.
  4. Propagation: the primary restarted with NOTIFY to a secondary of the
     same software, which takes the zone by AXFR first; then
     --propagation UPDATEs spaced --spacing-ms (sequential, UDP), and for
     each the time from the primary's NOERROR until the secondary answers
     the new address (queried over UDP every --poll-ms): p50/p99/max.
     Peak RSS (VmHWM) of each primary after phases 1-3 (load + every
     update) and of the restarted primary at the end.

Output: a line per measurement, a Markdown table (popdns, knotd, ratio)
in bench/results/update_bench-DATE[-quick].md and the data as JSON next
to it (--out-dir, --no-save). The client's answers are checked for the
request's ID and rcode; the responses' TSIG MACs are not verified (the
servers verify ours: a bad one would be NOTAUTH).
"""

import argparse
import json
import multiprocessing
import os
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from zone_load_helper import b36, cpu_model, host_name, mix  # noqa: E402
from ixfr_bench import TsigKey, free_port, name_wire  # noqa: E402

ORIGIN = "apps.example.net."
ZONE_SERIAL = 2026112501     # what zone_load_helper.py gen writes
KEY_NAME = "navigator"
T_A, T_SOA, T_ANY = 1, 6, 255
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KNSUPDATE = shutil.which("knsupdate") or "/usr/bin/knsupdate"
DNSPERF = shutil.which("dnsperf") or "/usr/bin/dnsperf"


# ------------------------------------------------------------------ zone

class Zone:
    """The names of zone_load_helper.py gen --shape names, recomputed from
    its summary (the same formulas)."""

    def __init__(self, names, summary):
        self.n = names
        self.hosts = summary["hosts"]
        self.aliases = summary["aliases"]
        self.tenants = max(1, self.hosts // 500)
        self.records = summary["records"]
        k = 2654435761 % self.hosts or 1
        while k > 1 and self._gcd(k, self.hosts) != 1:
            k += 1
        self.k = k

    @staticmethod
    def _gcd(a, b):
        while b:
            a, b = b, a % b
        return a

    def host(self, i):
        return host_name(i, self.tenants) + "." + ORIGIN

    def alias(self, j):
        return "alias-%s.%s" % (b36(j), ORIGIN)

    def picked(self, c):
        """Host index number c of a fixed permutation (names to update)."""
        return (c * self.k + 12345) % self.hosts

    def query_lines(self, count):
        """dnsperf input: existing names and types, some NXDOMAIN."""
        out = []
        c = 0
        while len(out) < count:
            c += 1
            r = mix(c, 77) % 100
            if r < 5:
                out.append("nx-%s.t%s.%s A" % (b36(c), b36(c % 97), ORIGIN))
            elif r < 20:
                out.append("%s A" % self.alias(mix(c, 78) % self.aliases))
            else:
                i = mix(c, 79) % self.hosts
                y = mix(i, 4) % 100
                types = ["A"]
                if y < 22:
                    types.append("AAAA")
                if 50 <= y < 56:
                    types.append("TXT")
                if 90 <= y < 94:
                    types.append("MX")
                out.append("%s %s" % (self.host(i), types[c % len(types)]))
        return out


def addr_of(k):
    """A unique IPv4 address (bytes) for update number k (198.18.0.0/15)."""
    return bytes((198, 18 + ((k >> 16) & 1), (k >> 8) & 255, k & 255))


# ---------------------------------------------------------------- wire

ZONE_W = name_wire(ORIGIN)


def update_wire(key, qid, name, addr, ttl=300):
    """A TSIG-signed UPDATE: delete the A RRset of name, add one A."""
    nw = name_wire(name)
    msg = struct.pack("!HHHHHH", qid, 5 << 11, 1, 0, 2, 0) + ZONE_W + \
        struct.pack("!HH", T_SOA, 1) + \
        nw + struct.pack("!HHIH", T_A, T_ANY, 0, 0) + \
        nw + struct.pack("!HHIH", T_A, 1, ttl, 4) + addr
    return key.sign_request(msg)[0]


def query_wire(qid, name, qtype=T_A):
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + name_wire(name) + \
        struct.pack("!HH", qtype, 1)


def soa_serial(msg):
    """Serial of an authoritative NOERROR SOA answer, else None."""
    try:
        flags, qd, an = struct.unpack("!HHH", msg[2:8])
        if not flags & 0x8000 or flags & 15 or not an or not flags & 0x0400:
            return None
        off = 12
        for _ in range(qd):
            off = skip_name(msg, off) + 4
        off = skip_name(msg, off)
        if struct.unpack("!H", msg[off:off + 2])[0] != T_SOA:
            return None
        p = skip_name(msg, skip_name(msg, off + 10))
        return struct.unpack("!I", msg[p:p + 4])[0]
    except (IndexError, struct.error):
        return None


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def get_serial(port, timeout=1.0):
    s = udp_socket()
    s.settimeout(timeout)
    try:
        qid = int.from_bytes(os.urandom(2), "big")
        s.sendto(query_wire(qid, ORIGIN, T_SOA), ("127.0.0.1", port))
        while True:
            m = s.recv(4096)
            if m[:2] == struct.pack("!H", qid):
                return soa_serial(m)
    except OSError:
        return None
    finally:
        s.close()


def answers_addr(msg, qid, addr):
    """True when msg answers qid with NOERROR and addr in it."""
    return len(msg) > 12 and msg[:2] == struct.pack("!H", qid) and \
        not (msg[3] & 15) and addr in msg[12:]


def pct(vals, p):
    if not vals:
        return None
    v = sorted(vals)
    return v[min(len(v) - 1, int(len(v) * p / 100.0))]


def summary(vals):
    return dict(n=len(vals), p50=pct(vals, 50), p99=pct(vals, 99),
                max=max(vals) if vals else None,
                mean=statistics.fmean(vals) if vals else None)


class Client:
    """A sequential UDP client: UPDATE and wait for its answer."""

    def __init__(self, port, key, host="127.0.0.1"):
        self.dst = (host, port)
        self.key = key
        self.s = udp_socket()
        self.qid = int.from_bytes(os.urandom(2), "big")

    def update(self, name, addr, timeout=5.0):
        """(rcode or None on timeout, seconds, t_ack monotonic)."""
        self.qid = (self.qid + 1) & 0xFFFF
        wire = update_wire(self.key, self.qid, name, addr)
        want = struct.pack("!H", self.qid)
        t0 = time.monotonic()
        self.s.sendto(wire, self.dst)
        end = t0 + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None, None, None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                continue
            m = self.s.recv(65535)
            t1 = time.monotonic()
            if m[:2] == want and m[2] & 0x80:
                return m[3] & 15, t1 - t0, t1

    def close(self):
        self.s.close()


def wait_visible(sock, port, name, addr, deadline, poll_s=0.0):
    """Queries name A until addr is answered; (t_visible, queries) or
    (None, queries)."""
    dst = ("127.0.0.1", port)
    n = 0
    qid = int.from_bytes(os.urandom(2), "big")
    while time.monotonic() < deadline:
        qid = (qid + 1) & 0xFFFF
        n += 1
        sock.sendto(query_wire(qid, name), dst)
        t_sent = time.monotonic()
        while True:
            left = min(deadline, t_sent + 0.5) - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([sock], [], [], left)
            if not r:
                break
            m = sock.recv(65535)
            if m[:2] != struct.pack("!H", qid):
                continue
            if answers_addr(m, qid, addr):
                return time.monotonic(), n
            break
        if poll_s:
            time.sleep(poll_s)
    return None, n


# -------------------------------------------------------------- servers

_started = []


def stop_all():
    for s in list(_started):
        s.stop()


def _on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def proc_cpu(pid):
    """utime + stime of the process (all threads), seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            f = f.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Server:
    kind = "?"

    def __init__(self, tmp, role, key, a, zone_file=None, port=None):
        self.role = role
        self.dir = os.path.join(tmp, "%s-%s" % (self.kind, role))
        self.storage = os.path.join(self.dir, "storage")
        os.makedirs(self.storage, exist_ok=True)
        self.port = port or free_port()
        self.key = key
        self.a = a
        self.zone_file = zone_file
        self.proc = None
        self.notify_port = None
        self.primary_port = None
        self.log_path = os.path.join(self.dir, "server.log")

    def start(self):
        self.prepare()
        log = open(self.log_path, "ab")
        self.t_exec = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdout=log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir,
                                     start_new_session=True)
        log.close()
        _started.append(self)

    def stop(self):
        if self in _started:
            _started.remove(self)
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_serial(self, serial, timeout):
        """Seconds from exec until the SOA answers `serial` (or any serial
        when None); None on timeout or exit."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.running():
                return None
            got = get_serial(self.port, 0.2)
            # `serial` or later (RFC 1982): a request in flight when a
            # phase ended may have been committed after we read it
            if got is not None and (serial is None or
                                    (got - serial) & 0xFFFFFFFF < 1 << 31):
                return time.monotonic() - self.t_exec
            time.sleep(0.05)
        return None

    def mem(self):
        vals = {}
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "VmHWM"):
                        vals[k] = int(v.split()[0])
        except OSError:
            pass
        return vals.get("VmRSS"), vals.get("VmHWM")

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def tail(self, n=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def log_count(self, pattern):
        try:
            with open(self.log_path, errors="replace") as f:
                return len(re.findall(pattern, f.read()))
        except OSError:
            return 0


class Popdns(Server):
    kind = "popdns"

    def prepare(self):
        k = self.key
        z = ["  - name: %s" % ORIGIN.rstrip("."),
             "    storage: %s" % self.storage]
        if self.role == "primary":
            z += ["    file: %s" % self.zone_file,
                  "    update:",
                  "      - {key: %s, subtree: %s}" % (KEY_NAME,
                                                      ORIGIN.rstrip("."))]
            if self.notify_port:
                z += ['    notify: ["127.0.0.1:%d"]' % self.notify_port,
                      '    allow_transfer: ["127.0.0.1/32"]',
                      "    key: %s" % KEY_NAME]
        else:
            z += ['    primaries: ["127.0.0.1:%d"]' % self.primary_port,
                  "    key: %s" % KEY_NAME]
        with open(os.path.join(self.dir, "popdns.yaml"), "w") as f:
            f.write("\n".join([
                'listen: ["127.0.0.1:%d"]' % self.port,
                "udp_threads: %d" % self.a.udp_threads,
                "control_socket: %s/ctl.sock" % self.dir,
                "keys:",
                '  - {name: %s, algorithm: %s, secret: "%s"}' % (
                    KEY_NAME, k.algorithm, k.secret_b64),
                "zones:"] + z) + "\n")

    def command(self):
        return [self.a.popdns, "--config",
                os.path.join(self.dir, "popdns.yaml")]

    def version(self):
        try:
            r = subprocess.run([self.a.popdns, "--version"],
                               capture_output=True, text=True, timeout=10)
            return (r.stdout.strip().splitlines() or ["popdns ?"])[0]
        except (OSError, subprocess.TimeoutExpired):
            return "popdns ?"


class Knot(Server):
    kind = "knotd"

    def prepare(self):
        k = self.key
        d = self.dir
        L = ["server:",
             "    rundir: %s" % d,
             "    listen: 127.0.0.1@%d" % self.port,
             "    udp-workers: %d" % self.a.udp_threads,
             "    tcp-workers: 1",
             "    background-workers: 1",
             "    tcp-io-timeout: 5000",
             "log:",
             "  - target: stderr",
             "    any: info",
             "database:",
             "    storage: %s" % self.storage,
             "key:",
             "  - id: %s" % KEY_NAME,
             "    algorithm: %s" % k.algorithm,
             "    secret: %s" % k.secret_b64]
        remotes = []
        if self.notify_port:
            remotes += ["  - id: secondary",
                        "    address: 127.0.0.1@%d" % self.notify_port,
                        "    key: %s" % KEY_NAME]
        if self.primary_port:
            remotes += ["  - id: primary",
                        "    address: 127.0.0.1@%d" % self.primary_port,
                        "    key: %s" % KEY_NAME]
        if remotes:
            L += ["remote:"] + remotes
        L += ["acl:",
              "  - id: xfr",
              "    address: 127.0.0.0/8",
              "    key: %s" % KEY_NAME,
              "    action: [transfer, update]"]
        if self.role == "secondary":
            L += ["  - id: notify_in",
                  "    address: 127.0.0.1",
                  "    key: %s" % KEY_NAME,
                  "    action: notify"]
        L += ["template:",
              "  - id: default",
              "    storage: %s" % self.storage,
              "    zonefile-sync: -1",
              "zone:",
              "  - domain: %s" % ORIGIN,
              "    journal-content: changes"]
        if self.role == "primary":
            L += ["    file: %s" % self.zone_file,
                  "    zonefile-load: difference",
                  "    acl: [xfr]"]
            if self.notify_port:
                L += ["    notify: [secondary]"]
        else:
            L += ["    file: %s/zone.db" % d,
                  "    zonefile-load: none",
                  "    master: primary",
                  "    acl: [xfr, notify_in]"]
        with open(os.path.join(d, "knot.conf"), "w") as f:
            f.write("\n".join(L) + "\n")

    def command(self):
        return [KNOTD, "-c", os.path.join(self.dir, "knot.conf")]

    @staticmethod
    def version():
        try:
            r = subprocess.run([KNOTD, "--version"], capture_output=True,
                               text=True, timeout=10)
            return "knotd " + r.stdout.split("version")[-1].strip().split()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "knotd ?"


SERVER_CLASSES = {"popdns": Popdns, "knotd": Knot}


# --------------------------------------------------------------- phases

class Names:
    """Hands out host names to update, never the same twice in a run of
    one server, and update numbers (-> unique addresses)."""

    def __init__(self, zone):
        self.zone = zone
        self.c = 0
        self.k = 0

    def next(self):
        self.c += 1
        self.k += 1
        return self.zone.host(self.zone.picked(self.c)), addr_of(self.k)


def phase_ack(srv, names, a, say):
    """1: sequential UPDATEs, ack latency and ack -> visible."""
    cl = Client(srv.port, srv.key)
    q = udp_socket()
    acks, vis, first = [], [], 0
    rcodes = {}
    end = time.monotonic() + a.phase_timeout
    done = 0
    for _ in range(a.updates):
        if time.monotonic() > end:
            break
        name, addr = names.next()
        rc, dt, t_ack = cl.update(name, addr)
        rcodes[str(rc)] = rcodes.get(str(rc), 0) + 1
        done += 1
        if rc != 0:
            continue
        acks.append(dt * 1000)
        t_vis, n = wait_visible(q, srv.port, name, addr,
                                time.monotonic() + 10)
        if t_vis is not None:
            vis.append((t_vis - t_ack) * 1000)
            first += n == 1
    cl.close()
    q.close()
    r = dict(sent=done, rcodes=rcodes, ack_ms=summary(acks),
             visible_ms=summary(vis), visible_first_query=first,
             not_visible=len(acks) - len(vis))
    say("  1. %d sequential UPDATEs: rcodes %s; ack p50 %s p99 %s max %s ms; "
        "ack->visible p50 %s p99 %s max %s ms, %d/%d at the first query" % (
            done, rcodes, fm(r["ack_ms"]["p50"]), fm(r["ack_ms"]["p99"]),
            fm(r["ack_ms"]["max"]), fm(r["visible_ms"]["p50"]),
            fm(r["visible_ms"]["p99"]), fm(r["visible_ms"]["max"]), first,
            len(acks)))
    return r


def sender(idx, port, key_secret, names, t_start, duration, out,
           host="127.0.0.1"):
    """A sender process: sequential UPDATEs from t_start for duration s."""
    key = TsigKey(KEY_NAME, key_secret)
    cl = Client(port, key, host)
    lat, rcodes, timeouts = [], {}, 0
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    while time.monotonic() < t_start:
        time.sleep(0.001)
    end = t_start + duration
    k = 0
    while time.monotonic() < end:
        name, addr = names[k % len(names)]
        addr = bytes((addr[0], addr[1], addr[2], (addr[3] + k // len(names))
                      & 255))
        k += 1
        rc, dt, t_ack = cl.update(name, addr, timeout=2.0)
        if rc is None:
            timeouts += 1
            continue
        if t_ack > end:
            break
        rcodes[str(rc)] = rcodes.get(str(rc), 0) + 1
        if rc == 0:
            lat.append(dt * 1000)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cl.close()
    out.put(dict(idx=idx, lat=lat, rcodes=rcodes, timeouts=timeouts,
                 cpu=(r1.ru_utime - r0.ru_utime) + (r1.ru_stime -
                                                     r0.ru_stime)))


def run_dnsperf(port, qfile, a, duration):
    cmd = [DNSPERF, "-s", "127.0.0.1", "-p", str(port), "-d", qfile,
           "-l", str(duration), "-c", "4", "-T", "1", "-q", "100",
           "-t", "2"]
    if a.dnsperf_qps:
        cmd += ["-Q", str(a.dnsperf_qps)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def dnsperf_result(p):
    # dnsperf is bounded by its -l; its output is read to the end first
    # (it exits then), and wait4 gives its CPU time.
    out = p.stdout.read()
    try:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    except ChildProcessError:
        ru = None
    r = dict(cpu=(ru.ru_utime + ru.ru_stime) if ru else None)
    for key, pat in (("sent", r"Queries sent:\s+(\d+)"),
                     ("completed", r"Queries completed:\s+(\d+)"),
                     ("lost", r"Queries lost:\s+(\d+)"),
                     ("qps", r"Queries per second:\s+([\d.]+)"),
                     ("avg_latency_s", r"Average Latency \(s\):\s+([\d.]+)"),
                     ("run_s", r"Run time \(s\):\s+([\d.]+)")):
        m = re.search(pat, out)
        r[key] = float(m.group(1)) if m else None
    m = re.search(r"Response codes:\s+(.*)", out)
    r["rcodes"] = m.group(1).strip() if m else None
    if r["qps"] is None:
        r["error"] = out[-500:]
    return r


def phase_throughput(srv, names, qfile, a, say):
    """2: dnsperf baseline, then dnsperf + --senders UPDATE processes."""
    d = a.duration
    cpu0 = srv.cpu()
    base = dnsperf_result(run_dnsperf(srv.port, qfile, a, d))
    cpu_base = srv.cpu() - cpu0
    say("  2. dnsperf alone %d s: %s answers/s (lost %s), server CPU %.2f "
        "cores" % (d, fq(base.get("qps")), fi(base.get("lost")),
                   cpu_base / d))
    per = max(1, 20000 // a.senders)
    lists = [[names.next() for _ in range(per)] for _ in range(a.senders)]
    serial0 = get_serial(srv.port)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    t_start = time.monotonic() + 0.5
    procs = [ctx.Process(target=sender, args=(i, srv.port,
                                              srv.key.secret_b64,
                                              lists[i], t_start, d, out))
             for i in range(a.senders)]
    for p in procs:
        p.start()
    while time.monotonic() < t_start - 0.05:
        time.sleep(0.01)
    dp = run_dnsperf(srv.port, qfile, a, d)
    cpu0 = srv.cpu()
    res = []
    for _ in procs:
        try:
            res.append(out.get(timeout=d + 30))
        except Exception:  # noqa: BLE001 - a sender that hung
            break
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.terminate()
            p.join(5)
    during = dnsperf_result(dp)
    cpu_during = srv.cpu() - cpu0
    serial1 = get_serial(srv.port)
    lat = [x for r in res for x in r["lat"]]
    rcodes = {}
    for r in res:
        for k, v in r["rcodes"].items():
            rcodes[k] = rcodes.get(k, 0) + v
    timeouts = sum(r["timeouts"] for r in res)
    client_cpu = sum(r["cpu"] for r in res)
    serials = (serial1 - serial0) & 0xFFFFFFFF if serial0 is not None and \
        serial1 is not None else None
    r = dict(duration_s=d, senders=a.senders, senders_reported=len(res),
             acked=len(lat), updates_per_s=len(lat) / d, rcodes=rcodes,
             timeouts=timeouts, latency_ms=summary(lat),
             client_cpu_cores=client_cpu / d, serials=serials,
             updates_per_serial=(len(lat) / serials) if serials else None,
             dnsperf_baseline=base, dnsperf_during=during,
             server_cpu_cores_baseline=cpu_base / d,
             server_cpu_cores_during=cpu_during / d,
             answer_ratio=(during["qps"] / base["qps"]) if base.get("qps")
             and during.get("qps") else None)
    say("     with %d senders: %.0f updates/s acked (rcodes %s, %d "
        "timeouts), p50 %s p99 %s ms, %s serials (%s updates/serial); "
        "dnsperf %s answers/s (lost %s) = %s of the baseline; server CPU "
        "%.2f, senders CPU %.2f, dnsperf CPU %s cores" % (
            a.senders, r["updates_per_s"], rcodes, timeouts,
            fm(r["latency_ms"]["p50"]), fm(r["latency_ms"]["p99"]),
            serials, fm(r["updates_per_serial"]), fq(during.get("qps")),
            fi(during.get("lost")), fr(r["answer_ratio"]),
            r["server_cpu_cores_during"], r["client_cpu_cores"],
            fm((during["cpu"] or 0) / d)))
    return r


def phase_stream(srv, a, say, tag):
    """3: one knsupdate reading M update add / send pairs."""
    lines = ["server 127.0.0.1 %d" % srv.port, "zone %s" % ORIGIN]
    added = []
    for i in range(a.stream):
        name = "kns-%s-%d.t%s.%s" % (tag, i, b36(i % 50), ORIGIN)
        ad = "198.19.%d.%d" % ((i >> 8) & 255, i & 255)
        added.append((name, ad))
        lines += ["update add %s 300 A %s" % (name, ad), "send"]
    script = "\n".join(lines) + "\n"
    serial0 = get_serial(srv.port)
    t0 = time.monotonic()
    try:
        p = subprocess.run([KNSUPDATE, "-y", "%s:%s:%s" % (
            srv.key.algorithm, KEY_NAME, srv.key.secret_b64)],
            input=script, capture_output=True, text=True,
            timeout=a.phase_timeout)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = "timeout", str(e.stdout or "") + str(e.stderr or "")
    dt = time.monotonic() - t0
    serial1 = get_serial(srv.port)
    errors = [x for x in out.splitlines() if x.strip()]
    serials = (serial1 - serial0) & 0xFFFFFFFF if serial0 is not None and \
        serial1 is not None else None
    # knsupdate sends one UPDATE at a time: one serial each; when the time
    # bound cut it, the rate is of the ones done.
    done = a.stream if rc == 0 else min(a.stream, serials or 0)
    # spot checks: the first, middle and last name done answer their address
    q = udp_socket()
    ok = 0
    checks = ((added[0], added[max(0, done - 1) // 2],
               added[max(0, done - 1)]) if added else ())
    for name, ad in checks:
        t, _ = wait_visible(q, srv.port, name, socket.inet_aton(ad),
                            time.monotonic() + 5)
        ok += t is not None
    q.close()
    r = dict(updates=a.stream, done=done, seconds=dt,
             updates_per_s=done / dt,
             exit=rc, output_lines=len(errors), output=errors[:5],
             serials=serials, spot_checks_ok=ok)
    say("  3. knsupdate, %d update add/send: %d done in %.2f s = %.0f "
        "updates/s, exit %s, %d serials, spot checks %d/3%s" % (
            a.stream, done, dt, r["updates_per_s"], rc, serials or 0, ok,
            (", output: " + " | ".join(errors[:3])) if errors else ""))
    return r


def phase_propagation(prim, sec, names, a, say):
    """4: UPDATEs spaced --spacing-ms, NOERROR -> the secondary answers."""
    cl = Client(prim.port, prim.key)
    q = udp_socket()
    dst = ("127.0.0.1", sec.port)
    spacing = a.spacing_ms / 1000.0
    poll = a.poll_ms / 1000.0
    pending = []        # dict(name, addr, t_ack, qid, t_q)
    done = []           # ms
    lost = []
    rcodes = {}
    qid = 0
    next_send = time.monotonic()
    sent = 0
    hard_end = time.monotonic() + a.propagation * spacing + 60
    while (sent < a.propagation or pending) and time.monotonic() < hard_end:
        now = time.monotonic()
        if sent < a.propagation and now >= next_send:
            name, addr = names.next()
            rc, dt, t_ack = cl.update(name, addr)
            sent += 1
            rcodes[str(rc)] = rcodes.get(str(rc), 0) + 1
            next_send += spacing
            if rc == 0:
                pending.append(dict(name=name, addr=addr, t_ack=t_ack,
                                    qid=None, t_q=0.0))
            continue
        now = time.monotonic()
        for p in pending:
            if p["qid"] is None or now - p["t_q"] >= max(poll, 0.05) or \
                    (now - p["t_q"] >= poll and p.get("answered")):
                qid = (qid + 1) & 0xFFFF
                p["qid"], p["t_q"], p["answered"] = qid, now, False
                q.sendto(query_wire(qid, p["name"]), dst)
            if now - p["t_ack"] > 30:
                lost.append(p["name"])
                p["gone"] = True
        pending = [p for p in pending if not p.get("gone")]
        wake = next_send if sent < a.propagation else now + poll
        if pending:
            wake = min(wake, now + poll)
        r, _, _ = select.select([q], [], [], max(0.0, wake - now))
        if not r:
            continue
        while True:
            try:
                m = q.recv(65535, socket.MSG_DONTWAIT)
            except (BlockingIOError, ConnectionRefusedError):
                break
            t = time.monotonic()
            if len(m) < 12:
                continue
            mid = struct.unpack("!H", m[:2])[0]
            for p in pending:
                if p["qid"] == mid:
                    p["answered"] = True
                    if answers_addr(m, mid, p["addr"]):
                        done.append((t - p["t_ack"]) * 1000)
                        p["gone"] = True
                    break
            pending = [p for p in pending if not p.get("gone")]
    lost += [p["name"] for p in pending]
    cl.close()
    q.close()
    r = dict(updates=sent, rcodes=rcodes, propagation_ms=summary(done),
             not_seen=len(lost), spacing_ms=a.spacing_ms, poll_ms=a.poll_ms)
    say("  4. %d UPDATEs every %g ms: NOERROR -> secondary answers p50 %s "
        "p99 %s max %s ms; not seen: %d; rcodes %s" % (
            sent, a.spacing_ms, fm(r["propagation_ms"]["p50"]),
            fm(r["propagation_ms"]["p99"]), fm(r["propagation_ms"]["max"]),
            len(lost), rcodes))
    return r


def bench_server(kind, tmp, zone, zone_file, qfile, key, a, say):
    cls = SERVER_CLASSES[kind]
    res = dict(server=kind)
    prim = cls(tmp, "primary", key, a, zone_file=zone_file)
    res["version"] = prim.version()
    names = Names(zone)
    try:
        prim.start()
        t = prim.wait_serial(ZONE_SERIAL, a.load_timeout)
        if t is None:
            res["error"] = "did not load the zone in %d s" % a.load_timeout
            say("%s: %s\n%s" % (kind, res["error"], prim.tail()))
            return res
        res["load_s"] = t
        res["rss_after_load_kib"] = prim.mem()
        say("%s (%s): zone loaded in %.2f s, RSS %s MiB" % (
            kind, res["version"], t, fmib(prim.mem()[0])))
        res["ack"] = phase_ack(prim, names, a, say)
        res["throughput"] = phase_throughput(prim, names, qfile, a, say)
        res["stream"] = phase_stream(prim, a, say, kind[0])
        time.sleep(1.0)   # an UPDATE cut off by the time bound lands
        serial = get_serial(prim.port)
        rss, hwm = prim.mem()
        res["primary_rss_kib"], res["primary_hwm_kib"] = rss, hwm
        res["primary_cpu_s"] = prim.cpu()
        say("  peak RSS (VmHWM) after phases 1-3: %s MiB (RSS now %s MiB); "
            "serial %s" % (fmib(hwm), fmib(rss), serial))
        if not a.propagation:
            return res
        # 4: restart the primary with NOTIFY to a secondary
        prim.stop()
        sec = cls(tmp, "secondary", key, a)
        prim.notify_port = sec.port
        sec.primary_port = prim.port
        prim.start()
        t = prim.wait_serial(serial, a.load_timeout)
        res["restart_s"] = t
        if t is None:
            res["error"] = "did not come back with serial %s in %d s" % (
                serial, a.load_timeout)
            say("%s: %s\n%s" % (kind, res["error"], prim.tail()))
            return res
        serial = get_serial(prim.port)
        sec.start()
        t2 = sec.wait_serial(serial, a.load_timeout)
        res["secondary_axfr_s"] = t2
        say("  restarted from its storage in %.2f s; the secondary has "
            "serial %s %s" % (t, serial, "after %.2f s" % t2 if t2 else
                              "NOT after %d s" % a.load_timeout))
        if t2 is None:
            say(sec.tail())
            res["error"] = "the secondary did not get the zone"
            return res
        time.sleep(0.5)
        res["propagation"] = phase_propagation(prim, sec, names, a, say)
        rss, hwm = prim.mem()
        res["restarted_primary_hwm_kib"] = hwm
        res["secondary_hwm_kib"] = sec.mem()[1]
        s_p, s_s = get_serial(prim.port), get_serial(sec.port)
        res["final_serials"] = dict(primary=s_p, secondary=s_s)
        say("  end: primary serial %s, secondary %s; restarted primary "
            "VmHWM %s MiB, secondary VmHWM %s MiB" % (
                s_p, s_s, fmib(hwm), fmib(res["secondary_hwm_kib"])))
        sec.stop()
        return res
    finally:
        stop_all()
        res["log_tail"] = prim.tail(5)


# --------------------------------------------------------------- report

def fm(v):
    if v is None:
        return "-"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def fq(v):
    return "-" if v is None else "{:,.0f}".format(v)


def fi(v):
    return "-" if v is None else "%d" % v


def fr(v):
    return "-" if v is None else "%.2f" % v


def fx(v):
    return ("%.2fx" % v) if v >= 0.095 else ("%.2gx" % v)


def fmib(kib):
    return "-" if kib is None else "%.0f" % (kib / 1024)


def get(r, *path):
    for p in path:
        if r is None:
            return None
        r = r.get(p) if isinstance(r, dict) else None
    return r


def markdown(result, a):
    m = result["meta"]
    S = result["servers"]
    names = [s["server"] for s in S]
    L = ["# RFC 2136 UPDATE: popdns vs knotd as primaries (%s)" % m["date"],
         "",
         "`bench/update_bench.sh%s` — zone %s: %s names, %s records (%s "
         "hosts, %s CNAME aliases); %s; udp threads/workers %d each. "
         "Machine: %s, %d vCPU, load average before %s, after %s; "
         "popdns and knotd measured one after the other in this run (the "
         "other not running). Absolute numbers on this shared 2-core VM "
         "move by tens of percent between runs: read the ratios." % (
             " --quick" if a.quick else "", ORIGIN, "{:,}".format(m["names"]),
             "{:,}".format(m["records"]), "{:,}".format(m["hosts"]),
             "{:,}".format(m["aliases"]), ", ".join(
                 s.get("version", s["server"]) for s in S), a.udp_threads,
             m["cpu"], m["nproc"], " ".join(m["loadavg_before"]),
             " ".join(m["loadavg_after"])),
         "",
         "Disk (the temp dir both servers journal to): a 4 KiB write + "
         "fdatasync takes p50 %s ms, p99 %s ms; both servers fsync each "
         "commit before they answer, so the update rates below are bounded "
         "by it%s." % (fm(get(m, "fsync_ms", "p50")),
                       fm(get(m, "fsync_ms", "p99")),
                       "" if not m.get("ninja_running_at_start") else
                       "; a build (ninja) was running at the start: %s" %
                       m["ninja_running_at_start"]),
         ""]
    both = len(S) == 2
    head = "| measurement | " + " | ".join(names)
    head += " | %s / %s |" % (names[0], names[1]) if both else " |"
    L += [head, "|---|" + "---:|" * (len(S) + (1 if both else 0))]

    def row(label, path, f, unit="", ratio=True):
        vals = [get(s, *path) for s in S]
        cells = [(f(v) + unit) if v is not None else "-" for v in vals]
        r = "| %s | %s |" % (label, " | ".join(cells))
        if both:
            r += " %s |" % (fx(vals[0] / vals[1]) if ratio and
                            vals[0] is not None and vals[1] else "")
        L.append(r)

    row("zone load: exec → SOA answered", ("load_s",), lambda v: "%.2f" % v,
        " s")
    row("1. sequential UPDATEs done (of %d, %d s bound)" % (
        a.updates, a.phase_timeout), ("ack", "sent"), lambda v: "%d" % v,
        ratio=False)
    row("1. ack latency p50 (sequential, UDP)",
        ("ack", "ack_ms", "p50"), fm, " ms")
    row("1. ack latency p99", ("ack", "ack_ms", "p99"), fm, " ms")
    row("1. ack latency max", ("ack", "ack_ms", "max"), fm, " ms")
    row("1. ack → visible p50 (UDP query right after NOERROR)",
        ("ack", "visible_ms", "p50"), fm, " ms")
    row("1. ack → visible p99", ("ack", "visible_ms", "p99"), fm, " ms")
    row("1. ack → visible max", ("ack", "visible_ms", "max"), fm, " ms")
    row("1. visible at the first query", ("ack", "visible_first_query"),
        lambda v: "%d" % v, ratio=False)
    row("2. updates/s acknowledged (%d senders, %d s)" % (a.senders,
                                                          a.duration),
        ("throughput", "updates_per_s"), lambda v: "{:,.0f}".format(v))
    row("2. update latency p50 under load", ("throughput", "latency_ms",
                                             "p50"), fm, " ms")
    row("2. update latency p99 under load", ("throughput", "latency_ms",
                                             "p99"), fm, " ms")
    row("2. updates per new serial (batching)", ("throughput",
                                                 "updates_per_serial"), fm)
    row("2. update timeouts (2 s)", ("throughput", "timeouts"),
        lambda v: "%d" % v, ratio=False)
    row("2. dnsperf answers/s alone", ("throughput", "dnsperf_baseline",
                                       "qps"), fq)
    row("2. dnsperf answers/s during the updates", ("throughput",
                                                    "dnsperf_during", "qps"),
        fq)
    row("2. answer rate during / alone", ("throughput", "answer_ratio"),
        lambda v: "%.2f" % v)
    row("2. dnsperf queries lost during the updates", ("throughput",
                                                       "dnsperf_during",
                                                       "lost"),
        lambda v: "%d" % v, ratio=False)
    row("2. server CPU during (cores)", ("throughput",
                                         "server_cpu_cores_during"),
        lambda v: "%.2f" % v)
    row("2. update senders' CPU (cores)", ("throughput", "client_cpu_cores"),
        lambda v: "%.2f" % v)
    row("3. knsupdate stream: updates done (of %d, %d s bound)" % (
        a.stream, a.phase_timeout), ("stream", "done"), lambda v: "%d" % v,
        ratio=False)
    row("3. knsupdate stream: time", ("stream", "seconds"),
        lambda v: "%.2f" % v, " s")
    row("3. knsupdate stream: updates/s", ("stream", "updates_per_s"),
        lambda v: "{:,.0f}".format(v))
    row("4. primary restart from its storage → SOA", ("restart_s",),
        lambda v: "%.2f" % v, " s")
    row("4. secondary: exec → zone (AXFR)", ("secondary_axfr_s",),
        lambda v: "%.2f" % v, " s")
    row("4. NOERROR → secondary answers, p50 (%d updates, %g ms apart)" % (
        a.propagation, a.spacing_ms), ("propagation", "propagation_ms",
                                       "p50"), fm, " ms")
    row("4. NOERROR → secondary answers, p99", ("propagation",
                                                "propagation_ms", "p99"),
        fm, " ms")
    row("4. NOERROR → secondary answers, max", ("propagation",
                                                "propagation_ms", "max"),
        fm, " ms")
    row("4. not answered by the secondary within 30 s", ("propagation",
                                                         "not_seen"),
        lambda v: "%d" % v, ratio=False)
    row("peak RSS of the primary (VmHWM) after phases 1-3",
        ("primary_hwm_kib",), fmib, " MiB")
    row("peak RSS of the restarted primary after phase 4",
        ("restarted_primary_hwm_kib",), fmib, " MiB")
    L.append("")
    p = next((s for s in S if s["server"] == "popdns"), None)
    if p:
        vis = get(p, "ack", "visible_ms", "p99")
        ups = get(p, "throughput", "updates_per_s")
        ratio = get(p, "throughput", "answer_ratio")
        L.append("Targets (issue 12), popdns: a single-record update visible "
                 "within 10 ms p99 of its acknowledgement: %s (p99 %s ms); "
                 "1,000 updates/s while answering at full rate: %s updates/s "
                 "with the answer rate at %s of the rate without updates." % (
                     "met" if vis is not None and vis <= 10 else "NOT met",
                     fm(vis), fq(ups), fr(ratio)))
        L.append("")
    L.append("How: 1. one UPDATE at a time (delete the A RRset of an "
             "existing host, add one A; TSIG hmac-sha256), then A queries "
             "for the name back to back until the new address answers. "
             "2. %d sender processes, each a sequential UDP client (2 s "
             "timeout), for %d s, while dnsperf (`-c 4 -T 1 -q 100%s`) "
             "queries a mix of existing A/AAAA/MX/TXT, CNAME aliases and 5%% "
             "NXDOMAIN; the baseline is the same dnsperf run just before "
             "without updates. On 2 vCPUs the server, dnsperf and the "
             "senders share the cores, so the answer ratio includes the "
             "CPU the update clients take. 3. one `knsupdate -y` process "
             "with %d `update add` (new names) / `send` pairs on stdin. 4. "
             "the primary is restarted with NOTIFY to a secondary of the "
             "same software (TSIG), which first AXFRs the zone; then one "
             "UPDATE every %g ms, and the secondary is queried every %g ms "
             "per pending name until it answers the new address." % (
                 a.senders, a.duration, (" -Q %d" % a.dnsperf_qps)
                 if a.dnsperf_qps else "", a.stream, a.spacing_ms,
                 a.poll_ms))
    errs = ["%s: %s" % (s["server"], s["error"]) for s in S
            if s.get("error")]
    for s in S:
        for ph in ("ack", "throughput", "propagation"):
            rc = get(s, ph, "rcodes") or {}
            bad = {k: v for k, v in rc.items() if k != "0"}
            if bad:
                errs.append("%s phase %s: rcodes other than NOERROR: %s" % (
                    s["server"], ph, bad))
        st = s.get("stream") or {}
        if st and st.get("exit") == "timeout":
            errs.append("%s knsupdate stopped at the %d s bound after %s of "
                        "%d updates (rate of those)" % (
                            s["server"], a.phase_timeout, st.get("done"),
                            st.get("updates")))
        if st and (st.get("exit") not in (0, "timeout") or
                   st.get("spot_checks_ok") != 3):
            errs.append("%s knsupdate: exit %s, spot checks %s/3, output %s"
                        % (s["server"], st.get("exit"),
                           st.get("spot_checks_ok"), st.get("output")))
    if errs:
        L += ["", "Notes and problems: " + "; ".join(errs)]
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------ main

def fsync_probe(directory, count=50):
    """p50/p99 ms of a 4 KiB pwrite + fdatasync in `directory`: the cost of
    one durable write on this disk, which bounds both servers' commits."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    lat = []
    try:
        for i in range(count):
            t = time.monotonic()
            os.pwrite(fd, os.urandom(4096), (i % 16) * 4096)
            os.fdatasync(fd)
            lat.append((time.monotonic() - t) * 1000)
            time.sleep(0.005)
    finally:
        os.close(fd)
        os.unlink(path)
    return summary(lat)


def save_result(out_dir, name, suffix, md, result):
    """bench/results/NAME-DATE[SUFFIX].{md,json} (the update benches')."""
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, "%s-%s%s" % (
        name, time.strftime("%Y-%m-%d", time.gmtime()), suffix))
    with open(base + ".md", "w") as f:
        f.write(md)
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1, default=str)
        f.write("\n")
    print("wrote %s.md and .json" % base)


def bench(a):
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    for s in servers:
        if s not in SERVER_CLASSES:
            raise SystemExit("unknown server %s" % s)
    if "popdns" in servers and not os.access(a.popdns, os.X_OK):
        raise SystemExit("no popdns binary at %s (--popdns PATH)" % a.popdns)
    for tool in (KNOTD, KNSUPDATE, DNSPERF):
        if not os.access(tool, os.X_OK):
            raise SystemExit("needs %s (Debian knot, knot-dnsutils, "
                             "dnsperf)" % tool)
    building = subprocess.run(["pgrep", "-a", "ninja"], capture_output=True,
                              text=True).stdout.strip()
    if building:
        print("warning: a build is running (%s): numbers will be noisy" %
              building.splitlines()[0], flush=True)
    lines = []

    def say(t):
        print(t, flush=True)
        lines.append(t)

    load_before = open("/proc/loadavg").read().split()[:3]
    tmp = tempfile.mkdtemp(prefix="update_bench.")
    try:
        zone_file = os.path.join(tmp, "apps.example.net.zone")
        t = time.monotonic()
        g = subprocess.run([sys.executable, os.path.join(
            HERE, "zone_load_helper.py"), "gen", "--records", str(a.names),
            "--origin", ORIGIN, "--out", zone_file, "--shape", "names"],
            capture_output=True, text=True, timeout=600, check=True)
        summ = json.loads(g.stdout.strip().splitlines()[-1])
        zone = Zone(a.names, summ)
        say("zone %s: %d names, %d records (%d hosts, %d aliases), %.1f MB, "
            "generated in %.1f s; load average %s" % (
                ORIGIN, a.names, summ["records"], summ["hosts"],
                summ["aliases"], os.path.getsize(zone_file) / 1e6,
                time.monotonic() - t, " ".join(load_before)))
        qfile = os.path.join(tmp, "queries.txt")
        with open(qfile, "w") as f:
            f.write("\n".join(zone.query_lines(20000)) + "\n")
        key = TsigKey(KEY_NAME)
        fs = fsync_probe(tmp)
        say("disk: 4 KiB write + fdatasync p50 %s p99 %s ms (%s)" % (
            fm(fs["p50"]), fm(fs["p99"]), tmp))
        results = []
        for s in servers:
            results.append(bench_server(s, tmp, zone, zone_file, qfile, key,
                                        a, say))
        meta = dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    cpu=cpu_model(), nproc=os.cpu_count(),
                    loadavg_before=load_before,
                    loadavg_after=open("/proc/loadavg").read().split()[:3],
                    uptime=subprocess.run(["uptime"], capture_output=True,
                                          text=True).stdout.strip(),
                    ninja_running_at_start=building or None,
                    fsync_ms=fs, names=a.names, records=summ["records"],
                    hosts=summ["hosts"], aliases=summ["aliases"],
                    options=vars(a))
        result = dict(meta=meta, servers=results)
        md = markdown(result, a)
        print(md)
        if not a.no_save:
            save_result(a.out_dir, "update_bench", "-quick" if a.quick else "",
                        md, result)
        bad = any(s.get("error") for s in results)
        return 1 if bad else 0
    finally:
        stop_all()
        if a.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(
        description="RFC 2136 UPDATE: popdns vs knotd as primaries, same "
        "run (bench/update_bench.sh).")
    ap.add_argument("--quick", action="store_true",
                    help="50,000 names, 200 sequential updates, 5 s "
                    "throughput, a stream of 300, 20 propagation updates")
    ap.add_argument("--names", type=int, help="names (default 1,000,000)")
    ap.add_argument("--updates", type=int, help="phase 1 (default 500)")
    ap.add_argument("--senders", type=int, default=8,
                    help="phase 2 sender processes (default 8)")
    ap.add_argument("--duration", type=int,
                    help="phase 2 seconds (default 10)")
    ap.add_argument("--stream", type=int,
                    help="phase 3 knsupdate updates (default 1000)")
    ap.add_argument("--propagation", type=int,
                    help="phase 4 updates (default 50; 0: skip phase 4)")
    ap.add_argument("--spacing-ms", type=float, default=200.0)
    ap.add_argument("--poll-ms", type=float, default=1.0,
                    help="phase 4: query the secondary this often per name")
    ap.add_argument("--udp-threads", type=int, default=2,
                    help="popdns udp_threads and knotd udp-workers "
                    "(default 2)")
    ap.add_argument("--dnsperf-qps", type=int, default=0,
                    help="dnsperf -Q (default 0: as fast as it can)")
    ap.add_argument("--servers", default="popdns,knotd")
    ap.add_argument("--popdns", default=os.path.join(ROOT, "build",
                                                     "control", "popdns"))
    ap.add_argument("--load-timeout", type=int, default=180)
    ap.add_argument("--phase-timeout", type=int, default=150,
                    help="phase 1 stops after this many seconds, phase 3 "
                    "(knsupdate) is stopped after this many (default 150)")
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--report", metavar="JSON",
                    help="only write the Markdown of a saved run again "
                    "(next to the JSON)")
    a = ap.parse_args()
    if a.report:
        with open(a.report) as f:
            result = json.load(f)
        opts = argparse.Namespace(**result["meta"]["options"])
        md = markdown(result, opts)
        with open(os.path.splitext(a.report)[0] + ".md", "w") as f:
            f.write(md)
        print(md)
        return
    q = a.quick
    for k, full, quick in (("names", 1000000, 50000), ("updates", 500, 200),
                           ("duration", 10, 5), ("stream", 1000, 300),
                           ("propagation", 50, 20)):
        if getattr(a, k) is None:
            setattr(a, k, quick if q else full)
    sys.setswitchinterval(0.0005)
    sys.exit(bench(a))


if __name__ == "__main__":
    main()
