#!/usr/bin/env python3
"""Reflection under RRL (issue 14): a flood from a victim's prefix and a
legitimate client in another prefix, against popdns's dataplane on a
software NIC and on the XDP path, with knotd and its mod-rrl on the same
flood in the same run as the reference.

Namespaces (198.18.0.0/15 only): `pop` runs popdns (net_tap wire moved
into `client`, scripts/softnic.sh's topology; or, for XDP, a veth pair with
popdns on net_af_xdp), `ref` runs knotd on a veth to `client`. In `client`
the whole victim prefix 198.18.7.0/24 is local (`ip route add local`), so
sockets bound to any of its addresses send queries "from the victim" and
receive exactly what the servers reflect to it: what reaches the victim is
counted where it lands. Each phase, for 4 s:
  - the flood: 2500 queries/s of big.example.test TXT (a ~700-byte answer
    to a 45-byte query) from 64 victim addresses and ports;
  - the legitimate client (198.18.0.2 or its XDP twin, another /24): 40
    queries/s over 8 names, each retried never: it must get >= 99%.
Servers: rrl {rate: 20, slip: 2} (one worker), knotd mod-rrl rate-limit 20
slip 2. Checks: the victim receives at most rate x (T + 1) full answers
and about half of the rest as slips (TC=1, no records), i.e. fewer than
60% of the flood's packets and a small fraction of its would-be bytes;
popdns's rrl counters say the same; knotd, on the same flood, also limits
(the reference), and both numbers are printed side by side.
Usage: reflection_test.py BUILD_DIR SOURCE_DIR (root; CI fails if a
capability is missing, elsewhere the test is skipped with exit code 77)
"""
import os
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import (check, in_ns, popdnsctl_stats, require, run,  # noqa: E402
                    stop, summary, wire_name)

POP, CLIENT, REF = "popdns-r-pop", "popdns-r-client", "popdns-r-ref"
WIRE_IF, EXC_IF = "prwire0", "prexc0"
XPOP_IF, XCLI_IF = "prxpop0", "prxcli0"
REF_IF, REFCLI_IF = "prref0", "prrefc0"
SERVICE = "198.18.0.1"          # softnic service address, client 198.18.0.2
XSERVICE = "198.18.1.1"         # XDP service address, client 198.18.1.2
KNOT = "198.19.53.1"            # knotd, client side 198.19.53.2
VICTIM = "198.18.7."            # the victim's /24
RATE, SLIP, SECONDS = 20, 2, 4
FLOOD_QPS, LEGIT_QPS = 2500, 40
LEGIT_NAMES = ["www", "mail", "ns1", "alias", "host1", "x.wild", "y.wild",
               "host2"]
# One zone for popdns and knotd (whose semantic checks refuse some of
# tests/testdata/example.test.zone's deliberate oddities).
ZONE = """$ORIGIN example.test.
$TTL 3600
@      SOA   ns1 hostmaster 1 7200 3600 1209600 300
@      NS    ns1
ns1    A     198.18.0.53
www    A     192.0.2.3
mail   A     192.0.2.2
host1  A     192.0.2.11
host2  AAAA  2001:db8::12
alias  CNAME www
*.wild A     192.0.2.5
child  NS    ns.child
ns.child A   192.0.2.8
""" + "".join('big TXT "%d%s"\n' % (i, "x" * 99) for i in range(6))


def query(name, qtype, qid, udp=4096):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1)
    q += wire_name(name) + struct.pack(">HH", qtype, 1)
    return q + b"\0" + struct.pack(">HHIH", 41, udp, 0, 0)


