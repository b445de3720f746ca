#include "control/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace popdns::control {
namespace {

absl::Status At(const std::string& file, const YAML::Mark& mark,
                const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat(file, ":", mark.line + 1, ":", mark.column + 1, ": ", what));
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

absl::Status ReadZones(const std::string& file, const YAML::Node& n,
                       const std::filesystem::path& dir, Config* c) {
  if (!n.IsSequence()) return At(file, n.Mark(), "zones: expected a list");
  for (const YAML::Node& z : n) {
    if (!z.IsMap() || !z["name"] || !z["file"]) {
      return At(file, z.Mark(), "zone: needs 'name' and 'file'");
    }
    for (const auto& kv : z) {
      const std::string key = kv.first.as<std::string>();
      if (key != "name" && key != "file") {
        return At(file, kv.first.Mark(), "zone: unknown key '" + key + "'");
      }
    }
    std::filesystem::path path = z["file"].as<std::string>();
    if (path.is_relative()) path = dir / path;
    c->zones.push_back({Absolute(z["name"].as<std::string>()), path.string()});
  }
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

absl::Status ReadTop(const std::string& file, const YAML::Node& root,
                     Config* c) {
  const std::filesystem::path dir =
      std::filesystem::path(file).parent_path();
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
    } else if (key == "udp_payload") {
      s = ReadInt(file, v, "udp_payload", 512, 4096, &c->udp_payload);
    } else if (key == "identity") {
      c->identity = v.as<std::string>();
    } else if (key == "version") {
      c->version = v.as<std::string>();
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
    } else {
      return At(file, kv.first.Mark(), "unknown key '" + key + "'");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

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
  try {
    YAML::Node root = YAML::Load(in);
    if (root.IsNull()) return c;
    if (!root.IsMap()) return At(path, root.Mark(), "expected a mapping");
    absl::Status s = ReadTop(path, root, &c);
    if (!s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return At(path, e.mark, e.msg);
  }
  return c;
}

absl::StatusOr<Args> ParseArgs(int argc, char** argv) {
  Args args;
  std::vector<std::string> listen;
  std::vector<ZoneConfig> zones;
  Config overrides;
  bool have_payload = false, have_identity = false, have_version = false,
       have_threads = false, have_socket = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> absl::StatusOr<std::string> {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(flag + " needs a value");
      }
      return std::string(argv[++i]);
    };
    absl::StatusOr<std::string> v;
    if (flag == "--check") {
      args.check_only = true;
      continue;
    }
    if (!(v = value()).ok()) return v.status();
    if (flag == "--config") {
      auto c = LoadConfigFile(*v);
      if (!c.ok()) return c.status();
      args.config = *c;
    } else if (flag == "--zone") {
      const size_t eq = v->find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v->size()) {
        return absl::InvalidArgumentError("--zone expects NAME=FILE, got '" +
                                          *v + "'");
      }
      zones.push_back({Absolute(v->substr(0, eq)), v->substr(eq + 1)});
    } else if (flag == "--listen") {
      std::string host;
      uint16_t port;
      if (absl::Status s = ParseListenAddress(*v, &host, &port); !s.ok()) {
        return absl::InvalidArgumentError("--listen: " +
                                          std::string(s.message()));
      }
      listen.push_back(*v);
    } else if (flag == "--udp-payload") {
      int n = std::atoi(v->c_str());
      if (n < 512 || n > 4096) {
        return absl::InvalidArgumentError("--udp-payload must be 512..4096");
      }
      overrides.udp_payload = static_cast<uint16_t>(n);
      have_payload = true;
    } else if (flag == "--identity") {
      overrides.identity = *v;
      have_identity = true;
    } else if (flag == "--version-string") {
      overrides.version = *v;
      have_version = true;
    } else if (flag == "--udp-threads") {
      overrides.udp_threads = std::atoi(v->c_str());
      have_threads = true;
    } else if (flag == "--control-socket") {
      overrides.control_socket = *v;
      have_socket = true;
    } else {
      return absl::InvalidArgumentError("unknown flag " + flag);
    }
  }
  Config& c = args.config;
  c.listen.insert(c.listen.end(), listen.begin(), listen.end());
  c.zones.insert(c.zones.end(), zones.begin(), zones.end());
  if (have_payload) c.udp_payload = overrides.udp_payload;
  if (have_identity) c.identity = overrides.identity;
  if (have_version) c.version = overrides.version;
  if (have_threads) c.udp_threads = overrides.udp_threads;
  if (have_socket) c.control_socket = overrides.control_socket;
  if (c.listen.empty()) {
    // With a dataplane, the slow path (TCP, fragments) listens on the
    // service addresses; otherwise on loopback.
    for (const std::string& a : c.dataplane.service_addresses) {
      const std::string host = a.substr(0, a.find('/'));
      c.listen.push_back(host.find(':') != std::string::npos
                             ? "[" + host + "]:53"
                             : host + ":53");
    }
    if (c.listen.empty()) c.listen.push_back("127.0.0.1:53");
  }
  return args;
}

}  // namespace popdns::control
