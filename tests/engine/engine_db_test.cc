// The engine's tables in berth.db: lookups, names, read-modify-write updates,
// bad rows, schema versions apart from the image layer's, and several
// processes writing at once without losing or corrupting anything.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>
#include <regex>
#include <set>

#include "engine/db.h"
#include "engine/paths.h"
#include "image/metadata.h"
#include "temp_root.h"

namespace berth::engine {
namespace {

using image::testing::TempRoot;

ContainerRecord make_container(std::string name, std::string pod = "") {
  ContainerRecord c;
  c.id = new_id();
  c.name = std::move(name);
  c.pod_id = std::move(pod);
  c.image_id = "sha256:" + std::string(64, 'a');
  c.image_name = "docker.io/library/busybox:latest";
  c.options.image = "busybox";
  c.options.command = {"sleep", "10"};
  c.options.env = {"A=1"};
  c.options.labels = {{"k", "v"}};
  c.options.ports = {PortMapping{"127.0.0.1", 8080, 80, 1, "tcp"}};
  c.runtime = "builtin";
  c.created_at = 1700000000000000000;
  c.ports = {PortMapping{"", 32768, 80, 1, "tcp"}};
  c.network_status = R"({"berth":{"ip":"10.89.0.2"}})";
  c.lease_id = "container-" + c.id.substr(0, 12);
  return c;
}

// Runs raw SQL on the file, as a broken or foreign writer would.
void raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  EXPECT_EQ(rc, SQLITE_OK) << (msg ? msg : "");
  sqlite3_free(msg);
  sqlite3_close(db);
}

class EngineDbTest : public ::testing::Test {
 protected:
  TempRoot root{"enginedb"};
  std::string path = root / "berth.db";
  EngineDb db = EngineDb::open(path).value();
};

TEST_F(EngineDbTest, ContainerRoundTripsEveryField) {
  auto c = make_container("web");
  c.infra = true;
  c.started_at = 5;
  c.finished_at = 6;
  c.exit_code = 137;
  c.oom_killed = true;
  c.restart_count = 2;
  c.stopped_by_user = true;
  c.pid = 1234;
  c.monitor_pid = 1233;
  c.netns = "/run/berth/netns/x";
  c.state = ContainerState::stopped;
  c.volumes = {{"/data", "vol1"}};
  c.options.mounts = {MountRequest{MountRequest::Type::volume, "vol2", "/other", true, {"z"}}};
  ASSERT_TRUE(db.add_container(c));
  auto got = db.container(c.id);
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(got->id, c.id);
  EXPECT_EQ(got->name, "web");
  EXPECT_EQ(got->image_id, c.image_id);
  EXPECT_EQ(got->image_name, c.image_name);
  EXPECT_EQ(got->options, c.options);
  EXPECT_TRUE(got->infra);
  EXPECT_EQ(got->runtime, "builtin");
  EXPECT_EQ(got->state, ContainerState::stopped);
  EXPECT_EQ(got->created_at, c.created_at);
  EXPECT_EQ(got->started_at, 5);
  EXPECT_EQ(got->finished_at, 6);
  EXPECT_EQ(got->exit_code, 137);
  EXPECT_TRUE(got->oom_killed);
  EXPECT_EQ(got->restart_count, 2);
  EXPECT_TRUE(got->stopped_by_user);
  EXPECT_EQ(got->pid, 1234);
  EXPECT_EQ(got->monitor_pid, 1233);
  EXPECT_EQ(got->netns, c.netns);
  EXPECT_EQ(got->network_status, c.network_status);
  EXPECT_EQ(got->ports, c.ports);
  EXPECT_EQ(got->lease_id, c.lease_id);
  EXPECT_EQ(got->volumes, c.volumes);
  EXPECT_EQ(std::string(state_name(got->state)), "exited");
}

TEST_F(EngineDbTest, LookupByIdNameAndUniquePrefix) {
  auto a = make_container("alpha");
  auto b = make_container("beta");
  a.id = "abc1" + a.id.substr(4);
  b.id = "abc2" + b.id.substr(4);
  ASSERT_TRUE(db.add_container(a));
  ASSERT_TRUE(db.add_container(b));
  EXPECT_EQ(db.container(a.id)->name, "alpha");
  EXPECT_EQ(db.container("beta")->id, b.id);
  EXPECT_EQ(db.container("abc1")->id, a.id);
  EXPECT_EQ(db.container(b.id.substr(0, 12))->id, b.id);

  auto amb = db.container("abc");
  ASSERT_FALSE(amb);
  EXPECT_EQ(amb.error().code(), EINVAL);
  EXPECT_NE(amb.error().what().find("\"abc\""), std::string::npos) << amb.error().what();

  auto none = db.container("nothing");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ENOENT);
  EXPECT_NE(none.error().what().find("no such container: nothing"), std::string::npos);
  // Prefix wildcards are not wildcards.
  EXPECT_EQ(db.container("ab*").error().code(), ENOENT);
  EXPECT_EQ(db.container("%").error().code(), ENOENT);
}

