#include "harness.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <condition_variable>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

#ifndef BERTH_DEFAULT_RUNTIME
#define BERTH_DEFAULT_RUNTIME "berth-runtime"
#endif
#ifndef BERTH_DEFAULT_CHECKER
#define BERTH_DEFAULT_CHECKER "berth-checker"
#endif
#ifndef BERTH_DEFAULT_FIXTURES
#define BERTH_DEFAULT_FIXTURES "/var/tmp/berth-fixtures"
#endif

namespace berth::test {

namespace {

std::string env_or(const char* name, const std::string& def) {
  const char* v = getenv(name);
  return v && *v ? v : def;
}

std::string which(const std::string& name) {
  if (name.find('/') != std::string::npos) return fs::absolute(name).string();
  std::stringstream path(env_or("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
  for (std::string d; std::getline(path, d, ':');)
    if (access((d + "/" + name).c_str(), X_OK) == 0) return d + "/" + name;
  return name;
}

std::string read_fd(int fd) {
  std::string s;
  char buf[65536];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
  return s;
}

int status_code(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

// Forks argv with stdin/stdout/stderr/extra fds in place and every other fd closed.
pid_t spawn(const std::vector<std::string>& argv, const CmdOptions& opts, int out, int err, int* pidfd) {
  int in = -1;
  if (!opts.stdin_data.empty()) {
    in = memfd_create("berth-test-stdin", MFD_CLOEXEC);
    if (write(in, opts.stdin_data.data(), opts.stdin_data.size()) < 0) abort();
    lseek(in, 0, SEEK_SET);
  } else {
    in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  int outfd = out;
  if (opts.stdout_file) outfd = open(opts.stdout_file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    // Move everything above the target range first, then into place.
    int base = 100;
    int fds[3] = {fcntl(in, F_DUPFD, base), fcntl(outfd, F_DUPFD, base), fcntl(err, F_DUPFD, base)};
    std::vector<int> extra;
    for (int fd : opts.extra_fds) extra.push_back(fcntl(fd, F_DUPFD, base));
    for (int i = 0; i < 3; i++) dup2(fds[i], i);
    for (size_t i = 0; i < extra.size(); i++) dup2(extra[i], int(3 + i));
    syscall(SYS_close_range, 3 + extra.size(), ~0U, 0);
    signal(SIGPIPE, SIG_DFL);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  close(in);
  if (opts.stdout_file) close(outfd);
  *pidfd = pid > 0 ? int(syscall(SYS_pidfd_open, pid, 0)) : -1;
  return pid;
}

// Statuses of children that reap_orphans() reaped before their owner waited:
// a `run` that exits while another command's finish() sweeps up orphans.
std::mutex g_reaped_mutex;
std::map<pid_t, int> g_reaped;

CmdResult finish(pid_t pid, int pidfd, int out, int err, std::chrono::milliseconds timeout) {
  CmdResult r;
  // Reap orphans while waiting, as containerd-shim and conmon do: a dying pid
  // namespace's init waits until every process of its namespace is reaped,
  // and a detached exec'd process killed with it is our child (the runtime
  // that made it has exited): `delete --force` would wait for us, we for it.
  const auto end = std::chrono::steady_clock::now() + timeout;
  struct pollfd p = {pidfd, POLLIN, 0};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      r.timed_out = true;
      break;
    }
    if (poll(&p, 1, int(std::min<long long>(left.count(), 20))) > 0) break;
    reap_orphans();  // may reap `pid` too: its status is kept in g_reaped
  }
  int st = 0;
  pid_t got;
  while ((got = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
  }
  if (got < 0 && errno == ECHILD) {
    std::lock_guard lock(g_reaped_mutex);
    if (auto it = g_reaped.find(pid); it != g_reaped.end()) {
      st = it->second;
      g_reaped.erase(it);
    }
  }
  r.status = status_code(st);
  r.out = read_fd(out);
  r.err = read_fd(err);
  close(pidfd);
  close(out);
  close(err);
  reap_orphans();
  return r;
}

}  // namespace

std::string runtime_path() {
  static std::string p = which(env_or("BERTH_RUNTIME", BERTH_DEFAULT_RUNTIME));
  return p;
}
std::string checker_path() { return env_or("BERTH_CHECKER", BERTH_DEFAULT_CHECKER); }
std::string fixtures_dir() { return env_or("BERTH_FIXTURES", BERTH_DEFAULT_FIXTURES); }

bool runtime_is_runc() { return fs::path(runtime_path()).filename() == "runc"; }
bool runtime_is_berth() { return fs::path(runtime_path()).filename().string().find("berth") != std::string::npos; }

std::string host_ns(const std::string& type) {
  std::error_code ec;
  return fs::read_symlink("/proc/self/ns/" + type, ec).string();
}

std::string CmdResult::describe() const {
  std::ostringstream s;
  s << "status=" << status << (timed_out ? " (timed out)" : "") << "\nstdout: " << out << "\nstderr: " << err;
  return s.str();
}

CmdResult run_cmd(const std::vector<std::string>& argv, const CmdOptions& opts) {
  int out = memfd_create("berth-test-out", MFD_CLOEXEC), err = memfd_create("berth-test-err", MFD_CLOEXEC);
  int pidfd = -1;
  pid_t pid = spawn(argv, opts, out, err, &pidfd);
  return finish(pid, pidfd, out, err, opts.timeout);
}

Spawned::Spawned(const std::vector<std::string>& argv, const CmdOptions& opts) {
  out_ = memfd_create("berth-test-out", MFD_CLOEXEC);
  err_ = memfd_create("berth-test-err", MFD_CLOEXEC);
  pid_ = spawn(argv, opts, out_, err_, &pidfd_);
}

Spawned::~Spawned() {
  if (!waited_) wait(std::chrono::milliseconds(1));
}

CmdResult Spawned::wait(std::chrono::milliseconds timeout) {
  waited_ = true;
  return finish(pid_, pidfd_, out_, err_, timeout);
}

void sweep_stale_bundles() {
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/var/tmp", ec)) {
    auto name = e.path().filename().string();
    const std::string prefix = "berth-test-";
    if (name.rfind(prefix, 0) != 0) continue;
    // berth-test-<pid>-XXXXXX, whose pid is gone
    size_t dash = name.find('-', prefix.size());
    if (dash == std::string::npos) continue;
    pid_t pid = pid_t(std::strtol(name.substr(prefix.size(), dash - prefix.size()).c_str(), nullptr, 10));
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (!mounts_containing(e.path().string()).empty()) continue;  // never rm across a mount
    run_cmd({"rm", "-rf", "--one-file-system", e.path().string()});
  }
}

void reap_orphans() {
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    std::lock_guard lock(g_reaped_mutex);
    g_reaped[pid] = st;  // kept for a Spawned/run_cmd child whose owner has not waited yet
  }
}

std::vector<std::string> mounts_containing(const std::string& needle) {
  std::vector<std::string> found;
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    std::istringstream ls(line);
    std::string f[5];
    for (auto& x : f) ls >> x;
    if (f[4].find(needle) != std::string::npos) found.push_back(f[4]);
  }
  return found;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > end) return false;
    reap_orphans();
    usleep(10000);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::trunc);
  f << content;
}

