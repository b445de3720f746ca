#!/usr/bin/env python3
"""The configuration reference of popdns: every key of the YAML config file
(control/config.cc), its type, unit and default, in one table that both the
man page popdns.yaml(5) and the README's "Configuration reference" section
are generated from, so that they cannot drift apart.

  config_reference.py --man VERSION [--output FILE]  the man page (roff)
  config_reference.py --readme                       the README section
  config_reference.py --update-readme README.md      rewrite that section
  config_reference.py --keys                         every key path

tests/doc/config_reference_test.py fails when the README's section differs
from --readme, or when control/config.cc accepts a key missing here.
Standard library only: it runs at build time (meson custom_target).
"""
import argparse
import re
import sys
from dataclasses import dataclass, field


@dataclass
class Key:
    name: str
    type: str                  # what the value is, with its range
    default: str               # what happens when the key is absent
    text: str                  # what it does
    unit: str = ""             # for numbers: bytes, seconds, ...


@dataclass
class Section:
    path: str                  # "" (top level), "zones[]", "dataplane.xdp", ...
    title: str
    intro: str
    keys: list = field(default_factory=list)


SECTIONS = [
    Section("", "Top level", "", [
        Key("listen", "list of addresses: `ADDR`, `ADDR:PORT` or `[V6]:PORT` "
            "(port 53 when omitted)",
            "the dataplane's `service_addresses` on port 53; without a "
            "dataplane `127.0.0.1:53`",
            "Where the kernel-socket server answers, over UDP and TCP "
            "(RFC 7766). With a dataplane this is the slow path: TCP, "
            "fragments and the control side's messages. `--listen` adds to "
            "this list."),
        Key("zones", "list of zones (see `zones[]`)",
            "none; at least one zone, here or with `--zone`, is required",
            "The zones to serve. `--zone NAME=FILE` adds to this list."),
        Key("keys", "list of TSIG keys (see `keys[]`)", "none",
            "TSIG keys (RFC 8945) that zones, transfers and update rules "
            "refer to by name. Read before `zones`, wherever written."),
        Key("keys_file", "path", "none",
            "A YAML file holding only `keys:` (the same list), so that the "
            "secrets can live in a root-only file while the config stays "
            "readable. Relative to the config file's directory. Its keys add "
            "to `keys`; popdns warns when group or others can read it."),
        Key("udp_payload", "integer, 512..4096", "1232",
            "Our EDNS UDP payload size (RFC 6891 6.2.5): a UDP answer to an "
            "EDNS query is at most the smaller of this and the client's "
            "size, else it is truncated (TC=1) and the client retries over "
            "TCP. Queries without EDNS get at most 512 bytes. "
            "`--udp-payload` overrides.", unit="bytes"),
        Key("identity", "string", "empty: such queries are REFUSED",
            "The answer to CHAOS TXT `id.server` and `hostname.bind`. "
            "`--identity` overrides."),
        Key("version", "string", "empty: such queries are REFUSED",
            "The answer to CHAOS TXT `version.bind`. `--version-string` "
            "overrides."),
        Key("nsid", "string: text, or `0x` and an even number of hex "
            "digits; at most 128 octets",
            "empty: no NSID",
            "The name server identifier (RFC 5001) sent to queries that "
            "carry an NSID option, and only to those, on every path (kernel "
            "sockets over UDP and TCP, DPDK and XDP workers). Written as "
            "Knot's `server.nsid`: `nsid: pop1.ams` sends those 8 octets, "
            "`nsid: 0x706f7031` the octets of the hex digits (NSD writes "
            "hex by default and text after `ascii_`). Give each PoP its own "
            "to tell them apart behind one anycast address "
            "(`dig +nsid`, `kdig +nsid`)."),
        Key("udp_threads", "integer, 0..256", "0: one per CPU core",
            "UDP threads per listen address. `--udp-threads` overrides.",
            unit="threads"),
        Key("tcp_idle_timeout_ms", "integer, 100..3600000", "10000",
            "A TCP connection that has sent no complete query for this long "
            "is closed (RFC 7766 6.2.3). A TCP query that carries the "
            "edns-tcp-keepalive option (RFC 7828) is told this timeout in "
            "its answer, in units of 100 ms (rounded down).",
            unit="milliseconds"),
        Key("tcp_max_connections", "integer, 1..1000000", "1024",
            "Open TCP connections at most; a connection beyond it is closed "
            "at once (RFC 7766 6.2.2).", unit="connections"),
        Key("control_socket", "path", "`/run/popdns/control.sock`",
            "The unix socket popdnsctl(8) talks to (mode 0600; its directory "
            "is created). `--control-socket` overrides."),
        Key("shutdown_drain_seconds", "integer, 0..3600", "0: stop at once",
            "On SIGTERM or SIGINT popdns first drains: `/health` answers "
            "503 (`draining`) while popdns keeps answering, so that the "
            "PoP's BGP speaker withdraws the anycast route; after this many "
            "seconds it stops (a second SIGTERM stops at once). Set it on a "
            "PoP that announces a route, longer than the health hook needs "
            "to withdraw it (the lab: 5). It is also the delay of "
            "`popdnsctl drain`.", unit="seconds"),
        Key("management", "mapping (see `management`)",
            "absent: no HTTP endpoint",
            "The management HTTP endpoint: provisioning API, metrics and "
            "health."),
        Key("dataplane", "mapping (see `dataplane`)",
            "absent: kernel sockets only",
            "The DPDK dataplane: worker cores that answer UDP straight off "
            "the NIC's queues (a DPDK port, or AF_XDP with `xdp`)."),
        Key("rrl", "mapping (see `rrl`)", "absent: no rate limiting",
            "Response rate limiting on every UDP path (socket threads, DPDK "
            "and XDP workers); TCP is never limited."),
        Key("cookies", "mapping (see `cookies`)", "absent: COOKIE options "
            "are ignored",
            "DNS cookies (RFC 7873) with interoperable server cookies "
            "(RFC 9018), over UDP and TCP."),
        Key("pop", "string", "empty: none",
            "This PoP's name, for answers that differ by PoP (issue 16): "
            "VARIANT records with the selector `pop:NAME`."),
        Key("geoip", "mapping (see `geoip`)", "none",
            "GeoIP databases for answers that differ by the client's "
            "country or AS (issue 16); turns EDNS Client Subnet on like "
            "`networks`."),
        Key("health_checks", "list (see `health_checks[]`)", "empty",
            "Checks of the endpoints of app-aware answers (issue 16)."),
        Key("networks", "list (see `networks[]`)",
            "empty: EDNS Client Subnet off",
            "Named client networks for answers that differ by client "
            "(issue 16). Non-empty turns EDNS Client Subnet (RFC 7871) on, "
            "on every path: a query's ECS option is checked (FORMERR when "
            "malformed, RFC 7871 6) and sent back with the answer's scope "
            "(0: the same answer for every client, which is every answer "
            "until zones carry variants). Off, ECS options are ignored, as "
            "by Knot and NSD."),
    ]),
    Section("networks[]", "Client networks",
            "Each entry of `networks:` names a set of prefixes. Prefixes may "
            "nest across networks (the longest prefix wins); the same prefix "
            "in two networks is an error.", [
        Key("name", "string", "required", "The network's name; unique."),
        Key("prefixes", "list of `ADDR/LEN` (IPv4 or IPv6) or addresses",
            "required",
            "Its prefixes, with no bits set past their length "
            "(`192.0.2.0/24`, `2001:db8::/32`, `198.51.100.7`)."),
    ]),
    Section("geoip", "GeoIP",
            "MaxMind DB files (GeoLite2/GeoIP2 Country, City or ASN format; "
            "read with libmaxminddb) for VARIANT records with the selectors "
            "`cc:CODE` and `asn:NUMBER`. Each file is checked when the "
            "config is read and turned into an address table once at "
            "start; a new file needs a restart.", [
        Key("country_database", "path", "none",
            "Its `country.iso_code` (else `registered_country.iso_code`) "
            "places a client in a country. Relative to the config file's "
            "directory."),
        Key("asn_database", "path", "none",
            "Its `autonomous_system_number` places a client in an AS."),
    ]),
    Section("health_checks[]", "Endpoint health checks",
            "Each entry of `health_checks:` checks one endpoint of app-aware "
            "answers: an address of VARIANT A/AAAA records. While it is "
            "down, answers leave it out of every variant that holds it; a "
            "variant left with none gives way to the next choice (a "
            "network's to the PoP's, the PoP's to the name's own records). "
            "Endpoints start up. The management API "
            "(`PUT /api/v1/endpoints/ADDRESS`) can mark any address down "
            "too, checked or not.", [
        Key("endpoint", "IPv4 or IPv6 address", "required",
            "The endpoint, as written in the VARIANT records; unique."),
        Key("type", "`tcp` or `http`", "required",
            "`tcp`: a TCP connect to `port` within `timeout_ms`; `http`: "
            "a GET of `path` whose answer has a 2xx or 3xx status."),
        Key("port", "1..65535", "80 for http; required for tcp",
            "The port checked."),
        Key("path", "string starting with `/`", "`/`",
            "http: the path asked for."),
        Key("host", "string", "the endpoint",
            "http: the Host header sent."),
        Key("interval_ms", "100..3600000", "5000",
            "Time from the start of one check to the start of the next."),
        Key("timeout_ms", "10..interval_ms", "2000",
            "A check not done in this time failed (http: for each of "
            "connect and answer)."),
        Key("rise", "1..100", "2",
            "Good checks in a row that bring a down endpoint up."),
        Key("fall", "1..100", "2",
            "Failed checks in a row that take an up endpoint down."),
    ]),
    Section("zones[]", "Zones",
            "Each entry of `zones:` is a mapping; it needs `name`, and "
            "`file` or `primaries`.", [
        Key("name", "domain name", "required",
            "The zone's apex; the final dot is optional."),
        Key("file", "path", "none; required unless `primaries` is given",
            "The zone file (RFC 1035 master file): a primary's zone, or a "
            "secondary's seed copy, used when `storage` holds nothing. "
            "Relative to the config file's directory."),
        Key("primaries", "list of addresses: `ADDR`, `ADDR:PORT` or "
            "`[V6]:PORT`",
            "none: the zone is a primary",
            "Makes the zone a secondary: it is pulled from these, tried in "
            "order, by IXFR (RFC 1995) with fallback to AXFR (RFC 5936) on "
            "NOTIFY and on the SOA timers, and NOTIFY is taken only from "
            "them."),
        Key("key", "name of a `keys` entry", "none: unsigned",
            "Signs the zone's SOA checks, transfers and NOTIFYs (TSIG); "
            "NOTIFYs and transfer requests for the zone must be signed with "
            "it."),
        Key("storage", "directory path", "none: no on-disk copy",
            "Where the zone's on-disk copy and journal (LMDB) live: a "
            "secondary restarts from it without its primary, a primary keeps "
            "its IXFR history and the changes made by UPDATE and the API "
            "there. A zone file is then loaded only when its serial is newer "
            "than the copy's. Relative to the config file's directory."),
        Key("notify", "list of addresses: `ADDR`, `ADDR:PORT` or "
            "`[V6]:PORT`", "none",
            "Sent a NOTIFY (RFC 1996) on every new serial."),
        Key("allow_transfer", "list of prefixes `ADDR/LEN` (a bare address "
            "is one host)", "none: every transfer is REFUSED",
            "Who may transfer the zone (AXFR, IXFR) from us; with `key` set "
            "the request must also be signed with it."),
        Key("refresh", "integer, 1..31536000", "the SOA's REFRESH",
            "Overrides the SOA refresh timer of a secondary.",
            unit="seconds"),
        Key("retry", "integer, 1..31536000", "the SOA's RETRY",
            "Overrides the SOA retry timer of a secondary; failed refreshes "
            "back off from it up to `refresh`.", unit="seconds"),
        Key("expire", "integer, 1..315360000", "the SOA's EXPIRE",
            "Overrides the SOA expire timer: when no primary has answered "
            "for this long, the secondary zone answers SERVFAIL.",
            unit="seconds"),
        Key("update", "list of rules (see `zones[].update[]`)",
            "absent: the zone takes no updates, UPDATE is REFUSED",
            "Who may change the zone with dynamic UPDATE (RFC 2136); the "
            "first rule that matches a request decides. Not allowed on a "
            "secondary (its primary takes the updates)."),
        Key("serial_policy", "`increment` or `unixtime`", "`increment`",
            "How the new SOA serial is chosen when popdns changes the zone "
            "itself (UPDATE, the API): `increment` adds one; `unixtime` "
            "takes the current time in seconds, or adds one if that is not "
            "later."),
    ]),
    Section("zones[].update[]", "Update rules",
            "Each rule of a zone's `update:` list is a mapping.", [
        Key("key", "name of a `keys` entry", "required",
            "The rule applies to UPDATE messages signed (TSIG) with this "
            "key."),
        Key("subtree", "domain name at or below the zone's apex",
            "the zone's apex",
            "The names the rule lets the key change: this name and every "
            "name below it."),
        Key("types", "list of RR type mnemonics (`A`, `TXT`, ...)",
            "empty: every type but SOA, NS at the apex and DNSSEC types",
            "The record types the rule lets the key change."),
    ]),
    Section("keys[]", "TSIG keys",
            "Each entry of `keys:` (or of the `keys:` of `keys_file`) is a "
            "mapping with all three keys, as `tsig-keygen` and `keymgr -t` "
            "print them.", [
        Key("name", "domain name", "required",
            "The key's name, by which zones and update rules refer to it; "
            "unique."),
        Key("algorithm", "`hmac-sha1`, `hmac-sha256`, `hmac-sha384` or "
            "`hmac-sha512`", "required", "The TSIG algorithm."),
        Key("secret", "base64", "required",
            "The shared secret. Never logged."),
    ]),
    Section("management", "Management HTTP endpoint",
            "The `management:` mapping turns the HTTP endpoint on; it needs "
            "`listen`.", [
        Key("listen", "address `ADDR:PORT` or `[V6]:PORT`", "required",
            "Where the endpoint listens. Keep it on loopback or a "
            "management network."),
        Key("api_key", "string", "none: the API answers 401",
            "The value API requests must carry in their `X-API-Key` header "
            "(compared in constant time, never logged)."),
        Key("api_key_file", "path", "none",
            "A file whose first line is the API key (instead of `api_key`), "
            "so that the config can be readable by others. Relative to the "
            "config file's directory; popdns warns when group or others can "
            "read it."),
    ]),
    Section("dataplane", "DPDK dataplane",
            "The `dataplane:` mapping turns the poll-mode dataplane on; it "
            "needs `service_addresses`, and `wire_port`, `ports` or `xdp`.", [
        Key("eal", "list of strings", "none",
            "DPDK EAL arguments, as `rte_eal_init` takes them: lcores "
            "(`-l 0-4`: the first is the control thread, each other one a "
            "worker polling one queue of every port), devices (`-a PCI`, "
            "`--vdev net_tap0,iface=pop0`), memory (`--socket-mem`, or "
            "`--no-huge -m 256`). With `--no-huge`, `--in-memory` is passed "
            "on as `--no-shconf`."),
        Key("wire_port", "DPDK device name or PCI address",
            "none; one of `wire_port`, `ports`, `xdp` is required",
            "The one wire port (a one-port shorthand for `ports`)."),
        Key("exception_port", "DPDK device name", "none",
            "The `net_tap` device that carries the wire port's other "
            "traffic (ARP, ICMP, TCP, BGP, ...) to the kernel."),
        Key("exception_interface", "interface name",
            "none; required with `exception_port`",
            "The kernel name of `exception_port`'s interface."),
        Key("ports", "list of ports (see `dataplane.ports[]`)", "none",
            "Several wire ports, each with its own exception port, instead "
            "of `wire_port`, `exception_port` and `exception_interface`."),
        Key("service_addresses", "list of prefixes `ADDR/LEN`", "required",
            "The addresses the workers answer on UDP port 53 of every wire "
            "port. They are put on the first port's exception interface as "
            "given and on the others' as host addresses."),
        Key("xdp", "mapping (see `dataplane.xdp`)", "absent: a DPDK port",
            "XDP fallback mode: DPDK `net_af_xdp` on a kernel-owned "
            "interface, instead of `wire_port` and `ports`."),
        Key("mbufs", "integer, 1023..4194303", "16383",
            "Size of the DPDK packet buffer pool.", unit="mbufs"),
        Key("idle", "`poll`, `sleep` or `wait`", "`poll`",
            "What a worker does while its queues stay empty. `poll` "
            "busy-polls (one core per worker at 100%, the lowest latency: "
            "for production PoPs). `sleep` backs off as DPDK's l3fwd-power "
            "does: after 64 empty polls in a row it sleeps 1 us, then twice "
            "as long after each further empty poll, up to "
            "`idle_max_sleep_us`, and spins again as soon as a packet "
            "arrives (labs, several PoPs on few cores, quiet PoPs). "
            "`wait` spins the same 64 polls, then waits in poll() until "
            "the kernel queues a frame for one of the worker's queues (at "
            "most 100 ms, for the heartbeat): no CPU while nothing comes, "
            "the least for a host whose hot names are answered in the "
            "driver. It needs ports that give such a wait: the XDP "
            "fallback (`net_af_xdp`, the worker's AF_XDP sockets) and "
            "`net_tap` ports (their queues' descriptors), wire and "
            "exception ports alike; other drivers (a PCI NIC) are refused "
            "at start with the reason."),
        Key("idle_max_sleep_us", "integer, 1..100000", "200",
            "With `idle: sleep`, the longest sleep, which is the most "
            "latency the first query after a quiet spell can get.",
            unit="microseconds"),
    ]),
    Section("dataplane.ports[]", "Wire ports",
            "Each entry of `ports:` is a mapping; it needs `wire`.", [
        Key("wire", "DPDK device name or PCI address", "required",
            "The wire port."),
        Key("exception", "DPDK device name", "none: traffic that is not "
            "ours is dropped",
            "The port's `net_tap` exception port, the kernel's way onto this "
            "wire."),
        Key("exception_interface", "interface name",
            "none; required with `exception`",
            "The kernel name of `exception`'s interface."),
        Key("addresses", "list of prefixes `ADDR/LEN`", "none",
            "Link addresses of the port (BGP sessions, the router's next "
            "hop), put on the exception interface for the kernel only; "
            "need `exception`."),
    ]),
    Section("rrl", "Response rate limiting",
            "The `rrl:` mapping. Each UDP thread and each dataplane worker "
            "keeps a token bucket per (client prefix, response class, name): "
            "answers per question name and type (wildcard answers per "
            "wildcard), NXDOMAIN and NODATA per zone, referrals per "
            "delegation, errors per prefix alone, as BIND's RRL counts "
            "identical responses. Queries with a valid server cookie "
            "(`cookies`) are not limited; TCP never is. Counters: "
            "`popdnsctl stats` (`rrl.PATH.limited`, `.slipped`, `.dropped`) "
            "and `popdns_rrl_*_total{path}` in /metrics.", [
        Key("rate", "integer, 0..1000000", "0: off",
            "Responses per second per bucket; a bucket holds one second's "
            "worth. Per worker: a prefix whose queries RSS spreads over W "
            "workers gets up to W times this.", unit="responses/s"),
        Key("slip", "integer, 0..100", "2",
            "Every slip-th limited response of a bucket is sent as a slip: "
            "TC=1 with no records (a real client retries over TCP), or "
            "BADCOOKIE with a fresh server cookie to a query that carried a "
            "client cookie (it retries with the cookie and is then not "
            "limited); the others are dropped. 0: drop all, 1: slip all."),
        Key("ipv4_prefix", "integer, 0..32", "24",
            "IPv4 clients are counted per prefix of this length.",
            unit="bits"),
        Key("ipv6_prefix", "integer, 0..128", "56",
            "IPv6 clients are counted per prefix of this length.",
            unit="bits"),
        Key("table_size", "integer, 4..16777216", "65536",
            "Buckets per worker (16 bytes each, allocated at start). A full "
            "table never blocks or grows: a new key takes the bucket of its "
            "set of four that is not limiting and most refilled, so keys "
            "being limited keep theirs; a flood over many more keys than "
            "this is limited less precisely.", unit="buckets"),
        Key("whitelist", "list of prefixes `ADDR/LEN` (a bare address is "
            "one host)", "none",
            "Clients that are never limited (resolvers you know, monitoring)."),
        Key("log_only", "boolean", "false",
            "Count what would be limited (`rrl.PATH.limited`) and limit "
            "nothing: for rolling RRL out. Every 10 s in which a response "
            "went over the rate, the log says how many, by path."),
    ]),
    Section("cookies", "DNS cookies",
            "The `cookies:` mapping; it needs `secret`. Server cookies are "
            "RFC 9018's (SipHash-2-4 over the client cookie, a timestamp and "
            "the client address), so every server with the same secret "
            "(a whole anycast fleet) verifies every other's. A cookie is "
            "valid for an hour and renewed after half an hour; clocks must "
            "agree within five minutes.", [
        Key("secret", "32 hex digits (16 bytes)", "required",
            "The fleet's shared secret (`openssl rand -hex 16`). Never "
            "logged."),
        Key("secret_previous", "32 hex digits (16 bytes)", "none",
            "The secret before the last rollover: cookies made with it "
            "still verify (answered with new ones), so that a fleet can "
            "change `secret` one server at a time. Never logged."),
    ]),
    Section("dataplane.xdp", "XDP fallback",
            "The `xdp:` mapping; it needs `interface`.", [
        Key("interface", "interface name", "required",
            "The kernel interface whose queues `net_af_xdp` takes and where "
            "popdns's XDP program is attached."),
        Key("queues", "integer, 1..256", "1",
            "RX queues 0..N-1 to take; the EAL must have exactly one worker "
            "lcore per queue.", unit="queues"),
        Key("program", "path", "the installed `xdp_dns.bpf.o` (run from "
            "its build tree: the one built there)",
            "The XDP program object to attach."),
        Key("hot_answers", "mapping (see `dataplane.xdp.hot_answers`)",
            "absent: every query goes to the AF_XDP worker",
            "Answers inside the XDP program for the hottest (name, type) "
            "pairs."),
    ]),
    Section("dataplane.xdp.hot_answers", "Answers inside the XDP program",
            "The `hot_answers:` mapping. Under `rrl:` a (client prefix, "
            "hot answer) over the rate is limited in the driver (slips and "
            "drops, or with `log_only` counted and answered; `whitelist` "
            "clients never), or with a whitelist of more than 1,024 "
            "prefixes goes to the AF_XDP worker's RRL. See *Answers inside the XDP program*.", [
        Key("entries", "integer, 1..8192", "1024",
            "Map entries used at most: pinned questions first, then "
            "`every_name`, then the sampled ones.", unit="entries"),
        Key("pinned", "list of \"NAME TYPE\" (absolute name, type)",
            "none",
            "Questions always in the map (while the engine's answer "
            "qualifies), e.g. `\"www.example.com. A\"`."),
        Key("every_name", "boolean", "false",
            "Every name of every zone with each type it has, smallest zones "
            "first, up to `entries` (tests, small deployments)."),
        Key("sample_every", "integer, 0..1048576", "64",
            "Each worker copies one answered question in N for the control "
            "side to count; 0: no sampling.", unit="queries"),
        Key("refresh_ms", "integer, 50..3600000", "1000",
            "How often the sampled part of the set is chosen again (counts "
            "halve each time).", unit="milliseconds"),
    ]),
]


