// The run/create flag values with docker's and podman's syntax. Errors name
// the flag and the whole value, then what is wrong in it.
#include "engine/flags.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

namespace berth::engine {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t i = s.find(sep, start);
    out.push_back(s.substr(start, i == std::string_view::npos ? std::string_view::npos : i - start));
    if (i == std::string_view::npos) return out;
    start = i + 1;
  }
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// "80" or "80-81": first port and count; 0 is not a port.
Result<std::pair<uint16_t, uint16_t>> port_range(std::string_view value, std::string_view text,
                                                 const char* which) {
  auto dash = text.find('-');
  uint16_t first = 0, last = 0;
  bool ok = dash == std::string_view::npos
                ? parse_number(text, first) && (last = first, true)
                : parse_number(text.substr(0, dash), first) && parse_number(text.substr(dash + 1), last);
  if (!ok || first == 0 || last < first) return error("-p {}: invalid {} port \"{}\"", value, which, text);
  return std::pair{first, static_cast<uint16_t>(last - first + 1)};
}

bool absolute(std::string_view p) { return !p.empty() && p.front() == '/'; }

// docker's volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]*
bool valid_volume_name(std::string_view n) {
  if (n.empty() || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::ranges::all_of(n, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

// Mount options -v and --mount pass through to the spec (ro/rw set read_only).
constexpr std::string_view kVolumeOptions[] = {
    "z",     "Z",    "shared", "rshared", "slave", "rslave", "private", "rprivate", "bind",   "rbind",
    "nocopy", "noexec", "exec",  "nosuid",  "suid",  "nodev",  "dev",     "U",        "O",      "copy"};

Result<> check_destination(std::string_view flag, std::string_view value, std::string_view dst) {
  if (!absolute(dst)) return error("{} {}: destination \"{}\" is not an absolute path", flag, value, dst);
  if (dst.find_first_not_of('/') == std::string_view::npos)
    return error("{} {}: destination cannot be \"/\"", flag, value);
  return {};
}

Result<bool> parse_bool(std::string_view flag, std::string_view value, std::string_view key, std::string_view v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return error("{} {}: {} takes true or false, not \"{}\"", flag, value, key, v);
}

constexpr std::string_view kUlimitNames[] = {"as",      "core",   "cpu",    "data",       "fsize",
                                             "locks",   "memlock", "msgqueue", "nice",     "nofile",
                                             "nproc",   "rss",    "rtprio", "rttime",     "sigpending",
                                             "stack"};

Result<uint64_t> ulimit_value(std::string_view value, std::string_view text) {
  if (text == "-1" || text == "unlimited") return uint64_t(RLIM_INFINITY);
  uint64_t v = 0;
  if (!parse_number(text, v)) return error("--ulimit {}: invalid limit \"{}\"", value, text);
  return v;
}

}  // namespace

Result<std::vector<PortMapping>> parse_publish(std::string_view value) {
  std::string_view rest = value;
  PortMapping m;
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    m.protocol = lower(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (m.protocol != "tcp" && m.protocol != "udp" && m.protocol != "sctp")
      return error("-p {}: invalid protocol \"{}\" (tcp, udp or sctp)", value, m.protocol);
  }
  // An IPv6 host address is bracketed: [::1]:8080:80.
  if (rest.starts_with('[')) {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return error("-p {}: invalid IPv6 address", value);
    m.host_ip = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 2);
    if (rest.find(':') == std::string_view::npos) return error("-p {}: an address needs a host port field", value);
  }
  auto parts = split(rest, ':');
  std::string_view host, ctr;
  if (parts.size() == 1) {
    ctr = parts[0];
  } else if (parts.size() == 2) {
    host = parts[0];
    ctr = parts[1];
  } else if (parts.size() == 3 && m.host_ip.empty()) {
    m.host_ip = std::string(parts[0]);
    host = parts[1];
    ctr = parts[2];
  } else {
    return error("-p {}: too many colons (want [ip:][host:]container[/protocol])", value);
  }
  if (!m.host_ip.empty() && m.host_ip.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
    return error("-p {}: invalid host address \"{}\"", value, m.host_ip);
  BERTH_TRY_ASSIGN(c, port_range(value, ctr, "container"));
  m.container_port = c.first;
  m.range = c.second;
  if (!host.empty()) {
    BERTH_TRY_ASSIGN(h, port_range(value, host, "host"));
    if (h.second != c.second)
      return error("-p {}: host range of {} ports and container range of {} differ", value, h.second, c.second);
    if (uint32_t(h.first) + h.second - 1 > 65535) return error("-p {}: host port range exceeds 65535", value);
    m.host_port = h.first;
  }
  return std::vector<PortMapping>{std::move(m)};
}

Result<MountRequest> parse_volume(std::string_view value) {
  auto parts = split(value, ':');
  if (parts.size() > 3) return error("-v {}: too many colons (want [source:]destination[:options])", value);
  MountRequest m;
  if (parts.size() == 1) {
    m.type = MountRequest::Type::volume;  // anonymous
    m.destination = std::string(parts[0]);
  } else {
    std::string_view src = parts[0];
    if (src.empty()) return error("-v {}: empty source", value);
    if (src.starts_with('/') || src.starts_with('.')) {
      m.type = MountRequest::Type::bind;
      if (src.starts_with('.')) {
        // Relative host paths are taken from the current directory, as podman does.
        char cwd[4096];
        if (!::getcwd(cwd, sizeof cwd)) return sys_error(errno, "-v {}: current directory", value);
        m.source = std::string(cwd) + "/" + std::string(src);
      } else {
        m.source = std::string(src);
      }
    } else {
      if (!valid_volume_name(src))
        return error("-v {}: invalid volume name \"{}\" (want [a-zA-Z0-9][a-zA-Z0-9_.-]* or an absolute path)",
                     value, src);
      m.type = MountRequest::Type::volume;
      m.source = std::string(src);
    }
    m.destination = std::string(parts[1]);
  }
  BERTH_TRY(check_destination("-v", value, m.destination));
  if (parts.size() == 3) {
    for (auto opt : split(parts[2], ',')) {
      if (opt == "ro" || opt == "readonly") {
        m.read_only = true;
      } else if (opt == "rw") {
        m.read_only = false;
      } else if (std::ranges::find(kVolumeOptions, opt) != std::end(kVolumeOptions)) {
        m.options.emplace_back(opt);
      } else {
        return error("-v {}: unknown option \"{}\"", value, opt);
      }
    }
  }
  return m;
}

Result<MountRequest> parse_mount(std::string_view value) {
  MountRequest m;
  m.type = MountRequest::Type::volume;  // docker's default type
  bool have_dst = false;
  std::vector<std::pair<std::string_view, std::string_view>> kvs;
  for (auto field : split(value, ',')) {
    if (field.empty()) continue;
    auto eq = field.find('=');
    kvs.emplace_back(field.substr(0, eq), eq == std::string_view::npos ? std::string_view() : field.substr(eq + 1));
  }
  for (auto [k, v] : kvs) {
    if (k != "type") continue;
    if (v == "bind") m.type = MountRequest::Type::bind;
    else if (v == "volume") m.type = MountRequest::Type::volume;
    else if (v == "tmpfs") m.type = MountRequest::Type::tmpfs;
    else return error("--mount {}: unknown type \"{}\" (bind, volume or tmpfs)", value, v);
  }
  for (auto [k, v] : kvs) {
    if (k == "type") continue;
    if (k == "source" || k == "src") {
      if (m.type == MountRequest::Type::tmpfs) return error("--mount {}: a tmpfs has no source", value);
      m.source = std::string(v);
    } else if (k == "target" || k == "destination" || k == "dst") {
      m.destination = std::string(v);
      have_dst = true;
    } else if (k == "readonly" || k == "ro") {
      if (v.empty()) {
        m.read_only = true;
      } else {
        BERTH_TRY_ASSIGN(b, parse_bool("--mount", value, k, v));
        m.read_only = b;
      }
    } else if (k == "bind-propagation" && m.type == MountRequest::Type::bind) {
      constexpr std::string_view props[] = {"shared", "rshared", "slave", "rslave", "private", "rprivate"};
      if (std::ranges::find(props, v) == std::end(props))
        return error("--mount {}: invalid bind-propagation \"{}\"", value, v);
      m.options.emplace_back(v);
    } else if (k == "bind-nonrecursive" && m.type == MountRequest::Type::bind) {
      bool b = true;
      if (!v.empty()) {
        BERTH_TRY_ASSIGN(x, parse_bool("--mount", value, k, v));
        b = x;
      }
      if (b) m.options.emplace_back("bind");
    } else if (k == "tmpfs-size" && m.type == MountRequest::Type::tmpfs) {
      BERTH_TRY_ASSIGN(bytes, parse_bytes("--mount tmpfs-size", v));
      m.options.push_back("size=" + std::to_string(bytes));
    } else if (k == "tmpfs-mode" && m.type == MountRequest::Type::tmpfs) {
      uint32_t mode = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), mode, 8);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size() || mode > 07777)
        return error("--mount {}: invalid tmpfs-mode \"{}\" (octal)", value, v);
      m.options.push_back(fmt::format("mode={:o}", mode));
    } else if ((k == "volume-nocopy" || k == "nocopy") && m.type == MountRequest::Type::volume) {
      m.options.emplace_back("nocopy");
    } else if (k == "relabel" || k == "consistency") {
      // SELinux relabelling and Docker Desktop's consistency: nothing to do here.
    } else {
      return error("--mount {}: unknown key \"{}\" for type {}", value, k,
                   m.type == MountRequest::Type::bind ? "bind"
                   : m.type == MountRequest::Type::tmpfs ? "tmpfs" : "volume");
    }
  }
  if (!have_dst) return error("--mount {}: no target", value);
  BERTH_TRY(check_destination("--mount", value, m.destination));
  if (m.type == MountRequest::Type::bind) {
    if (m.source.empty()) return error("--mount {}: a bind mount needs a source", value);
    if (!absolute(m.source)) return error("--mount {}: source \"{}\" is not an absolute path", value, m.source);
  } else if (m.type == MountRequest::Type::volume && !m.source.empty() && !valid_volume_name(m.source)) {
    return error("--mount {}: invalid volume name \"{}\"", value, m.source);
  }
  return m;
}

