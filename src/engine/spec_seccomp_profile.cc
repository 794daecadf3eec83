// --security-opt seccomp=FILE: a profile in the runtime-spec's
// linux.seccomp form, or in docker's and containers-common's form (archMap,
// per-rule includes/excludes of capabilities, architectures and minimum
// kernel), which is resolved here for this container and this machine, as
// docker and podman do, into the runtime-spec form. Both then go through
// config.json's parser and validation, so errors name the field.
#include <sys/utsname.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "engine/spec_internal.h"
#include "oci/config.h"

namespace berth::engine::detail {
namespace {

using nlohmann::json;

// Go's GOARCH of this build: the names docker profiles use in includes.arches.
constexpr std::string_view kGoArch =
#if defined(__x86_64__)
    "amd64";
#elif defined(__aarch64__)
    "arm64";
#elif defined(__i386__)
    "386";
#elif defined(__powerpc64__)
    "ppc64le";
#elif defined(__s390x__)
    "s390x";
#elif defined(__riscv)
    "riscv64";
#else
    "";
#endif

constexpr std::string_view kScmpArch =
#if defined(__x86_64__)
    "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
    "SCMP_ARCH_AARCH64";
#elif defined(__i386__)
    "SCMP_ARCH_X86";
#elif defined(__powerpc64__)
    "SCMP_ARCH_PPC64LE";
#elif defined(__s390x__)
    "SCMP_ARCH_S390X";
#elif defined(__riscv)
    "SCMP_ARCH_RISCV64";
#else
    "";
#endif

bool docker_form(const json& doc) {
  if (doc.contains("archMap")) return true;
  auto it = doc.find("syscalls");
  if (it == doc.end() || !it->is_array()) return false;
  return std::ranges::any_of(*it, [](const json& s) {
    return s.is_object() && (s.contains("includes") || s.contains("excludes") || s.contains("name"));
  });
}

std::vector<std::string> strings(const json& obj, const char* key) {
  std::vector<std::string> out;
  if (auto it = obj.find(key); it != obj.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// "5.10.0-21-amd64" >= "4.8"?
bool kernel_at_least(std::string_view min) {
  struct utsname u {};
  if (::uname(&u) < 0) return true;
  int have[2] = {0, 0}, want[2] = {0, 0};
  std::sscanf(u.release, "%d.%d", &have[0], &have[1]);
  std::string m(min);
  std::sscanf(m.c_str(), "%d.%d", &want[0], &want[1]);
  return have[0] != want[0] ? have[0] > want[0] : have[1] >= want[1];
}

// Is the rule for this container? docker's rules: every included capability
// held, no excluded one; this architecture included (when listed) and not
// excluded; the kernel new enough.
bool applies(const json& rule, const std::vector<std::string>& caps) {
  auto held = [&](const std::string& c) { return std::ranges::find(caps, c) != caps.end(); };
  if (auto inc = rule.find("includes"); inc != rule.end() && inc->is_object()) {
    auto need = strings(*inc, "caps");
    if (!std::ranges::all_of(need, held)) return false;
    auto arches = strings(*inc, "arches");
    if (!arches.empty() && std::ranges::find(arches, kGoArch) == arches.end()) return false;
    if (auto k = inc->find("minKernel"); k != inc->end() && k->is_string() && !kernel_at_least(k->get<std::string>()))
      return false;
  }
  if (auto exc = rule.find("excludes"); exc != rule.end() && exc->is_object()) {
    if (std::ranges::any_of(strings(*exc, "caps"), held)) return false;
    auto arches = strings(*exc, "arches");
    if (std::ranges::find(arches, kGoArch) != arches.end()) return false;
  }
  return true;
}

json to_runtime_form(const json& doc, const std::vector<std::string>& caps) {
  json out = json::object();
  for (const char* key : {"defaultAction", "defaultErrnoRet", "flags", "listenerPath", "listenerMetadata",
                          "architectures"})
    if (auto it = doc.find(key); it != doc.end()) out[key] = *it;
  // archMap: this machine's architecture and its sub-architectures.
  if (auto map = doc.find("archMap"); map != doc.end() && map->is_array()) {
    json arches = json::array();
    for (const auto& a : *map) {
      if (!a.is_object() || a.value("architecture", "") != kScmpArch) continue;
      arches.push_back(kScmpArch);
      for (const auto& sub : strings(a, "subArchitectures")) arches.push_back(sub);
    }
    if (!arches.empty()) out["architectures"] = std::move(arches);
  }
  json syscalls = json::array();
  if (auto it = doc.find("syscalls"); it != doc.end() && it->is_array()) {
    for (const auto& rule : *it) {
      if (!rule.is_object() || !applies(rule, caps)) continue;
      json r = json::object();
      if (auto n = rule.find("name"); n != rule.end() && n->is_string() && !rule.contains("names"))
        r["names"] = json::array({*n});
      for (const char* key : {"names", "action", "errnoRet", "args"})
        if (auto v = rule.find(key); v != rule.end()) r[key] = *v;
      syscalls.push_back(std::move(r));
    }
  }
  out["syscalls"] = std::move(syscalls);
  return out;
}

}  // namespace

Result<oci::Seccomp> seccomp_profile(const std::string& path, const std::vector<std::string>& caps) {
  const std::string flag = "--security-opt seccomp=" + path;
  BERTH_TRY_ASSIGN(text, read_file(path));
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return error("{}: not a JSON object", flag);
  std::string profile = docker_form(doc) ? to_runtime_form(doc, caps).dump() : text;
  std::string config = R"({"ociVersion":"1.2.0","root":{"path":"/"},"process":{"args":["x"],"cwd":"/"},)"
                       R"("linux":{"seccomp":)" + profile + "}}";
  auto spec = oci::parse_config(config);
  if (!spec) return std::unexpected(std::move(spec.error()).context(flag));
  if (!spec->linux || !spec->linux->seccomp) return error("{}: not a seccomp profile", flag);
  return std::move(*spec->linux->seccomp);
}

}  // namespace berth::engine::detail
