// The AF_XDP sockets of this process, so that an idle worker can wait for
// its queue's frames in poll() (`dataplane.idle: wait`). DPDK's net_af_xdp
// creates one socket per RX queue and exposes neither the socket nor an
// RX interrupt, and this kernel's sock_diag for XDP sockets
// (CONFIG_XDP_SOCKETS_DIAG) is optional; so the socket of a queue is the
// one that appeared while the queue was set up (Dataplane::Start).
#ifndef POPDNS_DATAPLANE_DPDK_XDP_SOCKETS_H_
#define POPDNS_DATAPLANE_DPDK_XDP_SOCKETS_H_

#include <set>

namespace popdns::dpdk {

// Descriptors of this process's open AF_XDP sockets (/proc/self/fd, each
// checked with SO_DOMAIN).
std::set<int> XdpSocketFds();

}  // namespace popdns::dpdk

#endif  // POPDNS_DATAPLANE_DPDK_XDP_SOCKETS_H_
