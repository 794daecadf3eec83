// Parsers of the cgroup files behind `events --stats`, the real FileSource,
// and the lookup of a v1 controller's directory.
#include <dirent.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <limits>

#include "base/file.h"
#include "runtime/cgroup_ops.h"
#include "runtime/cgroup_stats.h"

namespace berth::runtime::cgroup {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// Whitespace-separated fields of one line.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <typename F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty()) f(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

bool to_u64(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "8:16" -> major, minor.
bool parse_dev(std::string_view s, uint64_t& major, uint64_t& minor) {
  size_t colon = s.find(':');
  return colon != std::string_view::npos && to_u64(s.substr(0, colon), major) && to_u64(s.substr(colon + 1), minor);
}

}  // namespace

std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text) {
  std::map<std::string, uint64_t> out;
  for_each_line(text, [&](std::string_view line) {
    auto f = fields(line);
    uint64_t v = 0;
    if (f.size() == 2 && to_u64(f[1], v)) out[std::string(f[0])] = v;
  });
  return out;
}

Result<uint64_t> parse_uint(std::string_view text, std::string_view what) {
  text = trim(text);
  if (text == "max") return std::numeric_limits<uint64_t>::max();
  uint64_t v = 0;
  if (to_u64(text, v)) return v;
  // v1 limits may read "-1" for unlimited.
  if (text == "-1") return std::numeric_limits<uint64_t>::max();
  return error("{}: \"{}\" is not a number", what, text);
}

std::vector<uint64_t> parse_uint_list(std::string_view text) {
  std::vector<uint64_t> out;
  for (auto f : fields(trim(text))) {
    uint64_t v = 0;
    if (to_u64(f, v)) out.push_back(v);
  }
  return out;
}

void parse_usage_all(std::string_view text, std::vector<uint64_t>& kernel, std::vector<uint64_t>& user) {
  kernel.clear();
  user.clear();
  for_each_line(text, [&](std::string_view line) {
    auto f = fields(line);
    uint64_t cpu = 0, u = 0, s = 0;
    // The header line ("cpu user system") does not parse as numbers.
    if (f.size() == 3 && to_u64(f[0], cpu) && to_u64(f[1], u) && to_u64(f[2], s)) {
      user.push_back(u);
      kernel.push_back(s);
    }
  });
}

std::vector<uint16_t> parse_cpu_list(std::string_view text) {
  std::vector<uint16_t> out;
  text = trim(text);
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    size_t dash = part.find('-');
    uint64_t lo = 0, hi = 0;
    bool ok = dash == std::string_view::npos ? to_u64(part, lo) && (hi = lo, true)
                                             : to_u64(part.substr(0, dash), lo) && to_u64(part.substr(dash + 1), hi);
    if (ok && lo <= hi && hi <= std::numeric_limits<uint16_t>::max())
      for (uint64_t c = lo; c <= hi; ++c) out.push_back(static_cast<uint16_t>(c));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::vector<BlkioEntry> parse_blkio_v1(std::string_view text) {
  std::vector<BlkioEntry> out;
  for_each_line(text, [&](std::string_view line) {
    auto f = fields(line);
    BlkioEntry e;
    if (f.empty() || !parse_dev(f[0], e.major, e.minor)) return;  // "Total N"
    if (f.size() == 2 && to_u64(f[1], e.value)) {
      out.push_back(std::move(e));
    } else if (f.size() == 3 && to_u64(f[2], e.value)) {
      e.op = std::string(f[1]);
      out.push_back(std::move(e));
    }
  });
  return out;
}

void parse_io_stat_v2(std::string_view text, Stats::Blkio& out) {
  out.service_bytes.clear();
  out.serviced.clear();
  for_each_line(text, [&](std::string_view line) {
    auto f = fields(line);
    uint64_t major = 0, minor = 0;
    if (f.empty() || !parse_dev(f[0], major, minor)) return;
    for (size_t i = 1; i < f.size(); ++i) {
      size_t eq = f[i].find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = f[i].substr(0, eq);
      uint64_t v = 0;
      if (!to_u64(f[i].substr(eq + 1), v)) continue;
      // v1's names and tables: bytes as io_service_bytes, ios as io_serviced.
      if (key == "rbytes") out.service_bytes.push_back({major, minor, "Read", v});
      else if (key == "wbytes") out.service_bytes.push_back({major, minor, "Write", v});
      else if (key == "rios") out.serviced.push_back({major, minor, "Read", v});
      else if (key == "wios") out.serviced.push_back({major, minor, "Write", v});
    }
  });
}

std::vector<NetworkInterface> parse_net_dev(std::string_view text) {
  std::vector<NetworkInterface> out;
  for_each_line(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;  // the two header lines
    std::string_view name = trim(line.substr(0, colon));
    if (name.empty() || name == "lo") return;
    auto f = fields(line.substr(colon + 1));
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    if (f.size() < 12) return;
    uint64_t v[12] = {};
    for (size_t i = 0; i < 12; ++i)
      if (!to_u64(f[i], v[i])) return;
    out.push_back({.name = std::string(name), .rx_bytes = v[0], .rx_packets = v[1], .rx_errors = v[2],
                   .rx_dropped = v[3], .tx_bytes = v[8], .tx_packets = v[9], .tx_errors = v[10],
                   .tx_dropped = v[11]});
  });
  return out;
}

FileSource real_files() {
  return {.read = [](const std::string& path) { return read_file(path); },
          .list = [](const std::string& dir) {
            std::vector<std::string> names;
            if (DIR* d = ::opendir(dir.c_str())) {
              while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
              ::closedir(d);
            }
            return names;
          }};
}

namespace detail {

Result<std::optional<std::string>> read_optional(const FileSource& files, const std::string& path) {
  auto r = files.read(path);
  if (r) return std::optional<std::string>(std::move(*r));
  int e = r.error().code();
  if (e == ENOENT || e == ENODEV || e == EOPNOTSUPP) return std::optional<std::string>();
  return std::unexpected(std::move(r).error());
}

Result<uint64_t> read_number(const FileSource& files, const std::string& path) {
  BERTH_TRY_ASSIGN(text, read_optional(files, path));
  if (!text) return 0;
  return parse_uint(*text, path);
}

std::vector<std::string> hugetlb_sizes(const FileSource& files, const std::string& dir, std::string_view suffix) {
  std::vector<std::string> sizes;
  for (const auto& name : files.list(dir)) {
    std::string_view n = name;
    if (!n.starts_with("hugetlb.") || !n.ends_with(suffix)) continue;
    n.remove_prefix(8);
    n.remove_suffix(suffix.size());
    if (!n.empty() && n.find('.') == std::string_view::npos) sizes.emplace_back(n);
  }
  return sizes;
}

const Dir* v1_controller_dir(const std::vector<Dir>& dirs, std::string_view name, std::string_view probe_file,
                             const FileSource& files) {
  for (const auto& d : dirs) {
    if (d.unified) continue;
    std::string_view base = d.mount_point;
    base = base.substr(base.find_last_of('/') + 1);
    while (!base.empty()) {
      size_t comma = base.find(',');
      if (base.substr(0, comma) == name) return &d;
      if (comma == std::string_view::npos) break;
      base.remove_prefix(comma + 1);
    }
  }
  // Unusual mount points: the hierarchy whose cgroup has the controller's file.
  for (const auto& d : dirs) {
    if (d.unified) continue;
    auto r = files.read(d.path + "/" + std::string(probe_file));
    if (r) return &d;
  }
  return nullptr;
}

}  // namespace detail

}  // namespace berth::runtime::cgroup
