// Networks as records in berth.db plus their conflist under
// <root>/networks: create, list, inspect, remove, prune, and the default
// network made on first use.
#include "engine/network.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <regex>
#include <set>

#include "base/file.h"
#include "engine/cni.h"
#include "engine/network_config.h"
#include "engine/network_dns.h"
#include "engine/network_internal.h"

namespace berth::engine {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<> valid_name(std::string_view name) {
  static const std::regex pattern("[a-zA-Z0-9][a-zA-Z0-9_.-]*");
  if (name.empty() || name.size() > 200 || !std::regex_match(name.begin(), name.end(), pattern))
    return error("invalid network name \"{}\": letters, digits, \"_\", \".\", \"-\" (not first)", name);
  return {};
}

}  // namespace

std::vector<std::string> networks_named_by(std::string_view value, std::string_view default_network) {
  if (value.empty()) return {std::string(default_network)};
  if (value == "none" || value == "host" || value == "private" || value.starts_with("container:") ||
      value.starts_with("ns:") || value.starts_with("pod:"))
    return {};
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    if (comma > start) names.emplace_back(value.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

Result<> write_conflist(const NetworkRecord& n, const Paths& paths) {
  BERTH_TRY(mkdir_p(paths.networks(), 0755));
  // A temp file of its own (not write_file_atomic's fixed "<path>.tmp"):
  // two processes making the default network may write it at once.
  std::string tmp = n.conflist_path + ".XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return sys_error(errno, "create \"{}\"", tmp);
  std::string data = make_conflist(n, paths.ipam_dir()).dump(2) + "\n";
  auto written = write_all(fd.get(), data, tmp);
  if (written && ::fchmod(fd.get(), 0644) != 0) written = sys_error(errno, "chmod \"{}\"", tmp);
  if (written && ::fsync(fd.get()) != 0) written = sys_error(errno, "fsync \"{}\"", tmp);
  if (written && ::rename(tmp.c_str(), n.conflist_path.c_str()) != 0)
    written = sys_error(errno, "rename \"{}\" to \"{}\"", tmp, n.conflist_path);
  if (!written) ::unlink(tmp.c_str());
  return written;
}

Result<nlohmann::json> load_conflist(const NetworkRecord& n, const Paths& paths) {
  auto data = read_file(n.conflist_path);
  if (!data && data.error().code() == ENOENT) {
    BERTH_TRY(write_conflist(n, paths));
    return make_conflist(n, paths.ipam_dir());
  }
  if (!data) return std::unexpected(std::move(data).error());
  auto j = nlohmann::json::parse(*data, nullptr, false);
  if (!j.is_object()) return error("network \"{}\": \"{}\" is not a JSON object", n.name, n.conflist_path);
  return j;
}

Networks::Networks(const Paths& paths, EngineDb& db, NetworkConfig config)
    : paths_(&paths), db_(&db), config_(std::move(config)) {}

Result<NetworkRecord> Networks::ensure_default() {
  auto found = db_->network(config_.default_network);
  if (!found && found.error().code() != ENOENT) return found;
  if (!found) {
    NetworkRecord n;
    n.name = config_.default_network;
    n.id = new_id();
    n.interface = config_.default_interface;
    n.subnet = config_.default_subnet;
    n.created_at = now_ns();
    n.conflist_path = paths_->networks() + "/" + n.name + ".conflist";
    BERTH_TRY(plan_network(n, {}));
    if (auto added = db_->add_network(n); !added) {
      // Another berth process made it first: its row wins (names are unique).
      found = db_->network(config_.default_network);
      if (!found) return std::unexpected(std::move(added).error());
    } else {
      found = n;
    }
  }
  // The file is a pure function of the row, written atomically: a second
  // process writing it at the same time writes the same bytes.
  if (::access(found->conflist_path.c_str(), F_OK) != 0) BERTH_TRY(write_conflist(*found, *paths_));
  return found;
}

Result<NetworkRecord> Networks::create(const NetworkCreateOptions& options) {
  BERTH_TRY(valid_name(options.name));
  if (options.driver != "bridge" && options.driver != "macvlan" && options.driver != "ipvlan")
    return error("unsupported network driver \"{}\": bridge, macvlan or ipvlan", options.driver);
  // As podman: gateways and ranges pair with the subnets by position.
  if (options.subnets.empty() && (!options.gateways.empty() || !options.ip_ranges.empty()))
    return error("{} {} needs --subnet (the subnet it is part of)", options.gateways.empty() ? "--ip-range" : "--gateway",
                 options.gateways.empty() ? options.ip_ranges[0] : options.gateways[0]);
  if (options.gateways.size() > options.subnets.size())
    return error("--gateway {} has no --subnet: {} gateways for {} subnets (they pair by order)",
                 options.gateways[options.subnets.size()], options.gateways.size(), options.subnets.size());
  if (options.ip_ranges.size() > options.subnets.size())
    return error("--ip-range {} has no --subnet: {} ranges for {} subnets (they pair by order)",
                 options.ip_ranges[options.subnets.size()], options.ip_ranges.size(), options.subnets.size());
  NetworkRecord n;
  n.driver = options.driver;
  n.options = options.options;
  BERTH_TRY(check_network_options(n));
  // First, so that a new network's subnet never takes the default's.
  BERTH_TRY(ensure_default());
  // The free subnet and bridge are picked and taken under one lock: two
  // creates at once would pick the same.
  BERTH_TRY_ASSIGN(lock, lock_object(paths_->lock("networks")));
  if (auto existing = db_->network(options.name); existing)
    return std::unexpected(Error(EEXIST, fmt::format("network name \"{}\" is already used", options.name)));
  BERTH_TRY_ASSIGN(existing, db_->networks());
  n.name = options.name;
  n.id = new_id();
  n.interface = options.interface;
  std::vector<NetworkSubnet> given;
  for (size_t i = 0; i < options.subnets.size(); ++i)
    given.push_back({options.subnets[i], i < options.gateways.size() ? options.gateways[i] : "", "", ""});
  set_subnets(n, std::move(given));
  n.internal = options.internal;
  // As podman: a new bridge network resolves its containers' names; the default one does not.
  n.dns_enabled = n.driver == "bridge" && !options.disable_dns;
  n.labels = options.labels;
  n.created_at = now_ns();
  n.conflist_path = paths_->networks() + "/" + n.name + ".conflist";
  if (!n.interface.empty() && n.driver == "bridge") {
    for (const auto& e : existing) {
      if (e.interface == n.interface)
        return std::unexpected(Error(EEXIST, fmt::format("bridge \"{}\" is already used by network \"{}\"", n.interface, e.name)));
    }
  }
  BERTH_TRY(plan_network(n, existing, options.ipv6));
  auto subnets = subnets_of(n);  // the given ones first, in their order
  for (size_t i = 0; i < options.ip_ranges.size(); ++i) BERTH_TRY(plan_ip_range(subnets[i], options.ip_ranges[i], n.name));
  set_subnets(n, std::move(subnets));
  BERTH_TRY(db_->add_network(n));
  auto written = write_conflist(n, *paths_);
  if (written) written = sync_network_rules(*db_, *paths_);
  if (written) written = prepare_bridge(n);  // refuses a vlan the kernel cannot do, now
  if (!written) {
    (void)db_->remove_network(n.name);
    (void)::unlink(n.conflist_path.c_str());
    (void)sync_network_rules(*db_, *paths_);
    return std::unexpected(std::move(written).error());
  }
  return n;
}

Result<std::vector<NetworkRecord>> Networks::list() {
  BERTH_TRY(ensure_default());
  return db_->networks();
}

Result<NetworkRecord> Networks::inspect(std::string_view name) {
  if (name == config_.default_network) return ensure_default();
  return db_->network(name);
}

Result<std::vector<std::string>> Networks::users(const NetworkRecord& n) {
  BERTH_TRY_ASSIGN(containers, db_->containers());
  std::vector<std::string> users;
  std::map<std::string, std::string> pod_networks;
  BERTH_TRY_ASSIGN(pods, db_->pods());
  for (const auto& p : pods)
    if (p.share_net) pod_networks[p.id] = p.network;  // else members have networks of their own
  for (const auto& c : containers) {
    std::string value = c.options.network;
    if (!c.pod_id.empty() && !c.infra) {
      if (auto it = pod_networks.find(c.pod_id); it != pod_networks.end()) value = it->second;
    }
    auto names = networks_named_by(value, config_.default_network);
    if (std::find(names.begin(), names.end(), n.name) != names.end() ||
        std::find(names.begin(), names.end(), n.id) != names.end())
      users.push_back(c.name.empty() ? c.id : c.name);
  }
  return users;
}

Result<> Networks::remove(std::string_view name, bool force) {
  BERTH_TRY_ASSIGN(n, db_->network(name));
  if (n.name == config_.default_network)
    return std::unexpected(Error(EPERM, fmt::format("the default network \"{}\" cannot be removed", n.name)));
  BERTH_TRY_ASSIGN(in_use, users(n));
  // Removed containers' teardowns still pending are done first: nothing of
  // theirs may outlive the network (and their DEL must not race the loop below).
  BERTH_TRY(finish_teardowns({}, true));
  if (!in_use.empty() && !force) {
    std::string list;
    for (const auto& u : in_use) list += (list.empty() ? "" : ", ") + u;
    return std::unexpected(Error(EBUSY, fmt::format("network \"{}\" is in use by containers: {}", n.name, list)));
  }
  // Forced: detach every container from it first (CNI DEL with the cached
  // results), so no veth, address or firewall rule of it is left behind.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(paths_->cni_results(), ec)) {
    std::string file = entry.path().filename().string();
    if (!file.starts_with(n.name + "-") || !file.ends_with(".json")) continue;
    BERTH_TRY_ASSIGN(cached, cni::read_cache(entry.path().string()));
    if (!cached || cached->network != n.name) continue;
    std::string netns = paths_->netns(cached->container_id);
    cni::Invocation inv{cached->container_id, ::access(netns.c_str(), F_OK) == 0 ? netns : "", cached->ifname, "",
                        config_.plugin_dirs};
    BERTH_TRY(cni::del_list(cached->conflist, inv, cached->capability_args, cached->result));
    if (inv.netns.empty()) remove_masquerade_rules(cached->conflist, cached->container_id, cached->result);
    BERTH_TRY(cni::remove_cache(entry.path().string()));
  }
  BERTH_TRY(db_->remove_network(n.name));
  BERTH_TRY(NetworkDns(*paths_).remove_network(n.name));
  BERTH_TRY(sync_network_rules(*db_, *paths_));  // its masquerade and forward rules go
  if (::unlink(n.conflist_path.c_str()) != 0 && errno != ENOENT)
    return sys_error(errno, "remove \"{}\"", n.conflist_path);
  std::filesystem::remove_all(paths_->ipam_dir() + "/" + n.name, ec);
  if (n.driver == "bridge") {
    // With --opt vlan: the plugin's gateway link (a veth pair: its peer goes too).
    if (std::string link = gateway_interface(n); link != n.interface) BERTH_TRY(delete_link(link));
    BERTH_TRY(delete_link(n.interface));
  }
  return {};
}

Result<std::vector<std::string>> Networks::prune() {
  BERTH_TRY_ASSIGN(all, db_->networks());
  std::vector<std::string> removed;
  for (const auto& n : all) {
    if (n.name == config_.default_network) continue;
    BERTH_TRY_ASSIGN(in_use, users(n));
    if (!in_use.empty()) continue;
    BERTH_TRY(remove(n.name, false));
    removed.push_back(n.name);
  }
  return removed;
}

}  // namespace berth::engine
