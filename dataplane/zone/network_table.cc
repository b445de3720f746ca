#include "dataplane/zone/network_table.h"

#include <algorithm>

namespace popdns::zone {
namespace {

constexpr Address kMax = ~Address{0};

// The host bits of a prefix of `length`.
Address HostBits(int length) {
  return length >= 128 ? 0 : kMax >> length;
}
// The last address of the prefix.
Address EndOf(Address start, int length) { return start | HostBits(length); }

// Bits a and b have in common from the top (128 if equal).
int CommonPrefix(Address a, Address b) {
  const Address x = a ^ b;
  if (x == 0) return 128;
  const uint64_t hi = absl::Uint128High64(x);
  if (hi != 0) return __builtin_clzll(hi);
  return 64 + __builtin_clzll(absl::Uint128Low64(x));
}

}  // namespace

absl::StatusOr<NetworkTable> NetworkTable::Build(std::vector<Prefix> prefixes) {
  // Outer before inner: by start, then shorter first.
  std::sort(prefixes.begin(), prefixes.end(),
            [](const Prefix& a, const Prefix& b) {
              return a.address != b.address ? a.address < b.address
                                            : a.length < b.length;
            });
  NetworkTable t;
  t.starts_.clear();
  t.networks_.clear();
  auto emit = [&t](Address at, NetworkId network) {
    if (!t.starts_.empty() && t.starts_.back() == at) {
      t.networks_.back() = network;  // an inner prefix starting here
    } else {
      t.starts_.push_back(at);
      t.networks_.push_back(network);
    }
    // Adjacent ranges of one network are one range.
    const size_t n = t.starts_.size();
    if (n >= 2 && t.networks_[n - 2] == t.networks_[n - 1]) {
      t.starts_.pop_back();
      t.networks_.pop_back();
    }
  };
  struct Open {
    Address end;
    NetworkId network;
  };
  std::vector<Open> open;  // nested prefixes containing the sweep point
  // Closes the innermost open prefix: what follows it belongs to the one
  // around it (or to none).
  auto close = [&] {
    const Address end = open.back().end;
    open.pop_back();
    if (end != kMax) {
      emit(end + 1, open.empty() ? kNoNetwork : open.back().network);
    }
  };
  emit(0, kNoNetwork);
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const Prefix& p = prefixes[i];
    if (p.network == kNoNetwork) {
      return absl::InvalidArgumentError("network id reserved");
    }
    if (p.length > 128 || (p.address & HostBits(p.length)) != 0) {
      return absl::InvalidArgumentError(
          "a prefix with bits set beyond its length");
    }
    if (i > 0 && prefixes[i - 1].address == p.address &&
        prefixes[i - 1].length == p.length) {
      if (prefixes[i - 1].network == p.network) continue;
      return absl::InvalidArgumentError(
          "the same prefix is in two networks");
    }
    while (!open.empty() && open.back().end < p.address) close();
    emit(p.address, p.network);
    open.push_back({EndOf(p.address, p.length), p.network});
  }
  while (!open.empty()) close();
  return t;
}

NetworkTable::Match NetworkTable::Find(Address a) const {
  // The last range starting at or before a (starts_[0] is 0).
  const size_t i =
      static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), a) -
                          starts_.begin()) -
      1;
  Match m;
  m.network = networks_[i];
  // The block of a at length L holds x iff they share their first L bits:
  // it stays inside the range iff it holds neither the address before the
  // range nor the one after it.
  int scope = 0;
  if (starts_[i] != 0) scope = std::max(scope, CommonPrefix(a, starts_[i] - 1) + 1);
  if (i + 1 < starts_.size()) {
    scope = std::max(scope, CommonPrefix(a, starts_[i + 1]) + 1);
  }
  m.scope = static_cast<uint8_t>(std::min(scope, 128));
  return m;
}

}  // namespace popdns::zone
