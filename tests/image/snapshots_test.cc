// Snapshots: prepare / commit (atomic, first wins) / remove / list, leftovers
// of interrupted unpacks removed at the next open, and overlay mounts of
// unpacked layers in the right order (as root, in a private mount namespace).
#include "image/snapshots.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "image/unpack.h"
#include "tar_builder.h"
#include "temp_root.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;
using namespace berth::image::testing;

oci::Digest chain(char c) { return {"sha256", std::string(64, c)}; }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs `body` in a child with a private mount namespace; its exit code.
int in_mount_namespace(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) _exit(100);
    _exit(body());
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(Snapshots, PrepareCommitListRemove) {
  TempRoot root("snapshots");
  auto snaps = Snapshots::open(root.path());
  ASSERT_TRUE(snaps) << snaps.error().what();
  EXPECT_FALSE(snaps->has(chain('a')));
  auto p = snaps->prepare();
  ASSERT_TRUE(p) << p.error().what();
  EXPECT_TRUE(p->fs_path().starts_with(root.path() + "/snapshots/tmp/"));
  std::ofstream(p->fs_path() + "/hello") << "world";
  auto committed = snaps->commit(std::move(*p), chain('a'));
  ASSERT_TRUE(committed) << committed.error().what();
  EXPECT_EQ(*committed, root.path() + "/snapshots/" + std::string(64, 'a') + "/fs");
  EXPECT_EQ(snaps->path(chain('a')).value(), *committed);
  EXPECT_TRUE(snaps->has(chain('a')));
  EXPECT_EQ(slurp(*committed + "/hello"), "world");
  EXPECT_TRUE(fs::is_empty(root.path() + "/snapshots/tmp"));

  // A second commit of the same chain ID: the existing one wins.
  auto again = snaps->prepare();
  ASSERT_TRUE(again);
  std::ofstream(again->fs_path() + "/hello") << "other";
  auto second = snaps->commit(std::move(*again), chain('a'));
  ASSERT_TRUE(second) << second.error().what();
  EXPECT_EQ(*second, *committed);
  EXPECT_EQ(slurp(*committed + "/hello"), "world");
  EXPECT_TRUE(fs::is_empty(root.path() + "/snapshots/tmp"));

  auto b = snaps->prepare();
  ASSERT_TRUE(b);
  ASSERT_TRUE(snaps->commit(std::move(*b), chain('b')));
  EXPECT_EQ(snaps->list().value(), (std::vector<oci::Digest>{chain('a'), chain('b')}));
  ASSERT_TRUE(snaps->remove(chain('a')));
  EXPECT_FALSE(snaps->has(chain('a')));
  EXPECT_TRUE(snaps->remove(chain('a')));  // already gone: fine
  EXPECT_EQ(snaps->list().value(), (std::vector<oci::Digest>{chain('b')}));
  EXPECT_TRUE(fs::is_empty(root.path() + "/snapshots/tmp"));
}

TEST(Snapshots, DroppedPreparesAreRemoved) {
  TempRoot root("snapshots");
  auto snaps = Snapshots::open(root.path());
  ASSERT_TRUE(snaps);
  {
    auto p = snaps->prepare();
    ASSERT_TRUE(p);
    fs::create_directories(p->fs_path() + "/a/b");
  }
  EXPECT_TRUE(fs::is_empty(root.path() + "/snapshots/tmp"));
}

TEST(Snapshots, InterruptedUnpacksAreRemovedAtNextOpenButNotLiveOnes) {
  TempRoot root("snapshots");
  auto snaps = Snapshots::open(root.path());
  ASSERT_TRUE(snaps);
  // What a killed unpack leaves: a tmp dir, no lock held.
  fs::create_directories(root.path() + "/snapshots/tmp/dead01/fs/usr/bin");
  auto live = snaps->prepare();
  ASSERT_TRUE(live);
  // While a prepare is live, nothing is touched.
  auto busy = Snapshots::open(root.path());
  ASSERT_TRUE(busy);
  EXPECT_TRUE(fs::exists(root.path() + "/snapshots/tmp/dead01"));
  EXPECT_FALSE(busy->cleanup().value());
  ASSERT_TRUE(snaps->commit(std::move(*live), chain('c')));
  auto later = Snapshots::open(root.path());
  ASSERT_TRUE(later);
  EXPECT_TRUE(fs::is_empty(root.path() + "/snapshots/tmp"));
  EXPECT_TRUE(later->has(chain('c')));
}

