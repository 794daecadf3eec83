// RegistryClient::get_manifest: a manifest or index by tag or digest, its
// media type checked (or sniffed when the registry's is generic) and its
// digest verified when asked for by digest.
#include "image/registry_internal.h"

namespace berth::image {

using namespace registry_detail;

Result<FetchedManifest> RegistryClient::get_manifest(const std::string& repository, const std::string& reference) {
  Impl& m = *impl_;
  return m.on_pull_endpoints<FetchedManifest>([&](Remote& ep) -> Result<FetchedManifest> {
    BERTH_TRY_ASSIGN(resp, m.send(ep, Impl::pull_scope(repository), [&](HttpRequest& req) -> Result<> {
      req.url = fmt::format("{}/v2/{}/manifests/{}", m.base(ep), repository, reference);
      req.headers.push_back(fmt::format("Accept: {}, {}, {}, {}", oci::media::oci_index, oci::media::oci_manifest,
                                        oci::media::docker_manifest_list, oci::media::docker_manifest));
      req.max_body = oci::kMaxManifestSize;
      return {};
    }));
    std::string what = fmt::format("{}/{}:{}", m.registry, repository, reference);
    if (resp.status == 404) return error("manifest {} not found: {}", what, registry_error_text(resp));
    if (resp.status == 401 || resp.status == 403)
      return error("manifest {}: access denied: {}", what, registry_error_text(resp));
    if (resp.status != 200) return error("manifest {}: {}", what, registry_error_text(resp));
    FetchedManifest out;
    out.body = std::move(resp.body);
    std::string type = resp.header("content-type");
    if (auto semi = type.find(';'); semi != std::string::npos) type.resize(semi);
    if (!oci::is_manifest_media_type(type) && !oci::is_index_media_type(type)) {
      // Generic types (application/json, text/plain): believe the document.
      if (type.empty() || type == "application/json" || type == "text/plain" || type == "application/octet-stream") {
        BERTH_TRY_ASSIGN(sniffed, oci::sniff_manifest_media_type(out.body));
        type = sniffed;
      }
      if (!oci::is_manifest_media_type(type) && !oci::is_index_media_type(type))
        return error("manifest {}: unsupported media type \"{}\"", what, type);
    }
    out.media_type = type;
    if (oci::is_manifest_media_type(type) || oci::is_index_media_type(type)) {
      // A declared mediaType in the body must agree with the transport's.
      auto declared = oci::sniff_manifest_media_type(out.body);
      if (!declared) return error("manifest {}: {}", what, declared.error().message());
    }
    if (reference.starts_with("sha256:") || reference.starts_with("sha512:")) {
      BERTH_TRY_ASSIGN(want, oci::parse_digest(reference));
      BERTH_TRY_ASSIGN(h, Hasher::create(want.algorithm));
      h.update(out.body);
      if (h.digest() != want)
        return error("manifest {}: digest mismatch: the registry's answer hashes to {}", what, h.digest());
    }
    out.digest = oci::sha256_digest(out.body);
    if (out.body.size() > 64 * 1024) {
      auto h = Hasher::create("sha256");
      h->update(out.body);
      out.digest = h->digest();
    }
    return out;
  });
}

}  // namespace berth::image
