// Image-spec parsers, serialisers, platform matching and chain IDs.
#include <gtest/gtest.h>

#include "oci/image.h"

namespace berth::oci {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

TEST(Digest, Parse) {
  auto d = parse_digest(kA);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->algorithm, "sha256");
  EXPECT_EQ(d->str(), kA);
  EXPECT_TRUE(parse_digest("sha512:" + std::string(128, '0')));
  for (const std::string& bad : std::vector<std::string>{"", "sha256", "sha256:", "sha256:abc", "md5:" + std::string(32, 'a'),
                          "sha256:" + std::string(64, 'A'), "sha256:" + std::string(63, 'a') + "g",
                          "sha512:" + std::string(64, 'a')}) {
    auto r = parse_digest(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().what().find("\"" + bad + "\""), std::string::npos) << r.error().what();
    }
  }
}

TEST(Digest, Sha256KnownAnswers) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the padding boundary.
  EXPECT_EQ(sha256_hex(std::string(55, 'x')).size(), 64u);
  EXPECT_NE(sha256_hex(std::string(55, 'x')), sha256_hex(std::string(56, 'x')));
}

std::string manifest_json(const std::string& layer_type = std::string(media::oci_layer_gzip)) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + kA + R"(","size":7023},
    "layers":[{"mediaType":")" + layer_type + R"(","digest":")" + kB + R"(","size":32654,
      "annotations":{"x":"y"}}],"annotations":{"org.opencontainers.image.ref.name":"v1"}})";
}

TEST(Manifest, ParsesOci) {
  auto m = parse_manifest(manifest_json());
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->config.digest.str(), kA);
  EXPECT_EQ(m->config.size, 7023);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].digest.str(), kB);
  EXPECT_EQ(m->layers[0].annotations.at("x"), "y");
  // Round trip through the serialiser.
  auto again = parse_manifest(manifest_to_json(*m));
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(again->layers, m->layers);
  EXPECT_EQ(again->config, m->config);
  EXPECT_EQ(again->annotations, m->annotations);
}

TEST(Manifest, ParsesDockerSchema2) {
  std::string text = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1,"digest":")" + kA + R"("},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2,"digest":")" + kB + R"("},
      {"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","size":3,"digest":")" + kC +
                     R"(","urls":["https://example.com/l"]}]})";
  auto m = parse_manifest(text);
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->media_type, media::docker_manifest);
  ASSERT_EQ(m->layers.size(), 2u);
  auto t0 = layer_type(m->layers[0].media_type);
  auto t1 = layer_type(m->layers[1].media_type);
  ASSERT_TRUE(t0 && t1);
  EXPECT_EQ(t0->compression, Compression::gzip);
  EXPECT_FALSE(t0->foreign);
  EXPECT_TRUE(t1->foreign);
  EXPECT_EQ(m->layers[1].urls, std::vector<std::string>{"https://example.com/l"});
}

TEST(Manifest, ErrorsNameThePath) {
  struct Case {
    std::string text, expect;
  } cases[] = {
      {"{", "manifest: invalid JSON"},
      {"[]", "manifest: must be a JSON object"},
      {R"({"schemaVersion":1,"config":{},"layers":[]})", "manifest.schemaVersion: unsupported schema version 1"},
      {R"({"config":{},"layers":[]})", "manifest.schemaVersion: required"},
      {R"({"schemaVersion":2,"layers":[]})", "manifest.config: required"},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{},"layers":[]})",
       "manifest.mediaType: \"application/vnd.oci.image.index.v1+json\" is not an image manifest"},
      {R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + kA + R"(","size":-1},"layers":[]})",
       "manifest.config.size: must not be negative"},
      {R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + kA + R"(","size":1},"layers":[{"mediaType":"x","digest":"sha256:zz","size":1}]})",
       "manifest.layers[0].digest: invalid digest \"sha256:zz\""},
      {R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + kA + R"(","size":"1"},"layers":[]})",
       "manifest.config.size: must be an integer"},
  };
  for (const auto& c : cases) {
    auto m = parse_manifest(c.text);
    ASSERT_FALSE(m) << c.text;
    EXPECT_NE(m.error().what().find(c.expect), std::string::npos) << m.error().what() << "\nwant: " << c.expect;
  }
}

TEST(Manifest, HugeDocumentRefused) {
  std::string huge = manifest_json();
  huge.insert(huge.size() - 1, ",\"pad\":\"" + std::string(kMaxManifestSize, 'x') + "\"");
  auto m = parse_manifest(huge);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().what().find("exceeds the limit"), std::string::npos);
}

TEST(LayerType, KnownAndUnknown) {
  EXPECT_EQ(layer_type(media::oci_layer)->compression, Compression::none);
  EXPECT_EQ(layer_type(media::oci_layer_zstd)->compression, Compression::zstd);
  EXPECT_TRUE(layer_type(media::oci_layer_nondist_gzip)->foreign);
  auto bad = layer_type("application/x-made-up");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("application/x-made-up"), std::string::npos);
}

std::string index_json() {
  auto entry = [](const std::string& digest, const std::string& platform) {
    return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + digest +
           R"(","size":500,"platform":)" + platform + "}";
  };
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
         entry(kA, R"({"architecture":"amd64","os":"linux"})") + "," +
         entry(kB, R"({"architecture":"arm","os":"linux","variant":"v6"})") + "," +
         entry(kC, R"({"architecture":"arm","os":"linux","variant":"v7"})") + "," +
         entry("sha256:" + std::string(64, 'd'), R"({"architecture":"unknown","os":"unknown"})") + "]}";
}

