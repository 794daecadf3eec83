#include "engine/container_exec.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <optional>

#include "base/fd.h"
#include "base/file.h"
#include "engine/db.h"
#include "engine/flags.h"
#include "engine/monitor.h"
#include "engine/spec_builder.h"
#include "image/remove_tree.h"
#include "runtime/exec.h"
#include "runtime/process_attrs.h"

namespace berth::engine {
namespace {

bool has_key(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=') return true;
  return false;
}

// Every capability berth itself may pass on (its bounding set: this host's
// root lacks CAP_SYS_RESOURCE, which no process of ours could be given).
std::vector<std::string> every_capability() {
  std::vector<std::string> caps;
  int last = runtime::last_capability();
  for (const auto& name : runtime::all_capability_names()) {
    auto n = runtime::capability_from_name(name);
    if (n && *n <= last && ::prctl(PR_CAPBSET_READ, *n, 0, 0, 0) == 1) caps.push_back(name);
  }
  return caps;
}

// Puts fd `target` (0, 1 or 2) on another file for the scope, then back.
class FdSwap {
 public:
  static Result<FdSwap> to(int target, const UniqueFd& file) {
    UniqueFd saved(::fcntl(target, F_DUPFD_CLOEXEC, 3));
    if (!saved && errno != EBADF) return sys_error(errno, "save fd {}", target);
    if (::dup2(file.get(), target) < 0) return sys_error(errno, "redirect fd {}", target);
    return FdSwap(target, std::move(saved));
  }
  FdSwap(FdSwap&& o) noexcept : target_(std::exchange(o.target_, -1)), saved_(std::move(o.saved_)) {}
  ~FdSwap() {
    if (target_ < 0) return;
    if (saved_) ::dup2(saved_.get(), target_);
    else ::close(target_);
  }

 private:
  FdSwap(int target, UniqueFd saved) : target_(target), saved_(std::move(saved)) {}
  int target_;
  UniqueFd saved_;
};

constexpr std::string_view kSessionPrefix = "exec-session-";

std::optional<oci::ConsoleSize> terminal_size(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0) return std::nullopt;
  return oci::ConsoleSize{ws.ws_row, ws.ws_col};
}

// Session directories whose process has exited (their monitor wrote "exit").
void sweep_ended_sessions(const std::string& run_dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir, ec)) {
    std::string name = entry.path().filename();
    if (name.starts_with(kSessionPrefix) && ::access((entry.path() / "exit").c_str(), F_OK) == 0)
      (void)image::remove_tree(entry.path());
  }
}

// -d: podman's detached exec session. A monitor of the session's own is
// the process's parent (the runtime's detached exec leaves it a child or an
// orphan of the monitor-to-be, a child subreaper): it reaps it, records its
// exit status, and holds its pty master with -t or its output pipes without
// (the output is discarded). Without it the process would be orphaned to
// PID 1, which may never reap it: a zombie that keeps the container's cgroup
// busy after the container is gone.
Result<int> exec_detached(RuntimeHandler& handler, const std::string& id, oci::Process process,
                          const ExecSessionPlace& place, std::string* session_id) {
  if (place.monitor_binary.empty() || place.run_dir.empty())
    return error("exec -d: no place for the session's monitor");
  sweep_ended_sessions(place.run_dir);
  // The session's id (podman's exec session id: 64 hex digits) names its directory.
  std::string session = new_id();
  std::string dir = place.run_dir + "/" + std::string(kSessionPrefix) + session;
  if (::mkdir(dir.c_str(), 0700) < 0) return sys_error(errno, "create exec session directory \"{}\"", dir);
  MonitorSpec spec;
  spec.id = id;
  spec.monitor_binary = place.monitor_binary;
  spec.run_dir = dir;
  spec.log_path = "/dev/null";  // podman logs nothing of a detached exec session
  spec.log_max_size = 0;        // (and /dev/null is never rotated)
  spec.terminal = process.terminal;
  std::string pid_file = dir + "/pid";
  auto started = start_monitor(spec, [&](const ContainerStdio& stdio) -> Result<pid_t> {
    // stdin is /dev/null, stdout and stderr the monitor's pipes (or, with a
    // terminal, all three /dev/null and the pty's master sent to the socket).
    BERTH_TRY(handler.exec(HandlerExec{id, process, true, stdio.console_socket, pid_file}));
    BERTH_TRY_ASSIGN(text, read_file(pid_file));
    int pid = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (ec != std::errc() || pid <= 0) return error("exec: bad pid file \"{}\": \"{}\"", pid_file, text);
    return pid_t{pid};
  });
  if (!started) {
    (void)image::remove_tree(dir);
    return std::unexpected(std::move(started).error());
  }
  if (session_id) *session_id = std::move(session);
  return 0;
}

}  // namespace

Result<oci::Process> exec_process(const oci::Process& container, const ExecRequest& request,
                                  const std::string& rootfs) {
  if (request.command.empty()) return error("exec: a command is required");
  oci::Process p = container;
  p.args = request.command;
  p.terminal = request.tty;
  p.console_size.reset();

  std::vector<std::string> env = container.env;
  for (const auto& file : request.env_files) {
    BERTH_TRY_ASSIGN(lines, with_context(read_env_file(file), "--env-file"));
    env.insert(env.end(), lines.begin(), lines.end());
  }
  for (auto& e : resolve_env_flags(request.env)) env.push_back(std::move(e));
  if (request.tty && !has_key(env, "TERM")) env.emplace_back("TERM=xterm");
  p.env = runtime::merge_env(env);

  if (!request.user.empty()) {
    BERTH_TRY_ASSIGN(user, with_context(resolve_user(rootfs, request.user), fmt::format("-u {}", request.user)));
    p.user.uid = user.uid;
    p.user.gid = user.gid;
    p.user.additional_gids = user.additional_gids;
    // HOME follows the user, as docker's exec sets it (unless -e gave one).
    bool home_from_flags = false;
    for (const auto& e : request.env)
      if (e.starts_with("HOME=")) home_from_flags = true;
    if (!home_from_flags) {
      std::erase_if(p.env, [](const std::string& e) { return e.starts_with("HOME="); });
      p.env.push_back("HOME=" + user.home);
    }
  }
  if (!request.workdir.empty()) {
    if (!request.workdir.starts_with('/')) return error("-w \"{}\": the directory must be absolute", request.workdir);
    p.cwd = request.workdir;
  }
  if (request.privileged) {
    auto all = every_capability();
    p.capabilities = oci::Capabilities{all, all, {}, all, {}};
  }
  return p;
}

Result<int> exec_in_container(RuntimeHandler& handler, const std::string& id, oci::Process process,
                              const ExecRequest& request, const ExecSessionPlace& session, std::string* session_id) {
  if (request.detach) return exec_detached(handler, id, std::move(process), session, session_id);
  if (request.tty) process.console_size = terminal_size(0);
  HandlerExec exec{id, std::move(process), false, "", ""};

  std::optional<FdSwap> stdin_null;
  if (!request.interactive) {
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) return sys_error(errno, "open /dev/null");
    BERTH_TRY_ASSIGN(swap, FdSwap::to(0, null));
    stdin_null.emplace(std::move(swap));
  }
  // In the foreground the runtime itself relays the terminal (runc's way:
  // our terminal in raw mode, resizes passed on); a console socket is only
  // for a detached process (exec_detached).
  return handler.exec(exec);
}

}  // namespace berth::engine
