#!/usr/bin/env python3
"""Latency of single UDP queries at a low, steady rate: what the workers'
idle mode (dataplane.idle: poll | sleep) costs a quiet PoP.

  idle_latency.py HOST [--rate QPS] [--count N] [--name NAME]

Sends one query at a time (A NAME, no EDNS), RATE a second, waits for its
answer, and prints the round-trip percentiles in microseconds (p50, p90,
p99, max) and the losses. Run it in the client namespace of
scripts/softnic.sh against a popdns in each mode; the client's own cost
(Python, the kernel's UDP path) is in both numbers alike. Bounded: at most
COUNT queries, each waiting 1 s at most. Standard library only."""
import argparse
import os
import socket
import struct
import time


def query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--name", default="www.example.test")
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect((a.host, 53))
    rtts, lost = [], 0
    period = 1.0 / a.rate
    next_at = time.monotonic()
    for i in range(a.count):
        qid = (os.getpid() + i) & 0xFFFF
        msg = query(a.name, qid)
        t0 = time.perf_counter_ns()
        s.send(msg)
        try:
            while True:
                r = s.recv(4096)
                if r[:2] == msg[:2]:
                    break
            rtts.append((time.perf_counter_ns() - t0) / 1000.0)
        except socket.timeout:
            lost += 1
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    rtts.sort()

    def pct(p):
        return rtts[min(len(rtts) - 1, int(p / 100.0 * len(rtts)))] if rtts else 0

    print("queries %d lost %d rate %.0f/s  p50 %.0f us  p90 %.0f us  "
          "p99 %.0f us  max %.0f us" % (a.count, lost, a.rate, pct(50),
                                        pct(90), pct(99), rtts[-1] if rtts else 0))


if __name__ == "__main__":
    main()
