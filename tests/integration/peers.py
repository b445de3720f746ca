#!/usr/bin/python3
"""Real DNS servers from Debian as replication peers of popdns, on loopback.

Each peer runs in its own temporary directory with its own config, on a free
port of 127.0.0.1, and is stopped by its PID (never by name):

  Knot(tmp, tag, key).primary(zone, text, notify=[...])     knotd 3.2 primary:
      TSIG-only transfers and updates, NOTIFY signed with the key, a journal
      (IXFR; zone-file reloads are journaled as differences), knsupdate
      changes, history dropped on demand (AXFR fallback) or never kept.
  Knot(tmp, tag, key).secondary(zone, "127.0.0.1:PORT")     knotd secondary
      of any primary (popdns), notified and transferring with the key.
  Named(tmp, tag, key).primary(zone, text, notify=[...])    BIND 9.18 primary
      (ixfr-from-differences, notify explicit, nsupdate changes).
  Pdns(tmp, tag, key).primary(zone, text, notify=[...])     PowerDNS 4.7 with
      the sqlite3 backend (pdnsutil changes; answers IXFR AXFR-style).

Helpers: TsigKey, free_port, soa_serial, wait_serial, axfr_records and
ixfr (TSIG-verified by dnspython; an IXFR is classified as up-to-date,
incremental or AXFR-style and can be applied to a record set), kdig_axfr,
zone_queries + compare_servers (answers of two servers for every name and
type of a zone, via tests/conformance's comparison), signed_query and
tsig_rr (TSIG on queries, skewed clocks, unverified TSIG RRs),
NotifyCatcher (a fake secondary recording NOTIFYs), FakePrimary (a scripted
primary: broken IXFRs, SERVFAIL, silence), base_zone (the test zone,
optionally with many extra names).

Facts the harness relies on (checked by the self-check): knotd 3.2 sends
NOTIFY over TCP, one second after a DDNS change; named and pdns over UDP;
all three sign it with the zone's key. pdns answers IXFR AXFR-style with
the SOA alone in the first message. knotd's journal keeps the changes made
after a purge (drop_history() after the change, not before).

Every process started here is also stopped at exit (atexit, SIGTERM, SIGINT).

Self-check: /usr/bin/python3 tests/integration/peers.py --selftest
(starts each peer, checks TSIG AXFR with kdig and dnspython, changes,
NOTIFY, IXFR, AXFR fallback, and a knotd secondary).
"""
import atexit
import base64
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONFORMANCE = os.path.join(os.path.dirname(HERE), "conformance")
sys.path.insert(0, HERE)
sys.path.insert(0, CONFORMANCE)

import dns.exception  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdata  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402
import dns.tsig  # noqa: E402

from checks import free_port  # noqa: E402,F401  (re-exported)
import corpus  # noqa: E402
import run_conformance  # noqa: E402  (installs its own signal handlers:
#                                       ours replace them below)

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"
KNSUPDATE = shutil.which("knsupdate") or "/usr/bin/knsupdate"
KDIG = shutil.which("kdig") or "/usr/bin/kdig"
NAMED = shutil.which("named") or "/usr/sbin/named"
NSUPDATE = shutil.which("nsupdate") or "/usr/bin/nsupdate"
PDNS_SERVER = shutil.which("pdns_server") or "/usr/sbin/pdns_server"
PDNSUTIL = shutil.which("pdnsutil") or "/usr/bin/pdnsutil"
PDNS_CONTROL = shutil.which("pdns_control") or "/usr/bin/pdns_control"
PDNS_SCHEMA = "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"

LOOPBACK = "127.0.0.1"


class PeerError(Exception):
    """A peer did not start, answer or change as asked."""


# ---------------------------------------------------------------------------
# processes

_running = []


def stop_all():
    for s in list(_running):
        try:
            s.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _on_signal(signum, _frame):
    stop_all()
    run_conformance._cleanup()
    sys.exit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def run(cmd, timeout=60, check=True, input=None, **kw):
    """Runs cmd with a time limit, capturing text; PeerError on failure."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       input=input, **kw)
    if check and r.returncode != 0:
        raise PeerError("%s exited %d:\n%s%s" % (" ".join(cmd), r.returncode,
                                                 r.stdout, r.stderr))
    return r


def tail(path, n=60):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return "<%s>" % e
    return "\n".join(lines[-n:])


# ---------------------------------------------------------------------------
# TSIG keys

class TsigKey:
    """A TSIG key (RFC 8945) in the form tsig-keygen / keymgr -t print."""

    def __init__(self, name="xfr-key", algorithm="hmac-sha256", secret=None):
        self.name = name
        self.algorithm = algorithm
        self.secret = secret or base64.b64encode(os.urandom(32)).decode()

    def with_secret(self, secret=None):
        """The same name and algorithm, another (random) secret."""
        return TsigKey(self.name, self.algorithm, secret)

    def with_algorithm(self, algorithm):
        return TsigKey(self.name, algorithm, self.secret)

    @property
    def dnsname(self):
        return dns.name.from_text(self.name)

    @property
    def keyring(self):
        return {self.dnsname: dns.tsig.Key(self.dnsname, self.secret,
                                           self.algorithm)}

    @property
    def y(self):
        """The -y argument of kdig, knsupdate and nsupdate."""
        return "%s:%s:%s" % (self.algorithm, self.name, self.secret)

    def yaml(self):
        """One entry of popdns's `keys:` list (YAML flow mapping)."""
        return '{name: %s, algorithm: %s, secret: "%s"}' % (
            self.name, self.algorithm, self.secret)

    def sign(self, msg):
        msg.use_tsig(self.keyring, self.dnsname, algorithm=self.algorithm)
        return msg


# ---------------------------------------------------------------------------
# zone text

def base_zone(origin="example.test.", serial=1, extra_names=0, ttl=300,
              marker=None):
    """The replication test zone: apex SOA/NS/MX/TXT, A/AAAA, CNAMEs and a
    chain, SRV, CAA, a wildcard, an empty non-terminal, a delegation with
    glue; `extra_names` more names (hN: A, every 3rd AAAA, every 5th TXT,
    about 1.5 records a name); `marker` adds a TXT at marker.<origin>.
    SOA timers are long: popdns's tests override them in its config."""
    lines = [
        "$ORIGIN %s" % origin,
        "$TTL %d" % ttl,
        "@ 3600 SOA ns1 hostmaster %d 3600 600 604800 300" % serial,
        "@ NS ns1",
        "@ NS ns2",
        "@ MX 10 mail",
        '@ TXT "v=spf1 -all"',
        "@ A 192.0.2.1",
        "ns1 A 192.0.2.53",
        "ns1 AAAA 2001:db8::53",
        "ns2 A 192.0.2.54",
        "mail A 192.0.2.25",
        "mail AAAA 2001:db8::25",
        "www A 192.0.2.80",
        "www A 192.0.2.81",
        "www AAAA 2001:db8::80",
        "alias CNAME www",
        "chain1 CNAME chain2",
        "chain2 CNAME www",
        "_sip._tcp SRV 0 5 5060 www",
        'txt TXT "hello" "world"',
        'caa CAA 0 issue "ca.test"',
        "*.wild A 192.0.2.99",
        '*.wild TXT "wild"',
        "deep.ent A 192.0.2.7",
        "sub NS ns.sub",
        "ns.sub A 192.0.2.153",
    ]
    if marker:
        lines.append('marker TXT "%s"' % marker)
    for i in range(extra_names):
        h = "h%d" % i
        lines.append("%s A 10.%d.%d.%d" % (h, (i >> 16) & 255, (i >> 8) & 255,
                                           i & 255))
        if i % 3 == 0:
            lines.append("%s AAAA 2001:db8:%x::%x" % (h, 1 + (i >> 16),
                                                       i & 0xFFFF))
        if i % 5 == 0:
            lines.append('%s TXT "name %d"' % (h, i))
    return "\n".join(lines) + "\n"


