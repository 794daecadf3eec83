#include "image/metadata.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "temp_root.h"

namespace berth::image {
namespace {

using testing::TempRoot;

std::string digest(char c, int n = 0) {
  std::string hex(64, c);
  auto tail = fmt::format("{:08x}", n);
  hex.replace(56, 8, tail);
  return "sha256:" + hex;
}

ImageRecord sample(char c, int n = 0) {
  ImageRecord r;
  r.id = digest(c, n);
  r.manifest_digest = digest('m', n + (c << 12));
  r.manifest_media_type = "application/vnd.oci.image.manifest.v1+json";
  r.platform = "linux/amd64";
  r.created = "2024-01-02T03:04:05Z";
  r.size = 1234;
  r.layers = {{digest('1'), digest('d'), digest('b'), "application/vnd.oci.image.layer.v1.tar+gzip", 100},
              {digest('2'), digest('e'), digest('c'), "application/vnd.oci.image.layer.v1.tar+gzip", 200}};
  return r;
}

TEST(Metadata, MigratesAnEmptyDatabase) {
  TempRoot root;
  auto md = Metadata::open(root / "berth.db");
  ASSERT_TRUE(md) << md.error().what();
  auto v = md->schema_version();
  ASSERT_TRUE(v) << v.error().what();
  EXPECT_EQ(*v, Metadata::kSchemaVersion);
  auto images = md->list_images();
  ASSERT_TRUE(images);
  EXPECT_TRUE(images->empty());
  // WAL mode persisted in the file.
  auto st = sql::Statement::prepare(md->db(), "PRAGMA journal_mode", "read journal mode");
  ASSERT_TRUE(st);
  ASSERT_TRUE(*st->step());
  EXPECT_EQ(st->text(0), "wal");
}

TEST(Metadata, ReopeningKeepsDataAndVersion) {
  TempRoot root;
  {
    auto md = Metadata::open(root / "berth.db");
    ASSERT_TRUE(md);
    ASSERT_TRUE(md->put_image(sample('a')));
  }
  auto md = Metadata::open(root / "berth.db");
  ASSERT_TRUE(md) << md.error().what();
  EXPECT_EQ(*md->schema_version(), Metadata::kSchemaVersion);
  auto img = md->get_image(digest('a'));
  ASSERT_TRUE(img && img->has_value());
}

int64_t synchronous_level(sql::Db& db) {
  auto st = sql::Statement::prepare(db, "PRAGMA synchronous", "read synchronous");
  EXPECT_TRUE(st);
  if (!st || !*st->step()) return -1;
  return st->integer(0);
}

TEST(Metadata, TheWalStaysAfterCloseAndIsReadBack) {
  // No checkpoint at close: the next command appends to the same WAL
  // instead of creating, syncing and deleting one.
  TempRoot root;
  {
    auto md = Metadata::open(root / "berth.db");
    ASSERT_TRUE(md);
    ASSERT_TRUE(md->put_image(sample('w')));
  }
  EXPECT_TRUE(std::filesystem::exists(root / "berth.db-wal"));
  auto md = Metadata::open(root / "berth.db");
  ASSERT_TRUE(md) << md.error().what();
  auto img = md->get_image(digest('w'));
  ASSERT_TRUE(img && img->has_value());
}

TEST(Metadata, LeaseWritesAreRelaxedThenFullAgain) {
  TempRoot root;
  auto md = Metadata::open(root / "berth.db");
  ASSERT_TRUE(md);
  EXPECT_EQ(synchronous_level(md->db()), 2);  // FULL
  {
    sql::RelaxedSync relaxed(md->db());
    EXPECT_EQ(synchronous_level(md->db()), 1);  // NORMAL
  }
  EXPECT_EQ(synchronous_level(md->db()), 2);
  ASSERT_TRUE(md->put_image(sample('l')));
  ASSERT_TRUE(md->create_lease_holding("container-x", "container", 0, 100, LeaseResource::image, digest('l')));
  EXPECT_EQ(synchronous_level(md->db()), 2);
  auto leases = md->live_leases(100);
  ASSERT_TRUE(leases);
  ASSERT_EQ(leases->size(), 1u);
  ASSERT_TRUE(md->delete_lease("container-x"));
  EXPECT_EQ(synchronous_level(md->db()), 2);
  // Inside a transaction it changes nothing: the commit keeps FULL.
  auto tx = sql::Transaction::begin(md->db(), sql::Transaction::Kind::write, "test");
  ASSERT_TRUE(tx);
  {
    sql::RelaxedSync relaxed(md->db());
    EXPECT_EQ(synchronous_level(md->db()), 2);
  }
  ASSERT_TRUE(tx->commit());
}

TEST(Metadata, RefusesANewerSchema) {
  TempRoot root;
  {
    auto md = Metadata::open(root / "berth.db");
    ASSERT_TRUE(md);
    ASSERT_TRUE(md->db().exec("UPDATE schema_version SET version = 999", "bump"));
  }
  auto md = Metadata::open(root / "berth.db");
  ASSERT_FALSE(md);
  EXPECT_NE(md.error().what().find("schema version 999"), std::string::npos) << md.error().what();
}

TEST(Metadata, ImagesNamesAndLayers) {
  TempRoot root;
  auto md = Metadata::open(root / "berth.db");
  ASSERT_TRUE(md);
  auto a = sample('a');
  a.names = {"docker.io/library/busybox:latest", "docker.io/library/busybox:1"};
  ASSERT_TRUE(md->put_image(a));
  auto b = sample('b');
  b.names = {"docker.io/library/busybox:latest"};  // moves the tag
  ASSERT_TRUE(md->put_image(b));

  auto got = md->get_image(a.id);
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->names, std::vector<std::string>{"docker.io/library/busybox:1"});
  ASSERT_EQ((*got)->layers.size(), 2u);
  EXPECT_EQ((*got)->layers[1].chain_id, digest('2'));
  EXPECT_EQ((*got)->layers[0].size, 100);
  EXPECT_EQ((*got)->created, "2024-01-02T03:04:05Z");
  EXPECT_GT((*got)->added, 0);

