// RegistryClient's authentication: credentials (--creds or the auth files),
// the answer to a 401's challenge (basic, or a bearer token from the realm,
// docker's OAuth2 refresh-token grant for an identity token), and
// check_login.
#include <nlohmann/json.hpp>

#include "image/registry_internal.h"

namespace berth::image {

using namespace registry_detail;

namespace {

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

}  // namespace

Result<std::optional<Credentials>> RegistryClient::Impl::credentials() {
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

Result<> RegistryClient::Impl::authenticate(Remote& ep, const HttpResponse& r, const std::vector<std::string>& scopes,
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

Result<std::string> RegistryClient::Impl::fetch_token(Remote& ep, const Challenge& ch,
                                                      const std::vector<std::string>& scopes,
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
  nlohmann::json doc = nlohmann::json::parse(resp.body, nullptr, false);
  if (!doc.is_object()) return error("{}: token server {}: invalid JSON", registry, realm->second);
  for (const char* key : {"token", "access_token"})
    if (auto it = doc.find(key); it != doc.end() && it->is_string() && !it->get<std::string>().empty())
      return it->get<std::string>();
  return error("{}: token server {}: no token in the answer", registry, realm->second);
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

}  // namespace berth::image
