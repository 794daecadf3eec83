// Filesystem helpers of the cgroup managers: directories, cgroup.procs, signals.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>

#include "base/file.h"
#include "runtime/cgroup_internal.h"

namespace berth::runtime::cgroup::detail {

namespace {

void sleep_us(long us) {
  timespec ts{us / 1000000, (us % 1000000) * 1000};
  while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

void parse_pids(std::string_view text, std::vector<pid_t>& out) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    pid_t pid = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec == std::errc() && pid > 0) out.push_back(pid);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// Names of the sub-directories (sub-cgroups) of `dir`.
Result<std::vector<std::string>> sub_cgroups(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return sys_error(errno, "open \"{}\"", dir);
  }
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR) continue;
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    out.emplace_back(name);
  }
  ::closedir(d);
  return out;
}

Result<> collect_pids(const std::string& dir, std::vector<pid_t>& out) {
  auto text = read_file(dir + "/cgroup.procs");
  if (!text) {
    // A sub-cgroup removed while we walk is not an error.
    if (text.error().code() == ENOENT) return {};
    return std::unexpected(std::move(text).error());
  }
  parse_pids(*text, out);
  BERTH_TRY_ASSIGN(subs, sub_cgroups(dir));
  for (const auto& s : subs) BERTH_TRY(collect_pids(dir + "/" + s, out));
  return {};
}

// One attempt: sub-cgroups first, then the directory itself. Returns errno.
int rmdir_tree(const std::string& dir) {
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return 0;
  int err = errno;
  if (err != EBUSY && err != ENOTEMPTY) return err;
  auto subs = sub_cgroups(dir);
  if (!subs || subs->empty()) return err;
  for (const auto& s : *subs) rmdir_tree(dir + "/" + s);
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return 0;
  return errno;
}

}  // namespace

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<> make_dirs(const std::string& path, const std::string& mount_point, std::vector<std::string>& created) {
  if (::mkdir(path.c_str(), 0755) == 0) {
    created.push_back(path);
    return {};
  }
  if (errno == EEXIST) return {};
  if (errno != ENOENT || path.size() <= mount_point.size()) return sys_error(errno, "mkdir \"{}\"", path);
  BERTH_TRY(make_dirs(parent_dir(path), mount_point, created));
  if (::mkdir(path.c_str(), 0755) == 0) {
    created.push_back(path);
    return {};
  }
  if (errno == EEXIST) return {};
  return sys_error(errno, "mkdir \"{}\"", path);
}

void remove_created(const std::vector<std::string>& created) {
  for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
}

Result<std::string> read_trimmed(const std::string& path) {
  BERTH_TRY_ASSIGN(s, read_file(path));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

Result<> write_procs(const std::string& dir, pid_t pid) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, pid);
  (void)ec;
  return write_file(dir + "/cgroup.procs", std::string_view(buf, static_cast<size_t>(end - buf)));
}

Result<std::vector<pid_t>> read_pids_recursive(const std::string& dir) {
  std::vector<pid_t> out;
  BERTH_TRY(collect_pids(dir, out));
  return out;
}

Result<> signal_pids(const std::vector<pid_t>& pids, int sig) {
  for (pid_t pid : pids) {
    if (::kill(pid, sig) < 0 && errno != ESRCH) return sys_error(errno, "kill pid {} with signal {}", pid, sig);
  }
  return {};
}

Result<> signal_unfrozen(const std::string& dir, int sig) {
  std::set<pid_t> done;
  for (int round = 0; round < 16; ++round) {
    BERTH_TRY_ASSIGN(pids, read_pids_recursive(dir));
    std::vector<pid_t> fresh;
    for (pid_t p : pids)
      if (done.insert(p).second) fresh.push_back(p);
    if (fresh.empty()) break;
    BERTH_TRY(signal_pids(fresh, sig));
  }
  return {};
}

Result<bool> wait_for_content(const std::string& path, std::string_view want) {
  long delay = 50, waited = 0;
  for (;;) {
    BERTH_TRY_ASSIGN(s, read_file(path));
    if (s.find(want) != std::string::npos) return true;
    if (waited >= 1000000) return false;
    sleep_us(delay);
    waited += delay;
    delay = std::min(delay * 2, 20000L);
  }
}

Result<> remove_cgroup(const std::string& dir) {
  // A task that is exiting keeps its cgroup busy for a moment.
  long delay = 1000, waited = 0;
  for (;;) {
    int err = rmdir_tree(dir);
    if (err == 0) return {};
    if (err != EBUSY && err != ENOTEMPTY) return sys_error(err, "rmdir \"{}\"", dir);
    if (waited >= 1000000) return sys_error(err, "rmdir \"{}\"", dir);
    sleep_us(delay);
    waited += delay;
    delay = std::min(delay * 2, 100000L);
  }
}

Result<UniqueFd> make_and_open(const Dir& dir) {
  std::vector<std::string> created;
  if (auto r = make_dirs(dir.path, dir.mount_point, created); !r) {
    remove_created(created);
    return std::unexpected(std::move(r).error());
  }
  return open_file(dir.path, O_PATH | O_DIRECTORY);
}

}  // namespace berth::runtime::cgroup::detail
