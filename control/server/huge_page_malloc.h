// glibc's malloc backed by transparent huge pages for the whole process.
#ifndef POPDNS_CONTROL_SERVER_HUGE_PAGE_MALLOC_H_
#define POPDNS_CONTROL_SERVER_HUGE_PAGE_MALLOC_H_

#include <string>

namespace popdns::control {

// The GLIBC_TUNABLES value that asks for it, given the current one (null
// when unset); empty when nothing is to change: the operator already set
// glibc.malloc.hugetlb (either way), or the kernel's THP mode is "never".
std::string HugePageMallocTunables(const char* current, bool thp_never);

// Replaces the process (same PID, same argv) by itself with
// glibc.malloc.hugetlb=1 in GLIBC_TUNABLES, which glibc reads only at
// start-up. Returns when there is nothing to do or exec failed.
//
// Why: a large zone's load allocates ~1 GB of short-lived records, strings
// and hash tables; with 4 KiB pages every first touch is a page fault, and
// on a virtual machine those dominated the load (1M names: 6.7 s -> 3.5 s
// with huge pages, same peak RSS). Under valgrind (which would not follow
// the exec) or with glibc.malloc.hugetlb set it leaves the process alone.
void ReexecWithHugePageMalloc(char** argv);

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_HUGE_PAGE_MALLOC_H_
