// Berth's own per-network iptables rules (network_rules_batch): installed by
// one iptables-restore --noflush (and one ip6tables-restore for the IPv6
// subnets) when a network is created or removed, and when a network is
// first used after boot. A marker per network under
// <runroot>/network-rules (a tmpfs, cleared at boot like the rules) says they
// are in place, so a container's setup costs a stat, not an exec.
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "base/fd.h"
#include "base/file.h"
#include "engine/network.h"
#include "engine/network_config.h"
#include "engine/network_internal.h"

namespace berth::engine {
namespace {

// Runs `<program> -w --noflush` (iptables-restore or ip6tables-restore) on
// `batch`; its stderr names the failure.
Result<> iptables_restore(const std::string& program, const std::string& batch) {
  UniqueFd in(::memfd_create("berth-iptables-batch", MFD_CLOEXEC));
  UniqueFd err(::memfd_create("berth-iptables-err", MFD_CLOEXEC));
  if (!in || !err) return sys_error(errno, "memfd_create");
  BERTH_TRY(write_all(in.get(), batch, "iptables batch"));
  if (::lseek(in.get(), 0, SEEK_SET) != 0) return sys_error(errno, "lseek iptables batch");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.get(), 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err.get(), 2);
  std::string a0 = program, a1 = "-w", a2 = "--noflush";
  char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, ::environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return sys_error(rc, "spawn {}", program);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error(errno, "wait for {}", program);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string message(4096, '\0');
  ssize_t n = ::pread(err.get(), message.data(), message.size(), 0);
  message.resize(n > 0 ? static_cast<size_t>(n) : 0);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return error("{} of the network rules failed: {}", program, message);
}

std::string markers_dir(const Paths& paths) { return paths.runroot + "/network-rules"; }

}  // namespace

namespace {

// Whether a bridge network of `networks` has a subnet of the family.
bool any_of_family(const std::vector<NetworkRecord>& networks, bool v6) {
  for (const auto& n : networks) {
    if (n.driver != "bridge") continue;
    for (const auto& s : subnets_of(n))
      if ((s.subnet.find(':') != std::string::npos) == v6) return true;
  }
  return false;
}

Result<> apply_family_rules(const std::vector<NetworkRecord>& networks, bool v6) {
  std::string program = v6 ? "ip6tables-restore" : "iptables-restore";
  auto moved = iptables_restore(program, network_rules_batch(networks, true, v6));
  if (moved) return {};
  if (!any_of_family(networks, v6)) return {};  // nothing was installed: nothing to remove
  // The first time: no jump to delete yet.
  return iptables_restore(program, network_rules_batch(networks, false, v6));
}

}  // namespace

Result<> apply_network_rules(const std::vector<NetworkRecord>& networks, bool v6_installed) {
  BERTH_TRY(apply_family_rules(networks, false));
  if (!v6_installed && !any_of_family(networks, true)) return {};  // no ip6tables-restore to run
  return apply_family_rules(networks, true);
}

Result<> sync_network_rules(EngineDb& db, const Paths& paths) {
  BERTH_TRY(mkdir_p(markers_dir(paths), 0755));
  // Serialised: two berths installing at once would both add the jumps.
  BERTH_TRY_ASSIGN(lock, lock_object(markers_dir(paths) + "/.lock"));
  BERTH_TRY_ASSIGN(networks, db.networks());
  // The markers name the subnets whose rules are in: IPv6 rules to remove
  // only when one of them is IPv6 (no ip6tables-restore on a v4-only host).
  bool v6_installed = false;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(markers_dir(paths), ec)) {
    if (e.path().filename() == ".lock") continue;
    auto subnets = read_file(e.path().string());
    v6_installed = v6_installed || !subnets || subnets->find(':') != std::string::npos;
  }
  BERTH_TRY(apply_network_rules(networks, v6_installed));
  for (const auto& e : std::filesystem::directory_iterator(markers_dir(paths), ec)) {
    if (e.path().filename() != ".lock") std::filesystem::remove(e.path(), ec);
  }
  for (const auto& n : networks) {
    if (n.driver != "bridge") continue;
    std::string subnets;
    for (const auto& s : subnets_of(n)) subnets += (subnets.empty() ? "" : ",") + s.subnet;
    BERTH_TRY(write_file_atomic(markers_dir(paths) + "/" + n.name, subnets + "\n", 0644, Durability::volatile_));
  }
  return {};
}

Result<> ensure_network_rules(const NetworkRecord& n, EngineDb& db, const Paths& paths) {
  if (n.driver != "bridge") return {};
  BERTH_TRY(prepare_bridge(n));  // one if_nametoindex, for IPv6 and VLAN networks only
  if (::access((markers_dir(paths) + "/" + n.name).c_str(), F_OK) == 0) return {};
  return sync_network_rules(db, paths);
}

}  // namespace berth::engine
