#include "base/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace berth::log {
namespace {

struct State {
  int fd = STDERR_FILENO;
  Format format = Format::text;
  Level min = Level::info;
  bool to_file = false;
};
State g_state;

const char* level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warning";
    case Level::error: return "error";
  }
  return "error";
}

std::string timestamp() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09d}Z", buf, ts.tv_nsec);
}

}  // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  return out;
}

Result<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::text;
  if (name == "json") return Format::json;
  return berth::error("invalid log format \"{}\": must be text or json", name);
}

Result<> configure(const std::string& path, Format format, bool debug) {
  g_state.format = format;
  g_state.min = debug ? Level::debug : Level::info;
  if (!path.empty()) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return sys_error(errno, "open log file \"{}\"", path);
    g_state.fd = fd;
    g_state.to_file = true;
  }
  return {};
}

bool enabled(Level level) { return level >= g_state.min; }

bool to_file() { return g_state.to_file; }

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  std::string line;
  if (g_state.format == Format::json) {
    line = fmt::format("{{\"level\":\"{}\",\"msg\":\"{}\",\"time\":\"{}\"}}\n", level_name(level),
                       json_escape(message), timestamp());
  } else if (g_state.to_file) {
    line = fmt::format("time=\"{}\" level={} msg=\"{}\"\n", timestamp(), level_name(level),
                       json_escape(message));
  } else {
    line = fmt::format("{}: {}\n", level == Level::error ? "berth-runtime" : level_name(level), message);
  }
  (void)!::write(g_state.fd, line.data(), line.size());
}

}  // namespace berth::log
