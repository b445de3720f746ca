/* popdns XDP fallback program: steer DNS over UDP for the service addresses
 * to AF_XDP sockets, hand everything else to the kernel untouched.
 *
 * Loaded and attached by DPDK's net_af_xdp PMD (devarg xdp_prog=<this .o>):
 * DPDK 22.11 opens the object with libbpf, loads it, takes the FIRST program
 * in it (bpf_object__next_program(obj, NULL)), looks up the map named
 * "xsks_map", attaches with bpf_xdp_attach(ifindex, fd,
 * XDP_FLAGS_UPDATE_IF_NOEXIST) and stores each AF_XDP socket at
 * xsks_map[NIC queue index]. So this object holds exactly one program, and
 * every runtime setting lives in maps that popdns fills after DPDK loaded
 * the object (xdp_dns_maps.h): a .rodata "const volatile" could only be set
 * by whoever loads, and DPDK sets none.
 *
 * Verdicts (counted in xdp_stats, indices in xdp_dns_shared.h):
 *   UDP to the service port (53 unless xdp_config says otherwise) and to an
 *   address in service_v4/service_v6, carried in Ethernet with at most one
 *   802.1Q/802.1ad tag, in IPv4 without options and not fragmented, or in
 *   IPv6 with UDP as the first next header, whose DNS message is a plain
 *   query (see below)
 *     -> bpf_redirect_map(&xsks_map, rx_queue_index, XDP_PASS): the AF_XDP
 *        socket of this queue, or the kernel when no socket is bound there.
 *   DNS messages the answer engine leaves to the control side (its
 *   dns::QueryVerdict::kSlowPath: NOTIFY, UPDATE, AXFR/IXFR, TSIG-signed)
 *     -> XDP_PASS: popdns's kernel sockets hand them to the control side
 *        (control/server/slow_path.h). The program passes every message
 *        that could be one: opcode other than QUERY, QDCOUNT != 1, ANCOUNT
 *        or NSCOUNT != 0, ARCOUNT > 1, qtype AXFR or IXFR, or ARCOUNT 1
 *        with a record other than an OPT owned by the root (a TSIG is the
 *        last additional record, RFC 8945 5.1, so a lone OPT is not one).
 *        Messages too short or malformed to tell (and responses, QR=1)
 *        are redirected: the worker counts, drops or FORMERRs them.
 *   Anything else (ARP, ND, ICMP, TCP incl. DNS over TCP and BGP, fragments,
 *   IPv4 options, IPv6 extension headers, other ports, other addresses,
 *   truncated headers) -> XDP_PASS: the kernel answers it as on any host.
 *
 *   With hot answers on (xdp_config.flags): a plain query (a lone
 *   question of class IN, maybe an OPT of version 0 without options,
 *   nothing after it) whose lowercased (name, type) is in hot_answers, and
 *   whose answer fits the client's limit -> XDP_TX: the frame is rewritten
 *   in place into the engine's response (answer_hot below).
 *
 * Apart from those answers the program never drops and never rewrites: it
 * only chooses a queue. The worker lcores re-validate everything they
 * receive.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_dns_shared.h"

/* The kernel's struct vlan_hdr lives in a non-uapi header (linux/if_vlan.h):
 * the 4 bytes that follow the outer EtherType of an 802.1Q/802.1ad frame. */
struct vlan_tag {
  __be16 tci;
  __be16 encapsulated_proto;
};

/* IPv4 flags/fragment offset field (RFC 791 section 3.1): More Fragments
 * bit and the 13-bit offset. The kernel's IP_MF/IP_OFFSET are not uapi. */
#define IPV4_MF 0x2000
#define IPV4_OFFSET 0x1fff

/* The DNS message header (RFC 1035 section 4.1.1), 12 bytes. */
struct dns_header {
  __be16 id;
  __u8 flags1; /* QR | Opcode (4 bits) | AA | TC | RD */
  __u8 flags2; /* RA | Z | AD | CD | RCODE */
  __be16 qdcount;
  __be16 ancount;
  __be16 nscount;
  __be16 arcount;
};
#define DNS_FLAG_QR 0x80
#define DNS_FLAG_TC 0x02
#define DNS_OPCODE_MASK 0x78 /* QUERY is 0 */
#define DNS_LABEL_MAX 63     /* RFC 1035 section 2.3.4 */
/* A name of at most 255 octets has at most 127 labels before the root. */
#define DNS_MAX_LABELS 128

/* --- maps (names are the contract with DPDK and xdp_dns_maps.cc) --- */

/* One AF_XDP socket per NIC RX queue, filled by DPDK (key: queue index). */
struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, XDP_DNS_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} xsks_map SEC(".maps");

/* Service addresses, filled by popdns from its config. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, XDP_DNS_MAX_SERVICE_V4);
  __type(key, __be32);
  __type(value, xdp_dns_service_value);
} service_v4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, XDP_DNS_MAX_SERVICE_V6);
  __type(key, struct xdp_dns_in6);
  __type(value, xdp_dns_service_value);
} service_v6 SEC(".maps");

/* Runtime settings; entry 0 starts zeroed, which means "defaults". */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct xdp_dns_config);
} xdp_config SEC(".maps");

/* Verdict counters, one slot per CPU (no atomics needed, summed by readers). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, XDP_DNS_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} xdp_stats SEC(".maps");

/* The engine's answers for hot (name, type) pairs, filled by popdns
 * (control/server/xdp_hot_answers.h). A hash map: user space replaces an
 * entry whole, so the program never reads half of an update. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, XDP_DNS_HOT_MAX_ENTRIES);
  __type(key, struct xdp_dns_hot_key);
  __type(value, struct xdp_dns_hot_answer);
} hot_answers SEC(".maps");

/* RRL of hot answers: a token bucket per (client prefix, hot entry)
 * (xdp_dns_config.rrl_*). LRU: a flood of spoofed sources evicts the
 * oldest pairs, which then start again with a full bucket. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, XDP_DNS_HOT_RRL_ENTRIES);
  __type(key, struct xdp_dns_hot_rrl_key);
  __type(value, struct xdp_dns_hot_rrl_state);
} hot_rrl SEC(".maps");

/* Clients the driver never limits (xdp_dns_shared.h). */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, XDP_DNS_RRL_WHITELIST_MAX);
  __type(key, struct xdp_dns_rrl_whitelist_key);
  __type(value, __u8);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} rrl_whitelist SEC(".maps");

