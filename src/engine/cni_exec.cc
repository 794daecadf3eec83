// One CNI plugin run (spec section 2): posix_spawn, no shell; the variables
// CNI_COMMAND/CONTAINERID/NETNS/IFNAME/ARGS/PATH; the configuration on stdin,
// the result or the error JSON on stdout, diagnostics on stderr.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "base/fd.h"
#include "base/log.h"
#include "engine/cni.h"

namespace berth::engine::cni {
namespace {

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error(errno, "pipe");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<std::string> find_plugin(const std::string& type, const std::vector<std::string>& dirs) {
  if (type.empty() || type.find('/') != std::string::npos) return error("invalid cni plugin type \"{}\"", type);
  for (const auto& dir : dirs) {
    std::string path = dir + "/" + type;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  std::string searched;
  for (const auto& dir : dirs) searched += (searched.empty() ? "" : ":") + dir;
  return std::unexpected(Error(ENOENT, fmt::format("cni plugin \"{}\" not found in {}", type, searched)));
}

std::string join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// Feeds `input` to `in` while draining `out` and `err`, so that neither side
// blocks on a full pipe.
Result<> pump(UniqueFd in, const UniqueFd& out, const UniqueFd& err, std::string_view input, std::string& out_data,
              std::string& err_data) {
  size_t written = 0;
  if (::fcntl(in.get(), F_SETFL, O_NONBLOCK) != 0) return sys_error(errno, "fcntl stdin pipe");
  bool out_open = true, err_open = true;
  if (input.empty()) in.reset();
  while (out_open || err_open) {
    pollfd pfds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_open) pfds[out_i = n++] = {out.get(), POLLIN, 0};
    if (err_open) pfds[err_i = n++] = {err.get(), POLLIN, 0};
    if (in.valid()) pfds[in_i = n++] = {in.get(), POLLOUT, 0};
    if (::poll(pfds, n, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "poll plugin pipes");
    }
    char buf[8192];
    auto drain = [&](int i, const UniqueFd& fd, std::string& sink, bool& open) -> Result<> {
      if (i < 0 || !(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) return {};
      ssize_t r = ::read(fd.get(), buf, sizeof buf);
      if (r < 0 && errno != EINTR && errno != EAGAIN) return sys_error(errno, "read plugin output");
      if (r == 0) open = false;
      if (r > 0) sink.append(buf, static_cast<size_t>(r));
      return {};
    };
    BERTH_TRY(drain(out_i, out, out_data, out_open));
    BERTH_TRY(drain(err_i, err, err_data, err_open));
    if (in_i >= 0 && (pfds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(in.get(), input.data() + written, input.size() - written);
      if (w < 0 && errno != EINTR && errno != EAGAIN) {
        if (errno != EPIPE) return sys_error(errno, "write plugin stdin");
        in.reset();  // the plugin stopped reading; its exit status tells why
      } else if (w > 0) {
        written += static_cast<size_t>(w);
        if (written == input.size()) in.reset();
      }
    }
  }
  return {};
}

// "code 7: msg: details" from the spec's error object, else stderr's text.
std::string plugin_failure(const std::string& out, const std::string& err, int status) {
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_object() && j.contains("msg")) {
    std::string text = j.value("msg", "");
    if (auto d = j.value("details", std::string()); !d.empty()) text += ": " + d;
    if (j.contains("code") && j["code"].is_number()) text += fmt::format(" (code {})", j["code"].get<int>());
    return text;
  }
  std::string e = trim(err);
  if (!e.empty()) return e;
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("exit status {}", WEXITSTATUS(status));
}

}  // namespace

Result<std::string> exec_plugin(std::string_view command, const std::string& type, const std::string& config,
                                const Invocation& inv, std::string_view network) {
  auto fail = [&](Error e) {
    return std::unexpected(std::move(e).context(fmt::format("cni {} of network \"{}\"", command, network)));
  };
  auto path = find_plugin(type, inv.plugin_dirs);
  if (!path) return fail(std::move(path).error());

  std::vector<std::string> env = {
      fmt::format("CNI_COMMAND={}", command),       fmt::format("CNI_CONTAINERID={}", inv.container_id),
      fmt::format("CNI_NETNS={}", inv.netns),       fmt::format("CNI_IFNAME={}", inv.ifname),
      fmt::format("CNI_ARGS={}", inv.args),         fmt::format("CNI_PATH={}", join(inv.plugin_dirs, ':')),
  };
  // The plugins run iptables and friends from PATH.
  const char* host_path = std::getenv("PATH");
  env.push_back(std::string("PATH=") + (host_path ? host_path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string argv0 = *path;
  char* argv[] = {argv0.data(), nullptr};

  auto in = make_pipe(), out = make_pipe(), err = make_pipe();
  if (!in) return fail(std::move(in).error());
  if (!out) return fail(std::move(out).error());
  if (!err) return fail(std::move(err).error());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in->read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out->write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err->write.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // no fd of ours reaches a plugin
  auto started = std::chrono::steady_clock::now();
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv0.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return fail(Error(rc, fmt::format("spawn cni plugin \"{}\"", argv0)));
  in->read.reset();
  out->write.reset();
  err->write.reset();

  std::string out_data, err_data;
  auto pumped = pump(std::move(in->write), out->read, err->read, config, out_data, err_data);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail(Error(errno, fmt::format("wait for cni plugin \"{}\"", type)));
  }
  if (!pumped) return fail(std::move(pumped).error());
  log::debug("cni {} {} network {} ifname {}: {} us", command, type, network, inv.ifname,
             std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(Error(0, fmt::format("plugin \"{}\": {}", type, plugin_failure(out_data, err_data, status))));
  return out_data;
}

}  // namespace berth::engine::cni
