#!/usr/bin/python3
"""Writes seeds for xfr_fuzzer (tests/fuzz/corpus/xfr/): AXFR and IXFR
response streams built with dnspython, in the fuzzer's input format
(byte 0: even = AXFR, odd = IXFR from serial 1; then length-prefixed
messages)."""
import os
import struct
import sys

import dns.message
import dns.name
import dns.rrset

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "corpus", "xfr")
os.makedirs(out, exist_ok=True)


def soa(serial):
    return dns.rrset.from_text(
        "example.test.", 3600, "IN", "SOA",
        f"ns1.example.test. admin.example.test. {serial} 3600 600 86400 300")


def rr(name, rtype, *data):
    return dns.rrset.from_text(name + ".example.test.", 300, "IN", rtype, *data)


def messages(rrsets_per_msg, qtype):
    wires = []
    for i, rrsets in enumerate(rrsets_per_msg):
        m = dns.message.make_response(
            dns.message.make_query("example.test.", qtype))
        if i:
            m.question = []
        for r in rrsets:
            m.answer.append(r)
        wires.append(m.to_wire())
    return wires


def write(name, selector, wires):
    data = bytes([selector]) + b"".join(struct.pack("!H", len(w)) + w
                                        for w in wires)
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


write("axfr-one", 0, messages([[soa(1), rr("www", "A", "192.0.2.1"),
                                rr("mail", "MX", "10 mx.example.test."),
                                soa(1)]], "AXFR"))
write("axfr-two", 0, messages([[soa(2), rr("a", "CNAME", "b.example.test.")],
                               [rr("b", "AAAA", "2001:db8::1"), soa(2)]],
                              "AXFR"))
write("ixfr-incremental", 1, messages(
    [[soa(3), soa(1), rr("www", "A", "192.0.2.1"), soa(2),
      rr("www", "A", "192.0.2.2")],
     [soa(2), soa(3), rr("new", "TXT", '"hello"'), soa(3)]], "IXFR"))
write("ixfr-uptodate", 1, messages([[soa(1)]], "IXFR"))
write("ixfr-axfr-style", 1, messages([[soa(4), rr("x", "A", "192.0.2.9"),
                                       soa(4)]], "IXFR"))
