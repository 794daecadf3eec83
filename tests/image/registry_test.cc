// berth pull / push / login / logout against real registries: Debian's
// docker-registry on 127.0.0.1 (plain, htpasswd basic auth, TLS from a CA made
// here) with the fixture image pushed by skopeo, and a misbehaving registry
// (bad_registry.py) for every kind of bad input. A failed pull must leave no
// blob of it visible and lose nothing stored before.
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "base/file.h"
#include "image/byte_ranges.h"
#include "image/content_store.h"
#include "image/metadata.h"
#include "image/pull.h"
#include "image/registry_auth.h"
#include "image/store.h"
#include "temp_root.h"

namespace berth::image {
namespace {

using testing::TempRoot;
namespace fs = std::filesystem;

const std::string kFixtures = [] {
  const char* f = std::getenv("BERTH_FIXTURES");
  return std::string(f && *f ? f : "/var/tmp/berth-fixtures");
}();
const std::string kLayout = kFixtures + "/oci-busybox";
const std::string kScripts = std::string(BERTH_SOURCE_DIR) + "/scripts";
const std::string kBadRegistry = std::string(BERTH_SOURCE_DIR) + "/tests/image/bad_registry.py";
// The fixture image (scripts/make-fixtures.sh): its config is the image ID.
const std::string kManifest = "sha256:68840b83b1154b5d0a10c4475853dd8216f394305a8c6da9f9cd8b0dbeb9dca6";
const std::string kConfig = "sha256:3f2bdf1207e7c9c54c400ac1826541ec47c1f2b58d232d0d1a9a3baf5b393461";
const std::string kLayer = "sha256:2c49e75f47db177f1ec551d2ac1eaaec33cc63c7eda840154a4d6da127f7d8e4";

struct Run {
  int status = -1;
  std::string out;  // stdout and stderr
};

Run run(const std::string& cmd) {
  Run r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool fixtures_ready() { return fs::exists(kLayout + "/index.json") && fs::exists("/usr/bin/docker-registry"); }

std::string free_port() {
  auto r = run(kScripts + "/registry.sh free-port");
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

// A docker-registry started by scripts/registry.sh, stopped (by its pid file) at the end.
class Registry {
 public:
  explicit Registry(const std::string& options = "", bool push = true) : dir_("registry") {
    addr_ = "127.0.0.1:" + free_port();
    auto r = run(kScripts + "/registry.sh start " + dir_.path() + " " + addr_ + " " + options);
    ok_ = r.status == 0;
    if (!ok_) ADD_FAILURE() << r.out;
    if (ok_ && push) {
      auto p = run(kScripts + "/registry.sh push " + dir_.path() + " " + addr_ + " fixtures/busybox:latest=" +
                   kLayout + ":latest");
      ok_ = p.status == 0;
      if (!ok_) ADD_FAILURE() << p.out;
    }
  }
  ~Registry() { run(kScripts + "/registry.sh stop " + dir_.path()); }
  const std::string& addr() const { return addr_; }
  bool ok() const { return ok_; }
  std::string dir() const { return dir_.path(); }

 private:
  TempRoot dir_;
  std::string addr_;
  bool ok_ = false;
};

// bad_registry.py in one mode; killed by pid at the end.
class BadRegistry {
 public:
  explicit BadRegistry(const std::string& mode) : dir_("badreg") {
    std::string portfile = dir_ / "port";
    portfile_ = portfile;
    log_ = dir_ / "requests.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/usr/bin/python3", "python3", kBadRegistry.c_str(), kLayout.c_str(), mode.c_str(), portfile.c_str(),
              log_.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100 && !fs::exists(portfile); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    addr_ = "127.0.0.1:" + slurp(portfile);
  }
  ~BadRegistry() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  const std::string& addr() const { return addr_; }
  std::string requests() const { return slurp(log_); }
  // "digest size" of the layer it serves.
  std::string layer_info() const { return slurp(portfile_ + ".layer"); }

 private:
  TempRoot dir_;
  std::string log_;
  std::string portfile_;
  std::string addr_;
  pid_t pid_ = -1;
};

// A store root plus a berth.toml; `berth(...)` runs the binary on them.
class Client {
 public:
  explicit Client(const std::string& toml = "", const std::string& pull = "retries = 1\nlow-speed-timeout = 2\n")
      : root_("pull") {
    // The caller's keys first: top-level keys must precede any table.
    std::ofstream(root_ / "berth.toml") << toml << "\n[pull]\n" << pull << "certs-dir = \""
                                         << (root_ / "certs.d") << "\"\nauth-file = \"" << (root_ / "auth.json")
                                         << "\"\n";
  }
  Run berth(const std::string& args) const {
    return run(std::string(BERTH_BINARY) + " --root " + (root_ / "store") + " --config " + (root_ / "berth.toml") +
               " " + args);
  }
  std::string store() const { return root_ / "store"; }
  std::string path(const std::string& rel) const { return root_ / rel; }
  // Blobs visible in the content store.
  size_t blobs() const {
    size_t n = 0;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(store() + "/content/blobs/sha256", ec)) n += e.is_regular_file();
    return n;
  }
  bool has_blob(const std::string& digest) const {
    return fs::exists(store() + "/content/blobs/sha256/" + digest.substr(7));
  }
  size_t images() const {
    auto meta = Metadata::open(store() + "/berth.db");
    if (!meta) return 0;
    auto list = meta->list_images();
    return list ? list->size() : 0;
  }

 private:
  TempRoot root_;
};

#define REQUIRE_FIXTURES()                                                            \
  if (!fixtures_ready()) GTEST_SKIP() << "no fixtures (scripts/make-fixtures.sh) or docker-registry"

TEST(RegistryPull, PlainPullRecordsImageAndSnapshot) {
  REQUIRE_FIXTURES();
  Registry reg;
  ASSERT_TRUE(reg.ok());
  Client c;
  auto r = c.berth("pull --tls-verify=false " + reg.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(kConfig), std::string::npos) << r.out;
  EXPECT_TRUE(c.has_blob(kLayer));
  EXPECT_TRUE(c.has_blob(kConfig));
  EXPECT_TRUE(c.has_blob(kManifest));
  auto meta = Metadata::open(c.store() + "/berth.db");
  ASSERT_TRUE(meta);
  auto id = meta->resolve_name(reg.addr() + "/fixtures/busybox:latest");
  ASSERT_TRUE(id && *id);
  EXPECT_EQ(**id, kConfig);
  auto image = meta->get_image(kConfig);
  ASSERT_TRUE(image && *image);
  ASSERT_EQ((*image)->layers.size(), 1u);
  std::string chain = (*image)->layers[0].chain_id;
  EXPECT_TRUE(fs::exists(c.store() + "/snapshots/" + chain.substr(7) + "/fs/bin/busybox"));
  EXPECT_TRUE(meta->live_leases(unix_now())->empty());  // the pull's lease is gone

  // Again: everything cached, nothing downloaded.
  auto again = c.berth("pull --tls-verify=false " + reg.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("Exists"), std::string::npos) << again.out;

  // By digest; a digest the registry lacks is an error naming it.
  Client d;
  auto by_digest = d.berth("pull --tls-verify=false " + reg.addr() + "/fixtures/busybox@" + kManifest);
  ASSERT_EQ(by_digest.status, 0) << by_digest.out;
  std::string missing = "sha256:" + std::string(64, '0');
  auto bad = d.berth("pull --tls-verify=false " + reg.addr() + "/fixtures/busybox@" + missing);
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find(missing), std::string::npos) << bad.out;
  auto no_repo = d.berth("pull --tls-verify=false " + reg.addr() + "/fixtures/nothing:latest");
  EXPECT_NE(no_repo.status, 0);
  EXPECT_NE(no_repo.out.find("fixtures/nothing"), std::string::npos) << no_repo.out;
}

// A gc (`berth system prune`) started while a pull runs waits for it: the
// pull's write lease holds gc.lock shared and names every blob and snapshot
// it relies on, including the manifest, config and layer it finds already
// present (left dangling by an rmi). Afterwards nothing of the image is gone.
TEST(RegistryPull, GcDuringPullWaitsAndLosesNothing) {
  REQUIRE_FIXTURES();
  Registry reg;
  ASSERT_TRUE(reg.ok());
  Client c;
  const std::string name = reg.addr() + "/fixtures/busybox:latest";
  auto first = c.berth("pull --tls-verify=false " + name);
  ASSERT_EQ(first.status, 0) << first.out;
  auto store = Store::open(c.store());
  ASSERT_TRUE(store) << store.error().what();
  // An rmi without its gc: the blobs and snapshot stay, dangling.
  auto removed = store->remove_image(name, false);
  ASSERT_TRUE(removed) << removed.error().what();
  ASSERT_TRUE(c.has_blob(kConfig) && c.has_blob(kManifest) && c.has_blob(kLayer));
  PullOptions opts;
  opts.registry.tls_verify = false;
  std::atomic<bool> started{false};
  std::future<Result<GcReport>> gc;
  bool gc_done_during_pull = true;
  std::vector<LeaseRecord> leases;
  opts.progress = [&](const PullEvent& e) {
    if (e.kind == PullEvent::Kind::resolved || e.kind == PullEvent::Kind::done || started.exchange(true)) return;
    // Another Store (its own gc.lock open), as another `berth` process would have.
    gc = std::async(std::launch::async, [root = c.store()]() -> Result<GcReport> {
      BERTH_TRY_ASSIGN(other, Store::open(root));
      return other.gc();
    });
    gc_done_during_pull = gc.wait_for(std::chrono::milliseconds(300)) == std::future_status::ready;
    auto meta = Metadata::open(c.store() + "/berth.db");
    if (auto live = meta ? meta->live_leases(unix_now()) : Result<std::vector<LeaseRecord>>(); live) leases = *live;
  };
  auto r = pull(*store, name, opts);
  ASSERT_TRUE(started.load());
  auto report = gc.get();
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(report) << report.error().what();
  EXPECT_FALSE(gc_done_during_pull) << "gc ran while the pull relied on what it found";

  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].kind, "pull");
  auto leased = [&](LeaseResource type, const std::string& ref) {
    for (const auto& x : leases[0].refs)
      if (x.type == type && x.ref == ref) return true;
    return false;
  };
  EXPECT_TRUE(leased(LeaseResource::content, kManifest));
  EXPECT_TRUE(leased(LeaseResource::content, kConfig));
  EXPECT_TRUE(leased(LeaseResource::content, kLayer));

