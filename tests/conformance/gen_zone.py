#!/usr/bin/python3
"""Writes the deterministic 100k-name generated zone gen.test. to a path.

Usage: gen_zone.py OUTPUT [--names N]

Names are h<i>.gen.test. (A, plus AAAA / TXT / MX / CNAME on some), grouped
under a few second-level labels so the tree has depth and empty non-terminals.
The same i always yields the same records, so corpus.py can reason about
which names exist without reading the file (see gen_names()).
"""
import argparse
import sys

ORIGIN = "gen.test."
DEFAULT_NAMES = 100_000


def name_of(i: int) -> str:
    """Relative owner name of generated node i."""
    group = i % 7
    if group == 0:
        return f"h{i}"
    if group in (1, 2):
        return f"h{i}.g{i % 13}"
    if group == 3:
        return f"h{i}.d{i % 5}.deep"
    return f"host-{i:06d}.z{i % 3}"


def records_of(i: int):
    """(type, rdata) list of node i."""
    recs = [("A", f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}")]
    if i % 3 == 0:
        recs.append(("AAAA", f"2001:db8:{(i >> 16) & 0xffff:x}::{i & 0xffff:x}"))
    if i % 11 == 0:
        recs.append(("TXT", f'"node {i}"'))
    if i % 17 == 0:
        recs.append(("MX", f"10 {name_of((i + 1) % DEFAULT_NAMES)}.{ORIGIN}"))
    return recs


def cname_of(i: int):
    """Every 101st name is a CNAME instead (points to the next node)."""
    return f"{name_of((i + 1) % DEFAULT_NAMES)}.{ORIGIN}" if i % 101 == 50 else None


def write(out, n: int) -> None:
    out.write(f"$ORIGIN {ORIGIN}\n$TTL 3600\n")
    out.write("@ IN SOA ns1.gen.test. hostmaster.gen.test. 1 3600 900 604800 120\n")
    out.write("@ NS ns1.gen.test.\n@ NS ns2.gen.test.\n")
    out.write("ns1 A 192.0.2.1\nns2 A 192.0.2.2\n")
    out.write("* TXT \"gen wildcard\"\n")  # wildcard at apex; names below g*/deep/z* ENTs are blocked
    for i in range(n):
        c = cname_of(i)
        if c:
            out.write(f"{name_of(i)} CNAME {c}\n")
            continue
        for t, rd in records_of(i):
            out.write(f"{name_of(i)} {t} {rd}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("output")
    ap.add_argument("--names", type=int, default=DEFAULT_NAMES)
    a = ap.parse_args()
    with open(a.output, "w") as f:
        write(f, a.names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
