// berth.toml, the image side (registries.conf's v2 shape, as podman users
// know it). Every key has a default; no file is needed.
//
//   unqualified-search-registries = ["docker.io"]
//   [pull]
//   max-concurrent-downloads = 3      # layers in flight at once
//   retries = 5                       # per request, with backoff
//   low-speed-timeout = 30            # seconds below 1 KiB/s = a hanging registry
//   certs-dir = "/etc/berth/certs.d"  # <host:port>/{ca.crt,client.cert,client.key}
//   auth-file = ""                    # default: podman's and docker's auth files
//   range-min-size = 33554432         # a layer this big downloads in ranges...
//   range-chunk-size = 8388608        # ...of this many bytes...
//   max-connections-per-layer = 4     # ...over this many connections (1: one stream)
//   [[registry]]
//   location = "localhost:5000"
//   insecure = true                   # plain HTTP / no TLS verification
//   blocked = false
//   [[registry.mirror]]
//   location = "mirror.example:5000"
//   insecure = false
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::image {

inline constexpr std::string_view kDefaultConfigPath = "/etc/berth/berth.toml";
inline constexpr std::string_view kDefaultCertsDir = "/etc/berth/certs.d";

struct Endpoint {
  std::string location;  // host[:port][/path prefix]
  bool insecure = false;
};

struct RegistryEntry {
  std::string location;  // "docker.io", "localhost:5000"
  bool insecure = false;
  bool blocked = false;
  std::vector<Endpoint> mirrors;
};

struct Config {
  std::vector<std::string> unqualified_search_registries;
  std::vector<RegistryEntry> registries;
  int max_concurrent_downloads = 3;
  int retries = 5;
  int low_speed_timeout = 30;
  // Ranged download of one large layer (registry.h): layers of at least
  // range_min_size bytes go in range_chunk_size pieces over up to
  // max_connections_per_layer connections when the registry answers 206.
  int64_t range_min_size = 32 << 20;
  int64_t range_chunk_size = 8 << 20;
  int max_connections_per_layer = 4;
  std::string certs_dir = std::string(kDefaultCertsDir);
  std::string auth_file;

  // The entry for a registry host (exact location match), if any.
  const RegistryEntry* registry(std::string_view location) const;
  bool insecure(std::string_view location) const;
};

// Parses TOML text; errors name the key ("berth.toml: registry[1].insecure: must be a boolean").
Result<Config> parse_config_toml(std::string_view text, std::string_view source = "berth.toml");
// Loads `path`; a missing file gives the defaults unless `required` (an
// explicit --config must exist).
Result<Config> load_config(const std::string& path, bool required);
// --config if given, else $BERTH_CONFIG, else /etc/berth/berth.toml.
Result<Config> load_config_default(const std::optional<std::string>& explicit_path);

}  // namespace berth::image
