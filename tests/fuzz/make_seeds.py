#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/answer_fuzzer.cc: raw DNS queries
(as a client sends them over UDP, no TCP length prefix) for names in
tests/testdata/example.test.zone and the fuzzer's wild.test. zone, with and
without EDNS, plus some malformed ones.

    tests/fuzz/make_seeds.py [out_dir]    (default: tests/fuzz/corpus/answer)

Standard library only. The first byte of each query (the ID's high byte)
also steers the fuzzer: bit 0 answers over TCP too, bit 1 compares with the
general path; the IDs below cover all four combinations.
"""
import os
import struct
import sys

A, NS, CNAME, SOA, MX, TXT, AAAA, SRV, DNAME, OPT, DS, TSIG, IXFR, AXFR, ANY = (
    1, 2, 5, 6, 15, 16, 28, 33, 39, 41, 43, 250, 251, 252, 255)


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def opt(udp=1232, do=False, version=0, options=b""):
    return (b"\0" + struct.pack(">HHBBHH", OPT, udp, 0, version,
                                0x8000 if do else 0, len(options)) + options)


def tsig(key="key.", mac_size=32):
    """A TSIG record (RFC 8945 4.2), hmac-sha256, zero MAC."""
    rdata = (name("hmac-sha256.") + struct.pack(">HIHH", 0, 0x65000000, 300,
                                                mac_size)
             + bytes(mac_size) + struct.pack(">HHH", 0x1234, 0, 0))
    return name(key) + struct.pack(">HHIH", TSIG, 255, 0, len(rdata)) + rdata


def query(qname, qtype, qid=0x1234, edns=None, flags=0x0000, qclass=1,
          qdcount=1, extra=b""):
    arcount = (1 if edns is not None else 0) + (1 if extra else 0)
    header = struct.pack(">HHHHHH", qid, flags, qdcount, 0, 0, arcount)
    body = name(qname) + struct.pack(">HH", qtype, qclass)
    return header + body + extra + (edns if edns is not None else b"")


def seeds():
    ids = [0x0000, 0x0101, 0x0202, 0x0303]  # fuzzer bits: -, TCP, diff, both
    plain = [
        ("www.example.test.", A), ("WwW.ExAmPlE.TeSt.", A),
        ("www.example.test.", AAAA), ("example.test.", MX),
        ("example.test.", ANY), ("example.test.", SOA),
        ("example.test.", NS), ("child.example.test.", DS),
        ("host.child.example.test.", A), ("alias.example.test.", A),
        ("chain1.example.test.", AAAA), ("loop1.example.test.", A),
        ("x.wild.example.test.", TXT), ("a.b.wildcname.example.test.", A),
        ("sub.deep.example.test.", A), ("nope.example.test.", A),
        ("a.below.dn.example.test.", A), ("big.example.test.", TXT),
        ("_sip._tcp.example.test.", SRV), ("sub.child.example.test.", DS),
        ("q.wild.test.", MX), ("q.x.a.b.wild.test.", TXT),
        ("q.y.z.ent.wild.test.", A), ("z.ent.wild.test.", A),
        ("q.c.wild.test.", A), ("a.loop.wild.test.", A),
        ("q.cut.wild.test.", A), ("q.d.wild.test.", A),
        ("q.x.d2.wild.test.", A), ("www.other.test.", A),
    ]
    out = []
    for i, (qname, qtype) in enumerate(plain):
        qid = ids[i % 4] | (i << 2)
        if i % 3 == 0:
            out.append(query(qname, qtype, qid))
        elif i % 3 == 1:
            out.append(query(qname, qtype, qid, edns=opt()))
        else:
            out.append(query(qname, qtype, qid, edns=opt(4096, do=True)))
    # EDNS corner cases (RFC 6891): small size, BADVERS, an option.
    out.append(query("big.example.test.", TXT, 0x0311, edns=opt(100)))
    out.append(query("www.example.test.", A, 0x0112, edns=opt(version=1)))
    out.append(query("www.example.test.", A, 0x0213,
                     edns=opt(options=struct.pack(">HH", 10, 8) + b"cookie!!")))
    # CHAOS identity (RFC 4892) and a transfer over UDP.
    out.append(query("id.server.", TXT, 0x0014, qclass=3))
    out.append(query("version.bind.", TXT, 0x0115, qclass=3))
    out.append(query("example.test.", AXFR, 0x0016))
    # Malformed: short header, a response, QDCOUNT 0 and 2, truncated
    # question, compressed qname, label too long, trailing bytes, two OPTs,
    # opcode NOTIFY.
    good = query("www.example.test.", A, 0x0317)
    out.append(good[:7])
    out.append(query("www.example.test.", A, 0x0018, flags=0x8000))
    out.append(struct.pack(">HHHHHH", 0x0119, 0, 0, 0, 0, 0))
    out.append(query("www.example.test.", A, 0x021a, qdcount=2))
    out.append(good[:-3])
    out.append(struct.pack(">HHHHHH", 0x031b, 0, 1, 0, 0, 0) +
               b"\3www\xc0\x0c" + struct.pack(">HH", A, 1))
    out.append(struct.pack(">HHHHHH", 0x001c, 0, 1, 0, 0, 0) +
               b"\x40" + b"a" * 64 + b"\0" + struct.pack(">HH", A, 1))
    out.append(good + b"\0\0")
    out.append(query("www.example.test.", A, 0x011d, edns=opt(),
                     extra=opt()))
    out.append(query("example.test.", SOA, 0x021e, flags=0x2000))
    # For the control side (dns::AnswerResult::slow_path): UPDATE, IXFR
    # with its SOA in the authority section (RFC 1995 3), a query signed
    # with TSIG alone and after an OPT (RFC 8945), a TSIG before the OPT
    # (FORMERR, RFC 8945 5.1).
    out.append(query("example.test.", SOA, 0x031f, flags=0x2800))
    soa = (b"\xc0\x0c" + struct.pack(">HHIH", SOA, 1, 0, 22) + b"\0\0" +
           struct.pack(">IIIII", 2024010101, 1, 1, 1, 1))
    ixfr = query("example.test.", IXFR, 0x0020)
    out.append(ixfr[:6] + b"\0\1" + ixfr[8:] + soa)
    signed = query("www.example.test.", A, 0x0121, extra=tsig())
    out.append(signed)
    edns_signed = query("www.example.test.", A, 0x0222, edns=opt())
    edns_signed = (edns_signed[:10] + b"\0\2" + edns_signed[12:] + tsig())
    out.append(edns_signed)
    out.append(query("www.example.test.", A, 0x0323, edns=opt(),
                     extra=tsig()))
    # NSID (RFC 5001), edns-tcp-keepalive (RFC 7828) and a cookie, over UDP
    # and TCP with the fuzzer's options on (first ID byte: bits 0-2); a
    # keepalive with a TIMEOUT and a NSID with data (both still asking).
    nsid = struct.pack(">HH", 3, 0)
    keepalive = struct.pack(">HH", 11, 0)
    cookie = struct.pack(">HH", 10, 8) + b"cookie!!"
    out.append(query("www.example.test.", A, 0x0724,
                     edns=opt(options=nsid + keepalive + cookie)))
    out.append(query("big.example.test.", TXT, 0x0525,
                     edns=opt(options=keepalive + nsid)))
    out.append(query("www.example.org.", A, 0x0526,
                     edns=opt(options=struct.pack(">HHH", 11, 2, 100) +
                              struct.pack(">HH", 3, 2) + b"hi")))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "corpus", "answer")
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        if f.startswith("seed-"):
            os.remove(os.path.join(out_dir, f))
    for i, q in enumerate(seeds()):
        with open(os.path.join(out_dir, "seed-%02d" % i), "wb") as fh:
            fh.write(q)
    print("wrote %d seeds to %s" % (len(seeds()), out_dir))


if __name__ == "__main__":
    main()
