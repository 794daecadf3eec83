// Pods through the berth binary: members share the network (localhost),
// UTS (hostname) and IPC namespaces of the pod's infra, the PID namespace
// with --share pid, ports published on the pod reach a member, the pod
// lifecycle, and the errors. The program runs in a network namespace of its
// own and under a temporary --root/--runroot; it is a child subreaper and
// reaps the monitors it inherits.
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
  auto def = parse_pod_share("ipc,net,uts");
  ASSERT_TRUE(def);
  EXPECT_TRUE(def->ipc && def->net && def->uts && !def->pid && !def->cgroup);
  auto pid = parse_pod_share("net,uts,ipc,pid");
  ASSERT_TRUE(pid);
  EXPECT_TRUE(pid->pid && pid->net);
  auto plus = parse_pod_share("+pid,cgroup");
  ASSERT_TRUE(plus);
  EXPECT_TRUE(plus->ipc && plus->net && plus->uts && plus->pid && plus->cgroup);
  auto ipc = parse_pod_share("ipc");  // replaces the default: only ipc
  ASSERT_TRUE(ipc);
  EXPECT_TRUE(ipc->ipc && !ipc->net && !ipc->uts && !ipc->pid);
  for (const char* nothing : {"none", ""}) {
    auto none = parse_pod_share(nothing);
    ASSERT_TRUE(none) << nothing;
    EXPECT_FALSE(none->ipc || none->net || none->uts || none->pid || none->cgroup) << nothing;
  }
  auto unknown = parse_pod_share("net,ipc,uts,time");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().what().find("\"time\""), std::string::npos) << unknown.error().what();
}

ContainerRecord with_state(ContainerState s) {
  ContainerRecord c;
  c.state = s;
  return c;
}

TEST(Pod, StateAsPodmanDerivesIt) {
  using S = ContainerState;
  auto state = [](std::initializer_list<S> states) {
    std::vector<ContainerRecord> all;
    for (S s : states) all.push_back(with_state(s));
    return pod_state(all);
  };
  EXPECT_EQ(state({}), "Created");
  EXPECT_EQ(state({S::created, S::created}), "Created");
  EXPECT_EQ(state({S::running, S::running}), "Running");
  EXPECT_EQ(state({S::running, S::stopped}), "Degraded");
  EXPECT_EQ(state({S::running, S::created}), "Degraded");
  EXPECT_EQ(state({S::running, S::paused}), "Degraded");
  EXPECT_EQ(state({S::paused, S::paused}), "Paused");
  EXPECT_EQ(state({S::stopped, S::stopped}), "Exited");
  EXPECT_EQ(state({S::stopped, S::created}), "Stopped");
}

