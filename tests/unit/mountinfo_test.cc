#include "runtime/mountinfo.h"

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

TEST(Mountinfo, ParsesLineFromThisMachine) {
  auto m = parse_mountinfo_line("35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory");
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->mount_id, 35);
  EXPECT_EQ(m->parent_id, 31);
  EXPECT_EQ(m->major, 0u);
  EXPECT_EQ(m->minor, 32u);
  EXPECT_EQ(m->root, "/");
  EXPECT_EQ(m->mount_point, "/sys/fs/cgroup/memory");
  EXPECT_EQ(m->options, "rw,relatime");
  EXPECT_TRUE(m->optional_fields.empty());
  EXPECT_EQ(m->fs_type, "cgroup");
  EXPECT_EQ(m->source, "cgroup");
  EXPECT_EQ(m->super_options, "rw,memory");
}

TEST(Mountinfo, ParsesOptionalFields) {
  auto m = parse_mountinfo_line(
      "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 propagate_from:2 - ext3 /dev/root rw,errors=continue");
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->major, 98u);
  EXPECT_EQ(m->root, "/mnt1");
  EXPECT_EQ(m->mount_point, "/mnt2");
  ASSERT_EQ(m->optional_fields.size(), 3u);
  EXPECT_EQ(m->optional_fields[0], "master:1");
  EXPECT_EQ(m->optional_fields[2], "propagate_from:2");
  EXPECT_EQ(m->fs_type, "ext3");
  EXPECT_EQ(m->source, "/dev/root");
  EXPECT_EQ(m->super_options, "rw,errors=continue");
}

TEST(Mountinfo, DecodesOctalEscapes) {
  auto m = parse_mountinfo_line(
      "50 27 0:40 /a\\040b /mnt/with\\040space\\011tab\\134slash rw - fuse.sshfs user@host:/x\\040y rw");
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->root, "/a b");
  EXPECT_EQ(m->mount_point, "/mnt/with space\ttab\\slash");
  EXPECT_EQ(m->fs_type, "fuse.sshfs");
  EXPECT_EQ(m->source, "user@host:/x y");
  EXPECT_EQ(unescape_mountinfo("\\012"), "\n");
  // Not an escape: kept as is.
  EXPECT_EQ(unescape_mountinfo("a\\0b\\"), "a\\0b\\");
  EXPECT_EQ(unescape_mountinfo("\\08x"), "\\08x");
}

TEST(Mountinfo, EmptySource) {
  auto m = parse_mountinfo_line("60 27 0:50 / /x rw - tmpfs  rw,size=4k");
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->fs_type, "tmpfs");
  EXPECT_EQ(m->source, "");
  EXPECT_EQ(m->super_options, "rw,size=4k");
}

TEST(Mountinfo, RejectsBadLines) {
  EXPECT_FALSE(parse_mountinfo_line(""));
  EXPECT_FALSE(parse_mountinfo_line("1 2 0:3 / /x rw tmpfs tmpfs rw"));    // no separator
  EXPECT_FALSE(parse_mountinfo_line("1 2 0:3 / /x rw - tmpfs"));           // too few after it
  EXPECT_FALSE(parse_mountinfo_line("x 2 0:3 / /x rw - tmpfs tmpfs rw"));  // mount id
  EXPECT_FALSE(parse_mountinfo_line("1 2 03 / /x rw - tmpfs tmpfs rw"));   // device
  auto bad = parse_mountinfo("1 2 0:3 / / rw - ext4 /dev/vda rw\ngarbage\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("garbage"), std::string::npos) << bad.error().what();
}

TEST(Mountinfo, ParsesWholeFileAndReadsOurOwn) {
  auto all = parse_mountinfo("1 0 0:3 / / rw - ext4 /dev/vda rw\n\n2 1 0:4 / /proc rw - proc proc rw\n");
  ASSERT_TRUE(all) << all.error().what();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].mount_point, "/proc");

  auto own = read_mountinfo();
  ASSERT_TRUE(own) << own.error().what();
  bool saw_proc = false;
  for (const auto& m : *own) saw_proc = saw_proc || (m.mount_point == "/proc" && m.fs_type == "proc");
  EXPECT_TRUE(saw_proc);
}

TEST(Mountinfo, HasOption) {
  EXPECT_TRUE(has_option("rw,nosuid,ro", "ro"));
  EXPECT_TRUE(has_option("ro", "ro"));
  EXPECT_FALSE(has_option("rw,rootcontext=x", "ro"));
  EXPECT_FALSE(has_option("", "ro"));
}

}  // namespace
}  // namespace berth::runtime
