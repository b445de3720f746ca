#!/usr/bin/python3
"""ACME DNS-01 end to end (issue 12, "Real end to end"): certbot obtains a
certificate for www.acme.apps.test from a local ACME server (pebble) whose
DNS resolver is a popdns SECONDARY, while certbot's dns-rfc2136 plugin
writes the challenge into the popdns PRIMARY by RFC 2136 UPDATE (TSIG, a
per-key policy); the challenge reaches the secondary by NOTIFY -> IXFR.

Usage: acme_test.py BUILD_DIR SOURCE_DIR [--keep-tmp]     (root: netns)
Helper modes (run by the test inside a namespace):
  acme_test.py query SERVER PORT NAME TYPE     one query, one JSON line
  acme_test.py watch SERVER PORT NAME ZONE S   SOA serial and NAME's TXT,
                                               a JSON line per change, S s

Topology: two network namespaces made (and deleted) by the test, joined by
one veth pair, addresses from 198.18.0.0/15 only:

  popdns-acme-<pid>-hidden                  popdns-acme-<pid>-pop
    198.18.0.1  popdns primary   <-- veth -->  198.18.0.2  popdns secondary
    198.18.0.3  pebble (ACME CA)
    certbot (the tenant's ACME client)

Two namespaces and one veth pair, rather than one namespace or three:
every packet the secondary sends or gets (NOTIFY, its SOA checks and IXFR
to the primary, pebble's validation query) crosses a real link from
another network stack, as between a hidden primary and a PoP, and the
primary's allow_transfer/notify and the secondary's primaries are checked
against real source addresses; yet one on-link /24 needs no bridge, no
routes and no forwarding, and kernel sockets need neither DPDK, tap nor
XDP, so it runs on any kernel with netns and veth. Pebble shares the
hidden side only to keep a single link: it asks nobody but the secondary
(-dnsserver 198.18.0.2:53). Nothing leaves the two namespaces.

Checks: certbot exits 0; its certificate exists and names
www.acme.apps.test in its subjectAltName (openssl x509 -text), issued by
pebble; the primary logged two UPDATEs signed with the tenant's key (add,
delete); the challenge TXT was seen on the primary and on the secondary (a
watcher in each namespace); the secondary took the changes by IXFR (its
log: 'IXFR from 198.18.0.1:53', no AXFR); after certbot's cleanup the TXT
is gone from both and both have the same serial; no TSIG secret in any
log. On failure: the logs of both popdns, pebble and certbot. A missing
tool or capability is a failure, never a skip.

Processes are stopped by the PIDs the test started and the namespaces
deleted at the end, on failure and on SIGTERM/SIGINT. A run killed with
SIGKILL leaves its two namespaces (named with its PID) for `ip netns del`.
"""
import argparse
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dns.exception  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

ZONE = "apps.test."
TENANT = "acme.apps.test."
DOMAIN = "www.acme.apps.test"
CHALLENGE = "_acme-challenge." + DOMAIN + "."
PRIMARY_IP, SECONDARY_IP, PEBBLE_IP = "198.18.0.1", "198.18.0.2", "198.18.0.3"
PREFIX = 24
PEBBLE_PORT, PEBBLE_MGMT_PORT = 14000, 15000
PROPAGATION_SECONDS = 3   # certbot's wait between UPDATE and validation
CERTBOT_TIMEOUT = 45
PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
CERTBOT = shutil.which("certbot") or "/usr/bin/certbot"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
IP = shutil.which("ip") or "/usr/sbin/ip"


# ---------------------------------------------------------------------------
# helper modes: run inside a namespace by `ip netns exec`

def ask(server, port, name, rdtype, timeout=1.0):
    """A non-recursive query over UDP (TCP when truncated): a dict."""
    q = dns.message.make_query(name, rdtype)
    q.flags &= ~dns.flags.RD
    try:
        r, _ = dns.query.udp_with_fallback(q, server, port=port,
                                           timeout=timeout)
    except (dns.exception.DNSException, OSError) as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    serial = None
    answer = []
    for rrset in r.answer:
        for rd in rrset:
            answer.append("%s %s" % (dns.rdatatype.to_text(rrset.rdtype),
                                     rd.to_text()))
            if rrset.rdtype == dns.rdatatype.SOA:
                serial = rd.serial
    return {"rcode": dns.rcode.to_text(r.rcode()),
            "aa": bool(r.flags & dns.flags.AA), "answer": answer,
            "serial": serial}


