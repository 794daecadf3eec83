// The records' JSON in berth.db: the fields without a column of their own.
// Readers take missing keys as defaults (rows written by an older berth) and
// report a wrong type or bad JSON by field, never by crashing.
#include <nlohmann/json.hpp>

#include "engine/engine_db_internal.h"

namespace berth::engine::db_internal {

namespace {

using nlohmann::json;

json ports_json(const std::vector<PortMapping>& ports) {
  json out = json::array();
  for (const auto& p : ports)
    out.push_back({{"host_ip", p.host_ip},
                   {"host_port", p.host_port},
                   {"container_port", p.container_port},
                   {"range", p.range},
                   {"protocol", p.protocol}});
  return out;
}

std::vector<PortMapping> ports_from(const json& j) {
  std::vector<PortMapping> out;
  for (const auto& e : j) {
    PortMapping p;
    p.host_ip = e.value("host_ip", std::string());
    p.host_port = e.value("host_port", uint16_t{0});
    p.container_port = e.value("container_port", uint16_t{0});
    p.range = e.value("range", uint16_t{1});
    p.protocol = e.value("protocol", std::string("tcp"));
    out.push_back(std::move(p));
  }
  return out;
}

// Parses `text` as an object and runs `fill` on it; nlohmann's exceptions
// (wrong types, out-of-range numbers) become errors here.
template <typename Fill>
Result<> parse_object(std::string_view text, Fill fill) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return std::unexpected(Error(EINVAL, "invalid JSON"));
  if (!j.is_object()) return std::unexpected(Error(EINVAL, "not a JSON object"));
  try {
    fill(j);
  } catch (const json::exception& e) {
    return std::unexpected(Error(EINVAL, e.what()));
  }
  return {};
}

template <typename Map>
Map map_from(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  return it->template get<Map>();
}

// Invalid UTF-8 in a label or a path is replaced rather than thrown about.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Error bad_row(std::string_view kind, std::string_view key, std::string_view column, const Error& why) {
  return Error(why.code() ? why.code() : EINVAL,
               fmt::format("{} {}: column \"{}\": {}", kind, key, column, why.message()));
}

std::string container_json(const ContainerRecord& c) {
  json j = {{"image_id", c.image_id},
            {"image_name", c.image_name},
            {"infra", c.infra},
            {"runtime", c.runtime},
            {"created_at", c.created_at},
            {"started_at", c.started_at},
            {"finished_at", c.finished_at},
            {"exit_code", c.exit_code},
            {"oom_killed", c.oom_killed},
            {"restart_count", c.restart_count},
            {"stopped_by_user", c.stopped_by_user},
            {"pid", c.pid},
            {"monitor_pid", c.monitor_pid},
            {"netns", c.netns},
            {"network_status", c.network_status},
            {"ports", ports_json(c.ports)},
            {"lease_id", c.lease_id},
            {"volumes", c.volumes}};
  return dump(j);
}

Result<> container_from_json(std::string_view text, ContainerRecord& c) {
  return parse_object(text, [&](const json& j) {
    c.image_id = j.value("image_id", std::string());
    c.image_name = j.value("image_name", std::string());
    c.infra = j.value("infra", false);
    c.runtime = j.value("runtime", std::string());
    c.created_at = j.value("created_at", int64_t{0});
    c.started_at = j.value("started_at", int64_t{0});
    c.finished_at = j.value("finished_at", int64_t{0});
    c.exit_code = j.value("exit_code", 0);
    c.oom_killed = j.value("oom_killed", false);  // absent in rows of older versions
    c.restart_count = j.value("restart_count", 0);
    c.stopped_by_user = j.value("stopped_by_user", false);
    c.pid = j.value("pid", pid_t{0});
    c.monitor_pid = j.value("monitor_pid", pid_t{0});
    c.netns = j.value("netns", std::string());
    c.network_status = j.value("network_status", std::string());
    c.ports = ports_from(j.value("ports", json::array()));
    c.lease_id = j.value("lease_id", std::string());
    c.volumes = map_from<std::map<std::string, std::string>>(j, "volumes");
  });
}

std::string pod_json(const PodRecord& p) {
  json j = {{"infra_id", p.infra_id}, {"created_at", p.created_at}, {"hostname", p.hostname},
            {"share_pid", p.share_pid}, {"ports", ports_json(p.ports)}, {"network", p.network},
            {"labels", p.labels}, {"share_net", p.share_net}, {"share_ipc", p.share_ipc},
            {"share_uts", p.share_uts}, {"share_cgroup", p.share_cgroup}, {"add_hosts", p.add_hosts},
            {"dns", p.dns}, {"dns_search", p.dns_search}, {"dns_options", p.dns_options},
            {"shm_size", p.shm_size}, {"exit_policy", p.exit_policy}};
  return dump(j);
}

