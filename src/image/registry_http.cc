// RegistryClient's HTTP exchange: one curl easy handle per request on the
// shared pool, the TLS files of certs.d, http or https for an insecure
// registry, and send(): authentication on a 401 and retries with backoff.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "image/registry_internal.h"

namespace berth::image {
namespace registry_detail {
namespace {

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

}  // namespace

void curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Share::Share() {
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

Share::~Share() { curl_share_cleanup(sh); }

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

std::string registry_error_text(const HttpResponse& r) {
  nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
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

}  // namespace registry_detail

using namespace registry_detail;

void RegistryClient::Impl::configure(CURL* c, Remote& ep, HttpRequest& req, Transfer& t, curl_slist*& headers) {
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

Result<HttpResponse> RegistryClient::Impl::perform(Remote& ep, HttpRequest& req, CURLcode& code) {
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

void RegistryClient::Impl::probe(Remote& ep) {
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

std::string RegistryClient::Impl::base(Remote& ep) {
  probe(ep);
  return ep.scheme + "://" + ep.host;
}

Result<HttpResponse> RegistryClient::Impl::send(Remote& ep, const std::vector<std::string>& scopes,
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

}  // namespace berth::image
