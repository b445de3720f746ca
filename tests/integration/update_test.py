"""popdns as the hidden primary taking RFC 2136 UPDATE (issue 12), with
real clients and a real peer, on loopback (tests/integration/peers.py).

Usage: update_test.py BUILD_DIR SOURCE_DIR [--case NAME]... [--list]

Cases:
  knot_same_updates  one sequence of knsupdate scripts (prerequisites of
                     every kind, adds, deletions, CNAME conflicts, apex
                     NS/SOA protection, TTL changes, NOTZONE) sent to knotd
                     and to popdns serving the same zone: the same rcode for
                     each, and the same zone (kdig axfr) and answers after
                     each.
  nsupdate_clients   BIND's nsupdate (UDP and TCP) and knsupdate unchanged.
  policy             a key limited to a subtree and types (RFC 2136 3.3, as
                     BIND's update-policy): REFUSED outside them, unsigned
                     REFUSED, an unknown key NOTAUTH/BADKEY; nothing changes.
  bad_input          an RRset over 64 KB, RDATA of the wrong shape, a name
                     outside the zone: refused with their rcodes, the zone
                     unchanged and still serving.
  kill9_stream       a stream of updates (each adds two records), popdns
                     killed with SIGKILL at a random moment, restarted:
                     every acknowledged update is there, none half there;
                     five rounds.
  knot_secondary     knotd as a secondary of the popdns primary stays equal
                     to it (kdig axfr on both) through a stream of updates,
                     by NOTIFY and IXFR from popdns's journal.
  journal_compaction past 10,000 changed records the journal takes a full
                     copy; a restart serves every change.
  background_compaction  updates from concurrent clients while the zone's
                     arrays are compacted off the writers' lock: nothing
                     lost, the compacted version caught up.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdata  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.tsig  # noqa: E402
import dns.update  # noqa: E402

import checks  # noqa: E402
import peers  # noqa: E402
import xfr_test  # noqa: E402
from peers import Knot, PeerError, TsigKey, kdig_axfr, kdig_records  # noqa: E402
from xfr_test import CaseFailed, Popdns  # noqa: E402

ZONE = "apps.test."
NSUPDATE = shutil.which("nsupdate") or "/usr/bin/nsupdate"


def zone_text(serial=1):
    return peers.base_zone(ZONE, serial=serial)


def start_popdns(c, tkey, tag="popdns", update=None, **zone_kw):
    """popdns serving ZONE from a file, with storage and an update policy
    (by default: `tkey` may change anything but SOA and DNSSEC types)."""
    path = os.path.join(c.tmp, tag + ".zone")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(zone_text())
    z = dict(name=ZONE, file=path, storage=c.storage(tag + "-storage"),
             update=update if update is not None else [dict(key=tkey.name)],
             allow_transfer=["127.0.0.1/32"])
    z.update(zone_kw)
    pop = Popdns(c.tmp, tag, keys=[tkey], zones=[z])
    return c.add(pop).start()


def knsupdate(server, key, lines, tcp=False):
    """Runs knsupdate on `lines` (its commands; server/zone/send/answer are
    added) and returns the rcode text of the answer."""
    script = ["server 127.0.0.1 %d" % server.port, "zone %s" % ZONE]
    script += lines + ["send", "answer", ""]
    cmd = [peers.KNSUPDATE]
    if key:
        cmd += ["-y", key.y]
    if tcp:
        cmd.append("-v")
    r = subprocess.run(cmd, input="\n".join(script), capture_output=True,
                       text=True, timeout=30)
    m = re.search(r"status: (\w+)", r.stdout + r.stderr)
    return m.group(1) if m else "no answer: " + (r.stdout + r.stderr)[-200:]


def send_update(server, key, build, tcp=True, timeout=5):
    """A dnspython UPDATE (`build(msg)` fills it) to `server`: its rcode."""
    u = dns.update.UpdateMessage(ZONE)
    if key:
        key.sign(u)
    build(u)
    q = dns.query.tcp if tcp else dns.query.udp
    r = q(u, "127.0.0.1", port=server.port, timeout=timeout)
    return r.rcode()


def records(server, key=None):
    rc, lines, out = kdig_axfr(server.port, ZONE, key)
    if rc != 0:
        raise CaseFailed("kdig axfr from %s failed: %s" % (server.tag,
                                                           out[-300:]))
    return kdig_records(lines)


def names_in(recs):
    return {r.split()[0].lower() for r in recs}


# ---------------------------------------------------------------------------

# (what, knsupdate lines). Names relative to nothing: absolute.
SEQUENCE = [
    ("add a tenant's records", [
        "update add t1.apps.test. 300 A 198.51.100.1",
        "update add t1.apps.test. 300 A 198.51.100.2",
        "update add t1.apps.test. 300 AAAA 2001:db8::1",
        'update add t1.apps.test. 300 TXT "tenant one"',
        'update add t1.apps.test. 300 CAA 0 issue "letsencrypt.org"',
        "update add t1.apps.test. 300 MX 10 mail.apps.test."]),
    ("prereq nxdomain on an existing name (3.2.2)", [
        "prereq nxdomain t1.apps.test.",
        "update add t1.apps.test. 300 A 198.51.100.3"]),
    ("prereq yxdomain (3.2.1) then a CNAME to a load balancer", [
        "prereq yxdomain t1.apps.test.",
        "update add www.t1.apps.test. 60 CNAME lb.apps.test."]),
    ("prereq yxrrset value-dependent, matching (3.2.3)", [
        "prereq yxrrset t1.apps.test. A 198.51.100.1",
        "prereq yxrrset t1.apps.test. A 198.51.100.2",
        "update delete t1.apps.test. TXT"]),
    ("prereq yxrrset value-dependent, not matching (3.2.3)", [
        "prereq yxrrset t1.apps.test. A 203.0.113.9",
        "update delete t1.apps.test. A"]),
    ("prereq nxrrset on an existing RRset (3.2.2)", [
        "prereq nxrrset t1.apps.test. A",
        "update delete t1.apps.test. A"]),
    ("prereq yxrrset value-independent on a missing RRset (3.2.1)", [
        "prereq yxrrset t1.apps.test. SRV",
        "update delete t1.apps.test. A"]),
    ("other data at a CNAME is ignored (3.4.2.2)", [
        "update add www.t1.apps.test. 60 A 198.51.100.9"]),
    ("a CNAME at other data is ignored (3.4.2.2)", [
        "update add t1.apps.test. 60 CNAME lb.apps.test."]),
    ("a record already there, another TTL", [
        "update add t1.apps.test. 30 A 198.51.100.1"]),
    ("a new record with a new TTL for the RRset", [
        "update add t1.apps.test. 30 A 198.51.100.5"]),
    ("delete one record (3.4.2.4)", [
        "update delete t1.apps.test. A 198.51.100.2"]),
    ("the apex's NS and SOA are not deleted (3.4.2.3)", [
        "update delete apps.test. NS",
        "update delete apps.test. SOA"]),
    ("deleting what is not there changes nothing", [
        "update delete nothing.apps.test. A"]),
    ("a name outside the zone (3.4.1.3)", [
        "update add www.elsewhere.test. 300 A 198.51.100.1"]),
    ("0x20 owner names", [
        "update add TeNaNt2.Apps.Test. 300 A 198.51.100.20"]),
    ("delete a whole name (3.4.2.3)", [
        "update delete t1.apps.test."]),
    ("several changes at once, one serial", [
        "update add a.t3.apps.test. 300 A 198.51.100.31",
        "update add b.t3.apps.test. 300 A 198.51.100.32",
        'update add _acme-challenge.t3.apps.test. 60 TXT "token-1"',
        "update delete tenant2.apps.test. A"]),
]


def case_knot_same_updates(c, key):
    """The same knsupdate sequence to knotd and to popdns: same rcodes,
    same zone, same answers after every step."""
    knot = c.add(Knot(c.tmp, "knotd", key).primary(ZONE, zone_text()))
    knot.start()
    pop = start_popdns(c, key)
    for i, (what, lines) in enumerate(SEQUENCE, 1):
        tcp = i % 2 == 0
        want = knsupdate(knot, key, lines, tcp)
        got = knsupdate(pop, key, lines, tcp)
        c.check(want == got, "step %d, %s (%s): popdns %s, knotd %s" % (
            i, what, "TCP" if tcp else "UDP", got, want))
        # knotd applies a change a moment after it answers.
        deadline = time.time() + 5
        while True:
            a, b = records(knot, key), records(pop)
            if a == b or time.time() > deadline:
                break
            time.sleep(0.1)
        c.check(a == b, "step %d: the same %d records on knotd and popdns "
                "(SOA serial included)" % (i, len(a)),
                "only knotd: %s\nonly popdns: %s" % (
                    sorted(set(a) - set(b))[:10],
                    sorted(set(b) - set(a))[:10]))
    qs = peers.zone_queries(peers.axfr_records(pop.port, ZONE)[1], ZONE,
                            extra_names=["nothing.apps.test.",
                                         "x.www.t1.apps.test."])
    diffs = peers.compare_servers(knot.port, pop.port, qs, strict=False)
    c.check(not diffs, "answers equal to knotd's for %d queries after the "
            "sequence" % len(qs), "\n".join(map(str, diffs[:10])))


def case_nsupdate_clients(c, key):
    """BIND's nsupdate over UDP and TCP, and knsupdate, change popdns."""
    pop = start_popdns(c, key)
    for tcp in (False, True):
        name = "ns%s.apps.test." % ("tcp" if tcp else "udp")
        script = "server 127.0.0.1 %d\nzone %s\nupdate add %s 60 A " \
                 "198.51.100.%d\nupdate add %s 60 TXT \"via nsupdate\"\n" \
                 "send\n" % (pop.port, ZONE, name, 40 + tcp, name)
        cmd = [NSUPDATE, "-y", key.y] + (["-v"] if tcp else [])
        r = subprocess.run(cmd, input=script, capture_output=True, text=True,
                           timeout=30)
        c.check(r.returncode == 0, "nsupdate %s exits 0 (%s)" % (
            "-v (TCP)" if tcp else "(UDP)", (r.stdout + r.stderr)[-200:]))
        a = peers.query(pop.port, name, "A")
        c.check(a.rcode() == 0 and a.answer and
                a.answer[0][0].to_text() == "198.51.100.%d" % (40 + tcp),
                "popdns answers %s A at once" % name, a)
        script = "server 127.0.0.1 %d\nzone %s\nupdate delete %s\nsend\n" % (
            pop.port, ZONE, name)
        r = subprocess.run(cmd, input=script, capture_output=True, text=True,
                           timeout=30)
        a = peers.query(pop.port, name, "A")
        c.check(r.returncode == 0 and a.rcode() == dns.rcode.NXDOMAIN,
                "nsupdate deletes %s: NXDOMAIN (%s)" % (
                    name, dns.rcode.to_text(a.rcode())))
    got = knsupdate(pop, key, ["update add kn.apps.test. 60 AAAA 2001:db8::7"])
    a = peers.query(pop.port, "kn.apps.test.", "AAAA")
    c.check(got == "NOERROR" and a.answer, "knsupdate adds an AAAA (%s)" % got)


