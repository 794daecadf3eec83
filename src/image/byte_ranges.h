// Sets of byte ranges of a blob: which parts of a ranged download are
// written, what is still missing, how long the contiguous prefix is (what a
// streaming reader may consume), and the text form of the ingest's "ranges"
// record.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::image {

// [start, end)
struct ByteRange {
  int64_t start = 0;
  int64_t end = 0;
  bool operator==(const ByteRange&) const = default;
};

// Sorted, non-empty, non-overlapping and non-adjacent (merged) ranges.
std::vector<ByteRange> merge_ranges(std::vector<ByteRange> ranges);
// Adds `r` to the merged set `set`.
void add_range(std::vector<ByteRange>& set, ByteRange r);
// The bytes of [0, size) not in the merged set, each gap cut into pieces of
// at most `chunk` bytes (chunk <= 0: uncut).
std::vector<ByteRange> missing_ranges(const std::vector<ByteRange>& set, int64_t size, int64_t chunk = 0);
// The end of the range starting at 0 (0 when none does).
int64_t contiguous_prefix(const std::vector<ByteRange>& set);
int64_t covered_bytes(const std::vector<ByteRange>& set);

// "start end\n" per range.
std::string format_ranges(const std::vector<ByteRange>& set);
// The merged ranges of `text`; nullopt when a line is malformed or a range
// lies outside [0, size).
std::optional<std::vector<ByteRange>> parse_ranges(std::string_view text, int64_t size);

}  // namespace berth::image
