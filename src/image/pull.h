// berth pull: reference -> registry -> content store -> snapshots -> an image
// in the metadata. Layers download in parallel, a large one in ranges over
// several connections (registry.h); each is unpacked into its snapshot while
// it downloads (the unpacker streams the written prefix of the ingest file),
// and its snapshot is committed only after the blob is verified and stored.
// Every blob is verified before it is visible (content_store.h), every
// unpacked layer against the config's rootfs.diff_ids. A failed or killed
// pull leaves nothing half-made: partial blobs wait in the ingest area for
// the next pull to resume, half-unpacked layers are discarded.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "image/reference.h"
#include "image/registry.h"
#include "oci/image.h"

namespace berth::image {

class Store;

struct PullEvent {
  enum class Kind {
    resolved,       // message: the reference; digest: the manifest
    layer_cached,   // a layer already in the store (blob and snapshot)
    layer_progress, // bytes of a layer arriving: done/total
    layer_downloaded,
    layer_unpacked,
    done,           // digest: the image ID (config digest)
  };
  Kind kind;
  oci::Digest digest;  // the layer blob (layer_*), manifest or image id
  int64_t done = 0;
  int64_t total = 0;
  std::string message;
};
// Called from several threads, serialised by pull().
using PullProgress = std::function<void(const PullEvent&)>;

struct PullOptions {
  std::string root = "/var/lib/berth";
  std::optional<oci::Platform> platform;  // default: this machine's
  RegistryOptions registry;
  PullProgress progress;
};

struct PullResult {
  Reference reference;       // the candidate that resolved
  std::string name;          // the name recorded ("registry/repo:tag")
  oci::Digest image_id;      // the config digest
  oci::Digest manifest_digest;
  std::optional<oci::Digest> index_digest;
  oci::Platform platform;
  int64_t downloaded = 0;    // bytes fetched by this pull (0 when all was cached)
};

// This machine's platform (linux/<uname arch, normalised>).
oci::Platform host_platform();

// Pulls into the store at options.root.
Result<PullResult> pull(std::string_view reference, const PullOptions& options);
// Pulls into `store` (options.root unused), holding a write lease on it for the
// whole pull: a gc() waits until the image is recorded, so never call gc() on
// the same thread from `progress`.
Result<PullResult> pull(Store& store, std::string_view reference, const PullOptions& options);

}  // namespace berth::image
