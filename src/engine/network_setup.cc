// A container's attachments: CNI ADD on each of its networks (eth0, eth1...)
// with the result cached, DEL from the cache, CHECK against it.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <future>
#include <system_error>

#include "base/log.h"
#include "engine/cni.h"
#include "engine/network.h"
#include "engine/network_config.h"
#include "engine/network_dns.h"
#include "engine/network_internal.h"

namespace berth::engine {
namespace {

// The container-side interface of a result: its MAC and its addresses.
NetAttachment attachment_from_result(const std::string& network, const std::string& ifname,
                                     const nlohmann::json& result) {
  NetAttachment a{network, ifname, {}, "", ""};
  int index = -1;
  if (auto ifs = result.find("interfaces"); ifs != result.end() && ifs->is_array()) {
    for (size_t i = 0; i < ifs->size(); ++i) {
      const auto& itf = (*ifs)[i];
      if (itf.value("name", "") == ifname && itf.contains("sandbox")) {
        index = static_cast<int>(i);
        a.mac = itf.value("mac", "");
      }
    }
  }
  if (auto ips = result.find("ips"); ips != result.end() && ips->is_array()) {
    for (const auto& ip : *ips) {
      if (ip.contains("interface") && ip["interface"].is_number() && ip["interface"].get<int>() != index) continue;
      a.ips.push_back(ip.value("address", ""));
      if (a.gateway.empty()) a.gateway = ip.value("gateway", "");
    }
  }
  return a;
}

std::string netns_if_present(const std::string& path) {
  // DEL on a namespace already gone: the spec has CNI_NETNS empty then, and
  // the plugins still release what lives outside it (address, rules).
  return !path.empty() && ::access(path.c_str(), F_OK) == 0 ? path : "";
}

// Cache files of one container, in interface order (eth0 first).
std::vector<std::string> cached_attachments(const std::string& dir, const std::string& container_id) {
  std::vector<std::pair<std::string, std::string>> found;  // ifname, path
  std::error_code ec;
  std::string marker = "-" + container_id + "-";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string file = entry.path().filename().string();
    auto at = file.rfind(marker);
    if (at == std::string::npos || !file.ends_with(".json")) continue;
    std::string ifname = file.substr(at + marker.size(), file.size() - at - marker.size() - 5);
    found.emplace_back(ifname, entry.path().string());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
  });
  std::vector<std::string> paths;
  for (auto& f : found) paths.push_back(std::move(f.second));
  return paths;
}

Result<> del_cached(const std::string& cache_file, const std::string& netns, const std::vector<std::string>& plugin_dirs) {
  BERTH_TRY_ASSIGN(cached, cni::read_cache(cache_file));
  if (!cached) return {};
  cni::Invocation inv{cached->container_id, netns_if_present(netns), cached->ifname, "", plugin_dirs};
  BERTH_TRY(cni::del_list(cached->conflist, inv, cached->capability_args, cached->result));
  if (inv.netns.empty()) remove_masquerade_rules(cached->conflist, cached->container_id, cached->result);
  return cni::remove_cache(cache_file);
}

// The networks of a setup: each entry may be a --network value ("a,b"); none = the default.
Result<std::vector<std::string>> network_names(const std::vector<std::string>& given, const std::string& default_network) {
  if (given.empty()) return std::vector<std::string>{default_network};
  std::vector<std::string> names;
  for (const auto& g : given) {
    auto named = networks_named_by(g, default_network);
    if (named.empty()) return std::unexpected(Error(EINVAL, fmt::format("--network {} has no CNI network to set up", g)));
    for (auto& n : named) names.push_back(std::move(n));
  }
  return names;
}

// The chain one container runs on a network: the network's list without
// portmap when it publishes no port there. portmap would map nothing on ADD
// yet cost an exec on ADD and an exec plus iptables on DEL. The spec leaves
// the plugins a container runs to the runtime; the chain as run is cached,
// so its DEL and CHECK run exactly the same plugins.
nlohmann::json chain_for(nlohmann::json conflist, const nlohmann::json& caps) {
  auto plugins = conflist.find("plugins");
  if (plugins == conflist.end() || !plugins->is_array() || caps.contains("portMappings")) return conflist;
  nlohmann::json kept = nlohmann::json::array();
  for (auto& p : *plugins)
    if (!p.is_object() || p.value("type", "") != "portmap") kept.push_back(std::move(p));
  if (!kept.empty()) *plugins = std::move(kept);
  return conflist;
}

