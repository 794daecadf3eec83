// Meaning checks of a Spec: the runtime-spec's MUSTs, plus runc's validator
// rules a runtime cannot honour (hostname without a UTS namespace, sysctls
// that are not namespaced...). Errors name the JSON path of the field.
#include <algorithm>
#include <set>

#include "oci/config.h"
#include "oci/names.h"

namespace berth::oci {
namespace {

bool one_of(std::string_view v, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// MAJOR.MINOR.PATCH with an optional -pre-release and +build (SemVer 2.0.0).
bool is_semver(std::string_view v) {
  auto end = v.find_first_of("-+");
  std::string_view core = v.substr(0, end);
  for (int i = 0; i < 3; ++i) {
    auto dot = core.find('.');
    std::string_view part = i < 2 ? core.substr(0, dot) : core;
    if (!is_digits(part)) return false;
    if (i < 2) {
      if (dot == std::string_view::npos) return false;
      core.remove_prefix(dot + 1);
    }
  }
  if (end == std::string_view::npos) return true;
  return v.size() > end + 1;
}

// "0-3,7": comma-separated numbers and ranges (cpuset lists).
bool is_cpu_list(std::string_view s) {
  while (!s.empty()) {
    auto comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    auto dash = item.find('-');
    if (dash == std::string_view::npos) {
      if (!is_digits(item)) return false;
    } else if (!is_digits(item.substr(0, dash)) || !is_digits(item.substr(dash + 1))) {
      return false;
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
    if (s.empty()) return false;
  }
  return true;
}

// "2MB", "64KB", "1GB".
bool is_page_size(std::string_view s) {
  if (s.size() < 3 || !s.ends_with("B")) return false;
  char unit = s[s.size() - 2];
  if (unit != 'K' && unit != 'M' && unit != 'G') return false;
  return is_digits(s.substr(0, s.size() - 2));
}

Result<> absolute(const std::string& value, const std::string& path) {
  if (value.empty() || value[0] != '/')
    return error("{}: must be an absolute path, got \"{}\"", path, value);
  return {};
}

Result<> check_mappings(const std::vector<IdMapping>& maps, const std::string& path) {
  for (size_t i = 0; i < maps.size(); ++i) {
    const auto& m = maps[i];
    if (m.size == 0) return error("{}[{}].size: must be greater than zero", path, i);
    if (uint64_t{m.container_id} + m.size > (uint64_t{1} << 32) ||
        uint64_t{m.host_id} + m.size > (uint64_t{1} << 32))
      return error("{}[{}]: range overflows 32-bit ids", path, i);
  }
  return {};
}

Result<> check_caps(const std::vector<std::string>& caps, const std::string& path) {
  for (size_t i = 0; i < caps.size(); ++i)
    if (!capability_name_well_formed(caps[i]))
      return error("{}[{}]: invalid capability \"{}\"", path, i, caps[i]);
  return {};
}

Result<> check_process(const Process& p) {
  if (p.args.empty()) return error("process.args: must be a non-empty array");
  if (p.args[0].empty()) return error("process.args[0]: must not be empty");
  for (size_t i = 0; i < p.args.size(); ++i)
    if (p.args[i].find('\0') != std::string::npos)
      return error("process.args[{}]: contains a NUL byte", i);
  if (p.cwd.empty()) return error("process.cwd: is required");
  BERTH_TRY(absolute(p.cwd, "process.cwd"));
  for (size_t i = 0; i < p.env.size(); ++i) {
    const auto& e = p.env[i];
    auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0)
      return error("process.env[{}]: must be \"KEY=value\", got \"{}\"", i, e);
    if (e.find('\0') != std::string::npos) return error("process.env[{}]: contains a NUL byte", i);
  }
  if (p.capabilities) {
    const auto& c = *p.capabilities;
    BERTH_TRY(check_caps(c.bounding, "process.capabilities.bounding"));
    BERTH_TRY(check_caps(c.effective, "process.capabilities.effective"));
    BERTH_TRY(check_caps(c.inheritable, "process.capabilities.inheritable"));
    BERTH_TRY(check_caps(c.permitted, "process.capabilities.permitted"));
    BERTH_TRY(check_caps(c.ambient, "process.capabilities.ambient"));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < p.rlimits.size(); ++i) {
    const auto& r = p.rlimits[i];
    if (!rlimit_from_name(r.type))
      return error("process.rlimits[{}].type: unknown rlimit \"{}\"", i, r.type);
    if (!seen.insert(r.type).second)
      return error("process.rlimits[{}].type: duplicate rlimit \"{}\"", i, r.type);
    if (r.soft > r.hard)
      return error("process.rlimits[{}]: soft limit {} exceeds hard limit {}", i, r.soft, r.hard);
  }
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    return error("process.oomScoreAdj: must be between -1000 and 1000, got {}", *p.oom_score_adj);
  if (p.io_priority) {
    if (!one_of(p.io_priority->io_class, {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"}))
      return error("process.ioPriority.class: unknown class \"{}\"", p.io_priority->io_class);
    if (p.io_priority->priority < 0 || p.io_priority->priority > 7)
      return error("process.ioPriority.priority: must be between 0 and 7, got {}",
                   p.io_priority->priority);
  }
  if (p.scheduler) {
    const auto& s = *p.scheduler;
    if (s.policy.empty()) return error("process.scheduler.policy: is required");
    if (!one_of(s.policy, {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO",
                           "SCHED_IDLE", "SCHED_DEADLINE"}))
      return error("process.scheduler.policy: unknown policy \"{}\"", s.policy);
    if (s.nice && (*s.nice < -20 || *s.nice > 19))
      return error("process.scheduler.nice: must be between -20 and 19, got {}", *s.nice);
    if (s.priority && *s.priority != 0 && s.policy != "SCHED_FIFO" && s.policy != "SCHED_RR")
      return error("process.scheduler.priority: only valid with SCHED_FIFO or SCHED_RR");
    if (s.policy != "SCHED_DEADLINE" && ((s.runtime && *s.runtime) || (s.deadline && *s.deadline) ||
                                         (s.period && *s.period)))
      return error("process.scheduler: runtime, deadline and period are only valid with SCHED_DEADLINE");
    for (size_t i = 0; i < s.flags.size(); ++i)
      if (!one_of(s.flags[i], {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",
                               "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY",
                               "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
                               "SCHED_FLAG_UTIL_CLAMP_MAX"}))
        return error("process.scheduler.flags[{}]: unknown flag \"{}\"", i, s.flags[i]);
  }
  if (p.exec_cpu_affinity) {
    const auto& a = *p.exec_cpu_affinity;
    if (!a.initial.empty() && !is_cpu_list(a.initial))
      return error("process.execCPUAffinity.initial: invalid CPU list \"{}\"", a.initial);
    if (!a.final_.empty() && !is_cpu_list(a.final_))
      return error("process.execCPUAffinity.final: invalid CPU list \"{}\"", a.final_);
  }
  return {};
}

Result<> check_hooks(const std::vector<Hook>& hooks, std::string_view name) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    BERTH_TRY(absolute(hooks[i].path, fmt::format("hooks.{}[{}].path", name, i)));
    if (hooks[i].timeout && *hooks[i].timeout <= 0)
      return error("hooks.{}[{}].timeout: must be greater than zero, got {}", name, i,
                   *hooks[i].timeout);
  }
  return {};
}

Result<> check_mounts(const std::vector<Mount>& mounts) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    const auto& m = mounts[i];
    // Relative destinations are deprecated but allowed (relative to "/").
    if (m.destination.empty()) return error("mounts[{}].destination: is required", i);
    if (m.uid_mappings.empty() != m.gid_mappings.empty())
      return error("mounts[{}].{}: must be given with {}", i,
                   m.uid_mappings.empty() ? "gidMappings" : "uidMappings",
                   m.uid_mappings.empty() ? "uidMappings" : "gidMappings");
    BERTH_TRY(check_mappings(m.uid_mappings, fmt::format("mounts[{}].uidMappings", i)));
    BERTH_TRY(check_mappings(m.gid_mappings, fmt::format("mounts[{}].gidMappings", i)));
  }
  return {};
}

// runc's rule: /proc/sys is only partly namespaced.
Result<> check_sysctl(const Linux& l, const Spec& spec) {
  auto has = [&](std::string_view t) { return find_namespace(spec, t) != nullptr; };
  for (const auto& [raw, value] : l.sysctl) {
    std::string key = raw;
    // "net/ipv4/ip_forward" is the same as "net.ipv4.ip_forward".
    auto first = key.find_first_of("./");
    if (first != std::string::npos && key[first] == '/')
      for (char& c : key) c = c == '/' ? '.' : c == '.' ? '/' : c;
    std::string path = fmt::format("linux.sysctl[\"{}\"]", raw);
    if (one_of(key, {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                     "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}) ||
        key.starts_with("fs.mqueue.")) {
      if (!has("ipc")) return error("{}: requires an ipc namespace", path);
      continue;
    }
    if (key.starts_with("net.")) {
      if (!has("network")) return error("{}: requires a network namespace", path);
      continue;
    }
    if (key == "kernel.domainname" && has("uts")) continue;
    if (key == "kernel.hostname" && has("uts"))
      return error("{}: conflicts with the \"hostname\" field", path);
    return error("{}: is not in a separate kernel namespace", path);
  }
  return {};
}

Result<> check_resources(const Resources& r) {
  for (size_t i = 0; i < r.devices.size(); ++i) {
    const auto& d = r.devices[i];
    if (!one_of(d.type, {"", "a", "c", "b"}))
      return error("linux.resources.devices[{}].type: unknown device type \"{}\" (a, c or b)", i,
                   d.type);
    if (d.access.find_first_not_of("rwm") != std::string::npos)
      return error("linux.resources.devices[{}].access: must be made of r, w and m, got \"{}\"", i,
                   d.access);
  }
  if (r.memory) {
    auto at_least_minus_one = [](const std::optional<int64_t>& v, std::string_view name) -> Result<> {
      if (v && *v < -1)
        return error("linux.resources.memory.{}: must be -1 (unlimited) or a byte count, got {}",
                     name, *v);
      return {};
    };
    BERTH_TRY(at_least_minus_one(r.memory->limit, "limit"));
    BERTH_TRY(at_least_minus_one(r.memory->reservation, "reservation"));
    BERTH_TRY(at_least_minus_one(r.memory->swap, "swap"));
    if (r.memory->swappiness && *r.memory->swappiness > 100)
      return error("linux.resources.memory.swappiness: must be between 0 and 100, got {}",
                   *r.memory->swappiness);
  }
  if (r.cpu) {
    const auto& c = *r.cpu;
    if (c.burst && *c.burst < 0)
      return error("linux.resources.cpu.burst: must not be negative, got {}", *c.burst);
    if (c.burst && c.quota && *c.quota > 0 && *c.burst > *c.quota)
      return error("linux.resources.cpu.burst: {} exceeds quota {}", *c.burst, *c.quota);
    if (c.idle && *c.idle != 0 && *c.idle != 1)
      return error("linux.resources.cpu.idle: must be 0 or 1, got {}", *c.idle);
    if (!c.cpus.empty() && !is_cpu_list(c.cpus))
      return error("linux.resources.cpu.cpus: invalid CPU list \"{}\"", c.cpus);
    if (!c.mems.empty() && !is_cpu_list(c.mems))
      return error("linux.resources.cpu.mems: invalid memory node list \"{}\"", c.mems);
  }
  if (r.block_io) {
    for (size_t i = 0; i < r.block_io->weight_device.size(); ++i) {
      const auto& w = r.block_io->weight_device[i];
      if (!w.weight && !w.leaf_weight)
        return error("linux.resources.blockIO.weightDevice[{}]: needs weight or leafWeight", i);
    }
  }
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i)
    if (!is_page_size(r.hugepage_limits[i].page_size))
      return error("linux.resources.hugepageLimits[{}].pageSize: invalid page size \"{}\" "
                   "(like 2MB or 1GB)",
                   i, r.hugepage_limits[i].page_size);
  if (r.network)
    for (size_t i = 0; i < r.network->priorities.size(); ++i)
      if (r.network->priorities[i].name.empty())
        return error("linux.resources.network.priorities[{}].name: is required", i);
  for (const auto& [dev, limit] : r.rdma)
    if (!limit.hca_handles && !limit.hca_objects)
      return error("linux.resources.rdma[\"{}\"]: needs hcaHandles or hcaObjects", dev);
  for (const auto& [file, value] : r.unified)
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
      return error("linux.resources.unified[\"{}\"]: must be a file name of the cgroup", file);
  return {};
}

bool is_seccomp_action(std::string_view a) {
  return one_of(a, {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                    "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
                    "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"});
}

Result<> check_seccomp(const Seccomp& s) {
  if (s.default_action.empty()) return error("linux.seccomp.defaultAction: is required");
  if (!is_seccomp_action(s.default_action))
    return error("linux.seccomp.defaultAction: unknown action \"{}\"", s.default_action);
  if (s.default_action == "SCMP_ACT_NOTIFY")
    return error("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  auto takes_errno = [](std::string_view a) { return a == "SCMP_ACT_ERRNO" || a == "SCMP_ACT_TRACE"; };
  if (s.default_errno_ret && !takes_errno(s.default_action))
    return error("linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
  for (size_t i = 0; i < s.architectures.size(); ++i)
    if (!one_of(s.architectures[i],
                {"SCMP_ARCH_NATIVE", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
                 "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
                 "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
                 "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
                 "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
                 "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH",
                 "SCMP_ARCH_SHEB"}))
      return error("linux.seccomp.architectures[{}]: unknown architecture \"{}\"", i,
                   s.architectures[i]);
  for (size_t i = 0; i < s.flags.size(); ++i)
    if (!one_of(s.flags[i], {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                             "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                             "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}))
      return error("linux.seccomp.flags[{}]: unknown flag \"{}\"", i, s.flags[i]);
  if (!s.listener_metadata.empty() && s.listener_path.empty())
    return error("linux.seccomp.listenerMetadata: requires listenerPath");
  if (!s.listener_path.empty()) BERTH_TRY(absolute(s.listener_path, "linux.seccomp.listenerPath"));
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const auto& sc = s.syscalls[i];
    std::string path = fmt::format("linux.seccomp.syscalls[{}]", i);
    if (sc.names.empty()) return error("{}.names: must be a non-empty array", path);
    for (size_t n = 0; n < sc.names.size(); ++n)
      if (sc.names[n].empty()) return error("{}.names[{}]: must not be empty", path, n);
    if (!is_seccomp_action(sc.action))
      return error("{}.action: unknown action \"{}\"", path, sc.action);
    if (sc.action == "SCMP_ACT_NOTIFY" && s.listener_path.empty())
      return error("{}.action: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath", path);
    if (sc.errno_ret && !takes_errno(sc.action))
      return error("{}.errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE", path);
    for (size_t a = 0; a < sc.args.size(); ++a) {
      const auto& arg = sc.args[a];
      if (arg.index > 5)
        return error("{}.args[{}].index: must be between 0 and 5, got {}", path, a, arg.index);
      if (!one_of(arg.op, {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                           "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}))
        return error("{}.args[{}].op: unknown operator \"{}\"", path, a, arg.op);
    }
  }
  return {};
}

Result<> check_linux(const Linux& l, const Spec& spec) {
  std::set<std::string> seen;
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    const auto& ns = l.namespaces[i];
    if (!namespace_kind(ns.type))
      return error("linux.namespaces[{}].type: unknown namespace type \"{}\"", i, ns.type);
    if (!seen.insert(ns.type).second)
      return error("linux.namespaces[{}].type: duplicate namespace \"{}\"", i, ns.type);
    if (!ns.path.empty()) BERTH_TRY(absolute(ns.path, fmt::format("linux.namespaces[{}].path", i)));
  }
  const Namespace* user = find_namespace(spec, "user");
  if (!user && !l.uid_mappings.empty())
    return error("linux.uidMappings: requires a user namespace in linux.namespaces");
  if (!user && !l.gid_mappings.empty())
    return error("linux.gidMappings: requires a user namespace in linux.namespaces");
  if (user && user->path.empty()) {
    if (l.uid_mappings.empty()) return error("linux.uidMappings: required for a new user namespace");
    if (l.gid_mappings.empty()) return error("linux.gidMappings: required for a new user namespace");
  }
  BERTH_TRY(check_mappings(l.uid_mappings, "linux.uidMappings"));
  BERTH_TRY(check_mappings(l.gid_mappings, "linux.gidMappings"));

  if (!l.time_offsets.empty()) {
    const Namespace* time = find_namespace(spec, "time");
    if (!time) return error("linux.timeOffsets: requires a time namespace in linux.namespaces");
    if (!time->path.empty())
      return error("linux.timeOffsets: cannot be set when joining a time namespace by path");
    for (const auto& [clock, off] : l.time_offsets) {
      if (clock != "monotonic" && clock != "boottime")
        return error("linux.timeOffsets[\"{}\"]: unknown clock (monotonic or boottime)", clock);
      if (off.nanosecs >= 1'000'000'000)
        return error("linux.timeOffsets[\"{}\"].nanosecs: must be below 1000000000", clock);
    }
  }

  for (size_t i = 0; i < l.devices.size(); ++i) {
    const auto& d = l.devices[i];
    if (!one_of(d.type, {"c", "b", "u", "p"}))
      return error("linux.devices[{}].type: unknown device type \"{}\" (c, b, u or p)", i, d.type);
    BERTH_TRY(absolute(d.path, fmt::format("linux.devices[{}].path", i)));
    if (d.major < 0 || d.minor < 0)
      return error("linux.devices[{}]: major and minor must not be negative", i);
    if (d.file_mode && *d.file_mode > 07777)
      return error("linux.devices[{}].fileMode: must be permission bits (at most 07777), got {:#o}",
                   i, *d.file_mode);
  }
  if (l.resources) BERTH_TRY(check_resources(*l.resources));
  BERTH_TRY(check_sysctl(l, spec));
  if (l.seccomp) BERTH_TRY(check_seccomp(*l.seccomp));
  if (!l.rootfs_propagation.empty() &&
      !one_of(l.rootfs_propagation, {"shared", "slave", "private", "unbindable", "rshared",
                                     "rslave", "rprivate", "runbindable"}))
    return error("linux.rootfsPropagation: unknown propagation \"{}\"", l.rootfs_propagation);
  for (size_t i = 0; i < l.masked_paths.size(); ++i)
    BERTH_TRY(absolute(l.masked_paths[i], fmt::format("linux.maskedPaths[{}]", i)));
  for (size_t i = 0; i < l.readonly_paths.size(); ++i)
    BERTH_TRY(absolute(l.readonly_paths[i], fmt::format("linux.readonlyPaths[{}]", i)));
  if ((!l.masked_paths.empty() || !l.readonly_paths.empty()) && !find_namespace(spec, "mount"))
    return error("linux.{}: requires a mount namespace in linux.namespaces",
                 l.masked_paths.empty() ? "readonlyPaths" : "maskedPaths");
  if (l.intel_rdt) {
    const auto& rdt = *l.intel_rdt;
    if (rdt.clos_id == "." || rdt.clos_id == ".." || rdt.clos_id.find('/') != std::string::npos)
      return error("linux.intelRdt.closID: invalid name \"{}\"", rdt.clos_id);
    if (!rdt.mem_bw_schema.empty() &&
        (!rdt.mem_bw_schema.starts_with("MB:") || rdt.mem_bw_schema.find('\n') != std::string::npos))
      return error("linux.intelRdt.memBwSchema: must start with \"MB:\" and be one line");
  }
  if (l.personality) {
    if (l.personality->domain != "LINUX" && l.personality->domain != "LINUX32")
      return error("linux.personality.domain: unknown domain \"{}\" (LINUX or LINUX32)",
                   l.personality->domain);
    if (!l.personality->flags.empty())
      return error("linux.personality.flags[0]: unsupported flag \"{}\" (none are defined)",
                   l.personality->flags[0]);
  }
  return {};
}

}  // namespace

const Namespace* find_namespace(const Spec& spec, std::string_view type) {
  if (!spec.linux) return nullptr;
  for (const auto& ns : spec.linux->namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

Result<> validate_resources(const Resources& r) { return check_resources(r); }
Result<> validate_process(const Process& process) { return check_process(process); }

Result<> validate(const Spec& spec) {
  if (spec.oci_version.empty()) return error("ociVersion: is required");
  if (!is_semver(spec.oci_version))
    return error("ociVersion: must be a SemVer version like \"1.2.0\", got \"{}\"", spec.oci_version);
  if (!spec.root) return error("root: is required on Linux");
  if (spec.root->path.empty()) return error("root.path: is required");
  if (!spec.process) return error("process: is required (the container has nothing to run)");
  BERTH_TRY(check_process(*spec.process));
  // runc's rule: setting these in the runtime's UTS namespace would rename the host.
  if (!spec.hostname.empty() && !find_namespace(spec, "uts"))
    return error("hostname: requires a uts namespace in linux.namespaces");
  if (!spec.domainname.empty() && !find_namespace(spec, "uts"))
    return error("domainname: requires a uts namespace in linux.namespaces");
  BERTH_TRY(check_mounts(spec.mounts));
  if (spec.hooks) {
    const auto& h = *spec.hooks;
    BERTH_TRY(check_hooks(h.prestart, "prestart"));
    BERTH_TRY(check_hooks(h.create_runtime, "createRuntime"));
    BERTH_TRY(check_hooks(h.create_container, "createContainer"));
    BERTH_TRY(check_hooks(h.start_container, "startContainer"));
    BERTH_TRY(check_hooks(h.poststart, "poststart"));
    BERTH_TRY(check_hooks(h.poststop, "poststop"));
  }
  if (spec.linux) BERTH_TRY(check_linux(*spec.linux, spec));
  return {};
}

std::vector<std::string> config_warnings(const Spec& spec) {
  std::vector<std::string> out;
  if (spec.process && spec.process->capabilities) {
    const auto& c = *spec.process->capabilities;
    auto scan = [&](const std::vector<std::string>& set, std::string_view name) {
      for (size_t i = 0; i < set.size(); ++i)
        if (!capability_from_name(set[i]))
          out.push_back(fmt::format("process.capabilities.{}[{}]: unknown capability \"{}\" ignored",
                                    name, i, set[i]));
    };
    scan(c.bounding, "bounding");
    scan(c.effective, "effective");
    scan(c.inheritable, "inheritable");
    scan(c.permitted, "permitted");
    scan(c.ambient, "ambient");
  }
  for (size_t i = 0; i < spec.mounts.size(); ++i)
    if (!spec.mounts[i].destination.empty() && spec.mounts[i].destination[0] != '/')
      out.push_back(fmt::format(
          "mounts[{}].destination: relative path \"{}\" is deprecated, taken as relative to /", i,
          spec.mounts[i].destination));
  return out;
}

}  // namespace berth::oci
