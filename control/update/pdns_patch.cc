// PowerDNS API PATCH -> ZoneEdit. See pdns_patch.h.
#include "control/update/pdns_patch.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_to_text.h"
#include "control/zonefile/zone_file.h"
#include "dataplane/dns/wire.h"

namespace popdns::update {
namespace {

using nlohmann::json;
namespace rrtype = dns::rrtype;

absl::Status Api(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

// PowerDNS's stringFromJson / intFromJson / boolFromJson (pdns/json.cc),
// messages included.
absl::StatusOr<std::string> StringFrom(const json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_string()) {
    return j[key].get<std::string>();
  }
  return Api(absl::StrCat("Key '", key, "' not present or not a String"));
}

absl::StatusOr<int64_t> IntFrom(const json& j, const char* key) {
  if (j.is_object() && j.contains(key)) {
    const json& v = j[key];
    if (v.is_number_integer()) return v.get<int64_t>();
    // PowerDNS truncates a JSON double; one beyond int64 (or NaN) is not
    // an integer of any kind (and converting it would be undefined).
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (d >= -9.2e18 && d <= 9.2e18) return static_cast<int64_t>(d);
    }
    int64_t value = 0;
    if (v.is_string() && absl::SimpleAtoi(v.get<std::string>(), &value)) {
      return value;
    }
  }
  return Api(absl::StrCat("Key '", key, "' not an Integer or not present"));
}

// RFC 1035 5.1 escapes decoded, for comparing strings written with
// different escapes ("\065" and "A").
std::string Unescaped(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
    } else if (i + 3 < text.size() && absl::ascii_isdigit(text[i + 1]) &&
               absl::ascii_isdigit(text[i + 2]) &&
               absl::ascii_isdigit(text[i + 3])) {
      out.push_back(static_cast<char>((text[i + 1] - '0') * 100 +
                                      (text[i + 2] - '0') * 10 +
                                      (text[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(text[++i]);
    }
  }
  return out;
}

// Types whose RDATA holds character-strings: PowerDNS keeps their text as
// the client wrote it, escapes included, so any escaping is accepted.
bool HasStrings(uint16_t type) {
  return type == rrtype::kTxt || type == 99 /* SPF */ || type == 13 /* HINFO */ ||
         type == 35 /* NAPTR */ || type == 256 /* URI */ || type == 257 /* CAA */;
}

// DNSName::isHostname: letters, digits, inner hyphens.
bool IsHostname(std::string_view wire) {
  for (size_t i = 0; i < wire.size() && wire[i] != 0;) {
    const size_t n = static_cast<unsigned char>(wire[i]);
    std::string_view label = wire.substr(i + 1, n);
    for (size_t k = 0; k < label.size(); ++k) {
      const char c = label[k];
      const bool inner = k > 0 && k + 1 < label.size();
      if (!absl::ascii_isalnum(c) && !(inner && c == '-')) return false;
    }
    i += 1 + n;
  }
  return wire.size() > 1;
}

// The host name an NS, MX or SRV record points at (pdns's
// checkHostnameCorrectness); "" for other types.
std::string_view TargetOf(uint16_t type, std::string_view rdata) {
  if (type == rrtype::kNs) return rdata;
  if (type == rrtype::kMx && rdata.size() > 2) return rdata.substr(2);
  if (type == rrtype::kSrv && rdata.size() > 6) return rdata.substr(6);
  return {};
}

uint32_t SerialOf(std::string_view soa_rdata) {
  return dns::Load32(reinterpret_cast<const uint8_t*>(soa_rdata.data()) +
                     soa_rdata.size() - 20);
}

struct NewRecord {
  std::string content;  // as sent
  EditRecord record;
};

class Patcher {
 public:
  Patcher(control::SerialPolicy policy, uint32_t now, ZoneEdit* edit)
      : policy_(policy), now_(now), edit_(*edit) {}

  absl::Status Apply(const json& document) {
    if (!document.is_object() || !document.contains("rrsets") ||
        !document["rrsets"].is_array()) {
      return Api("No rrsets given in update request");
    }
    for (const json& rrset : document["rrsets"]) {
      if (absl::Status s = One(rrset); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status One(const json& rrset) {
    auto changetype = StringFrom(rrset, "changetype");
    if (!changetype.ok()) return changetype.status();
    absl::AsciiStrToUpper(&*changetype);
    auto name = StringFrom(rrset, "name");
    if (!name.ok()) return name.status();
    // apiNameToDNSName: absolute names only.
    if (name->empty() || name->back() != '.') {
      return Api(absl::StrCat("DNS Name '", *name, "' is not canonical"));
    }
    auto wire = control::NameFromText(*name, "");
    if (!wire.ok()) {
      return Api(absl::StrCat("Unable to parse DNS Name '", *name, "'"));
    }
    const std::string owner = control::NameToLower(*wire);
    const std::string owner_text = control::NameToText(owner);
    // apiCheckQNameAllowedCharacters (a leading "*." is allowed).
    std::string_view check = owner_text;
    if (check.starts_with("*.")) check.remove_prefix(2);
    if (check.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.-") !=
        std::string_view::npos) {
      return Api(absl::StrCat("Name '", owner_text,
                              "' contains unsupported characters"));
    }
    auto type_text = StringFrom(rrset, "type");
    if (!type_text.ok()) return type_text.status();
    const std::optional<uint16_t> type = control::TypeFromText(*type_text);
    if (!type || *type == 0) {
      return Api(absl::StrCat("RRset ", owner_text, " IN ", *type_text,
                              ": unknown type given"));
    }
    const std::string rrset_text =
        absl::StrCat("RRset ", owner_text, " IN ", control::TypeToText(*type));
    if (!seen_.insert({owner, *type, *changetype}).second) {
      return Api(absl::StrCat("Duplicate ", rrset_text,
                              " with changetype: ", *changetype));
    }
    if (*changetype == "DELETE") {
      // PowerDNS would delete it and serve a zone without one.
      if (*type == rrtype::kSoa && owner == edit_.base().apex) {
        return Api(rrset_text + ": the SOA cannot be deleted");
      }
      edit_.ReplaceRRset(owner, *type, {});
      return absl::OkStatus();
    }
    if (*changetype != "REPLACE") return Api("Changetype not understood");
    return Replace(rrset, owner, owner_text, *type, rrset_text);
  }

  absl::Status Replace(const json& rrset, const std::string& owner,
                       const std::string& owner_text, uint16_t type,
                       const std::string& rrset_text) {
    if (!edit_.InZone(owner)) return Api(rrset_text + ": Name is out of zone");
    const bool replace_records = rrset.contains("records") &&
                                 rrset["records"].is_array();
    const bool replace_comments = rrset.contains("comments") &&
                                  rrset["comments"].is_array();
    if (!replace_records && !replace_comments) {
      return Api("No change for " + rrset_text);
    }
    std::vector<NewRecord> records;
    if (replace_records) {
      auto ttl = IntFrom(rrset, "ttl");
      if (!ttl.ok()) return ttl.status();
      // RFC 2181 8: a TTL is 31 bits.
      if (*ttl < 0 || *ttl > 0x7fffffff) {
        return Api(absl::StrCat(rrset_text, ": TTL ", *ttl,
                                " is out of range (0 to 2147483647)"));
      }
      if (type == rrtype::kOpt || type == rrtype::kTsig) {
        return Api(rrset_text + ": invalid type given");
      }
      if (auto s = Gather(rrset["records"], owner_text, type,
                          static_cast<uint32_t>(*ttl), &records);
          !s.ok()) {
        return s;
      }
      if (auto s = CheckNew(records, owner, owner_text, type, rrset_text);
          !s.ok()) {
        return s;
      }
    }
    if (replace_comments && !rrset["comments"].empty()) {
      return Api(rrset_text + ": comments are not supported by popdns");
    }
    if (!replace_records) return absl::OkStatus();
    if (auto s = CheckNeighbours(owner, type, rrset_text); !s.ok()) return s;
    if (type == rrtype::kSoa) return ReplaceSoa(owner, records, rrset_text);
    std::vector<EditRecord> set;
    for (NewRecord& r : records) set.push_back(std::move(r.record));
    edit_.ReplaceRRset(owner, type, set);
    return absl::OkStatus();
  }

  // gatherRecords: every record's content in the API's own form.
  absl::Status Gather(const json& items, const std::string& owner_text,
                      uint16_t type, uint32_t ttl,
                      std::vector<NewRecord>* out) {
    for (const json& item : items) {
      auto content = StringFrom(item, "content");
      if (!content.ok()) return content.status();
      if (item.is_object() && item.contains("disabled") &&
          !item["disabled"].is_null()) {
        if (!item["disabled"].is_boolean()) {
          return Api("Key 'disabled' not present or not a Bool");
        }
        if (item["disabled"].get<bool>()) {
          return Api(absl::StrCat("Record ", owner_text, "/",
                                  control::TypeToText(type), " '", *content,
                                  "': disabled records are not supported by "
                                  "popdns"));
        }
      }
      auto rdata = ContentToRdata(owner_text, type, *content);
      if (!rdata.ok()) return rdata.status();
      out->push_back({std::move(*content), {type, ttl, std::move(*rdata)}});
    }
    return absl::OkStatus();
  }

  // checkNewRecords: one record for CNAME/DNAME/SOA, no duplicates, SOA
  // and DNSKEY at the apex only, DS not there, host names where RFC 1123
  // wants them.
  absl::Status CheckNew(std::vector<NewRecord>& records,
                        const std::string& owner,
                        const std::string& owner_text, uint16_t type,
                        const std::string& rrset_text) {
    std::sort(records.begin(), records.end(),
              [](const NewRecord& a, const NewRecord& b) {
                return a.record.rdata < b.record.rdata;
              });
    const bool apex = owner == edit_.base().apex;
    for (size_t i = 0; i < records.size(); ++i) {
      if (i > 0) {
        if (type == rrtype::kCname || type == rrtype::kDname ||
            type == rrtype::kSoa) {
          return Api(rrset_text + " has more than one record");
        }
        if (records[i].record.rdata == records[i - 1].record.rdata) {
          return Api(absl::StrCat("Duplicate record in ", rrset_text,
                                  " with content \"", records[i].content,
                                  "\""));
        }
      }
      const std::string record_text = absl::StrCat(
          "Record ", owner_text, " IN ", control::TypeToText(type));
      if (apex && type == rrtype::kDs) {
        return Api(record_text + " is not allowed at apex");
      }
      if (!apex && (type == rrtype::kSoa || type == rrtype::kDnskey)) {
        return Api(record_text + " is only allowed at apex");
      }
      std::string_view target = TargetOf(type, records[i].record.rdata);
      const bool null_target = target.size() == 1 && type != rrtype::kNs;
      if (!target.empty() && !null_target && !IsHostname(target)) {
        return Api(absl::StrCat(rrset_text, " non-hostname content ",
                                control::NameToText(target)));
      }
    }
    return absl::OkStatus();
  }

  // What is already at the name, after the earlier RRsets of this PATCH.
  absl::Status CheckNeighbours(const std::string& owner, uint16_t type,
                               const std::string& rrset_text) {
    bool dname = false, ns = false;
    for (const EditRecord& r : edit_.RecordsAt(owner)) {
      dname |= type == rrtype::kDname || r.type == rrtype::kDname;
      ns |= type == rrtype::kNs || r.type == rrtype::kNs;
      // RFC 1034 3.6.2: a CNAME is alone at its name.
      if (type != r.type &&
          (type == rrtype::kCname || r.type == rrtype::kCname)) {
        return Api(rrset_text + ": Conflicts with pre-existing RRset");
      }
    }
    if (dname && ns && owner != edit_.base().apex) {
      return Api(rrset_text +
                 ": Cannot have both NS and DNAME except in zone apex");
    }
    return absl::OkStatus();
  }

  absl::Status ReplaceSoa(const std::string& owner,
                          std::vector<NewRecord>& records,
                          const std::string& rrset_text) {
    if (records.empty()) return Api(rrset_text + ": the SOA cannot be deleted");
    EditRecord& soa = records[0].record;
    uint32_t from = edit_.base().serial;
    const uint32_t given = SerialOf(soa.rdata);
    if (xfr::SerialLess(from, given)) from = given;
    dns::Store32(reinterpret_cast<uint8_t*>(soa.rdata.data()) +
                     soa.rdata.size() - 20,
                 NextSerial(from, policy_, now_));
    if (!edit_.Add(owner, rrtype::kSoa, soa.ttl, soa.rdata)) {
      return Api(rrset_text + ": the serial does not move forward");
    }
    return absl::OkStatus();
  }

  control::SerialPolicy policy_;
  uint32_t now_;
  ZoneEdit& edit_;
  std::set<std::tuple<std::string, uint16_t, std::string>> seen_;
};

}  // namespace

absl::StatusOr<std::string> ContentToRdata(std::string_view owner_text,
                                           uint16_t type,
                                           std::string_view content) {
  const std::string prefix =
      absl::StrCat("Record ", std::string(owner_text), "/",
                   control::TypeToText(type), " '", std::string(content),
                   "': ");
  if (content.find_first_of(std::string_view("\n\r\0", 3)) !=
      std::string_view::npos) {
    return Api(prefix + "Parsing record content: line breaks are not allowed");
  }
  if (type == rrtype::kAaaa) {
    // PowerDNS takes any IPv6 text but the IPv4-mapped dotted forms.
    std::string addr(content);
    unsigned char bytes[16];
    if (inet_pton(AF_INET6, addr.c_str(), bytes) != 1 ||
        addr.find('.') != std::string::npos) {
      return Api(prefix + "Invalid IPv6 address");
    }
    return std::string(reinterpret_cast<const char*>(bytes), 16);
  }
  control::ZoneFileOptions options;
  options.origin_wire = std::string(1, '\0');
  const std::string text = absl::StrCat(
      "$ORIGIN .\n. 0 IN ", control::TypeToText(type), " ",
      std::string(content), "\n");
  auto parsed = control::ParseZoneText(text, "content", options);
  if (!parsed.ok()) {
    std::string why(parsed.status().message());
    if (size_t at = why.find(": "); at != std::string::npos) {
      why = why.substr(at + 2);  // drop "content:2:13"
    }
    return Api(prefix + "Parsing record content: " + why);
  }
  if (parsed->size() != 1) {
    return Api(prefix + "Parsing record content: not one record");
  }
  std::string rdata = std::move((*parsed)[0].rdata);
  const std::string printed = control::RdataToText(type, rdata);
  if (!absl::EqualsIgnoreCase(printed, std::string(content)) &&
      !(HasStrings(type) &&
        absl::EqualsIgnoreCase(Unescaped(printed), Unescaped(content)))) {
    return Api(prefix + "Not in expected format (parsed as '" + printed +
               "')");
  }
  return rdata;
}

absl::Status ApplyPatch(const json& document, control::SerialPolicy policy,
                        uint32_t now, ZoneEdit* edit) {
  return Patcher(policy, now, edit).Apply(document);
}

}  // namespace popdns::update
