#include "log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdint>
#include <cstring>

#include "common.h"
#include "engine/logs_line.h"

namespace berth::monitor {
namespace {

struct Log {
  int fd = -1;
  int64_t size = 0;
  char buf[16384];
  size_t len = 0;
};
Log log_file;
char path_buf[PATH_MAX + 32];
char path_buf2[PATH_MAX + 32];

const char* numbered(char* out, const char* path, int64_t n) {
  size_t len = std::strlen(path);
  if (len > PATH_MAX) len = PATH_MAX;
  std::memcpy(out, path, len);
  if (n > 0) {
    out[len++] = '.';
    len += put_int(out + len, n);
  }
  out[len] = 0;
  return out;
}

void rotate_log() {
  ::close(log_file.fd);
  if (config.log_max_files <= 0) {
    ::unlink(config.log_path);
  } else {
    ::unlink(numbered(path_buf, config.log_path, config.log_max_files));
    for (int64_t i = config.log_max_files - 1; i >= 0; --i)
      ::rename(numbered(path_buf, config.log_path, i), numbered(path_buf2, config.log_path, i + 1));
  }
  open_log();
}

// Appends one entry. Rotation happens between entries, before the one that
// would take the file over the limit (an entry is at most one read long).
void log_entry(int64_t ts, bool is_stderr, bool partial, const char* text, size_t len) {
  size_t entry = berth::engine::kLogPrefixMax + len + 1;
  int64_t projected = log_file.size + static_cast<int64_t>(log_file.len);
  if (config.log_max_size > 0 && projected > 0 && projected + static_cast<int64_t>(entry) > config.log_max_size) {
    flush_log();
    rotate_log();
  }
  if (log_file.len + entry > sizeof log_file.buf) flush_log();
  log_file.len += berth::engine::format_log_prefix(ts, is_stderr, partial, log_file.buf + log_file.len);
  std::memcpy(log_file.buf + log_file.len, text, len);
  log_file.len += len;
  log_file.buf[log_file.len++] = '\n';
}

}  // namespace

void open_log() {
  log_file.fd = ::open(config.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  struct stat st;
  log_file.size = (log_file.fd >= 0 && ::fstat(log_file.fd, &st) == 0) ? st.st_size : 0;
}

void flush_log() {
  if (log_file.len == 0) return;
  if (log_file.fd < 0) open_log();  // a failed open (ENOSPC, a racing rm) is retried later
  if (log_file.fd >= 0 && write_all(log_file.fd, log_file.buf, log_file.len))
    log_file.size += static_cast<int64_t>(log_file.len);
  log_file.len = 0;
}

void log_output(bool is_stderr, const char* data, size_t len) {
  int64_t ts = now_ns();
  while (len) {
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', len));
    size_t line = nl ? static_cast<size_t>(nl - data) : len;
    log_entry(ts, is_stderr, nl == nullptr, data, line);
    size_t used = nl ? line + 1 : line;
    data += used;
    len -= used;
  }
  flush_log();
}

}  // namespace berth::monitor
