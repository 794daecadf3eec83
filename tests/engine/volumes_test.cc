// Named and anonymous volumes: records and directories, options, removal
// refused while a container uses one, prune, filters, podman's inspect shape,
// and a tmpfs-backed volume mounted and unmounted (in a private mount
// namespace, so nothing leaks to the host's).
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "engine/volumes.h"
#include "temp_root.h"

namespace berth::engine {
namespace {

namespace fs = std::filesystem;
using image::testing::TempRoot;

bool is_mounted(const std::string& path) {
  struct statx st {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) != 0) return false;
  return st.stx_attributes & STATX_ATTR_MOUNT_ROOT;
}

class VolumesTest : public ::testing::Test {
 protected:
  TempRoot root{"volumes"};
  Paths paths{root / "lib", root / "run"};
  EngineDb db = EngineDb::open(paths.db()).value();

  // A container record that uses `volume` (as `run -v volume:/data` makes it).
  std::string add_user(const std::string& name, const std::string& volume) {
    ContainerRecord c;
    c.id = new_id();
    c.name = name;
    c.volumes = {{"/data", volume}};
    EXPECT_TRUE(db.add_container(c));
    return c.id;
  }
};

TEST_F(VolumesTest, CreateRecordsAndMakesTheDirectory) {
  auto v = create_volume(db, paths, {.name = "data", .labels = {{"app", "web"}}, .options = {{"o", "uid=1234,gid=5678"}}});
  ASSERT_TRUE(v) << v.error().what();
  EXPECT_EQ(v->mountpoint, paths.volume_data("data"));
  EXPECT_EQ(v->driver, "local");
  EXPECT_FALSE(v->anonymous);
  EXPECT_GT(v->created_at, 0);
  struct stat st {};
  ASSERT_EQ(::stat(v->mountpoint.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  auto stored = db.volume("data");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->labels, v->labels);
  EXPECT_EQ(stored->options, v->options);

  auto dup = create_volume(db, paths, {.name = "data"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), EEXIST);
  EXPECT_NE(dup.error().what().find("\"data\""), std::string::npos);
}

TEST_F(VolumesTest, BadNamesDriversAndOptionsAreRefusedBeforeAnythingIsMade) {
  for (const char* bad : {"../x", "a/b", ".hidden", "-x"})
    EXPECT_EQ(create_volume(db, paths, {.name = bad}).error().code(), EINVAL) << bad;
  EXPECT_EQ(create_volume(db, paths, {.name = "x", .driver = "nfs"}).error().code(), EINVAL);
  EXPECT_EQ(create_volume(db, paths, {.name = "x", .options = {{"size", "1m"}}}).error().code(), EINVAL);
  EXPECT_EQ(create_volume(db, paths, {.name = "x", .options = {{"type", "tmpfs"}}}).error().code(), EINVAL);
  EXPECT_EQ(create_volume(db, paths, {.name = "x", .options = {{"o", "uid=abc"}}}).error().code(), EINVAL);
  EXPECT_EQ(create_volume(db, paths, {.name = "x", .options = {{"o", "nodev"}}}).error().code(), EINVAL);
  EXPECT_TRUE(db.volumes()->empty());
  EXPECT_FALSE(fs::exists(root / "lib/volumes/x"));
  EXPECT_FALSE(fs::exists(root / "x"));
}

TEST_F(VolumesTest, EnsureMakesOnFirstUseAndRepairsTheDirectory) {
  auto first = ensure_volume(db, paths, "cache");
  ASSERT_TRUE(first) << first.error().what();
  std::ofstream(first->mountpoint + "/keep") << "x";
  auto again = ensure_volume(db, paths, "cache");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->created_at, first->created_at);
  EXPECT_TRUE(fs::exists(first->mountpoint + "/keep"));  // the data is kept
  fs::remove_all(root / "lib/volumes/cache");
  ASSERT_TRUE(ensure_volume(db, paths, "cache"));
  EXPECT_TRUE(fs::is_directory(first->mountpoint));
  EXPECT_EQ(db.volumes()->size(), 1u);
}

TEST_F(VolumesTest, AStaleDirectoryOfNoRecordIsClearedOnCreate) {
  fs::create_directories(paths.volume_data("old"));
  std::ofstream(paths.volume_data("old") + "/leftover") << "x";
  ASSERT_TRUE(create_volume(db, paths, {.name = "old"}));
  EXPECT_FALSE(fs::exists(paths.volume_data("old") + "/leftover"));
}

TEST_F(VolumesTest, AnonymousVolumes) {
  auto v = create_anonymous_volume(db, paths);
  ASSERT_TRUE(v) << v.error().what();
  EXPECT_TRUE(std::regex_match(v->name, std::regex("[0-9a-f]{64}")));
  EXPECT_TRUE(v->anonymous);
  EXPECT_TRUE(fs::is_directory(v->mountpoint));
  auto info = inspect_volume(db, paths, v->name);
  ASSERT_TRUE(info);
  EXPECT_EQ(volume_inspect_json(*info)["Anonymous"], true);
  EXPECT_NE(create_anonymous_volume(db, paths)->name, v->name);
}

TEST_F(VolumesTest, AContainersAnonymousVolumesGoWithIt) {
  auto anon = create_anonymous_volume(db, paths).value();
  auto shared_anon = create_anonymous_volume(db, paths).value();
  ASSERT_TRUE(create_volume(db, paths, {.name = "named"}));
  ContainerRecord c;
  c.id = new_id();
  c.name = "leaving";
  c.volumes = {{"/a", anon.name}, {"/b", shared_anon.name}, {"/c", "named"}, {"/d", "gone-already"}};
  ASSERT_TRUE(db.add_container(c));
  add_user("staying", shared_anon.name);
  ASSERT_TRUE(db.remove_container(c.id));
  auto r = remove_anonymous_volumes(db, paths, c);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(db.volume(anon.name).error().code(), ENOENT);
  EXPECT_FALSE(fs::exists(root / ("lib/volumes/" + anon.name)));
  EXPECT_TRUE(db.volume(shared_anon.name));
  EXPECT_TRUE(db.volume("named"));
}

TEST_F(VolumesTest, RemoveIsRefusedWhileUsedUnlessForced) {
  auto v = create_volume(db, paths, {.name = "shared"});
  ASSERT_TRUE(v);
  std::string a = add_user("user-a", "shared"), b = add_user("user-b", "shared");
  auto busy = remove_volume(db, paths, "shared", false);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), EBUSY);
  EXPECT_NE(busy.error().what().find(a), std::string::npos) << busy.error().what();
  EXPECT_NE(busy.error().what().find(b), std::string::npos);
  EXPECT_TRUE(fs::is_directory(v->mountpoint));
  ASSERT_TRUE(db.remove_container(a));
  ASSERT_TRUE(db.remove_container(b));
  ASSERT_TRUE(remove_volume(db, paths, "shared", false));
  EXPECT_FALSE(fs::exists(root / "lib/volumes/shared"));
  EXPECT_EQ(remove_volume(db, paths, "shared", false).error().code(), ENOENT);

  ASSERT_TRUE(create_volume(db, paths, {.name = "forced"}));
  add_user("user-c", "forced");
  ASSERT_TRUE(remove_volume(db, paths, "forced", true));
  EXPECT_EQ(db.volume("forced").error().code(), ENOENT);
  EXPECT_FALSE(fs::exists(root / "lib/volumes/forced"));
}