TEST_F(EngineDbTest, NameLookupWinsOverAnotherIdPrefixButNotOverAFullId) {
  auto a = make_container("first");
  ASSERT_TRUE(db.add_container(a));
  // A container named like the first one's id prefix: the name wins.
  auto b = make_container(a.id.substr(0, 6));
  ASSERT_TRUE(db.add_container(b));
  EXPECT_EQ(db.container(a.id.substr(0, 6))->id, b.id);
  EXPECT_EQ(db.container(a.id)->id, a.id);
}

TEST_F(EngineDbTest, NamesAreUniqueAndValid) {
  auto a = make_container("same");
  ASSERT_TRUE(db.add_container(a));
  auto dup = db.add_container(make_container("same"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), EEXIST);
  EXPECT_NE(dup.error().what().find("\"same\""), std::string::npos);
  EXPECT_NE(dup.error().what().find(a.id), std::string::npos) << dup.error().what();

  auto same_id = make_container("other");
  same_id.id = a.id;
  EXPECT_EQ(db.add_container(same_id).error().code(), EEXIST);

  for (const char* bad : {"", "-x", "a/b", "a b", "_x", "é"})
    EXPECT_EQ(db.add_container(make_container(bad)).error().code(), EINVAL) << bad;
  auto bad_id = make_container("badid");
  bad_id.id = "xyz";
  EXPECT_EQ(db.add_container(bad_id).error().code(), EINVAL);
  EXPECT_EQ(db.containers()->size(), 1u);
}

TEST_F(EngineDbTest, UpdateAppliesOrRollsBack) {
  auto c = make_container("u");
  ASSERT_TRUE(db.add_container(c));
  auto up = db.update_container("u", [](ContainerRecord& r) -> Result<> {
    r.state = ContainerState::running;
    r.pid = 42;
    return {};
  });
  ASSERT_TRUE(up) << up.error().what();
  EXPECT_EQ(up->pid, 42);
  EXPECT_EQ(db.container(c.id)->state, ContainerState::running);

  auto failed = db.update_container(c.id, [](ContainerRecord& r) -> Result<> {
    r.pid = 99;
    return error("refused on purpose");
  });
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().what().find("refused on purpose"), std::string::npos);
  EXPECT_EQ(db.container(c.id)->pid, 42);

  auto id_change = db.update_container(c.id, [](ContainerRecord& r) -> Result<> {
    r.id = new_id();
    return {};
  });
  EXPECT_FALSE(id_change);
  EXPECT_EQ(db.containers()->size(), 1u);
  EXPECT_EQ(db.update_container("missing", [](ContainerRecord&) -> Result<> { return {}; }).error().code(), ENOENT);
}