TEST(Pod, FilterTerms) {
  PodRecord pod;
  pod.id = "0123456789abcdef";
  pod.name = "berth-test-web";
  pod.labels = {{"tier", "front"}, {"solo", ""}};
  std::vector<ContainerRecord> all = {with_state(ContainerState::running), with_state(ContainerState::stopped)};
  all[0].name = "abc-infra";
  all[0].infra = true;
  all[1].name = "berth-test-nginx";
  all[1].id = "fedcba";
  auto match = [&](std::vector<std::string> terms) {
    auto f = parse_pod_filter(terms);
    EXPECT_TRUE(f) << terms[0];
    return f && pod_matches(*f, pod, all, "berth");
  };
  EXPECT_TRUE(match({"name=web$"}));
  EXPECT_FALSE(match({"name=^web"}));
  EXPECT_TRUE(match({"id=^0123"}));
  EXPECT_TRUE(match({"status=degraded"}));
  EXPECT_TRUE(match({"status=Degraded"}));
  EXPECT_FALSE(match({"status=running"}));
  EXPECT_TRUE(match({"status=running", "status=degraded"}));  // one key: any value
  EXPECT_FALSE(match({"status=degraded", "name=other"}));     // keys: all
  EXPECT_TRUE(match({"label=tier=front"}));
  EXPECT_TRUE(match({"label=solo"}));
  EXPECT_FALSE(match({"label=tier=back"}));
  EXPECT_TRUE(match({"label!=tier=back"}));
  EXPECT_FALSE(match({"label!=tier"}));
  EXPECT_TRUE(match({"ctr-names=nginx"}));
  EXPECT_TRUE(match({"ctr-ids=^fed"}));
  EXPECT_TRUE(match({"ctr-status=exited"}));
  EXPECT_TRUE(match({"ctr-status=stopped"}));
  EXPECT_FALSE(match({"ctr-status=paused"}));
  EXPECT_TRUE(match({"ctr-number=2"}));
  EXPECT_TRUE(match({"network=berth"}));
  EXPECT_FALSE(match({"network=other"}));
  for (const char* bad : {"colour=red", "status=asleep", "name=(", "ctr-number=two", "name"})
    EXPECT_FALSE(parse_pod_filter({bad})) << bad;
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

// `berth run --rm [--pod P] busybox sh -c SCRIPT`: its output, trimmed.
std::string in_pod(const std::string& pod, const std::string& script, const std::string& flags = "") {
  Cmd c = berth("run --rm " + (pod.empty() ? std::string() : "--pod " + pod + " ") + flags + " " + kImage +
                " sh -c '" + script + "'");
  EXPECT_EQ(c.status, 0) << script << ": " << c.out;
  return trim(c.out);
}

TEST(Pod, MembersShareDevShm) {
  ASSERT_FALSE(pod_create("--name berth-test-shm --shm-size 32m").empty());
  // One member writes, the next reads: the pod's /dev/shm, not each one's own tmpfs.
  in_pod("berth-test-shm", "echo shared-bytes > /dev/shm/berth-test-seg");
  EXPECT_EQ(in_pod("berth-test-shm", "cat /dev/shm/berth-test-seg"), "shared-bytes");
  // Sized as the pod says (32 MiB = 32768 1k-blocks).
  EXPECT_NE(in_pod("berth-test-shm", "df -k /dev/shm | tail -1").find(" 32768 "), std::string::npos);
  // A running member sees what a later one writes (one mount, live).
  Cmd reader = berth("run -d --pod berth-test-shm --name berth-test-shm-r " + std::string(kImage) +
                     " sh -c 'while [ ! -e /dev/shm/later ]; do sleep 0.05; done; cat /dev/shm/later; sleep 1000'");
  ASSERT_EQ(reader.status, 0) << reader.out;
  in_pod("berth-test-shm", "echo written-later > /dev/shm/later");
  Cmd logs;
  for (int i = 0; i < 50; ++i) {
    logs = berth("logs berth-test-shm-r");
    if (logs.out.find("written-later") != std::string::npos) break;
    ::usleep(100000);
  }
  EXPECT_NE(logs.out.find("written-later"), std::string::npos) << logs.out;
  // Outside the pod: a /dev/shm of its own.
  EXPECT_EQ(in_pod("", "ls /dev/shm").find("berth-test-seg"), std::string::npos);
  // A member cannot size the pod's /dev/shm.
  Cmd size = berth("run --rm --pod berth-test-shm --shm-size 1m " + std::string(kImage) + " true");
  EXPECT_NE(size.status, 0);
  EXPECT_NE(size.out.find("--shm-size"), std::string::npos) << size.out;
  EXPECT_EQ(berth("pod rm -f berth-test-shm").status, 0);
  // The pod's tmpfs went with its infra.
  EXPECT_EQ(sh("grep -c ' " + g_dir + "/run/pods/' /proc/self/mounts").out, "0\n");
}

// The pod's state once it is `want`, or after 5 s (polled: a member's exit
// command runs after the member's own command returned).
std::string wait_pod_state(const std::string& pod, const std::string& want) {
  std::string state;
  for (int i = 0; i < 100; ++i) {
    state = pod_inspect(pod).value("State", "");
    if (state == want) break;
    ::usleep(50000);
  }
  return state;
}

TEST(Pod, InfraNameAndExitPolicy) {
  std::string id = pod_create("--name berth-test-ep --infra-name berth-test-ep-infra --exit-policy stop");
  ASSERT_FALSE(id.empty());
  auto j = pod_inspect("berth-test-ep");
  EXPECT_EQ(j.value("ExitPolicy", ""), "stop");
  ASSERT_EQ(j["Containers"].size(), 1u) << j.dump();
  EXPECT_EQ(j["Containers"][0].value("Name", ""), "berth-test-ep-infra");
  EXPECT_EQ(j["Containers"][0].value("Id", ""), j.value("InfraContainerId", "x"));
  // The infra's name is the pod's alias in the shared /etc/hosts, as podman's.
  EXPECT_NE(in_pod("berth-test-ep", "cat /etc/hosts").find("berth-test-ep-infra"), std::string::npos);
  // That member was the last: the pod stopped with it, its infra included.
  EXPECT_EQ(wait_pod_state("berth-test-ep", "Exited"), "Exited");
  EXPECT_EQ(pod_inspect("berth-test-ep")["InfraConfig"].value("Pid", -1), 0);

  // Started again: a long member keeps the pod up while a short one exits;
  // the long one's exit stops the pod.
  Cmd long_one = berth("run -d --pod berth-test-ep --name berth-test-ep-long " + std::string(kImage) + " sleep 1000");
  ASSERT_EQ(long_one.status, 0) << long_one.out;
  in_pod("berth-test-ep", "true");
  ::usleep(300000);
  EXPECT_EQ(pod_inspect("berth-test-ep").value("State", ""), "Running");
  EXPECT_EQ(berth("stop -t 0 berth-test-ep-long").status, 0);
  EXPECT_EQ(wait_pod_state("berth-test-ep", "Exited"), "Exited");
  // The infra's netns and namespace binds went with it.
  EXPECT_EQ(sh("grep -c ' " + g_dir + "/run/pods/" + id + "' /proc/self/mounts").out, "0\n");
  EXPECT_EQ(berth("pod rm -f berth-test-ep").status, 0);

  // continue (the default): the pod outlives its last member.
  ASSERT_FALSE(pod_create("--name berth-test-ep2").empty());
  EXPECT_EQ(pod_inspect("berth-test-ep2").value("ExitPolicy", ""), "continue");
  in_pod("berth-test-ep2", "true");
  ::usleep(300000);
  EXPECT_EQ(pod_inspect("berth-test-ep2").value("State", ""), "Running");
  EXPECT_EQ(berth("pod rm -f berth-test-ep2").status, 0);

  Cmd bad = berth("pod create --name berth-test-ep3 --exit-policy sometimes");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("--exit-policy sometimes"), std::string::npos) << bad.out;
  Cmd no_infra = berth("pod create --name berth-test-ep4 --infra=false --infra-name berth-test-ep4-infra");
  EXPECT_NE(no_infra.status, 0);
  EXPECT_NE(no_infra.out.find("--infra-name"), std::string::npos) << no_infra.out;
  // The infra's name is a container name: taken names are refused.
  ASSERT_EQ(berth("create --name berth-test-ep-taken " + std::string(kImage) + " true").status, 0);
  Cmd taken = berth("pod create --name berth-test-ep5 --infra-name berth-test-ep-taken");
  EXPECT_NE(taken.status, 0) << taken.out;
  EXPECT_NE(berth("pod inspect berth-test-ep5").status, 0);
  EXPECT_EQ(berth("rm berth-test-ep-taken").status, 0);
}

