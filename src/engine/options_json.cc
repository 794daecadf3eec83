// RunOptions as JSON, stored with the container so start/restart rebuild the
// spec from what the user asked for. Keys are the fields' names; absent keys
// keep their defaults (an older record reads into a newer RunOptions).
#include <nlohmann/json.hpp>

#include "engine/options.h"

namespace berth::engine {
namespace {

using nlohmann::json;

const char* mount_type_name(MountRequest::Type t) {
  switch (t) {
    case MountRequest::Type::bind: return "bind";
    case MountRequest::Type::volume: return "volume";
    case MountRequest::Type::tmpfs: return "tmpfs";
  }
  return "bind";
}

Result<MountRequest::Type> mount_type_from(const std::string& s) {
  if (s == "bind") return MountRequest::Type::bind;
  if (s == "volume") return MountRequest::Type::volume;
  if (s == "tmpfs") return MountRequest::Type::tmpfs;
  return error("mounts: unknown type \"{}\"", s);
}

const char* restart_name(RestartPolicy p) {
  switch (p) {
    case RestartPolicy::no: return "no";
    case RestartPolicy::always: return "always";
    case RestartPolicy::on_failure: return "on-failure";
    case RestartPolicy::unless_stopped: return "unless-stopped";
  }
  return "no";
}

Result<RestartPolicy> restart_from(const std::string& s) {
  if (s == "no") return RestartPolicy::no;
  if (s == "always") return RestartPolicy::always;
  if (s == "on-failure") return RestartPolicy::on_failure;
  if (s == "unless-stopped") return RestartPolicy::unless_stopped;
  return error("restart: unknown policy \"{}\"", s);
}

template <typename T>
void get(const json& j, const char* key, T& out) {
  if (auto it = j.find(key); it != j.end() && !it->is_null()) it->get_to(out);
}

template <typename T>
void get(const json& j, const char* key, std::optional<T>& out) {
  if (auto it = j.find(key); it != j.end() && !it->is_null()) out = it->get<T>();
}

template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

}  // namespace

Result<std::string> run_options_to_json(const RunOptions& o) {
  json j;
  j["image"] = o.image;
  j["command"] = o.command;
  put(j, "entrypoint", o.entrypoint);
  j["name"] = o.name;
  j["env"] = o.env;
  j["env_files"] = o.env_files;
  json mounts = json::array();
  for (const auto& m : o.mounts)
    mounts.push_back({{"type", mount_type_name(m.type)},
                      {"source", m.source},
                      {"destination", m.destination},
                      {"read_only", m.read_only},
                      {"options", m.options}});
  j["mounts"] = std::move(mounts);
  j["workdir"] = o.workdir;
  j["user"] = o.user;
  j["hostname"] = o.hostname;
  json ports = json::array();
  for (const auto& p : o.ports)
    ports.push_back({{"host_ip", p.host_ip},
                     {"host_port", p.host_port},
                     {"container_port", p.container_port},
                     {"range", p.range},
                     {"protocol", p.protocol}});
  j["ports"] = std::move(ports);
  j["publish_all"] = o.publish_all;
  j["network"] = o.network;
  j["network_aliases"] = o.network_aliases;
  j["dns"] = o.dns;
  j["dns_search"] = o.dns_search;
  j["dns_options"] = o.dns_options;
  j["add_hosts"] = o.add_hosts;
  j["detach"] = o.detach;
  j["interactive"] = o.interactive;
  j["tty"] = o.tty;
  j["remove"] = o.remove;
  j["read_only"] = o.read_only;
  j["privileged"] = o.privileged;
  j["init"] = o.init;
  j["no_new_privileges"] = o.no_new_privileges;
  j["cap_add"] = o.cap_add;
  j["cap_drop"] = o.cap_drop;
  j["seccomp"] = o.seccomp;
  put(j, "memory", o.memory);
  put(j, "memory_swap", o.memory_swap);
  put(j, "cpus", o.cpus);
  put(j, "pids_limit", o.pids_limit);
  json ulimits = json::array();
  for (const auto& u : o.ulimits) ulimits.push_back({{"name", u.name}, {"soft", u.soft}, {"hard", u.hard}});
  j["ulimits"] = std::move(ulimits);
  j["restart"] = {{"policy", restart_name(o.restart.policy)}, {"max_retries", o.restart.max_retries}};
  j["runtime"] = o.runtime;
  j["pod"] = o.pod;
  j["labels"] = o.labels;
  j["annotations"] = o.annotations;
  j["stop_signal"] = o.stop_signal;
  put(j, "stop_timeout", o.stop_timeout);
  j["cgroup_parent"] = o.cgroup_parent;
  j["devices"] = o.devices;
  j["sysctls"] = o.sysctls;
  j["shm_size"] = o.shm_size;
  // Replacement of invalid UTF-8 (an -e value with stray bytes) instead of a throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<RunOptions> run_options_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error("run options: not a JSON object");
  RunOptions o;
  try {
    get(j, "image", o.image);
    get(j, "command", o.command);
    get(j, "entrypoint", o.entrypoint);
    get(j, "name", o.name);
    get(j, "env", o.env);
    get(j, "env_files", o.env_files);
    if (auto it = j.find("mounts"); it != j.end() && it->is_array()) {
      for (const auto& m : *it) {
        MountRequest r;
        std::string type = "bind";
        get(m, "type", type);
        BERTH_TRY_ASSIGN(t, mount_type_from(type));
        r.type = t;
        get(m, "source", r.source);
        get(m, "destination", r.destination);
        get(m, "read_only", r.read_only);
        get(m, "options", r.options);
        o.mounts.push_back(std::move(r));
      }
    }
    get(j, "workdir", o.workdir);
    get(j, "user", o.user);
    get(j, "hostname", o.hostname);
    if (auto it = j.find("ports"); it != j.end() && it->is_array()) {
      for (const auto& p : *it) {
        PortMapping m;
        get(p, "host_ip", m.host_ip);
        get(p, "host_port", m.host_port);
        get(p, "container_port", m.container_port);
        get(p, "range", m.range);
        get(p, "protocol", m.protocol);
        o.ports.push_back(std::move(m));
      }
    }
    get(j, "publish_all", o.publish_all);
    get(j, "network", o.network);
    get(j, "network_aliases", o.network_aliases);
    get(j, "dns", o.dns);
    get(j, "dns_search", o.dns_search);
    get(j, "dns_options", o.dns_options);
    get(j, "add_hosts", o.add_hosts);
    get(j, "detach", o.detach);
    get(j, "interactive", o.interactive);
    get(j, "tty", o.tty);
    get(j, "remove", o.remove);
    get(j, "read_only", o.read_only);
    get(j, "privileged", o.privileged);
    get(j, "init", o.init);
    get(j, "no_new_privileges", o.no_new_privileges);
    get(j, "cap_add", o.cap_add);
    get(j, "cap_drop", o.cap_drop);
    get(j, "seccomp", o.seccomp);
    get(j, "memory", o.memory);
    get(j, "memory_swap", o.memory_swap);
    get(j, "cpus", o.cpus);
    get(j, "pids_limit", o.pids_limit);
    if (auto it = j.find("ulimits"); it != j.end() && it->is_array()) {
      for (const auto& u : *it) {
        Ulimit l;
        get(u, "name", l.name);
        get(u, "soft", l.soft);
        get(u, "hard", l.hard);
        o.ulimits.push_back(std::move(l));
      }
    }
    if (auto it = j.find("restart"); it != j.end() && it->is_object()) {
      std::string policy = "no";
      get(*it, "policy", policy);
      BERTH_TRY_ASSIGN(p, restart_from(policy));
      o.restart.policy = p;
      get(*it, "max_retries", o.restart.max_retries);
    }
    get(j, "runtime", o.runtime);
    get(j, "pod", o.pod);
    get(j, "labels", o.labels);
    get(j, "annotations", o.annotations);
    get(j, "stop_signal", o.stop_signal);
    get(j, "stop_timeout", o.stop_timeout);
    get(j, "cgroup_parent", o.cgroup_parent);
    get(j, "devices", o.devices);
    get(j, "sysctls", o.sysctls);
    get(j, "shm_size", o.shm_size);
  } catch (const json::exception& e) {
    return error("run options: {}", e.what());
  }
  return o;
}

}  // namespace berth::engine
