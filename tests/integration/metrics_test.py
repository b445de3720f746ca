#!/usr/bin/python3
"""GET /metrics of a running popdns, checked by Prometheus's own tools.

popdns runs on kernel sockets on loopback (a zone, management.listen on a
free port); the test sends it a known number of queries (dnspython: UDP
NOERROR and NXDOMAIN, TCP NOERROR) and reloads the zone once, then:
  1. scrapes /metrics itself: content type, `promtool check metrics`
     (Debian prometheus) finds nothing to say, and the counters hold
     exactly the queries sent, the zone's serial, one reload;
  2. starts a real Prometheus (/usr/bin/prometheus, temp config and TSDB,
     scrape_interval 1s, its web port free on 127.0.0.1) scraping popdns,
     and asks its HTTP API (/api/v1/query) for up, the NOERROR responses
     over UDP, and popdns_zone_serial, which must be the values sent.
Both processes are stopped by their PIDs. Usage:
metrics_test.py BUILD_DIR SOURCE_DIR [--keep-tmp]
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

from checks import check, free_port, run, stop, summary  # noqa: E402

BUILD, SRC = sys.argv[1], sys.argv[2]
POPDNS = os.path.join(BUILD, "control", "popdns")
POPDNSCTL = os.path.join(BUILD, "control", "popdnsctl")
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
LOOPBACK = "127.0.0.1"

ZONE = "metrics.test"
SERIAL = 2024120207
ZONE_TEXT = """$ORIGIN metrics.test.
$TTL 300
@    IN SOA ns1 hostmaster %d 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
www  IN A   192.0.2.1
""" % SERIAL
UDP_NOERROR, UDP_NXDOMAIN, TCP_NOERROR = 7, 3, 2


def http_get(port, path, timeout=5):
    """(status, content type, body) of GET http://127.0.0.1:port/path."""
    c = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read().decode()
    finally:
        c.close()


def query(port, name, tcp=False):
    q = dns.message.make_query(name, "A")
    q.flags = 0  # no RD: an authoritative query
    if tcp:
        return dns.query.tcp(q, LOOPBACK, port=port, timeout=3)
    return dns.query.udp(q, LOOPBACK, port=port, timeout=3)


def parse(text):
    """{series: value} of an exposition (series as written)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def wait_for(what, fn, timeout):
    """Polls fn() until it returns something true, up to timeout s."""
    end = time.time() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except (OSError, http.client.HTTPException, ValueError):
            pass
        if time.time() > end:
            print("timed out waiting for " + what)
            return None
        time.sleep(0.2)


def prom_query(port, promql):
    """The vector result of an instant query through Prometheus's API."""
    status, _, body = http_get(
        port, "/api/v1/query?query=" + urllib.parse.quote(promql))
    if status != 200:
        return None
    doc = json.loads(body)
    if doc.get("status") != "success":
        return None
    return doc["data"]["result"]


def prom_value(port, promql):
    """The single sample's value of promql, or None."""
    r = prom_query(port, promql)
    if not r or len(r) != 1:
        return None
    return float(r[0]["value"][1])


