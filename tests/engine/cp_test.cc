// berth cp's library (engine/copy.h): argument and path rules (pure), and
// copies between the host and a container root: a directory (a stopped
// container's rootfs) and a process's /proc/<pid>/root in a mount namespace
// of its own (a running container: its private mounts are seen). Symlinks in
// the container never lead to the host's files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "engine/copy.h"
#include "test_util.h"
#include "engine_env.h"

namespace berth::engine {
namespace {

namespace fs = std::filesystem;
using image::testing::sh;
using image::testing::slurp;
using image::testing::spit;

TEST(CopyArg, ContainerOrHostOrStream) {
  auto a = parse_copy_arg("web:/etc/hosts");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->container, "web");
  EXPECT_EQ(a->path, "/etc/hosts");
  a = parse_copy_arg("/tmp/a:b");  // a slash before the colon: a host path
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->container);
  EXPECT_EQ(a->path, "/tmp/a:b");
  a = parse_copy_arg("./x:y");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->container);
  a = parse_copy_arg("-");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->stream());
  a = parse_copy_arg("c:relative/p");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->container, "c");
  EXPECT_FALSE(parse_copy_arg("c:"));
  EXPECT_FALSE(parse_copy_arg(""));
}

constexpr PathKind kMissing{false, false}, kFile{true, false}, kDir{true, true};

TEST(CopyPlan, FileSources) {
  auto p = plan_copy("/a/f", kFile, "/d", kDir);  // into a directory, under its own name
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extract_dir, "/d");
  EXPECT_EQ(p->top_name, "f");
  p = plan_copy("/a/f", kFile, "/d/g", kMissing);  // a new name
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extract_dir, "/d");
  EXPECT_EQ(p->top_name, "g");
  p = plan_copy("/a/f", kFile, "/d/g", kFile);  // overwritten
  ASSERT_TRUE(p);
  EXPECT_EQ(p->top_name, "g");
  p = plan_copy("f", kFile, "g", kMissing);  // relative host paths
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extract_dir, ".");
  EXPECT_EQ(p->top_name, "g");
  p = plan_copy("/a/f", kFile, "/d/new/", kMissing);  // a trailing slash wants a directory
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ENOENT);
  p = plan_copy("/a/f", kFile, "/d/file/", kFile);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), ENOTDIR);
  EXPECT_FALSE(plan_copy("/a/f", kMissing, "/d", kDir));
  EXPECT_FALSE(plan_copy("/a/f/.", kFile, "/d", kDir));
}

TEST(CopyPlan, DirectorySources) {
  auto p = plan_copy("/a/src", kDir, "/d", kDir);  // /d/src
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extract_dir, "/d");
  EXPECT_EQ(p->top_name, "src");
  p = plan_copy("/a/src/", kDir, "/d", kDir);  // a trailing slash alone changes nothing
  ASSERT_TRUE(p);
  EXPECT_EQ(p->top_name, "src");
  p = plan_copy("/a/src/.", kDir, "/d", kDir);  // contents only
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extract_dir, "/d");
  EXPECT_EQ(p->top_name, "");
  p = plan_copy("/a/src", kDir, "/d/new", kMissing);  // becomes /d/new
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extract_dir, "/d");
  EXPECT_EQ(p->top_name, "new");
  p = plan_copy("/a/src/.", kDir, "/d/new", kMissing);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->top_name, "new");
  EXPECT_FALSE(plan_copy("/a/src", kDir, "/d/file", kFile));
  p = plan_copy("/", kDir, "/d", kDir);  // the whole root: its contents
  ASSERT_TRUE(p);
  EXPECT_EQ(p->top_name, "");
}

// A temp dir with a host side and a container root.
class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/berth-test-cp-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    host_ = dir_ + "/host";
    root_path_ = dir_ + "/root";
    fs::create_directories(host_);
    fs::create_directories(root_path_ + "/etc");
    spit(root_path_ + "/etc/passwd", "root:x:0:0:container:/root:/bin/sh\n");
    auto root = open_root_dir(root_path_);
    ASSERT_TRUE(root) << root.error().what();
    root_ = std::move(*root);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CopySide ctr(std::string path) const { return CopySide{&root_, std::move(path)}; }
  static CopySide host(std::string path) { return CopySide{nullptr, std::move(path)}; }

  std::string dir_, host_, root_path_;
  UniqueFd root_;
};

