// One CNI plugin run (spec section 2): posix_spawn, no shell; the variables
// CNI_COMMAND/CONTAINERID/NETNS/IFNAME/ARGS/PATH; the configuration on stdin,
// the result or the error JSON on stdout, diagnostics on stderr (all three
// memfds, read back after the plugin exits).
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "engine/cni.h"

namespace berth::engine::cni {
namespace {

// A memfd holding `data` (empty: an empty file), read from offset 0.
Result<UniqueFd> memfd_with(const char* name, std::string_view data) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) return sys_error(errno, "memfd_create {}", name);
  if (!data.empty()) BERTH_TRY(write_all(fd.get(), data, name));
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return sys_error(errno, "lseek {}", name);
  return fd;
}

Result<std::string> memfd_contents(const UniqueFd& fd, const char* name) {
  std::string out;
  char buf[8192];
  for (off_t at = 0;;) {
    ssize_t r = ::pread(fd.get(), buf, sizeof buf, at);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return sys_error(errno, "read {}", name);
    if (r == 0) return out;
    out.append(buf, static_cast<size_t>(r));
    at += r;
  }
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

  // Files, not pipes: nothing waits for an end of file that a copy of a
  // descriptor in another process (a fork of this one made meanwhile, as
  // start_monitor makes while a setup runs on a thread) would hold back.
  auto in = memfd_with("berth-cni-stdin", config);
  if (!in) return fail(std::move(in).error());
  auto out = memfd_with("berth-cni-stdout", "");
  if (!out) return fail(std::move(out).error());
  auto err = memfd_with("berth-cni-stderr", "");
  if (!err) return fail(std::move(err).error());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in->get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out->get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err->get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // no fd of ours reaches a plugin
  auto started = std::chrono::steady_clock::now();
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv0.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return fail(Error(rc, fmt::format("spawn cni plugin \"{}\"", argv0)));

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail(Error(errno, fmt::format("wait for cni plugin \"{}\"", type)));
  }
  auto out_data = memfd_contents(*out, "plugin stdout");
  if (!out_data) return fail(std::move(out_data).error());
  auto err_data = memfd_contents(*err, "plugin stderr");
  if (!err_data) return fail(std::move(err_data).error());
  log::debug("cni {} {} network {} ifname {}: {} us", command, type, network, inv.ifname,
             std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(Error(0, fmt::format("plugin \"{}\": {}", type, plugin_failure(*out_data, *err_data, status))));
  return *out_data;
}

}  // namespace berth::engine::cni
