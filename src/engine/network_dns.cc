// aardvark-dns driven as netavark drives it (network_dns.h).
#include "engine/network_dns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "base/file.h"
#include "base/log.h"
#include "base/spawn.h"
#include "engine/db.h"
#include "engine/network_config.h"

extern char** environ;

namespace berth::engine {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool line_of(std::string_view line, std::string_view container_id) {
  return line.starts_with(container_id) && line.size() > container_id.size() && line[container_id.size()] == ' ';
}

// A pid that is aardvark-dns serving `dir` (not a zombie, not a reused pid).
bool is_our_aardvark(pid_t pid, const std::string& dir) {
  if (pid <= 0) return false;
  auto stat = read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) return false;
  auto paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] == 'Z') return false;
  auto cmdline = read_file(fmt::format("/proc/{}/cmdline", pid));
  if (!cmdline) return false;
  std::vector<std::string> args;
  size_t start = 0;
  while (start < cmdline->size()) {
    size_t end = cmdline->find('\0', start);
    if (end == std::string::npos) end = cmdline->size();
    args.push_back(cmdline->substr(start, end - start));
    start = end + 1;
  }
  if (args.empty() || !args[0].ends_with("aardvark-dns")) return false;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if ((args[i] == "--config" || args[i] == "-c") && args[i + 1] == dir) return true;
  return false;
}

// An address as /proc/net/udp and udp6 print it: the address's 32-bit
// words in network order, each printed as the host-order number it reads
// as ("0100590A" for 10.89.0.1 here); "" when `ip` is no address.
std::string proc_net_address(const std::string& ip) {
  in6_addr a6{};
  in_addr a4{};
  if (::inet_pton(AF_INET, ip.c_str(), &a4) == 1) return fmt::format("{:08X}", a4.s_addr);
  if (::inet_pton(AF_INET6, ip.c_str(), &a6) != 1) return "";
  std::string out;
  for (int i = 0; i < 4; ++i) {
    uint32_t word = 0;
    std::memcpy(&word, a6.s6_addr + 4 * i, 4);
    out += fmt::format("{:08X}", word);
  }
  return out;
}

// What aardvark-dns is to serve: whether any network file has a container
// entry (the others are removed), and the addresses (proc_net_address) on
// the first line of those that do.
struct Served {
  bool any = false;
  std::vector<std::string> addresses;
};

Result<Served> served(const std::string& dir) {
  std::error_code ec;
  Served out;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name == "aardvark.pid") continue;
    BERTH_TRY_ASSIGN(text, read_file(e.path().string()));
    auto lines = lines_of(text);
    if (lines.size() < 2) {
      if (::unlink(e.path().c_str()) != 0 && errno != ENOENT) return sys_error(errno, "remove \"{}\"", e.path().string());
      continue;
    }
    out.any = true;
    for (std::string_view first = lines[0]; !first.empty();) {
      size_t comma = first.find(',');
      if (auto address = proc_net_address(std::string(first.substr(0, comma))); !address.empty())
        out.addresses.push_back(std::move(address));
      first = comma == std::string_view::npos ? std::string_view() : first.substr(comma + 1);
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) return sys_error(ec.value(), "list \"{}\"", dir);
  return out;
}

// The UDP sockets bound to port 53 of each family, by address (as
// /proc/net/udp and udp6 print it).
using Sockets = std::map<std::string, std::set<unsigned long>>;
Sockets udp53_sockets() {
  Sockets out;
  for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
    auto text = read_file(table);
    if (!text) continue;
    auto lines = lines_of(*text);
    for (size_t i = 1; i < lines.size(); ++i) {
      char addr[33] = {};
      unsigned port = 0;
      unsigned long inode = 0;
      std::string line(lines[i]);
      if (std::sscanf(line.c_str(), "%*d: %32[0-9A-F]:%4X %*X:%*X %*X %*X:%*X %*X:%*X %*X %*u %*u %lu", addr, &port,
                      &inode) == 3 &&
          port == 53)
        out[addr].insert(inode);
    }
  }
  return out;
}

