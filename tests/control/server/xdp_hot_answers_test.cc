// The control side of answers inside the XDP program
// (control/server/xdp_hot_answers.h), without BPF: what an entry holds,
// which questions never get one, and how the set follows new zone
// versions, samples and the program's hit counts. tests/bpf/xdp_dns_test
// runs the entries through the program itself.
#include "control/server/xdp_hot_answers.h"

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/dns/wire.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/zone_fixture.h"

namespace popdns::control {
namespace {

const std::string kWww("\x03www\x07" "example\x04test\x00", 18);
const std::string kMail("\x04mail\x07" "example\x04test\x00", 19);
const std::string kApp("\x03" "app\x03geo\x04test\x00", 14);

std::string Zone(const std::string& www_address, int serial = 1) {
  return "$ORIGIN example.test.\n@ SOA ns hm " + std::to_string(serial) +
         " 1 1 1 60\n@ NS ns\nns A 192.0.2.1\nwww A " + www_address +
         "\nmail A 192.0.2.25\nmail MX 10 mail\n";
}

std::shared_ptr<const zone::ZoneSet> Set(const std::string& www_address,
                                         int serial = 1) {
  auto set = testutil::MakeZoneSet(
      {{"example.test.", Zone(www_address, serial)},
       {"geo.test.",
        "@ SOA ns hm 1 1 1 1 60\n@ NS ns\nns A 192.0.2.1\n"
        "app 30 VARIANT pop:fra1 A 203.0.113.5\napp A 192.0.2.80\n"
        "alias CNAME app\n"}});
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : nullptr;
}

// A map in memory in place of the BPF one.
struct FakeMap {
  std::map<std::string, xdp_dns_hot_answer> entries;
  int puts = 0;
  int removes = 0;
  int hit_reads = 0;
  int failing_puts = 0;  // the next this many puts fail
  static std::string Key(const xdp_dns_hot_key& k) {
    return std::string(reinterpret_cast<const char*>(&k), sizeof(k));
  }
  HotAnswers::Sink Sink() {
    return {[this](const xdp_dns_hot_key& k, const xdp_dns_hot_answer& a) {
              if (failing_puts > 0) {
                --failing_puts;
                return absl::ResourceExhaustedError("map full");
              }
              entries[Key(k)] = a;
              ++puts;
              return absl::OkStatus();
            },
            [this](const xdp_dns_hot_key& k) {
              entries.erase(Key(k));
              ++removes;
              return absl::OkStatus();
            },
            [this](const xdp_dns_hot_key& k) -> absl::StatusOr<uint32_t> {
              ++hit_reads;
              auto it = entries.find(Key(k));
              if (it == entries.end()) return absl::NotFoundError("no");
              return it->second.hits;
            }};
  }
  const xdp_dns_hot_answer* Find(const HotQuestion& q) {
    auto it = entries.find(Key(HotKey(q)));
    return it == entries.end() ? nullptr : &it->second;
  }
};

void ObserveTimes(HotAnswers& hot, const HotQuestion& q, int times) {
  for (int i = 0; i < times; ++i) hot.Observe(q);
}

// A hot set of `entries` chosen by the workers' samples (one in 10).
HotAnswers::Options Sampled(size_t entries) {
  HotAnswers::Options o;
  o.entries = entries;
  o.sample_every = 10;
  return o;
}

// The engine's own response to {`name`, A} without EDNS, in `q` (the
// question takes its first `qlen` bytes).
struct EngineResponse {
  std::vector<uint8_t> q;
  size_t qlen = 0;
  size_t size = 0;
};
EngineResponse EngineA(const zone::ZoneSet& zones,
                       const dns::AnswerConfig& config,
                       const std::string& name, const std::string& wire) {
  EngineResponse e;
  e.q = testutil::MakeQuery(name, 1);
  e.q.resize(512);
  e.qlen = 12 + wire.size() + 4;
  e.size = dns::Answer(zones, config, dns::Transport::kUdp, e.q.data(),
                       e.qlen, 512)
               .size;
  return e;
}

// Whether entry `a` holds exactly the bytes after the question of `e`.
void ExpectSameAnswer(const xdp_dns_hot_answer& a, const EngineResponse& e) {
  ASSERT_GT(e.size, e.qlen);
  ASSERT_EQ(a.len, e.size - e.qlen);
  EXPECT_EQ(std::memcmp(a.bytes, e.q.data() + e.qlen, a.len), 0);
}

TEST(CompileHotAnswer, HoldsTheEnginesResponseAfterTheQuestion) {
  auto zones = Set("192.0.2.3");
  dns::AnswerConfig config;
  auto a = CompileHotAnswer(*zones, config, {kWww, 1});
  ASSERT_TRUE(a.ok()) << a.status();
  const EngineResponse e = EngineA(*zones, config, "www.example.test.", kWww);
  ExpectSameAnswer(*a, e);
  const std::vector<uint8_t>& q = e.q;
  const size_t qlen = e.qlen;
  EXPECT_EQ(a->header_flags1, q[2] & ~dns::kFlagRd);
  EXPECT_EQ(a->an, 1);
  EXPECT_EQ(a->flags, XDP_DNS_HOT_PLAIN | XDP_DNS_HOT_EDNS);
  EXPECT_EQ(a->udp_payload, 1232);
  // The checksum share of the bytes at their offsets (RFC 1071).
  uint32_t sum = 0;
  for (size_t i = 0; i < a->len; ++i) {
    sum += ((qlen + i) & 1) ? a->bytes[i] : uint32_t{a->bytes[i]} << 8;
  }
  EXPECT_EQ(a->sum, sum);
}

TEST(CompileHotAnswer, WhatNeverGetsAnEntry) {
  auto zones = Set("192.0.2.3");
  dns::AnswerConfig config;
  // Answers chosen per client (VARIANT records).
  EXPECT_EQ(CompileHotAnswer(*zones, config, {kApp, 1}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Not ours.
  const std::string other("\x03www\x05other\x00", 11);
  EXPECT_EQ(CompileHotAnswer(*zones, config, {other, 1}).status().code(),
            absl::StatusCode::kNotFound);
  // Longer than a key holds.
  std::string longname;
  for (int i = 0; i < 3; ++i) longname += std::string(1, 30) + std::string(30, 'a');
  longname += kWww;
  EXPECT_EQ(CompileHotAnswer(*zones, config, {longname, 1}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // NXDOMAIN is an answer like any other.
  const std::string nx("\x04nope\x07" "example\x04test\x00", 19);
  auto a = CompileHotAnswer(*zones, config, {nx, 1});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->header_flags2 & 0x0F, 3);
}

// Only the name with VARIANT records stays out: the engine chooses among
// them for a question on that name only (dns::AnswerParsed), so the rest
// of its zone, a CNAME to it included, is answered the same for every
// client.
TEST(CompileHotAnswer, OnlyTheNameWithVariantsStaysOut) {
  auto zones = Set("192.0.2.3");
  dns::AnswerConfig config;
  config.pop_selector = zone::NameIndex::Hash("fra1");
  for (uint16_t qtype : {1, 28, 16}) {
    EXPECT_EQ(CompileHotAnswer(*zones, config, {kApp, qtype}).status().code(),
              absl::StatusCode::kFailedPrecondition)
        << qtype;
  }
  // Questions are lowercased before they are keys (the program does the
  // same); one that is not never finds its zone.
  const std::string upper("\x03" "APP\x03" "Geo\x04test\x00", 14);
  EXPECT_FALSE(CompileHotAnswer(*zones, config, {upper, 1}).ok());
  const std::string ns("\x02ns\x03geo\x04test\x00", 13);
  EXPECT_TRUE(CompileHotAnswer(*zones, config, {ns, 1}).ok());
  const std::string alias("\x05" "alias\x03geo\x04test\x00", 16);
  auto a = CompileHotAnswer(*zones, config, {alias, 1});
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectSameAnswer(*a, EngineA(*zones, config, "alias.geo.test.", alias));
  EXPECT_EQ(a->an, 2);
  // The CNAME's target record is app's own A, not fra1's variant.
  const uint8_t own[] = {192, 0, 2, 80};
  EXPECT_EQ(std::memcmp(a->bytes + a->len - 4, own, 4), 0);
}

TEST(HotAnswers, FollowsEveryNewVersionBeforeItIsPublished) {
  FakeMap map;
  HotAnswers::Options o;
  o.pinned = {{kWww, 1}, {kApp, 1}};
  HotAnswers hot(o, dns::AnswerConfig{}, map.Sink());
  ASSERT_TRUE(hot.Refresh(Set("192.0.2.3")).ok());
  EXPECT_EQ(hot.installed(), 1u);  // app.geo.test has variants
  ASSERT_NE(map.Find({kWww, 1}), nullptr);
  const xdp_dns_hot_answer first = *map.Find({kWww, 1});
  // The same data in a new version: nothing is rewritten.
  const int puts = map.puts;
  ASSERT_TRUE(hot.Refresh(Set("192.0.2.3")).ok());
  EXPECT_EQ(map.puts, puts);
  // A changed address: the entry is replaced.
  ASSERT_TRUE(hot.Refresh(Set("192.0.2.4", 2)).ok());
  ASSERT_NE(map.Find({kWww, 1}), nullptr);
  EXPECT_NE(std::memcmp(map.Find({kWww, 1})->bytes, first.bytes, first.len),
            0);
  // The zone gone: the entry goes.
  auto empty = testutil::MakeZoneSet(
      {{"other.test.", "@ SOA ns hm 1 1 1 1 60\n@ NS ns\nns A 192.0.2.1\n"}});
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(hot.Refresh(*empty).ok());
  EXPECT_EQ(map.Find({kWww, 1}), nullptr);
  EXPECT_EQ(hot.installed(), 0u);
}

TEST(HotAnswers, SampledQuestionsAndDriverHitsChooseTheSet) {
  FakeMap map;
  HotAnswers::Options o = Sampled(1);
  HotAnswers hot(o, dns::AnswerConfig{}, map.Sink());
  ASSERT_TRUE(hot.Refresh(Set("192.0.2.3")).ok());
  EXPECT_EQ(hot.installed(), 0u);
  ObserveTimes(hot, {kWww, 1}, 5);
  ObserveTimes(hot, {kMail, 15}, 3);
  ASSERT_TRUE(hot.Retarget().ok());
  ASSERT_NE(map.Find({kWww, 1}), nullptr);
  EXPECT_EQ(map.Find({kMail, 15}), nullptr);
  // www is now answered in the driver: the workers see only mail, but
  // www's hits (1000, i.e. 100 samples' worth) keep it in.
  map.entries.begin()->second.hits = 1000;
  ObserveTimes(hot, {kMail, 15}, 20);
  ASSERT_TRUE(hot.Retarget().ok());
  EXPECT_NE(map.Find({kWww, 1}), nullptr);
  EXPECT_EQ(map.Find({kMail, 15}), nullptr);
  // Without hits, mail's samples win the one entry.
  ObserveTimes(hot, {kMail, 15}, 400);
  ASSERT_TRUE(hot.Retarget().ok());
  EXPECT_EQ(map.Find({kWww, 1}), nullptr);
  EXPECT_NE(map.Find({kMail, 15}), nullptr);
}

// The program counts one answer in driver_hits_every in an entry's hits
// (so that the CPUs answering a hot name do not all write its entry): a
// hit weighs that many answers.
TEST(HotAnswers, SampledDriverHitsWeighAsManyAnswers) {
  FakeMap map;
  HotAnswers::Options o = Sampled(1);
  o.driver_hits_every = 8;
  HotAnswers hot(o, dns::AnswerConfig{}, map.Sink());
  ASSERT_TRUE(hot.Refresh(Set("192.0.2.3")).ok());
  ObserveTimes(hot, {kWww, 1}, 5);
  ASSERT_TRUE(hot.Retarget().ok());
  ASSERT_NE(map.Find({kWww, 1}), nullptr);
  // 30 hits: 240 answers, 24 samples' worth, against mail's 20 samples
  // (30 answers, 3 samples, if a hit weighed one answer).
  map.entries.begin()->second.hits = 30;
  ObserveTimes(hot, {kMail, 15}, 20);
  ASSERT_TRUE(hot.Retarget().ok());
  EXPECT_NE(map.Find({kWww, 1}), nullptr);
  EXPECT_EQ(map.Find({kMail, 15}), nullptr);
}

// A refresh of the sampled set (every refresh_ms) that wants what is
// installed already changes nothing and reads the hits of sampled entries
// only: pinned ones stay whatever their count. (With 8,192 pinned entries
// refreshed every 500 ms, reading each entry and comparing each against
// the map took popdns's control thread about 56 ms a second.)
TEST(HotAnswers, ARefreshThatWantsTheSameSetTouchesNothing) {
  FakeMap map;
  HotAnswers::Options o = Sampled(4);
  // app.geo.test has variants: each pass over the wanted set counts it
  // not eligible once more.
  o.pinned = {{kWww, 1}, {kMail, 1}, {kApp, 1}};
  HotAnswers hot(o, dns::AnswerConfig{}, map.Sink());
  ASSERT_TRUE(hot.Refresh(Set("192.0.2.3")).ok());
  ASSERT_EQ(hot.installed(), 2u);
  ObserveTimes(hot, {kMail, 15}, 8);
  ASSERT_TRUE(hot.Retarget().ok());
  ASSERT_EQ(hot.installed(), 3u);
  EXPECT_EQ(map.hit_reads, 0);  // only the two pinned were installed
  const int puts = map.puts, removes = map.removes;
  const std::string stats = hot.RenderStats();
  EXPECT_NE(stats.find("xdp.hot.not_eligible 2\n"), std::string::npos)
      << stats;
  map.hit_reads = 0;
  ObserveTimes(hot, {kMail, 15}, 8);
  ASSERT_TRUE(hot.Retarget().ok());
  EXPECT_EQ(map.hit_reads, 1);  // mail MX, the sampled one
  EXPECT_EQ(map.puts, puts);
  EXPECT_EQ(map.removes, removes);
  EXPECT_EQ(hot.installed(), 3u);
  EXPECT_EQ(hot.RenderStats(), stats);  // no pass over the wanted set
}

// The sampled questions fill the room the pinned ones leave, the most
// counted first: here one entry, which mail MX's nine samples win over
// mail A's three (mail A sorts first by name and type; it took the entry
// when the sampled ones were cut after the pinned, in that order). The
// pinned www's own samples take no room.
TEST(HotAnswers, TheMostSampledFillTheRoomThePinnedLeave) {
  FakeMap map;
  HotAnswers::Options o = Sampled(2);
  o.pinned = {{kWww, 1}};
  HotAnswers hot(o, dns::AnswerConfig{}, map.Sink());
  ASSERT_TRUE(hot.Refresh(Set("192.0.2.3")).ok());
  ObserveTimes(hot, {kMail, 15}, 9);
  ObserveTimes(hot, {kMail, 1}, 3);
  ObserveTimes(hot, {kWww, 1}, 20);  // pinned anyway
  ASSERT_TRUE(hot.Retarget().ok());
  EXPECT_EQ(hot.installed(), 2u);
  EXPECT_NE(map.Find({kWww, 1}), nullptr);
  EXPECT_NE(map.Find({kMail, 15}), nullptr);
  EXPECT_EQ(map.Find({kMail, 1}), nullptr);
}

// A change the map refused is tried again at the next refresh, even if
// the wanted set is the same.
TEST(HotAnswers, ARefusedPutIsTriedAgainAtTheNextRefresh) {
  FakeMap map;
  HotAnswers::Options o = Sampled(1);
  HotAnswers hot(o, dns::AnswerConfig{}, map.Sink());
  ASSERT_TRUE(hot.Refresh(Set("192.0.2.3")).ok());
  map.failing_puts = 1;
  ObserveTimes(hot, {kMail, 15}, 8);
  EXPECT_FALSE(hot.Retarget().ok());
  EXPECT_EQ(map.Find({kMail, 15}), nullptr);
  ObserveTimes(hot, {kMail, 15}, 8);
  ASSERT_TRUE(hot.Retarget().ok());
  EXPECT_NE(map.Find({kMail, 15}), nullptr);
}

// Two questions whose keys are equal (their names share a hash, which
// HotKey's 64 bits make too rare to find: here a key function makes mail
// share www's): the first wanted holds the entry, the other stays with
// the workers and is counted as not eligible.
TEST(HotAnswers, OfTwoQuestionsSharingAKeyTheFirstWantedHoldsIt) {
  const auto www_key_for_mail = [](const HotQuestion& q) {
    return HotKey(q.name == kMail ? HotQuestion{kWww, q.qtype} : q);
  };
  const std::shared_ptr<const zone::ZoneSet> zones = Set("192.0.2.3");
  auto www = CompileHotAnswer(*zones, dns::AnswerConfig{}, {kWww, 1});
  auto mail = CompileHotAnswer(*zones, dns::AnswerConfig{}, {kMail, 1});
  ASSERT_TRUE(www.ok() && mail.ok());
  ASSERT_NE(std::memcmp(&*www, &*mail, sizeof(*www)), 0);
  for (const bool www_first : {true, false}) {
    FakeMap map;
    HotAnswers::Options o;
    o.pinned = www_first ? std::vector<HotQuestion>{{kWww, 1}, {kMail, 1},
                                                    {kMail, 15}}
                         : std::vector<HotQuestion>{{kMail, 1}, {kWww, 1},
                                                    {kMail, 15}};
    o.key_of = www_key_for_mail;
    HotAnswers hot(o, dns::AnswerConfig{}, map.Sink());
    ASSERT_TRUE(hot.Refresh(zones).ok());
    EXPECT_EQ(hot.installed(), 2u);  // one of the A pair, and mail MX
    EXPECT_EQ(map.entries.size(), 2u);
    EXPECT_EQ(map.Find({kMail, 1}), nullptr);  // its own key is unused
    const xdp_dns_hot_answer* shared = map.Find({kWww, 1});
    ASSERT_NE(shared, nullptr);
    EXPECT_EQ(std::memcmp(shared, www_first ? &*www : &*mail, sizeof(*shared)),
              0)
        << (www_first ? "www" : "mail") << " was wanted first";
    EXPECT_NE(hot.RenderStats().find("xdp.hot.not_eligible 1\n"),
              std::string::npos)
        << hot.RenderStats();
    // The same version again: the pair's winner stays, nothing rewritten.
    const int puts = map.puts;
    ASSERT_TRUE(hot.Refresh(Set("192.0.2.3")).ok());
    EXPECT_EQ(map.puts, puts);
    EXPECT_EQ(std::memcmp(map.Find({kWww, 1}), www_first ? &*www : &*mail,
                          sizeof(*shared)),
              0);
  }
}

TEST(EveryQuestion, SmallestZonesFirstUpToTheLimit) {
  auto zones = Set("192.0.2.3");
  const std::vector<HotQuestion> all = EveryQuestion(*zones, 1000);
  // geo.test: apex SOA, NS; ns A; app A (+ its VARIANT). example.test:
  // apex SOA, NS; ns A; www A; mail A, MX.
  EXPECT_GE(all.size(), 10u);
  const std::vector<HotQuestion> three = EveryQuestion(*zones, 3);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(std::vector<HotQuestion>(all.begin(), all.begin() + 3), three);
}

}  // namespace
}  // namespace popdns::control
