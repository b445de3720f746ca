#include "control/server/version_text.h"

#include "control/server/build_info.h"
#include "control/server/git_revision.h"

namespace popdns::control {

std::string VersionLine(const std::string& program) {
  return program + " " POPDNS_VERSION " (git " POPDNS_GIT_REVISION ")\n";
}

std::string PopdnsVersionText() {
  return VersionLine("popdns") +
         "dpdk: yes (DPDK " POPDNS_DPDK_VERSION ")\n" +
         (POPDNS_XDP_COMPILED_IN
              ? "xdp: yes (XDP program and AF_XDP mode compiled in)\n"
              : "xdp: no (built without clang or libbpf, or with "
                "-Dxdp=disabled)\n");
}

std::vector<std::pair<std::string, std::string>> BuildInfoLabels() {
  return {{"version", POPDNS_VERSION},
          {"revision", POPDNS_GIT_REVISION},
          {"dpdk", POPDNS_DPDK_VERSION},
          {"xdp", POPDNS_XDP_COMPILED_IN ? "yes" : "no"}};
}

}  // namespace popdns::control
