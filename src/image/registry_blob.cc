// Blob downloads: a small blob read whole and verified (get_blob), a layer
// into its ingest (fetch_blob: in ranges when large enough, see
// registry_blob_ranged.cc, else in one stream resuming at the ingest's offset).
#include "image/registry_internal.h"

namespace berth::image {

using namespace registry_detail;

Result<int64_t> RegistryClient::Impl::fetch_sequential(Remote& ep, const std::string& repository,
                                                       const oci::Descriptor& d, IngestWriter& writer,
                                                       const BlobProgress& progress, const BlobPrefix& prefix) {
  int64_t fetched = 0;
  if (prefix) prefix(writer.offset());
  for (int round = 0; round < 3; ++round) {
    if (writer.offset() == d.size) return fetched;
    int64_t start = 0;
    bool restarted = false;
    BERTH_TRY_ASSIGN(resp, send(ep, pull_scope(repository), [&](HttpRequest& req) -> Result<> {
      start = writer.offset();
      restarted = false;
      req.url = fmt::format("{}/v2/{}/blobs/{}", base(ep), repository, d.digest);
      if (start > 0) req.headers.push_back(fmt::format("Range: bytes={}-", start));
      req.sink = [&](const HttpResponse&, long status, std::span<const std::byte> data) -> Result<> {
        // A 200 to a ranged request is the whole blob again.
        if (status == 200 && start > 0 && !restarted) {
          BERTH_TRY(writer.restart());
          restarted = true;
          if (prefix) prefix(0);
        }
        BERTH_TRY(writer.write(data));
        fetched += std::ssize(data);
        if (prefix) prefix(writer.offset());
        if (progress) progress(writer.offset(), d.size);
        return {};
      };
      return {};
    }));
    if (resp.status == 416) {  // nothing after our offset: start over
      BERTH_TRY(writer.restart());
      if (prefix) prefix(0);
      continue;
    }
    if (resp.status == 404) return error("blob {} not found in {}/{}", d.digest, registry, repository);
    if (resp.status != 200 && resp.status != 206) return error("blob {}: {}", d.digest, registry_error_text(resp));
    if (writer.offset() != d.size)
      return error("blob {}: size mismatch: the registry sent {} bytes, expected {}", d.digest, writer.offset(),
                   d.size);
    return fetched;
  }
  return error("blob {}: the registry refuses the byte range", d.digest);
}

Result<std::string> RegistryClient::get_blob(const std::string& repository, const oci::Descriptor& d,
                                             int64_t max_size) {
  if (d.size > max_size) return error("blob {}: {} bytes exceeds the limit of {}", d.digest, d.size, max_size);
  Impl& m = *impl_;
  return m.on_pull_endpoints<std::string>([&](Remote& ep) -> Result<std::string> {
    BERTH_TRY_ASSIGN(resp, m.send(ep, Impl::pull_scope(repository), [&](HttpRequest& req) -> Result<> {
      req.url = fmt::format("{}/v2/{}/blobs/{}", m.base(ep), repository, d.digest);
      req.max_body = max_size;
      return {};
    }));
    if (resp.status != 200) return error("blob {}: {}", d.digest, registry_error_text(resp));
    if (std::ssize(resp.body) != d.size)
      return error("blob {}: size mismatch: got {} bytes, expected {}", d.digest, resp.body.size(), d.size);
    BERTH_TRY_ASSIGN(h, Hasher::create(d.digest.algorithm));
    h.update(resp.body);
    if (h.digest() != d.digest) return error("blob {}: digest mismatch: the data hashes to {}", d.digest, h.digest());
    return std::move(resp.body);
  });
}

Result<int64_t> RegistryClient::fetch_blob(const std::string& repository, const oci::Descriptor& d,
                                           IngestWriter& writer, const BlobProgress& progress,
                                           const BlobPrefix& prefix) {
  Impl& m = *impl_;
  const Config& cfg = m.options.config;
  bool ranged = cfg.max_connections_per_layer > 1 && d.size >= cfg.range_min_size && d.size > cfg.range_chunk_size;
  return m.on_pull_endpoints<int64_t>([&](Remote& ep) -> Result<int64_t> {
    if (ranged) {
      BERTH_TRY_ASSIGN(got, m.fetch_ranged(ep, repository, d, writer, progress, prefix));
      if (got) return *got;
      log::debug("blob {}: {} answers ranges with the whole blob: one stream", d.digest, ep.host);
    }
    return m.fetch_sequential(ep, repository, d, writer, progress, prefix);
  });
}

}  // namespace berth::image
