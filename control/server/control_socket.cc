#include "control/server/control_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace popdns::control {
namespace {

absl::StatusOr<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError("control socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

void SetTimeout(int fd) {
  // Generous: a loaded control host (busy-polling workers, sanitizers)
  // can take a while to schedule the client between connect and write.
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

}  // namespace

absl::StatusOr<int> OpenControlSocket(const std::string& path) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  std::error_code ec;
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path(), ec);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("control socket ", path, ": ", strerror(errno)));
  }
  // A socket file left by a crashed instance: if nobody answers on it,
  // it is stale and replaced; if someone does, another popdns runs.
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(probe, reinterpret_cast<const sockaddr*>(&*addr),
              sizeof(*addr)) == 0) {
    close(probe);
    close(fd);
    return absl::AlreadyExistsError(
        "control socket " + path +
        ": another popdns serves it (stop that one, or give this one "
        "--control-socket PATH)");
  }
  close(probe);
  unlink(path.c_str());
  const mode_t old = umask(0077);
  const int rc =
      bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  umask(old);
  if (rc != 0 || listen(fd, 16) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("control socket ", path, ": ", strerror(err)));
  }
  return fd;
}

void ServeControlClient(
    int listen_fd,
    const std::function<std::string(const std::string&)>& handler) {
  const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  SetTimeout(fd);
  // EAL threads and PMDs use signals; a read with a timeout is not
  // restarted after a handler (signal(7)), so retry on EINTR.
  std::string line;
  char c;
  while (line.size() < 1024) {
    const ssize_t k = read(fd, &c, 1);
    if (k < 0 && errno == EINTR) continue;
    if (k != 1 || c == '\n') break;
    line += c;
  }
  const std::string reply = handler(line);
  size_t off = 0;
  while (off < reply.size()) {
    const ssize_t k =
        send(fd, reply.data() + off, reply.size() - off, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    off += static_cast<size_t>(k);
  }
  close(fd);
}

absl::StatusOr<std::string> ControlRequest(const std::string& path,
                                           const std::string& command) {
  auto addr = Address(path);
  if (!addr.ok()) return addr.status();
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) !=
      0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", path, ": ", strerror(err),
                     " (is popdns running?)"));
  }
  const std::string msg = command + "\n";
  if (send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(msg.size())) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("write to control socket failed: ", strerror(err)));
  }
  std::string reply;
  char buf[4096];
  ssize_t k;
  // Reloads of large zones take a while: no timeout on the reply.
  while ((k = read(fd, buf, sizeof(buf))) > 0) reply.append(buf, k);
  const int err = errno;
  close(fd);
  if (k < 0) {
    return absl::UnavailableError(
        absl::StrCat("reading the reply failed: ", strerror(err)));
  }
  if (reply.empty()) {
    return absl::UnavailableError("popdns closed the connection without a reply");
  }
  return reply;
}

}  // namespace popdns::control
