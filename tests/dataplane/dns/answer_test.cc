// Unit tests of the answer engine (dataplane/dns/answer.h) with hand-built
// queries against tests/testdata/example.test.zone. Each test names the RFC
// section whose behaviour it checks.
#include "dataplane/dns/answer.h"

#include <fstream>
#include <optional>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::dns {
namespace {

using testutil::MakeQuery;
using testutil::Message;
using testutil::QueryOptions;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AnswerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto set = testutil::MakeZoneSet(
        {{"example.test.", ReadFile(POPDNS_TESTDATA "/example.test.zone")},
         {"sub.child.example.test.",
          "@ SOA ns hm 1 1 1 1 60\n@ NS ns\nns A 192.0.2.99\n"}},
        {"pop1.example", ""});
    ASSERT_TRUE(set.ok()) << set.status();
    zones_ = *set;
    // The suite runs twice: with precompiled answers and through the
    // general path alone, which must agree.
    config_.use_precompiled = GetParam();
  }

  Message Ask(const std::vector<uint8_t>& query,
              Transport transport = Transport::kUdp) {
    buf_.assign(65535, 0);
    std::copy(query.begin(), query.end(), buf_.begin());
    last_ = Answer(*zones_, config_, transport, buf_.data(), query.size(),
                   buf_.size());
    ExpectSameInBurst(query, transport);
    EXPECT_GT(last_.size, 0u) << "query was dropped";
    auto m = testutil::ParseMessage(buf_.data(), last_.size);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : Message{};
  }
  Message Ask(std::string_view name, uint16_t qtype,
              const QueryOptions& o = {}) {
    return Ask(MakeQuery(name, qtype, o));
  }

  // AnswerBurst must give the same bytes as Answer for the same query, also
  // between other queries (whose lookups it overlaps with this one's).
  void ExpectSameInBurst(const std::vector<uint8_t>& query,
                         Transport transport) {
    const std::vector<std::vector<uint8_t>> queries = {
        MakeQuery("www.example.test.", rrtype::kA), query,
        MakeQuery("nope.example.test.", rrtype::kAaaa)};
    std::vector<std::vector<uint8_t>> bufs;
    std::vector<AnswerJob> jobs;
    for (const auto& q : queries) {
      bufs.emplace_back(buf_.size(), 0);
      std::copy(q.begin(), q.end(), bufs.back().begin());
    }
    for (size_t i = 0; i < queries.size(); ++i) {
      jobs.push_back(
          {bufs[i].data(), queries[i].size(), bufs[i].size(), {}, {}});
    }
    AnswerBurst(*zones_, config_, transport, jobs.data(), jobs.size());
    const AnswerResult& r = jobs[1].result;
    EXPECT_EQ(r.size, last_.size);
    EXPECT_EQ(r.outcome, last_.outcome);
    EXPECT_EQ(r.rcode, last_.rcode);
    EXPECT_EQ(r.truncated, last_.truncated);
    EXPECT_EQ(r.qtype, last_.qtype);
    EXPECT_EQ(r.slow_path, last_.slow_path);
    EXPECT_TRUE(std::equal(buf_.begin(), buf_.begin() + last_.size,
                           bufs[1].begin()))
        << "AnswerBurst wrote other bytes than Answer";
  }

  // The engine leaves `query` to the control side: slow_path, size 0, and
  // not a byte of the buffer written, alone and in a burst.
  void ExpectSlowPath(const std::vector<uint8_t>& query,
                      Transport transport = Transport::kUdp) {
    std::vector<uint8_t> buf(4096, 0xEE);
    std::copy(query.begin(), query.end(), buf.begin());
    const std::vector<uint8_t> before = buf;
    const AnswerResult r = Answer(*zones_, config_, transport, buf.data(),
                                  query.size(), buf.size());
    EXPECT_TRUE(r.slow_path);
    EXPECT_EQ(r.outcome, Outcome::kSlowPath);
    EXPECT_EQ(r.size, 0u);
    EXPECT_TRUE(buf == before) << "the engine wrote into a slow-path query";
    std::vector<std::vector<uint8_t>> bufs(3, before);
    const std::vector<uint8_t> www = MakeQuery("www.example.test.", rrtype::kA);
    std::copy(www.begin(), www.end(), bufs[0].begin());
    std::copy(www.begin(), www.end(), bufs[2].begin());
    AnswerJob jobs[3] = {{bufs[0].data(), www.size(), 4096, {}, {}},
                         {bufs[1].data(), query.size(), 4096, {}, {}},
                         {bufs[2].data(), www.size(), 4096, {}, {}}};
    AnswerBurst(*zones_, config_, transport, jobs, 3);
    EXPECT_TRUE(jobs[1].result.slow_path);
    EXPECT_EQ(jobs[1].result.outcome, Outcome::kSlowPath);
    EXPECT_EQ(jobs[1].result.size, 0u);
    EXPECT_EQ(jobs[1].result.qtype, r.qtype);
    EXPECT_TRUE(bufs[1] == before) << "AnswerBurst wrote into it";
    EXPECT_GT(jobs[0].result.size, 0u);
    EXPECT_GT(jobs[2].result.size, 0u);
  }

  std::shared_ptr<zone::ZoneSet> zones_;
  AnswerConfig config_;
  std::vector<uint8_t> buf_;
  AnswerResult last_;
};

std::vector<std::string> Owners(const std::vector<testutil::Record>& rrs) {
  std::vector<std::string> out;
  for (const auto& r : rrs) out.push_back(r.owner + "/" + std::to_string(r.type));
  return out;
}

// RFC 1034 4.3.2 step 3a: exact match, AA set, the RRset in the answer.
TEST_P(AnswerTest, ExactHitIsAuthoritative) {
  Message m = Ask("www.example.test.", rrtype::kA);
  EXPECT_TRUE(m.qr);
  EXPECT_TRUE(m.aa);
  EXPECT_FALSE(m.tc);
  EXPECT_EQ(m.rcode, 0);
  EXPECT_EQ(m.id, 0x1234);
  ASSERT_EQ(m.answer.size(), 2u);
  EXPECT_EQ(m.answer[0].owner, "www.example.test.");
  EXPECT_EQ(m.answer[0].ttl, 3600u);
  EXPECT_EQ(m.answer[0].rdata, std::string("\xc0\x00\x02\x03", 4));
  EXPECT_EQ(m.answer[1].rdata, std::string("\xc0\x00\x02\x04", 4));
  EXPECT_TRUE(m.authority.empty());
  EXPECT_EQ(last_.outcome, Outcome::kAnswer);
}

// RFC 1035 4.1.4: the owner is a pointer to the question; with 0x20 mixed
// case (draft-vixie-dnsext-dns0x20) the question is echoed byte for byte.
TEST_P(AnswerTest, QuestionCaseIsEchoed) {
  Message m = Ask("wWw.ExAmPlE.tEsT.", rrtype::kA);
  EXPECT_EQ(m.qname, "wWw.ExAmPlE.tEsT.");
  ASSERT_EQ(m.answer.size(), 2u);
  // 12 header + 18 name + 4 + 2 * (2 pointer + 10 fixed + 4 address).
  EXPECT_EQ(m.size, 12u + 18 + 4 + 2 * 16);
}

// RFC 2308 2.2 and 5: NODATA carries the SOA with TTL min(TTL, MINIMUM).
TEST_P(AnswerTest, NoDataHasSoaWithNegativeTtl) {
  Message m = Ask("www.example.test.", rrtype::kAaaa);
  EXPECT_EQ(m.rcode, 0);
  EXPECT_TRUE(m.aa);
  EXPECT_TRUE(m.answer.empty());
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].owner, "example.test.");
  EXPECT_EQ(m.authority[0].type, rrtype::kSoa);
  EXPECT_EQ(m.authority[0].ttl, 300u);
  EXPECT_EQ(last_.outcome, Outcome::kNoData);
}

// RFC 1034 4.3.2 step 3c, RFC 2308 2.1: NXDOMAIN with the SOA.
TEST_P(AnswerTest, NxDomainHasSoa) {
  Message m = Ask("nope.Example.test.", rrtype::kA);
  EXPECT_EQ(m.rcode, 3);
  EXPECT_TRUE(m.aa);
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].owner, "example.test.");
  EXPECT_EQ(m.authority[0].ttl, 300u);
  EXPECT_EQ(m.qname, "nope.Example.test.");
}

// RFC 1034 4.3.2 step 3a: a CNAME is followed inside the zone.
TEST_P(AnswerTest, CnameIsFollowed) {
  Message m = Ask("alias.example.test.", rrtype::kA);
  EXPECT_EQ(m.rcode, 0);
  EXPECT_TRUE(m.aa);
  EXPECT_EQ(Owners(m.answer),
            (std::vector<std::string>{"alias.example.test./5",
                                      "www.example.test./1",
                                      "www.example.test./1"}));
}