/* The question's name, lowercased, and its key: built here, not on the
 * stack, where 80 bytes plus the rest of the program's locals would crowd
 * the 512-byte stack; a per-CPU array slot is private to this run (XDP
 * runs with preemption off). */
struct hot_question {
  __u64 name[XDP_DNS_HOT_NAME_MAX / 8];
  struct xdp_dns_hot_key key;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct hot_question);
} hot_scratch SEC(".maps");

/* Room to move a frame's headers and question forward when the response
 * grows at the head (answer_hot): at most 18 + 40 + 8 + 12 + 68 octets. */
#define HOT_HEADERS_MAX 192
/* A slip's EDE option: code, length, info-code and "RRL". */
#define HOT_SLIP_EDE_SIZE 9
struct hot_headers {
  __u8 bytes[HOT_HEADERS_MAX];
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct hot_headers);
} hot_move SEC(".maps");

/* --- helpers --- */

static __always_inline void count(enum xdp_dns_stat reason) {
  __u32 key = reason;
  __u64* n = bpf_map_lookup_elem(&xdp_stats, &key);
  /* Never NULL for key < max_entries; the verifier still wants the check. */
  if (n) *n += 1; /* this CPU's slot: XDP runs with preemption off */
}

static __always_inline const struct xdp_dns_config* config(void) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&xdp_config, &key);
}

/* The service port in network byte order. */
static __always_inline __be16 service_port(void) {
  const struct xdp_dns_config* cfg = config();
  __u16 port = (cfg && cfg->port) ? cfg->port : XDP_DNS_DEFAULT_PORT;
  return bpf_htons(port);
}

/* What answering a plain query in the driver needs of it, as offsets from
 * the frame's start (packet pointers do not survive bpf_xdp_adjust_tail).
 * Filled by classify() for the queries it redirects; `plain` is set only
 * for a well-formed plain query. */
struct query_info {
  __u32 l3;        /* IP header */
  __u32 l4;        /* UDP header */
  __u32 name_len;  /* question name, root label included */
  __u32 udp_len;   /* the UDP length field */
  __u16 qtype;
  __u16 qclass;
  __u8 ipv6;
  __u8 plain;      /* a lone question, maybe an OPT: nothing else seen */
  __u8 has_opt;
  __u8 opt_ok;     /* OPT: version 0 and no options */
  __u8 opt_do;     /* OPT: DO bit */
  __u8 rd;         /* the query's RD bit */
  __u16 opt_size;  /* OPT: requested UDP payload size */
};

/* A parse position inside [data, data_end) (xdp-tutorial's cursor). */
struct cursor {
  void* pos;
  void* end;
};

/* Ethernet plus at most one VLAN tag. Returns the EtherType of what follows
 * (network byte order) and leaves the cursor on it, or -1 if truncated. */
static __always_inline int parse_ethernet(struct cursor* c) {
  struct ethhdr* eth = c->pos;
  /* Protects eth->h_proto: the frame must hold the 14-byte MAC header. */
  if ((void*)(eth + 1) > c->end) return -1;
  c->pos = eth + 1;
  __be16 type = eth->h_proto;

  if (type == bpf_htons(ETH_P_8021Q) || type == bpf_htons(ETH_P_8021AD)) {
    struct vlan_tag* tag = c->pos;
    /* Protects tag->encapsulated_proto: the 4-byte tag after the MACs. */
    if ((void*)(tag + 1) > c->end) return -1;
    c->pos = tag + 1;
    /* A second tag (QinQ) is returned as is and is not IP: passed. */
    type = tag->encapsulated_proto;
  }
  return type;
}

/* UDP header after the IP header: destination port. The address check is
 * done by the caller (after the port, so most non-DNS UDP costs no hash
 * lookup). On a match the cursor moves to the DNS message. */
static __always_inline enum xdp_dns_stat check_udp(struct cursor* c,
                                                 struct query_info* q) {
  struct udphdr* udp = c->pos;
  /* Protects udp->dest: the frame must hold the 8-byte UDP header. */
  if ((void*)(udp + 1) > c->end) return XDP_DNS_STAT_PASS_TRUNCATED;
  if (udp->dest != service_port()) return XDP_DNS_STAT_PASS_OTHER_PORT;
  q->udp_len = bpf_ntohs(udp->len);
  c->pos = udp + 1;
  return XDP_DNS_STAT_REDIRECT;
}

/* The DNS message of a datagram to the service: REDIRECT for what the
 * worker answers (or counts and drops) itself, PASS_SLOW_PATH for what the
 * answer engine leaves to the control side (see the top of this file).
 * The message ends at the frame's end here, not at the UDP length: bytes
 * of Ethernet padding can only be misread in a message that is malformed
 * anyway, and either way the worker or the kernel re-validates it. */
