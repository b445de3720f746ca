// Property tests of control/build/incremental_builder.h: after random
// sequences of changesets applied incrementally, a zone answers byte for
// byte what a zone freshly built (BuildZone) from the same records
// answers, for every name in either zone, for names that do not exist
// (below existing names, wildcards, cuts and DNAMEs), for every type of a
// list that covers each kind of answer, with and without DO=1, over UDP
// (512 and 1232 bytes) and TCP; and the version a change was built from
// keeps answering exactly as before.
#include "control/build/incremental_builder.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "control/build/answer_compiler.h"
#include "control/build/zone_builder.h"
#include "control/build/zone_records.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_to_text.h"
#include "control/zonefile/zone_file.h"
#include "control/zonefile/zone_validate.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/nsec3_hash.h"
#include "gtest/gtest.h"
#include "tests/testutil/dns_message.h"
#include "tests/testutil/sanitizer.h"

namespace popdns::control {
namespace {

using dns::Transport;

constexpr char kApex[] = "inc.test.";

std::string ApexWire(const std::string& apex) {
  return *NameFromText(apex, "");
}

// One record from its text form, relative to `origin`.
ZoneRecord Rr(const std::string& origin, const std::string& owner,
              uint32_t ttl, const std::string& type,
              const std::string& rdata) {
  ZoneFileOptions options;
  options.origin_wire = ApexWire(origin);
  const std::string text =
      absl::StrCat(owner, " ", ttl, " IN ", type, " ", rdata, "\n");
  auto recs = ParseZoneText(text, "change", options);
  EXPECT_TRUE(recs.ok()) << text << ": " << recs.status();
  if (!recs.ok() || recs->size() != 1) return ZoneRecord{};
  return (*recs)[0];
}

std::string Soa(uint32_t serial, const std::string& mname = "ns1",
                uint32_t minimum = 300) {
  return absl::StrCat(mname, " hostmaster ", serial, " 7200 3600 1209600 ",
                      minimum);
}

// Identity of a record for comparisons (owner and RDATA names lowercased).
std::string Key(const ZoneRecord& r) {
  std::string k = NameToLower(r.owner);
  k += absl::StrCat("/", r.type, "/", r.ttl, "/");
  k += r.rdata;
  return k;
}

struct QueryConfig {
  Transport transport;
  bool edns;
  uint16_t udp_size;
  bool dnssec;
  std::string ToString() const {
    return absl::StrCat(transport == Transport::kTcp ? "tcp" : "udp",
                        edns ? absl::StrCat(" edns ", udp_size) : " no-edns",
                        dnssec ? " do" : "");
  }
};

const std::vector<QueryConfig>& Configs() {
  static const std::vector<QueryConfig> configs = {
      {Transport::kUdp, false, 512, false},
      {Transport::kUdp, true, 512, true},
      {Transport::kUdp, true, 1232, false},
      {Transport::kUdp, true, 1232, true},
      {Transport::kTcp, false, 0, false},
      {Transport::kTcp, true, 1232, true},
  };
  return configs;
}

const std::vector<uint16_t>& Types() {
  // A, AAAA, TXT, MX, CNAME, NS, SOA, DS, ANY, SRV, and one that exists
  // nowhere.
  static const std::vector<uint16_t> types = {1,  28, 16, 15, 5, 2,
                                              6,  43, 255, 33, 65000};
  return types;
}

std::vector<uint8_t> AnswerOf(const zone::ZoneSet& set,
                              const std::vector<uint8_t>& query,
                              Transport transport) {
  static std::vector<uint8_t> buf(65535);  // not cleared: answers overwrite
  std::copy(query.begin(), query.end(), buf.begin());
  dns::AnswerConfig config;
  const auto r =
      dns::Answer(set, config, transport, buf.data(), query.size(), buf.size());
  return std::vector<uint8_t>(buf.begin(), buf.begin() + r.size);
}

std::string Show(const std::vector<uint8_t>& wire) {
  auto m = testutil::ParseMessage(wire.data(), wire.size());
  if (!m.ok()) return std::string(m.status().message());
  std::string out = absl::StrCat("rcode ", m->rcode, " aa ", m->aa, " tc ",
                                 m->tc, "\n");
  for (const auto* sec : {&m->answer, &m->authority, &m->additional}) {
    for (const auto& r : *sec) out += "  " + r.ToString() + "\n";
    out += "  --\n";
  }
  return out;
}

std::shared_ptr<zone::ZoneSet> SetOf(std::shared_ptr<const zone::Zone> z) {
  auto set = std::make_shared<zone::ZoneSet>();
  set->Add(std::move(z));
  return set;
}

// Every live node's name of z (wire).
std::set<std::string> NamesOf(const zone::Zone& z) {
  std::set<std::string> out;
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    if (z.IsLive(i)) out.emplace(z.nodes[i].name);
  }
  return out;
}

// Names to ask: those of both zones, and names that do not exist below
// each of them (below a wildcard's parent, a cut, a DNAME: the same).
std::vector<std::string> QueryNames(const zone::Zone& a,
                                    const zone::Zone& b) {
  std::set<std::string> names = NamesOf(a);
  for (const std::string& n : NamesOf(b)) names.insert(n);
  std::set<std::string> out;
  for (const std::string& n : names) {
    out.insert(n);
    if (n.size() + 8 <= 255) out.insert(std::string("\5nx-q1") + n);
    if (n.size() + 6 <= 255) out.insert(std::string("\1a\2zz") + n);
    if (n.size() >= 2 && n[0] == 1 && n[1] == '*') {
      const std::string parent = n.substr(2);
      out.insert(std::string("\2w1") + parent);
      out.insert(std::string("\1b\2w2") + parent);
    }
  }
  std::vector<std::string> text;
  for (const std::string& n : out) text.push_back(NameToText(n));
  return text;
}

// Answers of `set` for every query of `names` x some types and configs.
std::vector<std::vector<uint8_t>> SomeAnswers(
    const zone::ZoneSet& set, const std::vector<std::string>& names) {
  std::vector<std::vector<uint8_t>> out;
  for (const std::string& name : names) {
    for (uint16_t type : {1, 28, 15, 255, 65000}) {
      for (const QueryConfig& c : {Configs()[2], Configs()[5]}) {
        testutil::QueryOptions o;
        o.edns = c.edns;
        o.udp_size = c.udp_size;
        o.dnssec_ok = c.dnssec;
        out.push_back(AnswerOf(set, testutil::MakeQuery(name, type, o),
                               c.transport));
      }
    }
  }
  return out;
}

// Every query of `names` answered by `inc` (one at a time and in bursts)
// and by `fresh`: the same bytes. Returns the number of queries.
size_t ExpectSameAnswers(const zone::ZoneSet& inc, const zone::ZoneSet& fresh,
                         const std::vector<std::string>& names,
                         const std::string& context) {
  int failures = 0;
  size_t count = 0;
  dns::AnswerConfig config;
  for (const std::string& name : names) {
    for (const QueryConfig& c : Configs()) {
      std::vector<std::vector<uint8_t>> queries;
      std::vector<std::vector<uint8_t>> expected;
      for (uint16_t type : Types()) {
        testutil::QueryOptions o;
        o.edns = c.edns;
        o.udp_size = c.udp_size;
        o.dnssec_ok = c.dnssec;
        o.id = static_cast<uint16_t>(count);
        queries.push_back(testutil::MakeQuery(name, type, o));
        expected.push_back(AnswerOf(fresh, queries.back(), c.transport));
        const std::vector<uint8_t> got =
            AnswerOf(inc, queries.back(), c.transport);
        ++count;
        if (got != expected.back() && failures++ < 5) {
          ADD_FAILURE() << context << ": " << name << " type " << type << " "
                        << c.ToString() << "\nincremental:\n"
                        << Show(got) << "fresh:\n"
                        << Show(expected.back());
        }
      }
      // The burst engine reads the index through its own stages.
      static std::vector<std::vector<uint8_t>> bufs;
      bufs.resize(queries.size());
      std::vector<dns::AnswerJob> jobs(queries.size());
      for (size_t i = 0; i < queries.size(); ++i) {
        bufs[i].resize(65535);
        std::copy(queries[i].begin(), queries[i].end(), bufs[i].begin());
        jobs[i].buf = bufs[i].data();
        jobs[i].query_len = queries[i].size();
        jobs[i].buf_size = bufs[i].size();
      }
      dns::AnswerBurst(inc, config, c.transport, jobs.data(), jobs.size());
      for (size_t i = 0; i < queries.size(); ++i) {
        const std::vector<uint8_t> got(bufs[i].begin(),
                                       bufs[i].begin() + jobs[i].result.size);
        if (got != expected[i] && failures++ < 5) {
          ADD_FAILURE() << context << ": burst " << name << " type "
                        << Types()[i] << " " << c.ToString();
        }
      }
    }
  }
  EXPECT_EQ(failures, 0) << context;
  return count;
}

// An exact hit compares the question with the copy of the owner's name
// that precedes the likely answer's HitHeader (Zone::LikelyName). A wrong
// copy would only send the queries down the general path, which the
// answer comparisons cannot see: every node of every version is checked.
void ExpectLikelyNames(const zone::Zone& z, const std::string& context) {
  size_t headed = 0;
  for (const zone::Node& n : z.nodes) {
    if (n.likely_qtype == 0) continue;
    ++headed;
    EXPECT_EQ(z.LikelyName(n), n.name) << context;
  }
  EXPECT_GT(headed, 0u) << context;
}

std::vector<ZoneRecord> Sorted(std::vector<ZoneRecord> v) {
  std::sort(v.begin(), v.end(), [](const ZoneRecord& a, const ZoneRecord& b) {
    return Key(a) < Key(b);
  });
  return v;
}

// ---------------------------------------------------------------------------
// A generated zone that looks real, and random changes to it.

class ZoneModel {
 public:
  explicit ZoneModel(uint32_t seed) : rng_(seed) {}

