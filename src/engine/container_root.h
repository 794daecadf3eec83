// The root directory of a container for `berth cp` (copy.h), as an O_PATH fd:
//  - with an init (created, running, paused): /proc/<pid>/root, whose walk
//    crosses the container's own mounts (volumes, tmpfs) without a setns;
//  - stopped: its rootfs as the container would see it, mounted in a mount
//    namespace private to this process (unshare; so nothing shows on the
//    host and it goes when berth exits): the image's layers and the
//    container's writable layer (overlayfs; the still-mounted rootfs when
//    cleanup has not run yet), with its bind mounts from config.json
//    (volumes, binds, /etc/hosts, /etc/hostname, /etc/resolv.conf) on top.
//    The container's lock is held meanwhile, so it cannot start under us.
// Needs a single-threaded caller for the stopped case (unshare(CLONE_NEWNS)).
#pragma once

#include "base/error.h"
#include "base/fd.h"
#include "engine/paths.h"
#include "engine/records.h"
#include "image/store.h"

namespace berth::engine {

struct ContainerRoot {
  UniqueFd root;  // O_PATH directory
  UniqueFd lock;  // held for a stopped container
};

Result<ContainerRoot> open_container_root(const Paths& paths, image::Store& store, const ContainerRecord& c);

}  // namespace berth::engine