TEST_P(AnswerTest, CnameChainForUncommonType) {
  Message m = Ask("chain1.example.test.", rrtype::kTxt);
  EXPECT_EQ(Owners(m.answer),
            (std::vector<std::string>{"chain1.example.test./5",
                                      "chain2.example.test./5"}));
  ASSERT_EQ(m.authority.size(), 1u);  // NODATA at the end of the chain
  EXPECT_EQ(m.authority[0].type, rrtype::kSoa);
}

// RFC 1034 3.6.2: loops must be detected; each link appears once.
TEST_P(AnswerTest, CnameLoopStops) {
  Message m = Ask("loop1.example.test.", rrtype::kA);
  EXPECT_EQ(Owners(m.answer),
            (std::vector<std::string>{"loop1.example.test./5",
                                      "loop2.example.test./5"}));
}

// RFC 6604 3: the rcode is that of the last name in the chain.
TEST_P(AnswerTest, DanglingCnameIsNxDomain) {
  Message m = Ask("dangling.example.test.", rrtype::kA);
  EXPECT_EQ(m.rcode, 3);
  EXPECT_EQ(m.answer.size(), 1u);
  EXPECT_EQ(m.authority.size(), 1u);
}

TEST_P(AnswerTest, CnameOutOfZoneIsNotFollowed) {
  Message m = Ask("ext.example.test.", rrtype::kA);
  EXPECT_EQ(m.rcode, 0);
  ASSERT_EQ(m.answer.size(), 1u);
  EXPECT_TRUE(m.authority.empty());
}

TEST_P(AnswerTest, CnameQueryReturnsCnameOnly) {
  Message m = Ask("alias.example.test.", rrtype::kCname);
  ASSERT_EQ(m.answer.size(), 1u);
  EXPECT_EQ(m.answer[0].type, rrtype::kCname);
}

// RFC 4592 3.3.1 / 4.1: synthesis from "*.wild" with the query name as owner.
TEST_P(AnswerTest, WildcardSynthesis) {
  Message m = Ask("Foo.Bar.wild.example.test.", rrtype::kA);
  EXPECT_EQ(m.rcode, 0);
  EXPECT_TRUE(m.aa);
  ASSERT_EQ(m.answer.size(), 1u);
  EXPECT_EQ(m.answer[0].owner, "foo.bar.wild.example.test.");
  EXPECT_EQ(m.answer[0].rdata, std::string("\xc0\x00\x02\x05", 4));
  EXPECT_EQ(m.qname, "Foo.Bar.wild.example.test.");
}

// RFC 4592 2.2.1: wildcard NODATA for a type the wildcard does not have.
TEST_P(AnswerTest, WildcardNoData) {
  Message m = Ask("foo.wild.example.test.", rrtype::kAaaa);
  EXPECT_EQ(m.rcode, 0);
  EXPECT_TRUE(m.answer.empty());
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].type, rrtype::kSoa);
}

TEST_P(AnswerTest, WildcardCname) {
  Message m = Ask("x.wildcname.example.test.", rrtype::kA);
  EXPECT_EQ(Owners(m.answer),
            (std::vector<std::string>{"x.wildcname.example.test./5",
                                      "www.example.test./1",
                                      "www.example.test./1"}));
}

// RFC 4592 2.2.2: an empty non-terminal blocks the wildcard above it, and
// is itself NODATA, not NXDOMAIN (RFC 8020 / RFC 4592 2.2.2).
TEST_P(AnswerTest, EmptyNonTerminalBlocksWildcard) {
  Message m = Ask("x.sub.deep.example.test.", rrtype::kA);
  EXPECT_EQ(m.rcode, 3);
  Message ent = Ask("sub.deep.example.test.", rrtype::kA);
  EXPECT_EQ(ent.rcode, 0);
  EXPECT_TRUE(ent.answer.empty());
  Message wild = Ask("other.deep.example.test.", rrtype::kA);
  EXPECT_EQ(wild.answer.size(), 1u);
}

// RFC 4592 3.3.1: no synthesis for a name that exists.
TEST_P(AnswerTest, NoWildcardForExistingName) {
  Message m = Ask("deep.example.test.", rrtype::kA);
  EXPECT_EQ(m.rcode, 0);
  EXPECT_TRUE(m.answer.empty());
}

// RFC 1034 4.3.2 step 3b: referral, AA clear, NS in authority, glue.
TEST_P(AnswerTest, ReferralAtAndBelowCut) {
  for (const char* name : {"child.example.test.", "a.b.Child.example.test."}) {
    Message m = Ask(name, rrtype::kA);
    EXPECT_EQ(m.rcode, 0) << name;
    EXPECT_FALSE(m.aa) << name;
    EXPECT_TRUE(m.answer.empty()) << name;
    ASSERT_EQ(m.authority.size(), 2u) << name;
    EXPECT_EQ(m.authority[0].owner, "child.example.test.");
    EXPECT_EQ(m.authority[0].type, rrtype::kNs);
    EXPECT_EQ(Owners(m.additional),
              (std::vector<std::string>{"ns.child.example.test./1",
                                        "ns.child.example.test./28",
                                        "ns1.example.test./1",
                                        "ns1.example.test./28"}))
        << name;
    EXPECT_EQ(last_.outcome, Outcome::kReferral);
  }
  // NS at the cut is the child's data: a referral too (RFC 1034 4.3.2).
  Message ns = Ask("child.example.test.", rrtype::kNs);
  EXPECT_FALSE(ns.aa);
  EXPECT_EQ(ns.authority.size(), 2u);
}

// RFC 4035 3.1.4.1: DS at the cut is answered from the parent, AA set;
// below the cut it is a referral.
TEST_P(AnswerTest, DsAtCutFromParent) {
  Message m = Ask("child.example.test.", rrtype::kDs);
  EXPECT_TRUE(m.aa);
  ASSERT_EQ(m.answer.size(), 1u);
  EXPECT_EQ(m.answer[0].type, rrtype::kDs);
  Message below = Ask("x.child.example.test.", rrtype::kDs);
  EXPECT_FALSE(below.aa);
  EXPECT_EQ(below.authority.size(), 2u);
}

// RFC 4035 3.1.4.1: DS at the apex of a served child zone comes from the
// served parent (here: NODATA below the parent's cut is a referral).
TEST_P(AnswerTest, DsAtChildApexUsesParentZone) {
  Message m = Ask("sub.child.example.test.", rrtype::kDs);
  EXPECT_FALSE(m.aa);
  ASSERT_EQ(m.authority.size(), 2u);
  EXPECT_EQ(m.authority[0].owner, "child.example.test.");
  Message a = Ask("sub.child.example.test.", rrtype::kNs);
  EXPECT_TRUE(a.aa);
  EXPECT_EQ(a.answer.size(), 1u);
}

// RFC 6672 3.1/3.2: DNAME plus a synthesized CNAME with the DNAME's TTL,
// whose target is built from the lowercased query name.
TEST_P(AnswerTest, DnameSynthesis) {
  Message m = Ask("Other.dn.example.test.", rrtype::kA);
  EXPECT_EQ(m.rcode, 0);
  EXPECT_TRUE(m.aa);
  ASSERT_EQ(m.answer.size(), 2u);
  EXPECT_EQ(m.answer[0].type, rrtype::kDname);
  EXPECT_EQ(m.answer[0].owner, "dn.example.test.");
  EXPECT_EQ(m.answer[1].type, rrtype::kCname);
  EXPECT_EQ(m.answer[1].owner, "other.dn.example.test.");
  EXPECT_EQ(m.answer[1].ttl, m.answer[0].ttl);
  EXPECT_EQ(m.answer[1].rdata, testutil::TextToWire("other.target.test."));
}

// RFC 6672 2.3 calls data below a DNAME occluded; like Knot, an exact
// match for such a name is still answered from its own data.
TEST_P(AnswerTest, OccludedNameBelowDnameAnswersExactly) {
  Message m = Ask("below.dn.example.test.", rrtype::kA);
  ASSERT_EQ(m.answer.size(), 1u);
  EXPECT_EQ(m.answer[0].type, rrtype::kA);
}

TEST_P(AnswerTest, DnameOwnerItselfIsNotRedirected) {
  Message m = Ask("dn.example.test.", rrtype::kDname);
  ASSERT_EQ(m.answer.size(), 1u);
  EXPECT_EQ(m.answer[0].type, rrtype::kDname);
  Message a = Ask("dn.example.test.", rrtype::kA);
  EXPECT_TRUE(a.answer.empty());
}

// RFC 6672 2.2: substitution into the same zone is followed.
TEST_P(AnswerTest, DnameIntoSameZoneIsFollowed) {
  Message m = Ask("www.dnin.example.test.", rrtype::kA);
  EXPECT_EQ(Owners(m.answer),
            (std::vector<std::string>{"dnin.example.test./39",
                                      "www.dnin.example.test./5",
                                      "www.example.test./1",
                                      "www.example.test./1"}));
}