def value_text(key):
    """"type; unit: U; default: D." ("required" instead of a default)."""
    value = key.type + ("; unit: " + key.unit if key.unit else "")
    if key.default == "required":
        return value + "; required."
    return "%s; default: %s." % (value, key.default)


def key_paths():
    for section in SECTIONS:
        for key in section.keys:
            yield (section.path + "." if section.path else "") + key.name


# ---- README (markdown) ----

README_BEGIN = ("<!-- config-reference: generated by doc/config_reference.py "
                "--update-readme README.md; edit that file, not this section "
                "-->")
README_END = "<!-- config-reference end -->"


def readme_section():
    out = [README_BEGIN, "## Configuration reference", "",
           "Every key of the YAML config file (`popdns --config FILE`), its "
           "type, unit and default; also `man 5 popdns.yaml`. Unknown keys "
           "and bad values are errors that name `file:line:col`; relative "
           "paths are relative to the config file's directory.", ""]
    for section in SECTIONS:
        heading = section.title + (" (`%s`)" % section.path
                                   if section.path else "")
        out += ["### " + heading, ""]
        if section.intro:
            out += [section.intro, ""]
        for key in section.keys:
            out.append("- **`%s`**: %s %s" %
                       (key.name, value_text(key), key.text))
        out.append("")
    out.append(README_END)
    return "\n".join(out) + "\n"


