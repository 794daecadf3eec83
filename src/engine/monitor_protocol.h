// What start_monitor (monitor.cc), berth-monitor and attach clients agree
// on: the monitor's command line and inherited fds, the sync messages, the
// attach socket's frames, the files in the run dir. Pure: berth-monitor
// includes it and links nothing of the engine.
#pragma once

#include <cstdint>

namespace berth::engine::monitor_protocol {

// Fds berth-monitor inherits. kOutFd is the pty master with --terminal
// (stdin is then written to it too); kErrFd and kInFd exist only with pipes,
// kInFd only with --stdin.
inline constexpr int kSyncFd = 3;
inline constexpr int kOutFd = 4;
inline constexpr int kErrFd = 5;
inline constexpr int kInFd = 6;

// Sync messages to start_monitor on kSyncFd, in base/channel.h's wire format
// (a 16-byte header {u32 type, i32 errno, i64 value} then text; type
// kSyncError carries an error message).
struct SyncHeader {
  uint32_t type;
  int32_t err;
  int64_t value;
};
inline constexpr uint32_t kSyncCreated = 1;  // value: the container init's pid (from the create step)
inline constexpr uint32_t kSyncReady = 2;    // value: berth-monitor's pid; attach.sock listens
inline constexpr uint32_t kSyncError = 0xffffffff;

// Attach socket frames (SOCK_SEQPACKET: one frame per datagram), a type
// byte then the payload.
// client -> monitor:
inline constexpr char kFrameStdin = 'i';       // bytes for the container's stdin
inline constexpr char kFrameResize = 'r';      // u16 rows, u16 cols (host order)
inline constexpr char kFrameCloseStdin = 'c';  // the client's stdin ended: close the container's
// The client does the exit command's work itself once the container exits
// (`run --rm` removes it before it returns): the monitor keeps its connection
// after the exit frame and runs the exit command only if the client hangs up
// (or takes over 30 s) without sending kFrameCleanedUp.
inline constexpr char kFrameWillCleanUp = 'w';
inline constexpr char kFrameCleanedUp = 'd';
// monitor -> client:
inline constexpr char kFrameStdout = 'o';
inline constexpr char kFrameStderr = 'e';
inline constexpr char kFrameExit = 'x';  // i32 exit code (128+signal for a signal)
inline constexpr int kMaxFrameData = 8192;

// Files in the run dir.
inline constexpr const char* kAttachSocket = "attach.sock";
inline constexpr const char* kExitFile = "exit";  // "exit_code=N\nfinished_at=NS\noom_killed=0|1\n"
inline constexpr const char* kPidFile = "monitor.pid";
inline constexpr const char* kConsoleSocket = "console.sock";  // start_monitor's, gone once received

}  // namespace berth::engine::monitor_protocol