// RFC 6672 3.1: for a query of type CNAME below a DNAME the synthesized
// CNAME is the answer: DNAME and CNAME, NOERROR, nothing in the authority
// section, whether the target exists, does not, or is out of the zone
// (Knot and NSD answer the same; conformance cases dname/qtype/*).
TEST_P(AnswerTest, CnameQueryBelowDnameEndsWithSynthesizedCname) {
  for (const char* name : {"www.dnin.example.test.", "nope.dnin.example.test.",
                           "other.dn.example.test."}) {
    SCOPED_TRACE(name);
    for (bool edns : {false, true}) {
      QueryOptions o;
      o.edns = edns;
      Message m = Ask(name, rrtype::kCname, o);
      EXPECT_EQ(m.rcode, 0);
      EXPECT_TRUE(m.aa);
      ASSERT_EQ(m.answer.size(), 2u);
      EXPECT_EQ(m.answer[0].type, rrtype::kDname);
      EXPECT_EQ(m.answer[1].type, rrtype::kCname);
      EXPECT_EQ(m.answer[1].owner, name);
      EXPECT_TRUE(m.authority.empty());
      EXPECT_EQ(last_.outcome, Outcome::kAnswer);
    }
  }
  // Other types still follow the synthesized CNAME (RFC 6672 3.2 and
  // RFC 1034 4.3.2 step 3a): DNAME and ANY at the target, as Knot does.
  Message d = Ask("www.dnin.example.test.", rrtype::kDname);
  EXPECT_EQ(Owners(d.answer),
            (std::vector<std::string>{"dnin.example.test./39",
                                      "www.dnin.example.test./5"}));
  ASSERT_EQ(d.authority.size(), 1u);  // NODATA at www.example.test.
  EXPECT_EQ(d.authority[0].type, rrtype::kSoa);
  Message any = Ask("www.dnin.example.test.", rrtype::kAny);
  EXPECT_EQ(Owners(any.answer),
            (std::vector<std::string>{"dnin.example.test./39",
                                      "www.dnin.example.test./5",
                                      "www.example.test./1",
                                      "www.example.test./1"}));
  Message nx = Ask("nope.dnin.example.test.", rrtype::kAny);
  EXPECT_EQ(nx.rcode, 3);  // RFC 6604 3: the chain's end decides
}

// RFC 1034 4.3.2 step 2 leaves it to the server; RFC 8906 3.1.4.1:
// REFUSED for names outside every served zone.
TEST_P(AnswerTest, OutsideAllZonesIsRefused) {
  Message m = Ask("www.example.org.", rrtype::kA);
  EXPECT_EQ(m.rcode, 5);
  EXPECT_FALSE(m.aa);
  EXPECT_EQ(m.qname, "www.example.org.");
}

// RFC 1035 3.3.9, 3.3.11 and RFC 2782: addresses of in-zone targets go to
// the additional section.
TEST_P(AnswerTest, AdditionalForMxNsSrv) {
  Message mx = Ask("example.test.", rrtype::kMx);
  EXPECT_EQ(Owners(mx.additional),
            (std::vector<std::string>{"mail.example.test./1"}));
  Message ns = Ask("example.test.", rrtype::kNs);
  EXPECT_TRUE(ns.aa);
  EXPECT_EQ(Owners(ns.additional),
            (std::vector<std::string>{"ns1.example.test./1",
                                      "ns1.example.test./28"}));
  Message srv = Ask("_sip._tcp.example.test.", rrtype::kSrv);
  EXPECT_EQ(Owners(srv.additional),
            (std::vector<std::string>{"www.example.test./1",
                                      "www.example.test./1"}));
}

// RFC 2181 9, RFC 6891 7: an answer that does not fit sets TC and carries
// no partial RRset.
TEST_P(AnswerTest, TruncationWithoutEdns) {
  Message m = Ask("big.example.test.", rrtype::kTxt);
  EXPECT_TRUE(m.tc);
  EXPECT_TRUE(m.answer.empty());
  EXPECT_LE(m.size, 512u);
  EXPECT_TRUE(last_.truncated);
}

TEST_P(AnswerTest, EdnsLargerLimitFits) {
  QueryOptions o;
  o.edns = true;
  o.udp_size = 4096;
  Message m = Ask("big.example.test.", rrtype::kTxt, o);
  EXPECT_FALSE(m.tc);
  EXPECT_EQ(m.answer.size(), 6u);
  EXPECT_TRUE(m.has_opt);
  EXPECT_EQ(m.opt_udp_size, 1232);  // ours (RFC 6891 6.2.5)
}

// RFC 6891 6.2.5: a client size below 512 is treated as 512.
TEST_P(AnswerTest, TinyEdnsSizeMeans512) {
  QueryOptions o;
  o.edns = true;
  o.udp_size = 100;
  Message m = Ask("www.example.test.", rrtype::kA, o);
  EXPECT_FALSE(m.tc);
  EXPECT_EQ(m.answer.size(), 2u);
}

TEST_P(AnswerTest, TcpHasNoUdpLimit) {
  Message m = Ask(MakeQuery("big.example.test.", rrtype::kTxt), Transport::kTcp);
  EXPECT_FALSE(m.tc);
  EXPECT_EQ(m.answer.size(), 6u);
}

// RFC 3225 3: DO is copied into the response's OPT.
TEST_P(AnswerTest, DoBitIsEchoed) {
  QueryOptions o;
  o.edns = true;
  o.dnssec_ok = true;
  Message m = Ask("www.example.test.", rrtype::kA, o);
  EXPECT_TRUE(m.has_opt);
  EXPECT_TRUE(m.opt_do);
  o.dnssec_ok = false;
  EXPECT_FALSE(Ask("www.example.test.", rrtype::kA, o).opt_do);
}

// RFC 6891 6.1.3: EDNS version 1 gets BADVERS (extended rcode 16).
TEST_P(AnswerTest, BadVers) {
  QueryOptions o;
  o.edns = true;
  o.edns_version = 1;
  Message m = Ask("www.example.test.", rrtype::kA, o);
  EXPECT_EQ(m.rcode, 0);
  ASSERT_TRUE(m.has_opt);
  EXPECT_EQ(m.opt_ext_rcode, 1);
  EXPECT_EQ(m.opt_version, 0);
  EXPECT_TRUE(m.answer.empty());
}

// RFC 8482 4.1: ANY gets one RRset (like Knot: the lowest type), over UDP
// and TCP alike.
TEST_P(AnswerTest, AnyQuery) {
  Message udp = Ask("www.example.test.", rrtype::kAny);
  EXPECT_EQ(udp.answer.size(), 2u);  // the A RRset
  EXPECT_FALSE(udp.tc);
  Message tcp = Ask(MakeQuery("big.example.test.", rrtype::kAny), Transport::kTcp);
  ASSERT_EQ(tcp.answer.size(), 1u);  // A (1) before TXT (16)
  EXPECT_EQ(tcp.answer[0].type, rrtype::kA);
  Message apex = Ask("example.test.", rrtype::kAny);
  ASSERT_FALSE(apex.answer.empty());
  EXPECT_EQ(apex.answer[0].type, rrtype::kNs);
  EXPECT_EQ(apex.additional.size(), 2u);  // ns1 A and AAAA
}

// RFC 8914 4.21: REFUSED outside our zones carries EDE 20 when EDNS is on.
TEST_P(AnswerTest, RefusedCarriesExtendedError) {
  QueryOptions o;
  o.edns = true;
  Message m = Ask("www.example.org.", rrtype::kA, o);
  EXPECT_EQ(m.rcode, 5);
  EXPECT_TRUE(m.has_opt);
  const uint8_t* opt = buf_.data() + last_.size - 6;
  EXPECT_EQ(opt[0] << 8 | opt[1], 15);
  EXPECT_EQ(opt[4] << 8 | opt[5], 20);
}

// The data of option `code` in the response's OPT, or nullopt.
std::optional<std::string> OptionOf(const Message& m, uint16_t code) {
  for (const auto& [c, data] : m.opt_options) {
    if (c == code) return data;
  }
  return std::nullopt;
}

QueryOptions EdnsWith(std::initializer_list<std::vector<uint8_t>> options,
                      uint16_t udp_size = 1232) {
  QueryOptions o;
  o.edns = true;
  o.udp_size = udp_size;
  for (const auto& opt : options) {
    o.edns_options.insert(o.edns_options.end(), opt.begin(), opt.end());
  }
  return o;
}

