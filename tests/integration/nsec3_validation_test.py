#!/usr/bin/python3
"""NSEC3 proofs (RFC 5155 7.2) that a validator accepts: zones signed with
dnssec-signzone -3 (a salt and 2 extra iterations; opt-out with RFC 9276's
0 iterations) and by knotd's own signer, served by popdns on loopback, and BIND's delv validating
popdns's answers with the zone's KSK as trust anchor: positive answers,
NXDOMAIN (7.2.2), NODATA (7.2.3), NODATA at an empty non-terminal, no DS
at an insecure delegation (7.2.3, with opt-out 7.2.4), wildcard answers
(7.2.6) and wildcard NODATA (7.2.5) must all come out "fully validated"
(but a wildcard answer under opt-out, which is insecure).
(tests/conformance compares the same answers with knotd's.)

    nsec3_validation_test.py BUILD_DIR SOURCE_DIR
"""
import base64
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "conformance"))
import dns.zone  # noqa: E402

from checks import check, free_port, stop, summary  # noqa: E402
import run_conformance  # noqa: E402

# name, type, what delv must conclude
CASES = [
    ("www", "A", "positive"),
    ("nope", "A", "nxdomain"),
    ("a.nope.ent", "A", "nxdomain"),
    ("www", "TXT", "nxrrset"),
    ("ent", "A", "nxrrset"),
    ("insecure", "DS", "nxrrset"),
    ("secure", "DS", "positive"),
    ("x.wild", "A", "positive"),
    ("a.b.c.wild", "A", "positive"),
    ("x.wild", "TXT", "nxrrset"),
    ("alias", "A", "positive"),
]


def anchor_file(tmp, zone, path):
    """delv's trust anchor: the KSK (DNSKEY flags 257) in the signed zone."""
    z = dns.zone.from_file(path, origin=zone, relativize=False,
                           check_origin=False)
    for key in z.find_rdataset(zone, "DNSKEY"):
        if key.flags == 257:
            out = os.path.join(tmp, zone + "anchors")
            with open(out, "w") as a:
                a.write('trust-anchors {\n  %s static-key 257 %d %d "%s";\n};\n'
                        % (zone, key.protocol, key.algorithm,
                           base64.b64encode(key.key).decode()))
            return out
    raise SystemExit("no KSK in " + path)


def main():
    build, src = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="popdns-nsec3-")
    zones = run_conformance.signed_zones(
        tmp, os.path.join(src, "tests", "conformance", "zones"))
    zones = [(n, p) for n, p in zones if n != "signed.test."]
    port = free_port()
    args = [os.path.join(build, "control", "popdns"), "--listen",
            "127.0.0.1:%d" % port, "--control-socket",
            os.path.join(tmp, "ctl.sock")]
    for name, path in zones:
        args += ["--zone", "%s=%s" % (name.rstrip("."), path)]
    popdns = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
    try:
        for _ in range(50):
            r = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "-p",
                                str(port), "@127.0.0.1", zones[0][0], "SOA"],
                               capture_output=True, text=True)
            if "hostmaster" in r.stdout:
                break
            time.sleep(0.2)
        for zone, path in zones:
            anchors = anchor_file(tmp, zone, path)
            for name, rdtype, want in CASES:
                fq = name + "." + zone
                r = subprocess.run(
                    ["delv", "@127.0.0.1", "-p", str(port), "-a", anchors,
                     "+root=" + zone.rstrip("."), fq, rdtype],
                    capture_output=True, text=True, timeout=30)
                out = " ".join((r.stdout + r.stderr).split())
                if zone == "nsec3o.test." and ".wild" in fq and \
                        want == "positive":
                    # Opt-out: the NSEC3 covering the next closer name may
                    # hide an unsigned delegation there, so a validator
                    # takes a wildcard answer as insecure (RFC 5155 6 and
                    # 9.2; knotd's answer, the same, in tests/conformance).
                    want = "insecure"
                if want == "insecure":
                    ok = "; unsigned answer" in out and \
                        "resolution failed" not in out
                else:
                    ok = "fully validated" in out and (
                        want == "positive" and "resolution failed" not in out
                        or want != "positive" and "ncache " + want in out)
                check(ok, "delv: %s %s is %s, fully validated (%s)"
                      % (fq, rdtype, want, out[:160]))
    finally:
        stop(popdns)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