TEST(Pod, RemovedMembersLineLeavesTheSharedEtcHosts) {
  ASSERT_FALSE(pod_create("--name berth-test-hosts --infra-name berth-test-hosts-infra").empty());
  for (const char* name : {"berth-test-hosts-a", "berth-test-hosts-b"}) {
    Cmd c = berth("run -d --pod berth-test-hosts --name " + std::string(name) + " " + kImage + " sleep 1000");
    ASSERT_EQ(c.status, 0) << c.out;
  }
  auto hosts_in_b = [] { return berth("exec berth-test-hosts-b cat /etc/hosts").out; };
  std::string before = hosts_in_b();
  EXPECT_NE(before.find("berth-test-hosts-a"), std::string::npos) << before;
  ASSERT_EQ(berth("rm -f berth-test-hosts-a").status, 0);
  // Seen from inside the member still running: the file it has bound changed in place.
  std::string after = hosts_in_b();
  EXPECT_EQ(after.find("berth-test-hosts-a"), std::string::npos) << after;
  EXPECT_NE(after.find("berth-test-hosts-b"), std::string::npos) << after;
  EXPECT_NE(after.find("berth-test-hosts-infra"), std::string::npos) << after;  // the pod's own line
  EXPECT_NE(after.find("localhost"), std::string::npos) << after;
  EXPECT_EQ(berth("pod rm -f berth-test-hosts").status, 0);
}

TEST(Pod, RestartAfterTheInfraDiedGivesMembersThePodsCurrentShm) {
  ASSERT_FALSE(pod_create("--name berth-test-shmre").empty());
  Cmd m = berth("run -d --pod berth-test-shmre --name berth-test-shmre-m " + std::string(kImage) + " sleep 1000");
  ASSERT_EQ(m.status, 0) << m.out;
  int infra_pid = pod_inspect("berth-test-shmre")["InfraConfig"].value("Pid", 0);
  ASSERT_GT(infra_pid, 0);
  ASSERT_EQ(::kill(infra_pid, SIGKILL), 0);
  EXPECT_EQ(wait_pod_state("berth-test-shmre", "Degraded"), "Degraded");  // its cleanup ran
  ASSERT_EQ(berth("pod restart berth-test-shmre").status, 0) << berth("pod inspect berth-test-shmre").out;
  EXPECT_EQ(pod_inspect("berth-test-shmre").value("State", ""), "Running");
  // The restarted member and a new one share one /dev/shm and one IPC namespace: the pod's current ones.
  ASSERT_EQ(berth("exec berth-test-shmre-m sh -c 'echo after-restart > /dev/shm/berth-test-re'").status, 0);
  EXPECT_EQ(in_pod("berth-test-shmre", "cat /dev/shm/berth-test-re"), "after-restart");
  std::string ipc_m = trim(berth("exec berth-test-shmre-m readlink /proc/self/ns/ipc").out);
  EXPECT_EQ(in_pod("berth-test-shmre", "readlink /proc/self/ns/ipc"), ipc_m);
  int new_infra = pod_inspect("berth-test-shmre")["InfraConfig"].value("Pid", 0);
  ASSERT_GT(new_infra, 0);
  EXPECT_EQ(trim(sh("readlink /proc/" + std::to_string(new_infra) + "/ns/ipc").out), ipc_m);
  EXPECT_EQ(berth("pod rm -f berth-test-shmre").status, 0);
}

