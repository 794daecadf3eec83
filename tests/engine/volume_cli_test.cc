// berth volume create/ls/inspect/rm/prune through the binary: output,
// filters, JSON, and podman's exit statuses.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/db.h"
#include "engine/paths.h"
#include "temp_root.h"
#include "test_util.h"

namespace berth::engine {
namespace {

using image::testing::Cmd;
using image::testing::sh;
using image::testing::TempRoot;
namespace fs = std::filesystem;

class VolumeCliTest : public ::testing::Test {
 protected:
  TempRoot root{"volcli"};
  Paths paths{root / "lib", root / "run"};

  Cmd berth(const std::string& args) { return sh(command(args)); }
  std::string command(const std::string& args) {
    return std::string(BERTH_BIN_DIR) + "/berth --root " + paths.root + " --runroot " + paths.runroot + " " + args;
  }
  // Only stdout (the JSON), stderr dropped.
  nlohmann::json json_of(const std::string& args) {
    auto c = berth(args + " 2>/dev/null");
    auto j = nlohmann::json::parse(c.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << c.out;
    return j;
  }
};

TEST_F(VolumeCliTest, CreateListInspect) {
  auto c = berth("volume create --label app=web -l tier -o o=uid=0 data");
  ASSERT_EQ(c.status, 0) << c.out;
  EXPECT_EQ(c.out, "data\n");
  EXPECT_TRUE(fs::is_directory(paths.volume_data("data")));
  auto anon = berth("volume create");
  ASSERT_EQ(anon.status, 0) << anon.out;
  std::string generated = anon.out.substr(0, anon.out.size() - 1);
  EXPECT_EQ(generated.size(), 64u);

  auto dup = berth("volume create data");
  EXPECT_EQ(dup.status, 125);
  EXPECT_NE(dup.out.find("\"data\" already exists"), std::string::npos) << dup.out;
  EXPECT_EQ(berth("volume create --ignore data").status, 0);
  EXPECT_EQ(berth("volume create -d nfs other").status, 125);
  EXPECT_EQ(berth("volume create bad/name").status, 125);

  auto table = berth("volume ls");
  ASSERT_EQ(table.status, 0);
  EXPECT_NE(table.out.find("DRIVER"), std::string::npos);
  EXPECT_NE(table.out.find("VOLUME NAME"), std::string::npos);
  EXPECT_NE(table.out.find("local   data"), std::string::npos) << table.out;
  EXPECT_EQ(berth("volume ls -q -f label=app=web").out, "data\n");
  EXPECT_EQ(berth("volume ls -q -f name=data -f label=tier").out, "data\n");
  EXPECT_EQ(berth("volume ls -q -f label=app=db").out, "");
  EXPECT_EQ(berth("volume list -n -f name=^data$").out, "local  data\n");
  EXPECT_EQ(berth("volume ls -f bogus=1").status, 125);

  auto listed = json_of("volume ls --format json");
  ASSERT_TRUE(listed.is_array());
  ASSERT_EQ(listed.size(), 2u);
  auto inspected = json_of("volume inspect data");
  ASSERT_EQ(inspected.size(), 1u);
  EXPECT_EQ(inspected[0]["Name"], "data");
  EXPECT_EQ(inspected[0]["Driver"], "local");
  EXPECT_EQ(inspected[0]["Mountpoint"], paths.volume_data("data"));
  EXPECT_EQ(inspected[0]["Labels"]["app"], "web");
  EXPECT_EQ(inspected[0]["Labels"]["tier"], "");
  EXPECT_EQ(inspected[0]["Options"]["o"], "uid=0");
  EXPECT_EQ(json_of("volume inspect --all").size(), 2u);

  auto missing = berth("volume inspect data nope");
  EXPECT_EQ(missing.status, 125);
  EXPECT_NE(missing.out.find("no such volume: nope"), std::string::npos) << missing.out;
}

TEST_F(VolumeCliTest, RemoveAndPruneWithPodmansStatuses) {
  for (const char* n : {"used", "free1", "free2"}) ASSERT_EQ(berth(std::string("volume create ") + n).status, 0);
  std::string user_id;
  {
    auto db = EngineDb::open(paths.db()).value();
    ContainerRecord c;
    c.id = new_id();
    c.name = "user";
    c.options.mounts = {MountRequest{MountRequest::Type::volume, "used", "/data"}};
    ASSERT_TRUE(db.add_container(c));
    user_id = c.id;
  }
  auto busy = berth("volume rm used");
  EXPECT_EQ(busy.status, 2) << busy.out;
  EXPECT_NE(busy.out.find(user_id), std::string::npos) << busy.out;
  auto missing = berth("volume rm nope");
  EXPECT_EQ(missing.status, 1) << missing.out;

  // prune asks first; "n" keeps everything.
  auto declined = sh("echo n | " + command("volume prune"));
  EXPECT_EQ(declined.status, 0);
  EXPECT_NE(declined.out.find("free1"), std::string::npos);
  EXPECT_EQ(berth("volume ls -q").out, "free1\nfree2\nused\n");
  auto accepted = sh("echo y | " + command("volume prune"));
  EXPECT_EQ(accepted.status, 0) << accepted.out;
  EXPECT_EQ(berth("volume ls -q").out, "used\n");
  EXPECT_FALSE(fs::exists(paths.volume_data("free1")));

  ASSERT_EQ(berth("volume create again").status, 0);
  EXPECT_EQ(berth("volume prune -f").out, "again\n");
  auto forced = berth("volume rm -f used");  // its container goes first (podman's)
  EXPECT_EQ(forced.status, 0) << forced.out;
  EXPECT_EQ(forced.out, "used\n");
  EXPECT_EQ(berth("volume ls -q").out, "");
  EXPECT_EQ(EngineDb::open(paths.db()).value().container(user_id).error().code(), ENOENT);
  ASSERT_EQ(berth("volume create a1").status, 0);
  ASSERT_EQ(berth("volume create a2").status, 0);
  EXPECT_EQ(berth("volume rm --all").out, "a1\na2\n");
  EXPECT_FALSE(fs::exists(paths.volumes() + "/a1"));
}

}  // namespace
}  // namespace berth::engine
