// The content-addressable store under <root>/content (containerd's layout and
// rules): committed blobs at blobs/<alg>/<hex>, each verified against its
// digest before it becomes visible; downloads in progress at ingest/<key>/
// (data, ref, expected) so an interrupted pull resumes where it stopped.
// Nothing half-written is ever visible under blobs/: commit writes, fsyncs,
// verifies size and digest, then renames.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "image/byte_ranges.h"
#include "oci/digest.h"

namespace berth::image {

// Incremental SHA-256/SHA-512 (OpenSSL; SHA-NI where the CPU has it).
class Hasher {
 public:
  static Result<Hasher> create(std::string_view algorithm);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();
  void update(std::span<const std::byte> data);
  void update(std::string_view data) { update(std::as_bytes(std::span(data.data(), data.size()))); }
  // The digest of everything so far (the hasher stays usable).
  oci::Digest digest() const;

 private:
  struct State;
  explicit Hasher(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

// The digest of a whole file (or the first `limit` bytes when limit >= 0).
Result<oci::Digest> digest_fd(const UniqueFd& fd, std::string_view algorithm, const std::string& name);

class ContentStore;

// A resumable download of one blob. It holds an exclusive lock on its ingest
// directory, so two pulls of the same blob never write the same file: the
// second waits and then finds the blob committed.
//
// A ranged download (several connections writing pieces with write_at) keeps
// a "ranges" record next to the data: the byte ranges known written, each
// fsynced before it is recorded. While the record exists the data file's
// length means nothing (it may be sparse) and offset() is the record's
// contiguous prefix. The record is only a hint for resuming: commit()
// verifies the whole blob by size and digest regardless.
class IngestWriter {
 public:
  IngestWriter(IngestWriter&&) noexcept = default;
  IngestWriter& operator=(IngestWriter&&) noexcept = default;
  ~IngestWriter() = default;

  // Bytes already in the partial blob: where a resumed download starts.
  int64_t offset() const { return offset_; }
  int64_t expected_size() const { return size_; }
  const oci::Digest& expected() const { return expected_; }
  const std::string& key() const { return key_; }
  // True when another process committed the blob while this one waited.
  bool already_committed() const { return committed_; }

  // Appends (hashing on the way).
  Result<> write(std::span<const std::byte> data);
  Result<> write(std::string_view data) { return write(std::as_bytes(std::span(data.data(), data.size()))); }
  // Writes at an absolute offset (ranged parallel downloads); the digest is
  // then computed at commit.
  Result<> write_at(int64_t offset, std::span<const std::byte> data);
  // Throws away the partial data (a server that ignored our Range).
  Result<> restart();
  // Sets the logical length after write_at()s filled [0, length).
  void set_offset(int64_t length) { offset_ = length; }
  // The recorded ranges (empty when the ingest has no record).
  const std::vector<ByteRange>& written_ranges() const { return ranges_; }
  // Starts the record (holding [0, offset())) before the first write_at;
  // a no-op when it exists.
  Result<> start_ranges();
  // Makes `set` the record: fdatasync of the data, then an atomic rewrite.
  // Not thread-safe: callers writing from several threads serialise it.
  Result<> record_ranges(const std::vector<ByteRange>& set);
  // A read-only fd of the data file (a reader streaming the download).
  Result<UniqueFd> open_reader() const;
  // fsync, verify size and digest, rename into blobs/. A mismatch deletes
  // the partial and returns an error naming the digest.
  Result<> commit();
  // Removes the partial data.
  Result<> abort();

 private:
  friend class ContentStore;
  IngestWriter() = default;
  Result<> catch_up_hash();

  const ContentStore* store_ = nullptr;
  std::string key_;
  std::string dir_;
  oci::Digest expected_;
  int64_t size_ = -1;  // -1: unknown
  int64_t offset_ = 0;
  int64_t hashed_ = 0;
  bool committed_ = false;
  bool has_ranges_ = false;
  std::vector<ByteRange> ranges_;
  UniqueFd lock_;
  UniqueFd data_;
  std::unique_ptr<Hasher> hasher_;
};

struct BlobInfo {
  oci::Digest digest;
  int64_t size = 0;
};

struct IngestInfo {
  std::string key;
  oci::Digest expected;
  int64_t offset = 0;
  int64_t expected_size = -1;
};

class ContentStore {
 public:
  // The store at `dir` (normally <root>/content), created when missing.
  static Result<ContentStore> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  bool has(const oci::Digest& d) const;
  std::string path(const oci::Digest& d) const;
  // A read-only fd of a committed blob.
  Result<UniqueFd> open_blob(const oci::Digest& d) const;
  // A small committed blob (manifest, config) read whole, refusing more than
  // `max_size` bytes.
  Result<std::string> read_blob(const oci::Digest& d, int64_t max_size) const;
  Result<int64_t> size(const oci::Digest& d) const;

  // Starts or resumes an ingest. `key` names the download (any string; it is
  // hashed into a directory name); `size` may be -1 when unknown.
  Result<IngestWriter> begin(std::string_view key, const oci::Digest& expected, int64_t size) const;
  // Stores a small blob in one go (verifying `expected`).
  Result<> put(std::string_view data, const oci::Digest& expected) const;

  Result<> remove(const oci::Digest& d) const;
  Result<std::vector<BlobInfo>> list() const;
  Result<std::vector<IngestInfo>> list_ingests() const;
  Result<> remove_ingest(std::string_view key) const;
  // Re-hashes a committed blob; an error names the digest when it is wrong.
  Result<> verify(const oci::Digest& d) const;

 private:
  friend class IngestWriter;
  explicit ContentStore(std::string dir) : dir_(std::move(dir)) {}
  std::string ingest_dir(std::string_view key) const;
  std::string dir_;
};

}  // namespace berth::image
