// `berth pod logs [-c CTR] [-f] [--tail N] [--since T] POD`: the logs of a
// pod's containers (its infra left out: it writes nothing), read as `berth
// logs` reads one's. As podman: when more than one container is shown, each
// line starts with the container's short id (or its name with `names`) and
// a space; with -f every running member is followed until it exits.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "engine/db.h"
#include "engine/logs.h"
#include "engine/paths.h"

namespace berth::engine {

struct PodLogOptions {
  LogOptions logs;        // follow applies to the members that run
  std::string container;  // -c: one member (name or id); "" = every member
  bool names = false;     // --names: prefix lines with names, not ids
};

// ENOENT for an unknown pod; EINVAL when -c names a container of another pod.
// Without -f the containers' logs come one after the other, in creation order.
Result<> pod_logs(EngineDb& db, const Paths& paths, std::string_view pod, const PodLogOptions& options, int out_fd,
                  int err_fd);

}  // namespace berth::engine
