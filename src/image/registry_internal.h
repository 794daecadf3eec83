// The insides of RegistryClient shared by its files: the HTTP exchange over
// libcurl (registry_http.cc), auth and tokens (registry_token.cc), manifests
// (registry_manifest.cc), blob downloads in one stream or in ranges
// (registry_blob.cc, registry_blob_ranged.cc) and push (registry_push.cc).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <curl/curl.h>

#include "base/log.h"
#include "image/registry.h"

namespace berth::image::registry_detail {

inline constexpr int64_t kMaxErrorBody = 64 << 10;
inline constexpr long kLowSpeedBytes = 1024;

void curl_global();

std::string lower(std::string s);

// A pool of connections, DNS answers and TLS sessions shared by the threads.
struct Share {
  CURLSH* sh = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];
  Share();
  ~Share();
};

struct HttpResponse {
  long status = 0;
  std::multimap<std::string, std::string> headers;  // lowercased names
  std::string body;
  std::string effective_url;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  std::string body;                   // PUT/PATCH/POST from memory
  const UniqueFd* upload_fd = nullptr;  // ... or from a file range
  int64_t upload_offset = 0;
  int64_t upload_length = 0;
  // Receives the body of a 2xx answer (with the response's status and
  // headers); other bodies are kept for the error.
  std::function<Result<>(const HttpResponse&, long status, std::span<const std::byte>)> sink;
  int64_t max_body = oci::kMaxManifestSize;
  bool head = false;
};

struct Transfer {
  HttpRequest* req;
  HttpResponse* resp;
  CURL* curl;
  std::optional<Error> sink_error;
  bool too_big = false;
  int64_t uploaded = 0;
};

// Whether curl's failure is worth a retry (the connection, not the request).
bool transient(CURLcode c);

// The registry's own explanation: {"errors":[{"code":..,"message":..}]}.
std::string registry_error_text(const HttpResponse& r);

std::string url_escape(std::string_view s);

// A certs.d directory's files: *.crt are CAs, *.cert with its *.key a client pair.
struct TlsFiles {
  std::string ca;
  std::string cert;
  std::string key;
};

TlsFiles tls_files(const std::string& certs_dir, const std::string& host);

struct Remote {
  std::string host;  // host[:port] to connect to
  bool insecure = false;
  bool mirror = false;
  std::once_flag probed;
  std::string scheme = "https";
  TlsFiles tls;
};

}  // namespace berth::image::registry_detail

namespace berth::image {

struct RegistryClient::Impl {
  using Remote = registry_detail::Remote;
  using HttpRequest = registry_detail::HttpRequest;
  using HttpResponse = registry_detail::HttpResponse;

  std::string registry;
  RegistryOptions options;
  registry_detail::Share share;
  std::vector<std::unique_ptr<Remote>> endpoints;  // mirrors first, the registry last
  std::optional<Credentials> creds;
  bool creds_loaded = false;
  std::mutex mu;  // creds, tokens
  std::map<std::string, std::string> auth_headers;  // scope -> "Authorization: ..."

  Remote& primary() { return *endpoints.back(); }

  // --- registry_token.cc
  Result<std::optional<Credentials>> credentials();
  // Authorization for a 401's challenge: basic, or a bearer token from the realm.
  Result<> authenticate(Remote& ep, const HttpResponse& r, const std::vector<std::string>& scopes,
                        const std::string& scope_key);
  Result<std::string> fetch_token(Remote& ep, const Challenge& ch, const std::vector<std::string>& scopes,
                                  const std::optional<Credentials>& creds);

  // --- registry_http.cc
  void configure(CURL* c, Remote& ep, HttpRequest& req, registry_detail::Transfer& t, curl_slist*& headers);
  // One HTTP exchange; `code` gets curl's result.
  Result<HttpResponse> perform(Remote& ep, HttpRequest& req, CURLcode& code);
  // Decides http or https for an insecure endpoint (podman's order: TLS
  // without verification first, plain HTTP when the server speaks no TLS).
  void probe(Remote& ep);
  std::string base(Remote& ep);
  // A request with auth and retries. `prepare` builds the request afresh
  // for each attempt (a resumed download moves its Range).
  Result<HttpResponse> send(Remote& ep, const std::vector<std::string>& scopes,
                            const std::function<Result<>(HttpRequest&)>& prepare);

  // --- registry_blob.cc
  // One stream from writer.offset() to the end (HTTP Range when resuming).
  Result<int64_t> fetch_sequential(Remote& ep, const std::string& repository, const oci::Descriptor& d,
                                   IngestWriter& writer, const BlobProgress& progress, const BlobPrefix& prefix);

  // --- registry_blob_ranged.cc
  // The pieces of a blob missing from the ingest, fetched over several
  // connections with Range requests and written in place. The first request
  // probes: a 206 lets the other connections start; a 200 (no range support)
  // ends the ranged attempt (nullopt: fetch in one stream instead). Pieces go
  // out in order, so the written prefix a streaming unpacker reads grows
  // steadily. Each finished piece, and the written part of a failed one, is
  // recorded in the ingest's ranges record for the next pull to resume.
  Result<std::optional<int64_t>> fetch_ranged(Remote& ep, const std::string& repository, const oci::Descriptor& d,
                                              IngestWriter& writer, const BlobProgress& progress,
                                              const BlobPrefix& prefix);

  static std::vector<std::string> pull_scope(const std::string& repo) { return {"repository:" + repo + ":pull"}; }
  static std::vector<std::string> push_scope(const std::string& repo) { return {"repository:" + repo + ":pull,push"}; }

  // Runs `op` against each pull endpoint (mirrors first) until one succeeds.
  template <typename T>
  Result<T> on_pull_endpoints(const std::function<Result<T>(Remote&)>& op) {
    std::optional<Error> last;
    for (auto& ep : endpoints) {
      auto r = op(*ep);
      if (r) return r;
      if (ep->mirror) log::debug("mirror {}: {}", ep->host, r.error().what());
      last = std::move(r).error();
    }
    return std::unexpected(std::move(*last));
  }
};

}  // namespace berth::image
