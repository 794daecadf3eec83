// write_etc_files: hosts, hostname, resolv.conf as podman writes them.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/etc_files.h"
#include "spec_test_util.h"
#include "test_util.h"

namespace berth::engine {
namespace {

using image::testing::slurp;
using testing::TempRootfs;

std::string err(const auto& r) { return r ? std::string("<ok>") : r.error().what(); }

TEST(EtcFiles, Generated) {
  TempRootfs fs;
  std::string host_resolv = fs.dir() + "/host-resolv.conf";
  std::ofstream(host_resolv) << "# host\nnameserver 127.0.0.53\nnameserver 10.0.0.1\nnameserver ::1\n"
                                "domain old.example\nsearch a.example b.example\noptions ndots:2 edns0\n";
  EtcInputs in{.hostname = "c0ffee",
               .addresses = {"10.88.0.5"},
               .add_hosts = {"db:10.0.0.2", "v6:[fd00::1]", "eq=1.2.3.4"},
               .host_resolv_conf = host_resolv};
  auto r = write_etc_files(fs.userdata(), in);
  ASSERT_TRUE(r) << err(r);
  EXPECT_EQ(slurp(fs.userdata() + "/hostname"), "c0ffee\n");
  EXPECT_EQ(slurp(fs.userdata() + "/hosts"),
            "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n"
            "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n"
            "10.88.0.5\tc0ffee\n"
            "10.0.0.2\tdb\n"
            "fd00::1\tv6\n"
            "1.2.3.4\teq\n");
  // Loopback nameservers cannot be reached from the container's network namespace.
  EXPECT_EQ(slurp(fs.userdata() + "/resolv.conf"),
            "search a.example b.example\nnameserver 10.0.0.1\noptions ndots:2 edns0\n");

  // --dns, --dns-search, --dns-option replace the host's.
  in.dns = {"1.1.1.1", "9.9.9.9"};
  in.dns_search = {"."};
  in.dns_options = {"attempts:1"};
  ASSERT_TRUE(write_etc_files(fs.userdata(), in));
  EXPECT_EQ(slurp(fs.userdata() + "/resolv.conf"), "nameserver 1.1.1.1\nnameserver 9.9.9.9\noptions attempts:1\n");
}

TEST(EtcFiles, FallbacksAndHostNetwork) {
  TempRootfs fs;
  std::string host_resolv = fs.dir() + "/host-resolv.conf";
  std::ofstream(host_resolv) << "nameserver 127.0.0.53\n";
  EtcInputs in{.hostname = "box", .host_resolv_conf = host_resolv};
  ASSERT_TRUE(write_etc_files(fs.userdata(), in));
  EXPECT_EQ(slurp(fs.userdata() + "/resolv.conf"), "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  // No address (--network none): the hostname still resolves.
  EXPECT_NE(slurp(fs.userdata() + "/hosts").find("127.0.1.1\tbox\n"), std::string::npos);

  // The host's network: its loopback resolver is reachable, its hosts file is copied.
  in.host_network = true;
  ASSERT_TRUE(write_etc_files(fs.userdata(), in));
  EXPECT_EQ(slurp(fs.userdata() + "/resolv.conf"), "nameserver 127.0.0.53\n");
  std::string hosts = slurp(fs.userdata() + "/hosts");
  EXPECT_TRUE(hosts.starts_with(slurp("/etc/hosts"))) << hosts;

  // A missing host resolv.conf: the fallbacks.
  in.host_network = false;
  in.host_resolv_conf = fs.dir() + "/none";
  ASSERT_TRUE(write_etc_files(fs.userdata(), in));
  EXPECT_EQ(slurp(fs.userdata() + "/resolv.conf"), "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

TEST(EtcFiles, Errors) {
  TempRootfs fs;
  EXPECT_EQ(err(write_etc_files(fs.userdata(), EtcInputs{.hostname = "x", .add_hosts = {"nohost"}})),
            "--add-host nohost: want name:ip");
  EXPECT_EQ(err(write_etc_files(fs.userdata(), EtcInputs{.hostname = "x", .add_hosts = {":1.2.3.4"}})),
            "--add-host :1.2.3.4: want name:ip");
  auto r = write_etc_files(fs.dir() + "/missing", EtcInputs{.hostname = "x"});
  EXPECT_FALSE(r);
  EXPECT_NE(err(r).find(fs.dir() + "/missing/hosts"), std::string::npos) << err(r);
}

}  // namespace
}  // namespace berth::engine
