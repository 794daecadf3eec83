// Path resolution confined to a root: symlinks and ".." never leave it.
// Needs no root: everything happens in a temporary directory.
#include "runtime/path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;

class PathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-test-path-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_path_ = base_ + "/root";
    fs::create_directories(root_path_);
    // A file outside the root that an escape would reach.
    write(base_ + "/secret", "host");
    root_ = UniqueFd(::open(root_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_.valid());
  }
  void TearDown() override {
    root_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  static void write(const std::string& path, const std::string& content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  void symlink(const std::string& target, const std::string& rel) {
    ASSERT_EQ(::symlink(target.c_str(), (root_path_ + "/" + rel).c_str()), 0) << rel;
  }
  // Where an fd really points, as a path relative to the root ("" = the root).
  std::string where(const UniqueFd& fd) {
    std::string host = fs::read_symlink("/proc/self/fd/" + std::to_string(fd.get()));
    if (host == root_path_) return "/";
    if (host.rfind(root_path_ + "/", 0) != 0) return "ESCAPED:" + host;
    return host.substr(root_path_.size());
  }

  std::string base_, root_path_;
  UniqueFd root_;
};

TEST(CleanPath, Lexical) {
  EXPECT_EQ(clean_path("a//b/../c"), "a/c");
  EXPECT_EQ(clean_path("/a/./b/"), "/a/b");
  EXPECT_EQ(clean_path("/../../etc"), "/etc");
  EXPECT_EQ(clean_path("../x"), "../x");
  EXPECT_EQ(clean_path("a/../.."), "..");
  EXPECT_EQ(clean_path(""), ".");
  EXPECT_EQ(clean_path("/"), "/");
  EXPECT_EQ(clean_path("//"), "/");
  EXPECT_EQ(clean_path("."), ".");
}

TEST(FdPath, NamesTheFd) {
  UniqueFd fd(::open("/", O_PATH | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(fd_path(fd), "/proc/self/fd/" + std::to_string(fd.get()));
  EXPECT_EQ(fs::read_symlink(fd_path(fd)), "/");
}

TEST_F(PathTest, OpensPlainPaths) {
  fs::create_directories(root_path_ + "/etc");
  write(root_path_ + "/etc/hosts", "x");
  auto fd = open_in_root(root_, "/etc/hosts", O_PATH);
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/etc/hosts");
  auto rel = open_in_root(root_, "etc/hosts", O_RDONLY);
  ASSERT_TRUE(rel) << rel.error().what();
  char c = 0;
  EXPECT_EQ(::read(rel->get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST_F(PathTest, DotDotStaysInRoot) {
  write(root_path_ + "/secret", "inside");
  auto fd = open_in_root(root_, "../../../../secret", O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/secret");
}

TEST_F(PathTest, RelativeSymlinkEscapeIsConfined) {
  symlink("../../../..", "up");
  auto fd = open_in_root(root_, "/up/secret", O_RDONLY);
  // There is no /secret inside the root: the walk must not find the host's.
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code(), ENOENT);
  write(root_path_ + "/secret", "inside");
  auto fd2 = open_in_root(root_, "/up/secret", O_PATH);
  ASSERT_TRUE(fd2) << fd2.error().what();
  EXPECT_EQ(where(*fd2), "/secret");
}

TEST_F(PathTest, AbsoluteSymlinkIsRelativeToRoot) {
  symlink(base_, "abs");  // points at the real parent of the root on the host
  fs::create_directories(root_path_ + base_);
  auto fd = open_in_root(root_, "/abs", O_PATH | O_DIRECTORY);
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), base_);
  symlink("/etc", "etc-link");
  EXPECT_FALSE(open_in_root(root_, "/etc-link/passwd", O_PATH));  // not the host's /etc/passwd
}

TEST_F(PathTest, SymlinkLoopFails) {
  symlink("b", "a");
  symlink("a", "b");
  auto fd = open_in_root(root_, "/a", O_PATH);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code(), ELOOP);
  EXPECT_NE(fd.error().what().find("\"/a\""), std::string::npos) << fd.error().what();
}

TEST_F(PathTest, MagicLinksRefused) {
  symlink("/proc/self/root", "magic");  // inside the root this is just a missing path
  EXPECT_FALSE(open_in_root(root_, "/magic/secret", O_PATH));
  auto direct = open_in_root(root_, "/proc/self/exe", O_PATH);  // no /proc inside: missing
  EXPECT_FALSE(direct);
}

TEST_F(PathTest, MkdirAllCreatesComponents) {
  auto fd = mkdir_all_in_root(root_, "/a/b/c", 0750);
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/a/b/c");
  EXPECT_TRUE(fs::is_directory(root_path_ + "/a/b/c"));
  // Idempotent.
  auto again = mkdir_all_in_root(root_, "a/b/c");
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(where(*again), "/a/b/c");
  auto root = mkdir_all_in_root(root_, "/");
  ASSERT_TRUE(root) << root.error().what();
  EXPECT_EQ(where(*root), "/");
}

TEST_F(PathTest, MkdirAllThroughEscapingSymlinkStaysInside) {
  symlink("../../..", "up");
  auto fd = mkdir_all_in_root(root_, "/up/created/deep");
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/created/deep");
  EXPECT_TRUE(fs::is_directory(root_path_ + "/created/deep"));
  EXPECT_FALSE(fs::exists(base_ + "/created"));
  EXPECT_FALSE(fs::exists("/created"));
}

// Only the last component missing (the fast path): the parent is resolved
// inside the root, even through a symlink that points out of it.
TEST_F(PathTest, MkdirAllOfOneMissingComponentStaysInside) {
  symlink("../../..", "up");
  auto fd = mkdir_all_in_root(root_, "/up/leaf", 0700);
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/leaf");
  EXPECT_TRUE(fs::is_directory(root_path_ + "/leaf"));
  EXPECT_EQ(fs::status(root_path_ + "/leaf").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_FALSE(fs::exists(base_ + "/leaf"));
}

TEST_F(PathTest, MkdirAllThroughAbsoluteSymlink) {
  symlink(base_, "abs");  // the host path of the root's parent, read inside the root
  fs::create_directories(root_path_ + base_);
  auto fd = mkdir_all_in_root(root_, "/abs/x");
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), base_ + "/x");
  EXPECT_FALSE(fs::exists(base_ + "/x"));
  EXPECT_TRUE(fs::is_directory(root_path_ + base_ + "/x"));
}

TEST_F(PathTest, MkdirAllDotDotComponents) {
  auto fd = mkdir_all_in_root(root_, "/../../a/../b");
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/b");
  EXPECT_FALSE(fs::exists(root_path_ + "/a"));
}

TEST_F(PathTest, MkdirAllRefusesFilesAndLoops) {
  write(root_path_ + "/file", "");
  auto f = mkdir_all_in_root(root_, "/file/sub");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), ENOTDIR);
  symlink("loop2", "loop1");
  symlink("loop1", "loop2");
  auto l = mkdir_all_in_root(root_, "/loop1/x");
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code(), ELOOP);
  symlink("self/x", "self");
  EXPECT_FALSE(mkdir_all_in_root(root_, "/self"));
}

