// Pieces shared by the network*.cc files. Internal to the engine.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/db.h"
#include "engine/options.h"
#include "engine/paths.h"
#include "engine/records.h"

namespace berth::engine {

// The network names a --network value attaches to: "" = {default};
// none, host, container:X, ns:PATH = {}; else a comma-separated list.
std::vector<std::string> networks_named_by(std::string_view value, std::string_view default_network);

// Host ports for mappings with host_port 0: free ones, found by binding port
// 0 on the mapping's host address (a range gets consecutive free ports),
// none of them in `taken` (protocol, port): ports other containers publish,
// which no socket holds (portmap's rules are DNAT).
using TakenPorts = std::set<std::pair<std::string, uint16_t>>;
Result<std::vector<PortMapping>> resolve_host_ports(const std::vector<PortMapping>& ports, const TakenPorts& taken = {});
// The host ports published by the containers' cached attachments under `cni_results`.
TakenPorts published_ports(const std::string& cni_results);
// The portMappings capability value: one entry per port of each range.
nlohmann::json port_mappings_json(const std::vector<PortMapping>& ports);

// The network's configuration list from its file; a missing file is written
// again from the record (the database row is the truth).
Result<nlohmann::json> load_conflist(const NetworkRecord& n, const Paths& paths);
Result<> write_conflist(const NetworkRecord& n, const Paths& paths);

// After a DEL without the namespace: removes the bridge plugin's masquerade
// rules of the cached result, which the plugin (1.1.1) skips then.
void remove_masquerade_rules(const nlohmann::json& conflist, const std::string& container_id,
                             const nlohmann::json& result);

// Berth's per-network iptables rules (network_rules.cc): apply_network_rules
// makes the chains hold exactly the rules of `networks` (one
// iptables-restore; two the first time; the same with ip6tables-restore
// when a network has an IPv6 subnet or `v6_installed` says IPv6 rules may
// be in place); sync_network_rules does it for every
// network in the database and marks them installed; ensure_network_rules
// does that only when `n` is a bridge network not marked yet (after boot).
Result<> apply_network_rules(const std::vector<NetworkRecord>& networks, bool v6_installed = true);
Result<> sync_network_rules(EngineDb& db, const Paths& paths);
Result<> ensure_network_rules(const NetworkRecord& n, EngineDb& db, const Paths& paths);

// CNI DEL of every cached attachment of a container (last first), each with
// its cached chain and result; the first error, after trying them all.
// Touches no database.
Result<> del_attachments(const std::string& cache_dir, const std::string& container_id, const std::string& netns,
                         const std::vector<std::string>& plugin_dirs);

// Deletes a network interface of the caller's namespace (rtnetlink); a
// missing one is not an error.
Result<> delete_link(const std::string& name);

// Makes the bridge of a bridge network with an IPv6 subnet or --opt vlan
// before the plugin does (which then takes it as it is), when it does not
// exist: IPv6 duplicate address detection off (so the gateways are not
// tentative: aardvark-dns binds them, containers reach them at once), VLAN
// filtering on for vlan (a kernel without it is named in the error).
// Nothing for other networks.
Result<> prepare_bridge(const NetworkRecord& n);

}  // namespace berth::engine
