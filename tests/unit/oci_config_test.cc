// config.json parsing of valid documents: runc's templates, a document using
// every field of the spec (each value checked, then a serialization round
// trip), and the reading rules (unknown keys, null, integer types).
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oci/config.h"
#include "oci/names.h"

namespace berth::oci {
namespace {

using json = nlohmann::json;

// The seed corpus of the fuzzer doubles as the test data.
std::string corpus_file(const std::string& name) {
  auto dir = std::filesystem::path(BERTH_TESTS_DIR) / "fuzz/corpus/config";
  std::ifstream in(dir / name);
  if (!in) ADD_FAILURE() << "cannot read " << (dir / name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Spec parse_ok(const std::string& doc) {
  auto r = parse_config(doc);
  if (!r) ADD_FAILURE() << r.error().what();
  return r ? *r : Spec{};
}

TEST(OciConfig, RuncDefaultSpecParses) {
  std::string doc = corpus_file("runc-default.json");
  ASSERT_FALSE(doc.empty());
  Spec s = parse_ok(doc);
  EXPECT_EQ(s.oci_version, "1.0.2-dev");
  ASSERT_TRUE(s.process);
  EXPECT_TRUE(s.process->terminal);
  EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(s.process->cwd, "/");
  ASSERT_TRUE(s.process->capabilities);
  EXPECT_EQ(s.process->capabilities->ambient.size(), 3u);
  EXPECT_TRUE(s.process->capabilities->inheritable.empty());
  ASSERT_EQ(s.process->rlimits.size(), 1u);
  EXPECT_EQ(s.process->rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_TRUE(s.process->no_new_privileges);
  ASSERT_TRUE(s.root);
  EXPECT_EQ(s.root->path, "rootfs");
  EXPECT_TRUE(s.root->readonly);
  EXPECT_EQ(s.hostname, "runc");
  ASSERT_EQ(s.mounts.size(), 7u);
  EXPECT_EQ(s.mounts[2].destination, "/dev/pts");
  EXPECT_EQ(s.mounts[2].options.back(), "gid=5");
  ASSERT_TRUE(s.linux);
  EXPECT_EQ(s.linux->namespaces.size(), 5u);
  ASSERT_TRUE(s.linux->resources);
  ASSERT_EQ(s.linux->resources->devices.size(), 1u);
  EXPECT_FALSE(s.linux->resources->devices[0].allow);
  EXPECT_EQ(s.linux->resources->devices[0].access, "rwm");
  EXPECT_EQ(s.linux->masked_paths.size(), 10u);
  EXPECT_EQ(s.linux->readonly_paths.size(), 5u);
  EXPECT_TRUE(config_warnings(s).empty());
}

TEST(OciConfig, RuncRootlessSpecParses) {
  Spec s = parse_ok(corpus_file("runc-rootless.json"));
  ASSERT_TRUE(s.linux);
  ASSERT_EQ(s.linux->uid_mappings.size(), 1u);
  EXPECT_EQ(s.linux->uid_mappings[0].size, 1u);
  EXPECT_TRUE(find_namespace(s, "user"));
  EXPECT_FALSE(find_namespace(s, "network"));
}

// Documents other tools write: umoci's bundle of an OCI image, containerd's
// template (which leaves process.args to the image).
TEST(OciConfig, OtherToolsDocumentsParse) {
  Spec u = parse_ok(corpus_file("umoci-rootless.json"));
  EXPECT_TRUE(find_namespace(u, "user"));
  EXPECT_FALSE(u.annotations.empty());

  auto ctr = json::parse(corpus_file("containerd-default.json"));
  auto r = parse_config(ctr.dump());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "process.args: must be a non-empty array");
  ctr["process"]["args"] = {"/bin/sh"};
  Spec c = parse_ok(ctr.dump());
  EXPECT_EQ(c.linux->cgroups_path, ctr["linux"]["cgroupsPath"]);
  EXPECT_EQ(c.linux->resources->devices.size(), ctr["linux"]["resources"]["devices"].size());
}

TEST(OciConfig, MaximalDocumentEveryField) {
  Spec s = parse_ok(corpus_file("maximal.json"));
  ASSERT_TRUE(s.process);
  const Process& p = *s.process;
  EXPECT_TRUE(p.terminal);
  ASSERT_TRUE(p.console_size);
  EXPECT_EQ(p.console_size->height, 25u);
  EXPECT_EQ(p.console_size->width, 80u);
  EXPECT_EQ(p.user.uid, 1u);
  EXPECT_EQ(p.user.gid, 2u);
  EXPECT_EQ(p.user.umask, 18u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(p.user.username, "u");
  EXPECT_EQ(p.args, (std::vector<std::string>{"sh", "-c", "true"}));
  EXPECT_EQ(p.command_line, "sh -c true");
  EXPECT_EQ(p.env.back(), "EMPTY=");
  EXPECT_EQ(p.cwd, "/root");
  ASSERT_TRUE(p.capabilities);
  EXPECT_EQ(p.capabilities->bounding.size(), 3u);
  EXPECT_EQ(p.capabilities->effective.size(), 2u);
  EXPECT_EQ(p.capabilities->inheritable, std::vector<std::string>{"CAP_KILL"});
  EXPECT_EQ(p.capabilities->permitted.size(), 3u);
  EXPECT_EQ(p.capabilities->ambient, std::vector<std::string>{"CAP_NET_BIND_SERVICE"});
  ASSERT_EQ(p.rlimits.size(), 2u);
  EXPECT_EQ(p.rlimits[0].hard, 1024u);
  EXPECT_EQ(p.rlimits[0].soft, 512u);
  EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);  // RLIM_INFINITY
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(p.apparmor_profile, "acme_secure_profile");
  EXPECT_EQ(p.oom_score_adj, -17);
  ASSERT_TRUE(p.scheduler);
  EXPECT_EQ(p.scheduler->policy, "SCHED_DEADLINE");
  EXPECT_EQ(p.scheduler->nice, -5);
  EXPECT_FALSE(p.scheduler->priority);
  EXPECT_EQ(p.scheduler->flags, std::vector<std::string>{"SCHED_FLAG_RESET_ON_FORK"});
  EXPECT_EQ(p.scheduler->runtime, 10000000u);
  EXPECT_EQ(p.scheduler->deadline, 20000000u);
  EXPECT_EQ(p.scheduler->period, 30000000u);
  EXPECT_EQ(p.selinux_label, "system_u:system_r:svirt_lxc_net_t:s0:c124,c675");
  ASSERT_TRUE(p.io_priority);
  EXPECT_EQ(p.io_priority->io_class, "IOPRIO_CLASS_IDLE");
  EXPECT_EQ(p.io_priority->priority, 4);
  ASSERT_TRUE(p.exec_cpu_affinity);
  EXPECT_EQ(p.exec_cpu_affinity->initial, "7");
  EXPECT_EQ(p.exec_cpu_affinity->final_, "0-3,7");

  EXPECT_EQ(s.hostname, "berth");
  EXPECT_EQ(s.domainname, "berth.test");
  ASSERT_EQ(s.mounts.size(), 4u);
  EXPECT_EQ(s.mounts[1].options.size(), 4u);
  ASSERT_EQ(s.mounts[2].uid_mappings.size(), 1u);
  EXPECT_EQ(s.mounts[2].uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(s.mounts[2].gid_mappings[0].size, 65536u);
  EXPECT_EQ(s.mounts[3].type, "");
  EXPECT_EQ(s.mounts[3].source, "");

  ASSERT_TRUE(s.hooks);
  EXPECT_EQ(s.hooks->prestart[0].args, (std::vector<std::string>{"fix-mounts", "arg1"}));
  EXPECT_EQ(s.hooks->create_runtime[0].timeout, 5);
  EXPECT_EQ(s.hooks->create_container[0].env, std::vector<std::string>{"key1=value1"});
  EXPECT_EQ(s.hooks->start_container[0].path, "/usr/bin/refresh-ldcache");
  EXPECT_FALSE(s.hooks->start_container[0].timeout);
  EXPECT_EQ(s.hooks->poststart[0].timeout, 1);
  EXPECT_EQ(s.hooks->poststop[0].path, "/usr/sbin/cleanup.sh");
  EXPECT_EQ(s.annotations.at("com.example.key2"), "value2");

  ASSERT_TRUE(s.linux);
  const Linux& l = *s.linux;
  EXPECT_EQ(l.uid_mappings[0].container_id, 0u);
  EXPECT_EQ(l.gid_mappings[0].host_id, 100000u);
  EXPECT_EQ(l.sysctl.at("net/core/somaxconn"), "256");
  ASSERT_TRUE(l.resources);
  const Resources& r = *l.resources;
  ASSERT_EQ(r.devices.size(), 3u);
  EXPECT_FALSE(r.devices[0].major);
  EXPECT_EQ(r.devices[1].major, 10);
  EXPECT_EQ(r.devices[1].minor, 229);
  EXPECT_FALSE(r.devices[2].minor);
  ASSERT_TRUE(r.memory);
  EXPECT_EQ(r.memory->limit, 536870912);
  EXPECT_EQ(r.memory->swap, -1);
  EXPECT_EQ(r.memory->kernel_tcp, -1);
  EXPECT_EQ(r.memory->swappiness, 0u);
  EXPECT_EQ(r.memory->disable_oom_killer, false);
  EXPECT_EQ(r.memory->use_hierarchy, true);
  EXPECT_EQ(r.memory->check_before_update, true);
  ASSERT_TRUE(r.cpu);
  EXPECT_EQ(r.cpu->shares, 1024u);
  EXPECT_EQ(r.cpu->quota, 1000000);
  EXPECT_EQ(r.cpu->burst, 1000000);
  EXPECT_EQ(r.cpu->period, 500000u);
  EXPECT_EQ(r.cpu->realtime_runtime, 950000);
  EXPECT_EQ(r.cpu->realtime_period, 1000000u);
  EXPECT_EQ(r.cpu->cpus, "2-3");
  EXPECT_EQ(r.cpu->mems, "0-7");
  EXPECT_EQ(r.cpu->idle, 0);
  ASSERT_TRUE(r.pids);
  EXPECT_EQ(r.pids->limit, 32771);
  ASSERT_TRUE(r.block_io);
  EXPECT_EQ(r.block_io->weight, 10);
  EXPECT_EQ(r.block_io->leaf_weight, 10);
  EXPECT_EQ(r.block_io->weight_device[0].leaf_weight, 300);
  EXPECT_FALSE(r.block_io->weight_device[1].leaf_weight);
  EXPECT_EQ(r.block_io->throttle_read_bps_device[0].rate, 600u);
  EXPECT_EQ(r.block_io->throttle_write_bps_device[0].rate, 700u);
  EXPECT_EQ(r.block_io->throttle_read_iops_device[0].minor, 32);
  EXPECT_EQ(r.block_io->throttle_write_iops_device[0].rate, 300u);
  EXPECT_EQ(r.hugepage_limits[1].page_size, "64KB");
  EXPECT_EQ(r.hugepage_limits[0].limit, 209715200u);
  ASSERT_TRUE(r.network);
  EXPECT_EQ(r.network->class_id, 1048577u);
  EXPECT_EQ(r.network->priorities[1].name, "eth1");
  EXPECT_EQ(r.network->priorities[1].priority, 1000u);
  EXPECT_EQ(r.rdma.at("mlx5_1").hca_handles, 3u);
  EXPECT_FALSE(r.rdma.at("mlx4_0").hca_handles);
  EXPECT_EQ(r.unified.at("hugetlb.1GB.max"), "1073741824");
  EXPECT_EQ(l.cgroups_path, "/berth-test/maximal");
  ASSERT_EQ(l.namespaces.size(), 8u);
  EXPECT_EQ(find_namespace(s, "cgroup")->path, "/proc/1/ns/cgroup");
  ASSERT_EQ(l.devices.size(), 3u);
  EXPECT_EQ(l.devices[0].file_mode, 0666u);
  EXPECT_EQ(l.devices[0].uid, 0u);
  EXPECT_FALSE(l.devices[1].uid);
  EXPECT_EQ(l.devices[2].type, "p");
  ASSERT_TRUE(l.seccomp);
  const Seccomp& sc = *l.seccomp;
  EXPECT_EQ(sc.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(sc.default_errno_ret, 1u);
  EXPECT_EQ(sc.architectures.size(), 3u);
  EXPECT_EQ(sc.flags, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
  EXPECT_EQ(sc.listener_path, "/run/seccomp-agent.socket");
  EXPECT_EQ(sc.listener_metadata, "metadata");
  ASSERT_EQ(sc.syscalls.size(), 4u);
  EXPECT_EQ(sc.syscalls[1].args[1].value, 255u);
  EXPECT_EQ(sc.syscalls[1].args[1].value_two, 8u);
  EXPECT_EQ(sc.syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(sc.syscalls[2].errno_ret, 38u);
  EXPECT_EQ(l.rootfs_propagation, "rslave");
  EXPECT_EQ(l.masked_paths.size(), 2u);
  EXPECT_EQ(l.readonly_paths[1], "/proc/bus");
  EXPECT_EQ(l.mount_label, "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811");
  ASSERT_TRUE(l.intel_rdt);
  EXPECT_EQ(l.intel_rdt->clos_id, "guaranteed_group");
  EXPECT_EQ(l.intel_rdt->l3_cache_schema, "L3:0=7f0;1=1f");
  EXPECT_EQ(l.intel_rdt->mem_bw_schema, "MB:0=20;1=70");
  EXPECT_TRUE(l.intel_rdt->enable_cmt);
  EXPECT_TRUE(l.intel_rdt->enable_mbm);
  ASSERT_TRUE(l.personality);
  EXPECT_EQ(l.personality->domain, "LINUX32");
  EXPECT_EQ(l.time_offsets.at("monotonic").secs, 3600);
  EXPECT_EQ(l.time_offsets.at("monotonic").nanosecs, 500u);
  EXPECT_EQ(l.time_offsets.at("boottime").secs, -86400);
}

// Serializing what was parsed gives back the same JSON value, field for field.
TEST(OciConfig, RoundTripKeepsEveryValue) {
  for (const char* name :
       {"maximal.json", "runc-default.json", "runc-rootless.json", "umoci-rootless.json"}) {
    SCOPED_TRACE(name);
    std::string doc = corpus_file(name);
    Spec s = parse_ok(doc);
    std::string out = config_to_json(s);
    EXPECT_EQ(json::parse(out), json::parse(doc));
    auto again = parse_config(out);
    ASSERT_TRUE(again) << again.error().what();
    EXPECT_EQ(config_to_json(*again, false), config_to_json(s, false));
  }
}

constexpr const char* kMinimal = R"({
  "ociVersion": "1.0.0",
  "process": {"args": ["/bin/true"], "cwd": "/"},
  "root": {"path": "rootfs"}
})";

TEST(OciConfig, MinimalDocument) {
  Spec s = parse_ok(kMinimal);
  EXPECT_EQ(s.process->user.uid, 0u);
  EXPECT_FALSE(s.process->user.umask);
  EXPECT_FALSE(s.process->capabilities);
  EXPECT_FALSE(s.process->oom_score_adj);
  EXPECT_FALSE(s.root->readonly);
  EXPECT_FALSE(s.linux);
  EXPECT_FALSE(s.hooks);
  EXPECT_TRUE(s.mounts.empty());
  EXPECT_EQ(find_namespace(s, "pid"), nullptr);
}

TEST(OciConfig, UnknownKeysAreIgnored) {
  auto doc = json::parse(kMinimal);
  doc["vm"] = {{"hypervisor", {{"path", "/x"}}}};
  doc["windows"] = json::object();
  doc["process"]["futureField"] = {1, 2, 3};
  doc["linux"] = {{"netDevices", {{"eth0", json::object()}}}, {"namespaces", json::array()}};
  parse_ok(doc.dump());
}

TEST(OciConfig, NullIsAbsent) {
  auto doc = json::parse(kMinimal);
  doc["hostname"] = nullptr;
  doc["mounts"] = nullptr;
  doc["annotations"] = nullptr;
  doc["process"]["env"] = nullptr;
  doc["process"]["oomScoreAdj"] = nullptr;
  doc["linux"] = {{"namespaces", nullptr}, {"resources", {{"memory", {{"limit", nullptr}}}}}};
  Spec s = parse_ok(doc.dump());
  EXPECT_FALSE(s.process->oom_score_adj);
  ASSERT_TRUE(s.linux->resources->memory);
  EXPECT_FALSE(s.linux->resources->memory->limit);
}

TEST(OciConfig, IntegerBounds) {
  auto doc = json::parse(kMinimal);
  doc["process"]["user"] = {{"uid", 4294967295u}, {"gid", 0}};
  doc["process"]["rlimits"] = {{{"type", "RLIMIT_CPU"}, {"hard", 18446744073709551615u}, {"soft", 1}}};
  doc["linux"] = {{"resources", {{"memory", {{"limit", INT64_MAX}}}, {"cpu", {{"quota", INT64_MIN}}}}}};
  Spec s = parse_ok(doc.dump());
  EXPECT_EQ(s.process->user.uid, UINT32_MAX);
  EXPECT_EQ(s.linux->resources->memory->limit, INT64_MAX);
  EXPECT_EQ(s.linux->resources->cpu->quota, INT64_MIN);
}

TEST(OciConfig, RelativeMountDestinationIsDeprecatedNotRejected) {
  auto doc = json::parse(kMinimal);
  doc["mounts"] = {{{"destination", "data"}, {"type", "tmpfs"}, {"source", "tmpfs"}}};
  doc["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_FUTURE_THING"}}};
  Spec s = parse_ok(doc.dump());
  auto w = config_warnings(s);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0], "process.capabilities.bounding[1]: unknown capability \"CAP_FUTURE_THING\" ignored");
  EXPECT_EQ(w[1], "mounts[0].destination: relative path \"data\" is deprecated, taken as relative to /");
}

TEST(OciConfig, JoinedUserNamespaceNeedsNoMappings) {
  auto doc = json::parse(kMinimal);
  doc["linux"] = {{"namespaces", {{{"type", "user"}, {"path", "/proc/1/ns/user"}}}}};
  parse_ok(doc.dump());
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-test-oci-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(OciConfig, LoadConfigReadsTheBundle) {
  TempDir dir;
  std::ofstream(dir.path() + "/config.json") << kMinimal;
  auto s = load_config(dir.path());
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->process->args[0], "/bin/true");
}

TEST(OciConfig, LoadConfigErrorsNameTheFile) {
  TempDir dir;
  auto missing = load_config(dir.path());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().what().find(dir.path() + "/config.json"), std::string::npos)
      << missing.error().what();
  EXPECT_EQ(missing.error().code(), ENOENT);

