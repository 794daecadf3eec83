#include "runtime/mountinfo.h"

#include <charconv>

#include "base/file.h"

namespace berth::runtime {

namespace {

bool is_octal(char c) { return c >= '0' && c <= '7'; }

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits on single spaces (an empty source shows up as two spaces in a row).
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t sp = line.find(' ', start);
    if (sp == std::string_view::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, sp - start));
    start = sp + 1;
  }
}

}  // namespace

std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && is_octal(s[i + 1]) && is_octal(s[i + 2]) && is_octal(s[i + 3])) {
      out.push_back(static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<MountInfo> parse_mountinfo_line(std::string_view line) {
  auto f = split_fields(line);
  // 6 fixed fields, optional fields, "-", then 3 more.
  size_t sep = 6;
  while (sep < f.size() && f[sep] != "-") ++sep;
  if (f.size() < 10 || sep >= f.size() || f.size() - sep - 1 < 3)
    return error("mountinfo line \"{}\": too few fields", line);
  MountInfo m;
  auto colon = f[2].find(':');
  if (!parse_number(f[0], m.mount_id) || !parse_number(f[1], m.parent_id) || colon == std::string_view::npos ||
      !parse_number(f[2].substr(0, colon), m.major) || !parse_number(f[2].substr(colon + 1), m.minor))
    return error("mountinfo line \"{}\": bad mount id or device", line);
  m.root = unescape_mountinfo(f[3]);
  m.mount_point = unescape_mountinfo(f[4]);
  m.options = std::string(f[5]);
  for (size_t i = 6; i < sep; ++i) m.optional_fields.emplace_back(f[i]);
  m.fs_type = unescape_mountinfo(f[sep + 1]);
  m.source = unescape_mountinfo(f[sep + 2]);
  // Super options never contain spaces, but keep anything after them intact.
  std::string_view rest = line.substr(static_cast<size_t>(f[sep + 3].data() - line.data()));
  m.super_options = std::string(rest);
  return m;
}

Result<std::vector<MountInfo>> parse_mountinfo(std::string_view text) {
  std::vector<MountInfo> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    BERTH_TRY_ASSIGN(m, parse_mountinfo_line(line));
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<MountInfo>> read_mountinfo() {
  BERTH_TRY_ASSIGN(text, read_file("/proc/self/mountinfo"));
  return parse_mountinfo(text);
}

bool has_option(std::string_view options, std::string_view option) {
  while (!options.empty()) {
    size_t comma = options.find(',');
    if (options.substr(0, comma) == option) return true;
    if (comma == std::string_view::npos) break;
    options.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace berth::runtime