  // The gc ran after the image was recorded: it removed none of it.
  EXPECT_TRUE(report->blobs.empty()) << fmt::format("{}", fmt::join(report->blobs, " "));
  EXPECT_TRUE(report->snapshots.empty()) << fmt::format("{}", fmt::join(report->snapshots, " "));
  EXPECT_TRUE(c.has_blob(kConfig) && c.has_blob(kManifest) && c.has_blob(kLayer));
  auto image = store->metadata().get_image(kConfig);
  ASSERT_TRUE(image && *image);
  ASSERT_EQ((*image)->layers.size(), 1u);
  EXPECT_TRUE(leased(LeaseResource::snapshot, (*image)->layers[0].chain_id));
  auto check = store->check(false);
  ASSERT_TRUE(check) << check.error().what();
  EXPECT_EQ(check->images_checked, 1u);
  for (const auto& p : check->problems) ADD_FAILURE() << p.kind << " " << p.object << ": " << p.detail;
  EXPECT_TRUE(store->metadata().live_leases(unix_now())->empty());
}

TEST(RegistryPull, InsecureOnlyWhenConfiguredAndShortNames) {
  REQUIRE_FIXTURES();
  Registry reg;
  ASSERT_TRUE(reg.ok());
  Client strict;
  auto refused = strict.berth("pull " + reg.addr() + "/fixtures/busybox:latest");
  EXPECT_NE(refused.status, 0) << refused.out;  // HTTPS required; the registry speaks HTTP
  EXPECT_EQ(strict.blobs(), 0u);
  Client configured("unqualified-search-registries = [\"" + reg.addr() + "\"]\n[[registry]]\nlocation = \"" +
                    reg.addr() + "\"\ninsecure = true\n");
  auto r = configured.berth("pull fixtures/busybox");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(reg.addr() + "/fixtures/busybox:latest"), std::string::npos) << r.out;
}

