// Pods: containers sharing namespaces as podman's pods: by default the
// network, IPC and UTS namespaces (--share picks the kinds: net, ipc, uts,
// pid, cgroup). The namespaces are held by the pod's infra container: no
// image, a tiny read-only rootfs directory with the host's static
// /usr/bin/catatonit bound in, running `catatonit -P` (pause mode), created
// and supervised through the same runtime handler and berth-monitor as any
// container, so it is reaped and outlives berth. With the network shared,
// the pod's network namespace (<runroot>/netns/<pod id>) is set up with the
// pod's port mappings, and members share the pod's /etc/hosts and
// /etc/resolv.conf (<infra userdata>/hosts, resolv.conf: the pod's address
// under its hostname and the infra's name, one 127.0.0.1 line per member);
// with IPC shared, they share the pod's /dev/shm (a tmpfs at
// <runroot>/pods/<pod id>/shm), so POSIX shared memory works across them.
// A kind not shared is each member's own (its own network and ports, its
// own hostname). On a DNS-enabled network (aardvark-dns) the pod answers to
// its name, its hostname and each member's name (and --network-alias), and
// the shared resolv.conf names the network's gateway, as a container's own
// does. A pod made with --infra=false (or --share none, as podman 4.3) has
// no infra at all: it shares nothing, its members have their own namespaces.
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

// The namespaces a pod's members share (podman's --share).
struct PodShare {
  bool net = true, ipc = true, uts = true, pid = false, cgroup = false;
};

struct PodCreateOptions {
  std::string name;                           // --name; "" = generated
  std::string hostname;                       // --hostname; "" = the pod's name
  std::vector<PortMapping> ports;             // -p, published on the pod
  std::string network;                        // --network: "" (default), none, host, NAME
  std::optional<PodShare> share;              // --share; unset = ipc,net,uts (nothing without an infra)
  // --infra; unset = an infra unless --share shares nothing (podman 4.3:
  // `--share none` alone makes a pod without one).
  std::optional<bool> infra;
  std::map<std::string, std::string> labels;  // --label
  std::vector<std::string> add_hosts, dns, dns_search, dns_options;  // the members' shared /etc files
  std::string shm_size;                       // --shm-size of the shared /dev/shm
  std::string infra_name;                     // --infra-name; "" = "<short pod id>-infra"
  // --exit-policy: continue (the default: the infra outlives its members) or
  // stop (the pod, its infra included, stops when its last member exits).
  std::string exit_policy;
};

// --share as podman reads it: a comma-separated list of cgroup, ipc, net,
// pid, uts replaces the default set (ipc,net,uts); "+kind,..." adds to it;
// "none" or "" shares nothing.
Result<PodShare> parse_pod_share(std::string_view value);
// The shared kinds in podman's inspect order (cgroup, ipc, net, pid, uts).
std::vector<std::string> shared_kinds(const PodRecord& pod);

// The pod's state as podman derives it from all its containers (the infra
// included): Running (all running), Degraded (some running), Paused (all
// paused), Exited (all exited), Stopped (some exited, none running),
// Created (otherwise).
std::string pod_state(const std::vector<ContainerRecord>& containers);

// A new member's flags: EINVAL for those that belong to the pod when the pod
// shares the namespace: ports (-p, -P), --network, --add-host, --dns...,
// --sysctl net.* with the network; --hostname with UTS; --shm-size with IPC
// (each named in the message).
Result<> check_pod_member(const PodRecord& pod, const RunOptions& options);

// `berth pod ls --filter KEY=VALUE`, podman's keys: id, name (regular
// expressions, searched), status (created, running, degraded, paused,
// exited, stopped), label=K[=V] and label!=K[=V], network, ctr-names and
// ctr-ids (regular expressions), ctr-status (created, running, paused,
// exited), ctr-number. Values of one key match any; different keys must all
// match. The containers are the pod's, its infra included (as podman counts).
struct PodFilter {
  std::multimap<std::string, std::string> terms;
};
Result<PodFilter> parse_pod_filter(const std::vector<std::string>& filters);
bool pod_matches(const PodFilter& filter, const PodRecord& pod, const std::vector<ContainerRecord>& containers,
                 std::string_view default_network);

// EPERM when `c` is a pod's infra container, handed to the container verb
// `verb` ("rm", "stop", "kill", "start"): the infra lives and goes with its
// pod, as podman says ("container X is the infra container of pod P and
// cannot be removed without removing the pod").
Result<> refuse_infra(EngineDb& db, const ContainerRecord& c, std::string_view verb);

