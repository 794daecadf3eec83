// Berth's own per-network iptables rules (network_rules_batch): installed by
// one iptables-restore --noflush when a network is created or removed, and
// when a network is first used after boot. A marker per network under
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
#include "engine/network_config.h"
#include "engine/network_internal.h"

namespace berth::engine {
namespace {

// Runs `iptables-restore -w --noflush` on `batch`; its stderr names the failure.
Result<> iptables_restore(const std::string& batch) {
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
  std::string a0 = "iptables-restore", a1 = "-w", a2 = "--noflush";
  char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, "iptables-restore", &actions, nullptr, argv, ::environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return sys_error(rc, "spawn iptables-restore");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error(errno, "wait for iptables-restore");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string message(4096, '\0');
  ssize_t n = ::pread(err.get(), message.data(), message.size(), 0);
  message.resize(n > 0 ? static_cast<size_t>(n) : 0);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return error("iptables-restore of the network rules failed: {}", message);
}

std::string markers_dir(const Paths& paths) { return paths.runroot + "/network-rules"; }

}  // namespace

Result<> apply_network_rules(const std::vector<NetworkRecord>& networks) {
  std::string batch = network_rules_batch(networks, true);
  auto moved = iptables_restore(batch);
  if (moved) return {};
  bool any_bridge = false;
  for (const auto& n : networks) any_bridge = any_bridge || n.driver == "bridge";
  if (!any_bridge) return {};  // nothing was installed: nothing to remove
  // The first time: no jump to delete yet.
  return iptables_restore(network_rules_batch(networks, false));
}

Result<> sync_network_rules(EngineDb& db, const Paths& paths) {
  BERTH_TRY(mkdir_p(markers_dir(paths), 0755));
  // Serialised: two berths installing at once would both add the jumps.
  BERTH_TRY_ASSIGN(lock, lock_object(markers_dir(paths) + "/.lock"));
  BERTH_TRY_ASSIGN(networks, db.networks());
  BERTH_TRY(apply_network_rules(networks));
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(markers_dir(paths), ec)) {
    if (e.path().filename() != ".lock") std::filesystem::remove(e.path(), ec);
  }
  for (const auto& n : networks) {
    if (n.driver == "bridge") BERTH_TRY(write_file_atomic(markers_dir(paths) + "/" + n.name, n.subnet + "\n", 0644, Durability::volatile_));
  }
  return {};
}

Result<> ensure_network_rules(const NetworkRecord& n, EngineDb& db, const Paths& paths) {
  if (n.driver != "bridge") return {};
  if (::access((markers_dir(paths) + "/" + n.name).c_str(), F_OK) == 0) return {};
  return sync_network_rules(db, paths);
}

}  // namespace berth::engine