TEST(Index, ParsesAndSelectsPlatform) {
  auto x = parse_index(index_json());
  ASSERT_TRUE(x) << x.error().what();
  ASSERT_EQ(x->manifests.size(), 4u);
  EXPECT_EQ(select_manifest(*x, *parse_platform("linux/amd64"))->digest.str(), kA);
  EXPECT_EQ(select_manifest(*x, *parse_platform("linux/x86_64"))->digest.str(), kA);
  EXPECT_EQ(select_manifest(*x, *parse_platform("linux/arm/v7"))->digest.str(), kC);
  EXPECT_EQ(select_manifest(*x, *parse_platform("linux/arm"))->digest.str(), kC);  // arm means v7
  EXPECT_EQ(select_manifest(*x, *parse_platform("linux/arm/v6"))->digest.str(), kB);
  EXPECT_EQ(select_manifest(*x, *parse_platform("linux/arm/v8"))->digest.str(), kC);  // newest compatible
  auto none = select_manifest(*x, *parse_platform("linux/s390x"));
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().what().find("linux/s390x"), std::string::npos);
  EXPECT_NE(none.error().what().find("linux/arm/v6"), std::string::npos);
  auto none5 = select_manifest(*x, *parse_platform("linux/arm/v5"));
  EXPECT_FALSE(none5);
  auto again = parse_index(index_to_json(*x));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->manifests, x->manifests);
}

TEST(Index, DockerManifestListAndErrors) {
  std::string list = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
    "manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" + kA +
                     R"(","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]})";
  auto x = parse_index(list);
  ASSERT_TRUE(x) << x.error().what();
  EXPECT_EQ(select_manifest(*x, *parse_platform("linux/aarch64"))->digest.str(), kA);
  auto bad = parse_index(R"({"schemaVersion":2,"manifests":[{"mediaType":"x","digest":")" + kA +
                         R"(","size":1,"platform":{"os":"linux"}}]})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("index.manifests[0].platform.architecture: required"), std::string::npos)
      << bad.error().what();
}

TEST(Platform, ParseAndMatch) {
  auto p = parse_platform("linux/arm64/v8");
  ASSERT_TRUE(p);
  EXPECT_EQ(platform_string(*p), "linux/arm64");
  EXPECT_EQ(platform_string(*parse_platform("linux/armhf")), "linux/arm/v7");
  EXPECT_EQ(platform_string(*parse_platform("Linux/AMD64")), "linux/amd64");
  for (auto bad : {"linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"}) {
    auto r = parse_platform(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().what().find(bad), std::string::npos);
    }
  }
  EXPECT_TRUE(platform_matches(*parse_platform("linux/arm/v7"), *parse_platform("linux/arm/v5")));
  EXPECT_FALSE(platform_matches(*parse_platform("linux/arm/v6"), *parse_platform("linux/arm/v7")));
  EXPECT_FALSE(platform_matches(*parse_platform("linux/amd64"), *parse_platform("windows/amd64")));
}

TEST(ImageConfig, ParsesAndChainIds) {
  std::string text = R"({"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux",
    "config":{"Env":["PATH=/bin"],"Cmd":["sh"],"ExposedPorts":{"80/tcp":{}},"Labels":{"a":"b"},"WorkingDir":"/w",
      "User":"1:1","Volumes":{"/data":{}},"StopSignal":"SIGTERM"},
    "rootfs":{"type":"layers","diff_ids":[")" + kA + R"(",")" + kB + R"("]},
    "history":[{"created_by":"ADD x","empty_layer":false},{"created_by":"ENV","empty_layer":true}]})";
  auto c = parse_image_config(text);
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->config.cmd, std::vector<std::string>{"sh"});
  EXPECT_EQ(c->config.exposed_ports, std::vector<std::string>{"80/tcp"});
  EXPECT_EQ(c->config.volumes, std::vector<std::string>{"/data"});
  EXPECT_EQ(c->diff_ids.size(), 2u);
  EXPECT_TRUE(c->history[1].empty_layer);
  auto again = parse_image_config(image_config_to_json(*c));
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(again->config, c->config);
  EXPECT_EQ(again->diff_ids, c->diff_ids);
  EXPECT_EQ(again->history, c->history);

  auto ids = chain_ids(c->diff_ids);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0].str(), kA);
  EXPECT_EQ(ids[1].hex, sha256_hex(kA + " " + kB));

  auto bad = parse_image_config(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[1]}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("config.rootfs.diff_ids[0]: must be a string"), std::string::npos);
  auto no_rootfs = parse_image_config(R"({"architecture":"amd64","os":"linux"})");
  ASSERT_FALSE(no_rootfs);
  EXPECT_NE(no_rootfs.error().what().find("config.rootfs: required"), std::string::npos);
}

TEST(Sniff, MediaType) {
  EXPECT_EQ(*sniff_manifest_media_type(manifest_json()), media::oci_manifest);
  EXPECT_EQ(*sniff_manifest_media_type(R"({"schemaVersion":2,"manifests":[]})"), media::oci_index);
  EXPECT_EQ(*sniff_manifest_media_type(R"({"schemaVersion":2,"layers":[]})"), media::oci_manifest);
  EXPECT_FALSE(sniff_manifest_media_type("nope"));
}

}  // namespace
}  // namespace berth::oci
