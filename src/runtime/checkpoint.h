// `checkpoint` and `restore` (runc's verbs) through CRIU (criu.h).
//
// checkpoint: dumps the running container's process tree into --image-path;
// without --leave-running (or with --pre-dump) CRIU stops it and the container
// is deleted, as with runc. A CRIU failure leaves the container as it was and
// reports CRIU's error lines and its log.
// restore: creates the container `id` from --bundle and restores the image
// into it; the restored init is the runtime's child (--restore-sibling), so a
// foreground restore waits for it like `run`.
#pragma once

#include <string>

#include "runtime/criu.h"

namespace berth::runtime {

struct CheckpointOptions {
  std::string id;
  CriuOptions criu;
};

struct RestoreOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool detach = false;
  bool no_pivot = false;  // accepted: CRIU restores the mount namespace itself
  CriuOptions criu;
};

}  // namespace berth::runtime
