// The oci handler: any runc-compatible binary (berth-runtime, runc, crun)
// driven through its command line, with a --root of its own.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/spawn.h"
#include "engine/command_failure.h"
#include "engine/exec_format.h"
#include "engine/handler.h"
#include "oci/config.h"
#include "runtime/console.h"
#include "runtime/supervise.h"

extern char** environ;

namespace berth::engine {
namespace {

struct Ran {
  int status = 0;  // exit code, 128+signal
  std::string out, err;
};

// A temporary file removed when dropped.
struct TempFile {
  std::string path;
  UniqueFd fd;
  TempFile() = default;
  TempFile(TempFile&& o) noexcept : path(std::exchange(o.path, {})), fd(std::move(o.fd)) {}
  ~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

Result<TempFile> make_temp(const std::string& dir, std::string_view prefix) {
  TempFile t;
  t.path = fmt::format("{}/{}XXXXXX", dir, prefix);
  int fd = ::mkstemp(t.path.data());
  if (fd < 0) {
    auto err = sys_error(errno, "create a temporary file in \"{}\"", dir);
    t.path.clear();
    return err;
  }
  t.fd.reset(fd);
  return t;
}

// Runs argv; with `capture`, stdout and stderr come back, else the child has
// ours (a container's stdio when creating or exec'ing).
Result<Ran> run(const std::vector<std::string>& args, bool capture) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  SpawnActions actions;
  UniqueFd out_r, out_w, err_r, err_w;
  if (capture) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return sys_error(errno, "pipe");
    out_r.reset(p[0]);
    out_w.reset(p[1]);
    if (::pipe2(p, O_CLOEXEC) < 0) return sys_error(errno, "pipe");
    err_r.reset(p[0]);
    err_w.reset(p[1]);
    posix_spawn_file_actions_adddup2(actions.get(), out_w.get(), 1);
    posix_spawn_file_actions_adddup2(actions.get(), err_w.get(), 2);
  }
  // The child gets default signal handling (a monitor may block some).
  SpawnAttributes attr;
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, argv[0], actions.get(), attr.get(), argv.data(), environ);
  if (rc != 0) return sys_error(rc, "run \"{}\"", args[0]);
  Ran ran;
  if (capture) {
    out_w.reset();
    err_w.reset();
    struct pollfd p[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    std::string* sinks[2] = {&ran.out, &ran.err};
    int open_fds = 2;
    while (open_fds > 0) {
      int n = ::poll(p, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error(errno, "poll the output of \"{}\"", args[0]);
      for (int i = 0; i < 2; ++i) {
        if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[4096];
        ssize_t got = ::read(p[i].fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          p[i].fd = -1;
          --open_fds;
        } else {
          sinks[i]->append(buf, static_cast<size_t>(got));
        }
      }
    }
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return sys_error(errno, "wait for \"{}\"", args[0]);
  ran.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return ran;
}

// The error lines of a runtime's --log file (JSON lines, logrus style), or its text.
std::string log_errors(const std::string& path) {
  auto text = read_file(path);
  if (!text) return {};
  std::string msgs;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::string_view line(text->data() + pos, end - pos);
    pos = end + 1;
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (doc.is_object()) {
      auto level = doc.value("level", "");
      if (level != "error" && level != "fatal") continue;
      if (!msgs.empty()) msgs += ": ";
      msgs += doc.value("msg", "");
    } else if (!line.empty()) {
      if (!msgs.empty()) msgs += ": ";
      msgs += line;
    }
  }
  return msgs;
}

Result<> done(Result<std::string> r) {
  if (!r) return std::unexpected(std::move(r).error());
  return {};
}

std::string lower(std::string_view s) {
  std::string m(s);
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return m;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class OciHandler final : public RuntimeHandler {
 public:
  OciHandler(std::string name, std::string binary, std::string root)
      : name_(std::move(name)), binary_(std::move(binary)), root_(std::move(root)),
        reports_exec_failures_(binary_.substr(binary_.rfind('/') + 1).starts_with("berth-runtime")) {}

  const std::string& name() const override { return name_; }

  Result<pid_t> create(const HandlerCreate& request) override {
    BERTH_TRY(mkdir_p(root_, 0700));
    BERTH_TRY_ASSIGN(pid_file, make_temp(root_, "." + request.id + ".pid-"));
    std::vector<std::string> args = {"create", "--bundle", request.bundle, "--pid-file", pid_file.path};
    if (!request.console_socket.empty()) {
      args.push_back("--console-socket");
      args.push_back(request.console_socket);
    }
    args.push_back(request.id);
    // The runtime's stdio is the container's: its errors go to a log file.
    BERTH_TRY(run_inheriting(args, request.bundle));
    BERTH_TRY_ASSIGN(text, read_file(pid_file.path));
    pid_t pid = static_cast<pid_t>(std::atoi(text.c_str()));
    if (pid <= 0) return error("{} create \"{}\": bad pid file \"{}\"", name_, request.id, text);
    return pid;
  }

  Result<> start(std::string_view id) override {
    if (!reports_exec_failures_) {
      auto checked_format = check_init_format(id);
      if (!checked_format) {
        // Nothing waits for a start that cannot succeed (berth-runtime's
        // init is gone too when its execve fails).
        (void)checked({"kill", std::string(id), "KILL"});
        return checked_format;
      }
    }
    // berth-runtime's init reports its execve's failure to `start`.
    auto started = checked({"start", std::string(id)});
    if (!started) return std::unexpected(with_exec_format_errno(std::move(started).error()));
    return {};
  }

  Result<> kill(std::string_view id, int signal, bool all) override {
    std::vector<std::string> args = {"kill"};
    if (all) args.push_back("--all");
    args.push_back(std::string(id));
    args.push_back(std::to_string(signal));
    return done(checked(args));
  }

  Result<> remove(std::string_view id, bool force) override {
    std::vector<std::string> args = {"delete"};
    if (force) args.push_back("--force");
    args.push_back(std::string(id));
    return done(checked(args));
  }

  Result<HandlerState> state(std::string_view id) override {
    BERTH_TRY_ASSIGN(out, checked({"state", std::string(id)}));
    auto doc = nlohmann::json::parse(out, nullptr, false);
    if (!doc.is_object()) return error("{} state \"{}\": not a JSON object", name_, id);
    HandlerState st;
    std::string status = doc.value("status", "");
    if (status == "created") st.status = oci::Status::created;
    else if (status == "running") st.status = oci::Status::running;
    else if (status == "paused") st.status = oci::Status::paused;
    else if (status == "creating") st.status = oci::Status::creating;
    else st.status = oci::Status::stopped;
    st.pid = st.status == oci::Status::stopped ? 0 : doc.value("pid", 0);
    return st;
  }

  Result<> pause(std::string_view id) override { return done(checked({"pause", std::string(id)})); }
  Result<> resume(std::string_view id) override {
    return done(checked({"resume", std::string(id)}));
  }

  Result<std::vector<pid_t>> processes(std::string_view id) override {
    BERTH_TRY_ASSIGN(out, checked({"ps", "--format", "json", std::string(id)}));
    auto doc = nlohmann::json::parse(out, nullptr, false);
    if (!doc.is_array()) return error("{} ps \"{}\": not a JSON array", name_, id);
    std::vector<pid_t> pids;
    for (const auto& p : doc)
      if (p.is_number_integer()) pids.push_back(p.get<pid_t>());
    return pids;
  }

  Result<int> exec(const HandlerExec& request) override {
    if (!reports_exec_failures_) {
      BERTH_TRY_ASSIGN(st, state(request.id));
      if (st.pid > 0) BERTH_TRY(with_context(check_exec_format(st.pid, request.process), fmt::format("{} exec \"{}\"", name_, request.id)));
    }
    if (request.process.terminal && !request.detach) return exec_with_terminal(request);
    BERTH_TRY(mkdir_p(root_, 0700));
    BERTH_TRY_ASSIGN(process, make_temp(root_, "." + request.id + ".exec-"));
    BERTH_TRY(write_all(process.fd.get(), process_to_json(request.process), process.path));
    std::vector<std::string> args = {"exec", "--process", process.path};
    if (request.detach) args.push_back("--detach");
    if (!request.console_socket.empty()) {
      args.push_back("--console-socket");
      args.push_back(request.console_socket);
    }
    if (!request.pid_file.empty()) {
      args.push_back("--pid-file");
      args.push_back(request.pid_file);
    }
    args.push_back(request.id);
    BERTH_TRY_ASSIGN(log, make_temp(root_, "." + request.id + ".log-"));
    BERTH_TRY_ASSIGN(ran, run(command(args, log.path), false));
    // runc exits with the process's status; its own failures leave an error in the log.
    if (ran.status != 0) {
      std::string msgs = log_errors(log.path);
      const auto& args = request.process.args;
      if (!msgs.empty())
        return std::unexpected(with_errno(runtime_command_error(msgs, args.empty() ? "" : args[0]), "exec", request.id));
    }
    return ran.status;
  }

 private:
  std::vector<std::string> command(const std::vector<std::string>& args, const std::string& log) const {
    std::vector<std::string> argv = {binary_, "--root", root_};
    if (!log.empty()) {
      argv.insert(argv.end(), {"--log", log, "--log-format", "json"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Runs a verb, returning its stdout; a failure carries its stderr.
  Result<std::string> checked(const std::vector<std::string>& args) {
    BERTH_TRY_ASSIGN(ran, run(command(args, ""), true));
    if (ran.status != 0) {
      std::string msg = trimmed(ran.err);
      int code = msg.find("does not exist") != std::string::npos || msg.find("not found") != std::string::npos
                     ? ENOENT
                     : 0;
      return std::unexpected(Error(code, fmt::format("{} {} \"{}\": {}", name_, args[0], args.back(),
                                                     msg.empty() ? fmt::format("exit status {}", ran.status) : msg)));
    }
    return std::move(ran.out);
  }

  // Runs a verb with our stdio (the container's: its errors go to a log
  // file) on the bundle `bundle`.
  Result<> run_inheriting(const std::vector<std::string>& args, const std::string& bundle) {
    BERTH_TRY_ASSIGN(log, make_temp(root_, "." + args.back() + ".log-"));
    BERTH_TRY_ASSIGN(ran, run(command(args, log.path), false));
    if (ran.status == 0) return {};
    std::string msgs = log_errors(log.path);
    if (msgs.empty()) return error("{} {} \"{}\": exit status {}", name_, args[0], args.back(), ran.status);
    // The container's command could not be run (runc's `exec: "CMD"...`,
    // crun's own words): named as runc names it, with its errno, for
    // command_failure_status.
    auto spec = oci::load_config(bundle);
    std::string cmd = spec && spec->process && !spec->process->args.empty() ? spec->process->args[0] : "";
    return std::unexpected(with_errno(runtime_command_error(std::move(msgs), cmd), args[0], args.back()));
  }

  // The error of a runtime's verb from its log messages (runtime_command_error);
  // the errno's text replaces the runtime's own wording of it at the end.
  Error with_errno(Error err, std::string_view verb, std::string_view id) const {
    int code = err.code();
    std::string msgs = err.message();
    if (code != 0) {
      std::string suffix = ": " + lower(std::strerror(code));
      if (lower(msgs).ends_with(suffix)) msgs.resize(msgs.size() - suffix.size());
    }
    return Error(code, fmt::format("{} {} \"{}\": {}", name_, verb, id, msgs));
  }

  // A foreground process with a terminal. runc's own relay needs a
  // controlling terminal (it opens /dev/tty), which a berth run from a
  // script or a pipe has not; so, as conmon does, the runtime runs it
  // detached and sends its pty master here, where the process, orphaned by
  // the runtime's exit, is adopted (a child subreaper for the time) and its
  // terminal relayed as the builtin handler's is (runtime::supervise).
  Result<int> exec_with_terminal(const HandlerExec& request) {
    BERTH_TRY_ASSIGN(signals, runtime::ForwardedSignals::block());
    struct Subreaper {
      int was = 0;
      Subreaper() {
        (void)::prctl(PR_GET_CHILD_SUBREAPER, &was, 0, 0, 0);
        (void)::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
      }
      ~Subreaper() { (void)::prctl(PR_SET_CHILD_SUBREAPER, was, 0, 0, 0); }
    } subreaper;
    BERTH_TRY(mkdir_p(root_, 0700));
    // The socket is named through /proc/<pid>/fd/<dir>: the runtime's root
    // may be longer than a socket path can be.
    BERTH_TRY_ASSIGN(dir, open_file(root_, O_PATH | O_DIRECTORY));
    std::string name = fmt::format(".{}.console-{}", request.id.substr(0, 12), ::getpid());
    std::string ours = fmt::format("/proc/self/fd/{}/{}", dir.get(), name);
    std::string theirs = fmt::format("/proc/{}/fd/{}/{}", ::getpid(), dir.get(), name);
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener) return sys_error(errno, "create console socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (ours.size() >= sizeof addr.sun_path) return error("console socket path \"{}\" is too long", ours);
    std::memcpy(addr.sun_path, ours.c_str(), ours.size() + 1);
    ::unlinkat(dir.get(), name.c_str(), 0);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
      return sys_error(errno, "bind console socket \"{}/{}\"", root_, name);
    struct Unlink {
      const UniqueFd& dir;
      const std::string& name;
      ~Unlink() { ::unlinkat(dir.get(), name.c_str(), 0); }
    } unlink_socket{dir, name};
    if (::listen(listener.get(), 1) < 0) return sys_error(errno, "listen on console socket");
    BERTH_TRY_ASSIGN(pid_file, make_temp(root_, "." + request.id + ".pid-"));

    HandlerExec detached = request;
    detached.detach = true;
    detached.console_socket = theirs;
    detached.pid_file = pid_file.path;
    BERTH_TRY(exec(detached));
    // The runtime sent the master before it exited: the connection waits.
    pollfd p{listener.get(), POLLIN, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, 5000);
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) return error("{} exec \"{}\": the runtime sent no terminal", name_, request.id);
    UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return sys_error(errno, "accept on console socket");
    BERTH_TRY_ASSIGN(master, runtime::recv_fd(conn));
    BERTH_TRY_ASSIGN(text, read_file(pid_file.path));
    pid_t pid = static_cast<pid_t>(std::atoi(text.c_str()));
    if (pid <= 0) return error("{} exec \"{}\": bad pid file \"{}\"", name_, request.id, text);
    return runtime::supervise(pid, signals, master);
  }

  // runc and crun exec the container's command after `start` (or a
  // detached `exec`) returned: a file the kernel cannot execute is looked
  // at first (exec_format.h). berth-runtime reports the execve's errno.
  Result<> check_init_format(std::string_view id) {
    BERTH_TRY_ASSIGN(out, checked({"state", std::string(id)}));
    auto doc = nlohmann::json::parse(out, nullptr, false);
    if (!doc.is_object()) return error("{} state \"{}\": not a JSON object", name_, id);
    pid_t pid = doc.value("pid", 0);
    std::string bundle = doc.value("bundle", "");
    if (pid <= 0 || bundle.empty()) return {};
    BERTH_TRY_ASSIGN(spec, oci::load_config(bundle));
    if (!spec.process) return {};
    return with_context(check_exec_format(pid, *spec.process), fmt::format("{} start \"{}\"", name_, id));
  }

  std::string name_, binary_, root_;
  bool reports_exec_failures_;
};

}  // namespace

std::unique_ptr<RuntimeHandler> make_oci_handler(std::string name, std::string binary, std::string state_root) {
  return std::make_unique<OciHandler>(std::move(name), std::move(binary), std::move(state_root));
}

}  // namespace berth::engine
