// Pieces shared by the archive files (save, load, import); not an API.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/digest.h"

struct archive;

namespace berth::image {

class Store;
class LeaseHandle;
struct ImageRecord;

// Writes a tar (pax) to a file or stdout ("-"). The file appears complete or
// not at all: it is written beside the target and renamed at close().
class TarWriter {
 public:
  static Result<TarWriter> create(const std::string& path);
  TarWriter(TarWriter&&) noexcept;
  TarWriter& operator=(TarWriter&&) = delete;
  ~TarWriter();

  Result<> add_data(const std::string& name, std::string_view data);
  // Copies `size` bytes of `fd` from its current offset.
  Result<> add_file(const std::string& name, const UniqueFd& fd, int64_t size);
  Result<> add_dir(const std::string& name);
  Result<> close();

 private:
  TarWriter() = default;
  Result<> header(const std::string& name, int64_t size, bool dir);
  struct archive* a_ = nullptr;
  UniqueFd fd_;
  std::string path_;
  std::string tmp_;
};

// Gzip (ISA-L igzip, level 1: fast, as containers/image's default is
// speed-oriented too) to an fd, counting and hashing the compressed bytes.
class GzipWriter {
 public:
  static Result<GzipWriter> create(const UniqueFd& out, std::string name);
  GzipWriter(GzipWriter&&) noexcept;
  GzipWriter& operator=(GzipWriter&&) = delete;
  ~GzipWriter();
  Result<> write(std::span<const std::byte> data);
  Result<> finish();
  int64_t compressed_size() const { return out_bytes_; }

 private:
  GzipWriter() = default;
  Result<> drain(bool end);
  struct State;
  std::unique_ptr<State> s_;
  int out_ = -1;
  std::string name_;
  int64_t out_bytes_ = 0;
};

// Adds a file to the content store (copying; verified against `digest`).
Result<> put_blob_file(Store& store, const std::string& path, const oci::Digest& digest, int64_t size);

// Records an image whose manifest, config and layer blobs are all in the
// content store: unpacks the layers missing from the snapshots (checking each
// diff ID against the config), then records the snapshots and the image with
// `names` (normalised already). The lease keeps what it adds alive until the
// image row exists.
Result<ImageRecord> commit_image(Store& store, LeaseHandle& lease, const oci::Digest& manifest,
                                 std::string_view manifest_media_type, std::string_view index_digest,
                                 const std::vector<std::string>& names);

// A fresh scratch directory under the store's tmp dir, removed at
// destruction. It holds an flock on the directory while it lives, so gc()
// leaves it alone (Store::gc removes only unlocked leftovers).
class ScratchDir {
 public:
  static Result<ScratchDir> create(const Store& store, std::string_view tag);
  ScratchDir(ScratchDir&& o) noexcept : path_(std::exchange(o.path_, {})), lock_(std::move(o.lock_)) {}
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  ScratchDir(std::string p, UniqueFd lock) : path_(std::move(p)), lock_(std::move(lock)) {}
  std::string path_;
  UniqueFd lock_;
};

// RFC 3339 UTC time of `unix_seconds` ("2024-01-02T03:04:05Z").
std::string rfc3339(int64_t unix_seconds);

}  // namespace berth::image