// One network's ADD of a setup, decided with the database.
struct PlannedAdd {
  std::string network, ifname;
  nlohmann::json chain, caps;
};

// The ADDs in order, each result cached; on failure all of them undone.
// Touches no database: it may run on a thread of its own.
Result<std::vector<NetAttachment>> run_adds(const std::vector<PlannedAdd>& adds, const std::string& container_id,
                                            const std::string& netns, const std::string& cache_dir,
                                            const std::vector<std::string>& plugin_dirs) {
  std::vector<NetAttachment> attachments;
  std::vector<std::string> added;  // cache files, to undo on failure
  auto rollback = [&](Error e) -> Result<std::vector<NetAttachment>> {
    for (auto it = added.rbegin(); it != added.rend(); ++it) {
      if (auto undone = del_cached(*it, netns, plugin_dirs); !undone)
        log::warn("undo network setup of {}: {}", container_id, undone.error().what());
    }
    return std::unexpected(std::move(e));
  };
  for (const auto& add : adds) {
    cni::Invocation inv{container_id, netns, add.ifname, "", plugin_dirs};
    nlohmann::json partial;
    auto result = cni::add_list(add.chain, inv, add.caps, &partial);
    if (!result) {
      // The plugins that did succeed (the bridge's veth and address when a
      // later one fails) are undone by a DEL of the whole list, given what
      // they returned (firewall finds its rules by the addresses in it).
      if (auto undone = cni::del_list(add.chain, inv, add.caps, partial); !undone)
        log::warn("undo network \"{}\" of {}: {}", add.network, container_id, undone.error().what());
      return rollback(std::move(result).error());
    }
    cni::CachedResult cached{container_id, add.network, add.ifname, add.chain, add.caps, *result};
    if (auto written = cni::write_cache(cache_dir, cached); !written) {
      (void)cni::del_list(add.chain, inv, add.caps, *result);
      return rollback(std::move(written).error());
    }
    added.push_back(cni::cache_path(cache_dir, add.network, container_id, add.ifname));
    attachments.push_back(attachment_from_result(add.network, add.ifname, *result));
  }
  return attachments;
}

}  // namespace

Result<PendingSetup> Networks::start_setup(const NetworkSetup& setup, std::vector<PortMapping>& ports) {
  BERTH_TRY(finish_teardowns({}, false));  // what a crash left, never one in progress
  BERTH_TRY_ASSIGN(names, network_names(setup.networks, config_.default_network));
  std::vector<NetworkRecord> records;
  for (const auto& name : names) {
    if (name == config_.default_network) {
      BERTH_TRY_ASSIGN(n, ensure_default());
      records.push_back(std::move(n));
    } else {
      BERTH_TRY_ASSIGN(n, db_->network(name));
      records.push_back(std::move(n));
    }
  }
  if (!setup.ports.empty() && records[0].driver != "bridge")
    return std::unexpected(Error(EINVAL, fmt::format("ports cannot be published on network \"{}\": its {} driver has no port mapping",
                                                     records[0].name, records[0].driver)));
  // Random host ports are picked and published (cached by the ADD thread)
  // under one lock, held until that thread is done: another `berth run`
  // picking at the same time skips ours.
  UniqueFd ports_lock;
  TakenPorts taken;
  if (std::any_of(setup.ports.begin(), setup.ports.end(), [](const PortMapping& p) { return p.host_port == 0; })) {
    BERTH_TRY_ASSIGN(lock, lock_object(paths_->lock("host-ports")));
    ports_lock = std::move(lock);
    taken = published_ports(paths_->cni_results());
  }
  BERTH_TRY_ASSIGN(resolved, resolve_host_ports(setup.ports, taken));
  std::vector<PlannedAdd> adds;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& n = records[i];
    BERTH_TRY(ensure_network_rules(n, *db_, *paths_));
    BERTH_TRY_ASSIGN(conflist, load_conflist(n, *paths_));
    nlohmann::json caps = nlohmann::json::object();
    if (i == 0 && !resolved.empty()) caps["portMappings"] = port_mappings_json(resolved);
    adds.push_back({n.name, fmt::format("eth{}", i), chain_for(std::move(conflist), caps), std::move(caps)});
  }
  PendingSetup pending;
  for (const auto& n : records) {
    if (!has_dns(n)) continue;
    for (auto& gateway : gateways_of(n)) pending.dns_servers.push_back(std::move(gateway));  // both families'
  }
  ports = std::move(resolved);
  try {
    pending.attachments =
        std::async(std::launch::async, [adds = std::move(adds), records = std::move(records), setup, paths = *paths_,
                                        plugin_dirs = config_.plugin_dirs,
                                        ports_lock = std::move(ports_lock)]() -> Result<std::vector<NetAttachment>> {
          BERTH_TRY_ASSIGN(attachments, run_adds(adds, setup.container_id, setup.netns, paths.cni_results(), plugin_dirs));
          if (auto dns = NetworkDns(paths).add(dns_entries(records, attachments, setup)); !dns) {
            (void)NetworkDns(paths).remove(setup.container_id);
            (void)del_attachments(paths.cni_results(), setup.container_id, setup.netns, plugin_dirs);
            return std::unexpected(std::move(dns).error());
          }
          return attachments;
        });
  } catch (const std::system_error& e) {  // no thread to be had
    return std::unexpected(Error(e.code().value(), "start the network setup thread"));
  }
  return pending;
}

