// Networks (network.h) on a real berth.db and Debian's CNI plugins, inside
// the test's own network and mount namespaces (net_test_env.h): the default
// network made on first use (also by two processes at once), setup /
// check / teardown of containers with their cached results, random ports,
// several networks, rollback of a failed setup, create / ls / inspect / rm /
// prune and the `berth network` verbs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <set>

#include "engine/cni.h"
#include "engine/db.h"
#include "engine/network.h"
#include "engine/network_internal.h"
#include "net_fixture.h"
#include "test_util.h"

namespace berth::engine {
namespace {

using image::testing::sh;
using image::testing::slurp;
using image::testing::spit;
using namespace testing;

class Net : public NetworksTest {
 protected:
  Net() : NetworksTest("net") {}

  void record_container(const std::string& id, const std::string& name, const std::string& network) {
    ContainerRecord c;
    c.id = id;
    c.name = name;
    c.options.network = network;
    auto added = db->add_container(c);
    ASSERT_TRUE(added.has_value()) << added.error().what();
  }

  std::vector<std::string> cache_files() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(paths.cni_results(), ec))
      out.push_back(e.path().filename().string());
    return out;
  }
};

std::string veths() { return sh("ip -o link show type veth").out; }

TEST_F(Net, DefaultNetworkMadeOnFirstUse) {
  auto n = nets->ensure_default();
  ASSERT_TRUE(n.has_value()) << n.error().what();
  EXPECT_EQ(n->name, "berth");
  EXPECT_EQ(n->interface, "berth0");
  EXPECT_EQ(n->subnet, "10.89.0.0/24");
  EXPECT_EQ(n->gateway, "10.89.0.1");
  EXPECT_EQ(n->conflist_path, paths.networks() + "/berth.conflist");
  auto conf = nlohmann::json::parse(slurp(n->conflist_path));
  EXPECT_EQ(conf["cniVersion"], "1.0.0");
  // Lean: no per-container iptables but portmap's (Berth's rules are per network).
  ASSERT_EQ(conf["plugins"].size(), 2u);
  EXPECT_EQ(conf["plugins"][0]["type"], "bridge");
  EXPECT_EQ(conf["plugins"][0]["ipMasq"], false);
  EXPECT_EQ(conf["plugins"][0]["ipam"]["dataDir"], paths.ipam_dir());
  EXPECT_EQ(conf["plugins"][1]["type"], "portmap");
  auto again = nets->ensure_default();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id, n->id);
  // A lost file is written again from the row.
  std::filesystem::remove(n->conflist_path);
  ASSERT_TRUE(nets->ensure_default().has_value());
  EXPECT_EQ(nlohmann::json::parse(slurp(n->conflist_path)), conf);
}

