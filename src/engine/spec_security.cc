// The security parts of a container's spec: capabilities (docker's
// add/drop rules over podman's default set), seccomp (Berth's default, a
// profile file or none), masked and read-only paths, devices.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>

#include "engine/default_seccomp.h"
#include "engine/spec_internal.h"
#include "runtime/process_attrs.h"

namespace berth::engine {

const std::vector<std::string>& default_capabilities() {
  // podman's set (containers.conf default_capabilities).
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",       "CAP_NET_BIND_SERVICE",
      "CAP_SETFCAP", "CAP_SETGID",      "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"};
  return caps;
}

namespace detail {
namespace {

// "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL".
Result<std::string> normalize_cap(std::string_view flag, const std::string& name) {
  std::string up;
  for (char c : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up == "ALL") return up;
  if (!up.starts_with("CAP_")) up = "CAP_" + up;
  if (!runtime::capability_from_name(up)) return error("{} {}: unknown capability", flag, name);
  return up;
}

// Every capability the running kernel knows.
std::vector<std::string> all_capabilities() {
  std::vector<std::string> out;
  int last = runtime::last_capability();
  for (int c = 0; c <= last; ++c)
    if (auto n = runtime::capability_name(c); !n.empty()) out.emplace_back(n);
  return out;
}

}  // namespace

Result<std::vector<std::string>> container_capabilities(const RunOptions& o) {
  if (o.privileged) return all_capabilities();
  std::vector<std::string> add, drop;
  for (const auto& c : o.cap_add) {
    BERTH_TRY_ASSIGN(n, normalize_cap("--cap-add", c));
    add.push_back(std::move(n));
  }
  for (const auto& c : o.cap_drop) {
    BERTH_TRY_ASSIGN(n, normalize_cap("--cap-drop", c));
    drop.push_back(std::move(n));
  }
  auto in = [](const std::vector<std::string>& v, std::string_view c) { return std::ranges::find(v, c) != v.end(); };
  // docker's order: drops apply to the default set, then adds win over drops.
  std::vector<std::string> caps;
  if (in(add, "ALL")) {
    caps = all_capabilities();
    std::erase_if(caps, [&](const std::string& c) { return in(drop, c); });
    return caps;
  }
  if (!in(drop, "ALL"))
    for (const auto& c : default_capabilities())
      if (!in(drop, c)) caps.push_back(c);
  for (const auto& c : add)
    if (!in(caps, c)) caps.push_back(c);
  return caps;
}

oci::Capabilities capability_sets(const std::vector<std::string>& caps) {
  // Inheritable stays empty (docker since 20.10: no CVE-2022-24769 leak).
  return oci::Capabilities{.bounding = caps, .effective = caps, .inheritable = {}, .permitted = caps, .ambient = {}};
}

Result<std::optional<oci::Seccomp>> container_seccomp(const RunOptions& o, const std::vector<std::string>& caps) {
  if (o.privileged || o.seccomp == "unconfined") return std::optional<oci::Seccomp>();
  if (o.seccomp.empty()) return std::optional<oci::Seccomp>(default_seccomp(caps));
  BERTH_TRY_ASSIGN(profile, seccomp_profile(o.seccomp, caps));
  return std::optional<oci::Seccomp>(std::move(profile));
}

void set_masked_paths(oci::Linux& l) {
  // The peers' lists: kernel interfaces that leak host data or reach its hardware.
  l.masked_paths = {"/proc/acpi",       "/proc/kcore",       "/proc/keys",        "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                    "/sys/firmware",    "/sys/fs/selinux",   "/sys/dev/block",    "/sys/devices/virtual/powercap"};
  l.readonly_paths = {"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

namespace {

Result<std::pair<oci::Device, oci::DeviceCgroupRule>> device_of(const std::string& host, const std::string& ctr,
                                                                const std::string& access) {
  struct stat st {};
  if (::stat(host.c_str(), &st) < 0) return sys_error(errno, "--device {}", host);
  std::string type = S_ISCHR(st.st_mode) ? "c" : S_ISBLK(st.st_mode) ? "b" : "";
  if (type.empty()) return error("--device {}: not a device", host);
  oci::Device d{.type = type, .path = ctr, .major = major(st.st_rdev), .minor = minor(st.st_rdev),
                .file_mode = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid};
  oci::DeviceCgroupRule r{.allow = true, .type = type, .major = d.major, .minor = d.minor, .access = access};
  return std::pair{std::move(d), std::move(r)};
}

// Every device node under /dev for --privileged (libcontainer's HostDevices:
// the pseudo-terminal, shm, mqueue dirs and the console left out).
void host_devices(const std::string& dir, int depth, std::vector<oci::Device>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (auto* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == ".." || name == "pts" || name == "shm" || name == "mqueue" || name == "fd" ||
        name == ".lxc" || name == ".udev" || name == "console")
      continue;
    std::string path = dir + "/" + std::string(name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) continue;
    if (S_ISDIR(st.st_mode) && depth < 4) {
      host_devices(path, depth + 1, out);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      out.push_back(oci::Device{.type = S_ISCHR(st.st_mode) ? "c" : "b", .path = path,
                                .major = major(st.st_rdev), .minor = minor(st.st_rdev),
                                .file_mode = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid});
    }
  }
  ::closedir(d);
}

}  // namespace

Result<> add_devices(const RunOptions& o, oci::Linux& l, oci::Resources& r) {
  if (o.privileged) {
    host_devices("/dev", 0, l.devices);
    r.devices = {oci::DeviceCgroupRule{.allow = true, .access = "rwm"}};
  } else {
    r.devices = {oci::DeviceCgroupRule{.allow = false, .access = "rwm"}};
  }
  for (const auto& spec : o.devices) {
    // /dev/x[:/dev/y][:rwm]
    std::string host = spec, ctr, access = "rwm";
    if (auto c1 = spec.find(':'); c1 != std::string::npos) {
      host = spec.substr(0, c1);
      std::string rest = spec.substr(c1 + 1);
      auto c2 = rest.find(':');
      ctr = rest.substr(0, c2);
      if (c2 != std::string::npos) access = rest.substr(c2 + 1);
      else if (!ctr.starts_with('/')) access = std::exchange(ctr, "");
    }
    if (ctr.empty()) ctr = host;
    if (!host.starts_with('/') || !ctr.starts_with('/'))
      return error("--device {}: paths must be absolute", spec);
    if (access.empty() || access.find_first_not_of("rwm") != std::string::npos)
      return error("--device {}: invalid permissions \"{}\" (any of r, w, m)", spec, access);
    BERTH_TRY_ASSIGN(dev, device_of(host, ctr, access));
    std::erase_if(l.devices, [&](const oci::Device& d) { return d.path == ctr; });
    l.devices.push_back(std::move(dev.first));
    if (!o.privileged) r.devices.push_back(std::move(dev.second));
  }
  return {};
}

}  // namespace detail
}  // namespace berth::engine
