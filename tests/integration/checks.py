"""Shared by the integration tests: named checks with a closing
'N passed, M failed' line, a free loopback port for UDP and TCP, running
commands (inside network namespaces) with a time limit, and DNS messages
built by hand (queries, and the ones the dataplane leaves to the control
side)."""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

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
    # Again at the end: a runner may keep only the last lines of a log.
    for what in failures:
        print("failed: " + what)
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


def stop(proc):
    """Stops a process this test started, by its PID (SIGTERM, then
    SIGKILL after 10 s)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


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


def dataplane_config(src, prefix, dataplane, top="", more_zones=None):
    """A temp dir holding a copy of tests/testdata/example.test.zone and a
    popdns config that serves it, with its control socket in the dir,
    `top` (YAML lines) at the top level and `dataplane` (YAML lines,
    indented two spaces) as its dataplane section; more_zones(tmp) returns
    `zones:` entries to add.
    Returns (tmp, zone, sock, conf)."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    zone = os.path.join(tmp, "example.test.zone")
    shutil.copy(os.path.join(src, "tests", "testdata", "example.test.zone"), zone)
    sock = os.path.join(tmp, "control.sock")
    conf = os.path.join(tmp, "popdns.yaml")
    with open(conf, "w") as f:
        f.write("zones:\n  - name: example.test\n    file: %s\n%s"
                "control_socket: %s\n%sdataplane:\n%s"
                % (zone, more_zones(tmp) if more_zones else "", sock, top,
                   dataplane))
    return tmp, zone, sock, conf


def kdig_nsid(output):
    """The NSID text kdig +nsid printed (';; NSID: HEX "TEXT"'), or None."""
    for line in output.splitlines():
        if line.startswith(";; NSID:"):
            text = line.partition('"')[2]
            return text[:-1] if text.endswith('"') else text
    return None


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


def wire_name(name):
    """Wire form of a domain name ("www.example.test" -> 3www7example4test0)."""
    return b"".join(bytes([len(l)]) + l.encode()
                    for l in name.split(".") if l) + b"\0"


def dns_query(name, qtype, qid, edns=True, flags=0, extra=b"", extra_count=0):
    """A query as hex: one question (class IN), an OPT record (1232 bytes)
    if `edns`, then `extra` bytes holding `extra_count` more additional
    records."""
    q = struct.pack(">HHHHHH", qid, flags, 1, 0, 0,
                    (1 if edns else 0) + extra_count)
    q += wire_name(name) + struct.pack(">HH", qtype, 1)
    if edns:
        q += b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    return (q + extra).hex()


def tsig_record():
    """A TSIG record (RFC 8945 4.2) with a key nobody has and a zero MAC."""
    rdata = (wire_name("hmac-sha256.") +
             struct.pack(">HIHH", 0, int(time.time()), 300, 32) + bytes(32) +
             struct.pack(">HHH", 0, 0, 0))
    return (wire_name("popdns-test-key.") +
            struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata)


def slow_path_queries():
    """(label, hex query, acceptable rcodes) of messages the dataplane
    leaves to the control side (dns::AnswerResult::slow_path), sent to a
    popdns serving example.test from a file. Without a slow-path handler
    the kernel sockets answer them as before (NOTAUTH, NOTIMP, the query
    answered as if unsigned); with the replication handler a NOTIFY for a
    zone without primaries is NOTAUTH, an AXFR from outside allow_transfer
    REFUSED, and a query signed with an unknown key NOTAUTH
    (RFC 8945 5.2.1)."""
    return [
        ("NOTIFY", dns_query("example.test", 6, 0x5301, flags=0x2400), {9}),
        ("AXFR over UDP", dns_query("example.test", 252, 0x5302), {4, 5}),
        ("TSIG-signed query",
         dns_query("www.example.test", 1, 0x5303, extra=tsig_record(),
                   extra_count=1), {0, 9}),
    ]


_ASK = ("import socket,sys\n"
        "h,p=sys.argv[1],int(sys.argv[2])\n"
        "s=socket.socket(socket.AF_INET6 if ':' in h else socket.AF_INET,"
        "socket.SOCK_DGRAM)\n"
        "s.settimeout(2)\n"
        "for q in sys.argv[3:]:\n"
        "    s.sendto(bytes.fromhex(q),(h,p))\n"
        "    try: print(s.recv(65535).hex())\n"
        "    except socket.timeout: print('timeout')\n")


def ask(ns, host, port, queries):
    """Sends each hex query over UDP from namespace `ns`; returns the hex
    responses ('timeout' where none came)."""
    return in_ns(ns, [sys.executable, "-c", _ASK, host, str(port)] +
                 list(queries)).stdout.split()


