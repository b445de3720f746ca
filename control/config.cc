#include "control/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>

#include <charconv>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bpf/xdp_dns_shared.h"
#include "control/answers/network_prefix.h"
#include "control/zonefile/name_text.h"
#include "dataplane/dns/answer.h"

namespace popdns::control {
namespace {

absl::Status At(const std::string& file, const YAML::Mark& mark,
                const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat(file, ":", mark.line + 1, ":", mark.column + 1, ": ", what));
}

// The key path ("zones[1].file") of the value at `mark` below `n`.
bool FindKeyPath(const YAML::Node& n, const YAML::Mark& mark,
                 std::string* path) {
  auto at = [&mark](const YAML::Node& v) {
    return v.Mark().pos == mark.pos && v.Mark().line == mark.line &&
           v.Mark().column == mark.column;
  };
  if (n.IsMap()) {
    for (const auto& kv : n) {
      std::string here = (path->empty() ? "" : *path + ".") +
                         (kv.first.IsScalar() ? kv.first.Scalar() : "?");
      if (at(kv.second) || FindKeyPath(kv.second, mark, &here)) {
        *path = here;
        return true;
      }
    }
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) {
      std::string here = absl::StrCat(*path, "[", i, "]");
      if (at(n[i]) || FindKeyPath(n[i], mark, &here)) {
        *path = here;
        return true;
      }
    }
  }
  return false;
}

// yaml-cpp's own errors, made to say which key: a conversion error only
// says "bad conversion", and it only happens where a single value was
// read from a list or a mapping.
absl::Status YamlError(const std::string& file, const YAML::Node& root,
                       const YAML::Exception& e) {
  if (dynamic_cast<const YAML::BadConversion*>(&e) != nullptr) {
    std::string key;
    const std::string what =
        "expected a single value (string or number), not a list or mapping";
    return At(file, e.mark,
              FindKeyPath(root, e.mark, &key) ? key + ": " + what : what);
  }
  if (dynamic_cast<const YAML::ParserException*>(&e) != nullptr) {
    return At(file, e.mark, "YAML syntax: " + e.msg);
  }
  return At(file, e.mark, e.msg);
}

std::string Absolute(std::string name) {
  if (name.empty() || name.back() != '.') name.push_back('.');
  return name;
}

template <typename T>
absl::Status ReadInt(const std::string& file, const YAML::Node& n,
                     const char* key, int64_t lo, int64_t hi, T* out) {
  int64_t v;
  try {
    v = n.as<int64_t>();
  } catch (const YAML::Exception&) {
    return At(file, n.Mark(), absl::StrCat(key, ": expected an integer"));
  }
  if (v < lo || v > hi) {
    return At(file, n.Mark(),
              absl::StrCat(key, ": must be in [", lo, ", ", hi, "]"));
  }
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

absl::Status ReadStrings(const std::string& file, const YAML::Node& n,
                         const char* key, std::vector<std::string>* out) {
  if (!n.IsSequence()) {
    return At(file, n.Mark(), absl::StrCat(key, ": expected a list"));
  }
  for (const YAML::Node& v : n) out->push_back(v.as<std::string>());
  return absl::OkStatus();
}

// "192.0.2.10/32", "2001:db8::/64", or a bare address (a host).
bool ValidPrefix(const std::string& text) {
  const size_t slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  unsigned char buf[16];
  int max_len;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    max_len = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    max_len = 128;
  } else {
    return false;
  }
  if (slash == std::string::npos) return true;
  int len = -1;
  const std::string p = text.substr(slash + 1);
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), len);
  return ec == std::errc() && ptr == p.data() + p.size() && len >= 0 &&
         len <= max_len;
}

absl::Status ReadAddresses(const std::string& file, const YAML::Node& n,
                           const char* key, std::vector<std::string>* out) {
  if (absl::Status s = ReadStrings(file, n, key, out); !s.ok()) return s;
  for (size_t i = 0; i < out->size(); ++i) {
    std::string host;
    uint16_t port;
    unsigned char buf[16];
    if (!ParseListenAddress((*out)[i], &host, &port).ok() ||
        (inet_pton(AF_INET, host.c_str(), buf) != 1 &&
         inet_pton(AF_INET6, host.c_str(), buf) != 1)) {
      return At(file, n[i].Mark(),
                absl::StrCat(key, ": bad address '", (*out)[i],
                             "' (expected ADDR or ADDR:PORT, [V6]:PORT)"));
    }
  }
  return absl::OkStatus();
}

