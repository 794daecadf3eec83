// Recording an image whose blobs are in the content store: the last step of
// load and import (pull has its own pipeline that unpacks while downloading).
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "base/file.h"
#include "image/archive_internal.h"
#include "image/byte_source.h"
#include "image/decompress.h"
#include "image/store.h"
#include "image/unpack.h"
#include "oci/image.h"

namespace berth::image {

Result<> put_blob_file(Store& store, const std::string& path, const oci::Digest& digest, int64_t size) {
  if (store.content().has(digest)) return {};
  BERTH_TRY_ASSIGN(fd, open_file(path, O_RDONLY));
  BERTH_TRY_ASSIGN(w, store.content().begin(fmt::format("copy-{}", digest.hex), digest, size));
  if (w.already_committed()) return {};
  if (w.offset() != 0) BERTH_TRY(w.restart());
  std::vector<std::byte> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(errno, "read \"{}\"", path);
    if (n == 0) break;
    BERTH_TRY(w.write(std::span(buf.data(), static_cast<size_t>(n))));
  }
  return w.commit();
}

namespace {

Result<std::string> read_small(Store& store, const oci::Digest& d, std::string_view what) {
  return with_context(store.content().read_blob(d, oci::kMaxManifestSize), fmt::format("read {} {}", what, d.str()));
}

// Unpacks one layer blob into a new snapshot `chain` unless it exists.
Result<int64_t> ensure_snapshot(Store& store, LeaseHandle& lease, const oci::Descriptor& layer,
                                const oci::Digest& diff_id, const oci::Digest& chain, const std::string& parent) {
  BERTH_TRY(lease.add(LeaseResource::snapshot, chain.str()));
  if (store.snapshots().has(chain)) {
    BERTH_TRY_ASSIGN(rec, store.metadata().get_snapshot(chain.str()));
    if (rec) return rec->size;
  }
  BERTH_TRY_ASSIGN(compression, compression_for(layer.media_type));
  BERTH_TRY_ASSIGN(fd, store.content().open_blob(layer.digest));
  FdSource src(fd, store.content().path(layer.digest));
  BERTH_TRY_ASSIGN(tmp, store.snapshots().prepare());
  BERTH_TRY_ASSIGN(stats, with_context(unpack_layer(src, compression, tmp.fs()),
                                       fmt::format("unpack layer {}", layer.digest.str())));
  if (stats.diff_id != diff_id)
    return error("layer {}: uncompressed digest {} does not match the config's diff ID {}", layer.digest.str(),
                 stats.diff_id.str(), diff_id.str());
  BERTH_TRY(store.snapshots().commit(std::move(tmp), chain));
  auto size = static_cast<int64_t>(stats.bytes);
  BERTH_TRY(store.record_snapshot(chain.str(), parent, size));
  return size;
}

}  // namespace

Result<ImageRecord> commit_image(Store& store, LeaseHandle& lease, const oci::Digest& manifest_digest,
                                 std::string_view manifest_media_type, std::string_view index_digest,
                                 const std::vector<std::string>& names) {
  BERTH_TRY(lease.add(LeaseResource::content, manifest_digest.str()));
  BERTH_TRY_ASSIGN(manifest_text, read_small(store, manifest_digest, "manifest"));
  BERTH_TRY_ASSIGN(manifest, with_context(oci::parse_manifest(manifest_text),
                                          fmt::format("manifest {}", manifest_digest.str())));
  BERTH_TRY(lease.add(LeaseResource::content, manifest.config.digest.str()));
  BERTH_TRY_ASSIGN(config_text, read_small(store, manifest.config.digest, "config"));
  BERTH_TRY_ASSIGN(config, with_context(oci::parse_image_config(config_text),
                                        fmt::format("config {}", manifest.config.digest.str())));

  // Foreign layers are not in the archive and not unpacked (as the peers do);
  // the rest pair with diff_ids in order.
  std::vector<const oci::Descriptor*> layers;
  for (const auto& l : manifest.layers) {
    BERTH_TRY_ASSIGN(type, oci::layer_type(l.media_type));
    if (!type.foreign) layers.push_back(&l);
  }
  if (layers.size() != config.diff_ids.size())
    return error("manifest {} has {} layers but its config {} lists {} diff IDs", manifest_digest.str(),
                 layers.size(), manifest.config.digest.str(), config.diff_ids.size());
  auto chains = oci::chain_ids(config.diff_ids);

  ImageRecord rec;
  rec.id = manifest.config.digest.str();
  rec.manifest_digest = manifest_digest.str();
  rec.manifest_media_type = manifest_media_type.empty() ? manifest.media_type : std::string(manifest_media_type);
  if (rec.manifest_media_type.empty()) rec.manifest_media_type = std::string(oci::media::oci_manifest);
  rec.index_digest = std::string(index_digest);
  rec.platform = oci::platform_string(config.platform());
  rec.created = config.created;
  rec.size = static_cast<int64_t>(manifest_text.size() + config_text.size());
  rec.names = names;
  std::string parent;
  for (size_t i = 0; i < layers.size(); ++i) {
    BERTH_TRY(lease.add(LeaseResource::content, layers[i]->digest.str()));
    if (!store.content().has(layers[i]->digest)) return error("layer blob {} is missing", layers[i]->digest.str());
    BERTH_TRY(ensure_snapshot(store, lease, *layers[i], config.diff_ids[i], chains[i], parent));
    rec.layers.push_back({chains[i].str(), config.diff_ids[i].str(), layers[i]->digest.str(),
                          layers[i]->media_type, layers[i]->size});
    rec.size += layers[i]->size;
    parent = chains[i].str();
  }
  BERTH_TRY(store.metadata().put_image(rec));
  return rec;
}

}  // namespace berth::image
