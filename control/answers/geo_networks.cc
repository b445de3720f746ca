#include "control/answers/geo_networks.h"

#include <maxminddb.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "dataplane/zone/variant.h"

namespace popdns::control {
namespace {

// MMDB_open and close, with errors that name the file.
class Database {
 public:
  absl::Status Open(const std::string& path) {
    const int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db_);
    if (rc != MMDB_SUCCESS) {
      const std::string why = rc == MMDB_FILE_OPEN_ERROR
                                  ? std::string(std::strerror(errno))
                                  : MMDB_strerror(rc);
      const std::string message =
          absl::StrCat("GeoIP database ", path, ": ", why);
      return rc == MMDB_FILE_OPEN_ERROR ? absl::NotFoundError(message)
                                        : absl::InvalidArgumentError(message);
    }
    open_ = true;
    if (db_.metadata.ip_version != 4 && db_.metadata.ip_version != 6) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GeoIP database ", path, ": ip_version ", db_.metadata.ip_version));
    }
    return absl::OkStatus();
  }
  ~Database() {
    if (open_) MMDB_close(&db_);
  }
  MMDB_s* get() { return &db_; }

 private:
  MMDB_s db_{};
  bool open_ = false;
};

// The key's value in a data record, or "" if it has none.
std::string ValueOf(MMDB_entry_s entry, GeoKey key) {
  MMDB_entry_data_s data;
  if (key == GeoKey::kAsn) {
    if (MMDB_get_value(&entry, &data, "autonomous_system_number", nullptr) ==
            MMDB_SUCCESS &&
        data.has_data && data.type == MMDB_DATA_TYPE_UINT32) {
      return std::to_string(data.uint32);
    }
    return "";
  }
  for (const char* field : {"country", "registered_country"}) {
    if (MMDB_get_value(&entry, &data, field, "iso_code", nullptr) ==
            MMDB_SUCCESS &&
        data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING &&
        data.data_size == 2) {
      return std::string(data.utf8_string, 2);
    }
  }
  return "";
}

}  // namespace

absl::Status CheckGeoDatabase(const std::string& path) {
  Database db;
  return db.Open(path);
}

absl::StatusOr<GeoNetworks> LoadGeoNetworks(const std::string& path,
                                            GeoKey key) {
  Database db;
  if (absl::Status s = db.Open(path); !s.ok()) return s;
  MMDB_s* mmdb = db.get();
  const uint32_t node_count = mmdb->metadata.node_count;
  const int depth_bits = mmdb->metadata.ip_version == 6 ? 128 : 32;
  GeoNetworks out;
  absl::flat_hash_map<std::string, uint32_t> id_of;
  absl::flat_hash_map<uint32_t, uint32_t> id_of_record;  // data offset -> id
  std::vector<zone::NetworkTable::Prefix> prefixes;
  // MaxMind's IPv6 databases alias the IPv4 subtree (::/96) at
  // ::ffff:0:0/96 and 2002::/16: walked once, under ::/96.
  uint32_t ipv4_node = node_count;
  if (depth_bits == 128) {
    uint32_t n = 0;
    for (int i = 0; i < 96 && n < node_count; ++i) {
      MMDB_search_node_s node;
      if (MMDB_read_node(mmdb, n, &node) != MMDB_SUCCESS) break;
      if (node.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) {
        n = node_count;
        break;
      }
      n = static_cast<uint32_t>(node.left_record);
    }
    ipv4_node = n;
  }
  struct Pending {
    uint32_t node;
    int depth;
    zone::Address bits;  // the path so far: its high `depth` of depth_bits
  };
  std::vector<Pending> stack = {{0, 0, 0}};
  while (!stack.empty()) {
    const Pending p = stack.back();
    stack.pop_back();
    MMDB_search_node_s node;
    if (int rc = MMDB_read_node(mmdb, p.node, &node); rc != MMDB_SUCCESS) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GeoIP database ", path, ": node ", p.node, ": ", MMDB_strerror(rc)));
    }
    for (int side = 0; side < 2; ++side) {
      const int depth = p.depth + 1;
      const zone::Address bits =
          side == 0 ? p.bits : p.bits | (zone::Address(1) << (depth_bits - depth));
      const uint8_t type = side == 0 ? node.left_record_type
                                     : node.right_record_type;
      const uint64_t record = side == 0 ? node.left_record : node.right_record;
      if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
        if (depth >= depth_bits) continue;  // malformed: deeper than the space
        if (record == ipv4_node && bits != 0) continue;  // an alias
        stack.push_back({static_cast<uint32_t>(record), depth, bits});
        continue;
      }
      if (type != MMDB_RECORD_TYPE_DATA) continue;
      MMDB_entry_s entry = side == 0 ? node.left_record_entry
                                     : node.right_record_entry;
      uint32_t id;
      if (auto it = id_of_record.find(entry.offset); it != id_of_record.end()) {
        id = it->second;
      } else {
        const std::string value = ValueOf(entry, key);
        if (value.empty()) {
          id = zone::NetworkTable::kNoNetwork;
        } else if (auto v = id_of.find(value); v != id_of.end()) {
          id = v->second;
        } else {
          id = static_cast<uint32_t>(out.names.size());
          id_of.emplace(value, id);
          out.names.push_back(value);
          out.selectors.push_back(zone::VariantSelectorHash(
              key == GeoKey::kAsn ? zone::VariantKind::kAsn
                                  : zone::VariantKind::kCountry,
              value));
        }
        id_of_record.emplace(entry.offset, id);
      }
      if (id == zone::NetworkTable::kNoNetwork) continue;
      zone::NetworkTable::Prefix prefix;
      if (depth_bits == 32) {
        prefix.address = zone::FromIpv4(static_cast<uint32_t>(bits));
        prefix.length = static_cast<uint8_t>(zone::kIpv4MappedBits + depth);
      } else if (depth >= 96 && (bits >> 32) == 0) {
        prefix.address = zone::FromIpv4(static_cast<uint32_t>(bits));
        prefix.length = static_cast<uint8_t>(depth);
      } else {
        prefix.address = bits;
        prefix.length = static_cast<uint8_t>(depth);
      }
      prefix.network = id;
      prefixes.push_back(prefix);
    }
  }
  out.prefixes = prefixes.size();
  auto table = zone::NetworkTable::Build(std::move(prefixes));
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GeoIP database ", path, ": ", table.status().message()));
  }
  out.table = *std::move(table);
  return out;
}

std::shared_ptr<const GeoNetworks> SharedGeoNetworks(const std::string& path,
                                                     GeoKey key) {
  static std::mutex mu;
  static auto* loaded = new std::map<std::pair<std::string, GeoKey>,
                                     std::shared_ptr<const GeoNetworks>>;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = (*loaded)[{path, key}];
  if (slot) return slot;
  auto g = LoadGeoNetworks(path, key);
  if (!g.ok()) {
    std::fprintf(stderr, "popdns: %s\n", std::string(g.status().message()).c_str());
    return nullptr;
  }
  slot = std::make_shared<const GeoNetworks>(*std::move(g));
  return slot;
}

}  // namespace popdns::control
