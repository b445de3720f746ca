/* Constants and map layouts shared by the XDP program (xdp_dns.bpf.c, built
 * with clang -target bpf) and its userspace side (xdp_dns_maps.h, the tests).
 * One header so the two cannot drift (the Knot DNS bpf-consts.h habit).
 *
 * Plain C on purpose: it is included from BPF C and from C++20, so it uses
 * only <linux/types.h>, macros, a plain enum and plain structs.
 *
 * Who fills what:
 *   xsks_map    DPDK's net_af_xdp PMD (one AF_XDP socket per queue it owns,
 *               key = NIC queue index, value = socket fd).
 *   service_v4  popdns (xdp_dns_maps.h) from the config's service addresses,
 *   service_v6  after DPDK has loaded and attached the object.
 *   xdp_config  popdns, likewise; an unfilled entry means "defaults".
 *   xdp_stats   the program; popdns and the tests only read it.
 *   hot_answers popdns (control/server/xdp_hot_answers.h): the engine's
 *               answers for the hottest (name, type) pairs, which the
 *               program sends itself (XDP_TX) when xdp_config says so.
 */
#ifndef POPDNS_BPF_XDP_DNS_SHARED_H_
#define POPDNS_BPF_XDP_DNS_SHARED_H_

#include <linux/types.h>

/* Map names as the kernel reports them (bpf_map_info.name keeps at most
 * BPF_OBJ_NAME_LEN - 1 = 15 characters; all of these fit). The BPF program
 * declares maps with exactly these identifiers; the test looks every name up
 * in the built object so a rename on one side fails there. */
#define XDP_DNS_MAP_XSKS "xsks_map" /* name required by DPDK net_af_xdp */
#define XDP_DNS_MAP_SERVICE_V4 "service_v4"
#define XDP_DNS_MAP_SERVICE_V6 "service_v6"
#define XDP_DNS_MAP_CONFIG "xdp_config"
#define XDP_DNS_MAP_STATS "xdp_stats"
#define XDP_DNS_MAP_HOT_ANSWERS "hot_answers"
#define XDP_DNS_MAP_HOT_RRL "hot_rrl"
#define XDP_DNS_MAP_RRL_WHITELIST "rrl_whitelist"

/* The XDP program's function name (bpf_prog_info.name). */
#define XDP_DNS_PROG_NAME "xdp_dns"

/* UDP port served when xdp_config holds 0 (not yet filled). */
#define XDP_DNS_DEFAULT_PORT 53

/* Capacities. XSKMAP is indexed by NIC RX queue, so it must cover the
 * highest queue index DPDK may bind (start_queue + queue_count - 1). */
#define XDP_DNS_MAX_QUEUES 256
#define XDP_DNS_MAX_SERVICE_V4 1024
#define XDP_DNS_MAX_SERVICE_V6 1024

/* xdp_stats indices: why the program returned what it returned. Indices
 * XDP_DNS_STAT_REDIRECT .. XDP_DNS_STAT_PASS_SLOW_PATH partition the
 * packets the program saw (each packet bumps exactly one of them).
 * XDP_DNS_STAT_REDIRECT counts packets that matched (redirect attempted);
 * XDP_DNS_STAT_REDIRECT_NO_XSK is a subset of it: matched packets for which
 * no AF_XDP socket was bound on the RX queue, so bpf_redirect_map() fell
 * back to XDP_PASS and the kernel got them (for example queues DPDK does
 * not own, or the window between attach and socket creation). */