TEST(Snapshots, InvalidChainIds) {
  TempRoot root("snapshots");
  auto snaps = Snapshots::open(root.path());
  ASSERT_TRUE(snaps);
  for (const oci::Digest& bad : {oci::Digest{"sha256", "../../etc"}, oci::Digest{"sha512", std::string(64, 'a')},
                                 oci::Digest{"sha256", std::string(64, 'A')}}) {
    auto p = snaps->path(bad);
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().what().find("invalid chain ID"), std::string::npos);
    EXPECT_FALSE(snaps->has(bad));
    EXPECT_FALSE(snaps->remove(bad));
    auto prep = snaps->prepare();
    ASSERT_TRUE(prep);
    EXPECT_FALSE(snaps->commit(std::move(*prep), bad));
  }
}

// Three unpacked layers stacked by mount_overlay: the top one wins, whiteouts
// and opaque dirs apply, writes land in the upper dir, and the mount goes
// away with the OverlayMount.
TEST(Snapshots, OverlayOfUnpackedLayers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  TempRoot root("snapshots");
  auto snaps = Snapshots::open(root.path());
  ASSERT_TRUE(snaps);
  const std::vector<std::string> tars = {
      make_tar({file("etc/os", "base"), file("etc/gone", "x"), file("opt/old", "o"), file("only-base", "1")}),
      make_tar({file("etc/os", "middle"), file("etc/.wh.gone", ""), dir("opt"), file("opt/.wh..wh..opq", "")}),
      make_tar({file("etc/os", "top"), file("opt/new", "n")}),
  };
  std::vector<std::string> layers;
  for (size_t i = 0; i < tars.size(); ++i) {
    auto p = snaps->prepare();
    ASSERT_TRUE(p);
    MemorySource src(tars[i]);
    auto r = unpack_layer(src, Compression::none, p->fs());
    ASSERT_TRUE(r) << r.error().what();
    auto path = snaps->commit(std::move(*p), chain(static_cast<char>('a' + i)));
    ASSERT_TRUE(path) << path.error().what();
    layers.push_back(*path);
  }
  fs::create_directories(root / "upper");
  fs::create_directories(root / "work");
  fs::create_directories(root / "merged");
  fs::create_directories(root / "ro");
  int code = in_mount_namespace([&] {
    OverlaySpec spec{layers, root / "upper", root / "work"};
    auto m = mount_overlay(spec, root / "merged");
    if (!m) {
      fprintf(stderr, "%s\n", m.error().what().c_str());
      return 1;
    }
    const std::string merged = root / "merged";
    if (slurp(merged + "/etc/os") != "top") return 2;
    if (fs::exists(merged + "/etc/gone")) return 3;
    if (fs::exists(merged + "/opt/old") || !fs::exists(merged + "/opt/new")) return 4;
    if (slurp(merged + "/only-base") != "1") return 5;
    std::ofstream(merged + "/written") << "w";
    if (slurp(root / "upper/written") != "w") return 6;
    // Read-only, one layer.
    auto ro = mount_overlay(OverlaySpec{{layers[0]}}, root / "ro");
    if (!ro) {
      fprintf(stderr, "%s\n", ro.error().what().c_str());
      return 7;
    }
    if (slurp(root / "ro/etc/os") != "base") return 8;
    if (std::ofstream(root / "ro/x").good()) return 9;
    if (!m->unmount() || fs::exists(merged + "/etc/os")) return 10;
    return 0;
  });
  EXPECT_EQ(code, 0);
  auto bad = mount_overlay(OverlaySpec{{layers[0]}, root / "upper", ""}, root / "merged");
  ASSERT_FALSE(bad);
}

}  // namespace
}  // namespace berth::image
