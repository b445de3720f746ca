#!/usr/bin/env python3
"""Helper for bench/zone_load_bench.sh (stdlib only).

  zone_load_helper.py gen --records N --origin NAME --out FILE
      Writes a deterministic zone of exactly N records (default 1,000,000):
      SOA/NS/A/AAAA/MX/TXT at the apex, ~70% A (some 2-RR RRsets), ~15%
      AAAA, ~5% CNAME, ~5% TXT, ~2% MX, ~3% SRV, one delegation with
      in-bailiwick glue per 2000 records, and a wildcard. Half of the hosts
      sit under ~1 in 500 "tenant" labels (empty non-terminals), as in a
      platform zone with tenant subdomains. Prints the record count by type.

  zone_load_helper.py measure --name SERVER --port P --zone NAME --serial S
                              [--timeout SEC] -- COMMAND...
      Execs COMMAND, sends a UDP SOA query for NAME to 127.0.0.1:P every
      50 ms until an authoritative NOERROR answer with serial S arrives,
      then reads /proc of the started process and all its descendants,
      sends SIGTERM to the started PID, waits for it, and prints one JSON
      line: seconds (exec -> first good answer), VmHWM of each process,
      their maximum, VmRSS and Pss sums (Pss from smaps_rollup: shared
      pages divided among the sharers, so it does not double count).

  zone_load_helper.py report --records N --json-out FILE RUNS.jsonl...
      Medians over the runs per server and the Markdown table.
"""

import argparse
import json
import math
import os
import platform
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

# ---------------------------------------------------------------- generator

WORDS = ["www", "api", "mail", "cdn", "app", "db", "vpn", "git", "shop",
         "blog", "img", "static", "auth", "m", "dev", "stage", "edge", "ws",
         "mx", "portal"]
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(n):
    if n == 0:
        return "0"
    s = []
    while n:
        n, r = divmod(n, 36)
        s.append(B36[r])
    return "".join(reversed(s))


def mix(i, salt=0):
    """Deterministic 32-bit scramble of i (no random module state)."""
    x = (i * 0x9E3779B1 + salt * 0x85EBCA77) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def coprime_step(n, start):
    """A multiplier k with gcd(k, n) == 1, so i -> i*k mod n permutes."""
    k = start
    while math.gcd(k, n) != 1:
        k += 1
    return k


def selector(n_total, n_pick, start):
    """Picks exactly n_pick of range(n_total), spread out deterministically."""
    k = coprime_step(max(n_total, 1), start)
    return lambda i: (i * k) % n_total < n_pick


def host_name(i, n_tenants):
    """Host i's name; odd hosts sit under one of n_tenants tenant labels
    (empty non-terminals), as in a platform zone with tenant subdomains."""
    name = f"{WORDS[mix(i, 1) % len(WORDS)]}-{b36(i)}"
    if i & 1:
        name += f".t{b36(mix(i, 2) % n_tenants)}"
    return name