enum xdp_dns_stat {
  XDP_DNS_STAT_REDIRECT = 0,
  XDP_DNS_STAT_PASS_NOT_IP = 1,        /* ARP, LLDP, QinQ, unknown type */
  XDP_DNS_STAT_PASS_TRUNCATED = 2,     /* a header ends past the frame */
  XDP_DNS_STAT_PASS_IP_OPTIONS = 3,    /* IPv4 IHL != 5 */
  XDP_DNS_STAT_PASS_FRAGMENT = 4,      /* IPv4 MF set or offset != 0 */
  XDP_DNS_STAT_PASS_EXT_HEADER = 5,    /* IPv6 next header is an ext. hdr */
  XDP_DNS_STAT_PASS_NOT_UDP = 6,       /* TCP, ICMP, ICMPv6, ... */
  XDP_DNS_STAT_PASS_OTHER_PORT = 7,    /* UDP to a port we do not serve */
  XDP_DNS_STAT_PASS_OTHER_ADDRESS = 8, /* not a service address */
  XDP_DNS_STAT_PASS_SLOW_PATH = 9,     /* DNS for the control side: not a
                                        * plain QUERY (NOTIFY, UPDATE,
                                        * AXFR/IXFR, TSIG, other records) */
  XDP_DNS_STAT_REDIRECT_NO_XSK = 10,   /* subset of REDIRECT, see above */
  /* Answered in the driver from hot_answers (XDP_TX): with the reasons
   * from REDIRECT to PASS_SLOW_PATH, this partitions the packets. */
  XDP_DNS_STAT_ANSWERED = 11,
  /* With hot answers on, why a plain query was redirected all the same
   * (each a subset of REDIRECT; together they are the REDIRECTs of plain
   * queries, malformed ones and responses are in none of them): */
  XDP_DNS_STAT_REDIRECT_NOT_HOT = 12,  /* no entry for (name, type) */
  XDP_DNS_STAT_REDIRECT_EDNS = 13,     /* OPT with options, version != 0,
                                        * DO=1 for a signed zone, no entry
                                        * for the query's EDNS-ness */
  XDP_DNS_STAT_REDIRECT_SIZE = 14,     /* the answer does not fit the
                                        * client's limit, or the frame
                                        * could not grow */
  XDP_DNS_STAT_REDIRECT_UNUSUAL = 15,  /* class other than IN, a name
                                        * longer than a key holds, bytes
                                        * after the question or OPT */
  XDP_DNS_STAT_REDIRECT_RRL = 16,      /* the client's prefix asked for
                                        * this answer more often than
                                        * xdp_dns_config.rrl_rate: the
                                        * worker's RRL decides */
  /* With XDP_DNS_CONFIG_RRL_IN_DRIVER, a hot answer over the rate, limited
   * in the driver (with ANSWERED and the reasons from REDIRECT to
   * PASS_SLOW_PATH, these partition the packets): */
  XDP_DNS_STAT_RRL_SLIPPED = 17,       /* sent as a slip (TC=1, XDP_TX) */
  XDP_DNS_STAT_RRL_DROPPED = 18,       /* not answered (XDP_DROP) */
  /* Of ANSWERED, with RRL_LOG_ONLY: over the rate, answered all the same
   * (the worker's log_only count). */
  XDP_DNS_STAT_RRL_LOGGED = 19,
  XDP_DNS_STAT_COUNT = 20
};

/* What the program reads of a DNS message (and the tests build). */
#define XDP_DNS_MAX_NAME 255 /* RFC 1035 2.3.4, wire octets */
#define XDP_DNS_TYPE_SOA 6
#define XDP_DNS_TYPE_OPT 41  /* RFC 6891 */
#define XDP_DNS_TYPE_IXFR 251
#define XDP_DNS_TYPE_AXFR 252

/* Value of xdp_config[0] (a one-entry BPF_MAP_TYPE_ARRAY, key __u32 0).
 * Array entries start zeroed, so an unfilled map selects the defaults. */
