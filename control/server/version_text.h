// --version of popdns and popdnsctl: version, git revision and, for the
// daemon, the optional parts compiled in.
#ifndef POPDNS_CONTROL_SERVER_VERSION_TEXT_H_
#define POPDNS_CONTROL_SERVER_VERSION_TEXT_H_

#include <string>
#include <utility>
#include <vector>

namespace popdns::control {

// "popdnsctl 0.1.0 (git 1a2b3c4d5e6f)\n"
std::string VersionLine(const std::string& program);

// VersionLine("popdns") followed by one line per dataplane: DPDK (always
// compiled in, with its version) and XDP (compiled in or not).
std::string PopdnsVersionText();

// The same as labels of popdns_build_info (/metrics): version, revision,
// dpdk (its version), xdp ("yes"/"no").
std::vector<std::pair<std::string, std::string>> BuildInfoLabels();

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_VERSION_TEXT_H_