TEST(RegistryPull, MirrorServesPulls) {
  REQUIRE_FIXTURES();
  Registry mirror;
  ASSERT_TRUE(mirror.ok());
  // The registry itself is down (nothing listens): the mirror answers.
  std::string dead = "127.0.0.1:" + free_port();
  Client c("[[registry]]\nlocation = \"" + dead + "\"\ninsecure = true\n[[registry.mirror]]\nlocation = \"" +
           mirror.addr() + "\"\ninsecure = true\n");
  auto r = c.berth("pull " + dead + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(c.has_blob(kLayer));
}

TEST(RegistryPush, MonolithicChunkedMountAndSkip) {
  REQUIRE_FIXTURES();
  Registry src;
  ASSERT_TRUE(src.ok());
  Registry dst("", false);
  ASSERT_TRUE(dst.ok());
  Client c;
  ASSERT_EQ(c.berth("pull --tls-verify=false " + src.addr() + "/fixtures/busybox:latest").status, 0);
  std::string name = src.addr() + "/fixtures/busybox:latest";
  auto chunked = c.berth("push --tls-verify=false --chunk-size 65536 " + name + " " + dst.addr() + "/a/busybox:v1");
  ASSERT_EQ(chunked.status, 0) << chunked.out;
  EXPECT_NE(chunked.out.find("Uploaded blob " + kLayer), std::string::npos) << chunked.out;
  EXPECT_NE(chunked.out.find(kManifest), std::string::npos) << chunked.out;
  auto again = c.berth("push --tls-verify=false " + name + " " + dst.addr() + "/a/busybox:v2");
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("Blob exists " + kLayer), std::string::npos) << again.out;
  // Within the source registry: mounted from fixtures/busybox.
  auto mounted = c.berth("push --tls-verify=false " + name + " " + src.addr() + "/other/busybox:m");
  ASSERT_EQ(mounted.status, 0) << mounted.out;
  EXPECT_NE(mounted.out.find("Mounted blob " + kLayer), std::string::npos) << mounted.out;
  // Monolithic upload to a fresh registry, then a pull of what was pushed.
  Registry fresh("", false);
  auto mono = c.berth("push --tls-verify=false " + name + " " + fresh.addr() + "/m/busybox:1");
  ASSERT_EQ(mono.status, 0) << mono.out;
  EXPECT_NE(mono.out.find("Uploaded blob " + kLayer), std::string::npos) << mono.out;
  for (const auto& ref : {dst.addr() + "/a/busybox:v1", fresh.addr() + "/m/busybox:1"}) {
    Client back;
    auto r = back.berth("pull --tls-verify=false " + ref);
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find(kConfig), std::string::npos) << r.out;
  }
  auto sk = run("skopeo inspect --tls-verify=false docker://" + dst.addr() + "/a/busybox:v1");
  EXPECT_EQ(sk.status, 0) << sk.out;
  EXPECT_NE(sk.out.find(kManifest), std::string::npos) << sk.out;
}