static __always_inline enum xdp_dns_stat check_dns(struct cursor* c,
                                                 struct query_info* q) {
  struct dns_header* h = c->pos;
  /* Protects every header field below: the 12-byte header is in the
   * frame. A shorter message is the worker's to count and drop. */
  if ((void*)(h + 1) > c->end) return XDP_DNS_STAT_REDIRECT;
  /* A response: the worker drops it (RFC 1035 4.1.1, no loops), cheaper
   * than the kernel would, which matters under a reflection flood. */
  if (h->flags1 & DNS_FLAG_QR) return XDP_DNS_STAT_REDIRECT;
  /* NOTIFY (RFC 1996), UPDATE (RFC 2136), and the opcodes the engine does
   * not implement, which the kernel sockets answer just as well. */
  if (h->flags1 & DNS_OPCODE_MASK) return XDP_DNS_STAT_PASS_SLOW_PATH;
  /* The question's end is needed below; only a lone question has one that
   * this program finds. */
  if (h->qdcount != bpf_htons(1)) return XDP_DNS_STAT_PASS_SLOW_PATH;
  /* A query carries no answer or authority records; one that does (an
   * IXFR's SOA, RFC 1995 3, or anything odd) is not looked into. */
  if (h->ancount || h->nscount) return XDP_DNS_STAT_PASS_SLOW_PATH;
  /* Two or more additional records: OPT + TSIG, or more. */
  if (h->arcount & bpf_htons(0xfffe)) return XDP_DNS_STAT_PASS_SLOW_PATH;

  /* The question name (RFC 1035 4.1.2): labels of at most 63 octets up to
   * the root label, no compression (the engine refuses a pointer in a
   * question), at most 255 octets. `off` is the name's length so far; the
   * loop is bounded for the verifier and ends at the root label long
   * before DNS_MAX_LABELS in any name the engine would accept. */
  __u8* name = (void*)(h + 1);
  __u32 off = 0;
  int found_root = 0;
  for (int i = 0; i < DNS_MAX_LABELS; i++) {
    __u8* label = name + off; /* off <= XDP_DNS_MAX_NAME - 1, see below */
    /* Protects *label: the length octet is in the frame; a name that runs
     * off the end is the worker's FORMERR. */
    if ((void*)(label + 1) > c->end) return XDP_DNS_STAT_REDIRECT;
    __u8 len = *label;
    if (len == 0) {
      found_root = 1;
      break;
    }
    /* A pointer (0xC0) or a reserved label type: FORMERR in a question. */
    if (len > DNS_LABEL_MAX) return XDP_DNS_STAT_REDIRECT;
    off += 1 + len;
    /* Longer than 255 octets with the root label still to come: FORMERR.
     * This also keeps `off` small for the pointer arithmetic above. */
    if (off > XDP_DNS_MAX_NAME - 1) return XDP_DNS_STAT_REDIRECT;
  }
  if (!found_root) return XDP_DNS_STAT_REDIRECT; /* unreachable, see above */

  __u8* fixed = name + off + 1; /* QTYPE, QCLASS after the root label */
  /* Protects fixed[0..3]: QTYPE and QCLASS are in the frame. */
  if ((void*)(fixed + 4) > c->end) return XDP_DNS_STAT_REDIRECT;
  __u16 qtype = (__u16)(fixed[0] << 8 | fixed[1]);
  /* Zone transfers are the control side's (RFC 5936, RFC 1995). */
  if (qtype == XDP_DNS_TYPE_AXFR || qtype == XDP_DNS_TYPE_IXFR)
    return XDP_DNS_STAT_PASS_SLOW_PATH;
  q->name_len = off + 1;
  q->qtype = qtype;
  q->qclass = (__u16)(fixed[2] << 8 | fixed[3]);
  q->rd = h->flags1 & 0x01;
  if (!h->arcount) {
    q->plain = 1;
    return XDP_DNS_STAT_REDIRECT;
  }

  /* ARCOUNT == 1: the record right after the question must be an OPT
   * owned by the root (RFC 6891 6.1.1): owner 00, type 00 29. Anything
   * else, a lone TSIG first of all, is passed. */
  __u8* rr = fixed + 4;
  /* Protects rr[0..2]: the owner and type octets are in the frame. If
   * they are not, the message is malformed: the worker's FORMERR. */
  if ((void*)(rr + 3) > c->end) return XDP_DNS_STAT_REDIRECT;
  if (rr[0] != 0 || rr[1] != 0 || rr[2] != XDP_DNS_TYPE_OPT)
    return XDP_DNS_STAT_PASS_SLOW_PATH;
  /* An SOA query whose OPT carries options may ask for EDNS EXPIRE
   * (RFC 7314), which the control side answers. SOA queries are rare
   * (secondaries, monitoring): passing all of them with options costs
   * nothing worth measuring and keeps option parsing out of here. */
  /* Protects rr[3..10]: the OPT's class, TTL and RDLENGTH. A shorter one
   * is malformed: the worker's FORMERR (and not a plain query here). */
  if ((void*)(rr + 11) > c->end) return XDP_DNS_STAT_REDIRECT;
  if (qtype == XDP_DNS_TYPE_SOA && (rr[9] != 0 || rr[10] != 0))
    return XDP_DNS_STAT_PASS_SLOW_PATH;
  q->plain = 1;
  q->has_opt = 1;
  q->opt_size = (__u16)(rr[3] << 8 | rr[4]);
  q->opt_do = rr[7] >> 7;
  /* RFC 6891 6.1.3: only version 0 gets an answer (else BADVERS); any
   * option (cookie, ECS, NSID, padding...) is the worker's to answer. */
  q->opt_ok = rr[6] == 0 && rr[9] == 0 && rr[10] == 0;
  return XDP_DNS_STAT_REDIRECT;
}

static __always_inline enum xdp_dns_stat classify_ipv4(struct cursor* c,
                                                      struct query_info* q) {
  struct iphdr* ip = c->pos;
  /* Protects ihl, frag_off, protocol and daddr: the fixed 20-byte header. */
  if ((void*)(ip + 1) > c->end) return XDP_DNS_STAT_PASS_TRUNCATED;
  /* EtherType said IPv4 but the header does not: not ours to judge. */
  if (ip->version != 4) return XDP_DNS_STAT_PASS_NOT_IP;
  /* IHL != 5: options (RFC 791 section 3.1) or a malformed length. The
   * fast path only handles the fixed header; the kernel handles the rest. */
  if (ip->ihl != 5) return XDP_DNS_STAT_PASS_IP_OPTIONS;
  /* A fragment (first: MF set; later: offset != 0) cannot be answered on
   * its own; the kernel reassembles and the slow path answers it. */
  if (ip->frag_off & bpf_htons(IPV4_MF | IPV4_OFFSET))
    return XDP_DNS_STAT_PASS_FRAGMENT;
  if (ip->protocol != IPPROTO_UDP) return XDP_DNS_STAT_PASS_NOT_UDP;

  c->pos = ip + 1; /* IHL == 5: UDP starts right after 20 bytes */
  enum xdp_dns_stat v = check_udp(c, q);
  if (v != XDP_DNS_STAT_REDIRECT) return v;

  __be32 daddr = ip->daddr; /* within the 20 bytes checked above */
  if (!bpf_map_lookup_elem(&service_v4, &daddr))
    return XDP_DNS_STAT_PASS_OTHER_ADDRESS;
  return check_dns(c, q);
}

