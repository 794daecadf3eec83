// Unpacked layers as overlayfs lower directories, one per chain ID:
//
//   <root>/snapshots/<chain-id-hex>/fs   a committed layer (read-only by convention)
//   <root>/snapshots/tmp/<random>/fs     a layer being unpacked, or being removed
//
// A layer is unpacked into tmp/ and renamed into place only when complete, so
// a committed snapshot is always whole; if two pulls unpack the same layer,
// the first commit wins and the other is discarded. Durability costs one
// syncfs(2) per commit instead of an fsync per file: a layer is thousands of
// files, each fsync a journal commit, while syncfs writes them all back in
// one batch before the rename makes them visible.
//
// Everything under tmp/ belongs to a prepare() or remove() in progress (each
// holds a shared flock on tmp/) or was left by one that died: open() removes
// the leftovers when it can take tmp/'s lock exclusively, i.e. when no
// process is unpacking or removing at that moment.
//
// Which snapshots are in use (by images, by containers' mounts) is the
// metadata's business (metadata.h); this class only manages directories.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "oci/digest.h"

namespace berth::image {

// A snapshot being unpacked: unpack into fs(); commit with Snapshots::commit.
// Dropped uncommitted, its directory is removed.
class PreparedSnapshot {
 public:
  PreparedSnapshot(PreparedSnapshot&& o) noexcept
      : dir_(std::exchange(o.dir_, {})), fs_path_(std::exchange(o.fs_path_, {})), fs_(std::move(o.fs_)),
        tmp_lock_(std::move(o.tmp_lock_)) {}
  PreparedSnapshot& operator=(PreparedSnapshot&&) noexcept;
  ~PreparedSnapshot();

  const std::string& fs_path() const { return fs_path_; }
  const UniqueFd& fs() const { return fs_; }

 private:
  friend class Snapshots;
  PreparedSnapshot() = default;
  void discard();

  std::string dir_;      // <root>/snapshots/tmp/<random>
  std::string fs_path_;  // dir_ + "/fs"
  UniqueFd fs_;
  UniqueFd tmp_lock_;    // shared flock on tmp/ while this exists
};

class Snapshots {
 public:
  // Opens (creating) <root>/snapshots, removing what interrupted unpacks left.
  static Result<Snapshots> open(const std::string& root);

  const std::string& dir() const { return dir_; }
  bool has(const oci::Digest& chain_id) const;
  // <root>/snapshots/<hex>/fs; an error for a chain ID that is not sha256.
  Result<std::string> path(const oci::Digest& chain_id) const;
  Result<PreparedSnapshot> prepare() const;
  // Makes `prepared` the snapshot of `chain_id` (syncfs, then an atomic
  // rename) and returns its fs path. An existing snapshot of `chain_id` wins:
  // `prepared` is discarded and that one's path returned.
  Result<std::string> commit(PreparedSnapshot&& prepared, const oci::Digest& chain_id) const;
  // Removes a snapshot: it vanishes at once (renamed into tmp/), then its
  // files are deleted. Removing a missing one is not an error.
  Result<> remove(const oci::Digest& chain_id) const;
  // The committed snapshots' chain IDs, sorted.
  Result<std::vector<oci::Digest>> list() const;
  // Removes leftovers in tmp/ if no prepare()/remove() is in progress; returns
  // whether it could look.
  Result<bool> cleanup() const;

 private:
  explicit Snapshots(std::string dir) : dir_(std::move(dir)) {}
  Result<UniqueFd> lock_tmp_shared() const;

  std::string dir_;  // <root>/snapshots
};

// An overlayfs mount, unmounted (lazily, MNT_DETACH) when dropped.
class OverlayMount {
 public:
  OverlayMount() = default;
  explicit OverlayMount(std::string target) : target_(std::move(target)) {}
  OverlayMount(OverlayMount&& o) noexcept : target_(std::exchange(o.target_, {})) {}
  OverlayMount& operator=(OverlayMount&& o) noexcept;
  ~OverlayMount();

  const std::string& target() const { return target_; }
  Result<> unmount();
  // Keeps the mount: the caller takes over unmounting it.
  std::string release() { return std::exchange(target_, {}); }

 private:
  std::string target_;
};

struct OverlaySpec {
  std::vector<std::string> layers;  // lower dirs, bottom (base layer) first, as in rootfs.diff_ids
  std::string upper;                // empty: a read-only mount of the layers
  std::string work;                 // with upper: an empty dir on upper's filesystem
  bool userxattr = false;           // whiteouts as user.overlay.* (unprivileged overlay)
};

// Mounts the overlay of `spec` on `target`. Lower dirs go to the kernel one by
// one ("lowerdir+", Linux 6.8) so that neither their number nor their paths'
// characters are limited by one option string; older kernels get the classic
// "lowerdir=top:...:bottom" option. One layer without an upper dir (which
// overlayfs refuses) is mounted as a read-only bind mount of it.
Result<OverlayMount> mount_overlay(const OverlaySpec& spec, const std::string& target);

}  // namespace berth::image
