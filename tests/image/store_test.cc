#include "image/store.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <utime.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "image/archive.h"
#include "image/content_store.h"
#include "image/snapshots.h"
#include "temp_root.h"
#include "test_util.h"

namespace berth::image {
namespace {

using testing::sh;
using testing::TempRoot;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open(root_ / "store");
    ASSERT_TRUE(s) << s.error().what();
    store_.emplace(std::move(*s));
  }

  // A one-layer image from a small tree holding `marker`.
  LoadedImage import(const std::string& marker, const std::string& name, std::vector<std::string> changes = {}) {
    std::string dir = root_ / ("tree-" + marker);
    std::filesystem::create_directories(dir + "/etc");
    testing::spit(dir + "/etc/marker", marker);
    std::string tar = root_ / ("tree-" + marker + ".tar");
    // Fixed times and owners: the same tree makes the same layer.
    EXPECT_EQ(sh("tar --mtime=@0 --owner=0 --group=0 --sort=name -C " + dir + " -cf " + tar + " .").status, 0);
    ImportOptions o;
    o.name = name;
    o.changes = std::move(changes);
    auto img = import_rootfs(*store_, tar, o);
    EXPECT_TRUE(img) << img.error().what();
    return img ? *img : LoadedImage{};
  }

  TempRoot root_{"store"};
  std::optional<Store> store_;
};

TEST_F(StoreTest, OpenCreatesTheLayout) {
  for (auto sub : {"content", "snapshots", "berth.db", "tmp"})
    EXPECT_TRUE(std::filesystem::exists(root_ / "store/" + sub)) << sub;
  auto again = Store::open(root_ / "store");
  ASSERT_TRUE(again) << again.error().what();
}

TEST_F(StoreTest, LookupByNameIdPrefixAndDigest) {
  auto img = import("a", "test/one:v1");
  ASSERT_FALSE(img.id.empty());
  EXPECT_EQ(img.names, std::vector<std::string>{"localhost/test/one:v1"});
  for (std::string text : {std::string("test/one:v1"), std::string("localhost/test/one:v1"), img.id,
                           img.id.substr(7), img.id.substr(7, 12), img.id.substr(7, 3)}) {
    auto found = store_->find_image(text);
    ASSERT_TRUE(found) << text << ": " << found.error().what();
    EXPECT_EQ(found->id, img.id) << text;
  }
  auto rec = store_->find_image(img.id);
  ASSERT_TRUE(rec);
  auto by_manifest = store_->find_image(rec->manifest_digest);
  ASSERT_TRUE(by_manifest);
  EXPECT_EQ(by_manifest->id, img.id);
  auto by_digest_ref = store_->find_image("localhost/test/one@" + rec->manifest_digest);
  ASSERT_TRUE(by_digest_ref) << by_digest_ref.error().what();

  auto missing = store_->find_image("test/one:v2");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_NE(missing.error().what().find("test/one:v2"), std::string::npos);
  EXPECT_FALSE(store_->find_image("Not A Name"));
}

TEST_F(StoreTest, AmbiguousPrefixIsAnError) {
  // Enough images that two ids share a first hex digit.
  std::vector<std::string> ids;
  for (int i = 0; i < 17; ++i) ids.push_back(import(std::to_string(i), "").id);
  std::map<char, int> first;
  for (auto& id : ids) ++first[id[7]];
  auto shared = std::find_if(first.begin(), first.end(), [](auto& p) { return p.second > 1; });
  ASSERT_NE(shared, first.end());
  auto r = store_->find_image(std::string(1, shared->first));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("ambiguous"), std::string::npos) << r.error().what();
}

TEST_F(StoreTest, TagUntagAndRemove) {
  auto img = import("a", "one");
  auto tagged = store_->tag("one", "docker.io/library/busybox:x");
  ASSERT_TRUE(tagged) << tagged.error().what();
  EXPECT_EQ(*tagged, "docker.io/library/busybox:x");
  ASSERT_TRUE(store_->tag(img.id, "two:v2"));
  EXPECT_EQ(store_->find_image("busybox:x")->id, img.id);
  EXPECT_EQ(store_->find_image("two:v2")->id, img.id);
  EXPECT_FALSE(store_->tag("nothing", "x"));

  // By name, with other names left: only untagged.
  auto r = store_->remove_image("two:v2", false);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->untagged, std::vector<std::string>{"localhost/two:v2"});
  EXPECT_TRUE(r->deleted.empty());
  // By id with several names: refused unless forced.
  auto by_id = store_->remove_image(img.id.substr(7, 12), false);
  ASSERT_FALSE(by_id);
  EXPECT_EQ(by_id.error().code(), EBUSY);
  ASSERT_TRUE(store_->remove_image("busybox:x", false));
  r = store_->remove_image("one", false);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->deleted, img.id);
  EXPECT_FALSE(store_->find_image(img.id));

  // gc takes the blobs (manifest, config, layer) and the snapshot.
  auto gc = store_->gc();
  ASSERT_TRUE(gc) << gc.error().what();
  EXPECT_EQ(gc->blobs.size(), 3u);
  EXPECT_EQ(gc->snapshots.size(), 1u);
  EXPECT_GT(gc->bytes, 0u);
  EXPECT_TRUE(store_->content().list()->empty());
  EXPECT_TRUE(store_->snapshots().list()->empty());
  EXPECT_TRUE(store_->metadata().list_snapshots()->empty());
}