TEST(RegistryAuth, BasicAuthLoginLogout) {
  REQUIRE_FIXTURES();
  if (!fs::exists("/usr/bin/htpasswd")) GTEST_SKIP() << "no htpasswd";
  TempRoot auth("htpasswd");
  ASSERT_EQ(run("htpasswd -Bbc " + (auth / "htpasswd") + " berth-test s3cret").status, 0);
  Registry reg("--htpasswd " + (auth / "htpasswd"), false);
  ASSERT_TRUE(reg.ok());
  auto pushed = run("REGISTRY_CREDS=berth-test:s3cret " + kScripts + "/registry.sh push " + reg.dir() + " " +
                    reg.addr() + " fixtures/busybox:latest=" + kLayout + ":latest");
  ASSERT_EQ(pushed.status, 0) << pushed.out;
  Client c;
  std::string ref = reg.addr() + "/fixtures/busybox:latest";
  auto anon = c.berth("pull --tls-verify=false " + ref);
  EXPECT_NE(anon.status, 0);
  EXPECT_NE(anon.out.find("authentication required"), std::string::npos) << anon.out;
  auto wrong = c.berth("login --tls-verify=false -u berth-test -p nope " + reg.addr());
  EXPECT_NE(wrong.status, 0);
  EXPECT_NE(wrong.out.find("authentication failed"), std::string::npos) << wrong.out;
  EXPECT_FALSE(fs::exists(c.path("auth.json")));
  auto login = c.berth("login --tls-verify=false --authfile " + c.path("auth.json") + " -u berth-test -p s3cret " +
                       reg.addr());
  ASSERT_EQ(login.status, 0) << login.out;
  std::string saved = slurp(c.path("auth.json"));
  EXPECT_NE(saved.find("\"" + reg.addr() + "\""), std::string::npos) << saved;
  EXPECT_NE(saved.find(base64_encode("berth-test:s3cret")), std::string::npos) << saved;
  auto pull = c.berth("pull --tls-verify=false " + ref);  // credentials from the config's auth-file
  ASSERT_EQ(pull.status, 0) << pull.out;
  // skopeo (containers/image) reads the same file.
  auto sk = run("skopeo inspect --tls-verify=false --authfile " + c.path("auth.json") + " docker://" + ref);
  EXPECT_EQ(sk.status, 0) << sk.out;
  ASSERT_EQ(c.berth("logout --authfile " + c.path("auth.json") + " " + reg.addr()).status, 0);
  EXPECT_EQ(slurp(c.path("auth.json")).find(reg.addr()), std::string::npos);
  auto twice = c.berth("logout --authfile " + c.path("auth.json") + " " + reg.addr());
  EXPECT_NE(twice.status, 0);
  EXPECT_NE(twice.out.find("not logged into"), std::string::npos) << twice.out;
}

