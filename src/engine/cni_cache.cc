// ADD results kept for DEL and CHECK (the spec has the runtime store the
// final result), one JSON file per container, network and interface, written
// atomically under Paths::cni_results().
#include <unistd.h>

#include <cerrno>

#include "base/file.h"
#include "engine/cni.h"

namespace berth::engine::cni {

std::string cache_path(const std::string& dir, std::string_view network, std::string_view container_id,
                       std::string_view ifname) {
  return fmt::format("{}/{}-{}-{}.json", dir, network, container_id, ifname);
}

Result<> write_cache(const std::string& dir, const CachedResult& r) {
  BERTH_TRY(mkdir_p(dir, 0700));
  nlohmann::json j = {
      {"kind", "cniCacheV1"},          {"containerId", r.container_id}, {"networkName", r.network},
      {"ifName", r.ifname},            {"config", r.conflist},          {"capabilityArgs", r.capability_args},
      {"result", r.result},
  };
  // Under the runroot: a reboot voids the state along with the namespaces.
  return write_file_atomic(cache_path(dir, r.network, r.container_id, r.ifname), j.dump(), 0600,
                           Durability::volatile_);
}

Result<std::optional<CachedResult>> read_cache(const std::string& path) {
  auto data = read_file(path);
  if (!data) {
    if (data.error().code() == ENOENT) return std::optional<CachedResult>();
    return std::unexpected(std::move(data).error());
  }
  auto j = nlohmann::json::parse(*data, nullptr, false);
  if (!j.is_object() || j.value("kind", "") != "cniCacheV1" || !j.contains("config"))
    return error("cni result cache \"{}\": not a cniCacheV1 object", path);
  CachedResult r;
  r.container_id = j.value("containerId", "");
  r.network = j.value("networkName", "");
  r.ifname = j.value("ifName", "");
  r.conflist = j["config"];
  r.capability_args = j.value("capabilityArgs", nlohmann::json::object());
  r.result = j.value("result", nlohmann::json());
  return std::optional<CachedResult>(std::move(r));
}

Result<> remove_cache(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error(errno, "remove \"{}\"", path);
  return {};
}

}  // namespace berth::engine::cni
