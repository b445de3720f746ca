// Tests of the kernel-socket server's slow path (control/server/
// socket_server.h, slow_path.h) on loopback: what it answers for the
// messages the engine leaves to the control side (NOTIFY, UPDATE,
// AXFR/IXFR, TSIG-signed) without a SlowPathHandler and with one, over UDP
// and TCP, and that the handler runs while its thread is not an RCU reader.
#include "control/server/socket_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::control {
namespace {

using testutil::MakeQuery;
using testutil::QueryOptions;

constexpr uint16_t kTypeSoa = 6;
constexpr uint16_t kTypeIxfr = 251;
constexpr uint16_t kTypeAxfr = 252;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A port free on 127.0.0.1 for UDP and TCP alike.
uint16_t FreePort() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int u = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    bind(u, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
    const int t = socket(AF_INET, SOCK_STREAM, 0);
    const bool ok = bind(t, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(t);
    close(u);
    if (ok) return ntohs(a.sin_port);
  }
  return 0;
}

// A TSIG record (RFC 8945 4.2) owned by "key." with a zero MAC.
std::vector<uint8_t> TsigRecord() {
  std::vector<uint8_t> rr = {3, 'k', 'e', 'y', 0, 0, 250, 0, 255, 0, 0, 0, 0};
  const std::string alg = testutil::TextToWire("hmac-sha256.");
  std::vector<uint8_t> rdata(alg.begin(), alg.end());
  for (uint8_t b : {0, 0, 0x65, 0, 0, 0, 1, 44, 0, 32}) rdata.push_back(b);
  rdata.insert(rdata.end(), 32, 0);
  for (uint8_t b : {0x12, 0x34, 0, 0, 0, 0}) rdata.push_back(b);
  rr.push_back(static_cast<uint8_t>(rdata.size() >> 8));
  rr.push_back(static_cast<uint8_t>(rdata.size()));
  rr.insert(rr.end(), rdata.begin(), rdata.end());
  return rr;
}

std::vector<uint8_t> Signed(std::vector<uint8_t> q) {
  const std::vector<uint8_t> tsig = TsigRecord();
  q.insert(q.end(), tsig.begin(), tsig.end());
  ++q[11];
  return q;
}

std::vector<uint8_t> Notify() {
  QueryOptions o;
  o.opcode = 4;
  o.id = 0x4e01;
  return MakeQuery("example.test.", kTypeSoa, o);
}

class SocketServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    ASSERT_NE(port_, 0);
    config_.listen = {"127.0.0.1:" + std::to_string(port_)};
    config_.udp_threads = 1;
    snapshots_ = std::make_unique<dpdk::SnapshotManager>(
        SocketServer::ReaderCount(config_) + 1);
    auto set = testutil::MakeZoneSet(
        {{"example.test.", ReadFile(POPDNS_TESTDATA "/example.test.zone")}});
    ASSERT_TRUE(set.ok()) << set.status();
    zones_ = *set;
    snapshots_->Publish(zones_);
    server_ = std::make_unique<SocketServer>(config_, snapshots_.get(),
                                             &stats_);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Start() { ASSERT_TRUE(server_->Start().ok()); }

