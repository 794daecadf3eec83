// Pods through the berth binary: members share the network (localhost),
// UTS (hostname) and IPC namespaces of the pod's infra, the PID namespace
// with --share pid, ports published on the pod reach a member, the pod
// lifecycle, and the errors. The program runs in a network namespace of its
// own and under a temporary --root/--runroot; it is a child subreaper and
// reaps the monitors it inherits.
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/pods.h"
#include "test_util.h"

namespace berth::engine {
namespace {

using image::testing::Cmd;
using image::testing::kFixtures;

std::string g_dir;  // /var/tmp/berth-test-pod-XXXXXX
const char* kImage = "docker.io/library/busybox:latest";

void reap_orphans() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

Cmd sh(const std::string& command) {
  Cmd c = image::testing::sh(command);
  reap_orphans();  // monitors that reparented to us meanwhile
  return c;
}

std::string berth_prefix() {
  return std::string(BERTH_BIN_DIR) + "/berth --root " + g_dir + "/root --runroot " + g_dir + "/run ";
}

Cmd berth(const std::string& args) { return sh(berth_prefix() + args); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "pod tests need root";
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    // Bridges, veths, iptables rules and ports stay in a namespace of our own.
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0);
    ASSERT_EQ(sh("ip link set lo up").status, 0);
    char tmpl[] = "/var/tmp/berth-test-pod-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    g_dir = tmpl;
    Cmd load = berth(std::string("load -i ") + kFixtures + "/oci-busybox.tar");
    ASSERT_EQ(load.status, 0) << load.out;
    auto at = load.out.find("Loaded image: ");
    ASSERT_NE(at, std::string::npos) << load.out;
    std::string id = trim(load.out.substr(at + 14));
    Cmd tag = berth("tag " + id + " " + kImage);
    ASSERT_EQ(tag.status, 0) << tag.out;
  }
  void TearDown() override {
    if (g_dir.empty()) return;
    // Everything the tests left: pods (with their members) then containers.
    Cmd pods = berth("pod ls -q");
    for (size_t at = 0; at < pods.out.size();) {
      size_t nl = pods.out.find('\n', at);
      std::string id = pods.out.substr(at, nl - at);
      if (!id.empty()) berth("pod rm -f " + id);
      at = nl == std::string::npos ? pods.out.size() : nl + 1;
    }
    sh("for c in $(" + berth_prefix() + "ps -aq); do " + berth_prefix() + "rm -f $c; done");
    // Mounts under the run root (rootfs, netns, namespace binds) before the files.
    sh("grep -o ' " + g_dir + "[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l");
    std::filesystem::remove_all(g_dir);
    reap_orphans();
  }
};

::testing::Environment* const g_env = ::testing::AddGlobalTestEnvironment(new Environment);

std::string pod_create(const std::string& args) {
  Cmd c = berth("pod create " + args);
  EXPECT_EQ(c.status, 0) << c.out;
  return trim(c.out);
}

nlohmann::json pod_inspect(const std::string& pod) {
  Cmd c = berth("pod inspect " + pod);
  EXPECT_EQ(c.status, 0) << c.out;
  return nlohmann::json::parse(c.out, nullptr, false);
}

TEST(Pod, ParseShare) {
  EXPECT_EQ(parse_pod_share("ipc,net,uts"), false);
  EXPECT_EQ(parse_pod_share("net,uts,ipc,pid"), true);
  EXPECT_EQ(parse_pod_share("+pid"), true);
  EXPECT_EQ(parse_pod_share("+ipc"), false);
  auto unknown = parse_pod_share("net,ipc,uts,time");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().what().find("\"time\""), std::string::npos) << unknown.error().what();
  auto partial = parse_pod_share("net,uts");
  ASSERT_FALSE(partial);
  EXPECT_NE(partial.error().what().find("missing ipc"), std::string::npos) << partial.error().what();
}

