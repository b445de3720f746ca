#include "control/build/zone_builder.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "dataplane/dns/answer.h"
#include "dataplane/dns/message_writer.h"
#include "dataplane/dns/name.h"
#include "dataplane/dns/wire.h"

namespace popdns::control {
namespace {

// The index of the node named `name`, which exists (the builder made it).
uint32_t NodeIndexOf(const zone::Zone& z, std::string_view name) {
  return static_cast<uint32_t>(z.Find(name) - z.nodes.data());
}

namespace rrtype = dns::rrtype;
using zone::Zone;

std::string Lower(std::string_view wire) {
  std::string out(wire);
  for (char& c : out) c = static_cast<char>(dns::LowerAscii(c));
  return out;
}

// Size of the valid wire name at data[off], or 0 if it is not one.
size_t WireNameSize(std::string_view data, size_t off) {
  size_t i = off;
  while (i < data.size()) {
    const uint8_t l = static_cast<uint8_t>(data[i]);
    if (l == 0) return i + 1 - off <= dns::kMaxNameSize ? i + 1 - off : 0;
    if (l > dns::kMaxLabelSize) return 0;
    i += 1u + l;
  }
  return 0;
}

// Lowercases the names the engine reads or compresses inside RDATA, and
// checks that they are well formed.
bool NormalizeRdataNames(uint16_t type, std::string* rdata) {
  auto lower_at = [&](size_t off) -> size_t {
    const size_t n = WireNameSize(*rdata, off);
    for (size_t i = off; i < off + n; ++i) {
      (*rdata)[i] = static_cast<char>(dns::LowerAscii((*rdata)[i]));
    }
    return n;
  };
  switch (type) {
    case rrtype::kNs:
    case rrtype::kCname:
    case rrtype::kDname:
    case rrtype::kPtr:
      return lower_at(0) == rdata->size();
    case rrtype::kMx:
      return rdata->size() > 2 && 2 + lower_at(2) == rdata->size();
    case rrtype::kSrv:
      return rdata->size() > 6 && 6 + lower_at(6) == rdata->size();
    case rrtype::kSvcb:
    case rrtype::kHttps:  // RFC 9460 2.2: priority, TargetName, params
      return rdata->size() > 2 && lower_at(2) != 0;
    case rrtype::kSoa: {
      const size_t m = lower_at(0);
      if (m == 0) return false;
      const size_t r = lower_at(m);
      return r != 0 && m + r + 20 == rdata->size();
    }
    default:
      return true;
  }
}

class Builder {
 public:
  Builder(std::string apex, std::vector<ZoneRecord> records)
      : records_(std::move(records)) {
    zone_->apex = std::move(apex);
  }

  absl::Status Run();
  std::shared_ptr<const Zone> Release() { return std::move(zone_); }

 private:
  absl::Status Collect();
  void AddAncestors();
  absl::Status Layout();
  void ComputeFlags();
  // Signed zones: whether signatures exist, and the NSEC chain in
  // canonical order for denial proofs.
  void IndexDnssec();
  absl::Status CompileBlobs();
  // Runs `write` against a scratch message whose question is `qname` and
  // stores what it wrote as a blob. Returns its index, or kNone if the
  // answer could not be precompiled whole.
  template <typename WriteFn>
  uint32_t Compile(std::string_view qname, bool wildcard, WriteFn write);

