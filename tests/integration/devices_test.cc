// /dev: default devices, the config's devices, /dev/pts + ptmx, /dev/shm and
// the fd/std* symlinks (runtime-spec config-linux.md "Devices", "Default Devices",
// "Dev symbolic links").
#include "harness.h"

namespace berth::test {
namespace {

json device(const json& all, const std::string& path) {
  if (all.contains("devices"))
    for (auto& d : all["devices"])
      if (d["path"] == path) return d;
  return json();
}

TEST(Devices, DefaultDevices) {
  Bundle b;
  auto j = b.check();
  struct Want { const char* path; int major, minor; };
  for (auto w : {Want{"/dev/null", 1, 3}, Want{"/dev/zero", 1, 5}, Want{"/dev/full", 1, 7},
                 Want{"/dev/random", 1, 8}, Want{"/dev/urandom", 1, 9}, Want{"/dev/tty", 5, 0}}) {
    auto d = device(j, w.path);
    ASSERT_TRUE(d.is_object()) << w.path << " missing";
    EXPECT_EQ(d["type"], "c") << w.path;
    EXPECT_EQ(d["major"], w.major) << w.path;
    EXPECT_EQ(d["minor"], w.minor) << w.path;
    EXPECT_EQ(d["mode"], 0666) << w.path;
  }
  // default devices work: /dev/null swallows, /dev/zero reads
  b.set_args({"/bin/sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1 | tr -d ' \\n'"});
  auto r = b.run();
  EXPECT_EQ(r.status, 0) << r.describe();
  EXPECT_EQ(r.out, "00000000");
}

TEST(Devices, PtsPtmxShm) {
  Bundle b;
  auto j = b.check();
  auto pts = device(j, "/dev/pts/ptmx");
  ASSERT_TRUE(pts.is_object()) << "a new devpts instance has its own ptmx";
  EXPECT_EQ(pts["type"], "c");
  auto ptmx = device(j, "/dev/ptmx");
  ASSERT_TRUE(ptmx.is_object());
  // a symlink to pts/ptmx or a bind of it
  if (ptmx["type"] == "l") {
    EXPECT_EQ(ptmx["target"], "pts/ptmx");
  } else {
    EXPECT_EQ(ptmx["major"], 5);
    EXPECT_EQ(ptmx["minor"], 2);
  }
  EXPECT_EQ(device(j, "/dev/shm")["type"], "d");
  EXPECT_EQ(device(j, "/dev/mqueue")["type"], "d");
}

TEST(Devices, FdSymlinks) {
  Bundle b;
  auto j = b.check();
  struct Link { const char* path; const char* target; };
  for (auto l : {Link{"/dev/fd", "/proc/self/fd"}, Link{"/dev/stdin", "/proc/self/fd/0"},
                 Link{"/dev/stdout", "/proc/self/fd/1"}, Link{"/dev/stderr", "/proc/self/fd/2"}}) {
    auto d = device(j, l.path);
    ASSERT_TRUE(d.is_object()) << l.path << " missing";
    EXPECT_EQ(d["type"], "l") << l.path;
    EXPECT_EQ(d["target"], l.target) << l.path;
  }
  b.set_args({"/bin/sh", "-c", "echo via-dev-stdout > /dev/stdout"});
  EXPECT_EQ(b.run().out, "via-dev-stdout\n");
}

TEST(Devices, ConfigDevicesWithModeAndOwner) {
  Bundle b;
  b.config["linux"]["devices"] = json::array(
      {{{"path", "/dev/berth-null"}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"fileMode", 0600}, {"uid", 1000}, {"gid", 1000}},
       {{"path", "/dev/sub/berth-zero"}, {"type", "c"}, {"major", 1}, {"minor", 5}, {"fileMode", 0640}, {"uid", 0}, {"gid", 5}}});
  // the device cgroup must allow them for use (the default spec denies all)
  b.config["linux"]["resources"]["devices"].push_back({{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}});
  b.config["linux"]["resources"]["devices"].push_back({{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 5}, {"access", "rwm"}});
  auto j = b.check();
  auto d = device(j, "/dev/berth-null");
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["type"], "c");
  EXPECT_EQ(d["major"], 1);
  EXPECT_EQ(d["minor"], 3);
  EXPECT_EQ(d["mode"], 0600);
  EXPECT_EQ(d["uid"], 1000);
  EXPECT_EQ(d["gid"], 1000);
  auto z = device(j, "/dev/sub/berth-zero");
  ASSERT_TRUE(z.is_object()) << "parent directories of a device are created";
  EXPECT_EQ(z["mode"], 0640);
  EXPECT_EQ(z["gid"], 5);
  // its owner (uid 1000) can use it
  b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  auto w = b.check({"write", "/dev/berth-null"});
  EXPECT_TRUE(w["ok"]) << w;
}

TEST(Devices, HostDevicesNotExposed) {
  Bundle b;
  auto j = b.check();
  for (auto p : {"/dev/vda", "/dev/mem", "/dev/kmsg", "/dev/sda"}) EXPECT_FALSE(device(j, p).is_object()) << p;
}

}  // namespace
}  // namespace berth::test