TEST(RegistryTls, CertsDirCaAndVerification) {
  REQUIRE_FIXTURES();
  TempRoot pki("pki");
  std::string p = pki.path();
  auto gen = run("cd " + p + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
                 "-subj /CN=berth-test-ca >/dev/null 2>&1 && "
                 "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 "
                 ">/dev/null 2>&1 && printf 'subjectAltName=IP:127.0.0.1\\n' > ext && "
                 "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt "
                 "-days 2 -extfile ext >/dev/null 2>&1");
  ASSERT_EQ(gen.status, 0) << gen.out;
  Registry reg("--tls " + p + "/server.crt " + p + "/server.key", false);
  ASSERT_TRUE(reg.ok());
  auto pushed = run("skopeo copy -q --dest-tls-verify=false oci:" + kLayout +
                    ":latest docker://" + reg.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(pushed.status, 0) << pushed.out;
  std::string ref = reg.addr() + "/fixtures/busybox:latest";
  Client c;
  auto unknown_ca = c.berth("pull " + ref);
  EXPECT_NE(unknown_ca.status, 0);
  EXPECT_NE(unknown_ca.out.find("certificate"), std::string::npos) << unknown_ca.out;
  fs::create_directories(c.path("certs.d/" + reg.addr()));
  fs::copy_file(p + "/ca.crt", c.path("certs.d/" + reg.addr() + "/ca.crt"));
  auto verified = c.berth("pull " + ref);
  ASSERT_EQ(verified.status, 0) << verified.out;
  Client unverified;
  auto skip = unverified.berth("pull --tls-verify=false " + ref);
  ASSERT_EQ(skip.status, 0) << skip.out;
}

TEST(RegistryTls, ClientCertificateFromCertsDir) {
  REQUIRE_FIXTURES();
  TempRoot pki("pki");
  std::string p = pki.path();
  auto gen = run("cd " + p + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
                 "-subj /CN=berth-test-ca >/dev/null 2>&1 && "
                 "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 "
                 ">/dev/null 2>&1 && printf 'subjectAltName=IP:127.0.0.1\\n' > ext && "
                 "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt "
                 "-days 2 -extfile ext >/dev/null 2>&1 && "
                 "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=berth-test "
                 ">/dev/null 2>&1 && openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                 "-out client.cert -days 2 >/dev/null 2>&1");
  ASSERT_EQ(gen.status, 0) << gen.out;
  Registry reg("--tls " + p + "/server.crt " + p + "/server.key --client-ca " + p + "/ca.crt", false);
  ASSERT_TRUE(reg.ok());
  // skopeo reads the same certs.d layout: *.crt CAs, client.cert + client.key.
  std::string certs = p + "/skopeo-certs";
  fs::create_directories(certs);
  for (const char* f : {"ca.crt", "client.cert", "client.key"}) fs::copy_file(p + "/" + f, certs + "/" + f);
  auto pushed = run("skopeo copy -q --dest-cert-dir " + certs + " oci:" + kLayout + ":latest docker://" + reg.addr() +
                    "/fixtures/busybox:latest");
  ASSERT_EQ(pushed.status, 0) << pushed.out;
  std::string ref = reg.addr() + "/fixtures/busybox:latest";
  Client c;
  std::string dir = c.path("certs.d/" + reg.addr());
  fs::create_directories(dir);
  fs::copy_file(p + "/ca.crt", dir + "/ca.crt");
  auto no_cert = c.berth("pull " + ref);
  EXPECT_NE(no_cert.status, 0) << no_cert.out;
  EXPECT_EQ(c.blobs(), 0u);
  fs::copy_file(p + "/client.cert", dir + "/client.cert");
  fs::copy_file(p + "/client.key", dir + "/client.key");
  auto with_cert = c.berth("pull " + ref);
  ASSERT_EQ(with_cert.status, 0) << with_cert.out;
}

// --- bad registries

struct BadCase {
  const char* mode;
  const char* expect;  // in the error
  const char* pull = "retries = 1\nlow-speed-timeout = 2\n";
};

class BadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInput, ClearErrorNothingStoredNothingLost) {
  REQUIRE_FIXTURES();
  BadRegistry bad(GetParam().mode);
  Client c("[[registry]]\nlocation = \"" + bad.addr() + "\"\ninsecure = true\n", GetParam().pull);
  // Something stored before the bad pull: it must survive.
  auto cs = ContentStore::open(c.store() + "/content");
  ASSERT_TRUE(cs);
  auto keep = oci::sha256_digest("kept");
  ASSERT_TRUE(cs->put("kept", keep));
  auto r = c.berth("pull " + bad.addr() + "/fixtures/busybox:latest");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(GetParam().expect), std::string::npos) << r.out;
  EXPECT_FALSE(c.has_blob(kLayer));
  EXPECT_FALSE(c.has_blob(kManifest));
  EXPECT_EQ(c.blobs(), 1u);
  EXPECT_TRUE(cs->verify(keep));
  EXPECT_EQ(c.images(), 0u);
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(c.store() + "/snapshots/tmp", ec) || !fs::exists(c.store() + "/snapshots/tmp"));
  for (auto& e : fs::directory_iterator(c.store() + "/snapshots", ec))
    EXPECT_EQ(e.path().filename(), "tmp") << "a snapshot was committed: " << e.path();
}

