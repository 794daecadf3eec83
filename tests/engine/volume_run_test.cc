// Volumes with real containers, through the berth binary. Copy-up as docker
// and podman do it: a new volume mounted over an image directory with content
// gets that content (owners, modes, xattrs, symlinks, hard links, fifos)
// before the container starts, once; not with nocopy, not into a volume that
// has content. `volume rm -f` removes the containers using the volume first
// (podman's), `volume prune` skips volumes in use.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/paths.h"
#include "engine_env.h"

namespace berth::engine::testing {
namespace {

namespace fs = std::filesystem;
using image::testing::spit;

constexpr const char* kImage = "berth-test-copyup";

class VolumeRunTest : public ::testing::Test {
 protected:
  // An image: busybox plus /data with content of every kind, /empty, and
  // VOLUME /data.
  static void SetUpTestSuite() {
    ASSERT_TRUE(env().loaded);
    std::string dir = env().roots.dir + "/copyup-image";
    std::string rootfs = dir + "/rootfs", data = rootfs + "/data";
    ASSERT_EQ(sh("mkdir -p " + dir + " && cp -a /var/tmp/berth-fixtures/busybox-rootfs " + rootfs).status, 0);
    ASSERT_EQ(::mkdir(data.c_str(), 0750), 0);
    ASSERT_EQ(::chown(data.c_str(), 1000, 1001), 0);
    ASSERT_EQ(::chmod(data.c_str(), 0750), 0);
    ASSERT_EQ(::mkdir((rootfs + "/empty").c_str(), 0755), 0);
    spit(data + "/owned", "hello\n");
    ASSERT_EQ(::chown((data + "/owned").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::chmod((data + "/owned").c_str(), 0640), 0);
    ASSERT_EQ(::setxattr((data + "/owned").c_str(), "user.berth", "copied", 6, 0), 0);
    spit(data + "/setuid", "#!/bin/sh\n");
    ASSERT_EQ(::chmod((data + "/setuid").c_str(), 04755), 0);
    ASSERT_EQ(::link((data + "/owned").c_str(), (data + "/hard").c_str()), 0);
    ASSERT_EQ(::symlink("/etc/passwd", (data + "/link").c_str()), 0);
    ASSERT_EQ(::mkfifo((data + "/pipe").c_str(), 0620), 0);
    ASSERT_EQ(::chmod((data + "/pipe").c_str(), 0620), 0);  // past the umask
    ASSERT_EQ(::mkdir((data + "/sub").c_str(), 0700), 0);
    spit(data + "/sub/deep", "deep\n");
    ASSERT_EQ(::chown((data + "/sub").c_str(), 42, 43), 0);
    auto r = sh("tar --xattrs --xattrs-include='user.*' --numeric-owner -C " + rootfs + " -cf " + dir +
                "/image.tar . && " + env().berth() + " import -q " + dir + "/image.tar " + kImage + " --change='VOLUME /data'");
    ASSERT_EQ(r.status, 0) << r.out;
  }
  static void TearDownTestSuite() {
    env().run("rm -f -v berth-test-cu-anon");
    reap_zombies();
  }
  void TearDown() override { reap_zombies(); }
  static EngineEnv& env() { return EngineEnv::get(); }
  static image::testing::Cmd berth(const std::string& args) { return env().run(args); }
  static std::string volume_dir(const std::string& name) {
    return Paths{env().roots.root, env().roots.runroot}.volume_data(name);
  }
  static bool needs_copy_up(const std::string& name) {
    auto r = sh(env().berth() + " volume inspect " + name + " 2>/dev/null");
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array() && j.size() == 1) << r.out;
    return j.is_array() && j.size() == 1 && j[0].value("NeedsCopyUp", false);
  }
  // `berth inspect NAME`'s one object.
  static nlohmann::json inspect(const std::string& name) {
    auto r = sh(env().berth() + " inspect " + name + " 2>/dev/null");
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array() && j.size() == 1) << r.out;
    return j.is_array() && j.size() == 1 ? j[0] : nlohmann::json::object();
  }
  static bool empty_dir(const std::string& path) { return fs::is_directory(path) && fs::is_empty(path); }
};

TEST_F(VolumeRunTest, ANewNamedVolumeGetsTheImageContentWithItsAttributes) {
  auto r = berth("run --rm --network none -v berth-test-cu1:/data " + std::string(kImage) + " cat /data/owned");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "hello\n");
  std::string v = volume_dir("berth-test-cu1");
  struct stat st {};
  ASSERT_EQ(::lstat(v.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);  // the volume's root takes the directory's mode and owner
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  ASSERT_EQ(::lstat((v + "/owned").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_nlink, 2u);
  char value[16] = {};
  EXPECT_EQ(::getxattr((v + "/owned").c_str(), "user.berth", value, sizeof value), 6);
  EXPECT_STREQ(value, "copied");
  struct stat hard {};
  ASSERT_EQ(::lstat((v + "/hard").c_str(), &hard), 0);
  EXPECT_EQ(hard.st_ino, st.st_ino);  // still one file
  ASSERT_EQ(::lstat((v + "/setuid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(::lstat((v + "/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(fs::read_symlink(v + "/link"), "/etc/passwd");  // copied as a link, never followed
  ASSERT_EQ(::lstat((v + "/pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  ASSERT_EQ(::lstat((v + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, 42u);
  EXPECT_EQ(st.st_gid, 43u);
  EXPECT_EQ(image::testing::slurp(v + "/sub/deep"), "deep\n");
  EXPECT_FALSE(needs_copy_up("berth-test-cu1"));

  // Once: emptied, the volume stays empty for the next container.
  for (const auto& e : fs::directory_iterator(v)) fs::remove_all(e.path());
  r = berth("run --rm --network none -v berth-test-cu1:/data " + std::string(kImage) + " ls -A /data");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(empty_dir(v));
  EXPECT_EQ(berth("volume rm berth-test-cu1").status, 0);
}

TEST_F(VolumeRunTest, TheImagesVolumeIsAnAnonymousVolumeWithTheContent) {
  auto r = berth("run --network none --name berth-test-cu-anon " + std::string(kImage) +
                 " sh -c 'cat /data/owned /data/sub/deep; stat -c %u:%g:%a /data/owned'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "hello\ndeep\n1234:5678:640\n");
  auto inspected = inspect("berth-test-cu-anon");
  ASSERT_TRUE(inspected.contains("Mounts") && inspected["Mounts"].size() == 1) << inspected.dump();
  std::string name = inspected["Mounts"][0].value("Name", "");
  ASSERT_EQ(name.size(), 64u) << inspected.dump();
  EXPECT_EQ(image::testing::slurp(volume_dir(name) + "/owned"), "hello\n");
  EXPECT_EQ(berth("rm -v berth-test-cu-anon").status, 0);
  EXPECT_FALSE(fs::exists(volume_dir(name)));
}

TEST_F(VolumeRunTest, NocopyLeavesTheVolumeEmptyAndStillWaiting) {
  auto r = berth("run --rm --network none -v berth-test-cu2:/data:nocopy " + std::string(kImage) + " ls -A /data");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(empty_dir(volume_dir("berth-test-cu2")));
  EXPECT_TRUE(needs_copy_up("berth-test-cu2"));
  // --mount's volume-nocopy too.
  r = berth("run --rm --network none --mount type=volume,source=berth-test-cu2,target=/data,volume-nocopy " +
            std::string(kImage) + " ls -A /data");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");
  // A later mount without it copies.
  r = berth("run --rm --network none -v berth-test-cu2:/data " + std::string(kImage) + " true");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(image::testing::slurp(volume_dir("berth-test-cu2") + "/owned"), "hello\n");
  EXPECT_EQ(berth("volume rm berth-test-cu2").status, 0);

  // A volume made with o=nocopy is never copied into.
  ASSERT_EQ(berth("volume create -o o=nocopy berth-test-cu5").status, 0);
  r = berth("run --rm --network none -v berth-test-cu5:/data " + std::string(kImage) + " true");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(empty_dir(volume_dir("berth-test-cu5")));
  EXPECT_EQ(berth("volume rm berth-test-cu5").status, 0);
}

TEST_F(VolumeRunTest, AVolumeWithContentIsNeverCopiedInto) {
  ASSERT_EQ(berth("volume create berth-test-cu3").status, 0);
  spit(volume_dir("berth-test-cu3") + "/mine", "mine\n");
  auto r = berth("run --rm --network none -v berth-test-cu3:/data " + std::string(kImage) + " ls -A /data");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "mine\n");
  EXPECT_EQ(berth("volume rm berth-test-cu3").status, 0);
}

TEST_F(VolumeRunTest, AnEmptyOrMissingDirectoryLeavesTheVolumeWaiting) {
  auto r = berth("run --rm --network none -v berth-test-cu4:/empty -v berth-test-cu6:/nowhere " +
                 std::string(kImage) + " true");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(needs_copy_up("berth-test-cu4"));
  EXPECT_TRUE(needs_copy_up("berth-test-cu6"));
  r = berth("run --rm --network none -v berth-test-cu4:/data " + std::string(kImage) + " true");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(needs_copy_up("berth-test-cu4"));
  EXPECT_TRUE(fs::exists(volume_dir("berth-test-cu4") + "/sub/deep"));
  EXPECT_EQ(berth("volume rm berth-test-cu4 berth-test-cu6").status, 0);
}

TEST_F(VolumeRunTest, ForcedRemovalRemovesTheContainersUsingItAndPruneSkipsIt) {
  auto r = berth("run -d --network none --name berth-test-vol-user -v berth-test-rmf:/data busybox sleep 100");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string id = trim(r.out);
  ASSERT_EQ(berth("volume create berth-test-unused").status, 0);
  r = berth("volume prune -f");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "berth-test-unused\n");  // the one in use stays
  r = berth("volume rm berth-test-rmf");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find(id), std::string::npos) << r.out;  // named
  EXPECT_EQ(inspect("berth-test-vol-user")["State"].value("Status", ""), "running");
  r = berth("volume rm -f berth-test-rmf");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "berth-test-rmf\n");
  EXPECT_NE(berth("inspect berth-test-vol-user").status, 0) << "the container using it is still there";
  EXPECT_EQ(berth("ps -a -q --no-trunc").out.find(id), std::string::npos);
  EXPECT_FALSE(fs::exists(volume_dir("berth-test-rmf")));
}

}  // namespace
}  // namespace berth::engine::testing
