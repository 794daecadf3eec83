// inspect: a container as a docker-like JSON document.
#include <time.h>

#include "base/file.h"
#include "engine/engine_internal.h"
#include "oci/config.h"

namespace berth::engine {
namespace {

std::string rfc3339(int64_t ns) {
  if (ns == 0) return "0001-01-01T00:00:00Z";
  struct timespec ts = {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  return oci::rfc3339_nano(ts);
}

const char* restart_name(RestartPolicy p) {
  switch (p) {
    case RestartPolicy::no:
      return "no";
    case RestartPolicy::always:
      return "always";
    case RestartPolicy::on_failure:
      return "on-failure";
    case RestartPolicy::unless_stopped:
      return "unless-stopped";
  }
  return "no";
}

}  // namespace

Result<nlohmann::ordered_json> Engine::inspect(std::string_view id_or_name) {
  BERTH_TRY_ASSIGN(c, container(id_or_name));
  const RunOptions& o = c.options;
  using json = nlohmann::ordered_json;
  // The process as it was built (config.json), when the bundle is there.
  json process = json::object();
  if (auto text = read_file(paths().bundle(c.id) + "/config.json"); text) {
    auto spec = json::parse(*text, nullptr, false);
    if (spec.is_object() && spec.contains("process")) process = spec["process"];
  }
  json args = process.value("args", json::array());
  json state = {
      {"Status", state_name(c.state)},
      {"Running", c.state == ContainerState::running || c.state == ContainerState::paused},
      {"Paused", c.state == ContainerState::paused},
      {"Restarting", false},
      {"OOMKilled", c.oom_killed},
      {"Dead", false},
      {"Pid", c.state == ContainerState::stopped ? 0 : c.pid},
      {"ExitCode", c.exit_code},
      {"StartedAt", rfc3339(c.started_at)},
      {"FinishedAt", rfc3339(c.finished_at)},
  };
  json labels = json::object();
  for (const auto& [k, v] : o.labels) labels[k] = v;
  json cfg = {
      {"Hostname", o.hostname.empty() ? c.id.substr(0, 12) : o.hostname},
      {"User", o.user},
      {"Env", process.value("env", json::array())},
      {"Cmd", o.command},
      {"Entrypoint", o.entrypoint ? json(*o.entrypoint) : json(nullptr)},
      {"Image", c.image_name},
      {"WorkingDir", process.value("cwd", "/")},
      {"Labels", labels},
      {"StopSignal", o.stop_signal.empty() ? "SIGTERM" : o.stop_signal},
      {"StopTimeout", o.stop_timeout.value_or(10)},
      {"Tty", o.tty},
      {"OpenStdin", o.interactive},
  };
  json mounts = json::array();
  for (const auto& m : o.mounts) {
    json j;
    switch (m.type) {
      case MountRequest::Type::bind:
        j = {{"Type", "bind"}, {"Source", m.source}};
        break;
      case MountRequest::Type::volume:
      {
        auto it = c.volumes.find(m.destination);
        std::string name = it == c.volumes.end() ? m.source : it->second;
        j = {{"Type", "volume"}, {"Name", name}, {"Source", paths().volume_data(name)}};
      }
        break;
      case MountRequest::Type::tmpfs:
        j = {{"Type", "tmpfs"}, {"Source", ""}};
        break;
    }
    j["Destination"] = m.destination;
    j["RW"] = !m.read_only;
    j["Options"] = m.options;
    mounts.push_back(std::move(j));
  }
  json ports = json::object();
  for (const auto& p : c.ports)
    for (uint16_t i = 0; i < p.range; ++i)
      ports[fmt::format("{}/{}", p.container_port + i, p.protocol)].push_back(
          {{"HostIp", p.host_ip}, {"HostPort", std::to_string(p.host_port + i)}});
  json networks = json::object();
  std::string ip;
  if (!c.network_status.empty()) {
    if (auto att = attachments_from_json(c.network_status); att) {
      for (const auto& a : *att) {
        std::string addr = a.ips.empty() ? "" : a.ips.front().substr(0, a.ips.front().find('/'));
        if (ip.empty()) ip = addr;
        networks[a.network] = {{"IPAddress", addr}, {"Gateway", a.gateway}, {"MacAddress", a.mac},
                               {"InterfaceName", a.interface}};
      }
    }
  }
  json host_config = {
      {"NetworkMode", o.network.empty() ? config().network : o.network},
      {"RestartPolicy", {{"Name", restart_name(o.restart.policy)}, {"MaximumRetryCount", o.restart.max_retries}}},
      {"AutoRemove", o.remove},
      {"Privileged", o.privileged},
      {"ReadonlyRootfs", o.read_only},
      {"CapAdd", o.cap_add},
      {"CapDrop", o.cap_drop},
      {"Memory", o.memory.value_or(0)},
      {"NanoCpus", static_cast<int64_t>(o.cpus.value_or(0) * 1e9)},
      {"PidsLimit", o.pids_limit.value_or(0)},
      {"Runtime", c.runtime},
      {"Init", o.init},
  };
  json doc = {
      {"Id", c.id},
      {"Created", rfc3339(c.created_at)},
      {"Path", args.empty() ? json("") : args[0]},
      {"Args", args.size() > 1 ? json(std::vector<json>(args.begin() + 1, args.end())) : json::array()},
      {"State", state},
      {"Image", c.image_id},
      {"ImageName", c.image_name},
      {"Name", c.name},
      {"RestartCount", c.restart_count},
      {"Pod", c.pod_id},
      {"Config", cfg},
      {"Mounts", mounts},
      {"NetworkSettings", {{"IPAddress", ip}, {"Ports", ports}, {"Networks", networks}, {"SandboxKey", c.netns}}},
      {"HostConfig", host_config},
      {"LogPath", paths().log_file(c.id)},
  };
  return doc;
}

}  // namespace berth::engine
