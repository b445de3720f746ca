#include "control/server/socket_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/xfr/transport.h"
#include "dataplane/dns/name.h"
#include "dataplane/dns/wire.h"

namespace popdns::control {
namespace {

constexpr int kBatch = 32;
constexpr size_t kUdpBufSize = 4096;
constexpr int kWakeMs = 200;  // how often blocked threads look at running_
constexpr size_t kTcpOutHighWater = 256 * 1024;  // stop reading above this

int Threads(const Config& c) {
  if (c.udp_threads > 0) return c.udp_threads;
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

absl::Status Resolve(const std::string& text, sockaddr_storage* ss,
                     socklen_t* len) {
  auto remote = xfr::ParseRemote(text);
  if (!remote.ok()) {
    return absl::InvalidArgumentError("bad listen address '" + text + "'");
  }
  *ss = remote->addr;
  *len = remote->len;
  return absl::OkStatus();
}

absl::StatusOr<int> Bind(const std::string& text, int type,
                         bool reuseport = true) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (absl::Status s = Resolve(text, &ss, &len); !s.ok()) return s;
  const int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  // Service addresses may be configured on the interface after we start
  // (the dataplane's exception interface, an operator's network scripts).
  setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
  if (type == SOCK_DGRAM) {
    timeval tv{0, kWakeMs * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat(
        "cannot bind ", type == SOCK_DGRAM ? "udp " : "tcp ", text, ": ",
        strerror(err)));
  }
  if (type == SOCK_STREAM && reuseport) {
    if (listen(fd, 1024) != 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat("listen ", text, ": ",
                                                 strerror(errno)));
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return fd;
}

// The client of a datagram or connection, for cookies and rate limiting:
// points into `peer`, which must outlive it.
dns::Client ClientOf(const sockaddr_storage& peer, uint32_t now) {
  if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer);
    return {a.sin6_addr.s6_addr, true, now};
  }
  if (peer.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(peer);
    return {reinterpret_cast<const uint8_t*>(&a.sin_addr), false, now};
  }
  return {nullptr, false, now};
}

struct TcpConnection {
  int fd;
  uint64_t id;  // never reused, unlike fd (TcpSlowAnswers::Ready)
  sockaddr_storage peer;  // for the SlowPathHandler
  socklen_t peer_len = 0;
  std::vector<uint8_t> in;
  std::vector<uint8_t> out;
  size_t out_sent = 0;
  std::chrono::steady_clock::time_point last_active;
  bool reading = true;
  bool peer_closed = false;
  // A message is with the slow path (SlowPathQueue): its answers go out
  // before anything read after it is processed (RFC 7766 7 would allow
  // answering around it; keeping the order is simpler for clients).
  bool waiting = false;
};

// The slow path's answers for TCP connections, from the queue's threads to
// the connection loop: queued here, then the eventfd wakes the loop.
// Shared with the queued items, so a late answer after the loop ended
// writes to a live object.
struct TcpSlowAnswers {
  TcpSlowAnswers() : wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~TcpSlowAnswers() {
    if (wake >= 0) close(wake);
  }
  // The answers for the connection `fd` whose TcpConnection::id is `id`
  // (an fd is reused once closed; the id tells).
  struct Ready {
    int fd;
    uint64_t id;
    std::vector<std::vector<uint8_t>> answers;
  };
  void Add(int fd, uint64_t id, std::vector<std::vector<uint8_t>> answers) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ready.push_back({fd, id, std::move(answers)});
    }
    const uint64_t one = 1;
    (void)!write(wake, &one, sizeof(one));
  }
  std::vector<Ready> Take() {
    uint64_t count;
    (void)!read(wake, &count, sizeof(count));
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(ready, {});
  }

  const int wake;
  std::mutex mu;
  std::vector<Ready> ready;
};

}  // namespace

SocketServer::SocketServer(const Config& config, dpdk::SnapshotManager* snapshots,
                           StatsRegistry* stats)
    : config_(config), snapshots_(snapshots), stats_(stats) {
  answer_config_.udp_payload = config.udp_payload;
  // No handler yet: the engine answers what it would leave to one.
  answer_config_.slow_path = false;
  if (config.cookies.enabled) {
    cookie_secrets_ = CookieSecretsOf(config.cookies);
    answer_config_.cookies = &cookie_secrets_;
  }
  rrl_settings_ = RrlSettingsOf(config.rrl);
  answer_config_.rrl = rrl_settings_.rate != 0;
  // LoadConfigFile checked the length.
  (void)dns::SetNsid(&answer_config_, config.nsid);
  client_networks_ = ClientNetworksOf(config);
  client_networks_.ApplyTo(&answer_config_);
  // RFC 7828 3.3.2: "Servers MUST specify the TIMEOUT value that is
  // currently associated with the TCP session": TcpLoop's idle timeout, in
  // units of 100 ms (rounded down: a client that keeps to it is never cut
  // off by us first).
  answer_config_.tcp_keepalive = true;
  answer_config_.tcp_keepalive_timeout = static_cast<uint16_t>(
      std::min(config.tcp_idle_timeout_ms / 100, 65535));
}