json parse_checker(const std::string& out) {
  // The checker prints one JSON line; anything else (a runtime warning) is skipped.
  std::istringstream s(out);
  json last;
  for (std::string line; std::getline(s, line);) {
    if (line.empty() || line[0] != '{') continue;
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) last = j;
  }
  return last;
}

uint64_t cap_mask(const std::vector<std::string>& names) {
  static const std::map<std::string, int> caps = {
      {"CAP_CHOWN", 0}, {"CAP_DAC_OVERRIDE", 1}, {"CAP_DAC_READ_SEARCH", 2}, {"CAP_FOWNER", 3},
      {"CAP_FSETID", 4}, {"CAP_KILL", 5}, {"CAP_SETGID", 6}, {"CAP_SETUID", 7}, {"CAP_SETPCAP", 8},
      {"CAP_LINUX_IMMUTABLE", 9}, {"CAP_NET_BIND_SERVICE", 10}, {"CAP_NET_BROADCAST", 11},
      {"CAP_NET_ADMIN", 12}, {"CAP_NET_RAW", 13}, {"CAP_IPC_LOCK", 14}, {"CAP_IPC_OWNER", 15},
      {"CAP_SYS_MODULE", 16}, {"CAP_SYS_RAWIO", 17}, {"CAP_SYS_CHROOT", 18}, {"CAP_SYS_PTRACE", 19},
      {"CAP_SYS_PACCT", 20}, {"CAP_SYS_ADMIN", 21}, {"CAP_SYS_BOOT", 22}, {"CAP_SYS_NICE", 23},
      {"CAP_SYS_RESOURCE", 24}, {"CAP_SYS_TIME", 25}, {"CAP_SYS_TTY_CONFIG", 26}, {"CAP_MKNOD", 27},
      {"CAP_LEASE", 28}, {"CAP_AUDIT_WRITE", 29}, {"CAP_AUDIT_CONTROL", 30}, {"CAP_SETFCAP", 31},
      {"CAP_MAC_OVERRIDE", 32}, {"CAP_MAC_ADMIN", 33}, {"CAP_SYSLOG", 34}, {"CAP_WAKE_ALARM", 35},
      {"CAP_BLOCK_SUSPEND", 36}, {"CAP_AUDIT_READ", 37}, {"CAP_PERFMON", 38}, {"CAP_BPF", 39},
      {"CAP_CHECKPOINT_RESTORE", 40}};
  uint64_t m = 0;
  for (auto& n : names) m |= uint64_t(1) << caps.at(n);
  return m;
}

