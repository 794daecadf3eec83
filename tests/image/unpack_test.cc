// Layer unpack as root: every tar feature round-trips, whiteouts become what
// overlayfs understands (checked with a real overlay mount), and hostile
// archives are refused with an error naming the entry or contained: nothing
// is ever written outside the layer directory (a sentinel directory beside it
// is checked after each).
#include "image/unpack.h"

#include <archive.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "image/unpack_writer.h"
#include "oci/digest.h"
#include "tar_builder.h"
#include "temp_root.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;
using namespace berth::image::testing;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string xattr(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

// Every path below `dir`, relative, with its type.
std::set<std::string> listing(const std::string& dir) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    out.insert(fs::relative(it->path(), dir).string() + (it->is_symlink() ? "@" : it->is_directory() ? "/" : ""));
  }
  return out;
}

class Unpack : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    fs::create_directory(root_ / "layer");
    fs::create_directory(root_ / "sentinel");
    std::ofstream(root_ / "sentinel/file") << "precious";
    sentinel_before_ = listing(root_ / "sentinel");
  }
  void TearDown() override {
    if (::geteuid() != 0) return;
    // Nothing may have appeared, changed or gone outside the layer.
    EXPECT_EQ(listing(root_ / "sentinel"), sentinel_before_);
    EXPECT_EQ(slurp(root_ / "sentinel/file"), "precious");
    std::set<std::string> top;
    for (const auto& e : fs::directory_iterator(root_.path())) top.insert(e.path().filename());
    EXPECT_EQ(top, (std::set<std::string>{"layer", "sentinel"}));
  }

  Result<UnpackStats> unpack(const std::string& stream, Compression c = Compression::none,
                             const UnpackOptions& options = {}) {
    MemorySource src(stream);
    return unpack_layer(src, c, layer(), options);
  }
  std::string layer() const { return root_ / "layer"; }
  std::string at(const std::string& rel) const { return layer() + "/" + rel; }

  TempRoot root_{"unpack"};
  std::set<std::string> sentinel_before_;
};

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

TEST_F(Unpack, RegularFilesModesOwnersTimes) {
  TarEntry f = file("etc/motd", "hello\n", 0640);
  f.uid = 1234;
  f.gid = 5678;
  f.mtime = 1600000000;
  f.mtime_nsec = 123456789;
  TarEntry suid = file("usr/bin/su", "#!", 04755);
  TarEntry sgid = file("usr/bin/wall", "#!", 02755);
  TarEntry sticky = dir("tmp", 01777);
  const std::string tar = make_tar({dir("etc"), f, dir("usr"), dir("usr/bin"), suid, sgid, sticky});
  auto r = unpack(tar);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->entries, 7u);
  EXPECT_EQ(r->bytes, tar.size());
  EXPECT_EQ(r->diff_id, oci::sha256_digest(tar));
  EXPECT_EQ(slurp(at("etc/motd")), "hello\n");
  struct stat st = lstat_of(at("etc/motd"));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(lstat_of(at("usr/bin/su")).st_mode & 07777, 04755u);
  EXPECT_EQ(lstat_of(at("usr/bin/wall")).st_mode & 07777, 02755u);
  EXPECT_EQ(lstat_of(at("tmp")).st_mode & 07777, 01777u);
  // Directory times survive the entries written into them afterwards.
  EXPECT_EQ(lstat_of(at("usr/bin")).st_mtim.tv_sec, 1700000000);
}

TEST_F(Unpack, CompressedLayersHaveTheTarsDiffId) {
  const std::string tar = make_tar({dir("a"), file("a/b", std::string(100000, 'x'))});
  for (auto [stream, c] : {std::pair{gzip(tar), Compression::gzip}, std::pair{zstd(tar), Compression::zstd}}) {
    fs::remove_all(layer());
    fs::create_directory(layer());
    auto r = unpack(stream, c);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->diff_id, oci::sha256_digest(tar));
    EXPECT_EQ(r->bytes, tar.size());
    EXPECT_EQ(slurp(at("a/b")), std::string(100000, 'x'));
  }
}