TEST_F(Net, DefaultNetworkRaceBetweenProcesses) {
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto d = EngineDb::open(paths.db());
      if (!d) {
        std::fprintf(stderr, "open: %s\n", d.error().what().c_str());
        ::_exit(2);
      }
      Networks n(paths, *d, NetworkConfig{});
      auto made = n.ensure_default();
      if (!made) std::fprintf(stderr, "ensure_default: %s\n", made.error().what().c_str());
      ::_exit(made ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto all = db->networks();
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE(nlohmann::json::parse(slurp((*all)[0].conflist_path), nullptr, false).is_object());
}

// Two berth processes networking their first containers at once: one
// default network, one bridge, distinct addresses, everything undone.
TEST_F(Net, ConcurrentSetupsOnFirstUse) {
  std::vector<pid_t> children;
  for (char c : {'1', '2', '3'}) {
    std::string id(64, c);
    std::string ns = paths.netns(id);
    ASSERT_TRUE(create_netns(ns).has_value());
    namespaces.push_back(ns);
    pid_t pid = ::fork();
    if (pid == 0) {
      auto d = EngineDb::open(paths.db());
      if (!d) ::_exit(2);
      Networks n(paths, *d, NetworkConfig{});
      std::vector<PortMapping> ports;
      auto a = n.setup({id, ns, {}, {}, {}}, ports);
      if (!a) std::fprintf(stderr, "setup: %s\n", a.error().what().c_str());
      ::_exit(a ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto all = db->networks();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 1u);
  std::set<std::string> ips;
  for (const auto& ns : namespaces) ips.insert(sh("nsenter --net=" + ns + " ip -o -4 addr show eth0 | awk '{print $4}'").out);
  EXPECT_EQ(ips.size(), 3u);
  for (char c : {'1', '2', '3'}) {
    std::string id(64, c);
    EXPECT_TRUE(nets->teardown({id, paths.netns(id), {}, {}, {}}).has_value());
  }
  EXPECT_EQ(veths(), "");
  EXPECT_TRUE(cache_files().empty());
}

TEST_F(Net, SetupCheckTeardown) {
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {}, {}, {}};
  std::vector<PortMapping> ports;
  auto a = nets->setup(s, ports);
  ASSERT_TRUE(a.has_value()) << a.error().what();
  ASSERT_EQ(a->size(), 1u);
  const auto& att = (*a)[0];
  EXPECT_EQ(att.network, "berth");
  EXPECT_EQ(att.interface, "eth0");
  ASSERT_EQ(att.ips.size(), 1u);
  EXPECT_TRUE(att.ips[0].starts_with("10.89.0.")) << att.ips[0];
  EXPECT_TRUE(att.ips[0].ends_with("/24"));
  EXPECT_EQ(att.gateway, "10.89.0.1");
  EXPECT_EQ(att.mac.size(), 17u);
  EXPECT_NE(sh("nsenter --net=" + ns + " ip -o link show eth0").out.find(att.mac), std::string::npos);
  EXPECT_EQ(cache_files(), std::vector<std::string>{"berth-" + id + "-eth0.json"});
  // The status JSON round-trips.
  auto back = attachments_from_json(attachments_to_json(*a));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ((*back)[0].ips, att.ips);
  EXPECT_EQ((*back)[0].mac, att.mac);

  auto checked = nets->check(s);
  EXPECT_TRUE(checked.has_value()) << checked.error().what();
  auto gw = listen_tcp("10.89.0.1", 7100);
  EXPECT_TRUE(in_netns(ns, [] { return connect_tcp("10.89.0.1", 7100); }));

  ASSERT_TRUE(nets->teardown(s).has_value());
  EXPECT_EQ(veths(), "");
  EXPECT_TRUE(cache_files().empty());
  EXPECT_FALSE(nets->check(s).has_value());  // nothing cached any more
  EXPECT_TRUE(nets->teardown(s).has_value());  // DEL twice
  // The address went back to the pool: the next container may get it.
  auto [id2, ns2] = container('b');
  NetworkSetup s2{id2, ns2, {}, {}, {}};
  auto a2 = nets->setup(s2, ports);
  ASSERT_TRUE(a2.has_value());
  EXPECT_TRUE(nets->teardown(s2).has_value());
}

TEST_F(Net, TeardownAfterTheNamespaceIsGone) {
  // The network's own rules in place first (they stay): only the container's count.
  ASSERT_TRUE(nets->ensure_default().has_value());
  ASSERT_TRUE(sync_network_rules(*db, paths).has_value());
  std::string before_rules = sh("iptables-save | grep -c 10.89.0.").out;
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {}, {{"", 0, 80, 1, "tcp"}}, {}};
  std::vector<PortMapping> ports;
  ASSERT_TRUE(nets->setup(s, ports).has_value());
  ASSERT_TRUE(remove_netns(ns).has_value());
  auto down = nets->teardown(s);
  EXPECT_TRUE(down.has_value()) << down.error().what();
  EXPECT_TRUE(cache_files().empty());
  EXPECT_EQ(sh("iptables-save | grep -c 10.89.0.").out, before_rules) << sh("iptables-save").out;
  EXPECT_EQ(veths(), "");
}

// iptables-save without counters and the generated-at comments.
std::string rules() { return sh("iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'").out; }

// Masquerade and forward rules are the network's, installed once (at create,
// or at first use after boot), not per container; removed with the network.
TEST_F(Net, PerNetworkRulesInstalledOnceAndRemovedWithTheNetwork) {
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {}, {}, {}};
  std::vector<PortMapping> ports;
  ASSERT_TRUE(nets->setup(s, ports).has_value());  // the default network's rules, at first use
  std::string with_default = rules();
  EXPECT_NE(with_default.find("-A BERTH-POSTROUTING -s 10.89.0.0/24 -m comment --comment \"berth network berth\" -j MASQUERADE"),
            std::string::npos)
      << with_default;
  EXPECT_NE(with_default.find("-A BERTH-FORWARD -s 10.89.0.0/24 -i berth0"), std::string::npos) << with_default;
  ASSERT_TRUE(nets->teardown(s).has_value());
  EXPECT_EQ(rules(), with_default);  // a container leaves no rule behind, takes none away

  NetworkCreateOptions o;
  o.name = "ruled";
  auto n = nets->create(o);
  ASSERT_TRUE(n.has_value()) << n.error().what();
  std::string with_both = rules();
  EXPECT_NE(with_both.find("-A BERTH-POSTROUTING -s 10.89.1.0/24 -m comment --comment \"berth network ruled\" -j MASQUERADE"),
            std::string::npos)
      << with_both;
  EXPECT_EQ(sh("iptables-save | grep -c -- '-j BERTH-'").out, "2\n");  // one jump per chain
  auto [id2, ns2] = container('b');
  NetworkSetup s2{id2, ns2, {"berth,ruled"}, {}, {}};
  ASSERT_TRUE(nets->setup(s2, ports).has_value());
  EXPECT_EQ(rules(), with_both);  // nothing per container
  ASSERT_TRUE(nets->teardown(s2).has_value());

  // After a reboot (rules and <runroot> both gone) the first use installs them again.
  ASSERT_TRUE(apply_network_rules({}).has_value());
  std::filesystem::remove_all(paths.runroot + "/network-rules");
  ASSERT_TRUE(nets->setup(s2, ports).has_value());
  EXPECT_EQ(rules(), with_both);
  ASSERT_TRUE(nets->teardown(s2).has_value());

  ASSERT_TRUE(nets->remove("ruled", false).has_value());
  EXPECT_EQ(rules(), with_default);  // restored exactly
  ASSERT_TRUE(apply_network_rules({}).has_value());
}