  std::vector<ZoneRecord> Initial(int hosts) {
    std::vector<ZoneRecord> r;
    auto add = [&](const std::string& owner, const std::string& type,
                   const std::string& rdata, uint32_t ttl = 3600) {
      r.push_back(Rr(kApex, owner, ttl, type, rdata));
    };
    add("@", "SOA", Soa(serial_));
    add("@", "NS", "ns1");
    add("@", "NS", "ns2.inc.test.");
    add("@", "A", "192.0.2.1");
    add("@", "MX", "10 mail");
    add("@", "TXT", "\"v=spf1 -all\"");
    add("ns1", "A", "192.0.2.53");
    add("ns2", "A", "192.0.2.54");
    add("ns2", "AAAA", "2001:db8::54");
    add("mail", "A", "192.0.2.25");
    for (int i = 0; i < hosts; ++i) {
      const std::string h = HostName(i);
      add(h, "A", Ip4(i));
      if (i % 5 == 0) add(h, "A", Ip4(i + 1000));
      if (i % 3 == 0) add(h, "AAAA", Ip6(i));
      if (i % 7 == 0) add(h, "TXT", absl::StrCat("\"site ", i, "\""));
      if (i % 11 == 0) add(h, "MX", absl::StrCat(10 + i % 3, " mail"));
      if (i % 13 == 0) {
        add("_sip._tcp." + h, "SRV", absl::StrCat("10 5 5060 ", h));
      }
    }
    // CNAMEs: to hosts, to other CNAMEs (chains), out of the zone, to
    // nothing, to the apex, into a wildcard, below a cut and a DNAME.
    for (int j = 0; j < hosts / 4; ++j) {
      std::string target;
      switch (j % 8) {
        case 0: target = HostName(j * 3 % hosts); break;
        case 1: target = absl::StrCat("c", j - 1); break;
        case 2: target = absl::StrCat("c", j - 1); break;
        case 3: target = "cdn.example.net."; break;
        case 4: target = "missing-target"; break;
        case 5: target = "@"; break;
        case 6: target = "anything.w"; break;
        default: target = j % 2 ? "x.sub" : "y.dn"; break;
      }
      add(absl::StrCat("c", j), "CNAME", target);
    }
    add("*.w", "A", "192.0.2.80");
    add("*.w", "AAAA", "2001:db8::80");
    add("*.wc", "CNAME", HostName(2));
    add("sub", "NS", "ns.sub");
    add("sub", "NS", "ns1");
    add("sub", "DS", "12345 13 2 c2344a7280ac2d4558cd04fe40090304bb818dfa3083793eef721ba8d1a66ea8");
    add("ns.sub", "A", "192.0.2.100");
    add("ext", "NS", "ns.example.net.");
    add("dn", "DNAME", "t1");
    add("stuff.dn", "A", "192.0.2.77");  // occluded, answered anyway
    return r;
  }