INSTANTIATE_TEST_SUITE_P(
    Registry, BadInput,
    ::testing::Values(BadCase{"bad-digest", "blob sha256:2c49e75f47db177f1ec551d2ac1eaaec33cc63c7eda840154a4d6da127f7d8e4: digest mismatch"},
                      // A valid gzip of the right tar (the streaming unpack succeeds, the
                      // diff ID matches) but not the blob the manifest names.
                      BadCase{"recompressed", "blob sha256:2c49e75f47db177f1ec551d2ac1eaaec33cc63c7eda840154a4d6da127f7d8e4: digest mismatch"},
                      BadCase{"short-body", "size mismatch"}, BadCase{"wrong-size", "size mismatch"},
                      BadCase{"unknown-media-type", "unsupported layer media type \"application/x-berth-bogus\""},
                      BadCase{"invalid-json", "manifest: invalid JSON"},
                      BadCase{"huge-manifest", "larger than 4194304 bytes"},
                      BadCase{"reset", "gave up after 2 attempts"}, BadCase{"hang", "gave up after 1 attempt: ", "retries = 0\nlow-speed-timeout = 1\n"}),
    [](const auto& info) {
      std::string n = info.param.mode;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

TEST(RegistryAuth, BearerTokenFlow) {
  REQUIRE_FIXTURES();
  BadRegistry reg("token");
  Client c("[[registry]]\nlocation = \"" + reg.addr() + "\"\ninsecure = true\n");
  std::string ref = reg.addr() + "/fixtures/busybox:latest";
  auto anon = c.berth("pull " + ref);
  EXPECT_NE(anon.status, 0);
  EXPECT_NE(anon.out.find("authentication failed: token server http://" + reg.addr() + "/token"), std::string::npos)
      << anon.out;
  EXPECT_EQ(c.blobs(), 0u);
  auto wrong = c.berth("pull --creds berth-test:wrong " + ref);
  EXPECT_NE(wrong.status, 0);
  auto r = c.berth("pull --creds berth-test:s3cret " + ref);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(c.has_blob(kLayer));
  std::string log = reg.requests();
  EXPECT_NE(log.find("GET /token?service=berth-test-registry&scope=repository%3Afixtures%2Fbusybox%3Apull"),
            std::string::npos)
      << log;
}

// Docker's config.json with an identity token (what `docker login` stores for
// an OAuth2 registry): the token is a refresh token, POSTed to the realm with
// grant_type=refresh_token instead of a Basic GET.
TEST(RegistryAuth, IdentityTokenRefreshGrant) {
  REQUIRE_FIXTURES();
  BadRegistry reg("token");
  Client c("[[registry]]\nlocation = \"" + reg.addr() + "\"\ninsecure = true\n");
  std::string ref = reg.addr() + "/fixtures/busybox:latest";
  auto write_config = [&](const std::string& token) {
    std::ofstream(c.path("auth.json"), std::ios::trunc)
        << "{\"auths\": {\"" << reg.addr() << "\": {\"auth\": \"" << base64_encode("<token>:")
        << "\", \"identitytoken\": \"" << token << "\"}}}\n";
  };
  write_config("stale-token");
  auto stale = c.berth("pull " + ref);
  EXPECT_NE(stale.status, 0);
  EXPECT_NE(stale.out.find("authentication failed: token server http://" + reg.addr() + "/token"), std::string::npos)
      << stale.out;
  EXPECT_EQ(c.blobs(), 0u);
  write_config("berth-test-refresh");
  auto r = c.berth("pull " + ref);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(c.has_blob(kLayer));
  std::string log = reg.requests();
  EXPECT_NE(log.find("POST /token range= body=grant_type=refresh_token&refresh_token=berth-test-refresh&client_id="
                     "berth&service=berth-test-registry&scope=repository%3Afixtures%2Fbusybox%3Apull"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("GET /token"), std::string::npos) << log;  // never the Basic flow
}

TEST(RegistryRetry, TransientErrorsAreRetried) {
  REQUIRE_FIXTURES();
  BadRegistry flaky("flaky");
  Client patient;
  std::ofstream(patient.path("berth.toml"), std::ios::trunc)
      << "[pull]\nretries = 3\nlow-speed-timeout = 2\n[[registry]]\nlocation = \"" << flaky.addr()
      << "\"\ninsecure = true\n";
  auto r = patient.berth("pull " + flaky.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string log = flaky.requests();
  size_t gets = 0;
  for (size_t pos = 0; (pos = log.find("GET /v2/fixtures/busybox/blobs/" + kLayer, pos)) != std::string::npos; ++pos)
    ++gets;
  EXPECT_EQ(gets, 3u) << log;
}

TEST(RegistryResume, ResetThenResumeWithRange) {
  REQUIRE_FIXTURES();
  Client c;
  {
    BadRegistry reset("reset");
    std::ofstream(c.path("berth.toml"), std::ios::app) << "[[registry]]\nlocation = \"" << reset.addr()
                                                      << "\"\ninsecure = true\n";
    auto r = c.berth("pull " + reset.addr() + "/fixtures/busybox:latest");
    ASSERT_NE(r.status, 0);
  }
  EXPECT_FALSE(c.has_blob(kLayer));
  BadRegistry ok("ok");
  auto r = c.berth("pull --tls-verify=false " + ok.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(ok.requests().find("range=bytes="), std::string::npos) << ok.requests();
  EXPECT_TRUE(c.has_blob(kLayer));
}

TEST(RegistryResume, KillNineMidPullThenResume) {
  REQUIRE_FIXTURES();
  Client c;
  {
    BadRegistry slow("slow");
    pid_t pid = ::fork();
    if (pid == 0) {
      std::string cfg = c.path("berth.toml");
      std::string store = c.store();
      std::string ref = slow.addr() + "/fixtures/busybox:latest";
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execl(BERTH_BINARY, "berth", "--root", store.c_str(), "--config", cfg.c_str(), "pull", "--tls-verify=false",
              ref.c_str(), nullptr);
      _exit(127);
    }
    // Wait until part of the layer is in the ingest area and the unpack has
    // begun on it (the layer streams: its first file appears in the snapshot
    // being prepared long before the download ends), then kill -9.
    bool partial = false, streaming = false;
    for (int i = 0; i < 200 && !(partial && streaming); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      std::error_code ec;
      for (auto& e : fs::recursive_directory_iterator(c.store() + "/content/ingest", ec))
        if (e.path().filename() == "data" && e.file_size() > 100000 && e.file_size() < 1000000) partial = true;
      for (auto& e : fs::recursive_directory_iterator(c.store() + "/snapshots/tmp", ec))
        if (e.path().filename() == "busybox" && partial) streaming = true;
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ASSERT_TRUE(partial) << "the slow pull never got going";
    EXPECT_TRUE(streaming) << "nothing unpacked while the layer downloaded";
  }
  EXPECT_FALSE(c.has_blob(kLayer));
  EXPECT_EQ(c.images(), 0u);
  BadRegistry ok("ok");
  auto r = c.berth("pull --tls-verify=false " + ok.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(ok.requests().find("range=bytes="), std::string::npos) << ok.requests();
  EXPECT_EQ(c.images(), 1u);
  auto cs = ContentStore::open(c.store() + "/content");
  EXPECT_TRUE(cs->verify(*oci::parse_digest(kLayer)));
  EXPECT_TRUE(cs->list_ingests()->empty());
}

// --- one large layer in ranges over several connections

const std::string kRangedPull =
    "retries = 1\nlow-speed-timeout = 2\nrange-min-size = 1048576\nrange-chunk-size = 524288\n"
    "max-connections-per-layer = 4\n";

// The layer GETs in a bad_registry.py log, as [start, end) (a GET without
// Range is the whole layer).
std::vector<ByteRange> layer_requests(const std::string& log, const std::string& digest, int64_t size) {
  std::vector<ByteRange> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("GET /v2/fixtures/busybox/blobs/" + digest + " ")) continue;
    auto r = line.find("range=bytes=");
    if (r == std::string::npos || line.size() == r + 12) {
      out.push_back({0, size});
      continue;
    }
    long long a = 0, b = -1;
    int n = std::sscanf(line.c_str() + r + 12, "%lld-%lld", &a, &b);
    out.push_back({a, n == 2 ? b + 1 : size});
  }
  return out;
}

struct BigLayer {
  std::string digest;
  int64_t size = 0;
};

BigLayer big_layer(const BadRegistry& reg) {
  BigLayer l;
  std::istringstream(reg.layer_info()) >> l.digest >> l.size;
  return l;
}

int64_t requested_bytes(const std::vector<ByteRange>& rs) {
  int64_t n = 0;
  for (const auto& r : rs) n += r.end - r.start;
  return n;
}

TEST(RegistryRanges, LargeLayerInRangesOverSeveralConnections) {
  REQUIRE_FIXTURES();
  BadRegistry reg("big");
  BigLayer layer = big_layer(reg);
  ASSERT_GT(layer.size, 4 << 20);
  Client c("[[registry]]\nlocation = \"" + reg.addr() + "\"\ninsecure = true\n", kRangedPull);
  auto r = c.berth("pull " + reg.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(c.has_blob(layer.digest));
  auto reqs = layer_requests(reg.requests(), layer.digest, layer.size);
  // Every piece once, 512 KiB each: nothing fetched twice.
  EXPECT_EQ(reqs.size(), static_cast<size_t>((layer.size + 524287) / 524288)) << reg.requests();
  EXPECT_EQ(requested_bytes(reqs), layer.size) << reg.requests();
  EXPECT_EQ(merge_ranges(reqs), (std::vector<ByteRange>{{0, layer.size}}));
  auto meta = Metadata::open(c.store() + "/berth.db");
  auto images = meta->list_images();
  ASSERT_TRUE(images && images->size() == 1u);
  std::string chain = (*images)[0].layers[0].chain_id;
  EXPECT_EQ(fs::file_size(c.store() + "/snapshots/" + chain.substr(7) + "/fs/big/data.bin"), 4u << 20);
  auto cs = ContentStore::open(c.store() + "/content");
  EXPECT_TRUE(cs->list_ingests()->empty());
}

TEST(RegistryRanges, RegistryWithoutRangesGetsOneStream) {
  REQUIRE_FIXTURES();
  BadRegistry reg("big-no-ranges");
  BigLayer layer = big_layer(reg);
  Client c("[[registry]]\nlocation = \"" + reg.addr() + "\"\ninsecure = true\n", kRangedPull);
  auto r = c.berth("pull " + reg.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(c.has_blob(layer.digest));
  // The probe (answered 200, abandoned at once), then one plain GET.
  auto reqs = layer_requests(reg.requests(), layer.digest, layer.size);
  ASSERT_EQ(reqs.size(), 2u) << reg.requests();
  EXPECT_EQ(reqs[1], (ByteRange{0, layer.size}));
}

// A ranged pull that fails half-way (connections reset in the second half of
// the layer) keeps what it wrote; the next pull fetches only what is missing.
TEST(RegistryRanges, ResumeFetchesOnlyMissingRangesAfterFailure) {
  REQUIRE_FIXTURES();
  Client c("", kRangedPull);
  BigLayer layer;
  {
    BadRegistry reset("big-reset");
    layer = big_layer(reset);
    std::ofstream(c.path("berth.toml"), std::ios::app) << "[[registry]]\nlocation = \"" << reset.addr()
                                                      << "\"\ninsecure = true\n";
    auto r = c.berth("pull " + reset.addr() + "/fixtures/busybox:latest");
    ASSERT_NE(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("gave up after 2 attempts"), std::string::npos) << r.out;
  }
  EXPECT_FALSE(c.has_blob(layer.digest));
  EXPECT_EQ(c.images(), 0u);
  BadRegistry ok("big");
  ASSERT_EQ(big_layer(ok).digest, layer.digest);
  auto r = c.berth("pull --tls-verify=false " + ok.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  auto reqs = layer_requests(ok.requests(), layer.digest, layer.size);
  ASSERT_FALSE(reqs.empty());
  for (const auto& q : reqs) EXPECT_GE(q.start, layer.size / 2) << ok.requests();
  // Each reset piece lost at most its last quarter (half, then half the rest).
  EXPECT_LE(requested_bytes(reqs), layer.size / 4) << ok.requests();
  EXPECT_TRUE(c.has_blob(layer.digest));
  EXPECT_EQ(c.images(), 1u);
}

// kill -9 in the middle of a ranged pull: the next pull fetches exactly what
// the ranges record lacks.
TEST(RegistryRanges, KillNineThenResumeOnlyMissingRanges) {
  REQUIRE_FIXTURES();
  Client c("", kRangedPull);
  BigLayer layer;
  std::string record;
  {
    BadRegistry slow("big-slow");
    layer = big_layer(slow);
    pid_t pid = ::fork();
    if (pid == 0) {
      std::string cfg = c.path("berth.toml");
      std::string store = c.store();
      std::string ref = slow.addr() + "/fixtures/busybox:latest";
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execl(BERTH_BINARY, "berth", "--root", store.c_str(), "--config", cfg.c_str(), "pull", "--tls-verify=false",
              ref.c_str(), nullptr);
      _exit(127);
    }
    // Until the record holds a finished piece past the first.
    for (int i = 0; i < 500; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::error_code ec;
      for (auto& e : fs::recursive_directory_iterator(c.store() + "/content/ingest", ec))
        if (e.path().filename() == "ranges") record = slurp(e.path());
      auto parsed = parse_ranges(record, layer.size);
      if (parsed && covered_bytes(*parsed) > 524288) break;
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  auto recorded = parse_ranges(record, layer.size);
  ASSERT_TRUE(recorded && covered_bytes(*recorded) > 524288) << record;
  ASSERT_LT(covered_bytes(*recorded), layer.size) << "the pull finished before the kill";
  EXPECT_FALSE(c.has_blob(layer.digest));
  BadRegistry ok("big");
  auto r = c.berth("pull --tls-verify=false " + ok.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  auto reqs = layer_requests(ok.requests(), layer.digest, layer.size);
  // Never a byte the record had (the kill may have come after a piece was
  // written but before it was recorded: those are fetched again).
  for (const auto& q : reqs)
    for (const auto& have : *recorded)
      EXPECT_TRUE(q.end <= have.start || q.start >= have.end)
          << q.start << "-" << q.end << " overlaps " << have.start << "-" << have.end;
  EXPECT_EQ(requested_bytes(reqs), layer.size - covered_bytes(*recorded)) << ok.requests();
  EXPECT_TRUE(c.has_blob(layer.digest));
  EXPECT_EQ(c.images(), 1u);
}

// Debian's docker-registry answers ranges too.
TEST(RegistryRanges, RealRegistryServesRanges) {
  REQUIRE_FIXTURES();
  Registry reg;
  ASSERT_TRUE(reg.ok());
  Client c("", "retries = 1\nlow-speed-timeout = 2\nrange-min-size = 262144\nrange-chunk-size = 131072\n"
               "max-connections-per-layer = 3\n");
  auto r = c.berth("--log-level debug pull --tls-verify=false " + reg.addr() + "/fixtures/busybox:latest");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("one stream"), std::string::npos) << r.out;
  auto cs = ContentStore::open(c.store() + "/content");
  EXPECT_TRUE(cs->verify(*oci::parse_digest(kLayer)));
  EXPECT_EQ(c.images(), 1u);
}

}  // namespace
}  // namespace berth::image