// (Names here hold a non-hex letter: a hex name would also be an id prefix.)
TEST_F(EngineDbTest, RenameAndRemove) {
  auto a = make_container("one");
  auto b = make_container("two");
  ASSERT_TRUE(db.add_container(a));
  ASSERT_TRUE(db.add_container(b));
  auto taken = db.rename_container(a.id, "two");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code(), EEXIST);
  EXPECT_NE(taken.error().what().find(b.id), std::string::npos);
  ASSERT_TRUE(db.rename_container(a.id, "three"));
  EXPECT_EQ(db.container("three")->id, a.id);
  EXPECT_EQ(db.container("one").error().code(), ENOENT);
  EXPECT_EQ(db.rename_container(a.id, "bad/name").error().code(), EINVAL);

  ASSERT_TRUE(db.remove_container("three"));
  EXPECT_EQ(db.container(a.id).error().code(), ENOENT);
  EXPECT_EQ(db.remove_container(a.id).error().code(), ENOENT);
  ASSERT_EQ(db.containers()->size(), 1u);
  // The name is free again.
  EXPECT_TRUE(db.add_container(make_container("three")));
}

TEST_F(EngineDbTest, PodsAndTheirContainers) {
  PodRecord p;
  p.id = new_id();
  p.name = "pod1";
  p.hostname = "pod1";
  p.share_pid = true;
  p.network = "berth";
  p.ports = {PortMapping{"", 8080, 80, 1, "tcp"}};
  p.labels = {{"app", "x"}};
  ASSERT_TRUE(db.add_pod(p));
  auto dup = db.add_pod(PodRecord{.id = new_id(), .name = "pod1"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), EEXIST);
  EXPECT_NE(dup.error().what().find(p.id), std::string::npos);

  auto got = db.pod("pod1");
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(got->id, p.id);
  EXPECT_TRUE(got->share_pid);
  EXPECT_EQ(got->ports, p.ports);
  EXPECT_EQ(got->labels, p.labels);
  EXPECT_EQ(db.pod(p.id.substr(0, 5))->name, "pod1");
  EXPECT_EQ(db.pod("nope").error().code(), ENOENT);

  auto infra = make_container(p.id.substr(0, 12) + "-infra", p.id);
  infra.infra = true;
  ASSERT_TRUE(db.add_container(infra));
  ASSERT_TRUE(db.add_container(make_container("member", p.id)));
  ASSERT_TRUE(db.add_container(make_container("outsider")));
  auto members = db.pod_containers(p.id);
  ASSERT_TRUE(members);
  ASSERT_EQ(members->size(), 2u);

  auto up = db.update_pod("pod1", [&](PodRecord& r) -> Result<> {
    r.infra_id = infra.id;
    return {};
  });
  ASSERT_TRUE(up);
  EXPECT_EQ(db.pod(p.id)->infra_id, infra.id);

  auto busy = db.remove_pod(p.id);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), EBUSY);
  EXPECT_NE(busy.error().what().find(infra.id), std::string::npos);
  ASSERT_TRUE(db.remove_container("member"));
  ASSERT_TRUE(db.remove_container(infra.id));
  ASSERT_TRUE(db.remove_pod("pod1"));
  EXPECT_TRUE(db.pods()->empty());
}

