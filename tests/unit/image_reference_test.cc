// Reference parsing and normalisation, checked against the forms
// distribution/reference (docker, podman, containerd) accepts and refuses.
#include <gtest/gtest.h>

#include "image/reference.h"

namespace berth::image {
namespace {

std::string norm(std::string_view text) {
  auto r = parse_reference(text);
  EXPECT_TRUE(r) << text << ": " << r.error().what();
  return r ? r->str() : std::string();
}

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(Reference, DockerHubNormalisation) {
  EXPECT_EQ(norm("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(norm("library/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(norm("user/app:v1"), "docker.io/user/app:v1");
  EXPECT_EQ(norm("docker.io/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(norm("index.docker.io/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(norm("registry-1.docker.io/a/b"), "docker.io/a/b:latest");
}

TEST(Reference, RegistryWithPort) {
  auto r = parse_reference("localhost:5000/a/b-c/d_e:1.0-rc");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->registry, "localhost:5000");
  EXPECT_EQ(r->repository, "a/b-c/d_e");
  EXPECT_EQ(r->tag, "1.0-rc");
  EXPECT_EQ(r->manifest_reference(), "1.0-rc");
  EXPECT_EQ(norm("localhost/x"), "localhost/x:latest");
  EXPECT_EQ(norm("127.0.0.1:5000/x"), "127.0.0.1:5000/x:latest");
  EXPECT_EQ(norm("[::1]:5000/x:t"), "[::1]:5000/x:t");
  EXPECT_EQ(norm("quay.io/podman/stable"), "quay.io/podman/stable:latest");
}

TEST(Reference, Digest) {
  auto r = parse_reference("localhost:5000/x@sha256:" + kHex);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->tag.empty());
  ASSERT_TRUE(r->digest);
  EXPECT_EQ(r->digest->hex, kHex);
  EXPECT_EQ(r->manifest_reference(), "sha256:" + kHex);
  EXPECT_EQ(r->tag_or_digest(), "localhost:5000/x@sha256:" + kHex);
  // Tag and digest: the digest decides what is pulled, the tag is kept.
  auto both = parse_reference("busybox:1.36@sha256:" + kHex);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->tag, "1.36");
  EXPECT_EQ(both->manifest_reference(), "sha256:" + kHex);
  EXPECT_EQ(both->str(), "docker.io/library/busybox:1.36@sha256:" + kHex);
}

TEST(Reference, ErrorsNameTheReference) {
  for (const std::string& bad : std::vector<std::string>{"", "Busybox", "a//b", "-a", "a-", "a:", "a@", "a@sha256:abc", "a@md5:" + kHex,
                          "a:-tag", "a:t/b", "exa_mple.com/a", "a..b", "host:port/x", ":tag",
                          "a:" + std::string(129, 't'), std::string(256, 'a'), "a@sha256:" + std::string(64, 'A')}) {
    auto r = parse_reference(bad);
    EXPECT_FALSE(r) << bad << " parsed as " << (r ? r->str() : "");
    if (!r) {
      EXPECT_NE(r.error().what().find("\"" + bad + "\""), std::string::npos) << r.error().what();
    }
  }
}

TEST(Reference, SeparatorsInComponents) {
  EXPECT_TRUE(parse_reference("a__b"));
  EXPECT_TRUE(parse_reference("a---b"));
  EXPECT_TRUE(parse_reference("a.b_c-d"));
  EXPECT_FALSE(parse_reference("a___b"));
  EXPECT_FALSE(parse_reference("a._b"));
}

TEST(Reference, ShortNames) {
  EXPECT_TRUE(is_short_name("busybox"));
  EXPECT_TRUE(is_short_name("user/app:1"));
  EXPECT_TRUE(is_short_name("busybox@sha256:" + kHex));
  EXPECT_FALSE(is_short_name("localhost/app"));
  EXPECT_FALSE(is_short_name("quay.io/app"));
  EXPECT_FALSE(is_short_name("host:5000/app"));

  auto none = resolve_reference("busybox", {});
  ASSERT_TRUE(none);
  ASSERT_EQ(none->size(), 1u);
  EXPECT_EQ((*none)[0].str(), "docker.io/library/busybox:latest");

  auto many = resolve_reference("busybox:1", {"localhost:5000", "docker.io"});
  ASSERT_TRUE(many) << many.error().what();
  ASSERT_EQ(many->size(), 2u);
  EXPECT_EQ((*many)[0].str(), "localhost:5000/busybox:1");
  EXPECT_EQ((*many)[1].str(), "docker.io/library/busybox:1");

  // A name that only a shorter registry keeps under 255 characters (found by
  // fuzz_reference): the longer candidate is skipped, not the whole resolution.
  std::string long_name = "do/" + std::string(240, 'a');
  auto some = resolve_reference(long_name, {"localhost:5000", "docker.io"});
  ASSERT_TRUE(some) << some.error().what();
  ASSERT_EQ(some->size(), 1u);
  EXPECT_EQ((*some)[0].registry, "docker.io");
  auto too_long = resolve_reference("do/" + std::string(250, 'a'), {"localhost:5000"});
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().what().find("longer than 255"), std::string::npos) << too_long.error().what();

  auto qualified = resolve_reference("quay.io/a/b", {"localhost:5000"});
  ASSERT_TRUE(qualified);
  ASSERT_EQ(qualified->size(), 1u);
  EXPECT_EQ((*qualified)[0].str(), "quay.io/a/b:latest");

  EXPECT_FALSE(resolve_reference("busybox", {"bad registry"}));
}

}  // namespace
}  // namespace berth::image