struct xdp_dns_config {
  __u16 port;        /* UDP destination port, host byte order; 0 = default */
  __u16 flags;       /* XDP_DNS_CONFIG_* */
  __u16 reserved[2]; /* zero */
  /* Response rate limiting of hot answers (RRL's responses per second; 0:
   * none), a token bucket per (client prefix, hot entry) as the worker's:
   * what it cannot pay is limited in the driver (RRL_IN_DRIVER) or sent
   * to the AF_XDP worker's RRL until it is full again. */
  __u32 rrl_rate;
  __u8 rrl_ipv4_prefix;  /* bits of the client's address that count */
  __u8 rrl_ipv6_prefix;
  __u8 rrl_reserved;     /* zero */
  /* With XDP_DNS_CONFIG_RRL_IN_DRIVER: every rrl_slip-th limited query of
   * a (client prefix, hot entry) gets a slip, the others nothing (0: no
   * slips), as the worker's RRL does. */
  __u8 rrl_slip;
  /* Nonzero: the query that takes a (client prefix, hot entry) over
   * rrl_rate carries a struct xdp_dns_rrl_meta with this tag in its XDP
   * metadata (right before the frame in the AF_XDP buffer), so that the
   * worker's RRL pays for what the driver answered from its bucket. Random
   * per start: the worker never takes stale bytes for a tag. */
  __u32 rrl_meta_magic;
  /* An answer from hot_answers adds to its entry's `hits` with a chance
   * of 1 in hits_mask + 1 (a power of two; 0: every answer): every CPU
   * answering a hot name would otherwise write the cache line that all of
   * them read the entry from. */
  __u32 hits_mask;
  /* Tests only: the buckets' clock (milliseconds) stands at this value
   * instead of following bpf_ktime_get_ns(); 0: it follows. */
  __u64 rrl_frozen_ms;
};
/* Answer plain queries found in hot_answers in the driver. */
#define XDP_DNS_CONFIG_HOT_ANSWERS 0x0001
/* Limit hot answers over rrl_rate in the driver (slip or drop, counted in
 * RRL_SLIPPED and RRL_DROPPED) instead of sending them to the worker's
 * RRL: what the (client prefix, hot entry)'s bucket cannot pay, unless
 * the client is in rrl_whitelist. Without it (a whitelist longer than
 * rrl_whitelist holds) they go to the worker. */
#define XDP_DNS_CONFIG_RRL_IN_DRIVER 0x0002
/* With RRL_IN_DRIVER: rrl.log_only. What the bucket cannot pay is
 * answered all the same and counted in RRL_LOGGED (a client in
 * rrl_whitelist is not counted), as the worker's log_only does. */
#define XDP_DNS_CONFIG_RRL_LOG_ONLY 0x0004

/* hot_answers: a BPF_MAP_TYPE_HASH, so that an update from user space
 * replaces an entry whole (the program sees the old value or the new one,
 * never a mix). Names longer than XDP_DNS_HOT_NAME_MAX wire octets, and
 * answers longer than XDP_DNS_HOT_ANSWER_MAX octets, are never hot. */
#define XDP_DNS_HOT_MAX_ENTRIES 8192
/* hot_rrl: (client prefix, hot entry) pairs counted at once (LRU). */
#define XDP_DNS_HOT_RRL_ENTRIES 65536
#define XDP_DNS_HOT_NAME_MAX 64
#define XDP_DNS_HOT_ANSWER_MAX 512

/* The question: a hash of its lowercased name and the type. A key of 16
 * octets instead of the name itself (64): the map hashes and compares
 * every key it looks up, and the hot path looks up one per answer. Two
 * names may share a hash: the entry holds its name, which the program
 * compares, and the control side installs only one of them. */
struct xdp_dns_hot_key {
  __u64 name_hash; /* xdp_dns_hot_hash_step() over the name's words */
  __u16 qtype;     /* host byte order */
  __u16 name_len;  /* octets of the name, root label included */
  __u32 pad;       /* zero */
};

/* One step of the name's hash: each 8 octets of the name in wire format,
 * lowercased, read as a little-endian word (the last one zero-padded), in
 * order from 0. Shared by the program and the control side, which must
 * agree to the bit. */
static inline __u64 xdp_dns_hot_hash_step(__u64 h, __u64 word) {
  h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 29);
}

/* hot_answer.flags */
#define XDP_DNS_HOT_PLAIN 0x01  /* answers queries without EDNS */
#define XDP_DNS_HOT_EDNS 0x02   /* answers queries with an OPT record */
#define XDP_DNS_HOT_SIGNED 0x04 /* the zone is signed: DO=1 is redirected */