// `update:` of zone `zone` (presentation, absolute): a list of
// {key, subtree, types}. Keys must be listed in `keys:` already.
absl::Status ReadUpdateRules(const std::string& file, const YAML::Node& n,
                             const std::string& zone, const Config& c,
                             std::vector<UpdateRule>* out) {
  if (!n.IsSequence()) return At(file, n.Mark(), "update: expected a list");
  auto zone_wire = NameFromText(zone, "");
  for (const YAML::Node& r : n) {
    if (!r.IsMap() || !r["key"]) {
      return At(file, r.Mark(),
                "update: each rule needs 'key' (and 'subtree', 'types')");
    }
    UpdateRule rule;
    rule.where = absl::StrCat(file, ":", r.Mark().line + 1, ":",
                              r.Mark().column + 1);
    rule.subtree = zone;
    for (const auto& kv : r) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (key == "key") {
        rule.key = v.as<std::string>();
        bool known = false;
        for (const KeyConfig& k : c.keys) {
          known |= Absolute(k.name) == Absolute(rule.key);
        }
        if (!known) {
          return At(file, v.Mark(),
                    "update: unknown key '" + rule.key +
                        "' (keys: must list it, before zones:)");
        }
      } else if (key == "subtree") {
        rule.subtree = Absolute(v.as<std::string>());
        auto wire = NameFromText(rule.subtree, "");
        if (!wire.ok()) {
          return At(file, v.Mark(),
                    absl::StrCat("update: subtree: ", wire.status().message()));
        }
        if (!zone_wire.ok() || !NameIsAtOrBelow(NameToLower(*wire),
                                                NameToLower(*zone_wire))) {
          return At(file, v.Mark(),
                    "update: subtree " + rule.subtree + " is not in zone " +
                        zone);
        }
      } else if (key == "types") {
        if (!v.IsSequence()) {
          return At(file, v.Mark(), "update: types: expected a list");
        }
        for (const YAML::Node& t : v) {
          auto type = TypeFromText(absl::AsciiStrToUpper(t.as<std::string>()));
          if (!type) {
            return At(file, t.Mark(),
                      "update: types: unknown type '" + t.as<std::string>() +
                          "'");
          }
          rule.types.push_back(*type);
        }
      } else {
        return At(file, kv.first.Mark(), "update: unknown key '" + key + "'");
      }
    }
    out->push_back(std::move(rule));
  }
  return absl::OkStatus();
}

absl::Status ReadZones(const std::string& file, const YAML::Node& n,
                       const std::filesystem::path& dir, Config* c) {
  if (!n.IsSequence()) return At(file, n.Mark(), "zones: expected a list");
  for (const YAML::Node& z : n) {
    if (!z.IsMap() || !z["name"] || (!z["file"] && !z["primaries"])) {
      return At(file, z.Mark(), "zone: needs 'name' and 'file' or 'primaries'");
    }
    ZoneConfig zc;
    zc.name = Absolute(z["name"].as<std::string>());
    for (const auto& kv : z) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      absl::Status s;
      auto path = [&](std::string* out) {
        std::filesystem::path p = v.as<std::string>();
        if (p.is_relative()) p = dir / p;
        *out = p.string();
      };
      if (key == "name") {
      } else if (key == "file") {
        path(&zc.file);
      } else if (key == "storage") {
        path(&zc.storage);
      } else if (key == "primaries") {
        s = ReadAddresses(file, v, "primaries", &zc.primaries);
        if (s.ok() && zc.primaries.empty()) {
          s = At(file, v.Mark(), "primaries: empty list");
        }
      } else if (key == "notify") {
        s = ReadAddresses(file, v, "notify", &zc.notify);
      } else if (key == "allow_transfer") {
        s = ReadStrings(file, v, "allow_transfer", &zc.allow_transfer);
        for (size_t i = 0; s.ok() && i < zc.allow_transfer.size(); ++i) {
          if (!ValidPrefix(zc.allow_transfer[i])) {
            s = At(file, v[i].Mark(),
                   "allow_transfer: bad prefix '" + zc.allow_transfer[i] +
                       "' (expected ADDR/LEN)");
          }
        }
      } else if (key == "key") {
        zc.key = v.as<std::string>();
      } else if (key == "refresh") {
        s = ReadInt(file, v, "refresh", 1, 86400 * 365, &zc.refresh);
      } else if (key == "retry") {
        s = ReadInt(file, v, "retry", 1, 86400 * 365, &zc.retry);
      } else if (key == "expire") {
        s = ReadInt(file, v, "expire", 1, 86400 * 3650, &zc.expire);
      } else if (key == "update") {
        s = ReadUpdateRules(file, v, zc.name, *c, &zc.update);
      } else if (key == "serial_policy") {
        const std::string p = v.as<std::string>();
        if (p == "increment") {
          zc.serial_policy = SerialPolicy::kIncrement;
        } else if (p == "unixtime") {
          zc.serial_policy = SerialPolicy::kUnixtime;
        } else {
          s = At(file, v.Mark(),
                 "serial_policy: '" + p + "' (expected increment or unixtime)");
        }
      } else {
        return At(file, kv.first.Mark(), "zone: unknown key '" + key + "'");
      }
      if (!s.ok()) return s;
    }
    if (!zc.key.empty()) {
      bool known = false;
      for (const KeyConfig& k : c->keys) {
        known |= Absolute(k.name) == Absolute(zc.key);
      }
      if (!known) {
        return At(file, z["key"].Mark(),
                  "zone " + zc.name + ": unknown key '" + zc.key +
                      "' (keys: must list it, before zones:)");
      }
    }
    if (!zc.update.empty() && zc.secondary()) {
      return At(file, z["update"].Mark(),
                "zone " + zc.name +
                    ": a secondary takes no updates (its primary does)");
    }
    c->zones.push_back(std::move(zc));
  }
  return absl::OkStatus();
}

const char* const kAlgorithms[] = {"hmac-sha1", "hmac-sha256", "hmac-sha384",
                                   "hmac-sha512"};

