#include "engine/network_config.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "engine/network.h"

namespace berth::engine {

Result<uint32_t> parse_ipv4(std::string_view text) {
  in_addr a{};
  std::string s(text);
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return error("invalid IPv4 address \"{}\"", text);
  return ntohl(a.s_addr);
}

std::string format_ipv4(uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff);
}

namespace {

// A whole decimal number, nothing around it.
std::optional<int> parse_int(std::string_view digits) {
  int value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<Ipv4Net> parse_subnet(std::string_view cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos) return error("invalid subnet \"{}\": want an address/prefix (\"10.89.1.0/24\")", cidr);
  BERTH_TRY_ASSIGN(address, parse_ipv4(cidr.substr(0, slash)));
  auto prefix = parse_int(cidr.substr(slash + 1));
  if (!prefix || *prefix < 8 || *prefix > 30)
    return error("invalid subnet \"{}\": the prefix length must be 8 to 30", cidr);
  Ipv4Net net{address, *prefix};
  net.address &= net.mask();
  return net;
}

std::string format_subnet(const Ipv4Net& net) { return fmt::format("{}/{}", format_ipv4(net.address), net.prefix); }

Result<IpAddress> parse_ip(std::string_view text) {
  std::string s(text);
  if (s.find(':') == std::string::npos) {
    BERTH_TRY_ASSIGN(v4, parse_ipv4(s));
    return IpAddress{false, v4};
  }
  in6_addr a{};
  if (::inet_pton(AF_INET6, s.c_str(), &a) != 1) return error("invalid IPv6 address \"{}\"", text);
  IpAddress out{true, 0};
  for (uint8_t byte : a.s6_addr) out.value = (out.value << 8) | byte;
  return out;
}

std::string format_ip(const IpAddress& a) {
  if (!a.v6) return format_ipv4(static_cast<uint32_t>(a.value));
  in6_addr bytes{};
  for (int i = 0; i < 16; ++i) bytes.s6_addr[i] = static_cast<uint8_t>(a.value >> (8 * (15 - i)));
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, &bytes, text, sizeof text);
  return text;
}

Result<IpNet> parse_ip_subnet(std::string_view cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string_view::npos)
    return error("invalid --subnet \"{}\": want an address/prefix (\"10.89.1.0/24\", \"fd00:1::/64\")", cidr);
  auto address = parse_ip(cidr.substr(0, slash));
  if (!address) return error("invalid --subnet \"{}\": {}", cidr, address.error().what());
  auto prefix = parse_int(cidr.substr(slash + 1));
  int longest = address->v6 ? 126 : 30;
  if (!prefix || *prefix < 8 || *prefix > longest)
    return error("invalid --subnet \"{}\": the prefix length must be 8 to {}", cidr, longest);
  IpNet net{*address, *prefix};
  net.address.value &= net.mask();
  return net;
}

std::string format_ip_subnet(const IpNet& net) { return fmt::format("{}/{}", format_ip(net.address), net.prefix); }

std::vector<NetworkSubnet> subnets_of(const NetworkRecord& n) {
  std::vector<NetworkSubnet> out;
  if (!n.subnet.empty() || !n.more_subnets.empty()) out.push_back({n.subnet, n.gateway, n.range_start, n.range_end});
  out.insert(out.end(), n.more_subnets.begin(), n.more_subnets.end());
  return out;
}

void set_subnets(NetworkRecord& n, std::vector<NetworkSubnet> subnets) {
  NetworkSubnet first = subnets.empty() ? NetworkSubnet{} : subnets.front();
  n.subnet = first.subnet;
  n.gateway = first.gateway;
  n.range_start = first.range_start;
  n.range_end = first.range_end;
  n.more_subnets.assign(subnets.empty() ? subnets.end() : subnets.begin() + 1, subnets.end());
}

std::vector<std::string> gateways_of(const NetworkRecord& n) {
  std::vector<std::string> out;
  for (const auto& s : subnets_of(n))
    if (!s.gateway.empty()) out.push_back(s.gateway);
  return out;
}

bool has_ipv6(const NetworkRecord& n) {
  for (const auto& s : subnets_of(n))
    if (s.subnet.find(':') != std::string::npos) return true;
  return false;
}

std::string gateway_interface(const NetworkRecord& n) {
  auto vlan = n.options.find("vlan");
  if (n.driver != "bridge" || vlan == n.options.end() || vlan->second == "0") return n.interface;
  return n.interface + "." + vlan->second;
}

