// The CNI protocol (spec 1.0.0) as a runtime speaks it: one plugin binary run
// with CNI_* variables and its configuration on stdin (cni_exec.cc); a
// configuration list run plugin by plugin, in order for ADD and CHECK, in
// reverse for DEL, each given the name, cniVersion, prevResult and the
// runtimeConfig of the capabilities it declares (cni_list.cc); ADD results
// cached for DEL and CHECK (cni_cache.cc). Internal to the engine: network.h
// is the interface the rest of Berth uses.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace berth::engine::cni {

// The per-invocation parameters the spec passes in the environment.
struct Invocation {
  std::string container_id;                 // CNI_CONTAINERID
  std::string netns;                        // CNI_NETNS ("" allowed for DEL)
  std::string ifname;                       // CNI_IFNAME
  std::string args;                         // CNI_ARGS ("K=V;K=V")
  std::vector<std::string> plugin_dirs;     // searched for the plugin; CNI_PATH
};

// Runs the plugin `type` for `command` (ADD, DEL, CHECK) with `config` on
// stdin and returns its stdout. A failing plugin's error JSON (code, msg,
// details) becomes an error naming the plugin, the command and `network`.
Result<std::string> exec_plugin(std::string_view command, const std::string& type, const std::string& config,
                                const Invocation& inv, std::string_view network);

// Runs a configuration list. `capability_args` maps capability names
// (portMappings...) to the values given as runtimeConfig to the plugins
// that declare them. ADD returns the final plugin's result; on failure
// `partial` (if given) gets the result of the last plugin that succeeded,
// the prevResult a DEL undoing them needs (null when none did).
Result<nlohmann::json> add_list(const nlohmann::json& conflist, const Invocation& inv,
                                const nlohmann::json& capability_args, nlohmann::json* partial = nullptr);
// DEL in reverse order; `prev_result` is the cached ADD result (null when
// unknown: plugins then release what they find by container id).
Result<> del_list(const nlohmann::json& conflist, const Invocation& inv, const nlohmann::json& capability_args,
                  const nlohmann::json& prev_result);
Result<> check_list(const nlohmann::json& conflist, const Invocation& inv, const nlohmann::json& capability_args,
                    const nlohmann::json& prev_result);

// What ADD did for one container, network and interface: enough to undo it
// even when the network has been removed since.
struct CachedResult {
  std::string container_id, network, ifname;
  nlohmann::json conflist;         // the configuration list as run
  nlohmann::json capability_args;  // the runtimeConfig values given
  nlohmann::json result;           // the final ADD result
};

// <dir>/<network>-<container_id>-<ifname>.json (libcni's naming).
std::string cache_path(const std::string& dir, std::string_view network, std::string_view container_id,
                       std::string_view ifname);
Result<> write_cache(const std::string& dir, const CachedResult& r);
// nullopt when there is no cache file.
Result<std::optional<CachedResult>> read_cache(const std::string& path);
Result<> remove_cache(const std::string& path);

}  // namespace berth::engine::cni
