// IPv6 and dual-stack networks, several subnets and --opt vlan, as podman
// 4.3 users expect them: the subnet planning (--ipv6's random ULA /64, a
// v6 --subnet alone, gateways and ranges paired with subnets by order), the
// conflist (a range set per subnet, a default route per family) and the
// ip6tables batch; then real busybox containers run by the berth binary in
// this program's own network namespace: an address of each family on eth0,
// ping6 and nc over IPv6 between two containers, AAAA answers of
// aardvark-dns, a port published over IPv6, the v6 masquerade rule in
// ip6tables, a VLAN network's traffic and rules on "<bridge>.<vlan>", and
// nothing left (rules, leases, links) after rm and network rm. Refusals
// name the flag and value.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/network.h"
#include "engine/network_config.h"
#include "engine/network_dns.h"
#include "engine_env.h"

namespace berth::engine {
namespace {

using namespace testing;

uint64_t fixed_random() { return 0x0123456789abcdefull; }

Result<NetworkRecord> plan(std::vector<NetworkSubnet> subnets, bool ipv6, const std::vector<NetworkRecord>& existing = {}) {
  NetworkRecord n;
  n.name = "berth-test-plan";
  set_subnets(n, std::move(subnets));
  BERTH_TRY(plan_network(n, existing, ipv6, fixed_random));
  return n;
}

std::string error_of(const Result<NetworkRecord>& r) { return r ? "" : r.error().what(); }

// `command`'s output once it is `want` (a detached container's server may
// not listen yet), trying for 3 s; else its last output.
std::string output_once(const std::string& command, const std::string& want) {
  std::string out;
  for (int i = 0; i < 30; ++i) {
    out = image::testing::sh(command).out;
    if (out == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return out;
}

TEST(Ipv6Plan, Ipv6FlagAddsARandomUlaSlash64AfterTheIpv4Subnet) {
  auto n = plan({}, true);
  ASSERT_TRUE(n.has_value()) << n.error().what();
  auto subnets = subnets_of(*n);
  ASSERT_EQ(subnets.size(), 2u);
  EXPECT_EQ(subnets[0].subnet, "10.89.0.0/24");
  EXPECT_EQ(subnets[0].gateway, "10.89.0.1");
  // fd, then the 56 random bits, subnet id 0.
  EXPECT_EQ(subnets[1].subnet, "fd23:4567:89ab:cdef::/64");
  EXPECT_EQ(subnets[1].gateway, "fd23:4567:89ab:cdef::1");
  EXPECT_TRUE(has_ipv6(*n));
  EXPECT_EQ(gateways_of(*n), (std::vector<std::string>{"10.89.0.1", "fd23:4567:89ab:cdef::1"}));
  // Without --ipv6: IPv4 only (as the default network).
  auto v4 = plan({}, false);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(subnets_of(*v4).size(), 1u);
  EXPECT_FALSE(has_ipv6(*v4));
}

TEST(Ipv6Plan, AGivenV6SubnetImpliesIpv6AndIpv6FlagAddsTheMissingFamily) {
  auto only = plan({{"fd00:1:2:3::7/64", "", "", ""}}, false);
  ASSERT_TRUE(only.has_value()) << only.error().what();
  ASSERT_EQ(subnets_of(*only).size(), 1u);
  EXPECT_EQ(only->subnet, "fd00:1:2:3::/64");  // host bits cleared, as podman
  EXPECT_EQ(only->gateway, "fd00:1:2:3::1");
  EXPECT_TRUE(has_ipv6(*only));

  auto dual = plan({{"fd00:1:2:3::/64", "fd00:1:2:3::fe", "", ""}}, true);
  ASSERT_TRUE(dual.has_value()) << dual.error().what();
  auto subnets = subnets_of(*dual);
  ASSERT_EQ(subnets.size(), 2u);
  EXPECT_EQ(subnets[0].gateway, "fd00:1:2:3::fe");
  EXPECT_EQ(subnets[1].subnet, "10.89.0.0/24");

  // v4 given with --ipv6: a ULA added; both given: nothing added.
  auto v4 = plan({{"10.77.0.0/24", "", "", ""}}, true);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(subnets_of(*v4).size(), 2u);
  auto both = plan({{"10.77.0.0/24", "", "", ""}, {"fd77::/64", "", "", ""}}, true);
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(subnets_of(*both).size(), 2u);
}

TEST(Ipv6Plan, FreeSubnetsSkipTheOtherNetworksOfBothFamilies) {
  auto first = plan({}, true);
  ASSERT_TRUE(first.has_value());
  first->name = "first";
  // The same random bits again: that ULA is taken, so is 10.89.0.0/24.
  int calls = 0;
  NetworkRecord n;
  n.name = "second";
  ASSERT_TRUE(plan_network(n, {*first}, true, [&] { return ++calls == 1 ? fixed_random() : 0x42ull; }).has_value());
  auto subnets = subnets_of(n);
  ASSERT_EQ(subnets.size(), 2u);
  EXPECT_EQ(subnets[0].subnet, "10.89.1.0/24");
  EXPECT_EQ(subnets[1].subnet, "fd00:0:0:42::/64");
  EXPECT_EQ(calls, 2);
}

TEST(Ipv6Plan, RefusalsNameTheFlagAndValue) {
  NetworkRecord a;
  a.name = "a";
  set_subnets(a, {{"fd00:aa::/48", "fd00:aa::1", "", ""}});
  // EEXIST's text follows.
  std::string overlap = error_of(plan({{"fd00:aa:0:5::/64", "", "", ""}}, false, {a}));
  EXPECT_TRUE(overlap.starts_with("--subnet fd00:aa:0:5::/64 of network \"berth-test-plan\" overlaps subnet "
                                  "fd00:aa::/48 of network \"a\"")) << overlap;
  overlap = error_of(plan({{"10.5.0.0/16", "", "", ""}, {"10.5.3.0/24", "", "", ""}}, false));
  EXPECT_TRUE(overlap.starts_with("--subnet 10.5.3.0/24 overlaps --subnet 10.5.0.0/16 of the same network")) << overlap;
  EXPECT_EQ(error_of(plan({{"fd00:bb::/64", "fd00:cc::1", "", ""}}, false)),
            "--gateway fd00:cc::1 is not a host address of --subnet fd00:bb::/64");
  EXPECT_EQ(error_of(plan({{"fd00:bb::/64", "10.0.0.1", "", ""}}, false)),
            "--gateway 10.0.0.1 is not a host address of --subnet fd00:bb::/64");
  EXPECT_EQ(error_of(plan({{"fd00:bb::/64", "fd00:bb::", "", ""}}, false)),
            "--gateway fd00:bb:: is not a host address of --subnet fd00:bb::/64");
  EXPECT_NE(error_of(plan({{"fd00:bb::/64", "fd00:bb::zz", "", ""}}, false)).find("invalid --gateway \"fd00:bb::zz\""),
            std::string::npos);
  EXPECT_NE(error_of(plan({{"fd00:bb::/127", "", "", ""}}, false)).find("the prefix length must be 8 to 126"),
            std::string::npos);
  EXPECT_NE(error_of(plan({{"fd00:bb::x/64", "", "", ""}}, false)).find("invalid --subnet \"fd00:bb::x/64\": invalid IPv6 address \"fd00:bb::x\""),
            std::string::npos);
}

TEST(Ipv6Plan, RangesOfAV6Subnet) {
  NetworkSubnet s{"fd00:dd::/64", "fd00:dd::1", "", ""};
  ASSERT_TRUE(plan_ip_range(s, "fd00:dd::100/120", "n").has_value());
  EXPECT_EQ(s.range_start, "fd00:dd::101");
  EXPECT_EQ(s.range_end, "fd00:dd::1ff");  // IPv6 has no broadcast to leave out
  auto outside = plan_ip_range(s, "fd00:ee::/120", "n");
  ASSERT_FALSE(outside.has_value());
  EXPECT_EQ(std::string(outside.error().what()), "--ip-range fd00:ee::/120 is not inside subnet fd00:dd::/64 of network \"n\"");
  auto family = plan_ip_range(s, "10.0.0.0/24", "n");
  ASSERT_FALSE(family.has_value());
  EXPECT_NE(std::string(family.error().what()).find("is not inside subnet fd00:dd::/64"), std::string::npos);
}

TEST(Ipv6Conflist, ARangeSetPerSubnetAndADefaultRoutePerFamily) {
  auto n = plan({{"10.66.0.0/24", "", "", ""}, {"fd66::/64", "", "", ""}}, false);
  ASSERT_TRUE(n.has_value());
  n->interface = "berth-test-br";
  auto conf = make_conflist(*n, "/ipam");
  auto ipam = conf["plugins"][0]["ipam"];
  EXPECT_EQ(ipam["ranges"], nlohmann::json::parse(R"([[{"subnet":"10.66.0.0/24","gateway":"10.66.0.1"}],
                                                     [{"subnet":"fd66::/64","gateway":"fd66::1"}]])"));
  EXPECT_EQ(ipam["routes"], nlohmann::json::parse(R"([{"dst":"0.0.0.0/0"},{"dst":"::/0"}])"));
  n->options = {{"vlan", "7"}};
  EXPECT_EQ(make_conflist(*n, "/ipam")["plugins"][0]["vlan"], 7);
  n->options = {{"vlan", "0"}};
  EXPECT_FALSE(make_conflist(*n, "/ipam")["plugins"][0].contains("vlan"));
}

TEST(Ipv6Rules, EachFamilysBatchHasItsSubnetsOnly) {
  NetworkRecord d{.name = "dual", .driver = "bridge", .interface = "berth5"};
  set_subnets(d, {{"10.66.0.0/24", "10.66.0.1", "", ""}, {"fd66::/64", "fd66::1", "", ""}});
  NetworkRecord v4{.name = "berth", .driver = "bridge", .interface = "berth0", .subnet = "10.89.0.0/24"};
  std::string c = "-m comment --comment \"berth network dual\"";
  EXPECT_EQ(network_rules_batch({d, v4}, false, true),
            "*filter\n:BERTH-FORWARD - [0:0]\n-I FORWARD -j BERTH-FORWARD\n"
            "-A BERTH-FORWARD -d fd66::/64 -o berth5 -m conntrack --ctstate RELATED,ESTABLISHED " + c + " -j ACCEPT\n"
            "-A BERTH-FORWARD -s fd66::/64 -i berth5 " + c + " -j ACCEPT\n"
            "COMMIT\n*nat\n:BERTH-POSTROUTING - [0:0]\n-I POSTROUTING -j BERTH-POSTROUTING\n"
            "-A BERTH-POSTROUTING -s fd66::/64 -d fd66::/64 " + c + " -j RETURN\n"
            "-A BERTH-POSTROUTING -s fd66::/64 -d ff00::/8 " + c + " -j RETURN\n"
            "-A BERTH-POSTROUTING -s fd66::/64 " + c + " -j MASQUERADE\n"
            "COMMIT\n");
  std::string v4_batch = network_rules_batch({d, v4}, false, false);
  EXPECT_EQ(v4_batch.find("fd66"), std::string::npos) << v4_batch;
  EXPECT_NE(v4_batch.find("-s 10.66.0.0/24 -i berth5"), std::string::npos) << v4_batch;
  // No IPv6 subnet: the v6 chains go.
  EXPECT_EQ(network_rules_batch({v4}, true, true), network_rules_batch({}, true, true));
  // A VLAN network's traffic is on the plugin's "<bridge>.<vlan>" link.
  d.options = {{"vlan", "7"}};
  EXPECT_NE(network_rules_batch({d}, false, true).find("-s fd66::/64 -i berth5.7 "), std::string::npos);
}

class Ipv6Test : public ::testing::Test {
 protected:
  static EngineEnv& env() { return EngineEnv::get(); }
  Paths paths{env().roots.root, env().roots.runroot};

  void SetUp() override { ASSERT_TRUE(env().loaded); }

  void TearDown() override {
    sh(env().berth() + " ps -aq | xargs -r " + env().berth() + " rm -f >/dev/null 2>&1");
    for (const auto& n : made_networks) sh(env().berth() + " network rm -f " + n + " >/dev/null 2>&1");
    reap_zombies();
  }

  image::testing::Cmd create(const std::string& name, const std::string& flags) {
    made_networks.push_back(name);
    return env().run("network create " + flags + " " + name);
  }

  nlohmann::json inspect(const std::string& name) {
    auto r = env().run("network inspect " + name);
    EXPECT_EQ(r.status, 0) << r.out;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_array() && j.size() == 1 ? j[0] : nlohmann::json();
  }

  // The container's global addresses of a family on eth0, from inside it.
  std::vector<std::string> addresses(const std::string& name, bool v6) {
    auto r = env().run("exec " + name + " ip -o " + (v6 ? "-6" : "-4") + " addr show dev eth0 scope global");
    std::vector<std::string> out;
    std::regex inet(v6 ? "inet6 ([0-9a-f:]+)/" : "inet ([0-9.]+)/");
    for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), inet); it != std::sregex_iterator(); ++it)
      out.push_back((*it)[1]);
    return out;
  }

