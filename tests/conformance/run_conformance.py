#!/usr/bin/python3
"""Conformance test: popdns (or another server) against knotd, query by query.

Starts a reference knotd on 127.0.0.1 with its own temporary config and the
zones in zones/ plus the generated gen.test. zone, starts the server under
test (SUT) on another loopback port, sends every corpus query's exact bytes
over UDP to both (and the TCP_LABELS subset over TCP as well) and compares
the responses. See README.md.

Modes (exactly one):
  --popdns CMD   CMD is a template; {port} is replaced by the SUT port,
                 {addr} by 127.0.0.1:{port}, {zones} by
                 "--zone NAME=FILE --zone ...", and a token containing
                 {zone}/{file} (with a directly preceding option token such as
                 --zone) is repeated once per zone.
  --self-test    the SUT is a second knotd (must give 0 differences).
  --peer nsd     the SUT is nsd (shows how nsd and knot differ).

References: knotd, and with --refs knot,nsd,pdns also NSD and PowerDNS
(pdns_server with its bind backend) serving the same zones. With several,
a response matches when, field by field (header, question, OPT, each
section, size), the SUT's equals that of at least one reference: where the
references disagree, agreeing with any of them is conformant. A field that
matches none is a difference (unless ACCEPTED gives the RFC text that
allows it).

Comparison of one response pair (ID normalised):
  * no answer on both sides is equal; an answer on one side only is a diff;
  * header: QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE (incl. extended);
  * question section: byte-exact (0x20 case must be echoed);
  * answer/authority/additional: multisets of RRs, owner names and RDATA
    domain names compared case-insensitively (RFC 4343), TTLs compared;
  * OPT: presence, version, DO, extended rcode, option codes; advertised UDP
    payload size only where ACCEPTED says it may differ;
  * TC=1 responses: header, question, OPT and authority as above; the
    answer section of each side must be a whole-RRset prefix of the full
    (TCP) answer, the SUT's at least as long as knot's (knot writes whole
    RRsets in order and stops at the first that does not fit); the
    additional section of each side must only hold RRs of the full
    answer's additional section.
  * response size: the SUT's response must not be larger than knot's
    (name compression at least as tight) unless --no-size-check.
Prints one line (plus an indented diff) per difference and ends with
"N passed, M failed"; exits 1 on any unexplained difference.
"""
import argparse
import atexit
import os
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dns.exception  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.opcode  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402

import corpus  # noqa: E402
import gen_zone  # noqa: E402

ZONES = ["wild.test.", "deleg.test.", "chain.test.", "example.test.",
         "served.deleg.test."]
GEN_ZONE = "gen.test."
# Signed at test time with BIND's dnssec-signzone from zones/signed.test.zone
# (renamed for each), then served as is by every server: DO=1 answers must
# carry the same signatures and proofs. NSEC; NSEC3 with a salt and 2
# extra iterations; NSEC3 with opt-out and RFC 9276's 0 iterations, no salt.
SIGNED_ZONES = [("signed.test.", []),
                ("nsec3.test.", ["-3", "aabbccdd", "-H", "2"]),
                ("nsec3o.test.", ["-3", "-", "-H", "0", "-A"]),
                # Knot's own signer: NSEC3, 1 iteration, a 4-octet salt.
                ("knsec3.test.", "knot")]


def sign_zone(tmp, source, name="signed.test.", how=()):
    d = os.path.join(tmp, "signing-" + name.rstrip("."))
    os.makedirs(d, exist_ok=True)
    with open(source) as f:
        text = f.read().replace("signed.test.", name)
    unsigned = os.path.join(d, name + "unsigned")
    with open(unsigned, "w") as f:
        f.write(text)
    # NSEC3 needs an algorithm that allows it (13 does).
    for extra in ([], ["-f", "KSK"]):
        subprocess.run(["dnssec-keygen", "-q", "-K", d, "-a", "ECDSAP256SHA256"]
                       + extra + ["-n", "ZONE", name], check=True,
                       capture_output=True, timeout=60)
    out = os.path.join(tmp, name + "zone")
    subprocess.run(["dnssec-signzone", "-q", "-K", d, "-S", "-o", name]
                   + list(how) + ["-f", out, unsigned], check=True,
                   capture_output=True, timeout=60, cwd=d)
    return out


