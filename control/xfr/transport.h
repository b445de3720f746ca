// Blocking DNS exchanges with a remote server for the control side
// (SOA checks, zone transfers in, NOTIFY out): UDP with a timeout, and TCP
// with two-byte length framing (RFC 7766 8) and per-read timeouts. Any
// thread that may block (never a worker or socket thread).
#ifndef POPDNS_CONTROL_XFR_TRANSPORT_H_
#define POPDNS_CONTROL_XFR_TRANSPORT_H_

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace popdns::xfr {

struct Remote {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // "192.0.2.1:53", for logs
};

// "192.0.2.1:53", "[2001:db8::1]:53", or an address alone (port 53).
// Errors: InvalidArgument.
absl::StatusOr<Remote> ParseRemote(const std::string& text);

// "192.0.2.1" / "2001:db8::1" of a socket address (no port).
std::string AddressText(const sockaddr* sa);

// Sends `query` over UDP and returns the first response whose ID matches.
// Errors: DeadlineExceeded after `timeout_ms`, Unavailable on socket errors.
absl::StatusOr<std::vector<uint8_t>> UdpExchange(
    const Remote& remote, const std::vector<uint8_t>& query, int timeout_ms);

class TcpStream {
 public:
  ~TcpStream();
  // Errors: Unavailable (connect failed or timed out).
  static absl::StatusOr<std::unique_ptr<TcpStream>> Connect(
      const Remote& remote, int timeout_ms);
  absl::Status Send(const std::vector<uint8_t>& msg, int timeout_ms);
  // The next length-prefixed message. Errors: DeadlineExceeded, Unavailable
  // ("connection closed").
  absl::StatusOr<std::vector<uint8_t>> Receive(int timeout_ms);

 private:
  explicit TcpStream(int fd) : fd_(fd) {}
  absl::Status ReadFull(uint8_t* p, size_t n, int timeout_ms);
  int fd_;
};

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_TRANSPORT_H_
