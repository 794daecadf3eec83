#include "engine/attach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/file.h"
#include "base/unix_socket.h"
#include "engine/monitor_protocol.h"

namespace berth::engine {
namespace mp = monitor_protocol;
namespace {

// docker's --detach-keys: comma-separated "ctrl-<c>" (c in a-z, @, [, \, ], ^, _) or single characters.
Result<std::string> parse_detach_keys(std::string_view spec) {
  std::string keys;
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view key = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (key.size() == 1) {
      keys.push_back(key[0]);
    } else if (key.size() == 6 && key.starts_with("ctrl-")) {
      char c = key[5];
      if (c >= 'a' && c <= 'z') keys.push_back(static_cast<char>(c - 'a' + 1));
      else if (c >= 'A' && c <= 'Z') keys.push_back(static_cast<char>(c - 'A' + 1));
      else if (c >= '@' && c <= '_') keys.push_back(static_cast<char>(c - '@'));
      else return error("detach keys: bad key \"{}\"", key);
    } else {
      return error("detach keys: bad key \"{}\" (want ctrl-<letter> or one character)", key);
    }
  }
  return keys;
}


Result<> send_frame(const UniqueFd& sock, char type, std::string_view data) {
  char frame[1 + mp::kMaxFrameData];
  frame[0] = type;
  std::memcpy(frame + 1, data.data(), data.size());
  ssize_t n;
  do {
    n = ::send(sock.get(), frame, data.size() + 1, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error(errno, "send to the container's monitor");
  return {};
}

Result<> send_resize(const UniqueFd& sock, int tty_fd) {
  winsize ws{};
  if (::ioctl(tty_fd, TIOCGWINSZ, &ws) < 0) return {};  // not a terminal after all: nothing to forward
  uint16_t rc[2] = {ws.ws_row, ws.ws_col};
  return send_frame(sock, mp::kFrameResize, std::string_view(reinterpret_cast<char*>(rc), sizeof rc));
}

// Our terminal in raw mode for the session, as docker does with -t; restored on every way out.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    // Fully raw, output too: the container's own pty already turned \n into \r\n.
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// Blocks SIGWINCH for a signalfd while relaying; the old mask comes back after.
class WinchFd {
 public:
  WinchFd() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    ::sigprocmask(SIG_BLOCK, &set, &old_);
    fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~WinchFd() {
    fd_.reset();
    ::sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  WinchFd(const WinchFd&) = delete;
  WinchFd& operator=(const WinchFd&) = delete;
  int get() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  sigset_t old_;
};

}  // namespace

Result<Attachment> Attachment::connect(const std::string& run_dir, const AttachOptions& options) {
  BERTH_TRY(parse_detach_keys(options.detach_keys));
  BERTH_TRY_ASSIGN(sock, connect_unix(run_dir + "/" + mp::kAttachSocket, SOCK_SEQPACKET));
  // Sent before the container starts, so the monitor has it queued at the exit.
  if (options.cleans_up) BERTH_TRY(send_frame(sock, mp::kFrameWillCleanUp, {}));
  return Attachment(std::move(sock), options);
}

Result<> Attachment::cleaned_up() { return send_frame(sock_, mp::kFrameCleanedUp, {}); }

Result<std::optional<int>> Attachment::relay() {
  BERTH_TRY_ASSIGN(detach, parse_detach_keys(options_.detach_keys));
  bool tty = options_.tty && ::isatty(options_.in_fd);
  std::optional<RawTerminal> raw;
  std::optional<WinchFd> winch;
  if (tty) {
    if (options_.stdin_open) raw.emplace(options_.in_fd);
    winch.emplace();
    BERTH_TRY(send_resize(sock_, options_.in_fd));
  }
  bool reading_stdin = options_.stdin_open;
  // A monitor that went away (the container exited) may still have left its
  // last frames and the exit status in our socket: stop sending, keep reading.
  auto to_monitor = [&](char type, std::string_view data) -> Result<> {
    auto r = send_frame(sock_, type, data);
    if (!r && (r.error().code() == EPIPE || r.error().code() == ECONNRESET)) {
      reading_stdin = false;
      return {};
    }
    return r;
  };
  size_t matched = 0;  // detach keys seen so far, held back until they match or not
  char buf[1 + mp::kMaxFrameData];
  for (;;) {
    pollfd p[3] = {{sock_.get(), POLLIN, 0},
                   {reading_stdin ? options_.in_fd : -1, POLLIN, 0},
                   {winch ? winch->get() : -1, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "poll");
    }
    if (p[0].revents) {
      ssize_t n;
      do {
        n = ::recv(sock_.get(), buf, sizeof buf, 0);
      } while (n < 0 && errno == EINTR);
      if (n < 0) return sys_error(errno, "receive from the container's monitor");
      if (n == 0) return error("the container's monitor closed the attach connection without an exit status");
      std::string_view data(buf + 1, static_cast<size_t>(n) - 1);
      if (buf[0] == mp::kFrameStdout) {
        BERTH_TRY(write_all(options_.out_fd, data, "stdout"));
      } else if (buf[0] == mp::kFrameStderr) {
        BERTH_TRY(write_all(options_.err_fd, data, "stderr"));
      } else if (buf[0] == mp::kFrameExit && data.size() >= sizeof(int32_t)) {
        int32_t code;
        std::memcpy(&code, data.data(), sizeof code);
        return std::optional<int>(code);
      }
    }
    if (p[2].revents) {
      signalfd_siginfo si;
      while (::read(winch->get(), &si, sizeof si) > 0) {
      }
      if (auto r = send_resize(sock_, options_.in_fd); !r && r.error().code() != EPIPE && r.error().code() != ECONNRESET)
        return std::unexpected(std::move(r).error());
    }
    if (p[1].revents) {
      ssize_t n;
      do {
        n = ::read(options_.in_fd, buf, mp::kMaxFrameData);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {
        // Our stdin ended: so does the container's (docker run -i's stdin-once).
        reading_stdin = false;
        BERTH_TRY(to_monitor(mp::kFrameCloseStdin, {}));
        continue;
      }
      std::string out;
      for (ssize_t i = 0; i < n; ++i) {
        char c = buf[i];
        if (!detach.empty() && c == detach[matched]) {
          if (++matched == detach.size()) {
            if (!out.empty()) BERTH_TRY(to_monitor(mp::kFrameStdin, out));
            return std::optional<int>();
          }
          continue;
        }
        if (matched) {  // a false start: the held keys go through after all
          out.append(detach, 0, matched);
          matched = 0;
          if (c == detach[0]) {
            matched = 1;
            continue;
          }
        }
        out.push_back(c);
      }
      for (size_t off = 0; off < out.size(); off += mp::kMaxFrameData)
        BERTH_TRY(to_monitor(mp::kFrameStdin, std::string_view(out).substr(off, mp::kMaxFrameData)));
    }
  }
}

}  // namespace berth::engine
