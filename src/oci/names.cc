#include "oci/names.h"

#include <sched.h>
#include <sys/resource.h>

#include <array>
#include <utility>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::oci {
namespace {

// Index = capability number (linux/capability.h, up to Linux 5.9).
constexpr std::array<std::string_view, 41> kCapabilities = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

constexpr std::array<std::pair<std::string_view, int>, 16> kRlimits = {{
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
}};

// The user namespace comes first: joining the others may need its privileges
// (runc and crun order them the same way).
constexpr std::array<NamespaceKind, 8> kNamespaces = {{
    {"user", CLONE_NEWUSER, "user"},
    {"ipc", CLONE_NEWIPC, "ipc"},
    {"uts", CLONE_NEWUTS, "uts"},
    {"network", CLONE_NEWNET, "net"},
    {"pid", CLONE_NEWPID, "pid"},
    {"mount", CLONE_NEWNS, "mnt"},
    {"cgroup", CLONE_NEWCGROUP, "cgroup"},
    {"time", CLONE_NEWTIME, "time"},
}};

}  // namespace

std::optional<int> capability_from_name(std::string_view name) {
  for (size_t i = 0; i < kCapabilities.size(); ++i)
    if (kCapabilities[i] == name) return static_cast<int>(i);
  return std::nullopt;
}

std::string_view capability_name(int cap) {
  if (cap < 0 || static_cast<size_t>(cap) >= kCapabilities.size()) return {};
  return kCapabilities[cap];
}

int last_known_capability() { return static_cast<int>(kCapabilities.size()) - 1; }

bool capability_name_well_formed(std::string_view name) {
  if (!name.starts_with("CAP_") || name.size() == 4) return false;
  for (char c : name.substr(4))
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

std::optional<int> rlimit_from_name(std::string_view name) {
  for (const auto& [n, v] : kRlimits)
    if (n == name) return v;
  return std::nullopt;
}

std::span<const NamespaceKind> namespace_kinds() { return kNamespaces; }

const NamespaceKind* namespace_kind(std::string_view type) {
  for (const auto& k : kNamespaces)
    if (k.type == type) return &k;
  return nullptr;
}

}  // namespace berth::oci
