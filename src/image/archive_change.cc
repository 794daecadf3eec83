// --change instructions of `berth import` (the Dockerfile subset docker and
// podman accept there).
#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "image/archive.h"

namespace berth::image {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A JSON array of strings (exec form), or nullopt when `s` is not one.
std::optional<std::vector<std::string>> exec_form(std::string_view s) {
  if (s.empty() || s.front() != '[') return std::nullopt;
  auto j = nlohmann::json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return std::nullopt;
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<std::string> command_form(std::string_view args) {
  if (auto v = exec_form(args)) return *v;
  return {"/bin/sh", "-c", std::string(args)};
}

// Words separated by blanks, with "..." quoting (ENV/LABEL values).
std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      any = true;
    } else if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && std::isspace(static_cast<unsigned char>(c))) {
      if (any) out.push_back(std::move(cur));
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push_back(std::move(cur));
  return out;
}

// "k=v k2=v2" or the legacy "k v" form.
Result<std::vector<std::pair<std::string, std::string>>> pairs(std::string_view instr, std::string_view args) {
  std::vector<std::pair<std::string, std::string>> out;
  auto w = words(args);
  if (w.empty()) return error("--change \"{}\": missing arguments", instr);
  if (w.front().find('=') == std::string::npos) {
    auto sp = args.find_first_of(" \t");
    if (sp == std::string_view::npos) return error("--change \"{} {}\": missing value", instr, args);
    out.emplace_back(std::string(args.substr(0, sp)), std::string(trim(args.substr(sp))));
    return out;
  }
  for (auto& kv : w) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return error("--change \"{} {}\": \"{}\" is not key=value", instr, args, kv);
    out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}

void set_env(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  std::string entry = key + "=" + value;
  for (auto& e : env)
    if (e.starts_with(key + "=")) {
      e = entry;
      return;
    }
  env.push_back(std::move(entry));
}

void add_unique(std::vector<std::string>& v, std::string s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

}  // namespace

Result<> apply_change(std::string_view change, oci::ContainerConfig& config) {
  change = trim(change);
  auto sp = change.find_first_of(" \t");
  std::string instr(change.substr(0, sp));
  std::transform(instr.begin(), instr.end(), instr.begin(), [](unsigned char c) { return std::toupper(c); });
  std::string_view args = sp == std::string_view::npos ? std::string_view() : trim(change.substr(sp));
  if (args.empty()) return error("--change \"{}\": missing arguments", change);

  if (instr == "CMD") {
    config.cmd = command_form(args);
  } else if (instr == "ENTRYPOINT") {
    config.entrypoint = command_form(args);
  } else if (instr == "ENV") {
    BERTH_TRY_ASSIGN(kvs, pairs(instr, args));
    for (auto& [k, v] : kvs) set_env(config.env, k, v);
  } else if (instr == "LABEL") {
    BERTH_TRY_ASSIGN(kvs, pairs(instr, args));
    for (auto& [k, v] : kvs) config.labels[k] = v;
  } else if (instr == "WORKDIR") {
    config.working_dir = std::string(args);
  } else if (instr == "USER") {
    config.user = std::string(args);
  } else if (instr == "STOPSIGNAL") {
    config.stop_signal = std::string(args);
  } else if (instr == "EXPOSE") {
    for (auto& p : words(args)) {
      if (p.find('/') == std::string::npos) p += "/tcp";
      auto slash = p.find('/');
      if (slash == 0 || !std::all_of(p.begin(), p.begin() + static_cast<long>(slash),
                                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '-'; }))
        return error("--change \"{}\": invalid port \"{}\"", change, p);
      add_unique(config.exposed_ports, p);
    }
  } else if (instr == "VOLUME") {
    auto list = exec_form(args);
    for (auto& v : list ? *list : words(args)) add_unique(config.volumes, v);
  } else {
    return error("--change \"{}\": unsupported instruction \"{}\" (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                 "STOPSIGNAL, USER, VOLUME, WORKDIR)",
                 change, instr);
  }
  return {};
}

Result<ArchiveFormat> parse_archive_format(std::string_view name) {
  if (name == "oci-archive") return ArchiveFormat::oci_archive;
  if (name == "docker-archive") return ArchiveFormat::docker_archive;
  return error("unknown archive format \"{}\" (oci-archive or docker-archive)", name);
}

}  // namespace berth::image