  sockaddr_in Address() const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }

  // Every datagram that comes back within `wait_ms` of sending `q`.
  std::vector<std::vector<uint8_t>> AskUdp(const std::vector<uint8_t>& q,
                                           int wait_ms = 2000) {
    const int s = socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in a = Address();
    sendto(s, q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&a),
           sizeof(a));
    std::vector<std::vector<uint8_t>> out;
    timeval tv{wait_ms / 1000, (wait_ms % 1000) * 1000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (true) {
      std::vector<uint8_t> buf(65535);
      const ssize_t n = recv(s, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      buf.resize(static_cast<size_t>(n));
      out.push_back(std::move(buf));
      // After the first, only a short look for more.
      tv = {0, 300 * 1000};
      setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    close(s);
    return out;
  }

  // A TCP connection on which `msgs` went out, each with its length
  // (RFC 7766 8), pipelined (6.2.1.1); -1 if it could not connect or send.
  int SendTcp(const std::vector<std::vector<uint8_t>>& msgs) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in a = Address();
    std::vector<uint8_t> wire;
    for (const auto& m : msgs) {
      wire.push_back(static_cast<uint8_t>(m.size() >> 8));
      wire.push_back(static_cast<uint8_t>(m.size()));
      wire.insert(wire.end(), m.begin(), m.end());
    }
    if (connect(s, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 ||
        send(s, wire.data(), wire.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(wire.size())) {
      close(s);
      return -1;
    }
    return s;
  }

  // Up to `want` length-prefixed messages from `s`, waiting at most
  // `wait_s` seconds for each read.
  static std::vector<std::vector<uint8_t>> ReadTcp(int s, size_t want,
                                                   int wait_s = 3) {
    timeval tv{wait_s, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::vector<std::vector<uint8_t>> out;
    std::vector<uint8_t> in;
    while (out.size() < want) {
      uint8_t chunk[4096];
      const ssize_t n = recv(s, chunk, sizeof(chunk), 0);
      if (n <= 0) break;
      in.insert(in.end(), chunk, chunk + n);
      while (in.size() >= 2 && in.size() >= 2u + (in[0] << 8 | in[1])) {
        const size_t len = in[0] << 8 | in[1];
        out.emplace_back(in.begin() + 2, in.begin() + 2 + len);
        in.erase(in.begin(), in.begin() + 2 + len);
      }
    }
    return out;
  }

  // Sends the queries pipelined on one TCP connection and reads `want`
  // messages.
  std::vector<std::vector<uint8_t>> AskTcp(
      const std::vector<std::vector<uint8_t>>& queries, size_t want) {
    const int s = SendTcp(queries);
    if (s < 0) return {};
    std::vector<std::vector<uint8_t>> out = ReadTcp(s, want);
    close(s);
    return out;
  }

  static int Rcode(const std::vector<uint8_t>& m) {
    return m.size() >= 12 ? m[3] & 0x0F : -1;
  }
  static int Id(const std::vector<uint8_t>& m) {
    return m.size() >= 12 ? m[0] << 8 | m[1] : -1;
  }

  uint16_t port_ = 0;
  Config config_;
  StatsRegistry stats_;
  std::unique_ptr<dpdk::SnapshotManager> snapshots_;
  std::shared_ptr<zone::ZoneSet> zones_;
  std::unique_ptr<SocketServer> server_;
};

// Without a handler (a daemon without replication) popdns answers as it
// did before it had a control side for these: NOTIFY and UPDATE NOTAUTH
// (RFC 1996, RFC 2136: nobody is authorised), AXFR NOTIMP (RFC 5936 4.2),
// IXFR NOTAUTH, a TSIG-signed query as if it were unsigned.
TEST_F(SocketServerTest, WithoutHandlerAnswersLocally) {
  Start();
  auto r = AskUdp(Notify());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(Rcode(r[0]), 9);
  EXPECT_EQ(Id(r[0]), 0x4e01);
  QueryOptions update;
  update.opcode = 5;
  r = AskUdp(MakeQuery("example.test.", kTypeSoa, update));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(Rcode(r[0]), 9);
  r = AskUdp(MakeQuery("example.test.", kTypeAxfr));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(Rcode(r[0]), 4);
  r = AskUdp(MakeQuery("example.test.", kTypeIxfr));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(Rcode(r[0]), 9);
  r = AskUdp(Signed(MakeQuery("www.example.test.", 1)));
  ASSERT_EQ(r.size(), 1u);
  auto m = testutil::ParseMessage(r[0].data(), r[0].size());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rcode, 0);
  EXPECT_EQ(m->answer.size(), 2u);
  r = AskTcp({MakeQuery("example.test.", kTypeAxfr), Notify()}, 2);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(Rcode(r[0]), 4);
  EXPECT_EQ(Rcode(r[1]), 9);
  EXPECT_EQ(stats_.Render().find("outcome.slow_path"), std::string::npos);
}

// A response made by the test handler: the request's header and question
// with QR set and `rcode`.
std::vector<uint8_t> Reply(const SlowPathRequest& req, uint8_t rcode) {
  std::vector<uint8_t> r(req.msg, req.msg + std::min<size_t>(req.len, 12));
  if (r.size() < 12) return r;
  r[2] |= 0x80;
  r[3] = rcode;
  for (int i = 6; i < 12; ++i) r[i] = 0;
  return r;
}

// The question's type of a request (its name uncompressed, as the tests
// make it).
uint16_t Qtype(const SlowPathRequest& req) {
  size_t pos = 12;
  while (pos < req.len && req.msg[pos] != 0) pos += req.msg[pos] + 1u;
  return pos + 2 < req.len ? (req.msg[pos + 1] << 8 | req.msg[pos + 2]) : 0;
}

// With a handler: it gets every slow-path message as received, with the
// peer and the transport; over UDP its first message goes back, over TCP
// all of them with their lengths (RFC 7766 8), in order with the engine's
// answers to pipelined queries. It runs while its thread is no RCU reader:
// publishing a snapshot from inside it (which waits for every online
// reader) returns.
TEST_F(SocketServerTest, HandlerAnswersSlowPathMessages) {
  struct Seen {
    std::vector<uint8_t> msg;
    bool tcp;
    uint16_t peer_port;
  };
  std::mutex mu;
  std::vector<Seen> seen;
  std::atomic<int> published{0};
  server_->SetSlowPathHandler([&](const SlowPathRequest& req) {
    uint16_t port = 0;
    if (req.peer && req.peer->sa_family == AF_INET) {
      port = ntohs(reinterpret_cast<const sockaddr_in*>(req.peer)->sin_port);
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back({{req.msg, req.msg + req.len}, req.tcp, port});
    }
    // Waits for a grace period: would never return if this thread were
    // still online as a reader.
    snapshots_->Publish(zones_);
    published.fetch_add(1);
    return std::vector<std::vector<uint8_t>>{Reply(req, 0), Reply(req, 3)};
  });
  Start();

  const std::vector<uint8_t> notify = Notify();
  auto r = AskUdp(notify);
  ASSERT_EQ(r.size(), 1u) << "over UDP only the handler's first message";
  EXPECT_EQ(Id(r[0]), 0x4e01);
  EXPECT_EQ(Rcode(r[0]), 0);
  EXPECT_TRUE(r[0][2] & 0x80);
  const std::vector<uint8_t> signed_query =
      Signed(MakeQuery("www.example.test.", 1));
  r = AskUdp(signed_query);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].size(), 12u);  // the handler's, not the engine's answer
  // A plain query is still the engine's.
  r = AskUdp(MakeQuery("www.example.test.", 1));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_GT(r[0].size(), 12u);

  QueryOptions first;
  first.id = 0x0001;
  QueryOptions axfr_id;
  axfr_id.id = 0x0002;
  QueryOptions last;
  last.id = 0x0003;
  const std::vector<uint8_t> axfr =
      MakeQuery("example.test.", kTypeAxfr, axfr_id);
  r = AskTcp({MakeQuery("www.example.test.", 1, first), axfr,
              MakeQuery("www.example.test.", 1, last)},
             4);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(Id(r[0]), 1);
  EXPECT_GT(r[0].size(), 12u);
  EXPECT_EQ(Id(r[1]), 2);
  EXPECT_EQ(Rcode(r[1]), 0);
  EXPECT_EQ(Id(r[2]), 2);
  EXPECT_EQ(Rcode(r[2]), 3);
  EXPECT_EQ(Id(r[3]), 3);
  EXPECT_GT(r[3].size(), 12u);

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].msg, notify);
  EXPECT_FALSE(seen[0].tcp);
  EXPECT_NE(seen[0].peer_port, 0);
  EXPECT_EQ(seen[1].msg, signed_query);
  EXPECT_EQ(seen[2].msg, axfr);
  EXPECT_TRUE(seen[2].tcp);
  EXPECT_NE(seen[2].peer_port, 0);
  EXPECT_EQ(published.load(), 3);
  EXPECT_NE(stats_.Render().find("outcome.slow_path 3"), std::string::npos)
      << stats_.Render();
}

