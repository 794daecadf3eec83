// podman's `network create` options beyond the subnet: --ip-range (the
// lease range of host-local, shown as lease_range) and the driver options
// of --opt (mtu, mode), checked on the conflist and from inside busybox
// containers run by the berth binary on such networks; the refusals of a
// range outside its subnet, malformed, or without --subnet, and of unknown
// or invalid options, each naming the flag and value; --gateway, --internal
// and --disable-dns together with them.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/network_config.h"
#include "engine/paths.h"
#include "net_fixture.h"

namespace berth::engine {
namespace {

using namespace testing;

NetworkRecord planned(const std::string& subnet, const std::string& gateway = "") {
  NetworkRecord n;
  n.name = "berth-test-plan";
  n.subnet = subnet;
  n.gateway = gateway;
  auto made = plan_network(n, {});
  EXPECT_TRUE(made.has_value()) << made.error().what();
  return n;
}

std::string range_error(const std::string& subnet, const std::string& range, const std::string& gateway = "") {
  auto n = planned(subnet, gateway);
  auto r = plan_ip_range(n, range);
  EXPECT_FALSE(r.has_value()) << range << " in " << subnet << ": " << n.range_start << "-" << n.range_end;
  return r ? "" : r.error().what();
}

TEST(IpRange, FirstAfterItsNetworkAddressToItsLast) {
  auto n = planned("10.97.5.0/24");
  ASSERT_TRUE(plan_ip_range(n, "10.97.5.128/26").has_value());
  EXPECT_EQ(n.range_start, "10.97.5.129");
  EXPECT_EQ(n.range_end, "10.97.5.191");
  // Host bits of the range are cleared, as for a subnet.
  n = planned("10.97.5.0/24");
  ASSERT_TRUE(plan_ip_range(n, "10.97.5.130/26").has_value());
  EXPECT_EQ(n.range_start, "10.97.5.129");
  // The whole subnet: never its broadcast (host-local would hand it out).
  n = planned("10.97.5.0/24");
  ASSERT_TRUE(plan_ip_range(n, "10.97.5.0/24").has_value());
  EXPECT_EQ(n.range_start, "10.97.5.1");
  EXPECT_EQ(n.range_end, "10.97.5.254");
  n = planned("10.97.5.0/24");
  ASSERT_TRUE(plan_ip_range(n, "10.97.5.192/26").has_value());
  EXPECT_EQ(n.range_end, "10.97.5.254");
  // One address (a /32 is that address).
  n = planned("10.97.5.0/24");
  ASSERT_TRUE(plan_ip_range(n, "10.97.5.77/32").has_value());
  EXPECT_EQ(n.range_start, "10.97.5.77");
  EXPECT_EQ(n.range_end, "10.97.5.77");
  // None: the range is empty.
  n = planned("10.97.5.0/24");
  ASSERT_TRUE(plan_ip_range(n, "").has_value());
  EXPECT_EQ(n.range_start, "");
  EXPECT_EQ(n.range_end, "");
}

TEST(IpRange, RefusedOutsideMalformedOrEmpty) {
  for (const char* outside : {"10.97.6.0/26", "10.97.0.0/16", "192.168.1.0/24"}) {
    std::string what = range_error("10.97.5.0/24", outside);
    EXPECT_NE(what.find(std::string("--ip-range ") + outside + " is not inside subnet 10.97.5.0/24"), std::string::npos)
        << what;
  }
  for (const char* bad : {"10.97.5.128", "10.97.5.128/33", "10.97.5.300/26", "x/26", "10.97.5.128/2a", "/26", ""}) {
    if (std::string(bad).empty()) continue;  // "" is no range
    std::string what = range_error("10.97.5.0/24", bad);
    EXPECT_NE(what.find(std::string("invalid --ip-range \"") + bad + "\""), std::string::npos) << what;
  }
  // Nothing left for a container: the gateway only, the broadcast, the network address.
  EXPECT_NE(range_error("10.97.5.0/24", "10.97.5.1/32").find("holds no address"), std::string::npos);
  EXPECT_NE(range_error("10.97.5.0/24", "10.97.5.20/31", "10.97.5.21").find("holds no address"), std::string::npos);
  EXPECT_NE(range_error("10.97.5.0/24", "10.97.5.255/32").find("holds no address"), std::string::npos);
  EXPECT_NE(range_error("10.97.5.0/24", "10.97.5.0/32").find("holds no address"), std::string::npos);
}

Result<> check_options(const std::string& driver, std::map<std::string, std::string> options,
                       std::map<std::string, std::string>* normalized = nullptr) {
  NetworkRecord n;
  n.driver = driver;
  n.options = std::move(options);
  auto r = check_network_options(n);
  if (normalized) *normalized = n.options;
  return r;
}

TEST(DriverOptions, MtuAndModeCheckedOthersRefusedByName) {
  std::map<std::string, std::string> normalized;
  ASSERT_TRUE(check_options("bridge", {{"mtu", "01400"}}, &normalized).has_value());
  EXPECT_EQ(normalized.at("mtu"), "1400");
  EXPECT_TRUE(check_options("bridge", {{"mtu", "0"}}).has_value());
  EXPECT_TRUE(check_options("macvlan", {{"mtu", "9000"}, {"mode", "private"}}).has_value());
  EXPECT_TRUE(check_options("ipvlan", {{"mode", "l3s"}}).has_value());
  for (const char* bad : {"abc", "", "10", "70000", "-1", "1400x"}) {
    auto r = check_options("bridge", {{"mtu", bad}});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(std::string(r.error().what()).find(std::string("invalid --opt mtu=\"") + bad + "\""), std::string::npos)
        << r.error().what();
  }
  auto mode = check_options("macvlan", {{"mode", "l2"}});
  ASSERT_FALSE(mode.has_value());
  EXPECT_NE(std::string(mode.error().what()).find("invalid --opt mode=\"l2\" for a macvlan network"), std::string::npos)
      << mode.error().what();
  for (const auto& [driver, key] : std::vector<std::pair<std::string, std::string>>{
           {"bridge", "mode"}, {"macvlan", "vlan"}, {"bridge", "foo"}, {"macvlan", "parent"}, {"ipvlan", "Mtu"}}) {
    auto r = check_options(driver, {{key, "1"}});
    ASSERT_FALSE(r.has_value()) << driver << " " << key;
    EXPECT_NE(std::string(r.error().what()).find("unsupported --opt \"" + key + "\" for a " + driver + " network"),
              std::string::npos)
        << r.error().what();
  }
  // vlan: a bridge's access VLAN id, 0 (none) to 4094.
  ASSERT_TRUE(check_options("bridge", {{"vlan", "042"}}, &normalized).has_value());
  EXPECT_EQ(normalized.at("vlan"), "42");
  for (const char* bad : {"4095", "-1", "x", ""}) {
    auto r = check_options("bridge", {{"vlan", bad}});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(std::string(r.error().what()).find(std::string("invalid --opt vlan=\"") + bad + "\""), std::string::npos)
        << r.error().what();
  }
}

TEST(DriverOptions, InTheConflist) {
  auto n = planned("10.97.5.0/24");
  n.interface = "berth-test-br";
  n.options = {{"mtu", "1400"}};
  ASSERT_TRUE(plan_ip_range(n, "10.97.5.64/27").has_value());
  auto conf = make_conflist(n, "/ipam");
  EXPECT_EQ(conf["plugins"][0]["mtu"], 1400);
  auto range = conf["plugins"][0]["ipam"]["ranges"][0][0];
  EXPECT_EQ(range["subnet"], "10.97.5.0/24");
  EXPECT_EQ(range["gateway"], "10.97.5.1");
  EXPECT_EQ(range["rangeStart"], "10.97.5.65");
  EXPECT_EQ(range["rangeEnd"], "10.97.5.95");
  n.options = {{"mtu", "0"}};  // the plugin's default
  EXPECT_FALSE(make_conflist(n, "/ipam")["plugins"][0].contains("mtu"));
  n.driver = "macvlan";
  n.options = {{"mode", "vepa"}, {"mtu", "1300"}};
  conf = make_conflist(n, "/ipam");
  EXPECT_EQ(conf["plugins"][0]["mode"], "vepa");
  EXPECT_EQ(conf["plugins"][0]["mtu"], 1300);
  // Without a range or options: none of the keys.
  auto plain = planned("10.97.5.0/24");
  plain.interface = "berth-test-br";
  conf = make_conflist(plain, "/ipam");
  EXPECT_FALSE(conf["plugins"][0].contains("mtu"));
  EXPECT_FALSE(conf["plugins"][0]["ipam"]["ranges"][0][0].contains("rangeStart"));
}

class NetworkOptionsTest : public BerthNetworkTest {
 protected:
  void TearDown() override {
    remove_containers_and_networks();
    sh("ip link del berth-test-m0 2>/dev/null");
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
};

// Every container gets an address of the range, until the range is used up
// (the rest of the subnet is free but not handed out).
TEST_F(NetworkOptionsTest, ContainersGetAddressesFromTheRangeOnly) {
  auto made = create("berth-test-range", "--subnet 10.97.0.0/24 --ip-range 10.97.0.200/30 --disable-dns");
  ASSERT_EQ(made.status, 0) << made.out;
  auto j = inspect("berth-test-range");
  EXPECT_EQ(j["subnets"][0]["subnet"], "10.97.0.0/24");
  EXPECT_EQ(j["subnets"][0]["gateway"], "10.97.0.1");
  EXPECT_EQ(j["subnets"][0]["lease_range"], (nlohmann::json{{"start_ip", "10.97.0.201"}, {"end_ip", "10.97.0.203"}}))
      << j.dump();
  std::set<std::string> addresses;
  for (int i = 0; i < 3; ++i) {
    std::string name = fmt::format("berth-test-r{}", i);
    auto r = env().run("run -d --name " + name + " --network berth-test-range busybox sleep 60");
    ASSERT_EQ(r.status, 0) << r.out;
    addresses.insert(address_of(name));
  }
  EXPECT_EQ(addresses, (std::set<std::string>{"10.97.0.201", "10.97.0.202", "10.97.0.203"}));
  auto full = env().run("run --rm --network berth-test-range busybox true");
  EXPECT_NE(full.status, 0) << full.out;
  EXPECT_NE(full.out.find("10.97.0.201-10.97.0.203"), std::string::npos) << full.out;  // host-local names the range
}

// --opt mtu=N is eth0's MTU inside the container (bridge and macvlan);
// inspect shows it in options.
TEST_F(NetworkOptionsTest, MtuInsideTheContainer) {
  auto made = create("berth-test-mtu", "-o mtu=1400 --disable-dns");
  ASSERT_EQ(made.status, 0) << made.out;
  auto j = inspect("berth-test-mtu");
  EXPECT_EQ(j["options"], (nlohmann::json{{"mtu", "1400"}})) << j.dump();
  EXPECT_FALSE(j["subnets"][0].contains("lease_range")) << j.dump();
  auto mtu = env().run("run --rm --network berth-test-mtu busybox cat /sys/class/net/eth0/mtu");
  EXPECT_EQ(mtu.status, 0) << mtu.out;
  EXPECT_EQ(mtu.out, "1400\n");
  // Not the default's: a network without the option keeps 1500 (and shows no options).
  EXPECT_EQ(env().run("run --rm busybox cat /sys/class/net/eth0/mtu").out, "1500\n");
  EXPECT_FALSE(inspect("berth").contains("options"));

  // A parent for the macvlan (no dummy driver here): one end of a veth pair.
  ASSERT_EQ(sh("ip link add berth-test-m0 type veth peer name berth-test-m1 && ip link set berth-test-m0 up").status, 0);
  made = create("berth-test-mv", "-d macvlan --interface-name berth-test-m0 -o mtu=1300 -o mode=private");
  ASSERT_EQ(made.status, 0) << made.out;
  EXPECT_EQ(inspect("berth-test-mv")["options"], (nlohmann::json{{"mode", "private"}, {"mtu", "1300"}}));
  auto r = env().run("run -d --name berth-test-mv1 --network berth-test-mv busybox sleep 60");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(env().run("exec berth-test-mv1 cat /sys/class/net/eth0/mtu").out, "1300\n");
  std::string id = trim(r.out);
  auto link = sh("nsenter --net=" + paths.netns(id) + " ip -d link show eth0");
  EXPECT_NE(link.out.find("macvlan mode private"), std::string::npos) << link.out;
}

// Refused before anything is made, naming the flag and the value.
TEST_F(NetworkOptionsTest, RefusalsNameTheFlagAndValue) {
  struct Case {
    std::string flags, message;
  };
  for (const auto& c : std::vector<Case>{
           {"--ip-range 10.97.1.0/26", "--ip-range 10.97.1.0/26 needs --subnet"},
           {"--subnet 10.97.2.0/24 --ip-range 10.97.3.0/26", "--ip-range 10.97.3.0/26 is not inside subnet 10.97.2.0/24"},
           {"--subnet 10.97.2.0/24 --ip-range 10.97.2.300/26", "invalid --ip-range \"10.97.2.300/26\""},
           {"--subnet 10.97.2.0/24 --ip-range 10.97.2.0", "invalid --ip-range \"10.97.2.0\""},
           {"-o foo=1", "unsupported --opt \"foo\" for a bridge network"},
           {"-o vlan=5000", "invalid --opt vlan=\"5000\""},
           {"-o vlan=5 --interface-name berth-test-long", "--opt vlan=5: the bridge plugin's VLAN link \"berth-test-long.5\""},
           {"--opt mtu=big", "invalid --opt mtu=\"big\""},
           {"-o mtu", "invalid --opt \"mtu\": want key=value"},
       }) {
    auto r = create("berth-test-refused", c.flags);
    EXPECT_EQ(r.status, 125) << c.flags << ": " << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.flags << ": " << r.out;
  }
  auto names = env().run("network ls -q");
  EXPECT_EQ(names.out.find("berth-test-refused"), std::string::npos) << names.out;
}

// The options together with --gateway, --internal and --disable-dns.
TEST_F(NetworkOptionsTest, WithGatewayInternalAndDisabledDns) {
  auto made = create("berth-test-all",
                     "--subnet 10.97.4.0/24 --gateway 10.97.4.254 --ip-range 10.97.4.128/25 --internal --disable-dns "
                     "-o mtu=1450");
  ASSERT_EQ(made.status, 0) << made.out;
  auto j = inspect("berth-test-all");
  EXPECT_EQ(j["subnets"][0]["gateway"], "10.97.4.254");
  // The range's last address is the subnet's broadcast: left out.
  EXPECT_EQ(j["subnets"][0]["lease_range"], (nlohmann::json{{"start_ip", "10.97.4.129"}, {"end_ip", "10.97.4.254"}}));
  EXPECT_EQ(j["internal"], true);
  EXPECT_EQ(j["dns_enabled"], false);
  EXPECT_EQ(j["options"]["mtu"], "1450");
  auto r = env().run("run -d --name berth-test-a1 --cap-add NET_RAW --network berth-test-all busybox sleep 60");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string ip = address_of("berth-test-a1");
  ASSERT_TRUE(ip.starts_with("10.97.4.")) << ip;
  int host = std::stoi(ip.substr(ip.rfind('.') + 1));
  EXPECT_GE(host, 129) << ip;
  EXPECT_LE(host, 253) << ip;  // the gateway (.254) is skipped
  EXPECT_EQ(env().run("exec berth-test-a1 cat /sys/class/net/eth0/mtu").out, "1450\n");
  auto routes = env().run("exec berth-test-a1 ip route");
  EXPECT_EQ(routes.out.find("default"), std::string::npos) << routes.out;  // internal: no default route
  auto ping = env().run("exec berth-test-a1 ping -c 1 -W 1 10.97.4.254");
  EXPECT_EQ(ping.status, 0) << ping.out;  // the gateway answers
  auto resolv = env().run("exec berth-test-a1 cat /etc/resolv.conf");
  EXPECT_EQ(resolv.out.find("dns.podman"), std::string::npos) << resolv.out;
}

}  // namespace
}  // namespace berth::engine
