#include "engine/logs.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
#include <vector>

#include "base/file.h"
#include "engine/logs_line.h"
#include "engine/monitor.h"

namespace berth::engine {
namespace {

bool digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// RFC 3339 ("2026-11-28T02:27:06.5Z", "...+01:00"), also without a zone
// (read as UTC) or a date alone; the unix ns time, or nullopt.
std::optional<int64_t> parse_rfc3339(std::string_view s) {
  int64_t y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
  if (!digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, &mo) || s[7] != '-' ||
      !digits(s, 8, 2, &d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  size_t pos = 10;
  int64_t offset = 0;
  if (pos < s.size()) {
    if ((s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') || !digits(s, pos + 1, 2, &h) || s.size() < pos + 9 ||
        s[pos + 3] != ':' || !digits(s, pos + 4, 2, &mi) || s[pos + 6] != ':' || !digits(s, pos + 7, 2, &sec))
      return std::nullopt;
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
    pos += 9;
    if (pos < s.size() && s[pos] == '.') {
      size_t start = ++pos;
      int64_t scale = 100000000;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        frac += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
    if (pos < s.size()) {
      if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
        ++pos;
      } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
        int64_t oh, om;
        if (!digits(s, pos + 1, 2, &oh) || !digits(s, pos + 4, 2, &om)) return std::nullopt;
        offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
        pos += 6;
      } else {
        return std::nullopt;
      }
    }
  }
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 86400 + h * 3600 + mi * 60 + sec) - offset) * 1000000000 + frac;
}

// Go's duration syntax as docker takes it: "10m", "1h30m", "1.5s", "300ms".
std::optional<int64_t> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t start = pos;
    while (pos < s.size() && ((s[pos] >= '0' && s[pos] <= '9') || s[pos] == '.')) ++pos;
    if (pos == start) return std::nullopt;
    double v = 0;
    auto [end, ec] = std::from_chars(s.data() + start, s.data() + pos, v);
    if (ec != std::errc() || end != s.data() + pos) return std::nullopt;
    size_t ustart = pos;
    while (pos < s.size() && !((s[pos] >= '0' && s[pos] <= '9') || s[pos] == '.')) ++pos;
    std::string_view unit = s.substr(ustart, pos - ustart);
    double scale;
    if (unit == "h") scale = 3600e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "s") scale = 1e9;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "us" || unit == "\u00b5s") scale = 1e3;
    else if (unit == "ns") scale = 1;
    else return std::nullopt;
    total += v * scale;
  }
  return static_cast<int64_t>(total);
}

// Writes through a buffer per destination; switching streams flushes, so
// stdout and stderr keep their order when both go to one place.
class Output {
 public:
  Output(int out_fd, int err_fd) : fds_{out_fd, err_fd} {}
  Result<> add(bool is_stderr, std::string_view data) {
    if (current_ != static_cast<int>(is_stderr)) BERTH_TRY(flush());
    current_ = is_stderr;
    buf_.append(data);
    if (buf_.size() >= 65536) BERTH_TRY(flush());
    return {};
  }
  Result<> flush() {
    if (buf_.empty()) return {};
    BERTH_TRY(write_all(fds_[current_], buf_, current_ ? "stderr" : "stdout"));
    buf_.clear();
    return {};
  }

 private:
  int fds_[2];
  int current_ = 0;
  std::string buf_;
};

// Prints entries as `berth logs` shows them: partial entries joined into
// their line, a timestamp before each line's first entry with -t.
class Printer {
 public:
  Printer(const LogOptions& options, Output& out) : options_(options), out_(out) {}
  Result<> print(const LogEntry& e) {
    if (options_.since && e.time < *options_.since) return {};
    if (options_.until && e.time > *options_.until) return {};
    bool& continuing = in_line_[e.is_stderr];
    if (options_.timestamps && !continuing) {
      char ts[kLogTimeLen + 1];
      format_log_time(e.time, ts);
      ts[kLogTimeLen] = ' ';
      BERTH_TRY(out_.add(e.is_stderr, std::string_view(ts, sizeof ts)));
    }
    BERTH_TRY(out_.add(e.is_stderr, e.text));
    if (!e.partial) BERTH_TRY(out_.add(e.is_stderr, "\n"));
    continuing = e.partial;
    return {};
  }

