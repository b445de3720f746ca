// DNS wire format: named offsets and tiny accessors for the message header
// (RFC 1035 4.1.1), record types, classes and rcodes.
// Per packet on worker lcores: no allocation, locks, Status or logging.
#ifndef POPDNS_DATAPLANE_DNS_WIRE_H_
#define POPDNS_DATAPLANE_DNS_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace popdns::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameSize = 255;  // RFC 1035 2.3.4
inline constexpr size_t kMaxLabelSize = 63;
inline constexpr size_t kMaxLabels = 128;
inline constexpr size_t kMinUdpPayload = 512;  // RFC 1035 4.2.1
inline constexpr size_t kMaxMessageSize = 65535;
inline constexpr uint16_t kQuestionPointer = 0xC000 | kHeaderSize;

// Header field offsets.
inline constexpr size_t kOffId = 0;
inline constexpr size_t kOffFlags1 = 2;
inline constexpr size_t kOffFlags2 = 3;
inline constexpr size_t kOffQdCount = 4;
inline constexpr size_t kOffAnCount = 6;
inline constexpr size_t kOffNsCount = 8;
inline constexpr size_t kOffArCount = 10;

// Flags byte 1: QR | Opcode(4) | AA | TC | RD.
inline constexpr uint8_t kFlagQr = 0x80;
inline constexpr uint8_t kFlagAa = 0x04;
inline constexpr uint8_t kFlagTc = 0x02;
inline constexpr uint8_t kFlagRd = 0x01;
// Flags byte 2: RA | Z | AD | CD | Rcode(4).
inline constexpr uint8_t kFlagRa = 0x80;
inline constexpr uint8_t kFlagZ = 0x40;
inline constexpr uint8_t kFlagAd = 0x20;
inline constexpr uint8_t kFlagCd = 0x10;

enum class Opcode : uint8_t { kQuery = 0, kIquery = 1, kStatus = 2, kNotify = 4, kUpdate = 5 };

// Header rcodes (the low 4 bits); BADVERS lives in the OPT extended rcode.
enum class Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kYxDomain = 6,  // RFC 2136 2.2
  kYxRrset = 7,
  kNxRrset = 8,
  kNotAuth = 9,
  kNotZone = 10,
};
inline constexpr uint16_t kRcodeBadVers = 16;  // RFC 6891 6.1.3
inline constexpr size_t kNumRcodes = 17;

// EDNS option codes (RFC 6891 6.1.2; IANA "DNS EDNS0 Option Codes").
inline constexpr uint16_t kOptionNsid = 3;        // RFC 5001 2.3
inline constexpr uint16_t kOptionKeepalive = 11;  // RFC 7828 3.1
inline constexpr uint16_t kOptionPadding = 12;    // RFC 7830 3
inline constexpr size_t kOptionHeaderSize = 4;    // code, length
// RFC 8467 4.1: responses padded to a multiple of this many octets.
inline constexpr size_t kPaddingBlock = 468;
inline constexpr size_t kKeepaliveOptionSize = 6;  // code, length, TIMEOUT

namespace rrtype {
inline constexpr uint16_t kA = 1;
inline constexpr uint16_t kNs = 2;
inline constexpr uint16_t kCname = 5;
inline constexpr uint16_t kSoa = 6;
inline constexpr uint16_t kPtr = 12;
inline constexpr uint16_t kHinfo = 13;
inline constexpr uint16_t kMx = 15;
inline constexpr uint16_t kTxt = 16;
inline constexpr uint16_t kAaaa = 28;
inline constexpr uint16_t kSrv = 33;
inline constexpr uint16_t kNaptr = 35;
inline constexpr uint16_t kDname = 39;
inline constexpr uint16_t kOpt = 41;
inline constexpr uint16_t kDs = 43;
inline constexpr uint16_t kSshfp = 44;
inline constexpr uint16_t kRrsig = 46;
inline constexpr uint16_t kNsec = 47;
inline constexpr uint16_t kDnskey = 48;
inline constexpr uint16_t kNsec3 = 50;
inline constexpr uint16_t kNsec3Param = 51;
inline constexpr uint16_t kTlsa = 52;
inline constexpr uint16_t kSvcb = 64;
inline constexpr uint16_t kHttps = 65;
inline constexpr uint16_t kTsig = 250;
inline constexpr uint16_t kIxfr = 251;
inline constexpr uint16_t kAxfr = 252;
inline constexpr uint16_t kMailb = 253;
inline constexpr uint16_t kMaila = 254;
inline constexpr uint16_t kAny = 255;
inline constexpr uint16_t kCaa = 257;
// popdns's app-aware answers (issue 16), a private-use type (RFC 6895
// 3.1): zone/variant.h.
inline constexpr uint16_t kVariant = 65350;
}  // namespace rrtype

namespace rrclass {
inline constexpr uint16_t kIn = 1;
inline constexpr uint16_t kCh = 3;
inline constexpr uint16_t kNone = 254;
inline constexpr uint16_t kAny = 255;
}  // namespace rrclass

inline uint16_t Load16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t Load32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

inline Opcode GetOpcode(const uint8_t* msg) {
  return static_cast<Opcode>((msg[kOffFlags1] >> 3) & 0x0F);
}
inline uint16_t GetQdCount(const uint8_t* msg) { return Load16(msg + kOffQdCount); }
inline uint16_t GetAnCount(const uint8_t* msg) { return Load16(msg + kOffAnCount); }
inline uint16_t GetNsCount(const uint8_t* msg) { return Load16(msg + kOffNsCount); }
inline uint16_t GetArCount(const uint8_t* msg) { return Load16(msg + kOffArCount); }
inline void SetCounts(uint8_t* msg, uint16_t qd, uint16_t an, uint16_t ns,
                      uint16_t ar) {
  Store16(msg + kOffQdCount, qd);
  Store16(msg + kOffAnCount, an);
  Store16(msg + kOffNsCount, ns);
  Store16(msg + kOffArCount, ar);
}

// ASCII-only lowercase: DNS names compare case-insensitively on ASCII letters
// only (RFC 4343 3).
inline uint8_t LowerAscii(uint8_t c) {
  return static_cast<uint8_t>(
      c + ((static_cast<unsigned>(c - 'A') < 26u) ? 32 : 0));
}

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_WIRE_H_
