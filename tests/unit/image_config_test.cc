// berth.toml (image side): defaults without a file, every key, errors naming the key.
#include <gtest/gtest.h>

#include "image/config.h"

namespace berth::image {
namespace {

TEST(ImageConfigFile, DefaultsWithoutFile) {
  auto c = load_config("/nonexistent/berth-test/berth.toml", false);
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_TRUE(c->unqualified_search_registries.empty());
  EXPECT_EQ(c->certs_dir, "/etc/berth/certs.d");
  EXPECT_EQ(c->max_concurrent_downloads, 3);
  EXPECT_FALSE(load_config("/nonexistent/berth-test/berth.toml", true));
}

TEST(ImageConfigFile, AllKeys) {
  auto c = parse_config_toml(R"(
unqualified-search-registries = ["localhost:5000", "docker.io"]
[pull]
max-concurrent-downloads = 5
retries = 2
low-speed-timeout = 7
certs-dir = "/tmp/certs"
auth-file = "/tmp/auth.json"
[[registry]]
location = "localhost:5000"
insecure = true
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "mirror.local:5001"
insecure = true
)");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->unqualified_search_registries.size(), 2u);
  EXPECT_EQ(c->max_concurrent_downloads, 5);
  EXPECT_EQ(c->retries, 2);
  EXPECT_EQ(c->low_speed_timeout, 7);
  EXPECT_EQ(c->certs_dir, "/tmp/certs");
  EXPECT_EQ(c->auth_file, "/tmp/auth.json");
  ASSERT_EQ(c->registries.size(), 2u);
  EXPECT_TRUE(c->insecure("localhost:5000"));
  EXPECT_FALSE(c->insecure("docker.io"));
  EXPECT_TRUE(c->insecure("mirror.local:5001"));
  ASSERT_EQ(c->registry("docker.io")->mirrors.size(), 1u);
}

TEST(ImageConfigFile, ErrorsNameTheKey) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"unqualified-search-registries = \"x\"", "unqualified-search-registries: must be an array"},
      {"[pull]\nretries = \"3\"", "pull.retries: must be an integer"},
      {"[pull]\nmax-concurrent-downloads = 0", "pull.max-concurrent-downloads: must be between 1 and 64"},
      {"[pull]\nbogus = 1", "pull.bogus: unknown key"},
      {"[[registry]]\ninsecure = true", "registry[0].location: required"},
      {"[[registry]]\nlocation = \"a\"\ninsecure = 1", "registry[0].insecure: must be a boolean"},
      {"[[registry]]\nlocation = \"a\"\n[[registry.mirror]]\nlocation = 3", "registry[0].mirror[0].location: must be a string"},
      {"= broken", "berth.toml:1:"},
  };
  for (const auto& c : cases) {
    auto r = parse_config_toml(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().what().find(c.expect), std::string::npos) << r.error().what() << "\nwant: " << c.expect;
  }
}

}  // namespace
}  // namespace berth::image
