// The local image store: one object over a root directory that the tools and
// the engine use. It ties together the content store (blobs), the snapshots
// (unpacked layers) and the metadata database (names, images, leases):
//
//   <root>/content/     ContentStore (content_store.h)
//   <root>/snapshots/   Snapshots (snapshots.h)
//   <root>/berth.db     Metadata (metadata.h)
//   <root>/tmp/         scratch space of load/save/import (same filesystem)
//   <root>/gc.lock      flock: one gc or check --repair at a time
//
// Writers keep what they are writing alive with a lease: take one with
// lease() first, add each digest, snapshot or ingest key to it *before*
// writing that thing, then record the image and drop the lease. gc() removes
// only what no image and no live lease reaches. A writer's lease
// (LeaseUse::write) also holds a shared flock on gc.lock, which gc() takes
// exclusively: a gc never sweeps while a writer of this process or another
// is between "add the ref" and "record the image", so a blob a writer finds
// already present cannot vanish under it. (So: never call gc() while holding
// a write lease; a LeaseUse::hold lease, such as a container's, blocks nothing.)
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "image/content_store.h"
#include "image/metadata.h"
#include "image/snapshots.h"

namespace berth::image {

class Store;

// A lease held for the lifetime of this object (deleted at destruction).
// Its rows stay in the database if the process dies; they expire after the
// TTL so a crashed pull's leftovers become collectable.
class LeaseHandle {
 public:
  LeaseHandle(LeaseHandle&& o) noexcept;
  LeaseHandle& operator=(LeaseHandle&&) = delete;
  LeaseHandle(const LeaseHandle&) = delete;
  ~LeaseHandle();

  const std::string& id() const { return id_; }
  Result<> add(LeaseResource type, std::string_view ref);
  // Deletes the lease now, reporting failure (the destructor only logs it).
  Result<> release();

 private:
  friend class Store;
  LeaseHandle(Metadata* md, std::string id, UniqueFd lock)
      : md_(md), id_(std::move(id)), gc_lock_(std::move(lock)) {}
  Metadata* md_;
  std::string id_;
  UniqueFd gc_lock_;  // shared flock on <root>/gc.lock
};

// What `berth rmi` did for one argument.
struct RemoveResult {
  std::vector<std::string> untagged;  // names removed
  std::string deleted;                // the image id, when the image itself went
};

// An image and the name it was found by (empty when found by id or digest).
struct ImageMatch {
  ImageRecord image;
  std::string name;
};

// An image as `berth images` lists it.
struct ImageSummary {
  ImageRecord record;
  int64_t unpacked_size = 0;       // its snapshots' recorded sizes (podman's SIZE)
  int64_t created = 0;             // unix seconds: the config's "created", else when stored
  std::vector<std::string> users;  // kinds of the live leases holding it ("container", "pull")
  std::map<std::string, std::string> labels;  // the config's config.Labels
};

// `berth images --filter` (podman's): reference=PATTERN (a glob over the
// repository or repository:tag, full or short form), dangling=true|false,
// before=IMAGE, since=IMAGE, label=KEY or label=KEY=VALUE (the config's
// labels). Several reference filters match any; several label filters must
// all match (as docker and podman do); different keys must all match.
struct ImageFilter {
  struct Label {
    std::string key;
    std::optional<std::string> value;  // nullopt: any value
  };
  std::vector<std::string> references;
  std::vector<Label> labels;
  std::optional<bool> dangling;
  std::optional<int64_t> before;  // created strictly before
  std::optional<int64_t> since;   // created strictly after
};

// Unix seconds of an RFC 3339 time ("2024-01-02T03:04:05.5+01:00"); errors name it.
Result<int64_t> parse_rfc3339(std::string_view text);

struct GcOptions {
  // Ingest leftovers (partial downloads) no live lease names and untouched
  // for this long are removed.
  int64_t ingest_grace_seconds = 3600;
  bool dry_run = false;
};

struct GcReport {
  std::vector<std::string> blobs;      // digests removed
  std::vector<std::string> snapshots;  // chain IDs removed
  std::vector<std::string> ingests;    // ingest keys removed
  int expired_leases = 0;
  uint64_t bytes = 0;                  // bytes freed (blobs + ingests; snapshots by their recorded size)
};

struct CheckProblem {
  std::string kind;    // "blob", "snapshot", "image", "database"
  std::string object;  // digest, chain ID, image id
  std::string detail;  // what is wrong
  bool repaired = false;
};

struct CheckReport {
  size_t blobs_checked = 0;
  size_t snapshots_checked = 0;
  size_t images_checked = 0;
  std::vector<CheckProblem> problems;
  std::vector<std::string> images_removed;  // by repair
};

struct DiskUsage {
  struct Images {
    size_t total = 0;
    size_t active = 0;          // held by a container lease
    uint64_t size = 0;          // blobs + snapshots of all images
    uint64_t reclaimable = 0;   // what removing the images not in use would free
  } images;
  uint64_t content_bytes = 0;   // all blobs
  uint64_t snapshot_bytes = 0;  // all snapshots (recorded sizes)
  uint64_t ingest_bytes = 0;    // partial downloads
  size_t blobs = 0;
  size_t snapshots = 0;
};

class Store {
 public:
  // Opens (creating) the layout under `root`.
  static Result<Store> open(const std::string& root);
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  const std::string& root() const { return root_; }
  ContentStore& content() { return *content_; }
  Snapshots& snapshots() { return *snapshots_; }
  Metadata& metadata() { return *metadata_; }
  // <root>/tmp, for scratch files that may be renamed into the store.
  std::string tmp_dir() const { return root_ + "/tmp"; }