// A handler that answers nothing: no answer over UDP, and the TCP
// connection goes on with the next query.
TEST_F(SocketServerTest, HandlerMayAnswerNothing) {
  server_->SetSlowPathHandler([](const SlowPathRequest&) {
    return std::vector<std::vector<uint8_t>>{};
  });
  Start();
  EXPECT_TRUE(AskUdp(Notify(), 500).empty());
  QueryOptions o;
  o.id = 7;
  auto r = AskTcp({Notify(), MakeQuery("www.example.test.", 1, o)}, 1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(Id(r[0]), 7);
}

// The TCP slow path runs off the connection loop (RFC 7766 6.2.1.1: one
// client's slow request must not hold back the others): while the handler
// is busy with one connection's AXFR, another connection's query is
// answered; then the AXFR's answer still reaches its connection.
TEST_F(SocketServerTest, TcpSlowPathHoldsBackNoOtherConnection) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server_->SetSlowPathHandler([&](const SlowPathRequest& req) {
    entered.set_value();
    released.wait_for(std::chrono::seconds(10));
    return std::vector<std::vector<uint8_t>>{Reply(req, 0)};
  });
  Start();
  QueryOptions axfr_id;
  axfr_id.id = 0x0002;
  const int a = SendTcp({MakeQuery("example.test.", kTypeAxfr, axfr_id)});
  ASSERT_GE(a, 0);
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(5)),
            std::future_status::ready);

  QueryOptions o;
  o.id = 9;
  const auto r = AskTcp({MakeQuery("www.example.test.", 1, o)}, 1);
  ASSERT_EQ(r.size(), 1u) << "answered while the handler is busy";
  EXPECT_EQ(Id(r[0]), 9);
  EXPECT_GT(r[0].size(), 12u);

  release.set_value();
  const auto answers = ReadTcp(a, 1, 5);
  close(a);
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_GE(answers[0].size(), 12u);
  EXPECT_EQ(Id(answers[0]), 2);
  EXPECT_EQ(Rcode(answers[0]), 0);
}