TEST_F(EngineDbTest, VolumesAndTheirUsers) {
  VolumeRecord v;
  v.name = "data";
  v.mountpoint = root / "volumes/data/_data";
  v.labels = {{"a", "b"}};
  v.options = {{"o", "size=1m"}};
  ASSERT_TRUE(db.add_volume(v));
  EXPECT_EQ(db.add_volume(v).error().code(), EEXIST);
  auto got = db.volume("data");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->labels, v.labels);
  EXPECT_EQ(got->options, v.options);
  EXPECT_EQ(got->mountpoint, v.mountpoint);
  EXPECT_EQ(db.volume("nope").error().code(), ENOENT);

  auto by_option = make_container("by-option");
  by_option.options.mounts = {MountRequest{MountRequest::Type::volume, "data", "/d"}};
  auto by_record = make_container("by-record");
  by_record.volumes = {{"/x", "data"}};
  ASSERT_TRUE(db.add_container(by_option));
  ASSERT_TRUE(db.add_container(by_record));
  ASSERT_TRUE(db.add_container(make_container("none")));
  auto users = db.volume_users("data");
  ASSERT_TRUE(users);
  EXPECT_EQ(*users, (std::vector<std::string>{by_option.id, by_record.id}));

  auto busy = db.remove_unused_volume("data");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), EBUSY);
  EXPECT_NE(busy.error().what().find(by_option.id), std::string::npos);

  // An update that drops the volume drops the use.
  ASSERT_TRUE(db.update_container(by_record.id, [](ContainerRecord& r) -> Result<> {
    r.volumes.clear();
    return {};
  }));
  ASSERT_TRUE(db.remove_container(by_option.id));
  EXPECT_TRUE(db.volume_users("data")->empty());
  ASSERT_TRUE(db.remove_unused_volume("data"));
  EXPECT_EQ(db.remove_volume("data").error().code(), ENOENT);
}

TEST_F(EngineDbTest, Networks) {
  NetworkRecord n;
  n.name = "berth";
  n.id = new_id();
  n.interface = "berth0";
  n.subnet = "10.89.0.0/24";
  n.gateway = "10.89.0.1";
  n.labels = {{"x", "y"}};
  n.conflist_path = root / "networks/berth.conflist";
  ASSERT_TRUE(db.add_network(n));
  auto dup = n;
  dup.id = new_id();
  EXPECT_EQ(db.add_network(dup).error().code(), EEXIST);
  auto got = db.network(n.id.substr(0, 8));
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(got->name, "berth");
  EXPECT_EQ(got->subnet, n.subnet);
  EXPECT_EQ(got->labels, n.labels);
  EXPECT_EQ(db.network("berth")->id, n.id);
  EXPECT_EQ(db.networks()->size(), 1u);
  ASSERT_TRUE(db.remove_network("berth"));
  EXPECT_EQ(db.network("berth").error().code(), ENOENT);
}

// A row written before oom_killed was recorded (its record JSON has no key)
// reads as not OOM-killed.
TEST_F(EngineDbTest, RowWithoutOomKilledReadsFalse) {
  auto c = make_container("old");
  c.oom_killed = true;
  c.exit_code = 137;
  ASSERT_TRUE(db.add_container(c));
  raw_sql(path, "UPDATE containers SET record = '{\"exit_code\": 137}' WHERE name = 'old';");
  auto got = db.container("old");
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_FALSE(got->oom_killed);
  EXPECT_EQ(got->exit_code, 137);
}

TEST_F(EngineDbTest, MalformedRowIsAnErrorNamingContainerAndColumn) {
  auto good = make_container("good");
  auto bad = make_container("bad");
  auto bad_options = make_container("bad-options");
  ASSERT_TRUE(db.add_container(good));
  ASSERT_TRUE(db.add_container(bad));
  ASSERT_TRUE(db.add_container(bad_options));
  raw_sql(path, "UPDATE containers SET record = '{\"pid\": \"not a number\"' WHERE name = 'bad';"
                "UPDATE containers SET options = '[1,2' WHERE name = 'bad-options';");
  auto r = db.container("bad");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find(bad.id), std::string::npos) << r.error().what();
  EXPECT_NE(r.error().what().find("\"record\""), std::string::npos) << r.error().what();
  raw_sql(path, "UPDATE containers SET record = '{\"pid\": \"not a number\"}' WHERE name = 'bad';");
  r = db.container("bad");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("\"record\""), std::string::npos) << r.error().what();
  auto o = db.container("bad-options");
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().what().find(bad_options.id), std::string::npos) << o.error().what();
  EXPECT_NE(o.error().what().find("\"options\""), std::string::npos) << o.error().what();
  EXPECT_FALSE(db.containers());
  // The update of a bad row fails before anything is written; the others stay.
  EXPECT_FALSE(db.update_container("bad", [](ContainerRecord&) -> Result<> { return {}; }));
  EXPECT_EQ(db.container("good")->id, good.id);
  raw_sql(path, "UPDATE volumes SET record = 'x'; INSERT INTO volumes (name, record) VALUES ('v', '7');"
                "INSERT INTO pods (id, name, record) VALUES ('p1', 'p', 'null');");
  auto v = db.volume("v");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().what().find("volume v: column \"record\""), std::string::npos) << v.error().what();
  EXPECT_FALSE(db.pod("p"));
  // The bad rows can still be removed.
  EXPECT_TRUE(db.remove_container("bad"));
  EXPECT_TRUE(db.remove_volume("v"));
}