  std::ofstream(dir.path() + "/config.json") << R"({"ociVersion": "1.0.0", "root": {"path": "r"},
      "process": {"args": [], "cwd": "/"}})";
  auto bad = load_config(dir.path());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().what(), dir.path() + "/config.json: process.args: must be a non-empty array");
}

TEST(OciNames, Tables) {
  EXPECT_EQ(capability_from_name("CAP_CHOWN"), 0);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(capability_from_name("CAP_NOPE"));
  EXPECT_EQ(capability_name(last_known_capability()), "CAP_CHECKPOINT_RESTORE");
  EXPECT_EQ(capability_name(41), "");
  EXPECT_TRUE(capability_name_well_formed("CAP_FUTURE_2"));
  EXPECT_FALSE(capability_name_well_formed("cap_kill"));
  EXPECT_FALSE(capability_name_well_formed("CAP_"));
  EXPECT_EQ(rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  EXPECT_FALSE(rlimit_from_name("NOFILE"));
  ASSERT_NE(namespace_kind("network"), nullptr);
  EXPECT_EQ(namespace_kind("network")->proc_name, "net");
  EXPECT_EQ(namespace_kind("mount")->clone_flag, CLONE_NEWNS);
  EXPECT_EQ(namespace_kinds().size(), 8u);
  EXPECT_EQ(namespace_kinds()[0].type, "user");
  EXPECT_EQ(namespace_kind("net"), nullptr);
}

}  // namespace
}  // namespace berth::oci
