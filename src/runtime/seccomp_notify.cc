// SCMP_ACT_NOTIFY: the listener fd goes from the container's process to the
// runtime over the sync channel, and from the runtime to the seccomp agent at
// linux.seccomp.listenerPath with the container process state (runtime-spec
// runtime.md, "Listener socket"; config-linux.md, "listenerPath").
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/unix_socket.h"
#include "oci/config.h"
#include "runtime/console.h"
#include "runtime/seccomp.h"

namespace berth::runtime {
Result<> pass_seccomp_listener(const Channel& channel, uint32_t type, const UniqueFd& listener) {
  BERTH_TRY(channel.send(type));
  return send_fd(channel.socket(), listener, "seccomp");
}

Result<UniqueFd> receive_seccomp_listener(const Channel& channel) {
  return with_context(recv_fd(channel.socket()), "receive the seccomp listener");
}

std::string container_process_state_json(const oci::Seccomp& profile, pid_t pid, std::string_view state_json) {
  nlohmann::ordered_json doc;
  doc["ociVersion"] = std::string(oci::kOciVersion);
  doc["fds"] = nlohmann::ordered_json::array({"seccompFd"});
  doc["pid"] = pid;
  // OPTIONAL: left out when empty, as runc does.
  if (!profile.listener_metadata.empty()) doc["metadata"] = profile.listener_metadata;
  doc["state"] = nlohmann::ordered_json::parse(state_json, nullptr, /*allow_exceptions=*/false);
  return doc.dump();
}

Result<> send_to_seccomp_agent(const oci::Seccomp& profile, const UniqueFd& listener, pid_t pid,
                               std::string_view state_json) {
  BERTH_TRY_ASSIGN(sock, with_context(connect_unix(profile.listener_path, SOCK_STREAM), "linux.seccomp.listenerPath"));
  std::string payload = container_process_state_json(profile, pid, state_json);
  // One message: the whole document with the fd on its first byte (what
  // runc's utils.SendFds does); a stream socket may take the rest later.
  iovec iov{payload.data(), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int raw = listener.get();
  std::memcpy(CMSG_DATA(c), &raw, sizeof raw);
  ssize_t n;
  do {
    n = ::sendmsg(sock.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error(errno, "linux.seccomp.listenerPath: send to \"{}\"", profile.listener_path);
  for (size_t done = static_cast<size_t>(n); done < payload.size();) {
    ssize_t m = ::send(sock.get(), payload.data() + done, payload.size() - done, MSG_NOSIGNAL);
    if (m < 0 && errno == EINTR) continue;
    if (m < 0) return sys_error(errno, "linux.seccomp.listenerPath: send to \"{}\"", profile.listener_path);
    done += static_cast<size_t>(m);
  }
  return {};
}

}  // namespace berth::runtime