 private:
  const LogOptions& options_;
  Output& out_;
  bool in_line_[2] = {false, false};
};

struct Line {
  std::string_view text;
  std::string_view file;  // for errors
  size_t number;
};

Result<LogEntry> parse_numbered(const Line& l) {
  auto e = parse_log_line(l.text);
  if (!e) return std::unexpected(std::move(e.error()).context(fmt::format("log \"{}\" line {}", l.file, l.number)));
  return e;
}

// Splits complete lines off `data` (a trailing unterminated line stays),
// numbering them from `*number`. Returns the bytes consumed.
size_t split_lines(std::string_view data, std::string_view file, size_t* number, std::vector<Line>& out) {
  size_t pos = 0;
  for (;;) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) return pos;
    ++*number;
    if (nl > pos) out.push_back({data.substr(pos, nl - pos), file, *number});
    pos = nl + 1;
  }
}

ino_t inode_of(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// `berth logs -f` after the existing entries: new ones as the monitor
// appends them, across rotations, until the exit file appears.
Result<> follow(const std::string& log_path, const std::string& run_dir, UniqueFd live, std::string pending,
                size_t number, Printer& printer, Output& out, const LogOptions& options) {
  UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in) return sys_error(errno, "inotify_init1");
  std::string dir = log_path.substr(0, log_path.rfind('/') == std::string::npos ? 0 : log_path.rfind('/'));
  if (dir.empty()) dir = ".";
  (void)::inotify_add_watch(in.get(), dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO);
  (void)::inotify_add_watch(in.get(), run_dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF);
  std::vector<Line> lines;
  std::string file = log_path;
  auto drain = [&]() -> Result<> {
    char buf[65536];
    for (;;) {
      ssize_t n = live ? ::read(live.get(), buf, sizeof buf) : 0;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error(errno, "read \"{}\"", log_path);
      if (n == 0) break;
      pending.append(buf, static_cast<size_t>(n));
      lines.clear();
      size_t used = split_lines(pending, file, &number, lines);
      for (auto& l : lines) {
        BERTH_TRY_ASSIGN(e, parse_numbered(l));
        BERTH_TRY(printer.print(e));
      }
      pending.erase(0, used);
    }
    return out.flush();
  };
  for (;;) {
    // The exit file is written after the last entry: once it is there, one
    // more read gets everything.
    struct stat st;
    bool done = ::stat((run_dir + "/exit").c_str(), &st) == 0 || ::stat(run_dir.c_str(), &st) != 0;
    if (options.until) {
      struct timespec now;
      ::clock_gettime(CLOCK_REALTIME, &now);
      if (static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec > *options.until) done = true;
    }
    BERTH_TRY(drain());
    // Rotated: the rest of the old file, then the new one from its start.
    UniqueFd fresh(::open(log_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fresh && (!live || inode_of(fresh.get()) != inode_of(live.get()))) {
      BERTH_TRY(drain());
      live = std::move(fresh);
      pending.clear();
      number = 0;
      BERTH_TRY(drain());
    }
    if (done) return {};
    pollfd p{in.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) < 0 && errno != EINTR) return sys_error(errno, "poll inotify");
    char ev[4096];
    while (::read(in.get(), ev, sizeof ev) > 0) {
    }
  }
}

}  // namespace

Result<LogEntry> parse_log_line(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  LogEntry e;
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return error("no stream after the time");
  auto t = parse_rfc3339(line.substr(0, sp));
  if (!t) return error("bad time \"{}\"", line.substr(0, sp));
  e.time = *t;
  std::string_view rest = line.substr(sp + 1);
  if (rest.starts_with("stdout ")) {
    e.is_stderr = false;
  } else if (rest.starts_with("stderr ")) {
    e.is_stderr = true;
  } else {
    return error("no stream (stdout or stderr) after the time");
  }
  rest.remove_prefix(7);
  // The tag: "F" or "P", possibly followed by more ':'-separated tags (CRI).
  size_t end = rest.find(' ');
  std::string_view tags = rest.substr(0, end);
  std::string_view first = tags.substr(0, tags.find(':'));
  if (first == "F") {
    e.partial = false;
  } else if (first == "P") {
    e.partial = true;
  } else {
    return error("bad tag \"{}\" (want F or P)", tags);
  }
  e.text = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return e;
}