/* The engine's response to the question of the key, from the end of the
 * question on: the response is the query's header (ID, RD) with these
 * flags and counts, the question as the client sent it (0x20 kept), then
 * `bytes` (names compressed against the question at offset 12), then, for
 * a query with EDNS, an OPT record {root, type 41, class udp_payload, TTL
 * 0 but the DO bit echoed, no RDATA}. */
struct xdp_dns_hot_answer {
  __u16 len;         /* octets of bytes used */
  __u8 flags;        /* XDP_DNS_HOT_* */
  __u8 header_flags1; /* QR, AA, TC...; the query's RD is ORed in */
  __u8 header_flags2; /* RA, Z, AD, CD, RCODE */
  __u8 reserved;
  __u16 an, ns, ar;  /* counts, the OPT not included */
  __u16 udp_payload; /* our EDNS payload size */
  /* One's complement sum (RFC 1071, unfolded) of bytes as 16-bit words
   * at their offsets in the message (which start at 12 + name_len + 4),
   * so the UDP checksum needs no pass over them. */
  __u32 sum;
  /* Queries the program answered from this entry, one in
   * xdp_dns_config.hits_mask + 1 of them: a plain increment by whichever
   * CPU answers (a lost count under a race is of no matter),
   * read by the control side to keep hot entries hot (answered here,
   * they no longer reach the workers' sampling). 0 when (re)installed. */
  __u32 hits;
  /* Which answer this is, for hot_rrl (the same for the same question
   * whenever installed; two questions may share one by chance). */
  __u32 rrl_id;
  __u32 pad; /* zero */
  /* The question's name, lowercased, zero-padded: the key holds only its
   * hash. 8-byte aligned: compared a word at a time. */
  __u64 name[XDP_DNS_HOT_NAME_MAX / 8];
  __u8 bytes[XDP_DNS_HOT_ANSWER_MAX];
};

/* hot_rrl: a BPF_MAP_TYPE_LRU_HASH, filled by the program. */
struct xdp_dns_hot_rrl_key {
  __u32 addr[4]; /* the client's prefix, network byte order, zero-padded */
  __u32 rrl_id;  /* xdp_dns_hot_answer.rrl_id */
  __u32 family;  /* 4 or 6 */
};
struct xdp_dns_hot_rrl_state {
  __u64 stamp_ms; /* when `tokens` was last brought up to date */
  __u32 tokens;   /* a response costs 1000; full: rrl_rate * 1000 */
  __u16 slips;    /* limited responses mod rrl_slip (RRL_IN_DRIVER) */
  __u16 limiting; /* emptied since it was last full */
};

/* The XDP metadata of a query that went over the driver's rate (see
 * xdp_dns_config.rrl_meta_magic): the worker's RRL bucket for its answer
 * is charged `answered` responses before its own: the driver's bucket
 * for that client prefix, a second's worth, is empty. Without it the worker's
 * bucket would start full, and a flood would get the rate twice over in
 * its first second. Host byte order. */
struct xdp_dns_rrl_meta {
  __u32 magic;
  __u32 answered;
};

/* rrl_whitelist: a BPF_MAP_TYPE_LPM_TRIE of `rrl: whitelist` prefixes,
 * whose clients are never limited in the driver (as the worker's RRL
 * never limits them). prefixlen counts the bits of family (8) and then
 * of addr: 8 + 32 for a whole IPv4 address. Value: 1. */
#define XDP_DNS_RRL_WHITELIST_MAX 1024
struct xdp_dns_rrl_whitelist_key {
  __u32 prefixlen;
  __u8 family;    /* 4 or 6 */
  __u8 addr[16];  /* network byte order, 4 used for IPv4 */
  __u8 pad[3];    /* zero */
};

/* Key of service_v6: the IPv6 address in network byte order. */
struct xdp_dns_in6 {
  __u8 addr[16];
};

/* Value of service_v4 and service_v6 (presence is what matters). */
typedef __u32 xdp_dns_service_value;

#endif /* POPDNS_BPF_XDP_DNS_SHARED_H_ */
