// PowerDNS API documents from popdns zones. See pdns_json.h.
#include "control/update/pdns_json.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>
#include <vector>

#include "control/build/zone_records.h"
#include "control/update/zone_edit.h"
#include "control/zonefile/name_text.h"
#include "control/zonefile/rdata_to_text.h"
#include "dataplane/dns/wire.h"

namespace popdns::update {
namespace {

using nlohmann::json;

void Dump(const json& j, std::string* out) {
  switch (j.type()) {
    case json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, value] : j.items()) {  // std::map: sorted
        if (!first) out->append(", ");
        first = false;
        out->append(json(key).dump());
        out->append(": ");
        Dump(value, out);
      }
      out->push_back('}');
      return;
    }
    case json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const json& value : j) {
        if (!first) out->append(", ");
        first = false;
        Dump(value, out);
      }
      out->push_back(']');
      return;
    }
    default:
      out->append(j.dump());
  }
}

// PowerDNS orders names as DNSName::operator< does: the wire form read
// backwards, bytes lowercased (not RFC 4034 canonical order).
std::string ReversedLowerWire(std::string_view wire) {
  std::string key(wire.rbegin(), wire.rend());
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return key;
}

// A secondary's primary as PowerDNS writes a master: the port only when
// it is not 53.
std::string MasterText(const std::string& primary) {
  if (primary.size() > 3 && primary.ends_with(":53")) {
    std::string host = primary.substr(0, primary.size() - 3);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    return host;
  }
  return primary;
}

json KeyIds(const std::string& key) {
  json ids = json::array();
  if (!key.empty()) {
    ids.push_back(ZoneIdFromName(key.ends_with(".") ? key : key + "."));
  }
  return ids;
}

struct RRsetOut {
  std::string owner;  // wire
  uint16_t type;
  uint32_t ttl;
  std::vector<std::string> contents;
};

json RRsetsJson(std::vector<control::ZoneRecord> records) {
  // Group by owner and type, keeping the zone's record order in a set.
  std::vector<RRsetOut> sets;
  std::map<std::pair<std::string, uint16_t>, size_t> where;
  for (control::ZoneRecord& r : records) {
    const auto key = std::make_pair(control::NameToLower(r.owner), r.type);
    auto [it, added] = where.try_emplace(key, sets.size());
    if (added) sets.push_back({key.first, r.type, r.ttl, {}});
    RRsetOut& s = sets[it->second];
    s.ttl = std::min(s.ttl, r.ttl);  // PowerDNS shows the smallest
    s.contents.push_back(control::RdataToText(r.type, r.rdata));
  }
  std::vector<std::pair<std::string, size_t>> order;
  for (size_t i = 0; i < sets.size(); ++i) {
    order.emplace_back(ReversedLowerWire(sets[i].owner), i);
  }
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return b.first < a.first;
    return sets[b.second].type < sets[a.second].type;
  });
  json out = json::array();
  for (const auto& [key, i] : order) {
    const RRsetOut& s = sets[i];
    json recs = json::array();
    for (const std::string& c : s.contents) {
      recs.push_back({{"content", c}, {"disabled", false}});
    }
    out.push_back({{"comments", json::array()},
                   {"name", control::NameToText(s.owner)},
                   {"records", std::move(recs)},
                   {"ttl", s.ttl},
                   {"type", control::TypeToText(s.type)}});
  }
  return out;
}

std::vector<control::ZoneRecord> FilteredRecords(const zone::Zone& z,
                                                 const RRsetFilter& filter) {
  if (!filter.name_wire) {
    std::vector<control::ZoneRecord> all = control::RecordsOf(z);
    if (filter.type) {
      std::erase_if(all, [&](const control::ZoneRecord& r) {
        return r.type != *filter.type;
      });
    }
    return all;
  }
  std::vector<control::ZoneRecord> out;
  ZoneEdit reader(z);
  if (!reader.InZone(*filter.name_wire)) return out;
  for (const EditRecord& r : reader.RecordsAt(*filter.name_wire)) {
    if (filter.type && r.type != *filter.type) continue;
    control::ZoneRecord zr;
    zr.owner = *filter.name_wire;
    zr.type = r.type;
    zr.ttl = r.ttl;
    zr.rdata = r.rdata;
    out.push_back(std::move(zr));
  }
  return out;
}

}  // namespace

std::string DumpJson(const json& doc) {
  std::string out;
  Dump(doc, &out);
  return out;
}

std::string ZoneIdFromName(std::string_view name_text) {
  std::string id;
  for (unsigned char c : name_text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '.' || c == '-') {
      id.push_back(static_cast<char>(c));
    } else {
      char esc[4];
      std::snprintf(esc, sizeof(esc), "=%02X", c);
      id.append(esc);
    }
  }
  if (id.empty() || id.back() != '.') id.push_back('.');
  if (id == ".") id = "=2E";  // a lone dot does not survive every client
  return id;
}

std::optional<std::string> ZoneNameFromId(std::string_view id) {
  if (id.empty()) return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;  // PowerDNS takes uppercase only
  };
  std::string name;
  for (size_t i = 0; i < id.size(); ++i) {
    if (id[i] != '=') {
      name.push_back(id[i]);
      continue;
    }
    if (i + 2 >= id.size()) return std::nullopt;
    const int hi = hex(id[i + 1]), lo = hex(id[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    name.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return name;
}

const char* SoaEditApiName(control::SerialPolicy policy) {
  return policy == control::SerialPolicy::kUnixtime ? "EPOCH" : "INCREASE";
}

json ZoneSummaryJson(const control::ZoneConfig& config,
                     const zone::Zone* zone) {
  std::string name = config.name;
  if (zone != nullptr) {
    name = control::NameToText(zone->apex);
  } else if (auto wire = control::NameFromText(
                 name.ends_with(".") ? name : name + ".", "");
             wire.ok()) {
    name = control::NameToText(control::NameToLower(*wire));
  }
  const std::string id = ZoneIdFromName(name);
  json masters = json::array();
  for (const std::string& p : config.primaries) masters.push_back(MasterText(p));
  const uint32_t serial = zone != nullptr ? zone->serial : 0;
  return {
      {"account", ""},
      {"catalog", ""},
      {"dnssec", zone != nullptr && zone->is_signed},
      {"edited_serial", serial},
      {"id", id},
      {"kind", config.secondary() ? "Slave" : "Master"},
      {"last_check", 0},
      {"masters", std::move(masters)},
      {"name", name},
      // Every change of a primary NOTIFYs its secondaries at once.
      {"notified_serial", config.secondary() ? 0 : serial},
      {"serial", serial},
      {"url", "/api/v1/servers/localhost/zones/" + id},
  };
}

json ZoneDetailJson(const control::ZoneConfig& config, const zone::Zone* zone,
                    const RRsetFilter& filter) {
  json doc = ZoneSummaryJson(config, zone);
  doc["api_rectify"] = false;
  doc["nsec3narrow"] = false;
  doc["nsec3param"] = "";
  doc["soa_edit"] = "";
  // The API edits primaries only (PowerDNS leaves it empty there too).
  doc["soa_edit_api"] =
      config.secondary() ? "" : SoaEditApiName(config.serial_policy);
  doc["master_tsig_key_ids"] =
      config.secondary() ? json::array() : KeyIds(config.key);
  doc["slave_tsig_key_ids"] =
      config.secondary() ? KeyIds(config.key) : json::array();
  if (filter.rrsets) {
    doc["rrsets"] = zone != nullptr
                        ? RRsetsJson(FilteredRecords(*zone, filter))
                        : json::array();
  }
  return doc;
}

}  // namespace popdns::update
