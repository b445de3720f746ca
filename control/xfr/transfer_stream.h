// Reading the answer records of an AXFR or IXFR response stream, message
// by message, into a whole zone or a chain of changesets (RFC 5936 2.2,
// RFC 1995 4), with the checks that make a broken IXFR fall back to AXFR:
// serials that do not chain, a stream that does not start at our serial.
// Control side only.
#ifndef POPDNS_CONTROL_XFR_TRANSFER_STREAM_H_
#define POPDNS_CONTROL_XFR_TRANSFER_STREAM_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "control/xfr/changeset.h"

namespace popdns::xfr {

class TransferStream {
 public:
  enum class Kind : uint8_t {
    kUpToDate,     // IXFR answered with our SOA or an older one
    kFull,         // AXFR, or an AXFR-style IXFR answer
    kIncremental,  // IXFR: changesets from our serial to the new one
  };

  // `have_serial`: the serial we asked IXFR from; nullopt for AXFR.
  explicit TransferStream(std::optional<uint32_t> have_serial)
      : have_(have_serial) {}

  // Feeds the answer section of the next message. Returns true once the
  // stream is complete (records after that are an error).
  // Errors: FailedPrecondition "IXFR: ..." / InvalidArgument "AXFR: ..."
  // naming what is wrong.
  absl::StatusOr<bool> Add(std::vector<ZoneRecord> answer);

  Kind kind() const { return kind_; }
  uint32_t serial() const { return serial_; }  // the new version's
  size_t records() const { return records_; }
  std::vector<ZoneRecord>& full() { return full_; }
  std::vector<Changeset>& changes() { return changes_; }

 private:
  enum class State : uint8_t { kStart, kSecond, kFull, kDel, kAdd, kDone };
  absl::StatusOr<bool> AddOne(ZoneRecord rr);

  std::optional<uint32_t> have_;
  State state_ = State::kStart;
  Kind kind_ = Kind::kFull;
  uint32_t serial_ = 0;
  size_t records_ = 0;
  ZoneRecord first_soa_;
  std::vector<ZoneRecord> full_;
  std::vector<Changeset> changes_;
  Changeset current_;
};

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_TRANSFER_STREAM_H_
