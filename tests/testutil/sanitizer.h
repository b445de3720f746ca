// Whether this test binary runs under ASan or TSan (GCC or clang): tests
// that repeat a random workload for coverage do fewer rounds there, where
// each costs 10-25 times as much and the point is memory errors, which a
// few rounds find as well as many (the CI time budget). The release tree
// runs them all.
#ifndef POPDNS_TESTS_TESTUTIL_SANITIZER_H_
#define POPDNS_TESTS_TESTUTIL_SANITIZER_H_

namespace popdns::testutil {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif
#else
inline constexpr bool kUnderSanitizer = false;
#endif

}  // namespace popdns::testutil

#endif  // POPDNS_TESTS_TESTUTIL_SANITIZER_H_
