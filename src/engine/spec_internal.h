// Helpers of build_spec, one file per concern: user.cc (files read and
// directories made inside an image's rootfs, never leaving it),
// spec_security.cc (capabilities, seccomp, masked paths, devices),
// spec_seccomp_profile.cc (seccomp profile files),
// spec_mounts.cc (the mounts).
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "engine/options.h"
#include "engine/spec_builder.h"
#include "oci/spec.h"

namespace berth::engine::detail {

// The rootfs directory, opened O_PATH: the root of every RESOLVE_IN_ROOT walk.
Result<UniqueFd> open_rootfs(const std::string& rootfs);

// A regular file inside the rootfs, resolved as the container would see it
// (RESOLVE_IN_ROOT: absolute symlinks and ".." stay inside). nullopt when it
// does not exist; an error when it is not a regular file or is larger than 4 MiB.
Result<std::optional<std::string>> read_in_root(const UniqueFd& root, const std::string& path);

// Makes the directory `path` (absolute, as the container sees it) inside the
// rootfs, each missing component made with mode 0755 and owned by uid:gid;
// existing components (symlinks resolved in the root) are left alone.
Result<> make_workdir(const UniqueFd& root, const std::string& path, uid_t uid, gid_t gid);

// resolve_user on an open rootfs.
Result<ResolvedUser> resolve_user_at(const UniqueFd& root, std::string_view user);

// The capabilities a container gets: all with --privileged, else docker's
// rules (drops from the default set, then adds; "ALL" on either side).
// Errors name the flag and the unknown capability.
Result<std::vector<std::string>> container_capabilities(const RunOptions& o);
oci::Capabilities capability_sets(const std::vector<std::string>& caps);
// nullopt: no filter (--privileged, seccomp=unconfined).
Result<std::optional<oci::Seccomp>> container_seccomp(const RunOptions& o, const std::vector<std::string>& caps);
// --security-opt seccomp=FILE: the runtime-spec form, or docker's form
// (archMap, includes/excludes) resolved for `caps` and this machine.
Result<oci::Seccomp> seccomp_profile(const std::string& path, const std::vector<std::string>& caps);
void set_masked_paths(oci::Linux& l);
// --device entries and the device cgroup rules (deny all but those; allow
// all with the host's devices under --privileged).
Result<> add_devices(const RunOptions& o, oci::Linux& l, oci::Resources& r);

// Every mount of the spec: the defaults, /etc files from userdata, --init's
// binary, --read-only's tmpfs dirs, the user's mounts and the image's volumes.
Result<std::vector<oci::Mount>> container_mounts(const SpecInputs& in);

}  // namespace berth::engine::detail