def gen_names(args):
    """--shape names: `--records` is a count of NAMES, each with several
    types, as a platform zone looks (issue 11's 1M-name zone: ~1.25
    records per name): 88% hosts with A (10% of them two), 22% of hosts
    also AAAA, 6% TXT, 4% MX; 12% aliases, each a CNAME to a host or to
    another alias (chains of 2-3 between names); a wildcard, a delegation
    per 5000 names with glue."""
    n = args.records
    origin = args.origin.rstrip(".") + "."
    counts = {}
    out = open(args.out, "w", buffering=1 << 20)
    w = out.write

    def rec(owner, rtype, rdata):
        counts[rtype] = counts.get(rtype, 0) + 1
        w(f"{owner}\t{rtype}\t{rdata}\n")

    w(f"; popdns bench/zone_load_helper.py gen --shape names --records {n}\n")
    w(f"$ORIGIN {origin}\n$TTL 3600\n")
    rec("@", "SOA", "ns1 hostmaster 2026112501 7200 3600 1209600 300")
    rec("@", "NS", "ns1")
    rec("@", "NS", "ns2")
    rec("@", "MX", "10 mail")
    rec("ns1", "A", "192.0.2.53")
    rec("ns2", "A", "198.51.100.53")
    rec("mail", "A", "192.0.2.25")
    rec("*.w", "A", "192.0.2.80")
    n_deleg = max(1, n // 5000)
    n_alias = n * 12 // 100
    hosts = n - n_alias - 3 * n_deleg - 5
    n_tenants = max(1, hosts // 500)

    def host(i):
        return host_name(i, n_tenants)

    for i in range(hosts):
        h = host(i)
        x = mix(i, 3)
        rec(h, "A", f"10.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}")
        if x % 10 == 0:
            rec(h, "A", f"172.16.{(x >> 8) & 255}.{(x >> 16) & 255}")
        y = mix(i, 4) % 100
        if y < 22:
            rec(h, "AAAA", f"2001:db8:{(x >> 16) & 0xffff:x}::{i & 0xffff:x}")
        if y >= 50 and y < 56:
            rec(h, "TXT", f'"site-verification={mix(i, 6):08x}{mix(i, 7):08x}"')
        if y >= 90 and y < 94:
            rec(h, "MX", f"{10 * (1 + (i & 3))} mail")
    for j in range(n_alias):
        # A third point at another alias: chains of two or three names.
        if j % 3 == 0 and j > 0:
            target = f"alias-{b36(mix(j, 12) % j)}"
        else:
            target = host(mix(j, 10) % hosts)
        rec(f"alias-{b36(j)}", "CNAME", target)
    for j in range(n_deleg):
        d = f"d{b36(j)}"
        x = mix(j, 11)
        rec(d, "NS", f"ns1.{d}")
        rec(f"ns1.{d}", "A", f"100.64.{(x >> 8) & 255}.{x & 255}")
        rec(d, "DS", f"{x & 0xffff} 13 2 {mix(j, 13):08x}{mix(j, 14):08x}"
                     f"{mix(j, 15):08x}{mix(j, 16):08x}{mix(j, 17):08x}"
                     f"{mix(j, 18):08x}{mix(j, 19):08x}{mix(j, 20):08x}")
    out.close()
    total = sum(counts.values())
    print(json.dumps({"records": total, "names": n, "by_type": counts,
                      "hosts": hosts, "aliases": n_alias,
                      "delegations": n_deleg, "serial": 2026112501}))


def gen(args):
    if args.shape == "names":
        return gen_names(args)
    n = args.records
    if n < 200:
        sys.exit("--records must be at least 200")
    origin = args.origin.rstrip(".") + "."
    counts = {}
    out = open(args.out, "w", buffering=1 << 20)
    w = out.write

    def rec(owner, rtype, rdata, ttl=""):
        counts[rtype] = counts.get(rtype, 0) + 1
        w(f"{owner}\t{ttl}\t{rtype}\t{rdata}\n" if ttl else
          f"{owner}\t{rtype}\t{rdata}\n")

    w(f"; popdns bench/zone_load_helper.py gen --records {n}\n")
    w(f"$ORIGIN {origin}\n$TTL 3600\n")
    rec("@", "SOA", f"ns1 hostmaster 2026112501 7200 3600 1209600 300")
    rec("@", "NS", "ns1")
    rec("@", "NS", "ns2")
    rec("@", "A", "192.0.2.1")
    rec("@", "AAAA", "2001:db8::1")
    rec("@", "MX", "10 mail")
    rec("@", "TXT", '"v=spf1 ip4:192.0.2.0/24 -all"')
    rec("ns1", "A", "192.0.2.53")
    rec("ns2", "A", "198.51.100.53")
    rec("mail", "A", "192.0.2.25")
    rec("*.w", "A", "192.0.2.80")
    rec("*.w", "AAAA", "2001:db8::80")
    fixed = sum(counts.values())

    n_deleg = max(1, n // 2000)
    rest = n - fixed - 4 * n_deleg
    n_aaaa = rest * 15 // 100
    n_cname = rest * 5 // 100
    n_txt = rest * 5 // 100
    n_mx = rest * 2 // 100
    n_srv = rest * 3 // 100
    n_a = rest - n_aaaa - n_cname - n_txt - n_mx - n_srv
    hosts = n_a * 85 // 100           # hosts; the others' A go to 2-RR sets
    n_double = n_a - hosts
    n_tenants = max(1, hosts // 500)
    n_srv_hosts = n_srv               # one SRV per "_sip._tcp.<host>"
    assert n_aaaa <= hosts and n_txt <= hosts and n_mx <= hosts
    assert n_srv_hosts <= hosts

    two_a = selector(hosts, n_double, 7919)
    has_aaaa = selector(hosts, n_aaaa, 104729)
    has_txt = selector(hosts, n_txt, 15485863)
    has_mx = selector(hosts, n_mx, 2750159)
    has_srv = selector(hosts, n_srv_hosts, 1299709)

    def host(i):
        return host_name(i, n_tenants)

    for i in range(hosts):
        h = host(i)
        ip = mix(i, 3)
        rec(h, "A", f"10.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}")
        if two_a(i):
            ip2 = mix(i, 4)
            rec(h, "A",
                f"172.{16 + ((ip2 >> 16) & 15)}.{(ip2 >> 8) & 255}."
                f"{ip2 & 255}")
        if has_aaaa(i):
            x = mix(i, 5)
            rec(h, "AAAA",
                f"2001:db8:{(x >> 16) & 0xffff:x}:{x & 0xffff:x}::{i & 0xffff:x}")
        if has_mx(i):
            rec(h, "MX", f"{10 * (1 + (i & 3))} mail")
        if has_txt(i):
            if i % 3 == 0:
                rec(h, "TXT", '"v=spf1 include:_spf.example.net ~all"')
            else:
                rec(h, "TXT", f'"site-verification={mix(i, 6):08x}'
                              f'{mix(i, 7):08x}{mix(i, 8):08x}"')
        if has_srv(i):
            # Its own owner name, right after the host it points to.
            rec(f"_sip._tcp.{h}", "SRV",
                f"10 {mix(i, 9) % 100} 5060 {h}")
    for j in range(n_cname):
        target = host(mix(j, 10) % hosts)
        if j % 4 == 3:
            target = f"c{b36(j)}.cdn.example.net."  # out of zone
        rec(f"alias-{b36(j)}", "CNAME", target)
    for j in range(n_deleg):
        d = f"d{b36(j)}"
        x = mix(j, 11)
        rec(d, "NS", f"ns1.{d}")
        rec(d, "NS", f"ns2.{d}")
        rec(f"ns1.{d}", "A", f"100.64.{(x >> 8) & 255}.{x & 255}")
        rec(f"ns2.{d}", "A", f"100.65.{(x >> 8) & 255}.{x & 255}")
    out.close()
    total = sum(counts.values())
    assert total == n, (total, n)
    print(json.dumps({"records": total, "by_type": counts,
                      "hosts": hosts, "tenants": n_tenants,
                      "delegations": n_deleg, "serial": 2026112501}))


# ----------------------------------------------------------------- measure

def soa_query(qid, zone):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in zone.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 6, 1)


def skip_name(msg, off):
    while True:
        l = msg[off]
        if l == 0:
            return off + 1
        if l & 0xC0 == 0xC0:
            return off + 2
        off += 1 + l


def soa_serial(msg, qid):
    """Serial of the answer's SOA if msg is an AA NOERROR answer, else None."""
    if len(msg) < 12:
        return None
    rid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if rid != qid or not flags & 0x8000 or flags & 0x000F or an < 1:
        return None
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    off = skip_name(msg, off)
    rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
    if rtype != 6:
        return None
    rd = off + 10
    p = skip_name(msg, skip_name(msg, rd))
    return struct.unpack(">I", msg[p:p + 4])[0]


def descendants(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def stop_process(proc, timeout):
    """SIGTERM to a process started here, SIGKILL if it has not exited
    within `timeout` seconds. True if it needed the SIGKILL."""
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


def proc_kib(pid, fname, keys):
    vals = {}
    try:
        with open(f"/proc/{pid}/{fname}") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    vals[k] = int(v.split()[0])
    except OSError:
        pass
    return vals


def measure(args):
    cmd = args.command
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    log = open(args.log, "wb") if args.log else subprocess.DEVNULL
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = t0 + args.timeout
    qid = 0
    seconds = None
    error = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            error = f"exited with status {proc.returncode} before answering"
            break
        qid = (qid + 1) & 0xFFFF
        sent = time.monotonic()
        try:
            sock.sendto(soa_query(qid, args.zone), ("127.0.0.1", args.port))
        except OSError:
            pass
        got = None
        while True:
            left = sent + 0.05 - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                msg = sock.recv(4096)
            except (socket.timeout, ConnectionRefusedError):
                # A closed port reports ICMP at once: wait out the 50 ms.
                time.sleep(max(0.0, sent + 0.05 - time.monotonic()))
                break
            got = soa_serial(msg, qid)
            if got is not None:
                break
        if got == args.serial:
            seconds = time.monotonic() - t0
            break
        time.sleep(max(0.0, sent + 0.05 - time.monotonic()))
    result = {"server": args.name, "seconds": seconds, "pid": proc.pid}
    if seconds is None and error is None:
        error = f"no answer with serial {args.serial} in {args.timeout} s"
    procs = []
    if error is None:
        for p in descendants(proc.pid):
            status = {}
            try:
                with open(f"/proc/{p}/status") as f:
                    for line in f:
                        k, _, v = line.partition(":")
                        if k in ("Name", "VmHWM", "VmRSS"):
                            status[k] = v.strip()
            except OSError:
                continue
            pss = proc_kib(p, "smaps_rollup", ("Pss",)).get("Pss", 0)
            procs.append({"pid": p, "name": status.get("Name", "?"),
                          "hwm_kib": int(status.get("VmHWM", "0 kB").split()[0]),
                          "rss_kib": int(status.get("VmRSS", "0 kB").split()[0]),
                          "pss_kib": pss})
        result["procs"] = procs
        result["hwm_max_kib"] = max(p["hwm_kib"] for p in procs)
        result["rss_sum_kib"] = sum(p["rss_kib"] for p in procs)
        result["pss_sum_kib"] = sum(p["pss_kib"] for p in procs)
    else:
        result["error"] = error
    # Stop: SIGTERM to the PID we started; its children are its business,
    # but any descendant still there after it exits is killed by PID.
    pids = descendants(proc.pid) if proc.poll() is None else [proc.pid]
    if stop_process(proc, 60):
        result["note"] = "needed SIGKILL"
    for p in pids[1:]:
        for _ in range(100):
            if not os.path.exists(f"/proc/{p}"):
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
    if error is None:
        print(f"  {seconds:.2f} s, peak RSS {result['hwm_max_kib'] / 1024:.0f}"
              f" MiB ({len(procs)} process(es))", file=sys.stderr)
    print(json.dumps(result))
    return 0 if error is None else 1


# ------------------------------------------------------------------ report

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def report(args):
    runs = {}
    order = []
    for path in args.runs:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                if r["server"] not in runs:
                    order.append(r["server"])
                runs.setdefault(r["server"], []).append(r)
    versions = dict(v.split("=", 1) for v in args.version)
    notes = dict(v.split("=", 1) for v in args.note)
    rows = []
    for name in order:
        good = [r for r in runs[name] if r.get("seconds") is not None]
        row = {"server": name, "version": versions.get(name, "?"),
               "runs": len(runs[name]), "ok_runs": len(good),
               "note": notes.get(name, "")}
        if good:
            row["seconds_median"] = statistics.median(r["seconds"] for r in good)
            row["seconds_all"] = [round(r["seconds"], 3) for r in good]
            row["peak_rss_kib_median"] = statistics.median(
                r["hwm_max_kib"] for r in good)
            row["peak_rss_kib_all"] = [r["hwm_max_kib"] for r in good]
            row["rss_sum_kib_median"] = statistics.median(
                r["rss_sum_kib"] for r in good)
            row["pss_sum_kib_median"] = statistics.median(
                r["pss_sum_kib"] for r in good)
            row["processes"] = len(good[0]["procs"])
            row["bytes_per_record"] = (row["peak_rss_kib_median"] * 1024 /
                                       args.records)
        else:
            row["errors"] = [r.get("error") for r in runs[name]]
        rows.append(row)
    base = next((r for r in rows if r["server"] == "popdns"
                 and "seconds_median" in r), None)
    for row in rows:
        if base and "seconds_median" in row:
            row["time_ratio_to_popdns"] = (row["seconds_median"] /
                                           base["seconds_median"])
            row["rss_ratio_to_popdns"] = (row["peak_rss_kib_median"] /
                                          base["peak_rss_kib_median"])
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "nproc": os.cpu_count(), "cpu": cpu_model(),
            "records": args.records, "zone_bytes": args.zone_bytes,
            "loadavg_before": args.loadavg}
    lines = []
    lines.append(f"Zone load, {args.records:,} records "
                 f"({args.zone_bytes / 1e6:.1f} MB zone file), median of "
                 f"{max(r['runs'] for r in rows)} runs; "
                 f"{meta['date']}; nproc {meta['nproc']}, {meta['cpu']}; "
                 f"load average before: {args.loadavg}")
    lines.append("")
    lines.append("| server | version | load s | peak RSS MiB | bytes/record "
                 "| RSS sum MiB | PSS sum MiB | time / popdns | RSS / popdns |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        if "seconds_median" not in row:
            lines.append(f"| {row['server']} | {row['version']} | failed: "
                         f"{'; '.join(str(e) for e in row['errors'])} "
                         f"| | | | | | |")
            continue
        tr = row.get("time_ratio_to_popdns")
        rr = row.get("rss_ratio_to_popdns")
        lines.append(
            f"| {row['server']}{'*' if row['processes'] > 1 else ''} "
            f"| {row['version']} "
            f"| {row['seconds_median']:.2f} "
            f"| {row['peak_rss_kib_median'] / 1024:.0f} "
            f"| {row['bytes_per_record']:.0f} "
            f"| {row['rss_sum_kib_median'] / 1024:.0f} "
            f"| {row['pss_sum_kib_median'] / 1024:.0f} "
            f"| {'' if tr is None else f'{tr:.2f}x'} "
            f"| {'' if rr is None else f'{rr:.2f}x'} |")
    lines.append("")
    lines.append(
        "load s: exec until the first authoritative SOA answer with the "
        "zone's serial (UDP probe every 50 ms). peak RSS: VmHWM of the "
        "process when it first answers; bytes/record = peak RSS / records. "
        "RSS sum / PSS sum: VmRSS / Pss (smaps_rollup) summed over the "
        "process and its descendants at that moment.")
    for row in rows:
        if row.get("processes", 1) > 1:
            lines.append(
                f"\\* {row['server']} forks ({row['processes']} processes "
                f"at that moment): peak RSS is the maximum VmHWM over the "
                f"parent and its children; the RSS sum double-counts pages "
                f"they share copy-on-write, the PSS sum does not.")
    for row in rows:
        if row.get("note"):
            lines.append(f"{row['server']}: {row['note']}")
    text = "\n".join(lines)
    print(text)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"meta": meta, "servers": rows,
                       "runs": {k: v for k, v in runs.items()},
                       "markdown": text}, f, indent=2)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--records", type=int, default=1_000_000)
    g.add_argument("--origin", default="load.test.")
    g.add_argument("--out", required=True)
    g.add_argument("--shape", choices=["records", "names"], default="records",
                   help="records: exactly N records; names: N names with "
                        "several types each and CNAME chains")
    m = sub.add_parser("measure")
    m.add_argument("--name", required=True)
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--zone", required=True)
    m.add_argument("--serial", type=int, required=True)
    m.add_argument("--timeout", type=float, default=300)
    m.add_argument("--log")
    m.add_argument("command", nargs=argparse.REMAINDER)
    r = sub.add_parser("report")
    r.add_argument("--records", type=int, required=True)
    r.add_argument("--zone-bytes", type=int, default=0)
    r.add_argument("--loadavg", default="?")
    r.add_argument("--version", action="append", default=[],
                   help="SERVER=VERSION")
    r.add_argument("--note", action="append", default=[],
                   help="SERVER=NOTE")
    r.add_argument("--json-out")
    r.add_argument("runs", nargs="+")
    a = ap.parse_args()
    if a.cmd == "gen":
        gen(a)
    elif a.cmd == "measure":
        sys.exit(measure(a))
    else:
        report(a)


if __name__ == "__main__":
    main()
