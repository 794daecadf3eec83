// The sandbox of the networking tests: before main() (so before any thread)
// the test program enters a network namespace and a mount namespace of its
// own, so the bridges, veths, iptables rules and netns mounts it makes never
// touch the host's and vanish with the process; lo is brought up. Also: a
// temp root/runroot under /var/tmp/berth-test-*, and helpers that act from
// inside a container's namespace on a thread (setns changes only the thread).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "base/fd.h"

namespace berth::engine::testing {

inline bool enter_test_namespaces() {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
    std::perror("unshare(CLONE_NEWNET|CLONE_NEWNS)");
    std::_Exit(2);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
    std::perror("make / a slave mount");
    std::_Exit(2);
  }
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) std::_Exit(2);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) std::_Exit(2);
  ::close(s);
  return true;
}

inline const bool kInTestNamespaces = enter_test_namespaces();

// A temp directory /var/tmp/berth-test-<what>-XXXXXX with root/ and run/;
// removed (after unmounting what is mounted under it) at the end.
struct TempRoots {
  std::string dir, root, runroot;
  explicit TempRoots(const std::string& what) {
    std::string templ = "/var/tmp/berth-test-" + what + "-XXXXXX";
    dir = ::mkdtemp(templ.data());
    root = dir + "/root";
    runroot = dir + "/run";
  }
  ~TempRoots() {
    std::error_code ec;
    std::string netns_dir = runroot + "/netns";
    for (const auto& e : std::filesystem::directory_iterator(netns_dir, ec)) ::umount2(e.path().c_str(), MNT_DETACH);
    ::umount2(netns_dir.c_str(), MNT_DETACH);
    std::filesystem::remove_all(dir, ec);
  }
};

// Runs `f` on a thread that joined the network namespace at `netns_path`.
template <typename F>
auto in_netns(const std::string& netns_path, F f) {
  decltype(f()) result{};
  std::thread([&] {
    int fd = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      if (fd >= 0) ::close(fd);
      return;
    }
    ::close(fd);
    result = f();
  }).join();
  return result;
}

inline sockaddr_in v4(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// A TCP listener on ip:port in the caller's namespace (a socket stays in
// the namespace it was made in, whatever thread uses it later).
inline UniqueFd listen_tcp(const std::string& ip, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto a = v4(ip, port);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd.get(), 8) != 0)
    return UniqueFd();
  return fd;
}

// Connects to ip:port (1 s at most), sends `msg`; true when the peer
// accepted the connection.
inline bool connect_tcp(const std::string& ip, uint16_t port, const std::string& msg = "hello") {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  auto a = v4(ip, port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) return false;
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, 1000) != 1) return false;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return false;
  return ::send(fd.get(), msg.data(), msg.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(msg.size());
}

// Accepts one connection within 1 s and returns what it sent ("" if none).
inline std::string accept_one(const UniqueFd& listener) {
  pollfd p{listener.get(), POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) return "";
  UniqueFd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!c) return "";
  char buf[64];
  pollfd q{c.get(), POLLIN, 0};
  if (::poll(&q, 1, 1000) != 1) return "";
  ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace berth::engine::testing
