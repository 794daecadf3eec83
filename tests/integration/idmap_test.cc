// Idmapped bind mounts (runtime-spec 1.2: mounts[].uidMappings/gidMappings,
// the "idmap" and "ridmap" options). The source is a directory of the bundle,
// on /var/tmp's filesystem (ext4 here, idmapped mounts since Linux 5.12),
// holding files owned by 0 and 1000; the checker stats them inside.
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "harness.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;

#define SKIP_RUNC_IDMAP() SKIP_ON_RUNC("runc 1.1 has no idmapped mounts (runc 1.2): it ignores mounts[].uidMappings")

json range(long container, long host, long size) {
  return json::array({{{"containerID", container}, {"hostID", host}, {"size", size}}});
}

// <bundle>/idmap-src with "root-file" (0:0) and "user-file" (1000:1000).
std::string make_source(const Bundle& b) {
  std::string src = b.dir + "/idmap-src";
  fs::create_directory(src);
  write_file(src + "/root-file", "r");
  write_file(src + "/user-file", "u");
  EXPECT_EQ(chown((src + "/root-file").c_str(), 0, 0), 0);
  EXPECT_EQ(chown((src + "/user-file").c_str(), 1000, 1000), 0);
  return src;
}

void add_idmapped(Bundle& b, const std::string& src, const std::string& dest, std::vector<std::string> options,
                  const json& uids, const json& gids) {
  // Made beforehand: an init in a user namespace may not write the root-owned rootfs.
  if (fs::is_directory(src)) fs::create_directories(b.rootfs + dest);
  json m = {{"destination", dest}, {"type", "bind"}, {"source", src}, {"options", options}};
  if (!uids.is_null()) m["uidMappings"] = uids;
  if (!gids.is_null()) m["gidMappings"] = gids;
  b.config["mounts"].push_back(m);
}

void add_userns(Bundle& b) {
  b.add_namespace("user");
  b.config["linux"]["uidMappings"] = range(0, 100000, 65536);
  b.config["linux"]["gidMappings"] = range(0, 100000, 65536);
}

std::pair<long, long> owner(Bundle& b, const std::string& path) {
  auto j = b.check({"stat", path});
  EXPECT_TRUE(j.value("exists", false)) << path << ": " << j;
  return {j.value("uid", -1L), j.value("gid", -1L)};
}

TEST(Idmap, FeaturesReportIdmap) {
  SKIP_ON_RUNC("runc 1.1 has no features verb and no idmapped mounts");
  auto r = run_cmd({runtime_path(), "features"});
  ASSERT_EQ(r.status, 0) << r.describe();
  auto j = json::parse(r.out);
  EXPECT_EQ(j["linux"]["mountExtensions"]["idmap"]["enabled"], true) << j["linux"]["mountExtensions"];
  auto& opts = j["mountOptions"];
  EXPECT_NE(std::find(opts.begin(), opts.end(), "idmap"), opts.end()) << opts;
  EXPECT_NE(std::find(opts.begin(), opts.end(), "ridmap"), opts.end()) << opts;
}

TEST(Idmap, SourceFilesystemSupportsIdmappedMounts) {
  // What the other tests rely on: report the filesystem if it is not one that can.
  struct statfs st {};
  ASSERT_EQ(statfs("/var/tmp", &st), 0);
  const long type = st.f_type;
  EXPECT_TRUE(type == EXT4_SUPER_MAGIC || type == XFS_SUPER_MAGIC || type == BTRFS_SUPER_MAGIC ||
              type == TMPFS_MAGIC)
      << "/var/tmp is on filesystem magic 0x" << std::hex << type << ", not one known to support idmapped mounts";
}