TEST(Pod, MembersShareLocalhostHostnameAndIpc) {
  std::string pod = pod_create("--name berth-test-share --hostname berth-test-host");
  ASSERT_FALSE(pod.empty());
  // A server on the pod's loopback, reached by another member.
  Cmd server = berth("run -d --pod berth-test-share --name berth-test-srv " + std::string(kImage) +
                     " sh -c 'echo hello-from-pod | nc -l -p 7777'");
  ASSERT_EQ(server.status, 0) << server.out;
  Cmd client = berth("run --rm --pod berth-test-share " + std::string(kImage) +
                     " sh -c 'for i in $(seq 50); do nc 127.0.0.1 7777 && exit 0; sleep 0.1; done; exit 1'");
  EXPECT_EQ(client.status, 0) << client.out;
  EXPECT_NE(client.out.find("hello-from-pod"), std::string::npos) << client.out;

  // Both see the pod's hostname.
  Cmd h1 = berth("run --rm --pod berth-test-share " + std::string(kImage) + " hostname");
  Cmd h2 = berth("run --rm --pod " + pod + " " + std::string(kImage) + " cat /proc/sys/kernel/hostname");
  EXPECT_EQ(trim(h1.out), "berth-test-host") << h1.out;
  EXPECT_EQ(trim(h2.out), "berth-test-host") << h2.out;

  // A POSIX message queue made by one member is seen by the next: one IPC namespace.
  Cmd mk = berth("run --rm --pod berth-test-share " + std::string(kImage) + " touch /dev/mqueue/berth-test-q");
  ASSERT_EQ(mk.status, 0) << mk.out;
  Cmd ls = berth("run --rm --pod berth-test-share " + std::string(kImage) + " ls /dev/mqueue");
  EXPECT_NE(ls.out.find("berth-test-q"), std::string::npos) << ls.out;
  // A container outside the pod does not see it.
  Cmd outside = berth("run --rm " + std::string(kImage) + " ls /dev/mqueue");
  EXPECT_EQ(outside.out.find("berth-test-q"), std::string::npos) << outside.out;

  // Without --share pid, a member does not see the others' processes.
  Cmd sleeper = berth("run -d --pod berth-test-share " + std::string(kImage) + " sleep 1000");
  ASSERT_EQ(sleeper.status, 0) << sleeper.out;
  Cmd ps = berth("run --rm --pod berth-test-share " + std::string(kImage) + " ps");
  EXPECT_EQ(ps.out.find("sleep 1000"), std::string::npos) << ps.out;
  EXPECT_EQ(berth("pod rm -f berth-test-share").status, 0);
}