Result<MountRequest> parse_tmpfs(std::string_view value) {
  MountRequest m;
  m.type = MountRequest::Type::tmpfs;
  auto colon = value.find(':');
  m.destination = std::string(value.substr(0, colon));
  BERTH_TRY(check_destination("--tmpfs", value, m.destination));
  if (colon != std::string_view::npos) {
    for (auto opt : split(value.substr(colon + 1), ',')) {
      if (opt.empty()) return error("--tmpfs {}: empty option", value);
      if (opt == "ro") m.read_only = true;
      else if (opt == "rw") m.read_only = false;
      else m.options.emplace_back(opt);
    }
  }
  return m;
}

Result<Ulimit> parse_ulimit(std::string_view value) {
  auto eq = value.find('=');
  if (eq == std::string_view::npos) return error("--ulimit {}: want name=soft[:hard]", value);
  Ulimit u;
  u.name = std::string(value.substr(0, eq));
  if (std::ranges::find(kUlimitNames, std::string_view(u.name)) == std::end(kUlimitNames))
    return error("--ulimit {}: unknown limit \"{}\"", value, u.name);
  auto limits = value.substr(eq + 1);
  auto colon = limits.find(':');
  BERTH_TRY_ASSIGN(soft, ulimit_value(value, limits.substr(0, colon)));
  u.soft = soft;
  u.hard = soft;
  if (colon != std::string_view::npos) {
    BERTH_TRY_ASSIGN(hard, ulimit_value(value, limits.substr(colon + 1)));
    u.hard = hard;
  }
  if (u.soft > u.hard)
    return error("--ulimit {}: soft limit {} is above the hard limit {}", value, u.soft, u.hard);
  return u;
}