// No user namespace in the container: the mount alone shifts the owners
// (on-disk 0 -> 100000, 1000 -> 101000).
TEST(Idmap, MappingShiftsOwnersWithoutUserNamespace) {
  SKIP_RUNC_IDMAP();
  Bundle b;
  auto src = make_source(b);
  add_idmapped(b, src, "/mnt/idmapped", {"bind"}, range(0, 100000, 65536), range(0, 100000, 65536));
  EXPECT_EQ(owner(b, "/mnt/idmapped/root-file"), std::make_pair(100000L, 100000L));
  EXPECT_EQ(owner(b, "/mnt/idmapped/user-file"), std::make_pair(101000L, 101000L));
  // The host's view is unchanged.
  struct stat st {};
  ASSERT_EQ(stat((src + "/user-file").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
}

// The usual case: the mount's mapping is the container's, so host-owned files
// keep their owners as the container sees them.
TEST(Idmap, MappingMatchesContainerUserNamespace) {
  SKIP_RUNC_IDMAP();
  Bundle b;
  add_userns(b);
  auto src = make_source(b);
  add_idmapped(b, src, "/mnt/idmapped", {"bind"}, range(0, 100000, 65536), range(0, 100000, 65536));
  EXPECT_EQ(owner(b, "/mnt/idmapped/root-file"), std::make_pair(0L, 0L));
  EXPECT_EQ(owner(b, "/mnt/idmapped/user-file"), std::make_pair(1000L, 1000L));
  // Without the idmapping the same files are unmapped inside (overflow ids).
  Bundle plain;
  add_userns(plain);
  auto plain_src = make_source(plain);
  fs::create_directories(plain.rootfs + "/mnt/plain");
  plain.config["mounts"].push_back({{"destination", "/mnt/plain"}, {"type", "bind"}, {"source", plain_src},
                                    {"options", {"bind"}}});
  EXPECT_EQ(owner(plain, "/mnt/plain/root-file"), std::make_pair(65534L, 65534L));
}

// A different uid and gid mapping on one mount, and a file bind mount.
TEST(Idmap, SeparateUidAndGidMappingsOnAFile) {
  SKIP_RUNC_IDMAP();
  Bundle b;
  auto src = make_source(b);
  add_idmapped(b, src + "/user-file", "/etc/idmapped-file", {"bind"}, range(1000, 2000, 1), range(1000, 3000, 1));
  EXPECT_EQ(owner(b, "/etc/idmapped-file"), std::make_pair(2000L, 3000L));
}

// "idmap" without mappings of its own takes the container's (runtime-spec 1.2).
TEST(Idmap, IdmapOptionTakesContainerMappings) {
  SKIP_RUNC_IDMAP();
  Bundle b;
  add_userns(b);
  auto src = make_source(b);
  add_idmapped(b, src, "/mnt/idmapped", {"bind", "idmap"}, nullptr, nullptr);
  EXPECT_EQ(owner(b, "/mnt/idmapped/user-file"), std::make_pair(1000L, 1000L));
}

TEST(Idmap, ReadOnlyIdmappedMount) {
  SKIP_RUNC_IDMAP();
  Bundle b;
  add_userns(b);
  auto src = make_source(b);
  add_idmapped(b, src, "/mnt/idmapped", {"bind", "ro"}, range(0, 100000, 65536), range(0, 100000, 65536));
  auto j = b.check({"write", "/mnt/idmapped/new-file"});
  EXPECT_EQ(j.value("errno", 0), EROFS) << j;
  EXPECT_FALSE(fs::exists(src + "/new-file"));
}

// Files created through the idmapped mount land on disk with the host ids.
TEST(Idmap, NewFilesGetUnmappedOwners) {
  SKIP_RUNC_IDMAP();
  Bundle b;
  add_userns(b);
  auto src = make_source(b);
  add_idmapped(b, src, "/mnt/idmapped", {"bind"}, range(0, 100000, 65536), range(0, 100000, 65536));
  b.check({"write", "/mnt/idmapped/new-file"});
  struct stat st {};
  ASSERT_EQ(stat((src + "/new-file").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "container root through a 0->100000 idmapped mount writes on-disk uid 0";
}

// sysfs has no idmapped mounts: the error names the destination.
TEST(Idmap, UnsupportedFilesystemIsNamed) {
  SKIP_RUNC_IDMAP();
  Bundle b;
  add_idmapped(b, "/sys/kernel", "/mnt/sysfs-idmapped", {"rbind"}, range(0, 100000, 65536),
               range(0, 100000, 65536));
  b.checker_args({"exit", "0"});
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  EXPECT_NE(r.err.find("/mnt/sysfs-idmapped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not support idmapped mounts"), std::string::npos) << r.err;
  EXPECT_EQ(b.status(), "");
}

TEST(Idmap, OnlyBindMounts) {
  SKIP_RUNC_IDMAP();
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/mnt/tmpfs-idmapped"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                {"uidMappings", range(0, 100000, 65536)},
                                {"gidMappings", range(0, 100000, 65536)}});
  b.checker_args({"exit", "0"});
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  EXPECT_NE(r.err.find("/mnt/tmpfs-idmapped"), std::string::npos) << r.err;
}

// The rootless runtime may not idmap a disk filesystem (that needs
// CAP_SYS_ADMIN over its user namespace, the initial one): a clear error.
TEST(Idmap, RootlessRuntimeIsRefusedClearly) {
  SKIP_RUNC_IDMAP();
  Bundle b;
  auto src = make_source(b);
  fs::create_directory(b.dir + "/xdg");
  ASSERT_EQ(run_cmd({"chown", "-R", "100000:100000", b.dir}).status, 0);
  b.runner = {"setpriv", "--reuid=100000", "--regid=100000", "--clear-groups", "env", "XDG_RUNTIME_DIR=" + b.dir + "/xdg"};
  auto spec = b.rt({"spec", "--rootless", "--bundle", b.dir});
  ASSERT_EQ(spec.status, 0) << spec.describe();
  b.config = json::parse(read_file(b.dir + "/config.json"));
  b.config["process"]["terminal"] = false;
  add_idmapped(b, src, "/mnt/idmapped", {"bind"}, range(0, 100000, 1), range(0, 100000, 1));
  b.checker_args({"exit", "0"});
  auto r = b.run();
  EXPECT_NE(r.status, 0) << r.describe();
  EXPECT_NE(r.err.find("/mnt/idmapped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rootless"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test
