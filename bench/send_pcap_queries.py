#!/usr/bin/env python3
"""Sends the DNS queries of a pcap (bench/make_replay_pcap.py) over UDP.

  send_pcap_queries.py HOST PORT PCAP COUNT [--window 8] [--deadline 300]
  send_pcap_queries.py HOST PORT --probe [--deadline 120]

Queries are the UDP payloads of the pcap's Ethernet/IPv4/UDP frames, sent
round-robin until COUNT were sent, with at most --window unanswered at a
time (a reply or a --timeout (5 s) frees a slot; a late reply still counts
as answered). Prints "sent N answered M timeouts T seconds S" and exits 1
if fewer than 99% were answered or the deadline passed. --probe asks `bench.test. SOA` every 0.2 s until an answer with
RCODE NOERROR and AA=1 comes back (the server has loaded the zone): one
answered query, the same for every run of bench/callgrind_compare.sh.
Python 3 standard library only; traffic goes to HOST (loopback) only.
"""
import argparse
import select
import socket
import struct
import sys
import time


def payloads(path):
    with open(path, "rb") as f:
        data = f.read()
    if struct.unpack_from("<I", data, 0)[0] != 0xa1b2c3d4:
        sys.exit("not a little-endian classic pcap: " + path)
    out, at = [], 24
    while at + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, at + 8)[0]
        fr = data[at + 16:at + 16 + caplen]
        at += 16 + caplen
        ihl = (fr[14] & 0x0f) * 4
        out.append(fr[14 + ihl + 8:])  # Ethernet, IPv4, UDP header
    return out


def probe(host, port, deadline):
    q = struct.pack(">HHHHHH", 0x5053, 0, 1, 0, 0, 0)
    q += b"\x05bench\x04test\x00" + struct.pack(">HH", 6, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            s.sendto(q, (host, port))
        except OSError:
            pass
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            try:
                resp = s.recv(65535)
            except OSError:  # ICMP port unreachable: not bound yet
                continue
            if len(resp) >= 4 and resp[3] & 0x0f == 0 and resp[2] & 0x04:
                return 0
            time.sleep(0.2)
    print("probe: no authoritative answer before the deadline",
          file=sys.stderr)
    return 1


def send(host, port, queries, count, window, deadline, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.connect((host, port))
    start = time.monotonic()
    end = start + deadline
    sent = answered = timeouts = 0
    outstanding = {}  # id -> send time
    late = set()  # timed out, but a reply may still come
    nq = len(queries)
    while (sent < count or outstanding) and time.monotonic() < end:
        while sent < count and len(outstanding) < window:
            q = queries[sent % nq]
            # Unique ids per window slot so that replies match.
            qid = sent & 0xffff
            late.discard(qid)
            s.send(struct.pack(">H", qid) + q[2:])
            outstanding[qid] = time.monotonic()
            sent += 1
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            while True:
                try:
                    resp = s.recv(65535)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                qid = struct.unpack_from(">H", resp, 0)[0]
                if outstanding.pop(qid, None) is not None:
                    answered += 1
                elif qid in late:
                    late.discard(qid)
                    answered += 1
        now = time.monotonic()
        for qid in [k for k, t in outstanding.items() if now - t > timeout]:
            del outstanding[qid]
            late.add(qid)
            timeouts += 1
    secs = time.monotonic() - start
    print(f"sent {sent} answered {answered} timeouts {timeouts} "
          f"seconds {secs:.2f}")
    return 0 if answered >= 0.99 * count and sent == count else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("pcap", nargs="?")
    p.add_argument("count", nargs="?", type=int, default=0)
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--deadline", type=float, default=300)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--probe", action="store_true")
    a = p.parse_args()
    if a.probe:
        return probe(a.host, a.port, a.deadline)
    return send(a.host, a.port, payloads(a.pcap), a.count, a.window,
                a.deadline, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
