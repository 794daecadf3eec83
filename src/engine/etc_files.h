// /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, written to
// its userdata dir and bind-mounted by the spec (spec_builder.h).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace berth::engine {

struct EtcInputs {
  std::string hostname;
  std::vector<std::string> addresses;   // the container's IPs (for "<ip> <hostname>")
  std::vector<std::string> add_hosts;   // --add-host name:ip
  std::vector<std::string> dns, dns_search, dns_options;
  bool host_network = false;            // --network host: copy the host's files
  std::string host_resolv_conf = "/etc/resolv.conf";  // source of nameservers (127.x dropped, as podman does)
};

// Writes <userdata>/hosts, hostname, resolv.conf (atomically).
Result<> write_etc_files(const std::string& userdata, const EtcInputs& in);

}  // namespace berth::engine
