// berth rename, port (and the port listing rules), on containers recorded in
// a temp root's database, through the built `berth` binary.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "engine/db.h"
#include "engine/paths.h"
#include "engine/port_listing.h"
#include "oci/config.h"
#include "test_util.h"
#include "engine_env.h"
#include <nlohmann/json.hpp>

namespace berth::engine {
namespace {

namespace fs = std::filesystem;
using image::testing::sh;
using image::testing::slurp;
using image::testing::spit;

TEST(PortQuery, Parse) {
  auto q = parse_port_query("80");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->port, 80);
  EXPECT_EQ(q->protocol, "tcp");
  q = parse_port_query("53/udp");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->port, 53);
  EXPECT_EQ(q->protocol, "udp");
  EXPECT_FALSE(parse_port_query("x"));
  EXPECT_FALSE(parse_port_query("0"));
  EXPECT_FALSE(parse_port_query("70000"));
  EXPECT_FALSE(parse_port_query("80/icmp"));
  EXPECT_FALSE(parse_port_query(""));
}

std::vector<PortMapping> sample_ports() {
  return {
      {"", 8080, 80, 1, "tcp"},
      {"127.0.0.1", 5300, 53, 2, "udp"},  // a range: 53->5300, 54->5301
      {"::1", 9000, 90, 1, "tcp"},
      {"", 0, 443, 1, "tcp"},  // not resolved (never started): left out
  };
}

TEST(PortListing, AllAndOne) {
  auto all = format_ports(sample_ports(), std::nullopt, "web");
  ASSERT_TRUE(all);
  EXPECT_EQ(*all,
            "80/tcp -> 0.0.0.0:8080\n"
            "53/udp -> 127.0.0.1:5300\n"
            "54/udp -> 127.0.0.1:5301\n"
            "90/tcp -> [::1]:9000\n");
  auto one = format_ports(sample_ports(), PortQuery{54, "udp"}, "web");
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, "127.0.0.1:5301\n");
  auto none = format_ports(sample_ports(), PortQuery{53, "tcp"}, "web");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "no public port '53/tcp' published for web");
  EXPECT_FALSE(format_ports(sample_ports(), PortQuery{443, "tcp"}, "web"));
}

class VerbsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/berth-test-verbs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    paths_ = Paths{dir_ + "/root", dir_ + "/run"};
    fs::create_directories(paths_.root);
    fs::create_directories(paths_.runroot);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string berth(const std::string& args) const {
    return std::string(BERTH_BIN_DIR) + "/berth --root " + paths_.root + " --runroot " + paths_.runroot + " " + args;
  }

  ContainerRecord add(const std::string& name, std::vector<PortMapping> ports = {}) {
    auto db = EngineDb::open(paths_.db());
    EXPECT_TRUE(db) << db.error().what();
    ContainerRecord c;
    c.id = new_id();
    c.name = name;
    c.image_name = "docker.io/library/busybox:latest";
    c.ports = std::move(ports);
    auto r = db->add_container(c);
    EXPECT_TRUE(r) << r.error().what();
    return c;
  }

  std::string dir_;
  Paths paths_;
};

TEST_F(VerbsTest, Rename) {
  auto a = add("alpha");
  add("beta");
  auto r = sh(berth("rename alpha gamma"));
  ASSERT_EQ(r.status, 0) << r.out;
  auto db = EngineDb::open(paths_.db());
  ASSERT_TRUE(db);
  auto c = db->container("gamma");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, a.id);
  EXPECT_FALSE(db->container("alpha"));

  r = sh(berth("rename gamma beta"));  // in use
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("already in use"), std::string::npos) << r.out;
  r = sh(berth("rename " + a.id.substr(0, 12) + " 'bad name'"));  // by id prefix; an invalid name
  EXPECT_EQ(r.status, 125) << r.out;
  r = sh(berth("rename nosuch x"));
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("no such container"), std::string::npos) << r.out;
  EXPECT_TRUE(db->container("gamma"));
}

