// A pull-based stream of bytes: a blob being downloaded, a file in the content
// store, a pipe, or a decompressor stacked on one of those. Unpacking reads a
// layer through this interface so that download, digest, decompression and
// extraction can run as one pipeline.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"

namespace berth::image {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills a prefix of `out`; returns how many bytes, 0 at the end of the
  // stream (never 0 for a non-empty `out` before the end).
  virtual Result<size_t> read(std::span<std::byte> out) = 0;
};

// Reads a file or pipe. Owns the fd when given one by value; borrows it when
// given a reference (which must outlive the source).
class FdSource final : public ByteSource {
 public:
  FdSource(UniqueFd&& fd, std::string name) : owned_(std::move(fd)), fd_(owned_.get()), name_(std::move(name)) {}
  FdSource(const UniqueFd& fd, std::string name) : fd_(fd.get()), name_(std::move(name)) {}
  Result<size_t> read(std::span<std::byte> out) override;

 private:
  UniqueFd owned_;
  int fd_;
  std::string name_;
};

// Reads bytes held in memory (tests, fuzzing, small blobs). Borrows them.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::span<const std::byte> data) : data_(data) {}
  explicit MemorySource(std::string_view data)
      : data_(reinterpret_cast<const std::byte*>(data.data()), data.size()) {}
  // A temporary string would dangle.
  explicit MemorySource(std::string&&) = delete;
  Result<size_t> read(std::span<std::byte> out) override;

 private:
  std::span<const std::byte> data_;
};

}  // namespace berth::image