def helper_query(argv):
    server, port, name, rdtype = argv[0], int(argv[1]), argv[2], argv[3]
    print(json.dumps(ask(server, port, name, rdtype)), flush=True)
    return 0


def helper_watch(argv):
    """Prints {"t", "serial", "txt"} whenever they change, until killed or
    `seconds` have passed."""
    server, port, name, zone = argv[0], int(argv[1]), argv[2], argv[3]
    end = time.time() + float(argv[4])
    last = None
    while time.time() < end:
        soa = ask(server, port, zone, "SOA", timeout=0.5)
        txt = ask(server, port, name, "TXT", timeout=0.5)
        now = (soa.get("serial"), txt.get("rcode"),
               sorted(txt.get("answer", [])))
        if now != last:
            print(json.dumps({"t": time.time(), "serial": now[0],
                              "rcode": now[1], "txt": now[2]}), flush=True)
            last = now
        time.sleep(0.05)
    return 0


HELPERS = {"query": helper_query, "watch": helper_watch}
if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] in HELPERS:
    sys.exit(HELPERS[sys.argv[1]](sys.argv[2:]))


import checks  # noqa: E402
import peers  # noqa: E402
import xfr_test  # noqa: E402
from peers import PeerError, TsigKey  # noqa: E402
from xfr_test import CaseFailed, Popdns  # noqa: E402


# ---------------------------------------------------------------------------
# namespaces and processes owned by this test

_started = []      # Popen of ours not in peers' list (certbot, watchers)
_namespaces = []   # Netns made by this test, deleted at the end


def _stop_proc(p, timeout=5):
    """SIGTERM to the PID we started, then SIGKILL."""
    if p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


def teardown():
    """Stops every process this test started (by PID), then deletes the
    namespaces it made. Idempotent; also run at exit and on SIGTERM/INT
    (peers' handler exits, which runs atexit)."""
    peers.stop_all()
    while _started:
        try:
            _stop_proc(_started.pop())
        except Exception:  # noqa: BLE001 - best effort
            pass
    while _namespaces:
        _namespaces.pop().delete()


atexit.register(teardown)


class Netns:
    """A network namespace this test made (and only those are deleted)."""

    def __init__(self, name):
        self.name = name
        self.made = False

    def add(self):
        r = checks.run([IP, "netns", "add", self.name])
        if r.returncode != 0:
            raise CaseFailed("ip netns add %s: %s" % (self.name,
                                                      r.stderr.strip()))
        self.made = True
        _namespaces.append(self)
        self.ip("link", "set", "lo", "up")
        return self

    def ip(self, *args):
        r = checks.run([IP, "-n", self.name] + list(args))
        if r.returncode != 0:
            raise CaseFailed("ip -n %s %s: %s" % (self.name, " ".join(args),
                                                  r.stderr.strip()))
        return r

    def cmd(self, argv):
        # ip netns exec execs argv after setns: the PID we get is its PID.
        return [IP, "netns", "exec", self.name] + list(argv)

    def run(self, argv, timeout=30, **kw):
        return checks.run(self.cmd(argv), timeout=timeout, **kw)

    def query(self, server, name, rdtype, port=53):
        r = self.run([sys.executable, os.path.abspath(__file__), "query",
                      server, str(port), name, rdtype], timeout=10)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": "helper: %s %s" % (r.stdout, r.stderr)}

    def delete(self):
        if self.made:
            checks.run([IP, "netns", "del", self.name])
            self.made = False


