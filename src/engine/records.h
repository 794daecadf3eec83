// The engine's objects as stored in berth.db (db.h): containers, pods,
// volumes, networks. Times are unix nanoseconds (0 = never).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/options.h"

namespace berth::engine {

enum class ContainerState { created, running, paused, stopped, removing };
const char* state_name(ContainerState s);  // "created", "running", "paused", "exited", "removing"
// The inverse of state_name (EINVAL for another word).
Result<ContainerState> state_from_name(std::string_view name);

struct ContainerRecord {
  std::string id;          // 64 hex chars
  std::string name;        // unique among containers
  std::string image_id;    // "sha256:..." (empty for a pod's infra)
  std::string image_name;  // as resolved ("docker.io/library/busybox:latest")
  RunOptions options;      // the flags it was created with
  std::string pod_id;      // "" when not in a pod
  bool infra = false;      // the pod's infra container
  std::string runtime;     // handler name it was created with
  ContainerState state = ContainerState::created;
  int64_t created_at = 0, started_at = 0, finished_at = 0;
  int exit_code = 0;
  bool oom_killed = false;  // the last exit was the kernel OOM killer's (the monitor's exit file)
  int restart_count = 0;
  bool stopped_by_user = false;  // `stop`/`kill` by a user: unless-stopped and always-after-stop rules
  pid_t pid = 0;                 // the container's init, in berth's pid namespace
  pid_t monitor_pid = 0;
  std::string netns;             // path of its network namespace ("" = host's or none)
  std::string network_status;    // JSON: per network the interface, IPs, MAC, gateway (network.h)
  std::vector<PortMapping> ports;  // as published (random host ports resolved)
  std::string lease_id;          // the image store lease that keeps its image
  // The volumes its mounts use, resolved at create: destination -> volume
  // name (named ones and anonymous ones made for -v /path or image Volumes).
  // volume_users() also counts options.mounts of type volume by source.
  std::map<std::string, std::string> volumes;
};

struct PodRecord {
  std::string id, name;
  std::string infra_id;          // its infra container
  int64_t created_at = 0;
  std::string hostname;
  bool share_pid = false;
  // The other kinds of --share (podman's default: ipc, net, uts).
  bool share_net = true, share_ipc = true, share_uts = true, share_cgroup = false;
  std::vector<PortMapping> ports;
  std::string network;           // as for a container's --network
  std::map<std::string, std::string> labels;
  // The members' shared /etc/hosts and /etc/resolv.conf (pod create --add-host, --dns...).
  std::vector<std::string> add_hosts, dns, dns_search, dns_options;
  std::string shm_size;          // the shared /dev/shm's (--shm-size; "" = 64m)
  // --exit-policy: "continue" (the infra keeps running) or "stop" (the pod
  // stops when its last member exits).
  std::string exit_policy = "continue";
};

struct VolumeRecord {
  std::string name;
  std::string driver = "local";
  std::string mountpoint;        // <root>/volumes/<name>/_data
  int64_t created_at = 0;
  bool anonymous = false;        // made for a container's -v /path; removed with it by `rm -v`/--rm
  std::map<std::string, std::string> labels, options;
};

// A network's subnet beyond its first (podman's subnets[1:]): another
// --subnet, or the IPv6 subnet of --ipv6. Fields as NetworkRecord's.
struct NetworkSubnet {
  std::string subnet, gateway, range_start, range_end;
};

struct NetworkRecord {
  std::string name, id;
  std::string driver = "bridge"; // bridge | macvlan (as CNI plugins)
  std::string interface;         // the bridge ("berth0")
  std::string subnet, gateway;   // "10.89.0.0/24", "10.89.0.1"
  // --ip-range: containers' addresses come from range_start..range_end only
  // (both "" = the whole subnet), podman's lease_range.
  std::string range_start, range_end;
  int64_t created_at = 0;
  bool internal = false;
  bool dns_enabled = false;      // aardvark-dns serves its containers' names (network_dns.h)
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;  // driver options (--opt): mtu, mode
  std::string conflist_path;     // <root>/networks/<name>.conflist
  // The subnets after the first (subnet, gateway, range_* above), in the
  // order given; all of them: subnets_of() (network_config.h).
  std::vector<NetworkSubnet> more_subnets;
};

}  // namespace berth::engine
