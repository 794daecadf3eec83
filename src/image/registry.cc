#include "image/registry.h"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "base/log.h"

namespace berth::image {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxErrorBody = 64 << 10;
constexpr long kLowSpeedBytes = 1024;

void curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A pool of connections, DNS answers and TLS sessions shared by the threads.
struct Share {
  CURLSH* sh = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];
  Share() {
    sh = curl_share_init();
    curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, +[](CURL*, curl_lock_data d, curl_lock_access, void* p) {
      static_cast<Share*>(p)->locks[d].lock();
    });
    curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, +[](CURL*, curl_lock_data d, void* p) {
      static_cast<Share*>(p)->locks[d].unlock();
    });
    curl_share_setopt(sh, CURLSHOPT_USERDATA, this);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  ~Share() { curl_share_cleanup(sh); }
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

size_t on_header(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();  // a new response (after a redirect or 100-continue)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = lower(std::string(line.substr(0, colon)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    t->resp->headers.emplace(std::move(name), std::string(value));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->req->sink && status >= 200 && status < 300) {
    auto r = t->req->sink(*t->resp, status, std::as_bytes(std::span(data, len)));
    if (!r) {
      t->sink_error = std::move(r).error();
      return 0;  // aborts the transfer
    }
    return len;
  }
  int64_t limit = (status >= 200 && status < 300) ? t->req->max_body : kMaxErrorBody;
  if (std::ssize(t->resp->body) + std::ssize(std::string_view(data, len)) > limit) {
    t->too_big = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t on_upload(char* buf, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  int64_t left = t->req->upload_length - t->uploaded;
  size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(size * n)));
  if (want == 0) return 0;
  ssize_t got = ::pread(t->req->upload_fd->get(), buf, want, t->req->upload_offset + t->uploaded);
  if (got <= 0) return CURL_READFUNC_ABORT;
  t->uploaded += got;
  return static_cast<size_t>(got);
}

bool transient(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

// The registry's own explanation: {"errors":[{"code":..,"message":..}]}.
std::string registry_error_text(const HttpResponse& r) {
  json doc = json::parse(r.body, nullptr, false);
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array() && !doc["errors"].empty()) {
    std::vector<std::string> parts;
    for (const auto& e : doc["errors"]) {
      if (!e.is_object()) continue;
      std::string code = e.value("code", "");
      std::string message = e.value("message", "");
      parts.push_back(code.empty() ? message : message.empty() ? code : lower(code) + ": " + message);
    }
    if (!parts.empty()) return fmt::format("{}", fmt::join(parts, "; "));
  }
  return fmt::format("HTTP {}", r.status);
}

std::string url_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// A certs.d directory's files: *.crt are CAs, *.cert with its *.key a client pair.
struct TlsFiles {
  std::string ca;
  std::string cert;
  std::string key;
};

TlsFiles tls_files(const std::string& certs_dir, const std::string& host) {
  TlsFiles f;
  std::string dir = certs_dir + "/" + host;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return f;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (n.ends_with(".crt") && (f.ca.empty() || n == "ca.crt")) f.ca = dir + "/" + n;
    if (n.ends_with(".cert")) {
      std::string key = n.substr(0, n.size() - 5) + ".key";
      if (std::find(names.begin(), names.end(), key) != names.end()) {
        f.cert = dir + "/" + n;
        f.key = dir + "/" + key;
      }
    }
  }
  return f;
}

// The OAuth2 refresh-token grant docker sends for an identity token: a form
// POST to the realm (scopes space-separated in one field, RFC 6749 §6).
HttpRequest refresh_token_request(const std::string& realm, const std::string& service,
                                  const std::vector<std::string>& scopes, const std::string& refresh_token,
                                  const std::string& client_id) {
  HttpRequest req;
  req.method = "POST";
  req.url = realm;
  req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
  std::vector<std::string> form{"grant_type=refresh_token", "refresh_token=" + url_escape(refresh_token),
                                "client_id=" + url_escape(client_id)};
  if (!service.empty()) form.push_back("service=" + url_escape(service));
  if (!scopes.empty()) form.push_back("scope=" + url_escape(fmt::format("{}", fmt::join(scopes, " "))));
  req.body = fmt::format("{}", fmt::join(form, "&"));
  return req;
}

struct Remote {
  std::string host;  // host[:port] to connect to
  bool insecure = false;
  bool mirror = false;
  std::once_flag probed;
  std::string scheme = "https";
  TlsFiles tls;
};

}  // namespace

std::string registry_api_host(std::string_view registry) {
  if (registry == kDockerHub) return "registry-1.docker.io";
  return std::string(registry);
}