TEST_F(Net, RandomHostPortsResolvedAndPublished) {
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {}, {{"127.0.0.1", 0, 80, 1, "tcp"}, {"", 0, 81, 2, "tcp"}}, {}};
  std::vector<PortMapping> ports;
  auto a = nets->setup(s, ports);
  ASSERT_TRUE(a.has_value()) << a.error().what();
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_NE(ports[0].host_port, 0);
  EXPECT_NE(ports[1].host_port, 0);
  EXPECT_EQ(ports[1].range, 2);
  auto l80 = in_netns(ns, [] { return listen_tcp("0.0.0.0", 80); });
  auto l82 = in_netns(ns, [] { return listen_tcp("0.0.0.0", 82); });
  ASSERT_TRUE(l80.valid() && l82.valid());
  EXPECT_TRUE(connect_tcp("127.0.0.1", ports[0].host_port, "p80"));
  EXPECT_EQ(accept_one(l80), "p80");
  EXPECT_TRUE(connect_tcp("10.89.0.1", static_cast<uint16_t>(ports[1].host_port + 1), "p82"));
  EXPECT_EQ(accept_one(l82), "p82");
  ASSERT_TRUE(nets->teardown(s).has_value());
  EXPECT_FALSE(connect_tcp("127.0.0.1", ports[0].host_port));
}

