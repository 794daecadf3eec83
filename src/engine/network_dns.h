// Name resolution between the containers of a network, as podman's netavark
// does it: one aardvark-dns per runroot serves every DNS-enabled network on
// its gateway addresses (port 53, IPv4 and IPv6), answering the names of the
// network's containers (name, --network-alias, short id: A and AAAA from
// their addresses of each family) and forwarding the rest to
// the host's resolvers (or the container's --dns servers).
//
// Its config dir <runroot>/aardvark-dns holds one file per network: the
// first line the listen addresses, then "id ipv4s ipv6s names[ upstream]"
// per container (comma-separated lists). Entries are added after a
// container's CNI ADD and removed at teardown, under one flock
// (Paths::lock("aardvark-dns")): aardvark-dns is started on first need,
// told to reload by SIGHUP, and stopped when no entry is left. Its pid file
// (aardvark.pid, written by aardvark-dns itself) is trusted only when that
// process runs aardvark-dns on this config dir, so a crash leaves nothing
// that the next command trips on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/network.h"
#include "engine/paths.h"

namespace berth::engine {

inline constexpr std::string_view kAardvarkBinary = "/usr/lib/podman/aardvark-dns";

// One container on one network.
struct DnsEntry {
  std::string network;
  std::vector<std::string> listen;    // aardvark-dns's addresses on the network (its gateways)
  std::string container_id;
  std::vector<std::string> ipv4, ipv6;  // the container's addresses, without prefix length
  std::vector<std::string> names;     // container name, aliases, short id
  std::vector<std::string> upstream;  // --dns servers; empty = the host's resolvers
};

class NetworkDns {
 public:
  explicit NetworkDns(const Paths& paths, std::string binary = std::string(kAardvarkBinary));

  // Adds (or replaces) each entry, then makes aardvark-dns serve them.
  Result<> add(const std::vector<DnsEntry>& entries);
  // Drops the container's entries from every network; a no-op (no lock)
  // when DNS was never used under this runroot.
  Result<> remove(std::string_view container_id);
  // Drops a removed network's file.
  Result<> remove_network(std::string_view network);

  std::string config_dir() const;
  // The pid of the running aardvark-dns of this runroot; 0 when none.
  pid_t running_pid() const;

 private:
  Result<> reload();  // under the lock: HUP, start or stop as the files need
  Result<> start();
  void stop(pid_t pid);

  const Paths* paths_;
  std::string binary_;
};

// Whether aardvark-dns serves the containers of network `n`.
inline bool has_dns(const NetworkRecord& n) { return n.dns_enabled && n.driver == "bridge"; }

// The entries of a container just attached: one per DNS-enabled bridge
// network of `records` (parallel to `attachments`), whose dns_server is set.
// Names: setup.aliases and the short id.
std::vector<DnsEntry> dns_entries(const std::vector<NetworkRecord>& records, std::vector<NetAttachment>& attachments,
                                  const NetworkSetup& setup);

// The text of a network's config file with `e` in it (a previous entry of
// the same container replaced; the first line made from e.listen).
std::string dns_config_with(std::string_view old, const DnsEntry& e);
// `old` without the container's line; `empty` tells whether no entry is left.
std::string dns_config_without(std::string_view old, std::string_view container_id, bool& empty);

}  // namespace berth::engine