  EXPECT_EQ(**md->resolve_name("docker.io/library/busybox:latest"), b.id);
  EXPECT_FALSE(md->resolve_name("docker.io/library/nothing:latest")->has_value());

  // Re-recording an image keeps its names.
  a.names.clear();
  ASSERT_TRUE(md->put_image(a));
  EXPECT_EQ((*md->get_image(a.id))->names.size(), 1u);

  auto ids = md->find_ids("aaaa");
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, std::vector<std::string>{a.id});
  EXPECT_TRUE(md->find_ids("%")->empty());
  EXPECT_EQ(md->find_ids("")->size(), 2u);
  EXPECT_EQ(*md->find_by_manifest(b.manifest_digest), std::vector<std::string>{b.id});

  ASSERT_TRUE(md->add_name("localhost/mine:v1", a.id));
  EXPECT_EQ(**md->resolve_name("localhost/mine:v1"), a.id);
  auto bad = md->add_name("localhost/x:y", digest('z'));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ENOENT);
  EXPECT_TRUE(*md->remove_name("localhost/mine:v1"));
  EXPECT_FALSE(*md->remove_name("localhost/mine:v1"));

  EXPECT_EQ(md->list_images()->size(), 2u);
  ASSERT_TRUE(md->remove_image(a.id, false, unix_now()));
  EXPECT_FALSE(md->get_image(a.id)->has_value());
  EXPECT_FALSE(md->resolve_name("docker.io/library/busybox:1")->has_value());
  auto again = md->remove_image(a.id, false, unix_now());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ENOENT);
}

TEST(Metadata, LeasesHoldImagesUntilExpiry) {
  TempRoot root;
  auto md = Metadata::open(root / "berth.db");
  ASSERT_TRUE(md);
  auto a = sample('a');
  ASSERT_TRUE(md->put_image(a));
  int64_t now = 1000000;
  ASSERT_TRUE(md->create_lease("ctr-1", "container", 0, now));
  ASSERT_TRUE(md->add_lease_ref("ctr-1", LeaseResource::image, a.id));
  ASSERT_TRUE(md->add_lease_ref("ctr-1", LeaseResource::image, a.id));  // idempotent
  ASSERT_TRUE(md->create_lease("pull-1", "pull", 60, now));
  ASSERT_TRUE(md->add_lease_ref("pull-1", LeaseResource::content, digest('b')));
  ASSERT_TRUE(md->add_lease_ref("pull-1", LeaseResource::ingest, "key-1"));
  EXPECT_FALSE(md->create_lease("pull-1", "pull", 60, now));
  auto orphan = md->add_lease_ref("nope", LeaseResource::content, digest('b'));
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), ENOENT) << orphan.error().what();

  auto busy = md->remove_image(a.id, false, now);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), EBUSY);
  EXPECT_NE(busy.error().what().find("container ctr-1"), std::string::npos) << busy.error().what();

  auto leases = md->live_leases(now);
  ASSERT_TRUE(leases);
  ASSERT_EQ(leases->size(), 2u);
  EXPECT_EQ(md->live_leases(now + 61)->size(), 1u);  // the pull lease expired
  EXPECT_EQ(*md->delete_expired_leases(now + 61), 1);

  ASSERT_TRUE(md->remove_lease_ref("ctr-1", LeaseResource::image, a.id));
  ASSERT_TRUE(md->add_lease_ref("ctr-1", LeaseResource::image, a.id));
  ASSERT_TRUE(md->delete_lease("ctr-1"));
  EXPECT_TRUE(md->live_leases(now)->empty());
  ASSERT_TRUE(md->remove_image(a.id, false, now));

  // force ignores leases.
  ASSERT_TRUE(md->put_image(a));
  ASSERT_TRUE(md->create_lease("ctr-2", "container", 0, now));
  ASSERT_TRUE(md->add_lease_ref("ctr-2", LeaseResource::image, a.id));
  ASSERT_TRUE(md->remove_image(a.id, true, now));
}