// Random host ports of containers set up at once never collide: no socket
// holds a published port (portmap's rules are DNAT), so the kernel hands the
// same free port to every picker. The test's namespace has 4 ephemeral ports.
TEST_F(Net, RandomHostPortsOfConcurrentSetupsDiffer) {
  const std::string range_file = "/proc/sys/net/ipv4/ip_local_port_range";
  std::string saved = slurp(range_file);
  spit(range_file, "40000 40003");
  std::vector<pid_t> children;
  const std::string chars = "1234";
  for (char c : chars) {
    auto [id, ns] = container(c);
    pid_t pid = ::fork();
    if (pid == 0) {
      auto d = EngineDb::open(paths.db());
      if (!d) ::_exit(2);
      Networks n(paths, *d, NetworkConfig{});
      std::vector<PortMapping> ports;
      auto a = n.setup({id, ns, {}, {{"", 0, 80, 1, "tcp"}}, {}}, ports);
      if (!a) std::fprintf(stderr, "setup: %s\n", a.error().what().c_str());
      if (a) spit(paths.runroot + "/port-" + c, std::to_string(ports[0].host_port));
      ::_exit(a ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  spit(range_file, saved);
  std::set<std::string> ports;
  for (char c : chars) ports.insert(slurp(paths.runroot + "/port-" + c));
  EXPECT_EQ(ports.size(), chars.size());
  for (char c : chars) EXPECT_TRUE(nets->teardown({std::string(64, c), paths.netns(std::string(64, c)), {}, {}, {}}).has_value());
}

// Networks created at once without --subnet get distinct subnets and bridges.
TEST_F(Net, ConcurrentCreatesPickDistinctSubnets) {
  ASSERT_TRUE(nets->ensure_default().has_value());
  std::vector<pid_t> children;
  constexpr int kCreates = 8, kEach = 3;
  int start[2];
  ASSERT_EQ(::pipe(start), 0);
  for (int i = 0; i < kCreates; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(start[1]);
      auto d = EngineDb::open(paths.db());
      if (!d) ::_exit(2);
      Networks n(paths, *d, NetworkConfig{});
      char c;
      (void)::read(start[0], &c, 1);  // all at once: the pipe closes
      for (int k = 0; k < kEach; ++k) {
        NetworkCreateOptions o;
        o.name = fmt::format("berth-test-c{}-{}", i, k);
        auto made = n.create(o);
        if (!made) std::fprintf(stderr, "create: %s\n", made.error().what().c_str());
        if (!made) ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(start[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // every child opened its database
  ::close(start[1]);
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto all = db->networks();
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), kCreates * kEach + 1u);
  std::set<std::string> subnets, bridges;
  for (const auto& n : *all) {
    subnets.insert(n.subnet);
    bridges.insert(n.interface);
  }
  EXPECT_EQ(subnets.size(), all->size());
  EXPECT_EQ(bridges.size(), all->size());
  for (int i = 0; i < kCreates; ++i)
    for (int k = 0; k < kEach; ++k) EXPECT_TRUE(nets->remove(fmt::format("berth-test-c{}-{}", i, k), true).has_value());
}

TEST_F(Net, TwoNetworksTwoInterfaces) {
  NetworkCreateOptions o;
  o.name = "second";
  auto second = nets->create(o);
  ASSERT_TRUE(second.has_value()) << second.error().what();
  EXPECT_EQ(second->subnet, "10.89.1.0/24");  // the default's is taken
  EXPECT_EQ(second->interface, "berth1");
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {"berth,second"}, {}, {}};  // as --network berth,second
  std::vector<PortMapping> ports;
  auto a = nets->setup(s, ports);
  ASSERT_TRUE(a.has_value()) << a.error().what();
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[1].interface, "eth1");
  EXPECT_TRUE((*a)[1].ips[0].starts_with("10.89.1.")) << (*a)[1].ips[0];
  EXPECT_NE(sh("nsenter --net=" + ns + " ip -o -4 addr show eth1").out.find("10.89.1."), std::string::npos);
  EXPECT_TRUE(nets->check(s).has_value());
  ASSERT_TRUE(nets->teardown(s).has_value());
  EXPECT_EQ(veths(), "");
}

TEST_F(Net, FailedSetupRollsBack) {
  NetworkCreateOptions o;
  o.name = "broken";
  auto broken = nets->create(o);
  ASSERT_TRUE(broken.has_value());
  // A plugin that fails after the bridge has made the veth and taken an address.
  auto conf = nlohmann::json::parse(slurp(broken->conflist_path));
  conf["plugins"].push_back({{"type", "tuning"}, {"sysctl", {{"net.ipv4.conf.eth1.no_such_knob", "1"}}}});
  image::testing::spit(broken->conflist_path, conf.dump());
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {"berth", "broken"}, {{"", 0, 80, 1, "tcp"}}, {}};
  std::string rules_before = sh("iptables-save | grep -c 10.89.").out;
  std::vector<PortMapping> ports;
  auto a = nets->setup(s, ports);
  ASSERT_FALSE(a.has_value());
  std::string what = a.error().what();
  EXPECT_NE(what.find("network \"broken\""), std::string::npos) << what;
  EXPECT_NE(what.find("plugin \"tuning\""), std::string::npos) << what;
  EXPECT_TRUE(ports.empty());
  // Both networks undone: no veth, no cached result, no rule, no address kept.
  EXPECT_EQ(veths(), "");
  EXPECT_TRUE(cache_files().empty());
  EXPECT_EQ(sh("iptables-save | grep -c 10.89.").out, rules_before) << sh("iptables-save").out;
  EXPECT_EQ(sh("grep -rl " + id + " " + paths.ipam_dir()).out, "");
}

TEST_F(Net, CreateInspectListRemove) {
  NetworkCreateOptions o;
  o.name = "custom";
  o.subnets = {"172.30.5.0/24"};
  o.gateways = {"172.30.5.254"};
  o.labels = {{"team", "net"}};
  auto n = nets->create(o);
  ASSERT_TRUE(n.has_value()) << n.error().what();
  EXPECT_EQ(n->gateway, "172.30.5.254");
  auto got = nets->inspect("custom");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->labels.at("team"), "net");
  EXPECT_EQ(got->subnet, "172.30.5.0/24");
  auto conf = nlohmann::json::parse(slurp(got->conflist_path));
  EXPECT_EQ(conf["plugins"][0]["ipam"]["ranges"][0][0]["gateway"], "172.30.5.254");
  auto all = nets->list();
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2u);  // with the default

  // The name is taken; a subnet overlapping another network's is refused, naming both.
  EXPECT_EQ(nets->create(o).error().code(), EEXIST);
  o.name = "other";
  o.subnets = {"172.30.0.0/16"};
  o.gateways = {};
  auto overlap = nets->create(o);
  ASSERT_FALSE(overlap.has_value());
  std::string what = overlap.error().what();
  EXPECT_NE(what.find("\"other\""), std::string::npos) << what;
  EXPECT_NE(what.find("\"custom\""), std::string::npos) << what;
  o.subnets = {"10.89.0.128/25"};
  EXPECT_NE(std::string(nets->create(o).error().what()).find("\"berth\""), std::string::npos);
  o.subnets = {"10.200.0.0/24"};
  o.gateways = {"10.201.0.1"};
  EXPECT_FALSE(nets->create(o).has_value());  // gateway outside
  o.gateways = {};
  o.name = "bad name!";
  EXPECT_FALSE(nets->create(o).has_value());

  // In use by a container: refused (naming it) unless forced, which detaches it first.
  auto [id, ns] = container('c');
  record_container(id, "web", "custom");
  std::vector<PortMapping> ports;
  NetworkSetup s{id, ns, {"custom"}, {}, {}};
  ASSERT_TRUE(nets->setup(s, ports).has_value());
  auto refused = nets->remove("custom", false);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), EBUSY);
  EXPECT_NE(std::string(refused.error().what()).find("web"), std::string::npos);
  auto forced = nets->remove("custom", true);
  ASSERT_TRUE(forced.has_value()) << forced.error().what();
  EXPECT_EQ(veths(), "");
  EXPECT_TRUE(cache_files().empty());
  EXPECT_FALSE(std::filesystem::exists(got->conflist_path));
  EXPECT_EQ(nets->inspect("custom").error().code(), ENOENT);
  EXPECT_NE(sh("ip link show " + got->interface).status, 0);  // the bridge is gone
  // The default network stays.
  EXPECT_EQ(nets->remove("berth", true).error().code(), EPERM);
}

