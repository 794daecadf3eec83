#include "engine/engine_config.h"

#include <cerrno>
#include <cstdlib>

#include <toml++/toml.h>

#include "base/file.h"

namespace berth::engine {
namespace {

constexpr std::string_view kDefaultPath = "/etc/berth/berth.toml";

Result<> get_string(const toml::table& t, std::string_view parent, std::string_view key, std::string& out) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  if (!n->is_string()) return error("{}.{}: must be a string", parent, key);
  out = *n->value<std::string>();
  return {};
}

Result<> check_keys(const toml::table& t, std::string_view parent, std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (auto name : known) ok = ok || k.str() == name;
    if (!ok) return error("{}.{}: unknown key", parent, k.str());
  }
  return {};
}

Result<> read_engine(const toml::table& t, EngineConfig& c) {
  BERTH_TRY(check_keys(t, "engine", {"runtime", "monitor-path", "log-max-size", "network", "cni-plugin-dirs"}));
  BERTH_TRY(get_string(t, "engine", "runtime", c.runtime));
  BERTH_TRY(get_string(t, "engine", "monitor-path", c.monitor_path));
  BERTH_TRY(get_string(t, "engine", "network", c.network));
  if (const toml::node* n = t.get("log-max-size")) {
    if (!n->is_integer()) return error("engine.log-max-size: must be an integer");
    int64_t v = *n->value<int64_t>();
    if (v < 4096) return error("engine.log-max-size: must be at least 4096");
    c.log_max_size = v;
  }
  if (const toml::node* n = t.get("cni-plugin-dirs")) {
    const toml::array* a = n->as_array();
    if (!a) return error("engine.cni-plugin-dirs: must be an array of strings");
    c.cni_plugin_dirs.clear();
    for (size_t i = 0; i < a->size(); ++i) {
      if (!a->get(i)->is_string()) return error("engine.cni-plugin-dirs[{}]: must be a string", i);
      c.cni_plugin_dirs.push_back(*a->get(i)->value<std::string>());
    }
  }
  return {};
}

Result<> read_runtime(const toml::table& t, const std::string& name, RuntimeEntry& e) {
  std::string path = "runtimes." + name;
  BERTH_TRY(check_keys(t, path, {"type", "path", "root"}));
  std::string type = e.type == RuntimeEntry::Type::builtin ? "builtin" : "oci";
  BERTH_TRY(get_string(t, path, "type", type));
  if (type == "builtin")
    e.type = RuntimeEntry::Type::builtin;
  else if (type == "oci")
    e.type = RuntimeEntry::Type::oci;
  else
    return error("{}.type: must be \"oci\" or \"builtin\", not \"{}\"", path, type);
  BERTH_TRY(get_string(t, path, "path", e.path));
  BERTH_TRY(get_string(t, path, "root", e.root));
  if (e.type == RuntimeEntry::Type::oci && e.path.empty()) return error("{}.path: required for an oci runtime", path);
  return {};
}

}  // namespace

Result<RuntimeEntry> EngineConfig::runtime_entry(std::string_view name) const {
  auto it = runtimes.find(name);
  if (it != runtimes.end()) return it->second;
  std::string known;
  for (const auto& [n, e] : runtimes) known += (known.empty() ? "" : ", ") + n;
  return std::unexpected(Error(ENOENT, fmt::format("unknown runtime \"{}\" (known: {})", name, known)));
}

EngineConfig default_engine_config(const std::string& berth_dir) {
  EngineConfig c;
  c.runtimes["builtin"] = RuntimeEntry{RuntimeEntry::Type::builtin, {}, {}};
  c.runtimes["berth-runtime"] = RuntimeEntry{RuntimeEntry::Type::oci, berth_dir + "/berth-runtime", {}};
  c.runtimes["runc"] = RuntimeEntry{RuntimeEntry::Type::oci, "/usr/bin/runc", {}};
  c.runtimes["crun"] = RuntimeEntry{RuntimeEntry::Type::oci, "/usr/bin/crun", {}};
  return c;
}

Result<EngineConfig> parse_engine_config_toml(std::string_view text, std::string_view source,
                                              const std::string& berth_dir) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return error("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column, e.description());
  }
  EngineConfig c = default_engine_config(berth_dir);
  auto wrap = [&](Result<> r) -> Result<> {
    if (!r) return error("{}: {}", source, r.error().message());
    return {};
  };
  if (const toml::node* n = root.get("engine")) {
    const toml::table* t = n->as_table();
    if (!t) return error("{}: engine: must be a table", source);
    BERTH_TRY(wrap(read_engine(*t, c)));
  }
  if (const toml::node* n = root.get("runtimes")) {
    const toml::table* t = n->as_table();
    if (!t) return error("{}: runtimes: must be a table of tables ([runtimes.NAME])", source);
    for (const auto& [k, v] : *t) {
      std::string name(k.str());
      const toml::table* rt = v.as_table();
      if (!rt) return error("{}: runtimes.{}: must be a table", source, name);
      RuntimeEntry e;
      if (auto it = c.runtimes.find(name); it != c.runtimes.end()) e = it->second;
      BERTH_TRY(wrap(read_runtime(*rt, name, e)));
      c.runtimes[name] = std::move(e);
    }
  }
  if (!c.runtimes.contains(c.runtime))
    return error("{}: engine.runtime: unknown runtime \"{}\"", source, c.runtime);
  return c;
}

Result<EngineConfig> load_engine_config(const std::string& path, bool required, const std::string& berth_dir) {
  auto text = read_file(path);
  if (!text) {
    if (text.error().code() == ENOENT && !required) return default_engine_config(berth_dir);
    return std::unexpected(std::move(text).error());
  }
  // Most files have only the image part: skip the parse then (start-up time).
  if (text->find("engine") == std::string::npos && text->find("runtimes") == std::string::npos)
    return default_engine_config(berth_dir);
  return parse_engine_config_toml(*text, path, berth_dir);
}

Result<EngineConfig> load_engine_config_default(const std::optional<std::string>& explicit_path,
                                                const std::string& berth_dir) {
  if (explicit_path && !explicit_path->empty()) return load_engine_config(*explicit_path, true, berth_dir);
  if (const char* env = std::getenv("BERTH_CONFIG"); env && *env) return load_engine_config(env, true, berth_dir);
  return load_engine_config(std::string(kDefaultPath), false, berth_dir);
}

}  // namespace berth::engine
