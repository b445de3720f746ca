#!/usr/bin/python3
"""Verifies TSIG (RFC 8945) messages signed by popdns with dnspython.

Called by tsig_test.cc through popen. The first message is a signed request,
verified as a server would (4.3.1); the others are the responses to it:

  --mode single   one response, over the request MAC (4.3.2)
  --mode multi    a stream, each next message over the prior MAC (5.3.1)
  --mode badtime  one signed BADTIME response (5.2.3): dnspython refuses any
                  response with a TSIG error before it looks at the MAC, so
                  the MAC is checked here with dnspython's own digest code,
                  and the error, the echoed Time Signed and the server time
                  in Other Data (= --now) are checked too

    verify_tsig.py --algorithm hmac-sha256 --key-name xfr-key.example. \
        --secret BASE64 --now 1700000000 --mode multi HEX HEX...

Prints "ok" and exits 0 when all verify; otherwise prints why and exits 1.
"""

import argparse
import sys
import time

import dns.message
import dns.rcode
import dns.tsig


def validate_ignoring_error_and_time(wire, key, owner, rdata, now,
                                     request_mac, tsig_start, ctx=None,
                                     multi=False):
    """dns.tsig.validate without the peer-error and time checks."""
    (adcount,) = (int.from_bytes(wire[10:12], "big"),)
    new_wire = wire[0:10] + (adcount - 1).to_bytes(2, "big") + wire[12:tsig_start]
    if key.name != owner or key.algorithm != rdata.algorithm:
        raise dns.tsig.BadKey
    ctx = dns.tsig._digest(new_wire, key, rdata, None, request_mac, ctx, multi)
    ctx.verify(rdata.mac)
    return dns.tsig._maybe_start_digest(key, rdata.mac, multi)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algorithm", required=True)
    p.add_argument("--key-name", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--now", type=int, required=True)
    p.add_argument("--mode", choices=["single", "multi", "badtime"],
                   required=True)
    p.add_argument("messages", nargs="+", help="hex; the request first")
    args = p.parse_args()

    now = args.now
    time.time = lambda: float(now)  # dnspython checks int(time.time())
    key = dns.tsig.Key(args.key_name, args.secret, args.algorithm)
    wires = [bytes.fromhex(h) for h in args.messages]
    if len(wires) < 2:
        print("need a request and at least one response")
        return 1

    try:
        if args.mode == "badtime":
            dns.tsig.validate = validate_ignoring_error_and_time
        request = dns.message.from_wire(wires[0], keyring=key)
        if args.mode == "single":
            dns.message.from_wire(wires[1], keyring=key,
                                  request_mac=request.mac)
        elif args.mode == "multi":
            ctx = None
            for w in wires[1:]:
                m = dns.message.from_wire(w, keyring=key,
                                          request_mac=request.mac,
                                          multi=True, tsig_ctx=ctx)
                ctx = m.tsig_ctx
        else:
            m = dns.message.from_wire(wires[1], keyring=key,
                                      request_mac=request.mac)
            rd = m.tsig[0]
            if rd.error != dns.rcode.BADTIME:
                print(f"TSIG error {rd.error}, not BADTIME")
                return 1
            if rd.time_signed != request.tsig[0].time_signed:
                print("BADTIME response does not echo the request's time")
                return 1
            if rd.other != now.to_bytes(6, "big"):
                print(f"Other Data {rd.other.hex()} is not the server time")
                return 1
    except Exception as e:  # pylint: disable=broad-except
        print(f"dnspython: {type(e).__name__}: {e}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
