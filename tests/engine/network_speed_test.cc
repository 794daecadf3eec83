// The fast network path (network.h): the chain a container runs (portmap
// only with published ports), the setup whose plugins run on a thread
// (start_setup), teardowns detached from the caller with their pending
// records (waited for, finished after a crash, synchronous with ports), and
// through the berth binary: /etc/hosts gets the address of a setup that ran
// beside the rest of create, a container started again after a detached
// teardown gets its network back. In the test's own network and mount
// namespaces (net_test_env.h), as a subreaper (detached teardowns orphan).
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "engine/db.h"
#include "engine/network.h"
#include "engine/network_dns.h"
#include "net_fixture.h"

namespace berth::engine {
namespace {

using image::testing::sh;
using image::testing::slurp;
using namespace testing;

class NetSpeed : public NetworksTest {
 protected:
  NetSpeed() : NetworksTest("netspeed") {}

  void SetUp() override {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    NetworksTest::SetUp();
  }

  void TearDown() override {
    EXPECT_TRUE(nets->finish_teardowns({}, true).has_value());
    reap();
    NetworksTest::TearDown();
  }

  // The detached teardown processes (orphans that land on us) gone.
  static void reap() {
    for (int i = 0; i < 500; ++i) {
      pid_t p = ::waitpid(-1, nullptr, WNOHANG);
      if (p < 0 && errno == ECHILD) return;
      if (p == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // The plugin types of the chain cached for a container's eth0 on `network`.
  std::vector<std::string> cached_chain(const std::string& id, const std::string& network = "berth") {
    auto j = nlohmann::json::parse(slurp(paths.cni_results() + "/" + network + "-" + id + "-eth0.json"), nullptr, false);
    std::vector<std::string> types;
    if (j.is_object())
      for (const auto& p : j["config"]["plugins"]) types.push_back(p.value("type", ""));
    return types;
  }

  std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
    return out;
  }
  std::vector<std::string> cache_files() { return dir_entries(paths.cni_results()); }
  std::vector<std::string> records() { return dir_entries(paths.runroot + "/cni/teardown"); }
};

std::string veths() { return sh("ip -o link show type veth").out; }
std::string nat_rules() { return sh("iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'").out; }

TEST_F(NetSpeed, PortmapOnlyInTheChainOfAContainerThatPublishesPorts) {
  ASSERT_TRUE(nets->ensure_default().has_value());
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {}, {}, {}};
  std::vector<PortMapping> ports;
  ASSERT_TRUE(nets->setup(s, ports).has_value());
  EXPECT_EQ(cached_chain(id), std::vector<std::string>{"bridge"});
  EXPECT_EQ(nat_rules().find("CNI-"), std::string::npos);  // no portmap run: not even its shared chains
  // The network's own list keeps portmap for the containers that need it.
  auto n = nets->inspect("berth");
  ASSERT_TRUE(n.has_value());
  EXPECT_NE(slurp(n->conflist_path).find("portmap"), std::string::npos);

  auto [id2, ns2] = container('b');
  NetworkSetup s2{id2, ns2, {}, {{"127.0.0.1", 0, 80, 1, "tcp"}}, {}};
  ASSERT_TRUE(nets->setup(s2, ports).has_value());
  EXPECT_EQ(cached_chain(id2), (std::vector<std::string>{"bridge", "portmap"}));
  auto l80 = in_netns(ns2, [] { return listen_tcp("0.0.0.0", 80); });
  EXPECT_TRUE(connect_tcp("127.0.0.1", ports[0].host_port, "p80"));
  EXPECT_EQ(accept_one(l80), "p80");
  std::string port_rule = fmt::format("--dport {}", ports[0].host_port);
  EXPECT_NE(nat_rules().find(port_rule), std::string::npos);
  ASSERT_TRUE(nets->teardown(s2).has_value());  // its DEL runs portmap: its rules go
  EXPECT_EQ(nat_rules().find(port_rule), std::string::npos) << nat_rules();
  EXPECT_EQ(nat_rules().find(id2.substr(0, 12)), std::string::npos) << nat_rules();
  ASSERT_TRUE(nets->teardown(s).has_value());
  EXPECT_EQ(veths(), "");
  EXPECT_TRUE(cache_files().empty());
}

TEST_F(NetSpeed, StartSetupResolvesPortsAtOnceAndAttachesOnAThread) {
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {}, {{"", 0, 80, 1, "tcp"}}, {}};
  std::vector<PortMapping> ports;
  auto adding = nets->start_setup(s, ports);
  ASSERT_TRUE(adding.has_value()) << adding.error().what();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_NE(ports[0].host_port, 0);  // known before the plugins finish
  EXPECT_TRUE(adding->dns_servers.empty());  // the default network has no DNS, as podman's
  auto a = adding->attachments.get();
  ASSERT_TRUE(a.has_value()) << a.error().what();
  ASSERT_EQ(a->size(), 1u);
  ASSERT_EQ((*a)[0].ips.size(), 1u);
  EXPECT_TRUE((*a)[0].ips[0].starts_with("10.89.0.")) << (*a)[0].ips[0];
  EXPECT_NE(sh("nsenter --net=" + ns + " ip -o -4 addr show eth0").out.find((*a)[0].ips[0]), std::string::npos);
  ASSERT_TRUE(nets->teardown(s).has_value());
  EXPECT_EQ(veths(), "");
}

TEST_F(NetSpeed, FailedStartSetupUndoesItself) {
  NetworkCreateOptions o;
  o.name = "broken";
  auto broken = nets->create(o);
  ASSERT_TRUE(broken.has_value()) << broken.error().what();
  auto conf = nlohmann::json::parse(slurp(broken->conflist_path));
  conf["plugins"].push_back({{"type", "tuning"}, {"sysctl", {{"net.ipv4.conf.eth1.no_such_knob", "1"}}}});
  image::testing::spit(broken->conflist_path, conf.dump());
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {"berth,broken"}, {}, {}};
  std::vector<PortMapping> ports;
  auto adding = nets->start_setup(s, ports);
  ASSERT_TRUE(adding.has_value()) << adding.error().what();
  auto a = adding->attachments.get();
  ASSERT_FALSE(a.has_value());
  EXPECT_NE(std::string(a.error().what()).find("plugin \"tuning\""), std::string::npos) << a.error().what();
  EXPECT_EQ(veths(), "");
  EXPECT_TRUE(cache_files().empty());
  EXPECT_EQ(sh("grep -rl " + id + " " + paths.ipam_dir()).out, "");
}

TEST_F(NetSpeed, DetachedTeardownRunsAfterTheCallerAndIsWaitedFor) {
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {}, {}, {}};
  std::vector<PortMapping> ports;
  ASSERT_TRUE(nets->setup(s, ports).has_value());
  ASSERT_TRUE(nets->teardown_detached(s).has_value());
  ASSERT_TRUE(nets->finish_teardowns(id, true).has_value());  // waits for the child
  EXPECT_TRUE(records().empty());
  EXPECT_TRUE(cache_files().empty());
  EXPECT_FALSE(std::filesystem::exists(ns));
  EXPECT_EQ(veths(), "");
  EXPECT_EQ(sh("grep -rl " + id + " " + paths.ipam_dir()).out, "");  // the address is free again
  // The same container set up again (a restart) gets a namespace at the same path.
  ASSERT_TRUE(create_netns(ns).has_value());
  ASSERT_TRUE(nets->setup(s, ports).has_value());
  ASSERT_TRUE(nets->teardown_detached(s).has_value());
  ASSERT_TRUE(nets->finish_teardowns({}, true).has_value());
  EXPECT_FALSE(std::filesystem::exists(ns));
  EXPECT_EQ(veths(), "");
}

