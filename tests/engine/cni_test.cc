// CNI as Berth drives it, against Debian's plugins (/usr/lib/cni), inside the
// test's own network namespace (net_test_env.h): new namespaces with lo up,
// ADD/CHECK/DEL of the default network's configuration list, connectivity,
// port mappings, the result cache, errors and rollback, and the time each
// step takes.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "base/log.h"
#include "engine/cni.h"
#include "engine/network.h"
#include "engine/network_config.h"
#include "engine/network_internal.h"
#include "net_test_env.h"
#include "test_util.h"

namespace berth::engine {
namespace {

using image::testing::sh;
using namespace testing;

const std::vector<std::string> kPluginDirs = {"/usr/lib/cni"};

class Cni : public ::testing::Test {
 protected:
  TempRoots roots{"cni"};
  Paths paths{roots.root, roots.runroot};

  nlohmann::json network(const std::string& name = "berth", const std::string& subnet = "10.89.0.0/24",
                         const std::string& bridge = "berth0", bool internal = false) {
    NetworkRecord n;
    n.name = name;
    n.subnet = subnet;
    n.interface = bridge;
    n.internal = internal;
    EXPECT_TRUE(plan_network(n, {}).has_value());
    // Berth's per-network rules, as Networks installs them (masquerade, forward).
    installed_.push_back(n);
    auto applied = apply_network_rules(installed_);
    EXPECT_TRUE(applied.has_value()) << applied.error().what();
    return make_conflist(n, paths.ipam_dir());
  }

  std::string netns(const std::string& id) {
    std::string path = paths.netns(id);
    auto made = create_netns(path);
    EXPECT_TRUE(made.has_value()) << made.error().what();
    made_.push_back(path);
    return path;
  }

  cni::Invocation inv(const std::string& id, const std::string& ns, const std::string& ifname = "eth0") {
    return {id, ns, ifname, "", kPluginDirs};
  }

  void TearDown() override {
    for (const auto& p : made_) EXPECT_TRUE(remove_netns(p).has_value());
    sh("ip link del berth0; ip link del berth7");
    EXPECT_TRUE(apply_network_rules({}).has_value());
    EXPECT_EQ(sh("iptables-save | grep -c BERTH").out, "0\n");
  }