/* IPv6 next-header values that are extension headers (RFC 8200 section 4,
 * IANA "IPv6 Extension Header Types"): the UDP header is not where the
 * fixed header ends, so the kernel gets the packet. */
static __always_inline int is_ipv6_extension(__u8 nexthdr) {
  switch (nexthdr) {
    case IPPROTO_HOPOPTS:  /* 0 */
    case IPPROTO_ROUTING:  /* 43 */
    case IPPROTO_FRAGMENT: /* 44 */
    case IPPROTO_ESP:      /* 50 */
    case IPPROTO_AH:       /* 51 */
    case IPPROTO_DSTOPTS:  /* 60 */
    case IPPROTO_MH:       /* 135 */
    case 139:              /* Host Identity Protocol, RFC 7401 */
    case 140:              /* Shim6, RFC 5533 */
    case 253:              /* experimentation, RFC 3692 */
    case 254:
      return 1;
    default:
      return 0;
  }
}

static __always_inline enum xdp_dns_stat classify_ipv6(struct cursor* c,
                                                      struct query_info* q) {
  struct ipv6hdr* ip6 = c->pos;
  /* Protects version, nexthdr and daddr: the fixed 40-byte header. */
  if ((void*)(ip6 + 1) > c->end) return XDP_DNS_STAT_PASS_TRUNCATED;
  if (ip6->version != 6) return XDP_DNS_STAT_PASS_NOT_IP;
  if (ip6->nexthdr != IPPROTO_UDP)
    return is_ipv6_extension(ip6->nexthdr) ? XDP_DNS_STAT_PASS_EXT_HEADER
                                           : XDP_DNS_STAT_PASS_NOT_UDP;

  c->pos = ip6 + 1; /* no extension header: UDP follows the 40 bytes */
  enum xdp_dns_stat v = check_udp(c, q);
  if (v != XDP_DNS_STAT_REDIRECT) return v;

  struct xdp_dns_in6 daddr; /* copied to the stack: a map key */
  __builtin_memcpy(&daddr, &ip6->daddr, sizeof(daddr)); /* within the 40 */
  if (!bpf_map_lookup_elem(&service_v6, &daddr))
    return XDP_DNS_STAT_PASS_OTHER_ADDRESS;
  return check_dns(c, q);
}

static __always_inline enum xdp_dns_stat classify(struct xdp_md* ctx,
                                                struct query_info* q) {
  void* start = (void*)(long)ctx->data;
  struct cursor c = {
      .pos = start,
      .end = (void*)(long)ctx->data_end,
  };
  int type = parse_ethernet(&c);
  if (type < 0) return XDP_DNS_STAT_PASS_TRUNCATED;
  q->l3 = (__u32)(c.pos - start);
  q->l4 = q->l3 + (type == bpf_htons(ETH_P_IP) ? 20 : 40);
  if (type == bpf_htons(ETH_P_IP)) return classify_ipv4(&c, q);
  q->ipv6 = 1;
  if (type == bpf_htons(ETH_P_IPV6)) return classify_ipv6(&c, q);
  return XDP_DNS_STAT_PASS_NOT_IP; /* ARP, LLDP, MPLS, QinQ inner tag, ... */
}

/* --- answers in the driver --- */

/* A byte's share of a one's complement sum (RFC 1071), as numbers: the
 * byte at an even message offset is a word's high half. The UDP header
 * and the DNS message start at even offsets of the datagram. */
static __always_inline __u32 byte_sum(__u32 b, __u32 offset) {
  return (offset & 1) ? b : b << 8;
}

static __always_inline __u16 fold(__u64 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

/* The query's checksums as the worker checks them (it counts a frame
 * with a wrong one as malformed, so the driver must not answer it): the
 * IPv4 header's, and the UDP checksum (RFC 768: 0 is "none", IPv4 only;
 * RFC 8200 8.1). `question_sum` is the sum of the question's octets. */
static __always_inline int query_checksums_ok(struct xdp_md* ctx,
                                              const struct query_info* q,
                                              __u64 question_sum,
                                              __u32 question_end) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  const __u32 l3 = q->l3 & 0x1f;
  const __u32 l4 = q->l4 & 0x3f;
  const __u32 qend = question_end & 0x7f;
  __u64 sum = question_sum + IPPROTO_UDP + q->udp_len;
  if (q->ipv6) {
    const struct ipv6hdr* ip6 = data + l3;
    if ((void*)(ip6 + 1) > end) return 0;
    const __u16* w = (const __u16*)&ip6->saddr;
    for (int i = 0; i < 16; i++) sum += bpf_ntohs(w[i]);
  } else {
    const struct iphdr* ip = data + l3;
    if ((void*)(ip + 1) > end) return 0;
    const __u16* w = (const __u16*)ip;
    __u64 ip_sum = 0;
    for (int i = 0; i < 10; i++) ip_sum += bpf_ntohs(w[i]);
    if (fold(ip_sum) != 0xffff) return 0;
    sum += bpf_ntohs(w[6]) + bpf_ntohs(w[7]) + bpf_ntohs(w[8]) +
           bpf_ntohs(w[9]);
  }
  const struct udphdr* udp = data + l4;
  const struct dns_header* h = (const void*)(udp + 1);
  if ((void*)(h + 1) > end) return 0;
  if (udp->check == 0) return !q->ipv6;
  sum += bpf_ntohs(udp->source) + bpf_ntohs(udp->dest) + bpf_ntohs(udp->len) +
         bpf_ntohs(udp->check) + bpf_ntohs(h->id) +
         ((__u32)h->flags1 << 8 | h->flags2) + bpf_ntohs(h->qdcount) +
         bpf_ntohs(h->ancount) + bpf_ntohs(h->nscount) +
         bpf_ntohs(h->arcount);
  if (q->has_opt) {
    const __u8* opt = (const __u8*)h + qend;
    if ((void*)(opt + 11) > end) return 0;
    for (int i = 0; i < 11; i++) sum += byte_sum(opt[i], qend + i);
  }
  return fold(sum) == 0xffff;
}

