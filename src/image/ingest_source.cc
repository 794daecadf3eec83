#include "image/ingest_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace berth::image {

void IngestSource::advance(int64_t prefix) {
  {
    std::lock_guard lock(mu_);
    prefix_ = prefix;
  }
  cv_.notify_all();
}

void IngestSource::finish(std::optional<Error> failure) {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
    failure_ = std::move(failure);
  }
  cv_.notify_all();
}

Result<size_t> IngestSource::read(std::span<std::byte> out) {
  if (out.empty()) return size_t{0};
  int64_t available = 0;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return finished_ || prefix_ > pos_; });
    if (failure_) return std::unexpected(*failure_);
    // A whole download is the whole blob, whatever the last advance() said.
    available = (finished_ ? size_ : prefix_) - pos_;
  }
  if (available <= 0) return size_t{0};
  size_t want = static_cast<size_t>(std::min<int64_t>(available, static_cast<int64_t>(out.size())));
  for (;;) {
    ssize_t n = ::pread(fd_.get(), out.data(), want, pos_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(errno, "read \"{}\"", name_);
    if (n == 0) return error("read \"{}\": {} bytes short of the downloaded length", name_, available);
    pos_ += n;
    return static_cast<size_t>(n);
  }
}

}  // namespace berth::image
