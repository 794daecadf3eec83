#include "image/config.h"

#include <cerrno>
#include <cstdlib>

#include <toml++/toml.h>

#include "base/file.h"

namespace berth::image {
namespace {

std::string key_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

Result<> get_bool(const toml::table& t, std::string_view parent, std::string_view key, bool& out) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  auto v = n->value<bool>();
  if (!n->is_boolean() || !v) return error("{}: must be a boolean", key_path(parent, key));
  out = *v;
  return {};
}

Result<> get_string(const toml::table& t, std::string_view parent, std::string_view key, std::string& out) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (!n->is_string()) return error("{}: must be a string", key_path(parent, key));
  out = *n->value<std::string>();
  return {};
}

Result<> get_int(const toml::table& t, std::string_view parent, std::string_view key, int& out, int lo, int hi) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (!n->is_integer()) return error("{}: must be an integer", key_path(parent, key));
  int64_t v = *n->value<int64_t>();
  if (v < lo || v > hi) return error("{}: must be between {} and {}", key_path(parent, key), lo, hi);
  out = static_cast<int>(v);
  return {};
}

Result<> get_int64(const toml::table& t, std::string_view parent, std::string_view key, int64_t& out, int64_t lo,
                   int64_t hi) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (!n->is_integer()) return error("{}: must be an integer", key_path(parent, key));
  int64_t v = *n->value<int64_t>();
  if (v < lo || v > hi) return error("{}: must be between {} and {}", key_path(parent, key), lo, hi);
  out = v;
  return {};
}

Result<> get_strings(const toml::table& t, std::string_view parent, std::string_view key,
                     std::vector<std::string>& out) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  const toml::array* a = n->as_array();
  if (!a) return error("{}: must be an array of strings", key_path(parent, key));
  out.clear();
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& item = *a->get(i);
    if (!item.is_string()) return error("{}[{}]: must be a string", key_path(parent, key), i);
    out.push_back(*item.value<std::string>());
  }
  return {};
}

Result<> check_keys(const toml::table& t, std::string_view parent, std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (auto name : known) ok = ok || k.str() == name;
    if (!ok) return error("{}: unknown key", key_path(parent, k.str()));
  }
  return {};
}

Result<> read_endpoint_fields(const toml::table& t, const std::string& path, std::string& location, bool& insecure) {
  BERTH_TRY(get_string(t, path, "location", location));
  if (location.empty()) return error("{}: required", key_path(path, "location"));
  BERTH_TRY(get_bool(t, path, "insecure", insecure));
  return {};
}

}  // namespace

const RegistryEntry* Config::registry(std::string_view location) const {
  for (const auto& r : registries)
    if (r.location == location) return &r;
  return nullptr;
}

bool Config::insecure(std::string_view location) const {
  if (const RegistryEntry* r = registry(location)) return r->insecure;
  for (const auto& r : registries)
    for (const auto& m : r.mirrors)
      if (m.location == location) return m.insecure;
  return false;
}

Result<Config> parse_config_toml(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return error("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column, e.description());
  }
  Config c;
  auto wrap = [&](Result<> r) -> Result<> {
    if (!r) return error("{}: {}", source, r.error().message());
    return {};
  };
  BERTH_TRY(wrap(get_strings(root, "", "unqualified-search-registries", c.unqualified_search_registries)));
  if (const toml::node* p = root.get("pull")) {
    const toml::table* t = p->as_table();
    if (!t) return error("{}: pull: must be a table", source);
    BERTH_TRY(wrap(check_keys(*t, "pull", {"max-concurrent-downloads", "retries", "low-speed-timeout",
                                           "certs-dir", "auth-file", "range-chunk-size", "range-min-size",
                                           "max-connections-per-layer"})));
    BERTH_TRY(wrap(get_int(*t, "pull", "max-concurrent-downloads", c.max_concurrent_downloads, 1, 64)));
    BERTH_TRY(wrap(get_int(*t, "pull", "retries", c.retries, 0, 100)));
    BERTH_TRY(wrap(get_int(*t, "pull", "low-speed-timeout", c.low_speed_timeout, 1, 3600)));
    BERTH_TRY(wrap(get_string(*t, "pull", "certs-dir", c.certs_dir)));
    BERTH_TRY(wrap(get_string(*t, "pull", "auth-file", c.auth_file)));
    BERTH_TRY(wrap(get_int64(*t, "pull", "range-chunk-size", c.range_chunk_size, 64 << 10, int64_t{1} << 30)));
    BERTH_TRY(wrap(get_int64(*t, "pull", "range-min-size", c.range_min_size, 0, int64_t{1} << 50)));
    BERTH_TRY(wrap(get_int(*t, "pull", "max-connections-per-layer", c.max_connections_per_layer, 1, 16)));
  }
  if (const toml::node* r = root.get("registry")) {
    const toml::array* list = r->as_array();
    if (!list) return error("{}: registry: must be an array of tables ([[registry]])", source);
    for (size_t i = 0; i < list->size(); ++i) {
      std::string path = fmt::format("registry[{}]", i);
      const toml::table* t = list->get(i)->as_table();
      if (!t) return error("{}: {}: must be a table", source, path);
      BERTH_TRY(wrap(check_keys(*t, path, {"location", "prefix", "insecure", "blocked", "mirror"})));
      RegistryEntry e;
      BERTH_TRY(wrap(read_endpoint_fields(*t, path, e.location, e.insecure)));
      BERTH_TRY(wrap(get_bool(*t, path, "blocked", e.blocked)));
      if (const toml::node* m = t->get("mirror")) {
        const toml::array* mirrors = m->as_array();
        if (!mirrors) return error("{}: {}.mirror: must be an array of tables", source, path);
        for (size_t j = 0; j < mirrors->size(); ++j) {
          std::string mpath = fmt::format("{}.mirror[{}]", path, j);
          const toml::table* mt = mirrors->get(j)->as_table();
          if (!mt) return error("{}: {}: must be a table", source, mpath);
          BERTH_TRY(wrap(check_keys(*mt, mpath, {"location", "insecure"})));
          Endpoint ep;
          BERTH_TRY(wrap(read_endpoint_fields(*mt, mpath, ep.location, ep.insecure)));
          e.mirrors.push_back(std::move(ep));
        }
      }
      c.registries.push_back(std::move(e));
    }
  }
  return c;
}

Result<Config> load_config(const std::string& path, bool required) {
  auto text = read_file(path);
  if (!text) {
    if (text.error().code() == ENOENT && !required) return Config{};
    return std::unexpected(std::move(text).error());
  }
  return parse_config_toml(*text, path);
}

Result<Config> load_config_default(const std::optional<std::string>& explicit_path) {
  if (explicit_path && !explicit_path->empty()) return load_config(*explicit_path, true);
  if (const char* env = std::getenv("BERTH_CONFIG"); env && *env) return load_config(env, true);
  return load_config(std::string(kDefaultConfigPath), false);
}

}  // namespace berth::image