/* `bits` leading bits of the big-endian word `w`, in network order. */
static __always_inline __u32 prefix_word(__u32 w, __s32 bits) {
  if (bits <= 0) return 0;
  if (bits >= 32) return w;
  return w & bpf_htonl(~0u << (32 - bits));
}

/* What hot_rrl_verdict() decides. */
enum hot_rrl_decision {
  HOT_RRL_ANSWER = 0,   /* under the rate: answered here */
  HOT_RRL_DIVERT = 1,   /* the worker's, as the frames before it */
  HOT_RRL_HAND_OVER = 2, /* the first the worker gets: it is told what the
                          * driver answered (tell_worker_rrl) */
  HOT_RRL_SLIP = 3,      /* RRL_IN_DRIVER: limited, sent as a slip */
  HOT_RRL_DROP = 4,      /* RRL_IN_DRIVER: limited, not answered */
  HOT_RRL_LOGGED = 5     /* RRL_LOG_ONLY: over the rate, answered */
};

/* Rate limiting of hot answers, per (client prefix, hot answer `rrl_id`):
 * the worker's token bucket (dns/rrl.cc Rrl::AccountKey) with the same
 * arithmetic, so that a client gets the same answers from either path. A
 * response costs HOT_RRL_TOKENS tokens, the bucket holds a second's worth
 * (rrl_rate responses) and refills rrl_rate tokens a millisecond.
 *
 * With XDP_DNS_CONFIG_RRL_IN_DRIVER the driver limits what the bucket
 * cannot pay itself (slips and drops, as the worker's RRL would, without
 * the cost of crossing to it for every query of a flood; with
 * RRL_LOG_ONLY it only counts them), never for a client in rrl_whitelist.
 *
 * Otherwise (a whitelist too long for rrl_whitelist): once a pair's bucket
 * is empty its queries go to the worker, whose RRL applies as on every
 * other path, until the driver's bucket has refilled whole. The query
 * that empties it hands the pair to the worker with a second's worth of
 * responses to pay, so that the worker's bucket does not start full: a
 * flood gets the rate, not twice the rate, in its first second. */
#define HOT_RRL_TOKENS 1000
static __always_inline int hot_rrl_verdict(struct xdp_md* ctx,
                                           const struct query_info* q,
                                           __u32 rrl_id) {
  const struct xdp_dns_config* cfg = config();
  if (!cfg || cfg->rrl_rate == 0) return 0;
  struct xdp_dns_hot_rrl_key k = {};
  k.rrl_id = rrl_id;
  const __u32 l3 = q->l3 & 0x1f;
  if (q->ipv6) {
    k.family = 6;
    if (bpf_xdp_load_bytes(ctx, l3 + 8, k.addr, 16)) return 1;
    const __s32 bits = cfg->rrl_ipv6_prefix;
    k.addr[0] = prefix_word(k.addr[0], bits);
    k.addr[1] = prefix_word(k.addr[1], bits - 32);
    k.addr[2] = prefix_word(k.addr[2], bits - 64);
    k.addr[3] = prefix_word(k.addr[3], bits - 96);
  } else {
    k.family = 4;
    if (bpf_xdp_load_bytes(ctx, l3 + 12, k.addr, 4)) return 1;
    k.addr[0] = prefix_word(k.addr[0], cfg->rrl_ipv4_prefix);
  }
  const __u64 now = cfg->rrl_frozen_ms ? cfg->rrl_frozen_ms
                                       : bpf_ktime_get_ns() / 1000000;
  const __u64 capacity = (__u64)cfg->rrl_rate * HOT_RRL_TOKENS;
  struct xdp_dns_hot_rrl_state* st = bpf_map_lookup_elem(&hot_rrl, &k);
  if (!st) {
    /* A new pair starts with a full bucket and pays for this answer. */
    struct xdp_dns_hot_rrl_state fresh = {
        .stamp_ms = now, .tokens = capacity - HOT_RRL_TOKENS};
    bpf_map_update_elem(&hot_rrl, &k, &fresh, BPF_ANY);
    return HOT_RRL_ANSWER;
  }
  /* Races between CPUs on one pair lose a refill or a payment: of no
   * matter for a rate limit (a response more or less in a second). */
  const __u64 elapsed = now - st->stamp_ms;
  __u64 t = elapsed >= 1000 ? capacity
                            : st->tokens + elapsed * cfg->rrl_rate;
  const int limiting = st->limiting;
  if (t >= capacity) {
    t = capacity;
    st->limiting = 0; /* an episode ends when the bucket is full */
  }
  st->stamp_ms = now;
  const int in_driver = cfg->flags & XDP_DNS_CONFIG_RRL_IN_DRIVER;
  /* Handed over: the worker's from an empty bucket until a full one; the
   * driver's bucket refills meanwhile and pays for nothing. */
  const int diverted = !in_driver && limiting && st->limiting;
  if (!diverted && t >= HOT_RRL_TOKENS) {
    st->tokens = t - HOT_RRL_TOKENS;
    return HOT_RRL_ANSWER;
  }
  st->tokens = t;
  if (diverted) return HOT_RRL_DIVERT;
  st->limiting = 1;
  if (!in_driver) return HOT_RRL_HAND_OVER;
  /* Limited in the driver: every rrl_slip-th slips, the others get
   * nothing. The whitelist only now, so that it costs nothing to the
   * answers within the rate (as in the worker's Rrl::Limited, after the
   * count). */
  const __u32 slip = cfg->rrl_slip;
  const __u32 s = st->slips + 1;
  st->slips = s >= slip ? 0 : s;
  struct xdp_dns_rrl_whitelist_key w = {};
  int loaded;
  if (q->ipv6) {
    w.family = 6;
    w.prefixlen = 8 + 128;
    loaded = bpf_xdp_load_bytes(ctx, l3 + 8, w.addr, 16) == 0;
  } else {
    w.family = 4;
    w.prefixlen = 8 + 32;
    loaded = bpf_xdp_load_bytes(ctx, l3 + 12, w.addr, 4) == 0;
  }
  if (loaded && bpf_map_lookup_elem(&rrl_whitelist, &w)) return HOT_RRL_ANSWER;
  if (cfg->flags & XDP_DNS_CONFIG_RRL_LOG_ONLY) return HOT_RRL_LOGGED;
  if (slip == 0) return HOT_RRL_DROP;
  return s >= slip ? HOT_RRL_SLIP : HOT_RRL_DROP;
}

