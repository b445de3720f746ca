// Test-side DNS message codec: builds queries and parses responses fully
// (decompressing names), so that tests, the fuzzer and the benchmarks can
// check what the engine wrote without trusting the engine's own code.
#ifndef POPDNS_TESTS_TESTUTIL_DNS_MESSAGE_H_
#define POPDNS_TESTS_TESTUTIL_DNS_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace popdns::testutil {

struct QueryOptions {
  uint16_t id = 0x1234;
  uint16_t qclass = 1;
  bool rd = false;
  bool edns = false;
  uint16_t udp_size = 1232;
  bool dnssec_ok = false;
  uint8_t edns_version = 0;
  uint8_t opcode = 0;
  // Raw EDNS options (code, length, data ...) for the OPT RDATA.
  std::vector<uint8_t> edns_options;
};

// One EDNS option: {code, length, data} (RFC 6891 6.1.2).
std::vector<uint8_t> EdnsOption(uint16_t code, std::string_view data = {});

// `name` in presentation format, absolute ("www.example.test.").
std::vector<uint8_t> MakeQuery(std::string_view name, uint16_t qtype,
                               const QueryOptions& options = {});

struct Record {
  std::string owner;  // presentation, lowercased
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  std::string rdata;  // wire, names decompressed and lowercased
  std::string ToString() const;  // "owner ttl TYPE <hex or text>"
};

struct Message {
  uint16_t id = 0;
  uint8_t flags1 = 0, flags2 = 0;
  bool qr = false, aa = false, tc = false, rd = false;
  uint8_t rcode = 0;  // header rcode
  uint16_t qdcount = 0;
  std::string qname_wire;  // exactly as in the message (case kept)
  std::string qname;       // presentation, case kept
  uint16_t qtype = 0, qclass = 0;
  std::vector<Record> answer, authority, additional;  // OPT excluded
  bool has_opt = false;
  uint16_t opt_udp_size = 0;
  uint8_t opt_ext_rcode = 0, opt_version = 0;
  bool opt_do = false;
  // The OPT's options in order: {code, data}.
  std::vector<std::pair<uint16_t, std::string>> opt_options;
  size_t size = 0;
};

// Parses a message strictly: every count must match, every pointer must
// point backwards, nothing may trail. Errors: InvalidArgument with what.
absl::StatusOr<Message> ParseMessage(const uint8_t* data, size_t len);

std::string WireToText(std::string_view wire);
std::string TextToWire(std::string_view text);  // absolute names only

}  // namespace popdns::testutil

#endif  // POPDNS_TESTS_TESTUTIL_DNS_MESSAGE_H_
