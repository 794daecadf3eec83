// Container networking with the CNI plugins (containernetworking-plugins),
// driven as the CNI spec (1.0) says: ADD/DEL/CHECK with CNI_* variables and
// the network configuration on stdin; ADD's result is cached under
// Paths::cni_results() and given to DEL and CHECK as prevResult.
// A network is a conflist: bridge (host-local IPAM, dataDir under
// Paths::ipam_dir()), portmap (for -p); masquerade and forward rules are
// Berth's own, per network (network_config.h); loopback is brought up
// in every new network namespace. The default network "berth" (bridge
// berth0, 10.89.0.0/24) is created on first use.
#pragma once

#include <future>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/db.h"
#include "engine/options.h"
#include "engine/paths.h"
#include "engine/records.h"

namespace berth::engine {

struct NetworkConfig {
  std::vector<std::string> plugin_dirs = {"/usr/lib/cni"};
  std::string default_network = "berth";
  std::string default_subnet = "10.89.0.0/24";
  std::string default_interface = "berth0";
};

struct NetworkCreateOptions {
  std::string name;
  std::string driver = "bridge";   // bridge | macvlan | ipvlan
  // --subnet (either family), each with the --gateway and --ip-range of its
  // position (podman's pairing; fewer gateways or ranges than subnets leave
  // the rest default). None = the next free 10.89.N.0/24.
  std::vector<std::string> subnets;
  std::vector<std::string> gateways;  // "" or none = the subnet's first address
  std::vector<std::string> ip_ranges; // CIDR inside its subnet: containers' addresses come from it only
  bool ipv6 = false;               // dual stack: a free ULA /64 (and IPv4 subnet) added when none is given
  std::string interface;           // bridge or parent interface; "" = berthN
  bool internal = false;           // no masquerade, no default route
  bool disable_dns = false;        // no aardvark-dns for a bridge network (podman's --disable-dns)
  std::map<std::string, std::string> options;  // --opt: mtu (every driver), mode (macvlan, ipvlan), vlan (bridge)
  std::map<std::string, std::string> labels;
};

// One interface of a container on one network.
struct NetAttachment {
  std::string network;
  std::string interface;           // eth0, eth1...
  std::vector<std::string> ips;    // CIDR form "10.89.0.5/24"
  std::string gateway;
  std::string mac;
  std::string dns_server;          // aardvark-dns's address on the network; "" = no DNS
};

struct NetworkSetup {
  std::string container_id;
  std::string netns;                   // path of the namespace
  std::vector<std::string> networks;   // names (or --network values "a,b"); empty = the default network
  std::vector<PortMapping> ports;      // published on the first network
  std::vector<std::string> aliases;    // DNS names (the container name, --network-alias, short id)
  std::vector<std::string> dns_servers;  // --dns: aardvark-dns's upstream for this container
};

// A setup under way (Networks::start_setup).
struct PendingSetup {
  // get() gives setup()'s result; the destructor waits for the thread.
  std::future<Result<std::vector<NetAttachment>>> attachments;
  // aardvark-dns's addresses (the DNS networks' gateways) for resolv.conf,
  // known before the plugins have run.
  std::vector<std::string> dns_servers;
};

class Networks {
 public:
  Networks(const Paths& paths, EngineDb& db, NetworkConfig config);

  Result<NetworkRecord> create(const NetworkCreateOptions& options);
  Result<std::vector<NetworkRecord>> list();
  Result<NetworkRecord> inspect(std::string_view name);
  // Refused (EBUSY, naming the containers) while containers use it, unless `force`.
  // Forced: the containers' attachments to it are torn down (CNI DEL) first.
  Result<> remove(std::string_view name, bool force);
  // Removes every network no container uses but the default; their names.
  Result<std::vector<std::string>> prune();
  Result<NetworkRecord> ensure_default();

  // CNI ADD on each network (loopback first); undoes what it did on failure.
  // Random host ports (host_port 0) are resolved; `ports` comes back resolved.
  Result<std::vector<NetAttachment>> setup(const NetworkSetup& setup, std::vector<PortMapping>& ports);
  // setup() in two halves: the database work (networks, their rules, host
  // ports: `ports` comes back resolved) now, the plugins and the DNS
  // entries on a thread of their own that touches no database, so the
  // caller can go on preparing the container meanwhile. A failed setup has
  // undone itself.
  Result<PendingSetup> start_setup(const NetworkSetup& setup, std::vector<PortMapping>& ports);
  // CNI DEL of every cached attachment of the container (last first), with
  // the cached result; a missing netns or cache is not an error.
  Result<> teardown(const NetworkSetup& setup);
  // teardown() and remove_netns(setup.netns) off the caller's path: a
  // record <runroot>/cni/teardown/<id>, locked, then a detached child
  // process runs them and removes the record. A container that publishes
  // ports is torn down at once instead (its host ports must be free when the
  // caller returns).
  Result<> teardown_detached(const NetworkSetup& setup);
  // Pending teardowns (of one container, or all when `container_id` is
  // empty) finished: each one whose process died (its record is unlocked)
  // is run here; with `wait`, those still in progress are waited for too.
  // Before a container's namespace is made again (its own), before a network
  // is removed (all), and at every setup (all, no waiting: what a crash left).
  Result<> finish_teardowns(std::string_view container_id, bool wait);
  Result<> check(const NetworkSetup& setup);

 private:
  // Names of the containers attached to `n` (by --network or their pod's).
  Result<std::vector<std::string>> users(const NetworkRecord& n);

  const Paths* paths_;
  EngineDb* db_;
  NetworkConfig config_;
};

// Every subnet of a network, the first one (NetworkRecord::subnet...) first.
std::vector<NetworkSubnet> subnets_of(const NetworkRecord& n);
// Sets them back: the first into NetworkRecord::subnet..., the rest into more_subnets.
void set_subnets(NetworkRecord& n, std::vector<NetworkSubnet> subnets);
// The gateways of its subnets, in their order (aardvark-dns listens on each).
std::vector<std::string> gateways_of(const NetworkRecord& n);
// Whether one of its subnets is IPv6 (podman's ipv6_enabled).
bool has_ipv6(const NetworkRecord& n);

std::string attachments_to_json(const std::vector<NetAttachment>& a);
Result<std::vector<NetAttachment>> attachments_from_json(std::string_view json);

// A new network namespace kept by a bind mount at `path` (as `ip netns add`
// does), with loopback up; remove_netns unmounts and deletes it.
Result<> create_netns(const std::string& path);
Result<> remove_netns(const std::string& path);

}  // namespace berth::engine
