#!/usr/bin/env python3
"""First contact on the command line (issue 18): --help and --version of
popdns and popdnsctl (exit 0, no daemon), usage errors (exit 2 with the
usage line), runtime failures (exit 1), every error message ending with a
newline and saying where, `popdns --check` listing every error of a zone up
to its limit, and the man pages rendering with `man -l`, lint-free groff,
and installed by `meson install`. Usage: cli_test.py BUILD_DIR SOURCE_DIR
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, free_port, run, summary  # noqa: E402

BUILD, SRC = sys.argv[1], sys.argv[2]
POPDNS = os.path.join(BUILD, "control", "popdns")
POPDNSCTL = os.path.join(BUILD, "control", "popdnsctl")
ZONE_SRC = os.path.join(SRC, "tests", "testdata", "example.test.zone")
MAN_PAGES = [os.path.join(BUILD, "doc", p)
             for p in ("popdns.8", "popdnsctl.8", "popdns.yaml.5")]


def project_version():
    text = open(os.path.join(SRC, "meson.build")).read()
    return re.search(r"version:\s*'([^']+)'", text).group(1)


def ends_with_newline(r):
    return r.stderr == "" or r.stderr.endswith("\n")


def check_help_and_version():
    version = project_version()
    for flag in ("--help", "-h"):
        r = run([POPDNS, flag])
        check(r.returncode == 0 and r.stderr == "" and
              r.stdout.startswith("usage: popdns"),
              "popdns %s: usage on stdout, exit 0" % flag)
    r = run([POPDNS, "--help"])
    for flag in ("--config", "--zone", "--listen", "--udp-payload",
                 "--identity", "--version-string", "--udp-threads",
                 "--control-socket", "--check", "--help", "--version"):
        check(re.search(r"^\s+(-h, )?%s\b" % re.escape(flag), r.stdout, re.M),
              "popdns --help lists %s on a line of its own" % flag)
    check("popdns.yaml(5)" in r.stdout and "Configuration reference" in
          r.stdout, "popdns --help says where the config reference is")
    check("Exit status: 0 ok, 1 runtime failure" in r.stdout and
          "2 usage error" in r.stdout, "popdns --help documents exit statuses")
    # Help wins over what follows, and needs neither config nor daemon.
    r = run([POPDNS, "--config", "/nonexistent.yaml", "--help"])
    check(r.returncode == 0 and "usage: popdns" in r.stdout,
          "popdns --help after --config FILE does not open FILE")

    r = run([POPDNS, "--version"])
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and lines and re.fullmatch(
        r"popdns %s \(git ([0-9a-f]{7,40}\+?|unknown)\)" % re.escape(version),
        lines[0]), "popdns --version: version and git revision (%r)" %
        (lines[:1],))
    check(any(re.fullmatch(r"dpdk: yes \(DPDK \d+\.\d+.*\)", l) for l in lines),
          "popdns --version: DPDK compiled in, with its version")
    check(any(re.fullmatch(r"xdp: (yes|no) \(.*\)", l) for l in lines),
          "popdns --version: whether XDP is compiled in")

    for flag in ("--help", "-h"):
        # A socket that does not exist: help must not connect.
        r = run([POPDNSCTL, "--socket", "/nonexistent.sock", flag])
        check(r.returncode == 0 and r.stdout.startswith("usage: popdnsctl")
              and r.stderr == "", "popdnsctl %s: no daemon needed, exit 0" %
              flag)
    r = run([POPDNSCTL, "--help"])
    for cmd in ("status", "stats", "reload [ZONE]", "refresh [ZONE]",
                "--socket PATH", "--help", "--version"):
        check(re.search(r"^\s+(-h, )?%s(?!\w)" % re.escape(cmd), r.stdout, re.M),
              "popdnsctl --help lists %s" % cmd)
    r = run([POPDNSCTL, "--version"])
    check(r.returncode == 0 and re.fullmatch(
        r"popdnsctl %s \(git ([0-9a-f]{7,40}\+?|unknown)\)\n" %
        re.escape(version), r.stdout),
        "popdnsctl --version: version and git revision (%r)" % r.stdout)


def check_usage_errors(tmp):
    cases = [
        ([POPDNS], "no zones"),
        ([POPDNS, "--bogus"], "unknown flag '--bogus'"),
        ([POPDNS, "--zone"], "--zone needs a value"),
        ([POPDNS, "--zone", "example.test"], "NAME=FILE"),
        ([POPDNS, "--zone", "a=b", "--udp-payload", "10"], "--udp-payload"),
        ([POPDNS, "--zone", "a=b", "--udp-threads", "x"], "--udp-threads"),
        ([POPDNS, "--zone", "a=b", "--listen", "[::1"], "--listen"),
        ([POPDNS, "--check=yes", "--zone", "a=b"], "--check takes no value"),
        ([POPDNSCTL], "no command"),
        ([POPDNSCTL, "frob"], "unknown command 'frob'"),
        ([POPDNSCTL, "status", "extra"], "too many arguments"),
        ([POPDNSCTL, "--frob", "status"], "unknown option '--frob'"),
        ([POPDNSCTL, "--socket"], "--socket needs a value"),
    ]
    for cmd, what in cases:
        r = run(cmd)
        name = " ".join([os.path.basename(cmd[0])] + cmd[1:])
        check(r.returncode == 2 and what in r.stderr and "usage: " in
              r.stderr and ends_with_newline(r) and r.stdout == "",
              "usage error exits 2 with the usage line: %s (%r)" %
              (name, r.stderr.splitlines()[:1]))


def check_runtime_failures(tmp):
    r = run([POPDNSCTL, "--socket", os.path.join(tmp, "none.sock"), "status"])
    check(r.returncode == 1 and "is popdns running?" in r.stderr and
          ends_with_newline(r), "popdnsctl without a daemon exits 1")
    r = run([POPDNS, "--config", os.path.join(tmp, "missing.yaml")])
    check(r.returncode == 1 and "cannot open config file" in r.stderr and
          ends_with_newline(r), "a missing config file exits 1")
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("zones:\n  - name: x.test\n    file: x.zone\n"
                "udp_payload: 10\n")
    r = run([POPDNS, "--config", bad])
    check(r.returncode == 1 and (bad + ":4:14: udp_payload") in r.stderr and
          "usage:" not in r.stderr and ends_with_newline(r),
          "a bad config value exits 1 naming file:line:col and the key (%s)" %
          r.stderr.strip())
    empty = os.path.join(tmp, "empty.yaml")
    with open(empty, "w") as f:
        f.write("listen: ['127.0.0.1:5353']\n")
    r = run([POPDNS, "--config", empty])
    check(r.returncode == 1 and empty in r.stderr and "no zones" in r.stderr,
          "a config without zones exits 1 naming the file")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def check_check_mode(tmp):
    good = os.path.join(tmp, "good.zone")
    shutil.copy(ZONE_SRC, good)
    head = "$TTL 300\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
    syntax = write(os.path.join(tmp, "syntax.zone"), head +
                   "a A 300.1.1.1\n"          # line 5
                   "b BOGUS x\n"              # line 6
                   "c \"open\n"               # line 7
                   + "".join("x%d A 1.2.%d\n" % (i, i) for i in range(30)))
    rules = write(os.path.join(tmp, "rules.zone"), head +
                  "c CNAME x\nc A 192.0.2.1\nout.example. A 192.0.2.1\n")
    config = write(os.path.join(tmp, "check.yaml"),
                   "keys:\n  - {name: k, algorithm: hmac-sha256, "
                   "secret: \"aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=\"}\n"
                   "zones:\n"
                   "  - {name: example.test, file: good.zone}\n"
                   "  - {name: syntax.test, file: syntax.zone}\n"
                   "  - {name: rules.test, file: rules.zone}\n"
                   "  - {name: sec.test, primaries: [\"192.0.2.1\"]}\n")
    r = run([POPDNS, "--config", config, "--check"])
    out = r.stdout
    check(r.returncode == 1, "--check with bad zones exits 1")
    check(re.search(r"^zone example\.test\.: ok \(serial 2024010101, \d+ "
                    r"records, .*good\.zone\)$", out, re.M),
          "--check: a good zone is ok, with its serial")
    expected = [syntax + ":5:5: invalid IPv4 address '300.1.1.1'",
                syntax + ":6:3: unknown RR type 'BOGUS'",
                syntax + ":7:3: unterminated quoted string",
                syntax + ":8:6: invalid IPv4 address '1.2.0'"]
    check(all(e + "\n" in out for e in expected),
          "--check: every kind of syntax error listed with file:line:col")
    listed = [l for l in out.splitlines() if l.startswith(syntax + ":")]
    check(len(listed) == 20 and "... and 13 more errors\n" in out and
          "zone syntax.test.: 33 errors\n" in out,
          "--check: 20 errors listed per zone, then the count of the rest "
          "(%d listed)" % len(listed))
    check(rules + ":7: out.example. is outside the zone rules.test.\n" in out
          and rules + ":6: CNAME and other data (A) at c.rules.test.\n" in out
          and "zone rules.test.: 2 errors\n" in out,
          "--check: every zone-rule error of a file that parses")
    check("zone sec.test.: no file" in out,
          "--check: a secondary without a seed file is not an error")
    check(r.stderr == "", "--check: the report is on stdout (%r)" % r.stderr)

    r = run([POPDNS, "--zone", "example.test=" + good, "--check"])
    check(r.returncode == 0 and "zone example.test.: ok" in r.stdout,
          "--check with good zones exits 0")
    r = run([POPDNS, "--zone", "example.test=" + os.path.join(tmp, "no.zone"),
             "--check"])
    check(r.returncode == 1 and "no.zone" in r.stdout and "cannot open" in
          r.stdout, "--check: a missing zone file is an error naming it")


def check_huge_page_malloc(pid):
    """popdns re-executed itself (same PID) with glibc's malloc on THP."""
    try:
        thp = open("/sys/kernel/mm/transparent_hugepage/enabled").read()
    except OSError:
        thp = "[never]"
    env = open("/proc/%d/environ" % pid, "rb").read().split(b"\0")
    tunables = [e for e in env if e.startswith(b"GLIBC_TUNABLES=")]
    if "[never]" in thp:
        check(not tunables, "THP off in the kernel: popdns is not re-executed")
        return
    check(tunables == [b"GLIBC_TUNABLES=glibc.malloc.hugetlb=1"],
          "the running popdns has glibc.malloc.hugetlb=1 (%r)" % tunables)
    comm = open("/proc/%d/comm" % pid).read().strip()
    check(comm == "popdns", "and is still named popdns for ps and pidof "
          "(comm %r)" % comm)