TEST_F(Net, InternalNetwork) {
  NetworkCreateOptions o;
  o.name = "inner";
  o.internal = true;
  auto n = nets->create(o);
  ASSERT_TRUE(n.has_value());
  EXPECT_TRUE(n->internal);
  auto conf = nlohmann::json::parse(slurp(n->conflist_path));
  EXPECT_EQ(conf["plugins"][0]["ipMasq"], false);
  EXPECT_FALSE(conf["plugins"][0]["ipam"].contains("routes"));
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {"inner"}, {}, {}};
  std::vector<PortMapping> ports;
  auto a = nets->setup(s, ports);
  ASSERT_TRUE(a.has_value()) << a.error().what();
  EXPECT_EQ(sh("nsenter --net=" + ns + " ip route show default").out, "");
  std::string ip = (*a)[0].ips[0].substr(0, (*a)[0].ips[0].find('/'));
  EXPECT_EQ(sh("iptables-save -t nat | grep -c " + ip).out, "0\n");
  ASSERT_TRUE(nets->teardown(s).has_value());
}

TEST_F(Net, MacvlanNetwork) {
  NetworkCreateOptions o;
  o.name = "mv";
  o.driver = "macvlan";
  EXPECT_FALSE(nets->create(o).has_value());  // needs its parent interface
  ASSERT_EQ(sh("ip link add berth-test-d0 type veth peer name berth-test-d1 && ip link set berth-test-d0 up").status, 0);
  o.interface = "berth-test-d0";
  auto n = nets->create(o);
  ASSERT_TRUE(n.has_value()) << n.error().what();
  auto conf = nlohmann::json::parse(slurp(n->conflist_path));
  ASSERT_EQ(conf["plugins"].size(), 1u);
  EXPECT_EQ(conf["plugins"][0]["type"], "macvlan");
  EXPECT_EQ(conf["plugins"][0]["master"], "berth-test-d0");
  auto [id, ns] = container('a');
  std::vector<PortMapping> ports;
  // No port mapping on macvlan: refused before anything is done.
  NetworkSetup with_ports{id, ns, {"mv"}, {{"", 8080, 80, 1, "tcp"}}, {}};
  auto refused = nets->setup(with_ports, ports);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), EINVAL);
  NetworkSetup s{id, ns, {"mv"}, {}, {}};
  auto a = nets->setup(s, ports);
  ASSERT_TRUE(a.has_value()) << a.error().what();
  EXPECT_TRUE((*a)[0].ips[0].starts_with("10.89.1.")) << (*a)[0].ips[0];
  EXPECT_NE(sh("nsenter --net=" + ns + " ip -o -d link show eth0").out.find("macvlan"), std::string::npos);
  EXPECT_TRUE(nets->teardown(s).has_value());
  EXPECT_TRUE(nets->remove("mv", false).has_value());
  EXPECT_EQ(sh("ip link show berth-test-d0").status, 0);  // a parent is not Berth's to delete
  sh("ip link del berth-test-d0");
}

