#include "engine/port_listing.h"

#include <charconv>

namespace berth::engine {

Result<PortQuery> parse_port_query(std::string_view text) {
  PortQuery q;
  auto slash = text.find('/');
  std::string_view number = text.substr(0, slash);
  if (slash != std::string_view::npos) {
    q.protocol = std::string(text.substr(slash + 1));
    if (q.protocol != "tcp" && q.protocol != "udp" && q.protocol != "sctp")
      return error("\"{}\": unknown protocol \"{}\" (tcp, udp or sctp)", text, q.protocol);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() || value == 0 || value > 65535)
    return error("\"{}\": not a port number", text);
  q.port = static_cast<uint16_t>(value);
  return q;
}

Result<std::string> format_ports(const std::vector<PortMapping>& ports, const std::optional<PortQuery>& query,
                                 std::string_view container_name) {
  std::string out;
  for (const auto& m : ports) {
    if (m.host_port == 0) continue;
    std::string ip = m.host_ip.empty() ? "0.0.0.0" : m.host_ip;
    bool v6 = ip.find(':') != std::string::npos;
    for (unsigned i = 0; i < m.range; ++i) {
      unsigned ctr = m.container_port + i, host = m.host_port + i;
      if (query && (query->port != ctr || query->protocol != m.protocol)) continue;
      std::string address = v6 ? fmt::format("[{}]:{}", ip, host) : fmt::format("{}:{}", ip, host);
      if (query) out += address + "\n";
      else out += fmt::format("{}/{} -> {}\n", ctr, m.protocol, address);
    }
  }
  if (query && out.empty())
    return std::unexpected(Error(ENOENT, fmt::format("no public port '{}/{}' published for {}", query->port,
                                                     query->protocol, container_name)));
  return out;
}

}  // namespace berth::engine
