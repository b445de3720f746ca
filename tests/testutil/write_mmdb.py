#!/usr/bin/env python3
"""Writes a small MaxMind DB (format 2.0) for popdns's GeoIP tests: an IPv6
tree (IPv4 under ::/96, as MaxMind's own databases) with 32-bit records,
whose data records are GeoLite2-like:

    write_mmdb.py OUT.mmdb [PREFIX=country:CC | PREFIX=asn:NUMBER ...]

    198.51.100.0/24=country:DE   {"country": {"iso_code": "DE"}}
    2001:db8:1::/48=asn:64500    {"autonomous_system_number": 64500}

Prefixes may nest (a longer one inside a shorter one wins for its
addresses). The tests read what it wrote back with Debian's mmdblookup
(libmaxminddb), so a mistake here shows there and not only in popdns.
Spec: https://maxmind.github.io/MaxMind-DB/
"""
import ipaddress
import struct
import sys
import time

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


def control(type_, size):
    """Control byte(s) of a field: type and payload size."""
    if type_ <= 7:
        first, extended = type_ << 5, b""
    else:
        first, extended = 0, bytes([type_ - 7])
    if size < 29:
        return bytes([first | size]) + extended
    if size < 285:
        return bytes([first | 29]) + extended + bytes([size - 29])
    if size < 65821:
        return bytes([first | 30]) + extended + struct.pack(">H", size - 285)
    return (bytes([first | 31]) + extended +
            struct.pack(">I", size - 65821)[1:])


def encode(value, type_hint=None):
    if isinstance(value, str):
        b = value.encode()
        return control(2, len(b)) + b
    if isinstance(value, dict):
        out = control(7, len(value))
        for k, v in value.items():
            hint = None
            if isinstance(v, tuple):
                v, hint = v
            out += encode(k) + encode(v, hint)
        return out
    if isinstance(value, list):
        out = control(11, len(value))
        for v in value:
            out += encode(v)
        return out
    if isinstance(value, int):
        type_ = {"uint16": 5, "uint32": 6, "uint64": 9}[type_hint or "uint32"]
        b = value.to_bytes(16, "big").lstrip(b"\0")
        return control(type_, len(b)) + b
    raise TypeError(value)


def parse(arg):
    prefix, _, what = arg.partition("=")
    kind, _, val = what.partition(":")
    net = ipaddress.ip_network(prefix)
    if net.version == 4:  # under ::/96, as MaxMind puts IPv4
        net = ipaddress.ip_network("::%s/%d" % (net.network_address,
                                                96 + net.prefixlen))
    if kind == "country":
        record = {"country": {"iso_code": val}}
    elif kind == "asn":
        record = {"autonomous_system_number": (int(val), "uint32"),
                  "autonomous_system_organization": "AS" + val}
    else:
        raise SystemExit("unknown kind in %r" % arg)
    return net, record


def main():
    out_path, args = sys.argv[1], sys.argv[2:]
    entries = sorted((parse(a) for a in args), key=lambda e: e[0].prefixlen)
    data, offsets = b"", {}
    # Nodes: [left, right]; a child is ("node", i), ("data", offset) or None.
    nodes = [[None, None]]
    for net, record in entries:
        key = repr(record)
        if key not in offsets:
            offsets[key] = len(data)
            data += encode(record)
        bits = int(net.network_address)
        node = 0
        for depth in range(net.prefixlen):
            side = (bits >> (127 - depth)) & 1
            if depth == net.prefixlen - 1:
                nodes[node][side] = ("data", offsets[key])
                break
            child = nodes[node][side]
            if child is None or child[0] == "data":
                # A shorter prefix's record: pushed down to both halves.
                nodes.append([child, child])
                nodes[node][side] = ("node", len(nodes) - 1)
            node = nodes[node][side][1]
    count = len(nodes)

    def record_value(child):
        if child is None:
            return count
        if child[0] == "node":
            return child[1]
        return count + 16 + child[1]

    tree = b"".join(struct.pack(">II", record_value(l), record_value(r))
                    for l, r in nodes)
    metadata = encode({
        "node_count": (count, "uint32"),
        "record_size": (32, "uint16"),
        "ip_version": (6, "uint16"),
        "database_type": "popdns-test",
        "languages": ["en"],
        "binary_format_major_version": (2, "uint16"),
        "binary_format_minor_version": (0, "uint16"),
        "build_epoch": (int(time.time()), "uint64"),
        "description": {"en": "popdns GeoIP test database"},
    })
    with open(out_path, "wb") as f:
        f.write(tree + b"\0" * 16 + data + METADATA_MARKER + metadata)


if __name__ == "__main__":
    main()
