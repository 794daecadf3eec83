// `berth port ID [PRIVATE[/PROTO]]`: a container's published ports as docker
// prints them ("80/tcp -> 0.0.0.0:8080", one line per port of a range), or
// the host addresses of one container port.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/options.h"

namespace berth::engine {

// "80", "80/tcp", "53/udp": the port and protocol (tcp when not given).
struct PortQuery {
  uint16_t port = 0;
  std::string protocol = "tcp";
};
Result<PortQuery> parse_port_query(std::string_view text);

// Mappings whose host port is not resolved yet (0: a created container) are
// left out. With a query, only its host addresses ("0.0.0.0:8080"); ENOENT
// "no public port '80/tcp' published for <name>" when there are none.
Result<std::string> format_ports(const std::vector<PortMapping>& ports, const std::optional<PortQuery>& query,
                                 std::string_view container_name);

}  // namespace berth::engine