def knot_sign_zone(tmp, source, name, knotd=None):
    """The zone signed by knotd's own signer (dnssec-signing with an NSEC3
    policy), which writes it back to its file; knotd is stopped after."""
    knotd = knotd or shutil.which("knotd") or "/usr/sbin/knotd"
    d = os.path.join(tmp, "knot-signing-" + name.rstrip("."))
    os.makedirs(os.path.join(d, "keys"), exist_ok=True)
    out = os.path.join(tmp, name + "zone")
    with open(source) as f:
        text = f.read().replace("signed.test.", name)
    with open(out, "w") as f:
        f.write(text)
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            "server:", f"    rundir: {d}",
            f"    listen: 127.0.0.1@{free_port()}",
            "database:", f"    storage: {d}",
            "keystore:", "  - id: default", "    backend: pem",
            f"    config: {d}/keys",
            "policy:", "  - id: nsec3", "    algorithm: ecdsap256sha256",
            "    nsec3: on", "    nsec3-iterations: 1",
            "    nsec3-salt-length: 4",
            "template:", "  - id: default", f"    storage: {d}",
            "    zonefile-sync: 0", "    zonefile-load: whole",
            "    journal-content: none", "    dnssec-signing: on",
            "    dnssec-policy: nsec3",
            "zone:", f"  - domain: {name}", f"    file: {out}", ""]))
    p = start([knotd, "-c", conf], os.path.join(d, "knotd.log"),
              "knotd signer")
    try:
        for _ in range(100):
            with open(out) as f:
                signed = f.read()
            if "NSEC3PARAM" in signed and "RRSIG" in signed:
                break
            time.sleep(0.2)
        else:
            sys.exit(f"knotd did not sign {name}; log {d}/knotd.log")
    finally:
        p.terminate()
        p.wait(10)
    return out


def signed_zones(tmp, zones_dir):
    """(name, file) of every SIGNED_ZONES zone, signed in tmp."""
    source = os.path.join(zones_dir, "signed.test.zone")
    return [(name, knot_sign_zone(tmp, source, name) if how == "knot"
             else sign_zone(tmp, source, name, how))
            for name, how in SIGNED_ZONES]

# ---------------------------------------------------------------------------
# Accepted differences: (label regex, aspect, RFC text that allows it).
# aspect is one of:
#   "udp-payload"      the advertised EDNS UDP payload size of the reply
#   "chaos-txt-rdata"  the TXT strings of a CHAOS id/version answer
#   "additional-fit"   which additional RRs fit in a size-limited reply
#   "response"         anything (the whole response) -- avoid
# Keep this empty unless a difference is really allowed by an RFC.
ACCEPTED = [
    # knotd 3.2 answers FORMERR (without OPT) when the OPT advertises a UDP
    # payload of exactly 1 (0, 2..511 are treated as 512). The RFC requires
    # treating it as 512, so a server that answers normally is right.
    (r"^edns/payload1/", "response",
     "RFC 6891 section 6.2.5: 'Values lower than 512 MUST be treated as "
     "equal to 512.'"),
    # knotd silently drops queries whose question it cannot parse; popdns
    # answers FORMERR, as its issue #3 requires. Both are allowed:
    (r"^formerr/(qdcount2|qdcount1-missing|truncated-|label-|pointer-|"
     r"name-over-255)", "response",
     "RFC 1035 section 4.1.1: 'Format error - The name server was unable "
     "to interpret the query.' (RFC 9619 section 4: a QUERY with QDCOUNT "
     "> 1 'MUST be treated as a format error')"),
    # knotd accepts an OPT whose owner is not the root; popdns rejects it
    # as its issue #3 requires.
    (r"^formerr/opt-owner-", "response",
     "RFC 6891 section 6.1.2: 'NAME  domain name  MUST be 0 (root "
     "domain)' and 6.1.1: 'When an OPT RR is included within any DNS "
     "message, it MUST be the only OPT RR in that message.' -- a malformed "
     "OPT gets FORMERR (RFC 6891 section 7)."),
    # A query with a Padding option: popdns pads the response (to 468
    # octets, RFC 8467 4.1); knotd, nsd and pdns_server do not pad in the
    # clear.
    (r"^edns/padding", "opt",
     "RFC 7830 section 4: 'Responders MUST pad DNS responses when the "
     "respective DNS query included the Padding option, unless doing so "
     "would violate the maximum UDP payload size.'"),
    (r"^edns/padding", "size",
     "RFC 7830 section 4 (see above): the padded response is larger by "
     "design (RFC 8467 4.1: a multiple of 468 octets)."),
    # DO=1 NXDOMAIN with a 512-byte limit: the NSEC3 proof does not fit and
    # both servers set TC; knotd writes a section's RRSIGs after all its
    # RRsets, popdns each RRset's signatures right after it, so the
    # records that fit before the cut differ.
    (r"^dnssec/small/", "authority",
     "RFC 4035 section 3.1.1: 'If space does not permit inclusion of these "
     "RRSIG RRs, the name server MUST set the TC bit' (both do); which "
     "records a truncated response keeps is not specified (RFC 2181 "
     "section 9: the client retries over TCP)."),
    (r"^dnssec/small/", "size",
     "The same truncated responses (see above): what fits under the "
     "512-octet limit differs in size too; neither exceeds it (RFC 1035 "
     "4.2.1)."),
    # A transfer the zone's allow_transfer does not grant: knotd answers
    # NOTAUTH, popdns REFUSED (as BIND and NSD do, and as issue 11
    # requires of popdns: 'anyone else asking for a transfer gets
    # REFUSED').
    (r"^qtype/ixfr/", "header",
     "RFC 5936 section 2.2.1 / RFC 1995: the RCODE of a transfer refused "
     "by policy is the server's choice; REFUSED (RFC 1035 4.1.1: 'the "
     "name server refuses to perform the specified operation for policy "
     "reasons')."),
]
# Accepted only when comparing against a peer other than popdns (--peer): the
# identity/version strings are by nature server specific.
PEER_ACCEPTED = [
    (r"^chaos/", "chaos-txt-rdata",
     "RFC 4892 (paraphrased): the TXT string returned for id.server "
     "(and the de-facto hostname.bind / version.bind) identifies the "
     "particular server instance or software and is chosen by it; two "
     "different servers return different strings."),
]

