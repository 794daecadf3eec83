// Invalid config.json documents, field by field: each case breaks one field of
// the maximal valid document and expects the exact error, which names the
// JSON path and why.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "oci/config.h"

namespace berth::oci {
namespace {

using json = nlohmann::json;

json maximal() {
  auto file = std::filesystem::path(BERTH_TESTS_DIR) /
              "fuzz/corpus/config/maximal.json";
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

constexpr const char* kRemove = "REMOVE";

struct Case {
  const char* pointer;  // JSON pointer of the field to change
  const char* value;    // its new value as JSON text, or kRemove
  const char* error;    // the whole expected message
};

const Case kCases[] = {
    // Top level.
    {"/ociVersion", kRemove, "ociVersion: is required"},
    {"/ociVersion", "1", "ociVersion: must be a string"},
    {"/ociVersion", R"("1.0")", R"(ociVersion: must be a SemVer version like "1.2.0", got "1.0")"},
    {"/root", kRemove, "root: is required on Linux"},
    {"/root", "[]", "root: must be an object"},
    {"/root/path", kRemove, "root.path: is required"},
    {"/root/path", R"("")", "root.path: is required"},
    {"/root/readonly", R"("true")", "root.readonly: must be a boolean"},
    {"/process", kRemove, "process: is required (the container has nothing to run)"},
    {"/process", R"("sh")", "process: must be an object"},
    {"/hostname", "7", "hostname: must be a string"},
    {"/domainname", "false", "domainname: must be a string"},
    {"/annotations", "[]", "annotations: must be an object"},
    {"/annotations/x", "1", R"(annotations["x"]: must be a string)"},
    {"/linux", R"("x")", "linux: must be an object"},
    // process
    {"/process/args", kRemove, "process.args: must be a non-empty array"},
    {"/process/args", "[]", "process.args: must be a non-empty array"},
    {"/process/args", R"("sh")", "process.args: must be an array"},
    {"/process/args", "[1]", "process.args[0]: must be a string"},
    {"/process/args", R"([""])", "process.args[0]: must not be empty"},
    {"/process/cwd", kRemove, "process.cwd: is required"},
    {"/process/cwd", R"("root")", R"(process.cwd: must be an absolute path, got "root")"},
    {"/process/terminal", R"("yes")", "process.terminal: must be a boolean"},
    {"/process/consoleSize/height", kRemove, "process.consoleSize.height: is required"},
    {"/process/consoleSize/width", "-80", "process.consoleSize.width: must be between 0 and 4294967295"},
    {"/process/user", "0", "process.user: must be an object"},
    {"/process/user/uid", "-1", "process.user.uid: must be between 0 and 4294967295"},
    {"/process/user/uid", "4294967296", "process.user.uid: must be between 0 and 4294967295"},
    {"/process/user/uid", "1.5", "process.user.uid: must be an integer"},
    {"/process/user/uid", "1.0", "process.user.uid: must be an integer"},
    {"/process/user/uid", R"("0")", "process.user.uid: must be a number"},
    {"/process/user/umask", "true", "process.user.umask: must be a number"},
    {"/process/user/additionalGids/1", R"("x")", "process.user.additionalGids[1]: must be a number"},
    {"/process/user/username", "1", "process.user.username: must be a string"},
    {"/process/env/0", R"("NOEQUALS")", R"(process.env[0]: must be "KEY=value", got "NOEQUALS")"},
    {"/process/env/1", R"("=x")", R"(process.env[1]: must be "KEY=value", got "=x")"},
    {"/process/env", R"({"A": "b"})", "process.env: must be an array"},
    {"/process/commandLine", "[]", "process.commandLine: must be a string"},
    {"/process/capabilities", "[]", "process.capabilities: must be an object"},
    {"/process/capabilities/bounding/0", R"("kill")",
     R"(process.capabilities.bounding[0]: invalid capability "kill")"},
    {"/process/capabilities/effective/1", R"("CAP KILL")",
     R"(process.capabilities.effective[1]: invalid capability "CAP KILL")"},
    {"/process/capabilities/inheritable/0", R"("")", R"(process.capabilities.inheritable[0]: invalid capability "")"},
    {"/process/capabilities/permitted/0", "5", "process.capabilities.permitted[0]: must be a string"},
    {"/process/capabilities/ambient", R"("CAP_KILL")", "process.capabilities.ambient: must be an array"},
    {"/process/rlimits/0/type", R"("RLIMIT_FOO")", R"(process.rlimits[0].type: unknown rlimit "RLIMIT_FOO")"},
    {"/process/rlimits/0/type", kRemove, "process.rlimits[0].type: is required"},
    {"/process/rlimits/1/type", R"("RLIMIT_NOFILE")",
     R"(process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE")"},
    {"/process/rlimits/0/soft", "2048", "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024"},
    {"/process/rlimits/0/hard", kRemove, "process.rlimits[0].hard: is required"},
    {"/process/rlimits/0/soft", kRemove, "process.rlimits[0].soft: is required"},
    {"/process/rlimits/0/hard", "-1", "process.rlimits[0].hard: must be between 0 and 18446744073709551615"},
    {"/process/rlimits/0/hard", "1e3", "process.rlimits[0].hard: must be an integer"},
    {"/process/rlimits", "{}", "process.rlimits: must be an array"},
    {"/process/noNewPrivileges", "1", "process.noNewPrivileges: must be a boolean"},
    {"/process/oomScoreAdj", "1001", "process.oomScoreAdj: must be between -1000 and 1000, got 1001"},
    {"/process/oomScoreAdj", "4294967296", "process.oomScoreAdj: must be between -2147483648 and 2147483647"},
    {"/process/apparmorProfile", "5", "process.apparmorProfile: must be a string"},
    {"/process/selinuxLabel", "{}", "process.selinuxLabel: must be a string"},
    {"/process/ioPriority/class", R"("IOPRIO_CLASS_NONE")",
     R"(process.ioPriority.class: unknown class "IOPRIO_CLASS_NONE")"},
    {"/process/ioPriority/class", kRemove, "process.ioPriority.class: is required"},
    {"/process/ioPriority/priority", "8", "process.ioPriority.priority: must be between 0 and 7, got 8"},
    {"/process/ioPriority/priority", kRemove, "process.ioPriority.priority: is required"},
    {"/process/scheduler/policy", R"("SCHED_FAST")", R"(process.scheduler.policy: unknown policy "SCHED_FAST")"},
    {"/process/scheduler/policy", kRemove, "process.scheduler.policy: is required"},
    {"/process/scheduler/policy", R"("SCHED_OTHER")",
     "process.scheduler: runtime, deadline and period are only valid with SCHED_DEADLINE"},
    {"/process/scheduler/nice", "20", "process.scheduler.nice: must be between -20 and 19, got 20"},
    {"/process/scheduler/priority", "5", "process.scheduler.priority: only valid with SCHED_FIFO or SCHED_RR"},
    {"/process/scheduler/flags/0", R"("SCHED_FLAG_X")", R"(process.scheduler.flags[0]: unknown flag "SCHED_FLAG_X")"},
    {"/process/scheduler/runtime", "-1", "process.scheduler.runtime: must be between 0 and 18446744073709551615"},
    {"/process/execCPUAffinity/final", R"("0-")", R"(process.execCPUAffinity.final: invalid CPU list "0-")"},
    {"/process/execCPUAffinity/initial", R"("1,,2")", R"(process.execCPUAffinity.initial: invalid CPU list "1,,2")"},
    // mounts
    {"/mounts", "{}", "mounts: must be an array"},
    {"/mounts/0", R"("/proc")", "mounts[0]: must be an object"},
    {"/mounts/1/destination", kRemove, "mounts[1].destination: is required"},
    {"/mounts/1/destination", R"("")", "mounts[1].destination: is required"},
    {"/mounts/1/options", R"("ro")", "mounts[1].options: must be an array"},
    {"/mounts/1/type", "0", "mounts[1].type: must be a string"},
    {"/mounts/2/gidMappings", kRemove, "mounts[2].uidMappings: must be given with gidMappings"},
    {"/mounts/2/uidMappings", kRemove, "mounts[2].gidMappings: must be given with uidMappings"},
    {"/mounts/2/uidMappings/0/size", "0", "mounts[2].uidMappings[0].size: must be greater than zero"},
    {"/mounts/2/uidMappings/0/size", R"("1")", "mounts[2].uidMappings[0].size: must be a number"},
    {"/mounts/2/gidMappings/0/containerID", kRemove, "mounts[2].gidMappings[0].containerID: is required"},
    // hooks
    {"/hooks", "[]", "hooks: must be an object"},
    {"/hooks/prestart", "{}", "hooks.prestart: must be an array"},
    {"/hooks/prestart/0/path", R"("")", R"(hooks.prestart[0].path: must be an absolute path, got "")"},
    {"/hooks/createRuntime/0/path", R"("setup")",
     R"(hooks.createRuntime[0].path: must be an absolute path, got "setup")"},
    {"/hooks/createContainer/0/args/0", "1", "hooks.createContainer[0].args[0]: must be a string"},
    {"/hooks/startContainer/0/env", R"("A=b")", "hooks.startContainer[0].env: must be an array"},
    {"/hooks/poststart/0/timeout", "0", "hooks.poststart[0].timeout: must be greater than zero, got 0"},
    {"/hooks/poststart/0/timeout", "-3", "hooks.poststart[0].timeout: must be greater than zero, got -3"},
    {"/hooks/poststop/0/path", kRemove, "hooks.poststop[0].path: is required"},
    // linux: namespaces and ids
    {"/linux/namespaces", "{}", "linux.namespaces: must be an array"},
    {"/linux/namespaces/2/type", R"("foo")", R"(linux.namespaces[2].type: unknown namespace type "foo")"},
    {"/linux/namespaces/1/type", R"("pid")", R"(linux.namespaces[1].type: duplicate namespace "pid")"},
    {"/linux/namespaces/0/type", kRemove, "linux.namespaces[0].type: is required"},
    {"/linux/namespaces/6/path", R"("proc/1/ns/cgroup")",
     R"(linux.namespaces[6].path: must be an absolute path, got "proc/1/ns/cgroup")"},
    {"/linux/namespaces/4", kRemove, "hostname: requires a uts namespace in linux.namespaces"},
    {"/linux/namespaces/5", kRemove, "linux.uidMappings: requires a user namespace in linux.namespaces"},
    {"/linux/namespaces/1", kRemove, R"(linux.sysctl["net.ipv4.ip_forward"]: requires a network namespace)"},
    {"/linux/namespaces/3", kRemove, R"(linux.sysctl["kernel.shmmax"]: requires an ipc namespace)"},
    {"/linux/namespaces/2", kRemove, "linux.maskedPaths: requires a mount namespace in linux.namespaces"},
    {"/linux/namespaces/7", kRemove, "linux.timeOffsets: requires a time namespace in linux.namespaces"},
    {"/linux/namespaces/7/path", R"("/proc/1/ns/time")",
     "linux.timeOffsets: cannot be set when joining a time namespace by path"},
    {"/linux/uidMappings/0/size", R"("65536")", "linux.uidMappings[0].size: must be a number"},
    {"/linux/uidMappings/0/size", "0", "linux.uidMappings[0].size: must be greater than zero"},
    {"/linux/uidMappings/0/hostID", kRemove, "linux.uidMappings[0].hostID: is required"},
    {"/linux/uidMappings/0/hostID", "4294967295", "linux.uidMappings[0]: range overflows 32-bit ids"},
    {"/linux/uidMappings", kRemove, "linux.uidMappings: required for a new user namespace"},
    {"/linux/gidMappings", kRemove, "linux.gidMappings: required for a new user namespace"},
    {"/linux/gidMappings", "{}", "linux.gidMappings: must be an array"},
    {"/linux/timeOffsets/realtime", R"({"secs": 1})",
     R"(linux.timeOffsets["realtime"]: unknown clock (monotonic or boottime))"},
    {"/linux/timeOffsets/monotonic/nanosecs", "1000000000",
     R"(linux.timeOffsets["monotonic"].nanosecs: must be below 1000000000)"},
    {"/linux/timeOffsets/boottime/secs", R"("1")", R"(linux.timeOffsets["boottime"].secs: must be a number)"},
    // linux: sysctl
    {"/linux/sysctl/kernel.hostname", R"("x")", R"(linux.sysctl["kernel.hostname"]: conflicts with the "hostname" field)"},
    {"/linux/sysctl/vm.swappiness", R"("1")", R"(linux.sysctl["vm.swappiness"]: is not in a separate kernel namespace)"},
    {"/linux/sysctl/net.core.x", "1", R"(linux.sysctl["net.core.x"]: must be a string)"},
    // linux: devices
    {"/linux/devices/0/type", R"("x")", R"(linux.devices[0].type: unknown device type "x" (c, b, u or p))"},
    {"/linux/devices/0/type", kRemove, "linux.devices[0].type: is required"},
    {"/linux/devices/0/major", kRemove, "linux.devices[0].major: is required"},
    {"/linux/devices/1/minor", kRemove, "linux.devices[1].minor: is required"},
    {"/linux/devices/1/path", R"("dev/sda")", R"(linux.devices[1].path: must be an absolute path, got "dev/sda")"},
    {"/linux/devices/0/fileMode", "8630", "linux.devices[0].fileMode: must be permission bits (at most 07777), got 020666"},
    {"/linux/devices/0/uid", "-1", "linux.devices[0].uid: must be between 0 and 4294967295"},
    {"/linux/devices/0/major", "-1", "linux.devices[0]: major and minor must not be negative"},
    // linux: resources
    {"/linux/resources/devices/1/type", R"("x")", R"(linux.resources.devices[1].type: unknown device type "x" (a, c or b))"},
    {"/linux/resources/devices/1/access", R"("rx")", R"(linux.resources.devices[1].access: must be made of r, w and m, got "rx")"},
    {"/linux/resources/devices/0/allow", kRemove, "linux.resources.devices[0].allow: is required"},
    {"/linux/resources/devices/0/major", R"("*")", "linux.resources.devices[0].major: must be a number"},
    {"/linux/resources/memory/limit", "-2", "linux.resources.memory.limit: must be -1 (unlimited) or a byte count, got -2"},
    {"/linux/resources/memory/swap", "-5", "linux.resources.memory.swap: must be -1 (unlimited) or a byte count, got -5"},
    {"/linux/resources/memory/swappiness", "101", "linux.resources.memory.swappiness: must be between 0 and 100, got 101"},
    {"/linux/resources/memory/swappiness", "-1", "linux.resources.memory.swappiness: must be between 0 and 18446744073709551615"},
    {"/linux/resources/memory/disableOOMKiller", "0", "linux.resources.memory.disableOOMKiller: must be a boolean"},
    {"/linux/resources/cpu/burst", "2000000", "linux.resources.cpu.burst: 2000000 exceeds quota 1000000"},
    {"/linux/resources/cpu/burst", "-1", "linux.resources.cpu.burst: must not be negative, got -1"},
    {"/linux/resources/cpu/idle", "2", "linux.resources.cpu.idle: must be 0 or 1, got 2"},
    {"/linux/resources/cpu/cpus", R"("a-b")", R"(linux.resources.cpu.cpus: invalid CPU list "a-b")"},
    {"/linux/resources/cpu/mems", R"("0-")", R"(linux.resources.cpu.mems: invalid memory node list "0-")"},
    {"/linux/resources/cpu/shares", "-1", "linux.resources.cpu.shares: must be between 0 and 18446744073709551615"},
    {"/linux/resources/pids/limit", R"("max")", "linux.resources.pids.limit: must be a number"},
    {"/linux/resources/blockIO/weight", "65536", "linux.resources.blockIO.weight: must be between 0 and 65535"},
    {"/linux/resources/blockIO/weightDevice/1/weight", kRemove,
     "linux.resources.blockIO.weightDevice[1]: needs weight or leafWeight"},
    {"/linux/resources/blockIO/weightDevice/0/major", kRemove, "linux.resources.blockIO.weightDevice[0].major: is required"},
    {"/linux/resources/blockIO/throttleReadBpsDevice/0/rate", kRemove,
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate: is required"},
    {"/linux/resources/blockIO/throttleWriteIOPSDevice/0/minor", R"("16")",
     "linux.resources.blockIO.throttleWriteIOPSDevice[0].minor: must be a number"},
    {"/linux/resources/hugepageLimits/0/pageSize", R"("2M")",
     R"(linux.resources.hugepageLimits[0].pageSize: invalid page size "2M" (like 2MB or 1GB))"},
    {"/linux/resources/hugepageLimits/1/limit", kRemove, "linux.resources.hugepageLimits[1].limit: is required"},
    {"/linux/resources/network/classID", "-1", "linux.resources.network.classID: must be between 0 and 4294967295"},
    {"/linux/resources/network/priorities/0/name", kRemove, "linux.resources.network.priorities[0].name: is required"},
    {"/linux/resources/rdma/mlx4_0", "{}", R"(linux.resources.rdma["mlx4_0"]: needs hcaHandles or hcaObjects)"},
    {"/linux/resources/rdma/mlx4_0", "1", R"(linux.resources.rdma["mlx4_0"]: must be an object)"},
    {"/linux/resources/unified/a~1b", R"("1")", R"(linux.resources.unified["a/b"]: must be a file name of the cgroup)"},
    {"/linux/resources/unified/io.max", "1", R"(linux.resources.unified["io.max"]: must be a string)"},
    // linux: seccomp
    {"/linux/seccomp/defaultAction", R"("SCMP_ACT_NOPE")", R"(linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE")"},
    {"/linux/seccomp/defaultAction", kRemove, "linux.seccomp.defaultAction: is required"},
    {"/linux/seccomp/defaultAction", R"("SCMP_ACT_ALLOW")",
     "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"},
    {"/linux/seccomp/defaultAction", R"("SCMP_ACT_NOTIFY")",
     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
    {"/linux/seccomp/architectures/0", R"("SCMP_ARCH_Z80")",
     R"(linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_Z80")"},
    {"/linux/seccomp/flags/0", R"("X")", R"(linux.seccomp.flags[0]: unknown flag "X")"},
    {"/linux/seccomp/listenerPath", kRemove, "linux.seccomp.listenerMetadata: requires listenerPath"},
    {"/linux/seccomp/listenerPath", R"("agent.sock")",
     R"(linux.seccomp.listenerPath: must be an absolute path, got "agent.sock")"},
    {"/linux/seccomp/syscalls/0/names", "[]", "linux.seccomp.syscalls[0].names: must be a non-empty array"},
    {"/linux/seccomp/syscalls/0/names", kRemove, "linux.seccomp.syscalls[0].names: is required"},
    {"/linux/seccomp/syscalls/0/names/1", R"("")", "linux.seccomp.syscalls[0].names[1]: must not be empty"},
    {"/linux/seccomp/syscalls/0/action", R"("ALLOW")", R"(linux.seccomp.syscalls[0].action: unknown action "ALLOW")"},
    {"/linux/seccomp/syscalls/0/errnoRet", "1",
     "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"},
    {"/linux/seccomp/syscalls/1/args/0/op", R"("SCMP_CMP_XX")",
     R"(linux.seccomp.syscalls[1].args[0].op: unknown operator "SCMP_CMP_XX")"},
    {"/linux/seccomp/syscalls/1/args/0/index", "6", "linux.seccomp.syscalls[1].args[0].index: must be between 0 and 5, got 6"},
    {"/linux/seccomp/syscalls/1/args/0/value", kRemove, "linux.seccomp.syscalls[1].args[0].value: is required"},
    {"/linux/seccomp/syscalls/1/args/1/valueTwo", "-8",
     "linux.seccomp.syscalls[1].args[1].valueTwo: must be between 0 and 18446744073709551615"},
    // linux: the rest
    {"/linux/rootfsPropagation", R"("both")", R"(linux.rootfsPropagation: unknown propagation "both")"},
    {"/linux/maskedPaths/0", R"("proc/kcore")", R"(linux.maskedPaths[0]: must be an absolute path, got "proc/kcore")"},
    {"/linux/readonlyPaths/1", R"("")", R"(linux.readonlyPaths[1]: must be an absolute path, got "")"},
    {"/linux/readonlyPaths", R"("/proc/sys")", "linux.readonlyPaths: must be an array"},
    {"/linux/cgroupsPath", "1", "linux.cgroupsPath: must be a string"},
    {"/linux/mountLabel", "[]", "linux.mountLabel: must be a string"},
    {"/linux/intelRdt/closID", R"("../x")", R"(linux.intelRdt.closID: invalid name "../x")"},
    {"/linux/intelRdt/memBwSchema", R"("L3:0")", R"(linux.intelRdt.memBwSchema: must start with "MB:" and be one line)"},
    {"/linux/intelRdt/enableCMT", R"("yes")", "linux.intelRdt.enableCMT: must be a boolean"},
    {"/linux/personality/domain", R"("LINUX64")", R"(linux.personality.domain: unknown domain "LINUX64" (LINUX or LINUX32))"},
    {"/linux/personality/domain", kRemove, "linux.personality.domain: is required"},
    {"/linux/personality/flags", R"(["X"])", R"(linux.personality.flags[0]: unsupported flag "X" (none are defined))"},
};

TEST(OciConfigErrors, EachFieldNamesItsPath) {
  const json base = maximal();
  ASSERT_TRUE(parse_config(base.dump())) << "the base document must be valid";
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::string(c.pointer) + " = " + c.value);
    json doc = base;
    json::json_pointer ptr(c.pointer);
    if (std::string_view(c.value) == kRemove) {
      ASSERT_TRUE(doc.contains(ptr));
      doc[ptr.parent_pointer()].erase(doc[ptr.parent_pointer()].is_array()
                                          ? doc[ptr.parent_pointer()].begin() + std::stoi(ptr.back())
                                          : doc[ptr.parent_pointer()].find(ptr.back()));
    } else {
      doc[ptr] = json::parse(c.value);
    }
    auto r = parse_config(doc.dump());
    ASSERT_FALSE(r) << "accepted";
    EXPECT_EQ(r.error().what(), c.error);
    EXPECT_EQ(r.error().code(), 0);
  }
}

TEST(OciConfigErrors, NotJson) {
  for (const char* text : {"", "{", "{\"ociVersion\": }", "nul", "{\"a\": 1,}", "\xff"}) {
    SCOPED_TRACE(text);
    auto r = parse_config(text);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().what().starts_with("invalid JSON: parse error")) << r.error().what();
  }
}

TEST(OciConfigErrors, NotAnObject) {
  for (const char* text : {"[]", "1", "\"x\"", "null", "true"}) {
    auto r = parse_config(text);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "config must be a JSON object");
  }
}

// Validation of specs built in code, without JSON.
TEST(OciConfigErrors, ValidateSpecBuiltInCode) {
  Spec s = default_spec(false);
  EXPECT_TRUE(validate(s));
  s.linux->namespaces.push_back({"network", ""});
  auto r = validate(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), R"(linux.namespaces[5].type: duplicate namespace "network")");

  s = default_spec(false);
  s.process->rlimits.push_back({"RLIMIT_NPROC", 10, 11});
  r = validate(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "process.rlimits[1]: soft limit 11 exceeds hard limit 10");

  s = default_spec(false);
  s.linux->devices.push_back(Device{.type = "u", .path = "/dev/x", .major = 1, .minor = 3});
  s.linux->devices.push_back(Device{.type = "q", .path = "/dev/y"});
  r = validate(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), R"(linux.devices[1].type: unknown device type "q" (c, b, u or p))");
}

}  // namespace
}  // namespace berth::oci
