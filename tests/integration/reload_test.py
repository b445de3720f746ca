#!/usr/bin/env python3
"""Reload under load on the kernel-socket path.

popdns serves a zone on loopback while dnsperf sends queries for 10 s and
the zone is rewritten and reloaded 200 times (`popdnsctl reload`), each time
with a new serial N, `ver CNAME vN` and `vN A/TXT` carrying N. A checker asks
`ver A` all along: every response must be NOERROR with the CNAME and the A
of one and the same version (never a mix of two snapshots), and versions
never go back. dnsperf must lose nothing and see only NOERROR.
Usage: reload_test.py BUILD_DIR
"""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, failures, free_port, summary  # noqa: E402

BUILD = sys.argv[1]
POPDNS = os.path.join(BUILD, "control", "popdns")
POPDNSCTL = os.path.join(BUILD, "control", "popdnsctl")
RELOADS = 200
DURATION = 10

def zone_text(n):
    return f"""$ORIGIN example.test.
$TTL 300
@ SOA ns hm {n} 3600 600 86400 60
@ NS ns
ns A 192.0.2.1
www A 192.0.2.2
mail A 192.0.2.3
ver CNAME v{n}
v{n} A 10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}
v{n} TXT "{n}"
"""


def write_zone(path, n):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(zone_text(n))
    os.replace(tmp, path)  # a reload never reads a half-written file


def parse_ver(resp):
    """Returns (rcode, cname_version, a_version) of a `ver A` response."""
    rcode = resp[3] & 0xF
    an = struct.unpack(">H", resp[6:8])[0]
    pos = 12
    while resp[pos]:
        pos += 1 + resp[pos]
    pos += 5
    cname_v = a_v = None
    for _ in range(an):
        # owner: a pointer or a name
        while resp[pos] and resp[pos] < 0xC0:
            pos += 1 + resp[pos]
        pos += 2 if resp[pos] >= 0xC0 else 1
        rtype, _, _, rdlen = struct.unpack(">HHIH", resp[pos:pos + 10])
        pos += 10
        rdata = resp[pos:pos + rdlen]
        if rtype == 5:
            # target "v<N>" + pointer: first label is v followed by digits
            cname_v = int(rdata[2:1 + rdata[0]]) if rdata[1:2] == b"v" else None
        elif rtype == 1:
            a_v = rdata[1] * 65536 + rdata[2] * 256 + rdata[3]
        pos += rdlen
    return rcode, cname_v, a_v


def checker(port, stop, results):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    q = struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0) + \
        b"\x03ver\x07example\x04test\x00" + struct.pack(">HH", 1, 1)
    last = 0
    while not stop.is_set():
        s.sendto(q, ("127.0.0.1", port))
        try:
            resp = s.recv(4096)
        except socket.timeout:
            results["timeouts"] += 1
            continue
        results["answers"] += 1
        rcode, cv, av = parse_ver(resp)
        if rcode != 0:
            results["bad_rcode"] += 1
        elif cv is None or av is None or cv != av:
            results["mixed"] += 1
            results["example"] = resp.hex()
        elif cv < last:
            results["backwards"] += 1
        else:
            last = cv
    results["last"] = last


def main():
    tmp = tempfile.mkdtemp(prefix="popdns-reload-")
    zone = os.path.join(tmp, "example.test.zone")
    write_zone(zone, 1)
    sock = os.path.join(tmp, "control.sock")
    port = free_port()
    proc = subprocess.Popen(
        [POPDNS, "--zone", "example.test=" + zone, "--listen",
         "127.0.0.1:%d" % port, "--control-socket", sock, "--udp-threads", "2"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "log"), "w"))
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        qfile = os.path.join(tmp, "q.txt")
        with open(qfile, "w") as f:
            f.write("www.example.test A\nmail.example.test A\n"
                    "ver.example.test A\nexample.test SOA\n")
        perf = subprocess.Popen(
            ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile,
             "-l", str(DURATION), "-Q", "3000"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        stop = threading.Event()
        results = {"answers": 0, "timeouts": 0, "bad_rcode": 0, "mixed": 0,
                   "backwards": 0}
        t = threading.Thread(target=checker, args=(port, stop, results))
        t.start()
        failed_reloads = []
        start = time.time()
        for n in range(2, RELOADS + 2):
            write_zone(zone, n)
            r = subprocess.run([POPDNSCTL, "--socket", sock, "reload"],
                               capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                failed_reloads.append(r.stderr)
            # Spread the reloads over the load run.
            time.sleep(max(0, (DURATION - 1) / RELOADS - 0.001))
        elapsed = time.time() - start
        out, _ = perf.communicate(timeout=60)
        stop.set()
        t.join()
        print(out)
        print("checker:", results, "reloads took %.1fs" % elapsed)
        check(not failed_reloads, "%d reloads succeed %s" % (RELOADS, failed_reloads[:1]))
        check(results["answers"] > 100, "checker got answers (%d)" % results["answers"])
        check(results["mixed"] == 0,
              "no response mixes two versions (%d; %s)" % (results["mixed"],
                                                           results.get("example")))
        check(results["bad_rcode"] == 0, "no SERVFAIL or other error rcode")
        check(results["backwards"] == 0, "versions never go back")
        check(results["timeouts"] == 0, "checker lost no query")
        check(results["last"] == RELOADS + 1,
              "last version served is the last loaded (%d)" % results["last"])
        lost = re.search(r"Queries lost:\s+(\d+)", out)
        sent = re.search(r"Queries sent:\s+(\d+)", out)
        check(lost and lost.group(1) == "0" and sent and int(sent.group(1)) > 1000,
              "dnsperf lost nothing (%s sent, %s lost)" %
              (sent and sent.group(1), lost and lost.group(1)))
        codes = re.search(r"Response codes:\s+(.*)", out)
        check(codes and "NOERROR" in codes.group(1) and "SERVFAIL" not in codes.group(1)
              and codes.group(1).count("(") == 1,
              "dnsperf saw only NOERROR (%s)" % (codes and codes.group(1)))
    finally:
        proc.terminate()
        rc = proc.wait(timeout=10)
        check(rc == 0, "popdns exits cleanly after the run (exit %d)" % rc)
        if failures:
            print(open(os.path.join(tmp, "log")).read()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
