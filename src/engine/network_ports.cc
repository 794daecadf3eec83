// Published ports: random host ports resolved, and the portMappings runtime
// configuration given to the portmap plugin.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <filesystem>

#include "base/fd.h"
#include "engine/cni.h"
#include "engine/network_internal.h"

namespace berth::engine {
namespace {

// Binds `port` (0 = any) on `host_ip` ("" = all addresses) for `protocol`;
// the socket stays open so that the next pick cannot take the same port.
Result<std::pair<UniqueFd, uint16_t>> bind_port(const std::string& host_ip, uint16_t port, const std::string& protocol) {
  int type = protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (host_ip.find(':') != std::string::npos) {
    family = AF_INET6;
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    if (::inet_pton(AF_INET6, host_ip.c_str(), &a6->sin6_addr) != 1) return error("invalid host IP \"{}\"", host_ip);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!host_ip.empty() && ::inet_pton(AF_INET, host_ip.c_str(), &a4->sin_addr) != 1)
      return error("invalid host IP \"{}\"", host_ip);
    len = sizeof(sockaddr_in);
  }
  UniqueFd fd(::socket(family, type | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error(errno, "socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return sys_error(errno, "bind {}:{}/{}", host_ip.empty() ? "0.0.0.0" : host_ip, port, protocol);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return sys_error(errno, "getsockname");
  uint16_t bound = family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return std::pair(std::move(fd), bound);
}

}  // namespace

TakenPorts published_ports(const std::string& cni_results) {
  TakenPorts taken;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(cni_results, ec)) {
    auto cached = cni::read_cache(entry.path().string());
    if (!cached || !*cached) continue;  // a file going away meanwhile
    auto mappings = (*cached)->capability_args.find("portMappings");
    if (mappings == (*cached)->capability_args.end() || !mappings->is_array()) continue;
    for (const auto& m : *mappings)
      if (m.is_object() && m.contains("hostPort") && m["hostPort"].is_number_unsigned())
        taken.emplace(m.value("protocol", "tcp"), m["hostPort"].get<uint16_t>());
  }
  return taken;
}

Result<std::vector<PortMapping>> resolve_host_ports(const std::vector<PortMapping>& ports, const TakenPorts& taken) {
  std::vector<PortMapping> out = ports;
  std::vector<UniqueFd> held;  // picked and rejected ports alike: the next bind of port 0 gets another
  for (auto& p : out) {
    if (p.host_port != 0) continue;
    uint16_t range = p.range == 0 ? 1 : p.range;
    bool found = false;
    for (int attempt = 0; attempt < 64 && !found; ++attempt) {
      BERTH_TRY_ASSIGN(first, bind_port(p.host_ip, 0, p.protocol));
      std::vector<UniqueFd> range_fds;
      range_fds.push_back(std::move(first.first));
      found = first.second + range - 1 <= 65535 && !taken.contains({p.protocol, first.second});
      for (uint16_t k = 1; k < range && found; ++k) {
        if (taken.contains({p.protocol, static_cast<uint16_t>(first.second + k)})) {
          found = false;
          break;
        }
        auto next = bind_port(p.host_ip, static_cast<uint16_t>(first.second + k), p.protocol);
        if (!next) found = false;
        else range_fds.push_back(std::move(next->first));
      }
      if (found) p.host_port = first.second;
      for (auto& fd : range_fds) held.push_back(std::move(fd));
    }
    if (!found)
      return std::unexpected(Error(EADDRINUSE, fmt::format("no {} consecutive free host ports for container port {}/{}",
                                                           range, p.container_port, p.protocol)));
  }
  return out;
}

nlohmann::json port_mappings_json(const std::vector<PortMapping>& ports) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : ports) {
    uint16_t range = p.range == 0 ? 1 : p.range;
    for (uint16_t k = 0; k < range; ++k) {
      nlohmann::json m = {{"hostPort", p.host_port + k}, {"containerPort", p.container_port + k}, {"protocol", p.protocol}};
      if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
      out.push_back(std::move(m));
    }
  }
  return out;
}

}  // namespace berth::engine