// RFC 5001 2.2: a server with an NSID answers a query that carries an
// (empty) NSID option with its identifier, over UDP and TCP, on answers,
// negative answers and errors alike; RFC 5001 2.1 / RFC 6891 6.1.2: never
// unasked, never without EDNS, and not at all without a configured NSID.
TEST_P(AnswerTest, NsidOnlyWhenAsked) {
  const std::vector<uint8_t> nsid = testutil::EdnsOption(kOptionNsid);
  // Asked, but no NSID configured.
  EXPECT_FALSE(OptionOf(Ask("www.example.test.", rrtype::kA, EdnsWith({nsid})),
                        kOptionNsid));
  ASSERT_TRUE(SetNsid(&config_, "pop1.ams"));
  for (Transport t : {Transport::kUdp, Transport::kTcp}) {
    SCOPED_TRACE(t == Transport::kUdp ? "udp" : "tcp");
    for (const char* name : {"www.example.test.", "nope.example.test.",
                             "a.child.example.test.", "www.example.org."}) {
      SCOPED_TRACE(name);
      Message m = Ask(MakeQuery(name, rrtype::kA, EdnsWith({nsid})), t);
      EXPECT_EQ(OptionOf(m, kOptionNsid), "pop1.ams");
      Message unasked =
          Ask(MakeQuery(name, rrtype::kA, EdnsWith({})), t);
      EXPECT_TRUE(unasked.opt_options.empty() ||
                  !OptionOf(unasked, kOptionNsid));
    }
  }
  // REFUSED keeps its EDE 20 next to the NSID.
  Message refused = Ask("www.example.org.", rrtype::kA, EdnsWith({nsid}));
  EXPECT_EQ(OptionOf(refused, 15), std::string("\0\x14", 2));
  // Any NSID option asks, also one with data (as Knot and BIND answer).
  EXPECT_EQ(OptionOf(Ask("www.example.test.", rrtype::kA,
                         EdnsWith({testutil::EdnsOption(kOptionNsid, "x")})),
                     kOptionNsid),
            "pop1.ams");
  // Without EDNS there is no OPT to put it in.
  EXPECT_FALSE(Ask("www.example.test.", rrtype::kA).has_opt);
  // Hex-configured octets go out as they are.
  ASSERT_TRUE(SetNsid(&config_, std::string("\x00\xff", 2)));
  EXPECT_EQ(OptionOf(Ask("www.example.test.", rrtype::kA, EdnsWith({nsid})),
                     kOptionNsid),
            std::string("\x00\xff", 2));
  // An empty NSID turns it off.
  ASSERT_TRUE(SetNsid(&config_, ""));
  EXPECT_FALSE(OptionOf(Ask("www.example.test.", rrtype::kA, EdnsWith({nsid})),
                        kOptionNsid));
}

// RFC 6891 6.2.3/7: the NSID counts against the client's UDP limit: with
// the longest NSID a 512-octet client still gets at most 512 octets (TC
// if the answer no longer fits), and errors with every option fit too.
TEST_P(AnswerTest, LongestNsidKeepsToTheLimit) {
  EXPECT_FALSE(SetNsid(&config_, std::string(kMaxNsidSize + 1, 'n')));
  ASSERT_TRUE(SetNsid(&config_, std::string(kMaxNsidSize, 'n')));
  const std::vector<uint8_t> nsid = testutil::EdnsOption(kOptionNsid);
  Message m = Ask("big.example.test.", rrtype::kTxt, EdnsWith({nsid}, 512));
  EXPECT_LE(last_.size, 512u);
  EXPECT_EQ(OptionOf(m, kOptionNsid), std::string(kMaxNsidSize, 'n'));
  EXPECT_TRUE(m.tc);
  Message www = Ask("www.example.test.", rrtype::kA, EdnsWith({nsid}, 512));
  EXPECT_FALSE(www.tc);
  EXPECT_EQ(www.answer.size(), 2u);
  EXPECT_EQ(OptionOf(www, kOptionNsid), std::string(kMaxNsidSize, 'n'));
  // The longest question, REFUSED, with EDE, NSID and keepalive over TCP.
  config_.tcp_keepalive = true;
  std::string name;
  for (int i = 0; i < 4; ++i) name += std::string(i < 3 ? 63 : 61, 'a') + ".";
  Message e = Ask(MakeQuery(name, rrtype::kA,
                            EdnsWith({nsid, testutil::EdnsOption(
                                                kOptionKeepalive)})),
                  Transport::kTcp);
  EXPECT_EQ(e.rcode, 5);
  EXPECT_TRUE(OptionOf(e, kOptionNsid));
  EXPECT_TRUE(OptionOf(e, kOptionKeepalive));
  EXPECT_LE(last_.size, 512u);
}

std::vector<uint8_t> Ecs(std::string data) {
  return testutil::EdnsOption(kEdnsClientSubnet, data);
}

// RFC 7871 with client networks on (config `networks:`): a well-formed ECS
// option comes back with the query's family, source prefix and address
// and scope 0 for answers that are the same for every client (7.2.1), on
// hits, negative answers and referrals, over UDP and TCP; never without
// the option in the query (7.2.1) or when ECS is off (7.1.3: ignored).
TEST_P(AnswerTest, ClientSubnetEchoedWithScopeZero) {
  const std::string v4("\x00\x01\x18\x00\xc6\x33\x64", 7);  // 198.51.100/24
  EXPECT_FALSE(OptionOf(Ask("www.example.test.", rrtype::kA,
                            EdnsWith({Ecs(v4)})),
                        kEdnsClientSubnet));
  config_.client_subnet = true;
  for (Transport t : {Transport::kUdp, Transport::kTcp}) {
    SCOPED_TRACE(t == Transport::kUdp ? "udp" : "tcp");
    for (const char* name : {"www.example.test.", "nope.example.test.",
                             "a.child.example.test."}) {
      SCOPED_TRACE(name);
      Message m = Ask(MakeQuery(name, rrtype::kA, EdnsWith({Ecs(v4)})), t);
      EXPECT_EQ(OptionOf(m, kEdnsClientSubnet),
                std::string("\x00\x01\x18\x00\xc6\x33\x64", 7));
      Message none = Ask(MakeQuery(name, rrtype::kA, EdnsWith({})), t);
      EXPECT_FALSE(OptionOf(none, kEdnsClientSubnet));
    }
  }
  // IPv6 /56 and a source prefix of 0 (7.1.2), with no address octets.
  const std::string v6("\x00\x02\x38\x00\x20\x01\x0d\xb8\x00\x01\x02", 11);
  EXPECT_EQ(OptionOf(Ask("www.example.test.", rrtype::kA, EdnsWith({Ecs(v6)})),
                     kEdnsClientSubnet),
            v6);
  const std::string zero("\x00\x01\x00\x00", 4);
  EXPECT_EQ(OptionOf(Ask("www.example.test.", rrtype::kA, EdnsWith({Ecs(zero)})),
                     kEdnsClientSubnet),
            zero);
  // Next to NSID.
  ASSERT_TRUE(SetNsid(&config_, "pop1"));
  Message both = Ask("www.example.test.", rrtype::kA,
                     EdnsWith({testutil::EdnsOption(kOptionNsid), Ecs(v4)}));
  EXPECT_EQ(OptionOf(both, kOptionNsid), "pop1");
  EXPECT_EQ(OptionOf(both, kEdnsClientSubnet), v4);
  EXPECT_EQ(both.answer.size(), 2u);
}

// RFC 7871 6: a server "SHOULD return FORMERR" for an ECS option with too
// few or too many ADDRESS octets or bits set past SOURCE PREFIX-LENGTH; so
// for an unknown family, and (7.1.1) a non-zero SCOPE in a query. Only
// with ECS on: a server without it ignores the option.
TEST_P(AnswerTest, MalformedClientSubnetIsFormErr) {
  const std::vector<std::string> bad = {
      std::string("\x00\x01\x18\x00\xc6\x33", 6),          // an octet short
      std::string("\x00\x01\x18\x00\xc6\x33\x64\x00", 8),  // one too many
      std::string("\x00\x01\x17\x00\xc6\x33\x65", 7),      // bit past /23
      std::string("\x00\x03\x18\x00\xc6\x33\x64", 7),      // family 3
      std::string("\x00\x01\x18\x10\xc6\x33\x64", 7),      // scope 16
      std::string("\x00\x01\x21\x00\x01\x02\x03\x04\x05", 9),  // /33
  };
  for (const std::string& ecs : bad) {
    config_.client_subnet = false;
    EXPECT_EQ(Ask("www.example.test.", rrtype::kA, EdnsWith({Ecs(ecs)})).rcode,
              0);
    config_.client_subnet = true;
    Message m = Ask("www.example.test.", rrtype::kA, EdnsWith({Ecs(ecs)}));
    EXPECT_EQ(m.rcode, 1);  // FORMERR
    EXPECT_FALSE(OptionOf(m, kEdnsClientSubnet));
  }
}