// ---------------------------------------------------------------- Bundle

namespace {
std::string sanitize(std::string s) {
  for (auto& c : s)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  return s.substr(0, 40);
}

std::atomic<int> bundle_counter{0};
}  // namespace

Bundle::Bundle(const std::string& name) {
  // the owner's pid in the name lets a later run sweep what a killed run left
  std::string tmpl = "/var/tmp/berth-test-" + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) abort();
  dir = tmpl;
  chmod(dir.c_str(), 0755);  // a user-namespaced container must reach its rootfs
  rootfs = dir + "/rootfs";
  root = dir + "/state";
  std::string n = name;
  if (n.empty()) {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    n = info ? info->name() : "x";
  }
  id = "berth-test-" + sanitize(n) + "-" + std::to_string(getpid()) + "-" + std::to_string(bundle_counter++);
  ids_.push_back(id);
  fs::create_directories(root);
  auto cp = run_cmd({"cp", "-a", fixtures_dir() + "/busybox-rootfs", rootfs});
  if (cp.status != 0) {
    ADD_FAILURE() << "copying the fixture rootfs (scripts/make-fixtures.sh): " << cp.describe();
    return;
  }
  fs::copy_file(checker_path(), rootfs + "/bin/checker", fs::copy_options::overwrite_existing);
  chmod((rootfs + "/bin/checker").c_str(), 0755);
  config = json::parse(read_file(fixtures_dir() + "/bundle-busybox/config.json"));
}

Bundle::~Bundle() {
  for (auto& cid : ids_) {
    if (status(cid).empty()) continue;
    auto r = rt({"delete", "--force", cid});
    if (r.status != 0 && !status(cid).empty()) ADD_FAILURE() << "cleanup: delete --force " << cid << ": " << r.describe();
  }
  reap_orphans();
  // Never let rm cross a mount: a leaked bind mount would take host files with it.
  auto leaked = mounts_containing(dir);
  for (auto it = leaked.rbegin(); it != leaked.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
  if (!leaked.empty()) ADD_FAILURE() << "mounts left under " << dir << " after the test: " << leaked.front();
  run_cmd({"rm", "-rf", "--one-file-system", dir});
}

void Bundle::set_args(const std::vector<std::string>& args) { config["process"]["args"] = args; }

void Bundle::checker_args(const std::vector<std::string>& args) {
  std::vector<std::string> a = {"/bin/checker"};
  a.insert(a.end(), args.begin(), args.end());
  set_args(a);
}

void Bundle::write_config() const { write_file(dir + "/config.json", config.dump(2)); }

void Bundle::add_namespace(const std::string& type, const std::string& path) {
  remove_namespace(type);
  json ns = {{"type", type}};
  if (!path.empty()) ns["path"] = path;
  config["linux"]["namespaces"].push_back(ns);
}

void Bundle::remove_namespace(const std::string& type) {
  auto& nss = config["linux"]["namespaces"];
  for (auto it = nss.begin(); it != nss.end();) {
    if ((*it)["type"] == type) it = nss.erase(it);
    else ++it;
  }
}

json& Bundle::find_mount(const std::string& destination) {
  for (auto& m : config["mounts"])
    if (m["destination"] == destination) return m;
  ADD_FAILURE() << "no mount " << destination << " in the base config";
  static json none;
  return none;
}

CmdResult Bundle::rt(const std::vector<std::string>& args, const CmdOptions& opts) {
  std::vector<std::string> argv = runner;
  argv.push_back(runtime_path());
  if (pass_root) argv.insert(argv.end(), {"--root", root});
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, opts);
}

