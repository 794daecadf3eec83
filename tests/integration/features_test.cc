// `features` (runtime-spec features.md): a valid document whose claims the
// same binary honours: a container using every seccomp action (but NOTIFY,
// which needs an agent: seccomp_test.cc), operator, architecture and
// supported flag it lists, and every capability it lists, runs.
#include <set>

#include "harness.h"

namespace berth::test {
namespace {

json features(Bundle& b) {
  auto r = b.rt({"features"});
  EXPECT_EQ(r.status, 0) << r.describe();
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.out;
  return j.is_object() ? j : json::object();
}

std::set<std::string> names(const json& a) {
  std::set<std::string> out;
  if (a.is_array())
    for (const auto& e : a) out.insert(e.get<std::string>());
  return out;
}

// "1.2.0" -> {1,2,0}; pre-release suffixes ignored.
std::vector<int> version(const std::string& v) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos < v.size() && out.size() < 3) {
    out.push_back(std::atoi(v.c_str() + pos));
    pos = v.find('.', pos);
    if (pos == std::string::npos) break;
    ++pos;
  }
  return out;
}

TEST(Features, DocumentIsValidAndComplete) {
  Bundle b;
  auto f = features(b);
  ASSERT_TRUE(f.contains("ociVersionMin")) << f;
  ASSERT_TRUE(f.contains("ociVersionMax")) << f;
  EXPECT_LE(version(f["ociVersionMin"]), version(f["ociVersionMax"])) << f;
  EXPECT_EQ(names(f["hooks"]), (std::set<std::string>{"prestart", "createRuntime", "createContainer",
                                                      "startContainer", "poststart", "poststop"}));
  auto opts = names(f["mountOptions"]);
  for (const char* o : {"ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec", "rprivate", "rslave", "rro",
                        "relatime", "tmpcopyup"})
    EXPECT_TRUE(opts.count(o)) << o;
  EXPECT_FALSE(opts.count("size=64k")) << "filesystem data is not a mount option";

  auto& l = f["linux"];
  auto ns = names(l["namespaces"]);
  for (const char* n : {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}) EXPECT_TRUE(ns.count(n)) << n;
  auto caps = names(l["capabilities"]);
  EXPECT_TRUE(caps.count("CAP_SYS_ADMIN"));
  EXPECT_TRUE(caps.count("CAP_CHECKPOINT_RESTORE"));
  EXPECT_TRUE(l["cgroup"]["v1"].get<bool>());
  EXPECT_TRUE(l["cgroup"]["v2"].get<bool>());

  auto& sc = l["seccomp"];
  EXPECT_TRUE(sc["enabled"].get<bool>());
  EXPECT_EQ(names(sc["actions"]),
            (std::set<std::string>{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                   "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                                   "SCMP_ACT_TRAP"}));
  EXPECT_EQ(names(sc["operators"]), (std::set<std::string>{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                                                           "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}));
  EXPECT_TRUE(names(sc["archs"]).count("SCMP_ARCH_X86_64"));
  auto known = names(sc["knownFlags"]);
  for (const auto& flag : names(sc["supportedFlags"])) EXPECT_TRUE(known.count(flag)) << flag << " not in knownFlags";
  EXPECT_TRUE(f["annotations"].contains("io.github.seccomp.libseccomp.version")) << f["annotations"];

  if (runtime_is_berth()) {
    EXPECT_EQ(f["ociVersionMax"], "1.2.0");
    EXPECT_TRUE(ns.count("time"));
    EXPECT_EQ(known, (std::set<std::string>{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}));
    EXPECT_FALSE(l["cgroup"]["systemd"].get<bool>()) << "no systemd cgroup driver";
    EXPECT_FALSE(l["apparmor"]["enabled"].get<bool>());
    EXPECT_FALSE(l["selinux"]["enabled"].get<bool>());
    EXPECT_TRUE(l["mountExtensions"]["idmap"]["enabled"].is_boolean());
  }
}

TEST(Features, ListedSeccompFeaturesWork) {
  Bundle b;
  auto f = features(b);
  auto& sc = f["linux"]["seccomp"];
  // Syscalls the checker never makes, one per action and per operator.
  std::vector<std::string> spare = {"acct", "swapon", "reboot", "kcmp", "add_key", "setns", "sethostname",
                                    "clock_settime", "ptrace", "mount", "unshare", "keyctl"};
  size_t next = 0;
  json rules = json::array();
  for (const auto& a : names(sc["actions"])) {
    if (a == "SCMP_ACT_NOTIFY" || a == "SCMP_ACT_ALLOW") continue;  // NOTIFY needs an agent; ALLOW is the default
    ASSERT_LT(next, spare.size());
    rules.push_back({{"names", {spare[next++]}}, {"action", a}});
  }
  json args = json::array();
  uint32_t index = 0;
  for (const auto& op : names(sc["operators"])) {
    json arg = {{"index", index++ % 6}, {"value", 0xff}, {"op", op}};
    if (op == "SCMP_CMP_MASKED_EQ") arg["valueTwo"] = 0x12;
    rules.push_back({{"names", {"getpriority"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 90}, {"args", {arg}}});
  }
  // One filter holds architectures of one byte order: the little-endian ones
  // listed (x86_64's).
  const std::set<std::string> little_endian = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
                                               "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPSEL",
                                               "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC64LE",
                                               "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_SH"};
  json archs = json::array();
  for (const auto& a : names(sc["archs"]))
    if (little_endian.count(a)) archs.push_back(a);
  EXPECT_GE(archs.size(), 3u) << sc["archs"];
  b.config["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                  {"architectures", archs},
                                  {"syscalls", rules}};
  if (sc.contains("supportedFlags") && !sc["supportedFlags"].empty())
    b.config["linux"]["seccomp"]["flags"] = sc["supportedFlags"];
  auto j = b.check({"syscall", "getppid"});
  EXPECT_EQ(j["errno"], 0) << j;
}

TEST(Features, ListedCapabilitiesAreAccepted) {
  SKIP_ON_RUNC("runc 1.1 fails on a capability it cannot grant (CAP_SYS_RESOURCE here) where the spec asks for a warning");
  Bundle b;
  auto f = features(b);
  json caps = f["linux"]["capabilities"];
  b.config["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  b.checker_args({"exit", "0"});
  auto r = b.run();
  EXPECT_EQ(r.status, 0) << r.describe();
}

}  // namespace
}  // namespace berth::test