std::string format_log_line(int64_t time, bool is_stderr, bool partial, std::string_view text) {
  char prefix[kLogPrefixMax];
  size_t n = format_log_prefix(time, is_stderr, partial, prefix);
  std::string line(prefix, n);
  line.append(text);
  return line;
}

Result<int64_t> parse_log_time(std::string_view value, int64_t now_ns) {
  if (value.empty()) return error("empty time");
  if (auto d = parse_duration(value)) return now_ns - *d;
  // Unix seconds, with an optional fraction ("1700000000", "1700000000.5").
  {
    int64_t secs = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec == std::errc() && end != value.data()) {
      std::string_view rest(end, static_cast<size_t>(value.data() + value.size() - end));
      if (rest.empty()) return secs * 1000000000;
      if (rest[0] == '.' && rest.size() > 1) {
        int64_t frac = 0, scale = 100000000;
        bool ok = true;
        for (char c : rest.substr(1)) {
          if (c < '0' || c > '9') ok = false;
          frac += (c - '0') * scale;
          scale /= 10;
        }
        if (ok) return secs * 1000000000 + frac;
      }
    }
  }
  if (auto t = parse_rfc3339(value)) return *t;
  return error("bad time \"{}\": want RFC 3339, unix seconds or a duration ago (10m, 1h30m)", value);
}

Result<> read_logs(const std::string& log_path, const std::string& run_dir, const LogOptions& options, int out_fd,
                   int err_fd) {
  // Rotated files first, oldest (highest number) first, then the live one.
  std::vector<std::string> paths;
  for (int i = 1;; ++i) {
    std::string p = log_path + "." + std::to_string(i);
    if (::access(p.c_str(), F_OK) != 0) break;
    paths.insert(paths.begin(), p);
  }
  std::vector<std::string> contents;
  contents.reserve(paths.size() + 1);
  for (auto& p : paths) {
    auto c = read_file(p);
    if (!c && c.error().code() == ENOENT) continue;  // rotated away meanwhile
    if (!c) return std::unexpected(std::move(c.error()));
    contents.push_back(std::move(*c));
  }
  UniqueFd live(::open(log_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!live && errno != ENOENT) return sys_error(errno, "open \"{}\"", log_path);
  std::string live_text;
  if (live) {
    BERTH_TRY_ASSIGN(t, read_fd(live, log_path));
    live_text = std::move(t);
  }

  std::vector<Line> lines;
  for (size_t i = 0; i < contents.size(); ++i) {
    size_t number = 0;
    size_t used = split_lines(contents[i], paths[i], &number, lines);
    if (used < contents[i].size())  // a rotated file is complete: its last line too
      lines.push_back({std::string_view(contents[i]).substr(used), paths[i], number + 1});
  }
  size_t live_number = 0;
  size_t live_used = split_lines(live_text, log_path, &live_number, lines);

  std::vector<LogEntry> entries;
  entries.reserve(lines.size());
  for (auto& l : lines) {
    BERTH_TRY_ASSIGN(e, parse_numbered(l));
    if (options.since && e.time < *options.since) continue;
    if (options.until && e.time > *options.until) continue;
    entries.push_back(e);
  }
  size_t first = 0;
  if (options.tail) {
    // The last N lines: a line ends with a full (F) entry; the partial
    // entries before it belong to it.
    size_t full = 0;
    first = entries.size();
    while (first > 0) {
      if (!entries[first - 1].partial) {
        if (full == *options.tail) break;
        ++full;
      }
      --first;
    }
  }
  Output out(out_fd, err_fd);
  Printer printer(options, out);
  for (size_t i = first; i < entries.size(); ++i) BERTH_TRY(printer.print(entries[i]));
  BERTH_TRY(out.flush());
  if (!options.follow) return {};
  // `lines` points into live_text: keep only the unterminated rest.
  return follow(log_path, run_dir, std::move(live), live_text.substr(live_used), live_number, printer, out, options);
}

}  // namespace berth::engine
