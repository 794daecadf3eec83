// Volumes of the "local" driver, as podman makes them: a record in berth.db
// and <root>/volumes/<name>/_data. The record comes first (its insert is
// what makes a name taken), the directory second.
#include "engine/volumes.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>
#include <regex>

#include "base/fd.h"
#include "base/file.h"
#include "image/remove_tree.h"

namespace berth::engine {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// uid=/gid= of a plain directory's "o" option (-1 when absent).
struct Owner {
  long uid = -1, gid = -1;
};

Result<long> parse_id(std::string_view key, std::string_view value) {
  long n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || p != value.data() + value.size() || n < 0)
    return std::unexpected(Error(EINVAL, fmt::format("invalid volume option o={}={}: a number expected", key, value)));
  return n;
}

// Checks the options podman's local driver takes here: type, device, o. A
// plain directory (no type) accepts only o=uid=N,gid=N (and copy/nocopy).
Result<Owner> check_options(const std::map<std::string, std::string>& options) {
  for (const auto& [key, value] : options)
    if (key != "type" && key != "device" && key != "o")
      return std::unexpected(Error(EINVAL, fmt::format("invalid volume option \"{}\" for driver \"local\" (type, device, o)", key)));
  bool has_type = options.contains("type"), has_device = options.contains("device");
  if (has_type != has_device)
    return std::unexpected(Error(EINVAL, "volume options type and device go together"));
  Owner owner;
  auto o = options.find("o");
  if (o == options.end() || has_type) return owner;
  for (const auto& item : split(o->second, ',')) {
    auto eq = item.find('=');
    std::string_view key = std::string_view(item).substr(0, eq);
    std::string_view value = eq == std::string::npos ? std::string_view() : std::string_view(item).substr(eq + 1);
    if (key == "uid") {
      BERTH_TRY_ASSIGN(n, parse_id(key, value));
      owner.uid = n;
    } else if (key == "gid") {
      BERTH_TRY_ASSIGN(n, parse_id(key, value));
      owner.gid = n;
    } else if (key != "copy" && key != "nocopy") {
      return std::unexpected(Error(
          EINVAL, fmt::format("invalid volume option o={}: without type, only uid, gid, copy, nocopy", item)));
    }
  }
  return owner;
}