  // A random changeset from `records` (the current version).
  xfr::Changeset Next(const std::vector<ZoneRecord>& records) {
    xfr::Changeset cs;
    cs.soa_from = *FindSoa(records);
    ++serial_;
    std::string mname = "ns1";
    uint32_t minimum = 300;
    uint32_t soa_ttl = 3600;
    const int dice = Rand(100);
    if (dice < 3) mname = "ns2";        // negative answers change shape
    else if (dice < 8) minimum = 60 + Rand(600);   // negative TTL
    else if (dice < 12) soa_ttl = 100 + Rand(200);
    cs.soa_to = Rr(kApex, "@", soa_ttl, "SOA", Soa(serial_, mname, minimum));
    types_.clear();
    for (const ZoneRecord& r : records) {
      types_[NameToLower(r.owner)].insert(r.type);
    }
    const int ops = 1 + Rand(5);
    for (int k = 0; k < ops; ++k) Op(records, &cs);
    return cs;
  }

 private:
  int Rand(int n) { return static_cast<int>(rng_() % n); }
  static std::string HostName(int i) {
    return i % 2 ? absl::StrCat("h", i, ".t", i % 5) : absl::StrCat("h", i);
  }
  static std::string Ip4(int i) {
    return absl::StrCat("10.", (i >> 16) & 255, ".", (i >> 8) & 255, ".",
                        i & 255);
  }
  static std::string Ip6(int i) {
    return absl::StrCat("2001:db8::", absl::Hex(i & 0xFFFF));
  }

  // A name, existing or new, at some depth.
  std::string SomeName() {
    switch (Rand(8)) {
      case 0: return absl::StrCat("new", Rand(40));
      case 1: return absl::StrCat("a", Rand(5), ".deep", Rand(3), ".t", Rand(6));
      case 2: return absl::StrCat("x", Rand(4), ".w");  // below a wildcard
      case 3: return absl::StrCat("q", Rand(4), ".sub");  // below a cut
      case 4: return absl::StrCat("c", Rand(30));
      case 5: return "@";
      default: return HostName(Rand(80));
    }
  }