def extra_names_for(records):
    """extra_names for base_zone() so that the zone has about `records`."""
    return max(0, int((records - 27) / (1 + 1 / 3 + 1 / 5)))


def fq(name, zone):
    """Absolute form of `name` relative to `zone` ('@' is the apex)."""
    zone = zone if zone.endswith(".") else zone + "."
    if name == "@":
        return zone
    if name.endswith("."):
        return name
    return "%s.%s" % (name, zone)


# ---------------------------------------------------------------------------
# queries and transfers

def _udp(port, msg, timeout):
    return dns.query.udp(msg, LOOPBACK, port=port, timeout=timeout,
                         ignore_unexpected=True)


def query(port, name, rdtype="A", key=None, tcp=False, timeout=2.0,
          edns=0, rd=False):
    """A dnspython query to 127.0.0.1:port; returns the response or None."""
    q = dns.message.make_query(name, rdtype, use_edns=edns)
    if not rd:
        q.flags &= ~dns.flags.RD
    if key is not None:
        key.sign(q)
    try:
        if tcp:
            return dns.query.tcp(q, LOOPBACK, port=port, timeout=timeout)
        return _udp(port, q, timeout)
    except (dns.exception.DNSException, OSError):
        return None


def soa_serial(port, zone, key=None, timeout=1.0):
    """The SOA serial 127.0.0.1:port answers for `zone` (AA, NOERROR), or
    None."""
    r = query(port, zone, "SOA", key=key, timeout=timeout)
    if r is None or r.rcode() != dns.rcode.NOERROR or \
            not r.flags & dns.flags.AA:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def serial_gt(a, b):
    """RFC 1982 serial number arithmetic: a > b."""
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


def wait_serial(port, zone, serial=None, timeout=30.0, proc=None, log=None,
                what="server", newer_than=None, fail_re=None, log_from=0):
    """Waits until 127.0.0.1:port answers SOA for `zone` with AA (and with
    `serial`, or a serial newer than `newer_than`, when given). Returns the
    serial; PeerError (with the log's tail) on timeout, if `proc` exits, or
    as soon as a line of `log` matches `fail_re` (a zone that failed to
    load) at or after byte `log_from`."""
    t0 = time.time()
    last = None
    next_look = t0 + 0.5
    while True:
        if proc is not None and proc.poll() is not None:
            raise PeerError("%s exited with %s while waiting for %s serial "
                            "%s; log %s:\n%s" % (what, proc.returncode, zone,
                                                 serial, log, tail(log)))
        if fail_re is not None and log and time.time() >= next_look:
            next_look = time.time() + 0.5
            with open(log, "rb") as f:
                f.seek(log_from)
                bad = [x for x in f.read().decode(errors="replace")
                       .splitlines() if fail_re.search(x)]
            if bad:
                raise PeerError("%s failed (log %s):\n%s\n...\n%s" % (
                    what, log, bad[0], tail(log, 15)))
        last = soa_serial(port, zone)
        if last is not None and (serial is None or last == serial) and (
                newer_than is None or serial_gt(last, newer_than)):
            return last
        if time.time() - t0 > timeout:
            want = serial if serial is not None else (
                "> %s" % newer_than if newer_than is not None else "any")
            raise PeerError("%s on port %d: %s serial %s after %.1fs, wanted "
                            "%s; log %s:\n%s" % (what, port, zone, last,
                                                 timeout, want, log,
                                                 tail(log) if log else ""))
        time.sleep(0.05)


def canonical(name, ttl, rdata):
    """One RR as 'owner ttl TYPE rdata', names lowercased (RFC 4343,
    RFC 4034 6.2 canonical RDATA for the types that have names)."""
    try:
        wire = rdata.to_digestable(dns.name.root)
        rd = dns.rdata.from_wire(rdata.rdclass, rdata.rdtype, wire, 0,
                                 len(wire))
    except Exception:  # noqa: BLE001 - keep the original form
        rd = rdata
    return "%s %d %s %s" % (name.to_text().lower(), ttl,
                            dns.rdatatype.to_text(rdata.rdtype),
                            rd.to_text())


def _flatten(messages):
    out = []
    for m in messages:
        for rrset in m.answer:
            for rd in rrset:
                out.append((rrset.name, rrset.ttl, rd))
    return out


def xfr_messages(port, zone, key=None, rdtype="AXFR", serial=0, timeout=10,
                 source=None):
    """The messages of an AXFR/IXFR from 127.0.0.1:port (TCP), every one
    TSIG-verified when `key` is given. Raises dns.xfr/dns.tsig errors and
    dns.query.TransferError (with .rcode) as dnspython does."""
    kw = {}
    if key is not None:
        kw = dict(keyring=key.keyring, keyname=key.dnsname,
                  keyalgorithm=key.algorithm)
    if source:
        kw["source"] = source
    return list(dns.query.xfr(LOOPBACK, zone, rdtype=rdtype, port=port,
                              serial=serial, relativize=False,
                              timeout=timeout, lifetime=timeout * 6, **kw))


def axfr_records(port, zone, key=None, timeout=10, source=None):
    """(serial, sorted list of canonical RR strings, SOA once) of an AXFR."""
    msgs = xfr_messages(port, zone, key, "AXFR", timeout=timeout,
                        source=source)
    rrs = _flatten(msgs)
    if not rrs or rrs[0][2].rdtype != dns.rdatatype.SOA:
        raise PeerError("AXFR of %s from port %d does not start with SOA"
                        % (zone, port))
    serial = rrs[0][2].serial
    return serial, sorted(set(canonical(n, t, rd) for n, t, rd in rrs))


class Ixfr:
    """An IXFR response: kind is 'up-to-date', 'incremental' or 'axfr'
    (AXFR-style, RFC 1995 4); diffs is [(from, to, deleted, added)] with
    canonical RR strings; records is the whole zone for 'axfr'."""

    def __init__(self, kind, serial, diffs=(), records=None, messages=0):
        self.kind, self.serial, self.diffs = kind, serial, list(diffs)
        self.records, self.messages = records, messages

    def apply(self, records):
        """The zone after applying this response to `records` (a list of
        canonical strings, SOA included)."""
        if self.kind == "axfr":
            return sorted(self.records)
        cur = set(records)
        for _, _, deleted, added in self.diffs:
            missing = set(deleted) - cur
            if missing:
                raise PeerError("IXFR deletes RRs that are not in the zone: "
                                "%s" % sorted(missing)[:5])
            cur -= set(deleted)
            cur |= set(added)
        return sorted(cur)


def ixfr(port, zone, serial, key=None, timeout=10):
    msgs = xfr_messages(port, zone, key, "IXFR", serial=serial,
                        timeout=timeout)
    rrs = _flatten(msgs)
    if not rrs or rrs[0][2].rdtype != dns.rdatatype.SOA:
        raise PeerError("IXFR of %s from port %d does not start with SOA"
                        % (zone, port))
    new = rrs[0][2].serial
    if len(rrs) == 1:
        return Ixfr("up-to-date", new, messages=len(msgs))
    if rrs[1][2].rdtype != dns.rdatatype.SOA:
        return Ixfr("axfr", new, records=set(canonical(*r) for r in rrs),
                    messages=len(msgs))
    diffs = []
    i = 1
    body = rrs[1:-1]  # between the first and the last SOA
    i = 0
    while i < len(body):
        old_soa = body[i]
        i += 1
        deleted = [canonical(*old_soa)]
        while i < len(body) and body[i][2].rdtype != dns.rdatatype.SOA:
            deleted.append(canonical(*body[i]))
            i += 1
        if i >= len(body):
            raise PeerError("IXFR: deletions without a following SOA")
        new_soa = body[i]
        i += 1
        added = [canonical(*new_soa)]
        while i < len(body) and body[i][2].rdtype != dns.rdatatype.SOA:
            added.append(canonical(*body[i]))
            i += 1
        diffs.append((old_soa[2].serial, new_soa[2].serial, deleted, added))
    chain = [serial] + [x for d in diffs for x in d[:2]] + [new]
    if any(chain[i] != chain[i + 1] for i in range(0, len(chain), 2)):
        raise PeerError("IXFR: sequence serials do not chain from %d to %d: "
                        "%s" % (serial, new, [d[:2] for d in diffs]))
    return Ixfr("incremental", new, diffs, messages=len(msgs))