TEST_F(VerbsTest, Port) {
  add("web", sample_ports());
  auto r = sh(berth("port web"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out,
            "80/tcp -> 0.0.0.0:8080\n"
            "53/udp -> 127.0.0.1:5300\n"
            "54/udp -> 127.0.0.1:5301\n"
            "90/tcp -> [::1]:9000\n");
  r = sh(berth("port web 80"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "0.0.0.0:8080\n");
  r = sh(berth("port web 80/udp"));
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("no public port '80/udp' published for web"), std::string::npos) << r.out;
  r = sh(berth("port web x"));
  EXPECT_EQ(r.status, 125);
}

// A stopped container (no init, rootfs not mounted): cp mounts the image's
// layers + its writable layer and its bind mounts privately, for itself.
TEST_F(VerbsTest, CpWithAStoppedContainer) {
  auto loaded = sh(berth("load -q -i /var/tmp/berth-fixtures/oci-busybox.tar"));
  ASSERT_EQ(loaded.status, 0) << loaded.out;
  auto ids = sh(berth("images -q --no-trunc"));
  ASSERT_EQ(ids.status, 0) << ids.out;
  std::string image_id = ids.out.substr(0, ids.out.find('\n'));
  ASSERT_FALSE(image_id.empty());
  if (!image_id.starts_with("sha256:")) image_id = "sha256:" + image_id;

  auto c = add("stopped");
  {
    auto db = EngineDb::open(paths_.db());
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->update_container(c.id, [&](ContainerRecord& r) -> Result<> {
      r.image_id = image_id;
      r.state = ContainerState::stopped;
      return {};
    }));
  }
  fs::create_directories(paths_.upper(c.id) + "/etc");
  fs::create_directories(paths_.work(c.id));
  fs::create_directories(paths_.userdata(c.id));
  spit(paths_.upper(c.id) + "/etc/from-upper", "upper layer\n");
  fs::create_directories(paths_.upper(c.id) + "/data");  // the mount point, as a start made it
  std::string volume = dir_ + "/volume";
  fs::create_directories(volume);
  spit(volume + "/in-volume", "volume data\n");
  auto spec = oci::default_spec(false);
  spec.mounts.push_back(oci::Mount{"/data", "bind", volume, {"rbind", "rw"}, {}, {}});
  spit(paths_.bundle(c.id) + "/config.json", oci::config_to_json(spec));

  std::string out = dir_ + "/out";
  fs::create_directories(out);
  auto r = sh(berth("cp stopped:/etc/from-upper " + out + "/"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(out + "/from-upper"), "upper layer\n");
  r = sh(berth("cp stopped:/bin/busybox " + out + "/busybox"));  // from the image's layer
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_GT(fs::file_size(out + "/busybox"), 100000u);
  r = sh(berth("cp stopped:/data/in-volume " + out + "/"));  // through its bind mount
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(out + "/in-volume"), "volume data\n");

  spit(out + "/new", "new file\n");
  r = sh(berth("cp " + out + "/new stopped:/etc/"));  // into the writable layer
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(paths_.upper(c.id) + "/etc/new"), "new file\n");
  r = sh(berth("cp " + out + "/new stopped:/data/"));  // into the volume
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(volume + "/new"), "new file\n");

  r = sh(berth("cp stopped:/etc - | tar -tf -"));  // a tar stream on stdout
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("etc/from-upper"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("etc/passwd"), std::string::npos) << r.out;

  // Nothing stays mounted on the host's side.
  EXPECT_EQ(slurp("/proc/self/mountinfo").find(c.id), std::string::npos);
  r = sh(berth("cp " + out + "/new " + out + "/x"));
  EXPECT_EQ(r.status, 125);  // no container side
}


// ---- real containers (busybox, through the berth binary)
class PauseAndPrune : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(testing::EngineEnv::get().loaded); }
  void TearDown() override { testing::reap_zombies(); }
  static image::testing::Cmd berth(const std::string& args) { return testing::EngineEnv::get().run(args); }
  static std::string status(const std::string& name) {
    auto doc = nlohmann::json::parse(berth("inspect --type container " + name).out, nullptr, false);
    if (!doc.is_array() || doc.empty()) return "";
    return doc[0]["State"].value("Status", "");
  }
};

TEST_F(PauseAndPrune, PauseFreezesUnpauseThaws) {
  auto r = berth("run -d --network none --name berth-test-pause busybox sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/t; sleep 0.05; done'");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string id = testing::trim(r.out);
  ::usleep(200'000);
  r = berth("pause berth-test-pause");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(status("berth-test-pause"), "paused");
  std::string before;
  r = berth("cp berth-test-pause:/tmp/t -");  // cp works on a paused container
  ASSERT_EQ(r.status, 0);
  before = r.out;
  ::usleep(300'000);
  EXPECT_EQ(berth("cp berth-test-pause:/tmp/t -").out, before);  // frozen: no new writes
  EXPECT_EQ(berth("pause berth-test-pause").status, 125);          // not running
  EXPECT_NE(berth("ps").out.find("berth-test-pause"), std::string::npos);

  r = berth("unpause berth-test-pause");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(status("berth-test-pause"), "running");
  ::usleep(300'000);
  EXPECT_NE(berth("cp berth-test-pause:/tmp/t -").out, before);
  EXPECT_EQ(berth("unpause berth-test-pause").status, 125);  // not paused
  EXPECT_EQ(berth("rm -f berth-test-pause").status, 0);
}

TEST_F(PauseAndPrune, PruneRemovesStoppedOnly) {
  ASSERT_EQ(berth("run --network none --name berth-test-prune-exited busybox sh -c 'head -c 100000 /dev/zero > /big'").status, 0);
  ASSERT_EQ(berth("create --network none --name berth-test-prune-created busybox true").status, 0);
  auto r = berth("run -d --network none --name berth-test-prune-running busybox sleep 1000");
  ASSERT_EQ(r.status, 0) << r.out;

  r = testing::sh("echo n | " + testing::EngineEnv::get().berth() + " container prune");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(status("berth-test-prune-exited"), "exited");  // not confirmed: nothing removed

  r = berth("container prune -f");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("Deleted Containers:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Total reclaimed space: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Total reclaimed space: 0B"), std::string::npos) << r.out;  // /big was in its layer
  EXPECT_EQ(status("berth-test-prune-exited"), "");
  EXPECT_EQ(status("berth-test-prune-created"), "");
  EXPECT_EQ(status("berth-test-prune-running"), "running");
  EXPECT_EQ(berth("rm -f berth-test-prune-running").status, 0);
}

}  // namespace
}  // namespace berth::engine
