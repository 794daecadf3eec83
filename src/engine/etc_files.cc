// /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, as podman
// writes them: localhost entries, the container's addresses under its
// hostname, --add-host entries; nameservers from --dns or the host's
// resolv.conf without loopback ones (unreachable from a container's own
// network namespace), else public fallbacks.
#include "engine/etc_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "base/fd.h"
#include "base/file.h"

namespace berth::engine {
namespace {

constexpr std::string_view kFallbackNameservers[] = {"8.8.8.8", "8.8.4.4"};

bool loopback_nameserver(std::string_view ns) {
  return ns.starts_with("127.") || ns == "::1" || ns == "0:0:0:0:0:0:0:1";
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    i = line.find_first_not_of(" \t", i);
    if (i == std::string_view::npos) break;
    size_t end = line.find_first_of(" \t", i);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(i, end - i));
    i = end;
  }
  return out;
}

struct HostResolv {
  std::vector<std::string> nameservers, search, options;
};

HostResolv parse_resolv_conf(std::string_view text) {
  HostResolv r;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto w = words(text.substr(start, end - start));
    start = end + 1;
    if (w.empty() || w[0].starts_with('#') || w[0].starts_with(';')) continue;
    if (w[0] == "nameserver" && w.size() > 1) r.nameservers.emplace_back(w[1]);
    if ((w[0] == "search" || w[0] == "domain") && w.size() > 1) {
      r.search.clear();  // the last search/domain line wins (resolv.conf(5))
      for (size_t i = 1; i < w.size(); ++i) r.search.emplace_back(w[i]);
    }
    if (w[0] == "options")
      for (size_t i = 1; i < w.size(); ++i) r.options.emplace_back(w[i]);
  }
  return r;
}

// --add-host name:ip (the ip may be IPv6 and contain colons); docker also takes name=ip.
Result<std::pair<std::string, std::string>> parse_add_host(const std::string& entry) {
  size_t sep = entry.find('=');
  if (sep == std::string::npos) sep = entry.find(':');
  if (sep == std::string::npos || sep == 0 || sep + 1 == entry.size())
    return error("--add-host {}: want name:ip", entry);
  std::string ip = entry.substr(sep + 1);
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  return std::pair{entry.substr(0, sep), ip};
}

Result<std::string> hosts_file(const EtcInputs& in) {
  std::string out;
  if (in.host_network) {
    // The host's own names, as podman does for --network host.
    if (auto host = read_file("/etc/hosts")) out = *host;
    if (!out.empty() && out.back() != '\n') out += '\n';
  } else {
    out =
        "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n"
        "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n";
  }
  std::string names = in.hostname;
  for (const auto& a : in.aliases) names += " " + a;
  for (const auto& a : in.addresses) out += a + "\t" + names + "\n";
  if (in.addresses.empty() && !in.host_network && !in.hostname.empty())
    out += "127.0.1.1\t" + names + "\n";  // the hostname resolves without a network too
  for (const auto& h : in.add_hosts) {
    BERTH_TRY_ASSIGN(entry, parse_add_host(h));
    out += entry.second + "\t" + entry.first + "\n";
  }
  return out;
}

Result<std::string> resolv_file(const EtcInputs& in) {
  HostResolv host;
  if (auto text = read_file(in.host_resolv_conf)) host = parse_resolv_conf(*text);
  std::vector<std::string> ns = in.network_dns.empty() ? in.dns : in.network_dns;
  if (ns.empty()) {
    for (auto& n : host.nameservers)
      if (in.host_network || !loopback_nameserver(n)) ns.push_back(n);
    if (ns.empty())
      for (auto n : kFallbackNameservers) ns.emplace_back(n);
  }
  std::vector<std::string> search = in.dns_search.empty() ? host.search : in.dns_search;
  // --dns-search . clears the search list.
  if (search.size() == 1 && search[0] == ".") search.clear();
  if (!in.network_dns.empty()) search.insert(search.begin(), "dns.podman");
  const std::vector<std::string>& options = in.dns_options.empty() ? host.options : in.dns_options;
  std::string out;
  if (!search.empty()) {
    out += "search";
    for (const auto& s : search) out += " " + s;
    out += "\n";
  }
  for (const auto& n : ns) out += "nameserver " + n + "\n";
  if (!options.empty()) {
    out += "options";
    for (const auto& o : options) out += " " + o;
    out += "\n";
  }
  return out;
}

}  // namespace

Result<> write_etc_files(const std::string& userdata, const EtcInputs& in) {
  BERTH_TRY_ASSIGN(hosts, hosts_file(in));
  BERTH_TRY_ASSIGN(resolv, resolv_file(in));
  // No fsync: the files are derived from the container's record and rewritten from it.
  auto write = [&](const char* name, std::string_view text) -> Result<> {
    std::string path = userdata + "/" + name;
    if (!in.in_place) return write_file_atomic(path, text, 0644, Durability::volatile_);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) return sys_error(errno, "open {}", path);
    ::flock(fd.get(), LOCK_EX);  // against add_hosts_entry
    if (::ftruncate(fd.get(), 0) != 0) return sys_error(errno, "truncate {}", path);
    return write_all(fd.get(), text, path);
  };
  BERTH_TRY(write("hosts", hosts));
  BERTH_TRY(write("hostname", in.hostname + "\n"));
  BERTH_TRY(write("resolv.conf", resolv));
  return {};
}

Result<> add_hosts_entry(const std::string& path, std::string_view ip, const std::vector<std::string>& names) {
  if (names.empty()) return {};
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC));
  if (!fd) return sys_error(errno, "open {}", path);
  if (::flock(fd.get(), LOCK_EX) != 0) return sys_error(errno, "lock {}", path);
  BERTH_TRY_ASSIGN(text, read_file(path));
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    auto w = words(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (w.empty() || w[0].starts_with('#')) continue;
    for (size_t i = 1; i < w.size(); ++i)
      if (w[i] == names[0]) return {};
  }
  std::string line(ip);
  line += "\t";
  for (size_t i = 0; i < names.size(); ++i) line += (i ? " " : "") + names[i];
  line += "\n";
  if (!text.empty() && text.back() != '\n') line.insert(0, "\n");
  return write_all(fd.get(), line, path);
}

Result<> rewrite_hosts_file(const std::string& userdata, const EtcInputs& in) {
  BERTH_TRY_ASSIGN(hosts, hosts_file(in));
  std::string path = userdata + "/hosts";
  BERTH_TRY_ASSIGN(fd, open_file(path, O_WRONLY));
  if (::flock(fd.get(), LOCK_EX) != 0) return sys_error(errno, "lock {}", path);  // against add_hosts_entry
  if (::ftruncate(fd.get(), 0) != 0) return sys_error(errno, "truncate {}", path);
  return write_all(fd.get(), hosts, path);
}

}  // namespace berth::engine
