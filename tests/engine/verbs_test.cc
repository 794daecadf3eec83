// berth rename, port (and the port listing rules), on containers recorded in
// a temp root's database, through the built `berth` binary.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "engine/db.h"
#include "engine/paths.h"
#include "engine/port_listing.h"
#include "test_util.h"

namespace berth::engine {
namespace {

namespace fs = std::filesystem;
using image::testing::sh;

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

}  // namespace
}  // namespace berth::engine
