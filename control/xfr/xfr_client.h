// The secondary's side of replication: asking a primary for its SOA serial
// and transferring a zone from it by IXFR (RFC 1995) or AXFR (RFC 5936)
// over TCP, every message TSIG-verified when a key is given (RFC 8945
// 5.3.1). Blocking with timeouts: runs on the replication thread.
#ifndef POPDNS_CONTROL_XFR_XFR_CLIENT_H_
#define POPDNS_CONTROL_XFR_XFR_CLIENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/xfr/changeset.h"
#include "control/xfr/journal.h"
#include "control/xfr/transfer_stream.h"
#include "control/xfr/transport.h"
#include "control/xfr/tsig.h"

namespace popdns::xfr {

struct XfrTimeouts {
  int connect_ms = 5000;
  int message_ms = 10000;   // between two messages of a transfer
  int total_ms = 600000;    // a whole transfer
  int udp_ms = 2000;        // an SOA query over UDP
};

// The primary's SOA serial for `apex` (wire): a UDP query, retried over
// TCP when the answer is truncated. Errors: Unavailable/DeadlineExceeded
// (no answer), PermissionDenied (TSIG: the message says which error),
// FailedPrecondition (an rcode other than NOERROR, or no SOA in the
// answer).
absl::StatusOr<uint32_t> QuerySerial(const Remote& primary,
                                     const std::string& apex,
                                     const TsigKey* key,
                                     const XfrTimeouts& timeouts = {});

struct TransferResult {
  TransferStream::Kind kind = TransferStream::Kind::kFull;
  uint32_t serial = 0;
  std::vector<ZoneRecord> full;     // kFull: the whole zone, SOA first
  std::vector<Changeset> changes;   // kIncremental
  // kFull, when asked for: `full` encoded for the journal while the
  // messages arrived (absent if a record could not be encoded).
  std::optional<FullCopyEncoder> full_copy;
  size_t messages = 0;
  size_t bytes = 0;
  size_t records = 0;
};

// Transfers `apex` from `primary`: IXFR from `have_soa` when given, else
// AXFR; with `encode_full_copy`, a whole zone received is also encoded for
// the journal as it arrives (TransferResult::full_copy). Errors:
// Unavailable/DeadlineExceeded (network), PermissionDenied (TSIG),
// FailedPrecondition (a refused or failed transfer with the rcode named,
// or a broken IXFR stream), InvalidArgument (malformed messages).
absl::StatusOr<TransferResult> Transfer(const Remote& primary,
                                        const std::string& apex,
                                        const TsigKey* key,
                                        const std::optional<ZoneRecord>& have_soa,
                                        const XfrTimeouts& timeouts = {},
                                        bool encode_full_copy = false);

// A random message ID (RFC 5452 9.2).
uint16_t RandomId();

// "NOERROR", "REFUSED", ... for logs.
std::string RcodeName(uint8_t rcode);

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_XFR_CLIENT_H_
