#!/usr/bin/python3
"""The provisioning API (issue 12) against a real PowerDNS: the same HTTP
requests go to pdns_server 4.7 (gsqlite3, api=yes, SOA-EDIT-API INCREASE)
and to popdns (management: {listen, api_key}, the zone with storage:),
both on loopback, and their status codes, content types and JSON bodies
are compared.

Usage: pdns_api_test.py BUILD_DIR SOURCE_DIR [--keep-tmp]

Compared as they are: servers, zone list, zone detail with rrsets
(records of an RRset compared as a set: PowerDNS lists them in storage
order), serials (both move by one per accepted PATCH), every PATCH status,
and the 4xx bodies. Normalised, with the reason (README "Provisioning
API"):
  notified_serial  PowerDNS updates it when a NOTIFY went out, and this
                   test gives it nobody to notify; popdns NOTIFYs at once
  last_check       of the secondary zone: PowerDNS sets it when it tries
                   its primary, popdns does not report it
  PARSE_ERRORS     content that does not parse: PowerDNS's parser words
                   it its way (and names pdnsutil); the text after
                   "Record NAME/TYPE 'content': " differs
Not sent to PowerDNS (popdns differs on purpose): PATCH of a secondary
(PowerDNS 4.7 edits its copy, popdns answers 422), disabled records and
comments (422 in popdns).

Then, popdns alone: its DNS answers carry the PATCHed records (the same
answers as pdns_server's), its secondary (a NOTIFY catcher) is notified
of the new serial, and after kill -9 and a restart on the same
storage it serves and lists exactly what it acknowledged.
"""
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

import checks  # noqa: E402
import peers  # noqa: E402
from peers import LOOPBACK, PeerError, free_port  # noqa: E402

ZONE = "apps.example.net."
SECONDARY = "sec.example.net."
API_KEY = "test-api-key-%d" % os.getpid()
ZONE_TEXT = """$ORIGIN apps.example.net.
$TTL 300
@    IN SOA ns1.example.net. hostmaster.example.net. 1 3600 600 86400 300
@    IN NS  ns1.example.net.
@    IN NS  ns2.example.net.
www  IN A   192.0.2.1
www  IN TXT "v=spf1 -all"
old  IN A   192.0.2.9
"""
ZONES = "/api/v1/servers/localhost/zones"
ZURL = ZONES + "/" + ZONE
TENANT = "acme." + ZONE

BUILD = SRC = None


# ---------------------------------------------------------------------------
# the two servers

class PdnsApi(peers.Pdns):
    """pdns_server with its API on webserver_port; the zone's
    SOA-EDIT-API is INCREASE (popdns's serial_policy: increment); a
    secondary zone whose primary never answers."""

    def __init__(self, tmp, tag):
        super().__init__(tmp, tag)
        self.api_port = free_port()

    def prepare(self):
        fresh = not os.path.exists(self.db)
        super().prepare()
        path = os.path.join(self.dir, "pdns.conf")
        conf = [line for line in open(path).read().splitlines()
                if not line.startswith(("webserver=", "api="))]
        conf += ["api=yes", "api-key=%s" % API_KEY, "webserver=yes",
                 "webserver-address=%s" % LOOPBACK,
                 "webserver-port=%d" % self.api_port,
                 "webserver-allow-from=127.0.0.1/32",
                 "secondary=no"]
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        if fresh:
            z = self.zone.rstrip(".")
            self.pdnsutil("set-meta", z, "SOA-EDIT-API", "INCREASE")
            self.pdnsutil("create-secondary-zone", SECONDARY.rstrip("."),
                          "127.0.0.1:%d" % DEAD_PRIMARY_PORT)