TEST_F(EngineDbTest, SharesTheFileWithTheImageLayerUnderItsOwnVersion) {
  auto md = image::Metadata::open(path);
  ASSERT_TRUE(md) << md.error().what();
  ASSERT_TRUE(db.add_container(make_container("x")));
  auto again = EngineDb::open(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->container("x")->name, "x");
  EXPECT_EQ(md->schema_version().value(), image::Metadata::kSchemaVersion);

  // A newer engine schema is refused by name, not misread.
  raw_sql(path, "UPDATE engine_schema_version SET version = 99;");
  auto newer = EngineDb::open(path);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().what().find("99"), std::string::npos) << newer.error().what();
  EXPECT_TRUE(image::Metadata::open(path));
}

TEST_F(EngineDbTest, OpeningACurrentSchemaIsCheap) {
  constexpr int kOpens = 50;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kOpens; ++i) ASSERT_TRUE(EngineDb::open(path));
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count() / kOpens;
  std::printf("EngineDb::open: %lld us each\n", static_cast<long long>(us));
  // Well under a millisecond on an idle machine; the bound allows a loaded CI.
  EXPECT_LT(us, 5000);
}

TEST(EngineIds, IdsNamesAndUniqueNames) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = new_id();
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{64}"))) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
  std::set<std::string> names;
  for (int i = 0; i < 500; ++i) {
    auto n = new_name();
    EXPECT_TRUE(std::regex_match(n, std::regex("[a-z]+_[a-z]+"))) << n;
    names.insert(n);
  }
  EXPECT_GT(names.size(), 300u);  // 2,500 combinations

  TempRoot root{"enginedb"};
  auto db = EngineDb::open(root / "berth.db").value();
  for (int i = 0; i < 50; ++i) {
    auto n = unique_name(db);
    ASSERT_TRUE(n) << n.error().what();
    auto c = make_container(*n);
    ASSERT_TRUE(db.add_container(c)) << *n;
  }
}