def traffic_main(argv):
    """Helper mode, run in CLIENT: traffic SERVER LEGIT_SOURCE. Floods from
    the victim prefix and queries as the legitimate client at the same
    time; prints 'flood_sent full slips bytes legit_sent legit_ok'."""
    server, legit_src = argv[0], argv[1]
    sel = selectors.DefaultSelector()
    victims = []
    for i in range(64):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((VICTIM + str(1 + i * 3), 41000 + i))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "victim")
        victims.append(s)
    legit = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    legit.bind((legit_src, 0))
    legit.setblocking(False)
    sel.register(legit, selectors.EVENT_READ, "legit")
    flood_q = [query("big.example.test", 16, i) for i in range(256)]
    legit_q = [query(n + ".example.test", 1, 0x4000 + i)
               for i, n in enumerate(LEGIT_NAMES)]
    full = slips = nbytes = legit_ok = 0
    legit_ids = set()
    sent = legit_sent = 0
    start = time.time()
    end = start + SECONDS
    while True:
        now = time.time()
        if now < end:
            due = int((now - start) * FLOOD_QPS)
            while sent < due:
                victims[sent % 64].sendto(flood_q[sent % 256], (server, 53))
                sent += 1
            ldue = int((now - start) * LEGIT_QPS)
            while legit_sent < ldue:
                q = bytearray(legit_q[legit_sent % len(legit_q)])
                qid = legit_sent & 0xFFFF
                q[0:2] = struct.pack(">H", qid)
                legit_ids.add(qid)
                legit.sendto(bytes(q), (server, 53))
                legit_sent += 1
        elif now > end + 1.0:
            break
        for key, _ in sel.select(timeout=0.001):
            while True:
                try:
                    data = key.fileobj.recv(65535)
                except BlockingIOError:
                    break
                if len(data) < 12:
                    continue
                if key.data == "victim":
                    nbytes += len(data)
                    if data[2] & 0x02:
                        slips += 1
                    else:
                        full += 1
                else:
                    qid = struct.unpack(">H", data[:2])[0]
                    rcode = data[3] & 0x0F
                    if qid in legit_ids and rcode == 0 and not data[2] & 0x02:
                        legit_ids.discard(qid)
                        legit_ok += 1
    print(sent, full, slips, nbytes, legit_sent, legit_ok)
    return 0


def traffic(server, legit_src):
    here = os.path.abspath(__file__)
    r = in_ns(CLIENT, [sys.executable, here, "traffic", server, legit_src],
              timeout=SECONDS + 30)
    try:
        return [int(x) for x in r.stdout.split()]
    except ValueError:
        print(r.stdout, r.stderr)
        return None


def judge(name, res, reference=False):
    """The checks on one phase; returns (full, slips, bytes). popdns's
    bucket holds one second's worth (rate); knotd 3.2's four seconds'
    (RRL_CAPACITY), so for the reference only limiting itself is checked."""
    check(res is not None and len(res) == 6, name + ": traffic ran")
    if res is None or len(res) != 6:
        return None
    sent, full, slips, nbytes, lsent, lok = res
    print("%s: flood %d queries -> victim got %d full answers + %d slips "
          "(%d bytes); legit %d/%d answered" % (name, sent, full, slips,
                                                 nbytes, lok, lsent))
    check(lsent > 0 and lok >= 0.99 * lsent,
          "%s: the legitimate client keeps >= 99%% of its answers (%d/%d)" %
          (name, lok, lsent))
    bound = RATE * (SECONDS + 2)
    if reference:
        check(0 < full < 0.1 * sent,
              "%s: limits the flood too (%d full answers of %d)" %
              (name, full, sent))
        return full, slips, nbytes
    check(0 < full <= bound,
          "%s: the victim gets at most rate x time full answers (%d <= %d)" %
          (name, full, bound))
    return full, slips, nbytes


