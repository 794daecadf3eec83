// linux.resources -> cgroup files: where each controller lives, enabling
// cgroup2 controllers in the parents, and the controllers with one file each
// (pids, hugetlb, net_cls/net_prio, rdma, unified).
#include "runtime/cgroup_resources.h"

#include <unistd.h>

#include <cerrno>

#include "base/file.h"
#include "runtime/cgroup_convert.h"
#include "runtime/cgroup_internal.h"
#include "runtime/cgroup_resources_internal.h"

namespace berth::runtime::cgroup {
namespace detail {

namespace {

std::string join(const std::set<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : " ") + n;
  return s.empty() ? "none" : s;
}

bool listed(std::string_view list, std::string_view name) {
  size_t pos = 0;
  while (pos < list.size()) {
    size_t end = list.find_first_of(" \n", pos);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(pos, end - pos) == name) return true;
    pos = end + 1;
  }
  return false;
}

// Enables `controller` in cgroup.subtree_control of every directory from the
// hierarchy's root down to the parent of `dir`.
Result<> enable_in_parents(const std::string& mount, const std::string& dir, std::string_view controller,
                           std::string_view field) {
  std::vector<std::string> chain;
  for (std::string p = parent_dir(dir); p.size() >= mount.size(); p = parent_dir(p)) {
    chain.push_back(p);
    if (p == mount) break;
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    std::string file = *it + "/cgroup.subtree_control";
    BERTH_TRY_ASSIGN(enabled, read_file(file));
    if (listed(enabled, controller)) continue;
    auto r = write_file(file, "+" + std::string(controller));
    if (!r) {
      if (r.error().code() == EBUSY)
        return error("{}: cannot enable the {} controller in \"{}\": the cgroup holds processes (cgroup2 allows "
                     "controllers only for cgroups without processes of their own)",
                     field, controller, *it);
      return with_context(std::move(r), fmt::format("{}: enable the {} controller", field, controller));
    }
  }
  return {};
}

Result<Targets> make_targets(const Layout& layout, const std::map<std::string, std::string>& paths,
                             const ApplyOptions& opts) {
  Targets t;
  t.mode = layout.mode;
  t.opts = opts;
  for (const auto& h : layout.hierarchies) {
    auto it = paths.find(h.mount_point);
    if (it == paths.end()) continue;
    if (h.unified) {
      t.unified = it->second;
      t.unified_mount = h.mount_point;
      t.unified_controllers.insert(h.controllers.begin(), h.controllers.end());
    } else {
      for (const auto& c : h.controllers) t.v1.emplace(c, it->second);
    }
  }
  if (t.v1.empty() && t.unified.empty()) return error("the container's cgroup is in no mounted hierarchy");
  return t;
}

Result<> apply_pids(const Targets& t, const oci::PidsResources& p) {
  if (!p.limit) return {};
  BERTH_TRY_ASSIGN(place, place_for(t, "linux.resources.pids", "pids", "pids"));
  return write_value(place.dir, "pids.max", *p.limit > 0 ? std::to_string(*p.limit) : "max",
                     "linux.resources.pids.limit");
}

Result<> apply_rdma(const Targets& t, const std::map<std::string, oci::RdmaLimit>& rdma) {
  if (rdma.empty()) return {};
  BERTH_TRY_ASSIGN(place, place_for(t, "linux.resources.rdma", "rdma", "rdma"));
  for (const auto& [dev, limit] : rdma)
    BERTH_TRY(write_value(place.dir, "rdma.max", rdma_max_line(dev, limit),
                          fmt::format("linux.resources.rdma[\"{}\"]", dev)));
  return {};
}

}  // namespace

Result<Place> place_for(const Targets& t, std::string_view field, std::string_view v1_name, std::string_view v2_name) {
  if (!v1_name.empty()) {
    auto it = t.v1.find(std::string(v1_name));
    if (it != t.v1.end()) return Place{it->second, false};
  }
  if (!v2_name.empty() && !t.unified.empty() && t.unified_controllers.contains(std::string(v2_name))) {
    BERTH_TRY(enable_in_parents(t.unified_mount, t.unified, v2_name, field));
    return Place{t.unified, true};
  }
  if (t.mode == Mode::v2) {
    if (v2_name.empty()) return error("{}: has no cgroup v2 equivalent", field);
    return error("{}: the {} cgroup controller is not available (the cgroup2 hierarchy at \"{}\" offers: {})", field,
                 v2_name, t.unified_mount, join(t.unified_controllers));
  }
  return error("{}: the {} cgroup controller is not mounted", field, v1_name.empty() ? v2_name : v1_name);
}

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

