#include "image/pull.h"

#include <sys/utsname.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "base/log.h"
#include "image/byte_source.h"
#include "image/content_store.h"
#include "image/decompress.h"
#include "image/ingest_source.h"
#include "image/metadata.h"
#include "image/snapshots.h"
#include "image/store.h"
#include "image/unpack.h"

namespace berth::image {
namespace {

constexpr int64_t kMaxConfigSize = 8 << 20;

// One layer of the chosen manifest and where it goes.
struct LayerPlan {
  size_t index = 0;
  oci::Descriptor blob;
  oci::Digest diff_id;
  oci::Digest chain_id;
  oci::Digest parent;  // empty for the base layer
  bool foreign = false;
  int64_t unpacked_size = 0;
};

class Puller {
 public:
  Puller(const PullOptions& options, Store& store, RegistryClient& client, std::string repository)
      : options_(options), store_(store), content_(store.content()), snapshots_(store.snapshots()), client_(client),
        repository_(std::move(repository)) {}

  void emit(PullEvent e) {
    if (!options_.progress) return;
    std::lock_guard lock(progress_mu_);
    options_.progress(e);
  }

  void emit_progress(const oci::Digest& d, int64_t done, int64_t total) {
    emit({PullEvent::Kind::layer_progress, d, done, total, {}});
  }

  // Fetches (or finds) a blob and commits it to the content store.
  Result<> fetch(const oci::Descriptor& d) {
    if (content_.has(d.digest)) return {};
    BERTH_TRY_ASSIGN(w, content_.begin(repository_ + "@" + d.digest.str(), d.digest, d.size));
    if (w.already_committed()) return {};
    if (w.offset() > 0) log::debug("blob {}: resuming at {} of {} bytes", d.digest, w.offset(), d.size);
    BERTH_TRY_ASSIGN(got, client_.fetch_blob(repository_, d, w, [&](int64_t done, int64_t total) {
      emit_progress(d.digest, done, total);
    }));
    downloaded_ += got;
    return w.commit();
  }

  // Unpacks a committed layer blob into the snapshot of its chain ID.
  Result<> unpack(LayerPlan& layer) {
    if (snapshots_.has(layer.chain_id)) return {};
    BERTH_TRY_ASSIGN(prepared, snapshots_.prepare());
    if (!layer.foreign) {
      BERTH_TRY_ASSIGN(compression, compression_for(layer.blob.media_type));
      BERTH_TRY_ASSIGN(fd, content_.open_blob(layer.blob.digest));
      FdSource source(std::move(fd), content_.path(layer.blob.digest));
      BERTH_TRY(unpack_into(layer, source, compression, prepared));
    }
    return commit_snapshot(layer, std::move(prepared));
  }

  // Downloads a layer and unpacks it at the same time: the unpacker streams
  // the ingest file as far as the download has written it (IngestSource).
  // The blob is committed (size and digest verified) before the snapshot, so
  // a blob that fails verification discards the snapshot, even one whose tar
  // unpacked cleanly, and the error names the blob's digest; a download error
  // is reported before whatever the unpacker made of the bad bytes.
  Result<> fetch_and_unpack(LayerPlan& layer) {
    const oci::Descriptor& d = layer.blob;
    BERTH_TRY_ASSIGN(compression, compression_for(d.media_type));
    BERTH_TRY_ASSIGN(w, content_.begin(repository_ + "@" + d.digest.str(), d.digest, d.size));
    if (w.already_committed()) return unpack(layer);
    if (w.offset() > 0) log::debug("blob {}: resuming at {} of {} bytes", d.digest, w.offset(), d.size);
    BERTH_TRY_ASSIGN(reader, w.open_reader());
    IngestSource source(std::move(reader), fmt::format("download of {}", d.digest), d.size);
    Result<> fetched;
    {
      std::jthread download([&] {
        auto got = client_.fetch_blob(
            repository_, d, w, [&](int64_t done, int64_t total) { emit_progress(d.digest, done, total); },
            [&](int64_t prefix) { source.advance(prefix); });
        if (got) downloaded_ += *got;
        // The end of the stream for the unpacker; the commit's hashing and
        // fsync overlap its last entries.
        source.finish(got ? std::nullopt : std::optional<Error>(got.error()));
        fetched = got ? w.commit() : Result<>(std::unexpected(std::move(got).error()));
      });
      auto prepared = snapshots_.prepare();
      Result<> unpacked = prepared ? unpack_into(layer, source, compression, *prepared)
                                   : Result<>(std::unexpected(prepared.error()));
      download.join();
      if (!fetched) return fetched;
      emit({PullEvent::Kind::layer_downloaded, d.digest, d.size, d.size, {}});
      if (!unpacked) return unpacked;
      return commit_snapshot(layer, std::move(*prepared));
    }
  }