// Transfers out have threads of their own: while as many AXFRs as there
// are transfer threads (two) are being rendered, a NOTIFY over TCP on
// another connection still reaches the handler and is answered.
TEST_F(SocketServerTest, TransfersOutHoldBackNoOtherSlowRequest) {
  // Shared with the handler's threads, which may still be waking from
  // the wait when this test body returns.
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    int transfers_in = 0;
    bool released = false;
  };
  const auto gate = std::make_shared<Gate>();
  server_->SetSlowPathHandler([gate](const SlowPathRequest& req) {
    if (Qtype(req) == kTypeAxfr) {
      std::unique_lock<std::mutex> lock(gate->mu);
      ++gate->transfers_in;
      gate->cv.notify_all();
      gate->cv.wait_for(lock, std::chrono::seconds(10),
                        [&] { return gate->released; });
    }
    return std::vector<std::vector<uint8_t>>{Reply(req, 0)};
  });
  Start();
  std::vector<int> axfr_conns;
  for (uint16_t id : {0x0a01, 0x0a02}) {
    QueryOptions o;
    o.id = id;
    const int c = SendTcp({MakeQuery("example.test.", kTypeAxfr, o)});
    ASSERT_GE(c, 0);
    axfr_conns.push_back(c);
  }
  {
    std::unique_lock<std::mutex> lock(gate->mu);
    ASSERT_TRUE(gate->cv.wait_for(lock, std::chrono::seconds(5),
                                  [&] { return gate->transfers_in == 2; }));
  }
  const auto r = AskTcp({Notify()}, 1);
  ASSERT_EQ(r.size(), 1u) << "the NOTIFY waited for the transfers";
  EXPECT_EQ(Id(r[0]), 0x4e01);
  {
    std::lock_guard<std::mutex> lock(gate->mu);
    gate->released = true;
  }
  gate->cv.notify_all();
  // Then both transfers are answered.
  for (int c : axfr_conns) {
    EXPECT_EQ(ReadTcp(c, 1, 5).size(), 1u);
    close(c);
  }
}

}  // namespace
}  // namespace popdns::control