TEST_F(Unpack, SymlinksAreWrittenAsIs) {
  auto r = unpack(make_tar({symlink("abs", "/etc/passwd"), symlink("rel", "../../outside"),
                            symlink("dangling", "nowhere")}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(fs::read_symlink(at("abs")), "/etc/passwd");
  EXPECT_EQ(fs::read_symlink(at("rel")), "../../outside");
  EXPECT_EQ(fs::read_symlink(at("dangling")), "nowhere");
  EXPECT_TRUE(S_ISLNK(lstat_of(at("abs")).st_mode));
}

TEST_F(Unpack, Hardlinks) {
  auto r = unpack(make_tar({dir("bin"), file("bin/busybox", "elf"), hardlink("bin/sh", "bin/busybox"),
                            hardlink("ls", "bin/busybox"), hardlink("bin/sh", "bin/sh")}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(lstat_of(at("bin/sh")).st_ino, lstat_of(at("bin/busybox")).st_ino);
  EXPECT_EQ(lstat_of(at("ls")).st_ino, lstat_of(at("bin/busybox")).st_ino);
  EXPECT_EQ(lstat_of(at("ls")).st_nlink, 3u);
}

TEST_F(Unpack, XattrsIncludingFileCapabilities) {
  // VFS_CAP_REVISION_2: cap_net_raw+ep.
  std::string cap("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  TarEntry ping = file("ping", "elf", 0755);
  ping.uid = 0;
  ping.xattrs = {{"security.capability", cap}, {"user.comment", "hi"}};
  TarEntry d = dir("d");
  d.xattrs = {{"user.dir", "yes"}};
  TarEntry forged = dir("forged");
  forged.xattrs = {{"trusted.overlay.opaque", "y"}, {"trusted.overlay.redirect", "/x"}};
  auto r = unpack(make_tar({ping, d, forged}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(xattr(at("ping"), "security.capability"), cap);
  EXPECT_EQ(xattr(at("ping"), "user.comment"), "hi");
  EXPECT_EQ(xattr(at("d"), "user.dir"), "yes");
  // Overlayfs' own xattrs come only from whiteout entries.
  EXPECT_EQ(xattr(at("forged"), "trusted.overlay.opaque"), "<none>");
  EXPECT_EQ(xattr(at("forged"), "trusted.overlay.redirect"), "<none>");
}

TEST_F(Unpack, SparseFiles) {
  TarEntry s;
  s.path = "sparse";
  s.size = 2 << 20;
  s.sparse = {{0, 4096}, {1 << 20, 4096}};
  s.data = std::string(4096, 'a') + std::string(4096, 'b');
  TarEntry tail = s;
  tail.path = "hole-at-end";
  tail.sparse = {{0, 4096}};
  tail.data = std::string(4096, 'c');
  auto r = unpack(make_tar({s, tail}));
  ASSERT_TRUE(r) << r.error().what();
  const std::string got = slurp(at("sparse"));
  ASSERT_EQ(got.size(), size_t{2 << 20});
  EXPECT_TRUE(got.substr(0, 4096) == std::string(4096, 'a'));
  EXPECT_TRUE(got.substr(1 << 20, 4096) == std::string(4096, 'b'));
  EXPECT_TRUE(got.substr(4096, 4096) == std::string(4096, '\0'));
  EXPECT_LT(lstat_of(at("sparse")).st_blocks * 512, 1 << 20);  // the holes stayed holes
  EXPECT_EQ(fs::file_size(at("hole-at-end")), size_t{2 << 20});
}

TEST_F(Unpack, DevicesAndFifos) {
  TarEntry null;
  null.path = "dev/null";
  null.type = AE_IFCHR;
  null.perm = 0666;
  null.rdev_major = 1;
  null.rdev_minor = 3;
  TarEntry loop = null;
  loop.path = "dev/loop0";
  loop.type = AE_IFBLK;
  loop.perm = 0660;
  loop.rdev_major = 7;
  loop.rdev_minor = 0;
  loop.gid = 6;
  TarEntry fifo;
  fifo.path = "run/initctl";
  fifo.type = AE_IFIFO;
  fifo.perm = 0600;
  auto r = unpack(make_tar({null, loop, fifo}));
  ASSERT_TRUE(r) << r.error().what();
  struct stat st = lstat_of(at("dev/null"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  st = lstat_of(at("dev/loop0"));
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(7, 0));
  EXPECT_EQ(st.st_gid, 6u);
  EXPECT_TRUE(S_ISFIFO(lstat_of(at("run/initctl")).st_mode));
}

TEST_F(Unpack, LongNamesPaxAndGnu) {
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "directory-" + std::to_string(i) + "/";
  const std::string name = deep + std::string(200, 'n');
  const std::string target = std::string(150, 't') + "/" + std::string(150, 'u');
  for (int format : {ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FORMAT_TAR_GNUTAR}) {
    fs::remove_all(layer());
    fs::create_directory(layer());
    auto r = unpack(make_tar({file(name, "long"), symlink("ln", target), hardlink("hl", name),
                              file("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", "utf8")},
                             format));
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(slurp(at(name)), "long");
    EXPECT_EQ(fs::read_symlink(at("ln")).string(), target);
    EXPECT_EQ(lstat_of(at("hl")).st_ino, lstat_of(at(name)).st_ino);
    EXPECT_EQ(slurp(at("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac")), "utf8");
  }
}

TEST_F(Unpack, ReplacementFollowsTarSemantics) {
  TarEntry d2 = dir("d", 0700);
  d2.mtime = 1500000000;
  auto r = unpack(make_tar({
      file("f2d", "x"), dir("f2d"),                      // a file replaced by a directory
      dir("d2f"), file("d2f/inner", "x"), file("d2f", "now a file"),  // a tree replaced by a file
      dir("d"), file("d/keep", "kept"), d2,              // a directory stays, gets new metadata
      file("twice", "one"), file("twice", "two"),        // the last one wins
      symlink("l2f", "/etc"), file("l2f", "plain"),      // a symlink replaced, not followed
  }));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(fs::is_directory(at("f2d")));
  EXPECT_EQ(slurp(at("d2f")), "now a file");
  EXPECT_EQ(slurp(at("d/keep")), "kept");
  EXPECT_EQ(lstat_of(at("d")).st_mode & 07777, 0700u);
  EXPECT_EQ(lstat_of(at("d")).st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(slurp(at("twice")), "two");
  EXPECT_TRUE(S_ISREG(lstat_of(at("l2f")).st_mode));
  EXPECT_EQ(slurp(at("l2f")), "plain");
}

TEST_F(Unpack, MissingParentsAreCreated) {
  auto r = unpack(make_tar({file("a/b/c/d", "deep"), file("/abs/olute", "x"), file("./dot/./slash//x", "y")}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(slurp(at("a/b/c/d")), "deep");
  EXPECT_EQ(lstat_of(at("a/b")).st_mode & 07777, 0755u);
  EXPECT_EQ(slurp(at("abs/olute")), "x");
  EXPECT_EQ(slurp(at("dot/slash/x")), "y");
}

TEST_F(Unpack, RootEntryAppliesToTheLayerDir) {
  TarEntry root = dir("./", 0750);
  auto r = unpack(make_tar({root, file("x", "")}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(lstat_of(layer()).st_mode & 07777, 0750u);
  auto bad = unpack(make_tar({file(".", "not a dir")}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("layer root"), std::string::npos) << bad.error().what();
}

TEST_F(Unpack, Whiteouts) {
  TarEntry wh = file("a/.wh.gone", "");
  wh.uid = 7;
  auto r = unpack(make_tar({dir("a"), wh, dir("b"), file("b/.wh..wh..opq", ""), file("b/new", "n"),
                            file(".wh..wh.plnk", ""), file("c/.wh..wh..opq", "")}));
  ASSERT_TRUE(r) << r.error().what();
  struct stat st = lstat_of(at("a/gone"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_FALSE(fs::exists(at("a/.wh.gone")));
  EXPECT_EQ(xattr(at("b"), "trusted.overlay.opaque"), "y");
  EXPECT_EQ(xattr(at("c"), "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(fs::exists(at("b/.wh..wh..opq")));
  EXPECT_FALSE(fs::exists(at(".wh..wh.plnk")));
  UnpackOptions user;
  user.userxattr = true;
  fs::remove_all(layer());
  fs::create_directory(layer());
  ASSERT_TRUE(unpack(make_tar({file("d/.wh..wh..opq", "")}), Compression::none, user));
  EXPECT_EQ(xattr(at("d"), "user.overlay.opaque"), "y");
  auto bad = unpack(make_tar({file("x/.wh...", "")}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("x/.wh..."), std::string::npos) << bad.error().what();
}

// Overlayfs itself reads the whiteouts: a whited-out file is gone and an
// opaque directory hides the lower layer's contents.
TEST_F(Unpack, OverlayUnderstandsTheWhiteouts) {
  fs::create_directory(root_ / "layer/lower");
  fs::create_directory(root_ / "layer/upper");
  fs::create_directory(root_ / "layer/merged");
  // MemorySource borrows: the archives must outlive it.
  const std::string lower_tar = make_tar({dir("a"), file("a/stay", "1"), file("a/gone", "2"), dir("b"),
                                          file("b/old", "3"), dir("c"), file("c/lower", "4")});
  MemorySource lower(lower_tar);
  ASSERT_TRUE(unpack_layer(lower, Compression::none, at("lower")));
  const std::string upper_tar = make_tar({file("a/.wh.gone", ""), dir("b"), file("b/.wh..wh..opq", ""),
                                          file("b/new", "5"), file("c/upper", "6")});
  MemorySource upper(upper_tar);
  ASSERT_TRUE(unpack_layer(upper, Compression::none, at("upper")));
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) _exit(10);
    const std::string opts = "lowerdir=" + at("upper") + ":" + at("lower");
    if (::mount("overlay", at("merged").c_str(), "overlay", MS_RDONLY, opts.c_str()) < 0) _exit(11);
    auto exists = [&](const char* rel) { return ::access((at("merged") + "/" + rel).c_str(), F_OK) == 0; };
    int code = 0;
    if (!exists("a/stay")) code = 1;
    if (exists("a/gone")) code = 2;
    if (exists("b/old")) code = 3;
    if (!exists("b/new")) code = 4;
    if (!exists("c/lower") || !exists("c/upper")) code = 5;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1-5: a check inside the overlay failed; 10-11: setup";
  fs::remove_all(layer());
  fs::create_directory(layer());
}

// --- hostile archives ---

void expect_error_naming(const Result<UnpackStats>& r, const std::string& entry) {
  ASSERT_FALSE(r) << "expected an error about " << entry;
  EXPECT_NE(r.error().what().find(entry), std::string::npos) << r.error().what();
}

TEST_F(Unpack, DotDotPathsAreRefused) {
  expect_error_naming(unpack(make_tar({file("../sentinel/file", "pwned")})), "../sentinel/file");
  expect_error_naming(unpack(make_tar({file("a/../../sentinel/x", "pwned")})), "a/../../sentinel/x");
  expect_error_naming(unpack(make_tar({file("ok", "1"), hardlink("h", "../sentinel/file")})), "../sentinel/file");
}

TEST_F(Unpack, AbsolutePathsStayInside) {
  const std::string outside = root_ / "sentinel/abs";
  auto r = unpack(make_tar({file(outside, "contained")}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(slurp(at(outside.substr(1))), "contained");
}

TEST_F(Unpack, SymlinksPointingOutAreNotFollowed) {
  const std::string sentinel = root_ / "sentinel";
  auto r = unpack(make_tar({
      symlink("abs", sentinel), file("abs/pwned", "x"),                      // absolute, as a parent
      symlink("rel", "../sentinel"), file("rel/pwned", "y"),                  // relative, climbing out
      symlink("deep/rel2", "../../../../../../sentinel"), file("deep/rel2/pwned", "z"),
      symlink("final", sentinel + "/file"), file("final", "replaced"),        // as the last component
      symlink("dl", sentinel + "/newdir"), dir("dl/sub"),
  }));
  ASSERT_TRUE(r) << r.error().what();
  // Each landed where the symlink points when the layer dir is "/".
  EXPECT_EQ(slurp(at(sentinel.substr(1) + "/pwned")), "x");
  EXPECT_EQ(slurp(at("sentinel/pwned")), "z");  // the last writer of layer/sentinel/pwned
  EXPECT_EQ(slurp(at("final")), "replaced");
  EXPECT_TRUE(fs::is_directory(at(sentinel.substr(1) + "/newdir/sub")));
}

TEST_F(Unpack, HardlinksToOutsideAreRefused) {
  const std::string sentinel = root_ / "sentinel";
  // Through an absolute path or a symlinked dir, the target is looked up
  // inside the layer, where it does not exist.
  expect_error_naming(unpack(make_tar({hardlink("h1", sentinel + "/file")})), "h1");
  expect_error_naming(unpack(make_tar({symlink("s", sentinel), hardlink("h2", "s/file")})), "h2");
  expect_error_naming(unpack(make_tar({symlink("s2", "../sentinel"), hardlink("h3", "s2/file")})), "h3");
  // A hardlink to a symlink links the symlink itself, never its target.
  fs::remove_all(layer());
  fs::create_directory(layer());
  auto r = unpack(make_tar({symlink("sl", sentinel + "/file"), hardlink("h4", "sl"), file("h4x", "")}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(S_ISLNK(lstat_of(at("h4")).st_mode));
}

TEST_F(Unpack, SymlinkAndDirectorySwappedMidArchive) {
  const std::string sentinel = root_ / "sentinel";
  auto r = unpack(make_tar({
      dir("a"), file("a/x", "1"),
      symlink("a", sentinel),  // the directory becomes a symlink pointing out...
      file("a/y", "2"),        // ...and a later entry goes through it: stays inside
      symlink("b", sentinel), dir("b"), file("b/z", "3"),  // a symlink becomes a directory
  }));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(S_ISLNK(lstat_of(at("a")).st_mode));
  EXPECT_EQ(slurp(at(sentinel.substr(1) + "/y")), "2");
  EXPECT_TRUE(S_ISDIR(lstat_of(at("b")).st_mode));
  EXPECT_EQ(slurp(at("b/z")), "3");
}

TEST_F(Unpack, DeviceNodesNeedPrivilege) {
  TarEntry null;
  null.path = "dev/null";
  null.type = AE_IFCHR;
  null.rdev_major = 1;
  null.rdev_minor = 3;
  const std::string tar = make_tar({dir("dev", 0777), null});
  fs::permissions(layer(), fs::perms::all);
  // Opened while root: the test root above it is private (0700).
  UniqueFd layer_fd(::open(layer().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(layer_fd);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) < 0 || ::setresgid(65534, 65534, 65534) < 0 || ::setresuid(65534, 65534, 65534) < 0) {
      _exit(10);
    }
    MemorySource src(tar);
    UnpackOptions opts;
    opts.preserve_ownership = false;
    auto r = unpack_layer(src, Compression::none, layer_fd, opts);
    if (r) _exit(1);
    const std::string msg = r.error().what();
    fprintf(stderr, "%s\n", msg.c_str());
    _exit(msg.find("dev/null") != std::string::npos && msg.find("device node") != std::string::npos ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  fs::remove_all(layer());
  fs::create_directory(layer());
}

TEST_F(Unpack, EntryLimit) {
  std::vector<TarEntry> many;
  for (int i = 0; i < 1500; ++i) many.push_back(file("d" + std::to_string(i % 50) + "/f" + std::to_string(i), ""));
  const std::string tar = make_tar(many);
  auto ok = unpack(tar);
  ASSERT_TRUE(ok) << ok.error().what();
  EXPECT_EQ(ok->entries, 1500u);
  fs::remove_all(layer());
  fs::create_directory(layer());
  UnpackOptions small;
  small.max_entries = 500;
  auto r = unpack(tar, Compression::none, small);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("more than 500 entries"), std::string::npos) << r.error().what();
}

TEST_F(Unpack, BrokenStreamsAreErrors) {
  const std::string tar = make_tar({dir("a"), file("a/big", std::string(300000, 'q')), file("a/last", "z")});
  const std::string gz = gzip(tar), zs = zstd(tar);
  auto r = unpack(gz.substr(0, gz.size() / 2), Compression::gzip);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("gzip: truncated"), std::string::npos) << r.error().what();
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0x40;
  r = unpack(bad_crc, Compression::gzip);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("trailer mismatch"), std::string::npos) << r.error().what();
  r = unpack(zs.substr(0, zs.size() - 3), Compression::zstd);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("zstd"), std::string::npos) << r.error().what();
  r = unpack(tar.substr(0, tar.size() / 2), Compression::none);  // cut inside a/big's data
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("a/big"), std::string::npos) << r.error().what();
  r = unpack(std::string(5000, 'G'), Compression::none);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("tar"), std::string::npos) << r.error().what();
}

TEST_F(Unpack, EmptyLayers) {
  auto r = unpack("", Compression::none);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->entries, 0u);
  const std::string zeros(1024, '\0');  // the canonical empty layer
  r = unpack(gzip(zeros), Compression::gzip);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->diff_id.str(), "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
}

TEST_F(Unpack, LayersInParallel) {
  std::vector<std::string> tars, dirs;
  std::vector<std::unique_ptr<MemorySource>> sources;
  std::vector<LayerJob> jobs;
  for (int i = 0; i < 4; ++i) {
    tars.push_back(gzip(make_tar({file("f" + std::to_string(i), std::string(50000, char('a' + i)))})));
    dirs.push_back(at("l" + std::to_string(i)));
    fs::create_directory(dirs.back());
  }
  for (int i = 0; i < 4; ++i) {
    sources.push_back(std::make_unique<MemorySource>(tars[i]));
    jobs.push_back({sources.back().get(), Compression::gzip, dirs[i]});
  }
  jobs[2].compression = Compression::zstd;  // wrong: this one fails alone
  auto results = unpack_layers(jobs);
  ASSERT_EQ(results.size(), 4u);
  for (int i : {0, 1, 3}) {
    ASSERT_TRUE(results[i]) << results[i].error().what();
    EXPECT_EQ(slurp(dirs[i] + "/f" + std::to_string(i)), std::string(50000, char('a' + i)));
  }
  EXPECT_FALSE(results[2]);
}

TEST(CleanEntryPath, Cases) {
  EXPECT_EQ(clean_entry_path("./a/b/").value(), "a/b");
  EXPECT_EQ(clean_entry_path("/a//b/./c").value(), "a/b/c");
  EXPECT_EQ(clean_entry_path("a/../b").value(), "b");
  EXPECT_EQ(clean_entry_path("./").value(), "");
  EXPECT_EQ(clean_entry_path("/").value(), "");
  EXPECT_FALSE(clean_entry_path(".."));
  EXPECT_FALSE(clean_entry_path("a/../../b"));
  EXPECT_FALSE(clean_entry_path("/../etc"));
}

}  // namespace
}  // namespace berth::image
