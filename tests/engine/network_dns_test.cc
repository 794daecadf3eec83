// Name resolution between containers (network_dns.h) with the real
// aardvark-dns, checked from inside busybox containers run by the berth
// binary: names, --network-alias and short ids resolve on a user network,
// resolv.conf points at the gateway, the default network and --disable-dns
// get no DNS, entries go at teardown and aardvark-dns stops with the last,
// concurrent runs all get their entry, a crashed aardvark-dns or a stale
// pid file does not break the next run. Also the config file text.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "engine/network_dns.h"
#include "engine_env.h"

namespace berth::engine {
namespace {

using namespace testing;

bool aardvark_installed() { return ::access(std::string(kAardvarkBinary).c_str(), X_OK) == 0; }

class NetworkDnsTest : public ::testing::Test {
 protected:
  static EngineEnv& env() { return EngineEnv::get(); }
  Paths paths{env().roots.root, env().roots.runroot};

  void SetUp() override {
    ASSERT_TRUE(env().loaded);
    if (!aardvark_installed()) GTEST_SKIP() << "aardvark-dns is not installed (scripts/install-deps.sh)";
  }

  void TearDown() override {
    sh(env().berth() + " ps -aq | xargs -r " + env().berth() + " rm -f >/dev/null 2>&1");
    for (const auto& n : made_networks) sh(env().berth() + " network rm -f " + n + " >/dev/null 2>&1");
    // Whatever a failed test left: never an aardvark-dns outliving the test.
    if (pid_t pid = NetworkDns(paths).running_pid(); pid > 0) {
      ADD_FAILURE() << "aardvark-dns " << pid << " still runs after every container is gone";
      ::kill(pid, SIGKILL);
    }
    reap_zombies();
  }

  std::string network(const std::string& name, const std::string& flags = "") {
    auto r = env().run("network create " + flags + " " + name);
    EXPECT_EQ(r.status, 0) << r.out;
    made_networks.push_back(name);
    return name;
  }

  // The container's IPv4 address on eth0, from inside it.
  std::string address_of(const std::string& name) {
    auto r = env().run("exec " + name + " ip -o -4 addr show eth0");
    std::smatch m;
    std::regex inet("inet ([0-9.]+)/");
    if (std::regex_search(r.out, m, inet)) return m[1];
    ADD_FAILURE() << "no address in: " << r.out;
    return "";
  }

  image::testing::Cmd lookup(const std::string& net, const std::string& name) {
    return env().run("run --rm --network " + net + " busybox nslookup " + name);
  }