def case_policy(c, key):
    """A key limited to a subtree and types; unsigned and unknown keys."""
    other = TsigKey("other-key")
    pop = Popdns(c.tmp, "popdns", keys=[key, other], zones=[dict(
        name=ZONE, file=os.path.join(c.tmp, "z.zone"),
        storage=c.storage(),
        update=[dict(key=key.name, subtree="tenants." + ZONE,
                     types=["A", "AAAA", "TXT", "CNAME", "CAA"])])])
    with open(os.path.join(c.tmp, "z.zone"), "w") as f:
        f.write(zone_text())
    c.add(pop).start()
    serial = pop.serial()
    cases = [
        ("inside its subtree, a granted type", key,
         ["update add acme.tenants.apps.test. 60 A 198.51.100.1"], "NOERROR"),
        ("outside its subtree", key,
         ["update add www.apps.test. 60 A 198.51.100.1"], "REFUSED"),
        ("a type it is not granted", key,
         ["update add acme.tenants.apps.test. 60 MX 10 mx.apps.test."],
         "REFUSED"),
        ("one forbidden record refuses the whole update", key,
         ["update add b.tenants.apps.test. 60 A 198.51.100.2",
          "update add www.apps.test. 60 A 198.51.100.2"], "REFUSED"),
        ("a key that has no rule", other,
         ["update add c.tenants.apps.test. 60 A 198.51.100.3"], "REFUSED"),
        ("unsigned", None,
         ["update add d.tenants.apps.test. 60 A 198.51.100.4"], "REFUSED"),
        ("a key popdns does not know (RFC 8945 5.2.1)",
         TsigKey("unknown-key"),
         ["update add e.tenants.apps.test. 60 A 198.51.100.5"],
         ("NOTAUTH", "BADKEY")),
        ("the right name, a wrong secret (RFC 8945 5.2.2)",
         key.with_secret(),
         ["update add f.tenants.apps.test. 60 A 198.51.100.6"],
         ("NOTAUTH", "BADSIG")),
    ]
    for what, k, lines, want in cases:
        # knsupdate shows a TSIG error (RFC 8945 5.2) in place of NOTAUTH.
        want = want if isinstance(want, tuple) else (want,)
        got = knsupdate(pop, k, lines)
        c.check(got in want, "%s: %s (%s)" % (what, "/".join(want), got))
    c.check(pop.serial() == serial + 1, "only the granted update moved the "
            "serial (%d -> %s)" % (serial, pop.serial()))
    for n in "bcdef":
        a = peers.query(pop.port, "%s.tenants.apps.test." % n, "A")
        c.check(a.rcode() == dns.rcode.NXDOMAIN,
                "%s.tenants was not added" % n)
    log = pop.log()
    c.check(key.secret not in log and other.secret not in log,
            "no secret in popdns's log")
    c.check("may not change" in log, "refusals are logged with the reason")