absl::Status ReadKeys(const std::string& file, const YAML::Node& n,
                      Config* c) {
  if (!n.IsSequence()) return At(file, n.Mark(), "keys: expected a list");
  for (const YAML::Node& k : n) {
    if (!k.IsMap() || !k["name"] || !k["algorithm"] || !k["secret"]) {
      return At(file, k.Mark(), "key: needs 'name', 'algorithm' and 'secret'");
    }
    for (const auto& kv : k) {
      const std::string key = kv.first.as<std::string>();
      if (key != "name" && key != "algorithm" && key != "secret") {
        return At(file, kv.first.Mark(), "key: unknown key '" + key + "'");
      }
    }
    KeyConfig kc;
    kc.name = k["name"].as<std::string>();
    kc.algorithm = k["algorithm"].as<std::string>();
    kc.secret = k["secret"].as<std::string>();
    kc.where = absl::StrCat(file, ":", k.Mark().line + 1, ":",
                            k.Mark().column + 1);
    std::string alg = kc.algorithm;
    for (char& ch : alg) ch = static_cast<char>(std::tolower(ch));
    if (!alg.empty() && alg.back() == '.') alg.pop_back();
    if (std::find(std::begin(kAlgorithms), std::end(kAlgorithms), alg) ==
        std::end(kAlgorithms)) {
      return At(file, k["algorithm"].Mark(),
                "key " + kc.name + ": unknown algorithm '" + kc.algorithm +
                    "' (hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512)");
    }
    for (const KeyConfig& other : c->keys) {
      if (Absolute(other.name) == Absolute(kc.name)) {
        return At(file, k["name"].Mark(), "key " + kc.name + " defined twice");
      }
    }
    c->keys.push_back(std::move(kc));
  }
  return absl::OkStatus();
}