def setup_client_and_ref(tmp, src):
    """CLIENT's victim prefix and the knotd namespace. Returns knotd."""
    run(["ip", "netns", "add", REF])
    run(["ip", "-n", REF, "link", "set", "lo", "up"])
    in_ns(CLIENT, ["ip", "route", "add", "local", VICTIM + "0/24", "dev", "lo"])
    run(["ip", "link", "add", REF_IF, "type", "veth", "peer", "name",
         REFCLI_IF])
    run(["ip", "link", "set", REF_IF, "netns", REF])
    run(["ip", "link", "set", REFCLI_IF, "netns", CLIENT])
    run(["ip", "-n", REF, "addr", "add", KNOT + "/24", "dev", REF_IF])
    run(["ip", "-n", CLIENT, "addr", "add", "198.19.53.2/24", "dev",
         REFCLI_IF])
    run(["ip", "-n", REF, "link", "set", REF_IF, "up"])
    run(["ip", "-n", CLIENT, "link", "set", REFCLI_IF, "up"])
    run(["ip", "-n", REF, "route", "add", "198.18.0.0/15", "via",
         "198.19.53.2"])
    kdir = os.path.join(tmp, "knot")
    os.makedirs(kdir)
    with open(os.path.join(kdir, "example.test.zone"), "w") as f:
        f.write(ZONE)
    with open(os.path.join(kdir, "knot.conf"), "w") as f:
        f.write("""server:
    rundir: %(d)s
    listen: %(ip)s@53
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
mod-rrl:
  - id: rrl
    rate-limit: %(rate)d
    slip: %(slip)d
template:
  - id: default
    storage: %(d)s
    zonefile-sync: -1
    global-module: mod-rrl/rrl
zone:
  - domain: example.test
    file: %(d)s/example.test.zone
""" % {"d": kdir, "ip": KNOT, "rate": RATE, "slip": SLIP})
    knot = subprocess.Popen(
        ["ip", "netns", "exec", REF, "knotd", "-c",
         os.path.join(kdir, "knot.conf")],
        stdout=open(os.path.join(kdir, "knotd.log"), "w"),
        stderr=subprocess.STDOUT)
    for _ in range(50):
        r = in_ns(CLIENT, ["dig", "+time=1", "+tries=1", "@" + KNOT,
                           "example.test", "SOA"])
        if "status: NOERROR" in r.stdout:
            break
        time.sleep(0.2)
    return knot


def write_config(tmp, dataplane):
    zone = os.path.join(tmp, "example.test.zone")
    sock = os.path.join(tmp, "control.sock")
    conf = os.path.join(tmp, "popdns.yaml")
    with open(conf, "w") as f:
        f.write("zones:\n  - name: example.test\n    file: %s\n"
                "control_socket: %s\n"
                "rrl: {rate: %d, slip: %d}\n"
                "dataplane:\n%s" % (zone, sock, RATE, SLIP, dataplane))
    return sock, conf


def xdp_phase(build, tmp):
    """popdns on net_af_xdp on a veth (XPOP_IF in POP, XCLI_IF in CLIENT)."""
    run(["ip", "link", "add", XPOP_IF, "type", "veth", "peer", "name",
         XCLI_IF])
    run(["ip", "link", "set", XPOP_IF, "netns", POP])
    run(["ip", "link", "set", XCLI_IF, "netns", CLIENT])
    run(["ip", "-n", POP, "addr", "add", XSERVICE + "/24", "dev", XPOP_IF])
    run(["ip", "-n", CLIENT, "addr", "add", "198.18.1.2/24", "dev", XCLI_IF])
    # Partial UDP checksums from a veth sender would look malformed to
    # AF_XDP (see xdp_test.py).
    in_ns(CLIENT, ["ethtool", "-K", XCLI_IF, "tx", "off"])
    run(["ip", "-n", POP, "link", "set", XPOP_IF, "up"])
    run(["ip", "-n", CLIENT, "link", "set", XCLI_IF, "up"])
    xtmp = os.path.join(tmp, "xdp")
    os.makedirs(xtmp)
    shutil.copy(os.path.join(tmp, "example.test.zone"), xtmp)  # ZONE
    sock, conf = write_config(xtmp, """\
  xdp:
    interface: %s
    queues: 1
  eal: ["--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0-1",
        "--file-prefix", "popdns-r", "--log-level", "*:error"]
  service_addresses: ["%s/24"]
""" % (XPOP_IF, XSERVICE))
    log = open(os.path.join(xtmp, "popdns.log"), "w")
    p = subprocess.Popen(["ip", "netns", "exec", POP,
                          os.path.join(build, "control", "popdns"),
                          "--config", conf], stdout=log,
                         stderr=subprocess.STDOUT)
    up = False
    for _ in range(100):
        r = in_ns(CLIENT, ["dig", "+time=1", "+tries=1", "@" + XSERVICE,
                           "example.test", "SOA"])
        if "status: NOERROR" in r.stdout:
            up = True
            break
        if p.poll() is not None:
            break
        time.sleep(0.2)
    return p, sock, up