CmdResult Bundle::run(const std::vector<std::string>& extra, const CmdOptions& opts) {
  write_config();
  std::vector<std::string> args = {"run", "--bundle", dir};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(id);
  return rt(args, opts);
}

json Bundle::check(const std::vector<std::string>& args) {
  checker_args(args);
  auto r = run();
  EXPECT_EQ(r.status, 0) << r.describe();
  auto j = parse_checker(r.out);
  EXPECT_TRUE(j.is_object()) << "no checker output: " << r.describe();
  return j.is_object() ? j : json::object();
}

CmdResult Bundle::create(const std::vector<std::string>& extra, const CmdOptions& opts) {
  write_config();
  std::vector<std::string> args = {"create", "--bundle", dir};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(id);
  return rt(args, opts);
}

CmdResult Bundle::start(const std::string& cid) { return rt({"start", cid.empty() ? id : cid}); }

CmdResult Bundle::kill(const std::string& signal, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"kill"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(id);
  if (!signal.empty()) args.push_back(signal);
  return rt(args);
}

CmdResult Bundle::del(bool force, const std::string& cid) {
  if (force) return rt({"delete", "--force", cid.empty() ? id : cid});
  return rt({"delete", cid.empty() ? id : cid});
}

std::optional<json> Bundle::state(const std::string& cid) {
  auto r = rt({"state", cid.empty() ? id : cid});
  if (r.status != 0) return std::nullopt;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string Bundle::status(const std::string& cid) {
  auto s = state(cid);
  return s && s->contains("status") ? (*s)["status"].get<std::string>() : "";
}

bool Bundle::wait_status(const std::string& want, std::chrono::milliseconds timeout, const std::string& cid) {
  return eventually([&] { return status(cid) == want; }, timeout);
}

std::string Bundle::new_id(const std::string& suffix) {
  ids_.push_back(id + "-" + suffix);
  return ids_.back();
}

// ---------------------------------------------------------------- ConsoleReceiver

struct ConsoleReceiver::Impl {
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

ConsoleReceiver::ConsoleReceiver(const std::string& path) : path_(path), impl_(new Impl) {
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  unlink(path.c_str());
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) || listen(listen_fd_, 1))
    ADD_FAILURE() << "console socket " << path << ": " << strerror(errno);
  impl_->thread = std::thread([this] {
    struct pollfd p = {listen_fd_, POLLIN, 0};
    int fd = -1;
    if (poll(&p, 1, 30000) == 1) {
      int conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) {
        char buf[4096];
        char ctrl[CMSG_SPACE(sizeof(int))];
        iovec iov = {buf, sizeof buf};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl;
        msg.msg_controllen = sizeof ctrl;
        if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) >= 0) {
          for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
        }
        close(conn);
      }
    }
    std::lock_guard lock(impl_->mu);
    master_ = fd;
    impl_->done = true;
    impl_->cv.notify_all();
  });
}

ConsoleReceiver::~ConsoleReceiver() {
  shutdown(listen_fd_, SHUT_RDWR);
  impl_->thread.join();
  close(listen_fd_);
  if (master_ >= 0) close(master_);
  unlink(path_.c_str());
  delete impl_;
}

int ConsoleReceiver::master(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait_for(lock, timeout, [&] { return impl_->done; });
  return master_;
}

std::string ConsoleReceiver::read_all(std::chrono::milliseconds timeout) {
  int fd = master(timeout);
  std::string s;
  if (fd < 0) return s;
  auto end = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) {
      reap_orphans();
      continue;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;  // EIO: every slave fd is closed
    s.append(buf, size_t(n));
  }
  return s;
}

}  // namespace berth::test
