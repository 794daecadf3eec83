#include "image/byte_ranges.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace berth::image {

std::vector<ByteRange> merge_ranges(std::vector<ByteRange> ranges) {
  std::erase_if(ranges, [](const ByteRange& r) { return r.end <= r.start; });
  std::sort(ranges.begin(), ranges.end(), [](const ByteRange& a, const ByteRange& b) { return a.start < b.start; });
  std::vector<ByteRange> out;
  for (const auto& r : ranges) {
    if (!out.empty() && r.start <= out.back().end) {
      out.back().end = std::max(out.back().end, r.end);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

void add_range(std::vector<ByteRange>& set, ByteRange r) {
  set.push_back(r);
  set = merge_ranges(std::move(set));
}

std::vector<ByteRange> missing_ranges(const std::vector<ByteRange>& set, int64_t size, int64_t chunk) {
  std::vector<ByteRange> gaps;
  int64_t at = 0;
  for (const auto& r : set) {
    if (r.start > at) gaps.push_back({at, std::min(r.start, size)});
    at = std::max(at, r.end);
    if (at >= size) break;
  }
  if (at < size) gaps.push_back({at, size});
  if (chunk <= 0) return gaps;
  std::vector<ByteRange> out;
  for (const auto& g : gaps)
    for (int64_t s = g.start; s < g.end; s += chunk) out.push_back({s, std::min(g.end, s + chunk)});
  return out;
}

int64_t contiguous_prefix(const std::vector<ByteRange>& set) {
  return !set.empty() && set.front().start == 0 ? set.front().end : 0;
}

int64_t covered_bytes(const std::vector<ByteRange>& set) {
  int64_t n = 0;
  for (const auto& r : set) n += r.end - r.start;
  return n;
}

std::string format_ranges(const std::vector<ByteRange>& set) {
  std::string out;
  for (const auto& r : set) out += fmt::format("{} {}\n", r.start, r.end);
  return out;
}

std::optional<std::vector<ByteRange>> parse_ranges(std::string_view text, int64_t size) {
  std::vector<ByteRange> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;  // a torn last line
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    ByteRange r;
    auto a = std::from_chars(line.data(), line.data() + sp, r.start);
    auto b = std::from_chars(line.data() + sp + 1, line.data() + line.size(), r.end);
    if (a.ec != std::errc() || a.ptr != line.data() + sp || b.ec != std::errc() || b.ptr != line.data() + line.size())
      return std::nullopt;
    if (r.start < 0 || r.end <= r.start || r.end > size) return std::nullopt;
    out.push_back(r);
  }
  return merge_ranges(std::move(out));
}

}  // namespace berth::image
