// The authoritative answer engine: query bytes in, response bytes out, in
// place in the same buffer, from an immutable ZoneSet.
//
// Exact hits, wildcard hits, negative answers and plain referrals are a hash
// probe (or a few, for the closest encloser) plus a copy of a precompiled
// blob; everything else (CNAME chains for uncommon types, DNAME, ANY, DS at
// a cut, truncation) takes the general path, which is also what builds the
// blobs, so both produce the same bytes.
// Per packet on worker lcores: no allocation, locks, Status or logging.
#ifndef POPDNS_DATAPLANE_DNS_ANSWER_H_
#define POPDNS_DATAPLANE_DNS_ANSWER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/dns/cookie.h"
#include "dataplane/dns/message_writer.h"
#include "dataplane/dns/query.h"
#include "dataplane/zone/zone_set.h"

namespace popdns::dns {

enum class Transport : uint8_t { kUdp, kTcp };

// The longest NSID (RFC 5001) popdns sends: with it, the COOKIE and
// edns-tcp-keepalive options and the longest question, an error response
// still fits in 512 octets.
inline constexpr size_t kMaxNsidSize = 128;

struct AnswerConfig {
  // Our EDNS UDP payload size (RFC 6891 6.2.5; 1232 per DNS flag day 2020).
  uint16_t udp_payload = 1232;
  // Off only in tests and benchmarks that compare the precompiled answers
  // with the general path that built them.
  bool use_precompiled = true;
  // Leave NOTIFY, UPDATE, AXFR, IXFR and TSIG-signed messages untouched
  // for the control side (AnswerResult::slow_path). Off where nobody takes
  // them (a kernel-socket server without a SlowPathHandler): they are then
  // answered as dns::LocalVerdict says.
  bool slow_path = true;
  // DNS cookies (RFC 7873, RFC 9018): with secrets, a query's COOKIE option
  // is checked against the client (AnswerJob::client) and the response
  // carries our server cookie; nullptr: COOKIE options are ignored.
  const CookieSecrets* cookies = nullptr;
  // Fill AnswerResult::rrl_name for response rate limiting (rrl.h).
  bool rrl = false;
  // NSID (RFC 5001): the whole option (code 3, length, identifier) that
  // the OPT record of a response gets when the query carries an NSID
  // option; nsid_option_size 0: none. Set with SetNsid at config time, so
  // that the hot path only copies it.
  uint8_t nsid_option[4 + kMaxNsidSize] = {};
  uint16_t nsid_option_size = 0;
  // edns-tcp-keepalive (RFC 7828 3.3.2): TCP responses to queries that
  // carry the option get it with this TIMEOUT, the idle timeout the TCP
  // server applies, in units of 100 ms. Never on UDP (3.3.1). Off unless
  // tcp_keepalive (only the kernel-socket TCP server sets it).
  bool tcp_keepalive = false;
  uint16_t tcp_keepalive_timeout = 0;
  // EDNS Client Subnet (RFC 7871) on: the server has client networks
  // (config `networks:`). A query's ECS option is then checked (FORMERR
  // when malformed, RFC 7871 6) and echoed with the scope of the answer
  // (7.2.1: 0 for an answer that is the same for every client); off, it
  // is ignored.
  bool client_subnet = false;
  // App-aware answers (zone/variant.h): the client networks (ids are
  // `networks:` order), NameIndex::Hash of each network's name by id, and
  // of this PoP's name (`pop:`; 0: none). nullptr: variants of kind
  // kNetwork never apply.
  const zone::NetworkTable* networks = nullptr;
  const uint64_t* network_selectors = nullptr;
  uint64_t pop_selector = 0;
  // GeoIP (`geoip:`): the AS and the country of client addresses, as
  // tables like `networks` whose selectors are the VariantSelectorHash of
  // the AS number and the country code. nullptr: variants of kind kAsn /
  // kCountry never apply.
  const zone::NetworkTable* asns = nullptr;
  const uint64_t* asn_selectors = nullptr;
  const zone::NetworkTable* countries = nullptr;
  const uint64_t* country_selectors = nullptr;
};

// The variant answer of node `n` of `z` for the question type, for the
// client of `q` (its ECS option, else its address), or nullptr: the
// node's own answer applies. A variant whose endpoints are all down in
// `zones` (ZoneSet::LiveMasks) is passed over for the next choice; one
// with some down answers without them. Sets q.ecs_scope (RFC 7871
// 7.2.1) to the part of the client's network the choice holds for.
const zone::Blob* SelectVariant(const zone::ZoneSet& zones,
                                const zone::Zone& z, const zone::Node& n,
                                const AnswerConfig& config, const Query& q);

// Sets config->nsid_option to the NSID option carrying `nsid` (any octets;
// empty: no NSID). False if `nsid` is longer than kMaxNsidSize.
bool SetNsid(AnswerConfig* config, std::string_view nsid);

// What happened, for counters.
enum class Outcome : uint8_t {
  kDropped,
  kFormErr,
  kNotImp,
  kBadVers,
  kRefused,
  kAnswer,      // NOERROR with data
  kNoData,      // NOERROR, empty answer
  kNxDomain,
  kReferral,
  kChaos,
  kSlowPath,  // not answered: the control side's (AnswerResult::slow_path)
  kExpired,   // SERVFAIL: the zone's secondary copy expired
};

struct AnswerResult {
  size_t size = 0;  // response size; 0 when dropped or slow_path
  Outcome outcome = Outcome::kDropped;
  uint8_t rcode = 0;  // header rcode
  bool truncated = false;
  // The message is the control side's (QueryVerdict::kSlowPath): size 0
  // and the buffer untouched, so the caller can hand the query on as
  // received (the DPDK worker to the kernel, the socket threads to their
  // SlowPathHandler).
  bool slow_path = false;
  DropReason drop_reason = DropReason::kNone;
  uint16_t qtype = 0;  // 0 when the question did not parse
  // What rate limiting (rrl.h) needs of a response, set with size:
  CookieState cookie = CookieState::kNone;  // the query's cookie verdict
  uint16_t question_end = 0;  // end of the echoed question (12: none)
  uint16_t opt_at = 0;        // offset of the response's OPT record; 0: none
  // With AnswerConfig::rrl, the name the response is accounted to (a hash,
  // NameIndex::Hash): the question name and type for an answer, the
  // wildcard that synthesized it, the zone for NXDOMAIN and NODATA, the
  // delegation for a referral; 0 for errors.
  uint64_t rrl_name = 0;
};

// Answers the query in buf[0, query_len) by overwriting buf with the
// response, or leaves buf untouched (size 0: dropped, or slow_path).
// `buf_size` must be at least 512 for UDP (the engine never writes more
// than the client's limit) and 65535 for TCP.
// `client`: who asked, for DNS cookies (AnswerConfig::cookies).
[[nodiscard]] AnswerResult Answer(const zone::ZoneSet& zones,
                                  const AnswerConfig& config,
                                  Transport transport, uint8_t* buf,
                                  size_t query_len, size_t buf_size,
                                  const Client& client = {});

// One query of a burst: the buffer holds the query on entry and the
// response on return, exactly as with Answer().
struct AnswerJob {
  uint8_t* buf = nullptr;
  size_t query_len = 0;
  size_t buf_size = 0;
  AnswerResult result;
  Client client;  // who asked (DNS cookies; rate limiting)
  // Responses to this query's RRL key that the XDP program sent in the
  // driver before handing the client to the worker (xdp_dns_rrl_meta):
  // Rrl::ApplyBurst takes them from the bucket before this response.
  uint32_t rrl_charge = 0;
};

// Answers jobs[0, n) with the same bytes as n calls of Answer(), but with
// the lookups of the burst overlapped: the name index slot, the node, its
// name and its precompiled answer of every query are prefetched one stage
// at a time for the whole burst before any query is answered, so that the
// cache misses of different queries (several per query in a zone of a
// million names) are waited for together instead of one after another.
void AnswerBurst(const zone::ZoneSet& zones, const AnswerConfig& config,
                 Transport transport, AnswerJob* jobs, size_t n);

// Knobs of the general path, so that control/zone_builder can compile
// blobs with the same code.
struct GeneralRequest {
  const zone::Zone* zone = nullptr;
  const LowerName* qname = nullptr;
  uint16_t qtype = 0;
  bool dnssec = false;  // DO=1: add signatures and NSEC proofs
};
struct GeneralResult {
  uint8_t rcode = 0;
  bool aa = true;
  bool truncated = false;
  Outcome outcome = Outcome::kAnswer;
  // The delegation of a referral, the wildcard of a synthesized answer
  // (for AnswerResult::rrl_name); empty otherwise.
  std::string_view rrl_name;
};

// Writes the answer, authority and additional sections for `req` through
// `w` (whose question is already registered).
GeneralResult AnswerGeneral(const GeneralRequest& req, MessageWriter& w);

// Writes the authority section of a negative answer for `zone`.
bool PutNegativeAuthority(const zone::Zone& zone, MessageWriter& w,
                          bool dnssec = false);
// Writes a referral to the cut `cut`.
bool PutReferral(const zone::Zone& zone, const zone::Node& cut,
                 MessageWriter& w, bool dnssec = false);

}  // namespace popdns::dns

#endif  // POPDNS_DATAPLANE_DNS_ANSWER_H_