// aardvark-dns 1.4 (Debian 12's) answers a SIGHUP by closing every
// listener and binding them all again, so for a moment nothing answers on
// the gateway: a container that queries then gets "connection refused".
// Waits until each address has a socket that `before` did not have; false
// when one has none after `limit` (a rebind that lost the race for the port
// to the closing socket stays unbound until the next reload). An
// aardvark-dns that keeps its sockets across a reload (1.11 on) is
// recognised by the old socket still being there after a while.
bool wait_until_listening(const std::vector<std::string>& addresses, const Sockets& before,
                          std::chrono::milliseconds limit) {
  using namespace std::chrono;
  auto start = steady_clock::now();
  for (;;) {
    auto now_bound = udp53_sockets();
    bool ready = true, old_kept = true;
    for (const auto& a : addresses) {
      const auto& now = now_bound[a];
      auto was = before.find(a);
      auto in_before = [&](unsigned long inode) { return was != before.end() && was->second.contains(inode); };
      ready = ready && !std::all_of(now.begin(), now.end(), in_before);  // a socket bound since
      old_kept = old_kept && std::any_of(now.begin(), now.end(), in_before);
    }
    auto waited = steady_clock::now() - start;
    if (ready || (old_kept && waited > milliseconds(200))) return true;
    if (waited > limit) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
}

// Whether a network's file has `e` as it would write it (its listen line too).
bool has_entry(std::string_view text, const DnsEntry& e) {
  std::string alone = dns_config_with("", e);  // "listen\nline\n"
  std::string_view view(alone);
  size_t nl = view.find('\n');
  return text.starts_with(view.substr(0, nl + 1)) && text.find(view.substr(nl)) != std::string_view::npos;
}

}  // namespace

std::vector<DnsEntry> dns_entries(const std::vector<NetworkRecord>& records, std::vector<NetAttachment>& attachments,
                                  const NetworkSetup& setup) {
  std::vector<DnsEntry> out;
  for (size_t i = 0; i < records.size() && i < attachments.size(); ++i) {
    const auto& n = records[i];
    if (!has_dns(n)) continue;
    DnsEntry e;
    e.network = n.name;
    e.listen = gateways_of(n);  // IPv4 and IPv6: aardvark-dns answers on each
    e.container_id = setup.container_id;
    for (const auto& ip : attachments[i].ips) {
      std::string bare = ip.substr(0, ip.find('/'));
      (bare.find(':') == std::string::npos ? e.ipv4 : e.ipv6).push_back(bare);
    }
    auto add_name = [&e](const std::string& name) {
      if (!name.empty() && std::find(e.names.begin(), e.names.end(), name) == e.names.end()) e.names.push_back(name);
    };
    for (const auto& a : setup.aliases) add_name(a);
    add_name(setup.container_id.substr(0, 12));
    e.upstream = setup.dns_servers;
    attachments[i].dns_server = n.gateway;
    out.push_back(std::move(e));
  }
  return out;
}

std::string dns_config_with(std::string_view old, const DnsEntry& e) {
  std::string out = join(e.listen) + "\n";
  auto lines = lines_of(old);
  for (size_t i = 1; i < lines.size(); ++i)
    if (!line_of(lines[i], e.container_id)) out += std::string(lines[i]) + "\n";
  out += fmt::format("{} {} {} {}", e.container_id, join(e.ipv4), join(e.ipv6), join(e.names));
  if (!e.upstream.empty()) out += " " + join(e.upstream);
  return out + "\n";
}

std::string dns_config_without(std::string_view old, std::string_view container_id, bool& empty) {
  auto lines = lines_of(old);
  std::string out;
  empty = true;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0 && line_of(lines[i], container_id)) continue;
    if (i > 0) empty = false;
    out += std::string(lines[i]) + "\n";
  }
  return out;
}

NetworkDns::NetworkDns(const Paths& paths, std::string binary) : paths_(&paths), binary_(std::move(binary)) {}

std::string NetworkDns::config_dir() const { return paths_->runroot + "/aardvark-dns"; }

pid_t NetworkDns::running_pid() const {
  auto text = read_file(config_dir() + "/aardvark.pid");
  if (!text) return 0;
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), pid);
  (void)end;
  if (ec != std::errc() || !is_our_aardvark(pid, config_dir())) return 0;
  return pid;
}

Result<> NetworkDns::add(const std::vector<DnsEntry>& entries) {
  if (entries.empty()) return {};
  std::string dir = config_dir();
  BERTH_TRY_ASSIGN(lock, lock_object(paths_->lock("aardvark-dns")));
  BERTH_TRY(mkdir_p(dir, 0700));
  bool changed = false;
  for (const auto& e : entries) {
    std::string file = dir + "/" + e.network;
    auto old = read_file(file);
    if (!old && old.error().code() != ENOENT) return std::unexpected(std::move(old).error());
    // The same entry again (a pod member joining a pod that has its names): no reload.
    if (old && has_entry(*old, e)) continue;
    changed = true;
    // Written beside the dir, then renamed in: aardvark-dns reads every file in it.
    std::string tmp = paths_->runroot + "/aardvark-dns." + e.network + ".tmp";
    BERTH_TRY(write_file_atomic(tmp, dns_config_with(old ? *old : "", e), 0644, Durability::volatile_));
    if (::rename(tmp.c_str(), file.c_str()) != 0) return sys_error(errno, "rename \"{}\" to \"{}\"", tmp, file);
  }
  if (!changed && running_pid() > 0) return {};
  return reload();
}