TEST(EngineLocks, LockObjectIsExclusiveAndMakesItsDirectory) {
  TempRoot root{"enginedb"};
  Paths paths{root / "lib", root / "run"};
  std::string p = paths.lock("abc");
  auto fd = lock_object(p);
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_TRUE(fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
  int other = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(other, 0);
  EXPECT_NE(::flock(other, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(errno, EWOULDBLOCK);
  fd->reset();
  EXPECT_EQ(::flock(other, LOCK_EX | LOCK_NB), 0);
  ::close(other);
}

// Several berths opening a fresh root at once: one makes the tables, the
// others wait for it and find them made.
TEST(EngineDbConcurrency, FirstOpensAtOnceMakeTheSchemaOnce) {
  TempRoot root{"enginedb"};
  std::string path = root / "fresh/berth.db";
  constexpr int kProcs = 6;
  int start_pipe[2];
  ASSERT_EQ(::pipe(start_pipe), 0);
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(start_pipe[1]);
      char go;
      (void)::read(start_pipe[0], &go, 1);
      auto db = EngineDb::open(path);
      if (!db) {
        std::fprintf(stderr, "open: %s\n", db.error().what().c_str());
        ::_exit(1);
      }
      auto r = db->add_container(make_container(fmt::format("first-{}", p)));
      if (!r) std::fprintf(stderr, "add: %s\n", r.error().what().c_str());
      ::_exit(r ? 0 : 1);
    }
    kids.push_back(pid);
  }
  ::close(start_pipe[0]);
  ::close(start_pipe[1]);
  for (pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  EXPECT_EQ(EngineDb::open(path).value().containers()->size(), size_t{kProcs});
}

// Several processes each add 100 containers and a volume, update their own
// containers and one shared counter, all at once. Nothing may be lost,
// corrupted, or fail with "database is locked".
TEST(EngineDbConcurrency, ProcessesWritingAtOnceLoseNothing) {
  TempRoot root{"enginedb"};
  std::string path = root / "berth.db";
  constexpr int kProcs = 3, kEach = 100;
  auto counter = make_container("counter");
  {
    auto db = EngineDb::open(path).value();
    ASSERT_TRUE(db.add_container(counter));
  }
  int start_pipe[2];
  ASSERT_EQ(::pipe(start_pipe), 0);
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(start_pipe[1]);
      char go;
      (void)::read(start_pipe[0], &go, 1);  // all start together (EOF when the parent closes)
      auto fail = [&](const std::string& what) {
        std::fprintf(stderr, "process %d: %s\n", p, what.c_str());
        ::_exit(1);
      };
      auto db = EngineDb::open(path);
      if (!db) fail(db.error().what());
      for (int i = 0; i < kEach; ++i) {
        auto c = make_container(fmt::format("p{}-c{}", p, i));
        c.options.mounts = {MountRequest{MountRequest::Type::volume, fmt::format("vol-p{}", p), "/data"}};
        if (auto r = db->add_container(c); !r) fail(r.error().what());
        if (i == kEach / 2) {
          VolumeRecord v;
          v.name = fmt::format("vol-p{}", p);
          if (auto r = db->add_volume(v); !r) fail(r.error().what());
        }
        auto up = db->update_container(c.name, [&](ContainerRecord& r) -> Result<> {
          r.state = ContainerState::running;
          r.pid = 1000 + i;
          return {};
        });
        if (!up) fail(up.error().what());
        auto bump = db->update_container("counter", [](ContainerRecord& r) -> Result<> {
          ++r.restart_count;
          return {};
        });
        if (!bump) fail(bump.error().what());
        if (i % 25 == 0)
          if (auto all = db->containers(); !all) fail(all.error().what());
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  ::close(start_pipe[0]);
  ::close(start_pipe[1]);
  for (pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }

  auto db = EngineDb::open(path).value();
  auto all = db.containers();
  ASSERT_TRUE(all) << all.error().what();
  ASSERT_EQ(all->size(), size_t{kProcs * kEach + 1});
  for (const auto& c : *all) {
    if (c.name == "counter") {
      EXPECT_EQ(c.restart_count, kProcs * kEach);
      continue;
    }
    EXPECT_EQ(c.state, ContainerState::running) << c.name;
    EXPECT_GE(c.pid, 1000);
    EXPECT_EQ(c.options.command, (std::vector<std::string>{"sleep", "10"}));
    EXPECT_EQ(c.image_name, "docker.io/library/busybox:latest");
  }
  for (int p = 0; p < kProcs; ++p) {
    auto users = db.volume_users(fmt::format("vol-p{}", p));
    ASSERT_TRUE(users);
    EXPECT_EQ(users->size(), size_t{kEach});
    EXPECT_TRUE(db.volume(fmt::format("vol-p{}", p)));
  }
  raw_sql(path, "PRAGMA integrity_check;");
}

}  // namespace
}  // namespace berth::engine