Result<Restart> parse_restart(std::string_view value) {
  auto colon = value.find(':');
  auto name = value.substr(0, colon);
  Restart r;
  if (name == "no" || name.empty()) r.policy = RestartPolicy::no;
  else if (name == "always") r.policy = RestartPolicy::always;
  else if (name == "on-failure") r.policy = RestartPolicy::on_failure;
  else if (name == "unless-stopped") r.policy = RestartPolicy::unless_stopped;
  else return error("--restart {}: unknown policy \"{}\" (no, always, on-failure[:N], unless-stopped)", value, name);
  if (colon != std::string_view::npos) {
    if (r.policy != RestartPolicy::on_failure)
      return error("--restart {}: only on-failure takes a retry count", value);
    auto n = value.substr(colon + 1);
    if (!parse_number(n, r.max_retries) || r.max_retries < 0)
      return error("--restart {}: invalid retry count \"{}\"", value, n);
  }
  return r;
}

Result<int64_t> parse_bytes(std::string_view flag, std::string_view value) {
  if (value == "-1") return int64_t(-1);  // --memory-swap: unlimited
  // docker's RAMInBytes: a number, then b, k, m, g, t or p (binary), an
  // optional "b" or "ib" after the unit, any case.
  size_t i = 0;
  while (i < value.size() && (std::isdigit(static_cast<unsigned char>(value[i])) || value[i] == '.')) ++i;
  std::string number(value.substr(0, i));
  std::string unit = lower(value.substr(i));
  char* end = nullptr;
  double n = number.empty() ? -1 : std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !(n >= 0))
    return error("{} {}: invalid size (want a number with an optional b, k, m, g, t or p)", flag, value);
  double mult = 1;
  if (!unit.empty()) {
    static constexpr std::string_view units = "bkmgtp";
    auto u = units.find(unit[0]);
    std::string_view suffix = std::string_view(unit).substr(1);
    bool ok = u != std::string_view::npos &&
              (suffix.empty() || (u > 0 && (suffix == "b" || suffix == "ib")));
    if (!ok) return error("{} {}: unknown unit \"{}\"", flag, value, value.substr(i));
    mult = std::pow(1024.0, double(u));
  }
  double bytes = n * mult;
  if (bytes >= 9.2e18) return error("{} {}: too large", flag, value);
  return static_cast<int64_t>(bytes);
}