/* Puts a struct xdp_dns_rrl_meta in front of the frame: the driver
 * emptied this (client prefix, answer)'s bucket, a second's worth of
 * answers (the hand-over is the query it could not pay). When
 * there is no room (a driver without metadata support) the frame goes
 * without it, and the worker's bucket starts full, as it did before. */
static __always_inline void tell_worker_rrl(struct xdp_md* ctx) {
  const struct xdp_dns_config* cfg = config();
  if (!cfg || cfg->rrl_meta_magic == 0) return;
  if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct xdp_dns_rrl_meta))) return;
  void* data = (void*)(long)ctx->data;
  struct xdp_dns_rrl_meta* m = (void*)(long)ctx->data_meta;
  if ((void*)(m + 1) > data) return;
  m->magic = cfg->rrl_meta_magic;
  m->answered = cfg->rrl_rate;
}

/* Answers the plain query `q` from hot_answers in place: returns
 * XDP_DNS_STAT_ANSWERED with the frame rewritten into the response the
 * AF_XDP worker would send (control/server/xdp_hot_answers.cc builds the
 * entries from the answer engine; tests/bpf compare the two frames), or
 * the REDIRECT_* reason with the frame untouched. Every check that can
 * refuse comes before bpf_xdp_adjust_tail(): after it the frame is the
 * response's size, and the checks left cannot fail for a frame the
 * checks before it accepted. */
/* A global (not inlined) function: the verifier checks it once, on its
 * own, instead of once for every path classify() can take to it. */
