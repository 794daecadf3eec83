// A Distribution API v2 client over libcurl: one per registry, shared by the
// threads of a pull (a CURLSH shares connections, DNS and TLS sessions; HTTP/2
// over TLS). Auth: anonymous, basic, and the bearer-token flow of
// WWW-Authenticate (tokens cached per scope). TLS with the system CAs plus
// <certs-dir>/<host:port>/{ca.crt,client.cert,client.key}; plain HTTP only
// for insecure registries. Pull requests go to the configured mirrors first.
// Transient failures (5xx, 429, connection reset, timeouts, a registry too
// slow for the low-speed limit) are retried with backoff; a blob download
// resumes from what its ingest already has (HTTP Range). A large blob comes
// in ranges over several connections (config.h's range-* keys).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "image/config.h"
#include "image/content_store.h"
#include "image/reference.h"
#include "image/registry_auth.h"
#include "oci/image.h"

namespace berth::image {

struct RegistryOptions {
  Config config;                           // insecure registries, mirrors, certs, retries, timeouts
  std::optional<bool> tls_verify;          // --tls-verify: false allows plain HTTP / unverified TLS
  std::optional<Credentials> credentials;  // --creds; else the auth files
  std::string user_agent = "berth/" BERTH_VERSION;
  // Milliseconds before the first retry (doubling each time); tests lower it.
  int backoff_ms = 250;
};

struct FetchedManifest {
  std::string media_type;  // from Content-Type, or sniffed when generic
  std::string body;
  oci::Digest digest;      // sha256 of body
};

// Bytes of one blob arriving (for progress bars): called from download threads.
using BlobProgress = std::function<void(int64_t done, int64_t total)>;
// The contiguous prefix [0, n) of a blob written to its ingest so far (for a
// reader streaming the download); it may drop to 0 when the download restarts.
using BlobPrefix = std::function<void(int64_t n)>;

class RegistryClient {
 public:
  // `registry` is a reference's host[:port] ("docker.io" talks to registry-1.docker.io).
  static Result<std::unique_ptr<RegistryClient>> create(std::string_view registry, RegistryOptions options);
  ~RegistryClient();

  const std::string& registry() const;

  // GET /v2/ on the primary endpoint: reachability and credentials.
  Result<> ping();
  // Checks `credentials` against the registry (berth login).
  Result<> check_login(const Credentials& credentials);

  // The manifest or index `reference` (tag or digest) of `repository`: its
  // media type must be one Berth knows, its size at most kMaxManifestSize,
  // and when `reference` is a digest the body must hash to it.
  Result<FetchedManifest> get_manifest(const std::string& repository, const std::string& reference);
  // A small blob (config) read whole and verified.
  Result<std::string> get_blob(const std::string& repository, const oci::Descriptor& d, int64_t max_size);
  // Downloads a blob into `writer`, retrying transient failures, and
  // returns the bytes received; the caller commits. A blob of at least
  // config.range_min_size bytes goes in ranges over several connections when
  // the registry answers 206 (resuming only the ranges the ingest lacks);
  // others, and registries without range support, in one stream resuming at
  // writer.offset().
  Result<int64_t> fetch_blob(const std::string& repository, const oci::Descriptor& d, IngestWriter& writer,
                             const BlobProgress& progress, const BlobPrefix& prefix = {});

  // --- push
  Result<bool> blob_exists(const std::string& repository, const oci::Digest& d);
  // Cross-repository mount; false when the registry wants an upload instead.
  Result<bool> mount_blob(const std::string& repository, const std::string& from, const oci::Digest& d);
  // Uploads a blob from a content-store fd: monolithic (one PUT) when
  // chunk_size is 0, else PATCHes of chunk_size bytes then the final PUT.
  Result<> upload_blob(const std::string& repository, const oci::Descriptor& d, const UniqueFd& fd,
                       int64_t chunk_size, const BlobProgress& progress);
  Result<> put_manifest(const std::string& repository, const std::string& reference, std::string_view media_type,
                        std::string_view body);

  struct Impl;

 private:
  explicit RegistryClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The API host of a registry name ("docker.io" -> "registry-1.docker.io").
std::string registry_api_host(std::string_view registry);

}  // namespace berth::image
