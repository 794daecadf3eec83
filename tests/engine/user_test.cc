// resolve_user: docker's user[:group] rules over the rootfs's /etc/passwd and
// /etc/group, read inside the rootfs even through hostile symlinks.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "engine/spec_builder.h"
#include "spec_test_util.h"

namespace berth::engine {
namespace {

using testing::TempRootfs;

std::string err(const auto& r) { return r ? std::string("<ok>") : r.error().what(); }

TEST(ResolveUser, NamesNumbersAndGroups) {
  TempRootfs fs;
  fs.write_users();
  auto u = resolve_user(fs.rootfs(), "");
  ASSERT_TRUE(u) << err(u);
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->home, "/root");
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10}));

  u = resolve_user(fs.rootfs(), "bob");
  ASSERT_TRUE(u) << err(u);
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->home, "/home/bob");
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10, 29}));

  u = resolve_user(fs.rootfs(), "1000");  // a number with an entry takes the entry's gid and groups
  ASSERT_TRUE(u);
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10, 29}));

  u = resolve_user(fs.rootfs(), "2000");  // without an entry: as it is, gid 0, home /
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 2000u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_EQ(u->home, "/");
  EXPECT_TRUE(u->additional_gids.empty());

  u = resolve_user(fs.rootfs(), "bob:audio");  // an explicit group: no supplementary ones
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 29u);
  EXPECT_TRUE(u->additional_gids.empty());

  u = resolve_user(fs.rootfs(), "2000:3000");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 2000u);
  EXPECT_EQ(u->gid, 3000u);

  u = resolve_user(fs.rootfs(), "nohome");  // too few fields for a home: "/"
  ASSERT_TRUE(u) << err(u);
  EXPECT_EQ(u->uid, 1001u);
  EXPECT_EQ(u->home, "/");

  EXPECT_EQ(err(resolve_user(fs.rootfs(), "carol")), "user \"carol\": no such user in the image's /etc/passwd");
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "bob:nogroup")), "group \"nogroup\": no such group in the image's /etc/group");
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "bob:")), "user \"bob:\": empty group");
}

TEST(ResolveUser, WithoutPasswdFile) {
  TempRootfs fs;
  auto u = resolve_user(fs.rootfs(), "");
  ASSERT_TRUE(u) << err(u);
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->home, "/");
  u = resolve_user(fs.rootfs(), "123:456");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->uid, 123u);
  EXPECT_EQ(u->gid, 456u);
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "bob")), "user \"bob\": no such user in the image's /etc/passwd");
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "0:wheel")), "group \"wheel\": no such group in the image's /etc/group");
  EXPECT_EQ(err(resolve_user(fs.dir() + "/missing", "")),
            "open rootfs " + fs.dir() + "/missing: No such file or directory");
}

TEST(ResolveUser, SymlinksStayInsideTheRootfs) {
  TempRootfs fs;
  // A host file the image must not read: a sibling of the rootfs, named by a
  // relative symlink that climbs out and by an absolute one.
  std::filesystem::create_directories(fs.dir() + "/outside");
  std::ofstream(fs.dir() + "/outside/shadow") << "evil:x:0:0::/evil:/bin/sh\n";
  std::filesystem::create_symlink("../../../../../../outside/shadow", fs.rootfs() + "/etc/passwd");
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "evil")), "user \"evil\": no such user in the image's /etc/passwd");
  // ".." stops at the rootfs's root: the link names <rootfs>/outside/shadow.
  fs.write("/outside/shadow", "inside:x:7:7::/in:/bin/sh\n");
  auto u = resolve_user(fs.rootfs(), "inside");
  ASSERT_TRUE(u) << err(u);
  EXPECT_EQ(u->uid, 7u);
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "evil")), "user \"evil\": no such user in the image's /etc/passwd");

  std::filesystem::remove(fs.rootfs() + "/etc/passwd");
  std::filesystem::create_symlink(fs.dir() + "/outside/shadow", fs.rootfs() + "/etc/passwd");
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "evil")), "user \"evil\": no such user in the image's /etc/passwd");

  // /etc itself a symlink out of the rootfs.
  std::filesystem::remove_all(fs.rootfs() + "/etc");
  std::filesystem::create_symlink(fs.dir() + "/outside", fs.rootfs() + "/etc");
  std::ofstream(fs.dir() + "/outside/passwd") << "evil:x:0:0::/evil:/bin/sh\n";
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "evil")), "user \"evil\": no such user in the image's /etc/passwd");
}

TEST(ResolveUser, OddFiles) {
  TempRootfs fs;
  ASSERT_EQ(::mkfifo((fs.rootfs() + "/etc/passwd").c_str(), 0644), 0);
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "bob")), "/etc/passwd in the rootfs is not a regular file");
  std::filesystem::remove(fs.rootfs() + "/etc/passwd");
  std::filesystem::create_directory(fs.rootfs() + "/etc/passwd");
  EXPECT_EQ(err(resolve_user(fs.rootfs(), "bob")), "/etc/passwd in the rootfs is not a regular file");
}

}  // namespace
}  // namespace berth::engine
