#include "engine/container_prune.h"

#include <ftw.h>
#include <sys/stat.h>

#include <set>
#include <utility>

namespace berth::engine {
namespace {

// nftw's callback takes no context: the walk of one call at a time.
thread_local std::set<std::pair<dev_t, ino_t>>* seen_inodes = nullptr;
thread_local uint64_t walked_bytes = 0;

int count(const char*, const struct stat* st, int type, FTW*) {
  if (type == FTW_F || type == FTW_D || type == FTW_SL || type == FTW_DP) {
    if (seen_inodes->emplace(st->st_dev, st->st_ino).second) walked_bytes += uint64_t(st->st_blocks) * 512;
  }
  return 0;
}

}  // namespace

uint64_t disk_usage(const std::string& dir) {
  std::set<std::pair<dev_t, ino_t>> seen;
  seen_inodes = &seen;
  walked_bytes = 0;
  ::nftw(dir.c_str(), count, 32, FTW_PHYS | FTW_MOUNT);
  seen_inodes = nullptr;
  return walked_bytes;
}

Result<PruneReport> prune_containers(Engine& engine) {
  BERTH_TRY_ASSIGN(all, engine.list(true));
  PruneReport report;
  for (const auto& c : all) {
    if (c.state != ContainerState::stopped && c.state != ContainerState::created) continue;
    if (c.infra) continue;  // a pod's infra goes with its pod
    uint64_t size = disk_usage(engine.paths().container_dir(c.id));
    if (auto r = engine.remove(c.id, false, false); !r) {
      report.failures.push_back(std::move(r).error().context(fmt::format("remove {}", c.name)));
      continue;
    }
    report.removed.push_back(c.id);
    report.reclaimed += size;
  }
  return report;
}

}  // namespace berth::engine