TEST_F(NetSpeed, DnsEntriesComeWithTheThreadAndGoAtOnceWithADetachedTeardown) {
  NetworkCreateOptions o;
  o.name = "berth-test-dnsnet";
  auto net = nets->create(o);
  ASSERT_TRUE(net.has_value()) << net.error().what();
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {o.name}, {}, {"berth-test-a"}};
  std::vector<PortMapping> ports;
  auto adding = nets->start_setup(s, ports);
  ASSERT_TRUE(adding.has_value()) << adding.error().what();
  // resolv.conf is written before the plugins are done: the server is known.
  EXPECT_EQ(adding->dns_servers, std::vector<std::string>{net->gateway});
  auto a = adding->attachments.get();
  ASSERT_TRUE(a.has_value()) << a.error().what();
  EXPECT_EQ((*a)[0].dns_server, net->gateway);
  NetworkDns dns(paths);
  std::string file = dns.config_dir() + "/" + o.name;
  EXPECT_NE(slurp(file).find(" berth-test-a,"), std::string::npos) << slurp(file);
  EXPECT_GT(dns.running_pid(), 0);
  ASSERT_TRUE(nets->teardown_detached(s).has_value());
  // Gone before the detached DELs: a new container may take the name now.
  EXPECT_EQ(slurp(file).find(id), std::string::npos);
  EXPECT_EQ(dns.running_pid(), 0);
  ASSERT_TRUE(nets->finish_teardowns(id, true).has_value());
  EXPECT_EQ(veths(), "");
  EXPECT_TRUE(nets->remove(o.name, false).has_value());
}

