// A foreground container process (`run`, `exec` without --detach): the
// runtime waits for it, forwards the signals it receives, and serves its
// terminal when the runtime itself holds the pty master.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/fd.h"

namespace berth::runtime {

// Blocks every signal that can be forwarded and reads them from a signalfd
// instead; the mask is restored when this goes away. Block before the
// process is cloned: a signal that arrives in between is then forwarded, not lost.
class ForwardedSignals {
 public:
  static Result<ForwardedSignals> block();
  ForwardedSignals(ForwardedSignals&& o) noexcept;
  ForwardedSignals& operator=(ForwardedSignals&&) = delete;
  ~ForwardedSignals();

  const sigset_t& set() const { return set_; }
  const UniqueFd& fd() const { return fd_; }

 private:
  ForwardedSignals() = default;
  sigset_t set_{};
  sigset_t old_{};
  UniqueFd fd_;
  bool active_ = false;
};

// Waits for `pid` (a child of the caller), forwarding every signal of
// `signals` to it and, with a pty master, copying the caller's stdin to it and
// its output to the caller's stdout (the caller's terminal in raw mode
// meanwhile, window size kept in sync). Returns the exit status, 128+signal
// when the process was killed.
Result<int> supervise(pid_t pid, const ForwardedSignals& signals, const UniqueFd& pty_master);

}  // namespace berth::runtime
