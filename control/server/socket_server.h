// DNS over kernel sockets: UDP (recvmmsg/sendmmsg, one SO_REUSEPORT socket
// and thread per core and address) and TCP (RFC 7766: one epoll thread,
// length-prefixed messages, pipelining, idle timeout, connection cap,
// per-connection buffers so that no client blocks another).
// This is the whole server without a dataplane, and the slow path behind
// the DPDK and XDP dataplanes (TCP, fragments, anything the kernel gets,
// and the messages the engine leaves to the control side: NOTIFY, UPDATE,
// AXFR/IXFR, TSIG-signed; see slow_path.h), which it hands to a
// SlowPathHandler.
// Threads are started and joined by the control thread; each worker reads
// snapshots as an RCU reader, and calls the handler while it is not one.
#ifndef POPDNS_CONTROL_SERVER_SOCKET_SERVER_H_
#define POPDNS_CONTROL_SERVER_SOCKET_SERVER_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "control/config.h"
#include "control/server/slow_path.h"
#include "control/server/slow_path_queue.h"
#include "control/server/stats.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dpdk/rcu_snapshot.h"

namespace popdns::control {

class SocketServer {
 public:
  SocketServer(const Config& config, dpdk::SnapshotManager* snapshots,
               StatsRegistry* stats);
  ~SocketServer();

  // Who answers the messages the engine leaves to the control side
  // (dns::AnswerResult::slow_path): over UDP the first message it returns
  // is sent back, over TCP every one, each with its two-byte length
  // (RFC 7766 8). Call before Start(). Without a handler such messages are
  // answered as popdns did before it had one (dns::LocalVerdict: NOTAUTH
  // for NOTIFY and UPDATE and IXFR, NOTIMP for AXFR, a TSIG-signed query
  // as if unsigned).
  void SetSlowPathHandler(SlowPathHandler handler);

  // Binds every listen address (UDP and TCP) and starts the threads.
  // Errors: the address and errno text of the first bind that failed.
  absl::Status Start();
  // Asks the threads to stop and joins them (they wake within 200 ms).
  void Stop();

  // How many RCU readers Start() registers, for sizing dpdk::SnapshotManager.
  static int ReaderCount(const Config& config);

 private:
  void UdpLoop(int fd, WorkerStats* stats, uint32_t reader);
  void TcpLoop(std::vector<int> listeners, WorkerStats* stats,
               uint32_t reader);
  // The handler's messages for one request (none if it throws). The
  // calling thread must not be online as an RCU reader.
  std::vector<std::vector<uint8_t>> HandOff(const SlowPathRequest& request);

  Config config_;
  dns::CookieSecrets cookie_secrets_;  // answer_config_.cookies points here
  dns::RrlSettings rrl_settings_;      // rate 0: off
  ClientNetworks client_networks_;     // answer_config_.networks points here
  dns::AnswerConfig answer_config_;
  SlowPathHandler slow_path_handler_;
  dpdk::SnapshotManager* snapshots_;
  StatsRegistry* stats_;
  std::atomic<bool> running_{false};
  std::vector<std::thread> threads_;
  std::vector<int> fds_;
  std::unique_ptr<SlowPathQueue> slow_queue_;      // UDP slow path
  std::unique_ptr<SlowPathQueue> tcp_slow_queue_;  // TCP slow path
  std::unique_ptr<SlowPathQueue> tcp_transfer_queue_;  // AXFR/IXFR out
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_SOCKET_SERVER_H_