Result<double> parse_cpus(std::string_view value) {
  std::string s(value);
  char* end = nullptr;
  double d = s.empty() ? -1 : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(d >= 0) || std::isinf(d))
    return error("--cpus {}: invalid number of CPUs", value);
  return d;
}

Result<std::vector<std::string>> read_env_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return sys_error(errno, "--env-file {}", path);
  std::vector<std::string> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (n == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // a UTF-8 BOM
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line.erase(0, start);
    auto eq = line.find('=');
    std::string key = line.substr(0, eq);
    if (key.empty()) return error("--env-file {}: line {}: no variable name", path, n);
    if (key.find_first_of(" \t") != std::string::npos)
      return error("--env-file {}: line {}: variable \"{}\" contains whitespace", path, n, key);
    if (eq != std::string::npos) {
      out.push_back(std::move(line));
    } else if (const char* v = std::getenv(key.c_str())) {
      out.push_back(key + "=" + v);
    }
  }
  if (in.bad()) return sys_error(errno, "--env-file {}: read", path);
  return out;
}

std::vector<std::string> resolve_env_flags(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& e : env) {
    if (e.find('=') != std::string::npos) {
      out.push_back(e);
    } else if (const char* v = std::getenv(e.c_str()); v && !e.empty()) {
      out.push_back(e + "=" + v);
    }
  }
  return out;
}

}  // namespace berth::engine
