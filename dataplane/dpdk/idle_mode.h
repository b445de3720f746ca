// What a worker does when its queues stay empty (`dataplane.idle`): shared
// by the config and the dataplane, which has no other header the config
// may include.
#ifndef POPDNS_DATAPLANE_DPDK_IDLE_MODE_H_
#define POPDNS_DATAPLANE_DPDK_IDLE_MODE_H_

namespace popdns::dpdk {

enum class IdleMode {
  kPoll,   // busy-poll: one core per worker at 100%, the lowest latency
  kSleep,  // spin a little, then sleep up to idle_max_sleep_us (l3fwd-power)
  // Spin as kSleep does, then wait in poll() on its queues' descriptors
  // (net_af_xdp: the AF_XDP socket; net_tap: the tap queue): the kernel
  // wakes it when a frame is queued for it. Other drivers are refused.
  kWait,
};

}  // namespace popdns::dpdk

#endif  // POPDNS_DATAPLANE_DPDK_IDLE_MODE_H_
