#include "engine/network_config.h"

#include <arpa/inet.h>

#include <charconv>
#include <map>
#include <optional>
#include <set>

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

Result<> plan_network(NetworkRecord& n, const std::vector<NetworkRecord>& existing) {
  std::vector<std::pair<const NetworkRecord*, Ipv4Net>> taken;
  for (const auto& e : existing) {
    if (auto s = parse_subnet(e.subnet)) taken.emplace_back(&e, *s);
  }
  Ipv4Net net;
  if (!n.subnet.empty()) {
    BERTH_TRY_ASSIGN(given, parse_subnet(n.subnet));
    for (const auto& [other, subnet] : taken) {
      if (subnet.overlaps(given))
        return std::unexpected(Error(EEXIST, fmt::format("subnet {} of network \"{}\" overlaps subnet {} of network \"{}\"",
                                                         format_subnet(given), n.name, other->subnet, other->name)));
    }
    net = given;
  } else {
    bool found = false;
    for (uint32_t third = 0; third < 256 && !found; ++third) {
      Ipv4Net candidate{(10u << 24) | (89u << 16) | (third << 8), 24};
      found = true;
      for (const auto& t : taken) found = found && !t.second.overlaps(candidate);
      if (found) net = candidate;
    }
    if (!found) return std::unexpected(Error(ENOSPC, "no free subnet left in 10.89.0.0/16: give one with --subnet"));
  }
  n.subnet = format_subnet(net);
  if (n.gateway.empty()) {
    n.gateway = format_ipv4(net.address + 1);
  } else {
    BERTH_TRY_ASSIGN(gw, parse_ipv4(n.gateway));
    uint32_t broadcast = net.address | ~net.mask();
    if (!net.contains(gw) || gw == net.address || gw == broadcast)
      return error("gateway {} is not a host address of subnet {}", n.gateway, n.subnet);
    n.gateway = format_ipv4(gw);
  }
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
  return {};
}

Result<> plan_ip_range(NetworkRecord& n, std::string_view ip_range) {
  if (ip_range.empty()) return {};
  BERTH_TRY_ASSIGN(subnet, parse_subnet(n.subnet));
  auto slash = ip_range.find('/');
  auto address = parse_ipv4(ip_range.substr(0, slash == std::string_view::npos ? ip_range.size() : slash));
  auto prefix = slash == std::string_view::npos ? std::nullopt : parse_int(ip_range.substr(slash + 1));
  if (!address || !prefix || *prefix < 0 || *prefix > 32)
    return error("invalid --ip-range \"{}\": want a subnet in CIDR form (\"10.89.1.128/25\")", ip_range);
  Ipv4Net range{*address, *prefix};
  range.address &= range.mask();
  if (range.prefix < subnet.prefix || !subnet.contains(range.address))
    return error("--ip-range {} is not inside subnet {} of network \"{}\"", ip_range, n.subnet, n.name);
  // podman's FirstIPInSubnet and LastIPInSubnet of the range.
  uint32_t first = range.prefix == 32 ? range.address : range.address + 1;
  uint32_t last = range.address | ~range.mask();
  uint32_t broadcast = subnet.address | ~subnet.mask();
  if (last == broadcast) --last;  // host-local would hand it out
  BERTH_TRY_ASSIGN(gateway, parse_ipv4(n.gateway));
  uint64_t usable = first > last ? 0 : uint64_t(last) - first + 1;
  if (usable > 0 && gateway >= first && gateway <= last) --usable;
  if (first == subnet.address || usable == 0)
    return error("--ip-range {} holds no address for containers in subnet {} (gateway {})", ip_range, n.subnet, n.gateway);
  n.range_start = format_ipv4(first);
  n.range_end = format_ipv4(last);
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
    } else {
      return error("unsupported --opt \"{}\" for a {} network: {}", key, n.driver,
                   modes == kModes.end() ? "mtu" : "mtu, mode");
    }
  }
  return {};
}

nlohmann::json make_conflist(const NetworkRecord& n, const std::string& ipam_dir) {
  nlohmann::json range = {{"subnet", n.subnet}, {"gateway", n.gateway}};
  if (!n.range_start.empty()) range["rangeStart"] = n.range_start;
  if (!n.range_end.empty()) range["rangeEnd"] = n.range_end;
  nlohmann::json ipam = {{"type", "host-local"}, {"ranges", {{range}}}, {"dataDir", ipam_dir}};
  if (!n.internal) ipam["routes"] = {{{"dst", "0.0.0.0/0"}}};
  nlohmann::json main;
  if (n.driver == "bridge") {
    main = {{"type", "bridge"}, {"bridge", n.interface}, {"isGateway", true}, {"ipMasq", false},
            {"hairpinMode", true}, {"ipam", ipam}};
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

std::string network_rules_batch(const std::vector<NetworkRecord>& networks, bool jumps_exist) {
  std::string filter, nat;
  for (const auto& n : networks) {
    if (n.driver != "bridge") continue;
    std::string comment = fmt::format("-m comment --comment \"berth network {}\"", n.name);
    // What the firewall plugin accepted per container: replies to the
    // subnet, anything from it.
    filter += fmt::format("-A BERTH-FORWARD -d {} -o {} -m conntrack --ctstate RELATED,ESTABLISHED {} -j ACCEPT\n",
                          n.subnet, n.interface, comment);
    filter += fmt::format("-A BERTH-FORWARD -s {} -i {} {} -j ACCEPT\n", n.subnet, n.interface, comment);
    if (n.internal) continue;
    // What the bridge plugin's ipMasq did per container, for the subnet:
    // not within it, not multicast.
    nat += fmt::format("-A BERTH-POSTROUTING -s {} -d {} {} -j RETURN\n", n.subnet, n.subnet, comment);
    nat += fmt::format("-A BERTH-POSTROUTING -s {} -d 224.0.0.0/4 {} -j RETURN\n", n.subnet, comment);
    nat += fmt::format("-A BERTH-POSTROUTING -s {} {} -j MASQUERADE\n", n.subnet, comment);
  }
  if (filter.empty()) {
    // No bridge network left: the chains and the jumps go.
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
