#include "runtime/ps.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "base/file.h"

extern char** environ;

namespace berth::runtime {

namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

Result<std::string> run_ps(const std::vector<std::string>& args) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error(errno, "pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<char*> argv;
  std::string name = "ps";
  argv.push_back(name.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, wr.get(), 2);
  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, "ps", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return sys_error(err, "run ps");
  wr.reset();
  auto out = read_fd(rd, "ps output");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error(errno, "wait for ps");
  }
  if (!out) return std::unexpected(std::move(out).error());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return error("ps: exit status {}: {}", code, *out);
  }
  return std::move(*out);
}

Result<std::string> filter_ps_output(std::string_view output, const std::vector<pid_t>& pids) {
  size_t nl = output.find('\n');
  std::string_view header = output.substr(0, nl);
  auto titles = fields(header);
  auto it = std::find(titles.begin(), titles.end(), "PID");
  if (it == titles.end()) return error("couldn't find PID field in ps output");
  size_t index = static_cast<size_t>(it - titles.begin());
  std::string out(header);
  out += '\n';
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : output.substr(nl + 1);
  while (!rest.empty()) {
    nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) continue;
    auto f = fields(line);
    pid_t pid = 0;
    if (index >= f.size()) return error("unable to parse pid: no PID column in \"{}\"", line);
    auto [p, ec] = std::from_chars(f[index].data(), f[index].data() + f[index].size(), pid);
    if (ec != std::errc() || p != f[index].data() + f[index].size())
      return error("unable to parse pid: \"{}\"", f[index]);
    if (std::find(pids.begin(), pids.end(), pid) == pids.end()) continue;
    out += line;
    out += '\n';
  }
  return out;
}

Result<std::string> ps(const Runtime& runtime, const std::string& id, PsFormat format,
                       const std::vector<std::string>& ps_args) {
  BERTH_TRY_ASSIGN(pids, runtime.processes(id));
  if (format == PsFormat::json) {
    std::string out = "[";
    for (size_t i = 0; i < pids.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(pids[i]);
    }
    out += "]\n";
    return out;
  }
  BERTH_TRY_ASSIGN(output, run_ps(ps_args.empty() ? std::vector<std::string>{"-ef"} : ps_args));
  return filter_ps_output(output, pids);
}

}  // namespace berth::runtime