def case_bad_input(c, key):
    """Refused with a reason, nothing changed, still serving."""
    pop = start_popdns(c, key)
    serial = pop.serial()

    # No message holds an RRset over 64 KB: it grows there in two updates.
    def big(part):
        def build(u):
            for i in range(150):
                u.add("big", 60, "TXT", '"%s%d-%d"' % ("x" * 240, part, i))
        return build
    rc = send_update(pop, key, big(1))
    c.check(rc == dns.rcode.NOERROR, "a 37 KB TXT RRset: NOERROR (%s)"
            % dns.rcode.to_text(rc))
    serial += 1
    rc = send_update(pop, key, big(2))
    c.check(rc == dns.rcode.REFUSED, "growing it past 64 KB: REFUSED (%s)"
            % dns.rcode.to_text(rc))
    c.check("64 KB" in pop.log(), "the refusal is logged with its reason")

    def bad_rdata(u):
        rd = dns.rdata.GenericRdata(dns.rdataclass.IN, dns.rdatatype.A,
                                    b"\x01\x02\x03")
        u.add("short", 60, rd)
    rc = send_update(pop, key, bad_rdata)
    c.check(rc == dns.rcode.FORMERR, "an A of 3 octets: FORMERR (%s)"
            % dns.rcode.to_text(rc))

    def outside(u):
        u.add(dns.name.from_text("www.elsewhere.test."), 60, "A",
              "198.51.100.1")
    rc = send_update(pop, key, outside)
    c.check(rc == dns.rcode.NOTZONE, "a name outside the zone: NOTZONE (%s)"
            % dns.rcode.to_text(rc))

    def cname_beside(u):
        u.add("www", 60, "CNAME", "alias.apps.test.")
    rc = send_update(pop, key, cname_beside)
    c.check(rc == dns.rcode.NOERROR, "a CNAME beside other data is ignored "
            "(RFC 2136 3.4.2.2): NOERROR (%s)" % dns.rcode.to_text(rc))
    c.check(pop.serial() == serial, "nothing moved the serial (%s)"
            % pop.serial())
    a = peers.query(pop.port, "www.apps.test.", "A")
    c.check(a.rcode() == 0 and len(a.answer[0]) == 2,
            "www still answers its two addresses")


