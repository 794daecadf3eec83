// A pod's network through the berth binary, with the real aardvark-dns:
// on a DNS-enabled user network the pod answers to its name and to each
// member's name (from a member and from a container outside the pod), its
// members resolve the network's other containers, the shared resolv.conf
// names the gateway (the pod's --dns going upstream), a removed member's
// name goes; and --sysctl net.* is refused only to members in the pod's
// network namespace. The program runs in network and mount namespaces of
// its own, under a temporary --root/--runroot (engine_env.h).
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "engine/network_dns.h"
#include "net_fixture.h"

namespace berth::engine {
namespace {

using namespace testing;

class PodNetworkTest : public BerthNetworkTest {
 protected:
  void TearDown() override {
    sh(env().berth() + " pod ls -q | xargs -r -n1 " + env().berth() + " pod rm -f >/dev/null 2>&1");
    remove_containers_and_networks();
    if (pid_t pid = NetworkDns(paths).running_pid(); pid > 0) {
      ADD_FAILURE() << "aardvark-dns " << pid << " still runs after every pod and container is gone";
      ::kill(pid, SIGKILL);
    }
    reap_zombies();
  }

  static bool aardvark_installed() { return ::access(std::string(kAardvarkBinary).c_str(), X_OK) == 0; }

  std::string network(const std::string& name) {
    auto r = env().run("network create " + name);
    EXPECT_EQ(r.status, 0) << r.out;
    made_networks.push_back(name);
    return name;
  }

  void run_ok(const std::string& args) {
    auto r = env().run(args);
    ASSERT_EQ(r.status, 0) << args << ": " << r.out;
  }

