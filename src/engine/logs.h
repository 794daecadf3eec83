// Reading a container's log, written by berth-monitor in the CRI format
// kubelet reads: "<RFC3339Nano time> <stdout|stderr> <F|P> <text>\n" (P: a
// partial line continued by the next entry), rotated to <log>.1 ... by size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace berth::engine {

struct LogEntry {
  int64_t time = 0;        // unix ns
  bool is_stderr = false;
  bool partial = false;
  std::string_view text;   // without the newline
};
// One line of the log; errors name the problem ("log line 3: no stream").
Result<LogEntry> parse_log_line(std::string_view line);
// The line berth-monitor writes for `text` (without trailing newline).
std::string format_log_line(int64_t time, bool is_stderr, bool partial, std::string_view text);

struct LogOptions {
  bool follow = false;                 // -f: keep reading until the container exits
  std::optional<int64_t> since, until; // unix ns
  std::optional<size_t> tail;          // last N lines
  bool timestamps = false;
};
// `berth logs`: writes stdout entries to out_fd and stderr ones to err_fd.
// `run_dir` tells follow when the container has exited (its exit file).
Result<> read_logs(const std::string& log_path, const std::string& run_dir, const LogOptions& options, int out_fd,
                   int err_fd);
// --since/--until: RFC 3339, unix seconds, or a duration ago ("10m", "1h30m").
Result<int64_t> parse_log_time(std::string_view value, int64_t now_ns);

}  // namespace berth::engine