  Result<> unpack_into(LayerPlan& layer, ByteSource& source, Compression compression, PreparedSnapshot& prepared) {
    auto stats = unpack_layer(source, compression, prepared.fs());
    if (!stats) return std::unexpected(std::move(stats.error()).context(fmt::format("unpack layer {}", layer.blob.digest)));
    if (stats->diff_id != layer.diff_id)
      return error("layer {}: diff ID mismatch: the config says {}, the layer's tar hashes to {}", layer.blob.digest,
                   layer.diff_id, stats->diff_id);
    layer.unpacked_size = static_cast<int64_t>(stats->bytes);
    return {};
  }

  Result<> commit_snapshot(LayerPlan& layer, PreparedSnapshot&& prepared) {
    BERTH_TRY(snapshots_.commit(std::move(prepared), layer.chain_id));
    return store_.record_snapshot(layer.chain_id.str(), layer.parent.empty() ? std::string() : layer.parent.str(),
                                  layer.unpacked_size);
  }

  // Downloads and unpacks every layer: `parallel` workers, each taking the
  // next layer, downloading it and then unpacking it, so a layer unpacks
  // while the following ones download.
  Result<> layers(std::vector<LayerPlan>& plan, int parallel) {
    std::mutex mu;
    size_t next = 0;
    std::optional<Error> failed;
    auto worker = [&] {
      for (;;) {
        LayerPlan* layer = nullptr;
        {
          std::lock_guard lock(mu);
          if (failed || next == plan.size()) return;
          layer = &plan[next++];
        }
        auto r = run_layer(*layer);
        if (!r) {
          std::lock_guard lock(mu);
          if (!failed) failed = std::move(r).error();
          return;
        }
      }
    };
    std::vector<std::thread> threads;
    int n = std::max(1, std::min<int>(parallel, static_cast<int>(plan.size())));
    for (int i = 1; i < n; ++i) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    if (failed) return std::unexpected(std::move(*failed));
    return {};
  }

  Result<> run_layer(LayerPlan& layer) {
    bool have_blob = layer.foreign || content_.has(layer.blob.digest);
    bool have_snapshot = snapshots_.has(layer.chain_id);
    if (have_blob && have_snapshot) {
      emit({PullEvent::Kind::layer_cached, layer.blob.digest, layer.blob.size, layer.blob.size, {}});
      return {};
    }
    if (layer.foreign) {
      log::warn("layer {}: foreign layer ({}) skipped", layer.blob.digest, layer.blob.media_type);
      BERTH_TRY(unpack(layer));
    } else if (!have_blob && !have_snapshot) {
      BERTH_TRY(fetch_and_unpack(layer));
    } else {
      BERTH_TRY(fetch(layer.blob));
      emit({PullEvent::Kind::layer_downloaded, layer.blob.digest, layer.blob.size, layer.blob.size, {}});
      BERTH_TRY(unpack(layer));
    }
    emit({PullEvent::Kind::layer_unpacked, layer.blob.digest, layer.blob.size, layer.blob.size, {}});
    return {};
  }

  int64_t downloaded() const { return downloaded_; }

 private:
  const PullOptions& options_;
  Store& store_;
  ContentStore& content_;
  Snapshots& snapshots_;
  RegistryClient& client_;
  std::string repository_;
  std::mutex progress_mu_;
  std::atomic<int64_t> downloaded_{0};
};

Result<PullResult> pull_one(const Reference& ref, const PullOptions& options, Store& store) {
  BERTH_TRY_ASSIGN(client, RegistryClient::create(ref.registry, options.registry));
  ContentStore& content = store.content();
  Metadata& meta = store.metadata();
  // A write lease for the whole pull: it excludes gc (store.h) while this pull
  // relies on blobs and snapshots it stores or finds already present; each is
  // added to the lease before that. The recorded image keeps them once the
  // lease goes (at return, however the pull ends).
  BERTH_TRY_ASSIGN(lease, store.lease("pull", 24 * 3600, Store::LeaseUse::write));
  oci::Platform want = options.platform ? *options.platform : host_platform();
  PullResult result;
  result.reference = ref;

  BERTH_TRY_ASSIGN(top, client->get_manifest(ref.repository, ref.manifest_reference()));
  FetchedManifest manifest_doc = top;
  std::optional<FetchedManifest> index_doc;
  if (oci::is_index_media_type(top.media_type)) {
    BERTH_TRY_ASSIGN(index, oci::parse_index(top.body));
    BERTH_TRY_ASSIGN(chosen, oci::select_manifest(index, want));
    if (!oci::is_manifest_media_type(chosen.media_type))
      return error("{}: nested index {} for {} is not supported", ref.str(), chosen.digest, oci::platform_string(want));
    if (chosen.size > oci::kMaxManifestSize)
      return error("manifest {}: {} bytes exceeds the limit of {}", chosen.digest, chosen.size, oci::kMaxManifestSize);
    index_doc = std::move(top);
    BERTH_TRY(lease.add(LeaseResource::content, index_doc->digest.str()));
    BERTH_TRY_ASSIGN(m, client->get_manifest(ref.repository, chosen.digest.str()));
    manifest_doc = std::move(m);
  }
  BERTH_TRY(lease.add(LeaseResource::content, manifest_doc.digest.str()));
  BERTH_TRY_ASSIGN(manifest, oci::parse_manifest(manifest_doc.body));
  if (!oci::is_config_media_type(manifest.config.media_type))
    return error("manifest {}: unsupported config media type \"{}\"", manifest_doc.digest, manifest.config.media_type);
  std::vector<oci::LayerType> types;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    auto t = oci::layer_type(manifest.layers[i].media_type);
    if (!t) return error("manifest {}: layers[{}]: {}", manifest_doc.digest, i, t.error().message());
    types.push_back(*t);
  }
  if (options.progress)
    options.progress({PullEvent::Kind::resolved, manifest_doc.digest, 0, 0, ref.str()});