TEST_F(NetSpeed, DetachedTeardownOfAContainerWithPortsIsDoneAtOnce) {
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {}, {{"127.0.0.1", 0, 80, 1, "tcp"}}, {}};
  std::vector<PortMapping> ports;
  ASSERT_TRUE(nets->setup(s, ports).has_value());
  std::string port_rule = fmt::format("--dport {}", ports[0].host_port);
  EXPECT_NE(nat_rules().find(port_rule), std::string::npos);
  s.ports = ports;
  ASSERT_TRUE(nets->teardown_detached(s).has_value());
  // No waiting: the port is free when teardown_detached returns.
  EXPECT_EQ(nat_rules().find(port_rule), std::string::npos) << nat_rules();
  EXPECT_TRUE(records().empty());
  EXPECT_TRUE(cache_files().empty());
  EXPECT_FALSE(std::filesystem::exists(ns));
}

TEST_F(NetSpeed, TeardownLeftByACrashIsFinishedByTheNextSetup) {
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {}, {}, {}};
  std::vector<PortMapping> ports;
  ASSERT_TRUE(nets->setup(s, ports).has_value());
  // What a teardown process killed before its DELs leaves: the record, unlocked.
  std::filesystem::create_directories(paths.runroot + "/cni/teardown");
  image::testing::spit(paths.runroot + "/cni/teardown/" + id, ns);
  // A record still locked (a teardown in progress) is left to its process.
  std::string busy_id(64, 'c');
  std::string busy = paths.runroot + "/cni/teardown/" + busy_id;
  image::testing::spit(busy, paths.netns(busy_id));
  UniqueFd held(::open(busy.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(::flock(held.get(), LOCK_EX), 0);

  auto [id2, ns2] = container('b');
  NetworkSetup s2{id2, ns2, {}, {}, {}};
  ASSERT_TRUE(nets->setup(s2, ports).has_value());
  EXPECT_EQ(records(), std::vector<std::string>{busy_id});
  EXPECT_EQ(cache_files(), std::vector<std::string>{"berth-" + id2 + "-eth0.json"});
  EXPECT_FALSE(std::filesystem::exists(ns));
  EXPECT_EQ(sh("ip -o link show type veth | wc -l").out, "1\n");
  held.reset();
  ASSERT_TRUE(nets->finish_teardowns({}, true).has_value());  // now nobody holds it: done here
  EXPECT_TRUE(records().empty());
  ASSERT_TRUE(nets->teardown(s2).has_value());
}

TEST_F(NetSpeed, NetworkRemoveFinishesPendingTeardowns) {
  NetworkCreateOptions o;
  o.name = "waited";
  auto n = nets->create(o);
  ASSERT_TRUE(n.has_value()) << n.error().what();
  auto [id, ns] = container('a');
  NetworkSetup s{id, ns, {"waited"}, {}, {}};
  std::vector<PortMapping> ports;
  ASSERT_TRUE(nets->setup(s, ports).has_value());
  ASSERT_TRUE(nets->teardown_detached(s).has_value());
  auto removed = nets->remove("waited", false);
  ASSERT_TRUE(removed.has_value()) << removed.error().what();
  EXPECT_TRUE(records().empty());
  EXPECT_TRUE(cache_files().empty());
  EXPECT_EQ(veths(), "");
  EXPECT_FALSE(std::filesystem::exists(paths.ipam_dir() + "/waited"));
}

// Through the berth binary: create runs the ADDs beside the rest of the
// container's preparation; /etc/hosts, written before, gets the address.
class NetSpeedRun : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env().loaded) << "berth load of the busybox fixture failed"; }
  void TearDown() override { reap_zombies(); }
  static EngineEnv& env() { return EngineEnv::get(); }
  static image::testing::Cmd berth(const std::string& args) { return env().run(args); }
};

TEST_F(NetSpeedRun, HostsFileHasTheAddressAndTheNetworkComesBackAfterARestart) {
  auto r = berth("run -d --name berth-test-speed --hostname berth-test-speed busybox sleep 100");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string id = trim(r.out);
  auto doc = nlohmann::json::parse(berth("inspect --type container berth-test-speed").out, nullptr, false);
  std::string ip = doc.is_array() && !doc.empty() ? doc[0]["NetworkSettings"].value("IPAddress", "") : "";
  ASSERT_TRUE(ip.starts_with("10.89.")) << ip;
  r = berth("exec berth-test-speed cat /etc/hosts");
  EXPECT_NE(r.out.find(ip + "\tberth-test-speed"), std::string::npos) << r.out;
  // Stopped: its teardown runs detached; started again at once: the same
  // namespace path is made again after that teardown finished.
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(berth("stop -t 0 berth-test-speed").status, 0);
    r = berth("start berth-test-speed");
    ASSERT_EQ(r.status, 0) << r.out;
    r = berth("exec berth-test-speed ip -o -4 addr show eth0");
    EXPECT_NE(r.out.find("10.89."), std::string::npos) << r.out;
  }
  EXPECT_EQ(berth("rm -f berth-test-speed").status, 0);
  // Removed: nothing of its network stays once the teardown is done.
  for (int i = 0; i < 100 && std::filesystem::exists(env().roots.runroot + "/netns/" + id); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(std::filesystem::exists(env().roots.runroot + "/netns/" + id));
  EXPECT_EQ(sh("ls " + env().roots.runroot + "/cni/results | grep -c " + id).out, "0\n");
  // A network removal waits for pending teardowns: -d --rm containers gone by then.
  ASSERT_EQ(berth("network create berth-test-speednet").status, 0);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(berth("run --rm --network berth-test-speednet busybox true").status, 0);
  r = berth("network rm berth-test-speednet");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(sh("ls " + env().roots.runroot + "/cni/results 2>/dev/null | grep -c speednet").out, "0\n");
}