class _SkewedClock:
    def __init__(self, offset):
        self.offset = offset

    def time(self):
        return time.time() + self.offset


def signed_query(name, rdtype, key, time_offset=0, algorithm=None):
    """(wire, message) of a query (EDNS, RD=0) signed with `key`, its TSIG
    time `time_offset` seconds off, with `algorithm` named in the TSIG RR
    (default: the key's)."""
    q = dns.message.make_query(name, rdtype, use_edns=0)
    q.flags &= ~dns.flags.RD
    alg = algorithm or key.algorithm
    q.use_tsig({key.dnsname: dns.tsig.Key(key.dnsname, key.secret, alg)},
               key.dnsname, algorithm=alg)
    saved = dns.message.time
    dns.message.time = _SkewedClock(time_offset)
    try:
        wire = q.to_wire()
    finally:
        dns.message.time = saved
    return wire, q


def tsig_rr(wire):
    """The TSIG RR ending a message, parsed without verifying it: a dict
    (name, algorithm, time, fudge, mac, original_id, error, other) or None.
    Also returns the header rcode as 'rcode'."""
    if len(wire) < 12:
        return None
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    off = 12
    for _ in range(qd):
        off = run_conformance.walk_name(wire, off)
        if off is None:
            return None
        off += 4
    last = None
    for _ in range(an + ns + ar):
        start = off
        off = run_conformance.walk_name(wire, off)
        if off is None or off + 10 > len(wire):
            return None
        rtype, _, _, rdlen = struct.unpack("!HHIH", wire[off:off + 10])
        last = (start, rtype, off + 10, rdlen)
        off += 10 + rdlen
    if last is None or last[1] != dns.rdatatype.TSIG:
        return None
    start, _, rd, rdlen = last
    name, _ = dns.name.from_wire(wire, start)
    alg, used = dns.name.from_wire(wire, rd)
    p = rd + used
    hi, lo, fudge, maclen = struct.unpack("!HIHH", wire[p:p + 10])
    p += 10
    mac = wire[p:p + maclen]
    p += maclen
    orig, err, olen = struct.unpack("!HHH", wire[p:p + 6])
    other = wire[p + 6:p + 6 + olen]
    return dict(name=name.to_text(), algorithm=alg.to_text(),
                time=(hi << 32) | lo, fudge=fudge, mac=mac, original_id=orig,
                error=err, other=other, rcode=struct.unpack(
                    "!H", wire[2:4])[0] & 15)


def kdig_axfr(port, zone, key=None):
    """`kdig -y ... AXFR` of 127.0.0.1:port: (returncode, RR lines, raw
    output)."""
    cmd = [KDIG, "@%s" % LOOPBACK, "-p", str(port), "+noall", "+answer",
           "+time=5", "+retry=0", "AXFR", zone]
    if key is not None:
        cmd[1:1] = ["-y", key.y]
    r = run(cmd, check=False, timeout=60)
    lines = [x for x in r.stdout.splitlines()
             if x.strip() and not x.startswith(";")]
    return r.returncode, lines, r.stdout + r.stderr


def kdig_records(lines):
    """Canonical RR strings from kdig's answer lines (SOA once)."""
    out = set()
    for line in lines:
        rr = dns.rrset.from_text(*_split_rr(line))
        for rd in rr:
            out.add(canonical(rr.name, rr.ttl, rd))
    return sorted(out)


def _split_rr(line):
    parts = line.split(None, 4)
    return parts[0], int(parts[1]), parts[2], parts[3], parts[4]


# ---------------------------------------------------------------------------
# comparing two servers

QUERY_TYPES = ("SOA", "NS", "A", "AAAA", "TXT", "MX", "CNAME", "SRV", "CAA",
               "DS")


def zone_queries(records, zone, extra_names=(), limit=None, types=QUERY_TYPES,
                 nonexistent=("nx-1", "nx-2.www", "a.b.nx-3"), do=False):
    """(label, wire) queries (EDNS 1232, RD=0; DO with `do`): every owner
    name of `records` (canonical strings) and of `extra_names` (names
    deleted earlier, say) with every type in `types` plus the types it
    holds, and names that do not exist. With `limit`, every k-th name
    only."""
    zone = zone if zone.endswith(".") else zone + "."
    types_at = {}
    for rr in records:
        owner, _, rdtype, _ = rr.split(" ", 3)
        types_at.setdefault(owner, set()).add(rdtype)
    for n in extra_names:
        types_at.setdefault(n.lower(), set())
    names = sorted(types_at)
    if limit and len(names) > limit:
        step = len(names) // limit + 1
        names = names[::step] + [zone]
    c = corpus.Corpus()
    for n in names:
        for t in sorted(set(types) | types_at.get(n, set())):
            c.q("%s/%s" % (n, t), n, t, edns=0, rd=False, do=do)
    for n in nonexistent:
        for t in ("A", "TXT"):
            c.q("%s/%s" % (fq(n, zone), t), fq(n, zone), t, edns=0, rd=False,
                do=do)
    return c.items


def _answer_key(wire):
    m = dns.message.from_wire(wire, ignore_trailing=True,
                              raise_on_truncation=False)
    ans = sorted(run_conformance.rr_key(rrset.name, rrset.ttl, rd)[1].lower()
                 for rrset in m.answer for rd in rrset)
    return (dns.rcode.to_text(m.rcode()), bool(m.flags & dns.flags.AA),
            bool(m.flags & dns.flags.TC)), ans


def compare_servers(port_ref, port_sut, queries, strict=True, timeout=1.5,
                    ref="ref", sut="sut"):
    """Asks both servers every query (UDP, the same bytes at once) and
    returns a list of differences (strings). strict: the conformance test's
    comparison (header, question, OPT, every section as a multiset with
    TTLs; no size check). Otherwise: rcode, AA, TC and the answer section
    as a set only (for peers whose additional/authority policy differs)."""
    diffs = []
    for label, wire in queries:
        a, b = run_conformance.udp_many([port_ref, port_sut], wire, timeout)
        if a is None or b is None:
            if a is None and b is None:
                continue
            # a lost datagram: ask again, one at a time
            a = a or run_conformance.udp_query(port_ref, wire, timeout)
            b = b or run_conformance.udp_query(port_sut, wire, timeout)
        if strict:
            d, _ = run_conformance.compare(label, a, b, None,
                                           run_conformance.ACCEPTED, False)
            if d:
                diffs.append("%s:\n  %s" % (label, "\n  ".join(
                    x.replace("knot", ref).replace("sut ", sut + " ")
                    for _, x in d)))
            continue
        if a is None or b is None:
            diffs.append("%s: no answer from %s" % (label,
                                                    ref if a is None else sut))
            continue
        ka, kb = _answer_key(a), _answer_key(b)
        if ka != kb:
            diffs.append("%s: %s %s %s / %s %s %s" % (
                label, ref, ka[0], ka[1], sut, kb[0], kb[1]))
    return diffs


# ---------------------------------------------------------------------------
# a fake secondary that records NOTIFYs

