// Named and anonymous volumes (podman's "local" driver): a directory
// <root>/volumes/<name>/_data, recorded in berth.db. With --opt type=/
// device=/o= the directory is a mount point instead: mount_volume() mounts
// it (as `mount -t TYPE -o O DEVICE _data`) before a container uses it.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/db.h"
#include "engine/options.h"
#include "engine/paths.h"
#include "engine/records.h"

namespace berth::engine {

struct VolumeRequest {
  std::string name;                              // "" = a generated 64-hex name
  std::string driver = "local";                  // only "local"
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;    // type, device, o (uid=, gid= chown a plain directory)
  bool anonymous = false;
};

// Creates the record and its directory: EEXIST "volume with name ... already
// exists", EINVAL for a bad name, driver or option.
Result<VolumeRecord> create_volume(EngineDb& db, const Paths& paths, const VolumeRequest& request);
// The named volume, created with defaults when missing (`run -v name:/dst`),
// its directory made again if something removed it.
Result<VolumeRecord> ensure_volume(EngineDb& db, const Paths& paths, std::string_view name);
// A new anonymous volume (-v /dst, an image's Volumes), removed with its
// container by `rm -v` / --rm.
Result<VolumeRecord> create_anonymous_volume(EngineDb& db, const Paths& paths);

// Removes the record, then the directory (unmounted first). Unless `force`,
// a volume in use is refused: EBUSY naming the containers.
Result<> remove_volume(EngineDb& db, const Paths& paths, std::string_view name, bool force);

// `volume rm -f` (podman's): the containers using the volume are removed
// first, running ones stopped (by `remove_container`, given each id), then the
// volume; one that gained a user meanwhile is refused (EBUSY).
Result<> remove_volume_and_users(EngineDb& db, const Paths& paths, std::string_view name,
                                 const std::function<Result<>(const std::string& id)>& remove_container);

// Once a container's row is gone (`rm -v`, --rm): removes the anonymous
// volumes it had (ContainerRecord::volumes). Named ones stay, and so does an
// anonymous one another container still uses.
Result<> remove_anonymous_volumes(EngineDb& db, const Paths& paths, const ContainerRecord& container);

// --filter name=REGEX, label=KEY[=VALUE], dangling=true|false, driver=NAME:
// the same key given twice matches either value, different keys must all match.
struct VolumeFilter {
  std::map<std::string, std::vector<std::string>> by_key;
};
Result<VolumeFilter> parse_volume_filters(const std::vector<std::string>& filters);

struct VolumeInfo {
  VolumeRecord record;
  std::vector<std::string> users;  // ids of the containers using it
  bool mounted = false;            // its _data is a mount point (options type/device)
  bool needs_copy_up = false;      // no container has copied content into it yet
};
Result<std::vector<VolumeInfo>> list_volumes(EngineDb& db, const Paths& paths, const VolumeFilter& filter = {});
Result<VolumeInfo> inspect_volume(EngineDb& db, const Paths& paths, std::string_view name);

// Removes every volume no container uses (and matching `filter`: label=,
// until=); their names.
Result<std::vector<std::string>> prune_volumes(EngineDb& db, const Paths& paths, const VolumeFilter& filter = {});

// Mounts a volume made with type/device options on its _data (no-op for a
// plain directory or one already mounted).
Result<> mount_volume(const VolumeRecord& volume);

// <root>/volumes/<name>/needs-copy-up: podman's NeedsCopyUp flag, made
// with the volume and unlinked by its one copy-up (an unlink succeeds once).
inline std::string copy_up_marker(const Paths& paths, std::string_view name) {
  return paths.volumes() + "/" + std::string(name) + "/needs-copy-up";
}

// Copy-up, as docker and podman do it: when a container mounts a new volume
// (needs_copy_up) over a directory with content in its `rootfs` (the mounted
// image overlay), that content is copied into the still-empty volume before
// the container starts, with owners, modes, times, xattrs, symlinks, hard
// links and device nodes; the volume's root takes the directory's owner and
// mode. Once per volume (the marker is unlinked first); never
// with the mount's "nocopy" option or a volume made with o=nocopy; a
// missing or empty directory leaves the flag for a later container, a
// volume with content is never copied into. True when it copied.
Result<bool> copy_up_volume(const Paths& paths, const VolumeRecord& volume, const std::string& rootfs,
                            const MountRequest& mount);

// podman's `volume inspect` object: Name, Driver, Mountpoint, CreatedAt,
// Labels, Scope, Options, MountCount, Anonymous (when it is).
nlohmann::ordered_json volume_inspect_json(const VolumeInfo& info);

}  // namespace berth::engine