Result<> NetworkDns::remove(std::string_view container_id) {
  std::string dir = config_dir();
  if (::access(dir.c_str(), F_OK) != 0) return {};
  BERTH_TRY_ASSIGN(lock, lock_object(paths_->lock("aardvark-dns")));
  std::error_code ec;
  bool changed = false;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name == "aardvark.pid") continue;
    BERTH_TRY_ASSIGN(text, read_file(e.path().string()));
    bool empty = false;
    std::string kept = dns_config_without(text, container_id, empty);
    if (kept == text) continue;
    changed = true;
    std::string tmp = paths_->runroot + "/aardvark-dns." + name + ".tmp";
    BERTH_TRY(write_file_atomic(tmp, kept, 0644, Durability::volatile_));
    if (::rename(tmp.c_str(), e.path().c_str()) != 0) return sys_error(errno, "rename \"{}\" to \"{}\"", tmp, e.path().string());
  }
  return changed ? reload() : Result<>{};
}

Result<> NetworkDns::remove_network(std::string_view network) {
  std::string dir = config_dir();
  if (::access(dir.c_str(), F_OK) != 0) return {};
  BERTH_TRY_ASSIGN(lock, lock_object(paths_->lock("aardvark-dns")));
  std::string file = dir + "/" + std::string(network);
  if (::unlink(file.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return sys_error(errno, "remove \"{}\"", file);
  }
  return reload();
}

Result<> NetworkDns::reload() {
  log::debug("aardvark-dns: reload for \"{}\"", config_dir());  // counted by the pod tests
  BERTH_TRY_ASSIGN(to_serve, served(config_dir()));
  pid_t pid = running_pid();
  if (!to_serve.any) {
    if (pid > 0) stop(pid);
    return {};
  }
  const auto& addresses = to_serve.addresses;
  if (pid > 0) {
    auto before = udp53_sockets();
    if (::kill(pid, SIGHUP) == 0) {
      if (wait_until_listening(addresses, before, std::chrono::seconds(1))) return {};
      log::warn("aardvark-dns {} did not listen on every gateway after a reload: restarted", pid);
      stop(pid);
    }
  }
  BERTH_TRY(start());
  if (!wait_until_listening(addresses, {}, std::chrono::seconds(3)))
    log::warn("aardvark-dns is not listening on every gateway of \"{}\" (see \"{}\")", config_dir(),
              paths_->runroot + "/aardvark-dns.log");
  return {};
}

Result<> NetworkDns::start() {
  std::string dir = config_dir();
  // A stale pid file (a crashed aardvark-dns) must not be taken for a live one.
  ::unlink((dir + "/aardvark.pid").c_str());
  std::string log_path = paths_->runroot + "/aardvark-dns.log";
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd) return sys_error(errno, "open /dev/null");
  // The daemon keeps its stderr: a file, never our caller's pipe.
  UniqueFd log_fd(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log_fd) return sys_error(errno, "open \"{}\"", log_path);
  std::vector<std::string> args = {binary_, "--config", dir, "-p", "53", "run"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  SpawnActions actions;
  posix_spawn_file_actions_adddup2(actions.get(), null_fd.get(), 0);
  posix_spawn_file_actions_adddup2(actions.get(), null_fd.get(), 1);
  posix_spawn_file_actions_adddup2(actions.get(), log_fd.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(actions.get(), 3);  // no lock or pipe of ours outlives us in it
  // Its own session: a ^C to `berth run` must not reach the network's DNS.
  SpawnAttributes attr(POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, binary_.c_str(), actions.get(), attr.get(), argv.data(), environ);
  if (rc != 0) return sys_error(rc, "start \"{}\"", binary_);
  // aardvark-dns forks its server and exits once the server is ready.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error(errno, "wait for \"{}\"", binary_);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string why;
    if (auto log = read_file(log_path)) why = *log;
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return error("aardvark-dns --config \"{}\" failed ({}): {}", dir,
                 WIFEXITED(status) ? fmt::format("exit {}", WEXITSTATUS(status)) : "killed", why);
  }
  if (running_pid() == 0) return error("aardvark-dns --config \"{}\" started but wrote no pid file", dir);
  return {};
}

void NetworkDns::stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  // Gone (or a zombie for its reaper) before the lock goes: a new one
  // started right after must find port 53 free.
  for (int i = 0; i < 200 && is_our_aardvark(pid, config_dir()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (is_our_aardvark(pid, config_dir())) {
    log::warn("aardvark-dns {} did not stop on SIGTERM: killed", pid);
    ::kill(pid, SIGKILL);
  }
  ::unlink((config_dir() + "/aardvark.pid").c_str());
}

}  // namespace berth::engine
