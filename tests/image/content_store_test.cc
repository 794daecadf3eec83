// The content store: atomic, verified commits; resumable ingests; nothing
// half-written visible under blobs/.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "base/file.h"
#include "image/content_store.h"
#include "temp_root.h"

namespace berth::image {
namespace {

using testing::TempRoot;

size_t count_files(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); it != std::filesystem::end(it); ++it)
    if (it->is_regular_file()) ++n;
  return n;
}

TEST(ContentStore, HasherMatchesPureSha256) {
  auto h = Hasher::create("sha256");
  ASSERT_TRUE(h);
  std::string data(100000, 'q');
  h->update(std::string_view(data).substr(0, 777));
  h->update(std::string_view(data).substr(777));
  EXPECT_EQ(h->digest(), oci::sha256_digest(data));
  EXPECT_FALSE(Hasher::create("md5"));
}

TEST(ContentStore, CommitVerifiesAndRenames) {
  TempRoot root("content");
  auto cs = ContentStore::open(root / "content");
  ASSERT_TRUE(cs) << cs.error().what();
  std::string data = "hello layer";
  auto d = oci::sha256_digest(data);
  EXPECT_FALSE(cs->has(d));
  auto w = cs->begin("layer-1", d, std::ssize(data));
  ASSERT_TRUE(w) << w.error().what();
  EXPECT_EQ(w->offset(), 0);
  ASSERT_TRUE(w->write(std::string_view(data).substr(0, 5)));
  EXPECT_FALSE(cs->has(d));  // not visible before commit
  ASSERT_TRUE(w->write(std::string_view(data).substr(5)));
  auto c = w->commit();
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_TRUE(cs->has(d));
  EXPECT_EQ(*cs->read_blob(d, 100), data);
  EXPECT_TRUE(cs->verify(d));
  EXPECT_EQ(cs->list()->size(), 1u);
  EXPECT_TRUE(cs->list_ingests()->empty());
  EXPECT_FALSE(cs->read_blob(d, 3));  // over the limit
  ASSERT_TRUE(cs->remove(d));
  EXPECT_FALSE(cs->has(d));
}

TEST(ContentStore, DigestMismatchRemovesPartialAndNamesDigest) {
  TempRoot root("content");
  auto cs = ContentStore::open(root / "content");
  ASSERT_TRUE(cs);
  auto want = oci::sha256_digest("the real thing");
  auto w = cs->begin("k", want, 14);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write(std::string_view("the fake thing")));
  auto c = w->commit();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().what().find(want.str()), std::string::npos) << c.error().what();
  EXPECT_NE(c.error().what().find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(cs->has(want));
  EXPECT_EQ(count_files(root / "content"), 0u);
}

TEST(ContentStore, SizeMismatchAndOverflow) {
  TempRoot root("content");
  auto cs = ContentStore::open(root / "content");
  ASSERT_TRUE(cs);
  auto d = oci::sha256_digest("abcdef");
  auto w = cs->begin("short", d, 6);
  ASSERT_TRUE(w->write(std::string_view("abc")));
  auto c = w->commit();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().what().find("size mismatch"), std::string::npos) << c.error().what();
  auto w2 = cs->begin("long", d, 6);
  auto over = w2->write(std::string_view("abcdefg"));
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().what().find(d.str()), std::string::npos);
  EXPECT_EQ(count_files(root / "content"), 0u);
}

TEST(ContentStore, ResumeAfterInterruption) {
  TempRoot root("content");
  std::string data(3 << 20, 'x');
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i / 4096);
  auto d = oci::sha256_digest(data);
  {
    auto cs = ContentStore::open(root / "content");
    auto w = cs->begin("resume", d, std::ssize(data));
    ASSERT_TRUE(w->write(std::string_view(data).substr(0, 1 << 20)));
    // Dropped without commit: the partial stays for the next attempt.
  }
  auto cs = ContentStore::open(root / "content");
  auto ingests = cs->list_ingests();
  ASSERT_TRUE(ingests);
  ASSERT_EQ(ingests->size(), 1u);
  EXPECT_EQ((*ingests)[0].key, "resume");
  EXPECT_EQ((*ingests)[0].offset, 1 << 20);
  auto w = cs->begin("resume", d, std::ssize(data));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->offset(), 1 << 20);
  ASSERT_TRUE(w->write(std::string_view(data).substr(1 << 20)));
  auto c = w->commit();
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_TRUE(cs->verify(d));
  // Another digest under the same key starts over.
  auto w2 = cs->begin("resume", oci::sha256_digest("other"), 5);
  EXPECT_EQ(w2->offset(), 0);
}

TEST(ContentStore, RangedWritesCommit) {
  TempRoot root("content");
  std::string data = "0123456789abcdefghij";
  auto d = oci::sha256_digest(data);
  auto cs = ContentStore::open(root / "content");
  auto w = cs->begin("ranges", d, 20);
  ASSERT_TRUE(w->write_at(10, std::as_bytes(std::span(data.data() + 10, 10))));
  ASSERT_TRUE(w->write_at(0, std::as_bytes(std::span(data.data(), 10))));
  w->set_offset(20);
  auto c = w->commit();
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(*cs->read_blob(d, 100), data);
}