  void Op(const std::vector<ZoneRecord>& records, xfr::Changeset* cs) {
    auto add = [&](const std::string& owner, const std::string& type,
                   const std::string& rdata, uint32_t ttl = 3600) {
      ZoneRecord r = Rr(kApex, owner, ttl, type, rdata);
      // Mostly valid changes: CNAME and other data only now and then (a
      // full build rejects them, and so must an incremental one).
      std::set<uint16_t>& types = types_[NameToLower(r.owner)];
      const bool cname = r.type == dns::rrtype::kCname;
      const bool conflict =
          cname ? !types.empty() : types.count(dns::rrtype::kCname) != 0;
      if (conflict && Rand(10) != 0) return;
      types.insert(r.type);
      cs->added.push_back(std::move(r));
    };
    const int what = Rand(20);
    if (what < 6 && records.size() > 2) {
      // Remove a random record (not the SOA).
      for (int tries = 0; tries < 10; ++tries) {
        const ZoneRecord& r = records[Rand(static_cast<int>(records.size()))];
        if (r.type == dns::rrtype::kSoa) continue;
        cs->removed.push_back(r);
        break;
      }
      return;
    }
    const std::string name = SomeName();
    switch (what) {
      case 6:
      case 7: add(name, "A", Ip4(Rand(100000))); break;
      case 8: add(name, "AAAA", Ip6(Rand(100000))); break;
      case 9: add(name, "TXT", absl::StrCat("\"t", Rand(1000), "\"")); break;
      case 10: add(name, "MX", absl::StrCat(Rand(50), " ", SomeName())); break;
      case 11:
        add(absl::StrCat("c", Rand(40)), "CNAME",
            Rand(4) == 0 ? std::string("elsewhere.example.net.") : SomeName());
        break;
      case 12:  // a cut appears (with glue sometimes)
        add(name, "NS", absl::StrCat("ns.", name));
        if (Rand(2)) add(absl::StrCat("ns.", name), "A", Ip4(Rand(1000)));
        break;
      case 13: {  // a wildcard appears (at the apex too)
        const std::string wild = name == "@" ? "*" : absl::StrCat("*.", name);
        if (Rand(2)) {
          add(wild, "A", Ip4(Rand(1000)));
        } else {
          add(wild, "CNAME", HostName(Rand(80)));
        }
        break;
      }
      case 14:
        add(absl::StrCat("_sip._tcp.", name), "SRV",
            absl::StrCat("10 5 5060 ", SomeName()));
        break;
      case 15:  // a TTL that differs from its RRset's
        add(name, "A", Ip4(Rand(100000)), 60 + Rand(100));
        break;
      case 16:  // a DNAME somewhere (at the apex: see its own test)
        if (name != "@") add(name, "DNAME", absl::StrCat("t", Rand(6)));
        break;
      case 17: {  // replace a whole RRset (TTL change)
        const ZoneRecord& r = records[Rand(static_cast<int>(records.size()))];
        if (r.type == dns::rrtype::kSoa) break;
        for (const ZoneRecord& x : records) {
          if (x.type == r.type && NameToLower(x.owner) == NameToLower(r.owner)) {
            cs->removed.push_back(x);
            ZoneRecord y = x;
            y.ttl = x.ttl + 7;
            cs->added.push_back(y);
          }
        }
        break;
      }
      default:  // the apex's own data
        add("@", "A", Ip4(Rand(1000)));
        break;
    }
  }

  std::mt19937 rng_;
  uint32_t serial_ = 1000;
  std::map<std::string, std::set<uint16_t>> types_;  // owner -> types
};

struct Step {
  bool valid = false;
  std::vector<ZoneRecord> records;  // after the change
  std::shared_ptr<const zone::Zone> fresh;
};

// What a full build does with `cs` applied to `records`.
Step Reference(const std::string& apex, std::vector<ZoneRecord> records,
               const xfr::Changeset& cs, absl::Status* error) {
  Step s;
  auto next = ApplyChangeset(std::move(records), cs);
  if (!next.ok()) {
    *error = next.status();
    return s;
  }
  auto valid = NormalizeAndValidateZone(*next, ApexWire(apex), nullptr);
  if (!valid.ok()) {
    *error = valid.status();
    return s;
  }
  // What the zone holds (TTLs within an RRset made equal) is what the
  // next change applies to, as ZoneStore does with RecordsOf.
  s.records = *valid;
  auto z = BuildZone(ApexWire(apex), std::move(*valid));
  if (!z.ok()) {
    *error = z.status();
    return s;
  }
  s.valid = true;
  s.fresh = *z;
  return s;
}

void RunSequence(uint32_t seed, int hosts, int steps, int changesets_max) {
  ZoneModel model(seed);
  std::vector<ZoneRecord> records = model.Initial(hosts);
  auto valid = NormalizeAndValidateZone(records, ApexWire(kApex), nullptr);
  ASSERT_TRUE(valid.ok()) << valid.status();
  records = *valid;
  BuildOptions options;
  options.updatable = true;
  auto built = BuildZone(ApexWire(kApex), records, options);
  ASSERT_TRUE(built.ok()) << built.status();
  std::shared_ptr<const zone::Zone> current = *built;
  std::mt19937 rng(seed * 7 + 1);
  int incremental = 0, full = 0, rejected = 0;
  for (int step = 0; step < steps; ++step) {
    const std::string context = absl::StrCat("seed ", seed, " step ", step);
    // One or more changesets in a row (an IXFR of several versions).
    std::vector<xfr::Changeset> changes;
    std::vector<ZoneRecord> ref = records;
    Step expected;
    absl::Status error;
    const int n = 1 + static_cast<int>(rng() % changesets_max);
    for (int k = 0; k < n; ++k) {
      changes.push_back(model.Next(ref));
      expected = Reference(kApex, ref, changes.back(), &error);
      if (!expected.valid) break;
      ref = expected.records;
    }
    // The base version's answers, before and after the build.
    const auto base_set = SetOf(current);
    const std::vector<std::string> base_names = QueryNames(*current, *current);
    const auto before = SomeAnswers(*base_set, base_names);
    IncrementalStats stats;
    std::vector<std::string> warnings;
    const auto t0 = std::chrono::steady_clock::now();
    auto next = BuildIncremental(current, changes, &warnings, &stats);
    const double build_ms = std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - t0)
                                .count();
    if (getenv("INCREMENTAL_TEST_VERBOSE")) {
      std::printf("%s: %.2f ms, %zu names: %s\n", context.c_str(), build_ms,
                  base_names.size(),
                  next.ok() ? stats.ToString().c_str()
                            : std::string(next.status().message()).c_str());
      std::fflush(stdout);
    }
    EXPECT_TRUE(SomeAnswers(*base_set, base_names) == before)
        << context << ": the base version changed its answers";
    if (!expected.valid) {
      ASSERT_FALSE(next.ok()) << context << ": accepted what a full build "
                              << "rejects: " << error;
      EXPECT_EQ(next.status().code(), error.code())
          << context << ": " << next.status() << " vs " << error;
      ++rejected;
      continue;  // the zone stays where it was (serials just jump ahead)
    }
    ASSERT_TRUE(next.ok()) << context << ": " << next.status();
    (stats.full_build ? full : incremental)++;
    const std::shared_ptr<const zone::Zone> z = *next;
    EXPECT_EQ(z->serial, expected.fresh->serial);
    // The same records.
    const auto mine = Sorted(RecordsOf(*z));
    const auto theirs = Sorted(RecordsOf(*expected.fresh));
    ASSERT_EQ(mine.size(), theirs.size()) << context;
    for (size_t i = 0; i < mine.size(); ++i) {
      ASSERT_EQ(Key(mine[i]), Key(theirs[i])) << context;
    }
    EXPECT_EQ(z->nsec_chain.size(), expected.fresh->nsec_chain.size());
    EXPECT_EQ(z->is_signed, expected.fresh->is_signed);
    // The same answers.
    ExpectSameAnswers(*SetOf(z), *SetOf(expected.fresh),
                      QueryNames(*z, *expected.fresh),
                      context + " (" + stats.ToString() + ")");
    ExpectLikelyNames(*z, context);
    if (::testing::Test::HasFailure()) return;
    current = z;
    records = ref;
  }
  std::printf("seed %u: %d incremental, %d full, %d rejected; garbage %.1f%%\n",
              seed, incremental, full, rejected,
              GarbageRatio(*current) * 100);
  EXPECT_GT(incremental, steps / 2);
  // Compaction: same answers, no garbage.
  auto compact = RebuildZone(*current);
  ASSERT_TRUE(compact.ok()) << compact.status();
  EXPECT_EQ(GarbageRatio(**compact), 0.0);
  ExpectSameAnswers(*SetOf(*compact), *SetOf(current),
                    QueryNames(**compact, *current), "compacted");
  ExpectLikelyNames(**compact, "compacted");
}

