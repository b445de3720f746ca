// Messages for the SlowPathHandler, taken off the socket threads: an
// UPDATE waits for its journal's fsync and its zone's build, a NOTIFY may
// wait for the zone store's lock, an AXFR out renders the whole zone, and
// a socket thread that waited with them would stop answering queries
// meanwhile. The socket threads queue such messages here and go on; a few
// threads of this queue call the handler and hand its messages to the
// item's `done` (UDP: the first one goes back on the socket; TCP: to the
// connection's loop). Several at once, so that UPDATEs to one zone
// arriving together are committed together
// (control/update/update_service.h).
// The queue is bounded: past `capacity` a message is refused (counted);
// the caller drops it (UDP: the client retries) or answers it itself.
// Threads: Push from any thread; Start/Stop from the control thread.
#ifndef POPDNS_CONTROL_SERVER_SLOW_PATH_QUEUE_H_
#define POPDNS_CONTROL_SERVER_SLOW_PATH_QUEUE_H_

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "control/server/slow_path.h"

namespace popdns::control {

class SlowPathQueue {
 public:
  // `handle`: the handler call (SocketServer::HandOff).
  SlowPathQueue(std::function<std::vector<std::vector<uint8_t>>(
                    const SlowPathRequest&)>
                    handle,
                int threads, size_t capacity);
  ~SlowPathQueue();

  void Start();
  // Drops what is still queued and joins the threads.
  void Stop();

  // Called on a queue thread with the handler's messages for `request`
  // (whose pointers are valid for the call only). Items still queued at
  // Stop are dropped without a call.
  using Done = std::function<void(std::vector<std::vector<uint8_t>> answers,
                                  const SlowPathRequest& request)>;

  // Copies the request's message and peer; false when the queue is full
  // (refused).
  bool Push(const SlowPathRequest& request, Done done);
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Item {
    std::vector<uint8_t> msg;
    sockaddr_storage peer;
    socklen_t peer_len;
    bool tcp;
    Done done;
  };
  void Run();

  std::function<std::vector<std::vector<uint8_t>>(const SlowPathRequest&)>
      handle_;
  const int thread_count_;
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Item> items_;
  bool running_ = false;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_SLOW_PATH_QUEUE_H_
