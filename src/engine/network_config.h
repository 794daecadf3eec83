// A network's CNI configuration list made from its record, and the IPv4
// subnet arithmetic `network create` needs (free subnet, overlap, gateway).
// Pure: no syscalls. Internal to the engine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/records.h"

namespace berth::engine {

struct Ipv4Net {
  uint32_t address = 0;  // host order, host bits cleared
  int prefix = 0;
  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix); }
  bool contains(uint32_t a) const { return (a & mask()) == address; }
  bool overlaps(const Ipv4Net& o) const {
    int p = prefix < o.prefix ? prefix : o.prefix;
    uint32_t m = p == 0 ? 0 : ~uint32_t(0) << (32 - p);
    return (address & m) == (o.address & m);
  }
};

Result<uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(uint32_t address);
// "10.89.0.0/24"; host bits set ("10.89.0.7/24") are cleared, as podman does.
Result<Ipv4Net> parse_subnet(std::string_view cidr);
std::string format_subnet(const Ipv4Net& net);

// Fills subnet, gateway and interface of a new network's record: checks a
// given subnet against `existing` (an overlap names both networks), or picks
// the first free 10.89.N.0/24; the gateway is the subnet's first address
// unless given (it must lie inside); the bridge is berthN, N the first unused.
Result<> plan_network(NetworkRecord& n, const std::vector<NetworkRecord>& existing);

// Fills range_start and range_end of `n` (its subnet and gateway planned)
// from --ip-range, as podman 4.3: a CIDR inside the subnet, from the
// address after its network address to its last one (never the subnet's
// broadcast); it must hold an address that is not the gateway.
Result<> plan_ip_range(NetworkRecord& n, std::string_view ip_range);

// Checks and normalizes the driver options (--opt) of `n` as podman does:
// mtu (any driver; 0 = the default, else 68 to 65535), mode (macvlan:
// bridge, private, vepa, passthru; ipvlan: l2, l3, l3s). Any other key is
// refused, naming it.
Result<> check_network_options(NetworkRecord& n);

// The configuration list of a network (cniVersion 1.0.0): bridge or macvlan
// or ipvlan with host-local IPAM (dataDir `ipam_dir`, rangeStart/rangeEnd
// from --ip-range) and the options' mtu and mode, then portmap; an
// internal network gets no default route. Lean, as netavark's: the bridge's
// ipMasq is off and there is no firewall plugin (each would run iptables per
// container); the per-network rules of network_rules_batch replace them.
nlohmann::json make_conflist(const NetworkRecord& n, const std::string& ipam_dir);

// The iptables-restore --noflush batch of the bridge networks' rules: in
// filter, BERTH-FORWARD (jumped to first from FORWARD) accepts what comes
// from each subnet by its bridge and the replies going to it; in nat,
// BERTH-POSTROUTING (from POSTROUTING) masquerades each non-internal subnet
// leaving it (not to itself, not multicast). Comments name the network. The
// batch replaces the chains' content; `jumps_exist` moves the jumps rather
// than adding them. With no bridge network: removes the chains and jumps.
std::string network_rules_batch(const std::vector<NetworkRecord>& networks, bool jumps_exist);

}  // namespace berth::engine