void SocketServer::SetSlowPathHandler(SlowPathHandler handler) {
  slow_path_handler_ = std::move(handler);
  answer_config_.slow_path = static_cast<bool>(slow_path_handler_);
}

// UDP messages for the handler: threads enough that UPDATEs arriving
// together are committed together; a queue deep enough for bursts, not
// for a flood.
constexpr int kSlowPathThreads = 8;
constexpr size_t kSlowPathQueue = 4096;
// TCP: a connection has at most one message with the handler, so each
// queue holds at most one per connection. Transfers out (an AXFR renders
// the whole zone) have threads of their own, so that no number of them
// holds back an UPDATE or a NOTIFY; two of each kind, so that one long
// request of a kind does not hold back the next.
constexpr int kTcpSlowPathThreads = 2;
constexpr int kTcpTransferThreads = 2;

// Whether `msg` asks for a zone transfer: a QUERY whose question is of
// type AXFR or IXFR. (Anything else the handler takes is short: an
// UPDATE, a NOTIFY, a signed query.)
bool AsksTransfer(const uint8_t* msg, size_t len) {
  if (len < 12 || ((msg[2] >> 3) & 0xF) != 0 || dns::Load16(msg + 4) == 0) {
    return false;
  }
  size_t end = 0;
  if (dns::SkipName(msg, len, 12, &end) != dns::NameStatus::kOk ||
      end + 4 > len) {
    return false;
  }
  const uint16_t qtype = dns::Load16(msg + end);
  return qtype == dns::rrtype::kAxfr || qtype == dns::rrtype::kIxfr;
}

std::vector<std::vector<uint8_t>> SocketServer::HandOff(
    const SlowPathRequest& request) {
  // A handler that throws (out of memory, a bug) costs its client an
  // answer, not the socket thread.
  try {
    return slow_path_handler_(request);
  } catch (...) {
    return {};
  }
}

SocketServer::~SocketServer() { Stop(); }

int SocketServer::ReaderCount(const Config& config) {
  return Threads(config) * static_cast<int>(config.listen.size()) + 1;
}

absl::Status SocketServer::Start() {
  std::vector<int> udp, tcp;
  auto fail = [&](absl::Status s) {
    for (int fd : udp) close(fd);
    for (int fd : tcp) close(fd);
    return s;
  };
  for (const std::string& addr : config_.listen) {
    // SO_REUSEPORT would let us share a port silently with another server
    // of the same user; a probe bind without it fails if anyone holds it.
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
      auto probe = Bind(addr, type, false);
      if (!probe.ok()) return fail(probe.status());
      close(*probe);
    }
    for (int i = 0; i < Threads(config_); ++i) {
      auto fd = Bind(addr, SOCK_DGRAM);
      if (!fd.ok()) return fail(fd.status());
      udp.push_back(*fd);
    }
    auto fd = Bind(addr, SOCK_STREAM);
    if (!fd.ok()) return fail(fd.status());
    tcp.push_back(*fd);
  }
  running_ = true;
  slow_queue_ = std::make_unique<SlowPathQueue>(
      [this](const SlowPathRequest& r) { return HandOff(r); },
      kSlowPathThreads, kSlowPathQueue);
  slow_queue_->Start();
  tcp_slow_queue_ = std::make_unique<SlowPathQueue>(
      [this](const SlowPathRequest& r) { return HandOff(r); },
      kTcpSlowPathThreads,
      static_cast<size_t>(std::max(1, config_.tcp_max_connections)));
  tcp_slow_queue_->Start();
  tcp_transfer_queue_ = std::make_unique<SlowPathQueue>(
      [this](const SlowPathRequest& r) { return HandOff(r); },
      kTcpTransferThreads,
      static_cast<size_t>(std::max(1, config_.tcp_max_connections)));
  tcp_transfer_queue_->Start();
  for (int fd : udp) {
    fds_.push_back(fd);
    WorkerStats* stats = stats_->Add("udp");
    stats->rrl_enabled = rrl_settings_.rate != 0;
    threads_.emplace_back(&SocketServer::UdpLoop, this, fd, stats,
                          snapshots_->RegisterReader());
  }
  fds_.insert(fds_.end(), tcp.begin(), tcp.end());
  threads_.emplace_back(&SocketServer::TcpLoop, this, tcp, stats_->Add("tcp"),
                        snapshots_->RegisterReader());
  return absl::OkStatus();
}