  std::vector<std::string> made_networks;
};

TEST(DnsConfig, EntriesReplacedAndRemovedByContainer) {
  DnsEntry a{"n1", {"10.89.1.1"}, "aaaa", {"10.89.1.2"}, {}, {"web", "www", "aaaa"}, {}};
  std::string one = dns_config_with("", a);
  EXPECT_EQ(one, "10.89.1.1\naaaa 10.89.1.2  web,www,aaaa\n");
  DnsEntry b{"n1", {"10.89.1.1"}, "bbbb", {"10.89.1.3"}, {"fd00::3"}, {"db"}, {"192.0.2.53"}};
  std::string two = dns_config_with(one, b);
  EXPECT_EQ(two, "10.89.1.1\naaaa 10.89.1.2  web,www,aaaa\nbbbb 10.89.1.3 fd00::3 db 192.0.2.53\n");
  a.ipv4 = {"10.89.1.9"};
  EXPECT_EQ(dns_config_with(two, a), "10.89.1.1\nbbbb 10.89.1.3 fd00::3 db 192.0.2.53\naaaa 10.89.1.9  web,www,aaaa\n");
  bool empty = true;
  EXPECT_EQ(dns_config_without(two, "aaaa", empty), "10.89.1.1\nbbbb 10.89.1.3 fd00::3 db 192.0.2.53\n");
  EXPECT_FALSE(empty);
  // An id that is a prefix of another's is not that other.
  EXPECT_EQ(dns_config_without(two, "bbb", empty), two);
  EXPECT_EQ(dns_config_without(dns_config_without(two, "aaaa", empty), "bbbb", empty), "10.89.1.1\n");
  EXPECT_TRUE(empty);
}

TEST_F(NetworkDnsTest, NamesAliasesAndShortIdsResolveOnAUserNetwork) {
  std::string net = network("berth-test-dns1");
  auto inspected = env().run("network inspect " + net);
  EXPECT_NE(inspected.out.find("\"dns_enabled\": true"), std::string::npos) << inspected.out;
  auto web = env().run("run -d --name berth-test-web --network " + net + " --network-alias www busybox sleep 60");
  ASSERT_EQ(web.status, 0) << web.out;
  std::string id = trim(web.out);
  std::string ip = address_of("berth-test-web");
  ASSERT_FALSE(ip.empty());
  EXPECT_GT(NetworkDns(paths).running_pid(), 0);

  for (const std::string& name : {std::string("berth-test-web"), std::string("www"), id.substr(0, 12),
                                  std::string("www.dns.podman")}) {
    auto r = lookup(net, name);
    EXPECT_EQ(r.status, 0) << name << ": " << r.out;
    EXPECT_NE(r.out.find("Address: " + ip), std::string::npos) << name << ": " << r.out;
  }
  auto resolv = env().run("run --rm --network " + net + " busybox cat /etc/resolv.conf");
  auto gateway = ip.substr(0, ip.rfind('.')) + ".1";
  EXPECT_NE(resolv.out.find("search dns.podman"), std::string::npos) << resolv.out;
  EXPECT_NE(resolv.out.find("nameserver " + gateway + "\n"), std::string::npos) << resolv.out;
  EXPECT_EQ(resolv.out.find("nameserver 8.8.8.8"), std::string::npos) << resolv.out;

  // Its entry goes with it; aardvark-dns goes with the last entry.
  ASSERT_EQ(env().run("rm -f berth-test-web").status, 0);
  auto gone = lookup(net, "berth-test-web");
  EXPECT_EQ(gone.out.find("Address: " + ip), std::string::npos) << gone.out;
  reap_zombies();
  EXPECT_EQ(NetworkDns(paths).running_pid(), 0);
  EXPECT_FALSE(std::filesystem::exists(NetworkDns(paths).config_dir() + "/" + net));
}

TEST_F(NetworkDnsTest, DefaultNetworkAndDisabledDnsHaveNone) {
  auto resolv = env().run("run --rm busybox cat /etc/resolv.conf");
  EXPECT_EQ(resolv.status, 0) << resolv.out;
  EXPECT_EQ(resolv.out.find("dns.podman"), std::string::npos) << resolv.out;
  EXPECT_EQ(NetworkDns(paths).running_pid(), 0);

  std::string net = network("berth-test-nodns", "--disable-dns");
  auto inspected = env().run("network inspect " + net);
  EXPECT_NE(inspected.out.find("\"dns_enabled\": false"), std::string::npos) << inspected.out;
  ASSERT_EQ(env().run("run -d --name berth-test-quiet --network " + net + " busybox sleep 60").status, 0);
  auto r = env().run("run --rm --network " + net + " busybox cat /etc/resolv.conf");
  EXPECT_EQ(r.out.find("dns.podman"), std::string::npos) << r.out;
  EXPECT_EQ(NetworkDns(paths).running_pid(), 0);
}

TEST_F(NetworkDnsTest, DnsServersGoUpstreamNotIntoResolvConf) {
  std::string net = network("berth-test-dns2");
  auto r = env().run("run --rm --network " + net + " --dns 192.0.2.53 busybox cat /etc/resolv.conf");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("192.0.2.53"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nameserver 10."), std::string::npos) << r.out;
  // While it runs, aardvark-dns has the server as the container's upstream.
  ASSERT_EQ(env().run("run -d --name berth-test-up --network " + net + " --dns 192.0.2.53 busybox sleep 60").status, 0);
  std::string conf = slurp(NetworkDns(paths).config_dir() + "/" + net);
  EXPECT_NE(conf.find(" berth-test-up,"), std::string::npos) << conf;
  EXPECT_TRUE(conf.ends_with(" 192.0.2.53\n")) << conf;
}

TEST_F(NetworkDnsTest, ConcurrentRunsAllGetTheirEntry) {
  std::string net = network("berth-test-dns3");
  constexpr int kRuns = 4;
  std::vector<std::thread> threads;
  std::vector<int> status(kRuns, -1);
  for (int i = 0; i < kRuns; ++i)
    threads.emplace_back([&, i] {
      status[i] = env().run(fmt::format("run -d --name berth-test-c{} --network {} busybox sleep 60", i, net)).status;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRuns; ++i) ASSERT_EQ(status[i], 0) << i;
  for (int i = 0; i < kRuns; ++i) {
    std::string name = fmt::format("berth-test-c{}", i);
    auto r = env().run("exec berth-test-c0 nslookup " + name);
    EXPECT_NE(r.out.find("Address: " + address_of(name)), std::string::npos)
        << name << ": " << r.out << "aardvark-dns's log: " << slurp(paths.runroot + "/aardvark-dns.log")
        << "its sockets: " << sh("grep ':0035 ' /proc/net/udp").out;
  }
  // Removed at once: the last one out stops aardvark-dns.
  threads.clear();
  for (int i = 0; i < kRuns; ++i)
    threads.emplace_back([&, i] { status[i] = env().run(fmt::format("rm -f berth-test-c{}", i)).status; });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRuns; ++i) EXPECT_EQ(status[i], 0) << i;
  reap_zombies();
  EXPECT_EQ(NetworkDns(paths).running_pid(), 0);
}

TEST_F(NetworkDnsTest, ACrashedAardvarkOrAStalePidFileIsRecoveredFrom) {
  std::string net = network("berth-test-dns4");
  ASSERT_EQ(env().run("run -d --name berth-test-a --network " + net + " busybox sleep 60").status, 0);
  pid_t pid = NetworkDns(paths).running_pid();
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);  // crashed: its pid file stays
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) {
    reap_zombies();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(NetworkDns(paths).running_pid(), 0);
  ASSERT_EQ(env().run("run -d --name berth-test-b --network " + net + " busybox sleep 60").status, 0);
  EXPECT_GT(NetworkDns(paths).running_pid(), 0);
  auto r = env().run("exec berth-test-b nslookup berth-test-a");
  EXPECT_NE(r.out.find("Address: " + address_of("berth-test-a")), std::string::npos) << r.out;

  // A pid file naming a process that is not aardvark-dns (ours) is not trusted.
  pid_t live = NetworkDns(paths).running_pid();
  ::kill(live, SIGKILL);
  for (int i = 0; i < 100 && ::kill(live, 0) == 0; ++i) {
    reap_zombies();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  image::testing::spit(NetworkDns(paths).config_dir() + "/aardvark.pid", std::to_string(::getpid()));
  EXPECT_EQ(NetworkDns(paths).running_pid(), 0);
  ASSERT_EQ(env().run("run -d --name berth-test-c --network " + net + " busybox sleep 60").status, 0);
  auto c = env().run("exec berth-test-c nslookup berth-test-b");
  EXPECT_NE(c.out.find("Address: " + address_of("berth-test-b")), std::string::npos) << c.out;
}

TEST_F(NetworkDnsTest, NetworkRmDropsItsFile) {
  std::string net = network("berth-test-dns5");
  ASSERT_EQ(env().run("run -d --name berth-test-r --network " + net + " busybox sleep 60").status, 0);
  EXPECT_TRUE(std::filesystem::exists(NetworkDns(paths).config_dir() + "/" + net));
  ASSERT_EQ(env().run("network rm -f " + net).status, 0);
  EXPECT_FALSE(std::filesystem::exists(NetworkDns(paths).config_dir() + "/" + net));
  EXPECT_EQ(NetworkDns(paths).running_pid(), 0);
}

}  // namespace
}  // namespace berth::engine
