#include "control/server/huge_page_malloc.h"

#include <sys/prctl.h>
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

// The program's own path: the name the kernel gives the new process
// (comm, what ps, pidof and the tests see) comes from it; executing
// /proc/self/exe would make it "exe". Empty if the file is gone (a package
// upgrade replaced it).
std::string OwnPath() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  if (path.ends_with(" (deleted)") || access(path.c_str(), X_OK) != 0) {
    return "";
  }
  return path;
}

// After an exec of /proc/self/exe: the name the program would have had.
void RenameFromExe(const char* argv0) {
  char comm[17] = {};
  if (prctl(PR_GET_NAME, comm) != 0 || std::strcmp(comm, "exe") != 0) return;
  if (argv0 == nullptr) return;
  const char* base = std::strrchr(argv0, '/');
  prctl(PR_SET_NAME, base ? base + 1 : argv0);
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
  if (tunables.empty()) {
    RenameFromExe(argv[0]);
    return;
  }
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  const std::string self = OwnPath();
  execv(self.empty() ? "/proc/self/exe" : self.c_str(), argv);
  // Still here: carry on with the small pages (the variable set now stops
  // a second attempt by a child that execs us).
}

}  // namespace popdns::control
