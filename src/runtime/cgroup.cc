// Cgroup layout detection (/proc/self/mountinfo, /proc/self/cgroup), path
// rules, and the dispatcher between the v1 (also hybrid) and v2 managers.
#include "runtime/cgroup.h"

#include <sys/statfs.h>
#include <linux/magic.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <utility>

#include "base/file.h"
#include "runtime/cgroup_internal.h"
#include "runtime/mountinfo.h"

namespace berth::runtime::cgroup {

namespace {

constexpr std::string_view kCgroupRoot = "/sys/fs/cgroup";

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t p = s.find(sep);
    if (p != 0) out.emplace_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

// v1 super options name the controllers, mixed with the hierarchy's flags.
std::vector<std::string> v1_controllers(std::string_view super_options) {
  static const std::set<std::string_view> flags = {"rw", "ro", "noprefix", "xattr", "clone_children",
                                                   "cpuset_v2_mode", "favordynmods", "none", "all"};
  std::vector<std::string> out;
  for (auto& opt : split(super_options, ',')) {
    if (flags.contains(opt) || opt.starts_with("release_agent=")) continue;
    out.push_back(std::move(opt));
  }
  return out;
}

struct SelfEntry {
  std::set<std::string> controllers;  // empty: the unified hierarchy ("0::/path")
  bool unified = false;
  std::string path;
};

std::vector<SelfEntry> parse_self_cgroup(std::string_view text) {
  std::vector<SelfEntry> out;
  for (auto& line : split(text, '\n')) {
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    SelfEntry e;
    std::string id = line.substr(0, c1);
    std::string ctrls = line.substr(c1 + 1, c2 - c1 - 1);
    e.unified = id == "0" && ctrls.empty();
    for (auto& c : split(ctrls, ',')) e.controllers.insert(std::move(c));
    e.path = line.substr(c2 + 1);
    out.push_back(std::move(e));
  }
  return out;
}

std::string self_path(const std::vector<SelfEntry>& self, const Hierarchy& h) {
  std::set<std::string> want(h.controllers.begin(), h.controllers.end());
  for (const auto& e : self) {
    if (h.unified ? e.unified : (!e.unified && e.controllers == want)) return e.path;
  }
  return {};
}

// "own" below "root", component-wise: "/a/b" under "/a" -> "/b"; nullopt if not under.
std::optional<std::string> strip_root(std::string_view own, std::string_view root) {
  if (root.empty() || root == "/") return std::string(own == "/" ? "" : own);
  if (!own.starts_with(root)) return std::nullopt;
  std::string_view rest = own.substr(root.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;
  return std::string(rest);
}

}  // namespace

Result<Layout> layout_from_mountinfo(std::string_view mountinfo, std::string_view self_cgroup) {
  std::set<std::pair<unsigned, unsigned>> seen;
  std::vector<Hierarchy> v1;
  std::optional<Hierarchy> unified;
  bool unified_at_root = false;
  while (!mountinfo.empty()) {
    size_t nl = mountinfo.find('\n');
    std::string_view line = mountinfo.substr(0, nl);
    mountinfo = nl == std::string_view::npos ? std::string_view() : mountinfo.substr(nl + 1);
    // Spaces inside fields are escaped, so " - " is the separator: parse only cgroup lines.
    if (line.find(" - cgroup") == std::string_view::npos) continue;
    BERTH_TRY_ASSIGN(m, parse_mountinfo_line(line));
    bool is_v2 = m.fs_type == "cgroup2";
    if (!is_v2 && m.fs_type != "cgroup") continue;
    bool at_root = is_v2 && m.mount_point == kCgroupRoot;
    if (!seen.insert({m.major, m.minor}).second && !at_root) continue;
    Hierarchy h{.mount_point = std::move(m.mount_point), .root = std::move(m.root), .controllers = {},
                .unified = is_v2, .self = {}};
    if (is_v2) {
      if (!unified || at_root) unified = std::move(h);
      unified_at_root = unified_at_root || at_root;
    } else {
      h.controllers = v1_controllers(m.super_options);
      v1.push_back(std::move(h));
    }
  }
  Layout layout;
  if (unified_at_root || (v1.empty() && unified)) {
    layout.mode = Mode::v2;
    layout.hierarchies.push_back(std::move(*unified));
  } else if (!v1.empty()) {
    layout.mode = unified ? Mode::hybrid : Mode::v1;
    layout.hierarchies = std::move(v1);
    if (unified) layout.hierarchies.push_back(std::move(*unified));
  } else {
    return std::unexpected(Error(ENOENT, "no cgroup hierarchy is mounted"));
  }
  auto self = parse_self_cgroup(self_cgroup);
  for (auto& h : layout.hierarchies) h.self = self_path(self, h);
  return layout;
}

Result<Layout> detect_layout() {
  BERTH_TRY_ASSIGN(mountinfo, read_file("/proc/self/mountinfo"));
  BERTH_TRY_ASSIGN(self, read_file("/proc/self/cgroup"));
  BERTH_TRY_ASSIGN(layout, layout_from_mountinfo(mountinfo, self));
  for (auto& h : layout.hierarchies) {
    if (!h.unified) continue;
    // Unreadable controllers (an unusual mount) leave the list empty: nothing needs them yet.
    if (auto c = read_file(h.mount_point + "/cgroup.controllers")) h.controllers = split(*c, ' ');
    for (auto& c : h.controllers)
      if (!c.empty() && c.back() == '\n') c.pop_back();
    std::erase_if(h.controllers, [](const std::string& c) { return c.empty(); });
  }
  return layout;
}

Result<std::string> resolve_dir(const Hierarchy& h, Mode mode, std::string_view cgroups_path,
                                std::string_view container_id) {
  std::string_view inner = cgroups_path.empty() ? container_id : cgroups_path;
  bool absolute = inner.starts_with('/');
  std::vector<std::string> parts;
  for (auto& c : split(inner, '/')) {
    if (c == ".") continue;
    if (c == "..") {
      if (parts.empty())
        return error("linux.cgroupsPath \"{}\": \"..\" climbs above {}", inner,
                     absolute ? "the hierarchy's root" : "the runtime's own cgroup");
      parts.pop_back();
      continue;
    }
    parts.push_back(std::move(c));
  }
  if (parts.empty()) {
    if (cgroups_path.empty()) return error("container id \"{}\" is not a cgroup name", container_id);
    return error("linux.cgroupsPath \"{}\": names {}, not a cgroup of its own", inner,
                 absolute ? "the hierarchy's root" : "the runtime's own cgroup");
  }
  std::string dir = h.mount_point;
  if (!absolute) {
    std::string own = h.self.empty() ? "/" : h.self;
    if (mode == Mode::v2) own = detail::parent_dir(own);
    if (auto rel = strip_root(own, h.root)) dir += *rel;
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  for (const auto& p : parts) {
    dir += '/';
    dir += p;
  }
  return dir;
}

Result<std::unique_ptr<Manager>> make_manager(const Layout& layout, const std::string& cgroups_path,
                                              const std::string& container_id) {
  if (layout.hierarchies.empty()) return std::unexpected(Error(ENOENT, "no cgroup hierarchy is mounted"));
  std::vector<detail::Dir> dirs;
  for (const auto& h : layout.hierarchies) {
    BERTH_TRY_ASSIGN(path, resolve_dir(h, layout.mode, cgroups_path, container_id));
    auto has = [&](std::string_view c) { return !h.unified && std::ranges::find(h.controllers, c) != h.controllers.end(); };
    dirs.push_back({.mount_point = h.mount_point, .path = std::move(path), .cpuset = has("cpuset"),
                    .freezer = has("freezer"), .pids = has("pids"), .unified = h.unified});
  }
  if (layout.mode == Mode::v2) return detail::new_v2_manager(std::move(dirs.front()));
  return detail::new_v1_manager(std::move(dirs));
}

Result<std::unique_ptr<Manager>> make_permitted_manager(const Layout& layout, const std::string& container_id,
                                                        std::vector<std::string>& skipped) {
  if (layout.hierarchies.empty()) return detail::new_empty_manager();
  std::vector<detail::Dir> dirs;
  std::vector<std::string> created;
  for (const auto& h : layout.hierarchies) {
    BERTH_TRY_ASSIGN(path, resolve_dir(h, layout.mode, "", container_id));
    std::vector<std::string> made;
    if (auto r = detail::make_dirs(path, h.mount_point, made); !r) {
      detail::remove_created(made);
      int err = r.error().code();
      if (err != EACCES && err != EPERM && err != EROFS) {
        detail::remove_created(created);
        return std::unexpected(std::move(r).error());
      }
      skipped.push_back(h.mount_point);
      continue;
    }
    created.insert(created.end(), made.begin(), made.end());
    auto has = [&](std::string_view c) { return !h.unified && std::ranges::find(h.controllers, c) != h.controllers.end(); };
    dirs.push_back({.mount_point = h.mount_point, .path = std::move(path), .cpuset = has("cpuset"),
                    .freezer = has("freezer"), .pids = has("pids"), .unified = h.unified});
  }
  if (dirs.empty()) return detail::new_empty_manager();
  if (layout.mode == Mode::v2) return detail::new_v2_manager(std::move(dirs.front()));
  return detail::new_v1_manager(std::move(dirs));
}

Result<std::unique_ptr<Manager>> load_manager(const std::map<std::string, std::string>& paths) {
  if (paths.empty()) return error("the container's state has no cgroup paths");
  std::vector<detail::Dir> dirs;
  for (const auto& [mount_point, path] : paths) {
    if (!path.starts_with(mount_point + "/"))
      return error("cgroup path \"{}\" is not below its hierarchy \"{}\"", path, mount_point);
    // Standard mount points name their controllers ("cpu,cpuacct"); the v1
    // manager probes for freezer.state when no name says "freezer".
    auto names = split(mount_point.substr(mount_point.find_last_of('/') + 1), ',');
    auto named = [&](std::string_view c) { return std::ranges::find(names, c) != names.end(); };
    dirs.push_back({.mount_point = mount_point, .path = path, .cpuset = named("cpuset"),
                    .freezer = named("freezer"), .pids = named("pids")});
  }
  if (dirs.size() == 1) {
    struct statfs st{};
    if (::statfs(dirs.front().mount_point.c_str(), &st) < 0)
      return sys_error(errno, "statfs \"{}\"", dirs.front().mount_point);
    if (st.f_type == CGROUP2_SUPER_MAGIC) return detail::new_v2_manager(std::move(dirs.front()));
    return detail::new_v1_manager(std::move(dirs));
  }
  // Several hierarchies: v1, or hybrid with a cgroup2 one among them, which
  // the manager finds by statfs only if a call needs it (kill and delete do not).
  return detail::new_v1_manager(std::move(dirs), false);
}

}  // namespace berth::runtime::cgroup
