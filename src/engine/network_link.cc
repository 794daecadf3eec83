// A network's bridge made and removed with rtnetlink requests (RTM_NEWLINK,
// RTM_DELLINK by name) rather than exec'ing ip(8).
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/fd.h"
#include "base/file.h"
#include "engine/network.h"
#include "engine/network_config.h"
#include "engine/network_internal.h"

namespace berth::engine {
namespace {

// Appends an attribute to the message in `buf`; returns it (for nesting).
rtattr* add_attr(char* buf, size_t size, unsigned short type, const void* data, size_t len) {
  auto* header = reinterpret_cast<nlmsghdr*>(buf);
  size_t at = NLMSG_ALIGN(header->nlmsg_len);
  if (at + RTA_SPACE(len) > size) return nullptr;
  auto* attr = reinterpret_cast<rtattr*>(buf + at);
  attr->rta_type = type;
  attr->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
  if (len > 0) std::memcpy(RTA_DATA(attr), data, len);
  header->nlmsg_len = static_cast<uint32_t>(at + RTA_ALIGN(attr->rta_len));
  return attr;
}

void end_nest(char* buf, rtattr* nest) {
  nest->rta_len = static_cast<unsigned short>(buf + reinterpret_cast<nlmsghdr*>(buf)->nlmsg_len -
                                              reinterpret_cast<char*>(nest));
}

// Sends one request and reads its acknowledgement: the kernel's errno (0 = done).
Result<int> netlink_request(const nlmsghdr* request, std::string_view what) {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!sock) return sys_error(errno, "netlink socket");
  if (::send(sock.get(), request, request->nlmsg_len, 0) < 0) return sys_error(errno, "netlink send");
  char buf[4096];
  ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
  if (n < 0) return sys_error(errno, "netlink receive");
  auto* reply = reinterpret_cast<nlmsghdr*>(buf);
  if (!NLMSG_OK(reply, static_cast<unsigned>(n)) || reply->nlmsg_type != NLMSG_ERROR)
    return error("{}: unexpected netlink reply", what);
  return -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(reply))->error;
}

}  // namespace

Result<> prepare_bridge(const NetworkRecord& n) {
  bool vlan = gateway_interface(n) != n.interface;
  if (n.driver != "bridge" || (!vlan && !has_ipv6(n))) return {};
  if (n.interface.empty() || n.interface.size() >= IFNAMSIZ) return error("invalid bridge name \"{}\"", n.interface);
  if (::if_nametoindex(n.interface.c_str()) != 0) return {};  // made before (by us or the plugin)
  alignas(nlmsghdr) char buf[512] = {};
  auto* header = reinterpret_cast<nlmsghdr*>(buf);
  header->nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  header->nlmsg_type = RTM_NEWLINK;
  header->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  header->nlmsg_seq = 1;
  add_attr(buf, sizeof buf, IFLA_IFNAME, n.interface.c_str(), n.interface.size() + 1);
  // The plugin sets -o mtu only on a bridge it makes itself.
  if (auto mtu = n.options.find("mtu"); mtu != n.options.end() && mtu->second != "0") {
    uint32_t value = static_cast<uint32_t>(std::stoul(mtu->second));  // checked at create
    add_attr(buf, sizeof buf, IFLA_MTU, &value, sizeof value);
  }
  rtattr* info = add_attr(buf, sizeof buf, IFLA_LINKINFO, nullptr, 0);
  add_attr(buf, sizeof buf, IFLA_INFO_KIND, "bridge", 7);
  if (vlan) {
    rtattr* data = add_attr(buf, sizeof buf, IFLA_INFO_DATA, nullptr, 0);
    uint8_t on = 1;
    add_attr(buf, sizeof buf, IFLA_BR_VLAN_FILTERING, &on, 1);
    end_nest(buf, data);
  }
  end_nest(buf, info);
  BERTH_TRY_ASSIGN(err, netlink_request(header, fmt::format("create bridge \"{}\"", n.interface)));
  if (err == EEXIST) return {};  // another berth made it at the same moment
  if (err == EOPNOTSUPP && vlan)
    return error("--opt vlan={}: this kernel's bridges have no VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING), which the "
                 "bridge plugin's vlan needs: create bridge \"{}\": {}",
                 n.options.at("vlan"), n.interface, std::strerror(err));
  if (err != 0) return sys_error(err, "create bridge \"{}\"", n.interface);
  // Made down, so no address is tentative yet: the gateways are usable the
  // moment the plugin adds them (aardvark-dns binds them at once), as
  // netavark's bridges.
  std::string dad = fmt::format("/proc/sys/net/ipv6/conf/{}/accept_dad", n.interface);
  if (!has_ipv6(n)) return {};
  auto written = write_file(dad, "0\n");
  if (!written) (void)delete_link(n.interface);  // ours, just made
  return written;
}

Result<> delete_link(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return error("invalid interface name \"{}\"", name);
  struct {
    nlmsghdr header;
    ifinfomsg info;
    char attrs[64];
  } req{};
  req.header.nlmsg_type = RTM_DELLINK;
  req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.header.nlmsg_seq = 1;
  req.info.ifi_family = AF_UNSPEC;
  auto* attr = reinterpret_cast<rtattr*>(req.attrs);
  attr->rta_type = IFLA_IFNAME;
  attr->rta_len = static_cast<unsigned short>(RTA_LENGTH(name.size() + 1));
  std::memcpy(RTA_DATA(attr), name.c_str(), name.size() + 1);
  req.header.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof(ifinfomsg)) + RTA_ALIGN(attr->rta_len));
  BERTH_TRY_ASSIGN(err, netlink_request(&req.header, fmt::format("delete link \"{}\"", name)));
  if (err != 0 && err != ENODEV) return sys_error(err, "delete link \"{}\"", name);
  return {};
}

}  // namespace berth::engine