  // Starts a lease; `ttl_seconds` 0 = until released. `write` for a writer
  // storing content now (excludes gc while held), `hold` to keep things alive.
  enum class LeaseUse { write, hold };
  Result<LeaseHandle> lease(std::string_view kind, int64_t ttl_seconds, LeaseUse use = LeaseUse::write);

  // Finds an image by name ("busybox", "docker.io/library/busybox:1",
  // "localhost/x"), by digest reference ("repo@sha256:..."), by id
  // ("sha256:<hex>", "<hex>") or by a unique id prefix. ENOENT when none.
  Result<ImageRecord> find_image(std::string_view text);
  Result<ImageMatch> resolve(std::string_view text);
  // The normalised name `text` stands for ("busybox" -> "docker.io/library/busybox:latest").
  static Result<std::string> normalize_name(std::string_view text);
  // Adds the name `new_name` to the image `image` names.
  Result<std::string> tag(std::string_view image, std::string_view new_name);
  // `berth rmi`: a name of an image with other names is only untagged; an
  // image (by id or its last name) is removed unless a lease or container
  // holds it (EBUSY). `force` removes an image by id with several names, and
  // strips an image in use of all its names (it stays, dangling, until
  // nothing holds it: a running container keeps its layers). The image's
  // blobs and snapshots go at the next gc().
  Result<RemoveResult> remove_image(std::string_view text, bool force);
  // Records a snapshot unpacked by a writer (size for `system df`).
  Result<> record_snapshot(std::string_view chain_id, std::string_view parent, int64_t size);

  Result<std::vector<ImageSummary>> list_images();
  // Parses "key=value" filters, resolving before=/since= images.
  Result<ImageFilter> parse_filters(const std::vector<std::string>& filters);
  static bool matches(const ImageFilter& filter, const ImageSummary& image);
  // Image ids held by a live lease (containers, pulls), with the lease kinds.
  Result<std::vector<std::pair<std::string, std::string>>> images_in_use();

  Result<GcReport> gc(const GcOptions& options = {});
  Result<CheckReport> check(bool repair);
  Result<DiskUsage> disk_usage();

 private:
  Store() = default;
  // gc.lock: exclusive for gc/check, shared for writers holding a lease.
  Result<UniqueFd> lock_gc(bool exclusive = true);
  std::string root_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<Snapshots> snapshots_;
  std::unique_ptr<Metadata> metadata_;
};

}  // namespace berth::image
