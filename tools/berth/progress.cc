#include "progress.h"

#include <unistd.h>

#include <fmt/format.h>

namespace berth::tool {
namespace {

std::string bytes(double n) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (n >= 1000 && u < 4) {
    n /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}{}", n, units[u]) : fmt::format("{:.1f}{}", n, units[u]);
}

}  // namespace

PullProgressView::PullProgressView(std::FILE* out, bool quiet)
    : out_(out), quiet_(quiet), tty_(::isatty(fileno(out)) == 1) {}

PullProgressView::Layer& PullProgressView::layer(const oci::Digest& d) {
  auto [it, fresh] = index_.emplace(d.str(), layers_.size());
  if (fresh) {
    Layer l;
    l.id = d.hex.substr(0, 12);
    l.state = "Waiting";
    l.start = std::chrono::steady_clock::now();
    layers_.push_back(std::move(l));
  }
  return layers_[it->second];
}

std::string PullProgressView::line(const Layer& l) const {
  std::string s = fmt::format("{}  {:<11}", l.id, l.state);
  if (l.state == "Downloading" && l.total > 0) {
    constexpr int kWidth = 30;
    int filled = static_cast<int>(kWidth * l.done / l.total);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - l.start).count();
    double speed = secs > 0 ? l.done / secs : 0;
    std::string eta = speed > 0 ? fmt::format("{:.0f}s", (l.total - l.done) / speed) : "?";
    s += fmt::format(" [{}{}{}] {}/{} {}/s ETA {}", std::string(std::max(0, filled - 1), '='),
                     filled > 0 ? ">" : "", std::string(kWidth - filled, ' '), bytes(l.done), bytes(l.total),
                     bytes(speed), eta);
  } else if (l.total > 0) {
    s += fmt::format(" {}", bytes(l.total));
  }
  return s;
}

void PullProgressView::redraw(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  if (drawn_ > 0) std::fprintf(out_, "\x1b[%zuA", drawn_);
  for (const auto& l : layers_) std::fprintf(out_, "\x1b[2K%s\n", line(l).c_str());
  drawn_ = layers_.size();
  std::fflush(out_);
}

void PullProgressView::operator()(const image::PullEvent& e) {
  using K = image::PullEvent::Kind;
  if (quiet_) return;
  if (e.kind == K::resolved) {
    std::fprintf(out_, "Resolved %s (manifest %s)\n", e.message.c_str(), e.digest.str().c_str());
    return;
  }
  if (e.kind == K::done) {
    if (tty_) redraw(true);
    std::fprintf(out_, "Stored %s as %s\n", e.message.c_str(), e.digest.str().c_str());
    finished_ = true;  // the bars are final; nothing redraws over this line
    return;
  }
  Layer& l = layer(e.digest);
  l.total = e.total;
  std::string before = l.state;
  switch (e.kind) {
    case K::layer_cached: l.state = "Exists"; break;
    case K::layer_progress:
      l.state = "Downloading";
      l.done = e.done;
      break;
    case K::layer_downloaded: l.state = "Unpacking"; break;
    case K::layer_unpacked: l.state = "Done"; break;
    default: break;
  }
  if (tty_) {
    redraw(l.state != before);
  } else if (l.state != before) {
    std::fprintf(out_, "%s\n", line(l).c_str());
    std::fflush(out_);
  }
}

void PullProgressView::finish() {
  if (tty_ && !quiet_ && !finished_ && !layers_.empty()) redraw(true);
}

}  // namespace berth::tool
