// base/file.h: mkdir_p makes what is missing and costs nothing more when the
// directory exists.
#include "base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace berth {
namespace {

namespace fs = std::filesystem;

class MkdirP : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-test-file-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  static mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  std::string dir_;
};

TEST_F(MkdirP, MakesEveryMissingComponentWithTheMode) {
  mode_t old = ::umask(0);
  auto r = mkdir_p(dir_ + "/a/b/c", 0710);
  ::umask(old);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(mode_of(dir_ + "/a"), 0710);
  EXPECT_EQ(mode_of(dir_ + "/a/b"), 0710);
  EXPECT_EQ(mode_of(dir_ + "/a/b/c"), 0710);
}

TEST_F(MkdirP, AnExistingDirectoryIsLeftAsItIs) {
  ASSERT_EQ(::mkdir((dir_ + "/d").c_str(), 0700), 0);
  ASSERT_TRUE(mkdir_p(dir_ + "/d", 0755));
  EXPECT_EQ(mode_of(dir_ + "/d"), 0700);
  ASSERT_TRUE(mkdir_p(dir_, 0755));
}

TEST_F(MkdirP, TrailingAndDoubledSlashes) {
  ASSERT_TRUE(mkdir_p(dir_ + "//x//y/", 0755));
  EXPECT_TRUE(fs::is_directory(dir_ + "/x/y"));
}

TEST_F(MkdirP, AFileInTheWayIsAnErrorNamingThePath) {
  ASSERT_TRUE(write_file_atomic(dir_ + "/f", "x"));
  auto r = mkdir_p(dir_ + "/f/sub/leaf", 0755);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOTDIR);
  EXPECT_NE(r.error().what().find(dir_ + "/f/sub"), std::string::npos) << r.error().what();
}

TEST_F(MkdirP, EmptyPathIsNothingToDo) { EXPECT_TRUE(mkdir_p("", 0755)); }

}  // namespace
}  // namespace berth