def main(build, src):
    popdnsctl = os.path.join(build, "control", "popdnsctl")
    tmp = tempfile.mkdtemp(prefix="popdns-reflection-")
    with open(os.path.join(tmp, "example.test.zone"), "w") as f:
        f.write(ZONE)
    sock, conf = write_config(tmp, """\
  eal: ["--no-huge", "--in-memory", "-m", "256", "--no-pci", "-l", "0-1",
        "--vdev", "net_tap0,iface=%s", "--vdev", "net_tap1,iface=%s",
        "--log-level", "*:error"]
  wire_port: net_tap0
  exception_port: net_tap1
  exception_interface: %s
  service_addresses: ["%s/24"]
""" % (WIRE_IF, EXC_IF, EXC_IF, SERVICE))
    env = dict(os.environ, POP=POP, CLIENT=CLIENT, WIRE_IF=WIRE_IF,
               EXC_IF=EXC_IF, STATE=os.path.join(tmp, "state"),
               POPDNS=os.path.join(build, "control", "popdns"),
               CLIENT_V4="198.18.0.2/24", CLIENT_V6="fd00:55::2/64")
    softnic = os.path.join(src, "scripts", "softnic.sh")
    knot = xdp = None
    results = {}
    try:
        up = run(["bash", softnic, "up", conf], env=env, timeout=60)
        check(up.returncode == 0, "software NIC dataplane up")
        if up.returncode != 0:
            print(up.stdout + up.stderr)
            return
        knot = setup_client_and_ref(tmp, src)
        check(knot.poll() is None, "knotd with mod-rrl runs")

        res = traffic(SERVICE, "198.18.0.2")
        results["popdns softnic"] = judge("popdns software NIC", res)
        st = popdnsctl_stats(POP, popdnsctl, sock)
        if res:
            check(st.get("rrl.dpdk.limited", 0) >= res[0] - res[1] - 50 and
                  st.get("rrl.dpdk.slipped", -1) == res[2],
                  "popdnsctl stats: rrl.dpdk.limited %s, slipped %s" %
                  (st.get("rrl.dpdk.limited"), st.get("rrl.dpdk.slipped")))
            check(abs(res[2] - (res[0] - res[1]) / SLIP) <= 0.05 * res[0],
                  "popdns software NIC: about half of the limited responses "
                  "slip (%d of %d)" % (res[2], res[0] - res[1]))

        res = traffic(KNOT, "198.18.0.2")
        results["knotd mod-rrl"] = judge("knotd mod-rrl (reference)", res,
                                         reference=True)

        run(["bash", softnic, "down"], env=env, timeout=30)
        run(["ip", "netns", "add", POP])
        run(["ip", "-n", POP, "link", "set", "lo", "up"])
        # The CLIENT namespace went with softnic.sh down: make it again.
        run(["ip", "netns", "add", CLIENT])
        run(["ip", "-n", CLIENT, "link", "set", "lo", "up"])
        in_ns(CLIENT, ["ip", "route", "add", "local", VICTIM + "0/24", "dev",
                       "lo"])
        xdp, xsock, xup = xdp_phase(build, tmp)
        check(xup, "XDP dataplane up")
        if xup:
            res = traffic(XSERVICE, "198.18.1.2")
            results["popdns XDP"] = judge("popdns XDP", res)
            st = popdnsctl_stats(POP, popdnsctl, xsock)
            if res:
                check(st.get("rrl.xdp.slipped", -1) == res[2],
                      "popdnsctl stats: rrl.xdp.limited %s, slipped %s" %
                      (st.get("rrl.xdp.limited"), st.get("rrl.xdp.slipped")))
                check(abs(res[2] - (res[0] - res[1]) / SLIP) <= 0.05 * res[0],
                      "popdns XDP: about half of the limited responses slip "
                      "(%d of %d)" % (res[2], res[0] - res[1]))
        print("\nwhat reached the victim /24 in %d s (flood of %d qps, "
              "rate %d, slip %d):" % (SECONDS, FLOOD_QPS, RATE, SLIP))
        for k, v in results.items():
            if v:
                print("  %-16s %5d full answers  %5d slips  %8d bytes" %
                      ((k,) + v))
    finally:
        stop(xdp)
        stop(knot)
        run(["bash", softnic, "down"], env=env, timeout=30)
        for ns in (REF, CLIENT, POP):
            run(["ip", "netns", "del", ns])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "traffic":
        sys.exit(traffic_main(sys.argv[2:]))
    require("reflection_test", "network namespaces, net_tap, XDP", tun=True)
    main(sys.argv[1], sys.argv[2])
    sys.exit(summary())