class Popdns(peers.Server):
    """popdns with the zone (file + storage) and a secondary zone, and the
    management endpoint."""

    kind = "popdns"

    def __init__(self, tmp, tag, notify):
        super().__init__(tmp, tag)
        self.zone = ZONE
        self.notify = notify
        self.api_port = free_port()
        self.conf = os.path.join(self.dir, "popdns.yaml")
        self.storage = os.path.join(self.dir, "storage")

    def prepare(self):
        os.makedirs(self.storage, exist_ok=True)
        zfile = os.path.join(self.dir, "apps.zone")
        if not os.path.exists(zfile):
            with open(zfile, "w") as f:
                f.write(ZONE_TEXT)
        with open(self.conf, "w") as f:
            f.write("\n".join([
                'listen: ["%s:%d"]' % (LOOPBACK, self.port),
                "control_socket: %s" % os.path.join(self.dir, "ctl.sock"),
                "udp_threads: 1",
                "management:",
                '  listen: "%s:%d"' % (LOOPBACK, self.api_port),
                '  api_key: "%s"' % API_KEY,
                "zones:",
                "  - name: %s" % ZONE.rstrip("."),
                "    file: %s" % zfile,
                "    storage: %s" % self.storage,
                '    notify: ["%s"]' % self.notify,
                "  - name: %s" % SECONDARY.rstrip("."),
                '    primaries: ["127.0.0.1:%d"]' % DEAD_PRIMARY_PORT,
                "    storage: %s" % self.storage,
                ""]))

    def command(self):
        return [os.path.join(BUILD, "control", "popdns"), "--config",
                self.conf]


DEAD_PRIMARY_PORT = None


# ---------------------------------------------------------------------------
# HTTP

class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def ctype(self):
        return self.headers.get("content-type", "") if self.body else ""

    def __repr__(self):
        return "%d %s %r" % (self.status, self.ctype, self.body[:400])


def request(port, method, path, body=None, key=API_KEY, accept=None,
            raw=None):
    headers = {}
    if key is not None:
        headers["X-API-Key"] = key
    if accept:
        headers["Accept"] = accept
    data = raw if raw is not None else (
        json.dumps(body).encode() if body is not None else None)
    if data is not None:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        return Reply(r.status, r.getheaders(), r.read().decode())
    finally:
        conn.close()


