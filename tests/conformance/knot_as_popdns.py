#!/usr/bin/python3
"""Stand-in for the popdns daemon CLI, backed by knotd (harness validation).

    knot_as_popdns.py --listen 127.0.0.1:PORT --zone NAME=FILE [--zone ...]

Writes a knotd config into a temporary directory and runs knotd (removing
the directory when stopped), so that
run_conformance.py --popdns "tests/conformance/knot_as_popdns.py --listen
{addr} --zone {zone}={file}" exercises the --popdns plumbing end to end
(expected result: 0 differences).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_conformance  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("--zone", action="append", required=True)
    ap.add_argument("--knotd", default="/usr/sbin/knotd")
    a = ap.parse_args()
    host, port = a.listen[0].rsplit(":", 1)
    if host != "127.0.0.1":
        sys.exit("only 127.0.0.1 is supported")
    zones = [tuple(z.split("=", 1)) for z in a.zone]
    d = tempfile.mkdtemp(prefix="knot-as-popdns-")
    conf = run_conformance.knot_conf(d, int(port), zones)
    p = subprocess.Popen([a.knotd, "-c", conf])

    def stop(*_):
        p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return p.wait()
    finally:
        shutil.rmtree(d, True)


if __name__ == "__main__":
    sys.exit(main())
