#!/usr/bin/python3
"""Deterministic query corpus for the popdns conformance test.

build_corpus() returns a list of (label, raw query bytes). Labels are unique
and start with a category ("hit/", "cname/", "dname/", "deleg/", "wild/",
"neg/", "refused/", "any/", "addl/", "edns/", "tc/", "formerr/", "opcode/",
"chaos/", "case/", "flags/", "qtype/", "gen/"). Normal queries are built with
dnspython; malformed ones are hand-built bytes.

TCP_LABELS is the subset that run_conformance.py also sends over TCP.

Running this file prints the corpus (label, size, hex) for inspection.
"""
import hashlib
import os
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdataclass
import dns.rdatatype

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_zone  # noqa: E402

IN = dns.rdataclass.IN


def mixcase(name: str, salt: str = "") -> str:
    """Deterministic 0x20 mixed case of name (never all-lower)."""
    h = hashlib.sha256((salt + name).encode()).digest()
    out = []
    for i, ch in enumerate(name):
        if ch.isalpha() and (h[i % len(h)] >> (i % 8)) & 1:
            out.append(ch.upper())
        else:
            out.append(ch)
    s = "".join(out)
    if s == name and any(c.isalpha() for c in name):
        j = next(i for i, c in enumerate(name) if c.isalpha())
        s = name[:j] + name[j].upper() + name[j + 1:]
    return s


class Corpus:
    def __init__(self):
        self.items = []
        self.labels = set()
        self.tcp = set()

    def add(self, label: str, wire: bytes, tcp: bool = False):
        assert label not in self.labels, f"duplicate label {label}"
        self.labels.add(label)
        self.items.append((label, wire))
        if tcp:
            self.tcp.add(label)

    def next_id(self) -> int:
        # deterministic, non-zero, differs per query
        return (len(self.items) * 7919 + 4242) & 0xFFFF

    def q(self, label, name, rdtype="A", rdclass=IN, edns=None, payload=1232,
          do=False, rd=True, flags=0, options=None, tcp=False):
        """Normal query. edns=None: no OPT; edns=N: EDNS version N."""
        m = dns.message.make_query(
            dns.name.from_text(name), dns.rdatatype.from_text(rdtype)
            if isinstance(rdtype, str) else rdtype, rdclass, use_edns=False)
        if edns is not None:
            # explicit: make_query(use_edns=N) drops the version without DO
            m.use_edns(edns, dns.flags.DO if do else 0, payload,
                       options=options)
        m.id = self.next_id()
        m.flags = (dns.flags.RD if rd else 0) | flags
        self.add(label, m.to_wire(), tcp)


