// Logging as runc does it: --log FILE (default stderr), --log-format text|json,
// --debug. containerd and podman read the json lines back to report errors.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

#include "base/error.h"

namespace berth::log {

enum class Level { debug, info, warn, error };
enum class Format { text, json };

// Opens the log destination; an empty path means stderr.
Result<> configure(const std::string& path, Format format, bool debug);
Result<Format> parse_format(std::string_view name);
bool enabled(Level level);
// True when --log sent the log to a file (fatal errors then go to stderr too, as runc does).
bool to_file();
void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

// Escapes a string for a JSON string literal (no quotes added).
std::string json_escape(std::string_view s);

}  // namespace berth::log
