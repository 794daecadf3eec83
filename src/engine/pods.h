// Pods: containers sharing the network, IPC and UTS namespaces (and the PID
// namespace with --share pid), as podman's pods. The namespaces are held by
// the pod's infra container: no image, a tiny read-only rootfs directory with
// the host's static /usr/bin/catatonit bound in, running `catatonit -P`
// (pause mode), created and supervised through the same runtime handler and
// berth-monitor as any container, so it is reaped and outlives berth. The
// pod's network namespace (<runroot>/netns/<pod id>) is set up with the pod's
// port mappings; members join the infra's namespaces by path and publish no
// ports of their own.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/db.h"
#include "engine/handler.h"
#include "engine/network.h"
#include "engine/options.h"
#include "engine/paths.h"
#include "engine/records.h"
#include "engine/spec_builder.h"

namespace berth::engine {

struct PodCreateOptions {
  std::string name;                           // --name; "" = generated
  std::string hostname;                       // --hostname; "" = the pod's name
  std::vector<PortMapping> ports;             // -p, published on the pod
  std::string network;                        // --network: "" (default), none, host, NAME
  bool share_pid = false;                     // --share ...,pid
  std::map<std::string, std::string> labels;  // --label
};

// --share as podman reads it: "ipc,net,uts[,pid]" replaces the default set
// (ipc,net,uts); "+pid" adds to it. Berth pods always share ipc, net and uts:
// a list without one of them is refused, naming it. Returns share_pid.
Result<bool> parse_pod_share(std::string_view value);

// The pod's state as podman names it: Created (infra never started),
// Running (infra and every member running), Degraded (infra running, some
// member not), Exited (infra not running).
std::string pod_state(const ContainerRecord& infra, const std::vector<ContainerRecord>& members);

// A new member's flags: EINVAL when they publish ports (-p, -P) or set
// --network or --hostname, which belong to the pod (named in the message).
Result<> check_pod_member(const PodRecord& pod, const RunOptions& options);

// What a member of a pod joins (`berth run --pod P`).
struct PodMembership {
  PodRecord pod;
  SharedNamespaces namespaces;   // net, ipc, uts (and pid) of the infra, by path
  std::string netns;             // the pod's network namespace (ContainerRecord::netns)
  std::string hostname;          // the pod's (written to the member's /etc/hostname)
};

// The container lifecycle the pod verbs drive for members; the Engine binds
// its own start/stop/remove here (pods.cc never builds a container itself).
struct PodMemberOps {
  std::function<Result<>(const std::string& id)> start;
  std::function<Result<>(const std::string& id, std::optional<int> timeout)> stop;
  std::function<Result<>(const std::string& id, bool force)> remove;
};

// The engine's pieces the pods use.
struct PodContext {
  const Paths* paths = nullptr;
  EngineDb* db = nullptr;
  Networks* networks = nullptr;
  RuntimeHandler* handler = nullptr;           // the infra's runtime handler
  std::string monitor_binary;                  // berth-monitor
  std::vector<std::string> berth_command;      // {berth, --root, R, --runroot, RR}: the infra's exit command prefix
  std::string catatonit = "/usr/bin/catatonit";
  PodMemberOps members;
};

class Pods {
 public:
  explicit Pods(PodContext context);

  // Records the pod and its infra container (not started, as podman's
  // `pod create`). EEXIST when the name is taken.
  Result<PodRecord> create(const PodCreateOptions& options);
  // Starts the infra (network namespace, ports, catatonit) unless it runs,
  // then every member that is not running.
  Result<PodRecord> start(std::string_view pod);
  // Stops the members (timeout as `stop -t`, default each one's), then the infra
  // and the pod's network.
  Result<PodRecord> stop(std::string_view pod, std::optional<int> timeout);
  // Removes the pod, its infra and, with `force`, its members (stopped first).
  // EBUSY without `force` while a member runs; members that do not run are removed.
  Result<> remove(std::string_view pod, bool force);
  Result<std::vector<PodRecord>> list();
  Result<PodRecord> inspect(std::string_view pod);
  Result<ContainerRecord> infra(const PodRecord& pod);

  // For a member's start (`run --pod P`, `start`): starts the pod's infra if
  // it does not run, and returns what the member joins.
  Result<PodMembership> join(std::string_view pod);

  // The infra's exit command (`berth pod cleanup ID`, run by its monitor):
  // records the exit, removes the runtime's state, tears the pod's network
  // down. Idempotent.
  Result<> cleanup_infra(std::string_view pod);

 private:
  Result<ContainerRecord> start_infra(const PodRecord& pod);
  Result<> stop_infra(const PodRecord& pod, int timeout_s);
  Result<> teardown_infra(const PodRecord& pod, const ContainerRecord& infra);
  NetworkSetup network_setup(const PodRecord& pod, const ContainerRecord& infra) const;

  PodContext ctx_;
};

// The pod as `berth pod inspect` prints it (podman's field names).
std::string pod_to_json(const PodRecord& pod, const ContainerRecord& infra,
                        const std::vector<ContainerRecord>& members);

}  // namespace berth::engine