// What a member of a pod joins (`berth run --pod P`).
struct PodMembership {
  PodRecord pod;
  SharedNamespaces namespaces;   // the shared ones of the infra, by path ("" = the member's own); network_pod set
  bool shares_network = false;   // false: the member sets up a network of its own
  std::string netns;             // the pod's network namespace (ContainerRecord::netns)
  std::string hostname;          // the pod's with UTS shared (the member's /etc/hostname), else ""
  std::string shm_dir;           // the pod's /dev/shm with IPC shared, else ""
  std::string hosts_file, resolv_file;  // the pod's with the network shared, else ""
};

// The container lifecycle the pod verbs drive for members; the Engine binds
// its own start/stop/remove here (pods.cc never builds a container itself).
struct PodMemberOps {
  std::function<Result<>(const std::string& id)> start;
  std::function<Result<>(const std::string& id, std::optional<int> timeout)> stop;
  std::function<Result<>(const std::string& id, bool force)> remove;
  std::function<Result<>(const std::string& id, std::string_view signal)> kill;
  std::function<Result<>(const std::string& id)> pause, unpause;
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
  // then every member that is not running. ENOENT for a pod without an infra
  // and without members (nothing to start, as podman says).
  Result<PodRecord> start(std::string_view pod);
  // Stops the members (timeout as `stop -t`, default each one's), then the infra
  // and the pod's network.
  Result<PodRecord> stop(std::string_view pod, std::optional<int> timeout);
  // Removes the pod, its infra and, with `force`, its members (stopped first).
  // EBUSY without `force` while a member runs; members that do not run are removed.
  Result<> remove(std::string_view pod, bool force);
  // A signal ("" = SIGKILL) to every running container of the pod, the
  // members first, then the infra (podman's pod kill).
  Result<PodRecord> kill(std::string_view pod, std::string_view signal);
  // Stops the running members (stop's timeout), then starts the pod again.
  Result<PodRecord> restart(std::string_view pod, std::optional<int> timeout);
  // Freezes / thaws every running member (the infra only pauses).
  Result<PodRecord> pause(std::string_view pod);
  Result<PodRecord> unpause(std::string_view pod);
  // Removes every pod none of whose containers runs; their ids.
  Result<std::vector<std::string>> prune();
  Result<std::vector<PodRecord>> list();
  Result<PodRecord> inspect(std::string_view pod);
  // ENOENT for a pod made without one.
  Result<ContainerRecord> infra(const PodRecord& pod);
  // The pod's containers, the infra first.
  Result<std::vector<ContainerRecord>> containers(const PodRecord& pod);

  // For a member's start (`run --pod P`, `start`): starts the pod's infra if
  // it does not run, adds the member to the pod's /etc/hosts, and returns
  // what the member joins.
  Result<PodMembership> join(std::string_view pod, std::string_view member_name, std::string_view member_hostname);

  // After a member's removal: the pod's /etc/hosts and DNS names no longer
  // include it. A pod that is gone meanwhile is no error.
  Result<> leave(std::string_view pod);

  // After a member's exit (its cleanup, unless it restarts): with
  // --exit-policy stop, the pod's infra is stopped once no member runs.
  // A pod that is gone meanwhile is no error.
  Result<> member_exited(std::string_view pod);

  // The infra's exit command (`berth pod cleanup ID`, run by its monitor):
  // records the exit, removes the runtime's state, tears the pod's network
  // down. Idempotent.
  Result<> cleanup_infra(std::string_view pod);

 private:
  Result<ContainerRecord> start_infra(const PodRecord& pod);
  Result<> stop_infra(const PodRecord& pod, int timeout_s);
  Result<> teardown_infra(const PodRecord& pod, const ContainerRecord& infra);
  Result<> write_pod_etc_files(const PodRecord& pod, const ContainerRecord& infra,
                               const std::vector<NetAttachment>& attachments);
  // The pod's /etc/hosts written again in place from the running infra's
  // addresses and the members recorded now.
  Result<> rewrite_pod_hosts(const PodRecord& pod, const ContainerRecord& infra);
  NetworkSetup network_setup(const PodRecord& pod, const ContainerRecord& infra) const;
  // The names the pod answers to on its DNS-enabled networks: its name, its
  // hostname, each member's name and --network-alias.
  Result<std::vector<std::string>> dns_names(const PodRecord& pod);
  // The running infra's aardvark-dns entries made again with dns_names()
  // (a member came or went); nothing on a network without DNS.
  Result<> update_dns(const PodRecord& pod, const ContainerRecord& infra);

  PodContext ctx_;
};

// The pod as `berth pod inspect` prints it (podman's field names).
std::string pod_to_json(const PodRecord& pod, const std::vector<ContainerRecord>& containers);

}  // namespace berth::engine