__attribute__((noinline)) int answer_hot(struct xdp_md* ctx,
                                         const struct query_info* q) {
  if (!ctx || !q) return XDP_DNS_STAT_REDIRECT_UNUSUAL;
  /* RFC 1035 3.2.4: the zones hold class IN only; CH is the engine's. */
  if (q->qclass != 1) return XDP_DNS_STAT_REDIRECT_UNUSUAL;
  const __u32 name_len = q->name_len;
  if (name_len > XDP_DNS_HOT_NAME_MAX) return XDP_DNS_STAT_REDIRECT_UNUSUAL;
  /* Bounds the verifier can see on the registers that are used (a
   * comparison may be made on a copy): l3 is 14 or 18, l4 at most 58, and
   * masks cannot be optimised away as a re-check could. */
  const __u32 l3 = q->l3 & 0x1f;
  const __u32 l4 = q->l4 & 0x3f;
  const __u32 question_end = 12 + name_len + 4;
  /* Options and other EDNS versions first: they make the message longer. */
  if (q->has_opt && !q->opt_ok) return XDP_DNS_STAT_REDIRECT_EDNS;
  /* Nothing but the question and the OPT: the UDP length says so (the
   * frame may carry Ethernet padding after it). */
  if (q->udp_len != 8 + question_end + (q->has_opt ? 11 : 0))
    return XDP_DNS_STAT_REDIRECT_UNUSUAL;

  __u32 zero = 0;
  struct hot_question* hq = bpf_map_lookup_elem(&hot_scratch, &zero);
  if (!hq) return XDP_DNS_STAT_REDIRECT_NOT_HOT; /* never: 1 entry */

  /* The name as sent (0x20 kept: the response echoes it), then eight
   * octets at a time: masked to the name (the slot holds the last
   * query's beyond it), summed, lowercased and hashed. Summed as
   * little-endian 16-bit words they give the byte-swapped sum of the
   * big-endian words the message has at offset 12 + i (RFC 1071 2(B));
   * uppercase letters are found in all eight at once (bit 7 of each
   * octet: at least 'A', not above 'Z', not a high octet), with no branch
   * per octet. Label lengths are at most 63, below 'A': only letters
   * change. */
  if (name_len == 0 ||
      bpf_xdp_load_bytes(ctx, l4 + 8 + 12, hq->name, name_len & 0x7f))
    return XDP_DNS_STAT_REDIRECT_UNUSUAL;
  __u64 swapped = 0, hash = 0;
  for (__u32 i = 0; i < XDP_DNS_HOT_NAME_MAX / 8; i++) {
    if (i * 8 >= name_len) break;
    __u64 w = hq->name[i];
    const __u32 left = name_len - i * 8;
    if (left < 8) w &= (1ULL << (left * 8)) - 1;
    swapped += (w & 0xffffffff) + (w >> 32);
    const __u64 low7 = w & 0x7f7f7f7f7f7f7f7fULL;
    const __u64 at_least_a = low7 + 0x3f3f3f3f3f3f3f3fULL; /* 'A' + 0x3f */
    const __u64 above_z = low7 + 0x2525252525252525ULL;    /* 'Z' + 1 + 0x25 */
    const __u64 upper = at_least_a & ~above_z & ~w & 0x8080808080808080ULL;
    w |= upper >> 2; /* bit 7 to bit 5: | 0x20 */
    hq->name[i] = w;
    hash = xdp_dns_hot_hash_step(hash, w);
  }
  const __u16 le = fold(swapped);
  __u64 sum = (__u16)(le << 8 | le >> 8);
  hq->key.name_hash = hash;
  hq->key.qtype = q->qtype;
  hq->key.name_len = (__u16)name_len;
  hq->key.pad = 0;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  sum += byte_sum(q->qtype >> 8, 12 + name_len) +
         byte_sum(q->qtype & 0xff, 13 + name_len) + byte_sum(1, 15 + name_len);

  struct xdp_dns_hot_answer* a = bpf_map_lookup_elem(&hot_answers, &hq->key);
  if (!a) return XDP_DNS_STAT_REDIRECT_NOT_HOT;
  /* Another name with the same hash is not this entry's question. */
  for (__u32 i = 0; i < XDP_DNS_HOT_NAME_MAX / 8; i++) {
    if (i * 8 >= name_len) break;
    if (hq->name[i] != a->name[i]) return XDP_DNS_STAT_REDIRECT_NOT_HOT;
  }
  const __u32 len = a->len;
  if (len > XDP_DNS_HOT_ANSWER_MAX) return XDP_DNS_STAT_REDIRECT_UNUSUAL;
  if (!query_checksums_ok(ctx, q, sum, question_end))
    return XDP_DNS_STAT_REDIRECT_UNUSUAL;
  __u32 dns_len = question_end + len;
  if (q->has_opt) {
    if (!(a->flags & XDP_DNS_HOT_EDNS)) return XDP_DNS_STAT_REDIRECT_EDNS;
    /* RFC 4035 3.2.1: DO=1 for a signed zone wants the RRSIGs. */
    if (q->opt_do && (a->flags & XDP_DNS_HOT_SIGNED))
      return XDP_DNS_STAT_REDIRECT_EDNS;
    /* RFC 6891 6.2.5: sizes below 512 count as 512; never more than
     * ours. The engine would fit a smaller answer (or truncate). */
    __u32 limit = q->opt_size < 512 ? 512 : q->opt_size;
    if (limit > a->udp_payload) limit = a->udp_payload;
    dns_len += 11;
    if (dns_len > limit) return XDP_DNS_STAT_REDIRECT_SIZE;
  } else {
    if (!(a->flags & XDP_DNS_HOT_PLAIN)) return XDP_DNS_STAT_REDIRECT_EDNS;
    if (dns_len > 512) return XDP_DNS_STAT_REDIRECT_SIZE; /* RFC 1035 4.2.1 */
  }
  const int rrl = hot_rrl_verdict(ctx, q, a->rrl_id);
  if (rrl == HOT_RRL_DROP) return XDP_DNS_STAT_RRL_DROPPED;
  const int slip = rrl == HOT_RRL_SLIP;
  if (rrl != HOT_RRL_ANSWER && rrl != HOT_RRL_LOGGED && !slip) {
    if (rrl == HOT_RRL_HAND_OVER) tell_worker_rrl(ctx);
    return XDP_DNS_STAT_REDIRECT_RRL;
  }
  /* A slip (dns/rrl.cc SlipResponse): TC=1, the question and no records;
   * with EDNS the OPT, carrying EDE 0 "RRL" (RFC 8914) when that is no
   * larger than the answer it replaces. */
  const __u32 body = slip ? 0 : len;
  const __u32 ede = slip && q->has_opt && dns_len >= question_end + 11 +
                                                     HOT_SLIP_EDE_SIZE
                        ? HOT_SLIP_EDE_SIZE
                        : 0;
  if (slip) dns_len = question_end + (q->has_opt ? 11 + ede : 0);

  /* The frame grows at its tail when the driver left room there (a real
   * NIC's buffers do); else at its head, where XDP always has 256 octets
   * (XDP_PACKET_HEADROOM; veth and generic XDP keep little tailroom),
   * with the headers and the question moved to the new start. */
  const int delta = (int)(l4 + 8 + dns_len) - (int)(end - data);
  if (delta != 0 && bpf_xdp_adjust_tail(ctx, delta)) {
    const __u32 kept = (l4 + 8 + question_end) & 0xff;
    struct hot_headers* move = bpf_map_lookup_elem(&hot_move, &zero);
    if (!move || delta < 0 || kept > HOT_HEADERS_MAX || kept == 0 ||
        bpf_xdp_load_bytes(ctx, 0, move->bytes, kept) ||
        bpf_xdp_adjust_head(ctx, -delta))
      return XDP_DNS_STAT_REDIRECT_SIZE;
    /* The head moved: from here on the frame is the response's size. */
    if (bpf_xdp_store_bytes(ctx, 0, move->bytes, kept))
      return XDP_DNS_STAT_REDIRECT_SIZE;
  }
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;

  /* Ethernet: back to the sender (a VLAN tag stays as it is). */
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_DNS_STAT_REDIRECT_SIZE;
  __u8 mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, mac, ETH_ALEN);

  const __u32 udp_len = 8 + dns_len;
  /* The pseudo-header (RFC 768, RFC 8200 8.1): addresses, protocol and
   * length; the sum of the addresses does not care which is which. */
  sum += IPPROTO_UDP + udp_len;
  if (q->ipv6) {
    struct ipv6hdr* ip6 = data + l3;
    if ((void*)(ip6 + 1) > end) return XDP_DNS_STAT_REDIRECT_SIZE;
    struct in6_addr tmp = ip6->saddr;
    ip6->saddr = ip6->daddr;
    ip6->daddr = tmp;
    ip6->payload_len = bpf_htons((__u16)udp_len);
    ip6->hop_limit = 64;
    const __u16* w = (const __u16*)&ip6->saddr;
    for (int i = 0; i < 16; i++) sum += bpf_ntohs(w[i]);
  } else {
    struct iphdr* ip = data + l3;
    if ((void*)(ip + 1) > end) return XDP_DNS_STAT_REDIRECT_SIZE;
    __be32 tmp = ip->saddr;
    ip->saddr = ip->daddr;
    ip->daddr = tmp;
    ip->tot_len = bpf_htons((__u16)(20 + udp_len));
    ip->frag_off = bpf_htons(0x4000); /* DF, as the worker sets it */
    ip->ttl = 64;
    ip->check = 0;
    const __u16* w = (const __u16*)ip;
    __u64 ip_sum = 0;
    for (int i = 0; i < 10; i++) ip_sum += bpf_ntohs(w[i]);
    ip->check = bpf_htons((__u16)~fold(ip_sum));
    sum += bpf_ntohs(w[6]) + bpf_ntohs(w[7]) + bpf_ntohs(w[8]) +
           bpf_ntohs(w[9]);
  }

  struct udphdr* udp = data + l4;
  if ((void*)(udp + 1) > end) return XDP_DNS_STAT_REDIRECT_SIZE;
  __be16 port = udp->source;
  udp->source = udp->dest;
  udp->dest = port;
  udp->len = bpf_htons((__u16)udp_len);
  udp->check = 0;
  sum += bpf_ntohs(udp->source) + bpf_ntohs(udp->dest) + udp_len;

  struct dns_header* h = (void*)(udp + 1);
  if ((void*)(h + 1) > end) return XDP_DNS_STAT_REDIRECT_SIZE;
  h->flags1 = a->header_flags1 | q->rd | (slip ? DNS_FLAG_TC : 0);
  h->flags2 = a->header_flags2;
  const __u16 an = slip ? 0 : a->an, ns = slip ? 0 : a->ns;
  const __u16 ar = (slip ? 0 : a->ar) + (q->has_opt ? 1 : 0);
  h->ancount = bpf_htons(an);
  h->nscount = bpf_htons(ns);
  h->arcount = bpf_htons(ar);
  sum += bpf_ntohs(h->id) + ((__u32)h->flags1 << 8 | h->flags2) + 1 + an +
         ns + ar + (slip ? 0 : a->sum);

  const __u32 at = l4 + 8 + question_end;
  if (!slip && len > 0 && bpf_xdp_store_bytes(ctx, at, (void*)a->bytes, len))
    return XDP_DNS_STAT_REDIRECT_SIZE;
  if (q->has_opt) {
    /* RFC 6891 6.1.2: root owner, type OPT, our payload size; RFC 3225 3:
     * DO echoed. The same record the engine's Finish() writes. */
    __u8 opt[11 + HOT_SLIP_EDE_SIZE] = {
        0, 0, XDP_DNS_TYPE_OPT, a->udp_payload >> 8, a->udp_payload & 0xff,
        0, 0, q->opt_do ? 0x80 : 0, 0, 0, (__u8)ede,
        /* EDE (RFC 8914 2): code 15, length 5, info-code 0, "RRL" */
        0, 15, 0, 5, 0, 0, 'R', 'R', 'L'};
    if (bpf_xdp_store_bytes(ctx, at + body, opt,
                            ede ? sizeof(opt) : 11))
      return XDP_DNS_STAT_REDIRECT_SIZE;
    const __u32 o = question_end + body;
    sum += byte_sum(XDP_DNS_TYPE_OPT, o + 2) + byte_sum(opt[3], o + 3) +
           byte_sum(opt[4], o + 4) + byte_sum(opt[7], o + 7) +
           byte_sum(ede, o + 10);
    if (ede) {
      for (__u32 i = 11; i < sizeof(opt); i++) sum += byte_sum(opt[i], o + i);
    }
  }

  /* Refetched: bpf_xdp_store_bytes() invalidates packet pointers. */
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  udp = data + l4;
  if ((void*)(udp + 1) > end) return XDP_DNS_STAT_REDIRECT_SIZE;
  const __u16 check = (__u16)~fold(sum);
  udp->check = bpf_htons(check ? check : 0xffff); /* RFC 768: 0 = none */
  if (slip) return XDP_DNS_STAT_RRL_SLIPPED;
  const struct xdp_dns_config* cfg = config();
  const __u32 mask = cfg ? cfg->hits_mask : 0;
  if (mask == 0 || (bpf_get_prandom_u32() & mask) == 0) a->hits++;
  return rrl == HOT_RRL_LOGGED ? XDP_DNS_STAT_RRL_LOGGED
                               : XDP_DNS_STAT_ANSWERED;
}

