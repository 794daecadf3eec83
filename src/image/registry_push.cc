// Push: blob existence, cross-repository mounts, uploads (monolithic or
// chunked) and manifests.
#include "image/registry_internal.h"

namespace berth::image {

using namespace registry_detail;

Result<bool> RegistryClient::blob_exists(const std::string& repository, const oci::Digest& d) {
  Impl& m = *impl_;
  Remote& ep = m.primary();
  BERTH_TRY_ASSIGN(resp, m.send(ep, Impl::push_scope(repository), [&](HttpRequest& req) -> Result<> {
    req.url = fmt::format("{}/v2/{}/blobs/{}", m.base(ep), repository, d);
    req.head = true;
    return {};
  }));
  if (resp.status == 200) return true;
  if (resp.status == 404) return false;
  return error("blob {}: HEAD answered {}", d, registry_error_text(resp));
}

Result<bool> RegistryClient::mount_blob(const std::string& repository, const std::string& from, const oci::Digest& d) {
  Impl& m = *impl_;
  Remote& ep = m.primary();
  std::vector<std::string> scopes = Impl::push_scope(repository);
  scopes.push_back("repository:" + from + ":pull");
  BERTH_TRY_ASSIGN(resp, m.send(ep, scopes, [&](HttpRequest& req) -> Result<> {
    req.method = "POST";
    req.url = fmt::format("{}/v2/{}/blobs/uploads/?mount={}&from={}", m.base(ep), repository, url_escape(d.str()),
                          url_escape(from));
    return {};
  }));
  if (resp.status == 201) return true;
  if (resp.status == 202) return false;  // an upload session instead; abandoned
  return error("mount blob {} from {}: {}", d, from, registry_error_text(resp));
}

namespace {

// Location headers may be relative to the registry.
std::string absolute(const std::string& base, const std::string& location) {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  return base + (location.starts_with('/') ? "" : "/") + location;
}

std::string with_query(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

}  // namespace

Result<> RegistryClient::upload_blob(const std::string& repository, const oci::Descriptor& d, const UniqueFd& fd,
                                     int64_t chunk_size, const BlobProgress& progress) {
  Impl& m = *impl_;
  Remote& ep = m.primary();
  auto scopes = Impl::push_scope(repository);
  BERTH_TRY_ASSIGN(start, m.send(ep, scopes, [&](HttpRequest& req) -> Result<> {
    req.method = "POST";
    req.url = fmt::format("{}/v2/{}/blobs/uploads/", m.base(ep), repository);
    return {};
  }));
  if (start.status != 202) return error("upload blob {}: {}", d.digest, registry_error_text(start));
  std::string location = absolute(m.base(ep), start.header("location"));
  int64_t offset = 0;
  if (chunk_size > 0) {
    while (offset < d.size) {
      int64_t len = std::min(chunk_size, d.size - offset);
      BERTH_TRY_ASSIGN(resp, m.send(ep, scopes, [&](HttpRequest& req) -> Result<> {
        req.method = "PATCH";
        req.url = location;
        req.upload_fd = &fd;
        req.upload_offset = offset;
        req.upload_length = len;
        req.headers.push_back("Content-Type: application/octet-stream");
        req.headers.push_back(fmt::format("Content-Range: {}-{}", offset, offset + len - 1));
        return {};
      }));
      if (resp.status != 202) return error("upload blob {} (chunk at {}): {}", d.digest, offset, registry_error_text(resp));
      location = absolute(m.base(ep), resp.header("location"));
      offset += len;
      if (progress) progress(offset, d.size);
    }
  }
  BERTH_TRY_ASSIGN(done, m.send(ep, scopes, [&](HttpRequest& req) -> Result<> {
    req.method = "PUT";
    req.url = with_query(location, "digest=" + url_escape(d.digest.str()));
    req.headers.push_back("Content-Type: application/octet-stream");
    if (chunk_size == 0) {
      req.upload_fd = &fd;
      req.upload_offset = 0;
      req.upload_length = d.size;
    }
    return {};
  }));
  if (done.status != 201) return error("upload blob {}: {}", d.digest, registry_error_text(done));
  if (progress) progress(d.size, d.size);
  return {};
}

Result<> RegistryClient::put_manifest(const std::string& repository, const std::string& reference,
                                      std::string_view media_type, std::string_view body) {
  Impl& m = *impl_;
  Remote& ep = m.primary();
  BERTH_TRY_ASSIGN(resp, m.send(ep, Impl::push_scope(repository), [&](HttpRequest& req) -> Result<> {
    req.method = "PUT";
    req.url = fmt::format("{}/v2/{}/manifests/{}", m.base(ep), repository, reference);
    req.body = std::string(body);
    req.headers.push_back(fmt::format("Content-Type: {}", media_type));
    return {};
  }));
  if (resp.status != 201) return error("push manifest {}/{}:{}: {}", m.registry, repository, reference,
                                       registry_error_text(resp));
  return {};
}

}  // namespace berth::image