TEST(Metadata, Snapshots) {
  TempRoot root;
  auto md = Metadata::open(root / "berth.db");
  ASSERT_TRUE(md);
  ASSERT_TRUE(md->put_snapshot({digest('1'), "", 10, 0}));
  ASSERT_TRUE(md->put_snapshot({digest('2'), digest('1'), 20, 0}));
  auto s = md->get_snapshot(digest('2'));
  ASSERT_TRUE(s && s->has_value());
  EXPECT_EQ((*s)->parent, digest('1'));
  EXPECT_EQ((*s)->size, 20);
  EXPECT_TRUE((*md->get_snapshot(digest('1')))->parent.empty());
  EXPECT_EQ(md->list_snapshots()->size(), 2u);
  ASSERT_TRUE(md->remove_snapshot(digest('1')));
  EXPECT_FALSE(md->get_snapshot(digest('1'))->has_value());
}

// Two processes recording images at once: every write lands.
TEST(Metadata, ConcurrentWritersFromTwoProcesses) {
  TempRoot root;
  std::string path = root / "berth.db";
  ASSERT_TRUE(Metadata::open(path));
  constexpr int kPerProcess = 80;
  pid_t pids[2];
  for (int p = 0; p < 2; ++p) {
    pids[p] = fork();
    ASSERT_GE(pids[p], 0);
    if (pids[p] == 0) {
      auto md = Metadata::open(path);
      if (!md) _exit(10);
      for (int i = 0; i < kPerProcess; ++i) {
        auto img = sample(p ? 'b' : 'a', i);
        img.names = {fmt::format("localhost/p{}:{}", p, i), "localhost/shared:latest"};
        if (!md->put_image(img)) _exit(11);
        if (!md->put_snapshot({digest(p ? '2' : '1', i), "", i, 0})) _exit(12);
      }
      _exit(0);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto md = Metadata::open(path);
  ASSERT_TRUE(md);
  auto images = md->list_images();
  ASSERT_TRUE(images);
  EXPECT_EQ(images->size(), 2u * kPerProcess);
  EXPECT_EQ(md->list_snapshots()->size(), 2u * kPerProcess);
  size_t names = 0;
  for (const auto& img : *images) names += img.names.size();
  EXPECT_EQ(names, 2u * kPerProcess + 1);  // the shared tag is on exactly one image
}

// A writer killed in the middle of a transaction leaves the previous state,
// and the lock it held is released.
TEST(Metadata, KilledTransactionLeavesPreviousState) {
  TempRoot root;
  std::string path = root / "berth.db";
  {
    auto md = Metadata::open(path);
    ASSERT_TRUE(md);
    auto a = sample('a');
    a.names = {"localhost/a:latest"};
    ASSERT_TRUE(md->put_image(a));
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    auto md = Metadata::open(path);
    if (!md) _exit(10);
    auto tx = sql::Transaction::begin(md->db(), sql::Transaction::Kind::write, "doomed");
    if (!tx) _exit(11);
    if (!md->db().exec("DELETE FROM images; INSERT INTO leases (id, kind, created) VALUES ('x', 'pull', 1);",
                       "doomed writes"))
      _exit(12);
    // Force the uncommitted pages out to the WAL too.
    if (!md->db().exec("PRAGMA cache_size = 0", "shrink cache")) _exit(13);
    (void)!write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto md = Metadata::open(path);
  ASSERT_TRUE(md) << md.error().what();
  auto images = md->list_images();
  ASSERT_TRUE(images);
  ASSERT_EQ(images->size(), 1u);
  EXPECT_EQ(images->front().names, std::vector<std::string>{"localhost/a:latest"});
  EXPECT_TRUE(md->live_leases(0)->empty());
  // The dead writer's lock is gone: a write goes through.
  ASSERT_TRUE(md->put_image(sample('b')));
}

}  // namespace
}  // namespace berth::image