  BERTH_TRY(lease.add(LeaseResource::content, manifest.config.digest.str()));
  BERTH_TRY_ASSIGN(config_text, client->get_blob(ref.repository, manifest.config, kMaxConfigSize));
  BERTH_TRY_ASSIGN(config, oci::parse_image_config(config_text));
  if (config.diff_ids.size() != manifest.layers.size())
    return error("image {}: the config lists {} diff IDs for {} layers", ref.str(), config.diff_ids.size(),
                 manifest.layers.size());
  if (!oci::platform_matches(want, config.platform()))
    log::warn("image {} is for {}, not {}", ref.str(), oci::platform_string(config.platform()),
              oci::platform_string(want));

  auto chain = oci::chain_ids(config.diff_ids);
  std::vector<LayerPlan> plan;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    LayerPlan p;
    p.index = i;
    p.blob = manifest.layers[i];
    p.diff_id = config.diff_ids[i];
    p.chain_id = chain[i];
    if (i > 0) p.parent = chain[i - 1];
    p.foreign = types[i].foreign;
    plan.push_back(std::move(p));
    BERTH_TRY(lease.add(LeaseResource::content, manifest.layers[i].digest.str()));
    BERTH_TRY(lease.add(LeaseResource::snapshot, chain[i].str()));
  }

  Puller puller(options, store, *client, ref.repository);
  BERTH_TRY(puller.layers(plan, options.registry.config.max_concurrent_downloads));

  // The small documents last: an image is recorded only when all it names is stored.
  BERTH_TRY(content.put(config_text, manifest.config.digest));
  BERTH_TRY(content.put(manifest_doc.body, manifest_doc.digest));
  if (index_doc) BERTH_TRY(content.put(index_doc->body, index_doc->digest));

  ImageRecord rec;
  rec.id = manifest.config.digest.str();
  rec.manifest_digest = manifest_doc.digest.str();
  rec.manifest_media_type = manifest_doc.media_type;
  if (index_doc) rec.index_digest = index_doc->digest.str();
  rec.platform = oci::platform_string(oci::normalize_platform(config.platform()));
  rec.created = config.created;
  rec.size = std::ssize(manifest_doc.body) + manifest.config.size;
  for (const auto& p : plan) {
    rec.size += p.blob.size;
    rec.layers.push_back(ImageLayer{p.chain_id.str(), p.diff_id.str(), p.blob.digest.str(), p.blob.media_type,
                                    p.blob.size});
  }
  result.name = ref.tag.empty() ? ref.tag_or_digest() : ref.name() + ":" + ref.tag;
  rec.names.push_back(result.name);
  BERTH_TRY(meta.put_image(rec));

  result.image_id = manifest.config.digest;
  result.manifest_digest = manifest_doc.digest;
  if (index_doc) result.index_digest = index_doc->digest;
  result.platform = config.platform();
  result.downloaded = puller.downloaded();
  if (options.progress) options.progress({PullEvent::Kind::done, result.image_id, 0, 0, result.name});
  return result;
}

}  // namespace

oci::Platform host_platform() {
  struct utsname u {};
  ::uname(&u);
  oci::Platform p;
  p.os = "linux";
  p.architecture = u.machine;
  return oci::normalize_platform(p);
}

Result<PullResult> pull(std::string_view reference, const PullOptions& options) {
  BERTH_TRY_ASSIGN(store, Store::open(options.root));
  return pull(store, reference, options);
}

Result<PullResult> pull(Store& store, std::string_view reference, const PullOptions& options) {
  BERTH_TRY_ASSIGN(candidates, resolve_reference(reference, options.registry.config.unqualified_search_registries));
  std::vector<std::string> failures;
  for (const auto& ref : candidates) {
    auto r = pull_one(ref, options, store);
    if (r) return r;
    if (candidates.size() == 1) return std::unexpected(std::move(r).error());
    failures.push_back(fmt::format("{}: {}", ref.str(), r.error().what()));
  }
  return error("pull {}: no candidate worked: {}", reference, fmt::join(failures, "; "));
}

}  // namespace berth::image