TEST(IncrementalBuildTest, RandomChangesAnswerAsAFullBuild) {
  // INCREMENTAL_TEST_SEED=n: only seed n; INCREMENTAL_TEST_SEEDS=n: seeds
  // 1..n (a longer run than the default: 8, one under a sanitizer).
  constexpr uint32_t kDefaultSeeds = testutil::kUnderSanitizer ? 1 : 8;
  const char* only = getenv("INCREMENTAL_TEST_SEED");
  const char* seeds = getenv("INCREMENTAL_TEST_SEEDS");
  const uint32_t last =
      seeds ? static_cast<uint32_t>(atoi(seeds)) : kDefaultSeeds;
  for (uint32_t seed = 1; seed <= last; ++seed) {
    if (only && static_cast<uint32_t>(atoi(only)) != seed) continue;
    RunSequence(seed, 80, 60, 1);
    if (::testing::Test::HasFailure()) return;
  }
}

// The zones of the tests below, and one change to them.
struct Lineage {
  std::vector<ZoneRecord> records;
  std::shared_ptr<const zone::Zone> zone;
};

// A change of `l`'s SOA to the next serial (ns1 hostmaster ... timers of
// the signed test zones), for the caller to add records to.
xfr::Changeset NextSerial(const Lineage& l, const std::string& apex,
                          uint32_t* serial) {
  xfr::Changeset cs;
  cs.soa_from = *FindSoa(l.records);
  cs.soa_to = Rr(apex, "@", 3600, "SOA", absl::StrCat(
      "ns1 hostmaster ", ++*serial, " 7200 3600 1209600 300"));
  return cs;
}

BuildOptions Updatable() {
  BuildOptions options;
  options.updatable = true;
  return options;
}

Lineage Start(const std::string& apex, const std::string& text,
              BuildOptions options) {
  Lineage l;
  ZoneFileOptions fo;
  fo.origin_wire = ApexWire(apex);
  auto recs = ParseZoneText(text, "zone", fo);
  EXPECT_TRUE(recs.ok()) << recs.status();
  auto valid = NormalizeAndValidateZone(*recs, ApexWire(apex), nullptr);
  EXPECT_TRUE(valid.ok()) << valid.status();
  l.records = *valid;
  auto z = BuildZone(ApexWire(apex), l.records, options);
  EXPECT_TRUE(z.ok()) << z.status();
  l.zone = *z;
  return l;
}

