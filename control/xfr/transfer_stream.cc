#include "control/xfr/transfer_stream.h"

#include "absl/strings/str_cat.h"
#include "dataplane/dns/wire.h"

namespace popdns::xfr {

absl::StatusOr<bool> TransferStream::Add(std::vector<ZoneRecord> answer) {
  for (ZoneRecord& rr : answer) {
    if (state_ == State::kDone) {
      return absl::InvalidArgumentError("transfer: records after the final SOA");
    }
    auto done = AddOne(std::move(rr));
    if (!done.ok()) return done.status();
  }
  if (state_ == State::kSecond && have_ && !SerialLess(*have_, serial_)) {
    // RFC 1995 4: a lone SOA not newer than ours: nothing to transfer.
    kind_ = Kind::kUpToDate;
    state_ = State::kDone;
  }
  return state_ == State::kDone;
}

absl::StatusOr<bool> TransferStream::AddOne(ZoneRecord rr) {
  ++records_;
  const bool soa = rr.type == dns::rrtype::kSoa;
  if (rr.rclass != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("transfer: record of class ", rr.rclass));
  }
  switch (state_) {
    case State::kStart:
      if (!soa) return absl::InvalidArgumentError("transfer: does not start with the SOA");
      serial_ = Changeset::SerialOf(rr);
      first_soa_ = std::move(rr);
      state_ = State::kSecond;
      return false;
    case State::kSecond:
      if (soa) {
        const uint32_t s = Changeset::SerialOf(rr);
        if (have_ && s == *have_ && s != serial_) {
          // RFC 1995 4: the first difference sequence starts at our SOA.
          kind_ = Kind::kIncremental;
          current_ = Changeset();
          current_.soa_from = std::move(rr);
          state_ = State::kDel;
          return false;
        }
        if (s == serial_) {  // a zone of one record: let validation say so
          full_.push_back(std::move(first_soa_));
          state_ = State::kDone;
          return true;
        }
        return absl::FailedPreconditionError(absl::StrCat(
            "IXFR: starts at serial ", s, ", not at ours (",
            have_ ? absl::StrCat(*have_) : std::string("none"), ")"));
      }
      kind_ = Kind::kFull;
      full_.push_back(std::move(first_soa_));
      full_.push_back(std::move(rr));
      state_ = State::kFull;
      return false;
    case State::kFull:
      if (soa) {
        if (Changeset::SerialOf(rr) != serial_) {
          return absl::InvalidArgumentError("AXFR: final SOA serial differs");
        }
        state_ = State::kDone;
        return true;
      }
      full_.push_back(std::move(rr));
      return false;
    case State::kDel:
      if (soa) {
        current_.soa_to = std::move(rr);
        state_ = State::kAdd;
      } else {
        current_.removed.push_back(std::move(rr));
      }
      return false;
    case State::kAdd: {
      if (!soa) {
        current_.added.push_back(std::move(rr));
        return false;
      }
      const uint32_t s = Changeset::SerialOf(rr);
      const uint32_t to = current_.to();
      if (current_.from() == to || SerialLess(to, current_.from())) {
        return absl::FailedPreconditionError(absl::StrCat(
            "IXFR: serials out of sequence (", current_.from(), " -> ", to,
            ")"));
      }
      changes_.push_back(std::move(current_));
      current_ = Changeset();
      if (s == serial_ && to == serial_) {
        state_ = State::kDone;
        return true;
      }
      if (s != to) {
        return absl::FailedPreconditionError(absl::StrCat(
            "IXFR: serials out of sequence (a change ends at ", to,
            ", the next starts at ", s, ")"));
      }
      current_.soa_from = std::move(rr);
      state_ = State::kDel;
      return false;
    }
    case State::kDone:
      break;
  }
  return absl::InvalidArgumentError("transfer: records after the final SOA");
}

}  // namespace popdns::xfr