TEST_F(VolumesTest, ListFiltersAndPrune) {
  ASSERT_TRUE(create_volume(db, paths, {.name = "web-data", .labels = {{"app", "web"}}}));
  ASSERT_TRUE(create_volume(db, paths, {.name = "web-logs", .labels = {{"app", "web"}, {"tier", "logs"}}}));
  ASSERT_TRUE(create_volume(db, paths, {.name = "db-data", .labels = {{"app", "db"}}}));
  add_user("ctr", "web-data");

  auto names = [&](std::vector<std::string> filters) {
    std::vector<std::string> out;
    auto f = parse_volume_filters(filters);
    EXPECT_TRUE(f) << f.error().what();
    auto listed = list_volumes(db, paths, *f);
    EXPECT_TRUE(listed) << listed.error().what();
    for (const auto& i : *listed) out.push_back(i.record.name);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names({}), (V{"db-data", "web-data", "web-logs"}));
  EXPECT_EQ(names({"name=web"}), (V{"web-data", "web-logs"}));
  EXPECT_EQ(names({"name=^db", "name=logs$"}), (V{"db-data", "web-logs"}));
  EXPECT_EQ(names({"label=app=web"}), (V{"web-data", "web-logs"}));
  EXPECT_EQ(names({"label=tier"}), (V{"web-logs"}));
  EXPECT_EQ(names({"label=app=web", "dangling=true"}), (V{"web-logs"}));
  EXPECT_EQ(names({"dangling=false"}), (V{"web-data"}));
  EXPECT_EQ(names({"driver=local", "name=db"}), (V{"db-data"}));
  for (const char* bad : {"nope=1", "dangling=maybe", "name=[", "label"})
    EXPECT_EQ(parse_volume_filters({bad}).error().code(), EINVAL) << bad;

  auto users = list_volumes(db, paths).value();
  EXPECT_EQ(users[1].users.size(), 1u);

  auto label_db = parse_volume_filters({"label=app=db"}).value();
  EXPECT_EQ(prune_volumes(db, paths, label_db).value(), (V{"db-data"}));
  EXPECT_EQ(prune_volumes(db, paths).value(), (V{"web-logs"}));
  EXPECT_EQ(names({}), (V{"web-data"}));
  EXPECT_FALSE(fs::exists(root / "lib/volumes/web-logs"));
  EXPECT_TRUE(fs::exists(paths.volume_data("web-data")));
}

