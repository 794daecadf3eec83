// berth push: a stored image to a registry. Blobs the registry already has
// are skipped (HEAD), blobs of another repository on the same registry are
// mounted across (POST ?mount=&from=), the rest uploaded monolithically or
// in chunks; the manifest goes last, so the image appears complete or not at all.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "image/registry.h"

namespace berth::image {

struct PushEvent {
  enum class Kind { exists, mounted, progress, uploaded, manifest };
  Kind kind;
  oci::Digest digest;
  int64_t done = 0;
  int64_t total = 0;
};

struct PushOptions {
  std::string root = "/var/lib/berth";
  RegistryOptions registry;
  int64_t chunk_size = 0;  // 0: one PUT per blob
  std::function<void(const PushEvent&)> progress;
};

struct PushResult {
  std::string destination;  // normalised reference pushed to
  oci::Digest manifest_digest;
  int uploaded = 0, skipped = 0, mounted = 0;
};

// Pushes the image `source` (a name in the store) to `destination` (a
// reference; defaults to the source's name when empty).
Result<PushResult> push(std::string_view source, std::string_view destination, const PushOptions& options);

// berth login: checks the credentials against the registry, then stores
// them in `auth_file` (default_auth_file() when empty).
Result<> login(std::string_view registry, const Credentials& creds, const RegistryOptions& options,
               const std::string& auth_file);
// berth logout: false when there were no credentials for the registry.
Result<bool> logout(std::string_view registry, const std::string& auth_file);

}  // namespace berth::image