QUERY_TIMEOUT = 1.5


# ---------------------------------------------------------------------------
# processes

_procs = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            try:
                p.terminate()
            except ProcessLookupError:
                pass
    deadline = time.time() + 5
    for p in _procs:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(2)


atexit.register(_cleanup)


def _on_signal(signum, _frame):
    _cleanup()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def start(cmd, log_path, name):
    log = open(log_path, "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    _procs.append(p)
    print(f"# started {name} pid {p.pid}: {' '.join(cmd)}", flush=True)
    return p


def free_port():
    """A port that is free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            t.close()
            continue
        t.close()
        u.close()
        return port
    raise RuntimeError("no free port")


def knot_conf(d, port, zones):
    storage = os.path.join(d, "storage")
    os.makedirs(storage, exist_ok=True)
    lines = [
        "server:",
        f"    rundir: {d}",
        f"    listen: 127.0.0.1@{port}",
        "    udp-workers: 1",
        "    tcp-workers: 1",
        "    background-workers: 1",
        # The same CHAOS strings as the popdns under test is given (see
        # tests/meson.build), so that id/version answers compare exactly.
        "    identity: popdns-conformance",
        "    version: popdns-conformance-version",
        "database:",
        f"    storage: {storage}",
        "log:",
        "  - target: stderr",
        "    any: info",
        "template:",
        "  - id: default",
        f"    storage: {storage}",
        # 'soft' loads zones that fail semantic checks (chain.test. has
        # occluded data below a DNAME on purpose) and only logs them.
        "    semantic-checks: soft",
        "    zonefile-sync: -1",
        "    zonefile-load: whole",
        "    journal-content: none",
        "zone:",
    ]
    for name, path in zones:
        lines += [f"  - domain: {name}", f"    file: {path}"]
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf


def start_knot(tmp, tag, zones, knotd):
    d = os.path.join(tmp, tag)
    os.makedirs(d, exist_ok=True)
    port = free_port()
    conf = knot_conf(d, port, zones)
    p = start([knotd, "-c", conf], os.path.join(d, "knotd.log"), tag)
    return p, port, os.path.join(d, "knotd.log")


def start_nsd(tmp, zones, nsd):
    d = os.path.join(tmp, "nsd")
    os.makedirs(d, exist_ok=True)
    port = free_port()
    lines = [
        "server:",
        "    ip-address: 127.0.0.1",
        f"    port: {port}",
        '    username: ""',
        '    chroot: ""',
        f"    zonesdir: {d}",
        f"    zonelistfile: {d}/zone.list",
        f"    pidfile: {d}/nsd.pid",
        f"    xfrdfile: {d}/xfrd.state",
        f"    xfrdir: {d}",
        '    database: ""',
        "    server-count: 1",
        "    verbosity: 1",
        "    hide-version: no",
        # The CHAOS strings the SUT is given (tests/meson.build).
        "    identity: popdns-conformance",
        "    version: popdns-conformance-version",
        "    rrl-ratelimit: 0",
        "    rrl-whitelist-ratelimit: 0",
        "remote-control:",
        "    control-enable: no",
    ]
    for name, path in zones:
        # nsd refuses a zone with data below a DNAME (knot loads it with
        # semantic-checks: soft): give nsd a copy without those lines.
        with open(path) as f:
            text = f.read()
        if "; OCCLUDED" in text:
            path = os.path.join(d, name + "zone")
            with open(path, "w") as f:
                f.write("".join(x for x in text.splitlines(True)
                                if "; OCCLUDED" not in x))
        lines += ["zone:", f"    name: {name}", f"    zonefile: {path}"]
    conf = os.path.join(d, "nsd.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    chk = subprocess.run(["nsd-checkconf", conf], capture_output=True,
                         text=True, timeout=30)
    if chk.returncode != 0 and "rrl" in (chk.stdout + chk.stderr):
        # nsd built without RRL: drop those lines
        with open(conf, "w") as f:
            f.write("\n".join(x for x in lines if "rrl" not in x) + "\n")
    p = start([nsd, "-d", "-c", conf], os.path.join(d, "nsd.log"), "nsd")
    return p, port, os.path.join(d, "nsd.log")


def start_pdns(tmp, zones, pdns_server):
    """pdns_server with its bind backend (Debian pdns-backend-bind) on the
    same zone files; no DNSSEC metadata, so it serves the signed zone's
    records as data (its DO=1 answers are not a reference)."""
    d = os.path.join(tmp, "pdns")
    os.makedirs(d, exist_ok=True)
    port = free_port()
    with open(os.path.join(d, "named.conf"), "w") as f:
        for name, path in zones:
            f.write('zone "%s" { type master; file "%s"; };\n'
                    % (name.rstrip("."), path))
    cmd = [pdns_server, "--no-config", "--daemon=no", "--guardian=no",
           "--launch=bind", "--bind-config=" + os.path.join(d, "named.conf"),
           "--local-address=127.0.0.1", f"--local-port={port}",
           "--socket-dir=" + d, "--disable-syslog", "--loglevel=4",
           "--setuid=", "--setgid=", "--distributor-threads=1",
           "--receiver-threads=1", "--server-id=popdns-conformance",
           "--version-string=popdns-conformance-version",
           "--webserver=no", "--api=no"]
    p = start(cmd, os.path.join(d, "pdns.log"), "pdns")
    return p, port, os.path.join(d, "pdns.log")


def expand_popdns(template, port, zones):
    addr = f"127.0.0.1:{port}"
    zones_str = " ".join(f"--zone {shlex.quote(n.rstrip('.') or '.')}="
                         f"{shlex.quote(p)}" for n, p in zones)
    toks = shlex.split(template.replace("{zones}", "\x00ZONES\x00"))
    out = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if "{zone}" in t or "{file}" in t:
            prefix = []
            if out and out[-1].startswith("-") and "{" not in out[-1]:
                prefix = [out.pop()]
            for n, p in zones:
                out += prefix + [t.replace("{zone}", n.rstrip(".") or ".")
                                 .replace("{file}", p)]
        elif t == "\x00ZONES\x00":
            out += shlex.split(zones_str)
        else:
            out.append(t)
        i += 1
    return [t.replace("{port}", str(port)).replace("{addr}", addr)
            for t in out]


def start_popdns(tmp, template, zones):
    d = os.path.join(tmp, "popdns")
    os.makedirs(d, exist_ok=True)
    port = free_port()
    cmd = expand_popdns(template, port, zones)
    p = start(cmd, os.path.join(d, "popdns.log"), "popdns")
    return p, port, os.path.join(d, "popdns.log")


# ---------------------------------------------------------------------------
# wire I/O

def udp_query(port, wire, timeout=QUERY_TIMEOUT):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("127.0.0.1", port))
        s.send(wire)
        r, _, _ = select.select([s], [], [], timeout)
        if not r:
            return None
        try:
            return s.recv(65535)
        except ConnectionRefusedError:
            return None
    finally:
        s.close()


def udp_many(ports, wire, timeout=QUERY_TIMEOUT):
    """The same bytes to every server at once; their responses (or None)."""
    socks = []
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", port))
        s.send(wire)
        socks.append(s)
    res = [None] * len(ports)
    deadline = time.time() + timeout
    pending = set(range(len(ports)))
    while pending:
        left = deadline - time.time()
        if left <= 0:
            break
        r, _, _ = select.select([socks[i] for i in pending], [], [], left)
        for s in r:
            i = socks.index(s)
            try:
                res[i] = s.recv(65535)
            except ConnectionRefusedError:
                res[i] = None
            pending.discard(i)
    for s in socks:
        s.close()
    return res


def tcp_query(port, wire, timeout=3.0):
    """Returns the response bytes, None on timeout, or b'' if closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.settimeout(timeout)
        s.sendall(struct.pack("!H", len(wire)) + wire)
        buf = b""
        try:
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    return b"" if len(buf) < 2 else buf[2:]
                buf += chunk
        except socket.timeout:
            return None
        except ConnectionResetError:
            return b""
        n = struct.unpack("!H", buf[:2])[0]
        return buf[2:2 + n]
    finally:
        s.close()


def wait_ready(port, zones, proc, log, deadline_s=60):
    """Wait until the server answers SOA for every zone with AA."""
    t0 = time.time()
    pending = [n for n, _ in zones]
    while pending:
        pending = pending[1:] + pending[:1]  # round robin over the zones
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}; log {log}:\n"
                     + open(log).read()[-3000:])
        if time.time() - t0 > deadline_s:
            sys.exit(f"server on port {port} not ready after {deadline_s}s "
                     f"(pending {pending}); log {log}:\n"
                     + open(log).read()[-3000:])
        q = dns.message.make_query(pending[0], "SOA")
        r = udp_query(port, q.to_wire(), 0.5)
        if r:
            try:
                m = dns.message.from_wire(r)
                if m.rcode() == 0 and m.answer and m.flags & dns.flags.AA:
                    pending.pop(0)
                    continue
            except dns.exception.DNSException:
                pass
        time.sleep(0.2)


