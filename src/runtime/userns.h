// User namespace id maps: the container's (linux.uidMappings/gidMappings),
// and the throwaway namespaces that carry an idmapped mount's mapping.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/spec.h"

namespace berth::runtime {

// Writes the uid and gid maps of `pid`, the first process of a new user
// namespace (still dumpable). `field` names the config field for errors
// ("linux" -> "linux.uidMappings"). With CAP_SETUID/CAP_SETGID (root) the maps
// are written directly. Without (rootless, rootless.h): a map that is the
// caller's own id alone is written directly, a gid map after "deny" went to
// /proc/<pid>/setgroups; any other map through newuidmap/newgidmap, which
// check it against /etc/subuid and /etc/subgid.
Result<> write_id_mappings(pid_t pid, const std::vector<oci::IdMapping>& uids,
                           const std::vector<oci::IdMapping>& gids, std::string_view field = "linux");

// An fd of a new user namespace whose maps are `uids` and `gids` (lines
// "containerID hostID size", as for a container), for
// mount_setattr(MOUNT_ATTR_IDMAP). A child made with CLONE_NEWUSER holds the
// namespace while its maps are written and its ns file is opened; it has
// exited when this returns.
Result<UniqueFd> make_userns_fd(const std::vector<oci::IdMapping>& uids, const std::vector<oci::IdMapping>& gids,
                                std::string_view field);

}  // namespace berth::runtime
