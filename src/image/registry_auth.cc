#include "image/registry_auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "base/file.h"

namespace berth::image {
namespace {

using json = nlohmann::json;

std::string home() {
  const char* h = std::getenv("HOME");
  return h && *h ? h : "/root";
}

// "https://index.docker.io/v1/" -> "docker.io"; "http://host:5000/" -> "host:5000".
std::string normalize_key(std::string_view key) {
  for (std::string_view scheme : {"https://", "http://"})
    if (key.starts_with(scheme)) key.remove_prefix(scheme.size());
  if (key.starts_with("index.docker.io/v1")) return "docker.io";
  while (key.ends_with('/')) key.remove_suffix(1);
  std::string k(key);
  if (k == "index.docker.io" || k == "registry-1.docker.io") return "docker.io";
  return k;
}

Result<std::optional<Credentials>> decode_entry(const json& entry, const std::string& file, const std::string& key) {
  if (!entry.is_object()) return error("{}: auths[\"{}\"]: must be an object", file, key);
  Credentials c;
  if (auto it = entry.find("identitytoken"); it != entry.end() && it->is_string()) c.identity_token = *it;
  if (auto it = entry.find("auth"); it != entry.end() && it->is_string() && !it->get<std::string>().empty()) {
    auto raw = base64_decode(it->get<std::string>());
    if (!raw) return error("{}: auths[\"{}\"].auth: {}", file, key, raw.error().message());
    auto colon = raw->find(':');
    if (colon == std::string::npos) return error("{}: auths[\"{}\"].auth: no ':' between user and password", file, key);
    c.username = raw->substr(0, colon);
    c.password = raw->substr(colon + 1);
  }
  if (c.username.empty() && c.identity_token.empty()) return std::optional<Credentials>();
  return std::optional<Credentials>(std::move(c));
}

Result<json> load_json(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(std::move(text).error());
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return error("{}: invalid JSON", path);
  return doc;
}

}  // namespace

std::string default_auth_file() {
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) return f;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/containers/auth.json";
  return fmt::format("/run/containers/{}/auth.json", ::getuid());
}

std::vector<std::string> auth_file_search_path(const std::string& override_path) {
  if (!override_path.empty()) return {override_path};
  std::vector<std::string> files = {default_auth_file()};
  const char* xdg_config = std::getenv("XDG_CONFIG_HOME");
  files.push_back((xdg_config && *xdg_config ? std::string(xdg_config) : home() + "/.config") +
                  "/containers/auth.json");
  const char* docker_config = std::getenv("DOCKER_CONFIG");
  files.push_back((docker_config && *docker_config ? std::string(docker_config) : home() + "/.docker") +
                  "/config.json");
  return files;
}

Result<std::optional<Credentials>> find_credentials(const std::vector<std::string>& files, std::string_view registry,
                                                    std::string_view repository) {
  std::string want_registry = normalize_key(registry);
  for (const auto& file : files) {
    auto doc = load_json(file);
    if (!doc) {
      if (doc.error().code() == ENOENT) continue;
      return std::unexpected(std::move(doc).error());
    }
    auto auths = doc->find("auths");
    if (auths == doc->end() || !auths->is_object()) continue;
    // The longest matching key wins: "host/ns/repo", "host/ns", "host".
    const json* best = nullptr;
    std::string best_key;
    size_t best_len = 0;
    std::string full = repository.empty() ? want_registry : want_registry + "/" + std::string(repository);
    for (const auto& [key, entry] : auths->items()) {
      std::string k = normalize_key(key);
      bool match = k == want_registry ||
                   (k.size() > want_registry.size() && full.starts_with(k) &&
                    (full.size() == k.size() || full[k.size()] == '/') && k.starts_with(want_registry + "/"));
      if (match && k.size() > best_len) {
        best = &entry;
        best_key = key;
        best_len = k.size();
      }
    }
    if (best) return decode_entry(*best, file, best_key);
  }
  return std::optional<Credentials>();
}

Result<> store_credentials(const std::string& path, std::string_view key, const Credentials& creds) {
  json doc = json::object();
  if (auto old = load_json(path); old) doc = std::move(*old);
  else if (old.error().code() != ENOENT) return std::unexpected(std::move(old).error());
  if (!doc.contains("auths") || !doc["auths"].is_object()) doc["auths"] = json::object();
  json entry = json::object();
  entry["auth"] = base64_encode(creds.username + ":" + creds.password);
  if (!creds.identity_token.empty()) entry["identitytoken"] = creds.identity_token;
  doc["auths"][std::string(key)] = entry;
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) BERTH_TRY(mkdir_p(path.substr(0, slash), 0700));
  return write_file_atomic(path, doc.dump(1, '\t') + "\n", 0600);
}

Result<bool> remove_credentials(const std::string& path, std::string_view key) {
  auto doc = load_json(path);
  if (!doc) {
    if (doc.error().code() == ENOENT) return false;
    return std::unexpected(std::move(doc).error());
  }
  auto auths = doc->find("auths");
  if (auths == doc->end() || !auths->is_object()) return false;
  std::string want = normalize_key(key);
  bool removed = false;
  for (auto it = auths->begin(); it != auths->end();) {
    if (normalize_key(it.key()) == want) {
      it = auths->erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  if (removed) BERTH_TRY(write_file_atomic(path, doc->dump(1, '\t') + "\n", 0600));
  return removed;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return error("invalid base64 (length {})", text.size());
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return error("invalid base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = 0;
  if (text.ends_with("==")) pad = 2;
  else if (text.ends_with("=")) pad = 1;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::vector<Challenge> parse_www_authenticate(std::string_view h) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
  };
  auto token = [&] {
    size_t start = i;
    while (i < h.size() && h[i] != ' ' && h[i] != '\t' && h[i] != '=' && h[i] != ',') ++i;
    return std::string(h.substr(start, i - start));
  };
  while (true) {
    skip_ws();
    if (i >= h.size()) break;
    Challenge c;
    c.scheme = token();
    if (c.scheme.empty()) {  // a stray '=': skip it
      ++i;
      continue;
    }
    for (auto& ch : c.scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    // Parameters: key=value or key="quoted", comma separated, until the next scheme.
    while (true) {
      skip_ws();
      size_t key_start = i;
      std::string key = token();
      if (key.empty() || i >= h.size() || h[i] != '=') {
        i = key_start;  // the next challenge's scheme (or the end)
        break;
      }
      ++i;  // '='
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        while (i < h.size() && h[i] != '"') {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i++];
        }
        if (i < h.size()) ++i;
      } else {
        size_t start = i;
        while (i < h.size() && h[i] != ',' && h[i] != ' ') ++i;
        value = std::string(h.substr(start, i - start));
      }
      for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.params[key] = value;
    }
    out.push_back(std::move(c));
    if (i >= h.size()) break;
  }
  return out;
}

}  // namespace berth::image
