// A container on its way to "created": everything create() builds, rolled
// back as a whole (init killed, cgroup and state dir removed) unless committed.
#pragma once

#include <sys/types.h>

#include <memory>

#include "base/channel.h"
#include "base/error.h"
#include "base/fd.h"
#include "oci/spec.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"

namespace berth::runtime {

struct Launched {
  ContainerRecord record;
  oci::Spec spec;
  UniqueFd pty_master;  // when the runtime itself must serve the terminal (run, no socket)
  Channel start_channel;  // with `start_here`: the init waits on it for kSyncStart
  bool started = false;   // kSyncStart went out already (launch() sends it early when it can)
};

// Creates the container up to "created". With `own_terminal`, a terminal
// without --console-socket is allowed and its master is kept in the result.
// With `start_here` (run: this process starts it too) there is no exec fifo:
// start_init() releases the init through the sync channel, as crun's run does.
Result<Launched> launch(const StateStore& store, const CreateOptions& opts, bool own_terminal,
                        bool start_here = false);

// Whether processes of the container may be left in its cgroup: none once
// `run` has reaped an init with a pid namespace of its own (the kernel kills
// the rest of the namespace before the init's exit is reported), so the
// cgroup is not searched for them first.
enum class Stragglers { maybe, none };

// The cleanup shared by delete and a failed create: kill what is left in the
// cgroup, remove it, remove the state dir.
Result<> destroy_container(const StateStore& store, const ContainerRecord& rec,
                           Stragglers stragglers = Stragglers::maybe);

// start's work on a created container, for a caller that holds its lock:
// releases the init through the exec fifo, reports a failed exec, runs
// poststart hooks. `run` passes the hooks it has in memory.
Result<> release_init(const StateStore& store, const ContainerRecord& rec, const oci::Hooks* hooks);
// release_init() for a container launched with `start_here`: kSyncStart on its
// channel, then EOF (the init's end closed at exec) or the error it sends.
Result<> start_init(Launched& launched);
// delete's work on a container whose process is gone: destroy_container,
// then poststop hooks (failures only warn).
Result<> delete_stopped(const StateStore& store, const ContainerRecord& rec, const oci::Hooks* hooks,
                        Stragglers stragglers = Stragglers::maybe);

}  // namespace berth::runtime