def hdr(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def wname(name: str) -> bytes:
    if name in (".", ""):
        return b"\x00"
    out = b""
    for lab in name.rstrip(".").split("."):
        out += bytes([len(lab)]) + lab.encode()
    return out + b"\x00"


def qsec(name: str, qtype=1, qclass=1) -> bytes:
    return wname(name) + struct.pack("!HH", qtype, qclass)


def opt_rr(payload=1232, ext_rcode=0, version=0, do=False, owner=b"\x00",
           rdata=b"") -> bytes:
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return owner + struct.pack("!HHIH", 41, payload, ttl, len(rdata)) + rdata


# ---------------------------------------------------------------------------

def build(c: Corpus):
    ex, ch, dl, wi = "example.test.", "chain.test.", "deleg.test.", "wild.test."

    # --- exact hits with AA ------------------------------------------------
    hits = [
        (ex, ["SOA", "NS", "MX", "A", "AAAA", "TXT", "CAA", "HTTPS"]),
        ("www." + ex, ["A", "AAAA"]),
        ("ns1." + ex, ["A", "AAAA"]),
        ("ns2." + ex, ["A"]),
        ("mail." + ex, ["A", "AAAA"]),
        ("mail2." + ex, ["A"]),
        ("ftp." + ex, ["CNAME"]),
        ("_dmarc." + ex, ["TXT"]),
        ("sel1._domainkey." + ex, ["TXT"]),
        ("_sip._tcp." + ex, ["SRV"]),
        ("_xmpp-server._tcp." + ex, ["SRV"]),
        ("printer.office." + ex, ["A"]),
        ("office." + ex, ["HINFO"]),
        ("host.lab." + ex, ["SSHFP"]),
        ("10.2.0.192.in-addr." + ex, ["PTR"]),
        ("sip.srv." + ex, ["NAPTR"]),
        ("empty.ent.deep." + ex, ["A"]),
        ("mixed.case." + ex, ["A"]),
        (ch, ["SOA", "NS", "MX"]),
        ("c." + ch, ["A", "AAAA"]),
        ("end." + ch, ["A"]),
        ("mail." + ch, ["A", "AAAA"]),
        ("www.target." + ch, ["A", "AAAA"]),
        ("deep.www.target." + ch, ["TXT"]),
        ("multi." + ch, ["A", "AAAA", "TXT", "MX", "HINFO"]),
        ("svc." + ch, ["SVCB"]),
        ("www." + ch, ["HTTPS"]),
        (dl, ["SOA", "NS"]),
        ("ns1." + dl, ["A", "AAAA"]),
        ("www." + dl, ["A"]),
        (wi, ["SOA", "NS"]),
        ("host1." + wi, ["A"]),
        ("ns1." + wi, ["A"]),
        ("_ssh._tcp.host1." + wi, ["SRV"]),
        ("_ssh._tcp.host2." + wi, ["SRV"]),
        ("sub.*." + wi, ["TXT"]),
        ("deep.x.y." + wi, ["TXT"]),
    ]
    for name, types in hits:
        for t in types:
            c.q(f"hit/{name}/{t}", name, t)
    for name in [ex, "www." + ex, "mail." + ch]:
        c.q(f"hit/edns/{name}/A", name, "A", edns=0)
        c.q(f"hit/do/{name}/A", name, "A", edns=0, do=True)

    # --- CNAME ---------------------------------------------------------------
    for n, t in [("a", "A"), ("a", "AAAA"), ("a", "TXT"), ("a", "CNAME"),
                 ("b", "A"), ("l1", "A"), ("l5", "A"), ("l6", "A"),
                 ("l9", "A"), ("l10", "A"), ("l1", "CNAME"),
                 ("ext", "A"), ("ext2", "MX"), ("out", "A"), ("out", "AAAA"),
                 ("dangling", "A"), ("danglingext", "A"), ("nodata", "TXT"),
                 ("nodata", "A"), ("loop1", "A"), ("loop2", "TXT"),
                 ("self", "A"), ("self", "CNAME"), ("towild", "A"),
                 ("towild", "MX"), ("todeleg", "A"), ("tolocaldeleg", "A"),
                 ("tolocaldeleg", "NS")]:
        c.q(f"cname/{n}/{t}", f"{n}.{ch}", t)
    c.q("cname/ftp.example/A", "ftp." + ex, "A")
    c.q("cname/webmail.example/AAAA", "webmail." + ex, "AAAA")
    c.q("cname/webmail.example/MX", "webmail." + ex, "MX")
    c.q("cname/edns/l1/A", "l1." + ch, "A", edns=0)
    c.q("cname/do/dangling/A", "dangling." + ch, "A", edns=0, do=True)

    # --- DNAME (RFC 6672) ------------------------------------------------------
    for n, t in [("www.d", "A"), ("www.d", "AAAA"), ("www.d", "TXT"),
                 ("deep.www.d", "TXT"), ("x.d", "A"), ("nothere.d", "A"),
                 ("d", "DNAME"), ("d", "A"), ("d", "CNAME"), ("www.d2", "A"),
                 ("deep.www.d2", "TXT"), ("nothere.d2", "A"), ("d2", "DNAME"),
                 ("x.dx", "A"), ("www.dx", "A"), ("mail.dx", "MX"),
                 ("foo.dout", "A"), ("a.b.dout", "AAAA"), ("a.dc", "A"),
                 ("b.dc", "A"), ("x.dloop", "A"), ("dloop", "DNAME"),
                 ("www.target", "DNAME")]:
        c.q(f"dname/{n}/{t}", f"{n}.{ch}", t)
    # DNAME synthesis must not produce a name over 255 octets (RFC 6672 2.2:
    # YXDOMAIN). 'd' -> 'target' grows the name by 5 octets.
    long_owner = ".".join(["a" * 63, "b" * 63, "c" * 63, "e" * 44]) + ".d." + ch
    c.q("dname/yxdomain/A", long_owner, "A")
    c.q("dname/edns/www.d2/A", "www.d2." + ch, "A", edns=0, do=True)
    # qtype CNAME, DNAME and ANY around a DNAME (RFC 6672 3.1: for a CNAME
    # query the synthesized CNAME is the answer, nothing follows it), at,
    # below and through it; below a DNAME whose target exists, does not,
    # is a CNAME owner, is in another zone, out of all zones, or loops.
    for n in ["www.d", "nothere.d", "deep.www.d", "www.d2", "nothere.d2",
              "a.dc", "b.dc", "x.dx", "foo.dout", "x.dloop", "x.d", "d",
              "d2", "www.target", "a.cn", "w.dw", "x.w.dw"]:
        for t in ["CNAME", "DNAME", "ANY"]:
            c.q(f"dname/qtype/{n}/{t}", f"{n}.{ch}", t)
    c.q("dname/qtype/yxdomain/CNAME", long_owner, "CNAME")
    c.q("dname/qtype/edns/www.d/CNAME", "www.d." + ch, "CNAME", edns=0,
        do=True, tcp=True)
    c.q("dname/qtype/case/www.d/CNAME", mixcase("www.d." + ch), "CNAME")
    c.q("dname/qtype/tcp/www.d2/CNAME", "www.d2." + ch, "CNAME", tcp=True)

    # --- delegations ---------------------------------------------------------
    for n, t in [("child", "A"), ("child", "NS"), ("child", "DS"),
                 ("child", "SOA"), ("child", "DNSKEY"), ("child", "ANY"),
                 ("foo.child", "A"), ("a.b.child", "AAAA"),
                 ("ns1.child", "A"), ("ns1.child", "AAAA"),
                 ("ns2.child", "AAAA"), ("mail.child", "A"),
                 ("x.child", "DS"), ("ext", "A"), ("ext", "NS"), ("ext", "DS"),
                 ("www.ext", "A"), ("mixed", "A"), ("mixed", "DS"),
                 ("ns.mixed", "A"), ("sub.ent", "A"), ("sub.ent", "DS"),
                 ("foo.sub.ent", "MX"), ("ent", "A"), ("ent", "NS"),
                 ("other", "A"), ("other", "NS"), ("big", "NS"),
                 ("www.big", "A"), ("mx", "MX"), ("_imap._tcp", "SRV")]:
        c.q(f"deleg/{n}/{t}", f"{n}.{dl}", t, tcp=(n in ("big", "child")))
    # a child zone served by the same server (served.deleg.test.)
    sv = "served." + dl
    for n, t in [("@", "DS"), ("@", "NS"), ("@", "SOA"), ("@", "A"),
                 ("@", "MX"), ("@", "ANY"), ("@", "DNSKEY"), ("ns1", "A"),
                 ("www", "A"), ("nothere", "A"), ("mail", "AAAA")]:
        name = sv if n == "@" else f"{n}.{sv}"
        c.q(f"nested/{n}/{t}", name, t)
    c.q("nested/@/DS/do", sv, "DS", edns=0, do=True)
    c.q("nested/case/@/DS", mixcase(sv), "DS")
    c.q("deleg/sub.chain/A", "host.sub." + ch, "A")
    c.q("deleg/sub.chain/DS", "sub." + ch, "DS")
    c.q("deleg/subdel.wild/A", "host.subdel." + wi, "A")
    c.q("deleg/subdel.wild/NS", "subdel." + wi, "NS")
    c.q("deleg/edns/child/A", "foo.child." + dl, "A", edns=0)
    c.q("deleg/do/child/DS", "child." + dl, "DS", edns=0, do=True)
    c.q("deleg/do/x.child/DS", "x.child." + dl, "DS", edns=0, do=True)
    c.q("deleg/norec/child/A", "foo.child." + dl, "A", rd=False)

    # --- wildcards (RFC 4592 2.2.1 and more) -----------------------------------
    for n, t in [("host3", "MX"), ("host3", "A"), ("foo.bar", "TXT"),
                 ("host1", "MX"), ("sub.*", "MX"), ("_telnet._tcp.host1", "SRV"),
                 ("host.subdel", "A"), ("ghost.*", "MX"), ("*", "TXT"),
                 ("*", "MX"), ("*", "A"), ("_ssh._tcp.host3", "SRV"),
                 ("_tcp.host1", "A"), ("_tcp.host1", "SRV"),
                 ("foo._tcp.host1", "SRV"), ("a.b.c.d", "TXT"),
                 ("host3", "ANY"), ("host3", "CNAME"), ("x.sub", "TXT"),
                 ("foo.cn", "A"), ("foo.cn", "CNAME"), ("foo.cn", "TXT"),
                 ("cn", "A"), ("a.b.cn", "A"), ("foo.addr", "A"),
                 ("foo.addr", "AAAA"), ("foo.addr", "MX"), ("addr", "A"),
                 ("y", "TXT"), ("x.y", "TXT"), ("foo.x.y", "TXT"),
                 ("foo.y", "TXT"), ("ns1", "MX"), ("host1", "TXT"),
                 ("*.addr", "A")]:
        c.q(f"wild/{n}/{t}", f"{n}.{wi}", t, tcp=(n == "host3" and t == "MX"))
    c.q("wild/edns/host3/MX", "host3." + wi, "MX", edns=0, do=True)
    c.q("wild/edns/ghost/MX", "ghost.*." + wi, "MX", edns=0)
    c.q("wild/gen/nothere", "nothere.gen.test.", "TXT")
    c.q("wild/gen/nothere/A", "nothere.gen.test.", "A")
    c.q("wild/gen/blocked-by-ent", "nothere.g1.gen.test.", "TXT")

    # --- negative answers (NXDOMAIN / NODATA, RFC 2308) -----------------------
    for z in [ex, ch, dl, wi, "gen.test."]:
        for n, t in [("nothere", "A"), ("a.b.nothere", "AAAA"), ("@", "A"),
                     ("@", "TXT"), ("@", "PTR"), ("@", "DS")]:
            name = z if n == "@" else f"{n}.{z}"
            c.q(f"neg/{z}/{n}/{t}", name, t)
        c.q(f"neg/edns/{z}/nothere", "nothere." + z, "A", edns=0, do=True)
    for n, t in [("www." + ex, "TXT"), ("www." + ex, "MX"), ("mail." + ch, "MX"),
                 ("ent.deep." + ex, "A"), ("deep." + ex, "A"),
                 ("office." + ex, "A"), ("c." + ch, "TXT"), ("d." + ch, "A"),
                 ("target." + ch, "A"), ("nothere.target." + ch, "A"),
                 ("ns1." + dl, "MX"), ("cn." + wi, "TXT"),
                 ("in-addr." + ex, "PTR"), ("_tcp." + ex, "SRV"),
                 ("nothere._tcp." + ex, "SRV")]:
        c.q(f"neg/{n}/{t}", n, t)

    # --- REFUSED: outside every zone ------------------------------------------
    for n in ["www.example.org.", "test.", ".", "example.", "com.",
              "xexample.test.", "notchain.test.", "gen.test.invalid.",
              "a.b.c.d.e.f.", "localhost.", "wild.test.example.",
              "1.0.0.127.in-addr.arpa."]:
        c.q(f"refused/{n}/A", n, "A")
    c.q("refused/./NS", ".", "NS")
    c.q("refused/edns/org", "www.example.org.", "A", edns=0, do=True)
    c.q("refused/norec/org", "www.example.org.", "A", rd=False)

    # --- ANY (RFC 8482) -------------------------------------------------------
    for n in [ex, "www." + ex, "multi." + ch, "anyorder." + ch, "a." + ch, "mail." + ch,
              "d." + ch, "nothere." + ex, "deep." + ex, "foo.bar." + wi,
              "_ssh._tcp.host1." + wi, dl, "ns1." + dl]:
        c.q(f"any/{n}", n, "ANY", tcp=(n in (ex, "multi." + ch)))
    c.q("any/edns/example", ex, "ANY", edns=0, do=True)
    c.q("any/edns4096/example", ex, "ANY", edns=0, payload=4096, tcp=True)

    # --- additional section processing ----------------------------------------
    for n, t in [(ex, "MX"), (ex, "NS"), ("_sip._tcp." + ex, "SRV"),
                 ("_xmpp-server._tcp." + ex, "SRV"), (ch, "MX"), (ch, "NS"),
                 ("_sip._udp." + ch, "SRV"), ("svc." + ch, "SVCB"),
                 ("www." + ch, "HTTPS"), ("multi." + ch, "MX"),
                 (dl, "NS"), ("mx." + dl, "MX"), ("gen.test.", "NS"),
                 ("foo.addr." + wi, "MX"), ("ftp." + ex, "MX"),
                 ("ext2." + ch, "MX"), ("h0.gen.test.", "MX")]:
        c.q(f"addl/{n}/{t}", n, t)
        c.q(f"addl/edns/{n}/{t}", n, t, edns=0)

    # --- EDNS ------------------------------------------------------------------
    for p in [0, 1, 100, 511, 512, 513, 600, 1024, 1232, 1233, 1400, 1500,
              4096, 65535]:
        c.q(f"edns/payload{p}/www", "www." + ex, "A", edns=0, payload=p)
        c.q(f"edns/payload{p}/many40", "many40." + ch, "A", edns=0, payload=p)
    c.q("edns/do/www", "www." + ex, "A", edns=0, do=True)
    c.q("edns/do/nx", "nothere." + ex, "A", edns=0, do=True)
    for v in [1, 2, 255]:
        c.q(f"edns/badvers{v}", "www." + ex, "A", edns=v)
        c.q(f"edns/badvers{v}/do", "www." + ex, "A", edns=v, do=True)
    c.q("edns/badvers1/nx", "nothere." + ex, "A", edns=1)
    c.q("edns/badvers1/refused", "www.example.org.", "A", edns=1)
    qid = c.next_id()
    c.add("edns/ext-rcode-in-query", hdr(qid, ar=1) + qsec("www.example.test.") +
          opt_rr(ext_rcode=1), tcp=False)
    qid = c.next_id()
    c.add("edns/z-bits", hdr(qid, ar=1) + qsec("www.example.test.") +
          struct.pack("!BHHIH", 0, 41, 1232, 0x7FFF, 0))
    opts_unknown = struct.pack("!HH", 65001, 4) + b"abcd"
    qid = c.next_id()
    c.add("edns/unknown-option", hdr(qid, ar=1) + qsec("www.example.test.") +
          opt_rr(rdata=opts_unknown))
    cookie = struct.pack("!HH", 10, 8) + bytes(range(8))
    qid = c.next_id()
    c.add("edns/client-cookie", hdr(qid, ar=1) + qsec("www.example.test.") +
          opt_rr(rdata=cookie))
    qid = c.next_id()
    c.add("edns/padding", hdr(qid, ar=1) + qsec("www.example.test.") +
          opt_rr(rdata=struct.pack("!HH", 12, 16) + bytes(16)))
    qid = c.next_id()
    c.add("edns/bad-option-len", hdr(qid, ar=1) + qsec("www.example.test.") +
          opt_rr(rdata=struct.pack("!HH", 65001, 40) + b"ab"))

    # --- truncation -----------------------------------------------------------
    for n, t in [("many40", "A"), ("many100", "A"), ("bigtxt", "TXT"),
                 ("hugetxt", "TXT"), ("mxbig", "MX"), ("multi", "ANY")]:
        c.q(f"tc/noedns/{n}/{t}", f"{n}.{ch}", t, tcp=True)
        for p in [512, 600, 1232, 4096]:
            c.q(f"tc/edns{p}/{n}/{t}", f"{n}.{ch}", t, edns=0, payload=p)
        c.q(f"tc/edns600do/{n}/{t}", f"{n}.{ch}", t, edns=0, payload=600,
            do=True)
    for p in [None, 512, 600, 1232]:
        tag = "noedns" if p is None else f"edns{p}"
        c.q(f"tc/{tag}/big.deleg/referral", "www.big." + dl, "A",
            edns=None if p is None else 0, payload=p or 1232,
            tcp=(p is None))
        c.q(f"tc/{tag}/big.deleg/NS", "big." + dl, "NS",
            edns=None if p is None else 0, payload=p or 1232)
        c.q(f"tc/{tag}/sibbig.deleg/referral", "www.sibbig." + dl, "A",
            edns=None if p is None else 0, payload=p or 1232)
    c.q("tc/noedns/many40/mixedcase", mixcase("many40." + ch), "A")
    for n, t in [("tomany40", "A"), ("tomany", "A")]:
        c.q(f"tc/noedns/{n}/{t}", f"{n}.{ch}", t, tcp=(n == "tomany"))
        c.q(f"tc/edns1232/{n}/{t}", f"{n}.{ch}", t, edns=0)
        c.q(f"tc/edns600/{n}/{t}", f"{n}.{ch}", t, edns=0, payload=600)

    # --- FORMERR and other malformed ---------------------------------------------
    qq = qsec("www.example.test.")
    c.add("formerr/qdcount0", hdr(c.next_id(), qd=0))
    c.add("formerr/qdcount0/edns", hdr(c.next_id(), qd=0, ar=1) + opt_rr())
    c.add("formerr/qdcount2", hdr(c.next_id(), qd=2) + qq +
          qsec("mail.example.test."))
    c.add("formerr/qdcount2/same", hdr(c.next_id(), qd=2) + qq + qq)
    c.add("formerr/qdcount2/edns", hdr(c.next_id(), qd=2, ar=1) + qq + qq +
          opt_rr())
    c.add("formerr/qdcount1-missing", hdr(c.next_id(), qd=1))
    c.add("formerr/truncated-name", hdr(c.next_id()) + qq[:8])
    c.add("formerr/truncated-type", hdr(c.next_id()) + qq[:-3])
    c.add("formerr/truncated-class", hdr(c.next_id()) + qq[:-1])
    c.add("formerr/short-header", hdr(c.next_id())[:7])
    c.add("formerr/empty-header-only", hdr(c.next_id(), qd=0)[:12])
    c.add("formerr/label-64", hdr(c.next_id()) + b"\x40" + b"a" * 64 +
          wname("example.test.") + b"\x00\x01\x00\x01")
    c.add("formerr/label-type-10", hdr(c.next_id()) + b"\x83www" + b"\x00" +
          b"\x00\x01\x00\x01")
    c.add("formerr/pointer-in-question", hdr(c.next_id()) + b"\x03www" +
          b"\xc0\x0c" + b"\x00\x01\x00\x01")
    c.add("formerr/pointer-forward", hdr(c.next_id()) + b"\xc0\x12" +
          b"\x00\x01\x00\x01" + wname("example.test."))
    longname = b"".join(b"\x3f" + b"x" * 63 for _ in range(4)) + b"\x00"
    c.add("formerr/name-over-255", hdr(c.next_id()) + longname +
          b"\x00\x01\x00\x01")
    c.add("formerr/dup-opt", hdr(c.next_id(), ar=2) + qq + opt_rr() + opt_rr())
    c.add("formerr/dup-opt/do", hdr(c.next_id(), ar=2) + qq + opt_rr(do=True) +
          opt_rr(payload=4096))
    c.add("formerr/opt-owner-not-root", hdr(c.next_id(), ar=1) + qq +
          opt_rr(owner=wname("example.test.")))
    c.add("formerr/opt-owner-ptr", hdr(c.next_id(), ar=1) + qq +
          opt_rr(owner=b"\xc0\x0c"))
    c.add("formerr/opt-in-answer", hdr(c.next_id(), an=1) + qq + opt_rr())
    c.add("formerr/opt-in-authority", hdr(c.next_id(), ns=1) + qq + opt_rr())
    c.add("formerr/opt-rdlen-overrun", hdr(c.next_id(), ar=1) + qq +
          b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 20) + b"\x00\x0a")
    c.add("formerr/arcount-no-rr", hdr(c.next_id(), ar=1) + qq)
    a_rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1])
    c.add("formerr/ancount1", hdr(c.next_id(), an=1) + qq + a_rr)
    c.add("formerr/nscount1", hdr(c.next_id(), ns=1) + qq + a_rr)
    c.add("formerr/arcount1-a-rr", hdr(c.next_id(), ar=1) + qq + a_rr)
    c.add("formerr/trailing-garbage", hdr(c.next_id()) + qq + b"\xde\xad\xbe\xef")
    c.add("formerr/qr-set", hdr(c.next_id(), flags=0x8100) + qq)
    c.add("formerr/qr-set/edns", hdr(c.next_id(), flags=0x8100, ar=1) + qq +
          opt_rr())
    c.add("formerr/rcode-set-in-query", hdr(c.next_id(), flags=0x0103) + qq)

    # --- opcodes -----------------------------------------------------------------
    soa_q = qsec("example.test.", 6)
    for op, name in [(1, "iquery"), (2, "status"), (3, "op3"), (4, "notify"),
                     (5, "update"), (6, "dso"), (7, "op7"), (15, "op15")]:
        c.add(f"opcode/{name}", hdr(c.next_id(), flags=(op << 11) | 0x0100) +
              soa_q)
        c.add(f"opcode/{name}/edns", hdr(c.next_id(), flags=(op << 11), ar=1) +
              soa_q + opt_rr())
    c.add("opcode/notify/aa", hdr(c.next_id(), flags=(4 << 11) | 0x0400) + soa_q)
    c.add("opcode/notify/outzone", hdr(c.next_id(), flags=(4 << 11)) +
          qsec("example.org.", 6))
    c.add("opcode/update/outzone", hdr(c.next_id(), flags=(5 << 11)) +
          qsec("example.org.", 6))
    c.add("opcode/iquery/qd0", hdr(c.next_id(), flags=(1 << 11), qd=0, an=1) +
          b"\x00" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1]))

    # --- query types ----------------------------------------------------------
    for t, lab in [(252, "axfr"), (251, "ixfr"), (253, "maila"), (254, "mailb"),
                   (0, "type0"), (41, "opt"), (249, "tkey"), (250, "tsig"),
                   (46, "rrsig"), (47, "nsec"), (48, "dnskey"), (50, "nsec3"),
                   (51, "nsec3param"), (65280, "private65280"),
                   (65535, "type65535"), (99, "spf")]:
        c.add(f"qtype/{lab}/apex", hdr(c.next_id()) + qsec("example.test.", t))
        c.add(f"qtype/{lab}/www", hdr(c.next_id()) + qsec("www.example.test.", t))
    c.add("qtype/axfr/edns", hdr(c.next_id(), ar=1) +
          qsec("example.test.", 252) + opt_rr())
    c.add("qtype/ixfr/with-soa", hdr(c.next_id(), ns=1) +
          qsec("example.test.", 251) + b"\xc0\x0c" +
          struct.pack("!HHIH", 6, 1, 0, 22) + b"\x00\x00" +
          struct.pack("!IIIII", 1, 0, 0, 0, 0))

    # --- classes ------------------------------------------------------------------
    for cl, lab in [(3, "ch"), (4, "hs"), (254, "none"), (255, "any"),
                    (2, "cs"), (99, "class99"), (0, "class0")]:
        c.add(f"class/{lab}/www", hdr(c.next_id()) +
              qsec("www.example.test.", 1, cl))
        c.add(f"class/{lab}/nx", hdr(c.next_id()) +
              qsec("nothere.example.test.", 1, cl))
        c.add(f"class/{lab}/soa", hdr(c.next_id()) +
              qsec("example.test.", 6, cl))

    # --- CHAOS ----------------------------------------------------------------------
    CH = dns.rdataclass.CH
    for n in ["id.server.", "version.bind.", "hostname.bind.", "version.server.",
              "authors.bind.", "foo.bar.", "server.", "bind."]:
        c.q(f"chaos/{n}/TXT", n, "TXT", rdclass=CH)
    for n in ["id.server.", "version.bind."]:
        c.q(f"chaos/{n}/A", n, "A", rdclass=CH)
        c.q(f"chaos/{n}/ANY", n, "ANY", rdclass=CH)
        c.q(f"chaos/{n}/TXT/edns", n, "TXT", rdclass=CH, edns=0, do=True)
        c.q(f"chaos/{n}/TXT/mixedcase", mixcase(n, "c"), "TXT", rdclass=CH)
    c.q("chaos/id.server/TXT/norec", "id.server.", "TXT", rdclass=CH, rd=False,
        tcp=True)
    c.q("chaos/in/id.server/TXT", "id.server.", "TXT")

    # --- 0x20 mixed case -------------------------------------------------------------
    for name, t in [("www." + ex, "A"), (ex, "MX"), (ex, "NS"), (ex, "SOA"),
                    ("nothere." + ex, "A"), ("www." + ex, "TXT"),
                    ("a." + ch, "A"), ("l1." + ch, "A"), ("www.d." + ch, "A"),
                    ("www.d2." + ch, "A"), ("foo.child." + dl, "A"),
                    ("child." + dl, "DS"), ("host3." + wi, "MX"),
                    ("foo.bar." + wi, "TXT"), ("ghost.*." + wi, "MX"),
                    ("_ssh._tcp.host1." + wi, "SRV"), ("_sip._udp." + ch, "SRV"),
                    ("www.example.org.", "A"), ("multi." + ch, "ANY"),
                    ("mixed.case." + ex, "A"), ("foo.addr." + wi, "A"),
                    (ch, "MX"), ("mx." + dl, "MX"), ("www.big." + dl, "A"),
                    ("x.dx." + ch, "A"), ("dangling." + ch, "A"),
                    ("h42.gen.test.", "A"), ("empty.ent.deep." + ex, "A"),
                    ("sip.srv." + ex, "NAPTR"), ("svc." + ch, "SVCB")]:
        c.q(f"case/{name}/{t}", mixcase(name), t)
    c.q("case/upper/www", "WWW.EXAMPLE.TEST.", "A")
    c.q("case/upper/nx", "NOTHERE.EXAMPLE.TEST.", "A", edns=0)

    # --- header flags in queries --------------------------------------------------
    for fl, lab in [(0, "rd0"), (dns.flags.CD, "cd"), (dns.flags.AD, "ad"),
                    (dns.flags.TC, "tc"), (dns.flags.AA, "aa"),
                    (dns.flags.RA, "ra"), (0x0040, "z")]:
        c.q(f"flags/{lab}/www", "www." + ex, "A", rd=(lab != "rd0"), flags=fl)
        c.q(f"flags/{lab}/nx", "nothere." + ex, "A", rd=False, flags=fl,
            edns=0)

    # --- the generated zone: ~100 queries ----------------------------------------
    N = gen_zone.DEFAULT_NAMES
    picks = [(i * 7919 + 13) % N for i in range(60)]
    for k, i in enumerate(picks):
        name = gen_zone.name_of(i) + ".gen.test."
        if gen_zone.cname_of(i):
            t = "A"
        else:
            t = ["A", "AAAA", "A", "TXT", "A", "MX"][k % 6]  # some NODATA
        if k % 5 == 0:
            name = mixcase(name, "g")
        c.q(f"gen/{i}/{t}", name, t, edns=(0 if k % 2 else None))
    for i in [50, 151, 252, 353]:  # CNAME nodes (i % 101 == 50)
        c.q(f"gen/cname/{i}", gen_zone.name_of(i) + ".gen.test.", "A")
    for i in [0, 17, 34, 51 * 17]:
        c.q(f"gen/mx/{i}", gen_zone.name_of(i) + ".gen.test.", "MX")
    for k in range(32):
        i = (k * 104729 + 7) % N
        kind = k % 4
        if kind == 0:
            name = f"h{i}x.gen.test."  # not a node -> apex wildcard
        elif kind == 1:
            name = f"nope{i}.g{i % 13}.gen.test."  # under ENT -> NXDOMAIN
        elif kind == 2:
            name = f"h{i}.d{(i + 1) % 5}.deep.gen.test."
        else:
            name = f"host-{i:06d}.z{(i + 1) % 3}.gen.test."
        c.q(f"gen/miss/{k}", name, ["A", "TXT"][k % 2])
    for lab in ["g1", "d2.deep", "deep", "z0"]:
        c.q(f"gen/ent/{lab}", f"{lab}.gen.test.", "A")