  std::shared_ptr<Zone> zone_ = std::make_shared<Zone>();
  // Until Layout: the records (owners lowercased and RDATA names normalized
  // in place), the node of each, and the node names as views into the
  // owners (an ancestor is a suffix of some owner) or into the apex.
  std::vector<ZoneRecord> records_;
  std::vector<uint32_t> node_of_;
  std::vector<std::string_view> node_names_;
  absl::flat_hash_map<std::string_view, uint32_t, zone::NameHash> node_index_;
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(dns::kMaxMessageSize);
  dns::BlobRecorder recorder_;
};

absl::Status Builder::Collect() {
  node_of_.resize(records_.size());
  // Owners repeat (A and AAAA, RRSIGs): about 3/4 as many nodes as records
  // in a typical zone; sized once, so no rehash holds two tables at once.
  node_index_.reserve(records_.size() * 3 / 4);
  for (size_t i = 0; i < records_.size(); ++i) {
    ZoneRecord& rec = records_[i];
    for (char& c : rec.owner) c = static_cast<char>(dns::LowerAscii(c));
    if (!dns::IsSubdomain(rec.owner, zone_->apex)) {
      return absl::InvalidArgumentError(
          absl::StrCat(rec.file.path(), ":", rec.line, ": owner outside the zone"));
    }
    if (!NormalizeRdataNames(rec.type, &rec.rdata)) {
      return absl::InvalidArgumentError(absl::StrCat(
          rec.file.path(), ":", rec.line, ": malformed RDATA for type ", rec.type));
    }
    const std::string_view owner = rec.owner;
    auto [it, added] = node_index_.try_emplace(owner, node_names_.size());
    if (added) node_names_.push_back(owner);
    node_of_[i] = it->second;
  }
  return absl::OkStatus();
}

void Builder::AddAncestors() {
  const std::string_view apex = zone_->apex;
  auto [it, added] = node_index_.try_emplace(apex, node_names_.size());
  if (added) node_names_.push_back(apex);
  const size_t n = node_names_.size();
  for (size_t i = 0; i < n; ++i) {
    std::string_view name = node_names_[i];
    while (name.size() > apex.size()) {
      name.remove_prefix(1u + static_cast<uint8_t>(name[0]));
      auto [pit, padded] = node_index_.try_emplace(name, node_names_.size());
      if (!padded) break;  // its ancestors are already there
      node_names_.push_back(name);
    }
  }
}

absl::Status Builder::Layout() {
  Zone& z = *zone_;
  // Records grouped by node, then by type: each group is one RRset.
  std::vector<uint32_t> order(records_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  // Signatures are grouped by the type they cover (RFC 4035 2.2): each
  // group keeps its own TTL and is found by that type.
  auto covered = [&](uint32_t i) -> uint16_t {
    const ZoneRecord& r = records_[i];
    return r.type == rrtype::kRrsig && r.rdata.size() >= 2
               ? dns::Load16(reinterpret_cast<const uint8_t*>(r.rdata.data()))
               : 0;
  };
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (node_of_[a] != node_of_[b]) return node_of_[a] < node_of_[b];
    if (records_[a].type != records_[b].type) {
      return records_[a].type < records_[b].type;
    }
    if (covered(a) != covered(b)) return covered(a) < covered(b);
    return a < b;
  });
  size_t name_bytes = 0, rdata_bytes = 0;
  for (std::string_view n : node_names_) name_bytes += n.size();
  for (const ZoneRecord& r : records_) rdata_bytes += 2 + r.rdata.size();
  z.names.reserve(name_bytes);
  z.nodes.resize(node_names_.size());
  for (size_t i = 0; i < node_names_.size(); ++i) {
    zone::Node& node = z.nodes[i];
    node.name = std::string_view(z.names.data() + z.names.size(),
                                 node_names_[i].size());
    z.names.append(node_names_[i]);
    node.labels = static_cast<uint8_t>(dns::CountLabels(node.name));
  }
  // Names are copied: free the name tables before the RDATA arena grows,
  // and each record's strings once laid out, to keep the peak low.
  std::vector<std::string_view>().swap(node_names_);
  z.arena.reserve(rdata_bytes);
  size_t k = 0;
  while (k < order.size()) {
    const uint32_t node_id = node_of_[order[k]];
    zone::Node& node = z.nodes[node_id];
    node.rrset_begin = static_cast<uint32_t>(z.rrsets.size());
    while (k < order.size() && node_of_[order[k]] == node_id) {
      const ZoneRecord& first = records_[order[k]];
      const uint16_t first_covered = covered(order[k]);
      zone::RRset rs;
      rs.type = first.type;
      rs.ttl = first.ttl;  // validation made the TTLs of an RRset equal
      rs.rdata_offset = static_cast<uint32_t>(z.arena.size());
      size_t count = 0;
      for (; k < order.size() && node_of_[order[k]] == node_id &&
             records_[order[k]].type == first.type &&
             covered(order[k]) == first_covered;
           ++k, ++count) {
        ZoneRecord& rec = records_[order[k]];
        const std::string& r = rec.rdata;
        const char len[2] = {static_cast<char>(r.size() >> 8),
                             static_cast<char>(r.size())};
        z.arena.append(len, 2);
        z.arena.append(r);
        if (&rec != &first) {
          std::string().swap(rec.rdata);
          std::string().swap(rec.owner);
        }
      }
      if (count > 0xFFFF) {
        return absl::InvalidArgumentError(absl::StrCat(
            first.file.path(), ":", first.line, ": more than 65535 records in one "
            "RRset"));
      }
      rs.count = static_cast<uint16_t>(count);
      z.rrsets.push_back(rs);
      ++node.rrset_count;
    }
  }
  // The text records are no longer needed: free them before the blobs.
  std::vector<uint32_t>().swap(order);
  std::vector<ZoneRecord>().swap(records_);
  std::vector<uint32_t>().swap(node_of_);
  z.index.Reset(z.nodes.size());
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    z.index.Insert(zone::NameIndex::Hash(z.nodes[i].name), i);
  }
  z.apex_node = NodeIndexOf(z, z.apex);
  z.apex_labels = static_cast<uint8_t>(dns::CountLabels(z.apex));
  return absl::OkStatus();
}