// create starts a container's own network first (its ADDs overlap the rest
// of create): a create that fails later undoes all of it, and reports the
// same errors as before, in the same order.
TEST_F(NetSpeedRun, FailedCreateLeavesNoNetworkBehind) {
  ASSERT_EQ(berth("network create berth-test-earlynet").status, 0);  // with DNS: aardvark-dns entries too
  Paths paths{env().roots.root, env().roots.runroot};
  auto leftovers = [&] {
    return sh("ls " + paths.runroot + "/netns; ls " + paths.cni_results() + "; ls " + paths.ipam_dir() +
              "/berth-test-earlynet | grep '^10[.]'; grep -rs berth-test-early " + NetworkDns(paths).config_dir() +
              "; ip -o link show type veth")
        .out;
  };
  auto r = berth("create --pull never --network berth-test-earlynet --name berth-test-early berth-test-no-such-image");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("no such image"), std::string::npos) << r.out;
  EXPECT_EQ(leftovers(), "");
  EXPECT_EQ(berth("ps -a").out.find("berth-test-early"), std::string::npos);
  // A name in use is found after the network was started.
  ASSERT_EQ(berth("create --network none --name berth-test-early busybox true").status, 0);
  r = berth("create --network berth-test-earlynet --name berth-test-early busybox true");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("already in use"), std::string::npos) << r.out;
  EXPECT_EQ(leftovers(), "");
  // A network that cannot be set up is reported after the image, as before.
  r = berth("create --pull never --network berth-test-nonet berth-test-no-such-image");
  EXPECT_NE(r.out.find("no such image"), std::string::npos) << r.out;
  r = berth("create --network berth-test-nonet busybox true");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("berth-test-nonet"), std::string::npos) << r.out;
  EXPECT_EQ(leftovers(), "");
  EXPECT_EQ(berth("rm berth-test-early").status, 0);
  EXPECT_EQ(berth("ps -a").out.find("berth-test"), std::string::npos);
  EXPECT_EQ(berth("network rm berth-test-earlynet").status, 0);
}

// An image that must be pulled first: the network is started only after the
// pull, so a berth killed during a (long) pull leaves no namespace, address
// or DNS entry behind with no row to find them by.
TEST_F(NetSpeedRun, NoNetworkIsStartedBeforeAPull) {
  // A registry that accepts the connection and never answers.
  UniqueFd silent(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(silent.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(silent.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(silent.get(), 8), 0);
  ASSERT_EQ(::getsockname(silent.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string image = fmt::format("127.0.0.1:{}/berth-test/silent:latest", ntohs(addr.sin_port));

  Paths paths{env().roots.root, env().roots.runroot};
  auto pid_text = sh(env().berth() + " create --name berth-test-pulling " + image + " true >/dev/null 2>&1 & echo $!").out;
  pid_t pid = std::stoi(pid_text);
  // Until the pull is under way: the connection waits in the silent one's queue.
  for (int i = 0; i < 100 && sh("ss -Htn state established '( dport = :" + std::to_string(ntohs(addr.sin_port)) +
                                " )' | grep -c .").out.starts_with("0");
       ++i)
    ::usleep(50 * 1000);
  ::usleep(300 * 1000);  // a network started first would have its namespace by now
  EXPECT_EQ(sh("ls " + paths.runroot + "/netns 2>/dev/null; ip -o link show type veth").out, "");
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) ::usleep(20 * 1000);
  EXPECT_EQ(sh("ls " + paths.runroot + "/netns " + paths.cni_results() + " 2>/dev/null; ip -o link show type veth").out,
            "");
  EXPECT_EQ(berth("ps -a").out.find("berth-test-pulling"), std::string::npos);
}

}  // namespace
}  // namespace berth::engine