/* The only program in this object: DPDK attaches the first one it finds. */
SEC("xdp")
int xdp_dns(struct xdp_md* ctx) {
  struct query_info q = {};
  enum xdp_dns_stat reason = classify(ctx, &q);
  if (reason == XDP_DNS_STAT_REDIRECT && q.plain) {
    const struct xdp_dns_config* cfg = config();
    if (cfg && (cfg->flags & XDP_DNS_CONFIG_HOT_ANSWERS)) {
      enum xdp_dns_stat why = (enum xdp_dns_stat)answer_hot(ctx, &q);
      if (why == XDP_DNS_STAT_RRL_LOGGED) {
        count(why);
        why = XDP_DNS_STAT_ANSWERED; /* and counted as such */
      }
      if (why == XDP_DNS_STAT_ANSWERED || why == XDP_DNS_STAT_RRL_SLIPPED) {
        count(why);
        return XDP_TX;
      }
      if (why == XDP_DNS_STAT_RRL_DROPPED) {
        count(why);
        return XDP_DROP;
      }
      count(why); /* the redirect's reason, a subset of REDIRECT */
    }
  }
  count(reason);
  if (reason != XDP_DNS_STAT_REDIRECT) return XDP_PASS;

  /* Flags' low bits are the action when xsks_map has no socket at this
   * queue index (kernel >= 5.3): the kernel then gets the packet. */
  long action = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
  if (action != XDP_REDIRECT) count(XDP_DNS_STAT_REDIRECT_NO_XSK);
  return (int)action;
}

/* The program calls no GPL-only helper (map lookups, bpf_redirect_map), so
 * the kernel accepts the project's own licence. Adding a GPL-only helper
 * (bpf_trace_printk, ...) would make the load fail until this changes. */
char LICENSE[] SEC("license") = "Apache-2.0";
