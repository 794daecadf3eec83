// save/load/import, and round trips through skopeo and podman (private
// storage under the test's /var/tmp/berth-test-* directory).
#include "image/archive.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "image/content_store.h"
#include "image/snapshots.h"
#include "image/store.h"
#include "temp_root.h"
#include "test_util.h"

namespace berth::image {
namespace {

using testing::sh;
using testing::TempRoot;

const std::string kFixtureTar = std::string(testing::kFixtures) + "/oci-busybox.tar";
const std::string kFixtureRootfs = std::string(testing::kFixtures) + "/busybox-rootfs";
// The fixture's config digest (its image id): see tests' make-images.sh.
std::string fixture_id() {
  auto index = nlohmann::json::parse(testing::slurp(std::string(testing::kFixtures) + "/oci-busybox/index.json"));
  std::string manifest = index["manifests"][0]["digest"];
  auto m = nlohmann::json::parse(
      testing::slurp(std::string(testing::kFixtures) + "/oci-busybox/blobs/sha256/" + manifest.substr(7)));
  return m["config"]["digest"];
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kFixtureTar)) GTEST_SKIP() << "fixtures missing: run scripts/make-fixtures.sh";
    a_ = open("a");
    b_ = open("b");
  }
  std::unique_ptr<Store> open(const std::string& name) {
    auto s = Store::open(tmp_ / name);
    EXPECT_TRUE(s) << s.error().what();
    return s ? std::make_unique<Store>(std::move(*s)) : nullptr;
  }
  // The snapshot of the image's top layer has busybox in it.
  void expect_busybox(Store& store, const std::string& id) {
    auto img = store.find_image(id);
    ASSERT_TRUE(img) << img.error().what();
    ASSERT_FALSE(img->layers.empty());
    auto chain = oci::parse_digest(img->layers.back().chain_id);
    ASSERT_TRUE(chain);
    auto path = store.snapshots().path(*chain);
    ASSERT_TRUE(path);
    EXPECT_TRUE(std::filesystem::exists(*path + "/bin/busybox"));
    auto check = store.check(false);
    ASSERT_TRUE(check);
    EXPECT_TRUE(check->problems.empty());
  }

  TempRoot tmp_{"archive"};
  std::unique_ptr<Store> a_, b_;
};

TEST_F(ArchiveTest, LoadsTheFixtureOciArchive) {
  auto loaded = load_images(*a_, kFixtureTar);
  ASSERT_TRUE(loaded) << loaded.error().what();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, fixture_id());
  // Its index names it by a bare tag: podman's reading of it.
  EXPECT_EQ((*loaded)[0].names, std::vector<std::string>{"localhost/latest:latest"});
  expect_busybox(*a_, fixture_id());
  // Loading again changes nothing.
  auto again = load_images(*a_, kFixtureTar);
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(a_->metadata().list_images()->size(), 1u);
  EXPECT_EQ(a_->metadata().live_leases(unix_now())->size(), 0u);
}

TEST_F(ArchiveTest, RoundTripsBetweenStoresInBothFormats) {
  ASSERT_TRUE(load_images(*a_, kFixtureTar));
  ASSERT_TRUE(a_->tag(fixture_id(), "docker.io/library/busybox:test"));
  for (auto format : {ArchiveFormat::oci_archive, ArchiveFormat::docker_archive}) {
    std::string out = tmp_ / (format == ArchiveFormat::oci_archive ? "oci.tar" : "docker.tar");
    auto saved = save_images(*a_, {"busybox:test"}, format, out);
    ASSERT_TRUE(saved) << saved.error().what();
    auto b = open(format == ArchiveFormat::oci_archive ? "b-oci" : "b-docker");
    auto loaded = load_images(*b, out);
    ASSERT_TRUE(loaded) << loaded.error().what();
    ASSERT_EQ(loaded->size(), 1u);
    EXPECT_EQ((*loaded)[0].id, fixture_id());
    EXPECT_EQ((*loaded)[0].names, std::vector<std::string>{"docker.io/library/busybox:test"});
    expect_busybox(*b, "busybox:test");
    if (format == ArchiveFormat::oci_archive) {
      // The same manifest, byte for byte.
      EXPECT_EQ(b->find_image("busybox:test")->manifest_digest, a_->find_image("busybox:test")->manifest_digest);
    }
  }
  // docker-archive's legacy layout.
  auto listing = sh("tar tf " + (tmp_ / "docker.tar"));
  EXPECT_NE(listing.out.find("manifest.json"), std::string::npos);
  EXPECT_NE(listing.out.find("repositories"), std::string::npos);
  EXPECT_NE(listing.out.find("/layer.tar"), std::string::npos);
  EXPECT_NE(listing.out.find("/VERSION"), std::string::npos);
  EXPECT_NE(listing.out.find(fixture_id().substr(7) + ".json"), std::string::npos);
}