def case_kill9_stream(c, key, rounds=5):
    """kill -9 during a stream of updates: acknowledged changes survive,
    none is half applied."""
    pop = start_popdns(c, key)
    acked = []
    seq = [0]
    for rnd in range(rounds):
        stop = threading.Event()
        errors = []

        def stream():
            while not stop.is_set():
                i = seq[0]
                seq[0] += 1

                def add(u, i=i):
                    u.add("u%d" % i, 60, "A", "198.51.%d.%d" % (
                        (i >> 8) & 255, i & 255))
                    u.add("u%d" % i, 60, "TXT", '"update %d"' % i)
                try:
                    rc = send_update(pop, key, add, timeout=2)
                except Exception as e:  # noqa: BLE001 - killed mid-update
                    errors.append(e)
                    return
                if rc == dns.rcode.NOERROR:
                    acked.append(i)
        t = threading.Thread(target=stream)
        t.start()
        time.sleep(random.uniform(0.3, 1.5))
        pop.kill9()
        stop.set()
        t.join(10)
        pop.start()
        recs = records(pop)
        have = {}
        for r in recs:
            f = r.split()
            m = re.match(r"u(\d+)\.", f[0])
            if m:
                have.setdefault(int(m.group(1)), set()).add(f[2])
        lost = [i for i in acked if i not in have]
        half = [i for i, types in have.items() if types != {"A", "TXT"}]
        c.check(not lost and not half and len(acked) > 0,
                "round %d: %d updates acknowledged, all there after kill -9, "
                "none half applied (%d in the zone)" % (
                    rnd + 1, len(acked), len(have)),
                "lost %s, half %s" % (lost[:10], half[:10]))
        c.check(pop.serial() == 1 + len(have),
                "round %d: one serial per update (%s = 1 + %d)" % (
                    rnd + 1, pop.serial(), len(have)))


