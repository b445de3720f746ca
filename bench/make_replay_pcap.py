#!/usr/bin/env python3
"""Writes a benchmark zone file and a pcap of DNS query frames for it.

Used by bench/replay_bench.sh (popdns fed from net_pcap with infinite_rx),
bench/callgrind_compare.sh (the same queries for popdns's path_driver, knotd
and nsd). Python 3 standard library only; deterministic for a given --seed.

Zone (apex bench.test., about --names owner names), the shape of
bench/answer_benchmark.cc: of every 40 names, 4 are `cnameN CNAME hostM`,
one is a delegation `delN NS ns.delN` plus its glue `ns.delN A` (two names),
and the rest are `hostN A` (every 4th also AAAA); plus the apex (SOA, NS),
ns1/ns2 and the wildcard `*.wild A`.

Query mix (each query picks its name uniformly over the zone, so a big zone
spreads the working set over many cache lines):
  70% existing A/AAAA  hostN A, or hostN AAAA on a host that has one (1 in 4)
  10% NXDOMAIN         nxN.bench.test. A
  10% wildcard         wN.wild.bench.test. A  (synthesised from *.wild)
   5% CNAME            cnameN A  (followed in zone to hostM A)
   5% referral         wwwN.delN A  (NS + glue)
every one with EDNS (UDP size 1232, as resolvers send them), RD=0.

Frames: Ethernet/IPv4/UDP to 198.18.0.1:53 from addresses in 198.19.0.0/16
and ports 1024-65535, valid IPv4 header and UDP checksums.

  make_replay_pcap.py --names 1000000 --count 12288 \\
      --zone-out bench.zone --pcap-out queries.pcap [--seed 1]
"""
import argparse
import random
import struct
import sys

APEX = "bench.test."
SERVICE = bytes([198, 18, 0, 1])
DST = SERVICE  # --dst: e.g. 198.18.0.2, frames the dataplane does not answer
DST_MAC = bytes.fromhex("020000000001")
SRC_MAC = bytes.fromhex("020000000002")

# (share in percent, kind)
MIX = [(70, "exact"), (10, "nxdomain"), (10, "wildcard"), (5, "cname"),
       (5, "referral")]


class Shape:
    def __init__(self, names):
        self.cnames = names // 10
        self.dels = names // 40
        self.hosts = names - self.cnames - 2 * self.dels
        if self.hosts < 4 or self.cnames < 1 or self.dels < 1:
            sys.exit("--names must be at least 40")


def ip4(i):
    return f"10.{(i >> 16) & 0xff}.{(i >> 8) & 0xff}.{i & 0xff}"


def write_zone(path, names):
    s = Shape(names)
    with open(path, "w") as f:
        w = f.write
        w(f"$ORIGIN {APEX}\n$TTL 3600\n")
        w("@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n")
        w("@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2\n")
        w("*.wild A 192.0.2.5\n")
        lines = []
        for i in range(s.hosts):
            lines.append(f"host{i} A {ip4(i)}\n")
            if i % 4 == 3:
                lines.append(f"host{i} AAAA 2001:db8::{i & 0xffff:x}\n")
            if len(lines) > 65536:
                w("".join(lines))
                lines = []
        for i in range(s.cnames):
            lines.append(f"cname{i} CNAME host{(i * 7919) % s.hosts}\n")
        for i in range(s.dels):
            lines.append(f"del{i} NS ns.del{i}\nns.del{i} A {ip4(i + 1)}\n")
        w("".join(lines))


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_query(qid, name, qtype):
    # RFC 1035 4.1.1 header: QDCOUNT 1, ARCOUNT 1 (OPT, RFC 6891 6.1.2).
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1)
    msg += wire_name(name) + struct.pack(">HH", qtype, 1)
    msg += b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    return msg


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def frame(src_ip, sport, ip_id, payload):
    udp_len = 8 + len(payload)
    udp = struct.pack(">HHHH", sport, 53, udp_len, 0) + payload
    pseudo = src_ip + DST + struct.pack(">BBH", 0, 17, udp_len)
    c = checksum(pseudo + udp) or 0xffff  # RFC 768: 0 means "none"
    udp = udp[:6] + struct.pack(">H", c) + udp[8:]
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ip_id, 0x4000,
                     64, 17, 0, src_ip, DST)
    ip = ip[:10] + struct.pack(">H", checksum(ip)) + ip[12:]
    return DST_MAC + SRC_MAC + b"\x08\x00" + ip + udp


def make_queries(names, count, rng):
    """Returns [(kind, name, qtype)] with the exact shares of MIX."""
    s = Shape(names)
    kinds = []
    for share, kind in MIX:
        kinds += [kind] * (count * share // 100)
    kinds += ["exact"] * (count - len(kinds))
    rng.shuffle(kinds)
    out = []
    for kind in kinds:
        if kind == "exact":
            if rng.randrange(4) == 0:  # AAAA, on a host that has one
                i = rng.randrange(s.hosts // 4) * 4 + 3
                out.append((kind, f"host{i}.{APEX}", 28))
            else:
                out.append((kind, f"host{rng.randrange(s.hosts)}.{APEX}", 1))
        elif kind == "nxdomain":
            out.append((kind, f"nx{rng.randrange(names)}.{APEX}", 1))
        elif kind == "wildcard":
            out.append((kind, f"w{rng.randrange(1000000)}.wild.{APEX}", 1))
        elif kind == "cname":
            out.append((kind, f"cname{rng.randrange(s.cnames)}.{APEX}", 1))
        else:
            i = rng.randrange(s.dels)
            out.append((kind, f"www{rng.randrange(1000)}.del{i}.{APEX}", 1))
    return out


def write_pcap(path, queries, rng):
    with open(path, "wb") as f:
        # pcap global header: v2.4, snaplen 65535, LINKTYPE_ETHERNET.
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for n, (_, name, qtype) in enumerate(queries):
            src = bytes([198, 19, rng.randrange(256), rng.randrange(1, 255)])
            fr = frame(src, rng.randrange(1024, 65536), n & 0xffff,
                       dns_query(rng.randrange(65536), name, qtype))
            f.write(struct.pack("<IIII", n // 1000000, n % 1000000, len(fr),
                                len(fr)))
            f.write(fr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--names", type=int, required=True)
    p.add_argument("--count", type=int, default=12288)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--zone-out")
    p.add_argument("--pcap-out")
    p.add_argument("--dst", default="198.18.0.1",
                   help="destination address of the frames")
    a = p.parse_args()
    global DST
    DST = bytes(int(x) for x in a.dst.split("."))
    if a.zone_out:
        write_zone(a.zone_out, a.names)
    if a.pcap_out:
        rng = random.Random(a.seed * 1000003 + a.names)
        queries = make_queries(a.names, a.count, rng)
        write_pcap(a.pcap_out, queries, rng)
        shares = {}
        for kind, _, _ in queries:
            shares[kind] = shares.get(kind, 0) + 1
        print(" ".join(f"{k}={v}" for k, v in sorted(shares.items())),
              file=sys.stderr)


if __name__ == "__main__":
    main()
