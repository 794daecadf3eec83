// RegistryClient: one per registry, its endpoints (mirrors first, then the
// registry's API host) made from the configuration; ping. The rest of the
// client is in registry_*.cc (registry_internal.h lists them).
#include "image/registry.h"

#include "image/registry_internal.h"

namespace berth::image {

using namespace registry_detail;

std::string registry_api_host(std::string_view registry) {
  if (registry == kDockerHub) return "registry-1.docker.io";
  return std::string(registry);
}

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

}  // namespace berth::image
