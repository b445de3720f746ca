#!/usr/bin/env python3
"""write_mmdb.py's databases as libmaxminddb reads them (Debian's
mmdblookup): the GeoIP tests' fixtures are real MaxMind DBs, not only what
popdns's own reader accepts."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
failures = 0


def lookup(db, ip, *path):
    r = subprocess.run(["mmdblookup", "--file", db, "--ip", ip] + list(path),
                       capture_output=True, text=True)
    return " ".join((r.stdout + r.stderr).split())


def expect(got, want, what):
    global failures
    ok = want in got
    failures += not ok
    print("%s %s: %s" % ("ok  " if ok else "FAIL", what, got))


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "t.mmdb")
    subprocess.run([sys.executable, os.path.join(HERE, "write_mmdb.py"), db,
                    "198.51.100.0/24=country:DE", "198.51.100.128/25=country:FR",
                    "2001:db8:1::/48=country:NL", "10.0.0.0/8=asn:64500"],
                   check=True)
    expect(lookup(db, "198.51.100.5", "country", "iso_code"), '"DE"',
           "IPv4 in the /24")
    expect(lookup(db, "198.51.100.200", "country", "iso_code"), '"FR"',
           "IPv4 in the nested /25")
    expect(lookup(db, "2001:db8:1::7", "country", "iso_code"), '"NL"', "IPv6")
    expect(lookup(db, "10.9.8.7", "autonomous_system_number"), "64500 <uint32>",
           "an AS number")
    expect(lookup(db, "192.0.2.1"), "Could not find an entry",
           "an address in no network")
    expect(lookup(db, "192.0.2.1", "--verbose"), "Binary format: 2.0",
           "the metadata")
sys.exit(1 if failures else 0)
