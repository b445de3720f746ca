#include "control/xfr/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "control/config.h"
#include "dataplane/dns/wire.h"

namespace popdns::xfr {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

absl::Status WaitFor(int fd, short events, Clock::time_point deadline,
                     const char* what) {
  while (true) {
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, RemainingMs(deadline));
    if (r > 0) return absl::OkStatus();
    if (r == 0) return absl::DeadlineExceededError(absl::StrCat(what, " timed out"));
    if (errno != EINTR) {
      return absl::UnavailableError(absl::StrCat(what, ": ", strerror(errno)));
    }
  }
}

}  // namespace

absl::StatusOr<Remote> ParseRemote(const std::string& text) {
  std::string host;
  uint16_t port;
  if (absl::Status s = control::ParseListenAddress(text, &host, &port);
      !s.ok()) {
    return absl::InvalidArgumentError("bad address '" + text + "'");
  }
  Remote r;
  r.text = text;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&r.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&r.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    r.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    r.len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError("bad address '" + text + "'");
  }
  return r;
}

std::string AddressText(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr,
              buf, sizeof(buf));
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr,
              buf, sizeof(buf));
  }
  return buf;
}

absl::StatusOr<std::vector<uint8_t>> UdpExchange(
    const Remote& remote, const std::vector<uint8_t>& query, int timeout_ms) {
  const int fd = socket(remote.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(strerror(errno));
  std::unique_ptr<int, void (*)(int*)> guard(new int(fd), [](int* p) {
    close(*p);
    delete p;
  });
  // connect() makes the kernel drop datagrams from anyone else.
  if (connect(fd, reinterpret_cast<const sockaddr*>(&remote.addr),
              remote.len) != 0 ||
      send(fd, query.data(), query.size(), 0) < 0) {
    return absl::UnavailableError(
        absl::StrCat("udp ", remote.text, ": ", strerror(errno)));
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<uint8_t> buf(dns::kMaxMessageSize);
  while (true) {
    if (absl::Status s = WaitFor(fd, POLLIN, deadline, "udp query"); !s.ok()) {
      return s;
    }
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(
          absl::StrCat("udp ", remote.text, ": ", strerror(errno)));
    }
    // RFC 5452 9.1: only a response with our ID answers us.
    if (n >= static_cast<ssize_t>(dns::kHeaderSize) &&
        dns::Load16(buf.data()) == dns::Load16(query.data())) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
  }
}

TcpStream::~TcpStream() { close(fd_); }

absl::StatusOr<std::unique_ptr<TcpStream>> TcpStream::Connect(
    const Remote& remote, int timeout_ms) {
  const int fd = socket(remote.addr.ss_family,
                        SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::UnavailableError(strerror(errno));
  std::unique_ptr<TcpStream> s(new TcpStream(fd));
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&remote.addr),
              remote.len) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(
          absl::StrCat("tcp ", remote.text, ": ", strerror(errno)));
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    if (absl::Status w = WaitFor(fd, POLLOUT, deadline, "tcp connect");
        !w.ok()) {
      return absl::UnavailableError(
          absl::StrCat("tcp ", remote.text, ": ", w.message()));
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      return absl::UnavailableError(
          absl::StrCat("tcp ", remote.text, ": ", strerror(err)));
    }
  }
  return s;
}

absl::Status TcpStream::Send(const std::vector<uint8_t>& msg, int timeout_ms) {
  std::vector<uint8_t> framed(2 + msg.size());
  dns::Store16(framed.data(), static_cast<uint16_t>(msg.size()));
  std::memcpy(framed.data() + 2, msg.data(), msg.size());
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t off = 0;
  while (off < framed.size()) {
    const ssize_t n =
        send(fd_, framed.data() + off, framed.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("tcp send: ", strerror(errno)));
    }
    if (absl::Status s = WaitFor(fd_, POLLOUT, deadline, "tcp send"); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status TcpStream::ReadFull(uint8_t* p, size_t n, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t off = 0;
  while (off < n) {
    const ssize_t k = recv(fd_, p + off, n - off, 0);
    if (k > 0) {
      off += static_cast<size_t>(k);
      continue;
    }
    if (k == 0) return absl::UnavailableError("connection closed");
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("tcp recv: ", strerror(errno)));
    }
    if (absl::Status s = WaitFor(fd_, POLLIN, deadline, "tcp read"); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> TcpStream::Receive(int timeout_ms) {
  uint8_t len[2];
  if (absl::Status s = ReadFull(len, 2, timeout_ms); !s.ok()) return s;
  std::vector<uint8_t> msg(dns::Load16(len));
  if (absl::Status s = ReadFull(msg.data(), msg.size(), timeout_ms); !s.ok()) {
    return s;
  }
  return msg;
}

}  // namespace popdns::xfr
