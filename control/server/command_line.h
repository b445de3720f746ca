// popdns's command line: flags, --help and --version. Reading the flags is
// kept apart from loading the config file they name, so that a mistake in
// the flags (exit 2, with the usage line) is told apart from a config or
// zone that is wrong (exit 1). main() only, at start-up.
#ifndef POPDNS_CONTROL_SERVER_COMMAND_LINE_H_
#define POPDNS_CONTROL_SERVER_COMMAND_LINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/config.h"

namespace popdns::control {

// Exit statuses of popdns and popdnsctl (documented in --help, the man
// pages and the README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // bad config or zone, I/O, daemon
inline constexpr int kExitUsage = 2;    // bad flags or command

struct CommandLine {
  enum class Action { kServe, kCheck, kHelp, kVersion };
  Action action = Action::kServe;
  std::string config_file;           // --config; empty: none
  std::vector<ZoneConfig> zones;     // --zone, added to the file's
  std::vector<std::string> listen;   // --listen, added to the file's
  // The rest override the file's values when given.
  std::optional<uint16_t> udp_payload;
  std::optional<std::string> identity;
  std::optional<std::string> version;
  std::optional<int> udp_threads;
  std::optional<std::string> control_socket;
};

// Reads argv: --config FILE, --zone NAME=FILE, --listen ADDR:PORT (both
// repeatable), --udp-payload N, --identity S, --version-string S,
// --udp-threads N, --control-socket PATH, --check, -h/--help, --version.
// "--flag=value" works as "--flag value". --help and --version end the
// reading where they stand. Nothing is opened here.
// Errors: InvalidArgument naming the flag (a usage error, exit 2); also
// when neither --config nor --zone is given.
absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv);

struct Args {
  Config config;
  bool check_only = false;
};

// The config file (if any) with the flags applied over it; the listen
// addresses default to the dataplane's service addresses, else
// 127.0.0.1:53. Errors: those of LoadConfigFile (exit 1).
absl::StatusOr<Args> LoadArgs(const CommandLine& line);

// The one-line synopsis printed with usage errors.
const char* PopdnsUsageLine();
// --help: what popdns does, every flag, exit statuses, where the config
// reference is.
const char* PopdnsHelp();

}  // namespace popdns::control

#endif  // POPDNS_CONTROL_SERVER_COMMAND_LINE_H_
