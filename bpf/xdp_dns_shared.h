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
  XDP_DNS_STAT_COUNT = 11
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
  __u16 reserved[3]; /* zero */
};

/* Key of service_v6: the IPv6 address in network byte order. */
struct xdp_dns_in6 {
  __u8 addr[16];
};

/* Value of service_v4 and service_v6 (presence is what matters). */
typedef __u32 xdp_dns_service_value;

#endif /* POPDNS_BPF_XDP_DNS_SHARED_H_ */