TEST_F(ArchiveTest, SavesSeveralImagesAndRefusesUnknownOnes) {
  ASSERT_TRUE(load_images(*a_, kFixtureTar));
  ImportOptions o;
  o.name = "second";
  auto second = import_rootfs(*a_, kFixtureTar, o);  // any tar is a rootfs
  ASSERT_TRUE(second) << second.error().what();
  std::string out = tmp_ / "two.tar";
  ASSERT_TRUE(save_images(*a_, {fixture_id(), "second"}, ArchiveFormat::oci_archive, out));
  auto loaded = load_images(*b_, out);
  ASSERT_TRUE(loaded) << loaded.error().what();
  EXPECT_EQ(loaded->size(), 2u);
  EXPECT_EQ(b_->metadata().list_images()->size(), 2u);

  auto missing = save_images(*a_, {"nothing"}, ArchiveFormat::oci_archive, tmp_ / "none.tar");
  ASSERT_FALSE(missing);
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "none.tar"));
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "none.tar.berth-tmp"));
}

TEST_F(ArchiveTest, LoadRejectsBrokenArchivesKeepingTheStore) {
  ASSERT_TRUE(load_images(*a_, kFixtureTar));
  // A blob whose bytes do not match its name.
  std::string dir = tmp_ / "bad";
  ASSERT_EQ(sh("mkdir -p " + dir + " && tar -C " + dir + " -xf " + kFixtureTar).status, 0);
  auto config = fixture_id().substr(7);
  testing::spit(dir + "/blobs/sha256/" + config, "{\"tampered\": true}");
  ASSERT_EQ(sh("tar -C " + dir + " -cf " + (tmp_ / "bad.tar") + " .").status, 0);
  auto r = load_images(*b_, tmp_ / "bad.tar");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find(config), std::string::npos) << r.error().what();
  EXPECT_TRUE(b_->metadata().list_images()->empty());

  testing::spit(tmp_ / "junk.tar", "not a tar at all");
  EXPECT_FALSE(load_images(*b_, tmp_ / "junk.tar"));
  ASSERT_EQ(sh("tar -C " + dir + " -cf " + (tmp_ / "empty.tar") + " oci-layout").status, 0);
  auto empty = load_images(*b_, tmp_ / "empty.tar");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().what().find("index.json"), std::string::npos) << empty.error().what();
  // The first store is untouched and whole.
  expect_busybox(*a_, fixture_id());
  // Nothing left in the scratch area.
  EXPECT_TRUE(std::filesystem::is_empty(b_->tmp_dir()));
}

TEST_F(ArchiveTest, LoadsCompressedArchives) {
  ASSERT_EQ(sh("gzip -c " + kFixtureTar + " > " + (tmp_ / "f.tar.gz")).status, 0);
  auto loaded = load_images(*a_, tmp_ / "f.tar.gz");
  ASSERT_TRUE(loaded) << loaded.error().what();
  EXPECT_EQ((*loaded)[0].id, fixture_id());
}