TEST_F(CopyTest, FileInAndOut) {
  spit(host_ + "/f", "hello");
  ::chmod((host_ + "/f").c_str(), 0640);
  auto r = copy_path(host(host_ + "/f"), ctr("/etc"), {});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(slurp(root_path_ + "/etc/f"), "hello");
  struct stat st{};
  ASSERT_EQ(::stat((root_path_ + "/etc/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);

  r = copy_path(ctr("/etc/f"), host(host_ + "/renamed"), {});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(slurp(host_ + "/renamed"), "hello");

  spit(host_ + "/renamed", "older and longer");  // an existing file is replaced
  r = copy_path(ctr("/etc/f"), host(host_ + "/renamed"), {});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(slurp(host_ + "/renamed"), "hello");

  r = copy_path(ctr("/etc/nope"), host(host_), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOENT);
  r = copy_path(host(host_ + "/f"), ctr("/missing/dir/"), {});
  ASSERT_FALSE(r);
}

TEST_F(CopyTest, DirectoriesAndContents) {
  fs::create_directories(host_ + "/src/sub");
  spit(host_ + "/src/a", "A");
  spit(host_ + "/src/sub/b", "B");
  fs::create_symlink("sub/b", host_ + "/src/link");
  ASSERT_EQ(::link((host_ + "/src/a").c_str(), (host_ + "/src/hard").c_str()), 0);

  ASSERT_TRUE(copy_path(host(host_ + "/src"), ctr("/"), {}));  // -> /src
  EXPECT_EQ(slurp(root_path_ + "/src/sub/b"), "B");
  EXPECT_EQ(fs::read_symlink(root_path_ + "/src/link"), "sub/b");
  struct stat a{}, hard{};
  ASSERT_EQ(::stat((root_path_ + "/src/a").c_str(), &a), 0);
  ASSERT_EQ(::stat((root_path_ + "/src/hard").c_str(), &hard), 0);
  EXPECT_EQ(a.st_ino, hard.st_ino);  // hard links stay linked

  ASSERT_TRUE(copy_path(host(host_ + "/src"), ctr("/newname"), {}));  // missing: takes the name
  EXPECT_EQ(slurp(root_path_ + "/newname/a"), "A");

  fs::create_directories(root_path_ + "/into");
  ASSERT_TRUE(copy_path(host(host_ + "/src/."), ctr("/into"), {}));  // contents only
  EXPECT_EQ(slurp(root_path_ + "/into/a"), "A");
  EXPECT_FALSE(fs::exists(root_path_ + "/into/src"));

  auto r = copy_path(host(host_ + "/src"), ctr("/etc/passwd"), {});  // a directory onto a file
  EXPECT_FALSE(r);

  ASSERT_TRUE(copy_path(ctr("/src"), host(host_ + "/back"), {}));
  EXPECT_EQ(slurp(host_ + "/back/sub/b"), "B");
}

TEST_F(CopyTest, Ownership) {
  spit(host_ + "/owned", "x");
  ASSERT_EQ(::chown((host_ + "/owned").c_str(), 1234, 5678), 0);
  ASSERT_TRUE(copy_path(host(host_ + "/owned"), ctr("/plain"), {}));
  ASSERT_TRUE(copy_path(host(host_ + "/owned"), ctr("/archived"), {.archive = true}));
  struct stat st{};
  ASSERT_EQ(::stat((root_path_ + "/plain").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);  // the container's root without -a
  EXPECT_EQ(st.st_gid, 0u);
  ASSERT_EQ(::stat((root_path_ + "/archived").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);

  ASSERT_TRUE(copy_path(ctr("/archived"), host(host_ + "/out-a"), {.archive = true}));
  ASSERT_EQ(::stat((host_ + "/out-a").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  ASSERT_TRUE(copy_path(ctr("/archived"), host(host_ + "/out"), {}));
  ASSERT_EQ(::stat((host_ + "/out").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::getuid());  // the caller's on the host
}

TEST_F(CopyTest, SymlinksInTheContainerStayInside) {
  spit(host_ + "/secret", "host secret");
  // Absolute and climbing symlinks pointing at the host's paths.
  fs::create_symlink(host_, root_path_ + "/abs");
  fs::create_symlink("../../../../../../../../" + host_, root_path_ + "/climb");
  fs::create_symlink("/etc", root_path_ + "/etclink");

  // Reading through them resolves inside the root: nothing of the host's.
  auto r = copy_path(ctr("/abs/secret"), host(dir_ + "/got1"), {});
  EXPECT_FALSE(r);
  EXPECT_FALSE(fs::exists(dir_ + "/got1"));
  r = copy_path(ctr("/climb/secret"), host(dir_ + "/got2"), {});
  EXPECT_FALSE(r);
  EXPECT_FALSE(fs::exists(dir_ + "/got2"));
  // /etclink/passwd is the container's /etc/passwd, not the host's.
  ASSERT_TRUE(copy_path(ctr("/etclink/passwd"), host(dir_ + "/passwd"), {}));
  EXPECT_EQ(slurp(dir_ + "/passwd"), "root:x:0:0:container:/root:/bin/sh\n");
  // Without -L a symlink source is copied as a link; with -L, its target.
  ASSERT_TRUE(copy_path(ctr("/etclink"), host(dir_ + "/asis"), {}));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/asis"));
  ASSERT_TRUE(copy_path(ctr("/etclink"), host(dir_ + "/followed"), {.follow_link = true}));
  EXPECT_EQ(slurp(dir_ + "/followed/passwd"), "root:x:0:0:container:/root:/bin/sh\n");

  // Writing through them lands inside the root too (where the link's
  // target exists in the container: there is no such directory otherwise).
  spit(dir_ + "/payload", "p");
  EXPECT_FALSE(copy_path(host(dir_ + "/payload"), ctr("/abs/"), {}));
  EXPECT_FALSE(fs::exists(host_ + "/payload"));
  fs::create_directories(root_path_ + host_);
  ASSERT_TRUE(copy_path(host(dir_ + "/payload"), ctr("/abs/"), {}));
  EXPECT_FALSE(fs::exists(host_ + "/payload"));
  EXPECT_EQ(slurp(root_path_ + host_ + "/payload"), "p");
  ASSERT_TRUE(copy_path(host(dir_ + "/payload"), ctr("/climb/x"), {}));
  EXPECT_FALSE(fs::exists(host_ + "/x"));
  EXPECT_EQ(slurp(root_path_ + host_ + "/x"), "p");
}

TEST_F(CopyTest, ArchiveEntriesCannotClimbOut) {
  // A tar with "../" entries and an absolute one, fed as `cp - ctr:/etc`.
  fs::create_directories(dir_ + "/t/sub");
  spit(dir_ + "/t/sub/evil", "e");
  auto c = sh("cd " + dir_ + "/t/sub && tar --absolute-names -cf " + dir_ + "/evil.tar ../sub/evil " + dir_ +
              "/t/sub/evil");
  ASSERT_EQ(c.status, 0) << c.out;
  UniqueFd in(::open((dir_ + "/evil.tar").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(in);
  auto r = copy_from_stream(in.get(), ctr("/etc"), {});
  // "../sub/evil" climbs above the destination and is refused; nothing is written outside the root.
  EXPECT_FALSE(r);
  EXPECT_EQ(slurp(dir_ + "/t/sub/evil"), "e");
  EXPECT_FALSE(fs::exists(root_path_ + "/sub"));
}

TEST_F(CopyTest, Streams) {
  fs::create_directories(root_path_ + "/data/d");
  spit(root_path_ + "/data/d/x", "X");
  auto tarfile = dir_ + "/out.tar";
  {
    UniqueFd out(::open(tarfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(out);
    auto r = copy_to_stream(ctr("/data"), out.get(), {});
    ASSERT_TRUE(r) << r.error().what();
  }
  auto list = sh("tar -tf " + tarfile);
  ASSERT_EQ(list.status, 0) << list.out;
  EXPECT_NE(list.out.find("data/d/x"), std::string::npos) << list.out;

  fs::create_directories(host_ + "/unpacked");
  UniqueFd in(::open(tarfile.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(in);
  auto r = copy_from_stream(in.get(), host(host_ + "/unpacked"), {});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(slurp(host_ + "/unpacked/data/d/x"), "X");

  UniqueFd again(::open(tarfile.c_str(), O_RDONLY | O_CLOEXEC));
  r = copy_from_stream(again.get(), ctr("/etc/passwd"), {});  // must be a directory
  EXPECT_FALSE(r);
}

// A "running container": a child in a mount namespace of its own with a tmpfs
// (its volume) the host does not see, chrooted into the root.
TEST_F(CopyTest, ProcessRootSeesItsMounts) {
  fs::create_directories(root_path_ + "/vol");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 ||
        ::mount("tmpfs", (root_path_ + "/vol").c_str(), "tmpfs", 0, "size=1m") < 0)
      ::_exit(1);
    int fd = ::open((root_path_ + "/vol/inside").c_str(), O_WRONLY | O_CREAT, 0644);
    if (fd < 0 || ::write(fd, "in the volume", 13) != 13) ::_exit(2);
    ::close(fd);
    if (::chroot(root_path_.c_str()) < 0 || ::chdir("/") < 0) ::_exit(3);
    (void)!::write(ready[1], "r", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);

  auto proot = open_process_root(pid);
  ASSERT_TRUE(proot) << proot.error().what();
  CopySide side{&*proot, "/vol/inside"};
  auto r = copy_path(side, host(host_ + "/from-volume"), {});
  EXPECT_TRUE(r) << r.error().what();
  EXPECT_EQ(slurp(host_ + "/from-volume"), "in the volume");
  EXPECT_FALSE(fs::exists(root_path_ + "/vol/inside"));  // not on the host's side of the mount

  spit(host_ + "/to-volume", "written in");
  r = copy_path(host(host_ + "/to-volume"), CopySide{&*proot, "/vol/"}, {});
  EXPECT_TRUE(r) << r.error().what();
  EXPECT_FALSE(fs::exists(root_path_ + "/vol/to-volume"));
  auto back = copy_path(CopySide{&*proot, "/vol/to-volume"}, host(host_ + "/round"), {});
  EXPECT_TRUE(back);
  EXPECT_EQ(slurp(host_ + "/round"), "written in");

  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  EXPECT_FALSE(open_process_root(pid));  // gone
}


// ---- a real running container (busybox, through the berth binary)
class CpContainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = env().run("run -d --network none --name berth-test-cp -v berth-test-cp-vol:/vol --tmpfs /scratch "
                       "busybox sh -c 'echo in-volume > /vol/v; echo in-tmpfs > /scratch/t; "
                       "ln -s / /escape; ln -s ../../../../.. /climb; sleep 1000'");
    ASSERT_EQ(r.status, 0) << r.out;
    for (int i = 0; i < 50; ++i) {
      if (env().run("exec berth-test-cp test -L /climb").status == 0) break;
      ::usleep(100'000);
    }
  }
  static void TearDownTestSuite() {
    env().run("rm -f berth-test-cp");
    testing::reap_zombies();
  }
  void SetUp() override {
    ASSERT_TRUE(env().loaded);
    out_ = env().roots.dir + "/cp-out";
    fs::remove_all(out_);
    fs::create_directories(out_);
  }
  static testing::EngineEnv& env() { return testing::EngineEnv::get(); }
  std::string out_;
};

TEST_F(CpContainerTest, VolumesAndTmpfsOfARunningContainer) {
  auto r = env().run("cp berth-test-cp:/vol/v " + out_ + "/");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(out_ + "/v"), "in-volume\n");
  r = env().run("cp berth-test-cp:/scratch/t " + out_ + "/");  // a tmpfs only its mount namespace has
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(out_ + "/t"), "in-tmpfs\n");

  spit(out_ + "/in", "copied in\n");
  r = env().run("cp " + out_ + "/in berth-test-cp:/scratch/");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(env().run("exec berth-test-cp cat /scratch/in").out, "copied in\n");
  r = env().run("cp -a " + out_ + "/in berth-test-cp:/vol/renamed");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(env().run("exec berth-test-cp cat /vol/renamed").out, "copied in\n");

  // A directory with its contents, and the tar streams.
  r = env().run("cp berth-test-cp:/etc " + out_ + "/etc-copy");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(fs::exists(out_ + "/etc-copy/passwd"));
  r = sh("cd " + out_ + " && tar -cf - in | " + env().berth() + " cp - berth-test-cp:/tmp");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(env().run("exec berth-test-cp cat /tmp/in").out, "copied in\n");
  r = sh(env().berth() + " cp berth-test-cp:/vol - | tar -tf -");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("vol/v"), std::string::npos) << r.out;
}

TEST_F(CpContainerTest, ContainerSymlinksNeverReachTheHost) {
  // /escape -> / and /climb -> ../../../../.. both resolve to the container's root.
  std::string hostname = testing::trim(env().run("exec berth-test-cp cat /etc/hostname").out);
  auto r = env().run("cp berth-test-cp:/escape/etc/hostname " + out_ + "/h1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(testing::trim(slurp(out_ + "/h1")), hostname);
  r = env().run("cp berth-test-cp:/climb/etc/hostname " + out_ + "/h2");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(testing::trim(slurp(out_ + "/h2")), hostname);
  // Writing through them lands in the container, never in the host's dir.
  std::string marker = "berth-test-cp-marker-" + std::to_string(::getpid());
  spit(out_ + "/" + marker, "m\n");
  r = env().run("cp " + out_ + "/" + marker + " berth-test-cp:/climb/var/tmp/");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(fs::exists("/var/tmp/" + marker));
  EXPECT_EQ(env().run("exec berth-test-cp cat /var/tmp/" + marker).out, "m\n");
}

TEST_F(CpContainerTest, StoppedContainer) {
  auto r = env().run("run --network none --name berth-test-cp-stopped -v berth-test-cp-vol:/vol busybox "
                     "sh -c 'echo written > /etc/written'");
  ASSERT_EQ(r.status, 0) << r.out;
  r = env().run("cp berth-test-cp-stopped:/etc/written " + out_ + "/");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(out_ + "/written"), "written\n");
  r = env().run("cp berth-test-cp-stopped:/vol/v " + out_ + "/");  // its volume, mounted for the copy
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(slurp(out_ + "/v"), "in-volume\n");
  spit(out_ + "/later", "later\n");
  ASSERT_EQ(env().run("cp " + out_ + "/later berth-test-cp-stopped:/").status, 0);
  r = env().run("start -a berth-test-cp-stopped");
  EXPECT_EQ(env().run("rm -f berth-test-cp-stopped").status, 0);
}

}  // namespace
}  // namespace berth::engine
