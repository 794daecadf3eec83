// A network's CNI configuration list made from its record, and the subnet
// arithmetic of both families `network create` needs (free subnet, overlap,
// gateway, range). Pure: no syscalls. Internal to the engine.
#pragma once

#include <cstdint>
#include <functional>
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

// An address of either family; IPv4 in the low 32 bits of `value`.
struct IpAddress {
  bool v6 = false;
  unsigned __int128 value = 0;
  int bits() const { return v6 ? 128 : 32; }
  bool operator==(const IpAddress&) const = default;
};

// A subnet of either family, host bits cleared.
struct IpNet {
  IpAddress address;
  int prefix = 0;
  unsigned __int128 all_ones() const { return address.v6 ? ~static_cast<unsigned __int128>(0) : 0xffffffffu; }
  unsigned __int128 mask() const { return prefix == 0 ? 0 : (all_ones() << (address.bits() - prefix)) & all_ones(); }
  IpAddress last() const { return {address.v6, address.value | (all_ones() & ~mask())}; }
  bool contains(const IpAddress& a) const { return a.v6 == address.v6 && (a.value & mask()) == address.value; }
  bool overlaps(const IpNet& o) const {
    return o.address.v6 == address.v6 && (prefix < o.prefix ? contains(o.address) : o.contains(address));
  }
};

Result<IpAddress> parse_ip(std::string_view text);
std::string format_ip(const IpAddress& a);
// A subnet of either family ("10.89.1.0/24", "fd12:3456:789a::/64"); host
// bits are cleared, as podman does. Prefix lengths: 8 to 30 (IPv4), 8 to
// 126 (IPv6): room for a gateway and a container.
Result<IpNet> parse_ip_subnet(std::string_view cidr);
std::string format_ip_subnet(const IpNet& net);

// The interface the network's gateway addresses are on, which the host's
// rules see its traffic on: the bridge, or with --opt vlan=N the bridge
// plugin's "<bridge>.<N>" link.
std::string gateway_interface(const NetworkRecord& n);

Result<uint32_t> parse_ipv4(std::string_view text);
std::string format_ipv4(uint32_t address);
// "10.89.0.0/24"; host bits set ("10.89.0.7/24") are cleared, as podman does.
Result<Ipv4Net> parse_subnet(std::string_view cidr);
std::string format_subnet(const Ipv4Net& net);

// Fills the subnets, gateways and interface of a new network's record, as
// podman 4.3: each given subnet (either family; subnets_of(n), a gateway
// may be given with it) is checked against the subnets of `existing` and
// the network's other ones (an overlap names both); with none given, the
// first free 10.89.N.0/24; with `ipv6` (--ipv6) a network lacking a subnet
// of a family gets one: IPv4 as above, IPv6 a random free ULA /64 of
// fd00::/8 (RFC 4193; `random` gives 64 random bits). A gateway is its
// subnet's first address unless given (then a host address inside it, of
// its family). The bridge is berthN, N the first unused.
Result<> plan_network(NetworkRecord& n, const std::vector<NetworkRecord>& existing, bool ipv6 = false,
                      const std::function<uint64_t()>& random = {});

// Fills range_start and range_end of `s` (its subnet and gateway planned)
// from --ip-range, as podman 4.3: a CIDR of the subnet's family inside it,
// from the address after its network address to its last one (never an
// IPv4 subnet's broadcast, as host-local); it must hold an address that is
// not the gateway. `network` names the network in errors.
Result<> plan_ip_range(NetworkSubnet& s, std::string_view ip_range, std::string_view network);
// The same for a network's first subnet.
Result<> plan_ip_range(NetworkRecord& n, std::string_view ip_range);

// Checks and normalizes the driver options (--opt) of `n` as podman does:
// mtu (any driver; 0 = the default, else 68 to 65535), mode (macvlan:
// bridge, private, vepa, passthru; ipvlan: l2, l3, l3s), vlan (bridge: 0 to
// 4094, 0 = none; the bridge plugin's access port, its gateway on the link
// "<bridge>.<vlan>", whose name must fit IFNAMSIZ). Any other key is
// refused, naming it. Needs n.interface for vlan.
Result<> check_network_options(NetworkRecord& n);

// The configuration list of a network (cniVersion 1.0.0): bridge or macvlan
// or ipvlan with host-local IPAM (dataDir `ipam_dir`; one range set per
// subnet, so a container gets an address of each; rangeStart/rangeEnd from
// --ip-range) and the options' mtu, mode and vlan, then portmap; an
// internal network gets no default route (else one per family). Lean, as netavark's: the bridge's
// ipMasq is off and there is no firewall plugin (each would run iptables per
// container); the per-network rules of network_rules_batch replace them.
nlohmann::json make_conflist(const NetworkRecord& n, const std::string& ipam_dir);

// The iptables-restore --noflush batch (ip6tables-restore's with `v6`: the
// IPv6 subnets) of the bridge networks' rules: in filter, BERTH-FORWARD
// (jumped to first from FORWARD) accepts what comes from each subnet by its
// gateway_interface() and the replies going to it; in nat, BERTH-POSTROUTING
// (from POSTROUTING) masquerades each non-internal subnet leaving it (not to
// itself, not multicast). Comments name the network. The batch replaces the
// chains' content; `jumps_exist` moves the jumps rather than adding them.
// With no subnet of the family on a bridge network: removes the chains and jumps.
std::string network_rules_batch(const std::vector<NetworkRecord>& networks, bool jumps_exist, bool v6 = false);

}  // namespace berth::engine