Result<> write_value(const std::string& dir, std::string_view file, std::string_view value, std::string_view field) {
  std::string path = dir + "/" + std::string(file);
  auto r = write_file(path, value);
  if (r) return {};
  int err = r.error().code();
  if (err == ENOENT)
    return error("{}: \"{}\" does not exist (the kernel does not offer this setting)", field, path);
  return sys_error(err, "{}: write \"{}\" to \"{}\"", field, value, path);
}

Result<> apply_hugetlb(const Targets& t, const std::vector<oci::HugepageLimit>& limits) {
  if (limits.empty()) return {};
  BERTH_TRY_ASSIGN(place, place_for(t, "linux.resources.hugepageLimits", "hugetlb", "hugetlb"));
  for (size_t i = 0; i < limits.size(); ++i) {
    const auto& l = limits[i];
    std::string field = fmt::format("linux.resources.hugepageLimits[{}]", i);
    std::string base = "hugetlb." + l.page_size + (place.v2 ? ".max" : ".limit_in_bytes");
    if (!file_exists(place.dir + "/" + base))
      return error("{}: the kernel has no {} huge pages (no \"{}/{}\")", field, l.page_size, place.dir, base);
    BERTH_TRY(write_value(place.dir, base, std::to_string(l.limit), field));
    // Reservations are limited alike where the kernel has them (5.7+), as runc does.
    std::string rsvd = "hugetlb." + l.page_size + (place.v2 ? ".rsvd.max" : ".rsvd.limit_in_bytes");
    if (file_exists(place.dir + "/" + rsvd)) BERTH_TRY(write_value(place.dir, rsvd, std::to_string(l.limit), field));
  }
  return {};
}

Result<> apply_network(const Targets& t, const oci::NetworkResources& n) {
  if (n.class_id) {
    BERTH_TRY_ASSIGN(place, place_for(t, "linux.resources.network.classID", "net_cls", ""));
    BERTH_TRY(write_value(place.dir, "net_cls.classid", std::to_string(*n.class_id), "linux.resources.network.classID"));
  }
  if (!n.priorities.empty()) {
    BERTH_TRY_ASSIGN(place, place_for(t, "linux.resources.network.priorities", "net_prio", ""));
    for (size_t i = 0; i < n.priorities.size(); ++i) {
      const auto& p = n.priorities[i];
      BERTH_TRY(write_value(place.dir, "net_prio.ifpriomap", p.name + " " + std::to_string(p.priority),
                            fmt::format("linux.resources.network.priorities[{}]", i)));
    }
  }
  return {};
}

Result<> apply_unified(const Targets& t, const std::map<std::string, std::string>& unified) {
  if (unified.empty()) return {};
  if (t.unified.empty())
    return error("linux.resources.unified: needs a cgroup2 hierarchy, and this host has cgroup v1 only");
  for (const auto& [key, value] : unified) {
    std::string field = fmt::format("linux.resources.unified[\"{}\"]", key);
    // A plain file name of the container's own cgroup, nothing else.
    if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
      return error("{}: not a file of the container's cgroup", field);
    size_t dot = key.find('.');
    std::string controller = dot == std::string::npos ? key : key.substr(0, dot);
    if (controller != "cgroup") {
      if (!t.unified_controllers.contains(controller))
        return error("{}: the {} controller is not available in the cgroup2 hierarchy at \"{}\" (it offers: {})",
                     field, controller, t.unified_mount, join(t.unified_controllers));
      BERTH_TRY(enable_in_parents(t.unified_mount, t.unified, controller, field));
    }
    BERTH_TRY(write_value(t.unified, key, value, field));
  }
  return {};
}

}  // namespace detail

Result<> apply_resources(const Layout& layout, const std::map<std::string, std::string>& paths,
                         const oci::Resources& r, const ApplyOptions& opts) {
  BERTH_TRY_ASSIGN(t, detail::make_targets(layout, paths, opts));
  // runc's order: cpuset (in apply_cpu, first), devices, memory, cpu, pids,
  // blkio, hugetlb, network, rdma, then the raw cgroup2 values over them.
  if (r.cpu) BERTH_TRY(detail::apply_cpu(t, *r.cpu, r.unified));
  if (!opts.skip_devices && (!opts.update || !r.devices.empty())) BERTH_TRY(detail::apply_devices(t, r.devices, !r.devices.empty()));
  if (r.memory) BERTH_TRY(detail::apply_memory(t, *r.memory));
  if (r.pids) BERTH_TRY(detail::apply_pids(t, *r.pids));
  if (r.block_io) BERTH_TRY(detail::apply_block_io(t, *r.block_io));
  BERTH_TRY(detail::apply_hugetlb(t, r.hugepage_limits));
  if (r.network) BERTH_TRY(detail::apply_network(t, *r.network));
  BERTH_TRY(detail::apply_rdma(t, r.rdma));
  BERTH_TRY(detail::apply_unified(t, r.unified));
  return {};
}

}  // namespace berth::runtime::cgroup
