// Health of the endpoints of app-aware answers (issue 16): the addresses
// in VARIANT A/AAAA records that answers leave out while they are down.
// An endpoint goes down after `fall` failed checks in a row and comes back
// after `rise` good ones (hysteresis: one lost SYN moves no client), or
// when the operator marks it down (the management API), whatever its
// checks say. Each change publishes the whole down set at once through
// `publish` (ZoneStore::SetDownEndpoints: a new snapshot, no zone rebuilt).
// Endpoints start up: a PoP that starts while a checked endpoint is down
// hands it out for `fall` intervals, never answers nothing.
// Threads: one per check, started by Start(); the other methods from any
// thread.
#ifndef POPDNS_CONTROL_ANSWERS_ENDPOINT_HEALTH_H_
#define POPDNS_CONTROL_ANSWERS_ENDPOINT_HEALTH_H_

#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config.h"
#include "dataplane/zone/address.h"

namespace popdns::control {

// One check, once: "" if the endpoint passed, else why not ("connect:
// Connection refused", "timeout after 2000 ms", "HTTP 503"). Blocks for at
// most about twice the check's timeout.
std::string ProbeEndpoint(const HealthCheckConfig& check);

class EndpointHealth {
 public:
  using Publish = std::function<void(std::vector<zone::Address> down)>;
  using Probe = std::function<std::string(const HealthCheckConfig&)>;

  // `checks` as LoadConfigFile accepted them; `probe` runs one check
  // (tests script it).
  EndpointHealth(std::vector<HealthCheckConfig> checks, Publish publish,
                 Probe probe = ProbeEndpoint);
  ~EndpointHealth();
  EndpointHealth(const EndpointHealth&) = delete;
  EndpointHealth& operator=(const EndpointHealth&) = delete;

  void Start();
  void Stop();

  // The operator's mark: down whatever the checks say (`down`), or back
  // to what they say. Any address may be marked, checked or not.
  // Errors: InvalidArgument (not an address).
  absl::Status SetAdminDown(const std::string& endpoint, bool down);

  struct State {
    std::string endpoint;
    std::string check;        // "tcp 80", "http 80 /healthz"; "" if none
    bool up = true;           // as answers see it
    bool checks_up = true;    // as the checks say
    bool admin_down = false;  // marked down by the operator
    std::string last_result;  // "ok", or the last failure
    std::time_t last_check = 0;
    std::time_t since = 0;    // when `up` last changed (0: never)
  };
  std::vector<State> States() const;
  // Sorted, as ZoneSet::set_down_endpoints takes it.
  std::vector<zone::Address> DownSet() const;

 private:
  struct Endpoint {
    zone::Address address;
    State state;
    HealthCheckConfig check;  // type "" when not checked
    int successes = 0, failures = 0;  // in a row
  };

  void RunChecks(size_t index);
  void Republish();
  Endpoint* FindLocked(zone::Address a);
  // Sets state.up from the checks and the operator's mark; true (and a
  // log line saying `why`) if it changed.
  bool UpdateUpLocked(Endpoint& e, const std::string& why);

  Publish publish_;
  Probe probe_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<Endpoint> endpoints_;  // checked ones first, in config order
  size_t checked_ = 0;
  std::vector<std::thread> threads_;
  // Publications in order, each of the state at its time: a slow publish
  // cannot overtake a later one.
  std::mutex publish_mu_;
};

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_ANSWERS_ENDPOINT_HEALTH_H_