def update_readme(path):
    text = open(path).read()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < 0:
        sys.exit("%s: no '%s' ... '%s' markers" % (path, README_BEGIN,
                                                  README_END))
    end += len(README_END) + 1
    new = text[:begin] + readme_section() + text[end:]
    if new != text:
        open(path, "w").write(new)


# ---- man page (roff) ----

def roff(text):
    """Markdown-ish text to roff: `code` in bold, escapes."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r"`([^`]*)`", r"\\fB\1\\fR", text)
    # A line may not start with a control character.
    return re.sub(r"^([.'])", r"\\&\1", text, flags=re.M)


def man_page(version):
    out = [
        '.TH POPDNS.YAML 5 "" "popdns %s" "File Formats Manual"' % version,
        ".nh",  # no hyphenation: flags and key names stay whole
        ".SH NAME",
        "popdns.yaml \\- configuration file of the popdns DNS server",
        ".SH SYNOPSIS",
        ".B popdns \\-\\-config /etc/popdns/popdns.yaml",
        ".SH DESCRIPTION",
        "popdns(8) reads its configuration from one YAML file given with "
        "\\fB\\-\\-config\\fR. Every key is listed below with its type, unit "
        "and default. Unknown keys and bad values are errors that name the "
        "file, line and column (\\fIfile\\fB:\\fIline\\fB:\\fIcol\\fB: "
        "\\fIwhat\\fR), and popdns exits with status 1; "
        "\\fBpopdns \\-\\-config FILE \\-\\-check\\fR checks a file and its "
        "zones without starting. Relative paths are relative to the config "
        "file's directory. Command-line flags override the file: "
        "\\fB\\-\\-zone\\fR and \\fB\\-\\-listen\\fR add to its lists, the "
        "others replace its values.",
    ]
    for section in SECTIONS:
        heading = section.title.upper() + (
            " (%s)" % section.path if section.path else "")
        out.append('.SH "%s"' % roff(heading))
        if section.intro:
            out.append(roff(section.intro))
        for key in section.keys:
            out.append(".TP")
            out.append(".B " + roff(key.name))
            out.append(roff(value_text(key)))
            out.append(".br")
            out.append(roff(key.text))
    out += [
        ".SH EXAMPLE",
        ".EX",
        roff('listen: ["198.18.0.1:53", "[fd00:53::1]:53"]\n'
             'keys_file: /etc/popdns/keys.yaml\n'
             'zones:\n'
             '  - name: example.test\n'
             '    file: example.test.zone\n'
             '  - name: example.net\n'
             '    primaries: ["192.0.2.1:53"]\n'
             '    key: xfr-key\n'
             '    storage: /var/lib/popdns/zones\n'
             'identity: pop1.fra'),
        ".EE",
        ".SH FILES",
        ".TP",
        ".I /etc/popdns/popdns.yaml",
        "the usual place of the configuration file (popdns has no built-in "
        "path: give \\fB\\-\\-config\\fR).",
        ".SH SEE ALSO",
        ".BR popdns (8),",
        ".BR popdnsctl (8).",
        "The same reference is in README.md, section \"Configuration "
        "reference\".",
    ]
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--man", metavar="VERSION")
    g.add_argument("--readme", action="store_true")
    g.add_argument("--update-readme", metavar="README")
    g.add_argument("--keys", action="store_true")
    p.add_argument("--output", "-o")
    a = p.parse_args()
    if a.update_readme:
        update_readme(a.update_readme)
        return
    if a.man:
        text = man_page(a.man)
    elif a.readme:
        text = readme_section()
    else:
        text = "\n".join(key_paths()) + "\n"
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