// RFC 7828 3.3.2: a TCP response to a query carrying edns-tcp-keepalive
// gets it with the server's idle timeout in units of 100 ms; 3.3.1: over
// UDP the option is ignored, so no response carries it; not unasked, and
// not where no TCP server set it (the DPDK/XDP workers).
TEST_P(AnswerTest, TcpKeepaliveOnlyOverTcpWhenAsked) {
  const std::vector<uint8_t> ka = testutil::EdnsOption(kOptionKeepalive);
  const auto query = MakeQuery("www.example.test.", rrtype::kA, EdnsWith({ka}));
  EXPECT_FALSE(OptionOf(Ask(query, Transport::kTcp), kOptionKeepalive));
  config_.tcp_keepalive = true;
  config_.tcp_keepalive_timeout = 100;  // 10 s
  EXPECT_EQ(OptionOf(Ask(query, Transport::kTcp), kOptionKeepalive),
            std::string("\0\x64", 2));
  EXPECT_FALSE(OptionOf(Ask(query, Transport::kUdp), kOptionKeepalive));
  EXPECT_FALSE(OptionOf(Ask(MakeQuery("www.example.test.", rrtype::kA,
                                      EdnsWith({})),
                            Transport::kTcp),
                        kOptionKeepalive));
  // A client's TIMEOUT (RFC 7828 3.2.1 says it sends none) still asks.
  EXPECT_EQ(OptionOf(Ask(MakeQuery("www.example.test.", rrtype::kA,
                                   EdnsWith({testutil::EdnsOption(
                                       kOptionKeepalive,
                                       std::string("\0\x05", 2))})),
                         Transport::kTcp),
                     kOptionKeepalive),
            std::string("\0\x64", 2));
  // With NSID: both, and on an NXDOMAIN too.
  ASSERT_TRUE(SetNsid(&config_, "p"));
  Message both = Ask(MakeQuery("nope.example.test.", rrtype::kA,
                               EdnsWith({ka, testutil::EdnsOption(
                                                 kOptionNsid)})),
                     Transport::kTcp);
  EXPECT_EQ(both.rcode, 3);
  EXPECT_EQ(OptionOf(both, kOptionKeepalive), std::string("\0\x64", 2));
  EXPECT_EQ(OptionOf(both, kOptionNsid), "p");
}

// RFC 7830 4: "Responders MUST pad DNS responses when the respective DNS
// query included the 'Padding' option, unless doing so would violate the
// maximum UDP payload size"; RFC 8467 4.1: to a multiple of 468 octets.
// Only when asked; the rest of the response is the unpadded one.
TEST_P(AnswerTest, PaddedOnlyWhenAsked) {
  const auto padding = testutil::EdnsOption(kOptionPadding, std::string(64, '\0'));
  for (Transport t : {Transport::kUdp, Transport::kTcp}) {
    Message plain = Ask(MakeQuery("www.example.test.", rrtype::kA, EdnsWith({})), t);
    EXPECT_FALSE(OptionOf(plain, kOptionPadding));
    const size_t plain_size = last_.size;
    Message m = Ask(MakeQuery("www.example.test.", rrtype::kA,
                              EdnsWith({padding})), t);
    EXPECT_EQ(last_.size, kPaddingBlock);
    const auto pad = OptionOf(m, kOptionPadding);
    ASSERT_TRUE(pad);
    EXPECT_EQ(*pad, std::string(kPaddingBlock - plain_size - 4, '\0'));
    EXPECT_EQ(m.answer.size(), plain.answer.size());
    // With NSID too (the padding counts it).
    ASSERT_TRUE(SetNsid(&config_, "pop1"));
    Ask(MakeQuery("www.example.test.", rrtype::kA,
                  EdnsWith({padding, testutil::EdnsOption(kOptionNsid)})), t);
    EXPECT_EQ(last_.size, kPaddingBlock);
    config_.nsid_option_size = 0;
  }
  // A 512-octet UDP limit: padded up to it, not past it.
  QueryOptions small = EdnsWith({padding});
  small.udp_size = 512;
  Message big = Ask(MakeQuery("big.example.test.", rrtype::kTxt, small));
  EXPECT_LE(last_.size, 512u);
  EXPECT_TRUE(last_.size % kPaddingBlock == 0 || last_.size == 512) << last_.size;
  (void)big;
  // Over TCP a large answer is padded to the next block.
  Ask(MakeQuery("big.example.test.", rrtype::kTxt, EdnsWith({padding})),
      Transport::kTcp);
  EXPECT_EQ(last_.size % kPaddingBlock, 0u);
}

// RFC 1035 3.3.13: a secondary copy past its expiry is answered SERVFAIL;
// RFC 8914 4.25: with EDNS it carries EDE 24 "Invalid Data" (what NSD and
// Knot send for it); without EDNS there is no OPT to carry it.
TEST(AnswerExpiredTest, ExpiredZoneIsServFailWithInvalidData) {
  auto zone = testutil::MakeZone(
      {"example.test.", ReadFile(POPDNS_TESTDATA "/example.test.zone")});
  auto other = testutil::MakeZone(
      {"other.test.", "@ SOA ns hm 1 1 1 1 60\n@ NS ns\nns A 192.0.2.1\n"});
  ASSERT_TRUE(zone.ok() && other.ok());
  zone::ZoneSet set;
  set.AddExpired(*zone);
  set.Add(*other);
  for (bool precompiled : {true, false}) {
    AnswerConfig config;
    config.use_precompiled = precompiled;
    ASSERT_TRUE(SetNsid(&config, "p"));
    for (Transport t : {Transport::kUdp, Transport::kTcp}) {
      auto ask = [&](std::string_view name, const QueryOptions& o) {
        std::vector<uint8_t> buf(65535);
        const std::vector<uint8_t> q = MakeQuery(name, rrtype::kA, o);
        std::copy(q.begin(), q.end(), buf.begin());
        const AnswerResult r =
            Answer(set, config, t, buf.data(), q.size(), buf.size());
        AnswerJob job{buf.data(), q.size(), buf.size(), {}, {}};
        std::vector<uint8_t> copy(65535);
        std::copy(q.begin(), q.end(), copy.begin());
        job.buf = copy.data();
        AnswerBurst(set, config, t, &job, 1);
        EXPECT_EQ(job.result.size, r.size);
        EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + r.size,
                               copy.begin()));
        EXPECT_EQ(r.outcome, Outcome::kExpired);
        auto m = testutil::ParseMessage(buf.data(), r.size);
        EXPECT_TRUE(m.ok()) << m.status();
        return m.ok() ? *m : Message{};
      };
      QueryOptions edns = EdnsWith({testutil::EdnsOption(kOptionNsid)});
      for (const char* name : {"www.example.test.", "nope.example.test.",
                               "example.test."}) {
        Message m = ask(name, edns);
        EXPECT_EQ(m.rcode, 2);
        EXPECT_FALSE(m.aa);
        EXPECT_TRUE(m.answer.empty() && m.authority.empty());
        EXPECT_EQ(OptionOf(m, 15), std::string("\0\x18", 2)) << name;
        EXPECT_EQ(OptionOf(m, kOptionNsid), "p");
        Message plain = ask(name, {});
        EXPECT_EQ(plain.rcode, 2);
        EXPECT_FALSE(plain.has_opt);
      }
    }
  }
}

// Messages for the control side (control/server/slow_path.h), built by
// hand: a TSIG RR (RFC 8945 4.2) owned by "key." with an all-zero MAC, and
// an IXFR query's SOA in the authority section (RFC 1995 3).
std::vector<uint8_t> TsigRecord() {
  std::vector<uint8_t> rr = {3, 'k', 'e', 'y', 0, 0, 250, 0, 255, 0, 0, 0, 0};
  const std::string alg = testutil::TextToWire("hmac-sha256.");
  std::vector<uint8_t> rdata(alg.begin(), alg.end());
  const uint8_t fixed[] = {0, 0, 0x65, 0x00, 0x00, 0x00,  // time signed
                           1, 44,                         // fudge 300
                           0, 32};                        // MAC size
  rdata.insert(rdata.end(), fixed, fixed + sizeof(fixed));
  rdata.insert(rdata.end(), 32, 0);                      // MAC
  const uint8_t tail[] = {0x12, 0x34, 0, 0, 0, 0};       // id, error, other
  rdata.insert(rdata.end(), tail, tail + sizeof(tail));
  rr.push_back(static_cast<uint8_t>(rdata.size() >> 8));
  rr.push_back(static_cast<uint8_t>(rdata.size()));
  rr.insert(rr.end(), rdata.begin(), rdata.end());
  return rr;
}

// `q` with `rr` appended to its additional section.
std::vector<uint8_t> WithAdditional(std::vector<uint8_t> q,
                                    const std::vector<uint8_t>& rr) {
  q.insert(q.end(), rr.begin(), rr.end());
  ++q[11];
  return q;
}

// `q` without its question (QDCOUNT 0).
std::vector<uint8_t> WithoutQuestion(const std::vector<uint8_t>& q,
                                     std::string_view name) {
  std::vector<uint8_t> out(q.begin(), q.begin() + 12);
  out[5] = 0;
  const size_t question = testutil::TextToWire(name).size() + 4;
  out.insert(out.end(), q.begin() + 12 + question, q.end());
  return out;
}

