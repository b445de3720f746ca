// Messages the answer engine leaves to the control side: NOTIFY, UPDATE,
// AXFR/IXFR and every TSIG-signed message (dns::AnswerResult::slow_path).
// The kernel-socket threads hand them to a SlowPathHandler and send back
// what it returns. The DPDK workers send such frames to the kernel through
// the exception port and the XDP program passes them to the kernel, so
// they all end up here. Called on socket threads: a handler must be
// thread-safe and must not block for long (it may queue work for the
// control thread).
#ifndef POPDNS_CONTROL_SERVER_SLOW_PATH_H_
#define POPDNS_CONTROL_SERVER_SLOW_PATH_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace popdns::control {

struct SlowPathRequest {
  const uint8_t* msg = nullptr;
  size_t len = 0;
  const sockaddr* peer = nullptr;
  socklen_t peer_len = 0;
  bool tcp = false;
};

// The response messages in order: none (drop), one, or many (AXFR/IXFR
// over TCP, each sent with its two-byte length). Over UDP only the first
// is sent.
using SlowPathHandler =
    std::function<std::vector<std::vector<uint8_t>>(const SlowPathRequest&)>;

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_SLOW_PATH_H_
