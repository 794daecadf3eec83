#include "engine/pod_logs.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "base/file.h"

namespace berth::engine {
namespace {

bool running(const ContainerRecord& c) { return c.state == ContainerState::running || c.state == ContainerState::paused; }

// Whole lines from two pipes (a container's stdout and stderr as read_logs
// writes them) to out_fd / err_fd, each after `prefix`, under `mu` so lines
// of concurrent containers never interleave.
void relay(int out_pipe, int err_pipe, const std::string& prefix, int out_fd, int err_fd, std::mutex& mu) {
  struct Stream {
    int pipe, dest;
    std::string pending;
    bool open = true;
  } streams[2] = {{out_pipe, out_fd, {}}, {err_pipe, err_fd, {}}};
  auto emit = [&](Stream& s, std::string_view line) {
    std::string text = prefix;
    text += line;
    std::lock_guard lock(mu);
    (void)write_all(s.dest, text, "pod logs output");
  };
  char buf[16384];
  while (streams[0].open || streams[1].open) {
    pollfd fds[2];
    nfds_t n = 0;
    Stream* which[2];
    for (auto& s : streams)
      if (s.open) {
        fds[n] = {s.pipe, POLLIN, 0};
        which[n++] = &s;
      }
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      Stream& s = *which[i];
      ssize_t got = ::read(s.pipe, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        s.open = false;
        if (!s.pending.empty()) emit(s, s.pending + "\n");  // a last line without its newline
        continue;
      }
      s.pending.append(buf, size_t(got));
      size_t start = 0;
      for (size_t nl; (nl = s.pending.find('\n', start)) != std::string::npos; start = nl + 1)
        emit(s, std::string_view(s.pending).substr(start, nl + 1 - start));
      s.pending.erase(0, start);
    }
  }
}

// One container's log through a pair of pipes to relay() with its prefix.
struct Reader {
  std::thread reader, relayer;
  Result<> result;

  Reader(const Paths& paths, const ContainerRecord& c, const LogOptions& options, std::string prefix, int out_fd,
         int err_fd, std::mutex& mu) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      result = sys_error(errno, "pipe");
      return;
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      result = sys_error(errno, "pipe");
      ::close(out[0]);
      ::close(out[1]);
      return;
    }
    LogOptions o = options;
    o.follow = options.follow && running(c);  // only a running container has more to wait for
    reader = std::thread([this, log = paths.log_file(c.id), run_dir = paths.run_dir(c.id), o, w_out = out[1],
                          w_err = err[1], name = c.name] {
      auto r = read_logs(log, run_dir, o, w_out, w_err);
      if (!r) result = std::unexpected(std::move(r).error().context(name));
      ::close(w_out);
      ::close(w_err);
    });
    relayer = std::thread([r_out = out[0], r_err = err[0], prefix = std::move(prefix), out_fd, err_fd, &mu] {
      relay(r_out, r_err, prefix, out_fd, err_fd, mu);
      ::close(r_out);
      ::close(r_err);
    });
  }
  Result<> join() {
    if (reader.joinable()) reader.join();
    if (relayer.joinable()) relayer.join();
    return result;
  }
};

}  // namespace

Result<> pod_logs(EngineDb& db, const Paths& paths, std::string_view name, const PodLogOptions& options, int out_fd,
                  int err_fd) {
  BERTH_TRY_ASSIGN(pod, db.pod(name));
  BERTH_TRY_ASSIGN(all, db.pod_containers(pod.id));
  std::vector<ContainerRecord> members;
  if (!options.container.empty()) {
    BERTH_TRY_ASSIGN(c, db.container(options.container));
    if (c.pod_id != pod.id || c.infra)
      return std::unexpected(Error(EINVAL, fmt::format("container {} is not a container of pod \"{}\"", c.name, pod.name)));
    members.push_back(std::move(c));
  } else {
    for (auto& c : all)
      if (!c.infra) members.push_back(std::move(c));
  }
  if (members.size() == 1) {
    LogOptions o = options.logs;
    o.follow = o.follow && running(members[0]);
    return read_logs(paths.log_file(members[0].id), paths.run_dir(members[0].id), o, out_fd, err_fd);
  }
  std::mutex mu;
  auto prefix = [&](const ContainerRecord& c) {
    return (options.names ? c.name : c.id.substr(0, 12)) + " ";
  };
  if (!options.logs.follow) {
    for (const auto& c : members) {
      Reader r(paths, c, options.logs, prefix(c), out_fd, err_fd, mu);
      BERTH_TRY(r.join());
    }
    return {};
  }
  std::vector<std::unique_ptr<Reader>> readers;
  for (const auto& c : members)
    readers.push_back(std::make_unique<Reader>(paths, c, options.logs, prefix(c), out_fd, err_fd, mu));
  Result<> first;
  for (auto& r : readers)
    if (auto done = r->join(); !done && first) first = std::move(done);
  return first;
}

}  // namespace berth::engine
