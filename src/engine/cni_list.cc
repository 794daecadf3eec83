// A network configuration list run as spec section 3 says: every plugin,
// in order for ADD and CHECK and in reverse for DEL, with the list's name and
// cniVersion, the previous result (ADD: the previous plugin's; DEL and
// CHECK: the cached final ADD result) and, for each capability the plugin
// declares, the runtime's value as runtimeConfig. Every plugin of the list
// given is run: which plugins a container's list holds is the caller's
// choice (network_setup.cc leaves portmap out when no port is published).
#include "engine/cni.h"

namespace berth::engine::cni {
namespace {

Result<nlohmann::json> plugin_config(const nlohmann::json& list, const nlohmann::json& plugin,
                                     const nlohmann::json& capability_args, const nlohmann::json& prev_result) {
  if (!plugin.is_object() || !plugin.contains("type") || !plugin["type"].is_string())
    return error("network \"{}\": a plugin without a \"type\"", list.value("name", ""));
  nlohmann::json conf = plugin;
  conf["name"] = list.value("name", "");
  conf["cniVersion"] = list.value("cniVersion", "1.0.0");
  if (!prev_result.is_null()) conf["prevResult"] = prev_result;
  conf.erase("runtimeConfig");
  if (auto caps = plugin.find("capabilities"); caps != plugin.end() && caps->is_object()) {
    nlohmann::json runtime = nlohmann::json::object();
    for (const auto& [name, enabled] : caps->items()) {
      if (enabled.is_boolean() && enabled.get<bool>() && capability_args.is_object() && capability_args.contains(name))
        runtime[name] = capability_args[name];
    }
    if (!runtime.empty()) conf["runtimeConfig"] = std::move(runtime);
  }
  return conf;
}

Result<const nlohmann::json*> plugins_of(const nlohmann::json& list) {
  auto it = list.find("plugins");
  if (it == list.end() || !it->is_array() || it->empty())
    return error("network \"{}\": the configuration list has no plugins", list.value("name", ""));
  return &*it;
}

}  // namespace

Result<nlohmann::json> add_list(const nlohmann::json& list, const Invocation& inv, const nlohmann::json& capability_args,
                                nlohmann::json* partial) {
  BERTH_TRY_ASSIGN(plugins, plugins_of(list));
  std::string network = list.value("name", "");
  nlohmann::json prev;
  nlohmann::json unused;
  if (!partial) partial = &unused;
  *partial = nullptr;
  for (const auto& plugin : *plugins) {
    BERTH_TRY_ASSIGN(conf, plugin_config(list, plugin, capability_args, prev));
    BERTH_TRY_ASSIGN(out, exec_plugin("ADD", conf["type"].get<std::string>(), conf.dump(), inv, network));
    auto result = nlohmann::json::parse(out, nullptr, false);
    if (!result.is_object())
      return error("cni ADD of network \"{}\": plugin \"{}\" printed no result object", network,
                   conf["type"].get<std::string>());
    prev = std::move(result);
    *partial = prev;
  }
  return prev;
}

Result<> del_list(const nlohmann::json& list, const Invocation& inv, const nlohmann::json& capability_args,
                  const nlohmann::json& prev_result) {
  BERTH_TRY_ASSIGN(plugins, plugins_of(list));
  std::string network = list.value("name", "");
  for (auto it = plugins->rbegin(); it != plugins->rend(); ++it) {
    BERTH_TRY_ASSIGN(conf, plugin_config(list, *it, capability_args, prev_result));
    BERTH_TRY(exec_plugin("DEL", conf["type"].get<std::string>(), conf.dump(), inv, network));
  }
  return {};
}

Result<> check_list(const nlohmann::json& list, const Invocation& inv, const nlohmann::json& capability_args,
                    const nlohmann::json& prev_result) {
  if (list.value("disableCheck", false)) return {};
  if (prev_result.is_null())
    return error("cni CHECK of network \"{}\": no cached ADD result for container {}", list.value("name", ""),
                 inv.container_id);
  BERTH_TRY_ASSIGN(plugins, plugins_of(list));
  std::string network = list.value("name", "");
  for (const auto& plugin : *plugins) {
    BERTH_TRY_ASSIGN(conf, plugin_config(list, plugin, capability_args, prev_result));
    BERTH_TRY(exec_plugin("CHECK", conf["type"].get<std::string>(), conf.dump(), inv, network));
  }
  return {};
}

}  // namespace berth::engine::cni
