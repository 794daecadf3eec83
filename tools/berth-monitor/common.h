// berth-monitor's shared pieces: its configuration, the run dir, the epoll
// set, the sync channel to start_monitor and small kernel-level helpers (no
// printf or iostream: they would drag locale code into a process that stays
// resident beside every container).
#pragma once

#include <cstddef>
#include <cstdint>

namespace berth::monitor {

struct Config {
  const char* id = "";
  const char* run_dir = nullptr;
  const char* log_path = nullptr;
  int64_t log_max_size = 10 << 20;
  int64_t log_max_files = 1;
  int64_t init_pid = 0;
  bool terminal = false;
  bool stdin_open = false;
  char** exit_command = nullptr;  // NULL-terminated, may be empty
};

extern Config config;
extern int run_dir_fd;
extern int epoll_fd;

// epoll tags (epoll_event.data.u32)
inline constexpr uint32_t kTagListen = 1, kTagSignal = 2, kTagOut = 3, kTagErr = 4, kTagIn = 5, kTagPidfd = 6,
                          kTagClient = 100;

size_t put_int(char* out, int64_t v);
bool parse_int(const char* s, int64_t* out);
bool write_all(int fd, const char* data, size_t len);
int64_t now_ns();
int64_t monotonic_ms();
void epoll_set(int op, int fd, uint32_t events, uint32_t tag);

// Writes <run_dir>/<name> atomically (a temp file renamed over it).
void write_run_file(const char* name, const char* data, size_t len);

// The sync channel: start_monitor waits on it until the monitor is ready.
void sync_send(uint32_t type, int err, int64_t value, const char* text);
[[noreturn]] void fail_setup(int err, const char* what);

}  // namespace berth::monitor