namespace {

// A random ULA /64 (RFC 4193, as podman: fd, then 56 random bits, subnet id 0).
IpNet random_ula(const std::function<uint64_t()>& random) {
  uint64_t bits = random();
  bits = (bits & 0x00ffffffffffffffull) | (uint64_t{0xfd} << 56);
  return IpNet{{true, static_cast<unsigned __int128>(bits) << 64}, 64};
}

uint64_t system_random() {
  static std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

}  // namespace

Result<> plan_network(NetworkRecord& n, const std::vector<NetworkRecord>& existing, bool ipv6,
                      const std::function<uint64_t()>& random) {
  // The subnets of the other networks, then this one's as they are planned.
  std::vector<std::pair<const NetworkRecord*, IpNet>> taken;
  for (const auto& e : existing) {
    for (const auto& s : subnets_of(e))
      if (auto net = parse_ip_subnet(s.subnet)) taken.emplace_back(&e, *net);
  }
  size_t others = taken.size();
  auto subnets = subnets_of(n);
  for (auto& s : subnets) {
    BERTH_TRY_ASSIGN(given, parse_ip_subnet(s.subnet));
    for (size_t i = 0; i < taken.size(); ++i) {
      if (!taken[i].second.overlaps(given)) continue;
      if (i < others)
        return std::unexpected(Error(EEXIST, fmt::format("--subnet {} of network \"{}\" overlaps subnet {} of network \"{}\"",
                                                         s.subnet, n.name, format_ip_subnet(taken[i].second),
                                                         taken[i].first->name)));
      return std::unexpected(Error(EEXIST, fmt::format("--subnet {} overlaps --subnet {} of the same network", s.subnet,
                                                       format_ip_subnet(taken[i].second))));
    }
    taken.emplace_back(&n, given);
    s.subnet = format_ip_subnet(given);
  }
  bool has_v4 = false, has_v6 = false;
  for (size_t i = others; i < taken.size(); ++i) (taken[i].second.address.v6 ? has_v6 : has_v4) = true;
  auto is_free = [&](const IpNet& candidate) {
    return std::none_of(taken.begin(), taken.end(), [&](const auto& t) { return t.second.overlaps(candidate); });
  };
  if (subnets.empty() || (ipv6 && !has_v4)) {
    std::optional<IpNet> found;
    for (uint32_t third = 0; third < 256 && !found; ++third) {
      IpNet candidate{{false, (10u << 24) | (89u << 16) | (third << 8)}, 24};
      if (is_free(candidate)) found = candidate;
    }
    if (!found) return std::unexpected(Error(ENOSPC, "no free subnet left in 10.89.0.0/16: give one with --subnet"));
    taken.emplace_back(&n, *found);
    subnets.push_back({format_ip_subnet(*found), "", "", ""});
  }
  if (ipv6 && !has_v6) {
    std::optional<IpNet> found;
    for (int tries = 0; tries < 10000 && !found; ++tries) {
      IpNet candidate = random_ula(random ? random : system_random);
      if (is_free(candidate)) found = candidate;
    }
    if (!found) return std::unexpected(Error(ENOSPC, "no free IPv6 subnet found in fd00::/8: give one with --subnet"));
    subnets.push_back({format_ip_subnet(*found), "", "", ""});
  }
  for (auto& s : subnets) {
    BERTH_TRY_ASSIGN(net, parse_ip_subnet(s.subnet));
    if (s.gateway.empty()) {
      s.gateway = format_ip({net.address.v6, net.address.value + 1});
      continue;
    }
    auto gw = parse_ip(s.gateway);
    if (!gw) return error("invalid --gateway \"{}\": {}", s.gateway, gw.error().what());
    bool broadcast = !gw->v6 && *gw == net.last();  // IPv6 has none
    if (!net.contains(*gw) || *gw == net.address || broadcast)
      return error("--gateway {} is not a host address of --subnet {}", s.gateway, s.subnet);
    s.gateway = format_ip(*gw);
  }
  set_subnets(n, std::move(subnets));
  if (n.interface.empty() && n.driver == "bridge") {
    std::set<std::string> used;
    for (const auto& e : existing) used.insert(e.interface);
    for (int i = 0;; ++i) {
      std::string name = fmt::format("berth{}", i);
      if (!used.contains(name)) {
        n.interface = name;
        break;
      }
    }
  }
  if (n.interface.empty()) return error("network \"{}\": a {} network needs its parent interface", n.name, n.driver);
  if (std::string link = gateway_interface(n); link.size() >= IFNAMSIZ)
    return error("--opt vlan={}: the bridge plugin's VLAN link \"{}\" would be longer than {} characters (a shorter --interface-name)",
                 n.options.at("vlan"), link, IFNAMSIZ - 1);
  return {};
}

Result<> plan_ip_range(NetworkSubnet& s, std::string_view ip_range, std::string_view network) {
  if (ip_range.empty()) return {};
  BERTH_TRY_ASSIGN(subnet, parse_ip_subnet(s.subnet));
  auto slash = ip_range.find('/');
  auto address = parse_ip(ip_range.substr(0, slash == std::string_view::npos ? ip_range.size() : slash));
  auto prefix = slash == std::string_view::npos ? std::nullopt : parse_int(ip_range.substr(slash + 1));
  if (!address || !prefix || *prefix < 0 || *prefix > address->bits())
    return error("invalid --ip-range \"{}\": want a subnet in CIDR form (\"10.89.1.128/25\")", ip_range);
  IpNet range{*address, *prefix};
  range.address.value &= range.mask();
  if (range.address.v6 != subnet.address.v6 || range.prefix < subnet.prefix || !subnet.contains(range.address))
    return error("--ip-range {} is not inside subnet {} of network \"{}\"", ip_range, s.subnet, network);
  // podman's FirstIPInSubnet and LastIPInSubnet of the range.
  IpAddress first = range.address, last = range.last();
  if (range.prefix < range.address.bits()) ++first.value;
  if (!subnet.address.v6 && last == subnet.last()) --last.value;  // host-local would hand the broadcast out
  BERTH_TRY_ASSIGN(gateway, parse_ip(s.gateway));
  unsigned __int128 usable = first.value > last.value ? 0 : last.value - first.value + 1;
  if (usable > 0 && gateway.v6 == first.v6 && gateway.value >= first.value && gateway.value <= last.value) --usable;
  if (first == subnet.address || usable == 0)
    return error("--ip-range {} holds no address for containers in subnet {} (gateway {})", ip_range, s.subnet, s.gateway);
  s.range_start = format_ip(first);
  s.range_end = format_ip(last);
  return {};
}

Result<> plan_ip_range(NetworkRecord& n, std::string_view ip_range) {
  auto subnets = subnets_of(n);
  if (subnets.empty()) return error("--ip-range {} needs --subnet (the subnet it is part of)", ip_range);
  BERTH_TRY(plan_ip_range(subnets.front(), ip_range, n.name));
  set_subnets(n, std::move(subnets));
  return {};
}

Result<> check_network_options(NetworkRecord& n) {
  static const std::map<std::string, std::set<std::string>> kModes = {
      {"macvlan", {"bridge", "private", "vepa", "passthru"}}, {"ipvlan", {"l2", "l3", "l3s"}}};
  auto modes = kModes.find(n.driver);
  for (auto& [key, value] : n.options) {
    if (key == "mtu") {
      auto mtu = parse_int(value);
      if (!mtu || (*mtu != 0 && (*mtu < 68 || *mtu > 65535)))
        return error("invalid --opt mtu=\"{}\": an MTU of 68 to 65535 (0 = the default)", value);
      value = std::to_string(*mtu);
    } else if (key == "mode" && modes != kModes.end()) {
      if (!modes->second.contains(value)) {
        std::string valid;
        for (const auto& m : modes->second) valid += (valid.empty() ? "" : ", ") + m;
        return error("invalid --opt mode=\"{}\" for a {} network: {}", value, n.driver, valid);
      }
    } else if (key == "vlan" && n.driver == "bridge") {
      auto vlan = parse_int(value);
      if (!vlan || *vlan < 0 || *vlan > 4094)
        return error("invalid --opt vlan=\"{}\": a VLAN id of 0 to 4094 (0 = none)", value);
      value = std::to_string(*vlan);
    } else {
      return error("unsupported --opt \"{}\" for a {} network: {}", key, n.driver,
                   modes == kModes.end() ? "mtu, vlan" : "mtu, mode");
    }
  }
  return {};
}

nlohmann::json make_conflist(const NetworkRecord& n, const std::string& ipam_dir) {
  nlohmann::json ranges = nlohmann::json::array(), routes = nlohmann::json::array();
  bool v4 = false, v6 = false;
  for (const auto& s : subnets_of(n)) {
    nlohmann::json range = {{"subnet", s.subnet}, {"gateway", s.gateway}};
    if (!s.range_start.empty()) range["rangeStart"] = s.range_start;
    if (!s.range_end.empty()) range["rangeEnd"] = s.range_end;
    ranges.push_back(nlohmann::json::array({range}));  // a range set each: an address of each subnet
    (s.subnet.find(':') == std::string::npos ? v4 : v6) = true;
  }
  if (v4) routes.push_back({{"dst", "0.0.0.0/0"}});
  if (v6) routes.push_back({{"dst", "::/0"}});
  nlohmann::json ipam = {{"type", "host-local"}, {"ranges", ranges}, {"dataDir", ipam_dir}};
  if (!n.internal) ipam["routes"] = routes;
  nlohmann::json main;
  if (n.driver == "bridge") {
    main = {{"type", "bridge"}, {"bridge", n.interface}, {"isGateway", true}, {"ipMasq", false},
            {"hairpinMode", true}, {"ipam", ipam}};
    if (auto vlan = n.options.find("vlan"); vlan != n.options.end()) {
      if (auto id = parse_int(vlan->second); id && *id > 0) main["vlan"] = *id;
    }
  } else {
    main = {{"type", n.driver}, {"master", n.interface}, {"ipam", ipam}};
    if (auto mode = n.options.find("mode"); mode != n.options.end()) main["mode"] = mode->second;
  }
  // Checked at create: a number; 0 leaves the plugin's default.
  if (auto mtu = n.options.find("mtu"); mtu != n.options.end()) {
    if (auto value = parse_int(mtu->second); value && *value > 0) main["mtu"] = *value;
  }
  nlohmann::json plugins = nlohmann::json::array({main});
  if (n.driver == "bridge") plugins.push_back({{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}});
  return {{"cniVersion", "1.0.0"}, {"name", n.name}, {"plugins", plugins}};
}

std::string network_rules_batch(const std::vector<NetworkRecord>& networks, bool jumps_exist, bool v6) {
  std::string filter, nat;
  for (const auto& n : networks) {
    if (n.driver != "bridge") continue;
    std::string comment = fmt::format("-m comment --comment \"berth network {}\"", n.name);
    std::string link = gateway_interface(n);
    for (const auto& s : subnets_of(n)) {
      if ((s.subnet.find(':') != std::string::npos) != v6) continue;
      // What the firewall plugin accepted per container: replies to the
      // subnet, anything from it.
      filter += fmt::format("-A BERTH-FORWARD -d {} -o {} -m conntrack --ctstate RELATED,ESTABLISHED {} -j ACCEPT\n",
                            s.subnet, link, comment);
      filter += fmt::format("-A BERTH-FORWARD -s {} -i {} {} -j ACCEPT\n", s.subnet, link, comment);
      if (n.internal) continue;
      // What the bridge plugin's ipMasq did per container, for the subnet:
      // not within it, not multicast.
      nat += fmt::format("-A BERTH-POSTROUTING -s {} -d {} {} -j RETURN\n", s.subnet, s.subnet, comment);
      nat += fmt::format("-A BERTH-POSTROUTING -s {} -d {} {} -j RETURN\n", s.subnet, v6 ? "ff00::/8" : "224.0.0.0/4",
                         comment);
      nat += fmt::format("-A BERTH-POSTROUTING -s {} {} -j MASQUERADE\n", s.subnet, comment);
    }
  }
  if (filter.empty()) {
    // No bridge network (of the family) left: the chains and the jumps go.
    return "*filter\n-D FORWARD -j BERTH-FORWARD\n-F BERTH-FORWARD\n-X BERTH-FORWARD\nCOMMIT\n"
           "*nat\n-D POSTROUTING -j BERTH-POSTROUTING\n-F BERTH-POSTROUTING\n-X BERTH-POSTROUTING\nCOMMIT\n";
  }
  // Declaring a chain under --noflush empties it: the batch replaces what
  // the chains held; the jump is moved to the top (deleted first when there).
  std::string out = "*filter\n:BERTH-FORWARD - [0:0]\n";
  if (jumps_exist) out += "-D FORWARD -j BERTH-FORWARD\n";
  out += "-I FORWARD -j BERTH-FORWARD\n" + filter + "COMMIT\n*nat\n:BERTH-POSTROUTING - [0:0]\n";
  if (jumps_exist) out += "-D POSTROUTING -j BERTH-POSTROUTING\n";
  out += "-I POSTROUTING -j BERTH-POSTROUTING\n" + nat + "COMMIT\n";
  return out;
}

}  // namespace berth::engine