class NsPopdns(Popdns):
    """xfr_test.Popdns listening on ip:53 inside namespace `ns`."""

    def __init__(self, ns, ip, tmp, tag, **kw):
        super().__init__(tmp, tag, port=53, **kw)
        self.ns, self.ip = ns, ip

    @property
    def addr(self):
        return "%s:%d" % (self.ip, self.port)

    def prepare(self):
        super().prepare()
        with open(self.conf) as f:
            text = f.read()
        text = text.replace('listen: ["127.0.0.1:%d"]' % self.port,
                            'listen: ["%s"]' % self.addr)
        with open(self.conf, "w") as f:
            f.write(text)

    def command(self):
        return self.ns.cmd(super().command())

    def ctl(self, *args):
        return self.ns.run([xfr_test.POPDNSCTL, "--socket", self.sock] +
                           list(args))

    def soa(self):
        return self.ns.query(self.ip, self.zone, "SOA")

    def serial(self, zone=None):
        r = self.soa()
        return r.get("serial") if r.get("aa") else None

    def wait_serial(self, serial=None, zone=None, timeout=30.0,
                    newer_than=None):
        t0 = time.time()
        last = None
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise PeerError("%s exited with %s" % (self.tag,
                                                       self.proc.returncode))
            last = self.serial()
            if last is not None and (serial is None or last == serial) and (
                    newer_than is None or peers.serial_gt(last, newer_than)):
                return last
            if time.time() - t0 > timeout:
                raise PeerError("%s at %s: %s serial %s after %.0fs, wanted "
                                "%s" % (self.tag, self.addr, self.zone, last,
                                        timeout, serial if serial is not None
                                        else "> %s" % newer_than))
            time.sleep(0.1)


class Pebble(peers.Server):
    """pebble in namespace `ns` on ip:14000, its DNS resolver `dns`."""

    kind = "pebble"

    def __init__(self, ns, ip, dns_server, tmp, tag, cert, key):
        super().__init__(tmp, tag, port=PEBBLE_PORT)
        self.ns, self.ip, self.dns_server = ns, ip, dns_server
        self.cert, self.key_file = cert, key
        self.conf = os.path.join(self.dir, "pebble-config.json")

    @property
    def addr(self):
        return "%s:%d" % (self.ip, self.port)

    @property
    def directory(self):
        return "https://%s/dir" % self.addr

    def prepare(self):
        with open(self.conf, "w") as f:
            json.dump({"pebble": {
                "listenAddress": self.addr,
                "managementListenAddress": "%s:%d" % (self.ip,
                                                      PEBBLE_MGMT_PORT),
                "certificate": self.cert, "privateKey": self.key_file,
                "httpPort": 5002, "tlsPort": 5001,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False}}, f, indent=2)

    def command(self):
        # No random validation sleeps, no nonce rejections, no authz reuse:
        # every run validates against the secondary at once.
        return self.ns.cmd(["env", "PEBBLE_VA_NOSLEEP=1",
                            "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0",
                            PEBBLE, "-config", self.conf,
                            "-dnsserver", self.dns_server])

    def start(self, wait=True, timeout=15):
        super().start(wait=False)
        want = "Listening on: %s" % self.addr
        t0 = time.time()
        while wait and want not in self.log():
            if self.proc.poll() is not None:
                raise CaseFailed("pebble exited with %s at start:\n%s" % (
                    self.proc.returncode, self.tail(20)))
            if time.time() - t0 > timeout:
                raise CaseFailed("pebble did not say '%s' in %ds:\n%s" % (
                    want, timeout, self.tail(20)))
            time.sleep(0.1)
        return self