// A separate file holding only `keys:`, so that secrets can live in a
// root-only file while the main config is readable by operators' tools.
absl::Status ReadKeysFile(const std::string& file, const YAML::Node& v,
                          const std::filesystem::path& dir, Config* c) {
  std::filesystem::path p = v.as<std::string>();
  if (p.is_relative()) p = dir / p;
  std::ifstream in(p);
  if (!in) {
    return At(file, v.Mark(), "keys_file: cannot open " + p.string());
  }
  struct stat st;
  if (stat(p.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    std::fprintf(stderr,
                 "popdns: warning: keys_file %s is readable by group or "
                 "others (chmod 600 it)\n",
                 p.c_str());
  }
  YAML::Node root;
  try {
    root = YAML::Load(in);
    if (!root.IsMap() || !root["keys"]) {
      return At(p.string(), root.Mark(), "expected a mapping with 'keys:'");
    }
    for (const auto& kv : root) {
      if (kv.first.as<std::string>() != "keys") {
        return At(p.string(), kv.first.Mark(),
                  "unknown key '" + kv.first.as<std::string>() + "'");
      }
    }
    return ReadKeys(p.string(), root["keys"], c);
  } catch (const YAML::Exception& e) {
    return YamlError(p.string(), root, e);
  }
}

absl::Status ReadBool(const std::string& file, const YAML::Node& n,
                      const char* key, bool* out);

// `xdp.hot_answers:` {entries, pinned, every_name, sample_every,
// refresh_ms}.
absl::Status ReadHotAnswers(const std::string& file, const YAML::Node& n,
                            HotAnswersSection* h) {
  if (!n.IsMap()) {
    return At(file, n.Mark(), "xdp.hot_answers: expected a mapping");
  }
  h->enabled = true;
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    absl::Status s;
    if (key == "entries") {
      s = ReadInt(file, v, "xdp.hot_answers.entries", 1,
                  XDP_DNS_HOT_MAX_ENTRIES, &h->entries);
    } else if (key == "every_name") {
      s = ReadBool(file, v, "xdp.hot_answers.every_name", &h->every_name);
    } else if (key == "sample_every") {
      s = ReadInt(file, v, "xdp.hot_answers.sample_every", 0, 1 << 20,
                  &h->sample_every);
    } else if (key == "refresh_ms") {
      s = ReadInt(file, v, "xdp.hot_answers.refresh_ms", 50, 3600000,
                  &h->refresh_ms);
    } else if (key == "pinned") {
      if (!v.IsSequence()) {
        return At(file, v.Mark(), "xdp.hot_answers.pinned: expected a list");
      }
      for (const YAML::Node& p : v) {
        // "NAME TYPE": an absolute name and a type mnemonic.
        const std::vector<std::string> parts =
            absl::StrSplit(p.as<std::string>(), ' ', absl::SkipEmpty());
        auto type = parts.size() == 2
                        ? TypeFromText(absl::AsciiStrToUpper(parts[1]))
                        : std::nullopt;
        absl::StatusOr<std::string> name =
            parts.size() == 2 ? NameFromText(parts[0], "")
                              : absl::InvalidArgumentError("");
        if (!type || !name.ok()) {
          return At(file, p.Mark(),
                    "xdp.hot_answers.pinned: expected \"NAME TYPE\" (an "
                    "absolute name and a type), got '" +
                        p.as<std::string>() + "'");
        }
        h->pinned.emplace_back(NameToLower(*name), *type);
      }
    } else {
      return At(file, kv.first.Mark(),
                "xdp.hot_answers: unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ReadXdp(const std::string& file, const YAML::Node& n,
                     XdpSection* x) {
  if (!n.IsMap()) return At(file, n.Mark(), "xdp: expected a mapping");
  x->enabled = true;
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    absl::Status s;
    if (key == "interface") {
      x->interface = kv.second.as<std::string>();
    } else if (key == "queues") {
      s = ReadInt(file, kv.second, "xdp.queues", 1, 256, &x->queues);
    } else if (key == "program") {
      x->program = kv.second.as<std::string>();
    } else if (key == "hot_answers") {
      s = ReadHotAnswers(file, kv.second, &x->hot_answers);
    } else {
      return At(file, kv.first.Mark(), "xdp: unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  if (x->interface.empty()) {
    return At(file, n.Mark(), "xdp: 'interface' is required");
  }
  return absl::OkStatus();
}

absl::Status ReadPort(const std::string& file, const YAML::Node& n,
                      PortSection* p) {
  if (!n.IsMap()) return At(file, n.Mark(), "ports: expected mappings");
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    absl::Status s;
    if (key == "wire") {
      p->wire = kv.second.as<std::string>();
    } else if (key == "exception") {
      p->exception = kv.second.as<std::string>();
    } else if (key == "exception_interface") {
      p->exception_interface = kv.second.as<std::string>();
    } else if (key == "addresses") {
      s = ReadStrings(file, kv.second, "addresses", &p->addresses);
    } else {
      return At(file, kv.first.Mark(), "ports: unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  if (p->wire.empty()) return At(file, n.Mark(), "ports: 'wire' is required");
  // Without an exception port (XDP mode, replay benchmarks) nothing but
  // our DNS traffic reaches the workers, and the kernel keeps the rest.
  if (!p->exception.empty() && p->exception_interface.empty()) {
    return At(file, n.Mark(), "ports: 'exception' needs 'exception_interface'");
  }
  if (!p->addresses.empty() && p->exception.empty()) {
    return At(file, n.Mark(), "ports: 'addresses' needs 'exception'");
  }
  return absl::OkStatus();
}

absl::Status ReadDataplane(const std::string& file, const YAML::Node& n,
                           DataplaneSection* d) {
  if (!n.IsMap()) return At(file, n.Mark(), "dataplane: expected a mapping");
  d->enabled = true;
  PortSection single;  // the one-port shorthand
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    absl::Status s;
    if (key == "eal") {
      s = ReadStrings(file, kv.second, "eal", &d->eal);
    } else if (key == "wire_port") {
      single.wire = kv.second.as<std::string>();
    } else if (key == "exception_port") {
      single.exception = kv.second.as<std::string>();
    } else if (key == "exception_interface") {
      single.exception_interface = kv.second.as<std::string>();
    } else if (key == "ports") {
      if (!kv.second.IsSequence() || kv.second.size() == 0) {
        return At(file, kv.second.Mark(), "ports: expected a non-empty list");
      }
      for (const YAML::Node& p : kv.second) {
        d->ports.emplace_back();
        s = ReadPort(file, p, &d->ports.back());
        if (!s.ok()) return s;
      }
    } else if (key == "service_addresses") {
      s = ReadStrings(file, kv.second, "service_addresses",
                      &d->service_addresses);
    } else if (key == "xdp") {
      s = ReadXdp(file, kv.second, &d->xdp);
    } else if (key == "mbufs") {
      s = ReadInt(file, kv.second, "dataplane.mbufs", 1023, 4194303,
                  &d->mbufs);
    } else if (key == "idle") {
      const std::string mode = kv.second.as<std::string>();
      if (mode != "poll" && mode != "sleep" && mode != "wait") {
        return At(file, kv.second.Mark(),
                  "dataplane.idle: expected 'poll', 'sleep' or 'wait', got '" +
                      mode + "'");
      }
      d->idle = mode == "poll"    ? dpdk::IdleMode::kPoll
                : mode == "sleep" ? dpdk::IdleMode::kSleep
                                  : dpdk::IdleMode::kWait;
    } else if (key == "idle_max_sleep_us") {
      s = ReadInt(file, kv.second, "dataplane.idle_max_sleep_us", 1, 100000,
                  &d->idle_max_sleep_us);
    } else {
      return At(file, kv.first.Mark(),
                "dataplane: unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  const bool shorthand =
      n["wire_port"] || n["exception_port"] || n["exception_interface"];
  if (d->xdp.enabled) {
    if (shorthand || n["ports"]) {
      return At(file, n.Mark(),
                "dataplane: 'xdp' replaces 'wire_port', 'exception_port' "
                "and 'ports'");
    }
    // net_af_xdp owns the interface's first `queues` queues; the kernel
    // keeps everything the XDP program passes.
    single.wire = "net_af_xdp0";
    d->ports.push_back(single);
  } else if (shorthand) {
    if (n["ports"]) {
      return At(file, n.Mark(),
                "dataplane: give either 'wire_port' (one port) or 'ports'");
    }
    if (!n["wire_port"]) {
      return At(file, n.Mark(), "dataplane: 'wire_port' is required");
    }
    if (!single.exception.empty() && single.exception_interface.empty()) {
      return At(file, n.Mark(),
                "dataplane: 'exception_port' needs 'exception_interface'");
    }
    d->ports.push_back(single);
  } else if (d->ports.empty()) {
    return At(file, n.Mark(), "dataplane: 'wire_port' or 'ports' is required");
  }
  if (!n["service_addresses"]) {
    return At(file, n.Mark(), "dataplane: 'service_addresses' is required");
  }
  return absl::OkStatus();
}

// `management:` {listen, api_key | api_key_file}. The key may live in a
// root-only file (its first line) so the config can be world-readable.
absl::Status ReadManagement(const std::string& file, const YAML::Node& n,
                            const std::filesystem::path& dir,
                            ManagementSection* m) {
  if (!n.IsMap()) return At(file, n.Mark(), "management: expected a mapping");
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "listen") {
      m->listen = v.as<std::string>();
      std::string host;
      uint16_t port;
      unsigned char buf[16];
      if (!ParseListenAddress(m->listen, &host, &port).ok() ||
          (inet_pton(AF_INET, host.c_str(), buf) != 1 &&
           inet_pton(AF_INET6, host.c_str(), buf) != 1)) {
        return At(file, v.Mark(),
                  "management: listen: bad address '" + m->listen +
                      "' (expected ADDR:PORT or [V6]:PORT)");
      }
    } else if (key == "api_key") {
      m->api_key = v.as<std::string>();
    } else if (key == "api_key_file") {
      std::filesystem::path p = v.as<std::string>();
      if (p.is_relative()) p = dir / p;
      std::ifstream in(p);
      if (!in) {
        return At(file, v.Mark(),
                  "management: api_key_file: cannot open " + p.string());
      }
      struct stat st;
      if (stat(p.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
        std::fprintf(stderr,
                     "popdns: warning: api_key_file %s is readable by group "
                     "or others (chmod 600 it)\n",
                     p.c_str());
      }
      std::string line;
      std::getline(in, line);
      m->api_key = std::string(absl::StripAsciiWhitespace(line));
      if (m->api_key.empty()) {
        return At(file, v.Mark(),
                  "management: api_key_file: " + p.string() + " is empty");
      }
    } else {
      return At(file, kv.first.Mark(),
                "management: unknown key '" + key + "'");
    }
  }
  if (m->listen.empty()) {
    return At(file, n.Mark(), "management: 'listen' is required");
  }
  return absl::OkStatus();
}

absl::Status ReadBool(const std::string& file, const YAML::Node& n,
                      const char* key, bool* out) {
  const std::string v = n.IsScalar() ? n.Scalar() : "";
  if (v == "true" || v == "yes" || v == "on") {
    *out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    *out = false;
  } else {
    return At(file, n.Mark(), absl::StrCat(key, ": expected true or false"));
  }
  return absl::OkStatus();
}

// `rrl:` {rate, slip, ipv4_prefix, ipv6_prefix, table_size, whitelist,
// log_only}.
absl::Status ReadRrl(const std::string& file, const YAML::Node& n,
                     RrlSection* r) {
  if (!n.IsMap()) return At(file, n.Mark(), "rrl: expected a mapping");
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    absl::Status s;
    if (key == "rate") {
      s = ReadInt(file, v, "rrl.rate", 0, 1000000, &r->rate);
    } else if (key == "slip") {
      s = ReadInt(file, v, "rrl.slip", 0, 100, &r->slip);
    } else if (key == "ipv4_prefix") {
      s = ReadInt(file, v, "rrl.ipv4_prefix", 0, 32, &r->ipv4_prefix);
    } else if (key == "ipv6_prefix") {
      s = ReadInt(file, v, "rrl.ipv6_prefix", 0, 128, &r->ipv6_prefix);
    } else if (key == "table_size") {
      s = ReadInt(file, v, "rrl.table_size", 4, 16777216, &r->table_size);
    } else if (key == "whitelist") {
      s = ReadStrings(file, v, "rrl.whitelist", &r->whitelist);
      for (size_t i = 0; s.ok() && i < r->whitelist.size(); ++i) {
        if (!ValidPrefix(r->whitelist[i])) {
          s = At(file, v[i].Mark(),
                 "rrl.whitelist: bad prefix '" + r->whitelist[i] +
                     "' (expected ADDR/LEN or ADDR)");
        }
      }
    } else if (key == "log_only") {
      s = ReadBool(file, v, "rrl.log_only", &r->log_only);
    } else {
      return At(file, kv.first.Mark(), "rrl: unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// A cookie secret: exactly 32 hex digits. The value never appears in an
// error (nor anywhere else).
absl::Status ReadSecret(const std::string& file, const YAML::Node& n,
                        const char* key, std::array<uint8_t, 16>* out) {
  const std::string v = n.IsScalar() ? n.Scalar() : "";
  auto digit = [](char ch) {
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
  };
  bool ok = v.size() == 32;
  for (size_t i = 0; ok && i < 16; ++i) {
    const int hi = digit(v[2 * i]), lo = digit(v[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    if (ok) (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (!ok) {
    return At(file, n.Mark(),
              absl::StrCat(key, ": expected 32 hex digits (16 bytes, e.g. "
                                "from `openssl rand -hex 16`), got ",
                           v.size(), " characters"));
  }
  return absl::OkStatus();
}

// `nsid:` as Knot's server.nsid: text as is, or "0x" and an even number of
// hex digits for arbitrary octets; at most dns::kMaxNsidSize octets. Empty
// (or `nsid: ""`): no NSID.
absl::Status ReadNsid(const std::string& file, const YAML::Node& n,
                      std::string* out) {
  if (!n.IsScalar()) {
    return At(file, n.Mark(), "nsid: expected a string (text, or 0x and hex)");
  }
  const std::string v = n.Scalar();
  out->clear();
  if (v.size() >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    auto digit = [](char ch) {
      return ch >= '0' && ch <= '9'   ? ch - '0'
             : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
             : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                      : -1;
    };
    if (v.size() == 2 || v.size() % 2 != 0) {
      return At(file, n.Mark(),
                "nsid: expected an even number of hex digits after 0x");
    }
    for (size_t i = 2; i < v.size(); i += 2) {
      const int hi = digit(v[i]), lo = digit(v[i + 1]);
      if (hi < 0 || lo < 0) {
        return At(file, n.Mark(), "nsid: '" + v.substr(i, 2) +
                                      "' is not a hex digit pair");
      }
      out->push_back(static_cast<char>(hi << 4 | lo));
    }
  } else {
    *out = v;
  }
  if (out->size() > dns::kMaxNsidSize) {
    return At(file, n.Mark(),
              absl::StrCat("nsid: at most ", dns::kMaxNsidSize,
                           " octets, got ", out->size()));
  }
  return absl::OkStatus();
}

// `cookies:` {secret, secret_previous}.
absl::Status ReadCookies(const std::string& file, const YAML::Node& n,
                         CookieSection* c) {
  if (!n.IsMap()) return At(file, n.Mark(), "cookies: expected a mapping");
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    absl::Status s;
    if (key == "secret") {
      s = ReadSecret(file, kv.second, "cookies.secret", &c->secret);
      c->enabled = true;
    } else if (key == "secret_previous") {
      s = ReadSecret(file, kv.second, "cookies.secret_previous",
                     &c->previous);
      c->has_previous = true;
    } else {
      return At(file, kv.first.Mark(), "cookies: unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  if (!c->enabled) {
    return At(file, n.Mark(), "cookies: 'secret' is required");
  }
  return absl::OkStatus();
}

// `networks:` ({name, prefixes} each), checked as the data path will
// build them: prefixes parse, no prefix in two networks, names unique.
absl::Status ReadNetworks(const std::string& file, const YAML::Node& n,
                          Config* c) {
  if (!n.IsSequence()) return At(file, n.Mark(), "networks: expected a list");
  std::vector<zone::NetworkTable::Prefix> all;
  for (const YAML::Node& net : n) {
    if (!net.IsMap() || !net["name"] || !net["prefixes"]) {
      return At(file, net.Mark(), "network: needs 'name' and 'prefixes'");
    }
    for (const auto& kv : net) {
      const std::string key = kv.first.as<std::string>();
      if (key != "name" && key != "prefixes") {
        return At(file, kv.first.Mark(), "network: unknown key '" + key + "'");
      }
    }
    NetworkConfig nc;
    nc.name = net["name"].as<std::string>();
    if (nc.name.empty()) return At(file, net["name"].Mark(), "network: empty name");
    for (const NetworkConfig& other : c->networks) {
      if (other.name == nc.name) {
        return At(file, net["name"].Mark(),
                  "network " + nc.name + " defined twice");
      }
    }
    if (c->networks.size() >= 0xFFFF) {  // ids are uint16_t here
      return At(file, net.Mark(), "networks: too many");
    }
    const YAML::Node& prefixes = net["prefixes"];
    if (!prefixes.IsSequence() || prefixes.size() == 0) {
      return At(file, prefixes.Mark(),
                "network " + nc.name + ": prefixes: expected a non-empty list");
    }
    for (const YAML::Node& p : prefixes) {
      const std::string text = p.as<std::string>();
      auto prefix = ParseNetworkPrefix(
          text, static_cast<uint16_t>(c->networks.size()));
      if (!prefix.ok()) {
        return At(file, p.Mark(), "network " + nc.name + ": " +
                                      std::string(prefix.status().message()));
      }
      all.push_back(*prefix);
      nc.prefixes.push_back(text);
    }
    c->networks.push_back(std::move(nc));
  }
  if (auto table = zone::NetworkTable::Build(std::move(all)); !table.ok()) {
    return At(file, n.Mark(),
              "networks: " + std::string(table.status().message()));
  }
  return absl::OkStatus();
}

absl::Status ReadHealthChecks(const std::string& file, const YAML::Node& n,
                              Config* c) {
  if (!n.IsSequence()) {
    return At(file, n.Mark(), "health_checks: expected a list");
  }
  for (const YAML::Node& check : n) {
    if (!check.IsMap() || !check["endpoint"] || !check["type"]) {
      return At(file, check.Mark(),
                "health check: needs 'endpoint' and 'type'");
    }
    HealthCheckConfig h;
    h.endpoint = check["endpoint"].as<std::string>();
    if (!ParseAddress(h.endpoint).ok()) {
      return At(file, check["endpoint"].Mark(),
                "health check: endpoint '" + h.endpoint +
                    "' is not an IPv4 or IPv6 address");
    }
    for (const HealthCheckConfig& other : c->health_checks) {
      if (other.endpoint == h.endpoint) {
        return At(file, check["endpoint"].Mark(),
                  "health check of " + h.endpoint + " defined twice");
      }
    }
    h.type = check["type"].as<std::string>();
    if (h.type != "tcp" && h.type != "http") {
      return At(file, check["type"].Mark(),
                "health check: type must be tcp or http");
    }
    if (h.type == "http") h.port = 80;
    for (const auto& kv : check) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      absl::Status s;
      if (key == "endpoint" || key == "type") {
      } else if (key == "port") {
        s = ReadInt(file, v, "port", 1, 65535, &h.port);
      } else if (key == "path" && h.type == "http") {
        h.path = v.as<std::string>();
        if (h.path.empty() || h.path[0] != '/') {
          return At(file, v.Mark(), "health check: path must start with /");
        }
      } else if (key == "host" && h.type == "http") {
        h.host = v.as<std::string>();
      } else if (key == "interval_ms") {
        s = ReadInt(file, v, "interval_ms", 100, 3600000, &h.interval_ms);
      } else if (key == "timeout_ms") {
        s = ReadInt(file, v, "timeout_ms", 10, 3600000, &h.timeout_ms);
      } else if (key == "rise") {
        s = ReadInt(file, v, "rise", 1, 100, &h.rise);
      } else if (key == "fall") {
        s = ReadInt(file, v, "fall", 1, 100, &h.fall);
      } else {
        return At(file, kv.first.Mark(),
                  "health check: unknown key '" + key + "' for type " + h.type);
      }
      if (!s.ok()) return s;
    }
    if (h.port == 0) {
      return At(file, check.Mark(), "health check: tcp needs 'port'");
    }
    if (h.timeout_ms > h.interval_ms) {
      return At(file, check.Mark(),
                "health check: timeout_ms must not exceed interval_ms");
    }
    c->health_checks.push_back(std::move(h));
  }
  return absl::OkStatus();
}

// `geoip:` {country_database, asn_database}: each opened and checked here,
// so that a missing or broken file is a config error.
absl::Status ReadGeoIp(const std::string& file, const YAML::Node& n,
                       const std::filesystem::path& dir, GeoIpSection* g) {
  if (!n.IsMap()) return At(file, n.Mark(), "geoip: expected a mapping");
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    std::string* out;
    if (key == "country_database") {
      out = &g->country_database;
    } else if (key == "asn_database") {
      out = &g->asn_database;
    } else {
      return At(file, kv.first.Mark(), "geoip: unknown key '" + key + "'");
    }
    std::filesystem::path p = v.as<std::string>();
    if (p.is_relative()) p = dir / p;
    if (absl::Status s = CheckGeoDatabase(p.string()); !s.ok()) {
      return At(file, v.Mark(), "geoip: " + key + ": " +
                                    std::string(s.message()));
    }
    *out = p.string();
  }
  return absl::OkStatus();
}

absl::Status ReadTop(const std::string& file, const YAML::Node& root,
                     Config* c) {
  const std::filesystem::path dir =
      std::filesystem::path(file).parent_path();
  // Keys first, wherever they are written: zones refer to them by name.
  if (root["keys"]) {
    if (absl::Status s = ReadKeys(file, root["keys"], c); !s.ok()) return s;
  }
  if (root["keys_file"]) {
    if (absl::Status s = ReadKeysFile(file, root["keys_file"], dir, c);
        !s.ok()) {
      return s;
    }
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    absl::Status s;
    if (key == "listen") {
      if (!v.IsSequence()) return At(file, v.Mark(), "listen: expected a list");
      for (const YAML::Node& a : v) {
        std::string host;
        uint16_t port;
        s = ParseListenAddress(a.as<std::string>(), &host, &port);
        if (!s.ok()) return At(file, a.Mark(), std::string(s.message()));
        c->listen.push_back(a.as<std::string>());
      }
    } else if (key == "zones") {
      s = ReadZones(file, v, dir, c);
    } else if (key == "keys" || key == "keys_file") {
      // read above
    } else if (key == "udp_payload") {
      s = ReadInt(file, v, "udp_payload", 512, 4096, &c->udp_payload);
    } else if (key == "identity") {
      c->identity = v.as<std::string>();
    } else if (key == "version") {
      c->version = v.as<std::string>();
    } else if (key == "nsid") {
      s = ReadNsid(file, v, &c->nsid);
    } else if (key == "udp_threads") {
      s = ReadInt(file, v, "udp_threads", 0, 256, &c->udp_threads);
    } else if (key == "tcp_idle_timeout_ms") {
      s = ReadInt(file, v, "tcp_idle_timeout_ms", 100, 3600000,
                  &c->tcp_idle_timeout_ms);
    } else if (key == "tcp_max_connections") {
      s = ReadInt(file, v, "tcp_max_connections", 1, 1000000,
                  &c->tcp_max_connections);
    } else if (key == "dataplane") {
      s = ReadDataplane(file, v, &c->dataplane);
    } else if (key == "control_socket") {
      c->control_socket = v.as<std::string>();
    } else if (key == "shutdown_drain_seconds") {
      s = ReadInt(file, v, "shutdown_drain_seconds", 0, 3600,
                  &c->shutdown_drain_seconds);
    } else if (key == "management") {
      s = ReadManagement(file, v, dir, &c->management);
    } else if (key == "rrl") {
      s = ReadRrl(file, v, &c->rrl);
    } else if (key == "cookies") {
      s = ReadCookies(file, v, &c->cookies);
    } else if (key == "pop") {
      c->pop = v.as<std::string>();
    } else if (key == "networks") {
      s = ReadNetworks(file, v, c);
    } else if (key == "health_checks") {
      s = ReadHealthChecks(file, v, c);
    } else if (key == "geoip") {
      s = ReadGeoIp(file, v, dir, &c->geoip);
    } else {
      return At(file, kv.first.Mark(), "unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

void ClientNetworks::ApplyTo(dns::AnswerConfig* config) const {
  config->pop_selector = pop_selector;
  config->client_subnet = !selectors.empty() || countries || asns;
  if (countries) {
    config->countries = &countries->table;
    config->country_selectors = countries->selectors.data();
  }
  if (asns) {
    config->asns = &asns->table;
    config->asn_selectors = asns->selectors.data();
  }
  if (selectors.empty()) return;
  config->networks = &table;
  config->network_selectors = selectors.data();
}

ClientNetworks ClientNetworksOf(const Config& config) {
  ClientNetworks n;
  if (!config.pop.empty()) n.pop_selector = zone::NameIndex::Hash(config.pop);
  std::vector<zone::NetworkTable::Prefix> prefixes;
  for (size_t id = 0; id < config.networks.size(); ++id) {
    n.selectors.push_back(zone::NameIndex::Hash(config.networks[id].name));
    for (const std::string& text : config.networks[id].prefixes) {
      if (auto p = ParseNetworkPrefix(text, static_cast<uint16_t>(id));
          p.ok()) {
        prefixes.push_back(*p);
      }
    }
  }
  if (auto t = zone::NetworkTable::Build(std::move(prefixes)); t.ok()) {
    n.table = *std::move(t);
  }
  if (!config.geoip.country_database.empty()) {
    n.countries =
        SharedGeoNetworks(config.geoip.country_database, GeoKey::kCountry);
  }
  if (!config.geoip.asn_database.empty()) {
    n.asns = SharedGeoNetworks(config.geoip.asn_database, GeoKey::kAsn);
  }
  return n;
}

dns::RrlSettings RrlSettingsOf(const RrlSection& rrl) {
  dns::RrlSettings s;
  s.rate = rrl.rate;
  s.slip = rrl.slip;
  s.ipv4_prefix = static_cast<uint8_t>(rrl.ipv4_prefix);
  s.ipv6_prefix = static_cast<uint8_t>(rrl.ipv6_prefix);
  s.table_size = rrl.table_size;
  s.log_only = rrl.log_only;
  for (const std::string& text : rrl.whitelist) {
    dns::RrlPrefix p;
    const size_t slash = text.find('/');
    const std::string addr = text.substr(0, slash);
    if (inet_pton(AF_INET, addr.c_str(), p.addr) == 1) {
      p.length = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), p.addr) == 1) {
      p.ipv6 = true;
      p.length = 128;
    } else {
      continue;  // LoadConfigFile checked it
    }
    if (slash != std::string::npos) {
      p.length = static_cast<uint8_t>(std::stoi(text.substr(slash + 1)));
    }
    // The bits past the length are zero (Rrl::Whitelisted compares masked
    // bytes with them).
    for (int i = 0; i < 16; ++i) {
      const int bits = p.length - 8 * i;
      if (bits <= 0) {
        p.addr[i] = 0;
      } else if (bits < 8) {
        p.addr[i] &= static_cast<uint8_t>(0xFF << (8 - bits));
      }
    }
    s.whitelist.push_back(p);
  }
  return s;
}

dns::CookieSecrets CookieSecretsOf(const CookieSection& cookies) {
  dns::CookieSecrets s;
  std::copy(cookies.secret.begin(), cookies.secret.end(), s.secret);
  std::copy(cookies.previous.begin(), cookies.previous.end(), s.previous);
  s.has_previous = cookies.has_previous;
  return s;
}

std::vector<std::string> EffectiveEalArgs(
    const std::vector<std::string>& eal) {
  bool no_huge = false;
  for (const std::string& a : eal) no_huge |= a == "--no-huge";
  std::vector<std::string> out;
  for (const std::string& a : eal) {
    out.push_back(no_huge && a == "--in-memory" ? "--no-shconf" : a);
  }
  return out;
}

absl::Status ParseListenAddress(const std::string& text, std::string* host,
                                uint16_t* port) {
  std::string h = text;
  std::string p = "53";
  if (!h.empty() && h[0] == '[') {
    const size_t close = h.find(']');
    if (close == std::string::npos) {
      return absl::InvalidArgumentError("bad listen address '" + text + "'");
    }
    if (close + 1 < h.size()) {
      if (h[close + 1] != ':') {
        return absl::InvalidArgumentError("bad listen address '" + text + "'");
      }
      p = h.substr(close + 2);
    }
    h = h.substr(1, close - 1);
  } else if (std::count(h.begin(), h.end(), ':') == 1) {
    p = h.substr(h.find(':') + 1);
    h = h.substr(0, h.find(':'));
  }
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || ptr != p.data() + p.size() || v == 0 || v > 65535 ||
      h.empty()) {
    return absl::InvalidArgumentError("bad listen address '" + text + "'");
  }
  *host = h;
  *port = static_cast<uint16_t>(v);
  return absl::OkStatus();
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot open config file " + path);
  Config c;
  c.config_file = path;
  YAML::Node root;
  try {
    root = YAML::Load(in);
    if (root.IsNull()) return c;
    if (!root.IsMap()) return At(path, root.Mark(), "expected a mapping");
    absl::Status s = ReadTop(path, root, &c);
    if (!s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return YamlError(path, root, e);
  }
  return c;
}

}  // namespace popdns::control