void Builder::ComputeFlags() {
  Zone& z = *zone_;
  // Parents before children, so cut/DNAME inherit downwards.
  std::vector<uint32_t> order(z.nodes.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return z.nodes[a].labels < z.nodes[b].labels;
  });
  for (uint32_t i : order) {
    zone::Node& n = z.nodes[i];
    const bool apex = i == z.apex_node;
    if (apex) n.flags |= zone::kApex;
    if (n.rrset_count == 0) n.flags |= zone::kEmptyNonTerminal;
    if (z.FindRRset(n, rrtype::kCname)) n.flags |= zone::kHasCname;
    if (z.FindRRset(n, rrtype::kDname)) n.flags |= zone::kHasDname;
    if (!apex && z.FindRRset(n, rrtype::kNs)) n.flags |= zone::kDelegation;
    if (!apex) {
      std::string_view parent_name =
          n.name.substr(1u + static_cast<uint8_t>(n.name[0]));
      zone::Node& parent = z.nodes[NodeIndexOf(z, parent_name)];
      n.cut = parent.cut;
      n.dname = parent.dname;
      if (n.name.size() >= 2 && n.name[0] == 1 && n.name[1] == '*') {
        parent.flags |= zone::kWildcardChild;
      }
    }
    if (n.cut == zone::kNone && (n.flags & zone::kDelegation)) n.cut = i;
    if (n.dname == zone::kNone && (n.flags & zone::kHasDname)) n.dname = i;
  }
}

template <typename WriteFn>
uint32_t Builder::Compile(std::string_view qname, bool wildcard,
                          WriteFn write) {
  Zone& z = *zone_;
  dns::LowerName q;
  dns::LowerNameFromWire(qname, &q);
  uint8_t* msg = scratch_.data();
  std::memcpy(msg + dns::kHeaderSize, q.bytes, q.size);
  const size_t start = dns::kHeaderSize + q.size + 4;
  dns::MessageWriter w(msg, start, dns::kMaxMessageSize);
  w.AddQuestion(q, wildcard);
  recorder_.reloc_count = 0;
  recorder_.cut_count = 0;
  recorder_.overflow = false;
  w.set_recorder(&recorder_);
  dns::GeneralResult g;
  if (!write(q, w, &g) || g.truncated) return zone::kNone;
  zone::Blob b;
  b.offset = static_cast<uint32_t>(z.arena.size());
  b.size = static_cast<uint16_t>(w.pos() - start);
  b.an = w.an(), b.ns = w.ns(), b.ar = w.ar();
  b.rcode = g.rcode;
  b.outcome = static_cast<uint8_t>(g.outcome);
  b.relocatable = !recorder_.overflow;
  b.reloc_begin = static_cast<uint32_t>(z.relocs.size());
  b.reloc_count = static_cast<uint16_t>(recorder_.reloc_count);
  z.relocs.insert(z.relocs.end(), recorder_.relocs,
                  recorder_.relocs + recorder_.reloc_count);
  b.cut_begin = static_cast<uint32_t>(z.cuts.size());
  b.cut_count = static_cast<uint16_t>(recorder_.cut_count);
  z.cuts.insert(z.cuts.end(), recorder_.cuts,
                recorder_.cuts + recorder_.cut_count);
  z.arena.append(reinterpret_cast<const char*>(msg + start), b.size);
  z.blobs.push_back(b);
  return static_cast<uint32_t>(z.blobs.size() - 1);
}