# ---------------------------------------------------------------------------
# response model

def walk_name(wire, off):
    """Offset just after the (possibly compressed) name at off, or None."""
    while off < len(wire):
        b = wire[off]
        if b == 0:
            return off + 1
        if b & 0xC0 == 0xC0:
            return off + 2
        if b & 0xC0:
            return None
        off += 1 + b
    return None


def question_bytes(wire):
    if len(wire) < 12:
        return b""
    qd = struct.unpack("!H", wire[4:6])[0]
    off = 12
    for _ in range(qd):
        end = walk_name(wire, off)
        if end is None or end + 4 > len(wire):
            return wire[12:]
        off = end + 4
    return wire[12:off]


def rr_key(rr_name, ttl, rdata):
    """Comparison key and display text of one RR (RFC 4343 normalised)."""
    try:
        canon = rdata.to_digestable(dns.name.root)
    except Exception:  # pragma: no cover - unusual rdata
        canon = rdata.to_wire()
    key = (rr_name.to_text().lower(), rdata.rdclass, rdata.rdtype, ttl, canon)
    txt = (f"{rr_name} {ttl} {dns.rdataclass.to_text(rdata.rdclass)} "
           f"{dns.rdatatype.to_text(rdata.rdtype)} {rdata.to_text()}")
    return key, txt


