// Registry credentials and challenges: the auth.json files podman and docker
// keep (podman's containers-auth.json(5) format, docker's config.json), and
// the WWW-Authenticate header of a 401.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::image {

struct Credentials {
  std::string username;
  std::string password;
  // An OAuth2 refresh token (docker's "identitytoken"); used instead of the password.
  std::string identity_token;
};

// The file `berth login` writes, podman's: $REGISTRY_AUTH_FILE, else
// $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/<uid>/auth.json.
std::string default_auth_file();
// The files searched for credentials, in order: `override` alone when given;
// else default_auth_file(), ~/.config/containers/auth.json, ~/.docker/config.json.
std::vector<std::string> auth_file_search_path(const std::string& override_path);

// Credentials for `registry` (host[:port]); `repository` lets a
// "registry/namespace" key match the longest prefix, as podman does. Docker
// Hub's legacy key "https://index.docker.io/v1/" counts as docker.io.
Result<std::optional<Credentials>> find_credentials(const std::vector<std::string>& files,
                                                    std::string_view registry, std::string_view repository = {});
// Adds or replaces the entry of `key` in `path` (created 0600, atomically).
Result<> store_credentials(const std::string& path, std::string_view key, const Credentials& creds);
// Removes the entry; false when there was none.
Result<bool> remove_credentials(const std::string& path, std::string_view key);

std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

// One challenge of a WWW-Authenticate header: scheme ("bearer", lowercased)
// and parameters (realm, service, scope, error).
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
std::vector<Challenge> parse_www_authenticate(std::string_view header);

}  // namespace berth::image
