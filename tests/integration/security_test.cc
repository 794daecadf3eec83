// Security from the first line (issue 2): fds not passed on are closed; mount
// targets and cwd are resolved inside the rootfs; /proc targets that are
// symlinks are refused; the runtime binary cannot be reached for writing.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "harness.h"

namespace fs = std::filesystem;

namespace berth::test {
namespace {

json mount_at(const json& j, const std::string& target) {
  json found;
  if (j.contains("mounts"))
    for (auto& m : j["mounts"])
      if (m["target"] == target) found = m;
  return found;
}

TEST(Security, OnlyStdioFdsReachTheContainer) {
  Bundle b;
  // fds 3 and 4 of the runtime, not passed with --preserve-fds
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  CmdOptions o;
  o.extra_fds = {fds[0], fds[1]};
  b.checker_args({"all"});
  auto r = b.run({}, o);
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = parse_checker(r.out);
  std::vector<int> seen;
  for (auto& f : j["fds"]) seen.push_back(f["fd"]);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2})) << j["fds"];
  close(fds[0]);
  close(fds[1]);
}

TEST(Security, OnlyStdioFdsAfterCreateStart) {
  Bundle b;
  std::string out = b.dir + "/out.txt";
  b.checker_args({"all"});
  CmdOptions o;
  o.stdout_file = out;
  ASSERT_EQ(b.create({}, o).status, 0);
  ASSERT_EQ(b.start().status, 0);
  ASSERT_TRUE(b.wait_status("stopped"));
  auto j = parse_checker(read_file(out));
  std::vector<int> seen;
  for (auto& f : j["fds"]) seen.push_back(f["fd"]);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2})) << j["fds"];
}

// A mount destination through an absolute symlink that names a host path:
// resolved inside the rootfs, the mount lands there, never on the host.
TEST(Security, AbsoluteSymlinkMountTargetStaysInRootfs) {
  Bundle b;
  std::string outside = b.dir + "/outside";
  fs::create_directories(outside);
  fs::create_symlink(outside + "/target", b.rootfs + "/evil");
  b.config["mounts"].push_back({{"destination", "/evil"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"size=1m"}}});
  b.checker_args({"all"});
  auto r = b.run();
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = parse_checker(r.out);
  EXPECT_FALSE(fs::exists(outside + "/target")) << "the runtime followed the symlink to the host";
  EXPECT_TRUE(mount_at(j, outside + "/target").is_object()) << "mount must land at the symlink's target inside the rootfs";
  EXPECT_TRUE(fs::is_directory(b.rootfs + outside + "/target"));
}

TEST(Security, DotDotSymlinkMountTargetStaysInRootfs) {
  Bundle b;
  std::string outside = b.dir + "/outside";
  fs::create_directories(outside);
  // ../../../.. from /evil climbs to the rootfs' / and no further
  fs::create_symlink("../../../../../../../.." + outside + "/target", b.rootfs + "/evil");
  b.config["mounts"].push_back({{"destination", "/evil"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"size=1m"}}});
  b.checker_args({"all"});
  auto r = b.run();
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = parse_checker(r.out);
  EXPECT_FALSE(fs::exists(outside + "/target"));
  EXPECT_TRUE(mount_at(j, outside + "/target").is_object());
}

TEST(Security, BindMountThroughSymlinkStaysInRootfs) {
  Bundle b;
  std::string outside = b.dir + "/outside";
  std::string src = b.dir + "/src";
  fs::create_directories(outside);
  fs::create_directories(src);
  write_file(src + "/file", "x");
  write_file(outside + "/precious", "host data");
  fs::create_directories(b.rootfs + "/mnt/dir");
  fs::create_symlink(outside, b.rootfs + "/mnt/dir/link");
  b.config["mounts"].push_back({{"destination", "/mnt/dir/link"}, {"type", "bind"}, {"source", src}, {"options", {"bind"}}});
  auto r = b.run();
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(read_file(outside + "/precious"), "host data");
  EXPECT_TRUE(mounts_containing(outside).empty());
}

TEST(Security, ProcTargetSymlinkRefused) {
  Bundle b;
  fs::remove(b.rootfs + "/proc");
  fs::create_directories(b.rootfs + "/fakeproc");
  fs::create_symlink("/fakeproc", b.rootfs + "/proc");
  auto r = b.run();
  EXPECT_NE(r.status, 0) << "a /proc mount target that is a symlink must be refused: " << r.describe();
  EXPECT_FALSE(b.state().has_value());
}

TEST(Security, SysTargetSymlinkRefused) {
  SKIP_ON_RUNC("runc 1.1 only refuses symlinked /proc targets");
  Bundle b;
  fs::remove(b.rootfs + "/sys");
  fs::create_directories(b.rootfs + "/fakesys");
  fs::create_symlink("/fakesys", b.rootfs + "/sys");
  auto r = b.run();
  EXPECT_NE(r.status, 0) << "a /sys mount target that is a symlink must be refused: " << r.describe();
}

TEST(Security, CwdSymlinkResolvedInsideRootfs) {
  Bundle b;
  std::string outside = b.dir + "/outside";
  fs::create_directories(outside);
  fs::create_directories(b.rootfs + outside);  // the same path inside the rootfs
  fs::create_symlink(outside, b.rootfs + "/work");
  b.config["root"]["readonly"] = false;
  b.config["process"]["cwd"] = "/work";
  auto j = b.check({"write", "marker"});
  EXPECT_TRUE(j["ok"]) << j;
  EXPECT_FALSE(fs::exists(outside + "/marker")) << "cwd escaped the rootfs";
  EXPECT_TRUE(fs::exists(b.rootfs + outside + "/marker"));
}

// CVE-2019-5736: the process in the container before start is the runtime's
// own init; its /proc/PID/exe must not be the host's runtime binary (or must
// not be openable for writing).
TEST(Security, RuntimeExeNotWritableThroughProc) {
  Bundle b;
  ASSERT_EQ(b.create().status, 0);
  int pid = (*b.state())["pid"];
  std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  std::error_code ec;
  auto target = fs::read_symlink(exe, ec);
  auto real = fs::canonical(runtime_path(), ec);
  EXPECT_NE(target, real) << "the container's init runs the host binary itself";
  int fd = open(exe.c_str(), O_WRONLY);
  EXPECT_LT(fd, 0) << "opened " << target << " for writing";
  if (fd >= 0) close(fd);
  struct stat before, after;
  ASSERT_EQ(stat(real.c_str(), &before), 0);
  ASSERT_EQ(b.start().status, 0);
  ASSERT_TRUE(b.wait_status("stopped"));
  ASSERT_EQ(stat(real.c_str(), &after), 0);
  EXPECT_EQ(before.st_mtime, after.st_mtime);
}

}  // namespace
}  // namespace berth::test