class Resp:
    def __init__(self, wire):
        self.wire = wire
        self.size = len(wire)
        self.parse_error = None
        self.msg = None
        if len(wire) < 12:
            self.flags = None
            return
        (self.id, self.flags, self.qd, self.an, self.ns,
         self.ar) = struct.unpack("!HHHHHH", wire[:12])
        self.question = question_bytes(wire)
        try:
            self.msg = dns.message.from_wire(wire, ignore_trailing=True,
                                             raise_on_truncation=False)
        except Exception as e:  # noqa: BLE001 - any parse failure
            self.parse_error = f"{type(e).__name__}: {e}"
        self.sections = {}
        if self.msg is not None:
            for sec_name, sec in (("answer", self.msg.answer),
                                  ("authority", self.msg.authority),
                                  ("additional", self.msg.additional)):
                items = {}
                for rrset in sec:
                    for rd in rrset:
                        k, t = rr_key(rrset.name, rrset.ttl, rd)
                        items.setdefault(k, [t, 0])[1] += 1
                self.sections[sec_name] = items

    def header_text(self):
        f = self.flags
        names = [n for n, bit in (("qr", 0x8000), ("aa", 0x0400),
                                  ("tc", 0x0200), ("rd", 0x0100),
                                  ("ra", 0x0080), ("z", 0x0040),
                                  ("ad", 0x0020), ("cd", 0x0010)) if f & bit]
        return (f"opcode={(f >> 11) & 15} rcode={self.rcode_text()} "
                f"flags={' '.join(names) or '-'} "
                f"counts={self.qd}/{self.an}/{self.ns}/{self.ar}")

    def full_rcode(self):
        if self.msg is not None:
            return self.msg.rcode()
        return self.flags & 15

    def rcode_text(self):
        try:
            return dns.rcode.to_text(self.full_rcode())
        except Exception:  # noqa: BLE001
            return str(self.full_rcode())

    def opt(self):
        if self.msg is None or self.msg.edns < 0:
            return None
        return {
            "version": self.msg.edns,
            "do": bool(self.msg.ednsflags & dns.flags.DO),
            "payload": self.msg.payload,
            "options": sorted(o.otype for o in self.msg.options),
        }

    def dump(self):
        if self.flags is None:
            return f"  <short message {self.wire.hex()}>"
        if self.msg is not None:
            return "\n".join("    " + x for x in self.msg.to_text().splitlines())
        return (f"    {self.header_text()}\n    unparsable ({self.parse_error})"
                f": {self.wire.hex()}")