TEST(Pod, SharePidShowsProcessesAcross) {
  ASSERT_FALSE(pod_create("--name berth-test-pid --share ipc,net,uts,pid").empty());
  Cmd sleeper = berth("run -d --pod berth-test-pid " + std::string(kImage) + " sleep 1000");
  ASSERT_EQ(sleeper.status, 0) << sleeper.out;
  Cmd ps = berth("run --rm --pod berth-test-pid " + std::string(kImage) + " ps");
  EXPECT_NE(ps.out.find("sleep 1000"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("catatonit -P"), std::string::npos) << ps.out;  // the infra is the pid 1
  auto j = pod_inspect("berth-test-pid");
  EXPECT_NE(j.dump().find("\"pid\""), std::string::npos) << j.dump();
  EXPECT_EQ(berth("pod rm -f berth-test-pid").status, 0);
}

TEST(Pod, PortPublishedOnThePodReachesAMember) {
  ASSERT_FALSE(pod_create("--name berth-test-port -p 18080:80").empty());
  Cmd server = berth("run -d --pod berth-test-port " + std::string(kImage) +
                     " sh -c 'echo through-the-pod-port | nc -l -p 80'");
  ASSERT_EQ(server.status, 0) << server.out;
  // From this (the host's, here private) namespace, to the bridge's address: portmap's DNAT.
  auto j = pod_inspect("berth-test-port");
  EXPECT_EQ(j["InfraConfig"]["PortBindings"]["80/tcp"][0]["HostPort"], "18080") << j.dump();
  std::string nc = std::string(kFixtures) + "/busybox-rootfs/bin/busybox nc";
  Cmd got = sh("gw=$(ip -4 -o addr show berth0 | awk '{print $4}' | cut -d/ -f1); for i in $(seq 50); do " + nc +
               " $gw 18080 && exit 0; sleep 0.1; done; exit 1");
  EXPECT_EQ(got.status, 0) << got.out;
  EXPECT_NE(got.out.find("through-the-pod-port"), std::string::npos) << got.out;
  EXPECT_EQ(berth("pod rm -f berth-test-port").status, 0);
}

TEST(Pod, Lifecycle) {
  std::string pod = pod_create("--name berth-test-life --label tier=test");
  auto created = pod_inspect(pod);
  EXPECT_EQ(created["State"], "Created");
  EXPECT_EQ(created["Labels"]["tier"], "test");
  Cmd member = berth("run -d --pod berth-test-life --name berth-test-life-a " + std::string(kImage) + " sleep 1000");
  ASSERT_EQ(member.status, 0) << member.out;
  EXPECT_EQ(pod_inspect(pod)["State"], "Running");

  Cmd ls = berth("pod ls --format json");
  ASSERT_EQ(ls.status, 0) << ls.out;
  auto list = nlohmann::json::parse(ls.out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << ls.out;
  bool found = false;
  for (const auto& p : list)
    if (p["Name"] == "berth-test-life") {
      found = true;
      EXPECT_EQ(p["Status"], "Running");
      EXPECT_EQ(p["NumberOfContainers"], 2);  // the infra and the member
    }
  EXPECT_TRUE(found) << ls.out;

  // rm refuses while a member runs.
  Cmd busy = berth("pod rm berth-test-life");
  EXPECT_NE(busy.status, 0);
  EXPECT_NE(busy.out.find("berth-test-life"), std::string::npos) << busy.out;

  ASSERT_EQ(berth("pod stop -t 1 berth-test-life").status, 0);
  auto stopped = pod_inspect(pod);
  EXPECT_EQ(stopped["State"], "Exited") << stopped.dump();
  for (const auto& c : stopped["Containers"]) EXPECT_EQ(c["State"], "exited") << stopped.dump();
  EXPECT_FALSE(std::filesystem::exists(g_dir + "/run/netns/" + pod));  // the pod's network went with its infra

  ASSERT_EQ(berth("pod start berth-test-life").status, 0);
  auto restarted = pod_inspect(pod);
  EXPECT_EQ(restarted["State"], "Running") << restarted.dump();
  Cmd alive = berth("ps --format json");
  EXPECT_NE(alive.out.find("berth-test-life-a"), std::string::npos) << alive.out;

  ASSERT_EQ(berth("pod stop -t 1 berth-test-life").status, 0);
  Cmd rm = berth("pod rm berth-test-life");  // stopped: no -f needed
  EXPECT_EQ(rm.status, 0) << rm.out;
  EXPECT_NE(berth("pod inspect berth-test-life").status, 0);
  EXPECT_NE(berth("inspect berth-test-life-a").status, 0);  // its member went with it
}

TEST(Pod, Errors) {
  Cmd unknown = berth("pod inspect berth-test-nonesuch");
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.out.find("no such pod"), std::string::npos) << unknown.out;
  Cmd run_unknown = berth("run --rm --pod berth-test-nonesuch " + std::string(kImage) + " true");
  EXPECT_NE(run_unknown.status, 0);
  EXPECT_NE(run_unknown.out.find("berth-test-nonesuch"), std::string::npos) << run_unknown.out;
  EXPECT_NE(berth("pod stop berth-test-nonesuch").status, 0);
  EXPECT_NE(berth("pod rm berth-test-nonesuch").status, 0);

  ASSERT_FALSE(pod_create("--name berth-test-err").empty());
  Cmd port = berth("run --rm --pod berth-test-err -p 8080:80 " + std::string(kImage) + " true");
  EXPECT_NE(port.status, 0);
  EXPECT_NE(port.out.find("berth-test-err"), std::string::npos) << port.out;
  EXPECT_NE(port.out.find("publish"), std::string::npos) << port.out;
  Cmd dup = berth("pod create --name berth-test-err");
  EXPECT_NE(dup.status, 0);
  EXPECT_NE(berth("pod create --share net,uts").status, 0);
  EXPECT_EQ(berth("pod rm berth-test-err").status, 0);
}

}  // namespace
}  // namespace berth::engine