std::vector<uint8_t> IxfrQuery(const QueryOptions& o = {}) {
  std::vector<uint8_t> q = MakeQuery("example.test.", rrtype::kIxfr, o);
  const uint8_t soa[] = {0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22,
                         0, 0,                    // MNAME, RNAME: root
                         0x78, 0xA3, 0x0A, 0x55,  // serial 2024010101
                         0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  // The SOA goes before the OPT, if any: authority precedes additional.
  q.insert(q.begin() + 12 + 14 + 4, soa, soa + sizeof(soa));
  q[9] = 1;  // NSCOUNT
  return q;
}

// RFC 1996 (NOTIFY) and RFC 2136 (UPDATE) are the control side's: it knows
// the primaries and the update policy. With a question or without one
// (malformed, RFC 1996 3.7 / RFC 2136 3.1.1, but the control side answers
// it), with EDNS or not, over UDP and TCP.
TEST_P(AnswerTest, NotifyAndUpdateAreSlowPath) {
  for (uint8_t opcode : {4, 5}) {
    for (bool edns : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "opcode " << int{opcode} << " edns "
                                      << edns);
      QueryOptions o;
      o.opcode = opcode;
      o.edns = edns;
      const std::vector<uint8_t> q =
          MakeQuery("example.test.", rrtype::kSoa, o);
      ExpectSlowPath(q);
      ExpectSlowPath(q, Transport::kTcp);
      ExpectSlowPath(WithoutQuestion(q, "example.test."));
    }
  }
  // A NOTIFY for a name we do not serve is still the control side's
  // (it answers NOTAUTH or REFUSED, RFC 1996 3.10).
  QueryOptions o;
  o.opcode = 4;
  ExpectSlowPath(MakeQuery("example.org.", rrtype::kSoa, o));
}

// Zone transfers are the control side's on any transport: AXFR over TCP
// (RFC 5936 4.2; over UDP it refuses it itself), IXFR over UDP or TCP
// (RFC 1995 2, 3: with the client's SOA in the authority section).
TEST_P(AnswerTest, ZoneTransfersAreSlowPath) {
  for (Transport t : {Transport::kUdp, Transport::kTcp}) {
    for (bool edns : {false, true}) {
      QueryOptions o;
      o.edns = edns;
      ExpectSlowPath(MakeQuery("example.test.", rrtype::kAxfr, o), t);
      ExpectSlowPath(MakeQuery("example.test.", rrtype::kIxfr, o), t);
      ExpectSlowPath(IxfrQuery(o), t);
    }
  }
  // Outside our zones and in another class too: the transfer policy says.
  ExpectSlowPath(MakeQuery("example.org.", rrtype::kAxfr));
  QueryOptions ch;
  ch.qclass = 3;
  ExpectSlowPath(MakeQuery("example.test.", rrtype::kAxfr, ch));
}

// RFC 8945 5: a signed request gets a signed answer or a signed error
// (5.2, 5.3), which only the control side, holding the keys, can give:
// whatever the message, if its additional section ends with a TSIG.
TEST_P(AnswerTest, TsigSignedMessagesAreSlowPath) {
  const std::vector<uint8_t> tsig = TsigRecord();
  // Only a TSIG.
  ExpectSlowPath(
      WithAdditional(MakeQuery("www.example.test.", rrtype::kA), tsig));
  // OPT, then TSIG (RFC 8945 5.1: TSIG is last).
  QueryOptions edns;
  edns.edns = true;
  const std::vector<uint8_t> signed_edns =
      WithAdditional(MakeQuery("www.example.test.", rrtype::kA, edns), tsig);
  ExpectSlowPath(signed_edns);
  ExpectSlowPath(signed_edns, Transport::kTcp);
  // Outside our zones, EDNS version 1, another opcode, no question.
  ExpectSlowPath(
      WithAdditional(MakeQuery("www.example.org.", rrtype::kA), tsig));
  QueryOptions v1 = edns;
  v1.edns_version = 1;
  ExpectSlowPath(
      WithAdditional(MakeQuery("www.example.test.", rrtype::kA, v1), tsig));
  QueryOptions status;
  status.opcode = 2;
  ExpectSlowPath(
      WithAdditional(MakeQuery("www.example.test.", rrtype::kA, status), tsig));
  ExpectSlowPath(WithAdditional(
      WithoutQuestion(MakeQuery("www.example.test.", rrtype::kA),
                      "www.example.test."),
      tsig));
  // A signed NOTIFY and a signed AXFR, as primaries and secondaries send
  // them.
  QueryOptions notify;
  notify.opcode = 4;
  ExpectSlowPath(
      WithAdditional(MakeQuery("example.test.", rrtype::kSoa, notify), tsig));
  ExpectSlowPath(
      WithAdditional(MakeQuery("example.test.", rrtype::kAxfr), tsig),
      Transport::kTcp);
}

// RFC 8945 5.1: a TSIG anywhere but last in the additional section is
// FORMERR; so is any malformed message, whatever its opcode or type.
TEST_P(AnswerTest, MisplacedTsigAndMalformedStayFormErr) {
  const std::vector<uint8_t> tsig = TsigRecord();
  QueryOptions edns;
  edns.edns = true;
  // TSIG, then OPT.
  std::vector<uint8_t> q = MakeQuery("www.example.test.", rrtype::kA);
  std::vector<uint8_t> opt(11, 0);
  opt[2] = 41;
  q = WithAdditional(WithAdditional(q, tsig), opt);
  EXPECT_EQ(Ask(q).rcode, 1);
  EXPECT_FALSE(last_.slow_path);
  // TSIG in the answer section.
  q = MakeQuery("www.example.test.", rrtype::kA);
  q.insert(q.end(), tsig.begin(), tsig.end());
  q[7] = 1;
  EXPECT_EQ(Ask(q).rcode, 1);
  // Two TSIGs.
  q = WithAdditional(
      WithAdditional(MakeQuery("www.example.test.", rrtype::kA), tsig), tsig);
  EXPECT_EQ(Ask(q).rcode, 1);
  // A NOTIFY and an AXFR with trailing bytes, a truncated TSIG.
  QueryOptions notify;
  notify.opcode = 4;
  q = MakeQuery("example.test.", rrtype::kSoa, notify);
  q.push_back(0);
  EXPECT_EQ(Ask(q).rcode, 1);
  q = MakeQuery("example.test.", rrtype::kAxfr);
  q.push_back(0);
  EXPECT_EQ(Ask(q).rcode, 1);
  q = WithAdditional(MakeQuery("www.example.test.", rrtype::kA), tsig);
  q.pop_back();
  EXPECT_EQ(Ask(q).rcode, 1);
  // A NOTIFY with two questions.
  q = MakeQuery("example.test.", rrtype::kSoa, notify);
  q[5] = 2;
  EXPECT_EQ(Ask(q).rcode, 1);
}

// With nobody to hand them to (AnswerConfig::slow_path off: the kernel
// sockets without a SlowPathHandler), popdns answers them as it did before
// it had a control side for them: NOTIFY and UPDATE from nobody we know
// (RFC 1996, RFC 2136) and IXFR NOTAUTH, AXFR NOTIMP (RFC 5936 4.2), and a
// TSIG-signed query as if it were unsigned.
TEST_P(AnswerTest, WithoutSlowPathAnsweredLocally) {
  config_.slow_path = false;
  QueryOptions o;
  o.opcode = 4;
  EXPECT_EQ(Ask("example.test.", rrtype::kSoa, o).rcode, 9);
  EXPECT_FALSE(last_.slow_path);
  EXPECT_EQ(Ask(WithoutQuestion(MakeQuery("example.test.", rrtype::kSoa, o),
                                "example.test."))
                .rcode,
            9);
  o.opcode = 5;
  EXPECT_EQ(Ask("example.test.", rrtype::kSoa, o).rcode, 9);
  Message axfr = Ask("example.test.", rrtype::kAxfr);
  EXPECT_EQ(axfr.rcode, 4);
  EXPECT_EQ(axfr.qtype, rrtype::kAxfr);
  EXPECT_EQ(Ask(MakeQuery("example.test.", rrtype::kAxfr), Transport::kTcp)
                .rcode,
            4);
  EXPECT_EQ(Ask("example.test.", rrtype::kIxfr).rcode, 9);
  EXPECT_EQ(Ask(IxfrQuery()).rcode, 9);
  QueryOptions edns;
  edns.edns = true;
  Message m = Ask(WithAdditional(
      MakeQuery("www.example.test.", rrtype::kA, edns), TsigRecord()));
  EXPECT_EQ(m.rcode, 0);
  EXPECT_EQ(m.answer.size(), 2u);
  EXPECT_TRUE(m.has_opt);
  EXPECT_TRUE(m.additional.empty());  // no TSIG: nobody signed it
  QueryOptions status;
  status.opcode = 2;
  EXPECT_EQ(Ask(WithAdditional(MakeQuery("www.example.test.", rrtype::kA,
                                         status),
                               TsigRecord()))
                .rcode,
            4);
  EXPECT_EQ(Ask(WithAdditional(
                    WithoutQuestion(MakeQuery("www.example.test.", rrtype::kA),
                                    "www.example.test."),
                    TsigRecord()))
                .rcode,
            1);
}