  std::string run_d(const std::string& name, const std::string& net, const std::string& command) {
    auto r = env().run("run -d --name " + name + " --network " + net + " busybox " + command);
    EXPECT_EQ(r.status, 0) << r.out;
    return trim(r.out);
  }

  // What a network leaves on the host: its rules, leases, bridge.
  void expect_nothing_left(const std::string& net, const std::vector<std::string>& subnets, const std::string& bridge) {
    auto rules4 = sh("iptables-save"), rules6 = sh("ip6tables-save");
    for (const auto& s : subnets) {
      EXPECT_EQ(rules4.out.find(s), std::string::npos) << rules4.out;
      EXPECT_EQ(rules6.out.find(s), std::string::npos) << rules6.out;
    }
    EXPECT_EQ(rules6.out.find("berth network " + net + "\""), std::string::npos) << rules6.out;
    EXPECT_FALSE(std::filesystem::exists(paths.ipam_dir() + "/" + net));
    EXPECT_NE(sh("ip link show " + bridge + " 2>&1").status, 0);
    EXPECT_EQ(sh("ip -o link show type veth").out, "");
  }

  std::vector<std::string> made_networks;
};

// Two containers on a dual-stack network: an address of each family, ping6
// and a TCP stream over IPv6 between them, AAAA answers of aardvark-dns,
// the v6 masquerade rule; nothing left after rm and network rm.
TEST_F(Ipv6Test, DualStackContainersTalkOverIpv6AndResolveAaaa) {
  auto made = create("berth-test-dual", "--ipv6");
  ASSERT_EQ(made.status, 0) << made.out;
  auto j = inspect("berth-test-dual");
  ASSERT_EQ(j["subnets"].size(), 2u) << j.dump();
  EXPECT_EQ(j["ipv6_enabled"], true);
  std::string subnet4 = j["subnets"][0]["subnet"], subnet6 = j["subnets"][1]["subnet"];
  std::string gateway6 = j["subnets"][1]["gateway"];
  EXPECT_TRUE(subnet6.starts_with("fd") && subnet6.ends_with("::/64")) << subnet6;
  std::string bridge = j["network_interface"];

  std::string srv_id = run_d("berth-test-srv", "berth-test-dual", "sh -c 'echo hello-over-v6 | nc -l -p 5000; sleep 60'");
  std::string cli_id = run_d("berth-test-cli", "berth-test-dual --cap-add NET_RAW", "sleep 60");
  auto srv6 = addresses("berth-test-srv", true), cli6 = addresses("berth-test-cli", true);
  ASSERT_EQ(srv6.size(), 1u);
  ASSERT_EQ(cli6.size(), 1u);
  EXPECT_EQ(addresses("berth-test-srv", false).size(), 1u);
  EXPECT_EQ(addresses("berth-test-cli", false).size(), 1u);
  EXPECT_EQ(srv6[0].substr(0, subnet6.size() - 4), subnet6.substr(0, subnet6.size() - 4)) << srv6[0];
  auto route = env().run("exec berth-test-cli ip -6 route show default");
  EXPECT_NE(route.out.find("via " + gateway6), std::string::npos) << route.out;

  auto ping = env().run("exec berth-test-cli ping6 -c 1 -W 2 " + srv6[0]);
  EXPECT_EQ(ping.status, 0) << ping.out;
  auto gw = env().run("exec berth-test-cli ping6 -c 1 -W 2 " + gateway6);
  EXPECT_EQ(gw.status, 0) << gw.out;
  EXPECT_EQ(output_once(env().berth() + " exec berth-test-cli nc -w 2 " + srv6[0] + " 5000 2>&1", "hello-over-v6\n"),
            "hello-over-v6\n");

  // aardvark-dns answers AAAA with the container's IPv6 address (and A with its IPv4 one).
  auto aaaa = env().run("exec berth-test-cli nslookup -type=aaaa berth-test-srv");
  EXPECT_EQ(aaaa.status, 0) << aaaa.out;
  EXPECT_NE(aaaa.out.find("Address: " + srv6[0]), std::string::npos) << aaaa.out;
  // And it listens on the IPv6 gateway too, which resolv.conf names after the IPv4 one.
  auto over6 = env().run("exec berth-test-cli nslookup -type=aaaa berth-test-srv " + gateway6);
  EXPECT_NE(over6.out.find("Address: " + srv6[0]), std::string::npos) << over6.out;
  auto resolv = env().run("exec berth-test-cli cat /etc/resolv.conf");
  EXPECT_NE(resolv.out.find("nameserver " + gateway6 + "\n"), std::string::npos) << resolv.out;

  auto rules6 = sh("ip6tables-save");
  EXPECT_NE(rules6.out.find("-A BERTH-POSTROUTING -s " + subnet6 +
                            " -m comment --comment \"berth network berth-test-dual\" -j MASQUERADE"),
            std::string::npos)
      << rules6.out;
  EXPECT_NE(rules6.out.find("-A BERTH-FORWARD -s " + subnet6 + " -i " + bridge), std::string::npos) << rules6.out;

  // host-local leased one address of each family per container.
  auto leases = sh("grep -rl " + srv_id + " " + paths.ipam_dir() + "/berth-test-dual");
  EXPECT_EQ(std::count(leases.out.begin(), leases.out.end(), '\n'), 2) << leases.out;
  ASSERT_EQ(env().run("rm -f berth-test-srv berth-test-cli").status, 0);
  // Both leases of each and the veths go with rm (its teardown finishes detached).
  std::string left;
  for (int i = 0; i < 50; ++i) {
    reap_zombies();
    left = sh("grep -rl -e " + srv_id + " -e " + cli_id + " " + paths.ipam_dir() + "; ip -o link show type veth").out;
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(left, "");
  ASSERT_EQ(env().run("network rm berth-test-dual").status, 0);
  expect_nothing_left("berth-test-dual", {subnet4, subnet6}, bridge);
}

// Subnets, gateways and ranges given by order; a v6 --subnet alone makes an
// IPv6-only network; the default network stays IPv4 only.
TEST_F(Ipv6Test, GivenSubnetsGatewaysAndRangesPairByOrder) {
  auto made = create("berth-test-pairs",
                     "--subnet 10.98.0.0/24 --subnet fd98::/64 --gateway 10.98.0.254 --gateway fd98::fe "
                     "--ip-range 10.98.0.128/25 --disable-dns");
  ASSERT_EQ(made.status, 0) << made.out;
  auto j = inspect("berth-test-pairs");
  ASSERT_EQ(j["subnets"].size(), 2u) << j.dump();
  EXPECT_EQ(j["subnets"][0]["gateway"], "10.98.0.254");
  EXPECT_EQ(j["subnets"][0]["lease_range"]["start_ip"], "10.98.0.129");
  EXPECT_EQ(j["subnets"][1]["subnet"], "fd98::/64");
  EXPECT_EQ(j["subnets"][1]["gateway"], "fd98::fe");
  EXPECT_FALSE(j["subnets"][1].contains("lease_range"));
  run_d("berth-test-p1", "berth-test-pairs", "sleep 60");
  auto v4 = addresses("berth-test-p1", false), v6 = addresses("berth-test-p1", true);
  ASSERT_EQ(v4.size(), 1u);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_GE(std::stoi(v4[0].substr(v4[0].rfind('.') + 1)), 129) << v4[0];
  EXPECT_TRUE(v6[0].starts_with("fd98::")) << v6[0];
  EXPECT_NE(env().run("exec berth-test-p1 ip -6 route show default").out.find("via fd98::fe"), std::string::npos);
  auto ls = env().run("network ls");
  EXPECT_NE(ls.out.find("10.98.0.0/24,fd98::/64"), std::string::npos) << ls.out;

  made = create("berth-test-only6", "--subnet fd97::/64 -o mtu=1400");
  ASSERT_EQ(made.status, 0) << made.out;
  j = inspect("berth-test-only6");
  EXPECT_EQ(j["subnets"].size(), 1u) << j.dump();
  EXPECT_EQ(j["ipv6_enabled"], true);
  run_d("berth-test-o1", "berth-test-only6", "sleep 60");
  // The bridge berth made (DAD off) has the network's MTU, as the plugin's own would.
  std::string bridge = j["network_interface"];
  auto bridge_link = sh("ip -o link show " + bridge);
  EXPECT_NE(bridge_link.out.find(" mtu 1400 "), std::string::npos) << bridge_link.out;
  EXPECT_EQ(trim(sh("cat /proc/sys/net/ipv6/conf/" + bridge + "/accept_dad").out), "0");
  EXPECT_EQ(env().run("exec berth-test-o1 cat /sys/class/net/eth0/mtu").out, "1400\n");
  EXPECT_EQ(addresses("berth-test-o1", false).size(), 0u);
  ASSERT_EQ(addresses("berth-test-o1", true).size(), 1u);
  // Its DNS listens on the v6 gateway only, and answers there.
  auto resolv = env().run("exec berth-test-o1 cat /etc/resolv.conf");
  EXPECT_NE(resolv.out.find("nameserver fd97::1\n"), std::string::npos) << resolv.out;
  auto name = env().run("exec berth-test-o1 nslookup -type=aaaa berth-test-o1");
  EXPECT_NE(name.out.find("Address: " + addresses("berth-test-o1", true)[0]), std::string::npos) << name.out;

  EXPECT_EQ(inspect("berth")["ipv6_enabled"], false);
  auto def = env().run("run --rm busybox ip -o -6 addr show dev eth0 scope global");
  EXPECT_EQ(def.status, 0) << def.out;
  EXPECT_EQ(def.out, "");
}

// A port published on a dual-stack network answers over IPv6 too (portmap's ip6tables DNAT).
TEST_F(Ipv6Test, PublishedPortOverIpv6) {
  auto made = create("berth-test-pub6", "--subnet 10.99.0.0/24 --subnet fd99::/64 --disable-dns");
  ASSERT_EQ(made.status, 0) << made.out;
  auto r = env().run("run -d --name berth-test-web6 --network berth-test-pub6 -p 18086:80 busybox "
                     "sh -c 'echo published-v6 | nc -l -p 80; sleep 60'");
  ASSERT_EQ(r.status, 0) << r.out;
  // From this namespace (the host's side) to the bridge's v6 gateway address.
  EXPECT_EQ(output_once("/var/tmp/berth-fixtures/busybox-rootfs/bin/busybox nc -w 2 fd99::1 18086 2>&1", "published-v6\n"),
            "published-v6\n")
      << sh("ip6tables-save -t nat").out;
  ASSERT_EQ(env().run("rm -f berth-test-web6").status, 0);
  auto nat6 = sh("ip6tables-save -t nat");
  EXPECT_EQ(nat6.out.find("18086"), std::string::npos) << nat6.out;
}

// --opt vlan=N: the bridge plugin's access VLAN; the gateway is on
// "<bridge>.<N>", which the forward and masquerade rules match.
TEST_F(Ipv6Test, VlanNetwork) {
  // Whether this kernel filters VLANs on a bridge (the plugin's vlan needs it).
  bool kernel_can = sh("ip link add berth-test-vlanp type bridge vlan_filtering 1 2>&1").status == 0;
  sh("ip link del berth-test-vlanp 2>/dev/null");
  auto made = create("berth-test-vlan", "--subnet 10.95.7.0/24 --subnet fd95::/64 -o vlan=7 --disable-dns");
  if (!kernel_can) {
    // Refused at create, naming the option and why; nothing made.
    EXPECT_EQ(made.status, 125) << made.out;
    EXPECT_NE(made.out.find("--opt vlan=7: this kernel's bridges have no VLAN filtering"), std::string::npos) << made.out;
    EXPECT_EQ(env().run("network ls -q").out.find("berth-test-vlan"), std::string::npos);
    EXPECT_EQ(sh("iptables-save").out.find("10.95.7.0/24"), std::string::npos);
    EXPECT_EQ(sh("ip6tables-save").out.find("fd95::/64"), std::string::npos);
    EXPECT_EQ(sh("ip -o link show type bridge").out.find("berth-test"), std::string::npos);
    return;
  }
  ASSERT_EQ(made.status, 0) << made.out;
  auto j = inspect("berth-test-vlan");
  EXPECT_EQ(j["options"]["vlan"], "7");
  std::string bridge = j["network_interface"];
  run_d("berth-test-v1", "berth-test-vlan --cap-add NET_RAW", "sleep 60");
  run_d("berth-test-v2", "berth-test-vlan", "sleep 60");
  auto v2 = addresses("berth-test-v2", false), v2_6 = addresses("berth-test-v2", true);
  ASSERT_EQ(v2.size(), 1u);
  ASSERT_EQ(v2_6.size(), 1u);
  EXPECT_EQ(env().run("exec berth-test-v1 ping -c 1 -W 2 " + v2[0]).status, 0);
  EXPECT_EQ(env().run("exec berth-test-v1 ping6 -c 1 -W 2 " + v2_6[0]).status, 0);
  EXPECT_EQ(env().run("exec berth-test-v1 ping -c 1 -W 2 10.95.7.1").status, 0);
  auto link = sh("ip -o addr show dev " + bridge + ".7");
  EXPECT_NE(link.out.find("10.95.7.1/24"), std::string::npos) << link.out;
  auto rules4 = sh("iptables-save"), rules6 = sh("ip6tables-save");
  EXPECT_NE(rules4.out.find("-A BERTH-FORWARD -s 10.95.7.0/24 -i " + bridge + ".7 "), std::string::npos) << rules4.out;
  EXPECT_NE(rules6.out.find("-A BERTH-FORWARD -s fd95::/64 -i " + bridge + ".7 "), std::string::npos) << rules6.out;
  ASSERT_EQ(env().run("rm -f berth-test-v1 berth-test-v2").status, 0);
  reap_zombies();
  ASSERT_EQ(env().run("network rm berth-test-vlan").status, 0);
  EXPECT_NE(sh("ip link show " + bridge + ".7 2>&1").status, 0);
  expect_nothing_left("berth-test-vlan", {"10.95.7.0/24", "fd95::/64"}, bridge);
}

TEST_F(Ipv6Test, RefusalsNameTheFlagAndValue) {
  ASSERT_EQ(create("berth-test-taken6", "--subnet fd96::/48 --disable-dns").status, 0);
  struct Case {
    std::string flags, message;
  };
  for (const auto& c : std::vector<Case>{
           {"--subnet fd96:0:0:1::/64", "--subnet fd96:0:0:1::/64 of network \"berth-test-refused\" overlaps subnet "
                                        "fd96::/48 of network \"berth-test-taken6\""},
           {"--subnet 10.94.0.0/24 --gateway 10.94.0.1 --gateway 10.94.0.2",
            "--gateway 10.94.0.2 has no --subnet: 2 gateways for 1 subnets"},
           {"--subnet 10.94.0.0/24 --ip-range 10.94.0.0/25 --ip-range 10.94.0.128/25",
            "--ip-range 10.94.0.128/25 has no --subnet: 2 ranges for 1 subnets"},
           {"--gateway 10.94.0.1", "--gateway 10.94.0.1 needs --subnet"},
           {"--subnet 10.94.0.0/24 --subnet fd94::/64 --gateway 10.94.0.1 --gateway fd95::1",
            "--gateway fd95::1 is not a host address of --subnet fd94::/64"},
           {"--subnet fd94::/64 --ip-range fd94:1::/120", "--ip-range fd94:1::/120 is not inside subnet fd94::/64"},
           {"--subnet fd94::/128", "invalid --subnet \"fd94::/128\": the prefix length must be 8 to 126"},
       }) {
    auto r = create("berth-test-refused", c.flags);
    EXPECT_EQ(r.status, 125) << c.flags << ": " << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.flags << ": " << r.out;
  }
  auto names = env().run("network ls -q");
  EXPECT_EQ(names.out.find("berth-test-refused"), std::string::npos) << names.out;
}

}  // namespace
}  // namespace berth::engine