Result<std::vector<NetAttachment>> Networks::setup(const NetworkSetup& setup, std::vector<PortMapping>& ports) {
  std::vector<PortMapping> resolved;
  BERTH_TRY_ASSIGN(pending, start_setup(setup, resolved));
  BERTH_TRY_ASSIGN(attachments, pending.attachments.get());
  ports = std::move(resolved);
  return attachments;
}

Result<> del_attachments(const std::string& cache_dir, const std::string& container_id, const std::string& netns,
                         const std::vector<std::string>& plugin_dirs) {
  auto files = cached_attachments(cache_dir, container_id);
  Result<> first_error;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    auto done = del_cached(*it, netns, plugin_dirs);
    if (!done && first_error) first_error = std::unexpected(std::move(done).error());
  }
  return first_error;
}

Result<> Networks::teardown(const NetworkSetup& setup) {
  Result<> dns = NetworkDns(*paths_).remove(setup.container_id);
  Result<> dels = del_attachments(paths_->cni_results(), setup.container_id, setup.netns, config_.plugin_dirs);
  return dns ? dels : dns;
}

Result<> Networks::check(const NetworkSetup& setup) {
  BERTH_TRY_ASSIGN(names, network_names(setup.networks, config_.default_network));
  for (size_t i = 0; i < names.size(); ++i) {
    std::string ifname = fmt::format("eth{}", i);
    std::string file = cni::cache_path(paths_->cni_results(), names[i], setup.container_id, ifname);
    BERTH_TRY_ASSIGN(cached, cni::read_cache(file));
    if (!cached)
      return std::unexpected(Error(ENOENT, fmt::format("network \"{}\" of container {}: no cached CNI result",
                                                       names[i], setup.container_id)));
    cni::Invocation inv{setup.container_id, setup.netns, ifname, "", config_.plugin_dirs};
    BERTH_TRY(cni::check_list(cached->conflist, inv, cached->capability_args, cached->result));
  }
  return {};
}

std::string attachments_to_json(const std::vector<NetAttachment>& attachments) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : attachments)
    out.push_back({{"network", a.network}, {"interface", a.interface}, {"ips", a.ips}, {"gateway", a.gateway},
                   {"mac", a.mac}, {"dns_server", a.dns_server}});
  return out.dump();
}

Result<std::vector<NetAttachment>> attachments_from_json(std::string_view json) {
  if (json.empty()) return std::vector<NetAttachment>{};
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_array()) return error("network status: not a JSON array");
  std::vector<NetAttachment> out;
  for (const auto& a : j) {
    if (!a.is_object()) return error("network status: an attachment is not an object");
    NetAttachment n;
    n.network = a.value("network", "");
    n.interface = a.value("interface", "");
    n.gateway = a.value("gateway", "");
    n.mac = a.value("mac", "");
    n.dns_server = a.value("dns_server", "");
    if (auto ips = a.find("ips"); ips != a.end() && ips->is_array())
      for (const auto& ip : *ips) n.ips.push_back(ip.is_string() ? ip.get<std::string>() : "");
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace berth::engine