TEST_F(StoreTest, SharedLayersSurviveTheOtherImage) {
  auto a = import("same", "a");
  // The same tree with another config: a new image over the same layer.
  auto b = import("same", "b", {"ENV X=1"});
  ASSERT_NE(a.id, b.id);
  auto ra = *store_->find_image("a");
  auto rb = *store_->find_image("b");
  EXPECT_EQ(ra.layers[0].chain_id, rb.layers[0].chain_id);
  EXPECT_EQ(ra.layers[0].digest, rb.layers[0].digest);
  ASSERT_TRUE(store_->remove_image("a", false));
  auto gc = store_->gc();
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->blobs.size(), 2u);  // a's manifest and config
  EXPECT_TRUE(gc->snapshots.empty());
  EXPECT_TRUE(store_->find_image("b"));
  auto check = store_->check(false);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->problems.empty());
}

TEST_F(StoreTest, LeasesProtectImagesAndContent) {
  auto img = import("a", "used");
  {
    auto lease = store_->lease("container", 0, Store::LeaseUse::hold);
    ASSERT_TRUE(lease) << lease.error().what();
    ASSERT_TRUE(lease->add(LeaseResource::image, img.id));
    auto r = store_->remove_image("used", false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), EBUSY);
    EXPECT_NE(r.error().what().find("in use by container"), std::string::npos) << r.error().what();
    // Forced: the names go, the image stays (dangling) while in use.
    r = store_->remove_image("used", true);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_TRUE(r->deleted.empty());
    EXPECT_FALSE(store_->find_image("used"));
    ASSERT_TRUE(store_->gc());
    auto kept = store_->find_image(img.id);
    ASSERT_TRUE(kept);
    EXPECT_TRUE(kept->names.empty());
    EXPECT_EQ(store_->content().list()->size(), 3u);
  }
  // The lease ended: the dangling image can go.
  ASSERT_TRUE(store_->remove_image(img.id, false));
  ASSERT_TRUE(store_->gc());
  EXPECT_TRUE(store_->content().list()->empty());
}

TEST_F(StoreTest, GcCollectsStrayContentIngestsAndKeepsLeased) {
  auto stray = oci::sha256_digest("stray");
  auto held = oci::sha256_digest("held");
  ASSERT_TRUE(store_->content().put("stray", stray));
  auto lease = store_->lease("pull", 3600, Store::LeaseUse::hold);
  ASSERT_TRUE(lease);
  ASSERT_TRUE(lease->add(LeaseResource::content, held.str()));
  ASSERT_TRUE(store_->content().put("held", held));

  // An old partial download and a fresh one.
  std::optional<IngestWriter> old_w, fresh_w;
  for (auto [key, w] : {std::pair{"old-download", &old_w}, std::pair{"fresh-download", &fresh_w}}) {
    auto begun = store_->content().begin(key, oci::sha256_digest(key), 10);
    ASSERT_TRUE(begun) << begun.error().what();
    ASSERT_TRUE(begun->write(std::string_view("abc")));
    w->emplace(std::move(*begun));
  }
  auto ingests = store_->content().list_ingests();
  ASSERT_TRUE(ingests);
  ASSERT_EQ(ingests->size(), 2u);
  // The old one's writer died two hours ago; the fresh one is being written.
  old_w.reset();
  std::string ingest_root = root_ / "store/content/ingest";
  for (auto& e : std::filesystem::directory_iterator(ingest_root)) {
    if (testing::slurp(e.path().string() + "/ref").find("old-download") == std::string::npos) continue;
    for (auto p : {e.path(), e.path() / "data"}) {
      auto t = std::filesystem::last_write_time(p) - std::chrono::hours(2);
      std::filesystem::last_write_time(p, t);
    }
  }

  auto dry = store_->gc({.dry_run = true});
  ASSERT_TRUE(dry);
  EXPECT_EQ(dry->blobs, std::vector<std::string>{stray.str()});
  EXPECT_TRUE(store_->content().has(stray));

  auto gc = store_->gc();
  ASSERT_TRUE(gc) << gc.error().what();
  EXPECT_EQ(gc->blobs, std::vector<std::string>{stray.str()});
  EXPECT_EQ(gc->ingests, std::vector<std::string>{"old-download"});
  EXPECT_FALSE(store_->content().has(stray));
  EXPECT_TRUE(store_->content().has(held));
  EXPECT_EQ(store_->content().list_ingests()->size(), 1u);
  // A stale ingest still locked by a live writer is never removed.
  for (auto& e : std::filesystem::directory_iterator(ingest_root))
    for (auto p : {e.path(), e.path() / "data"})
      std::filesystem::last_write_time(p, std::filesystem::last_write_time(p) - std::chrono::hours(2));
  gc = store_->gc();
  ASSERT_TRUE(gc);
  EXPECT_TRUE(gc->ingests.empty());
  fresh_w.reset();
  gc = store_->gc();
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->ingests, std::vector<std::string>{"fresh-download"});

  ASSERT_TRUE(lease->release());
  ASSERT_TRUE(store_->gc());
  EXPECT_FALSE(store_->content().has(held));
}