Result<> pod_from_json(std::string_view text, PodRecord& p) {
  return parse_object(text, [&](const json& j) {
    p.infra_id = j.value("infra_id", std::string());
    p.created_at = j.value("created_at", int64_t{0});
    p.hostname = j.value("hostname", std::string());
    p.share_pid = j.value("share_pid", false);
    p.ports = ports_from(j.value("ports", json::array()));
    p.network = j.value("network", std::string());
    p.labels = map_from<std::map<std::string, std::string>>(j, "labels");
    p.share_net = j.value("share_net", true);
    p.share_ipc = j.value("share_ipc", true);
    p.share_uts = j.value("share_uts", true);
    p.share_cgroup = j.value("share_cgroup", false);
    p.add_hosts = j.value("add_hosts", std::vector<std::string>());
    p.dns = j.value("dns", std::vector<std::string>());
    p.dns_search = j.value("dns_search", std::vector<std::string>());
    p.dns_options = j.value("dns_options", std::vector<std::string>());
    p.shm_size = j.value("shm_size", std::string());
    p.exit_policy = j.value("exit_policy", std::string("continue"));
  });
}

std::string volume_json(const VolumeRecord& v) {
  json j = {{"driver", v.driver}, {"mountpoint", v.mountpoint}, {"created_at", v.created_at},
            {"anonymous", v.anonymous}, {"labels", v.labels}, {"options", v.options}};
  return dump(j);
}

Result<> volume_from_json(std::string_view text, VolumeRecord& v) {
  return parse_object(text, [&](const json& j) {
    v.driver = j.value("driver", std::string("local"));
    v.mountpoint = j.value("mountpoint", std::string());
    v.created_at = j.value("created_at", int64_t{0});
    v.anonymous = j.value("anonymous", false);
    v.labels = map_from<std::map<std::string, std::string>>(j, "labels");
    v.options = map_from<std::map<std::string, std::string>>(j, "options");
  });
}

std::string network_json(const NetworkRecord& n) {
  json j = {{"driver", n.driver}, {"interface", n.interface}, {"subnet", n.subnet},
            {"gateway", n.gateway}, {"created_at", n.created_at}, {"internal", n.internal},
            {"dns_enabled", n.dns_enabled},
            {"labels", n.labels}, {"conflist_path", n.conflist_path}};
  if (!n.range_start.empty()) j["range_start"] = n.range_start;
  if (!n.range_end.empty()) j["range_end"] = n.range_end;
  if (!n.options.empty()) j["options"] = n.options;
  for (const auto& s : n.more_subnets) {
    json subnet = {{"subnet", s.subnet}, {"gateway", s.gateway}};
    if (!s.range_start.empty()) subnet["range_start"] = s.range_start;
    if (!s.range_end.empty()) subnet["range_end"] = s.range_end;
    j["more_subnets"].push_back(std::move(subnet));
  }
  return dump(j);
}

Result<> network_from_json(std::string_view text, NetworkRecord& n) {
  return parse_object(text, [&](const json& j) {
    n.driver = j.value("driver", std::string("bridge"));
    n.interface = j.value("interface", std::string());
    n.subnet = j.value("subnet", std::string());
    n.gateway = j.value("gateway", std::string());
    n.created_at = j.value("created_at", int64_t{0});
    n.internal = j.value("internal", false);
    n.dns_enabled = j.value("dns_enabled", false);
    n.range_start = j.value("range_start", std::string());
    n.range_end = j.value("range_end", std::string());
    n.labels = map_from<std::map<std::string, std::string>>(j, "labels");
    n.options = map_from<std::map<std::string, std::string>>(j, "options");
    n.conflist_path = j.value("conflist_path", std::string());
    // Absent from the rows of older versions: one subnet.
    if (auto more = j.find("more_subnets"); more != j.end() && more->is_array()) {
      for (const auto& s : *more) {
        if (!s.is_object()) continue;
        n.more_subnets.push_back({s.value("subnet", std::string()), s.value("gateway", std::string()),
                                  s.value("range_start", std::string()), s.value("range_end", std::string())});
      }
    }
  });
}

}  // namespace berth::engine::db_internal