class LoopbackResponder:
    """A scripted DNS endpoint on 127.0.0.1:port, UDP and TCP (several
    messages a connection). Subclasses answer in handle(wire, transport,
    src) with a list of messages (wire bytes) to send back."""

    def __init__(self):
        self._stop = False
        for _ in range(50):
            p = free_port()
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                u.bind((LOOPBACK, p))
                t.bind((LOOPBACK, p))
            except OSError:
                u.close()
                t.close()
                continue
            t.listen(16)
            self.port, self.udp, self.tcp = p, u, t
            break
        else:
            raise PeerError("%s: no free port" % type(self).__name__)
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    @property
    def addr(self):
        return "%s:%d" % (LOOPBACK, self.port)

    def handle(self, wire, transport, src):
        raise NotImplementedError

    def _safe_handle(self, wire, transport, src):
        try:
            return self.handle(wire, transport, src) or []
        except Exception as e:  # noqa: BLE001 - keep serving
            print("# %s: %s: %s" % (type(self).__name__, type(e).__name__, e),
                  flush=True)
            return []

    def _tcp_conn(self, conn, src):
        conn.settimeout(5)
        try:
            while not self._stop:
                head = conn.recv(2)
                if len(head) < 2:
                    return
                n = struct.unpack("!H", head)[0]
                wire = b""
                while len(wire) < n:
                    chunk = conn.recv(n - len(wire))
                    if not chunk:
                        return
                    wire += chunk
                for resp in self._safe_handle(wire, "tcp", src):
                    conn.sendall(struct.pack("!H", len(resp)) + resp)
        except OSError:
            return
        finally:
            conn.close()

    def _loop(self):
        import select
        while not self._stop:
            try:
                r, _, _ = select.select([self.udp, self.tcp], [], [], 0.2)
            except (OSError, ValueError):
                return
            for s in r:
                try:
                    if s is self.udp:
                        wire, src = self.udp.recvfrom(65535)
                        for resp in self._safe_handle(wire, "udp", src):
                            self.udp.sendto(resp, src)
                    else:
                        conn, src = self.tcp.accept()
                        threading.Thread(target=self._tcp_conn,
                                         args=(conn, src), daemon=True).start()
                except OSError:
                    continue

    def close(self):
        self._stop = True
        self._t.join(2)
        self.udp.close()
        self.tcp.close()