def case_knot_secondary(c, key, updates=200):
    """knotd secondary of the popdns primary, equal through a stream."""
    ks = Knot(c.tmp, "knotd-secondary", key)
    pop = start_popdns(c, key, key=key.name, notify=[ks.addr],
                       allow_transfer=["127.0.0.1/32"])
    ks.secondary(ZONE, pop.addr)
    c.add(ks).start()
    ks.wait_serial(pop.serial(), timeout=20)
    km = ks.mark()
    t0 = time.time()
    for i in range(updates):
        def add(u, i=i):
            u.add("s%d" % i, 60, "A", "198.51.100.%d" % (i % 250))
            if i % 3 == 0:
                u.delete("s%d" % (i - 3))
        rc = send_update(pop, key, add, tcp=i % 2 == 0)
        if rc != dns.rcode.NOERROR:
            c.check(False, "update %d: NOERROR (%s)" % (
                i, dns.rcode.to_text(rc)))
            break
    took = time.time() - t0
    serial = pop.serial()
    c.info("%d updates acknowledged in %.2fs (%.0f/s)" % (updates, took,
                                                         updates / took))
    try:
        ks.wait_serial(serial, timeout=30)
        ok = True
    except PeerError:
        ok = False
    c.check(ok, "knotd secondary reaches popdns's serial %d" % serial)
    a, b = records(pop, key), records(ks, key)
    c.check(a == b, "kdig axfr: the same %d records on popdns and the knotd "
            "secondary" % len(a), "only popdns: %s\nonly knotd: %s" % (
                sorted(set(a) - set(b))[:10], sorted(set(b) - set(a))[:10]))
    tr = ks.transfers(km, "incoming")
    c.check(any(k == "IXFR" and "finished" in w for k, w in tr) and
            not any(k == "AXFR" for k, w in tr),
            "knotd took the changes by IXFR (%d transfers, no AXFR)"
            % len(tr))


def case_journal_compaction(c, key):
    """Past 10,000 changed records the journal takes a new full copy; a
    restart then serves every change."""
    pop = start_popdns(c, key)
    for i in range(60):
        def add(u, i=i):
            for k in range(100):
                u.replace("j%d" % k, 60, "A", "198.51.%d.%d" % (i, k))
        rc = send_update(pop, key, add)
        if rc != dns.rcode.NOERROR:
            c.require(False, "update %d: NOERROR (%s)" % (
                i, dns.rcode.to_text(rc)))
    c.check("journal compacted" in pop.log(), "popdns compacted its journal "
            "(60 updates replacing 100 records: 12,000 changed)")
    serial = pop.serial()
    before = records(pop)
    pop.stop()
    pop.start()
    c.check(pop.serial() == serial and records(pop) == before,
            "after a restart: serial %s and the same %d records" % (
                pop.serial(), len(before)))


