#!/usr/bin/env python3
"""Integration test of the popdns daemon on loopback kernel sockets.

Starts popdns on a free port of 127.0.0.1 and asks it with dig and kdig over
UDP and TCP (RFC 7766), including a TC=1 answer retried over TCP (RFC 2181 9
/ RFC 7766 5), then reloads the zone through popdnsctl and SIGHUP, breaks it
(the old version must keep serving, the error must name file:line), and
stops it with SIGTERM. Usage: daemon_test.py BUILD_DIR SOURCE_DIR
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, failures, free_port, run, summary  # noqa: E402

BUILD, SRC = sys.argv[1], sys.argv[2]
POPDNS = os.path.join(BUILD, "control", "popdns")
POPDNSCTL = os.path.join(BUILD, "control", "popdnsctl")
ZONE_SRC = os.path.join(SRC, "tests", "testdata", "example.test.zone")

failures = []


def dig(port, *args):
    return run(["dig", "@127.0.0.1", "-p", str(port), "+norec", "+time=2",
                "+tries=1"] + list(args)).stdout


def wait_ready(port, proc):
    for _ in range(100):
        if proc.poll() is not None:
            return False
        if "status: NOERROR" in dig(port, "www.example.test", "A"):
            return True
        time.sleep(0.1)
    return False


def tcp_query(qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + \
        b"\x03www\x07example\x04test\x00" + struct.pack(">HH", 1, 1)
    return struct.pack(">H", len(q)) + q


def read_tcp_message(sock):
    head = b""
    while len(head) < 2:
        chunk = sock.recv(2 - len(head))
        if not chunk:
            return None
        head += chunk
    n = struct.unpack(">H", head)[0]
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def tcp_limits(tmp, zone):
    """RFC 7766 6.2.3 idle timeout, 6.2.2 connection cap, 6.2.1.1
    pipelining, and no head-of-line blocking by a stalled client."""
    port = free_port()
    conf = os.path.join(tmp, "tcp.yaml")
    with open(conf, "w") as f:
        f.write("listen: ['127.0.0.1:%d']\nzones: [{name: example.test, file: %s}]\n"
                "tcp_idle_timeout_ms: 700\ntcp_max_connections: 3\n"
                "control_socket: %s\n" % (port, zone, os.path.join(tmp, "tcp.sock")))
    proc = subprocess.Popen([POPDNS, "--config", conf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc)
        addr = ("127.0.0.1", port)
        stalled = socket.create_connection(addr, timeout=3)
        stalled.sendall(tcp_query(1)[:5])  # half a message, then nothing
        other = socket.create_connection(addr, timeout=3)
        t0 = time.time()
        other.sendall(tcp_query(2) + tcp_query(3))  # two pipelined queries
        a, b = read_tcp_message(other), read_tcp_message(other)
        check(a is not None and b is not None and time.time() - t0 < 0.5 and
              {a[:2], b[:2]} == {b"\x00\x02", b"\x00\x03"},
              "pipelined queries answered while another client stalls (RFC 7766 6.2.1.1)")
        third = socket.create_connection(addr, timeout=3)
        fourth = socket.create_connection(addr, timeout=3)
        try:
            closed = fourth.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            closed = True
        check(closed, "a connection beyond tcp_max_connections is closed (RFC 7766 6.2.2)")
        third.sendall(tcp_query(4))
        check(read_tcp_message(third) is not None, "connections within the cap are served")
        time.sleep(1.6)
        try:
            idle_closed = stalled.recv(1) == b""
        except ConnectionResetError:
            idle_closed = True
        check(idle_closed, "an idle connection is closed after tcp_idle_timeout_ms (RFC 7766 6.2.3)")
        for sk in (stalled, other, third, fourth):
            sk.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    tmp = tempfile.mkdtemp(prefix="popdns-it-")
    zone = os.path.join(tmp, "example.test.zone")
    shutil.copy(ZONE_SRC, zone)
    sock = os.path.join(tmp, "control.sock")
    port = free_port()
    log = open(os.path.join(tmp, "popdns.log"), "w+")
    proc = subprocess.Popen(
        [POPDNS, "--zone", "example.test=" + zone, "--listen",
         "127.0.0.1:%d" % port, "--control-socket", sock, "--udp-threads", "2"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        check(wait_ready(port, proc), "daemon starts and answers")
        out = dig(port, "www.example.test", "A")
        check("192.0.2.3" in out and " aa" in out, "UDP A answer with AA")
        out = dig(port, "+tcp", "www.example.test", "A")
        check("192.0.2.4" in out, "TCP A answer (RFC 7766)")
        out = dig(port, "+noedns", "+ignore", "big.example.test", "TXT")
        check(" tc" in out, "TC=1 over UDP without EDNS (RFC 2181 9)")
        out = dig(port, "+noedns", "big.example.test", "TXT")
        check(out.count("IN\tTXT\t\"") == 6 and "TCP" in out.upper(),
              "dig retries a TC=1 answer over TCP and gets it whole")
        kd = run(["kdig", "@127.0.0.1", "-p", str(port), "+noedns",
                  "big.example.test", "TXT"]).stdout
        check(kd.count("TXT\t") >= 6 and "TCP" in kd,
              "kdig retries a TC=1 answer over TCP")
        kd = run(["kdig", "@127.0.0.1", "-p", str(port), "+tcp", "+keepopen",
                  "www.example.test", "A", "mail.example.test", "A"]).stdout
        check("192.0.2.3" in kd and "192.0.2.2" in kd,
              "two queries on one TCP connection (RFC 7766 6.2.1)")
        out = dig(port, "nope.example.test", "A")
        check("NXDOMAIN" in out, "NXDOMAIN")

        st = run([POPDNSCTL, "--socket", sock, "status"])
        check(st.returncode == 0 and "2024010101" in st.stdout,
              "popdnsctl status shows the serial")
        stats = run([POPDNSCTL, "--socket", sock, "stats"]).stdout
        check("queries.udp" in stats and "queries.tcp" in stats and
              "rcode.NXDOMAIN 1" in stats, "popdnsctl stats counts by transport and rcode")

        # Reload a changed zone.
        text = open(zone).read()
        text = text.replace("2024010101", "2024010102").replace(
            "192.0.2.3", "192.0.2.33")
        open(zone, "w").write(text)
        rl = run([POPDNSCTL, "--socket", sock, "reload", "example.test"])
        check(rl.returncode == 0, "popdnsctl reload succeeds")
        out = dig(port, "www.example.test", "A")
        check("192.0.2.33" in out, "reloaded data is served")

        # A broken zone keeps the previous version serving.
        open(zone, "a").write("broken A 1.2.3\n")
        rl = run([POPDNSCTL, "--socket", sock, "reload"])
        nlines = len(text.splitlines()) + 1
        check(rl.returncode != 0 and ("%s:%d:" % (zone, nlines)) in rl.stderr,
              "broken zone is rejected with file:line (%s)" % rl.stderr.strip())
        out = dig(port, "www.example.test", "A")
        check("192.0.2.33" in out, "old version keeps serving after a failed reload")
        st = run([POPDNSCTL, "--socket", sock, "status"]).stdout
        check("stale" in st and "2024010102" in st,
              "status shows the error next to the serving serial")

        # SIGHUP reloads everything.
        open(zone, "w").write(text.replace("2024010102", "2024010103").replace(
            "192.0.2.33", "192.0.2.34"))
        proc.send_signal(signal.SIGHUP)
        ok = False
        for _ in range(50):
            if "192.0.2.34" in dig(port, "www.example.test", "A"):
                ok = True
                break
            time.sleep(0.1)
        check(ok, "SIGHUP reloads the zone")

        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "SIGTERM stops cleanly with exit code 0 (got %r)" % rc)
        check(not os.path.exists(sock), "control socket removed on exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.seek(0)
        if failures:
            print("--- popdns log ---\n" + log.read())

    tcp_limits(tmp, zone)

    # A broken config exits non-zero and says where.
    bad = os.path.join(tmp, "bad.yaml")
    open(bad, "w").write("listen:\n  - 127.0.0.1:%d\nzones:\n  - name: x.test\n"
                         "    fiel: x.zone\n" % port)
    r = run([POPDNS, "--config", bad])
    check(r.returncode != 0 and (bad + ":4:") in r.stderr,
          "broken config is rejected with file:line (%s)" % r.stderr.strip())
    r = run([POPDNS, "--zone", "example.test"])
    check(r.returncode != 0 and "NAME=FILE" in r.stderr, "bad flag is rejected")

    shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