TEST_F(ArchiveTest, ImportMakesAOneLayerImage) {
  std::string tar = tmp_ / "rootfs.tar";
  ASSERT_EQ(sh("tar -C " + kFixtureRootfs + " -cf " + tar + " .").status, 0);
  ImportOptions o;
  o.name = "imported:v1";
  o.changes = {"CMD [\"/bin/sh\"]", "ENV PATH=/bin:/usr/bin", "WORKDIR /root", "LABEL a=b"};
  o.message = "from a test";
  auto img = import_rootfs(*a_, tar, o);
  ASSERT_TRUE(img) << img.error().what();
  EXPECT_EQ(img->names, std::vector<std::string>{"localhost/imported:v1"});
  expect_busybox(*a_, "imported:v1");
  auto rec = *a_->find_image("imported:v1");
  ASSERT_EQ(rec.layers.size(), 1u);
  EXPECT_EQ(rec.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
  auto config = nlohmann::json::parse(*a_->content().read_blob(*oci::parse_digest(rec.id), 1 << 20));
  EXPECT_EQ(config["config"]["Cmd"], nlohmann::json::array({"/bin/sh"}));
  EXPECT_EQ(config["config"]["Env"], nlohmann::json::array({"PATH=/bin:/usr/bin"}));
  EXPECT_EQ(config["config"]["WorkingDir"], "/root");
  EXPECT_EQ(config["config"]["Labels"]["a"], "b");
  EXPECT_EQ(config["os"], "linux");
  EXPECT_EQ(config["history"][0]["comment"], "from a test");
  // The layer is a real gzip whose content is the tar: the diff ID is the
  // tar's sha256.
  auto tar_digest = sh("sha256sum " + tar).out.substr(0, 64);
  EXPECT_EQ(rec.layers[0].diff_id, "sha256:" + tar_digest);
  auto gz = a_->content().path(*oci::parse_digest(rec.layers[0].digest));
  EXPECT_EQ(sh("gzip -dc " + gz + " | sha256sum").out.substr(0, 64), tar_digest);

  // A compressed tarball gives the same layer.
  ASSERT_EQ(sh("gzip -c " + tar + " > " + tar + ".gz").status, 0);
  auto again = import_rootfs(*b_, tar + ".gz", {});
  ASSERT_TRUE(again) << again.error().what();
  EXPECT_EQ(b_->find_image(again->id)->layers[0].diff_id, rec.layers[0].diff_id);
  EXPECT_TRUE(again->names.empty());

  ImportOptions bad;
  bad.changes = {"RUN true"};
  EXPECT_FALSE(import_rootfs(*a_, tar, bad));
  testing::spit(tmp_ / "empty", "");
  EXPECT_FALSE(import_rootfs(*a_, tmp_ / "empty", {}));
}

// --- peers

TEST_F(ArchiveTest, SkopeoReadsWhatBerthWritesAndBack) {
  if (!testing::has_tool("skopeo")) GTEST_SKIP() << "no skopeo";
  ASSERT_TRUE(load_images(*a_, kFixtureTar));
  ASSERT_TRUE(a_->tag(fixture_id(), "docker.io/library/busybox:skopeo"));
  std::string oci = tmp_ / "berth-oci.tar", docker = tmp_ / "berth-docker.tar";
  ASSERT_TRUE(save_images(*a_, {"busybox:skopeo"}, ArchiveFormat::oci_archive, oci));
  ASSERT_TRUE(save_images(*a_, {"busybox:skopeo"}, ArchiveFormat::docker_archive, docker));

  // skopeo reads both archives berth wrote.
  for (const auto& [src, fmt] : {std::pair{"oci-archive:" + oci, "oci"}, std::pair{"docker-archive:" + docker, "docker"}}) {
    auto inspect = sh("skopeo inspect --config " + src);
    ASSERT_EQ(inspect.status, 0) << src << ": " << inspect.out;
    EXPECT_NE(inspect.out.find("\"architecture\""), std::string::npos) << fmt;
  }
  // skopeo converts them into each other's formats; berth loads the results.
  std::string s_docker = tmp_ / "skopeo-docker.tar", s_oci = tmp_ / "skopeo-oci.tar";
  auto c1 = sh("skopeo copy -q oci-archive:" + oci + " docker-archive:" + s_docker + ":example.com/x/y:1");
  ASSERT_EQ(c1.status, 0) << c1.out;
  auto c2 = sh("skopeo copy -q docker-archive:" + docker + " oci-archive:" + s_oci + ":example.com/x/z:2");
  ASSERT_EQ(c2.status, 0) << c2.out;

  auto l1 = load_images(*b_, s_docker);
  ASSERT_TRUE(l1) << l1.error().what();
  EXPECT_EQ((*l1)[0].id, fixture_id());
  EXPECT_EQ((*l1)[0].names, std::vector<std::string>{"example.com/x/y:1"});
  auto l2 = load_images(*b_, s_oci);
  ASSERT_TRUE(l2) << l2.error().what();
  // skopeo rewrites the config on this conversion (a new id): compare with
  // what it wrote, and the layers with the original.
  auto written = nlohmann::json::parse(sh("skopeo inspect --raw oci-archive:" + s_oci).out);
  EXPECT_EQ((*l2)[0].id, written["config"]["digest"]);
  EXPECT_EQ(b_->find_image((*l2)[0].id)->layers[0].diff_id, a_->find_image(fixture_id())->layers[0].diff_id);
  EXPECT_EQ((*l2)[0].names, std::vector<std::string>{"example.com/x/z:2"});
  expect_busybox(*b_, "example.com/x/y:1");
}

class Podman {
 public:
  explicit Podman(const std::string& dir)
      : cmd_("podman --root " + dir + "/root --runroot " + dir + "/run --tmpdir " + dir +
             "/tmp --storage-driver vfs --events-backend none ") {}
  testing::Cmd operator()(const std::string& args) const { return sh(cmd_ + args); }

 private:
  std::string cmd_;
};

TEST_F(ArchiveTest, PodmanLoadsWhatBerthSavesAndBack) {
  if (!testing::has_tool("podman")) GTEST_SKIP() << "no podman";
  ASSERT_TRUE(load_images(*a_, kFixtureTar));
  ASSERT_TRUE(a_->tag(fixture_id(), "docker.io/library/busybox:podman"));
  Podman podman(tmp_ / "podman");
  for (auto format : {ArchiveFormat::oci_archive, ArchiveFormat::docker_archive}) {
    bool oci = format == ArchiveFormat::oci_archive;
    std::string berth_tar = tmp_ / (oci ? "to-podman-oci.tar" : "to-podman-docker.tar");
    ASSERT_TRUE(save_images(*a_, {"busybox:podman"}, format, berth_tar));
    auto load = podman("load -i " + berth_tar);
    ASSERT_EQ(load.status, 0) << load.out;
    EXPECT_NE(load.out.find("docker.io/library/busybox:podman"), std::string::npos) << load.out;
    auto images = podman("images --format json");
    ASSERT_EQ(images.status, 0) << images.out;
    auto j = nlohmann::json::parse(images.out);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0]["Id"], fixture_id().substr(7));

    std::string podman_tar = tmp_ / (oci ? "from-podman-oci.tar" : "from-podman-docker.tar");
    auto save = podman(std::string("save --format ") + (oci ? "oci-archive" : "docker-archive") + " -o " +
                       podman_tar + " docker.io/library/busybox:podman");
    ASSERT_EQ(save.status, 0) << save.out;
    auto store = open(oci ? "from-podman-oci" : "from-podman-docker");
    auto loaded = load_images(*store, podman_tar);
    ASSERT_TRUE(loaded) << loaded.error().what();
    ASSERT_EQ(loaded->size(), 1u);
    EXPECT_EQ((*loaded)[0].id, fixture_id());
    EXPECT_EQ((*loaded)[0].names, std::vector<std::string>{"docker.io/library/busybox:podman"});
    expect_busybox(*store, fixture_id());
    ASSERT_EQ(podman("rmi -a -f").status, 0);
  }
}

}  // namespace
}  // namespace berth::image