def case_background_compaction(c, key, updates=400, senders=4):
    """Updates from concurrent clients while the zone's arrays are
    compacted in the background: every update is there afterwards, the
    compaction caught up with them."""
    pop = start_popdns(c, key)
    done = []
    lock = threading.Lock()

    def sender(w):
        for i in range(w, updates, senders):
            def add(u, i=i):
                u.replace("bg%d" % (i % 50), 60, "A", "198.51.%d.%d" % (
                    i // 250, i % 250))
                u.add("keep%d" % i, 60, "TXT", '"%d"' % i)
            if send_update(pop, key, add, tcp=False) == dns.rcode.NOERROR:
                with lock:
                    done.append(i)
    threads = [threading.Thread(target=sender, args=(w,))
               for w in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    log = pop.log()
    c.check(len(done) == updates, "%d of %d updates acknowledged" % (
        len(done), updates))
    c.check("compaction done" in log, "compactions ran (%d done, %d "
            "abandoned)" % (log.count("compaction done"),
                            log.count("compaction abandoned")))
    # A compaction still running changes no record: compare now.
    recs = records(pop)
    keeps = {r.split()[0] for r in recs if r.startswith("keep")}
    c.check(len(keeps) == updates, "all %d TXT names there (%d)" % (
        updates, len(keeps)))
    last = {}
    for i in sorted(done):
        last[i % 50] = i
    want = {"bg%d.%s 60 A 198.51.%d.%d" % (k, ZONE, i // 250, i % 250)
            for k, i in last.items()}
    have = {r for r in recs if r.startswith("bg")}
    # Concurrent senders: the last acknowledged per name wins only if the
    # order of acknowledgements is the order of commits; check the count
    # and that each name has exactly one address.
    c.check(len(have) == 50 and len({r.split()[0] for r in have}) == 50,
            "each of the 50 replaced names has one address (%d records)"
            % len(have), sorted(set(want) ^ have)[:6])
    qs = [(r.split()[0], "A") for r in have][:20]
    bad = []
    for name, t in qs:
        a = peers.query(pop.port, name, t)
        if a.rcode() != 0 or not a.answer:
            bad.append(name)
    c.check(not bad, "popdns answers them over DNS", bad)


CASES = [
    ("knot_same_updates", case_knot_same_updates),
    ("nsupdate_clients", case_nsupdate_clients),
    ("policy", case_policy),
    ("bad_input", case_bad_input),
    ("kill9_stream", case_kill9_stream),
    ("knot_secondary", case_knot_secondary),
    ("journal_compaction", case_journal_compaction),
    ("background_compaction", case_background_compaction),
]


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("source")
    ap.add_argument("--case", action="append", default=[])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep-tmp", action="store_true")
    a = ap.parse_args()
    if a.list:
        for name, fn in CASES:
            print("%-20s %s" % (name, (fn.__doc__ or "").split("\n")[0]))
        return 0
    build = os.path.abspath(a.build)
    xfr_test.POPDNS = os.path.join(build, "control", "popdns")
    xfr_test.POPDNSCTL = os.path.join(build, "control", "popdnsctl")
    known = [n for n, _ in CASES]
    for name in a.case:
        if name not in known:
            print("unknown case %s (cases: %s)" % (name, ", ".join(known)))
            return 2
    for tool in (xfr_test.POPDNS, peers.KNOTD, peers.KNSUPDATE, NSUPDATE):
        if not os.path.exists(tool):
            checks.check(False, "%s exists" % tool)
            return checks.summary()
    tmp = tempfile.mkdtemp(prefix="popdns-update-")
    print("# temp dir %s" % tmp)
    key = TsigKey("navigator")
    for name, fn in CASES:
        if a.case and name not in a.case:
            continue
        xfr_test.run_case(name, fn, os.path.join(tmp, name),
                          lambda c, fn=fn: fn(c, key))
    if not a.keep_tmp and not checks.failures:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