TEST_F(PathTest, MkdirAllThroughDanglingSymlinksCreatesTheTargetInside) {
  // As runc (SecureJoin + MkdirAll): the target is created, inside the root.
  symlink(base_ + "/absent/target", "abs-dangling");
  auto a = mkdir_all_in_root(root_, "/abs-dangling/sub");
  ASSERT_TRUE(a) << a.error().what();
  EXPECT_EQ(where(*a), base_ + "/absent/target/sub");
  EXPECT_FALSE(fs::exists(base_ + "/absent"));
  symlink("../../../../../../../../.." + base_ + "/rel/target", "rel-dangling");
  auto r = mkdir_all_in_root(root_, "/rel-dangling");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(where(*r), base_ + "/rel/target");
  EXPECT_FALSE(fs::exists(base_ + "/rel"));
  // A chain of links, one relative to its own directory.
  fs::create_directories(root_path_ + "/d");
  symlink("../d/next", "d/link");
  symlink("/d/link", "chain");
  auto c = mkdir_all_in_root(root_, "/chain/x");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(where(*c), "/d/next/x");
}

TEST_F(PathTest, CreateFileInRoot) {
  auto fd = create_file_in_root(root_, "/etc/resolv.conf");
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(*fd), "/etc/resolv.conf");
  EXPECT_TRUE(fs::is_regular_file(root_path_ + "/etc/resolv.conf"));
  // An existing file is reused, through a symlink that stays inside.
  symlink("../../../etc/resolv.conf", "link");
  auto again = create_file_in_root(root_, "/link");
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(where(*again), "/etc/resolv.conf");
  // A dangling symlink pointing out creates its target inside, never on the host.
  symlink(base_ + "/outside-dir/outside-file", "out");
  auto out = create_file_in_root(root_, "/out");
  ASSERT_TRUE(out) << out.error().what();
  EXPECT_EQ(where(*out), base_ + "/outside-dir/outside-file");
  EXPECT_FALSE(fs::exists(base_ + "/outside-dir"));
  EXPECT_TRUE(fs::is_regular_file(root_path_ + base_ + "/outside-dir/outside-file"));
  symlink("../../../..", "up");
  auto up = create_file_in_root(root_, "/up/secret");  // the host's <base>/secret is not reachable
  ASSERT_TRUE(up) << up.error().what();
  EXPECT_EQ(where(*up), "/secret");
}

// execvp's walk: the PATH of the env (the last PATH= wins, as the init's
// environ), runc's default without one, "." for an empty entry, candidates
// in order; ENOENT in runc's words when none is usable.
TEST(SearchPath, CandidatesInOrder) {
  std::vector<std::string> tried;
  auto none = [&](const std::string& c) {
    tried.push_back(c);
    return false;
  };
  auto r = search_path("cmd", {"HOME=/", "PATH=/a:/b/::c"}, none);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ENOENT);
  EXPECT_EQ(r.error().message(), "exec: \"cmd\": executable file not found in $PATH");
  EXPECT_EQ(tried, (std::vector<std::string>{"/a/cmd", "/b/cmd", "./cmd", "c/cmd"}));

  tried.clear();
  (void)search_path("cmd", {}, none);
  EXPECT_EQ(tried, (std::vector<std::string>{"/usr/local/sbin/cmd", "/usr/local/bin/cmd", "/usr/sbin/cmd",
                                             "/usr/bin/cmd", "/sbin/cmd", "/bin/cmd"}));

  tried.clear();
  r = search_path("cmd", {"PATH=/x", "PATH=/y:/z"}, [&](const std::string& c) {
    tried.push_back(c);
    return c == "/z/cmd";
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "/z/cmd");
  EXPECT_EQ(tried, (std::vector<std::string>{"/y/cmd", "/z/cmd"}));
}

}  // namespace
}  // namespace berth::runtime
