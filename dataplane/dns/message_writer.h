// Writes resource records into a response after its question, with name
// compression against every name already in the message (RFC 1035 4.1.4),
// whole-RRset rollback when a limit is hit (RFC 2181 9: no partial RRsets),
// and optional recording of compression pointers and RRset boundaries so
// that control/zone_builder can precompile answers.
// Per packet on worker lcores: no allocation, locks, Status or logging.
#ifndef POPDNS_DATAPLANE_DNS_MESSAGE_WRITER_H_
#define POPDNS_DATAPLANE_DNS_MESSAGE_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/dns/name.h"
#include "dataplane/dns/wire.h"
#include "dataplane/zone/zone.h"

namespace popdns::dns {

enum class Section : uint8_t { kAnswer = 1, kAuthority = 2, kAdditional = 3 };

// Filled while precompiling a blob; unused (nullptr) on the hot path.
struct BlobRecorder {
  static constexpr size_t kMaxRelocs = 512;
  static constexpr size_t kMaxCuts = 256;
  uint16_t relocs[kMaxRelocs];  // pointer positions, relative to the start
  size_t reloc_count = 0;
  zone::BlobCut cuts[kMaxCuts];
  size_t cut_count = 0;
  bool overflow = false;
};

class MessageWriter {
 public:
  // Writes start at msg[start] and never go past msg[limit).
  MessageWriter(uint8_t* msg, size_t start, size_t limit)
      : msg_(msg), start_(start), pos_(start), limit_(limit) {}

  // Makes the question name's labels available as compression targets.
  // With `wildcard_template`, only the record owners may point at the whole
  // question name: it stands for whatever name the client will ask.
  void AddQuestion(const LowerName& qname, bool wildcard_template);

  void set_recorder(BlobRecorder* recorder) { recorder_ = recorder; }
  // Lowers the limit, e.g. to keep room for the OPT record.
  void set_limit(size_t limit) { limit_ = limit; }

  // Writes a whole RRset owned by `owner` (lowercased wire). Returns false,
  // leaving the message as before, if it does not fit.
  [[nodiscard]] bool PutRRset(Section section, std::string_view owner,
                              const zone::Zone& zone, const zone::RRset& rrset);
  // Writes one synthesized RR (e.g. the CNAME of a DNAME substitution).
  [[nodiscard]] bool PutSingle(Section section, std::string_view owner,
                               uint16_t type, uint32_t ttl,
                               std::string_view rdata);

  size_t pos() const { return pos_; }
  uint16_t an() const { return an_; }
  uint16_t ns() const { return ns_; }
  uint16_t ar() const { return ar_; }

 private:
  struct Entry {
    uint16_t pos;   // a label in the message
    uint8_t size;   // wire size of the name from that label to the root
    bool question;  // the whole question name
  };
  static constexpr size_t kMaxEntries = 96;

  struct Mark {
    size_t pos, entries, relocs;
  };
  Mark Save() const;
  void Restore(const Mark& m);

  bool PutName(std::string_view name, bool compress, bool is_owner);
  bool PutRR(std::string_view owner, uint16_t type, uint32_t ttl,
             const uint8_t* rdata, size_t rdlen);
  bool PutRdata(uint16_t type, const uint8_t* rdata, size_t rdlen);
  void Count(Section section);
  void RecordCut(Section section);

  uint8_t* msg_;
  size_t start_;
  size_t pos_;
  size_t limit_;
  uint16_t an_ = 0, ns_ = 0, ar_ = 0;
  bool wildcard_template_ = false;
  Entry entries_[kMaxEntries];
  size_t entry_count_ = 0;
  BlobRecorder* recorder_ = nullptr;
};

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_MESSAGE_WRITER_H_
