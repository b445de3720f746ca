#!/usr/bin/python3
"""Seeds for update_fuzzer (tests/fuzz/corpus/update/): RFC 2136 UPDATEs
made by dnspython (byte 0 = 0) and PowerDNS API PATCH bodies (byte 0 = 1).
Run from the repository root: /usr/bin/python3 tests/fuzz/make_update_seeds.py
"""
import json
import os

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.update

OUT = "tests/fuzz/corpus/update"


def update_seeds():
    seeds = {}
    u = dns.update.UpdateMessage("apps.test.")
    u.add("t1", 60, "A", "198.51.100.1")
    u.add("t1", 60, "TXT", '"tok"')
    u.add("t1", 60, "CAA", '0 issue "ca.test"')
    seeds["add"] = u
    u = dns.update.UpdateMessage("apps.test.")
    u.present("www")
    u.absent("nope")
    u.present("www", "A", "192.0.2.1")
    u.delete("www", "TXT")
    u.replace("alias", 30, "CNAME", "mail.apps.test.")
    seeds["prereqs"] = u
    u = dns.update.UpdateMessage("apps.test.")
    u.delete("www")
    u.delete("apps.test.", "NS", "ns1.apps.test.")
    u.add("apps.test.", 60, "SOA", "ns1 hostmaster 99 3600 600 86400 300")
    seeds["deletes"] = u
    u = dns.update.UpdateMessage("apps.test.")
    rd = dns.rdata.GenericRdata(dns.rdataclass.IN, dns.rdatatype.A, b"\x01")
    u.add("bad", 60, rd)
    seeds["bad_rdata"] = u
    for name, msg in seeds.items():
        with open(os.path.join(OUT, "dns-" + name), "wb") as f:
            f.write(b"\x00" + msg.to_wire())


def patch_seeds():
    seeds = {
        "replace": {"rrsets": [{
            "name": "t1.apps.test.", "type": "A", "ttl": 60,
            "changetype": "REPLACE",
            "records": [{"content": "198.51.100.1", "disabled": False}]}]},
        "delete": {"rrsets": [{"name": "www.apps.test.", "type": "TXT",
                               "changetype": "DELETE"}]},
        "mixed": {"rrsets": [
            {"name": "t2.apps.test.", "type": "CNAME", "ttl": 60,
             "changetype": "REPLACE",
             "records": [{"content": "lb.example.", "disabled": False}]},
            {"name": "t2.apps.test.", "type": "TXT", "ttl": 60,
             "changetype": "REPLACE",
             "records": [{"content": "\"x\"", "disabled": False}]},
            {"name": "apps.test.", "type": "SOA", "ttl": 300,
             "changetype": "REPLACE",
             "records": [{"content": "ns1.apps.test. hostmaster.apps.test. "
                          "50 3600 600 86400 300", "disabled": False}]}]},
    }
    for name, doc in seeds.items():
        with open(os.path.join(OUT, "json-" + name), "wb") as f:
            f.write(b"\x01" + json.dumps(doc).encode())


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    update_seeds()
    patch_seeds()