absl::Status Builder::CompileBlobs() {
  Zone& z = *zone_;
  z.negative_blob = Compile(
      z.apex, false,
      [&](const dns::LowerName&, dns::MessageWriter& w, dns::GeneralResult*) {
        return dns::PutNegativeAuthority(z, w);
      });
  if (z.negative_blob == zone::kNone) {
    return absl::InvalidArgumentError("SOA record too large");
  }
  std::vector<zone::TypedBlob> typed;
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    zone::Node& n = z.nodes[i];
    if (n.cut == i) {
      n.referral_blob = Compile(
          n.name, false,
          [&](const dns::LowerName&, dns::MessageWriter& w,
              dns::GeneralResult*) { return dns::PutReferral(z, n, w); });
      if (n.referral_blob == zone::kNone) {
        return absl::InvalidArgumentError("delegation too large");
      }
    }
    // Only names whose exact lookup answers from their own data.
    if (n.cut != zone::kNone || (n.dname != zone::kNone && n.dname != i)) {
      continue;
    }
    const bool wildcard = n.name.size() >= 2 && n.name[0] == 1 &&
                          n.name[1] == '*';
    typed.clear();
    auto add = [&](uint16_t qtype) {
      for (const zone::TypedBlob& t : typed) {
        if (t.qtype == qtype) return;
      }
      const uint32_t b = Compile(
          n.name, wildcard,
          [&](const dns::LowerName& q, dns::MessageWriter& w,
              dns::GeneralResult* g) {
            dns::GeneralRequest req;
            req.zone = &z;
            req.qname = &q;
            req.qtype = qtype;
            *g = dns::AnswerGeneral(req, w);
            return true;
          });
      if (b != zone::kNone) {
        // Compile appended it last: move it inline into the typed entry.
        typed.push_back({qtype, z.blobs[b]});
        z.blobs.pop_back();
      }
    };
    for (uint32_t r = 0; r < n.rrset_count; ++r) {
      add(z.rrsets[n.rrset_begin + r].type);
    }
    if (n.flags & zone::kHasCname) {
      add(rrtype::kA);
      add(rrtype::kAaaa);
    }
    n.typed_blob_begin = static_cast<uint32_t>(z.typed_blobs.size());
    n.typed_blob_count = static_cast<uint16_t>(typed.size());
    for (const zone::TypedBlob& t : typed) {
      if (n.likely_answer == zone::kNone || t.qtype == rrtype::kA) {
        n.likely_answer = t.blob.offset;
      }
    }
    z.typed_blobs.insert(z.typed_blobs.end(), typed.begin(), typed.end());
  }
  return absl::OkStatus();
}

absl::Status Builder::Run() {
  if (absl::Status s = Collect(); !s.ok()) return s;
  AddAncestors();
  // Layout needs only node_of_ and node_names_: the table goes first.
  absl::flat_hash_map<std::string_view, uint32_t, zone::NameHash>().swap(
      node_index_);
  if (absl::Status s = Layout(); !s.ok()) return s;
  Zone& z = *zone_;
  const zone::Node& apex = z.nodes[z.apex_node];
  const zone::RRset* soa = z.FindRRset(apex, rrtype::kSoa);
  if (!soa || soa->count != 1) {
    return absl::InvalidArgumentError("zone has no single SOA at its apex");
  }
  z.soa_rrset = static_cast<uint32_t>(soa - z.rrsets.data());
  const uint8_t* rdata = z.Bytes(soa->rdata_offset) + 2;
  const size_t rdlen = dns::Load16(z.Bytes(soa->rdata_offset));
  z.serial = dns::Load32(rdata + rdlen - 20);
  const size_t mname = WireNameSize(
      std::string_view(reinterpret_cast<const char*>(rdata), rdlen), 0);
  z.soa_mname.assign(reinterpret_cast<const char*>(rdata), mname);
  z.soa_rname.assign(reinterpret_cast<const char*>(rdata) + mname,
                     rdlen - 20 - mname);
  z.negative_ttl = std::min(soa->ttl, dns::Load32(rdata + rdlen - 4));
  ComputeFlags();
  IndexDnssec();
  if (absl::Status s = CompileBlobs(); !s.ok()) return s;
  // No shrink_to_fit: the growth slack was never written, so it is not
  // resident, while copying a large arena would raise the load's peak.
  return absl::OkStatus();
}

void Builder::IndexDnssec() {
  Zone& z = *zone_;
  uint8_t key[dns::kMaxNameSize + 1];
  for (uint32_t i = 0; i < z.nodes.size(); ++i) {
    const zone::Node& n = z.nodes[i];
    if (z.FindRRset(n, rrtype::kRrsig)) z.is_signed = true;
    if (z.FindRRset(n, rrtype::kNsec)) {
      const size_t len = dns::CanonicalKey(n.name, key);
      z.nsec_chain.emplace_back(
          std::string(reinterpret_cast<const char*>(key), len), i);
    }
  }
  std::sort(z.nsec_chain.begin(), z.nsec_chain.end());
}

}  // namespace

absl::StatusOr<std::shared_ptr<const zone::Zone>> BuildZone(
    std::string_view apex, std::vector<ZoneRecord> records) {
  if (WireNameSize(apex, 0) != apex.size()) {
    return absl::InvalidArgumentError("invalid zone name");
  }
  Builder builder(Lower(apex), std::move(records));
  if (absl::Status s = builder.Run(); !s.ok()) return s;
  return builder.Release();
}

}  // namespace popdns::control