def main():
    keep = "--keep-tmp" in sys.argv
    tmp = tempfile.mkdtemp(prefix="popdns-metrics-")
    popdns = prometheus = None
    try:
        zone = os.path.join(tmp, "metrics.test.zone")
        with open(zone, "w") as f:
            f.write(ZONE_TEXT)
        dns_port, mgmt_port, prom_port = free_port(), free_port(), free_port()
        sock = os.path.join(tmp, "ctl.sock")
        conf = os.path.join(tmp, "popdns.yaml")
        with open(conf, "w") as f:
            f.write("listen: ['%s:%d']\n" % (LOOPBACK, dns_port) +
                    "control_socket: %s\n" % sock +
                    "zones:\n  - {name: %s, file: %s}\n" % (ZONE, zone) +
                    "management:\n  listen: '%s:%d'\n" % (LOOPBACK, mgmt_port))
        popdns = subprocess.Popen(
            [POPDNS, "--config", conf],
            stdout=open(os.path.join(tmp, "popdns.log"), "w"),
            stderr=subprocess.STDOUT)
        up = wait_for("popdns /metrics",
                      lambda: popdns.poll() is None and
                      http_get(mgmt_port, "/metrics")[0] == 200, 15)
        check(bool(up), "popdns starts and serves GET /metrics")
        if not up:
            return

        # The traffic the counters must show, exactly.
        rcodes = [query(dns_port, "www.metrics.test").rcode()
                  for _ in range(UDP_NOERROR)]
        rcodes += [query(dns_port, "nope%d.metrics.test" % i).rcode()
                   for i in range(UDP_NXDOMAIN)]
        rcodes += [query(dns_port, "www.metrics.test", tcp=True).rcode()
                   for _ in range(TCP_NOERROR)]
        check(rcodes.count(dns.rcode.NOERROR) == UDP_NOERROR + TCP_NOERROR and
              rcodes.count(dns.rcode.NXDOMAIN) == UDP_NXDOMAIN,
              "popdns answered the %d queries sent" % len(rcodes))
        r = run([POPDNSCTL, "--socket", sock, "reload"], timeout=10)
        check(r.returncode == 0, "popdnsctl reload")

        # 1. The scrape itself.
        status, ctype, text = http_get(mgmt_port, "/metrics")
        check(status == 200 and ctype.startswith("text/plain") and
              "version=0.0.4" in ctype,
              "GET /metrics: 200, text/plain; version=0.0.4 (got %d %s)" %
              (status, ctype))
        with open(os.path.join(tmp, "metrics.txt"), "w") as f:
            f.write(text)
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
              "promtool check metrics finds nothing (exit %d) %s" %
              (p.returncode, (p.stdout + p.stderr).strip()[:500]))
        m = parse(text)
        z = '{zone="%s."}' % ZONE
        expect = {
            'popdns_responses_total{transport="udp",rcode="NOERROR"}':
                UDP_NOERROR,
            'popdns_responses_total{transport="udp",rcode="NXDOMAIN"}':
                UDP_NXDOMAIN,
            'popdns_responses_total{transport="tcp",rcode="NOERROR"}':
                TCP_NOERROR,
            'popdns_queries_total{transport="udp"}':
                UDP_NOERROR + UDP_NXDOMAIN,
            'popdns_queries_by_qtype_total{transport="udp",qtype="A"}':
                UDP_NOERROR + UDP_NXDOMAIN,
            'popdns_query_outcomes_total{transport="udp",outcome="nxdomain"}':
                UDP_NXDOMAIN,
            "popdns_zone_serial" + z: SERIAL,
            "popdns_zone_loaded" + z: 1,
            "popdns_zone_expired" + z: 0,
            "popdns_zone_load_errors_total" + z: 0,
            'popdns_reloads_total{result="ok"}': 1,
            "popdns_healthy": 1,
        }
        for series, want in expect.items():
            check(m.get(series) == want,
                  "%s is %s (got %s)" % (series, want, m.get(series)))
        check(abs(m.get("popdns_zone_loaded_timestamp_seconds" + z, 0) -
                  time.time()) < 60,
              "popdns_zone_loaded_timestamp_seconds is the reload's time")
        check(m.get("popdns_rcu_grace_period_seconds_count", 0) >= 2 and
              m.get('popdns_rcu_grace_period_seconds_bucket{le="+Inf"}') ==
              m.get("popdns_rcu_grace_period_seconds_count"),
              "popdns_rcu_grace_period_seconds counts the publications")
        check(m.get("process_resident_memory_bytes", 0) > 1e6 and
              abs(m.get("process_start_time_seconds", 0) - time.time()) < 120,
              "process_resident_memory_bytes, process_start_time_seconds")
        check(any(s.startswith("popdns_build_info{version=") and v == 1
                  for s, v in m.items()), "popdns_build_info")

        # `popdnsctl stats` reads the same counters.
        r = run([POPDNSCTL, "--socket", sock, "stats"], timeout=10)
        check("rcode.NOERROR %d" % (UDP_NOERROR + TCP_NOERROR) in r.stdout,
              "popdnsctl stats shows the same NOERROR count")

        # 2. A real Prometheus scraping popdns.
        pdir = os.path.join(tmp, "prometheus")
        os.makedirs(os.path.join(pdir, "data"))
        pconf = os.path.join(pdir, "prometheus.yml")
        with open(pconf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: popdns\n"
                    "    scrape_interval: 1s\n    scrape_timeout: 1s\n"
                    "    static_configs:\n"
                    "      - targets: ['%s:%d']\n" % (LOOPBACK, mgmt_port))
        plog = open(os.path.join(pdir, "prometheus.log"), "w")
        prometheus = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + pconf,
             "--storage.tsdb.path=" + os.path.join(pdir, "data"),
             "--web.listen-address=%s:%d" % (LOOPBACK, prom_port)],
            stdout=plog, stderr=subprocess.STDOUT, cwd=pdir)
        ready = wait_for("prometheus ready",
                         lambda: prometheus.poll() is None and
                         http_get(prom_port, "/-/ready")[0] == 200, 20)
        check(bool(ready), "prometheus starts")
        if not ready:
            return
        up = wait_for("up == 1",
                      lambda: prom_value(prom_port, 'up{job="popdns"}') == 1,
                      15)
        check(bool(up), 'PromQL up{job="popdns"} is 1 (prometheus scrapes '
              'popdns)')
        promql = 'popdns_responses_total{job="popdns",transport="udp",' \
                 'rcode="NOERROR"}'
        got = wait_for(promql, lambda: prom_value(prom_port, promql), 10)
        check(got == UDP_NOERROR,
              "PromQL %s is %d (got %s)" % (promql, UDP_NOERROR, got))
        promql = 'sum(popdns_responses_total{rcode="NOERROR"})'
        got = wait_for(promql, lambda: prom_value(prom_port, promql), 10)
        check(got == UDP_NOERROR + TCP_NOERROR,
              "PromQL %s is %d (got %s)" % (promql, UDP_NOERROR + TCP_NOERROR,
                                            got))
        promql = 'popdns_zone_serial{zone="%s."}' % ZONE
        got = wait_for(promql, lambda: prom_value(prom_port, promql), 10)
        check(got == SERIAL, "PromQL %s is the zone's serial %d (got %s)" %
              (promql, SERIAL, got))
        # One more query: the next scrape moves the counter (a live series).
        query(dns_port, "www.metrics.test")
        promql = 'popdns_responses_total{transport="udp",rcode="NOERROR"}'
        got = wait_for("the next scrape",
                       lambda: prom_value(prom_port, promql) ==
                       UDP_NOERROR + 1, 10)
        check(bool(got), "a query sent later shows in the next scrape")
        # The example alert expressions of the README evaluate.
        for expr in ['popdns_zone_loaded == 0 or popdns_zone_expired == 1',
                     'rate(popdns_responses_total{rcode="SERVFAIL"}[1m])',
                     'histogram_quantile(0.99, rate('
                     'popdns_rcu_grace_period_seconds_bucket[1m]))']:
            check(prom_query(prom_port, expr) is not None,
                  "PromQL evaluates: " + expr)
    finally:
        stop(prometheus)
        stop(popdns)
        if keep or not summary_ok():
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def summary_ok():
    import checks
    return not checks.failures


if __name__ == "__main__":
    try:
        main()
    except Exception:  # noqa: BLE001 - reported as a failed check
        import traceback
        traceback.print_exc()
        check(False, "the test ran to its end")
    sys.exit(summary())