def check_slow_path_answers(queries, responses, what):
    """One check per slow_path_queries() entry: answered (same ID, QR=1)
    with one of its rcodes."""
    check(len(responses) == len(queries),
          "%d answers over %s (%d)" % (len(queries), what, len(responses)))
    for (label, q, rcodes), resp in zip(queries, responses):
        r = bytes.fromhex(resp) if resp != "timeout" else b""
        ok = len(r) >= 12 and r[:2] == bytes.fromhex(q)[:2] and r[2] & 0x80
        rcode = r[3] & 0x0F if ok else None
        check(ok and rcode in rcodes,
              "%s over %s is answered by the kernel-socket server (rcode %s, "
              "expected one of %s)" % (label, what, rcode, sorted(rcodes)))


# App-aware answers (issue 16), the same checks on every path: a name
# whose A answer varies by the client's network.
def variant_networks(client_v4, client_v6):
    """`networks:` YAML lines: the client's IPv4 prefix is the network
    client-lan, its IPv6 prefix is in the network other (two clients, by
    their addresses, in different networks)."""
    return ("networks:\n"
            "  - {name: client-lan, prefixes: [%s]}\n"
            "  - {name: other, prefixes: [203.0.113.0/24, \"%s\"]}\n"
            % (client_v4, client_v6))


def variant_rdata(selector, addr):
    """VARIANT RDATA (dataplane/zone/variant.h) of an A answer, as the
    generic `\\# LEN HEX` that any primary's zone file takes."""
    data = (bytes([len(selector)]) + selector.encode() + b"\x00\x01" +
            socket.inet_aton(addr))
    return "\\# %d %s" % (len(data), data.hex())


def append_variants(zone):
    """app.example.test: 192.0.2.50, client-lan 198.18.0.99, other
    203.0.113.99 (VARIANT records written as generic RDATA, so that a
    peer loading the same file keeps them as an unknown type)."""
    with open(zone, "a") as f:
        f.write("app.example.test. 300 A 192.0.2.50\n"
                "app.example.test. 30 TYPE65350 %s\n"
                "app.example.test. 30 TYPE65350 %s\n"
                % (variant_rdata("net:client-lan", "198.18.0.99"),
                   variant_rdata("net:other", "203.0.113.99")))


def check_variants(ns, v4, v6, what, no_network_scope, port=53):
    """kdig from namespace `ns` (None: here) to v4/v6: each client gets its
    network's variant, by its address (the IPv4 client is in client-lan,
    the IPv6 one in other) or its resolver's ECS option (RFC 7871, with the
    scope of the choice), a client in no network the name's own answer
    (scope `no_network_scope` for 192.0.2.0/24)."""
    got = {}
    for label, host, flags in (
            ("v4 source", v4, []), ("v6 source", v6, []),
            ("ECS other", v4, ["+subnet=203.0.113.0/24"]),
            ("ECS none", v4, ["+subnet=192.0.2.0/24"])):
        cmd = ["kdig", "+notcp", "+time=2", "+retry=0", "-p", str(port)] + \
            flags + ["@" + host, "app.example.test", "A"]
        r = in_ns(ns, cmd) if ns else run(cmd)
        got[label] = (re.findall(r"\tA\t(\S+)", r.stdout),
                      re.findall(r"CLIENT-SUBNET: (\S+)", r.stdout))
    want = {"v4 source": (["198.18.0.99"], []),
            "v6 source": (["203.0.113.99"], []),
            "ECS other": (["203.0.113.99"], ["203.0.113.0/24/24"]),
            "ECS none": (["192.0.2.50"],
                         ["192.0.2.0/24/%d" % no_network_scope])}
    check(got == want, "%s answers each client its network's variant: %s"
          % (what, got))


def worker_wakeups(pid):
    """Voluntary context switches of popdns's worker thread (its sleeps,
    its waits)."""
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/comm") as f:
            if f.read().strip() != "rte-worker-1":
                continue
        with open(f"/proc/{pid}/task/{t}/status") as f:
            m = re.search(r"voluntary_ctxt_switches:\s+(\d+)", f.read())
        return int(m.group(1))
    return None


def check_idle_wakeups(pid, label=""):
    """`dataplane.idle: wait`: with nothing to do popdns's worker wakes for
    its heartbeat (at most every 100 ms), not for every sleep of `idle:
    sleep` (thousands a second): 10-99 wake-ups in 2 s without traffic."""
    time.sleep(1.0)
    w0 = worker_wakeups(pid)
    time.sleep(2.0)
    w1 = worker_wakeups(pid)
    woke = None if w0 is None or w1 is None else w1 - w0
    check(woke is not None and 10 <= woke < 100,
          "%sidle: wait: the worker woke %s times in 2 s without traffic"
          % (label, woke))