bool is_mount_point(const std::string& path) {
  struct statx st {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) != 0) return false;
  return (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (st.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

Result<> unmount_if_mounted(const std::string& path) {
  if (is_mount_point(path) && ::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return sys_error(errno, "unmount volume \"{}\"", path);
  return {};
}

// Makes the volume's directory: a stale one of a volume removed half-way
// (no record now owns it) is cleared first.
Result<> make_directory(const Paths& paths, const VolumeRecord& v, const Owner& owner, bool fresh) {
  std::string dir = paths.volumes() + "/" + v.name;
  if (fresh) {
    BERTH_TRY(unmount_if_mounted(v.mountpoint));
    BERTH_TRY(image::remove_tree(dir));
  }
  BERTH_TRY(mkdir_p(paths.volumes(), 0700));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_error(errno, "create volume directory \"{}\"", dir);
  if (::mkdir(v.mountpoint.c_str(), 0755) != 0 && errno != EEXIST)
    return sys_error(errno, "create volume directory \"{}\"", v.mountpoint);
  // podman's NeedsCopyUp, as a file beside _data: made with the volume,
  // unlinked by the one copy-up (copy_up_volume).
  if (fresh) {
    UniqueFd marker(::open(copy_up_marker(paths, v.name).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!marker) return sys_error(errno, "create \"{}\"", copy_up_marker(paths, v.name));
  }
  if ((owner.uid >= 0 || owner.gid >= 0) &&
      ::lchown(v.mountpoint.c_str(), static_cast<uid_t>(owner.uid), static_cast<gid_t>(owner.gid)) != 0)
    return sys_error(errno, "chown volume directory \"{}\"", v.mountpoint);
  return {};
}

std::string rfc3339(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm {};
  ::localtime_r(&secs, &tm);
  char date[32], zone[8];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  std::strftime(zone, sizeof zone, "%z", &tm);  // "+0100" -> "+01:00"
  std::string z(zone);
  if (z == "+0000") z = "Z";
  else if (z.size() == 5) z = z.substr(0, 3) + ":" + z.substr(3);
  return fmt::format("{}.{:09}{}", date, ns % 1000000000, z);
}

bool matches(const VolumeFilter& filter, const VolumeInfo& info) {
  for (const auto& [key, values] : filter.by_key) {
    bool any = false;
    for (const auto& value : values) {
      if (key == "name") {
        any = std::regex_search(info.record.name, std::regex(value));
      } else if (key == "driver") {
        any = info.record.driver == value;
      } else if (key == "dangling") {
        any = info.users.empty() == (value == "true" || value == "1");
      } else if (key == "label") {
        auto eq = value.find('=');
        auto it = info.record.labels.find(value.substr(0, eq));
        any = it != info.record.labels.end() && (eq == std::string::npos || it->second == value.substr(eq + 1));
      }
      if (any) break;
    }
    if (!any) return false;
  }
  return true;
}

Result<VolumeInfo> info_of(EngineDb& db, const Paths& paths, VolumeRecord record) {
  VolumeInfo info;
  info.needs_copy_up = ::access(copy_up_marker(paths, record.name).c_str(), F_OK) == 0;
  BERTH_TRY_ASSIGN(users, db.volume_users(record.name));
  info.users = std::move(users);
  info.mounted = is_mount_point(record.mountpoint);
  info.record = std::move(record);
  return info;
}

}  // namespace

Result<VolumeRecord> create_volume(EngineDb& db, const Paths& paths, const VolumeRequest& request) {
  if (request.driver != "local")
    return std::unexpected(Error(EINVAL, fmt::format("volume driver \"{}\" is not supported (local)", request.driver)));
  BERTH_TRY_ASSIGN(owner, check_options(request.options));
  VolumeRecord v;
  v.name = request.name.empty() ? new_id() : request.name;
  v.driver = request.driver;
  v.mountpoint = paths.volume_data(v.name);
  v.created_at = now_ns();
  v.anonymous = request.anonymous;
  v.labels = request.labels;
  v.options = request.options;
  BERTH_TRY(db.add_volume(v));  // checks the name before it becomes a path
  if (auto made = make_directory(paths, v, owner, true); !made) {
    (void)db.remove_volume(v.name);
    return std::unexpected(std::move(made).error());
  }
  return v;
}

Result<VolumeRecord> ensure_volume(EngineDb& db, const Paths& paths, std::string_view name) {
  auto found = db.volume(name);
  if (!found && found.error().code() == ENOENT) {
    auto made = create_volume(db, paths, VolumeRequest{.name = std::string(name)});
    if (made || made.error().code() != EEXIST) return made;
    found = db.volume(name);  // another berth made it meanwhile
  }
  if (!found) return found;
  BERTH_TRY(make_directory(paths, *found, Owner{}, false));
  return found;
}

Result<VolumeRecord> create_anonymous_volume(EngineDb& db, const Paths& paths) {
  return create_volume(db, paths, VolumeRequest{.anonymous = true});
}

Result<> remove_volume(EngineDb& db, const Paths& paths, std::string_view name, bool force) {
  BERTH_TRY_ASSIGN(v, db.volume(name));
  BERTH_TRY(force ? db.remove_volume(name) : db.remove_unused_volume(name));
  BERTH_TRY(unmount_if_mounted(v.mountpoint));
  return image::remove_tree(paths.volumes() + "/" + v.name);
}

Result<> remove_volume_and_users(EngineDb& db, const Paths& paths, std::string_view name,
                                 const std::function<Result<>(const std::string& id)>& remove_container) {
  BERTH_TRY(db.volume(name));  // "no such volume" before anything else
  BERTH_TRY_ASSIGN(users, db.volume_users(name));
  for (const auto& id : users) {
    auto r = remove_container(id);
    if (!r && r.error().code() != ENOENT)  // gone meanwhile is fine
      return with_context(std::move(r), fmt::format("remove container {} using volume {}", id, name));
  }
  return remove_volume(db, paths, name, false);
}

Result<> remove_anonymous_volumes(EngineDb& db, const Paths& paths, const ContainerRecord& container) {
  for (const auto& [destination, name] : container.volumes) {
    auto v = db.volume(name);
    if (!v && v.error().code() == ENOENT) continue;
    if (!v) return std::unexpected(std::move(v).error());
    if (!v->anonymous) continue;
    auto r = remove_volume(db, paths, name, false);
    if (!r && r.error().code() != EBUSY && r.error().code() != ENOENT) return r;
  }
  return {};
}

Result<VolumeFilter> parse_volume_filters(const std::vector<std::string>& filters) {
  VolumeFilter out;
  for (const auto& f : filters) {
    auto eq = f.find('=');
    if (eq == std::string::npos)
      return std::unexpected(Error(EINVAL, fmt::format("invalid volume filter \"{}\": KEY=VALUE expected", f)));
    std::string key = f.substr(0, eq), value = f.substr(eq + 1);
    if (key == "name") {
      try {
        std::regex check(value);
      } catch (const std::regex_error& e) {
        return std::unexpected(Error(EINVAL, fmt::format("invalid volume filter \"{}\": {}", f, e.what())));
      }
    } else if (key == "dangling") {
      if (value != "true" && value != "false" && value != "1" && value != "0")
        return std::unexpected(Error(EINVAL, fmt::format("invalid volume filter \"{}\": true or false expected", f)));
    } else if (key != "label" && key != "driver") {
      return std::unexpected(
          Error(EINVAL, fmt::format("invalid volume filter \"{}\" (name, label, dangling, driver)", f)));
    }
    out.by_key[key].push_back(value);
  }
  return out;
}

Result<std::vector<VolumeInfo>> list_volumes(EngineDb& db, const Paths& paths, const VolumeFilter& filter) {
  BERTH_TRY_ASSIGN(all, db.volumes());
  std::vector<VolumeInfo> out;
  for (auto& v : all) {
    BERTH_TRY_ASSIGN(info, info_of(db, paths, std::move(v)));
    if (matches(filter, info)) out.push_back(std::move(info));
  }
  return out;
}

Result<VolumeInfo> inspect_volume(EngineDb& db, const Paths& paths, std::string_view name) {
  BERTH_TRY_ASSIGN(v, db.volume(name));
  return info_of(db, paths, std::move(v));
}

Result<std::vector<std::string>> prune_volumes(EngineDb& db, const Paths& paths, const VolumeFilter& filter) {
  BERTH_TRY_ASSIGN(all, list_volumes(db, paths, filter));
  std::vector<std::string> pruned;
  for (const auto& info : all) {
    if (!info.users.empty()) continue;
    auto r = remove_volume(db, paths, info.record.name, false);
    // In use or gone since the listing: another berth got there first.
    if (!r && (r.error().code() == EBUSY || r.error().code() == ENOENT)) continue;
    if (!r) return std::unexpected(std::move(r).error());
    pruned.push_back(info.record.name);
  }
  return pruned;
}

Result<> mount_volume(const VolumeRecord& volume) {
  auto type = volume.options.find("type");
  if (type == volume.options.end() || is_mount_point(volume.mountpoint)) return {};
  // Flags of `mount -o` go to mount(2) as flags; the rest is the filesystem's data.
  static const std::map<std::string, unsigned long, std::less<>> kFlags = {
      {"ro", MS_RDONLY}, {"nodev", MS_NODEV},   {"nosuid", MS_NOSUID},     {"noexec", MS_NOEXEC},
      {"sync", MS_SYNCHRONOUS}, {"noatime", MS_NOATIME}, {"relatime", MS_RELATIME}, {"bind", MS_BIND},
      {"rbind", MS_BIND | MS_REC}};
  unsigned long flags = 0;
  std::string data;
  if (auto o = volume.options.find("o"); o != volume.options.end())
    for (const auto& item : split(o->second, ',')) {
      if (auto f = kFlags.find(item); f != kFlags.end()) {
        flags |= f->second;
      } else if (item != "rw") {
        data += (data.empty() ? "" : ",") + item;
      }
    }
  const std::string& device = volume.options.at("device");
  if (::mount(device.c_str(), volume.mountpoint.c_str(), type->second.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0)
    return sys_error(errno, "mount volume \"{}\" ({} {} -o {}) on \"{}\"", volume.name, type->second, device, data,
                     volume.mountpoint);
  return {};
}

nlohmann::ordered_json volume_inspect_json(const VolumeInfo& info) {
  const auto& v = info.record;
  nlohmann::ordered_json j = {{"Name", v.name},
                              {"Driver", v.driver},
                              {"Mountpoint", v.mountpoint},
                              {"CreatedAt", rfc3339(v.created_at)},
                              {"Labels", v.labels},
                              {"Scope", "local"},
                              {"Options", v.options},
                              {"MountCount", info.mounted ? 1 : 0},
                              {"NeedsCopyUp", info.needs_copy_up}};
  if (v.anonymous) j["Anonymous"] = true;
  return j;
}

}  // namespace berth::engine
