// Streaming decompression: round trips, multi-member gzip / multi-frame zstd,
// and every way a stream can be broken (CRC, size, truncation, trailing data).
#include "image/decompress.h"

#include <gtest/gtest.h>

#include <random>

#include "tar_builder.h"

namespace berth::image {
namespace {

using testing::gzip;
using testing::zstd;

// Some compressible, some random bytes (so that deflate uses every block kind).
std::string sample(size_t n, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(n);
  while (s.size() < n) {
    if (rng() % 2) {
      s += "the quick brown fox jumps over the lazy dog ";
    } else {
      for (int i = 0; i < 64; ++i) s += static_cast<char>(rng());
    }
  }
  s.resize(n);
  return s;
}

// Reads everything, in odd-sized pieces to exercise the buffering.
Result<std::string> read_all(std::string_view compressed, Compression c) {
  MemorySource in(compressed);
  auto dec = decompressor(in, c);
  std::string out;
  std::vector<std::byte> buf(7777);
  for (;;) {
    BERTH_TRY_ASSIGN(n, dec->read(buf));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

TEST(Decompress, GzipRoundTrip) {
  const std::string data = sample(3 << 20);
  auto out = read_all(gzip(data), Compression::gzip);
  ASSERT_TRUE(out) << out.error().what();
  EXPECT_EQ(*out, data);
}

TEST(Decompress, GzipEmptyPayload) {
  auto out = read_all(gzip(""), Compression::gzip);
  ASSERT_TRUE(out) << out.error().what();
  EXPECT_EQ(*out, "");
}

TEST(Decompress, GzipMultiMember) {
  const std::string a = sample(300000, 2), b = sample(200000, 3);
  auto out = read_all(gzip(a) + gzip(b) + gzip(""), Compression::gzip);
  ASSERT_TRUE(out) << out.error().what();
  EXPECT_EQ(*out, a + b);
}

TEST(Decompress, GzipBadCrc) {
  std::string z = gzip(sample(100000));
  z[z.size() - 8] ^= 1;  // CRC32 is the first half of the trailer
  auto out = read_all(z, Compression::gzip);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().what().find("trailer mismatch"), std::string::npos) << out.error().what();
}

TEST(Decompress, GzipBadSize) {
  std::string z = gzip(sample(100000));
  z[z.size() - 1] ^= 1;  // ISIZE is the second half
  auto out = read_all(z, Compression::gzip);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().what().find("gzip"), std::string::npos) << out.error().what();
}

TEST(Decompress, GzipTruncated) {
  const std::string z = gzip(sample(500000));
  for (size_t cut : {size_t{5}, z.size() / 2, z.size() - 4, z.size() - 1}) {
    auto out = read_all(z.substr(0, cut), Compression::gzip);
    ASSERT_FALSE(out) << "cut at " << cut;
    EXPECT_NE(out.error().what().find("gzip"), std::string::npos) << out.error().what();
  }
}

TEST(Decompress, GzipTrailingGarbage) {
  auto out = read_all(gzip("hello") + "garbage", Compression::gzip);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().what().find("trailing data"), std::string::npos) << out.error().what();
}

TEST(Decompress, GzipNotGzip) {
  auto out = read_all("this is not gzip at all", Compression::gzip);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().what().find("gzip"), std::string::npos);
  auto empty = read_all("", Compression::gzip);
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().what().find("empty"), std::string::npos);
}

TEST(Decompress, ZstdRoundTripAndFrames) {
  const std::string a = sample(2 << 20, 4), b = sample(100000, 5);
  auto out = read_all(zstd(a), Compression::zstd);
  ASSERT_TRUE(out) << out.error().what();
  EXPECT_EQ(*out, a);
  auto two = read_all(zstd(a) + zstd(b), Compression::zstd);
  ASSERT_TRUE(two) << two.error().what();
  EXPECT_EQ(*two, a + b);
}

TEST(Decompress, ZstdTruncatedAndCorrupt) {
  const std::string z = zstd(sample(500000, 6));
  for (size_t cut : {size_t{3}, z.size() / 2, z.size() - 1}) {
    auto out = read_all(z.substr(0, cut), Compression::zstd);
    ASSERT_FALSE(out) << "cut at " << cut;
    EXPECT_NE(out.error().what().find("zstd"), std::string::npos) << out.error().what();
  }
  auto bad = read_all("definitely not zstd", Compression::zstd);
  ASSERT_FALSE(bad);
  auto empty = read_all("", Compression::zstd);
  ASSERT_FALSE(empty);
}

TEST(Decompress, NonePassesThrough) {
  auto out = read_all("plain bytes", Compression::none);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "plain bytes");
}

TEST(Decompress, MediaTypes) {
  EXPECT_EQ(compression_for("application/vnd.oci.image.layer.v1.tar+gzip").value(), Compression::gzip);
  EXPECT_EQ(compression_for("application/vnd.oci.image.layer.v1.tar+zstd").value(), Compression::zstd);
  EXPECT_EQ(compression_for("application/vnd.oci.image.layer.v1.tar").value(), Compression::none);
  EXPECT_EQ(compression_for("application/vnd.docker.image.rootfs.diff.tar.gzip").value(), Compression::gzip);
  EXPECT_EQ(compression_for("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip").value(),
            Compression::gzip);
  auto bad = compression_for("application/vnd.oci.image.layer.v1.tar+lz4");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("tar+lz4"), std::string::npos);
}

TEST(Decompress, Sniff) {
  const std::string g = gzip("x"), z = zstd("x");
  EXPECT_EQ(sniff_compression(std::as_bytes(std::span(g))), Compression::gzip);
  EXPECT_EQ(sniff_compression(std::as_bytes(std::span(z))), Compression::zstd);
  EXPECT_EQ(sniff_compression(std::as_bytes(std::span(std::string_view("ustar")))), Compression::none);
}

}  // namespace
}  // namespace berth::image