TEST_F(StoreTest, ExpiredLeasesStopProtecting) {
  auto d = oci::sha256_digest("short-lived");
  ASSERT_TRUE(store_->metadata().create_lease("crashed-pull", "pull", 10, unix_now() - 100));
  ASSERT_TRUE(store_->metadata().add_lease_ref("crashed-pull", LeaseResource::content, d.str()));
  ASSERT_TRUE(store_->content().put("short-lived", d));
  auto gc = store_->gc();
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->expired_leases, 1);
  EXPECT_FALSE(store_->content().has(d));
}

TEST_F(StoreTest, CheckReportsAndRepairsCorruptBlobAndMissingSnapshot) {
  auto a = import("a", "a");
  auto b = import("b", "b");
  auto c = import("c", "c");
  auto clean = store_->check(false);
  ASSERT_TRUE(clean) << clean.error().what();
  EXPECT_TRUE(clean->problems.empty());
  EXPECT_EQ(clean->blobs_checked, 9u);
  EXPECT_EQ(clean->images_checked, 3u);

  // a: its layer blob corrupted. b: its snapshot directory gone.
  auto ra = *store_->find_image("a");
  auto rb = *store_->find_image("b");
  auto layer = *oci::parse_digest(ra.layers[0].digest);
  std::string blob = store_->content().path(layer);
  ::chmod(blob.c_str(), 0644);
  testing::spit(blob, "garbage");
  auto chain = *oci::parse_digest(rb.layers[0].chain_id);
  ASSERT_EQ(sh("rm -rf " + *store_->snapshots().path(chain)).status, 0);
  ASSERT_FALSE(store_->snapshots().has(chain));

  auto report = store_->check(false);
  ASSERT_TRUE(report) << report.error().what();
  std::map<std::string, int> kinds;
  for (const auto& p : report->problems) {
    ++kinds[p.kind];
    EXPECT_FALSE(p.repaired);
  }
  EXPECT_EQ(kinds["blob"], 1);
  EXPECT_EQ(kinds["snapshot"], 1);
  EXPECT_EQ(kinds["image"], 2);
  EXPECT_TRUE(store_->find_image("a"));  // nothing removed without repair
  EXPECT_TRUE(store_->content().has(layer));

  auto repaired = store_->check(true);
  ASSERT_TRUE(repaired) << repaired.error().what();
  EXPECT_EQ(repaired->problems.size(), 4u);
  for (const auto& p : repaired->problems) EXPECT_TRUE(p.repaired) << p.kind << " " << p.object;
  EXPECT_EQ(repaired->images_removed.size(), 2u);
  EXPECT_FALSE(store_->find_image("a"));
  EXPECT_FALSE(store_->find_image("b"));
  EXPECT_TRUE(store_->find_image("c"));
  EXPECT_FALSE(store_->content().has(layer));
  EXPECT_FALSE(store_->metadata().get_snapshot(rb.layers[0].chain_id)->has_value());

  auto after = store_->check(false);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->problems.empty());
}

