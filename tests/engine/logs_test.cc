// The CRI log format and `berth logs` on prepared log files: parse/format
// round trips, errors naming the line, --tail, --since/--until,
// --timestamps, rotated files, and -f ending when the exit file appears.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "base/file.h"
#include "engine/logs.h"
#include "engine/db.h"
#include "engine/logs_line.h"
#include "engine/paths.h"
#include "test_util.h"

namespace berth::engine {
namespace {

using image::testing::slurp;
using image::testing::spit;

constexpr int64_t kSec = 1000000000;
constexpr int64_t kT0 = 1700000000 * kSec;  // 2023-11-14T22:13:20Z

TEST(LogFormat, TimeIsRfc3339NanoUtc) {
  char buf[kLogTimeLen];
  format_log_time(0, buf);
  EXPECT_EQ(std::string(buf, kLogTimeLen), "1970-01-01T00:00:00.000000000Z");
  format_log_time(kT0 + 123456789, buf);
  EXPECT_EQ(std::string(buf, kLogTimeLen), "2023-11-14T22:13:20.123456789Z");
  format_log_time(951782400 * kSec + 5, buf);  // a leap day
  EXPECT_EQ(std::string(buf, kLogTimeLen), "2000-02-29T00:00:00.000000005Z");
}

TEST(LogFormat, RoundTrips) {
  for (bool is_stderr : {false, true})
    for (bool partial : {false, true})
      for (std::string text : {"", "hello", "  two  spaces  ", "tab\there", "stdout F trick"}) {
        std::string line = format_log_line(kT0 + 42, is_stderr, partial, text);
        auto e = parse_log_line(line);
        ASSERT_TRUE(e) << line << ": " << e.error().what();
        EXPECT_EQ(e->time, kT0 + 42);
        EXPECT_EQ(e->is_stderr, is_stderr);
        EXPECT_EQ(e->partial, partial);
        EXPECT_EQ(e->text, text);
      }
  EXPECT_EQ(format_log_line(kT0, true, false, "boom"), "2023-11-14T22:13:20.000000000Z stderr F boom");
}

TEST(LogFormat, ParsesWhatOthersWrite) {
  // kubelet's and CRI-O's variants: a shorter fraction, an offset, more tags, no text.
  auto e = parse_log_line("2023-11-14T23:13:20.5+01:00 stdout F hi");
  ASSERT_TRUE(e) << e.error().what();
  EXPECT_EQ(e->time, kT0 + 500000000);
  e = parse_log_line("2023-11-14T22:13:20Z stdout P:x part");
  ASSERT_TRUE(e) << e.error().what();
  EXPECT_TRUE(e->partial);
  EXPECT_EQ(e->text, "part");
  e = parse_log_line("2023-11-14T22:13:20Z stderr F");
  ASSERT_TRUE(e) << e.error().what();
  EXPECT_EQ(e->text, "");
}

TEST(LogFormat, BadLinesSayWhatIsWrong) {
  auto bad = [](std::string_view line) {
    auto e = parse_log_line(line);
    EXPECT_FALSE(e) << line;
    return e ? std::string() : e.error().what();
  };
  EXPECT_NE(bad("garbage").find("no stream"), std::string::npos);
  EXPECT_NE(bad("yesterday stdout F x").find("bad time \"yesterday\""), std::string::npos);
  EXPECT_NE(bad("2023-11-14T22:13:20Z stdin F x").find("no stream"), std::string::npos);
  EXPECT_NE(bad("2023-11-14T22:13:20Z stdout X x").find("bad tag \"X\""), std::string::npos);
  EXPECT_NE(bad("2023-13-14T22:13:20Z stdout F x").find("bad time"), std::string::npos);
}

TEST(LogTime, SinceAndUntilValues) {
  int64_t now = kT0 + 3600 * kSec;
  auto t = parse_log_time("10m", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, now - 600 * kSec);
  t = parse_log_time("1h30m", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, now - 5400 * kSec);
  t = parse_log_time("1.5s", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, now - 1500000000);
  t = parse_log_time("1700000000", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, kT0);
  t = parse_log_time("1700000000.25", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, kT0 + 250000000);
  t = parse_log_time("2023-11-14T22:13:20Z", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, kT0);
  t = parse_log_time("2023-11-14T17:13:20-05:00", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, kT0);
  t = parse_log_time("2023-11-14", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, kT0 - (22 * 3600 + 13 * 60 + 20) * kSec);
  for (const char* bad : {"", "soon", "10x", "2023-11-14T22", "1h-5m"}) {
    auto r = parse_log_time(bad, now);
    EXPECT_FALSE(r) << bad;
    if (!r && *bad) {
      EXPECT_NE(r.error().what().find(bad), std::string::npos) << r.error().what();
    }
  }
}

class LogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/berth-test-logs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    run_dir_ = dir_ + "/run";
    ASSERT_EQ(::mkdir(run_dir_.c_str(), 0700), 0);
    log_ = dir_ + "/ctr.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string entry(int64_t t, bool is_stderr, bool partial, std::string_view text) {
    return format_log_line(t, is_stderr, partial, text) + "\n";
  }