struct RegistryClient::Impl {
  std::string registry;
  RegistryOptions options;
  Share share;
  std::vector<std::unique_ptr<Remote>> endpoints;  // mirrors first, the registry last
  std::optional<Credentials> creds;
  bool creds_loaded = false;
  std::mutex mu;  // creds, tokens
  std::map<std::string, std::string> auth_headers;  // scope -> "Authorization: ..."

  Remote& primary() { return *endpoints.back(); }

  Result<std::optional<Credentials>> credentials() {
    std::lock_guard lock(mu);
    if (!creds_loaded) {
      if (options.credentials) {
        creds = options.credentials;
      } else {
        auto found = find_credentials(auth_file_search_path(options.config.auth_file), registry);
        if (!found) return std::unexpected(std::move(found).error());
        creds = *found;
      }
      creds_loaded = true;
    }
    return creds;
  }

  void configure(CURL* c, Remote& ep, HttpRequest& req, Transfer& t, curl_slist*& headers) {
    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_SHARE, share.sh);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytes);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.config.low_speed_timeout));
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
    bool verify = !ep.insecure;
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    if (!ep.tls.ca.empty()) {
      curl_easy_setopt(c, CURLOPT_CAINFO, ep.tls.ca.c_str());
      curl_easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
    }
    if (!ep.tls.cert.empty()) {
      curl_easy_setopt(c, CURLOPT_SSLCERT, ep.tls.cert.c_str());
      curl_easy_setopt(c, CURLOPT_SSLKEY, ep.tls.key.c_str());
    }
    for (const auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
    if (req.head) {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req.upload_fd) {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
      curl_easy_setopt(c, CURLOPT_READDATA, &t);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.upload_length));
      headers = curl_slist_append(headers, "Expect:");
    } else if (req.method != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  }

  // One HTTP exchange; `code` gets curl's result.
  Result<HttpResponse> perform(Remote& ep, HttpRequest& req, CURLcode& code) {
    CURL* c = curl_easy_init();
    if (!c) return error("curl: cannot create a handle");
    HttpResponse resp;
    Transfer t{&req, &resp, c, {}, false, 0};
    curl_slist* headers = nullptr;
    configure(c, ep, req, t, headers);
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    char* eff = nullptr;
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
    if (eff) resp.effective_url = eff;
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    if (t.sink_error) {
      code = CURLE_WRITE_ERROR;
      return std::unexpected(std::move(*t.sink_error));
    }
    if (t.too_big) {
      code = CURLE_WRITE_ERROR;
      return error("{} {}: response larger than {} bytes", req.method, req.url, req.max_body);
    }
    if (code != CURLE_OK)
      return error("{} {}: {}", req.method, req.url, errbuf[0] ? errbuf : curl_easy_strerror(code));
    return resp;
  }

  // Decides http or https for an insecure endpoint (podman's order: TLS
  // without verification first, plain HTTP when the server speaks no TLS).
  void probe(Remote& ep) {
    std::call_once(ep.probed, [&] {
      ep.tls = tls_files(options.config.certs_dir, ep.host);
      if (!ep.insecure) return;
      HttpRequest req;
      req.url = "https://" + ep.host + "/v2/";
      CURLcode code = CURLE_OK;
      auto r = perform(ep, req, code);
      if (!r) {
        log::debug("registry {}: no TLS ({}), using plain HTTP", ep.host, r.error().what());
        ep.scheme = "http";
      }
    });
  }

  std::string base(Remote& ep) {
    probe(ep);
    return ep.scheme + "://" + ep.host;
  }

  // Authorization for a 401's challenge: basic, or a bearer token from the realm.
  Result<> authenticate(Remote& ep, const HttpResponse& r, const std::vector<std::string>& scopes,
                        const std::string& scope_key) {
    std::string header;
    auto range = r.headers.equal_range("www-authenticate");
    std::vector<Challenge> challenges;
    for (auto it = range.first; it != range.second; ++it)
      for (auto& c : parse_www_authenticate(it->second)) challenges.push_back(std::move(c));
    BERTH_TRY_ASSIGN(creds, credentials());
    for (const auto& ch : challenges) {
      if (ch.scheme == "bearer") {
        BERTH_TRY_ASSIGN(token, fetch_token(ep, ch, scopes, creds));
        header = "Authorization: Bearer " + token;
        break;
      }
      if (ch.scheme == "basic") {
        if (!creds) return error("{}: authentication required (no credentials; run berth login {})", registry, registry);
        header = "Authorization: Basic " + base64_encode(creds->username + ":" + creds->password);
        break;
      }
    }
    if (header.empty()) return error("{}: unsupported authentication challenge", registry);
    std::lock_guard lock(mu);
    auth_headers[ep.host + " " + scope_key] = header;
    return {};
  }

  Result<std::string> fetch_token(Remote& ep, const Challenge& ch, const std::vector<std::string>& scopes,
                                  const std::optional<Credentials>& creds) {
    auto realm = ch.params.find("realm");
    if (realm == ch.params.end() || realm->second.empty()) return error("{}: bearer challenge without realm", registry);
    std::string service;
    if (auto s = ch.params.find("service"); s != ch.params.end()) service = s->second;
    HttpRequest req;
    if (creds && !creds->identity_token.empty()) {
      // Docker's identity token is an OAuth2 refresh token: POST the
      // refresh-token grant to the realm (docker's fetchTokenWithOAuth).
      req = refresh_token_request(realm->second, service, scopes, creds->identity_token, "berth");
    } else {
      std::vector<std::string> query;
      if (!service.empty()) query.push_back("service=" + url_escape(service));
      for (const auto& scope : scopes) query.push_back("scope=" + url_escape(scope));
      req.url = realm->second;
      if (!query.empty())
        req.url += (req.url.find('?') == std::string::npos ? "?" : "&") + fmt::format("{}", fmt::join(query, "&"));
      if (creds && !creds->username.empty())
        req.headers.push_back("Authorization: Basic " + base64_encode(creds->username + ":" + creds->password));
    }
    req.max_body = 1 << 20;
    CURLcode code = CURLE_OK;
    Remote token_ep;  // the realm is its own host; verification follows the registry's
    token_ep.insecure = ep.insecure;
    token_ep.tls = ep.tls;
    std::call_once(token_ep.probed, [] {});
    BERTH_TRY_ASSIGN(resp, perform(token_ep, req, code));
    if (resp.status == 401 || resp.status == 403 || (resp.status == 400 && req.method == "POST"))
      return error("{}: authentication failed: token server {} answered {}", registry, realm->second,
                   registry_error_text(resp));
    if (resp.status != 200)
      return error("{}: token server {}: {}", registry, realm->second, registry_error_text(resp));
    json doc = json::parse(resp.body, nullptr, false);
    if (!doc.is_object()) return error("{}: token server {}: invalid JSON", registry, realm->second);
    for (const char* key : {"token", "access_token"})
      if (auto it = doc.find(key); it != doc.end() && it->is_string() && !it->get<std::string>().empty())
        return it->get<std::string>();
    return error("{}: token server {}: no token in the answer", registry, realm->second);
  }

  // A request with auth and retries. `prepare` builds the request afresh
  // for each attempt (a resumed download moves its Range).
  Result<HttpResponse> send(Remote& ep, const std::vector<std::string>& scopes,
                            const std::function<Result<>(HttpRequest&)>& prepare) {
    std::string scope_key = fmt::format("{}", fmt::join(scopes, " "));
    bool authed = false;
    int retries = options.config.retries;
    std::optional<Error> last;
    for (int attempt = 0; attempt <= retries;) {
      HttpRequest req;
      BERTH_TRY(prepare(req));
      {
        std::lock_guard lock(mu);
        if (auto it = auth_headers.find(ep.host + " " + scope_key); it != auth_headers.end())
          req.headers.push_back(it->second);
      }
      CURLcode code = CURLE_OK;
      auto r = perform(ep, req, code);
      auto backoff = [&] {
        int ms = std::min(options.backoff_ms << std::min(attempt, 6), 10000);
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        ++attempt;
      };
      if (!r) {
        if (!transient(code)) return std::unexpected(std::move(r).error());
        log::debug("{} (attempt {} of {}), retrying", r.error().what(), attempt + 1, retries + 1);
        last = std::move(r).error();
        backoff();
        continue;
      }
      if (r->status == 401 && !authed) {
        BERTH_TRY(authenticate(ep, *r, scopes, scope_key));
        authed = true;
        continue;
      }
      if (r->status >= 500 || r->status == 429) {
        last = Error(0, fmt::format("{} {}: {}", req.method, req.url, registry_error_text(*r)));
        log::debug("{} (attempt {} of {}), retrying", last->what(), attempt + 1, retries + 1);
        backoff();
        continue;
      }
      return r;
    }
    return std::unexpected(std::move(*last).context(
        fmt::format("{}: gave up after {} attempt{}", registry, retries + 1, retries == 0 ? "" : "s")));
  }

  // One stream from writer.offset() to the end (HTTP Range when resuming).
  Result<int64_t> fetch_sequential(Remote& ep, const std::string& repository, const oci::Descriptor& d,
                                   IngestWriter& writer, const BlobProgress& progress, const BlobPrefix& prefix) {
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

  // The pieces of a blob missing from the ingest, fetched over several
  // connections with Range requests and written in place. The first request
  // probes: a 206 lets the other connections start; a 200 (no range support)
  // ends the ranged attempt (nullopt: fetch in one stream instead). Pieces go
  // out in order, so the written prefix a streaming unpacker reads grows
  // steadily. Each finished piece, and the written part of a failed one, is
  // recorded in the ingest's ranges record for the next pull to resume.
  Result<std::optional<int64_t>> fetch_ranged(Remote& ep, const std::string& repository, const oci::Descriptor& d,
                                              IngestWriter& writer, const BlobProgress& progress,
                                              const BlobPrefix& prefix) {
    const Config& cfg = options.config;
    BERTH_TRY(writer.start_ranges());
    std::vector<ByteRange> done = writer.written_ranges();
    if (writer.offset() > 0) add_range(done, {0, writer.offset()});
    struct Piece {
      ByteRange range;
      int64_t pos;  // next byte to write
      bool active = false;
    };
    std::vector<Piece> pieces;
    for (const auto& r : missing_ranges(done, d.size, cfg.range_chunk_size)) pieces.push_back({r, r.start});
    std::mutex mu;  // everything below
    std::condition_variable cv;
    enum class Mode { probing, ranges, whole } mode = Mode::probing;
    size_t next = 0;
    std::optional<Error> failed;
    int64_t fetched = 0, last_prefix = -1;
    std::mutex record_mu;  // the ranges record, written outside `mu`
    if (prefix) prefix(contiguous_prefix(done));

    // Under `mu`: the written prefix and byte count, counting pieces in flight.
    auto written = [&] {
      std::vector<ByteRange> all = done;
      for (const auto& p : pieces)
        if (p.active && p.pos > p.range.start) all.push_back({p.range.start, p.pos});
      all = merge_ranges(std::move(all));
      return std::pair{contiguous_prefix(all), covered_bytes(all)};
    };
    auto record = [&](std::vector<ByteRange> set) -> Result<> {
      std::lock_guard lock(record_mu);
      return writer.record_ranges(set);
    };
    // One piece, with send()'s retries resuming it where it stopped.
    auto fetch_piece = [&](Piece& piece) -> Result<> {
      BERTH_TRY_ASSIGN(resp, send(ep, pull_scope(repository), [&](HttpRequest& req) -> Result<> {
        req.url = fmt::format("{}/v2/{}/blobs/{}", base(ep), repository, d.digest);
        req.headers.push_back(fmt::format("Range: bytes={}-{}", piece.pos, piece.range.end - 1));
        bool first = true;
        req.sink = [&, first](const HttpResponse& r, long status, std::span<const std::byte> data) mutable -> Result<> {
          if (first) {
            first = false;
            if (status != 206) {
              std::lock_guard lock(mu);
              if (mode == Mode::probing) {
                mode = Mode::whole;
                cv.notify_all();
                return error("blob {}: no range support", d.digest);  // ends this request
              }
              return error("blob {}: the registry answered {} to a range request after answering 206", d.digest,
                           status);
            }
            // "bytes first-last/total": it must be the piece asked for.
            std::string cr = r.header("content-range");
            int64_t first_byte = -1, total = -1;
            if (std::sscanf(cr.c_str(), "bytes %ld-%*d/%ld", &first_byte, &total) < 1 || first_byte != piece.pos ||
                (total >= 0 && total != d.size))
              return error("blob {}: asked for bytes {}-{} of {}, the registry answered \"{}\"", d.digest, piece.pos,
                           piece.range.end - 1, d.size, cr);
            std::lock_guard lock(mu);
            if (mode == Mode::probing) {
              mode = Mode::ranges;
              cv.notify_all();
            }
          }
          if (piece.pos + std::ssize(data) > piece.range.end)
            return error("blob {}: more data than the {} bytes asked for at {}", d.digest,
                         piece.range.end - piece.range.start, piece.range.start);
          BERTH_TRY(writer.write_at(piece.pos, data));
          int64_t covered = 0;
          {
            std::lock_guard lock(mu);
            if (failed) return error("blob {}: stopped (another connection failed)", d.digest);
            piece.pos += std::ssize(data);
            fetched += std::ssize(data);
            int64_t now_prefix = 0;
            std::tie(now_prefix, covered) = written();
            // Under `mu`, so that the reader sees the prefix only grow.
            if (prefix && now_prefix != last_prefix) prefix(now_prefix);
            last_prefix = now_prefix;
          }
          if (progress) progress(covered, d.size);
          return {};
        };
        return {};
      }));
      if (resp.status == 404) return error("blob {} not found in {}/{}", d.digest, registry, repository);
      if (resp.status == 416)
        return error("blob {}: the registry refuses bytes {}-{} (is the blob shorter than {} bytes?)", d.digest,
                     piece.pos, piece.range.end - 1, d.size);
      if (resp.status != 206) return error("blob {}: {}", d.digest, registry_error_text(resp));
      if (piece.pos != piece.range.end)
        return error("blob {}: size mismatch: the registry sent {} of the {} bytes asked for at {}", d.digest,
                     piece.pos - piece.range.start, piece.range.end - piece.range.start, piece.range.start);
      return {};
    };
    auto worker = [&](bool prober) {
      for (;;) {
        Piece* piece = nullptr;
        {
          std::unique_lock lock(mu);
          if (!prober) cv.wait(lock, [&] { return mode != Mode::probing || failed; });
          if (failed || mode == Mode::whole || next == pieces.size()) return;
          piece = &pieces[next++];
          piece->active = true;
        }
        prober = false;
        auto r = fetch_piece(*piece);
        std::vector<ByteRange> snapshot;
        {
          std::lock_guard lock(mu);
          piece->active = false;
          if (piece->pos > piece->range.start) add_range(done, {piece->range.start, piece->pos});
          snapshot = done;
          if (!r && mode != Mode::whole && !failed) failed = std::move(r).error();
          if (!r) cv.notify_all();
        }
        if (piece->pos > piece->range.start) {
          auto rec = record(std::move(snapshot));
          if (!rec) {
            std::lock_guard lock(mu);
            if (!failed) failed = std::move(rec).error();
            cv.notify_all();
          }
        }
        if (!r) return;
      }
    };
    if (!pieces.empty()) {
      int n = std::max(1, std::min<int>(cfg.max_connections_per_layer, static_cast<int>(pieces.size())));
      std::vector<std::thread> threads;
      for (int i = 1; i < n; ++i) threads.emplace_back(worker, false);
      worker(true);
      for (auto& t : threads) t.join();
    }
    if (failed) return std::unexpected(std::move(*failed));
    if (mode == Mode::whole) return std::optional<int64_t>();
    if (contiguous_prefix(done) != d.size)
      return error("blob {}: ranged download ended with {} of {} bytes", d.digest, covered_bytes(done), d.size);
    writer.set_offset(d.size);
    if (prefix) prefix(d.size);
    return std::optional<int64_t>(fetched);
  }

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

RegistryClient::RegistryClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RegistryClient::~RegistryClient() = default;

const std::string& RegistryClient::registry() const { return impl_->registry; }

Result<std::unique_ptr<RegistryClient>> RegistryClient::create(std::string_view registry, RegistryOptions options) {
  curl_global();
  auto impl = std::make_unique<Impl>();
  impl->registry = std::string(registry);
  bool insecure_all = options.tls_verify.has_value() && !*options.tls_verify;
  if (const RegistryEntry* e = options.config.registry(registry)) {
    if (e->blocked) return error("registry {} is blocked in the configuration", registry);
    for (const auto& mirror : e->mirrors) {
      auto ep = std::make_unique<Remote>();
      ep->host = mirror.location;
      ep->insecure = mirror.insecure || insecure_all;
      ep->mirror = true;
      impl->endpoints.push_back(std::move(ep));
    }
  }
  auto ep = std::make_unique<Remote>();
  ep->host = registry_api_host(registry);
  ep->insecure = insecure_all || options.config.insecure(registry);
  if (options.tls_verify.has_value() && *options.tls_verify) ep->insecure = false;
  impl->endpoints.push_back(std::move(ep));
  impl->options = std::move(options);
  return std::unique_ptr<RegistryClient>(new RegistryClient(std::move(impl)));
}

Result<> RegistryClient::ping() {
  Impl& m = *impl_;
  Remote& ep = m.primary();
  BERTH_TRY_ASSIGN(resp, m.send(ep, {}, [&](HttpRequest& req) -> Result<> {
    req.url = m.base(ep) + "/v2/";
    return {};
  }));
  if (resp.status == 200) return {};
  if (resp.status == 401) return error("{}: authentication failed: {}", m.registry, registry_error_text(resp));
  return error("{}: /v2/ answered {} (not a Distribution v2 registry?)", m.registry, registry_error_text(resp));
}

Result<> RegistryClient::check_login(const Credentials& credentials) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->creds = credentials;
    impl_->creds_loaded = true;
    impl_->auth_headers.clear();
  }
  return ping();
}

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
