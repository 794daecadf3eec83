// /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, written to
// its userdata dir and bind-mounted by the spec (spec_builder.h).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace berth::engine {

struct EtcInputs {
  std::string hostname;
  std::vector<std::string> aliases;     // more names after the hostname (a pod's infra name)
  std::vector<std::string> addresses;   // the container's IPs (for "<ip> <hostname>")
  std::vector<std::string> add_hosts;   // --add-host name:ip
  std::vector<std::string> dns, dns_search, dns_options;
  // aardvark-dns's addresses on the container's DNS-enabled networks: then
  // the only nameservers, with search domain dns.podman first (as podman).
  std::vector<std::string> network_dns;
  bool host_network = false;            // --network host: copy the host's files
  std::string host_resolv_conf = "/etc/resolv.conf";  // source of nameservers (127.x dropped, as podman does)
  // Rewrite the files in place, keeping their inodes: a pod's files are
  // bind-mounted into members that may still run.
  bool in_place = false;
};

// Writes <userdata>/hosts, hostname, resolv.conf (atomically, or in place).
Result<> write_etc_files(const std::string& userdata, const EtcInputs& in);
// Writes <userdata>/hosts again in place (same inode: a created container
// has it bind-mounted already), once the container's addresses are known.
Result<> rewrite_hosts_file(const std::string& userdata, const EtcInputs& in);

// Appends "<ip>\t<names>" to the hosts file at `path` (in place, under an
// flock of the file) unless a line already names the first of `names`.
Result<> add_hosts_entry(const std::string& path, std::string_view ip, const std::vector<std::string>& names);

}  // namespace berth::engine