TEST_F(Net, PruneKeepsUsedAndDefault) {
  for (const char* name : {"used", "unused1", "unused2"}) {
    NetworkCreateOptions o;
    o.name = name;
    ASSERT_TRUE(nets->create(o).has_value());
  }
  record_container(std::string(64, 'd'), "user", "used");
  auto removed = nets->prune();
  ASSERT_TRUE(removed.has_value()) << removed.error().what();
  EXPECT_EQ(*removed, (std::vector<std::string>{"unused1", "unused2"}));
  auto all = nets->list();
  ASSERT_TRUE(all.has_value());
  std::vector<std::string> names;
  for (const auto& n : *all) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"berth", "used"}));
}

TEST_F(Net, Verbs) {
  std::string berth = std::string(BERTH_BIN_DIR) + "/berth --root " + paths.root + " --runroot " + paths.runroot;
  auto created = sh(berth + " network create front --subnet 10.99.0.0/24 --label tier=web");
  ASSERT_EQ(created.status, 0) << created.out;
  EXPECT_EQ(created.out, "front\n");
  auto ls = sh(berth + " network ls --format json");
  ASSERT_EQ(ls.status, 0) << ls.out;
  auto j = nlohmann::json::parse(ls.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1]["name"], "front");
  EXPECT_EQ(j[1]["subnets"][0]["subnet"], "10.99.0.0/24");
  EXPECT_EQ(j[1]["labels"]["tier"], "web");
  EXPECT_NE(sh(berth + " network ls").out.find("front"), std::string::npos);
  auto inspect = sh(berth + " network inspect front");
  ASSERT_EQ(inspect.status, 0);
  EXPECT_EQ(nlohmann::json::parse(inspect.out)[0]["network_interface"], "berth1");
  auto overlap = sh(berth + " network create back --subnet 10.99.0.0/16");
  EXPECT_EQ(overlap.status, 125);
  EXPECT_NE(overlap.out.find("overlaps subnet 10.99.0.0/24 of network \"front\""), std::string::npos) << overlap.out;
  // Reopen the database after the CLI wrote it: a user of "front".
  record_container(std::string(64, 'e'), "app", "front");
  auto busy = sh(berth + " network rm front");
  EXPECT_EQ(busy.status, 2) << busy.out;
  EXPECT_NE(busy.out.find("in use by containers: app"), std::string::npos) << busy.out;
  EXPECT_EQ(sh(berth + " network rm nope").status, 1);
  auto forced = sh(berth + " network rm -f front");
  EXPECT_EQ(forced.status, 0) << forced.out;
  EXPECT_EQ(sh(berth + " network ls -q").out, "berth\n");
}

}  // namespace
}  // namespace berth::engine
