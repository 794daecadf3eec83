// Mount option parsing is pure: flags, propagation, recursive attributes, data.
#include "runtime/mount_options.h"

#include <sys/mount.h>

#include <gtest/gtest.h>

namespace berth::runtime {
namespace {

TEST(MountOptions, SetsAndClearsFlagsInOrder) {
  auto o = parse_mount_options({"ro", "nosuid", "nodev", "noexec", "rw"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NODEV | MS_NOEXEC));
  EXPECT_EQ(o.cleared, static_cast<unsigned long>(MS_RDONLY));
  o = parse_mount_options({"rw", "ro"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(o.cleared, 0ul);
  EXPECT_FALSE(o.bind);
  EXPECT_TRUE(o.data.empty());
}

TEST(MountOptions, EveryFlagOption) {
  struct Case {
    const char* set;
    const char* clear;
    unsigned long flag;
  };
  const Case cases[] = {
      {"ro", "rw", MS_RDONLY},           {"nosuid", "suid", MS_NOSUID},
      {"nodev", "dev", MS_NODEV},        {"noexec", "exec", MS_NOEXEC},
      {"sync", "async", MS_SYNCHRONOUS}, {"mand", "nomand", MS_MANDLOCK},
      {"noatime", "atime", MS_NOATIME},  {"nodiratime", "diratime", MS_NODIRATIME},
      {"relatime", "norelatime", MS_RELATIME}, {"strictatime", "nostrictatime", MS_STRICTATIME},
      {"lazytime", "nolazytime", MS_LAZYTIME}, {"iversion", "noiversion", MS_I_VERSION},
      {"nosymfollow", "symfollow", MS_NOSYMFOLLOW}, {"silent", "loud", MS_SILENT},
  };
  for (const auto& c : cases) {
    auto o = parse_mount_options({c.set});
    EXPECT_EQ(o.flags, c.flag) << c.set;
    o = parse_mount_options({c.set, c.clear});
    EXPECT_EQ(o.flags, 0ul) << c.clear;
    EXPECT_EQ(o.cleared, c.flag) << c.clear;
    EXPECT_TRUE(o.data.empty()) << c.set;
  }
  EXPECT_EQ(parse_mount_options({"dirsync"}).flags, static_cast<unsigned long>(MS_DIRSYNC));
  EXPECT_EQ(parse_mount_options({"remount"}).flags, static_cast<unsigned long>(MS_REMOUNT));
  EXPECT_EQ(parse_mount_options({"defaults"}).flags, 0ul);
}

TEST(MountOptions, BindAndRbind) {
  auto o = parse_mount_options({"bind", "ro"});
  EXPECT_TRUE(o.bind);
  EXPECT_FALSE(o.recursive);
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY));
  o = parse_mount_options({"rbind"});
  EXPECT_TRUE(o.bind);
  EXPECT_TRUE(o.recursive);
  o = parse_mount_options({}, "bind");  // type "bind" without the option
  EXPECT_TRUE(o.bind);
  EXPECT_FALSE(o.recursive);
  EXPECT_FALSE(parse_mount_options({}, "tmpfs").bind);
}

TEST(MountOptions, PropagationInOrder) {
  auto o = parse_mount_options({"rbind", "rprivate", "shared", "rslave", "unbindable", "runbindable", "private",
                                "rshared", "slave"});
  ASSERT_EQ(o.propagation.size(), 8u);
  EXPECT_EQ(o.propagation[0], static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(o.propagation[1], static_cast<unsigned long>(MS_SHARED));
  EXPECT_EQ(o.propagation[2], static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o.propagation[3], static_cast<unsigned long>(MS_UNBINDABLE));
  EXPECT_EQ(o.propagation[4], static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
  EXPECT_EQ(o.propagation[5], static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_EQ(o.propagation[6], static_cast<unsigned long>(MS_SHARED | MS_REC));
  EXPECT_EQ(o.propagation[7], static_cast<unsigned long>(MS_SLAVE));
  EXPECT_EQ(o.flags, 0ul);  // propagation is never mixed into the mount flags
}

TEST(MountOptions, UnknownOptionsBecomeData) {
  auto o = parse_mount_options({"nosuid", "strictatime", "mode=755", "size=65536k"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(o.data, "mode=755,size=65536k");
  o = parse_mount_options({"newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "noexec"});
  EXPECT_EQ(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOEXEC));
  EXPECT_EQ(parse_mount_options({"", "x"}).data, "x");
}

TEST(MountOptions, RecursiveAttributes) {
  auto o = parse_mount_options({"rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"});
  EXPECT_EQ(o.attr_set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                              MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW));
  EXPECT_EQ(o.attr_clr, 0u);
  EXPECT_TRUE(o.has_recursive_attrs());
  EXPECT_EQ(o.flags, 0ul);
  o = parse_mount_options({"rro", "rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"});
  EXPECT_EQ(o.attr_set, 0u);
  EXPECT_EQ(o.attr_clr, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                              MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW));
  EXPECT_FALSE(parse_mount_options({"ro"}).has_recursive_attrs());
}

TEST(MountOptions, RecursiveAtime) {
  EXPECT_EQ(parse_mount_options({"rnoatime"}).attr_atime, static_cast<uint64_t>(MOUNT_ATTR_NOATIME));
  EXPECT_EQ(parse_mount_options({"rstrictatime"}).attr_atime, static_cast<uint64_t>(MOUNT_ATTR_STRICTATIME));
  EXPECT_EQ(parse_mount_options({"rnoatime", "ratime"}).attr_atime, static_cast<uint64_t>(MOUNT_ATTR_RELATIME));
  EXPECT_EQ(parse_mount_options({"rrelatime"}).attr_atime, static_cast<uint64_t>(MOUNT_ATTR_RELATIME));
  EXPECT_FALSE(parse_mount_options({"noatime"}).attr_atime.has_value());
}

TEST(MountOptions, IdmapAndTmpcopyup) {
  auto o = parse_mount_options({"bind", "idmap"});
  EXPECT_TRUE(o.idmap);
  EXPECT_FALSE(o.ridmap);
  EXPECT_TRUE(parse_mount_options({"rbind", "ridmap"}).ridmap);
  o = parse_mount_options({"tmpcopyup", "mode=1777"});
  EXPECT_TRUE(o.tmpcopyup);
  EXPECT_EQ(o.data, "mode=1777");
}

TEST(Propagation, RootfsPropagationValues) {
  EXPECT_EQ(parse_propagation(""), 0ul);
  EXPECT_EQ(parse_propagation("shared"), static_cast<unsigned long>(MS_SHARED));
  EXPECT_EQ(parse_propagation("slave"), static_cast<unsigned long>(MS_SLAVE));
  EXPECT_EQ(parse_propagation("private"), static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_EQ(parse_propagation("unbindable"), static_cast<unsigned long>(MS_UNBINDABLE));
  EXPECT_EQ(parse_propagation("rslave"), static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_FALSE(parse_propagation("sharde").has_value());
}

}  // namespace
}  // namespace berth::runtime
