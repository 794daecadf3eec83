// The image metadata database: <root>/berth.db (SQLite, WAL). It records
// images (names, manifest, config, layers), snapshots, and leases that keep
// content alive while a pull runs or a container uses an image. Several
// `berth` processes and a daemon may use it at once: every write is one
// BEGIN IMMEDIATE transaction, readers see a consistent snapshot, and a
// process killed mid-write leaves the previous state.
//
// Digests are strings "sha256:<hex>"; chain IDs too. Names are normalised
// references ("docker.io/library/busybox:latest", "host:5000/a/b@sha256:...").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "image/metadata_db.h"

namespace berth::image {

// One layer of an image, bottom first.
struct ImageLayer {
  std::string chain_id;    // the snapshot holding this layer stacked on the ones below
  std::string diff_id;     // sha256 of the uncompressed tar (config's rootfs.diff_ids)
  std::string digest;      // the layer blob in the content store
  std::string media_type;  // of the layer blob
  int64_t size = 0;        // of the layer blob (compressed)
};

struct ImageRecord {
  std::string id;               // the config digest
  std::string manifest_digest;  // the manifest the image was pulled/loaded by
  std::string manifest_media_type;
  std::string index_digest;     // the index (manifest list) it was chosen from; empty if none
  std::string platform;         // "os/arch[/variant]"
  std::string created;          // the config's "created" (RFC 3339), empty if absent
  int64_t added = 0;            // when stored (unix seconds); set by put_image when 0
  int64_t size = 0;             // bytes of manifest + config + layer blobs
  std::vector<ImageLayer> layers;
  std::vector<std::string> names;  // filled by get/list; put_image adds these names
};

struct SnapshotRecord {
  std::string chain_id;
  std::string parent;  // chain ID of the snapshot below; empty for a base layer
  int64_t size = 0;    // bytes unpacked
  int64_t created = 0; // unix seconds; set by put_snapshot when 0
};

// What a lease keeps alive.
enum class LeaseResource { content, snapshot, image, ingest };
std::string_view to_string(LeaseResource r);

struct LeaseRecord {
  std::string id;
  std::string kind;     // "pull", "container", "load", ... (free-form, shown by rmi)
  int64_t created = 0;  // unix seconds
  int64_t expires = 0;  // unix seconds; 0 = until deleted
  struct Ref {
    LeaseResource type;
    std::string ref;  // digest, chain ID, image ID or ingest key
  };
  std::vector<Ref> refs;
};

// Everything gc and check look at, read in one transaction.
struct MetadataState {
  std::vector<ImageRecord> images;
  std::vector<LeaseRecord> leases;  // live ones
  std::vector<SnapshotRecord> snapshots;
};

class Metadata {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens <path>, creating it and migrating its schema to kSchemaVersion.
  // A database of a newer schema than this build knows is refused.
  static Result<Metadata> open(const std::string& path);

  Result<int> schema_version();
  const std::string& path() const { return db_.path(); }

  // --- images
  // Records an image (replacing the rows of the same id) and adds its
  // `names`, moving each from whatever image had it before.
  Result<> put_image(const ImageRecord& image);
  Result<std::optional<ImageRecord>> get_image(std::string_view id);
  Result<std::vector<ImageRecord>> list_images();
  // The image id a name points to.
  Result<std::optional<std::string>> resolve_name(std::string_view name);
  // Image ids whose hex (after "sha256:") starts with `hex_prefix`.
  Result<std::vector<std::string>> find_ids(std::string_view hex_prefix);
  // Image ids whose manifest or index digest is `digest`.
  Result<std::vector<std::string>> find_by_manifest(std::string_view digest);
  // Points `name` at image `id` (which must exist), moving it from another image.
  Result<> add_name(std::string_view name, std::string_view id);
  // Removes a name; false when there was none.
  Result<bool> remove_name(std::string_view name);
  // Removes an image's rows (names, layers). Unless `force`, refused with
  // EBUSY naming the lease when a live lease holds the image.
  Result<> remove_image(std::string_view id, bool force, int64_t now);

  // --- snapshots
  Result<> put_snapshot(const SnapshotRecord& snapshot);
  Result<std::optional<SnapshotRecord>> get_snapshot(std::string_view chain_id);
  Result<std::vector<SnapshotRecord>> list_snapshots();
  Result<> remove_snapshot(std::string_view chain_id);

  // --- leases
  // Creates a lease (its id must be new); `ttl_seconds` 0 = until deleted.
  Result<LeaseRecord> create_lease(std::string_view id, std::string_view kind, int64_t ttl_seconds,
                                   int64_t now);
  Result<> add_lease_ref(std::string_view lease_id, LeaseResource type, std::string_view ref);
  // create_lease and add_lease_ref in one transaction (one sync instead of
  // two on a container's start path).
  Result<LeaseRecord> create_lease_holding(std::string_view id, std::string_view kind, int64_t ttl_seconds,
                                           int64_t now, LeaseResource type, std::string_view ref);
  Result<> remove_lease_ref(std::string_view lease_id, LeaseResource type, std::string_view ref);
  Result<> delete_lease(std::string_view id);
  // Leases not expired at `now`, with their refs.
  Result<std::vector<LeaseRecord>> live_leases(int64_t now);
  // Images, live leases and snapshots as of one moment: a writer records its
  // image before it drops its lease, so whatever it stored is in one or the other.
  Result<MetadataState> read_state(int64_t now);
  // Deletes leases expired at `now`; returns how many.
  Result<int> delete_expired_leases(int64_t now);

  // The connection (each method above is its own transaction); for tests.
  sql::Db& db() { return db_; }

 private:
  explicit Metadata(sql::Db db) : db_(std::move(db)) {}
  Result<> migrate();
  Result<std::vector<ImageRecord>> load_images(std::string_view where_id);
  sql::Db db_;
};

// Seconds since the epoch, for the `now` arguments.
int64_t unix_now();

}  // namespace berth::image
