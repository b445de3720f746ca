// DNS over kernel sockets: UDP (recvmmsg/sendmmsg, one SO_REUSEPORT socket
// and thread per core and address) and TCP (RFC 7766: one epoll thread,
// length-prefixed messages, pipelining, idle timeout, connection cap,
// per-connection buffers so that no client blocks another).
// This is the whole server without a dataplane, and the slow path behind
// the DPDK and XDP dataplanes (TCP, fragments, anything the kernel gets).
// Threads are started and joined by the control thread; each worker reads
// snapshots as an RCU reader.
#ifndef POPDNS_CONTROL_SERVER_SOCKET_SERVER_H_
#define POPDNS_CONTROL_SERVER_SOCKET_SERVER_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "control/config.h"
#include "dataplane/dpdk/rcu_snapshot.h"
#include "control/server/stats.h"
#include "dataplane/dns/answer.h"

namespace popdns::control {

class SocketServer {
 public:
  SocketServer(const Config& config, dpdk::SnapshotManager* snapshots,
               StatsRegistry* stats);
  ~SocketServer();

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

  Config config_;
  dns::AnswerConfig answer_config_;
  dpdk::SnapshotManager* snapshots_;
  StatsRegistry* stats_;
  std::atomic<bool> running_{false};
  std::vector<std::thread> threads_;
  std::vector<int> fds_;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_SOCKET_SERVER_H_