  std::vector<std::string> made_;
  std::vector<NetworkRecord> installed_;
};

std::string in(const std::string& ns, const std::string& command) {
  return sh("nsenter --net=" + ns + " " + command).out;
}

// iptables-save without the counters and the comments that change with time.
std::string rules() {
  auto out = sh("iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'");
  return out.out;
}

TEST_F(Cni, NewNamespaceHasLoopbackUp) {
  auto ns = netns("c1");
  EXPECT_NE(in(ns, "ip -o link show lo").find("UP"), std::string::npos) << in(ns, "ip -o link show lo");
  // A namespace of its own: no interface of the test's is in it.
  EXPECT_EQ(in(ns, "ip -o link").find("berth0"), std::string::npos);
  auto listener = in_netns(ns, [] { return listen_tcp("127.0.0.1", 7000); });
  ASSERT_TRUE(listener.valid());
  EXPECT_TRUE(in_netns(ns, [] { return connect_tcp("127.0.0.1", 7000); }));
  EXPECT_EQ(accept_one(listener), "hello");
  // Creating it twice is refused; removing it twice is fine.
  EXPECT_FALSE(create_netns(ns).has_value());
  EXPECT_TRUE(remove_netns(ns).has_value());
  EXPECT_TRUE(remove_netns(ns).has_value());
  EXPECT_FALSE(std::filesystem::exists(ns));
}

TEST_F(Cni, AddGivesAnAddressAndDefaultRouteAndReachesTheGateway) {
  auto list = network();
  auto ns = netns("c1");
  auto result = cni::add_list(list, inv("c1", ns), nlohmann::json::object());
  ASSERT_TRUE(result.has_value()) << result.error().what();
  std::string addr = in(ns, "ip -o -4 addr show eth0");
  EXPECT_NE(addr.find("inet 10.89.0."), std::string::npos) << addr;
  EXPECT_NE(in(ns, "ip route show default").find("default via 10.89.0.1 dev eth0"), std::string::npos);
  ASSERT_TRUE((*result)["ips"].is_array());
  EXPECT_EQ((*result)["ips"][0]["gateway"], "10.89.0.1");
  // The gateway (the bridge, in the test's namespace) is reachable from the container.
  auto gw = listen_tcp("10.89.0.1", 7001);
  ASSERT_TRUE(gw.valid());
  EXPECT_TRUE(in_netns(ns, [] { return connect_tcp("10.89.0.1", 7001); }));
  EXPECT_EQ(accept_one(gw), "hello");
  auto ping = sh("nsenter --net=" + ns + " busybox ping -c1 -W1 10.89.0.1");
  EXPECT_EQ(ping.status, 0) << ping.out;
  // The container's address is masqueraded going out: by the network's
  // rule for its subnet (no rule of its own: the bridge's ipMasq is off).
  std::string ip = (*result)["ips"][0]["address"].get<std::string>();
  ip = ip.substr(0, ip.find('/'));
  auto subnet = parse_subnet("10.89.0.0/24");
  auto address = parse_ipv4(ip);
  ASSERT_TRUE(subnet && address);
  EXPECT_TRUE(subnet->contains(*address)) << ip;
  std::string r = rules();
  std::string nat = r.substr(r.find("*nat"));
  EXPECT_NE(nat.find("-A POSTROUTING -j BERTH-POSTROUTING"), std::string::npos) << nat;
  EXPECT_NE(nat.find("-A BERTH-POSTROUTING -s 10.89.0.0/24 -m comment --comment \"berth network berth\" -j MASQUERADE"),
            std::string::npos)
      << nat;
  EXPECT_EQ(r.find(ip), std::string::npos) << r;  // no per-container rule
  EXPECT_NE(r.find("-A FORWARD -j BERTH-FORWARD"), std::string::npos) << r;
  auto checked = cni::check_list(list, inv("c1", ns), nlohmann::json::object(), *result);
  EXPECT_TRUE(checked.has_value()) << checked.error().what();
  EXPECT_TRUE(cni::del_list(list, inv("c1", ns), nlohmann::json::object(), *result).has_value());
  // CHECK after DEL fails: the interface is gone.
  EXPECT_FALSE(cni::check_list(list, inv("c1", ns), nlohmann::json::object(), *result).has_value());
}

// A host outside the bridge: namespace "outside", linked to the test's
// namespace by a veth (192.0.2.0/24), with no route back to the container's
// subnet. The container reaches it only masqueraded by the network's rule:
// the connection arrives from the test namespace's address.
TEST_F(Cni, ContainerReachesOutsideMasqueraded) {
  auto list = network();
  auto outside = netns("outside");
  auto linked = sh("nsenter --net=" + outside +
                   " sh -c 'ip link add berth-test-o1 type veth peer name berth-test-o0 && ip link set berth-test-o0 netns " +
                   std::to_string(::getpid()) + " && ip addr add 192.0.2.2/24 dev berth-test-o1 && ip link set berth-test-o1 up'");
  ASSERT_EQ(linked.status, 0) << linked.out;
  ASSERT_EQ(sh("ip addr add 192.0.2.1/24 dev berth-test-o0 && ip link set berth-test-o0 up").status, 0);
  auto ns = netns("c1");
  auto result = cni::add_list(list, inv("c1", ns), nlohmann::json::object());
  ASSERT_TRUE(result.has_value()) << result.error().what();
  auto listener = in_netns(outside, [] { return listen_tcp("192.0.2.2", 7003); });
  ASSERT_TRUE(listener.valid());
  EXPECT_TRUE(in_netns(ns, [] { return connect_tcp("192.0.2.2", 7003, "out"); }));
  pollfd p{listener.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 1000), 1);
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  UniqueFd c(::accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  ASSERT_TRUE(c.valid());
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
  EXPECT_STREQ(text, "192.0.2.1");  // not the container's 10.89.0.x
  EXPECT_NE(sh("iptables -t nat -L BERTH-POSTROUTING -v -n | grep MASQUERADE").out.find("10.89.0.0/24"), std::string::npos);
  EXPECT_TRUE(cni::del_list(list, inv("c1", ns), nlohmann::json::object(), *result).has_value());
  sh("ip link del berth-test-o0");
}

TEST_F(Cni, TwoContainersReachEachOther) {
  auto list = network();
  auto a = netns("ca"), b = netns("cb");
  auto ra = cni::add_list(list, inv("ca", a), nlohmann::json::object());
  auto rb = cni::add_list(list, inv("cb", b), nlohmann::json::object());
  ASSERT_TRUE(ra && rb);
  std::string ip_a = (*ra)["ips"][0]["address"].get<std::string>();
  std::string ip_b = (*rb)["ips"][0]["address"].get<std::string>();
  EXPECT_NE(ip_a, ip_b);
  ip_a = ip_a.substr(0, ip_a.find('/'));
  auto listener = in_netns(a, [] { return listen_tcp("0.0.0.0", 7002); });
  ASSERT_TRUE(listener.valid());
  EXPECT_TRUE(in_netns(b, [&] { return connect_tcp(ip_a, 7002, "from b"); }));
  EXPECT_EQ(accept_one(listener), "from b");
  EXPECT_TRUE(cni::del_list(list, inv("ca", a), nlohmann::json::object(), *ra).has_value());
  EXPECT_TRUE(cni::del_list(list, inv("cb", b), nlohmann::json::object(), *rb).has_value());
}

TEST_F(Cni, PortMappingReachesAListenerAndDelRemovesEveryRule) {
  auto list = network();
  // A first ADD/DEL makes the chains the plugins keep (CNI-FORWARD,
  // CNI-HOSTPORT-DNAT...).
  {
    auto ns = netns("warm");
    nlohmann::json caps = {{"portMappings", port_mappings_json({{"", 9999, 80, 1, "tcp"}})}};
    auto r = cni::add_list(list, inv("warm", ns), caps);
    ASSERT_TRUE(r.has_value()) << r.error().what();
    ASSERT_TRUE(cni::del_list(list, inv("warm", ns), caps, *r).has_value());
  }
  std::string before = rules();
  auto ns = netns("c1");
  // -p 127.0.0.1::8080: a random host port, resolved; -p 8081:8080.
  std::vector<PortMapping> ports = {{"127.0.0.1", 0, 8080, 1, "tcp"}, {"", 8081, 8080, 1, "tcp"}};
  auto resolved = resolve_host_ports(ports);
  ASSERT_TRUE(resolved.has_value());
  uint16_t host_port = (*resolved)[0].host_port;
  EXPECT_NE(host_port, 0);
  nlohmann::json caps = {{"portMappings", port_mappings_json(*resolved)}};
  auto result = cni::add_list(list, inv("c1", ns), caps);
  ASSERT_TRUE(result.has_value()) << result.error().what();
  EXPECT_NE(rules(), before);
  auto listener = in_netns(ns, [] { return listen_tcp("0.0.0.0", 8080); });
  ASSERT_TRUE(listener.valid());
  EXPECT_TRUE(connect_tcp("127.0.0.1", host_port, "via portmap"));
  EXPECT_EQ(accept_one(listener), "via portmap");
  // Published on 127.0.0.1 only: not on the test namespace's other address.
  EXPECT_FALSE(connect_tcp("10.89.0.1", host_port));
  // The other one on every address, the bridge's too.
  EXPECT_TRUE(connect_tcp("10.89.0.1", 8081, "via gateway"));
  EXPECT_EQ(accept_one(listener), "via gateway");

  ASSERT_TRUE(cni::del_list(list, inv("c1", ns), caps, *result).has_value());
  EXPECT_EQ(rules(), before);
  EXPECT_NE(sh("nsenter --net=" + ns + " ip -o link show eth0").status, 0);
  EXPECT_EQ(sh("ip -o link show type veth").out, "");
  EXPECT_FALSE(connect_tcp("127.0.0.1", host_port));
  // DEL twice, and DEL without the namespace, are fine (DEL is idempotent).
  EXPECT_TRUE(cni::del_list(list, inv("c1", ns), caps, *result).has_value());
  EXPECT_TRUE(cni::del_list(list, inv("c1", ""), caps, *result).has_value());
  EXPECT_EQ(rules(), before);
}

TEST_F(Cni, AllPortsOfAPublishedRange) {
  std::vector<PortMapping> ports = {{"", 8000, 80, 3, "udp"}, {"127.0.0.1", 0, 90, 2, "tcp"}};
  auto resolved = resolve_host_ports(ports);
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ((*resolved)[0].host_port, 8000);
  EXPECT_NE((*resolved)[1].host_port, 0);
  auto j = port_mappings_json(*resolved);
  ASSERT_EQ(j.size(), 5u);
  EXPECT_EQ(j[2], (nlohmann::json{{"hostPort", 8002}, {"containerPort", 82}, {"protocol", "udp"}}));
  EXPECT_EQ(j[4]["hostPort"], (*resolved)[1].host_port + 1);
  EXPECT_EQ(j[4]["hostIP"], "127.0.0.1");
}

TEST_F(Cni, InternalNetworkHasNoMasqueradeAndNoDefaultRoute) {
  auto list = network("inner", "10.89.7.0/24", "berth7", true);
  EXPECT_EQ(list["plugins"][0]["ipMasq"], false);
  auto ns = netns("c1");
  auto result = cni::add_list(list, inv("c1", ns), nlohmann::json::object());
  ASSERT_TRUE(result.has_value()) << result.error().what();
  EXPECT_NE(in(ns, "ip -o -4 addr show eth0").find("inet 10.89.7."), std::string::npos);
  EXPECT_EQ(in(ns, "ip route show default"), "");
  // Internal: the forward rules of its subnet, no masquerade.
  std::string r = rules();
  EXPECT_NE(r.find("-A BERTH-FORWARD -s 10.89.7.0/24 -i berth7"), std::string::npos) << r;
  auto nat = r.find("*nat") == std::string::npos ? "" : r.substr(r.find("*nat"));  // no nat table at all: fine
  EXPECT_EQ(nat.find("10.89.7."), std::string::npos) << nat;
  EXPECT_TRUE(cni::del_list(list, inv("c1", ns), nlohmann::json::object(), *result).has_value());
}

TEST_F(Cni, FailingPluginNamesPluginAndNetwork) {
  auto list = network();
  list["plugins"].push_back({{"type", "tuning"}, {"sysctl", {{"net.ipv4.conf.eth0.no_such_knob", "1"}}}});
  auto ns = netns("c1");
  auto result = cni::add_list(list, inv("c1", ns), nlohmann::json::object());
  ASSERT_FALSE(result.has_value());
  std::string what = result.error().what();
  EXPECT_NE(what.find("plugin \"tuning\""), std::string::npos) << what;
  EXPECT_NE(what.find("network \"berth\""), std::string::npos) << what;
  EXPECT_NE(what.find("no_such_knob"), std::string::npos) << what;

  list["plugins"][1] = {{"type", "no-such-plugin"}};
  auto missing = cni::add_list(list, inv("c2", ns, "eth1"), nlohmann::json::object());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_NE(std::string(missing.error().what()).find("cni plugin \"no-such-plugin\" not found in /usr/lib/cni"),
            std::string::npos)
      << missing.error().what();
}

TEST_F(Cni, ResultCacheRoundTrip) {
  cni::CachedResult r{"c1", "berth", "eth0", network(), {{"portMappings", nlohmann::json::array()}},
                      {{"cniVersion", "1.0.0"}}};
  ASSERT_TRUE(cni::write_cache(paths.cni_results(), r).has_value());
  std::string file = cni::cache_path(paths.cni_results(), "berth", "c1", "eth0");
  auto back = cni::read_cache(file);
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->conflist, r.conflist);
  EXPECT_EQ((*back)->result, r.result);
  EXPECT_EQ((*back)->capability_args, r.capability_args);
  EXPECT_TRUE(cni::remove_cache(file).has_value());
  auto gone = cni::read_cache(file);
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(cni::remove_cache(file).has_value());
}

// The batch of Berth's per-network rules, exactly: forward rules for every
// bridge network, masquerade only for a non-internal one, nothing for macvlan.
TEST(NetworkRules, Batch) {
  NetworkRecord a{.name = "berth", .driver = "bridge", .interface = "berth0", .subnet = "10.89.0.0/24"};
  NetworkRecord b{.name = "inner", .driver = "bridge", .interface = "berth1", .subnet = "10.89.1.0/24", .internal = true};
  NetworkRecord m{.name = "mv", .driver = "macvlan", .interface = "eth0", .subnet = "10.89.2.0/24"};
  std::string c = "-m comment --comment \"berth network ";
  EXPECT_EQ(network_rules_batch({a, b, m}, false),
            "*filter\n:BERTH-FORWARD - [0:0]\n-I FORWARD -j BERTH-FORWARD\n"
            "-A BERTH-FORWARD -d 10.89.0.0/24 -o berth0 -m conntrack --ctstate RELATED,ESTABLISHED " + c + "berth\" -j ACCEPT\n"
            "-A BERTH-FORWARD -s 10.89.0.0/24 -i berth0 " + c + "berth\" -j ACCEPT\n"
            "-A BERTH-FORWARD -d 10.89.1.0/24 -o berth1 -m conntrack --ctstate RELATED,ESTABLISHED " + c + "inner\" -j ACCEPT\n"
            "-A BERTH-FORWARD -s 10.89.1.0/24 -i berth1 " + c + "inner\" -j ACCEPT\n"
            "COMMIT\n*nat\n:BERTH-POSTROUTING - [0:0]\n-I POSTROUTING -j BERTH-POSTROUTING\n"
            "-A BERTH-POSTROUTING -s 10.89.0.0/24 -d 10.89.0.0/24 " + c + "berth\" -j RETURN\n"
            "-A BERTH-POSTROUTING -s 10.89.0.0/24 -d 224.0.0.0/4 " + c + "berth\" -j RETURN\n"
            "-A BERTH-POSTROUTING -s 10.89.0.0/24 " + c + "berth\" -j MASQUERADE\n"
            "COMMIT\n");
  // With the jumps there: moved, not doubled.
  std::string moved = network_rules_batch({a}, true);
  EXPECT_NE(moved.find("-D FORWARD -j BERTH-FORWARD\n-I FORWARD -j BERTH-FORWARD\n"), std::string::npos) << moved;
  EXPECT_NE(moved.find("-D POSTROUTING -j BERTH-POSTROUTING\n-I POSTROUTING -j BERTH-POSTROUTING\n"), std::string::npos);
  // No bridge network: the chains and jumps go.
  EXPECT_EQ(network_rules_batch({m}, true), network_rules_batch({}, true));
  EXPECT_NE(network_rules_batch({}, true).find("-X BERTH-POSTROUTING"), std::string::npos);
}

// The cost of networking a container: namespace, ADD, DEL (printed; the
// benchmark of `berth run` depends on it). Loose bounds catch a pathology.
TEST_F(Cni, Timings) {
  auto list = network();
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  {  // warm: the bridge and the chains exist after the first container
    auto ns = netns("warm");
    auto r = cni::add_list(list, inv("warm", ns), nlohmann::json::object());
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(cni::del_list(list, inv("warm", ns), nlohmann::json::object(), *r).has_value());
  }
  std::string id = "timing";
  auto t0 = clock::now();
  std::string ns = paths.netns(id);
  ASSERT_TRUE(create_netns(ns).has_value());
  auto t1 = clock::now();
  auto r = cni::add_list(list, inv(id, ns), nlohmann::json::object());
  auto t2 = clock::now();
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(cni::del_list(list, inv(id, ns), nlohmann::json::object(), *r).has_value());
  auto t3 = clock::now();
  ASSERT_TRUE(remove_netns(ns).has_value());
  auto t4 = clock::now();
  // Each plugin alone, as add_list runs them.
  std::string per_plugin;
  {
    ASSERT_TRUE(create_netns(ns).has_value());
    nlohmann::json prev;
    for (const auto& p : list["plugins"]) {
      nlohmann::json conf = p;
      conf["name"] = list["name"];
      conf["cniVersion"] = list["cniVersion"];
      if (!prev.is_null()) conf["prevResult"] = prev;
      auto s = clock::now();
      auto out = cni::exec_plugin("ADD", p["type"], conf.dump(), inv(id, ns), "berth");
      ASSERT_TRUE(out.has_value()) << out.error().what();
      per_plugin += fmt::format(" {} ADD {:.1f} ms,", p["type"].get<std::string>(), ms(clock::now() - s));
      prev = nlohmann::json::parse(*out);
    }
    for (auto it = list["plugins"].rbegin(); it != list["plugins"].rend(); ++it) {
      nlohmann::json conf = *it;
      conf["name"] = list["name"];
      conf["cniVersion"] = list["cniVersion"];
      conf["prevResult"] = prev;
      auto s = clock::now();
      ASSERT_TRUE(cni::exec_plugin("DEL", (*it)["type"], conf.dump(), inv(id, ns), "berth").has_value());
      per_plugin += fmt::format(" {} DEL {:.1f} ms,", (*it)["type"].get<std::string>(), ms(clock::now() - s));
    }
    ASSERT_TRUE(remove_netns(ns).has_value());
  }
  std::printf("cni timings: create_netns %.2f ms, ADD %.1f ms, DEL %.1f ms, remove_netns %.2f ms;%s\n", ms(t1 - t0),
              ms(t2 - t1), ms(t3 - t2), ms(t4 - t3), per_plugin.c_str());
  RecordProperty("add_ms", std::to_string(ms(t2 - t1)));
  RecordProperty("del_ms", std::to_string(ms(t3 - t2)));
  EXPECT_LT(ms(t1 - t0), 50);
  EXPECT_LT(ms(t2 - t1), 2000);
  EXPECT_LT(ms(t3 - t2), 2000);
}

}  // namespace
}  // namespace berth::engine