  // `nslookup name` from inside container `from` answers `ip`.
  void expect_resolves(const std::string& from, const std::string& name, const std::string& ip) {
    auto r = env().run("exec " + from + " nslookup " + name);
    EXPECT_NE(r.out.find("Address: " + ip), std::string::npos)
        << from << " looking up " << name << ": " << r.out
        << "aardvark-dns's config: " << slurp(NetworkDns(paths).config_dir() + "/" + made_networks.front());
  }
};

TEST_F(PodNetworkTest, MembersAreResolvedByNameOnADnsNetwork) {
  if (!aardvark_installed()) GTEST_SKIP() << "aardvark-dns is not installed (scripts/install-deps.sh)";
  std::string net = network("berth-test-podnet1");
  run_ok("pod create --name berth-test-pdns --hostname berth-test-pdns-host --network " + net);
  run_ok("run -d --pod berth-test-pdns --name berth-test-pm1 busybox sleep 60");
  // Joins a pod whose infra runs already: its name is added then.
  run_ok("run -d --pod berth-test-pdns --name berth-test-pm2 --network-alias berth-test-pm2-alias busybox sleep 60");
  run_ok("run -d --name berth-test-out --network " + net + " busybox sleep 60");
  std::string pod_ip = address_of("berth-test-pm1");
  std::string out_ip = address_of("berth-test-out");
  ASSERT_FALSE(pod_ip.empty());
  ASSERT_FALSE(out_ip.empty());

  // The shared resolv.conf names aardvark-dns on the gateway, not the host's resolvers.
  std::string gateway = pod_ip.substr(0, pod_ip.rfind('.')) + ".1";
  auto resolv = env().run("exec berth-test-pm2 cat /etc/resolv.conf");
  EXPECT_NE(resolv.out.find("search dns.podman"), std::string::npos) << resolv.out;
  EXPECT_NE(resolv.out.find("nameserver " + gateway + "\n"), std::string::npos) << resolv.out;
  EXPECT_EQ(resolv.out.find("nameserver 8.8.8.8"), std::string::npos) << resolv.out;

  for (const char* name : {"berth-test-pm2", "berth-test-pm2-alias", "berth-test-pdns", "berth-test-pdns-host"})
    expect_resolves("berth-test-pm1", name, pod_ip);  // a member, of the pod's names
  expect_resolves("berth-test-pm1", "berth-test-out", out_ip);  // a member, of another container on the network
  for (const char* name : {"berth-test-pm1", "berth-test-pm2", "berth-test-pdns"})
    expect_resolves("berth-test-out", name, pod_ip);  // a container outside the pod, of the members

  // A removed member's name goes; the others stay.
  run_ok("rm -f berth-test-pm2");
  auto gone = env().run("exec berth-test-out nslookup berth-test-pm2");
  EXPECT_EQ(gone.out.find("Address: " + pod_ip), std::string::npos) << gone.out;
  expect_resolves("berth-test-out", "berth-test-pm1", pod_ip);

  // The pod's entry goes with the pod; aardvark-dns with the last entry.
  run_ok("pod rm -f berth-test-pdns");
  run_ok("rm -f berth-test-out");
  reap_zombies();
  EXPECT_EQ(NetworkDns(paths).running_pid(), 0);
}

TEST_F(PodNetworkTest, PodRmForceReloadsAardvarkDnsOncePerPod) {
  if (!aardvark_installed()) GTEST_SKIP() << "aardvark-dns is not installed (scripts/install-deps.sh)";
  std::string net = network("berth-test-podnet3");
  run_ok("pod create --name berth-test-prl --network " + net);
  for (const char* name : {"berth-test-prl1", "berth-test-prl2", "berth-test-prl3"})
    run_ok(std::string("run -d --pod berth-test-prl --name ") + name + " busybox sleep 60");
  // A container outside the pod keeps aardvark-dns running (a reload, not a stop, at the pod's removal).
  run_ok("run -d --name berth-test-prl-out --network " + net + " busybox sleep 60");
  auto rm = env().run("--log-level debug pod rm -f berth-test-prl");
  ASSERT_EQ(rm.status, 0) << rm.out;
  size_t reloads = 0;
  for (size_t at = rm.out.find("aardvark-dns: reload"); at != std::string::npos;
       at = rm.out.find("aardvark-dns: reload", at + 1))
    ++reloads;
  EXPECT_EQ(reloads, 1u) << rm.out;
  std::string conf = slurp(NetworkDns(paths).config_dir() + "/" + net);
  EXPECT_EQ(conf.find("berth-test-prl,"), std::string::npos) << conf;
  EXPECT_EQ(conf.find("berth-test-prl1"), std::string::npos) << conf;
  EXPECT_NE(conf.find("berth-test-prl-out"), std::string::npos) << conf;
  run_ok("rm -f berth-test-prl-out");
}

TEST_F(PodNetworkTest, PodDnsServersGoUpstreamNotIntoResolvConf) {
  if (!aardvark_installed()) GTEST_SKIP() << "aardvark-dns is not installed (scripts/install-deps.sh)";
  std::string net = network("berth-test-podnet2");
  run_ok("pod create --name berth-test-pup --network " + net + " --dns 192.0.2.53");
  auto resolv = env().run("run --rm --pod berth-test-pup busybox cat /etc/resolv.conf");
  EXPECT_EQ(resolv.status, 0) << resolv.out;
  EXPECT_EQ(resolv.out.find("192.0.2.53"), std::string::npos) << resolv.out;
  EXPECT_NE(resolv.out.find("nameserver 10."), std::string::npos) << resolv.out;
  std::string conf = slurp(NetworkDns(paths).config_dir() + "/" + net);
  EXPECT_NE(conf.find("berth-test-pup,"), std::string::npos) << conf;
  EXPECT_TRUE(conf.ends_with(" 192.0.2.53\n")) << conf;
}

TEST_F(PodNetworkTest, DefaultNetworkPodKeepsTheHostsResolvers) {
  run_ok("pod create --name berth-test-pdef");
  auto resolv = env().run("run --rm --pod berth-test-pdef busybox cat /etc/resolv.conf");
  EXPECT_EQ(resolv.status, 0) << resolv.out;
  EXPECT_EQ(resolv.out.find("dns.podman"), std::string::npos) << resolv.out;  // the default network has no DNS
  EXPECT_EQ(NetworkDns(paths).running_pid(), 0);
}

TEST_F(PodNetworkTest, NetSysctlOnlyOutsideThePodsNetworkNamespace) {
  const std::string read = " busybox cat /proc/sys/net/ipv4/ip_forward";
  const std::string set = " --sysctl net.ipv4.ip_forward=1";
  // In the pod's network namespace: refused, at create.
  run_ok("pod create --name berth-test-psys");
  auto shared = env().run("run --rm --pod berth-test-psys" + set + read);
  EXPECT_NE(shared.status, 0) << shared.out;
  EXPECT_NE(shared.out.find("--sysctl net.ipv4.ip_forward=1: the container shares its network with pod berth-test-psys"),
            std::string::npos)
      << shared.out;

  // A pod that does not share its network: the member's own namespace takes it.
  run_ok("pod create --name berth-test-psys-ipc --share ipc");
  auto own = env().run("run --rm --pod berth-test-psys-ipc" + set + read);
  EXPECT_EQ(own.status, 0) << own.out;
  EXPECT_EQ(trim(own.out), "1");
  // ... and one on a network of its own choosing.
  std::string net = network("berth-test-podnet3");
  auto chosen = env().run("run --rm --pod berth-test-psys-ipc --network " + net + set + read);
  EXPECT_EQ(chosen.status, 0) << chosen.out;
  EXPECT_EQ(trim(chosen.out), "1");
  // An IPC sysctl stays refused where IPC is the pod's.
  auto ipc = env().run("run --rm --pod berth-test-psys-ipc --sysctl kernel.shmmni=100 busybox true");
  EXPECT_NE(ipc.status, 0) << ipc.out;
  EXPECT_NE(ipc.out.find("shares its IPC namespace"), std::string::npos) << ipc.out;

  // A pod without an infra: nothing is shared.
  run_ok("pod create --name berth-test-psys-none --infra=false");
  auto alone = env().run("run --rm --pod berth-test-psys-none" + set + read);
  EXPECT_EQ(alone.status, 0) << alone.out;
  EXPECT_EQ(trim(alone.out), "1");
}

}  // namespace
}  // namespace berth::engine
