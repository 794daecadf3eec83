// A client of berth-monitor's attach socket (<run_dir>/attach.sock): relays
// the caller's stdin to the container and its stdout/stderr back, forwards
// terminal resizes (SIGWINCH), and detaches on the detach keys (docker's
// ctrl-p,ctrl-q). `berth run` (without -d) connects before start so no
// output is lost, `berth attach` at any time.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace berth::engine {

struct AttachOptions {
  bool stdin_open = false;       // forward our stdin (-i)
  bool tty = false;              // put our terminal in raw mode, forward resizes
  std::string detach_keys = "ctrl-p,ctrl-q";  // "" = no detaching
  // This client cleans up after the exit itself (run --rm) and confirms it
  // with cleaned_up(): the monitor's exit command then does not run.
  bool cleans_up = false;
  int in_fd = 0, out_fd = 1, err_fd = 2;
};

class Attachment {
 public:
  static Result<Attachment> connect(const std::string& run_dir, const AttachOptions& options);
  // Relays until the container exits (its exit status) or the user detaches (nullopt).
  Result<std::optional<int>> relay();
  // With cleans_up, after the container's cleanup succeeded: the monitor
  // skips its exit command. Without this call (an error, a killed client),
  // the exit command runs once the connection closes.
  Result<> cleaned_up();

 private:
  Attachment(UniqueFd sock, AttachOptions options) : sock_(std::move(sock)), options_(std::move(options)) {}
  UniqueFd sock_;
  AttachOptions options_;
};

}  // namespace berth::engine
