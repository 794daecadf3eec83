// The mounts of a container's spec, in the order the runtime makes them:
// the kernel filesystems (podman's defaults), /etc/hosts, /etc/hostname and
// /etc/resolv.conf from userdata, then the user's mounts and the image's
// volumes, parents before children, and --init's binary last. A user mount on a
// default's destination replaces it (as with docker: -v x:/etc/hosts).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "engine/flags.h"
#include "engine/spec_internal.h"

namespace berth::engine::detail {
namespace {

// "/a//b/" -> "/a/b"
std::string clean(std::string_view p) {
  std::string out;
  for (char c : p) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

size_t depth(std::string_view p) { return static_cast<size_t>(std::ranges::count(p, '/')); }

// Options of -v/--mount that are not mount(2) options (SELinux labels,
// volume copy-up and idmap hints): Berth has no use for them.
bool engine_only_option(std::string_view o) {
  return o == "z" || o == "Z" || o == "U" || o == "O" || o == "nocopy" || o == "copy";
}

bool propagation(std::string_view o) {
  return o == "shared" || o == "rshared" || o == "slave" || o == "rslave" || o == "private" || o == "rprivate";
}

std::vector<std::string> bind_options(const MountRequest& m) {
  std::vector<std::string> opts;
  bool nonrecursive = std::ranges::find(m.options, "bind") != m.options.end();
  opts.emplace_back(nonrecursive ? "bind" : "rbind");
  bool has_propagation = false;
  for (const auto& o : m.options) {
    if (o == "bind" || o == "rbind" || engine_only_option(o)) continue;
    has_propagation |= propagation(o);
    opts.push_back(o);
  }
  if (!has_propagation) opts.emplace_back("rprivate");
  if (m.read_only) opts.emplace_back("ro");
  return opts;
}

Result<oci::Mount> user_mount(const SpecInputs& in, const MountRequest& m) {
  std::string dst = clean(m.destination);
  switch (m.type) {
    case MountRequest::Type::bind: {
      struct stat st {};
      if (::stat(m.source.c_str(), &st) < 0) return sys_error(errno, "bind mount {}:{}", m.source, dst);
      return oci::Mount{.destination = dst, .type = "bind", .source = m.source, .options = bind_options(m)};
    }
    case MountRequest::Type::volume: {
      auto it = in.volume_paths.find(dst);
      if (it == in.volume_paths.end())
        return error("volume {} at {}: no host path was resolved for it", m.source.empty() ? "(anonymous)" : m.source,
                     dst);
      return oci::Mount{.destination = dst, .type = "bind", .source = it->second, .options = bind_options(m)};
    }
    case MountRequest::Type::tmpfs: {
      // docker's --tmpfs defaults: noexec, nosuid, nodev ("exec" lifts noexec).
      std::vector<std::string> opts = {"nosuid", "nodev"};
      if (std::ranges::find(m.options, "exec") == m.options.end()) opts.emplace_back("noexec");
      for (const auto& o : m.options)
        if (o != "exec" && !engine_only_option(o)) opts.push_back(o);
      if (m.read_only) opts.emplace_back("ro");
      return oci::Mount{.destination = dst, .type = "tmpfs", .source = "tmpfs", .options = std::move(opts)};
    }
  }
  return error("mount at {}: unknown type", dst);
}

}  // namespace

Result<std::vector<oci::Mount>> container_mounts(const SpecInputs& in) {
  const RunOptions& o = *in.options;
  std::string shm = "size=65536k";
  if (!o.shm_size.empty()) {
    BERTH_TRY_ASSIGN(bytes, parse_bytes("--shm-size", o.shm_size));
    if (bytes <= 0) return error("--shm-size {}: must be positive", o.shm_size);
    shm = "size=" + std::to_string(bytes);
  }
  std::vector<std::string> sys = {"nosuid", "noexec", "nodev"};
  std::vector<std::string> cgroup = {"nosuid", "noexec", "nodev", "relatime"};
  if (!o.privileged) {
    sys.emplace_back("ro");
    cgroup.emplace_back("ro");
  }
  std::vector<oci::Mount> base = {
      {.destination = "/proc", .type = "proc", .source = "proc", .options = {"nosuid", "noexec", "nodev"}},
      {.destination = "/dev", .type = "tmpfs", .source = "tmpfs",
       .options = {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {.destination = "/dev/pts", .type = "devpts", .source = "devpts",
       .options = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      in.shm_dir.empty()
          ? oci::Mount{.destination = "/dev/shm", .type = "tmpfs", .source = "shm",
                       .options = {"nosuid", "noexec", "nodev", "mode=1777", shm}}
          : oci::Mount{.destination = "/dev/shm", .type = "bind", .source = in.shm_dir,
                       .options = {"bind", "rprivate", "nosuid", "noexec", "nodev"}},
      {.destination = "/dev/mqueue", .type = "mqueue", .source = "mqueue", .options = {"nosuid", "noexec", "nodev"}},
      {.destination = "/sys", .type = "sysfs", .source = "sysfs", .options = std::move(sys)},
      {.destination = "/sys/fs/cgroup", .type = "cgroup", .source = "cgroup", .options = std::move(cgroup)},
  };
  auto etc_source = [&](std::string_view f) {
    if (f == "hosts" && !in.hosts_file.empty()) return in.hosts_file;
    if (f == "resolv.conf" && !in.resolv_file.empty()) return in.resolv_file;
    return in.userdata + "/" + std::string(f);
  };
  for (const char* f : {"hosts", "hostname", "resolv.conf"})
    base.push_back({.destination = std::string("/etc/") + f, .type = "bind", .source = etc_source(f),
                    .options = {"bind", "rprivate"}});

  std::vector<oci::Mount> user;
  for (const auto& m : o.mounts) {
    BERTH_TRY_ASSIGN(mount, user_mount(in, m));
    std::erase_if(user, [&](const oci::Mount& u) { return u.destination == mount.destination; });
    user.push_back(std::move(mount));
  }
  auto covered = [&](const std::string& dst) {
    return std::ranges::any_of(user, [&](const oci::Mount& u) { return u.destination == dst; });
  };
  // The image's volumes are anonymous volumes unless a mount takes their place.
  for (const auto& v : in.image->config.volumes) {
    std::string dst = clean(v.starts_with('/') ? v : "/" + v);
    if (covered(dst)) continue;
    BERTH_TRY_ASSIGN(mount, user_mount(in, MountRequest{.type = MountRequest::Type::volume, .destination = dst}));
    user.push_back(std::move(mount));
  }
  // --read-only keeps the scratch directories writable (podman's --read-only-tmpfs).
  if (o.read_only) {
    for (const char* d : {"/tmp", "/var/tmp", "/run"}) {
      if (covered(d)) continue;
      user.push_back({.destination = d, .type = "tmpfs", .source = "tmpfs",
                      .options = {"nosuid", "nodev", std::string_view(d) == "/run" ? "mode=755" : "mode=1777"}});
    }
  }
  std::ranges::stable_sort(user, {}, [](const oci::Mount& m) { return depth(m.destination); });

  std::erase_if(base, [&](const oci::Mount& b) { return covered(b.destination); });
  base.insert(base.end(), std::make_move_iterator(user.begin()), std::make_move_iterator(user.end()));
  // Last: a tmpfs or volume on /run must not hide it.
  if (o.init) {
    if (::access(in.init_path.c_str(), X_OK) < 0) return sys_error(errno, "--init: {}", in.init_path);
    base.push_back({.destination = "/run/berth-init", .type = "bind", .source = in.init_path,
                    .options = {"bind", "rprivate", "ro"}});
  }
  return base;
}

}  // namespace berth::engine::detail
