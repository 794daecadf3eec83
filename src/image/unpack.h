// Unpacking one image layer (a tar stream, maybe compressed) into a directory
// that becomes an overlayfs lower dir. libarchive reads the tar; Berth's own
// writer (unpack_writer.h) creates the files so that no entry can write
// outside the directory: every path is resolved with openat2(RESOLVE_IN_ROOT)
// beneath the directory's fd and the last component is never followed.
// Whiteouts (".wh.<name>", ".wh..wh..opq") become overlayfs whiteouts.
//
// Decompression (+ the diff ID's SHA-256) and extraction run in two threads,
// so one layer uses two cores; unpack_layers() runs several layers at once.
// Nothing is fsynced here: Snapshots::commit() does one syncfs before it makes
// the layer visible (snapshots.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "image/byte_source.h"
#include "image/decompress.h"
#include "oci/digest.h"

namespace berth::image {

struct UnpackOptions {
  // chown every entry to its numeric uid/gid from the archive (needs root).
  bool preserve_ownership = true;
  // Whiteout xattrs in the "user.overlay." namespace (overlayfs' userxattr
  // mount option, unprivileged overlay) instead of "trusted.overlay.".
  bool userxattr = false;
  // An archive with more entries is refused (a bound on inodes and memory).
  uint64_t max_entries = 4'000'000;
};

struct UnpackStats {
  oci::Digest diff_id;          // sha256 of the uncompressed tar stream
  uint64_t bytes = 0;           // size of the uncompressed tar stream
  uint64_t entries = 0;         // tar entries applied (files, dirs, links, whiteouts...)
};

// Unpacks the layer read from `src` into `dir` (an existing directory, usually
// empty: a snapshot being prepared). Errors name the entry at fault; a layer
// that fails leaves `dir` partly written, to be discarded by the caller.
Result<UnpackStats> unpack_layer(ByteSource& src, Compression compression, const UniqueFd& dir,
                                 const UnpackOptions& options = {});
Result<UnpackStats> unpack_layer(ByteSource& src, Compression compression, const std::string& dir,
                                 const UnpackOptions& options = {});

// Several independent layers (each into its own directory), up to `parallel`
// at a time; one result per job, in order.
struct LayerJob {
  ByteSource* source = nullptr;
  Compression compression = Compression::none;
  std::string dir;
};
std::vector<Result<UnpackStats>> unpack_layers(std::span<const LayerJob> jobs, const UnpackOptions& options = {},
                                               unsigned parallel = 2);

}  // namespace berth::image