TEST(ByteRanges, MergeMissingPrefixAndRecord) {
  auto set = merge_ranges({{10, 20}, {0, 5}, {5, 8}, {19, 30}, {40, 40}});
  EXPECT_EQ(set, (std::vector<ByteRange>{{0, 8}, {10, 30}}));
  EXPECT_EQ(contiguous_prefix(set), 8);
  EXPECT_EQ(covered_bytes(set), 28);
  EXPECT_EQ(missing_ranges(set, 50), (std::vector<ByteRange>{{8, 10}, {30, 50}}));
  EXPECT_EQ(missing_ranges(set, 50, 8), (std::vector<ByteRange>{{8, 10}, {30, 38}, {38, 46}, {46, 50}}));
  EXPECT_EQ(missing_ranges({}, 5, 2), (std::vector<ByteRange>{{0, 2}, {2, 4}, {4, 5}}));
  add_range(set, {8, 10});
  EXPECT_EQ(set, (std::vector<ByteRange>{{0, 30}}));
  EXPECT_EQ(parse_ranges(format_ranges({{0, 8}, {10, 30}}), 30), (std::vector<ByteRange>{{0, 8}, {10, 30}}));
  EXPECT_FALSE(parse_ranges("0 8\n10 31\n", 30));  // beyond the blob
  EXPECT_FALSE(parse_ranges("0 8\n10 2", 30));      // torn
  EXPECT_FALSE(parse_ranges("0 x\n", 30));
  EXPECT_EQ(parse_ranges("", 30), std::vector<ByteRange>{});
}

// A ranged download's partial: only the recorded ranges count when it
// resumes (its data file is sparse; its length means nothing).
TEST(ContentStore, RangesRecordSurvivesAndBoundsResume) {
  TempRoot root("content");
  auto cs = ContentStore::open(root / "content");
  ASSERT_TRUE(cs);
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  auto d = oci::sha256_digest(data);
  auto bytes = [&](size_t from, size_t to) { return std::as_bytes(std::span(data.data() + from, to - from)); };
  {
    auto w = cs->begin("ranged", d, 1000);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->start_ranges());
    ASSERT_TRUE(w->write_at(0, bytes(0, 300)));
    ASSERT_TRUE(w->write_at(600, bytes(600, 1000)));  // the file is now 1000 bytes long
    ASSERT_TRUE(w->record_ranges({{0, 300}}));
    // [600, 1000) written but not recorded: a kill now loses it.
  }
  {
    auto w = cs->begin("ranged", d, 1000);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->offset(), 300);
    EXPECT_EQ(w->written_ranges(), (std::vector<ByteRange>{{0, 300}}));
    // The sequential path may take over from the recorded prefix.
    ASSERT_TRUE(w->write(bytes(300, 1000)));
    ASSERT_TRUE(w->commit());
  }
  EXPECT_TRUE(cs->verify(d));
  // A restart forgets the record.
  auto d2 = oci::sha256_digest("xy");
  auto w = cs->begin("other", d2, 2);
  ASSERT_TRUE(w->start_ranges());
  ASSERT_TRUE(w->record_ranges({{1, 2}}));
  ASSERT_TRUE(w->restart());
  EXPECT_TRUE(w->written_ranges().empty());
  for (auto& e : std::filesystem::recursive_directory_iterator(root / "content/ingest"))
    EXPECT_NE(e.path().filename(), "ranges") << e.path();
}

TEST(ContentStore, ConcurrentIngestOfSameBlobWaits) {
  TempRoot root("content");
  std::string data = "shared blob";
  auto d = oci::sha256_digest(data);
  auto cs = ContentStore::open(root / "content");
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  // Forked before the parent takes the lock: a child would otherwise share
  // the lock's open file description and hold it past the parent's commit.
  pid_t child = ::fork();
  if (child == 0) {
    char c;
    if (::read(go[0], &c, 1) != 1) _exit(2);
    auto cs2 = ContentStore::open(root / "content");
    auto second = cs2->begin("same", d, std::ssize(data));  // blocks until the parent commits
    _exit(second && second->already_committed() ? 0 : 1);
  }
  ::close(go[0]);
  auto first = cs->begin("same", d, std::ssize(data));
  ASSERT_TRUE(first);
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(first->write(data));
  ASSERT_TRUE(first->commit());
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(ContentStore, PutAndVerifyCorruption) {
  TempRoot root("content");
  auto cs = ContentStore::open(root / "content");
  auto d = oci::sha256_digest("{}");
  ASSERT_TRUE(cs->put("{}", d));
  auto bad = cs->put("nope", d);  // existing blob: nothing rewritten
  EXPECT_TRUE(bad);
  ::chmod(cs->path(d).c_str(), 0644);
  ASSERT_TRUE(write_file(cs->path(d), "{ }"));
  auto v = cs->verify(d);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().what().find(d.str()), std::string::npos);
}

}  // namespace
}  // namespace berth::image
