// CRIU's command lines for checkpoint/restore and its log's error lines (pure).
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/criu.h"

namespace berth::runtime {
namespace {

bool has_pair(const std::vector<std::string>& a, const std::string& k, const std::string& v) {
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == k && a[i + 1] == v) return true;
  return false;
}
bool has(const std::vector<std::string>& a, const std::string& k) { return std::find(a.begin(), a.end(), k) != a.end(); }

oci::Spec spec_with_mounts() {
  oci::Spec s;
  s.mounts.push_back({"/data", "bind", "/host/data", {"rbind"}, {}, {}});
  s.mounts.push_back({"/cfg", "", "rel/cfg", {"bind", "ro"}, {}, {}});
  s.mounts.push_back({"/tmp", "tmpfs", "tmpfs", {}, {}, {}});
  s.linux.emplace();
  s.linux->masked_paths = {"/proc/kcore"};
  s.linux->namespaces = {{"pid", ""}, {"mount", ""}};
  return s;
}

TEST(Criu, DumpArguments) {
  CriuOptions o;
  o.image_path = "/img";
  o.leave_running = true;
  o.manage_cgroups_mode = "soft";
  o.empty_ns = {"network"};
  o.tcp_established = true;
  auto a = criu_dump_args(o, spec_with_mounts(), 42, "/rootfs");
  EXPECT_EQ(a.front(), "dump");
  EXPECT_TRUE(has_pair(a, "--tree", "42"));
  EXPECT_TRUE(has_pair(a, "--images-dir", "/img"));
  EXPECT_TRUE(has_pair(a, "--work-dir", "/img")) << "the work dir defaults to the image dir";
  EXPECT_TRUE(has_pair(a, "--root", "/rootfs"));
  EXPECT_TRUE(has_pair(a, "--log-file", "dump.log"));
  EXPECT_TRUE(has(a, "--leave-running"));
  EXPECT_TRUE(has(a, "--tcp-established"));
  EXPECT_TRUE(has(a, "--manage-cgroups=soft"));
  EXPECT_TRUE(has_pair(a, "--empty-ns", "net"));
  EXPECT_TRUE(has_pair(a, "--external", "mnt[/data]:/data"));
  EXPECT_TRUE(has_pair(a, "--external", "mnt[/cfg]:/cfg"));
  EXPECT_TRUE(has_pair(a, "--external", "mnt[/proc/kcore]:/proc/kcore"));
  EXPECT_FALSE(has_pair(a, "--external", "mnt[/tmp]:/tmp")) << "a tmpfs is the container's own";
}

TEST(Criu, PreDumpWithParent) {
  CriuOptions o;
  o.image_path = "/img/2";
  o.work_path = "/work";
  o.pre_dump = true;
  o.leave_running = true;
  o.parent_path = "../1";
  auto a = criu_dump_args(o, spec_with_mounts(), 7, "/r");
  EXPECT_EQ(a.front(), "pre-dump");
  EXPECT_TRUE(has(a, "--track-mem"));
  EXPECT_TRUE(has_pair(a, "--prev-images-dir", "../1"));
  EXPECT_TRUE(has_pair(a, "--work-dir", "/work"));
  EXPECT_FALSE(has(a, "--leave-running")) << "a pre-dump always leaves the container running";
  EXPECT_EQ(criu_log_path(o, "pre-dump"), "/work/pre-dump.log");
}

TEST(Criu, RestoreArgumentsMapExternalMountsToSources) {
  CriuOptions o;
  o.image_path = "/img";
  auto a = criu_restore_args(o, spec_with_mounts(), "/state/criu-root", "/state/pid", "/bundle");
  EXPECT_EQ(a.front(), "restore");
  EXPECT_TRUE(has_pair(a, "--root", "/state/criu-root"));
  EXPECT_TRUE(has_pair(a, "--pidfile", "/state/pid"));
  EXPECT_TRUE(has(a, "--restore-sibling"));
  EXPECT_TRUE(has(a, "--restore-detached"));
  EXPECT_TRUE(has_pair(a, "--external", "mnt[/data]:/host/data"));
  EXPECT_TRUE(has_pair(a, "--external", "mnt[/cfg]:/bundle/rel/cfg"));
  EXPECT_TRUE(has_pair(a, "--external", "mnt[/proc/kcore]:/dev/null"));
}

TEST(Criu, ErrorLines) {
  std::string log =
      "(00.000045) Version: 3.17.1\n"
      "(00.025596) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds\n"
      "(00.025598) Warn (criu/x.c:1): nothing\n"
      "criu: unrecognized option '--x'\n";
  auto lines = criu_error_lines(log);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("vDSO"), std::string::npos);
  EXPECT_EQ(lines[1], "criu: unrecognized option '--x'");
}

}  // namespace
}  // namespace berth::runtime
