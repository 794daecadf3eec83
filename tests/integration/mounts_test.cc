// Rootfs and mounts (runtime-spec config.md "Root", "Mounts"; config-linux.md
// "Default Filesystems", "rootfsPropagation", "maskedPaths", "readonlyPaths", "sysctl").
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include "harness.h"

namespace fs = std::filesystem;

namespace berth::test {
namespace {

// The mount the container sees at `target` (the last one: the top of the stack).
json mount_at(const json& j, const std::string& target) {
  json found;
  if (!j.contains("mounts")) return found;
  for (auto& m : j["mounts"])
    if (m["target"] == target) found = m;
  return found;
}

bool has_opt(const json& m, const std::string& opt) {
  if (!m.is_object()) return false;
  std::string all = "," + m["options"].get<std::string>() + "," + m["super_options"].get<std::string>() + ",";
  return all.find("," + opt + ",") != std::string::npos;
}

std::string host_dir(const Bundle& b, const std::string& name, const std::string& file_content = "") {
  std::string d = b.dir + "/" + name;
  fs::create_directories(d);
  if (!file_content.empty()) write_file(d + "/file", file_content);
  return d;
}

TEST(Mounts, DefaultFilesystems) {
  Bundle b;
  auto j = b.check();
  EXPECT_EQ(mount_at(j, "/proc")["fstype"], "proc");
  EXPECT_EQ(mount_at(j, "/sys")["fstype"], "sysfs");
  EXPECT_EQ(mount_at(j, "/dev")["fstype"], "tmpfs");
  EXPECT_EQ(mount_at(j, "/dev/pts")["fstype"], "devpts");
  EXPECT_EQ(mount_at(j, "/dev/shm")["fstype"], "tmpfs");
  EXPECT_EQ(mount_at(j, "/dev/mqueue")["fstype"], "mqueue");
  // runc spec's /sys/fs/cgroup mount of type "cgroup": on v1, a tmpfs with one
  // mount per hierarchy below it; on v2 a cgroup2 mount
  auto cg = mount_at(j, "/sys/fs/cgroup");
  ASSERT_TRUE(cg.is_object()) << "no /sys/fs/cgroup mount";
  EXPECT_TRUE(cg["fstype"] == "tmpfs" || cg["fstype"] == "cgroup2") << cg;
  bool any_cgroup = false;
  for (auto& m : j["mounts"])
    any_cgroup |= m["target"].get<std::string>().rfind("/sys/fs/cgroup", 0) == 0 &&
                  (m["fstype"] == "cgroup" || m["fstype"] == "cgroup2");
  EXPECT_TRUE(any_cgroup);
  EXPECT_TRUE(has_opt(mount_at(j, "/sys"), "ro"));
  EXPECT_TRUE(has_opt(mount_at(j, "/dev/shm"), "nosuid"));
  EXPECT_TRUE(has_opt(mount_at(j, "/dev/shm"), "noexec"));
  EXPECT_TRUE(has_opt(mount_at(j, "/dev/shm"), "nodev"));
  // the root is the bundle's rootfs, nothing of the host above it
  EXPECT_TRUE(mount_at(j, "/").is_object());
  for (auto& m : j["mounts"]) EXPECT_EQ(m["target"].get<std::string>().find(b.dir), std::string::npos) << m;
}

TEST(Mounts, ReadonlyRoot) {
  Bundle b;
  b.config["root"]["readonly"] = true;
  auto j = b.check({"write", "/berth-file"});
  EXPECT_FALSE(j["ok"]);
  EXPECT_EQ(j["errno"], EROFS);
  b.config["root"]["readonly"] = false;
  auto k = b.check({"write", "/berth-file"});
  EXPECT_TRUE(k["ok"]) << k;
  EXPECT_TRUE(fs::exists(b.rootfs + "/berth-file"));
}

TEST(Mounts, RootPathRelativeAndAbsolute) {
  Bundle b;
  b.config["root"]["path"] = b.rootfs;  // absolute
  auto r = b.run();
  EXPECT_EQ(r.status, 0) << r.describe();
}

TEST(Mounts, BindAndReadonlyBind) {
  Bundle b;
  auto src = host_dir(b, "src", "from host\n");
  b.config["mounts"].push_back({{"destination", "/mnt/rw"}, {"type", "bind"}, {"source", src}, {"options", {"bind"}}});
  b.config["mounts"].push_back({{"destination", "/mnt/ro"}, {"type", "bind"}, {"source", src}, {"options", {"bind", "ro"}}});
  // a destination that does not exist in the rootfs is created
  b.checker_args({"cat", "/mnt/rw/file"});
  auto j = parse_checker(b.run().out);
  EXPECT_EQ(j["content"], "from host\n");
  EXPECT_TRUE(b.check({"write", "/mnt/rw/new"})["ok"]);
  EXPECT_TRUE(fs::exists(src + "/new")) << "writes through a bind mount reach the source";
  auto ro = b.check({"write", "/mnt/ro/other"});
  EXPECT_FALSE(ro["ok"]);
  EXPECT_EQ(ro["errno"], EROFS);
  auto all = b.check();
  EXPECT_TRUE(has_opt(mount_at(all, "/mnt/ro"), "ro"));
  EXPECT_TRUE(has_opt(mount_at(all, "/mnt/rw"), "rw"));
}

TEST(Mounts, BindFile) {
  Bundle b;
  auto src = host_dir(b, "src", "single file\n");
  b.config["mounts"].push_back({{"destination", "/etc/berth.conf"}, {"type", "none"}, {"source", src + "/file"},
                                {"options", {"bind", "ro"}}});
  auto j = b.check({"cat", "/etc/berth.conf"});
  EXPECT_EQ(j["content"], "single file\n");
}

TEST(Mounts, RbindCarriesSubmounts) {
  Bundle b;
  auto src = host_dir(b, "src", "top\n");
  fs::create_directories(src + "/sub");
  // a submount in the test's private mount namespace (main.cc)
  ASSERT_EQ(mount("tmpfs", (src + "/sub").c_str(), "tmpfs", 0, "size=1m"), 0);
  write_file(src + "/sub/inner", "inner\n");
  b.config["mounts"].push_back({{"destination", "/mnt/r"}, {"type", "bind"}, {"source", src}, {"options", {"rbind"}}});
  b.config["mounts"].push_back({{"destination", "/mnt/b"}, {"type", "bind"}, {"source", src}, {"options", {"bind"}}});
  b.checker_args({"cat", "/mnt/r/sub/inner"});
  auto j = parse_checker(b.run().out);
  EXPECT_EQ(j["content"], "inner\n") << "rbind must carry the submount";
  auto k = b.check({"cat", "/mnt/b/sub/inner"});
  EXPECT_NE(k["errno"], 0) << "a plain bind must not carry submounts: " << k;
  umount2((src + "/sub").c_str(), MNT_DETACH);
}

TEST(Mounts, NosuidNodevNoexecAndRelatime) {
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/mnt/t"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                {"options", {"nosuid", "nodev", "noexec", "relatime"}}});
  b.config["mounts"].push_back({{"destination", "/mnt/s"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                {"options", {"strictatime", "nosuid"}}});
  auto j = b.check();
  auto t = mount_at(j, "/mnt/t");
  for (auto o : {"nosuid", "nodev", "noexec", "relatime", "rw"}) EXPECT_TRUE(has_opt(t, o)) << o << ": " << t;
  auto s = mount_at(j, "/mnt/s");
  EXPECT_FALSE(has_opt(s, "noexec")) << s;
  EXPECT_FALSE(has_opt(s, "relatime")) << "strictatime: " << s;
  // noexec holds: a copy of the checker cannot run from there
  b.set_args({"/bin/sh", "-c", "cp /bin/checker /mnt/t/c && /mnt/t/c exit 0"});
  EXPECT_NE(b.run().status, 0);
}

TEST(Mounts, TmpfsSizeAndMode) {
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/mnt/t"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                {"options", {"size=1m", "mode=700"}}});
  // first run: the destination does not exist yet in the rootfs (runc keeps
  // the mode of an existing destination directory)
  auto st = b.check({"stat", "/mnt/t"});
  EXPECT_EQ(st["mode"], 0700);
  auto j = b.check();
  auto t = mount_at(j, "/mnt/t");
  ASSERT_TRUE(t.is_object());
  EXPECT_TRUE(has_opt(t, "size=1024k")) << t;
  EXPECT_TRUE(has_opt(t, "mode=700")) << t;
}

TEST(Mounts, ProcSysfsMqueueDevptsAtOtherPlaces) {
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/mnt/proc2"}, {"type", "proc"}, {"source", "proc"}});
  b.config["mounts"].push_back({{"destination", "/mnt/mq"}, {"type", "mqueue"}, {"source", "mqueue"}});
  auto j = b.check();
  EXPECT_EQ(mount_at(j, "/mnt/proc2")["fstype"], "proc");
  EXPECT_EQ(mount_at(j, "/mnt/mq")["fstype"], "mqueue");
  auto p = b.check({"readlink", "/mnt/proc2/self"});
  EXPECT_EQ(p["target"], "1") << "a proc of the container's pid namespace: " << p;
}

TEST(Mounts, CgroupMountReadonly) {
  Bundle b;
  auto j = b.check();
  for (auto& m : j["mounts"]) {
    auto t = m["target"].get<std::string>();
    if (t.rfind("/sys/fs/cgroup/", 0) == 0 && m["fstype"] == "cgroup") { EXPECT_TRUE(has_opt(m, "ro")) << m; }
  }
}

TEST(Mounts, RootfsPropagation) {
  // The container's "/" gets the propagation named; a slave needs a shared
  // master to show one, so for "slave" only "not shared" is required.
  for (std::string prop : {"private", "slave"}) {
    SCOPED_TRACE(prop);
    Bundle b;
    b.config["linux"]["rootfsPropagation"] = prop;
    auto j = b.check();
    auto root = mount_at(j, "/");
    ASSERT_TRUE(root.is_object());
    auto p = root["propagation"].get<std::string>();
    EXPECT_EQ(p.find("shared:"), std::string::npos) << root;
    if (prop == "private") { EXPECT_EQ(p, "") << root; }
  }
}

TEST(Mounts, RootfsPropagationShared) {
  SKIP_ON_RUNC("runc 1.1 makes the rootfs' parent mount private before binding it, so / ends up private");
  Bundle b;
  b.config["linux"]["rootfsPropagation"] = "shared";
  auto j = b.check();
  auto root = mount_at(j, "/");
  EXPECT_NE(root["propagation"].get<std::string>().find("shared:"), std::string::npos) << root;
}

TEST(Mounts, BindPropagationFlags) {
  Bundle b;
  auto src = host_dir(b, "src", "x\n");
  b.config["mounts"].push_back({{"destination", "/mnt/sh"}, {"type", "bind"}, {"source", src}, {"options", {"rbind", "rshared"}}});
  b.config["mounts"].push_back({{"destination", "/mnt/pr"}, {"type", "bind"}, {"source", src}, {"options", {"rbind", "rprivate"}}});
  auto j = b.check();
  EXPECT_NE(mount_at(j, "/mnt/sh")["propagation"].get<std::string>().find("shared:"), std::string::npos) << mount_at(j, "/mnt/sh");
  EXPECT_EQ(mount_at(j, "/mnt/pr")["propagation"], "") << mount_at(j, "/mnt/pr");
}

TEST(Mounts, MaskedPaths) {
  Bundle b;
  b.config["root"]["readonly"] = false;
  b.config["linux"]["maskedPaths"].push_back("/etc/hostname");
  b.config["linux"]["maskedPaths"].push_back("/home");
  b.config["linux"]["maskedPaths"].push_back("/does/not/exist");
  auto f = b.check({"cat", "/etc/hostname"});
  EXPECT_EQ(f["errno"], 0) << f;
  EXPECT_EQ(f["content"], "") << "a masked file reads empty";
  auto d = b.check({"ls", "/home"});
  EXPECT_EQ(d["names"].size(), 0u) << "a masked directory is empty: " << d;
  auto k = b.check({"cat", "/proc/kcore"});
  EXPECT_EQ(k["content"], "");
  EXPECT_FALSE(b.check({"write", "/home/x"})["ok"]) << "masked directories are read-only";
}

TEST(Mounts, ReadonlyPaths) {
  Bundle b;
  b.config["root"]["readonly"] = false;
  b.config["linux"]["readonlyPaths"].push_back("/tmp");
  b.config["linux"]["readonlyPaths"].push_back("/does/not/exist");
  auto t = b.check({"write", "/tmp/x"});
  EXPECT_FALSE(t["ok"]);
  EXPECT_EQ(t["errno"], EROFS);
  EXPECT_TRUE(b.check({"write", "/var/tmp/x"})["ok"]);
  auto s = b.check({"write", "/proc/sys/kernel/hostname"});
  EXPECT_FALSE(s["ok"]) << "/proc/sys is read-only in runc's default spec";
}

TEST(Mounts, Sysctl) {
  Bundle b;
  b.config["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "123456789"}};
  auto j = b.check({"cat", "/proc/sys/net/ipv4/ip_forward"});
  EXPECT_EQ(j["content"], "1\n");
  auto k = b.check({"cat", "/proc/sys/kernel/shmmax"});
  EXPECT_EQ(k["content"], "123456789\n");
  // the host's values are untouched (new net and ipc namespaces)
  EXPECT_NE(read_file("/proc/sys/kernel/shmmax"), "123456789\n");
}

TEST(Mounts, SysctlOfHostNamespaceRefused) {
  // net.* with the host's network namespace would change the host: refused
  Bundle b;
  b.remove_namespace("network");
  b.config["linux"]["sysctl"] = {{"net.ipv4.ip_forward", read_file("/proc/sys/net/ipv4/ip_forward") == "1\n" ? "0" : "1"}};
  std::string before = read_file("/proc/sys/net/ipv4/ip_forward");
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  EXPECT_EQ(read_file("/proc/sys/net/ipv4/ip_forward"), before);
}

TEST(Mounts, UnknownMountTypeFails) {
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/mnt/x"}, {"type", "berth-no-such-fs"}, {"source", "none"}});
  auto r = b.run();
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(b.state().has_value());
}

}  // namespace
}  // namespace berth::test
