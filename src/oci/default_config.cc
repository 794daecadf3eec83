// The config.json that `spec` writes: the same document as runc's template
// (`runc spec`, `runc spec --rootless`), built as a Spec and serialized.
#include <unistd.h>

#include "oci/config.h"

namespace berth::oci {

Spec default_spec(bool rootless, uint32_t host_uid, uint32_t host_gid) {
  Spec s;
  s.oci_version = std::string(kOciVersion);

  Process p;
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = "/";
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  p.capabilities = Capabilities{
      .bounding = caps, .effective = caps, .inheritable = {}, .permitted = caps, .ambient = caps};
  p.rlimits = {Rlimit{.type = "RLIMIT_NOFILE", .hard = 1024, .soft = 1024}};
  p.no_new_privileges = true;
  s.process = std::move(p);

  s.root = Root{.path = "rootfs", .readonly = true};
  s.hostname = "runc";

  std::vector<std::string> devpts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
  // A rootless container cannot map gid 5 (tty) unless it owns it.
  if (!rootless) devpts.push_back("gid=5");
  s.mounts = {
      {.destination = "/proc", .type = "proc", .source = "proc"},
      {.destination = "/dev", .type = "tmpfs", .source = "tmpfs",
       .options = {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {.destination = "/dev/pts", .type = "devpts", .source = "devpts", .options = devpts},
      {.destination = "/dev/shm", .type = "tmpfs", .source = "shm",
       .options = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
      {.destination = "/dev/mqueue", .type = "mqueue", .source = "mqueue",
       .options = {"nosuid", "noexec", "nodev"}},
      // Without its own network namespace a rootless container may not mount
      // sysfs: it gets the host's, bound read-only.
      rootless ? Mount{.destination = "/sys", .type = "none", .source = "/sys",
                       .options = {"rbind", "nosuid", "noexec", "nodev", "ro"}}
               : Mount{.destination = "/sys", .type = "sysfs", .source = "sysfs",
                       .options = {"nosuid", "noexec", "nodev", "ro"}},
      {.destination = "/sys/fs/cgroup", .type = "cgroup", .source = "cgroup",
       .options = {"nosuid", "noexec", "nodev", "relatime", "ro"}},
  };

  Linux l;
  if (rootless) {
    l.uid_mappings = {IdMapping{.container_id = 0, .host_id = host_uid, .size = 1}};
    l.gid_mappings = {IdMapping{.container_id = 0, .host_id = host_gid, .size = 1}};
    l.namespaces = {{"pid", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}, {"user", ""}};
  } else {
    Resources r;
    r.devices = {DeviceCgroupRule{.allow = false, .access = "rwm"}};
    l.resources = std::move(r);
    l.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}};
  }
  l.masked_paths = {"/proc/acpi",        "/proc/asound",       "/proc/kcore",
                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",  "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  s.linux = std::move(l);
  return s;
}

std::string default_config_json(bool rootless) {
  // runc maps the effective ids, which is what the caller runs as.
  return config_to_json(default_spec(rootless, ::geteuid(), ::getegid()), true);
}

}  // namespace berth::oci
