"""The conformance corpus (tests/conformance/corpus.py, ~850 queries) over a
dataplane path and over the kernel sockets of the same binary serving the
same zones: the answers must be equal byte for byte, over UDP and, for the
corpus's TCP subset, TCP (issue 15: "the same corpus runs over the DPDK
software-NIC path and the XDP path ... with identical results"). The
kernel-socket answers are the ones tests/conformance compares with knotd,
NSD and PowerDNS.

    zones = corpus_zones(tmp, src)        # the corpus's zones but example.test
    ... serve them on the dataplane and on a reference popdns ...
    check_corpus(client_ns, host, ref_ns, "127.0.0.1", ref_port, what)

Run as a script (in a namespace) it is the client:
    corpus_paths.py ask FILE HOST PORT    # FILE: "udp|tcp HEX" lines
"""
import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONFORMANCE = os.path.join(os.path.dirname(HERE), "conformance")


def corpus_zones(tmp, src):
    """(name, file) of the corpus's zones, but example.test. (the
    integration tests serve their own): the conformance zones, gen.test.
    (written here) and the signed zones (signed here with
    dnssec-signzone: NSEC and NSEC3)."""
    sys.path.insert(0, CONFORMANCE)
    import gen_zone  # noqa: E402
    import run_conformance  # noqa: E402
    zones_dir = os.path.join(src, "tests", "conformance", "zones")
    zones = [(z, os.path.join(zones_dir, z + "zone"))
             for z in run_conformance.ZONES if z != "example.test."]
    gen = os.path.join(tmp, "gen.test.zone")
    with open(gen, "w") as f:
        gen_zone.write(f, gen_zone.DEFAULT_NAMES)
    zones.append((run_conformance.GEN_ZONE, gen))
    zones += run_conformance.signed_zones(tmp, zones_dir)
    return zones


def zones_yaml(zones):
    """`zones:` entries (without the key) for a popdns config."""
    return "".join("  - name: %s\n    file: %s\n" % (n.rstrip("."), p)
                   for n, p in zones)


REF_PORT = 5399


def start_reference(popdns, ns, tmp, top, zone, corpus):
    """The kernel-socket reference: the same binary in namespace `ns` on
    127.0.0.1:REF_PORT with `top` (answer settings), example.test from
    `zone` and the corpus's zones; returns once it answers."""
    conf = os.path.join(tmp, "ref.yaml")
    with open(conf, "w") as f:
        f.write("listen: ['127.0.0.1:%d']\ncontrol_socket: %s\n%s"
                "zones:\n  - name: example.test\n    file: %s\n%s"
                % (REF_PORT, os.path.join(tmp, "ref.sock"), top, zone,
                   zones_yaml(corpus)))
    proc = subprocess.Popen(["ip", "netns", "exec", ns, popdns, "--config",
                             conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        r = _in_ns(ns, ["dig", "+time=1", "+tries=1", "-p", str(REF_PORT),
                        "@127.0.0.1", "gen.test", "SOA"])
        if "status: NOERROR" in r.stdout or proc.poll() is not None:
            break
        time.sleep(0.2)
    return proc


def stop_reference(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        proc.wait()


def _corpus_file(tmp):
    sys.path.insert(0, CONFORMANCE)
    import corpus  # noqa: E402
    path = os.path.join(tmp, "corpus.txt")
    tcp = corpus.tcp_labels()
    with open(path, "w") as f:
        for label, wire in corpus.build_corpus():
            f.write("udp %s\n" % wire.hex())
            if label in tcp:
                f.write("tcp %s\n" % wire.hex())
    return path


def _in_ns(ns, cmd):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def check_corpus(client_ns, host, ref_ns, ref_host, ref_port, what, tmp,
                 port=53):
    """The corpus from `client_ns` to host:port (the path under test) and
    from `ref_ns` to ref_host:ref_port (kernel sockets): equal answers."""
    from checks import check
    path = _corpus_file(tmp)
    me = os.path.abspath(__file__)
    got = _in_ns(client_ns, [sys.executable, me, "ask", path, host,
                             str(port)]).stdout.split("\n")
    ref = _in_ns(ref_ns, [sys.executable, me, "ask", path, ref_host,
                          str(ref_port)]).stdout.split("\n")
    queries = open(path).read().split("\n")
    differ = [(q, a, b) for q, a, b in zip(queries, got, ref) if a != b]
    tcp = sum(1 for q in queries if q.startswith("tcp"))
    # Not two silent servers: popdns answers all but the few queries it
    # drops (tests/conformance/KNOT_BEHAVIOUR.md).
    answered = sum(1 for a in ref if a not in ("timeout", "closed", ""))
    check(len(got) == len(ref) == len(queries) and not differ and
          answered >= len(queries) - 40,
          "%s: the conformance corpus (%d UDP and %d TCP queries, %d "
          "answered) is answered byte for byte as the kernel sockets answer "
          "it (%d differ%s)"
          % (what, len(queries) - 1 - tcp, tcp, answered, len(differ),
             "".join("\n    %s\n      path %s\n      ref  %s" % d
                     for d in differ[:3])))


def _tcp(fam, host, port, wire):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((host, port))
        s.sendall(struct.pack("!H", len(wire)) + wire)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            chunk = s.recv(65535)
            if not chunk:
                return "closed"
            buf += chunk
        return buf[2:2 + struct.unpack("!H", buf[:2])[0]].hex()
    except OSError:
        return "timeout"
    finally:
        s.close()


def ask_main(path, host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    udp = socket.socket(fam, socket.SOCK_DGRAM)
    udp.connect((host, port))
    udp.settimeout(0.5)  # the corpus's dropped queries cost this each
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        proto, hexwire = line.split()
        wire = bytes.fromhex(hexwire)
        if proto == "tcp":
            print(_tcp(fam, host, port, wire))
            continue
        udp.send(wire)
        try:
            # Answers carry the query's ID: skip a late one to an earlier
            # query that timed out.
            while True:
                r = udp.recv(65535)
                if r[:2] == wire[:2]:
                    break
            print(r.hex())
        except OSError:
            print("timeout")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "ask":
        ask_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)
