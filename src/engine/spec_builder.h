// The OCI runtime spec of a container, from its image's config and the
// run flags, by docker's rules:
// - process.args: --entrypoint (or the image's Entrypoint) + the command (or
//   the image's Cmd unless --entrypoint was given); an error when both are empty.
// - env: PATH default, image Env, --env-file, -e (later wins), HOSTNAME, TERM
//   with -t, container=berth.
// - user: -u (or the image's User) resolved through the rootfs's /etc/passwd
//   and /etc/group (read with openat2 RESOLVE_IN_ROOT: an image's symlinks
//   never lead out), supplementary groups from /etc/group; numbers without
//   entries are taken as they are; a name without an entry is an error naming it.
// - cwd: -w or the image's WorkingDir (created in the rootfs if missing), "/".
// - capabilities: the peers' default set (podman's 11 caps: CHOWN, DAC_OVERRIDE,
//   FOWNER, FSETID, KILL, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID,
//   SYS_CHROOT) +--cap-add --cap-drop ("ALL"), all with --privileged.
// - seccomp: Berth's own default policy (default_seccomp.h) unless
//   "unconfined" or a profile file; none with --privileged.
// - masked and read-only paths as the peers set them (none with --privileged).
// - mounts: /proc, /dev (tmpfs), /dev/pts, /dev/shm (--shm-size), /dev/mqueue,
//   /sys (ro), /sys/fs/cgroup (ro), /etc/hosts, /etc/hostname,
//   /etc/resolv.conf (bind from userdata), volumes and binds, tmpfs, image
//   Volumes as anonymous volumes (resolved by the caller into `volume_paths`).
// - namespaces: pid, ipc, uts, mount, network (path or new or host), cgroup;
//   a pod's shared ones by path.
// - resources: --memory, --memory-swap, --cpus, --pids-limit, devices;
//   rlimits from --ulimit (default nofile 1048576 capped at the hard limit
//   berth itself has), no_new_privileges, oomScoreAdj left out (inherited:
//   lowering it needs CAP_SYS_RESOURCE), --sysctl (namespaced ones only), hostname,
//   readonly root (--read-only), --init (catatonit as /run/berth-init, -- args).
// - annotations: labels under "org.opencontainers.image." kept, berth's own.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/image.h"
#include "oci/spec.h"
#include "engine/options.h"

namespace berth::engine {

// Namespaces a container joins instead of creating (pods, --network
// container:X, --network host). "host" = no namespace of that type at all.
struct SharedNamespaces {
  std::string network;  // a path (/run/berth/netns/<id>, /proc/<pid>/ns/net), "host", or "" = new
  std::string network_pod;  // the pod whose network namespace `network` is ("" = not a pod's)
  std::string ipc, uts, pid, cgroup;  // paths, or "" = new
};

struct SpecInputs {
  std::string id;                      // the container's id
  const RunOptions* options = nullptr;
  const oci::ImageConfig* image = nullptr;
  std::string rootfs;                  // the mounted rootfs (root.path); the user and workdir are looked up here
  std::string userdata;                // where hosts/hostname/resolv.conf are written (etc_files.h)
  SharedNamespaces namespaces;
  // Host paths of named and anonymous volumes, by container destination.
  std::map<std::string, std::string> volume_paths;
  std::string cgroups_path;            // linux.cgroupsPath ("" = "/berth/<id>", or "<--cgroup-parent>/<id>")
  std::string init_path = "/usr/bin/catatonit";  // --init's binary on the host
  // A pod's shared files in place of the container's own ("" = its own): the
  // pod's /dev/shm (a tmpfs directory, with its IPC namespace) and its
  // /etc/hosts and /etc/resolv.conf (with its network).
  std::string shm_dir, hosts_file, resolv_file;
};

Result<oci::Spec> build_spec(const SpecInputs& in);

// A --sysctl net.* value (`sysctl` as given, "net.x=v" or "net/x=v") is
// refused to a container that joins another's network namespace (`network`
// "container:X") or a pod's (`pod`, its name): the value would change the
// namespace under them. build_spec checks it; a pod member's is checked
// before anything is made too.
Result<> refuse_shared_net_sysctl(std::string_view sysctl, std::string_view network, std::string_view pod);

// The user and groups `user` ("name", "uid", "name:group", "uid:gid") is in
// `rootfs`, as docker resolves it. HOME is the passwd entry's or "/".
struct ResolvedUser {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string home = "/";
};
Result<ResolvedUser> resolve_user(const std::string& rootfs, std::string_view user);

// The default capability set, with "CAP_" prefixes.
const std::vector<std::string>& default_capabilities();

}  // namespace berth::engine
