// A blob read while it downloads: the unpacker of a layer streams the ingest
// file as the download writes it, instead of waiting for the whole blob. The
// downloader reports the contiguous prefix written so far (advance) and how
// the download ended (finish); read() blocks until its position lies inside
// the prefix and reports the end only once the download finished whole. A
// failed download fails the read with the download's error.
//
// Nothing read here is trusted on its own: the pull commits the blob (size
// and digest verified) before it commits the snapshot unpacked from it, and
// checks the unpacked tar against the config's diff ID.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/fd.h"
#include "image/byte_source.h"

namespace berth::image {

class IngestSource final : public ByteSource {
 public:
  IngestSource(UniqueFd fd, std::string name, int64_t size) : fd_(std::move(fd)), name_(std::move(name)), size_(size) {}

  // Downloader: [0, prefix) is written. It may shrink (a registry that
  // ignored a Range sends the blob again from 0); the reader then waits for
  // the prefix to pass its position again.
  void advance(int64_t prefix);
  // Downloader: the download ended, whole (nullopt) or with `failure`.
  void finish(std::optional<Error> failure);

  Result<size_t> read(std::span<std::byte> out) override;

 private:
  UniqueFd fd_;
  std::string name_;
  int64_t size_;
  int64_t pos_ = 0;  // the reader's alone
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t prefix_ = 0;
  bool finished_ = false;
  std::optional<Error> failure_;
};

}  // namespace berth::image