  // read_logs into two strings (stdout, stderr), or the error text.
  std::pair<std::string, std::string> logs(const LogOptions& o, std::string* error = nullptr) {
    std::string out = dir_ + "/out", err = dir_ + "/err";
    {
      UniqueFd o_fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      UniqueFd e_fd(::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      auto r = read_logs(log_, run_dir_, o, o_fd.get(), e_fd.get());
      if (error) {
        *error = r ? "" : r.error().what();
      } else {
        EXPECT_TRUE(r) << r.error().what();
      }
    }
    return {slurp(out), slurp(err)};
  }

  std::string dir_, run_dir_, log_;
};

TEST_F(LogsTest, StreamsGoApartAndPartialsJoin) {
  spit(log_, entry(kT0, false, false, "one") + entry(kT0 + 1, true, false, "err") +
                 entry(kT0 + 2, false, true, "par") + entry(kT0 + 3, false, false, "tial") +
                 entry(kT0 + 4, false, true, "unfinished"));
  auto [out, err] = logs({});
  EXPECT_EQ(out, "one\npartial\nunfinished");
  EXPECT_EQ(err, "err\n");
}

TEST_F(LogsTest, Timestamps) {
  spit(log_, entry(kT0, false, true, "a") + entry(kT0 + 5, false, false, "b") + entry(kT0 + kSec, true, false, "c"));
  LogOptions o;
  o.timestamps = true;
  auto [out, err] = logs(o);
  // One timestamp per line, the time of its first entry.
  EXPECT_EQ(out, "2023-11-14T22:13:20.000000000Z ab\n");
  EXPECT_EQ(err, "2023-11-14T22:13:21.000000000Z c\n");
}

TEST_F(LogsTest, TailCountsLines) {
  std::string text;
  for (int i = 0; i < 10; ++i) text += entry(kT0 + i, false, false, "l" + std::to_string(i));
  text += entry(kT0 + 10, false, true, "long-") + entry(kT0 + 11, false, false, "line");
  spit(log_, text);
  LogOptions o;
  o.tail = 3;
  EXPECT_EQ(logs(o).first, "l8\nl9\nlong-line\n");
  o.tail = 0;
  EXPECT_EQ(logs(o).first, "");
  o.tail = 100;
  EXPECT_EQ(logs(o).first.substr(0, 3), "l0\n");
}

TEST_F(LogsTest, SinceAndUntil) {
  std::string text;
  for (int i = 0; i < 10; ++i) text += entry(kT0 + i * kSec, false, false, "s" + std::to_string(i));
  spit(log_, text);
  LogOptions o;
  o.since = kT0 + 3 * kSec;
  o.until = kT0 + 5 * kSec;
  EXPECT_EQ(logs(o).first, "s3\ns4\ns5\n");
  o.tail = 1;
  EXPECT_EQ(logs(o).first, "s5\n");  // tail counts within the window
}

TEST_F(LogsTest, RotatedFilesComeFirstOldestFirst) {
  spit(log_ + ".2", entry(kT0, false, false, "oldest"));
  spit(log_ + ".1", entry(kT0 + 1, false, false, "older"));
  spit(log_, entry(kT0 + 2, false, false, "live"));
  EXPECT_EQ(logs({}).first, "oldest\nolder\nlive\n");
}

TEST_F(LogsTest, ABadLineIsNamedByFileAndNumber) {
  spit(log_, entry(kT0, false, false, "fine") + entry(kT0, false, false, "fine") + "not a log line\n");
  std::string error;
  logs({}, &error);
  EXPECT_NE(error.find("log \"" + log_ + "\" line 3"), std::string::npos) << error;
  EXPECT_NE(error.find("bad time \"not\""), std::string::npos) << error;
}

TEST_F(LogsTest, NoLogYetIsEmpty) {
  auto [out, err] = logs({});
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
}

TEST_F(LogsTest, FollowEndsWhenTheExitFileAppears) {
  spit(log_, entry(kT0, false, false, "before"));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    UniqueFd fd(::open(log_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    (void)write_all(fd.get(), entry(kT0 + 1, false, false, "during"), "log");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // A rotation while following: the rest of the old file, then the new one.
    (void)write_all(fd.get(), entry(kT0 + 2, true, false, "rotated-away"), "log");
    ::rename(log_.c_str(), (log_ + ".1").c_str());
    spit(log_, entry(kT0 + 3, false, false, "after-rotation"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (void)write_file_atomic(run_dir_ + "/exit", "exit_code=0\nfinished_at=1\noom_killed=0\n");
  });
  LogOptions o;
  o.follow = true;
  auto start = std::chrono::steady_clock::now();
  auto [out, err] = logs(o);
  writer.join();
  EXPECT_EQ(out, "before\nduring\nafter-rotation\n");
  EXPECT_EQ(err, "rotated-away\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(LogsTest, FollowOfAnExitedContainerReturnsAtOnce) {
  spit(log_, entry(kT0, false, false, "done"));
  spit(run_dir_ + "/exit", "exit_code=1\nfinished_at=1\noom_killed=0\n");
  LogOptions o;
  o.follow = true;
  o.tail = 5;
  EXPECT_EQ(logs(o).first, "done\n");
}

}  // namespace
}  // namespace berth::engine

namespace berth::engine {
namespace {

using image::testing::sh;

// `berth logs` finds the container in the database and reads its log.
TEST_F(LogsTest, BerthLogsVerb) {
  Paths paths{dir_ + "/root", dir_ + "/runroot"};
  ASSERT_TRUE(mkdir_p(paths.root));
  auto db = EngineDb::open(paths.db());
  ASSERT_TRUE(db) << db.error().what();
  ContainerRecord c;
  c.id = std::string(64, 'a');
  c.name = "berth-test-logs";
  c.state = ContainerState::stopped;
  ASSERT_TRUE(db->add_container(c));
  ASSERT_TRUE(mkdir_p(paths.userdata(c.id)));
  std::string text;
  for (int i = 0; i < 5; ++i) text += entry(kT0 + i * kSec, i == 2, false, "v" + std::to_string(i));
  spit(paths.log_file(c.id), text);
  std::string berth = std::string(BERTH_BIN_DIR "/berth --root ") + paths.root + " --runroot " + paths.runroot;
  auto r = sh("(" + berth + " logs berth-test-logs 2>/dev/null)");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "v0\nv1\nv3\nv4\n");
  r = sh("(" + berth + " logs berth-test-logs 2>&1 >/dev/null)");
  EXPECT_EQ(r.out, "v2\n");
  r = sh(berth + " logs -n 2 -t " + c.id.substr(0, 12));
  EXPECT_EQ(r.out, "2023-11-14T22:13:23.000000000Z v3\n2023-11-14T22:13:24.000000000Z v4\n");
  r = sh(berth + " logs --since 1700000001 --until 2023-11-14T22:13:21Z berth-test-logs");
  EXPECT_EQ(r.out, "v1\n");
  // Follow of a stopped container prints what there is and returns.
  r = sh("timeout 5 " + berth + " logs -f --tail 1 berth-test-logs");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "v4\n");
  r = sh(berth + " logs --tail x berth-test-logs");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("--tail"), std::string::npos) << r.out;
  r = sh(berth + " logs --since soon berth-test-logs");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("--since: bad time \"soon\""), std::string::npos) << r.out;
  r = sh(berth + " logs nope");
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.out.find("no such container: nope"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace berth::engine