// RFC 1035 3.2.5: class ANY is answered from the IN data.
TEST_P(AnswerTest, ClassAnyIsAnsweredLikeIn) {
  QueryOptions o;
  o.qclass = 255;
  Message m = Ask("www.example.test.", rrtype::kA, o);
  EXPECT_EQ(m.rcode, 0);
  EXPECT_EQ(m.answer.size(), 2u);
  EXPECT_EQ(m.qclass, 255);
  o.qclass = 4;  // HS
  EXPECT_EQ(Ask("www.example.test.", rrtype::kA, o).rcode, 5);
}

// RFC 1034 3.6.2 leaves the chain length to the server; like Knot we write
// at most 5 CNAMEs.
TEST_P(AnswerTest, LongCnameChainStopsAfterFive) {
  auto set = testutil::MakeZoneSet(
      {{"c.test.", "@ SOA ns hm 1 1 1 1 60\n@ NS ns\nns A 192.0.2.1\n"
                   "c1 CNAME c2\nc2 CNAME c3\nc3 CNAME c4\nc4 CNAME c5\n"
                   "c5 CNAME c6\nc6 CNAME c7\nc7 A 192.0.2.7\n"}});
  ASSERT_TRUE(set.ok()) << set.status();
  zones_ = *set;
  Message m = Ask("c1.c.test.", rrtype::kA);
  EXPECT_EQ(m.answer.size(), 5u);
  EXPECT_EQ(m.rcode, 0);
}

// RFC 1035 4.1.1 / RFC 9619: exactly one question.
TEST_P(AnswerTest, QdcountNotOneIsFormErr) {
  std::vector<uint8_t> q = MakeQuery("www.example.test.", rrtype::kA);
  q[5] = 0;
  Message m = Ask(q);
  EXPECT_EQ(m.rcode, 1);
  EXPECT_EQ(m.qdcount, 0);
  q[5] = 2;
  EXPECT_EQ(Ask(q).rcode, 1);
}

// RFC 1035 2.3.4 and 4.1.4: bad labels, long names and pointers in the
// question are FORMERR.
TEST_P(AnswerTest, BadQuestionNamesAreFormErr) {
  std::vector<uint8_t> q = MakeQuery("www.example.test.", rrtype::kA);
  q[12] = 64;  // label length > 63
  EXPECT_EQ(Ask(q).rcode, 1);
  q = MakeQuery("www.example.test.", rrtype::kA);
  q[16] = 0xC0;  // pointer instead of "example"
  q[17] = 12;
  EXPECT_EQ(Ask(q).rcode, 1);
  std::string longname;
  for (int i = 0; i < 5; ++i) longname += std::string(60, 'a') + ".";
  EXPECT_EQ(Ask(MakeQuery(longname, rrtype::kA)).rcode, 1);
}

// RFC 6891 6.1.1: one OPT, owned by root.
TEST_P(AnswerTest, BadOptIsFormErr) {
  QueryOptions o;
  o.edns = true;
  std::vector<uint8_t> q = MakeQuery("www.example.test.", rrtype::kA, o);
  std::vector<uint8_t> two = q;
  two.insert(two.end(), q.end() - 11, q.end());
  two[11] = 2;
  Message m = Ask(two);
  EXPECT_EQ(m.rcode, 1);
  EXPECT_FALSE(m.has_opt);
  std::vector<uint8_t> owner(q.begin(), q.end() - 11);
  const uint8_t opt_a[] = {1, 'a', 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0};
  owner.insert(owner.end(), opt_a, opt_a + sizeof(opt_a));
  EXPECT_EQ(Ask(owner).rcode, 1);
}

TEST_P(AnswerTest, TrailingGarbageIsFormErr) {
  std::vector<uint8_t> q = MakeQuery("www.example.test.", rrtype::kA);
  q.push_back(0);
  EXPECT_EQ(Ask(q).rcode, 1);
}

// RFC 1035 4.1.1: opcodes we do not implement get NOTIMP, with or
// without a question.
TEST_P(AnswerTest, OtherOpcodesAreNotImp) {
  for (uint8_t opcode : {1, 2, 3, 6, 15}) {  // IQUERY, STATUS, ..., DSO
    QueryOptions o;
    o.opcode = opcode;
    Message m = Ask("www.example.test.", rrtype::kA, o);
    EXPECT_EQ(m.rcode, 4) << int{opcode};
    EXPECT_EQ((m.flags1 >> 3) & 0xF, opcode);
    EXPECT_FALSE(last_.slow_path);
    EXPECT_EQ(Ask(WithoutQuestion(MakeQuery("www.example.test.", rrtype::kA, o),
                                  "www.example.test."))
                  .rcode,
              4);
  }
}

TEST_P(AnswerTest, ShortAndResponsePacketsAreDropped) {
  std::vector<uint8_t> buf(600, 0);
  AnswerResult r = Answer(*zones_, config_, Transport::kUdp, buf.data(), 11,
                          buf.size());
  EXPECT_EQ(r.size, 0u);
  EXPECT_EQ(r.drop_reason, DropReason::kShort);
  std::vector<uint8_t> q = MakeQuery("www.example.test.", rrtype::kA);
  q[2] |= 0x80;
  std::copy(q.begin(), q.end(), buf.begin());
  r = Answer(*zones_, config_, Transport::kUdp, buf.data(), q.size(),
             buf.size());
  EXPECT_EQ(r.size, 0u);
  EXPECT_EQ(r.drop_reason, DropReason::kResponse);
}

// RFC 4892 2: CHAOS TXT id.server from configuration; unset strings are
// REFUSED.
TEST_P(AnswerTest, ChaosIdentity) {
  QueryOptions o;
  o.qclass = 3;
  Message m = Ask("id.server.", rrtype::kTxt, o);
  EXPECT_EQ(m.rcode, 0);
  ASSERT_EQ(m.answer.size(), 1u);
  EXPECT_EQ(m.answer[0].rclass, 3);
  EXPECT_EQ(m.answer[0].rdata, std::string("\x0cpop1.example"));
  EXPECT_EQ(Ask("version.bind.", rrtype::kTxt, o).rcode, 5);
}

TEST_P(AnswerTest, RdFlagIsCopied) {
  QueryOptions o;
  o.rd = true;
  Message m = Ask("www.example.test.", rrtype::kA, o);
  EXPECT_TRUE(m.rd);
  EXPECT_EQ(m.flags2 & 0x80, 0);  // RA clear: not a resolver
}