def check_daemon_replies(tmp):
    """popdnsctl's replies end with a newline, the failing ones too."""
    zone = os.path.join(tmp, "live.zone")
    shutil.copy(ZONE_SRC, zone)
    sock = os.path.join(tmp, "control.sock")
    port = free_port()
    log = open(os.path.join(tmp, "popdns.log"), "w+")
    proc = subprocess.Popen([POPDNS, "--zone", "example.test=" + zone,
                             "--listen", "127.0.0.1:%d" % port,
                             "--control-socket", sock, "--udp-threads", "1"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            if os.path.exists(sock) or proc.poll() is not None:
                break
            time.sleep(0.05)
        check_huge_page_malloc(proc.pid)
        r = run([POPDNSCTL, "--socket=" + sock, "status"])
        check(r.returncode == 0 and "example.test." in r.stdout and
              r.stdout.endswith("\n"), "popdnsctl status ends with a newline")
        with open(zone, "a") as f:
            f.write("broken line here\n")
        nlines = sum(1 for _ in open(zone))
        r = run([POPDNSCTL, "--socket", sock, "reload"])
        check(r.returncode == 1 and ("%s:%d:" % (zone, nlines)) in r.stderr
              and "example.test." in r.stderr and ends_with_newline(r),
              "a failed reload names the zone and file:line, ends with a "
              "newline, exits 1 (%r)" % r.stderr)
        r = run([POPDNSCTL, "--socket", sock, "reload", "nosuch.test"])
        check(r.returncode == 1 and "nosuch.test" in r.stderr and
              ends_with_newline(r), "reload of an unknown zone exits 1")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check_man_pages():
    man = shutil.which("man")
    groff = shutil.which("groff")
    check(man is not None and groff is not None,
          "man and groff are installed (man-db, groff-base: "
          "scripts/install-deps.sh)")
    if man is None or groff is None:
        return
    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat",
               LC_ALL="C.UTF-8")
    rendered = {}
    for page in MAN_PAGES:
        name = os.path.basename(page)
        r = run([man, "-l", page], env=env)
        rendered[name] = r.stdout
        check(r.returncode == 0 and "NAME" in r.stdout and "SEE ALSO" in
              r.stdout, "man -l %s renders (%s)" % (name, r.stderr.strip()))
        r = run([groff, "-man", "-Tutf8", "-ww", "-z", page])
        check(r.returncode == 0 and r.stderr == "",
              "groff finds nothing to warn about in %s (%s)" %
              (name, r.stderr.strip()))
    # The pages say what --help says.
    text = rendered.get("popdns.8", "")
    help_text = run([POPDNS, "--help"]).stdout
    flags = re.findall(r"^\s+(?:-h, )?(--[a-z-]+)", help_text, re.M)
    missing = [f for f in flags if f not in text]
    check(flags and not missing, "popdns(8) has every flag of --help "
          "(missing: %s)" % missing)
    text = rendered.get("popdnsctl.8", "")
    missing = [c for c in ("status", "stats", "reload", "refresh", "--socket",
                           "--help", "--version") if c not in text]
    check(not missing, "popdnsctl(8) has every command and option "
          "(missing: %s)" % missing)
    for name in ("popdns.8", "popdnsctl.8"):
        check("EXIT STATUS" in rendered.get(name, ""),
              "%s documents exit statuses" % name)


def check_man_install(tmp):
    """meson install puts the three pages under mandir."""
    meson = shutil.which("meson")
    dest = os.path.join(tmp, "dest")
    r = run([meson or "meson", "install", "-C", BUILD, "--no-rebuild",
             "--destdir", dest, "--tags", "man"], timeout=60)
    found = sorted(os.path.relpath(os.path.join(d, f), dest)
                   for d, _, files in os.walk(dest) for f in files)
    want = ["man5/popdns.yaml.5", "man8/popdns.8", "man8/popdnsctl.8"]
    check(r.returncode == 0 and all(any(f.endswith(w) for f in found)
                                    for w in want),
          "meson install installs popdns(8), popdnsctl(8), popdns.yaml(5) "
          "(%s)" % (found or r.stderr.strip()[-200:]))


def main():
    tmp = tempfile.mkdtemp(prefix="popdns-cli-")
    try:
        check_help_and_version()
        check_usage_errors(tmp)
        check_runtime_failures(tmp)
        check_check_mode(tmp)
        check_daemon_replies(tmp)
        check_man_pages()
        check_man_install(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