def wait_http(server, port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            return request(port, "GET", "/api/v1/servers")
        except OSError:
            if not server.running():
                raise PeerError("%s exited:\n%s" % (server.tag, server.tail()))
            time.sleep(0.1)
    raise PeerError("%s: no HTTP on port %d" % (server.tag, port))


# ---------------------------------------------------------------------------
# comparison

PARSE_ERRORS = "parse-errors"


def normalise(doc):
    """Sorts what has no order (records of an RRset) and blanks the
    documented differences."""
    if isinstance(doc, list):
        return [normalise(x) for x in doc]
    if not isinstance(doc, dict):
        return doc
    out = {k: normalise(v) for k, v in doc.items()}
    if "notified_serial" in out:
        out["notified_serial"] = "(normalised)"
    if out.get("kind") == "Slave" and "last_check" in out:
        out["last_check"] = "(normalised)"
    if isinstance(out.get("records"), list):
        out["records"] = sorted(out["records"],
                                key=lambda r: json.dumps(r, sort_keys=True))
    return out


def first_diff(a, b, where="$"):
    if type(a) is not type(b):
        return "%s: %r vs %r" % (where, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s: only in %s" % (where, k,
                                              "pdns" if k in a else "popdns")
            d = first_diff(a[k], b[k], "%s.%s" % (where, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d items (pdns %s, popdns %s)" % (
                where, len(a), len(b), json.dumps(a)[:600],
                json.dumps(b)[:600])
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "%s[%d]" % (where, i))
            if d:
                return d
        return None
    return None if a == b else "%s: pdns %r, popdns %r" % (where, a, b)


class Test:
    def __init__(self, pdns, pop, catcher):
        self.pdns = pdns
        self.pop = pop
        self.catcher = catcher

    def check(self, cond, what, detail=""):
        checks.check(bool(cond), what)
        if not cond and detail:
            print("     " + str(detail).replace("\n", "\n     "), flush=True)
        return cond

    def same(self, what, method, path, body=None, allow=None, **kw):
        """Sends one request to both; compares status, content type and
        body (JSON after normalise()). Returns popdns's reply."""
        a = self.pdns_request(method, path, body, **kw)
        b = request(self.pop.api_port, method, path, body, **kw)
        diff = None
        if a.status != b.status:
            diff = "status: pdns %r, popdns %r" % (a, b)
        elif a.ctype.split(";")[0] != b.ctype.split(";")[0]:
            diff = "content type: pdns %r, popdns %r" % (a, b)
        elif a.json is not None or b.json is not None:
            x, y = normalise(a.json), normalise(b.json)
            if allow == PARSE_ERRORS and isinstance(x, dict) and \
                    isinstance(y, dict) and "error" in x and "error" in y:
                # Same record and content named, the parser's words differ.
                x = {"error": x["error"].split("': ")[0]}
                y = {"error": y["error"].split("': ")[0]}
            diff = first_diff(x, y)
        elif a.body != b.body:
            diff = "body: pdns %r, popdns %r" % (a.body, b.body)
        self.check(diff is None, "%s: %s %s -> %d, same as pdns_server%s" % (
            what, method, path, b.status,
            " (parser message normalised)" if allow else ""),
            diff or "")
        return b

    def pdns_request(self, method, path, body, **kw):
        """pdns_server's reply. Under load its gsqlite3 backend now and
        then answers a PATCH with 500 when another of its threads holds
        the database; the PATCH is one transaction, rolled back, so it is
        sent again (the peer's trouble, not what is being compared)."""
        for _ in range(10):
            r = request(self.pdns.api_port, method, path, body, **kw)
            if r.status != 500 or method == "GET":
                return r
            print("     (pdns_server answered 500; its log ends:\n     %s)"
                  % self.pdns.tail(6).replace("\n", "\n     "), flush=True)
            time.sleep(0.3)
        return r

    def serials_equal(self, what):
        a, b = self.pdns.serial(), self.pop.serial()
        self.check(a == b, "%s: SOA serial over DNS: pdns %s, popdns %s"
                   % (what, a, b))
        return b

    def same_dns(self, what, names_types):
        """Both servers answer these (name, type) queries with the same
        rcode and answer RRsets."""
        bad = []
        for name, rdtype in names_types:
            got = []
            for srv in (self.pdns, self.pop):
                q = dns.message.make_query(name, rdtype)
                r = dns.query.udp(q, LOOPBACK, port=srv.port, timeout=3)
                got.append((dns.rcode.to_text(r.rcode()),
                            sorted(line for rr in r.answer
                                   for line in rr.to_text().splitlines())))
            if got[0] != got[1]:
                bad.append("%s %s: pdns %s, popdns %s" % (name, rdtype, *got))
        self.check(not bad, "%s: %d DNS answers of popdns equal pdns_server's"
                   % (what, len(names_types)), "\n".join(bad))


def rrset(name, rdtype, contents, ttl=60, changetype="REPLACE"):
    return {"name": name, "type": rdtype, "ttl": ttl,
            "changetype": changetype,
            "records": [{"content": c, "disabled": False} for c in contents]}


TENANT_RECORDS = [
    rrset(TENANT, "A", ["192.0.2.10", "192.0.2.11"]),
    rrset(TENANT, "AAAA", ["2001:db8::10"]),
    rrset("_acme-challenge." + TENANT, "TXT",
          ['"gfj9Xq-Rrf_kN6ceK3oCn1dK0XfA8Z8RLkqYd6v_k-0"']),
    rrset(TENANT, "CAA", ['0 issue "letsencrypt.org"',
                          '0 iodef "mailto:security@example.net"']),
    rrset(TENANT, "MX", ["10 mx1.example.net.", "20 mx2.example.net."]),
    rrset("www." + TENANT, "CNAME", ["lb-1.example.com."]),
    rrset("*.apps." + TENANT, "A", ["192.0.2.12"], ttl=30),
]
TENANT_QUERIES = [(TENANT, "A"), (TENANT, "AAAA"), (TENANT, "CAA"),
                  (TENANT, "MX"), ("_acme-challenge." + TENANT, "TXT"),
                  ("www." + TENANT, "A"), ("www." + TENANT, "CNAME"),
                  ("x.apps." + TENANT, "A"), ("old." + ZONE, "A"),
                  ("www." + ZONE, "TXT"), (ZONE, "NS")]


def run_sequence(t):
    s = t.same
    s("server list", "GET", "/api/v1/servers")
    s("server", "GET", "/api/v1/servers/localhost")
    s("discovery", "GET", "/api/v1")
    s("zone list", "GET", ZONES)
    s("zone list, one zone", "GET", ZONES + "?zone=" + ZONE)
    s("zone list, no dnssec", "GET", ZONES + "?dnssec=false")
    s("zone", "GET", ZURL)
    s("zone by an id without the dot", "GET", ZONES + "/" + ZONE.rstrip("."))
    s("secondary zone", "GET", ZONES + "/" + SECONDARY + "?rrsets=false")
    t.serials_equal("start")

    # The tenant: addresses, ACME challenge, CAA, MX, a CNAME to a load
    # balancer and a wildcard, in one PATCH (one new serial).
    before = t.pop.serial()
    r = s("tenant created", "PATCH", ZURL, {"rrsets": TENANT_RECORDS})
    t.check(r.headers.get("x-pdns-new-serial") == str(before + 1),
            "tenant created: popdns's X-PDNS-New-Serial is %d (%s)"
            % (before + 1, r.headers.get("x-pdns-new-serial")))
    t.serials_equal("after the tenant's PATCH")
    n = t.catcher.wait(before + 1, timeout=5)
    t.check(n is not None, "tenant created: the secondary gets NOTIFY for "
            "serial %d (%s)" % (before + 1, n and n[1]))
    s("zone with the tenant", "GET", ZURL)
    s("one RRset", "GET", ZURL + "?rrset_name=" + TENANT + "&rrset_type=A")
    s("one name", "GET", ZURL + "?rrset_name=" + TENANT)
    s("no rrsets", "GET", ZURL + "?rrsets=false")
    t.same_dns("tenant created", TENANT_QUERIES)

    # Changes and deletions, REPLACE and DELETE mixed.
    s("tenant changed", "PATCH", ZURL, {"rrsets": [
        rrset(TENANT, "A", ["192.0.2.20"], ttl=120),
        rrset(TENANT, "AAAA", [], changetype="DELETE"),
        rrset(TENANT, "MX", [], changetype="DELETE"),
        rrset("www." + TENANT, "CNAME", ["lb-2.example.com."]),
        rrset("_acme-challenge." + TENANT, "TXT", []),
        rrset("old." + ZONE, "A", [], changetype="DELETE")]})
    t.serials_equal("after the second PATCH")
    s("zone after changes", "GET", ZURL)
    t.same_dns("tenant changed", TENANT_QUERIES)
    # The CNAME may take the place of data deleted earlier in the PATCH.
    s("A replaced by a CNAME in one PATCH", "PATCH", ZURL, {"rrsets": [
        rrset(TENANT, "CAA", [], changetype="DELETE"),
        rrset(TENANT, "A", [], changetype="DELETE"),
        rrset(TENANT, "CNAME", ["lb-3.example.com."])]})
    s("zone after the CNAME", "GET", ZURL)
    t.serials_equal("after the third PATCH")
    # The SOA as read, with a new refresh: SOA-EDIT-API INCREASE makes
    # its serial the one after the given one, on both.
    soa = [r for r in request(t.pop.api_port, "GET", ZURL).json["rrsets"]
           if r["type"] == "SOA"][0]["records"][0]["content"].split()
    soa[3] = "7200"
    s("SOA timers changed", "PATCH", ZURL, {"rrsets": [
        rrset(ZONE, "SOA", [" ".join(soa)], ttl=300)]})
    s("zone after the SOA change", "GET", ZURL)
    t.serials_equal("after the SOA PATCH")

    # Refused, and nothing changes.
    serial = t.pop.serial()
    s("wrong key", "GET", ZONES, key="wrong")
    s("wrong key, JSON accepted", "GET", ZONES, key="wrong",
      accept="application/json")
    s("no key", "PATCH", ZURL, {"rrsets": []}, key=None)
    s("unknown zone", "GET", ZONES + "/nope.example.")
    s("unknown zone, JSON accepted", "GET", ZONES + "/nope.example.",
      accept="application/json")
    s("unknown zone", "PATCH", ZONES + "/nope.example.",
      {"rrsets": [rrset("a.nope.example.", "A", ["192.0.2.1"])]})
    s("bad zone id escape", "GET", ZONES + "/apps=2x")
    s("unknown path", "GET", "/api/v1/servers/localhost/nothing")
    s("malformed JSON", "PATCH", ZURL, raw=b'{"rrsets": [')
    s("empty body", "PATCH", ZURL, raw=b"")
    s("no rrsets", "PATCH", ZURL, {})
    s("name outside the zone", "PATCH", ZURL,
      {"rrsets": [rrset("a.example.com.", "A", ["192.0.2.1"])]})
    s("name not absolute", "PATCH", ZURL,
      {"rrsets": [rrset("a.apps.example.net", "A", ["192.0.2.1"])]})
    s("CNAME beside A", "PATCH", ZURL,
      {"rrsets": [rrset("www." + ZONE, "CNAME", ["x.example.com."])]})
    s("A beside CNAME", "PATCH", ZURL,
      {"rrsets": [rrset("www." + TENANT, "A", ["192.0.2.1"])]})
    s("bad IPv4 content", "PATCH", ZURL,
      {"rrsets": [rrset("b." + ZONE, "A", ["192.0.2.300"])]},
      allow=PARSE_ERRORS)
    s("bad IPv6 content", "PATCH", ZURL,
      {"rrsets": [rrset("b." + ZONE, "AAAA", ["2001:db8::zz"])]})
    s("TXT without quotes", "PATCH", ZURL,
      {"rrsets": [rrset("b." + ZONE, "TXT", ["hello"])]})
    s("MX target without the dot", "PATCH", ZURL,
      {"rrsets": [rrset("b." + ZONE, "MX", ["10 mail.example.com"])]})
    s("two CNAMEs", "PATCH", ZURL,
      {"rrsets": [rrset("b." + ZONE, "CNAME", ["x.example.", "y.example."])]})
    s("duplicate record", "PATCH", ZURL,
      {"rrsets": [rrset("b." + ZONE, "A", ["192.0.2.1", "192.0.2.1"])]})
    s("unknown type", "PATCH", ZURL,
      {"rrsets": [rrset("b." + ZONE, "BOGUS", ["1"])]})
    s("bad changetype", "PATCH", ZURL,
      {"rrsets": [rrset("b." + ZONE, "A", ["192.0.2.1"], changetype="ADD")]})
    s("missing ttl", "PATCH", ZURL, {"rrsets": [
        {"name": "b." + ZONE, "type": "A", "changetype": "REPLACE",
         "records": [{"content": "192.0.2.1", "disabled": False}]}]})
    s("duplicate RRset", "PATCH", ZURL, {"rrsets": [
        rrset("b." + ZONE, "A", ["192.0.2.1"]),
        rrset("b." + ZONE, "A", ["192.0.2.2"])]})
    s("DNSKEY below the apex", "PATCH", ZURL, {"rrsets": [
        rrset("b." + ZONE, "DNSKEY", ["257 3 13 AQID"])]})
    s("MX to a non-hostname", "PATCH", ZURL, {"rrsets": [
        rrset("b." + ZONE, "MX", ["10 a_b.example.com."])]})
    # Atomic: a good RRset followed by a bad one changes nothing.
    s("good then bad RRset", "PATCH", ZURL, {"rrsets": [
        rrset("good." + ZONE, "A", ["192.0.2.77"]),
        rrset("www." + ZONE, "CNAME", ["x.example.com."])]})
    s("zone after the refusals", "GET", ZURL)
    t.check(t.pop.serial() == serial and t.pdns.serial() == serial,
            "refusals change nothing: serial %s stays (popdns %s, pdns %s)"
            % (serial, t.pop.serial(), t.pdns.serial()))

    # popdns only, where it differs on purpose.
    pop = t.pop.api_port
    r = request(pop, "PATCH", ZONES + "/" + SECONDARY,
                {"rrsets": [rrset("a." + SECONDARY, "A", ["192.0.2.1"])]})
    t.check(r.status == 422 and "secondary" in (r.json or {}).get("error", ""),
            "popdns: PATCH of a secondary is 422 (%r)" % r)
    r = request(pop, "PATCH", ZURL, {"rrsets": [{
        "name": "d." + ZONE, "type": "A", "ttl": 60, "changetype": "REPLACE",
        "records": [{"content": "192.0.2.1", "disabled": True}]}]})
    t.check(r.status == 422, "popdns: a disabled record is 422 (%r)" % r)
    r = request(pop, "PATCH", ZURL, {"rrsets": [
        rrset(ZONE, "SOA", [], changetype="DELETE")]})
    t.check(r.status == 422, "popdns: deleting the SOA is 422 (%r)" % r)
    big = ['"%s"' % ("%03d" % i * 60) for i in range(400)]
    r = request(pop, "PATCH", ZURL, {"rrsets": [rrset("big." + ZONE, "TXT",
                                                      big)]})
    t.check(r.status == 422 and "64 KB" in r.body,
            "popdns: an RRset over 64 KB is 422 (%r)" % r)
    t.check(t.pop.serial() == serial, "popdns: its refusals change nothing")


def restart(t):
    """kill -9, restart on the same storage: every acknowledged change is
    there."""
    pop = t.pop
    before = request(pop.api_port, "GET", ZURL)
    serial = pop.serial()
    pop.kill9()
    pop.start()
    wait_http(pop, pop.api_port)
    after = request(pop.api_port, "GET", ZURL)
    t.check(after.status == 200 and after.json == before.json,
            "restart after kill -9: the zone document is unchanged "
            "(serial %s)" % serial,
            first_diff(before.json, after.json) or "")
    t.check(pop.serial() == serial, "restart: serves serial %s (%s)"
            % (serial, pop.serial()))
    t.same_dns("after the restart", TENANT_QUERIES)
    # And it goes on taking changes.
    r = request(pop.api_port, "PATCH", ZURL, {"rrsets": [
        rrset("after." + ZONE, "TXT", ['"after restart"'])]})
    q = dns.message.make_query("after." + ZONE, "TXT")
    a = dns.query.udp(q, LOOPBACK, port=pop.port, timeout=3)
    t.check(r.status == 204 and len(a.answer) == 1 and
            pop.serial() == serial + 1,
            "restart: a new PATCH is served over DNS at once (%r, %s)"
            % (r, [x.to_text() for x in a.answer]))


def main():
    global BUILD, SRC, DEAD_PRIMARY_PORT
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    BUILD, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    keep = "--keep-tmp" in sys.argv
    tmp = tempfile.mkdtemp(prefix="popdns-pdns-api-")
    print("# temp dir %s" % tmp, flush=True)
    DEAD_PRIMARY_PORT = free_port()
    pdns = PdnsApi(tmp, "pdns").primary(ZONE, ZONE_TEXT)
    catcher = peers.NotifyCatcher()
    pop = Popdns(tmp, "popdns", catcher.addr)
    ok = False
    try:
        pdns.start()
        pop.start()
        wait_http(pdns, pdns.api_port)
        wait_http(pop, pop.api_port)
        t = Test(pdns, pop, catcher)
        run_sequence(t)
        restart(t)
        log = open(pop.log_path).read()
        t.check(API_KEY not in log, "the API key never appears in popdns's "
                "log")
        ok = not checks.failures
    except Exception as e:  # noqa: BLE001 - report, then clean up
        traceback.print_exc()
        checks.check(False, "the test ran to the end (%s: %s)"
                     % (type(e).__name__, e))
    finally:
        pop.stop()
        pdns.stop()
        catcher.close()
        if not ok:
            for s in (pop, pdns):
                print("--- %s log (%s), last 40 lines ---\n%s"
                      % (s.tag, s.log_path, s.tail(40)))
        if ok and not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    checks.summary()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
