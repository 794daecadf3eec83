// Container network teardowns off the critical path: the DELs (Go plugins,
// several ms each) and the namespace's removal run in a detached child after
// a record of the pending teardown is made, <runroot>/cni/teardown/<id>,
// holding the namespace path and flock'ed for as long as the teardown runs
// (the child inherits the lock). A record nobody holds is a teardown whose
// process died: whoever finds it first finishes it.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "engine/detached.h"
#include "engine/network.h"
#include "engine/network_dns.h"
#include "engine/network_internal.h"

namespace berth::engine {
namespace {

std::string records_dir(const Paths& paths) { return paths.runroot + "/cni/teardown"; }

// The DELs, the namespace and the record; errors are logged (as a
// synchronous teardown's are): a DEL that fails now would fail again.
void run_teardown(const std::string& record, const std::string& cache_dir, const std::string& id,
                  const std::string& netns, const std::vector<std::string>& plugin_dirs) {
  if (auto r = del_attachments(cache_dir, id, netns, plugin_dirs); !r)
    log::warn("network teardown of {}: {}", id, r.error().what());
  if (auto r = remove_netns(netns); !r) log::warn("remove netns of {}: {}", id, r.error().what());
  ::unlink(record.c_str());
}

}  // namespace

Result<> Networks::teardown_detached(const NetworkSetup& setup) {
  if (!setup.ports.empty()) {
    BERTH_TRY(teardown(setup));
    return remove_netns(setup.netns);
  }
  // The DNS entries at once (a file rewrite, no plugin): a container made
  // next with the same name must not share it with this one's address.
  if (auto r = NetworkDns(*paths_).remove(setup.container_id); !r)
    log::warn("DNS entries of {}: {}", setup.container_id, r.error().what());
  std::string dir = records_dir(*paths_);
  BERTH_TRY(mkdir_p(dir, 0700));
  std::string record = dir + "/" + setup.container_id;
  // Made under a hidden name and locked before it gets its own: a finisher
  // never finds it unlocked while its teardown is still to come.
  std::string tmp = dir + "/." + setup.container_id;
  BERTH_TRY_ASSIGN(fd, open_file(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600));
  if (::flock(fd.get(), LOCK_EX) != 0) return sys_error(errno, "lock \"{}\"", tmp);
  BERTH_TRY(write_all(fd.get(), setup.netns, tmp));
  if (::rename(tmp.c_str(), record.c_str()) != 0) return sys_error(errno, "rename \"{}\" to \"{}\"", tmp, record);
  auto detached = run_detached(fd.get(), [&] {
    run_teardown(record, paths_->cni_results(), setup.container_id, setup.netns, config_.plugin_dirs);
  });
  if (detached) return {};
  // No process for it: done here, as without a record.
  log::debug("network teardown of {} in the foreground: {}", setup.container_id, detached.error().what());
  run_teardown(record, paths_->cni_results(), setup.container_id, setup.netns, config_.plugin_dirs);
  return {};
}

Result<> Networks::finish_teardowns(std::string_view container_id, bool wait) {
  std::string dir = records_dir(*paths_);
  std::vector<std::string> ids;
  if (!container_id.empty()) {
    if (::access((dir + "/" + std::string(container_id)).c_str(), F_OK) != 0) return {};
    ids.emplace_back(container_id);
  } else {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      if (!name.starts_with(".")) ids.push_back(std::move(name));  // a record being made
    }
  }
  for (const auto& id : ids) {
    std::string record = dir + "/" + id;
    auto fd = open_file(record, O_RDWR);
    if (!fd && fd.error().code() == ENOENT) continue;  // finished meanwhile
    if (!fd) return std::unexpected(std::move(fd).error());
    if (::flock(fd->get(), wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) continue;  // in progress
      return sys_error(errno, "lock \"{}\"", record);
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return sys_error(errno, "stat \"{}\"", record);
    if (st.st_nlink == 0) continue;  // its process finished while we waited
    auto netns = read_file(record);
    std::string path = netns && !netns->empty() ? *netns : paths_->netns(id);
    run_teardown(record, paths_->cni_results(), id, path, config_.plugin_dirs);
  }
  return {};
}

}  // namespace berth::engine