def fmt_opt(o):
    if o is None:
        return "no OPT"
    return (f"OPT v{o['version']} do={int(o['do'])} payload={o['payload']} "
            f"options={o['options']}")


# ---------------------------------------------------------------------------
# comparison

def accepted(label, aspect, table):
    for pat, asp, rfc in table:
        if asp in (aspect, "response") and re.search(pat, label):
            return rfc
    return None


def rrset_list(msg, section):
    """Section as an ordered list of RRsets (each: name, class, type, rdatas)."""
    out = []
    for rrset in getattr(msg, section):
        keys = frozenset(rr_key(rrset.name, rrset.ttl, rd)[0] for rd in rrset)
        out.append((rrset.name.to_text().lower(), rrset.rdclass, rrset.rdtype,
                    keys))
    return out


def compare(label, ref_wire, sut_wire, full, table, size_check):
    """Returns (diffs, accepted_notes). diffs: list of (aspect, text); the
    aspect names the field ("header", "answer", ...).

    full: knot's reply to the same query over TCP (a Resp) when the UDP reply
    may have been cut (TC=1 or additional sections differ), else None.
    """
    diffs, notes = [], []
    full_additional = full.sections["additional"] if full is not None else None

    def diff(aspect, text):
        rfc = accepted(label, aspect, table)
        if rfc:
            notes.append(f"{aspect}: {text}  [accepted: {rfc[:80]}...]")
        else:
            diffs.append((aspect, text))

    if ref_wire is None and sut_wire is None:
        return diffs, notes
    if ref_wire is None or sut_wire is None:
        which = "knot" if ref_wire is None else "sut"
        other = Resp(sut_wire if ref_wire is None else ref_wire)
        diff("response", f"no response from {which}; other side answered:\n"
             + other.dump())
        return diffs, notes
    a, b = Resp(ref_wire), Resp(sut_wire)
    if a.flags is None or b.flags is None:
        if ref_wire[2:] != sut_wire[2:]:
            diff("response", f"short message: knot={ref_wire.hex()} "
                 f"sut={sut_wire.hex()}")
        return diffs, notes
    if (a.flags & ~0x000F) != (b.flags & ~0x000F) or \
            a.full_rcode() != b.full_rcode():
        diff("header", f"header: knot [{a.header_text()}] sut "
             f"[{b.header_text()}]")
    if a.question != b.question:
        diff("question", f"question bytes: knot={a.question.hex()} "
             f"sut={b.question.hex()}")
    if a.msg is None or b.msg is None:
        if a.msg is None and b.msg is None:
            if a.wire[2:] != b.wire[2:]:
                diff("response", "unparsable responses differ: "
                     f"knot={a.wire.hex()} sut={b.wire.hex()}")
        else:
            diff("response", "one side unparsable:\n  knot:\n" + a.dump()
                 + "\n  sut:\n" + b.dump())
        return diffs, notes
    oa, ob = a.opt(), b.opt()
    if (oa is None) != (ob is None) or (oa and (
            oa["version"] != ob["version"] or oa["do"] != ob["do"]
            or oa["options"] != ob["options"])):
        diff("opt", f"OPT: knot {fmt_opt(oa)}; sut {fmt_opt(ob)}")
    elif oa and oa["payload"] != ob["payload"]:
        diff("udp-payload", f"OPT payload: knot {oa['payload']} sut "
             f"{ob['payload']}")
    tc = bool(a.flags & 0x0200) or bool(b.flags & 0x0200)
    sections = ("answer", "authority", "additional")
    if tc and full is not None and a.flags & 0x0200 and b.flags & 0x0200:
        # knot fills the answer with whole RRsets in order and stops at the
        # first one that does not fit: each side's answer must be a prefix
        # of the full answer, whole RRsets only. The SUT may fit more (its
        # compression may be tighter) but never less than knot.
        full_ans = rrset_list(full.msg, "answer")
        pa, pb = rrset_list(a.msg, "answer"), rrset_list(b.msg, "answer")
        if pb != full_ans[:len(pb)]:
            diff("answer", "TC=1 answer section is not a whole-RRset prefix "
                 "of the full (TCP) answer:\n" + b.dump())
        elif len(pb) < len(pa) or pa != full_ans[:len(pa)]:
            diff("answer", f"TC=1 answer keeps {len(pb)} RRsets, knot "
                 f"{len(pa)} (of {len(full_ans)} in the full answer)")
        sections = ("authority", "additional")
    for sec in sections:
        sa, sb = a.sections[sec], b.sections[sec]
        if {k: v[1] for k, v in sa.items()} == {k: v[1] for k, v in sb.items()}:
            continue  # same RR multiset (display text may differ in case)
        if sec == "additional" and (tc or full_additional is not None):
            full = full_additional or {}
            extra = [v[0] for k, v in list(sa.items()) + list(sb.items())
                     if k not in full]
            if tc and not extra:
                continue  # both subsets of the full additional section
            if not extra and full_additional is not None:
                only_a = [v[0] for k, v in sa.items() if k not in sb]
                only_b = [v[0] for k, v in sb.items() if k not in sa]
                diff("additional-fit", "additional trimmed differently: "
                     f"only knot {only_a}, only sut {only_b}")
                continue
        if label.startswith("chaos/") and sec == "answer" and \
                sorted(k[:4] for k in sa) == sorted(k[:4] for k in sb):
            diff("chaos-txt-rdata", "CHAOS TXT: knot "
                 f"{[v[0] for v in sa.values()]} sut "
                 f"{[v[0] for v in sb.values()]}")
            continue
        lines = [f"{sec} section differs:"]
        for k, (t, n) in sorted(sa.items()):
            m = sb.get(k, [t, 0])[1]
            if n != m:
                lines.append(f"    - knot only{'' if n - m == 1 else f' x{n - m}'}: {t}"
                             if n > m else f"    + sut  extra x{m - n}: {t}")
        for k, (t, m) in sorted(sb.items()):
            if k not in sa:
                lines.append(f"    + sut  only{'' if m == 1 else f' x{m}'}: {t}")
        diff(sec, "\n".join(lines))
    if size_check and not diffs and b.size > a.size:
        diff("size", f"sut response is larger ({b.size} > {a.size} bytes): "
             "name compression must be at least as tight as knot's")
    return diffs, notes


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--popdns", metavar="CMD")
    mode.add_argument("--self-test", action="store_true")
    mode.add_argument("--peer", choices=["nsd"])
    ap.add_argument("--knotd", default=shutil.which("knotd") or "/usr/sbin/knotd")
    ap.add_argument("--nsd", default=shutil.which("nsd") or "/usr/sbin/nsd")
    ap.add_argument("--pdns-server", default=shutil.which("pdns_server")
                    or "/usr/sbin/pdns_server")
    ap.add_argument("--refs", default="knot",
                    help="references, comma-separated: knot (always), nsd, "
                    "pdns")
    ap.add_argument("--zones-dir", default=os.path.join(HERE, "zones"))
    ap.add_argument("--gen-names", type=int, default=gen_zone.DEFAULT_NAMES,
                    help="names in the generated zone (default 100000)")
    ap.add_argument("--only", metavar="REGEX", help="run matching labels only")
    ap.add_argument("--dump", metavar="REGEX",
                    help="print both full responses for matching labels")
    ap.add_argument("--no-size-check", action="store_true")
    ap.add_argument("--keep-tmp", action="store_true")
    ap.add_argument("--timeout", type=float, default=QUERY_TIMEOUT)
    ap.add_argument("--max-seconds", type=float, default=900,
                    help="abort the whole run after this long")
    args = ap.parse_args()
    signal.alarm(int(args.max_seconds))
    signal.signal(signal.SIGALRM, lambda *_: (_cleanup(), sys.exit(
        f"aborted after {args.max_seconds}s")))

    tmp = tempfile.mkdtemp(prefix="popdns-conf-")
    if not args.keep_tmp:
        atexit.register(shutil.rmtree, tmp, True)
    else:
        print(f"# temp dir {tmp}")
    gen_path = os.path.join(tmp, "gen.test.zone")
    with open(gen_path, "w") as f:
        gen_zone.write(f, args.gen_names)
    zones = [(z, os.path.join(args.zones_dir, z + "zone")) for z in ZONES]
    zones.append((GEN_ZONE, gen_path))
    zones += signed_zones(tmp, args.zones_dir)

    ref, ref_port, ref_log = start_knot(tmp, "knot-ref", zones, args.knotd)
    refs = [("knot", ref, ref_port, ref_log)]
    for name in args.refs.split(","):
        if name == "knot":
            continue
        if name == "nsd":
            refs.append(("nsd",) + start_nsd(tmp, zones, args.nsd))
        elif name == "pdns":
            refs.append(("pdns",) + start_pdns(tmp, zones, args.pdns_server))
        else:
            sys.exit(f"--refs: unknown reference {name!r} (knot, nsd, pdns)")
    table = list(ACCEPTED)
    size_check = not args.no_size_check
    if args.self_test:
        sut, sut_port, sut_log = start_knot(tmp, "knot-sut", zones, args.knotd)
    elif args.peer == "nsd":
        sut, sut_port, sut_log = start_nsd(tmp, zones, args.nsd)
        table += PEER_ACCEPTED
        size_check = False
    else:
        sut, sut_port, sut_log = start_popdns(tmp, args.popdns, zones)
    for name, p, port, log in refs:
        # nsd refuses chain.test.'s occluded name; the others serve it all.
        wait_ready(port, zones, p, log)
    wait_ready(sut_port, zones, sut, sut_log)
    print("# " + ", ".join(f"{n} on 127.0.0.1@{port}" for n, _, port, _ in refs)
          + f", sut on 127.0.0.1@{sut_port}", flush=True)

    items = corpus.build_corpus()
    tcp_set = corpus.tcp_labels()
    if args.only:
        items = [(lab, w) for lab, w in items if re.search(args.only, lab)]
    passed = failed = accepted_n = 0
    bytes_ref = bytes_sut = 0
    larger = 0
    # Responses that equal a reference's in every field, by reference, and
    # those that match only field by field across references.
    whole = {n: 0 for n, _, _, _ in refs}
    fieldwise = 0
    ports = [port for _, _, port, _ in refs]
    for label, wire in items:
        runs = [("udp", label)]
        if label in tcp_set:
            runs.append(("tcp", label + " [tcp]"))
        for proto, shown in runs:
            if proto == "udp":
                got = udp_many(ports + [sut_port], wire, args.timeout)
                ras, rb = got[:-1], got[-1]
            else:
                ras = [tcp_query(port, wire) or None for port in ports]
                rb = tcp_query(sut_port, wire) or None
            sut_resp = Resp(rb) if rb and len(rb) >= 12 else None
            results = []  # per reference: (diffs, notes)
            for (name, _, port, _), ra in zip(refs, ras):
                full_resp = None
                ref_resp = Resp(ra) if ra and len(ra) >= 12 else None
                if ref_resp is not None and ref_resp.msg is not None and \
                        proto == "udp":
                    # Only needed when the additional section may have
                    # been cut.
                    if (ref_resp.flags & 0x0200) or (
                            sut_resp is not None and sut_resp.msg is not None
                            and sut_resp.sections.get("additional")
                            != ref_resp.sections["additional"]):
                        full = tcp_query(port, wire)
                        if full:
                            fr = Resp(full)
                            if fr.msg is not None:
                                full_resp = fr
                # Sizes are held to knot's compression only.
                results.append(compare(shown, ra, rb, full_resp, table,
                                       size_check and name == "knot"))
            ra = ras[0]
            if ra:
                bytes_ref += len(ra)
            if rb:
                bytes_sut += len(rb)
            if ra and rb and len(rb) > len(ra):
                larger += 1
            matched = [n for (n, _, _, _), (d, _) in zip(refs, results)
                       if not d]
            for n in matched:
                whole[n] += 1
            # Fields that differ from every reference.
            failing = set.intersection(*({a for a, _ in d}
                                         for d, _ in results))
            if not matched and not failing:
                fieldwise += 1
            diffs = [] if matched else [
                (n, t) for (n, _, _, _), (d, _) in zip(refs, results)
                for a, t in d if a in failing]
            notes = results[0][1] if not matched or "knot" in matched else []
            if args.dump and re.search(args.dump, label):
                print(f"=== {shown} query {wire.hex()}")
                for (n, _, _, _), r in zip(refs, ras):
                    print(f"  {n}:\n" + (Resp(r).dump() if r else "    <none>"))
                print("  sut:\n" + (Resp(rb).dump() if rb else "    <none>"))
            for n in notes:
                print(f"ACCEPTED {shown}: {n}")
            if notes:
                accepted_n += 1
            if diffs:
                failed += 1
                print(f"DIFF {shown}:")
                for n, d in diffs:
                    prefix = f"[vs {n}] " if len(refs) > 1 else ""
                    print("  " + prefix + d.replace("\n", "\n  "))
            else:
                passed += 1
        sys.stdout.flush()
    for p, name in [(p, n) for n, p, _, _ in refs] + [(sut, "sut")]:
        if p.poll() is not None:
            print(f"# WARNING: {name} exited early with {p.returncode}")
            failed += 1
    if len(refs) > 1:
        print("# matched whole: " + ", ".join(f"{n} {c}" for n, c in
                                              whole.items())
              + f"; field by field across references only: {fieldwise}")
    print(f"# response bytes: knot {bytes_ref}, sut {bytes_sut} "
          f"({bytes_sut - bytes_ref:+d}); sut larger in {larger} responses")
    print(f"# {accepted_n} responses with accepted differences")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