TEST_F(VolumesTest, InspectHasPodmansShape) {
  ASSERT_TRUE(create_volume(db, paths, {.name = "v1", .labels = {{"k", "v"}}, .options = {{"o", "uid=0"}}}));
  auto info = inspect_volume(db, paths, "v1");
  ASSERT_TRUE(info);
  auto j = volume_inspect_json(*info);
  EXPECT_EQ(j["Name"], "v1");
  EXPECT_EQ(j["Driver"], "local");
  EXPECT_EQ(j["Mountpoint"], paths.volume_data("v1"));
  EXPECT_EQ(j["Scope"], "local");
  EXPECT_EQ(j["Labels"]["k"], "v");
  EXPECT_EQ(j["Options"]["o"], "uid=0");
  EXPECT_EQ(j["MountCount"], 0);
  EXPECT_FALSE(j.contains("Anonymous"));
  EXPECT_TRUE(std::regex_match(j["CreatedAt"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d))")))
      << j["CreatedAt"];
  EXPECT_EQ(inspect_volume(db, paths, "nope").error().code(), ENOENT);
}

TEST_F(VolumesTest, TmpfsVolumeIsMountedForUseAndUnmountedOnRemove) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_EQ(::unshare(CLONE_NEWNS), 0);
  ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  auto v = create_volume(db, paths,
                         {.name = "scratch", .options = {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m,nodev,mode=0700"}}});
  ASSERT_TRUE(v) << v.error().what();
  EXPECT_FALSE(is_mounted(v->mountpoint));
  ASSERT_TRUE(mount_volume(*v));
  EXPECT_TRUE(is_mounted(v->mountpoint));
  ASSERT_TRUE(mount_volume(*v));  // already mounted: no second mount
  EXPECT_EQ(inspect_volume(db, paths, "scratch")->mounted, true);
  struct stat st {};
  ASSERT_EQ(::stat(v->mountpoint.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_TRUE(remove_volume(db, paths, "scratch", false));
  EXPECT_FALSE(fs::exists(root / "lib/volumes/scratch"));

  auto broken = create_volume(db, paths, {.name = "broken", .options = {{"type", "nosuchfs"}, {"device", "x"}}});
  ASSERT_TRUE(broken);
  auto err = mount_volume(*broken);
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().what().find("broken"), std::string::npos) << err.error().what();
}

}  // namespace
}  // namespace berth::engine