class NotifyCatcher(LoopbackResponder):
    """A fake secondary (knotd 3.2 sends NOTIFY over TCP, named and pdns
    over UDP): answers NOTIFYs (signed back when signed with `key`) and
    records them as (time, transport, source, zone, serial, tsig); serial
    is None when the NOTIFY carries no SOA (pdns), tsig is 'ok', 'none' or
    the verification error."""

    def __init__(self, key=None):
        self.key = key
        self.notifies = []
        super().__init__()

    def handle(self, wire, transport, src):
        tsig = "none"
        try:
            m = dns.message.from_wire(
                wire, keyring=self.key.keyring if self.key else None)
            if m.had_tsig:
                tsig = "ok"
        except Exception as e:  # noqa: BLE001
            self.notifies.append((time.time(), transport, src, None, None,
                                  "%s: %s" % (type(e).__name__, e)))
            return []
        serial = None
        for rrset in m.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                serial = rrset[0].serial
        zone = m.question[0].name.to_text() if m.question else None
        self.notifies.append((time.time(), transport, src, zone, serial, tsig))
        return [dns.message.make_response(m).to_wire()]

    def wait(self, serial, since=0.0, timeout=10.0):
        """The first NOTIFY for `serial` (or without a serial, received after
        `since`), or None after `timeout` seconds."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            for n in self.notifies:
                if n[4] == serial or (n[4] is None and n[0] >= since):
                    return n
            time.sleep(0.05)
        return None


class FakePrimary(LoopbackResponder):
    """A scripted primary for what real ones never send. It serves the
    versions added with add_version(text) (one zone, SOA serial from the
    text), the one named by `current`: SOA queries (UDP/TCP), AXFR, and IXFR
    in `ixfr_mode`:
      'good'            the difference old -> current (one sequence)
      'axfr'            AXFR-style
      'delete-missing'  the difference plus the deletion of an RR the old
                        version does not have (RFC 1995: a broken IXFR)
      'bad-serial'      two sequences whose serials do not chain
                        (old -> X, then Y -> current with Y != X)
    and `mode` 'ok', 'servfail' (every query gets SERVFAIL) or 'silent' (no
    answer). `axfr_extra` (name, ttl, rdata) tuples are added to every whole
    zone it sends: data that a zone object would not hold (a CNAME and
    other data at one name). Requests signed with `key` are verified and
    answered signed; a bad signature gets NOTAUTH. Every request is
    recorded as (time, transport, qtype text, serial asked or None, tsig
    'ok'/'none'/error)."""

    def __init__(self, zone, key=None):
        self.zone = zone if zone.endswith(".") else zone + "."
        self.key = key
        self.versions = {}
        self.current = None
        self.ixfr_mode = "good"
        self.axfr_extra = []
        self.mode = "ok"
        self.requests = []
        super().__init__()

    def add_version(self, text, make_current=True):
        import dns.zone
        z = dns.zone.from_text(text, self.zone, relativize=False,
                               check_origin=True)
        soa = None
        rrs = []
        for name, ttl, rd in z.iterate_rdatas():
            if rd.rdtype == dns.rdatatype.SOA:
                soa = (name, ttl, rd)
            else:
                rrs.append((name, ttl, rd))
        self.versions[soa[2].serial] = (soa, rrs)
        if make_current:
            self.current = soa[2].serial
        return soa[2].serial

    def records(self, serial=None):
        """Canonical strings of a version (SOA once), as axfr_records."""
        soa, rrs = self.versions[serial or self.current]
        return sorted(set(canonical(*r) for r in [soa] + rrs))

    def requests_of(self, qtype, since=0.0):
        return [r for r in self.requests if r[2] == qtype and r[0] >= since]

    @staticmethod
    def _rrset(rr):
        return dns.rrset.from_rdata(rr[0], rr[1], rr[2])

    def _soa_with_serial(self, soa, serial):
        return (soa[0], soa[1], soa[2].replace(serial=serial))

    def handle(self, wire, transport, src):
        tsig = "none"
        try:
            q = dns.message.from_wire(
                wire, keyring=self.key.keyring if self.key else None)
            if q.had_tsig:
                tsig = "ok"
        except Exception as e:  # noqa: BLE001 - unknown key, bad MAC, ...
            self.requests.append((time.time(), transport, "?", None,
                                  "%s: %s" % (type(e).__name__, e)))
            if len(wire) < 12:
                return []
            flags = struct.unpack("!H", wire[2:4])[0]
            head = struct.pack("!HHHHHH", struct.unpack("!H", wire[:2])[0],
                               0x8000 | (flags & 0x7800) | dns.rcode.NOTAUTH,
                               1, 0, 0, 0)
            return [head + run_conformance.question_bytes(wire)]
        qtype = dns.rdatatype.to_text(q.question[0].rdtype) \
            if q.question else "?"
        asked = None
        if qtype == "IXFR" and q.authority:
            asked = q.authority[0][0].serial
        self.requests.append((time.time(), transport, qtype, asked, tsig))
        if self.mode == "silent":
            return []
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if self.mode == "servfail" or self.current is None:
            r.set_rcode(dns.rcode.SERVFAIL)
            return [r.to_wire()]
        soa, rrs = self.versions[self.current]
        qname = q.question[0].name
        if qname != dns.name.from_text(self.zone):
            r.set_rcode(dns.rcode.REFUSED)
            r.flags &= ~dns.flags.AA
            return [r.to_wire()]
        if qtype == "SOA":
            r.answer.append(self._rrset(soa))
            return [r.to_wire()]
        if qtype not in ("AXFR", "IXFR") or transport != "tcp":
            r.set_rcode(dns.rcode.REFUSED)
            return [r.to_wire()]
        seq = []
        if qtype == "IXFR" and asked == self.current:
            seq = [soa]
        elif qtype == "IXFR" and self.ixfr_mode != "axfr" and \
                asked in self.versions:
            old_soa, old_rrs = self.versions[asked]
            old = {canonical(*x): x for x in old_rrs}
            new = {canonical(*x): x for x in rrs}
            deleted = [old[k] for k in sorted(set(old) - set(new))]
            added = [new[k] for k in sorted(set(new) - set(old))]
            if self.ixfr_mode == "delete-missing":
                ghost = dns.name.from_text("ghost",
                                           dns.name.from_text(self.zone))
                deleted.append((ghost, 300, dns.rdata.from_text(
                    "IN", "A", "192.0.2.254")))
            if self.ixfr_mode == "bad-serial":
                half = len(added) // 2
                x = self._soa_with_serial(soa, (asked + 100) & 0xFFFFFFFF)
                y = self._soa_with_serial(soa, (asked + 200) & 0xFFFFFFFF)
                seq = [soa, old_soa] + deleted + [x] + added[:half] + \
                    [y] + [soa] + added[half:] + [soa]
            else:
                seq = [soa, old_soa] + deleted + [soa] + added + [soa]
        else:
            seq = [soa] + rrs + list(self.axfr_extra) + [soa]
        for rr in seq:
            r.answer.append(self._rrset(rr))
        return [r.to_wire()]


# ---------------------------------------------------------------------------
# servers

def _addr_port(addr):
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


class Server:
    """One server process in its own directory on 127.0.0.1:port."""

    kind = "server"
    fail_re = None  # a log line saying the zone will not be served

    def __init__(self, tmp, tag, key=None, port=None):
        self.tag = tag
        self.dir = os.path.join(tmp, tag)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.key = key
        self.proc = None
        self.start_mark = 0
        self.log_path = os.path.join(self.dir, self.kind + ".log")
        self.zone = None

    @property
    def addr(self):
        return "%s:%d" % (LOOPBACK, self.port)

    def command(self):
        raise NotImplementedError

    def prepare(self):
        """Writes config and data; called by start()."""

    def start(self, wait=True, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.prepare()
        self.start_mark = self.mark()
        log = open(self.log_path, "a")
        log.write("=== start %s\n" % time.strftime("%H:%M:%S"))
        log.flush()
        self.proc = subprocess.Popen(self.command(), stdout=log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.dir)
        log.close()
        _running.append(self)
        if wait and self.zone:
            self.wait_serial(timeout=timeout)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM to our PID, then SIGKILL after `timeout` seconds."""
        if self in _running:
            _running.remove(self)
        if self.proc is None or self.proc.poll() is not None:
            return None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def kill9(self):
        if self in _running:
            _running.remove(self)
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def mark(self):
        """A position in the log, for lines_since()."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def lines_since(self, mark):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode(errors="replace").splitlines()
        except OSError:
            return []

    def tail(self, n=60):
        return tail(self.log_path, n)

    def serial(self, zone=None):
        return soa_serial(self.port, zone or self.zone)

    def wait_serial(self, serial=None, zone=None, timeout=30.0,
                    newer_than=None):
        return wait_serial(self.port, zone or self.zone, serial, timeout,
                           self.proc, self.log_path, "%s %s" % (self.kind,
                                                                self.tag),
                           newer_than=newer_than, fail_re=self.fail_re,
                           log_from=self.start_mark)

    def axfr(self, zone=None, key="default", **kw):
        return axfr_records(self.port, zone or self.zone,
                            self.key if key == "default" else key, **kw)

    def ixfr(self, serial, zone=None, key="default", **kw):
        return ixfr(self.port, zone or self.zone, serial,
                    self.key if key == "default" else key, **kw)

    def nsupdate_script(self, ops, zone=None):
        """ops: ("add", name, ttl, type, rdata), ("del", name, type, rdata),
        ("del", name, type) or ("del", name); names relative to the zone
        or absolute."""
        zone = zone or self.zone
        lines = ["server %s %d" % (LOOPBACK, self.port), "zone %s" % zone]
        for op in ops:
            if op[0] == "add":
                _, name, ttl, rdtype, rdata = op
                lines.append("update add %s %d %s %s" % (fq(name, zone), ttl,
                                                         rdtype, rdata))
            elif op[0] == "del":
                lines.append("update delete %s" % " ".join(
                    [fq(op[1], zone)] + list(op[2:])))
            else:
                raise ValueError(op)
        lines += ["send", ""]
        return "\n".join(lines)


class Knot(Server):
    """knotd 3.2. Call primary() or secondary() (once each per zone) before
    start()."""

    kind = "knotd"
    fail_re = re.compile(r"zone event 'load' failed|failed to load zone")

    def __init__(self, tmp, tag, key=None, port=None):
        super().__init__(tmp, tag, key, port)
        self.zones = []
        self.conf = os.path.join(self.dir, "knot.conf")
        self.sock = os.path.join(self.dir, "knot.sock")

    def primary(self, zone, text, notify=(), history=True, provide_ixfr=True,
                signing=None):
        """A primary zone from `text`: transfers and updates need the key;
        NOTIFY (signed) to `notify` ("127.0.0.1:PORT", ...) on every new
        serial. history=True: a journal of changes (DDNS and zone-file
        reloads, computed as differences), so IXFR is served; False: no
        journal, every IXFR is answered AXFR-style. signing="nsec" or
        "nsec3": knotd signs the zone itself (ECDSA P-256 keys it makes;
        NSEC3 with 1 iteration and a 4-octet salt) and re-signs what every
        update changes, denial chain included."""
        assert signing in (None, "nsec", "nsec3")
        self.zone = self.zone or zone
        path = os.path.join(self.dir, zone.rstrip(".") + ".zone")
        with open(path, "w") as f:
            f.write(text)
        self.zones.append(dict(name=zone, role="primary", file=path,
                               notify=list(notify), history=history,
                               provide_ixfr=provide_ixfr, signing=signing))
        return self

    def secondary(self, zone, primary, notify=()):
        """A secondary zone pulling from `primary` ("127.0.0.1:PORT") with
        the key; NOTIFY is accepted from its address with the key."""
        self.zone = self.zone or zone
        self.zones.append(dict(name=zone, role="secondary", primary=primary,
                               notify=list(notify),
                               file=os.path.join(self.dir, zone.rstrip(".")
                                                 + ".zone")))
        return self

    def zone_file(self, zone=None):
        zone = zone or self.zone
        return next(z["file"] for z in self.zones if z["name"] == zone)

    def prepare(self):
        storage = os.path.join(self.dir, "storage")
        os.makedirs(storage, exist_ok=True)
        k = self.key
        lines = [
            "server:",
            "    rundir: %s" % self.dir,
            "    listen: %s@%d" % (LOOPBACK, self.port),
            "    udp-workers: 1",
            "    tcp-workers: 2",
            "    background-workers: 1",
            # 500 ms by default: a reader slowed down by a busy CI machine
            # (dnspython reading 200k records) would see its AXFR cut.
            "    tcp-io-timeout: 5000",
            "log:",
            "  - target: stderr",
            "    any: info",
            "database:",
            "    storage: %s" % storage,
        ]
        if k:
            lines += ["key:", "  - id: %s" % k.name,
                      "    algorithm: %s" % k.algorithm,
                      "    secret: %s" % k.secret]
        remotes, acls = [], []
        keyline = ["    key: %s" % k.name] if k else []
        # transfers and updates from anywhere on loopback, with the key
        acls += ["  - id: xfr", "    address: 127.0.0.0/8"] + keyline + [
            "    action: [transfer, update]"]
        for i, z in enumerate(self.zones):
            for j, n in enumerate(z["notify"]):
                host, port = _addr_port(n)
                remotes += ["  - id: notify%d_%d" % (i, j),
                            "    address: %s@%d" % (host, port)] + keyline
            if z["role"] == "secondary":
                host, port = _addr_port(z["primary"])
                remotes += ["  - id: primary%d" % i,
                            "    address: %s@%d" % (host, port)] + keyline
                acls += ["  - id: notify_in%d" % i,
                         "    address: %s" % host] + keyline + [
                    "    action: notify"]
        if remotes:
            lines += ["remote:"] + remotes
        lines += ["acl:"] + acls
        if any(z.get("signing") for z in self.zones):
            lines += ["keystore:", "  - id: default", "    backend: pem",
                      "    config: %s" % os.path.join(storage, "keys"),
                      "policy:"]
            for how in ("nsec", "nsec3"):
                lines += ["  - id: %s" % how,
                          "    algorithm: ecdsap256sha256",
                          "    nsec3: %s" % ("on" if how == "nsec3"
                                             else "off")]
                if how == "nsec3":
                    lines += ["    nsec3-iterations: 1",
                              "    nsec3-salt-length: 4"]
        lines += ["template:", "  - id: default",
                  "    storage: %s" % storage,
                  "    zonefile-sync: -1",
                  "    semantic-checks: on",
                  "zone:"]
        for i, z in enumerate(self.zones):
            lines += ["  - domain: %s" % z["name"], "    file: %s" % z["file"]]
            acl = ["xfr"]
            if z["role"] == "primary":
                if z["history"]:
                    lines += ["    journal-content: changes",
                              "    zonefile-load: difference"]
                else:
                    lines += ["    journal-content: none",
                              "    zonefile-load: whole"]
                if not z["provide_ixfr"]:
                    lines.append("    provide-ixfr: off")
                if z.get("signing"):
                    lines += ["    dnssec-signing: on",
                              "    dnssec-policy: %s" % z["signing"]]
            else:
                lines += ["    master: primary%d" % i,
                          "    journal-content: changes",
                          "    zonefile-load: none"]
                acl.append("notify_in%d" % i)
            if z["notify"]:
                lines.append("    notify: [%s]" % ", ".join(
                    "notify%d_%d" % (i, j) for j in range(len(z["notify"]))))
            lines.append("    acl: [%s]" % ", ".join(acl))
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        return [KNOTD, "-c", self.conf]

    def knotc(self, *args, timeout=60):
        return run([KNOTC, "-s", self.sock, "-t", str(timeout)] + list(args),
                   timeout=timeout + 5)

    def update(self, ops, zone=None):
        """Applies ops (see nsupdate_script) with knsupdate under TSIG."""
        r = run([KNSUPDATE, "-y", self.key.y],
                input=self.nsupdate_script(ops, zone), check=False)
        if r.returncode != 0 or "error" in (r.stdout + r.stderr).lower():
            raise PeerError("knsupdate failed (%d): %s%s" % (
                r.returncode, r.stdout, r.stderr))

    def drop_history(self, zone=None):
        """Purges the zone's journal: an IXFR from any serial before now is
        answered AXFR-style ('incomplete history, fallback to AXFR')."""
        self.knotc("zone-purge", "-f", zone or self.zone, "+journal")

    def reload_zone(self, text, zone=None):
        """Writes a new zone file and reloads it (with history, the
        difference to the previous version is journaled)."""
        zone = zone or self.zone
        with open(self.zone_file(zone), "w") as f:
            f.write(text)
        self.knotc("zone-reload", zone)

    def refresh(self, zone=None):
        self.knotc("zone-refresh", zone or self.zone)

    def retransfer(self, zone=None):
        self.knotc("zone-retransfer", zone or self.zone)

    OUT_RE = re.compile(r"\[(?P<zone>[^\]]+)\] (?P<kind>AXFR|IXFR), outgoing, "
                        r"remote (?P<remote>\S+?)(?: TSIG \S+)?, "
                        r"(?P<what>.*)$")
    IN_RE = re.compile(r"\[(?P<zone>[^\]]+)\] (?P<kind>AXFR|IXFR), incoming, "
                       r"remote (?P<remote>\S+?)(?: TSIG \S+)?, "
                       r"(?P<what>.*)$")

    def transfers(self, mark=0, direction="outgoing"):
        """[(kind, what)] of the transfers knotd logged since `mark`: kind
        'AXFR' or 'IXFR', what e.g. 'started, serial 2 -> 3', 'finished,
        ...', 'incomplete history, serial 1, fallback to AXFR',
        'receiving AXFR-style IXFR'."""
        rx = self.OUT_RE if direction == "outgoing" else self.IN_RE
        out = []
        for line in self.lines_since(mark):
            m = rx.search(line)
            if m:
                out.append((m.group("kind"), m.group("what")))
        return out


class Named(Server):
    """BIND 9 named (-g: foreground, log on stderr; -n 1)."""

    kind = "named"
    fail_re = re.compile(r"not loaded due to errors")

    def __init__(self, tmp, tag, key=None, port=None):
        super().__init__(tmp, tag, key, port)
        self.conf = os.path.join(self.dir, "named.conf")
        self.zone_path = None
        self.notify = []

    def primary(self, zone, text, notify=()):
        self.zone = zone
        self.zone_path = os.path.join(self.dir, zone.rstrip(".") + ".zone")
        with open(self.zone_path, "w") as f:
            f.write(text)
        self.notify = list(notify)
        return self

    def prepare(self):
        k = self.key
        d = self.dir
        notify = " ".join("%s port %d%s;" % (_addr_port(n) + (
            (" key %s" % k.name) if k else "",)) for n in self.notify)
        acl = ("key %s;" % k.name) if k else "127.0.0.1;"
        conf = """options {
    directory "%(d)s";
    pid-file "%(d)s/named.pid";
    session-keyfile "%(d)s/session.key";
    managed-keys-directory "%(d)s";
    listen-on port %(port)d { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify explicit;
    notify-delay 0;
    startup-notify-rate 1000;
    notify-rate 1000;
    minimal-responses yes;
};
controls { };
""" % dict(d=d, port=self.port)
        if k:
            conf += 'key "%s" { algorithm %s; secret "%s"; };\n' % (
                k.name, k.algorithm, k.secret)
        conf += """zone "%(zone)s" {
    type primary;
    file "%(file)s";
    ixfr-from-differences yes;
    allow-transfer { %(acl)s };
    allow-update { %(acl)s };
    also-notify { %(notify)s };
};
""" % dict(zone=self.zone.rstrip("."), file=self.zone_path, acl=acl,
           notify=notify)
        with open(self.conf, "w") as f:
            f.write(conf)

    def command(self):
        return [NAMED, "-g", "-n", "1", "-c", self.conf]

    def update(self, ops, zone=None):
        r = run([NSUPDATE, "-y", self.key.y],
                input=self.nsupdate_script(ops, zone), check=False)
        if r.returncode != 0:
            raise PeerError("nsupdate failed (%d): %s%s" % (
                r.returncode, r.stdout, r.stderr))

    XFR_RE = re.compile(r"transfer of '(?P<zone>[^/]+)/IN': "
                        r"(?P<kind>AXFR|IXFR) (?P<what>started.*)$")

    def transfers(self, mark=0, direction="outgoing"):
        out = []
        for line in self.lines_since(mark):
            m = self.XFR_RE.search(line)
            if m:
                out.append((m.group("kind"), m.group("what")))
        return out


class Pdns(Server):
    """PowerDNS Authoritative with the gsqlite3 backend. It answers an IXFR
    AXFR-style (first message: the SOA alone)."""

    kind = "pdns"

    def __init__(self, tmp, tag, key=None, port=None):
        super().__init__(tmp, tag, key, port)
        self.db = os.path.join(self.dir, "pdns.sqlite3")
        self.notify = []
        self.text = None

    def primary(self, zone, text, notify=()):
        self.zone = zone
        self.text = text
        self.notify = list(notify)
        return self

    def pdnsutil(self, *args, check=True):
        return run([PDNSUTIL, "--config-dir", self.dir] + list(args),
                   check=check)

    def prepare(self):
        conf = [
            "launch=gsqlite3",
            "gsqlite3-database=%s" % self.db,
            "local-address=%s" % LOOPBACK,
            "local-port=%d" % self.port,
            "primary=yes",
            # Without TSIG nobody may transfer; TSIG-ALLOW-AXFR lets the key.
            "allow-axfr-ips=192.0.2.250/32",
            "also-notify=%s" % ",".join(self.notify),
            # No NOTIFY to the zone's NS names (never leave loopback).
            "only-notify=",
            "socket-dir=%s" % self.dir,
            "guardian=no",
            "daemon=no",
            "disable-syslog=yes",
            "loglevel=6",
            "webserver=no",
            "api=no",
            "cache-ttl=0",
            "negquery-cache-ttl=0",
            "query-cache-ttl=0",
            "distributor-threads=1",
            "receiver-threads=1",
            "xfr-cycle-interval=1",
        ]
        with open(os.path.join(self.dir, "pdns.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        if os.path.exists(self.db):
            return  # a restart keeps its data
        with open(PDNS_SCHEMA) as f:
            schema = f.read()
        con = sqlite3.connect(self.db)
        con.executescript(schema)
        con.close()
        path = os.path.join(self.dir, self.zone.rstrip(".") + ".zone")
        with open(path, "w") as f:
            f.write(self.text)
        self.pdnsutil("load-zone", self.zone.rstrip("."), path)
        self.pdnsutil("set-kind", self.zone.rstrip("."), "primary")
        if self.key:
            self.pdnsutil("import-tsig-key", self.key.name,
                          self.key.algorithm, self.key.secret)
            self.pdnsutil("set-meta", self.zone.rstrip("."), "TSIG-ALLOW-AXFR",
                          self.key.name)

    def command(self):
        return [PDNS_SERVER, "--config-dir=%s" % self.dir]

    def notify_now(self, zone=None):
        run([PDNS_CONTROL, "--config-dir=%s" % self.dir,
             "--socket-dir=%s" % self.dir, "notify",
             (zone or self.zone).rstrip(".")])

    def update(self, ops, zone=None):
        """Applies ops (as nsupdate_script takes them) with pdnsutil
        replace-rrset / delete-rrset, then increase-serial and NOTIFY."""
        zone = zone or self.zone
        _, recs = self.axfr(zone)
        rrsets = {}
        for rr in recs:
            owner, ttl, rdtype, rdata = rr.split(" ", 3)
            rrsets.setdefault((owner, rdtype), [int(ttl), []])[1].append(rdata)
        touched = set()
        for op in ops:
            name = fq(op[1], zone).lower()
            if op[0] == "add":
                _, _, ttl, rdtype, rdata = op
                rd = dns.rdata.from_text("IN", rdtype, rdata,
                                         origin=dns.name.from_text(zone))
                text = canonical(dns.name.from_text(name), ttl, rd).split(
                    " ", 3)[3]
                e = rrsets.setdefault((name, rdtype), [ttl, []])
                e[0] = ttl
                if text not in e[1]:
                    e[1].append(text)
                touched.add((name, rdtype))
            elif len(op) == 2:
                for k in list(rrsets):
                    if k[0] == name:
                        rrsets[k][1] = []
                        touched.add(k)
            elif len(op) == 3:
                if (name, op[2]) in rrsets:
                    rrsets[(name, op[2])][1] = []
                    touched.add((name, op[2]))
            else:
                rd = dns.rdata.from_text("IN", op[2], op[3],
                                         origin=dns.name.from_text(zone))
                text = canonical(dns.name.from_text(name), 0, rd).split(
                    " ", 3)[3]
                e = rrsets.get((name, op[2]))
                if e and text in e[1]:
                    e[1].remove(text)
                    touched.add((name, op[2]))
        z = zone.rstrip(".")
        for name, rdtype in sorted(touched):
            ttl, rdatas = rrsets[(name, rdtype)]
            if rdatas:
                self.pdnsutil("replace-rrset", z, name, rdtype, str(ttl),
                              *rdatas)
            else:
                self.pdnsutil("delete-rrset", z, name, rdtype)
        self.pdnsutil("increase-serial", z)
        self.notify_now(zone)

    XFR_RE = re.compile(r"(?P<kind>AXFR|IXFR)-out zone '(?P<zone>[^']+)', "
                        r"client '[^']+', (?P<what>.*)$")

    def transfers(self, mark=0, direction="outgoing"):
        out = []
        for line in self.lines_since(mark):
            m = self.XFR_RE.search(line)
            if m:
                out.append((m.group("kind"), m.group("what")))
        return out


# ---------------------------------------------------------------------------
# self-check

class SelfTest:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + what, flush=True)
        else:
            self.failed.append(what)
            print("FAIL " + what + (("\n     " + detail.replace(
                "\n", "\n     ")) if detail else ""), flush=True)
        return cond


# The changes of the self-check (also a template for the xfr tests).
SELFTEST_ROUNDS = [
    [("add", "new1", 300, "A", "192.0.2.50"),
     ("add", "new1", 300, "AAAA", "2001:db8::50"),
     ("add", "new1", 300, "TXT", '"first round"')],
    [("del", "www", "A", "192.0.2.81"),
     ("add", "@", 300, "MX", "20 mail2.example.test."),
     ("add", "mail2", 300, "A", "192.0.2.26"),
     ("add", "alias2", 300, "CNAME", "new1.example.test."),
     ("del", "txt")],
]


def _selftest_primary(t, srv, tag, catcher, ixfr_kind):
    """Common checks of a primary peer: kdig and dnspython AXFR with the key,
    refusal without it, two rounds of changes (new serial, signed NOTIFY,
    IXFR of the expected kind that leads to the new AXFR)."""
    zone = srv.zone
    s0 = srv.serial()
    t.check(s0 == 1, "%s: serves %s, serial %s" % (tag, zone, s0))
    rc, lines, out = kdig_axfr(srv.port, zone, srv.key)
    serial, recs = srv.axfr()
    krecs = kdig_records(lines) if rc == 0 else []
    t.check(rc == 0 and krecs == recs and len(recs) > 20,
            "%s: kdig -y AXFR with the key: %d records, dnspython agrees"
            % (tag, len(krecs)), out[-2000:])
    rc2, lines2, out2 = kdig_axfr(srv.port, zone, None)
    t.check(not lines2, "%s: unsigned AXFR refused" % tag, out2[-500:])
    try:
        srv.axfr(key=srv.key.with_secret())
        bad = "transfer accepted"
    except Exception as e:  # noqa: BLE001 - any refusal or TSIG error
        bad = None
        why = "%s: %s" % (type(e).__name__, e)
    t.check(bad is None, "%s: AXFR with a wrong secret refused (%s)"
            % (tag, why if bad is None else bad))
    before = recs
    prev = s0
    for i, ops in enumerate(SELFTEST_ROUNDS):
        since = time.time()
        srv.update(ops)
        new = srv.wait_serial(newer_than=prev, timeout=10)
        t.check(serial_gt(new, prev), "%s: change %d gives serial %d -> %d"
                % (tag, i + 1, prev, new))
        n = catcher.wait(new, since, timeout=10)
        t.check(n is not None and n[5] == "ok",
                "%s: NOTIFY for serial %d reaches the notify target over %s, "
                "TSIG-signed (%s)" % (tag, new, n and n[1], n and n[5]),
                "notifies: %s" % catcher.notifies)
        _, after = srv.axfr()
        ix = srv.ixfr(prev)
        t.check(ix.kind == ixfr_kind,
                "%s: IXFR from %d is %s (%s)" % (tag, prev, ixfr_kind,
                                                 ix.kind))
        try:
            applied = ix.apply(before)
        except PeerError as e:
            applied = str(e)
        t.check(applied == after, "%s: IXFR %d -> %d applied to the old "
                "zone gives the new AXFR" % (tag, prev, new),
                "only applied: %s\nonly axfr: %s" % (
                    sorted(set(applied) - set(after))[:10],
                    sorted(set(after) - set(applied))[:10]))
        before, prev = after, new
    up = srv.ixfr(prev)
    t.check(up.kind == "up-to-date", "%s: IXFR from the current serial is "
            "one SOA (%s)" % (tag, up.kind))
    return before, prev


def selftest(keep=False):
    t = SelfTest()
    tmp = tempfile.mkdtemp(prefix="popdns-peers-")
    print("# temp dir %s" % tmp)
    key = TsigKey()
    zone = "example.test."
    servers = []
    try:
        # --- knotd primary + knotd secondary (the role popdns will play)
        catcher = NotifyCatcher(key)
        sec_port = free_port()
        kp = Knot(tmp, "knot-primary", key).primary(
            zone, base_zone(zone, 1), notify=[catcher.addr,
                                              "%s:%d" % (LOOPBACK, sec_port)])
        servers.append(kp)
        kp.start()
        recs, serial = _selftest_primary(t, kp, "knotd primary", catcher,
                                         "incremental")
        mark = kp.mark()
        # The journal keeps what comes after a purge: purge after the change.
        kp.update([("add", "nohist", 300, "A", "192.0.2.77")])
        new = kp.wait_serial(newer_than=serial, timeout=10)
        kp.drop_history()
        ix = kp.ixfr(serial)
        _, after = kp.axfr()
        t.check(ix.kind == "axfr" and sorted(ix.records) == after,
                "knotd primary: after drop_history, IXFR from %d is answered "
                "AXFR-style with the whole zone (%s)" % (serial, ix.kind))
        t.check(any("fallback to AXFR" in w for _, w in kp.transfers(mark)),
                "knotd primary: its log says 'fallback to AXFR'",
                "\n".join(kp.lines_since(mark)))
        serial = new
        text = base_zone(zone, serial + 10, marker="reloaded")
        kp.reload_zone(text)
        new = kp.wait_serial(serial + 10, timeout=10)
        ix = kp.ixfr(serial)
        t.check(ix.kind == "incremental" and any(
                "marker" in a for d in ix.diffs for a in d[3]),
                "knotd primary: a zone-file reload with a new serial is "
                "served as IXFR (difference) %d -> %d" % (serial, new))
        serial = new

        ks = Knot(tmp, "knot-secondary", key, port=sec_port).secondary(
            zone, kp.addr)
        servers.append(ks)
        ks.start(wait=False)
        got = ks.wait_serial(serial, timeout=20)
        t.check(got == serial and ks.axfr()[1] == kp.axfr()[1],
                "knotd secondary: transfers the zone from the primary with "
                "the key (serial %s), zones equal" % got)
        mark = ks.mark()
        kp.update([("add", "tosec", 300, "TXT", '"to the secondary"')])
        new = kp.wait_serial(newer_than=serial, timeout=10)
        got = ks.wait_serial(new, timeout=10)
        tr = ks.transfers(mark, "incoming")
        t.check(any(k == "IXFR" and "finished" in w for k, w in tr),
                "knotd secondary: NOTIFY -> IXFR %d -> %d (%s)"
                % (serial, new, tr))
        serial = new
        q = zone_queries(kp.axfr()[1], zone, extra_names=["txt.example.test."])
        diffs = compare_servers(kp.port, ks.port, q)
        t.check(not diffs, "compare_servers: knotd primary and secondary "
                "answer %d queries identically" % len(q),
                "\n".join(diffs[:10]))

        # --- named primary
        catcher2 = NotifyCatcher(key)
        nm = Named(tmp, "named", key).primary(zone, base_zone(zone, 1),
                                              notify=[catcher2.addr])
        servers.append(nm)
        nm.start()
        _, nserial = _selftest_primary(t, nm, "named primary", catcher2,
                                       "incremental")
        q = zone_queries(nm.axfr()[1], zone, extra_names=["txt.example.test."])
        kref = Knot(tmp, "knot-ref-named", key).secondary(zone, nm.addr)
        servers.append(kref)
        kref.start(wait=False)
        kref.wait_serial(nserial, timeout=20)
        diffs = compare_servers(kref.port, nm.port, q, strict=False)
        t.check(not diffs, "compare_servers (answer sections): named and a "
                "knotd secondary of it agree on %d queries" % len(q),
                "\n".join(diffs[:10]))

        # --- pdns primary
        catcher3 = NotifyCatcher(key)
        pd = Pdns(tmp, "pdns", key).primary(zone, base_zone(zone, 1),
                                            notify=[catcher3.addr])
        servers.append(pd)
        pd.start()
        _selftest_primary(t, pd, "pdns primary", catcher3, "axfr")
        for c in (catcher, catcher2, catcher3):
            c.close()

        # --- the scripted primary
        fp = FakePrimary(zone, key)
        fp.add_version(base_zone(zone, 1))
        s, recs = axfr_records(fp.port, zone, key)
        t.check(s == 1 and recs == fp.records(1), "FakePrimary: signed AXFR "
                "of version 1 (%d records) verifies" % len(recs))
        fp.add_version(base_zone(zone, 2, marker="two"))
        ix = ixfr(fp.port, zone, 1, key)
        t.check(ix.kind == "incremental" and ix.apply(recs) ==
                fp.records(2), "FakePrimary: IXFR 1 -> 2 ('good') applies")
        fp.ixfr_mode = "delete-missing"
        try:
            ixfr(fp.port, zone, 1, key).apply(recs)
            got = "applied"
        except PeerError as e:
            got = str(e)
        t.check("not in the zone" in got, "FakePrimary: 'delete-missing' "
                "IXFR deletes an RR the zone lacks (%s)" % got[:60])
        fp.ixfr_mode = "bad-serial"
        try:
            ixfr(fp.port, zone, 1, key)
            got = "accepted"
        except Exception as e:  # noqa: BLE001
            got = "%s: %s" % (type(e).__name__, e)
        t.check(got != "accepted", "FakePrimary: 'bad-serial' IXFR's "
                "serials do not chain (%s)" % got[:70])
        fp.mode = "servfail"
        t.check(soa_serial(fp.port, zone) is None and
                fp.requests[-1][2] == "SOA", "FakePrimary: 'servfail' mode "
                "(%d requests recorded)" % len(fp.requests))
        try:
            axfr_records(fp.port, zone, key.with_secret())
            got = "accepted"
        except Exception as e:  # noqa: BLE001
            got = "%s: %s" % (type(e).__name__, e)
        t.check("NOTAUTH" in got, "FakePrimary: a bad signature gets NOTAUTH "
                "(%s)" % got[:60])
        fp.close()
    except Exception as e:  # noqa: BLE001 - report, then clean up
        import traceback
        traceback.print_exc()
        t.check(False, "self-check ran to the end (%s: %s)"
                % (type(e).__name__, e))
    finally:
        for s in servers:
            s.stop()
        if t.failed:
            for s in servers:
                print("--- %s log (%s) ---\n%s" % (s.tag, s.log_path,
                                                  s.tail(40)))
        if not keep and not t.failed:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (t.passed, len(t.failed)))
    return 1 if t.failed else 0


if __name__ == "__main__":
    if "--selftest" in sys.argv:
        sys.exit(selftest("--keep-tmp" in sys.argv))
    print(__doc__)
    sys.exit(2)
