#!/usr/bin/python3
"""IXFR benchmark: how fast a secondary publishes an IXFR, popdns vs knotd,
measured in the same run, both secondaries of the same scripted primary.

  bench/ixfr_bench.sh [--quick] [--names N | --records N] [--sizes 1,100,10000]
                      [--runs 3] [--popdns PATH] [--servers popdns,knotd] ...
  (bench/ixfr_bench.sh runs this file with /usr/bin/python3; --help lists
  every option.)

What runs (everything on 127.0.0.1, free high ports, stopped by PID):
  - a scripted primary (this process, threads): a deterministic zone of N
    names (default 1,000,000: about 1.276 records a name; A, two-A sets,
    AAAA, TXT, MX, CNAMEs, CNAME chains between names, tenant labels = empty
    non-terminals). It answers SOA, AXFR and IXFR over UDP/TCP with
    TSIG (hmac-sha256) on every message, from wire messages rendered once
    (names compressed, <= 61 kB a message), so both secondaries receive the
    same bytes (only the ID and the TSIG RR differ: they cover the request).
    It timestamps the moment its last sendall() of a transfer returned.
  - popdns (--popdns) as a secondary: `primaries`, `key`, `storage`
    (journal), udp_threads 1.
  - knotd as a secondary: `master` + key, zonefile-sync -1, journal-content
    changes (--knot-journal), udp/tcp/background-workers 1.

Measurements:
  1. initial AXFR of each secondary, one after the other: exec -> first
     answer with the serial, last AXFR message sent -> first answer, and
     peak RSS (VmHWM) at that moment.
  2. IXFRs of `--sizes` changes (1: one A record modified; more: 40%
     modifications (delete + add of the RR) over A/AAAA/TXT/MX/CNAME, 30%
     additions (new types at hosts, new names with A/AAAA/TXT/CNAME), 30%
     removals (an RR, or a whole name)), each with a new SOA serial, each
     size `--runs` times, the secondaries one after the other (order
     alternates). For each: the primary gets the changeset ready (rendered),
     a prober process starts (SOA over UDP every --poll-ms, plus the query
     load), the bench sends a TSIG-signed NOTIFY, the secondary asks SOA and
     IXFR, and the result is:
        publish  = last IXFR message sent (primary) -> first SOA answer with
                   the new serial received by the prober (both
                   CLOCK_MONOTONIC, same machine)
        notify   = NOTIFY sent -> first answer with the new serial
        RSS after (VmRSS, and VmHWM so far) --settle-ms after the publish.
     Median over the runs.
  3. Answering during the apply: the prober sends --load-qps A queries a
     second (names the changes never touch) on its own socket; queries sent
     from the NOTIFY to --tail-ms after the publish count: lost = no answer
     in --lost-ms, late = answered after more than --late-ms.
  After every IXFR, --verify changed RRsets are queried on each secondary
  and compared with what the changeset says (rcode and RDATA set); at the
  end (unless --no-final-check) the AXFR of both secondaries (kdig, with
  the key) must list the same records.

Output: a line per measurement on stdout (with popdns/knotd per row), a
Markdown table in bench/results/ixfr_bench-DATE[-quick].md and the same
data as JSON (.json) next to it (--out-dir, --no-save).

Subcommands used internally: `probe` (the prober process), `selftest`
(the primary's AXFR/IXFR verified by dnspython, TSIG included).
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import math
import os
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

T_A, T_NS, T_CNAME, T_SOA, T_MX, T_TXT, T_AAAA = 1, 2, 5, 6, 15, 16, 28
T_OPT, T_TSIG, T_IXFR, T_AXFR = 41, 250, 251, 252
TYPE_NAMES = {T_A: "A", T_NS: "NS", T_CNAME: "CNAME", T_SOA: "SOA",
              T_MX: "MX", T_TXT: "TXT", T_AAAA: "AAAA"}
TTL = 3600
MSG_LIMIT = 60000  # a message is closed once its body passes this size

# ------------------------------------------------------------------ names


# The same deterministic helpers as bench/zone_load_helper.py's generator.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zone_load_helper import b36, cpu_model, mix  # noqa: E402


def name_wire(name):
    """Uncompressed wire form of an absolute name (lowercase text)."""
    name = name.rstrip(".")
    if not name:
        return b"\x00"
    out = bytearray()
    for label in name.split("."):
        b = label.encode()
        out.append(len(b))
        out += b
    out.append(0)
    return bytes(out)


def read_name(msg, off):
    """(text with trailing dot, offset after the name) with pointers."""
    labels = []
    end = None
    hops = 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        if n == 0:
            off += 1
            break
        labels.append(msg[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    return ".".join(labels).lower() + ".", (end if end is not None else off)


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


# --------------------------------------------------------------- the zone

WORDS = ["www", "api", "mail", "cdn", "app", "db", "vpn", "git", "shop",
         "blog", "img", "static", "auth", "m", "dev", "stage", "edge", "ws",
         "mx", "portal"]
CNAME_PERMILLE = 80          # 8% of the names are CNAMEs
P_A2, P_AAAA, P_TXT, P_MX = 5, 15, 6, 4   # % of hosts with this RRset
RECORDS_PER_NAME = 0.08 + 0.92 * (1 + (P_A2 + P_AAAA + P_TXT + P_MX) / 100)


def txt_rdata(*strings):
    out = bytearray()
    for s in strings:
        b = s.encode()
        out.append(len(b))
        out += b
    return bytes(out)


class ZoneModel:
    """A deterministic zone of n names plus the apex, ns1, ns2 and mail.
    Records are (owner, type, rdata): owner is an absolute lowercase name;
    rdata is bytes (A, AAAA, TXT), a name (CNAME, NS), (pref, name) (MX) or
    the SOA tuple. Every name i is a leaf; names are spread over tenant
    labels t<x> (one per ~500 names, empty non-terminals)."""

    def __init__(self, names, origin, serial):
        self.n = names
        self.origin = origin.rstrip(".").lower() + "."
        self.serial = serial
        self.tenants = max(1, names // 1000)
        self.mail = "mail." + self.origin
        # a permutation of range(n) for picking changed names
        k = 2654435761 % names or 1
        while math.gcd(k, names) != 1:
            k += 1
        self.perm_k = k
        self.perm_off = mix(names, 99) % names

    def soa(self, serial):
        return (self.origin, T_SOA, ("ns1." + self.origin,
                                     "hostmaster." + self.origin, serial,
                                     86400, 3600, 2419200, 300))

    def name(self, i):
        s = WORDS[mix(i, 1) % len(WORDS)] + "-" + b36(i)
        if i & 1:
            s += ".t" + b36(mix(i, 2) % self.tenants)
        return s + "." + self.origin

    def is_cname(self, i):
        return mix(i, 20) % 1000 < CNAME_PERMILLE

    def host_near(self, j):
        while self.is_cname(j):
            j = (j + 1) % self.n
        return j

    def cname_target(self, i):
        r = mix(i, 21)
        if r % 8 == 0:
            return "c%s.cdn.example.net." % b36(i)   # out of zone
        if r & 2:
            # a chain: point to a later CNAME name (strictly increasing, so
            # chains end), whose target is chosen the same way
            j = i + 1 + mix(i, 22) % 1000
            while j < self.n and not self.is_cname(j):
                j += 1
            if j < self.n:
                return self.name(j)
        return self.name(self.host_near(mix(i, 23) % self.n))

    def records_of(self, i):
        owner = self.name(i)
        if self.is_cname(i):
            return [(owner, T_CNAME, self.cname_target(i))]
        ip = mix(i, 3)
        out = [(owner, T_A, bytes((10, (ip >> 16) & 255, (ip >> 8) & 255,
                                   ip & 255)))]
        if mix(i, 4) % 100 < P_A2:
            x = mix(i, 24)
            out.append((owner, T_A, bytes((172, 16 + ((x >> 16) & 15),
                                           (x >> 8) & 255, x & 255))))
        if mix(i, 5) % 100 < P_AAAA:
            x = mix(i, 25)
            out.append((owner, T_AAAA, struct.pack(
                "!8H", 0x2001, 0xDB8, x >> 16, x & 0xFFFF, 0, 0, 0,
                i & 0xFFFF)))
        if mix(i, 6) % 100 < P_TXT:
            if i % 3 == 0:
                rd = txt_rdata("v=spf1 include:_spf.example.net ~all")
            else:
                rd = txt_rdata("site-verification=%08x%08x%08x" % (
                    mix(i, 7), mix(i, 8), mix(i, 9)))
            out.append((owner, T_TXT, rd))
        if mix(i, 10) % 100 < P_MX:
            out.append((owner, T_MX, (10 * (1 + (i & 3)), self.mail)))
        return out

    def apex_records(self):
        o = self.origin
        return [(o, T_NS, "ns1." + o), (o, T_NS, "ns2." + o),
                (o, T_A, bytes((192, 0, 2, 1))),
                (o, T_AAAA, bytes.fromhex("20010db8" + "0" * 23 + "1")),
                (o, T_MX, (10, self.mail)),
                (o, T_TXT, txt_rdata("v=spf1 ip4:192.0.2.0/24 -all")),
                ("ns1." + o, T_A, bytes((192, 0, 2, 53))),
                ("ns2." + o, T_A, bytes((198, 51, 100, 53))),
                (self.mail, T_A, bytes((192, 0, 2, 25)))]

    def iter_records(self):
        """Every record but the SOA."""
        yield from self.apex_records()
        for i in range(self.n):
            yield from self.records_of(i)

    def picked(self, c):
        """The c-th name index of the permutation used for changes."""
        return (c * self.perm_k + self.perm_off) % self.n


def rdata_wire(rtype, rd):
    """Uncompressed (canonical) RDATA."""
    if rtype in (T_CNAME, T_NS):
        return name_wire(rd)
    if rtype == T_MX:
        return struct.pack("!H", rd[0]) + name_wire(rd[1])
    if rtype == T_SOA:
        return name_wire(rd[0]) + name_wire(rd[1]) + struct.pack(
            "!IIIII", *rd[2:])
    return rd


def zone_text_line(rec):
    owner, rtype, rd = rec
    if rtype == T_A:
        v = ".".join(str(b) for b in rd)
    elif rtype == T_AAAA:
        v = socket.inet_ntop(socket.AF_INET6, rd)
    elif rtype == T_TXT:
        parts, off = [], 0
        while off < len(rd):
            n = rd[off]
            parts.append('"%s"' % rd[off + 1:off + 1 + n].decode())
            off += 1 + n
        v = " ".join(parts)
    elif rtype in (T_CNAME, T_NS):
        v = rd
    elif rtype == T_MX:
        v = "%d %s" % rd
    else:
        v = "%s %s %d %d %d %d %d" % rd
    return "%s\t%d\t%s\t%s\n" % (owner, TTL, TYPE_NAMES[rtype], v)


# ------------------------------------------------------ message rendering

class Renderer:
    """Packs records into DNS response messages (QR AA, ID 0, question =
    the zone and qtype) with name compression, each closed once it passes
    MSG_LIMIT bytes."""

    def __init__(self, origin, qtype, limit=MSG_LIMIT):
        self.origin = origin
        self.qhead = name_wire(origin) + struct.pack("!HH", qtype, 1)
        self.olabels = origin.rstrip(".").split(".")
        self.limit = limit
        self.msgs = []
        self.records = 0
        self._new()

    def _new(self):
        self.buf = bytearray(12) + self.qhead
        self.comp = {}
        off = 12
        for k in range(len(self.olabels)):
            self.comp[".".join(self.olabels[k:])] = off
            off += 1 + len(self.olabels[k])
        self.an = 0

    def _name(self, name):
        buf, comp = self.buf, self.comp
        labels = name.rstrip(".").split(".")
        for k in range(len(labels)):
            suf = ".".join(labels[k:])
            off = comp.get(suf)
            if off is not None:
                buf += struct.pack("!H", 0xC000 | off)
                return
            pos = len(buf)
            if pos < 0x4000:
                comp[suf] = pos
            b = labels[k].encode()
            buf.append(len(b))
            buf += b
        buf.append(0)

    def add(self, rec, ttl=TTL):
        owner, rtype, rd = rec
        if len(self.buf) > self.limit:
            self.flush()
        buf = self.buf
        self._name(owner)
        buf += struct.pack("!HHIH", rtype, 1, ttl, 0)
        start = len(buf)
        if rtype in (T_CNAME, T_NS):
            self._name(rd)
        elif rtype == T_MX:
            buf += struct.pack("!H", rd[0])
            self._name(rd[1])
        elif rtype == T_SOA:
            self._name(rd[0])
            self._name(rd[1])
            buf += struct.pack("!IIIII", *rd[2:])
        else:
            buf += rd
        struct.pack_into("!H", buf, start - 2, len(buf) - start)
        self.an += 1
        self.records += 1

    def flush(self):
        if self.an:
            struct.pack_into("!HHHHHH", self.buf, 0, 0, 0x8400, 1, self.an,
                             0, 0)
            self.msgs.append(bytes(self.buf))
        self._new()

    def done(self):
        self.flush()
        return self.msgs


# -------------------------------------------------------------------- TSIG

class TsigKey:
    def __init__(self, name="xfr-key", secret=None):
        self.name = name
        self.algorithm = "hmac-sha256"
        self.secret_b64 = secret or base64.b64encode(os.urandom(32)).decode()
        self.secret = base64.b64decode(self.secret_b64)
        self.name_w = name_wire(name.lower())
        self.alg_w = name_wire(self.algorithm)

    def mac(self, data):
        return hmac.new(self.secret, data, hashlib.sha256).digest()

    def tsig_rr(self, orig_id, tsig_time, mac, error=0, fudge=300):
        rd = self.alg_w + struct.pack("!HIHH", tsig_time >> 32,
                                      tsig_time & 0xFFFFFFFF, fudge,
                                      len(mac)) + mac + \
            struct.pack("!HHH", orig_id, error, 0)
        return self.name_w + struct.pack("!HHIH", T_TSIG, 255, 0,
                                         len(rd)) + rd

    def sign(self, msg, prior_mac, first, fudge=300):
        """msg (bytes, final ID, no TSIG) signed as a response (RFC 8945
        4.3.1: prior_mac is the request's MAC for the first message) or as
        a later message of a multi-message response (4.3.2, prior_mac =
        the previous message's MAC). Returns (wire, mac)."""
        now = int(time.time())
        t48 = struct.pack("!HI", now >> 32, now & 0xFFFFFFFF)
        data = struct.pack("!H", len(prior_mac)) + prior_mac + msg
        if first:
            data += self.name_w + struct.pack("!HI", 255, 0) + self.alg_w + \
                t48 + struct.pack("!HHH", fudge, 0, 0)
        else:
            data += t48 + struct.pack("!H", fudge)
        mac = self.mac(data)
        out = bytearray(msg)
        struct.pack_into("!H", out, 10, struct.unpack("!H", msg[10:12])[0] + 1)
        out += self.tsig_rr(struct.unpack("!H", msg[:2])[0], now, mac,
                            fudge=fudge)
        return bytes(out), mac

    def sign_request(self, msg, fudge=300):
        now = int(time.time())
        t48 = struct.pack("!HI", now >> 32, now & 0xFFFFFFFF)
        data = msg + self.name_w + struct.pack("!HI", 255, 0) + \
            self.alg_w + t48 + struct.pack("!HHH", fudge, 0, 0)
        mac = self.mac(data)
        out = bytearray(msg)
        struct.pack_into("!H", out, 10, struct.unpack("!H", msg[10:12])[0] + 1)
        out += self.tsig_rr(struct.unpack("!H", msg[:2])[0], now, mac,
                            fudge=fudge)
        return bytes(out), mac


def parse_request(wire):
    """dict(id, flags, opcode, qname, qtype, qend (end of the question),
    ixfr_serial, tsig: dict(start, key, alg, time, fudge, mac, orig_id,
    error, other) or None)."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    r = dict(id=qid, flags=flags, opcode=(flags >> 11) & 15, qname=None,
             qtype=None, ixfr_serial=None, tsig=None)
    off = 12
    if qd:
        r["qname"], off = read_name(wire, off)
        r["qtype"] = struct.unpack("!H", wire[off:off + 2])[0]
        off += 4
        for _ in range(qd - 1):
            off = skip_name(wire, off) + 4
    r["qend"] = off
    for sect, count in ((1, an), (2, ns), (3, ar)):
        for _ in range(count):
            start = off
            off = skip_name(wire, off)
            rtype, _, _, rdlen = struct.unpack("!HHIH", wire[off:off + 10])
            rd = off + 10
            off = rd + rdlen
            if sect == 2 and rtype == T_SOA:
                p = skip_name(wire, skip_name(wire, rd))
                r["ixfr_serial"] = struct.unpack("!I", wire[p:p + 4])[0]
            if sect == 3 and rtype == T_TSIG:
                key, _ = read_name(wire, start)
                alg, p = read_name(wire, rd)
                hi, lo, fudge, maclen = struct.unpack("!HIHH", wire[p:p + 10])
                p += 10
                mac = wire[p:p + maclen]
                p += maclen
                orig, err, olen = struct.unpack("!HHH", wire[p:p + 6])
                r["tsig"] = dict(start=start, key=key, alg=alg,
                                 time=(hi << 32) | lo, fudge=fudge, mac=mac,
                                 orig_id=orig, error=err,
                                 other=wire[p + 6:p + 6 + olen])
    return r


def verify_request(key, wire, req):
    """True when the request's TSIG is key's and its MAC verifies."""
    t = req["tsig"]
    if t is None or t["key"] != key.name.lower() + "." or \
            t["alg"] != key.algorithm + ".":
        return False
    body = bytearray(wire[:t["start"]])
    struct.pack_into("!H", body, 0, t["orig_id"])
    struct.pack_into("!H", body, 10, struct.unpack("!H", wire[10:12])[0] - 1)
    data = bytes(body) + name_wire(t["key"]) + struct.pack("!HI", 255, 0) + \
        name_wire(t["alg"]) + struct.pack("!HI", t["time"] >> 32,
                                          t["time"] & 0xFFFFFFFF) + \
        struct.pack("!HHH", t["fudge"], t["error"], len(t["other"])) + \
        t["other"]
    return hmac.compare_digest(key.mac(data), t["mac"])


# ------------------------------------------------------------- changesets

class Changeset:
    """One IXFR step: serial_from -> serial_to, deleted and added records
    (SOAs not included), the changes as (op, type, owner), and the checks
    (owner, type, expected rdata wire set, expected rcode)."""

    def __init__(self, serial_from, serial_to):
        self.serial_from, self.serial_to = serial_from, serial_to
        self.deleted, self.added, self.changes, self.checks = [], [], [], []
        self.msgs = None


class ChangeMaker:
    """Changesets over a ZoneModel: each change takes the next name of the
    model's permutation (a name is changed at most once in a run), so every
    changeset applies to the original records of the names it touches."""

    MIX = ["modify", "add", "remove", "modify", "add", "modify", "remove",
           "modify", "add", "remove"]   # 40% / 30% / 30%

    def __init__(self, model, reserve):
        self.m = model
        self.cursor = 0
        self.limit = model.n - reserve   # the last `reserve` are for load
        self.new_names = 0

    def _take(self):
        if self.cursor >= self.limit:
            raise SystemExit("the zone is too small for this many changes "
                             "(--names / --sizes / --runs)")
        i = self.m.picked(self.cursor)
        self.cursor += 1
        return i

    def load_names(self, count):
        """Host names (A queries) the changes never touch."""
        out, c = [], self.m.n - 1
        while len(out) < count and c >= self.limit:
            i = self.m.picked(c)
            if not self.m.is_cname(i):
                out.append(self.m.name(i))
            c -= 1
        return out

    def make(self, size, serial_from, serial_to):
        cs = Changeset(serial_from, serial_to)
        m = self.m
        for j in range(size):
            op = "modify" if size == 1 else self.MIX[j % len(self.MIX)]
            i = self._take()
            if size == 1:
                while m.is_cname(i):
                    i = self._take()
            recs = m.records_of(i)
            owner = recs[0][0]
            types = {}
            for r in recs:
                types.setdefault(r[1], []).append(r)
            dele, add = [], []
            tag = serial_to & 0xFFFF
            if op == "add" and (T_CNAME in types or j % 3 == 2):
                # a new name
                self.new_names += 1
                k = self.new_names
                nn = "new-%s-%s.%s" % (b36(serial_to), b36(j), m.origin)
                if k % 8 == 3:
                    nn = "new-%s-%s.t%s.%s" % (b36(serial_to), b36(j),
                                               b36(k % m.tenants), m.origin)
                kind = k % 4
                if kind == 0:
                    add.append((nn, T_CNAME, m.name(m.host_near(i))))
                elif kind == 1:
                    add.append((nn, T_AAAA, struct.pack(
                        "!8H", 0x2001, 0xDB8, 0xADD, tag, 0, 0, 0,
                        j & 0xFFFF)))
                elif kind == 2:
                    add.append((nn, T_TXT, txt_rdata("added %d %d" %
                                                     (serial_to, j))))
                else:
                    add.append((nn, T_A, bytes((198, 18, j >> 8 & 255,
                                                j & 255))))
                owner = nn
                types = {}
            elif op == "add":
                lacking = [t for t in (T_AAAA, T_TXT, T_MX, T_A)
                           if t not in types or (t == T_A and
                                                 len(types[T_A]) == 1)]
                t = lacking[j % len(lacking)] if lacking else T_TXT
                if t == T_A:
                    rec = (owner, T_A, bytes((198, 19, j >> 8 & 255, j & 255)))
                elif t == T_AAAA:
                    rec = (owner, T_AAAA, struct.pack(
                        "!8H", 0x2001, 0xDB8, 0xADD, tag, 0, 0, 1, j & 0xFFFF))
                elif t == T_MX:
                    rec = (owner, T_MX, (20, m.mail))
                else:
                    rec = (owner, T_TXT, txt_rdata("added %d %d" %
                                                   (serial_to, j)))
                add.append(rec)
            elif op == "modify":
                if T_CNAME in types:
                    old = types[T_CNAME][0]
                    new = (owner, T_CNAME, m.name(m.host_near(
                        mix(i, serial_to) % m.n)))
                    if new[2] == old[2]:
                        new = (owner, T_CNAME, "moved-%s.cdn.example.net." %
                               b36(i))
                else:
                    prefer = [T_A, T_AAAA, T_TXT, T_MX]
                    if size == 1:
                        prefer = [T_A]
                    k = j // len(self.MIX)
                    order = prefer[k % len(prefer):] + prefer[:k % len(prefer)]
                    t = next(t for t in order if t in types)
                    old = types[t][-1]
                    if t == T_A:
                        new = (owner, T_A, bytes(
                            (198, 18, 128 | (j >> 8 & 127), j & 255)))
                    elif t == T_AAAA:
                        new = (owner, T_AAAA, struct.pack(
                            "!8H", 0x2001, 0xDB8, 0xC4A, tag, 0, 0, 0,
                            j & 0xFFFF))
                    elif t == T_TXT:
                        new = (owner, T_TXT, txt_rdata(
                            "changed %d %d" % (serial_to, j)))
                    else:
                        new = (owner, T_MX, (old[2][0] + 5, old[2][1]))
                dele.append(old)
                add.append(new)
            else:  # remove
                others = [r for r in recs if r is not recs[0]]
                dele.append(others[j % len(others)] if others else recs[0])
            cs.deleted += dele
            cs.added += add
            t = (add or dele)[0][1]
            cs.changes.append((op, TYPE_NAMES[t], owner))
            # what the name answers for that type afterwards
            gone = set(dele)
            left = [r for r in recs if r not in gone] if types else []
            expect = set(rdata_wire(r[1], r[2]) for r in left + add
                         if r[1] == t)
            exists = bool(left or add)
            cs.checks.append((owner, t, expect, 0 if exists else 3))
        return cs


def changeset_messages(model, chain, new_serial):
    """Rendered IXFR response (RFC 1995) for the Changesets in `chain`."""
    r = Renderer(model.origin, T_IXFR)
    r.add(model.soa(new_serial))
    for cs in chain:
        r.add(model.soa(cs.serial_from))
        for rec in cs.deleted:
            r.add(rec)
        r.add(model.soa(cs.serial_to))
        for rec in cs.added:
            r.add(rec)
    r.add(model.soa(new_serial))
    return r.done(), r.records


# ----------------------------------------------------------- the primary

class Primary:
    """The scripted primary: UDP and TCP on 127.0.0.1:port (threads). It
    serves the current version: SOA, AXFR (pre-rendered for the first
    version; later versions rendered on demand), IXFR from any serial of
    the run (one sequence per changeset). Requests must be signed with
    `key`; answers are signed (every message). Every request is logged in
    self.events (a dict each; transfers get t_first/t_last: monotonic time
    before the first and after the last sendall)."""

    def __init__(self, model, key, log=print):
        self.m = model
        self.key = key
        self.log = log
        self.serial0 = model.serial
        self.current = model.serial
        self.changesets = []          # in order; cs.serial_from chains
        self.axfr_cache = {}
        self.events = []
        self.lock = threading.Lock()
        self._stop = False
        for _ in range(50):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                u.bind(("127.0.0.1", 0))
                t.bind(("127.0.0.1", u.getsockname()[1]))
            except OSError:
                u.close()
                t.close()
                continue
            break
        else:
            raise SystemExit("primary: no free port")
        t.listen(16)
        self.udp, self.tcp = u, t
        self.port = u.getsockname()[1]

    def render_initial(self):
        r = Renderer(self.m.origin, T_AXFR)
        soa = self.m.soa(self.serial0)
        r.add(soa)
        for rec in self.m.iter_records():
            r.add(rec)
        r.add(soa)
        msgs = r.done()
        self.axfr_cache[self.serial0] = (msgs, r.records)
        return msgs, r.records

    def axfr_messages(self, serial):
        if serial not in self.axfr_cache:
            deleted, added = set(), []
            for cs in self.changesets:
                deleted.update(cs.deleted)
                added += cs.added
                if cs.serial_to == serial:
                    break
            deleted -= set(added)
            r = Renderer(self.m.origin, T_AXFR)
            soa = self.m.soa(serial)
            r.add(soa)
            for rec in self.m.iter_records():
                if rec not in deleted:
                    r.add(rec)
            for rec in added:
                if rec not in deleted:
                    r.add(rec)
            r.add(soa)
            self.axfr_cache[serial] = (r.done(), r.records)
        return self.axfr_cache[serial]

    def publish(self, cs):
        cs.msgs = changeset_messages(self.m, [cs], cs.serial_to)
        with self.lock:
            self.changesets.append(cs)
            self.current = cs.serial_to

    def start(self):
        for target in (self._udp_loop, self._accept_loop):
            threading.Thread(target=target, daemon=True).start()

    def close(self):
        self._stop = True
        for s in (self.udp, self.tcp):
            try:
                s.close()
            except OSError:
                pass

    def _udp_loop(self):
        while not self._stop:
            try:
                wire, src = self.udp.recvfrom(65535)
            except OSError:
                return
            for msg, _ in self._answer(wire, "udp", src):
                try:
                    self.udp.sendto(msg, src)
                except OSError:
                    pass

    def _accept_loop(self):
        while not self._stop:
            try:
                conn, src = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(conn, src),
                             daemon=True).start()

    def _tcp_conn(self, conn, src):
        conn.settimeout(30)
        try:
            while not self._stop:
                head = b""
                while len(head) < 2:
                    chunk = conn.recv(2 - len(head))
                    if not chunk:
                        return
                    head += chunk
                n = struct.unpack("!H", head)[0]
                wire = b""
                while len(wire) < n:
                    chunk = conn.recv(n - len(wire))
                    if not chunk:
                        return
                    wire += chunk
                ev = None
                first = last = None
                count = size = 0
                for msg, ev in self._answer(wire, "tcp", src):
                    data = struct.pack("!H", len(msg)) + msg
                    if first is None:
                        first = time.monotonic()
                    conn.sendall(data)
                    last = time.monotonic()
                    count += 1
                    size += len(data)
                if ev is not None and count:
                    ev.update(t_first=first, t_last=last, messages=count,
                              bytes=size)
        except OSError:
            return
        finally:
            conn.close()

    def _answer(self, wire, transport, src):
        """Yields (message, event) in order (a generator: TCP sends as it
        goes)."""
        now = time.monotonic()
        try:
            req = parse_request(wire)
        except (IndexError, struct.error, ValueError, UnicodeDecodeError):
            return
        ev = dict(t=now, transport=transport, src=src[1],
                  qtype={T_SOA: "SOA", T_AXFR: "AXFR", T_IXFR: "IXFR"}.get(
                      req["qtype"], str(req["qtype"])),
                  asked=req["ixfr_serial"], tsig="none")
        with self.lock:
            self.events.append(ev)
            current = self.current
        signed = req["tsig"] is not None
        if signed:
            ok = verify_request(self.key, wire, req)
            ev["tsig"] = "ok" if ok else "bad"
        head = bytearray(wire[:req["qend"]])
        struct.pack_into("!HHHHH", head, 2,
                         0x8000 | (req["flags"] & 0x7900), 1 if
                         req["qname"] else 0, 0, 0, 0)

        def rcode_only(rcode):
            h = bytearray(head)
            struct.pack_into("!H", h, 2, struct.unpack("!H", h[2:4])[0] |
                             rcode)
            return bytes(h)

        if not signed or ev["tsig"] != "ok":
            ev["result"] = "NOTAUTH (TSIG %s)" % ev["tsig"]
            yield rcode_only(9), ev
            return
        mac = req["tsig"]["mac"]
        if req["opcode"] != 0 or req["qname"] != self.m.origin:
            ev["result"] = "REFUSED"
            yield self.key.sign(rcode_only(5), mac, True)[0], ev
            return
        qt = req["qtype"]
        if qt == T_SOA:
            r = Renderer(self.m.origin, T_SOA)
            r.add(self.m.soa(current))
            msg = bytearray(r.done()[0])
            struct.pack_into("!H", msg, 0, req["id"])
            ev["result"] = "SOA %d" % current
            yield self.key.sign(bytes(msg), mac, True)[0], ev
            return
        if qt not in (T_AXFR, T_IXFR) or transport != "tcp":
            ev["result"] = "REFUSED"
            yield self.key.sign(rcode_only(5), mac, True)[0], ev
            return
        asked = req["ixfr_serial"]
        if qt == T_IXFR and asked == current:
            r = Renderer(self.m.origin, T_IXFR)
            r.add(self.m.soa(current))
            msgs = r.done()
            ev["result"] = "IXFR up to date"
        elif qt == T_IXFR and asked is not None and any(
                cs.serial_from == asked for cs in self.changesets):
            chain = []
            with self.lock:
                k = next(n for n, cs in enumerate(self.changesets)
                         if cs.serial_from == asked)
                chain = self.changesets[k:]
            if len(chain) == 1:
                msgs, records = chain[0].msgs
            else:
                msgs, records = changeset_messages(self.m, chain, current)
            ev["result"] = "IXFR %d -> %d (%d records, %d sequence(s))" % (
                asked, current, records, len(chain))
            ev["kind"] = "IXFR"
        else:
            msgs, records = self.axfr_messages(current)
            ev["result"] = "%s %d (%d records)" % (
                "AXFR" if qt == T_AXFR else "AXFR-style IXFR from %s" % asked,
                current, records)
            ev["kind"] = "AXFR"
        ev["serial"] = current
        prior = mac
        for n, m in enumerate(msgs):
            msg = bytearray(m)
            struct.pack_into("!H", msg, 0, req["id"])
            out, prior = self.key.sign(bytes(msg), prior, n == 0)
            yield out, ev


# ----------------------------------------------------------------- prober

def soa_query(qid, zone):
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + name_wire(zone) + \
        struct.pack("!HH", T_SOA, 1)


def soa_answer_serial(msg):
    """(id, serial or None, rcode)."""
    if len(msg) < 12:
        return None, None, None
    qid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    rcode = flags & 15
    if not flags & 0x8000 or rcode or an < 1 or not flags & 0x0400:
        return qid, None, rcode
    try:
        off = 12
        for _ in range(qd):
            off = skip_name(msg, off) + 4
        off = skip_name(msg, off)
        rtype = struct.unpack("!H", msg[off:off + 2])[0]
        if rtype != T_SOA:
            return qid, None, rcode
        p = skip_name(msg, skip_name(msg, off + 10))
        return qid, struct.unpack("!I", msg[p:p + 4])[0], rcode
    except (IndexError, struct.error):
        return qid, None, rcode


def probe(args):
    """Polls SOA every --poll-ms and sends --qps A queries for the names in
    --names-file, until --tail-ms after the first answer with --serial (or
    --timeout). Prints 'ready' once it has an answer (any) and --baseline-ms
    passed, then at the end one JSON line."""
    dst = ("127.0.0.1", args.port)
    soa_s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    soa_s.bind(("127.0.0.1", 0))
    soa_s.setblocking(False)
    load_s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    load_s.bind(("127.0.0.1", 0))
    load_s.setblocking(False)
    names = []
    if args.names_file and args.qps > 0:
        with open(args.names_file) as f:
            names = [x.strip() for x in f if x.strip()]
    load_q = [struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0) + name_wire(n) +
              struct.pack("!HH", T_A, 1) for n in names]
    poll = args.poll_ms / 1000.0
    step = 1.0 / args.qps if names else None
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    soa_sent = {}       # id -> send time
    soa_n = soa_answered = 0
    last_soa_answer = None
    max_soa_gap = 0.0
    first_answer = None
    t_new = t_new_sent = None
    load = []           # [send, recv or None, rcode]
    load_idx = {}
    next_poll = next_load = t0
    ready_at = None
    ready = args.baseline_ms < 0
    stop_sending = None
    errors = 0
    while True:
        now = time.monotonic()
        if stop_sending is None:
            if t_new is not None and now >= t_new + args.tail_ms / 1000.0:
                stop_sending = now
            elif now >= deadline:
                stop_sending = now
        if stop_sending is not None:
            # wait for the answers of the load still in flight
            pending = any(x[1] is None and now - x[0] < args.lost_ms / 1000.0
                          for x in load[-2000:])
            if not pending or now > stop_sending + args.lost_ms / 1000.0:
                break
        else:
            if now >= next_poll:
                soa_n += 1
                qid = soa_n & 0xFFFF
                soa_sent[qid] = now
                try:
                    soa_s.sendto(soa_query(qid, args.zone), dst)
                except OSError:
                    errors += 1
                next_poll += poll
                if next_poll < now - 10 * poll:
                    next_poll = now + poll
            if step and first_answer is not None and now >= next_load:
                k = len(load)
                qid = k & 0xFFFF
                load_idx[qid] = k   # an older query with this ID: lost
                q = load_q[k % len(load_q)]
                load.append([now, None, None])
                try:
                    load_s.sendto(struct.pack("!H", qid) + q[2:], dst)
                except OSError:
                    errors += 1
                next_load += step
                if next_load < now - 0.1:
                    next_load = now + step   # fell behind: do not burst
        wake = min(next_poll, next_load if (step and first_answer)
                   else next_poll)
        if stop_sending is not None:
            wake = now + 0.01
        timeout = max(0.0, wake - time.monotonic())
        r, _, _ = select.select([soa_s, load_s], [], [], timeout)
        now = time.monotonic()
        if soa_s in r:
            while True:
                try:
                    msg = soa_s.recv(4096)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                qid, serial, _ = soa_answer_serial(msg)
                sent = soa_sent.pop(qid, None)
                if sent is None:
                    continue
                soa_answered += 1
                if last_soa_answer is not None:
                    max_soa_gap = max(max_soa_gap, now - last_soa_answer)
                last_soa_answer = now
                if first_answer is None and serial is not None:
                    first_answer = now
                    next_load = now   # the load starts with the baseline
                if serial == args.serial and t_new is None:
                    t_new, t_new_sent = now, sent
        if load_s in r:
            while True:
                try:
                    msg = load_s.recv(4096)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if len(msg) < 12:
                    continue
                qid, flags = struct.unpack("!HH", msg[:4])
                k = load_idx.get(qid)
                if k is None or load[k][1] is not None:
                    continue
                load[k][1] = now
                load[k][2] = flags & 15
        if not ready and first_answer is not None and \
                now >= first_answer + args.baseline_ms / 1000.0:
            ready = True
            ready_at = now
            print("ready", flush=True)
    out = dict(t0=t0, ready_at=ready_at, first_answer=first_answer,
               t_new=t_new, t_new_sent=t_new_sent, soa_sent=soa_n,
               soa_answered=soa_answered, max_soa_gap=max_soa_gap,
               send_errors=errors,
               load=[[round(a, 6), None if b is None else round(b - a, 6), c]
                     for a, b, c in load])
    print(json.dumps(out), flush=True)
    return 0


# ----------------------------------------------------------- secondaries

_started = []


def stop_all():
    for s in list(_started):
        s.stop()


def _on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def free_port():
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        if port >= 20000:
            return port
    raise SystemExit("no free port")


class Secondary:
    name = "?"

    def __init__(self, tmp, primary_port, zone, key):
        self.dir = os.path.join(tmp, self.name)
        os.makedirs(os.path.join(self.dir, "storage"), exist_ok=True)
        self.port = free_port()
        self.primary_port = primary_port
        self.zone = zone
        self.key = key
        self.proc = None
        self.log_path = os.path.join(self.dir, self.name + ".log")

    def command(self):
        raise NotImplementedError

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

    def running(self):
        return self.proc is not None and self.proc.poll() is None

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

    def mem(self):
        """(VmRSS, VmHWM) in KiB of the process."""
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

    LOGGED = None   # regex: (seconds or ms, serial) of an applied transfer

    def logged_apply_ms(self, serial):
        """The time the server logs for the transfer that brought `serial`
        (popdns: transfer + apply; knotd: 'zone updated, N seconds'), ms."""
        import re
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read()
        except OSError:
            return None
        found = None
        for m in re.finditer(self.LOGGED, text):
            if int(m.group("serial")) == serial:
                v = float(m.group("t"))
                found = v * 1000 if m.group("unit").startswith("s") else v
        return found

    def tail(self, n=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except OSError:
            return ""


class PopdnsSecondary(Secondary):
    name = "popdns"
    LOGGED = (r"[AI]XFR from \S+: serial (?:\d+ -> )?(?P<serial>\d+), .*?, "
              r"(?P<t>[\d.]+) (?P<unit>ms|s)\b")

    def __init__(self, tmp, primary_port, zone, key, binary):
        super().__init__(tmp, primary_port, zone, key)
        self.binary = binary
        self.conf = os.path.join(self.dir, "popdns.yaml")

    def version(self):
        try:
            r = subprocess.run(["git", "-C", os.path.dirname(
                os.path.abspath(self.binary)), "describe", "--always",
                "--dirty"], capture_output=True, text=True, timeout=10)
            return "popdns " + (r.stdout.strip() or "?")
        except (OSError, subprocess.TimeoutExpired):
            return "popdns ?"

    def prepare(self):
        k = self.key
        with open(self.conf, "w") as f:
            f.write("""listen: ["127.0.0.1:%d"]
control_socket: %s/ctl.sock
udp_threads: 1
keys:
  - {name: %s, algorithm: %s, secret: "%s"}
zones:
  - name: %s
    primaries: ["127.0.0.1:%d"]
    key: %s
    storage: %s/storage
    allow_transfer: ["127.0.0.1/32"]
""" % (self.port, self.dir, k.name, k.algorithm, k.secret_b64,
                self.zone.rstrip("."), self.primary_port, k.name, self.dir))

    def command(self):
        return [self.binary, "--config", self.conf]


class KnotSecondary(Secondary):
    name = "knotd"
    LOGGED = (r"zone updated, (?P<t>[\d.]+) (?P<unit>seconds), serial "
              r"\S+ -> (?P<serial>\d+)")

    def __init__(self, tmp, primary_port, zone, key, journal="changes"):
        super().__init__(tmp, primary_port, zone, key)
        self.conf = os.path.join(self.dir, "knot.conf")
        self.journal = journal

    @staticmethod
    def version():
        try:
            r = subprocess.run([shutil.which("knotd") or "knotd",
                                "--version"], capture_output=True, text=True,
                               timeout=10)
            v = r.stdout.split("version")[-1].strip().split()[0]
            return "knotd " + v
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "knotd ?"

    def prepare(self):
        k = self.key
        d = self.dir
        with open(self.conf, "w") as f:
            f.write("""server:
    rundir: "%(d)s"
    listen: 127.0.0.1@%(port)d
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    tcp-io-timeout: 5000
log:
  - target: stderr
    any: info
database:
    storage: "%(d)s/storage"
key:
  - id: %(kn)s
    algorithm: %(alg)s
    secret: %(sec)s
remote:
  - id: primary
    address: 127.0.0.1@%(pport)d
    key: %(kn)s
acl:
  - id: notify_in
    address: 127.0.0.1
    key: %(kn)s
    action: notify
  - id: xfr
    address: 127.0.0.0/8
    key: %(kn)s
    action: transfer
template:
  - id: default
    storage: "%(d)s/storage"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: %(journal)s
zone:
  - domain: %(zone)s
    file: "%(d)s/zone.db"
    master: primary
    acl: [notify_in, xfr]
""" % dict(d=d, port=self.port, kn=k.name, alg=k.algorithm,
                sec=k.secret_b64, pport=self.primary_port, zone=self.zone,
                journal=self.journal))

    def command(self):
        return [shutil.which("knotd") or "/usr/sbin/knotd", "-c", self.conf]


# ------------------------------------------------------------------ bench

def run_prober(port, zone, serial, names_file, qps, a, timeout,
               baseline_ms):
    cmd = [sys.executable, os.path.abspath(__file__), "probe",
           "--port", str(port), "--zone", zone, "--serial", str(serial),
           "--poll-ms", str(a.poll_ms), "--qps", str(qps),
           "--timeout", str(timeout), "--tail-ms", str(a.tail_ms),
           "--lost-ms", str(a.lost_ms), "--baseline-ms", str(baseline_ms)]
    if names_file:
        cmd += ["--names-file", names_file]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def prober_result(p, timeout):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    lines = [x for x in out.splitlines() if x.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def send_notify(port, zone, key, serial, model):
    """A TSIG-signed NOTIFY (RFC 1996, SOA in the answer section) over UDP;
    returns the rcode of the answer or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(1.0)
    try:
        for attempt in range(3):
            qid = int.from_bytes(os.urandom(2), "big")
            r = Renderer(model.origin, T_SOA)
            r.add(model.soa(serial))
            msg = bytearray(r.done()[0])
            struct.pack_into("!HH", msg, 0, qid, (4 << 11) | 0x0400)
            wire, _ = key.sign_request(bytes(msg))
            s.sendto(wire, ("127.0.0.1", port))
            try:
                while True:
                    ans = s.recv(4096)
                    if ans[:2] == wire[:2]:
                        return struct.unpack("!H", ans[2:4])[0] & 15
            except socket.timeout:
                continue
        return None
    finally:
        s.close()


def query_rrset(port, name, rtype, timeout=2.0):
    """(rcode, set of canonical RDATA of the answer's RRset (name, rtype))
    with dnspython, or (None, None)."""
    import dns.message
    import dns.query
    import dns.rdatatype
    q = dns.message.make_query(name, rtype)
    q.flags = 0
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
        if r.flags & 0x200:
            r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=timeout)
    except Exception:  # noqa: BLE001 - no answer
        return None, None
    got = set()
    for rrset in r.answer:
        if rrset.rdtype == rtype and rrset.name.to_text().lower() == \
                name.lower():
            got |= set(rd.to_digestable() for rd in rrset)
    return r.rcode(), got


def verify_changes(sec, cs, count):
    """Queries up to `count` changed RRsets; returns (checked, failures)."""
    checks = cs.checks
    if len(checks) > count:
        step = len(checks) / count
        checks = [checks[int(k * step)] for k in range(count)]
    bad = []
    for owner, t, expect, rcode in checks:
        got_rcode, got = query_rrset(sec.port, owner, t)
        if got_rcode != rcode or got != expect:
            bad.append("%s %s: rcode %s (want %s), %d RRs (want %d)%s" % (
                owner, TYPE_NAMES[t], got_rcode, rcode,
                len(got or ()), len(expect),
                "" if got == expect else " different RDATA"))
    return len(checks), bad


def window_stats(probe_out, t_from, t_to, late_ms, lost_ms):
    rows = [x for x in probe_out["load"] if t_from <= x[0] <= t_to]
    lat = sorted(x[1] * 1000 for x in rows if x[1] is not None and
                 x[1] * 1000 <= lost_ms)
    lost = len(rows) - len(lat)
    bad_rcode = sum(1 for x in rows if x[2] not in (None, 0))
    late = sum(1 for v in lat if v > late_ms)
    return dict(queries=len(rows), answered=len(lat), lost=lost,
                late=late, bad_rcode=bad_rcode,
                p50_ms=lat[len(lat) // 2] if lat else None,
                p99_ms=lat[min(len(lat) - 1, int(len(lat) * 0.99))]
                if lat else None,
                max_ms=lat[-1] if lat else None,
                seconds=t_to - t_from)


def last_event(primary, since, kinds):
    with primary.lock:
        evs = [e for e in primary.events
               if e["t"] >= since and e.get("kind") in kinds]
    return evs[-1] if evs else None


def measure_axfr(sec, primary, model, a, say):
    p = run_prober(sec.port, model.origin, model.serial, None, 0, a,
                   a.timeout, -1)
    # prober polls every --poll-ms: fine at the AXFR too (REFUSED/SERVFAIL
    # answers until the zone is there)
    since = time.monotonic()
    sec.start()
    res = prober_result(p, a.timeout + 30)
    r = dict(server=sec.name, ok=False)
    if not res or res["t_new"] is None:
        r["error"] = "no answer with serial %d in %d s" % (model.serial,
                                                          a.timeout)
        say("AXFR %s: FAILED (%s)\n%s" % (sec.name, r["error"], sec.tail()))
        return r
    rss, hwm = sec.mem()
    ev = last_event(primary, since, ("AXFR",))
    time.sleep(0.2)
    r["logged_ms"] = sec.logged_apply_ms(model.serial)
    r.update(ok=True, exec_to_serve_s=res["t_new"] - sec.t_exec,
             peak_rss_kib=hwm, rss_kib=rss)
    if ev and ev.get("t_last"):
        r.update(last_msg_to_serve_s=res["t_new"] - ev["t_last"],
                 transfer_s=ev["t_last"] - ev["t_first"],
                 request_after_exec_s=ev["t"] - sec.t_exec,
                 messages=ev["messages"], bytes=ev["bytes"],
                 primary_said=ev["result"])
    say("AXFR %s: exec -> serves %.2f s, last message -> serves %.2f s, "
        "peak RSS %.0f MiB (%s)" % (
            sec.name, r["exec_to_serve_s"], r.get("last_msg_to_serve_s",
                                                   float("nan")),
            (hwm or 0) / 1024, r.get("primary_said", "?")))
    return r


def measure_ixfr(sec, primary, model, cs, names_file, a, say, label):
    r = dict(server=sec.name, ok=False, serial=cs.serial_to)
    p = run_prober(sec.port, model.origin, cs.serial_to, names_file,
                   a.load_qps, a, a.timeout, a.baseline_ms)
    line = p.stdout.readline()
    if line.strip() != "ready":
        r["error"] = "prober did not get ready (%r)" % line
        p.kill()
        p.wait()
        return r
    t_notify = time.monotonic()
    rcode = send_notify(sec.port, model.origin, primary.key, cs.serial_to,
                        model)
    r["notify_rcode"] = rcode
    res = prober_result(p, a.timeout + 30)
    if not res or res["t_new"] is None:
        r["error"] = "no answer with serial %d %d s after NOTIFY (rcode %s)" \
            % (cs.serial_to, a.timeout, rcode)
        say("%s %s: FAILED (%s)\n%s" % (label, sec.name, r["error"],
                                        sec.tail()))
        return r
    ev = last_event(primary, t_notify, ("IXFR", "AXFR"))
    if a.settle_ms:
        time.sleep(a.settle_ms / 1000.0)
    rss, hwm = sec.mem()
    r["logged_ms"] = sec.logged_apply_ms(cs.serial_to)
    r.update(ok=True, notify_to_serve_ms=(res["t_new"] - t_notify) * 1000,
             poll_rtt_ms=(res["t_new"] - res["t_new_sent"]) * 1000,
             rss_kib=rss, hwm_kib=hwm, soa_max_gap_ms=res["max_soa_gap"] *
             1000, soa_probes=res["soa_sent"])
    if ev and ev.get("t_last"):
        r.update(publish_ms=(res["t_new"] - ev["t_last"]) * 1000,
                 transfer_ms=(ev["t_last"] - ev["t_first"]) * 1000,
                 notify_to_request_ms=(ev["t"] - t_notify) * 1000,
                 messages=ev["messages"], bytes=ev["bytes"],
                 transfer_kind=ev["kind"], primary_said=ev["result"])
    else:
        r["error"] = "no transfer seen by the primary"
    r["load"] = window_stats(res, t_notify, res["t_new"] + a.tail_ms / 1000,
                             a.late_ms, a.lost_ms)
    r["load_before"] = window_stats(res, res["first_answer"] or 0, t_notify,
                                    a.late_ms, a.lost_ms)
    lo = r["load"]
    say("%s %s: last message -> serves %s ms (NOTIFY -> serves %.1f ms, "
        "transfer %s ms, %s), RSS after %.0f MiB; load %d queries: %d lost, "
        "%d late > %g ms, max %s ms" % (
            label, sec.name, fmt_ms(r.get("publish_ms")),
            r["notify_to_serve_ms"], fmt_ms(r.get("transfer_ms")),
            r.get("primary_said", "?"), (rss or 0) / 1024, lo["queries"],
            lo["lost"], lo["late"], a.late_ms, fmt_ms(lo["max_ms"])))
    return r


def fmt_ms(v):
    if v is None:
        return "-"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    x = a / b
    return ("%.0fx" if x >= 100 else "%.1fx" if x >= 10 else "%.2fx") % x


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def kdig_axfr_records(sec, zone, key):
    kdig = shutil.which("kdig") or "/usr/bin/kdig"
    r = subprocess.run([kdig, "@127.0.0.1", "-p", str(sec.port), "-y",
                        "%s:%s:%s" % (key.algorithm, key.name, key.secret_b64),
                        "+noall", "+answer", "+time=30", "+retry=0", "AXFR",
                        zone], capture_output=True, text=True, timeout=600)
    lines = set()
    for x in r.stdout.splitlines():
        if x.strip() and not x.startswith(";"):
            lines.add(" ".join(x.split()).lower())
    return r.returncode, lines


def bench(a):
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sys.setswitchinterval(0.0005)
    out_lines = []

    def say(text):
        print(text, flush=True)
        out_lines.append(text)

    servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    sizes = [int(x) for x in a.sizes.split(",") if x.strip()]
    if "popdns" in servers and not os.access(a.popdns, os.X_OK):
        raise SystemExit("no popdns binary at %s (--popdns PATH)" % a.popdns)
    if "knotd" in servers and not shutil.which("knotd") and \
            not os.path.exists("/usr/sbin/knotd"):
        raise SystemExit("knotd is not installed (Debian package knot)")
    load_before = open("/proc/loadavg").read().split()[:3]
    tmp = tempfile.mkdtemp(prefix="ixfr_bench.")
    key = TsigKey()
    model = ZoneModel(a.names, a.origin, a.serial)
    reserve = max(1000, a.load_names * 2)
    maker = ChangeMaker(model, reserve)
    need = sum(sizes) * a.runs
    if need > maker.limit:
        raise SystemExit("%d changes need more than %d names" % (
            need, model.n))
    names_file = os.path.join(tmp, "load-names.txt")
    with open(names_file, "w") as f:
        f.write("\n".join(maker.load_names(a.load_names)) + "\n")
    primary = Primary(model, key)
    t = time.monotonic()
    msgs, records = primary.render_initial()
    zbytes = sum(len(m) for m in msgs)
    say("zone %s: %d names, %d records, AXFR %d messages %.1f MB "
        "(rendered in %.1f s); temp dir %s" % (
            model.origin, model.n, records, len(msgs), zbytes / 1e6,
            time.monotonic() - t, tmp))
    if a.zone_file:
        with open(a.zone_file, "w") as f:
            f.write("$ORIGIN %s\n" % model.origin)
            f.write(zone_text_line(model.soa(model.serial)))
            for rec in model.iter_records():
                f.write(zone_text_line(rec))
    primary.start()
    secs = []
    for s in servers:
        if s == "popdns":
            secs.append(PopdnsSecondary(tmp, primary.port, model.origin, key,
                                        a.popdns))
        elif s == "knotd":
            secs.append(KnotSecondary(tmp, primary.port, model.origin, key,
                                      a.knot_journal))
        else:
            raise SystemExit("unknown server %s" % s)
    versions = {s.name: s.version() for s in secs}
    result = dict(meta=dict(
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        nproc=os.cpu_count(), cpu=cpu_model(), loadavg_before=load_before,
        names=model.n, records=records, axfr_messages=len(msgs),
        axfr_bytes=zbytes, versions=versions, sizes=sizes, runs=a.runs,
        load_qps=a.load_qps, poll_ms=a.poll_ms, late_ms=a.late_ms,
        lost_ms=a.lost_ms, tail_ms=a.tail_ms, knot_journal=a.knot_journal,
        popdns=os.path.abspath(a.popdns), quick=a.quick), axfr={}, ixfr=[])
    failed = False
    try:
        for sec in secs:
            r = measure_axfr(sec, primary, model, a, say)
            result["axfr"][sec.name] = r
            failed |= not r["ok"]
            if not r["ok"]:
                sec.stop()
        live = [s for s in secs if s.running() and
                result["axfr"][s.name]["ok"]]
        serial = model.serial
        for size in sizes:
            for run in range(1, a.runs + 1):
                cs = maker.make(size, serial, serial + 1)
                serial += 1
                primary.publish(cs)
                label = "IXFR %d #%d" % (size, run)
                order = live if run % 2 else list(reversed(live))
                entry = dict(size=size, run=run, serial=cs.serial_to,
                             rrs_deleted=len(cs.deleted),
                             rrs_added=len(cs.added),
                             ops={k: sum(1 for c in cs.changes if c[0] == k)
                                  for k in ("modify", "add", "remove")},
                             types={tn: sum(1 for c in cs.changes
                                            if c[1] == tn)
                                    for tn in ("A", "AAAA", "TXT", "MX",
                                               "CNAME")},
                             ixfr_messages=len(cs.msgs[0]),
                             ixfr_bytes=sum(len(m) for m in cs.msgs[0]),
                             servers={})
                for sec in order:
                    time.sleep(a.pause_ms / 1000.0)
                    r = measure_ixfr(sec, primary, model, cs, names_file, a,
                                     say, label)
                    if r["ok"] and a.verify:
                        n, bad = verify_changes(sec, cs, a.verify)
                        r["verified"] = n
                        r["verify_failures"] = bad
                        if bad:
                            say("  %s: %d of %d checked RRsets differ from "
                                "the changeset: %s" % (sec.name, len(bad), n,
                                                       "; ".join(bad[:3])))
                    failed |= not r["ok"] or bool(r.get("verify_failures"))
                    entry["servers"][sec.name] = r
                result["ixfr"].append(entry)
            rows = [e for e in result["ixfr"] if e["size"] == size]
            meds = {s.name: med(e["servers"].get(s.name, {}).get(
                "publish_ms") for e in rows) for s in live}
            say("IXFR %d median of %d: %s%s" % (
                size, len(rows), ", ".join("%s %s ms" % (k, fmt_ms(v))
                                           for k, v in meds.items()),
                ", popdns/knotd %s" % fmt_ratio(meds.get("popdns"),
                                                meds.get("knotd"))
                if "popdns" in meds and "knotd" in meds else ""))
        if a.final_check and len(live) == 2:
            t = time.monotonic()
            got = {}
            for sec in live:
                got[sec.name] = kdig_axfr_records(sec, model.origin, key)
            (ra, la), (rb, lb) = got[live[0].name], got[live[1].name]
            same = ra == 0 and rb == 0 and la == lb and len(la) > 0
            result["final_check"] = dict(
                same=same, records={k: len(v[1]) for k, v in got.items()},
                only_in={live[0].name: sorted(la - lb)[:10],
                         live[1].name: sorted(lb - la)[:10]})
            failed |= not same
            say("final check: AXFR of %s: %s (%s, %.1f s)" % (
                " and ".join(s.name for s in live),
                "same records" if same else "DIFFERENT",
                ", ".join("%s %d records" % (k, len(v[1]))
                          for k, v in got.items()),
                time.monotonic() - t))
        for sec in secs:
            rss, hwm = sec.mem() if sec.running() else (None, None)
            result.setdefault("end_mem", {})[sec.name] = dict(
                rss_kib=rss, hwm_kib=hwm)
    finally:
        for sec in secs:
            sec.stop()
        primary.close()
    md = markdown(result, a)
    result["markdown"] = md
    result["failed"] = failed
    print()
    print(md)
    if not a.no_save:
        os.makedirs(a.out_dir, exist_ok=True)
        stem = "ixfr_bench-%s%s" % (datetime.date.today().isoformat(),
                                    "-quick" if a.quick else "")
        base = os.path.join(a.out_dir, stem)
        with open(base + ".md", "w") as f:
            f.write(md + "\n")
        with open(base + ".json", "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        print("\nwrote %s.md and %s.json" % (base, base))
    if a.keep:
        print("kept %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


def markdown(res, a):
    m = res["meta"]
    names = [n for n in ("popdns", "knotd") if n in m["versions"]]
    both = names == ["popdns", "knotd"]
    L = []
    L.append("IXFR into a %s-name zone (%s records, AXFR %.1f MB in %d "
             "messages): popdns and knotd as secondaries of one scripted "
             "primary (TSIG hmac-sha256, loopback), same run; %s; nproc %s, "
             "%s; load average before: %s." % (
                 "{:,}".format(m["names"]), "{:,}".format(m["records"]),
                 m["axfr_bytes"] / 1e6, m["axfr_messages"], m["date"],
                 m["nproc"], m["cpu"], " ".join(m["loadavg_before"])))
    L.append("")
    L.append("Versions: %s. knotd: journal-content %s, zonefile-sync -1, "
             "udp/tcp/background-workers 1; popdns: storage (journal), "
             "udp_threads 1 (binary %s)." % (
                 ", ".join(m["versions"][n] for n in names),
                 m["knot_journal"], m["popdns"]))
    L.append("")
    hdr = "| step | change | " + " | ".join(names) + \
        (" | popdns / knotd |" if both else " |")
    L.append(hdr)
    L.append("|---|---|" + "---:|" * (len(names) + (1 if both else 0)))

    def row(step, change, vals, fmt, ratio=True):
        cells = [fmt(v) if v is not None else "-" for v in vals]
        r = "| %s | %s | %s |" % (step, change, " | ".join(cells))
        if both:
            r += " %s |" % (fmt_ratio(vals[0], vals[1]) if ratio else "")
        L.append(r)

    ax = res["axfr"]
    g = lambda n, k: ax.get(n, {}).get(k)  # noqa: E731
    whole = "whole zone"
    row("AXFR: last message sent → serves the serial", whole,
        [g(n, "last_msg_to_serve_s") for n in names], lambda v: "%.2f s" % v)
    row("AXFR: exec → serves the serial", whole,
        [g(n, "exec_to_serve_s") for n in names], lambda v: "%.2f s" % v)
    row("AXFR: the server's own log (popdns: transfer + load; knotd: "
        "refresh)", whole, [g(n, "logged_ms") for n in names],
        lambda v: "%.2f s" % (v / 1000))
    row("AXFR: peak RSS", whole,
        [g(n, "peak_rss_kib") for n in names], lambda v: "%.0f MiB" %
        (v / 1024))
    for size in m["sizes"]:
        es = [e for e in res["ixfr"] if e["size"] == size]
        if not es:
            continue
        ch = "%s (%s RRs)" % ("{:,}".format(size), "{:,}".format(
            es[0]["rrs_deleted"] + es[0]["rrs_added"] + 4))

        def runs(n, k):
            return [e["servers"].get(n, {}).get(k) for e in es]

        vals = [med(runs(n, "publish_ms")) for n in names]
        cells = []
        for n, v in zip(names, vals):
            rr = [x for x in runs(n, "publish_ms") if x is not None]
            cells.append("**%s ms** (%s)" % (fmt_ms(v), ", ".join(
                fmt_ms(x) for x in rr)) if v is not None else "failed")
        r = "| IXFR: last message sent → serves the serial | %s | %s |" % (
            ch, " | ".join(cells))
        if both:
            r += " %s |" % fmt_ratio(vals[0], vals[1])
        L.append(r)
        row("IXFR: NOTIFY → serves the serial", ch,
            [med(runs(n, "notify_to_serve_ms")) for n in names],
            lambda v: "%s ms" % fmt_ms(v))
        row("IXFR: the server's own log (popdns: transfer + apply; knotd: "
            "refresh)", ch, [med(runs(n, "logged_ms")) for n in names],
            lambda v: "%s ms" % fmt_ms(v))
        row("IXFR: RSS after", ch,
            [med(runs(n, "rss_kib")) for n in names],
            lambda v: "%.0f MiB" % (v / 1024))
    L.append("")
    L.append("Publish times: median of %d runs (the runs in brackets). Every "
             "IXFR carries a new SOA serial; a change of 1 is one A record "
             "modified (delete + add); larger ones mix 40%% modifications, "
             "30%% additions, 30%% removals over A/AAAA/TXT/MX/CNAME (RRs = "
             "the RRs of the IXFR, its SOAs included)." % m["runs"])
    L.append("")
    L.append("Answering during the apply (from the NOTIFY to %d ms after the "
             "new serial answers; %d A queries/s over UDP for names the "
             "changes do not touch, plus the SOA probe every %g ms), summed "
             "over the runs:" % (m["tail_ms"], m["load_qps"], m["poll_ms"]))
    L.append("")
    L.append("| change | server | queries | lost (> %d ms) | late (> %g ms) "
             "| p99 ms | max ms | longest gap between SOA answers ms "
             "| before the NOTIFY: late / queries, max ms |" %
             (m["lost_ms"], m["late_ms"]))
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in m["sizes"]:
        es = [e for e in res["ixfr"] if e["size"] == size]
        for n in names:
            rs = [e["servers"].get(n) for e in es]
            rs = [r for r in rs if r and r.get("load")]
            if not rs:
                continue
            q = sum(r["load"]["queries"] for r in rs)
            lost = sum(r["load"]["lost"] for r in rs)
            late = sum(r["load"]["late"] for r in rs)
            p99 = max((r["load"]["p99_ms"] or 0) for r in rs)
            mx = max((r["load"]["max_ms"] or 0) for r in rs)
            gap = max(r.get("soa_max_gap_ms") or 0 for r in rs)
            bq = sum(r["load_before"]["queries"] for r in rs)
            bl = sum(r["load_before"]["late"] + r["load_before"]["lost"]
                     for r in rs)
            bmx = max((r["load_before"]["max_ms"] or 0) for r in rs)
            L.append("| %s | %s | %d | %d | %d | %s | %s | %s | %d / %d, %s |"
                     % ("{:,}".format(size), n, q, lost, late, fmt_ms(p99),
                        fmt_ms(mx), fmt_ms(gap), bl, bq, fmt_ms(bmx)))
    L.append("")
    L.append("How it is measured: the primary timestamps the return of its "
             "last sendall() of the transfer (CLOCK_MONOTONIC); a separate "
             "prober process sends an SOA query over UDP every %g ms and "
             "takes the arrival of the first answer with the new serial. "
             "Both secondaries get the same rendered messages (ID and TSIG "
             "differ); they are measured one after the other (order "
             "alternates), the other one idle. Load average and noise: one "
             "shared VM, ratios measured in the same run are the result." %
             m["poll_ms"])
    fc = res.get("final_check")
    if fc:
        L.append("")
        L.append("Checks: after every IXFR, up to %d changed RRsets queried "
                 "on each secondary: %s. At the end, AXFR of both: %s (%s)."
                 % (a.verify, "all as the changeset says" if not any(
                     r.get("verify_failures") for e in res["ixfr"]
                     for r in e["servers"].values()) else "DIFFERENCES (see "
                     "the JSON)", "same records" if fc["same"] else
                     "DIFFERENT", ", ".join("%s %d" % kv for kv in
                                            fc["records"].items())))
    failures = [(e["size"], e["run"], n, r.get("error"))
                for e in res["ixfr"] for n, r in e["servers"].items()
                if r.get("error")]
    failures += [("AXFR", "", n, r.get("error")) for n, r in
                 res["axfr"].items() if r.get("error")]
    if failures:
        L.append("")
        L.append("Failures: " + "; ".join("%s %s %s: %s" % f
                                          for f in failures))
    return "\n".join(L)


# --------------------------------------------------------------- selftest

def selftest(a):
    """The primary's AXFR and IXFR (TSIG on every message) read by dnspython,
    against the model."""
    import dns.message
    import dns.name
    import dns.query
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    key = TsigKey()
    model = ZoneModel(a.names, a.origin, a.serial)
    maker = ChangeMaker(model, 100)
    primary = Primary(model, key)
    primary.render_initial()
    primary.start()
    kr = dns.tsigkeyring.from_text({key.name: (key.algorithm,
                                               key.secret_b64)})
    kw = dict(keyring=kr, keyname=key.name, keyalgorithm=key.algorithm)

    def records(msgs):
        out = []
        for msg in msgs:
            for rrset in msg.answer:
                for rd in rrset:
                    out.append((rrset.name.to_text().lower(), rrset.rdtype,
                                rd.to_digestable()))
        return out

    def model_set(extra_del=(), extra_add=(), serial=None):
        s = set((o, t, rdata_wire(t, rd)) for o, t, rd in
                model.iter_records())
        s -= set((o, t, rdata_wire(t, rd)) for o, t, rd in extra_del)
        s |= set((o, t, rdata_wire(t, rd)) for o, t, rd in extra_add)
        o, t, rd = model.soa(serial or model.serial)
        s.add((o, t, rdata_wire(t, rd)))
        return s

    fails = 0
    msgs = list(dns.query.xfr("127.0.0.1", model.origin, port=primary.port,
                              relativize=False, lifetime=120, **kw))
    got = records(msgs)
    ok = set(got) == model_set() and len(got) == len(set(got)) + 1
    fails += not ok
    print("%s AXFR: %d messages, %d records, TSIG verified, equal to the "
          "model" % ("ok  " if ok else "FAIL", len(msgs), len(got)))
    dels, adds = [], []
    serial = model.serial
    for size in (1, 100, 1000):
        cs = maker.make(size, serial, serial + 1)
        primary.publish(cs)
        msgs = list(dns.query.xfr("127.0.0.1", model.origin, port=primary.port,
                                  rdtype=dns.rdatatype.IXFR, serial=serial,
                                  relativize=False, lifetime=60, **kw))
        got = records(msgs)
        want_del = set((o, t, rdata_wire(t, rd)) for o, t, rd in cs.deleted)
        want_add = set((o, t, rdata_wire(t, rd)) for o, t, rd in cs.added)
        soas = [g for g in got if g[1] == T_SOA]
        body = [g for g in got if g[1] != T_SOA]
        ok = len(soas) == 4 and set(body) == want_del | want_add and \
            len(body) == len(want_del) + len(want_add) and \
            not (want_del & want_add)
        dels += cs.deleted
        adds += cs.added
        fails += not ok
        print("%s IXFR %d -> %d: %d changes, %d RRs deleted, %d added, "
              "TSIG verified" % ("ok  " if ok else "FAIL", serial,
                                 serial + 1, size, len(cs.deleted),
                                 len(cs.added)))
        serial += 1
    # IXFR over two changesets, and an AXFR of a later version
    msgs = list(dns.query.xfr("127.0.0.1", model.origin, port=primary.port,
                              rdtype=dns.rdatatype.IXFR,
                              serial=model.serial + 1, relativize=False,
                              lifetime=60, **kw))
    soas = [g for g in records(msgs) if g[1] == T_SOA]
    ok = len(soas) == 6
    fails += not ok
    print("%s IXFR over two changesets: %d SOAs" % ("ok  " if ok else "FAIL",
                                                    len(soas)))
    msgs = list(dns.query.xfr("127.0.0.1", model.origin, port=primary.port,
                              relativize=False, lifetime=120, **kw))
    got = records(msgs)
    ok = set(got) == model_set(dels, adds, serial)
    fails += not ok
    print("%s AXFR of serial %d = the model with every change applied" % (
        "ok  " if ok else "FAIL", serial))
    # an unsigned query is refused, a signed SOA query answered signed
    q = dns.message.make_query(model.origin, "SOA")
    r = dns.query.udp(q, "127.0.0.1", port=primary.port, timeout=2)
    ok = r.rcode() == 9
    fails += not ok
    print("%s unsigned SOA query: NOTAUTH" % ("ok  " if ok else "FAIL"))
    q.use_tsig(kr, keyname=key.name, algorithm=key.algorithm)
    r = dns.query.udp(q, "127.0.0.1", port=primary.port, timeout=2)
    ok = r.rcode() == 0 and r.answer[0][0].serial == serial
    fails += not ok
    print("%s signed SOA query: serial %d, signed answer verified" % (
        "ok  " if ok else "FAIL", serial))
    # the NOTIFY we send verifies with dnspython
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    th = threading.Thread(target=lambda: send_notify(port, model.origin, key,
                                                     serial, model))
    th.start()
    s.settimeout(2)
    wire, _ = s.recvfrom(4096)
    th.join()
    m = dns.message.from_wire(wire, keyring=kr)
    ok = m.opcode() == 4 and m.had_tsig and m.answer[0][0].serial == serial
    fails += not ok
    print("%s NOTIFY: opcode NOTIFY, SOA serial %d, TSIG verified" % (
        "ok  " if ok else "FAIL", serial))
    primary.close()
    print("%d failed" % fails)
    return 1 if fails else 0


# ------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(
        description="IXFR publish time, popdns vs knotd, same run "
        "(bench/ixfr_bench.sh).")
    sub = ap.add_subparsers(dest="cmd")
    p = sub.add_parser("probe")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--zone", required=True)
    p.add_argument("--serial", type=int, required=True)
    p.add_argument("--poll-ms", type=float, default=1.0)
    p.add_argument("--qps", type=float, default=0)
    p.add_argument("--names-file")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--tail-ms", type=float, default=200)
    p.add_argument("--lost-ms", type=float, default=1000)
    p.add_argument("--baseline-ms", type=float, default=200)
    s = sub.add_parser("selftest")
    for q in (ap, s):
        q.add_argument("--names", type=int, default=None,
                       help="names in the zone (default 1,000,000; "
                       "--quick 50,000)")
        q.add_argument("--origin", default="bench.test.")
        q.add_argument("--serial", type=int, default=2026120101)
    ap.add_argument("--records", type=int, default=None,
                    help="about this many records instead of --names "
                    "(%.3f records a name)" % RECORDS_PER_NAME)
    ap.add_argument("--quick", action="store_true",
                    help="50,000 names (a fast check)")
    ap.add_argument("--sizes", default="1,100,10000",
                    help="changes per IXFR (default 1,100,10000)")
    ap.add_argument("--runs", type=int, default=3,
                    help="IXFRs of each size per server (median)")
    ap.add_argument("--servers", default="popdns,knotd")
    ap.add_argument("--popdns", default=os.path.join(ROOT, "build",
                                                     "control", "popdns"),
                    help="popdns binary (default build/control/popdns of "
                    "this repository)")
    ap.add_argument("--knot-journal", default="changes",
                    choices=("changes", "all", "none"),
                    help="knotd journal-content (default changes)")
    ap.add_argument("--load-qps", type=float, default=1000,
                    help="A queries a second during each IXFR (0: none)")
    ap.add_argument("--load-names", type=int, default=1000)
    ap.add_argument("--poll-ms", type=float, default=1.0,
                    help="SOA probe interval")
    ap.add_argument("--late-ms", type=float, default=10.0)
    ap.add_argument("--lost-ms", type=float, default=1000.0)
    ap.add_argument("--tail-ms", type=float, default=200.0,
                    help="keep measuring this long after the new serial")
    ap.add_argument("--baseline-ms", type=float, default=500.0,
                    help="load before the NOTIFY (the prober's own noise)")
    ap.add_argument("--settle-ms", type=float, default=0.0,
                    help="wait before reading RSS after a publish")
    ap.add_argument("--pause-ms", type=float, default=1000.0,
                    help="pause before each IXFR")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="give up on one transfer after this many seconds")
    ap.add_argument("--verify", type=int, default=30,
                    help="changed RRsets queried after each IXFR (0: none)")
    ap.add_argument("--no-final-check", dest="final_check",
                    action="store_false")
    ap.add_argument("--zone-file", help="also write the zone as a file")
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    if a.cmd == "probe":
        sys.exit(probe(a))
    if a.names is None:
        if getattr(a, "records", None):
            a.names = int(a.records / RECORDS_PER_NAME)
        elif getattr(a, "quick", False) or a.cmd == "selftest":
            a.names = 50000 if a.cmd != "selftest" else 20000
        else:
            a.names = 1000000
    if a.cmd == "selftest":
        sys.exit(selftest(a))
    sys.exit(bench(a))


if __name__ == "__main__":
    main()
