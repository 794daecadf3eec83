// remove_tree: a whole tree goes, a symlink's target never does, and a mount
// point inside the tree stops the removal before its content is touched.
#include "image/remove_tree.h"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "temp_root.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;
using testing::TempRoot;

void touch(const std::string& path) { std::ofstream(path) << "x"; }

// Mounts made by a test stay in a mount namespace of the test process's own.
void private_mounts() {
  ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
  ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0) << std::strerror(errno);
}

TEST(RemoveTree, RemovesATreeButNotWhatItsSymlinksPointAt) {
  TempRoot root("remove-tree");
  fs::create_directories(root / "outside");
  touch(root / "outside/kept");
  fs::create_directories(root / "tree/a/b");
  touch(root / "tree/a/b/file");
  fs::create_symlink(root / "outside", root / "tree/a/link");
  fs::create_symlink(root / "outside/kept", root / "tree/filelink");

  ASSERT_TRUE(remove_tree(root / "tree"));
  EXPECT_FALSE(fs::exists(root / "tree"));
  EXPECT_TRUE(fs::exists(root / "outside/kept"));
  EXPECT_TRUE(remove_tree(root / "tree")) << "a missing tree is not an error";
}

TEST(RemoveTree, AMountPointInsideStopsItBeforeItsContentIsTouched) {
  private_mounts();
  TempRoot root("remove-tree");
  fs::create_directories(root / "tree/sub/tmpfs");
  fs::create_directories(root / "tree/sub/bind");
  fs::create_directories(root / "kept");
  touch(root / "kept/file");
  ASSERT_EQ(::mount("tmpfs", (root / "tree/sub/tmpfs").c_str(), "tmpfs", 0, nullptr), 0);
  touch(root / "tree/sub/tmpfs/file");
  // A bind mount of the same filesystem: a different st_dev cannot tell it.
  ASSERT_EQ(::mount((root / "kept").c_str(), (root / "tree/sub/bind").c_str(), nullptr, MS_BIND, nullptr), 0);

  for (int i = 0; i < 2; ++i) {
    auto r = remove_tree(root / "tree");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), EBUSY);
    EXPECT_NE(std::string(r.error().what()).find("/tree/sub/"), std::string::npos) << r.error().what();
    EXPECT_TRUE(fs::exists(root / "kept/file"));
    EXPECT_TRUE(fs::exists(root / "tree/sub/tmpfs/file"));
    ASSERT_EQ(::umount2((root / (i == 0 ? "tree/sub/bind" : "tree/sub/tmpfs")).c_str(), 0), 0);
  }
  ASSERT_TRUE(remove_tree(root / "tree"));
  EXPECT_FALSE(fs::exists(root / "tree"));
  EXPECT_TRUE(fs::exists(root / "kept/file"));
}

}  // namespace
}  // namespace berth::image