// Applies `cs` both ways and compares; returns the incremental stats.
IncrementalStats ApplyBothWays(const std::string& apex, Lineage* l,
                               const xfr::Changeset& cs,
                               const std::string& context) {
  absl::Status error;
  Step expected = Reference(apex, l->records, cs, &error);
  EXPECT_TRUE(expected.valid) << context << ": " << error;
  IncrementalStats stats;
  auto next = BuildIncremental(l->zone, {cs}, nullptr, &stats);
  EXPECT_TRUE(next.ok()) << context << ": " << next.status();
  if (!expected.valid || !next.ok()) return stats;
  ExpectSameAnswers(*SetOf(*next), *SetOf(expected.fresh),
                    QueryNames(**next, *expected.fresh),
                    context + " (" + stats.ToString() + ")");
  l->records = expected.records;
  l->zone = *next;
  return stats;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A signed zone (RRSIGs, NSEC chain, DS at a cut): signatures and NSEC
// records come and go like other records, the chain follows, and DO=1
// answers (the general path: signatures, denial proofs) agree.
TEST(IncrementalBuildTest, SignedZone) {
  const std::string apex = "signed.example.";
  BuildOptions options;
  options.updatable = true;
  Lineage l = Start(
      apex, ReadFile(POPDNS_ZONE_TESTDATA "/signed.example.zone"), options);
  ASSERT_TRUE(l.zone);
  ASSERT_TRUE(l.zone->is_signed);
  const std::string sig =
      "13 3 3600 20250101000000 20241201000000 12345 signed.example. "
      "0fJCZyaJ64OSfrNTFkcOzLAubOUSRPAEohbNQhWb2zgRQ9wfdAJW/o1q7epEnyELhrU98"
      "Bz4KUMMLjPuT6BOhw==";
  std::mt19937 rng(5);
  uint32_t serial = 2024010101;
  int incremental = 0;
  for (int step = 0; step < 30; ++step) {
    xfr::Changeset cs = NextSerial(l, apex, &serial);
    // The SOA is signed again.
    for (const ZoneRecord& r : l.records) {
      if (r.type == dns::rrtype::kRrsig &&
          internal::CoveredType(r.type, r.rdata) == dns::rrtype::kSoa) {
        cs.removed.push_back(r);
      }
    }
    cs.added.push_back(Rr(apex, "@", 3600, "RRSIG",
                          absl::StrCat("SOA 13 2 3600 ", 20250101 + step % 28,
                                       "000000 20241201000000 ", 10000 + step,
                                       " signed.example. QoRd6Cpb"
                                       "xTmIiseAVKI5nM/J/MLaMc490Wa9zTozhH5"
                                       "buwf9B8pHeEIxsZr0WHLO77n8WfT5XRQ4G"
                                       "jp4MlY0ew==")));
    const std::string name = absl::StrCat("n", rng() % 6);
    switch (rng() % 5) {
      case 0:  // a signed name with its NSEC
        cs.added.push_back(Rr(apex, name, 3600, "A", "192.0.2.9"));
        cs.added.push_back(Rr(apex, name, 3600, "RRSIG", "A " + sig));
        cs.added.push_back(Rr(apex, name, 300, "NSEC",
                              "www.signed.example. A RRSIG NSEC"));
        cs.added.push_back(Rr(apex, name, 300, "RRSIG", "NSEC " + sig));
        break;
      case 1:
      case 2: {  // remove something (not the SOA, not the apex NS)
        for (int tries = 0; tries < 20; ++tries) {
          const ZoneRecord& r = l.records[rng() % l.records.size()];
          if (r.type == dns::rrtype::kSoa || r.type == dns::rrtype::kNs) {
            continue;
          }
          if (r.type == dns::rrtype::kRrsig &&
              internal::CoveredType(r.type, r.rdata) == dns::rrtype::kSoa) {
            continue;
          }
          cs.removed.push_back(r);
          break;
        }
        break;
      }
      case 3:  // the apex's own data, signed
        cs.added.push_back(Rr(apex, "@", 3600, "TXT",
                              absl::StrCat("\"t", step, "\"")));
        break;
      default:  // a DS at the cut
        cs.added.push_back(Rr(apex, "child", 3600, "DS",
                              absl::StrCat(1000 + step, " 13 2 c2344a7280ac2d"
                                           "4558cd04fe40090304bb818dfa30837"
                                           "93eef721ba8d1a66ea8")));
        break;
    }
    const IncrementalStats stats = ApplyBothWays(
        apex, &l, cs, absl::StrCat("signed step ", step));
    if (!stats.full_build) ++incremental;
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(incremental, 20);
}

// An NSEC3 zone (RFC 5155; SHA-1, no salt, no extra iterations): NSEC3
// owners come and go with the names they hash, the chain of hashes and
// the names' hashes follow, and DO=1 denials (closest encloser proofs,
// RFC 5155 7.2.1) agree with a full build. A change of the parameters
// rebuilds in full (every hash changes).
TEST(IncrementalBuildTest, Nsec3Zone) {
  const std::string apex = "n3.example.";
  const std::string sig =
      "13 2 3600 20250101000000 20241201000000 12345 n3.example. "
      "0fJCZyaJ64OSfrNTFkcOzLAubOUSRPAEohbNQhWb2zgRQ9wfdAJW/o1q7epEnyELhrU98"
      "Bz4KUMMLjPuT6BOhw==";
  const zone::Zone::Nsec3Chain unsalted;
  // The NSEC3 record of `relative` (its next hash: its own; the builder
  // does not walk the chain, and both builds see the same records).
  auto nsec3_of = [&](const std::string& relative, const std::string& types) {
    auto wire = NameFromText(relative == "@" ? apex : relative + "." + apex, "");
    EXPECT_TRUE(wire.ok());
    const dns::Nsec3Digest h = dns::Nsec3Hash(unsalted, NameToLower(*wire));
    const std::string label = Base32Hex(std::string_view(
        reinterpret_cast<const char*>(h.data()), h.size()));
    return std::pair(label, absl::StrCat(label, " 300 NSEC3 1 0 0 - ", label,
                                         " ", types, "\n"));
  };
  std::string text =
      "@ 3600 SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
      "@ NS ns1\n@ NSEC3PARAM 1 0 0 -\n@ RRSIG SOA " + sig + "\n"
      "ns1 A 192.0.2.1\nwww A 192.0.2.2\na.b A 192.0.2.3\n"
      "n0 A 192.0.2.10\nn1 A 192.0.2.11\n";
  for (const auto& [name, types] :
       std::vector<std::pair<std::string, std::string>>{
           {"@", "NS SOA RRSIG NSEC3PARAM"}, {"ns1", "A"}, {"www", "A"},
           {"a.b", "A"}, {"b", ""}, {"n0", "A"}, {"n1", "A"}}) {
    text += nsec3_of(name, types).second;
  }
  BuildOptions options;
  options.updatable = true;
  Lineage l = Start(apex, text, options);
  ASSERT_TRUE(l.zone);
  ASSERT_FALSE(l.zone->nsec3.owners.empty());
  std::mt19937 rng(9);
  uint32_t serial = 2024010101;
  int incremental = 0;
  for (int step = 0; step < 30; ++step) {
    xfr::Changeset cs = NextSerial(l, apex, &serial);
    const std::string name = absl::StrCat("n", rng() % 6);
    switch (rng() % 4) {
      case 0: {  // a name and its NSEC3
        const auto [label, rr] = nsec3_of(name, "A RRSIG");
        cs.added.push_back(Rr(apex, name, 3600, "A", "192.0.2.9"));
        cs.added.push_back(Rr(apex, label, 300, "NSEC3",
                              absl::StrCat("1 0 0 - ", label, " A RRSIG")));
        break;
      }
      case 1:
      case 2: {  // remove something (not the SOA, NS or NSEC3PARAM)
        for (int tries = 0; tries < 20; ++tries) {
          const ZoneRecord& r = l.records[rng() % l.records.size()];
          if (r.type == dns::rrtype::kSoa || r.type == dns::rrtype::kNs ||
              r.type == dns::rrtype::kNsec3Param ||
              r.type == dns::rrtype::kRrsig) {
            continue;
          }
          cs.removed.push_back(r);
          break;
        }
        break;
      }
      default:  // a new name below an existing one (a new ENT maybe)
        cs.added.push_back(Rr(apex, absl::StrCat("x.", name), 3600, "TXT",
                              absl::StrCat("\"t", step, "\"")));
        break;
    }
    const IncrementalStats stats = ApplyBothWays(
        apex, &l, cs, absl::StrCat("NSEC3 step ", step));
    if (!stats.full_build) ++incremental;
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(incremental, 20);
  // New parameters: every hash changes, a full build.
  xfr::Changeset cs = NextSerial(l, apex, &serial);
  cs.removed.push_back(Rr(apex, "@", 3600, "NSEC3PARAM", "1 0 0 -"));
  cs.added.push_back(Rr(apex, "@", 3600, "NSEC3PARAM", "1 0 5 aabb"));
  EXPECT_TRUE(ApplyBothWays(apex, &l, cs, "new NSEC3 parameters").full_build);
}

TEST(IncrementalBuildTest, FallsBackToAFullBuild) {
  const std::string apex = "fb.test.";
  const std::string text =
      "@ 3600 SOA ns1 hm 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n"
      "www A 192.0.2.2\nc CNAME nowhere\n";
  auto soa = [&](uint32_t serial, const std::string& mname = "ns1") {
    return Rr(apex, "@", 3600, "SOA",
              absl::StrCat(mname, " hm ", serial, " 7200 3600 1209600 300"));
  };
  auto change = [&](const Lineage& l, uint32_t serial) {
    xfr::Changeset cs;
    cs.soa_from = *FindSoa(l.records);
    cs.soa_to = soa(serial);
    cs.added.push_back(Rr(apex, absl::StrCat("h", serial), 60, "A",
                          "192.0.2.7"));
    return cs;
  };
  const BuildOptions updatable = Updatable();
  {  // Built without the incremental state.
    Lineage l = Start(apex, text, BuildOptions{});
    IncrementalStats stats = ApplyBothWays(apex, &l, change(l, 2), "plain");
    EXPECT_TRUE(stats.full_build);
    EXPECT_NE(stats.full_build_reason.find("updatable"), std::string::npos);
    // The full build made it updatable.
    stats = ApplyBothWays(apex, &l, change(l, 3), "then");
    EXPECT_FALSE(stats.full_build) << stats.ToString();
  }
  {  // Not the newest version of its lineage.
    Lineage l = Start(apex, text, updatable);
    Lineage v1 = l;
    IncrementalStats stats = ApplyBothWays(apex, &l, change(l, 2), "v2");
    EXPECT_FALSE(stats.full_build);
    stats = ApplyBothWays(apex, &v1, change(v1, 3), "v3 from v1");
    EXPECT_TRUE(stats.full_build);
    EXPECT_NE(stats.full_build_reason.find("newest"), std::string::npos);
  }
  {  // The SOA's names change: negative answers change shape.
    Lineage l = Start(apex, text, updatable);
    xfr::Changeset cs = change(l, 2);
    cs.soa_to = soa(2, "ns2");
    const IncrementalStats stats = ApplyBothWays(apex, &l, cs, "mname");
    EXPECT_TRUE(stats.full_build);
    EXPECT_NE(stats.full_build_reason.find("MNAME"), std::string::npos);
  }
  {  // A DNAME at the apex: every name's entry would change.
    Lineage l = Start(apex, text, updatable);
    xfr::Changeset cs = change(l, 2);
    cs.added.push_back(Rr(apex, "@", 60, "DNAME", "example.net."));
    IncrementalStats stats = ApplyBothWays(apex, &l, cs, "dname");
    EXPECT_TRUE(stats.full_build);
    stats = ApplyBothWays(apex, &l, change(l, 3), "dname at apex");
    EXPECT_TRUE(stats.full_build);
    EXPECT_NE(stats.full_build_reason.find("DNAME"), std::string::npos);
  }
  {  // No room left in the arrays.
    BuildOptions tight = updatable;
    tight.headroom_factor = 1;
    tight.min_free_bytes = 0;
    Lineage l = Start(apex, text, tight);
    const IncrementalStats stats = ApplyBothWays(apex, &l, change(l, 2), "full");
    EXPECT_TRUE(stats.full_build);
    EXPECT_NE(stats.full_build_reason.find("heap full"), std::string::npos);
  }
}

// A change that does not apply leaves the base as it was, and still the
// newest version: the next change is incremental.
TEST(IncrementalBuildTest, RejectedChangeLeavesTheBase) {
  const std::string apex = "rj.test.";
  Lineage l = Start(apex,
                    "@ SOA ns1 hm 1 7200 3600 1209600 300\n@ NS ns1\n"
                    "ns1 A 192.0.2.1\nc CNAME ns1\n",
                    Updatable());
  xfr::Changeset bad;
  bad.soa_from = *FindSoa(l.records);
  bad.soa_to = Rr(apex, "@", 3600, "SOA", "ns1 hm 2 7200 3600 1209600 300");
  bad.removed.push_back(Rr(apex, "nothere", 60, "A", "192.0.2.3"));
  auto r = BuildIncremental(l.zone, {bad});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  bad.removed.clear();
  bad.added.push_back(Rr(apex, "c", 60, "TXT", "\"x\""));
  r = BuildIncremental(l.zone, {bad});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  xfr::Changeset wrong_serial = bad;
  wrong_serial.added.clear();
  wrong_serial.soa_from = Rr(apex, "@", 3600, "SOA",
                             "ns1 hm 7 7200 3600 1209600 300");
  r = BuildIncremental(l.zone, {wrong_serial});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  xfr::Changeset good = bad;
  good.added = {Rr(apex, "d", 60, "TXT", "\"x\"")};
  const IncrementalStats stats = ApplyBothWays(apex, &l, good, "good");
  EXPECT_FALSE(stats.full_build) << stats.ToString();
}

// An incremental build compiles again the nodes whose answers read a
// changed name now, not those that read it once: a CNAME pointed
// elsewhere, or removed, stops following its old target, whether its
// dependency was found by the full build or by an incremental one.
TEST(IncrementalBuildTest, RecompilesOnlyCurrentDependents) {
  const std::string apex = "dep.test.";
  Lineage l = Start(apex,
                    "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                    "@ NS ns1\nns1 A 192.0.2.1\n"
                    "t1 A 192.0.2.11\nt2 A 192.0.2.12\nu A 192.0.2.13\n"
                    "c CNAME t1\nd CNAME u\nlone A 192.0.2.14\n",
                    Updatable());
  uint32_t serial = 1;
  auto change_a = [&](const std::string& owner, const std::string& from,
                      const std::string& to) {
    xfr::Changeset cs = NextSerial(l, apex, &serial);
    cs.removed.push_back(Rr(apex, owner, 3600, "A", from));
    cs.added.push_back(Rr(apex, owner, 3600, "A", to));
    const IncrementalStats stats = ApplyBothWays(apex, &l, cs, owner);
    EXPECT_FALSE(stats.full_build) << stats.ToString();
    return stats.answers_compiled;
  };
  // A name nothing reads: the SOA's node and its own.
  const size_t alone = change_a("lone", "192.0.2.14", "192.0.2.24");
  EXPECT_EQ(change_a("t1", "192.0.2.11", "192.0.2.21"), alone + 1);  // c
  xfr::Changeset repoint = NextSerial(l, apex, &serial);
  repoint.removed.push_back(Rr(apex, "c", 3600, "CNAME", "t1"));
  repoint.added.push_back(Rr(apex, "c", 3600, "CNAME", "t2"));
  ApplyBothWays(apex, &l, repoint, "repoint");
  EXPECT_EQ(change_a("t1", "192.0.2.21", "192.0.2.31"), alone);
  EXPECT_EQ(change_a("t2", "192.0.2.12", "192.0.2.22"), alone + 1);  // c
  xfr::Changeset remove = NextSerial(l, apex, &serial);
  remove.removed.push_back(Rr(apex, "d", 3600, "CNAME", "u"));
  ApplyBothWays(apex, &l, remove, "remove");
  EXPECT_EQ(change_a("u", "192.0.2.13", "192.0.2.23"), alone);
}

TEST(IncrementalBuildTest, SeveralChangesetsAtOnce) {
  const uint32_t last = testutil::kUnderSanitizer ? 11 : 12;
  for (uint32_t seed = 11; seed <= last; ++seed) {
    RunSequence(seed, 60, 20, 4);
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace popdns::control
