#include "control/server/huge_page_malloc.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace popdns::control {
namespace {

constexpr char kTunable[] = "glibc.malloc.hugetlb";

bool ThpNever() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  const std::string mode((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  // No file: no THP in this kernel.
  return mode.empty() || mode.find("[never]") != std::string::npos;
}

bool UnderValgrind() {
  const char* preload = std::getenv("LD_PRELOAD");
  return preload != nullptr && std::strstr(preload, "vgpreload") != nullptr;
}

}  // namespace

std::string HugePageMallocTunables(const char* current, bool thp_never) {
  if (thp_never) return "";
  if (current == nullptr || *current == '\0') {
    return std::string(kTunable) + "=1";
  }
  if (std::strstr(current, kTunable) != nullptr) return "";
  return std::string(current) + ":" + kTunable + "=1";
}

void ReexecWithHugePageMalloc(char** argv) {
  if (UnderValgrind()) return;
  const std::string tunables =
      HugePageMallocTunables(std::getenv("GLIBC_TUNABLES"), ThpNever());
  if (tunables.empty()) return;
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Still here: carry on with the small pages (the variable set now stops
  // a second attempt by a child that execs us).
}

}  // namespace popdns::control
