// auth.json (podman's and docker's formats), WWW-Authenticate parsing, base64.
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/file.h"
#include "image/registry_auth.h"

namespace berth::image {
namespace {

class AuthFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-test-auth-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST(Base64, RoundTrip) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "user:pa:ss"}) {
    auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64_encode("berth-test:s3cret"), "YmVydGgtdGVzdDpzM2NyZXQ=");
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("!!!!"));
}

TEST(WwwAuthenticate, Parses) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c[0].params["service"], "registry.docker.io");
  EXPECT_EQ(c[0].params["scope"], "repository:library/busybox:pull");
  auto two = parse_www_authenticate(R"(Basic realm="x y", Bearer realm=z,error="insufficient_scope")");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].scheme, "basic");
  EXPECT_EQ(two[0].params["realm"], "x y");
  EXPECT_EQ(two[1].params["realm"], "z");
  EXPECT_EQ(two[1].params["error"], "insufficient_scope");
  for (const char* junk : {"", "=", "==,,=", "Bearer =x", "Bearer realm=\"unterminated", ",,,"})
    (void)parse_www_authenticate(junk);  // must terminate
}

TEST_F(AuthFile, StoreFindRemove) {
  std::string f = dir_ + "/containers/auth.json";
  ASSERT_TRUE(store_credentials(f, "localhost:5000", Credentials{"u", "p:w", {}}));
  ASSERT_TRUE(store_credentials(f, "quay.io", Credentials{"q", "x", {}}));
  auto found = find_credentials({f}, "localhost:5000");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->username, "u");
  EXPECT_EQ((*found)->password, "p:w");
  EXPECT_FALSE(*find_credentials({f}, "other:1"));
  EXPECT_EQ(std::filesystem::status(f).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_TRUE(*remove_credentials(f, "localhost:5000"));
  EXPECT_FALSE(*remove_credentials(f, "localhost:5000"));
  EXPECT_FALSE(*find_credentials({f}, "localhost:5000"));
  EXPECT_TRUE(*find_credentials({f}, "quay.io"));
}

TEST_F(AuthFile, DockerConfigAndNamespacedKeys) {
  std::string docker = dir_ + "/config.json";
  std::ofstream(docker) << R"({"auths":{"https://index.docker.io/v1/":{"auth":")" << base64_encode("hub:pw")
                        << R"("},"reg.example/team":{"auth":")" << base64_encode("team:pw") << R"("},
      "reg.example":{"auth":")" << base64_encode("all:pw") << R"("}}})";
  auto hub = find_credentials({dir_ + "/missing.json", docker}, "docker.io");
  ASSERT_TRUE(hub && *hub);
  EXPECT_EQ((*hub)->username, "hub");
  EXPECT_EQ((*find_credentials({docker}, "reg.example", "team/app"))->username, "team");
  EXPECT_EQ((*find_credentials({docker}, "reg.example", "other/app"))->username, "all");
  std::ofstream(dir_ + "/bad.json") << "{nope";
  auto bad = find_credentials({dir_ + "/bad.json"}, "x");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("bad.json"), std::string::npos);
}

}  // namespace
}  // namespace berth::image