void SocketServer::Stop() {
  if (!running_.exchange(false)) return;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  if (slow_queue_) slow_queue_->Stop();  // before the sockets close
  if (tcp_slow_queue_) tcp_slow_queue_->Stop();
  if (tcp_transfer_queue_) tcp_transfer_queue_->Stop();
  for (int fd : fds_) close(fd);
  fds_.clear();
}

void SocketServer::UdpLoop(int fd, WorkerStats* stats, uint32_t reader) {
  auto bufs = std::make_unique<uint8_t[]>(kBatch * kUdpBufSize);
  mmsghdr msgs[kBatch];
  iovec iovs[kBatch];
  sockaddr_storage addrs[kBatch];
  mmsghdr out[kBatch];
  iovec out_iovs[kBatch];
  dns::AnswerJob jobs[kBatch];
  int slow[kBatch];  // jobs left to the SlowPathHandler
  // This thread's rate-limiting table (rrl.h: one per thread, no locks).
  std::unique_ptr<dns::Rrl> rrl;
  if (rrl_settings_.rate != 0) {
    rrl = std::make_unique<dns::Rrl>(rrl_settings_, &stats->rrl);
  }
  while (running_.load(std::memory_order_relaxed)) {
    for (int i = 0; i < kBatch; ++i) {
      iovs[i] = {bufs.get() + i * kUdpBufSize, kUdpBufSize};
      std::memset(&msgs[i], 0, sizeof(msgs[i]));
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
    }
    // Offline while blocked: an idle thread never delays a reload.
    const int n = recvmmsg(fd, msgs, kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    snapshots_->Online(reader);
    const zone::ZoneSet& zones = *snapshots_->Current();
    // Once per batch, for cookies (Unix seconds) and rate limiting (ms):
    // vDSO clock reads, no system call.
    uint32_t unix_now = 0, now_ms = 0;
    if (answer_config_.cookies != nullptr || rrl) {
      timespec ts;
      clock_gettime(CLOCK_REALTIME_COARSE, &ts);
      unix_now = static_cast<uint32_t>(ts.tv_sec);
      clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
      now_ms = static_cast<uint32_t>(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    }
    // The batch is answered as one burst, like the DPDK workers' bursts.
    for (int i = 0; i < n; ++i) {
      size_t len = msgs[i].msg_len;
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) len = 0;  // larger than we take
      jobs[i] = {bufs.get() + i * kUdpBufSize, len, kUdpBufSize, {},
                 ClientOf(addrs[i], unix_now)};
    }
    dns::AnswerBurst(zones, answer_config_, dns::Transport::kUdp, jobs,
                     static_cast<size_t>(n));
    // Rate limiting (rrl.h): may drop responses or turn them into slips
    // (counted in stats->rrl), before they are counted as sent.
    dns::RrlAction rrl_actions[kBatch];
    if (rrl) {
      rrl->ApplyBurst(jobs, static_cast<size_t>(n), now_ms, rrl_actions);
    }
    int nout = 0, nslow = 0;
    auto add_out = [&](int i, uint8_t* data, size_t size) {
      out_iovs[nout] = {data, size};
      std::memset(&out[nout], 0, sizeof(out[nout]));
      out[nout].msg_hdr.msg_iov = &out_iovs[nout];
      out[nout].msg_hdr.msg_iovlen = 1;
      out[nout].msg_hdr.msg_name = &addrs[i];
      out[nout].msg_hdr.msg_namelen = msgs[i].msg_hdr.msg_namelen;
      ++nout;
    };
    for (int i = 0; i < n; ++i) {
      const dns::AnswerResult& r = jobs[i].result;
      if (rrl && rrl_actions[i] == dns::RrlAction::kDrop) {
        stats->received.Add();
        stats->outcome[static_cast<size_t>(r.outcome)].Add();
        continue;
      }
      stats->Count(r);
      if (r.slow_path) slow[nslow++] = i;
      if (r.size == 0) continue;
      add_out(i, jobs[i].buf, r.size);
    }
    snapshots_->Quiescent(reader);
    snapshots_->Offline(reader);
    // The query bytes are as received (the engine writes nothing for
    // slow_path); the queue's threads answer them, so that this thread
    // goes on answering queries meanwhile.
    for (int k = 0; k < nslow; ++k) {
      const int i = slow[k];
      slow_queue_->Push(
          {.msg = jobs[i].buf,
           .len = jobs[i].query_len,
           .peer = reinterpret_cast<const sockaddr*>(&addrs[i]),
           .peer_len = msgs[i].msg_hdr.msg_namelen,
           .tcp = false},
          [fd](std::vector<std::vector<uint8_t>> answers,
               const SlowPathRequest& request) {
            // Over UDP only the first message goes back (slow_path.h);
            // lost like any datagram if the socket will not take it.
            if (answers.empty() || answers[0].empty()) return;
            sendto(fd, answers[0].data(), answers[0].size(), MSG_DONTWAIT,
                   request.peer, request.peer_len);
          });
    }
    int sent = 0;
    while (sent < nout) {
      const int k = sendmmsg(fd, out + sent, static_cast<unsigned>(nout - sent), 0);
      if (k <= 0) break;  // lost like any UDP datagram; the client retries
      sent += k;
    }
  }
}

void SocketServer::TcpLoop(std::vector<int> listeners, WorkerStats* stats,
                           uint32_t reader) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int fd : listeners) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  auto is_listener = [&](int fd) {
    return std::find(listeners.begin(), listeners.end(), fd) != listeners.end();
  };
  std::unordered_map<int, std::unique_ptr<TcpConnection>> conns;
  uint64_t next_id = 1;
  std::vector<uint8_t> buf(dns::kMaxMessageSize + 2);
  const auto idle = std::chrono::milliseconds(config_.tcp_idle_timeout_ms);
  const auto slow_answers = std::make_shared<TcpSlowAnswers>();
  {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = slow_answers->wake;
    epoll_ctl(ep, EPOLL_CTL_ADD, slow_answers->wake, &ev);
  }

  auto close_conn = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns.erase(fd);
  };
  // RFC 7766 8: every message with its two-byte length, in order.
  auto append_answers = [](TcpConnection& c,
                           const std::vector<std::vector<uint8_t>>& answers) {
    for (const std::vector<uint8_t>& m : answers) {
      if (m.empty() || m.size() > dns::kMaxMessageSize) continue;
      const uint8_t prefix[2] = {static_cast<uint8_t>(m.size() >> 8),
                                 static_cast<uint8_t>(m.size())};
      c.out.insert(c.out.end(), prefix, prefix + 2);
      c.out.insert(c.out.end(), m.begin(), m.end());
    }
  };
  auto update_events = [&](TcpConnection& c) {
    epoll_event ev{};
    ev.events = (c.reading ? EPOLLIN : 0u) |
                (c.out_sent < c.out.size() ? EPOLLOUT : 0u);
    ev.data.fd = c.fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  };
  auto flush = [&](TcpConnection& c) -> bool {
    while (c.out_sent < c.out.size()) {
      const ssize_t k = send(c.fd, c.out.data() + c.out_sent,
                             c.out.size() - c.out_sent, MSG_NOSIGNAL);
      if (k < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      c.out_sent += static_cast<size_t>(k);
    }
    c.out.clear();
    c.out_sent = 0;
    return true;
  };
  // RFC 7766 8: each message is preceded by its two-byte length; several
  // may arrive in one read (pipelining) and are all answered.
  auto process = [&](TcpConnection& c) {
    if (c.waiting) return;
    size_t off = 0;
    snapshots_->Online(reader);
    const zone::ZoneSet* zones = snapshots_->Current();
    while (c.in.size() - off >= 2) {
      const size_t len = dns::Load16(c.in.data() + off);
      if (c.in.size() - off - 2 < len) break;
      std::memcpy(buf.data() + 2, c.in.data() + off + 2, len);
      // Cookies over TCP too (RFC 7873 5.2); TCP is never rate-limited.
      timespec ts;
      if (answer_config_.cookies != nullptr) {
        clock_gettime(CLOCK_REALTIME_COARSE, &ts);
      }
      const dns::AnswerResult r = dns::Answer(
          *zones, answer_config_, dns::Transport::kTcp, buf.data() + 2, len,
          dns::kMaxMessageSize,
          answer_config_.cookies != nullptr
              ? ClientOf(c.peer, static_cast<uint32_t>(ts.tv_sec))
              : dns::Client{});
      stats->Count(r);
      off += 2 + len;
      if (r.slow_path) {
        // The handler may take long (an AXFR out renders the whole zone,
        // an UPDATE waits for its fsync): on the queue's threads, while
        // this one serves the other connections. This connection waits.
        const SlowPathRequest request{
            .msg = buf.data() + 2,
            .len = len,
            .peer = reinterpret_cast<const sockaddr*>(&c.peer),
            .peer_len = c.peer_len,
            .tcp = true};
        SlowPathQueue* queue = AsksTransfer(request.msg, request.len)
                                   ? tcp_transfer_queue_.get()
                                   : tcp_slow_queue_.get();
        if (queue->Push(
                request, [slow_answers, fd = c.fd, id = c.id](
                             std::vector<std::vector<uint8_t>> answers,
                             const SlowPathRequest&) {
                  slow_answers->Add(fd, id, std::move(answers));
                })) {
          c.waiting = true;
          break;
        }
        // Queue full (more waiting connections than allowed): here.
        // Offline while the handler runs (it reads snapshots itself);
        // nothing read from `zones` is used after this point, and it is
        // read again afterwards.
        snapshots_->Quiescent(reader);
        snapshots_->Offline(reader);
        append_answers(c, HandOff(request));
        snapshots_->Online(reader);
        zones = snapshots_->Current();
        continue;
      }
      if (r.size == 0) continue;
      dns::Store16(buf.data(), static_cast<uint16_t>(r.size));
      c.out.insert(c.out.end(), buf.begin(), buf.begin() + 2 + r.size);
    }
    snapshots_->Quiescent(reader);
    snapshots_->Offline(reader);
    c.in.erase(c.in.begin(), c.in.begin() + off);
  };

  // After reading or an answer from the slow path: send what can be sent,
  // close when done, and listen for what comes next.
  auto settle = [&](TcpConnection& c, bool alive) {
    if (!flush(c)) alive = false;
    if (!alive || (c.peer_closed && c.out.empty() && !c.waiting)) {
      close_conn(c.fd);
      return;
    }
    c.reading = !c.peer_closed && !c.waiting &&
                c.out.size() - c.out_sent < kTcpOutHighWater;
    update_events(c);
  };

  epoll_event events[64];
  while (running_.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(ep, events, 64, kWakeMs);
    const auto now = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == slow_answers->wake) {
        for (TcpSlowAnswers::Ready& ready : slow_answers->Take()) {
          auto it = conns.find(ready.fd);
          if (it == conns.end() || it->second->id != ready.id) {
            continue;  // closed meanwhile (its fd perhaps reused)
          }
          TcpConnection& c = *it->second;
          c.waiting = false;
          c.last_active = now;
          append_answers(c, ready.answers);
          process(c);  // what the client sent meanwhile
          settle(c, true);
        }
        continue;
      }
      if (is_listener(fd)) {
        while (true) {
          sockaddr_storage peer;
          socklen_t peer_len = sizeof(peer);
          const int cfd =
              accept4(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                      SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break;
          if (static_cast<int>(conns.size()) >= config_.tcp_max_connections) {
            close(cfd);  // RFC 7766 6.2.2: shed load by closing
            continue;
          }
          const int one = 1;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          auto c = std::make_unique<TcpConnection>();
          c->fd = cfd;
          c->id = next_id++;
          c->peer = peer;
          c->peer_len = peer_len;
          c->last_active = now;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = cfd;
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
          conns.emplace(cfd, std::move(c));
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      TcpConnection& c = *it->second;
      c.last_active = now;
      bool alive = true;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        uint8_t chunk[16384];
        while (c.reading) {
          const ssize_t k = recv(fd, chunk, sizeof(chunk), 0);
          if (k > 0) {
            c.in.insert(c.in.end(), chunk, chunk + k);
            continue;
          }
          if (k == 0) {
            c.peer_closed = true;  // finish sending, then close
          } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            alive = false;
          }
          break;
        }
        process(c);
      }
      settle(c, alive);
    }
    // RFC 7766 6.2.3: close idle connections (not those waiting for the
    // slow path: their client waits for us).
    std::vector<int> expired;
    for (const auto& [fd, c] : conns) {
      if (!c->waiting && now - c->last_active > idle) expired.push_back(fd);
    }
    for (int fd : expired) close_conn(fd);
  }
  for (auto& [fd, c] : conns) close(fd);
  close(ep);
}

}  // namespace popdns::control