TEST(Pod, TopListsEveryContainersProcesses) {
  ASSERT_FALSE(pod_create("--name berth-test-top").empty());
  Cmd stopped = berth("pod top berth-test-top");
  EXPECT_NE(stopped.status, 0);
  EXPECT_NE(stopped.out.find("not running"), std::string::npos) << stopped.out;
  for (const char* secs : {"1001", "1002"}) {
    Cmd c = berth("run -d --pod berth-test-top " + std::string(kImage) + " sleep " + secs);
    ASSERT_EQ(c.status, 0) << c.out;
  }
  Cmd top = berth("pod top berth-test-top");
  ASSERT_EQ(top.status, 0) << top.out;
  EXPECT_NE(top.out.find("PID"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("sleep 1001"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("sleep 1002"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("catatonit -P"), std::string::npos) << top.out;  // the infra's
  EXPECT_EQ(top.out.find("pod top"), std::string::npos) << top.out;       // no host process
  // ps options as `berth top` takes them: one header, a row per process.
  Cmd custom = berth("pod top berth-test-top -o pid,args");
  ASSERT_EQ(custom.status, 0) << custom.out;
  EXPECT_EQ(std::count(custom.out.begin(), custom.out.end(), '\n'), 4) << custom.out;
  EXPECT_NE(custom.out.substr(0, custom.out.find('\n')).find("PID"), std::string::npos) << custom.out;
  EXPECT_EQ(berth("pod rm -f berth-test-top").status, 0);
}

TEST(Pod, LogsOfEveryMemberPrefixedWhenSeveral) {
  std::string pod = pod_create("--name berth-test-logs");
  ASSERT_FALSE(pod.empty());
  Cmd a = berth("run --pod berth-test-logs --name berth-test-logs-a " + std::string(kImage) +
                " sh -c 'echo a1; echo a2'");
  ASSERT_EQ(a.status, 0) << a.out;
  // b1 then, later, b2 on stderr: the log's order.
  Cmd b = berth("run --pod berth-test-logs --name berth-test-logs-b " + std::string(kImage) +
                " sh -c 'echo b1; sleep 0.2; echo b2 >&2'");
  ASSERT_EQ(b.status, 0) << b.out;
  std::string id_a = trim(berth("ps -a --no-trunc -q --filter name=berth-test-logs-a").out).substr(0, 12);
  std::string id_b = trim(berth("ps -a --no-trunc -q --filter name=berth-test-logs-b").out).substr(0, 12);
  ASSERT_EQ(id_a.size(), 12u);
  // sh() adds 2>&1 to the whole line: the braces keep each stream apart.
  auto out_of = [](const std::string& args) { return sh("{ " + berth_prefix() + args + " 2>/dev/null; }").out; };
  auto err_of = [](const std::string& args) { return sh("{ " + berth_prefix() + args + " 2>&1 >/dev/null; }").out; };

  // Several containers: each line after its container's short id; one after the other.
  EXPECT_EQ(out_of("pod logs berth-test-logs"), id_a + " a1\n" + id_a + " a2\n" + id_b + " b1\n");
  EXPECT_EQ(err_of("pod logs berth-test-logs"), id_b + " b2\n");
  // --tail counts each container's lines: b's last is b2, on stderr.
  EXPECT_EQ(out_of("pod logs --names --tail 1 berth-test-logs"), "berth-test-logs-a a2\n");
  EXPECT_EQ(err_of("pod logs --names --tail 1 berth-test-logs"), "berth-test-logs-b b2\n");
  // One container (-c): its lines as `berth logs` prints them.
  EXPECT_EQ(out_of("pod logs -c berth-test-logs-a berth-test-logs"), "a1\na2\n");
  Cmd ts = berth("pod logs -t -c berth-test-logs-a --tail 1 berth-test-logs");
  EXPECT_TRUE(ts.out.ends_with(" a2\n") && ts.out.size() > 25) << ts.out;
  Cmd since = berth("pod logs --since 2099-01-01T00:00:00Z berth-test-logs");
  EXPECT_EQ(since.status, 0) << since.out;
  EXPECT_EQ(since.out, "");

  // -f: follows a running member until it exits, the exited ones read once.
  Cmd c = berth("run -d --pod berth-test-logs --name berth-test-logs-c " + std::string(kImage) +
                " sh -c 'sleep 0.5; echo c-late'");
  ASSERT_EQ(c.status, 0) << c.out;
  Cmd follow = berth("pod logs -f --names berth-test-logs");
  EXPECT_EQ(follow.status, 0) << follow.out;
  EXPECT_NE(follow.out.find("berth-test-logs-c c-late\n"), std::string::npos) << follow.out;
  EXPECT_NE(follow.out.find("berth-test-logs-a a1\n"), std::string::npos) << follow.out;

  Cmd outside = berth("run --name berth-test-logs-out " + std::string(kImage) + " true");
  ASSERT_EQ(outside.status, 0) << outside.out;
  Cmd wrong = berth("pod logs -c berth-test-logs-out berth-test-logs");
  EXPECT_NE(wrong.status, 0);
  EXPECT_NE(wrong.out.find("not a container of pod"), std::string::npos) << wrong.out;
  EXPECT_EQ(berth("rm berth-test-logs-out").status, 0);
  EXPECT_NE(berth("pod logs berth-test-nopod").status, 0);
  EXPECT_EQ(berth("pod rm -f berth-test-logs").status, 0);
}

TEST(Pod, StatsOfEveryRunningContainerWithItsPod) {
  std::string pod = pod_create("--name berth-test-stats");
  ASSERT_FALSE(pod.empty());
  Cmd none = berth("pod stats --no-stream --format json berth-test-stats");
  ASSERT_EQ(none.status, 0) << none.out;
  EXPECT_EQ(nlohmann::json::parse(none.out, nullptr, false), nlohmann::json::array()) << none.out;
  Cmd m = berth("run -d --pod berth-test-stats --name berth-test-stats-m " + std::string(kImage) + " sleep 1000");
  ASSERT_EQ(m.status, 0) << m.out;
  Cmd json = berth("pod stats --no-stream --format json berth-test-stats");
  ASSERT_EQ(json.status, 0) << json.out;
  auto rows = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(rows.is_array()) << json.out;
  ASSERT_EQ(rows.size(), 2u) << json.out;  // the infra and the member
  std::string infra_id = pod_inspect("berth-test-stats").value("InfraContainerId", "");
  EXPECT_EQ(rows[0].value("CID", ""), infra_id.substr(0, 12)) << json.out;
  EXPECT_EQ(rows[1].value("Name", ""), "berth-test-stats-m") << json.out;
  for (const auto& r : rows) {
    EXPECT_EQ(r.value("Pod", ""), pod.substr(0, 12)) << json.out;
    EXPECT_EQ(r.value("PIDS", ""), "1") << json.out;  // catatonit; sleep
    for (const char* key : {"CPU", "MemUsage", "MemUsageBytes", "Mem", "NetIO", "BlockIO"})
      EXPECT_TRUE(r.contains(key)) << key << ": " << json.out;
  }
  EXPECT_NE(rows[1].value("MemUsage", "").find(" / "), std::string::npos) << json.out;
  Cmd table = berth("pod stats --no-stream");
  ASSERT_EQ(table.status, 0) << table.out;
  EXPECT_TRUE(table.out.starts_with("POD")) << table.out;
  EXPECT_NE(table.out.find("CID"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(pod.substr(0, 12) + "  "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("berth-test-stats-m"), std::string::npos) << table.out;
  EXPECT_NE(berth("pod stats --no-stream berth-test-nopod").status, 0);
  EXPECT_EQ(berth("pod rm -f berth-test-stats").status, 0);
}

TEST(Pod, ShareOnlyIpcGivesMembersTheirOwnNetworkAndHostname) {
  ASSERT_FALSE(pod_create("--name berth-test-ipconly --share ipc").empty());
  auto j = pod_inspect("berth-test-ipconly");
  EXPECT_EQ(j["SharedNamespaces"], nlohmann::json::array({"ipc"})) << j.dump();
  // Two members at once (a namespace's inode number is reused once it is freed).
  Cmd held = berth("run -d --pod berth-test-ipconly --name berth-test-ipconly-a " + std::string(kImage) + " sleep 1000");
  ASSERT_EQ(held.status, 0) << held.out;
  std::string ns = "for n in net ipc uts; do readlink /proc/self/ns/$n; done";
  std::string a = trim(berth("exec berth-test-ipconly-a sh -c '" + ns + "'").out), b = in_pod("berth-test-ipconly", ns);
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    for (size_t at = 0; at < text.size();) {
      size_t nl = text.find('\n', at);
      out.push_back(text.substr(at, nl - at));
      at = nl == std::string::npos ? text.size() : nl + 1;
    }
    return out;
  };
  auto la = lines(a), lb = lines(b);
  ASSERT_EQ(la.size(), 3u) << a;
  ASSERT_EQ(lb.size(), 3u) << b;
  EXPECT_NE(la[0], lb[0]) << "net";
  EXPECT_EQ(la[1], lb[1]) << "ipc";
  EXPECT_NE(la[2], lb[2]) << "uts";
  // Its own network: an address on eth0, a port published by the member itself, its own hostname.
  EXPECT_NE(in_pod("berth-test-ipconly", "ip -4 -o addr show eth0").find("inet "), std::string::npos);
  EXPECT_EQ(in_pod("berth-test-ipconly", "hostname", "--hostname berth-test-own"), "berth-test-own");
  Cmd server = berth("run -d --pod berth-test-ipconly -p 18081:80 " + std::string(kImage) +
                     " sh -c 'echo own-port | nc -l -p 80'");
  ASSERT_EQ(server.status, 0) << server.out;
  std::string nc = std::string(kFixtures) + "/busybox-rootfs/bin/busybox nc";
  Cmd got = sh("gw=$(ip -4 -o addr show berth0 | awk '{print $4}' | cut -d/ -f1); for i in $(seq 50); do " + nc +
               " $gw 18081 && exit 0; sleep 0.1; done; exit 1");
  EXPECT_NE(got.out.find("own-port"), std::string::npos) << got.out;
  // Still one /dev/shm.
  in_pod("berth-test-ipconly", "echo x > /dev/shm/berth-test-ipc");
  EXPECT_EQ(in_pod("berth-test-ipconly", "ls /dev/shm"), "berth-test-ipc");
  // Ports on such a pod are refused (no shared network to publish them on).
  Cmd ports = berth("pod create --share ipc -p 18082:80");
  EXPECT_NE(ports.status, 0);
  EXPECT_NE(ports.out.find("--share net"), std::string::npos) << ports.out;
  EXPECT_EQ(berth("pod rm -f berth-test-ipconly").status, 0);
  // Its members' networks went with them: no veth left on the bridge but none at all.
  EXPECT_EQ(sh("ip -o link show master berth0 2>/dev/null | wc -l").out, "0\n");
}

TEST(Pod, ShareNoneAndCgroup) {
  ASSERT_FALSE(pod_create("--name berth-test-none --share none").empty());
  std::string ns = "readlink /proc/self/ns/ipc";
  ASSERT_EQ(berth("run -d --pod berth-test-none --name berth-test-none-a " + std::string(kImage) + " sleep 1000").status, 0);
  EXPECT_NE(trim(berth("exec berth-test-none-a " + ns).out), in_pod("berth-test-none", ns));
  auto none = pod_inspect("berth-test-none");
  EXPECT_EQ(none["SharedNamespaces"], nlohmann::json::array());
  // As podman 4.3: sharing nothing, the pod has no infra (unless --infra=true asks for one).
  EXPECT_EQ(none["CreateInfra"], false);
  EXPECT_EQ(none["InfraContainerId"], "");
  EXPECT_EQ(none["NumContainers"], 1);  // the member only
  EXPECT_EQ(berth("pod rm -f berth-test-none").status, 0);
  ASSERT_FALSE(pod_create("--name berth-test-none-infra --share none --infra=true").empty());
  auto kept = pod_inspect("berth-test-none-infra");
  EXPECT_EQ(kept["CreateInfra"], true);
  EXPECT_EQ(kept["SharedNamespaces"], nlohmann::json::array());
  EXPECT_EQ(kept["NumContainers"], 1);  // the infra
  EXPECT_EQ(berth("pod rm -f berth-test-none-infra").status, 0);

  ASSERT_FALSE(pod_create("--name berth-test-cg --share +cgroup").empty());
  std::string cg = "readlink /proc/self/ns/cgroup";
  ASSERT_EQ(berth("run -d --pod berth-test-cg --name berth-test-cg-a " + std::string(kImage) + " sleep 1000").status, 0);
  std::string first = trim(berth("exec berth-test-cg-a " + cg).out);
  EXPECT_EQ(first, in_pod("berth-test-cg", cg));
  EXPECT_NE(first, in_pod("", cg));
  EXPECT_EQ(berth("pod rm -f berth-test-cg").status, 0);
}

TEST(Pod, WithoutAnInfraMembersHaveTheirOwnNamespaces) {
  std::string pod = pod_create("--name berth-test-noinfra --infra=false");
  ASSERT_FALSE(pod.empty());
  auto j = pod_inspect(pod);
  EXPECT_EQ(j["CreateInfra"], false);
  EXPECT_EQ(j["InfraContainerId"], "");
  EXPECT_EQ(j["SharedNamespaces"], nlohmann::json::array());
  EXPECT_EQ(j["NumContainers"], 0);
  EXPECT_EQ(j["State"], "Created");
  EXPECT_EQ(trim(berth("ps -a -q").out), "");  // no infra container made
  Cmd empty = berth("pod start berth-test-noinfra");  // nothing to start, as podman says
  EXPECT_NE(empty.status, 0);
  EXPECT_NE(empty.out.find("has no containers"), std::string::npos) << empty.out;

  for (const char* m : {"berth-test-noinfra-a", "berth-test-noinfra-b"})
    ASSERT_EQ(berth("run -d --pod berth-test-noinfra --name " + std::string(m) + " " + kImage + " sleep 1000").status, 0);
  EXPECT_EQ(pod_inspect(pod)["State"], "Running");
  // Each its own network, UTS and IPC namespaces: different addresses, hostnames, namespaces.
  for (const char* what : {"ip -o -4 addr show eth0", "hostname", "readlink /proc/self/ns/ipc"}) {
    Cmd a = berth("exec berth-test-noinfra-a " + std::string(what));
    Cmd b = berth("exec berth-test-noinfra-b " + std::string(what));
    EXPECT_EQ(a.status, 0) << what << ": " << a.out;
    EXPECT_NE(trim(a.out), trim(b.out)) << what;
  }
  ASSERT_EQ(berth("pod stop -t 0 berth-test-noinfra").status, 0);
  EXPECT_EQ(pod_inspect(pod)["State"], "Exited");
  ASSERT_EQ(berth("pod start berth-test-noinfra").status, 0);
  EXPECT_EQ(pod_inspect(pod)["State"], "Running");
  ASSERT_EQ(berth("pod rm -f berth-test-noinfra").status, 0);
  EXPECT_EQ(trim(berth("ps -a -q").out), "");

  // What lives in an infra is refused without one (podman's errors).
  for (const char* flags : {"--share net", "--share ipc,uts", "-p 18090:80", "--network none", "--dns 192.0.2.1",
                            "--add-host a:10.0.0.1", "--shm-size 8m"}) {
    Cmd c = berth("pod create --infra=false " + std::string(flags));
    EXPECT_NE(c.status, 0) << flags;
    EXPECT_NE(c.out.find("needs an infra container"), std::string::npos) << flags << ": " << c.out;
  }
  EXPECT_EQ(trim(berth("pod ls -q").out), "");
}

TEST(Pod, InfraContainerIsRefusedToContainerVerbs) {
  std::string pod = pod_create("--name berth-test-infra");
  ASSERT_EQ(berth("pod start berth-test-infra").status, 0);
  std::string infra = pod_inspect(pod)["InfraContainerId"];
  ASSERT_FALSE(infra.empty());
  for (const char* verb : {"rm -f", "rm", "stop", "kill", "start"}) {
    Cmd c = berth(std::string(verb) + " " + infra);
    EXPECT_NE(c.status, 0) << verb;
    EXPECT_NE(c.out.find("is the infra container of pod \"berth-test-infra\""), std::string::npos) << verb << ": " << c.out;
  }
  Cmd rm = berth("rm " + infra.substr(0, 12));
  EXPECT_NE(rm.out.find("cannot be removed without removing the pod"), std::string::npos) << rm.out;
  EXPECT_EQ(pod_inspect(pod)["State"], "Running");  // untouched
  EXPECT_EQ(berth("pod rm -f berth-test-infra").status, 0);
  EXPECT_NE(berth("inspect " + infra).status, 0);  // gone with its pod
}

TEST(Pod, MembersShareThePodsEtcHostsAndResolvConf) {
  std::string pod = pod_create("--name berth-test-etc --hostname berth-test-podhost --add-host berth-test-db:10.1.2.3 "
                               "--dns 10.9.9.9 --dns-search berth.test");
  Cmd first = berth("run -d --pod berth-test-etc --name berth-test-etc-a " + std::string(kImage) + " sleep 1000");
  ASSERT_EQ(first.status, 0) << first.out;
  auto j = pod_inspect(pod);
  std::string infra_name;
  for (const auto& c : j["Containers"])
    if (c["Id"] == j["InfraContainerId"]) infra_name = c["Name"];
  ASSERT_FALSE(infra_name.empty()) << j.dump();
  Cmd second = berth("run -d --pod berth-test-etc --name berth-test-etc-b " + std::string(kImage) + " sleep 1000");
  ASSERT_EQ(second.status, 0) << second.out;
  std::string hosts = berth("exec berth-test-etc-b cat /etc/hosts").out;
  // The pod's address under its hostname and the infra's name (podman's entry).
  Cmd ip = sh("nsenter --net=" + g_dir + "/run/netns/" + pod +
              " ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1");
  ASSERT_FALSE(trim(ip.out).empty()) << ip.out;
  EXPECT_NE(hosts.find(trim(ip.out) + "\tberth-test-podhost " + infra_name), std::string::npos) << hosts;
  EXPECT_NE(hosts.find("10.1.2.3\tberth-test-db"), std::string::npos) << hosts;
  EXPECT_NE(hosts.find("127.0.0.1\tberth-test-etc-a"), std::string::npos) << hosts;
  EXPECT_NE(hosts.find("127.0.0.1\tberth-test-etc-b"), std::string::npos) << hosts;
  // One file: the member that ran first sees the later member's line too.
  Cmd seen = berth("exec berth-test-etc-a cat /etc/hosts");
  EXPECT_NE(seen.out.find("berth-test-etc-b"), std::string::npos) << seen.out;
  EXPECT_EQ(in_pod("berth-test-etc", "cat /etc/hostname"), "berth-test-podhost");
  std::string resolv = in_pod("berth-test-etc", "cat /etc/resolv.conf");
  EXPECT_NE(resolv.find("nameserver 10.9.9.9"), std::string::npos) << resolv;
  EXPECT_NE(resolv.find("search berth.test"), std::string::npos) << resolv;
  for (const char* flag : {"--add-host x:10.0.0.1", "--dns 1.1.1.1", "--hostname h"}) {
    Cmd c = berth("run --rm --pod berth-test-etc " + std::string(flag) + " " + kImage + " true");
    EXPECT_NE(c.status, 0) << flag;
    EXPECT_NE(c.out.find("berth-test-etc"), std::string::npos) << flag << ": " << c.out;
  }
  // After a restart of the pod (its address may change) the file is rewritten in place.
  ASSERT_EQ(berth("pod stop -t 0 berth-test-etc").status, 0);
  ASSERT_EQ(berth("pod start berth-test-etc").status, 0);
  Cmd again = berth("exec berth-test-etc-a cat /etc/hosts");
  EXPECT_NE(again.out.find("\tberth-test-podhost " + infra_name), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("127.0.0.1\tberth-test-etc-a"), std::string::npos) << again.out;
  EXPECT_EQ(berth("pod rm -f berth-test-etc").status, 0);
}

TEST(Pod, LsFiltersAndFormats) {
  std::string web = pod_create("--name berth-test-ls-web --label tier=front");
  std::string db = pod_create("--name berth-test-ls-db --label tier=back");
  ASSERT_EQ(berth("run -d --pod berth-test-ls-web --name berth-test-ls-nginx " + std::string(kImage) + " sleep 1000").status,
            0);
  auto names = [](const std::string& args) {
    Cmd c = berth("pod ls --format '{{.Name}}' " + args);
    EXPECT_EQ(c.status, 0) << args << ": " << c.out;
    return trim(c.out);
  };
  EXPECT_EQ(names("--filter name=ls-web"), "berth-test-ls-web");
  EXPECT_EQ(names("--filter label=tier=back"), "berth-test-ls-db");
  EXPECT_EQ(names("--filter label!=tier=back --filter name=berth-test-ls"), "berth-test-ls-web");
  EXPECT_EQ(names("--filter status=running"), "berth-test-ls-web");
  EXPECT_EQ(names("--filter status=created --filter name=berth-test-ls"), "berth-test-ls-db");
  EXPECT_EQ(names("--filter ctr-names=nginx"), "berth-test-ls-web");
  EXPECT_EQ(names("--filter id=" + db.substr(0, 10)), "berth-test-ls-db");
  EXPECT_EQ(names("--filter ctr-number=2 --filter name=berth-test-ls"), "berth-test-ls-web");
  Cmd bad = berth("pod ls --filter colour=red");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("colour"), std::string::npos) << bad.out;
  // podman's alias and placeholders, -q with a filter, json.
  Cmd ps = berth("pod ps --format '{{.Name}} {{.Status}} {{.NumberOfContainers}}' --filter name=ls-web");
  EXPECT_EQ(trim(ps.out), "berth-test-ls-web Running 2") << ps.out;
  Cmd q = berth("pod ls -q --no-trunc --filter label=tier=front");
  EXPECT_EQ(trim(q.out), web);
  Cmd json = berth("pod ls --format json --filter name=berth-test-ls");
  auto list = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << json.out;
  EXPECT_EQ(list.size(), 2u);
  Cmd table = berth("pod ls --ctr-names --filter name=ls-web");
  EXPECT_NE(table.out.find("berth-test-ls-nginx"), std::string::npos) << table.out;
  EXPECT_EQ(berth("pod rm -f berth-test-ls-web berth-test-ls-db").status, 0);
}

TEST(Pod, StatesKillRestartPauseAndPrune) {
  std::string pod = pod_create("--name berth-test-st");
  EXPECT_EQ(pod_inspect(pod)["State"], "Created");
  // --init: catatonit passes the stop signal on to sleep, so stops are quick.
  for (const char* name : {"berth-test-st-a", "berth-test-st-b"})
    ASSERT_EQ(berth("run -d --init --pod berth-test-st --name " + std::string(name) + " " + kImage + " sleep 1000").status,
              0);
  EXPECT_EQ(pod_inspect(pod)["State"], "Running");
  ASSERT_EQ(berth("stop -t 0 berth-test-st-b").status, 0);
  auto degraded = pod_inspect(pod);
  EXPECT_EQ(degraded["State"], "Degraded") << degraded.dump();
  EXPECT_EQ(degraded["Containers"].size(), 3u) << degraded.dump();

  // restart: running members stopped, then everything started.
  Cmd restarted = berth("pod restart berth-test-st");
  ASSERT_EQ(restarted.status, 0) << restarted.out;
  EXPECT_EQ(pod_inspect(pod)["State"], "Running");

  ASSERT_EQ(berth("pod pause berth-test-st").status, 0);
  auto paused = pod_inspect(pod);
  EXPECT_EQ(paused["State"], "Paused") << paused.dump();
  ASSERT_EQ(berth("pod unpause berth-test-st").status, 0);
  EXPECT_EQ(pod_inspect(pod)["State"], "Running");
  EXPECT_EQ(in_pod("berth-test-st", "echo alive"), "alive");  // the pod works after the thaw

  // kill: every container (the infra last), the pod exits and its network goes.
  Cmd killed = berth("pod kill berth-test-st");
  ASSERT_EQ(killed.status, 0) << killed.out;
  nlohmann::json exited;
  for (int i = 0; i < 50; ++i) {
    exited = pod_inspect(pod);
    if (exited["State"] == "Exited" && !std::filesystem::exists(g_dir + "/run/netns/" + pod)) break;
    ::usleep(100000);
  }
  EXPECT_EQ(exited["State"], "Exited") << exited.dump();
  EXPECT_FALSE(std::filesystem::exists(g_dir + "/run/netns/" + pod));
  Cmd again = berth("pod kill berth-test-st");
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.out.find("no running containers"), std::string::npos) << again.out;

  // prune: removes the exited pod with its members, keeps a running one.
  std::string live = pod_create("--name berth-test-live");
  ASSERT_EQ(berth("pod start berth-test-live").status, 0);
  Cmd pruned = berth("pod prune -f");
  ASSERT_EQ(pruned.status, 0) << pruned.out;
  EXPECT_NE(pruned.out.find(pod), std::string::npos) << pruned.out;
  EXPECT_EQ(pruned.out.find(live), std::string::npos) << pruned.out;
  EXPECT_NE(berth("pod inspect berth-test-st").status, 0);
  EXPECT_NE(berth("inspect berth-test-st-a").status, 0);
  EXPECT_EQ(berth("pod inspect berth-test-live").status, 0);

  // rm -f stops and removes the members of a running pod; -a takes them all.
  ASSERT_EQ(berth("run -d --pod berth-test-live --name berth-test-live-a " + std::string(kImage) + " sleep 1000").status, 0);
  Cmd rm = berth("pod rm -f -a");
  EXPECT_EQ(rm.status, 0) << rm.out;
  EXPECT_NE(berth("inspect berth-test-live-a").status, 0);
  EXPECT_EQ(trim(berth("pod ls -q").out), "");
  EXPECT_EQ(berth("pod rm -i berth-test-nonesuch").status, 0);
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
  Cmd share = berth("pod create --share net,time");
  EXPECT_NE(share.status, 0);
  EXPECT_NE(share.out.find("\"time\""), std::string::npos) << share.out;
  EXPECT_EQ(berth("pod rm berth-test-err").status, 0);
}

}  // namespace
}  // namespace berth::engine