SIGNED = ["signed.test.", "nsec3.test.", "nsec3o.test.", "knsec3.test."]


def build_signed(c: Corpus):
    """DO=1 on pre-signed zones: RRSIGs with each RRset (RFC 4035 3.1.1),
    NSEC denial for NXDOMAIN/NODATA/wildcards (3.1.3), DS or its absence
    in referrals (3.1.4); DO=0 gets none of it. The same cases on NSEC3
    zones (RFC 5155 7.2: closest encloser proofs, wildcards, opt-out)."""
    for zone in SIGNED:
        build_signed_zone(c, zone)


def build_signed_zone(c: Corpus, zone):
    cases = [("www", "A"), ("www", "AAAA"), ("nope", "A"), ("x.wild", "A"),
             ("x.wild", "TXT"), ("b.ent", "A"), ("ent", "A"), ("alias", "A"),
             ("alias", "AAAA"), ("secure", "A"), ("x.secure", "A"),
             ("insecure", "A"), ("secure", "DS"), ("insecure", "DS"),
             ("", "MX"), ("", "DNSKEY"), ("", "SOA"), ("", "NS"),
             ("", "NSEC"), ("www", "RRSIG"), ("zzz", "A"), ("aaa", "A"),
             ("a.b.c.wild", "A"), ("mail", "A"), ("nope.a.b.ent", "A")]
    if zone != "signed.test.":
        cases += [("x.insecure", "A"), ("ns.insecure", "A"),
                  ("a.nope.ent", "A"), ("x.y.wild", "AAAA"),
                  ("b.ent", "AAAA")]
    for name, rdtype in cases:
        fq = (name + "." if name else "") + zone
        for do in (True, False):
            c.q(f"dnssec/{'do' if do else 'nodo'}/{fq}/{rdtype}", fq, rdtype,
                edns=0, do=do)
        c.q(f"dnssec/case/{fq}/{rdtype}", mixcase(fq, "s"), rdtype, edns=0,
            do=True)
    c.q(f"dnssec/tcp/www.{zone}/A", "www." + zone, "A", edns=0, do=True,
        tcp=True)
    c.q(f"dnssec/small/nope.{zone}", "nope." + zone, "A", edns=0, do=True,
        payload=512)


def build_corpus():
    c = Corpus()
    build(c)
    build_signed(c)
    return c.items


def tcp_labels():
    c = Corpus()
    build(c)
    build_signed(c)
    return set(c.tcp)


TCP_LABELS = None  # filled lazily by run_conformance via tcp_labels()


def main():
    items = build_corpus()
    for label, wire in items:
        print(f"{label}\t{len(wire)}\t{wire.hex()}")
    cats = {}
    for label, _ in items:
        cats[label.split("/")[0]] = cats.get(label.split("/")[0], 0) + 1
    print(f"# {len(items)} queries, {len(tcp_labels())} also over TCP; "
          + ", ".join(f"{k}={v}" for k, v in sorted(cats.items())),
          file=sys.stderr)


if __name__ == "__main__":
    main()
