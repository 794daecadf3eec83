// Removing a network's bridge with one rtnetlink request (RTM_DELLINK by
// name) rather than exec'ing ip(8).
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "base/fd.h"
#include "engine/network_internal.h"

namespace berth::engine {

Result<> delete_link(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return error("invalid interface name \"{}\"", name);
  UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!sock) return sys_error(errno, "netlink socket");
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
  if (::send(sock.get(), &req, req.header.nlmsg_len, 0) < 0) return sys_error(errno, "netlink send");
  char buf[4096];
  ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
  if (n < 0) return sys_error(errno, "netlink receive");
  auto* reply = reinterpret_cast<nlmsghdr*>(buf);
  if (!NLMSG_OK(reply, static_cast<unsigned>(n)) || reply->nlmsg_type != NLMSG_ERROR)
    return error("delete link \"{}\": unexpected netlink reply", name);
  int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(reply))->error;
  if (err != 0 && err != ENODEV) return sys_error(err, "delete link \"{}\"", name);
  return {};
}

}  // namespace berth::engine
