#include "format.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace berth::tool {

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::puts(line.c_str());
  }
}

std::string human_size(int64_t bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(units)) {
    v /= 1000;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", bytes);
  // Three significant digits, as go-units' HumanSize.
  return fmt::format("{:.3g} {}", v, units[u]);
}

std::string human_age(int64_t t, int64_t now) {
  int64_t s = now - t;
  if (s < 1) return "Less than a second ago";
  if (s == 1) return "1 second ago";
  if (s < 60) return fmt::format("{} seconds ago", s);
  int64_t m = s / 60;
  if (m == 1) return "About a minute ago";
  if (m < 60) return fmt::format("{} minutes ago", m);
  int64_t h = m / 60;
  if (h == 1) return "About an hour ago";
  if (h < 48) return fmt::format("{} hours ago", h);
  if (h < 24 * 7 * 2) return fmt::format("{} days ago", h / 24);
  if (h < 24 * 30 * 2) return fmt::format("{} weeks ago", h / 24 / 7);
  if (h < 24 * 365 * 2) return fmt::format("{} months ago", h / 24 / 30);
  return fmt::format("{} years ago", h / 24 / 365);
}

std::string hex_of(const std::string& digest) {
  auto colon = digest.find(':');
  return colon == std::string::npos ? digest : digest.substr(colon + 1);
}

std::string short_id(const std::string& digest) { return hex_of(digest).substr(0, 12); }

}  // namespace berth::tool