class Watcher:
    """`acme_test.py watch` in a namespace: SOA serial and the challenge
    TXT of one server, a line per change."""

    def __init__(self, ns, server, path, seconds):
        self.path = path
        self.out = open(path, "w")
        self.proc = subprocess.Popen(
            ns.cmd([sys.executable, os.path.abspath(__file__), "watch",
                    server, "53", CHALLENGE, ZONE, str(seconds)]),
            stdout=self.out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        _started.append(self.proc)

    def stop(self):
        _stop_proc(self.proc)
        if self.proc in _started:
            _started.remove(self.proc)
        self.out.close()

    def events(self):
        evs = []
        with open(self.path) as f:
            for line in f:
                try:
                    evs.append(json.loads(line))
                except ValueError:
                    pass
        return evs

    def first_txt(self):
        for e in self.events():
            if e["txt"]:
                return e
        return None


# ---------------------------------------------------------------------------
# the case

def make_tls(d):
    """A throwaway CA and a server certificate for pebble's HTTPS listener
    (IP SAN = PEBBLE_IP); the Debian package ships no test certs. Returns
    (ca.pem, cert.pem, key.pem)."""
    ca_key, ca = os.path.join(d, "ca-key.pem"), os.path.join(d, "ca.pem")
    key, csr = os.path.join(d, "key.pem"), os.path.join(d, "cert.csr")
    cert, ext = os.path.join(d, "cert.pem"), os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:%s\n" % PEBBLE_IP)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    steps = [
        [OPENSSL, "req", "-x509"] + ec + [
            "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", "/CN=popdns acme_test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [OPENSSL, "req"] + ec + ["-keyout", key, "-out", csr,
                                 "-subj", "/CN=%s" % PEBBLE_IP],
        [OPENSSL, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
         "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
    ]
    for cmd in steps:
        r = checks.run(cmd)
        if r.returncode != 0:
            raise CaseFailed("%s: %s" % (" ".join(cmd[:3]), r.stderr))
    return ca, cert, key


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def zone_text():
    # The platform zone, with the tenant's web name already provisioned.
    return peers.base_zone(ZONE, serial=1) + \
        "www.acme 300 A 198.51.100.10\n"


def certbot_env(ca):
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy")}
    env.update(REQUESTS_CA_BUNDLE=ca, NO_PROXY="*", no_proxy="*")
    return env


def run_certbot(c, ns, pebble, ca, creds, work):
    """certbot certonly with the dns-rfc2136 authenticator; returns
    (exit status, output)."""
    cmd = [CERTBOT, "certonly", "--non-interactive", "--agree-tos",
           "--register-unsafely-without-email",
           "--server", pebble.directory,
           "--config-dir", os.path.join(work, "config"),
           "--work-dir", os.path.join(work, "work"),
           "--logs-dir", os.path.join(work, "logs"),
           "--preferred-challenges", "dns-01",
           "--dns-rfc2136", "--dns-rfc2136-credentials", creds,
           "--dns-rfc2136-propagation-seconds", str(PROPAGATION_SECONDS),
           "-d", DOMAIN]
    out_path = os.path.join(work, "certbot.out")
    with open(out_path, "w") as out:
        p = subprocess.Popen(ns.cmd(cmd), stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=certbot_env(ca),
                             start_new_session=True)
        _started.append(p)
        try:
            rc = p.wait(CERTBOT_TIMEOUT)
        except subprocess.TimeoutExpired:
            _stop_proc(p)
            rc = "timeout after %ds" % CERTBOT_TIMEOUT
        _started.remove(p)
    with open(out_path, errors="replace") as f:
        return rc, f.read()


def case_certbot(c, tmp):
    """certbot -> RFC 2136 -> popdns primary -> NOTIFY/IXFR -> popdns
    secondary <- pebble's DNS-01 validation."""
    tag = "popdns-acme-%d" % os.getpid()
    hidden = Netns(tag + "-hidden").add()
    pop = Netns(tag + "-pop").add()
    hidden.ip("link", "add", "acme-h", "type", "veth", "peer", "name",
              "acme-p", "netns", pop.name)
    for ns, dev, ips in ((hidden, "acme-h", (PRIMARY_IP, PEBBLE_IP)),
                         (pop, "acme-p", (SECONDARY_IP,))):
        for ip in ips:
            ns.ip("addr", "add", "%s/%d" % (ip, PREFIX), "dev", dev)
        ns.ip("link", "set", dev, "up")
    c.info("namespaces %s (%s, %s) and %s (%s), veth acme-h/acme-p" % (
        hidden.name, PRIMARY_IP, PEBBLE_IP, pop.name, SECONDARY_IP))

    xfr = TsigKey("xfr-key")
    tenant = TsigKey("acme-tenant")
    zfile = os.path.join(tmp, "apps.test.zone")
    with open(zfile, "w") as f:
        f.write(zone_text())
    # The hidden primary: the tenant's key may change only TXT records at
    # or below acme.apps.test (BIND's update-policy subdomain rule).
    primary = c.add(NsPopdns(hidden, PRIMARY_IP, tmp, "primary",
                             keys=[xfr, tenant], keys_file=True, zones=[dict(
                                 name=ZONE, file=zfile,
                                 storage=c.storage("primary-storage"),
                                 key=xfr.name,
                                 notify=["%s:53" % SECONDARY_IP],
                                 allow_transfer=["%s/32" % SECONDARY_IP],
                                 update=[dict(key=tenant.name,
                                              subtree=TENANT.rstrip("."),
                                              types=["TXT"])])]))
    primary.start(serial=1, timeout=20)
    # The PoP: a secondary whose refresh timer is far away, so that only
    # NOTIFY can bring a change within the test's time.
    secondary = c.add(NsPopdns(pop, SECONDARY_IP, tmp, "secondary",
                               keys=[xfr], keys_file=True, zones=[dict(
                                   name=ZONE,
                                   primaries=["%s:53" % PRIMARY_IP],
                                   key=xfr.name,
                                   storage=c.storage("secondary-storage"),
                                   refresh=3600, retry=2, expire=86400)]))
    secondary.start(serial=1, timeout=20)
    c.check(any("AXFR from %s:53" % PRIMARY_IP in x
                for x in secondary.lines_since(0)),
            "the secondary took the zone from the primary across the veth "
            "(AXFR from %s:53)" % PRIMARY_IP, secondary.tail(20))

    ca, cert, key = make_tls(c.storage("tls"))
    pebble = c.add(Pebble(hidden, PEBBLE_IP, "%s:53" % SECONDARY_IP, tmp,
                          "pebble", cert, key)).start()

    work = c.storage("certbot")
    creds = os.path.join(work, "rfc2136.ini")
    write_private(creds, "\n".join([
        "dns_rfc2136_server = %s" % PRIMARY_IP,
        "dns_rfc2136_port = 53",
        "dns_rfc2136_name = %s" % tenant.name,
        "dns_rfc2136_secret = %s" % tenant.secret,
        "dns_rfc2136_algorithm = HMAC-SHA256", ""]))

    sec_mark = secondary.mark()
    watch = [Watcher(hidden, PRIMARY_IP, os.path.join(tmp, "watch-primary"),
                     CERTBOT_TIMEOUT + 15),
             Watcher(pop, SECONDARY_IP, os.path.join(tmp, "watch-secondary"),
                     CERTBOT_TIMEOUT + 15)]
    t0 = time.time()
    rc, out = run_certbot(c, hidden, pebble, ca, creds, work)
    took = time.time() - t0
    c.check(rc == 0, "certbot certonly --dns-rfc2136 exits 0 (%s) in %.1fs"
            % (rc, took), "certbot output (last lines):\n" +
            "\n".join(out.splitlines()[-25:]))

    pem = os.path.join(work, "config", "live", DOMAIN, "cert.pem")
    c.require(os.path.exists(pem), "the certificate file exists (%s)"
              % os.path.relpath(pem, work))
    r = checks.run([OPENSSL, "x509", "-in", pem, "-noout", "-text"])
    sans = re.findall(r"DNS:([^,\s]+)", r.stdout)
    c.check(r.returncode == 0 and sans == [DOMAIN],
            "openssl x509: subjectAltName is DNS:%s (%s)" % (DOMAIN, sans),
            r.stdout[-1500:] + r.stderr)
    issuer = re.search(r"Issuer: (.*)", r.stdout)
    c.check(issuer and "Pebble" in issuer.group(1),
            "issued by pebble (%s)" % (issuer.group(1) if issuer else None))

    # After certbot's cleanup (an UPDATE deleting the TXT): same serial on
    # both, no TXT anywhere.
    want = primary.serial()
    try:
        secondary.wait_serial(want, timeout=10)
        ok = True
    except PeerError:
        ok = False
    c.check(ok and want is not None and want >= 3,
            "after cleanup the secondary has the primary's serial %s "
            "(1 + certbot's add and delete)" % want,
            "secondary answers %s" % secondary.serial())
    for srv in (primary, secondary):
        a = srv.ns.query(srv.ip, CHALLENGE, "TXT")
        c.check(a.get("rcode") == "NXDOMAIN" and a.get("aa"),
                "after cleanup %s answers %s TXT: NXDOMAIN, AA (%s)" % (
                    srv.tag, CHALLENGE, a))
    for w in watch:
        w.stop()

    # The challenge on both servers (each polled about every 50 ms, so the
    # delay is only roughly the replication time).
    seen_p, seen_s = watch[0].first_txt(), watch[1].first_txt()
    c.check(seen_p is not None and seen_s is not None and
            seen_p["txt"] == seen_s["txt"] and len(seen_p["txt"]) == 1,
            "the challenge TXT was seen on the primary (serial %s) and on "
            "the secondary (serial %s), first %+.0f ms apart" % (
                seen_p and seen_p["serial"], seen_s and seen_s["serial"],
                1000 * (seen_s["t"] - seen_p["t"]) if seen_p and seen_s
                else -1),
            "primary: %s\nsecondary: %s" % (watch[0].events(),
                                            watch[1].events()))

    ups = [x for x in primary.lines_since(0) if re.search(
        r"UPDATE from %s key %s\.?: serial \d+ -> \d+" % (
            re.escape(PRIMARY_IP), re.escape(tenant.name)), x)]
    c.check(len(ups) == 2, "the primary took certbot's add and delete as "
            "two RFC 2136 UPDATEs signed with key %s (%d log lines)" % (
                tenant.name, len(ups)), primary.tail(20))

    xfrs = [x for x in secondary.lines_since(sec_mark)
            if re.search(r"\b[AI]XFR\b", x)]
    ixfr = [x for x in xfrs if "IXFR from %s:53" % PRIMARY_IP in x and
            "AXFR-style" not in x and "failed" not in x]
    c.check(ixfr and len(ixfr) == len(xfrs),
            "the secondary took certbot's changes by IXFR from the primary, "
            "no AXFR (%d transfer lines)" % len(xfrs), "\n".join(xfrs))
    for line in ixfr:
        c.info(line.strip())

    logs = [s.log_path for s in c.servers] + [
        os.path.join(work, "certbot.out"),
        os.path.join(work, "logs", "letsencrypt.log"),
        watch[0].path, watch[1].path]
    leaked = []
    for path in logs:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        if xfr.secret in text or tenant.secret in text:
            leaked.append(path)
    c.check(not leaked, "no TSIG secret in the logs of popdns, pebble and "
            "certbot", "secret found in %s" % leaked)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("source")
    ap.add_argument("--keep-tmp", action="store_true")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    xfr_test.POPDNS = os.path.join(build, "control", "popdns")
    xfr_test.POPDNSCTL = os.path.join(build, "control", "popdnsctl")
    # Nothing is skipped: what is missing fails the test, with its name.
    if os.geteuid() != 0:
        checks.check(False, "runs as root (network namespaces)")
        return checks.summary()
    for tool in (xfr_test.POPDNS, PEBBLE, CERTBOT, OPENSSL, IP):
        if not os.path.exists(tool):
            checks.check(False, "%s exists (scripts/install-deps.sh)" % tool)
            return checks.summary()
    r = checks.run(["/usr/bin/python3", "-c", "import certbot_dns_rfc2136"])
    if r.returncode != 0:
        checks.check(False, "python3-certbot-dns-rfc2136 is installed (%s)"
                     % r.stderr.strip().splitlines()[-1:])
        return checks.summary()

    tmp = tempfile.mkdtemp(prefix="popdns-acme-")
    print("# temp dir %s" % tmp)
    def after(c):
        teardown()
        if not c.failed:
            return
        work = os.path.join(tmp, "certbot")
        for name in ("certbot.out", os.path.join("logs", "letsencrypt.log")):
            path = os.path.join(work, name)
            if os.path.exists(path):
                print("--- certbot %s, last 60 lines ---\n%s" % (
                    name, peers.tail(path, 60)))
        for name in ("watch-primary", "watch-secondary"):
            path = os.path.join(tmp, name)
            if os.path.exists(path):
                print("--- %s ---\n%s" % (name, peers.tail(path, 20)))
    xfr_test.run_case("certbot", case_certbot, tmp,
                      lambda c: case_certbot(c, tmp), after)
    if not a.keep_tmp and not checks.failures:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
