// Whole DNS messages on the control side: parsing responses and requests
// (transfers, NOTIFY, SOA checks) into records with every name
// decompressed, and building messages with name compression. Not for the
// hot path: it allocates. Any thread.
#ifndef POPDNS_CONTROL_XFR_DNS_MESSAGE_H_
#define POPDNS_CONTROL_XFR_DNS_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "control/zonefile/zone_record.h"

namespace popdns::xfr {

using control::ZoneRecord;

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;  // header bytes 2-3
  uint16_t qdcount = 0;
  std::string qname;  // wire, case as received; empty without a question
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  std::vector<ZoneRecord> answer, authority, additional;

  uint8_t opcode() const { return (flags >> 11) & 0x0F; }
  uint8_t rcode() const { return flags & 0x0F; }
  bool qr() const { return (flags & 0x8000) != 0; }
  bool aa() const { return (flags & 0x0400) != 0; }
  bool tc() const { return (flags & 0x0200) != 0; }
};

// Parses msg[0, len): at most one question, then the three sections.
// Owners and the names inside RDATA of the types RFC 3597 4 lists as
// compressible or decompressible are returned uncompressed; other RDATA is
// copied as is. Errors: InvalidArgument saying what is malformed (a name,
// a pointer, a length, trailing bytes).
absl::StatusOr<Message> ParseMessage(const uint8_t* msg, size_t len);

enum class Section : uint8_t { kAnswer, kAuthority, kAdditional };

// Builds one message. Owners, and names inside RDATA of the RFC 1035 types
// (NS, CNAME, SOA, PTR, MX, ...), are compressed against earlier names.
class MessageBuilder {
 public:
  // `flags`: header bytes 2-3 (QR, opcode, AA, ..., rcode).
  MessageBuilder(uint16_t id, uint16_t flags);
  void AddQuestion(std::string_view qname_wire, uint16_t qtype,
                   uint16_t qclass = 1);
  // Appends a record unless the message would exceed `limit` bytes
  // (returns false and leaves the message as it was).
  bool Add(Section section, const ZoneRecord& rr, size_t limit = 65535);
  // Adds an OPT record (RFC 6891) with `payload` and no options.
  void AddOpt(uint16_t payload);
  size_t size() const { return buf_.size(); }
  uint16_t count(Section s) const { return counts_[static_cast<int>(s)]; }
  std::vector<uint8_t> Finish() const { return buf_; }

 private:
  void PutName(std::string_view wire, bool compress);
  std::vector<uint8_t> buf_;
  uint16_t counts_[3] = {0, 0, 0};
  // Name suffix (case as written) -> offset of its first occurrence.
  absl::flat_hash_map<std::string, uint16_t> names_;
};

// A query: id, RD clear, one question.
std::vector<uint8_t> BuildQuery(uint16_t id, std::string_view qname_wire,
                                uint16_t qtype, uint8_t opcode = 0);

}  // namespace popdns::xfr

#endif  // POPDNS_CONTROL_XFR_DNS_MESSAGE_H_