// RFC 4035 3.1: with DO=1 a signed zone's answers carry the signatures of
// each RRset (3.1.1) and NSEC denial (3.1.3); with DO=0 they do not.
TEST_P(AnswerTest, DnssecOkAddsSignaturesAndDenial) {
  auto set = testutil::MakeZoneSet({{"s.test.", R"(
$ORIGIN s.test.
$TTL 3600
@ SOA ns hm 1 1 1 1 300
@ RRSIG SOA 13 2 3600 20261225000000 20261125000000 1 s.test. AAAA
@ NS ns
@ RRSIG NS 13 2 3600 20261225000000 20261125000000 1 s.test. AAAA
@ NSEC ns NS SOA RRSIG NSEC
@ RRSIG NSEC 13 2 300 20261225000000 20261125000000 1 s.test. AAAA
ns A 192.0.2.1
ns RRSIG A 13 3 3600 20261225000000 20261125000000 1 s.test. AAAA
ns NSEC www A RRSIG NSEC
ns RRSIG NSEC 13 3 300 20261225000000 20261125000000 1 s.test. AAAA
www A 192.0.2.2
www RRSIG A 13 3 3600 20261225000000 20261125000000 1 s.test. AAAA
www NSEC s.test. A RRSIG NSEC
www RRSIG NSEC 13 3 300 20261225000000 20261125000000 1 s.test. AAAA
)"}});
  ASSERT_TRUE(set.ok()) << set.status();
  zones_ = *set;
  QueryOptions o;
  o.edns = true;
  o.dnssec_ok = true;
  Message m = Ask("www.s.test.", rrtype::kA, o);
  EXPECT_EQ(Owners(m.answer), (std::vector<std::string>{"www.s.test./1",
                                                        "www.s.test./46"}));
  // NXDOMAIN: SOA + signature, the NSEC covering the name (www -> apex,
  // the chain wraps) and the one covering the wildcard *.s.test (apex).
  Message nx = Ask("zzz.s.test.", rrtype::kA, o);
  EXPECT_EQ(nx.rcode, 3);
  EXPECT_EQ(Owners(nx.authority),
            (std::vector<std::string>{"s.test./6", "s.test./46",
                                      "www.s.test./47", "www.s.test./46",
                                      "s.test./47", "s.test./46"}));
  // "nope" sorts between the apex and "ns" (RFC 4034 6.1), as does the
  // wildcard: one NSEC proves both.
  Message nope = Ask("nope.s.test.", rrtype::kA, o);
  EXPECT_EQ(Owners(nope.authority),
            (std::vector<std::string>{"s.test./6", "s.test./46",
                                      "s.test./47", "s.test./46"}));
  EXPECT_EQ(nx.authority[1].ttl, 300u);  // negative TTL for the SOA's RRSIG
  // NODATA: the NSEC at the name shows the type is absent.
  Message nodata = Ask("www.s.test.", rrtype::kAaaa, o);
  EXPECT_EQ(Owners(nodata.authority),
            (std::vector<std::string>{"s.test./6", "s.test./46",
                                      "www.s.test./47", "www.s.test./46"}));
  o.dnssec_ok = false;
  EXPECT_EQ(Ask("www.s.test.", rrtype::kA, o).answer.size(), 1u);
  EXPECT_EQ(Ask("nope.s.test.", rrtype::kA, o).authority.size(), 1u);
}

// RFC 4035 2.5 / RFC 2181 10.1.1: NSEC and RRSIG live beside a CNAME and,
// asked for by type, are the answer itself (Knot and BIND do the same);
// other types still follow the CNAME.
TEST_P(AnswerTest, NsecAndRrsigBesideCnameAreAnswered) {
  auto set = testutil::MakeZoneSet({{"c.test.", R"(
$ORIGIN c.test.
$TTL 3600
@ SOA ns hm 1 1 1 1 300
@ RRSIG SOA 13 2 3600 20261225000000 20261125000000 1 c.test. AAAA
@ NS ns
@ NSEC alias NS SOA RRSIG NSEC
alias CNAME www
alias RRSIG CNAME 13 3 3600 20261225000000 20261125000000 1 c.test. AAAA
alias NSEC ns CNAME RRSIG NSEC
alias RRSIG NSEC 13 3 300 20261225000000 20261125000000 1 c.test. AAAA
ns A 192.0.2.1
ns NSEC www A NSEC
www A 192.0.2.2
www NSEC c.test. A NSEC
)"}});
  ASSERT_TRUE(set.ok()) << set.status();
  zones_ = *set;
  QueryOptions o;
  o.edns = true;
  Message nsec = Ask("alias.c.test.", rrtype::kNsec, o);
  EXPECT_EQ(Owners(nsec.answer),
            (std::vector<std::string>{"alias.c.test./47"}));
  // Signatures are grouped by the type they cover; an RRSIG query gets
  // one group, as from knotd (xfr_test's knot_signed_* cases compare).
  Message sigs = Ask("alias.c.test.", rrtype::kRrsig, o);
  EXPECT_EQ(Owners(sigs.answer),
            (std::vector<std::string>{"alias.c.test./46"}));
  Message a = Ask("alias.c.test.", rrtype::kA, o);
  EXPECT_EQ(Owners(a.answer), (std::vector<std::string>{"alias.c.test./5",
                                                        "www.c.test./1"}));
}

// RFC 5155 7.2.8: a name that owns only an NSEC3 (and its signatures) is
// answered as if it did not exist: NXDOMAIN, for every type, NSEC3
// included, and for names below it.
TEST_P(AnswerTest, Nsec3OwnerNamesDoNotExist) {
  auto set = testutil::MakeZoneSet({{"h.test.", R"(
$ORIGIN h.test.
$TTL 3600
@ SOA ns hm 1 1 1 1 300
@ NS ns
@ NSEC3PARAM 1 0 0 -
ns A 192.0.2.1
0123456789abcdefghijklmnopqrstuv NSEC3 1 0 0 - 0123456789abcdefghijklmnopqrstuv A RRSIG
0123456789abcdefghijklmnopqrstuv RRSIG NSEC3 13 3 300 20261225000000 20261125000000 1 h.test. AAAA
)"}});
  ASSERT_TRUE(set.ok()) << set.status();
  zones_ = *set;
  QueryOptions o;
  o.edns = true;
  for (uint16_t type : {rrtype::kA, rrtype::kNsec3, rrtype::kRrsig}) {
    Message m = Ask("0123456789abcdefghijklmnopqrstuv.h.test.", type, o);
    EXPECT_EQ(m.rcode, 3) << type;
    EXPECT_TRUE(m.answer.empty()) << type;
  }
  EXPECT_EQ(Ask("x.0123456789abcdefghijklmnopqrstuv.h.test.", rrtype::kA, o)
                .rcode,
            3);
  EXPECT_EQ(Ask("ns.h.test.", rrtype::kA, o).answer.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(PrecompiledAndGeneral, AnswerTest, ::testing::Bool());

std::string Describe(const Message& m) {
  std::string out = std::to_string(m.flags1) + "/" + std::to_string(m.flags2);
  for (const auto* sec : {&m.answer, &m.authority, &m.additional}) {
    out += "|";
    for (const auto& r : *sec) out += r.ToString() + ";";
  }
  return out;
}

// The precompiled path must produce the very bytes of the general path.
// A burst longer than the engine's chunk (32) of every kind of query, each
// answered as Answer answers it alone.
TEST_P(AnswerTest, LongBurstMatchesSingleAnswers) {
  const std::vector<std::pair<std::string, uint16_t>> asks = {
      {"www.example.test.", rrtype::kA},      {"nope.example.test.", rrtype::kA},
      {"foo.wild.example.test.", rrtype::kA}, {"alias.example.test.", rrtype::kA},
      {"a.child.example.test.", rrtype::kA},  {"example.test.", rrtype::kMx},
      {"www.example.org.", rrtype::kA},       {"example.test.", rrtype::kAny},
      {"www.example.test.", rrtype::kTxt},    {"sub.child.example.test.", rrtype::kDs}};
  std::vector<std::vector<uint8_t>> single, burst;
  std::vector<AnswerJob> jobs;
  for (size_t i = 0; i < 45; ++i) {
    QueryOptions o;
    o.id = static_cast<uint16_t>(i);
    o.edns = i % 3 != 0;
    const auto& [name, type] = asks[i % asks.size()];
    const std::vector<uint8_t> q = MakeQuery(name, type, o);
    single.emplace_back(4096, 0);
    std::copy(q.begin(), q.end(), single.back().begin());
    burst.push_back(single.back());
    const AnswerResult r = Answer(*zones_, config_, Transport::kUdp,
                                  single.back().data(), q.size(), 4096);
    single.back().resize(r.size);
    jobs.push_back({nullptr, q.size(), 4096, {}, {}});
  }
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i].buf = burst[i].data();
  AnswerBurst(*zones_, config_, Transport::kUdp, jobs.data(), jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    ASSERT_GT(jobs[i].result.size, 0u);
    burst[i].resize(jobs[i].result.size);
    EXPECT_EQ(burst[i], single[i]) << "query " << i;
  }
}

TEST(AnswerConsistencyTest, BlobsMatchGeneralPath) {
  auto set = testutil::MakeZoneSet(
      {{"example.test.", ReadFile(POPDNS_TESTDATA "/example.test.zone")}});
  ASSERT_TRUE(set.ok()) << set.status();
  const char* names[] = {"www", "WWW", "alias", "chain1", "nope", "a.b.wild",
                         "x.wildcname", "x.sub.deep", "child", "a.child",
                         "ns.child", "big", "_sip._tcp", "", "mail", "deep",
                         "dn", "dnin", "www.dnin", "x.dn", "below.dn"};
  const uint16_t types[] = {1, 2, 5, 6, 15, 16, 28, 33, 39, 43, 99, 255};
  AnswerConfig fast, general;
  general.use_precompiled = false;
  for (const char* n : names) {
    for (uint16_t t : types) {
      std::string name = std::string(n) + (*n ? "." : "") + "example.test.";
      for (bool edns : {false, true}) {
        QueryOptions o;
        o.edns = edns;
        std::vector<uint8_t> q = MakeQuery(name, t, o);
        std::vector<uint8_t> a(1500), b(1500);
        std::copy(q.begin(), q.end(), a.begin());
        std::copy(q.begin(), q.end(), b.begin());
        AnswerResult ra = Answer(**set, fast, Transport::kUdp, a.data(),
                                 q.size(), a.size());
        AnswerResult rb = Answer(**set, general, Transport::kUdp, b.data(),
                                 q.size(), b.size());
        if (ra.outcome == Outcome::kReferral) {
          // A referral blob is compiled for the cut, so a query for a glue
          // name itself cannot point its NS target at the question: same
          // records, up to a few bytes longer.
          auto ma = testutil::ParseMessage(a.data(), ra.size);
          auto mb = testutil::ParseMessage(b.data(), rb.size);
          ASSERT_TRUE(ma.ok() && mb.ok()) << name;
          EXPECT_EQ(Describe(*ma), Describe(*mb)) << name << " " << t;
          continue;
        }
        ASSERT_EQ(ra.size, rb.size) << name << " " << t;
        EXPECT_TRUE(std::equal(a.begin(), a.begin() + ra.size, b.begin()))
            << name << " " << t;
      }
    }
  }
}

}  // namespace
}  // namespace popdns::dns