TEST_F(StoreTest, DiskUsageAndListing) {
  auto a = import("a", "a");
  auto b = import("b", "");
  auto du = store_->disk_usage();
  ASSERT_TRUE(du) << du.error().what();
  EXPECT_EQ(du->images.total, 2u);
  EXPECT_EQ(du->images.active, 0u);
  EXPECT_EQ(du->blobs, 6u);
  EXPECT_EQ(du->snapshots, 2u);
  EXPECT_GT(du->snapshot_bytes, 0u);
  EXPECT_EQ(du->images.size, du->content_bytes + du->snapshot_bytes);
  EXPECT_EQ(du->images.reclaimable, du->images.size);

  auto lease = store_->lease("container", 0, Store::LeaseUse::hold);
  ASSERT_TRUE(lease);
  ASSERT_TRUE(lease->add(LeaseResource::image, a.id));
  du = store_->disk_usage();
  ASSERT_TRUE(du);
  EXPECT_EQ(du->images.active, 1u);
  EXPECT_LT(du->images.reclaimable, du->images.size);

  auto list = store_->list_images();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  for (const auto& s : *list) {
    EXPECT_GT(s.unpacked_size, 0);
    EXPECT_GT(s.created, 0);
    EXPECT_EQ(s.users.size(), s.record.id == a.id ? 1u : 0u);
  }
}

TEST_F(StoreTest, Filters) {
  auto a = import("a", "docker.io/library/busybox:1");
  sleep(1);  // created times are seconds
  auto b = import("b", "");
  sleep(1);
  auto c = import("c", "quay.io/x/tool:2");
  auto list = *store_->list_images();
  auto pick = [&](std::vector<std::string> filters) {
    std::set<std::string> out;
    auto f = store_->parse_filters(filters);
    EXPECT_TRUE(f) << f.error().what();
    for (const auto& s : list)
      if (f && Store::matches(*f, s)) out.insert(s.record.id);
    return out;
  };
  EXPECT_EQ(pick({"dangling=true"}), std::set<std::string>{b.id});
  EXPECT_EQ(pick({"dangling=false"}), (std::set<std::string>{a.id, c.id}));
  EXPECT_EQ(pick({"reference=busybox"}), std::set<std::string>{a.id});
  EXPECT_EQ(pick({"reference=busy*:1"}), std::set<std::string>{a.id});
  EXPECT_EQ(pick({"reference=quay.io/x/*"}), std::set<std::string>{c.id});
  EXPECT_EQ(pick({"reference=busybox", "reference=quay.io/*/*"}), (std::set<std::string>{a.id, c.id}));
  EXPECT_EQ(pick({"before=" + c.id}), (std::set<std::string>{a.id, b.id}));
  EXPECT_EQ(pick({"since=" + a.id}), (std::set<std::string>{b.id, c.id}));
  EXPECT_EQ(pick({"since=" + a.id, "dangling=false"}), std::set<std::string>{c.id});
  // The images here have no config blob: no labels, so no label filter matches.
  EXPECT_EQ(pick({"label=x"}), std::set<std::string>{});
  EXPECT_FALSE(store_->parse_filters({"label="}));
  ImageSummary labelled;
  labelled.labels = {{"tier", "web"}, {"empty", ""}};
  auto match = [&](std::vector<std::string> filters) {
    auto f = store_->parse_filters(filters);
    EXPECT_TRUE(f) << f.error().what();
    return f && Store::matches(*f, labelled);
  };
  EXPECT_TRUE(match({"label=tier", "label=tier=web", "label=empty="}));
  EXPECT_FALSE(match({"label=tier=db"}));
  EXPECT_FALSE(match({"label=tier", "label=owner"}));  // all must match
  EXPECT_FALSE(store_->parse_filters({"dangling=maybe"}));
  EXPECT_FALSE(store_->parse_filters({"before=nothing-here"}));
}

// Imports in one process while another collects garbage over and over: the
// leases keep every half-written image alive, and the store ends consistent.
TEST_F(StoreTest, GcRacingImportsLosesNothing) {
  std::string stop = root_ / "stop";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = Store::open(root_ / "store");
    if (!s) _exit(10);
    while (!std::filesystem::exists(stop))
      if (!s->gc({.ingest_grace_seconds = 0})) _exit(11);
    _exit(0);
  }
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(import("race" + std::to_string(i), "race" + std::to_string(i)).id);
  testing::spit(stop, "");
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_TRUE(store_->find_image("race" + std::to_string(i))) << i;
  auto check = store_->check(false);
  ASSERT_TRUE(check) << check.error().what();
  for (const auto& p : check->problems) ADD_FAILURE() << p.kind << " " << p.object << ": " << p.detail;
}

TEST(Rfc3339, Parses) {
  EXPECT_EQ(*parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parse_rfc3339("2024-01-02T03:04:05.123456789Z"), 1704164645);
  EXPECT_EQ(*parse_rfc3339("2024-01-02T04:04:05+01:00"), 1704164645);
  EXPECT_FALSE(parse_rfc3339("2024-01-02"));
  EXPECT_FALSE(parse_rfc3339("2024-01-02T03:04:05"));
}

}  // namespace
}  // namespace berth::image
