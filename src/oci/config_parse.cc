// config.json -> Spec. This file checks shape only (types, required keys);
// config_validate.cc checks meaning. Every error names the JSON path.
#include <cerrno>
#include <concepts>
#include <exception>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "oci/config.h"

namespace berth::oci {
namespace {

using json = nlohmann::json;

std::string member(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

// A JSON object being read, with its path.
struct Obj {
  const json& j;
  std::string path;

  // The value of `key`, or null when it is absent or JSON null: Go runtimes
  // read null as "not set", and so do we.
  const json* get(std::string_view key) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
  }
  std::string at(std::string_view key) const { return member(path, key); }
};

Result<Obj> object(const json& v, const std::string& path) {
  if (!v.is_object()) return error("{}: must be an object", path);
  return Obj{v, path};
}

// Value readers, one overload per C++ type; the struct readers below are
// declared first so the generic vector/map/optional readers can find them.
Result<> read(const json& v, const std::string& path, std::string& out);
Result<> read(const json& v, const std::string& path, bool& out);
Result<> read(const json& v, const std::string& path, Root& out);
Result<> read(const json& v, const std::string& path, IdMapping& out);
Result<> read(const json& v, const std::string& path, Mount& out);
Result<> read(const json& v, const std::string& path, User& out);
Result<> read(const json& v, const std::string& path, ConsoleSize& out);
Result<> read(const json& v, const std::string& path, Capabilities& out);
Result<> read(const json& v, const std::string& path, Rlimit& out);
Result<> read(const json& v, const std::string& path, IoPriority& out);
Result<> read(const json& v, const std::string& path, Scheduler& out);
Result<> read(const json& v, const std::string& path, ExecCpuAffinity& out);
Result<> read(const json& v, const std::string& path, Process& out);
Result<> read(const json& v, const std::string& path, Hook& out);
Result<> read(const json& v, const std::string& path, Hooks& out);
Result<> read(const json& v, const std::string& path, Namespace& out);
Result<> read(const json& v, const std::string& path, Device& out);
Result<> read(const json& v, const std::string& path, DeviceCgroupRule& out);
Result<> read(const json& v, const std::string& path, MemoryResources& out);
Result<> read(const json& v, const std::string& path, CpuResources& out);
Result<> read(const json& v, const std::string& path, PidsResources& out);
Result<> read(const json& v, const std::string& path, WeightDevice& out);
Result<> read(const json& v, const std::string& path, ThrottleDevice& out);
Result<> read(const json& v, const std::string& path, BlockIoResources& out);
Result<> read(const json& v, const std::string& path, HugepageLimit& out);
Result<> read(const json& v, const std::string& path, NetworkPriority& out);
Result<> read(const json& v, const std::string& path, NetworkResources& out);
Result<> read(const json& v, const std::string& path, RdmaLimit& out);
Result<> read(const json& v, const std::string& path, Resources& out);
Result<> read(const json& v, const std::string& path, SeccompArg& out);
Result<> read(const json& v, const std::string& path, SeccompSyscall& out);
Result<> read(const json& v, const std::string& path, Seccomp& out);
Result<> read(const json& v, const std::string& path, IntelRdt& out);
Result<> read(const json& v, const std::string& path, Personality& out);
Result<> read(const json& v, const std::string& path, TimeOffset& out);
Result<> read(const json& v, const std::string& path, Linux& out);

Result<> read(const json& v, const std::string& path, std::string& out) {
  if (!v.is_string()) return error("{}: must be a string", path);
  out = v.get_ref<const std::string&>();
  return {};
}

Result<> read(const json& v, const std::string& path, bool& out) {
  if (!v.is_boolean()) return error("{}: must be a boolean", path);
  out = v.get<bool>();
  return {};
}

// Integers: JSON numbers without a fraction, in the range of T. Go rejects
// 1.0 and 1e3 for integer fields; so do we.
template <typename T>
  requires std::integral<T> && (!std::same_as<T, bool>)
Result<> read(const json& v, const std::string& path, T& out) {
  auto range = [&] {
    return error("{}: must be between {} and {}", path, std::numeric_limits<T>::min(),
                 std::numeric_limits<T>::max());
  };
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (!std::in_range<T>(u)) return range();
    out = static_cast<T>(u);
    return {};
  }
  if (v.is_number_integer()) {
    auto s = v.get<int64_t>();
    if (!std::in_range<T>(s)) return range();
    out = static_cast<T>(s);
    return {};
  }
  if (v.is_number()) return error("{}: must be an integer", path);
  return error("{}: must be a number", path);
}

template <typename T>
Result<> read(const json& v, const std::string& path, std::optional<T>& out) {
  T value{};
  BERTH_TRY(read(v, path, value));
  out = std::move(value);
  return {};
}

template <typename T>
Result<> read(const json& v, const std::string& path, std::vector<T>& out) {
  if (!v.is_array()) return error("{}: must be an array", path);
  out.clear();
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    T value{};
    BERTH_TRY(read(v[i], fmt::format("{}[{}]", path, i), value));
    out.push_back(std::move(value));
  }
  return {};
}

template <typename T>
Result<> read(const json& v, const std::string& path, std::map<std::string, T>& out) {
  if (!v.is_object()) return error("{}: must be an object", path);
  out.clear();
  for (const auto& [key, item] : v.items()) {
    T value{};
    BERTH_TRY(read(item, fmt::format("{}[\"{}\"]", path, key), value));
    out.emplace(key, std::move(value));
  }
  return {};
}

// An optional key: absent (or null) leaves `out` untouched.
template <typename T>
Result<> opt(const Obj& o, std::string_view key, T& out) {
  const json* v = o.get(key);
  if (!v) return {};
  return read(*v, o.at(key), out);
}

// A required key.
template <typename T>
Result<> req(const Obj& o, std::string_view key, T& out) {
  const json* v = o.get(key);
  if (!v) return error("{}: is required", o.at(key));
  return read(*v, o.at(key), out);
}

Result<> read(const json& v, const std::string& path, Root& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "path", out.path));
  BERTH_TRY(opt(o, "readonly", out.readonly));
  return {};
}

Result<> read(const json& v, const std::string& path, IdMapping& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "containerID", out.container_id));
  BERTH_TRY(req(o, "hostID", out.host_id));
  BERTH_TRY(req(o, "size", out.size));
  return {};
}

Result<> read(const json& v, const std::string& path, Mount& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "destination", out.destination));
  BERTH_TRY(opt(o, "type", out.type));
  BERTH_TRY(opt(o, "source", out.source));
  BERTH_TRY(opt(o, "options", out.options));
  BERTH_TRY(opt(o, "uidMappings", out.uid_mappings));
  BERTH_TRY(opt(o, "gidMappings", out.gid_mappings));
  return {};
}

Result<> read(const json& v, const std::string& path, User& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  // Required by the spec, but Go runtimes read a missing id as 0: so do we.
  BERTH_TRY(opt(o, "uid", out.uid));
  BERTH_TRY(opt(o, "gid", out.gid));
  BERTH_TRY(opt(o, "umask", out.umask));
  BERTH_TRY(opt(o, "additionalGids", out.additional_gids));
  BERTH_TRY(opt(o, "username", out.username));
  return {};
}

Result<> read(const json& v, const std::string& path, ConsoleSize& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "height", out.height));
  BERTH_TRY(req(o, "width", out.width));
  return {};
}

Result<> read(const json& v, const std::string& path, Capabilities& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "bounding", out.bounding));
  BERTH_TRY(opt(o, "effective", out.effective));
  BERTH_TRY(opt(o, "inheritable", out.inheritable));
  BERTH_TRY(opt(o, "permitted", out.permitted));
  BERTH_TRY(opt(o, "ambient", out.ambient));
  return {};
}

Result<> read(const json& v, const std::string& path, Rlimit& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "type", out.type));
  BERTH_TRY(req(o, "hard", out.hard));
  BERTH_TRY(req(o, "soft", out.soft));
  return {};
}

Result<> read(const json& v, const std::string& path, IoPriority& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "class", out.io_class));
  BERTH_TRY(req(o, "priority", out.priority));
  return {};
}

Result<> read(const json& v, const std::string& path, Scheduler& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "policy", out.policy));
  BERTH_TRY(opt(o, "nice", out.nice));
  BERTH_TRY(opt(o, "priority", out.priority));
  BERTH_TRY(opt(o, "flags", out.flags));
  BERTH_TRY(opt(o, "runtime", out.runtime));
  BERTH_TRY(opt(o, "deadline", out.deadline));
  BERTH_TRY(opt(o, "period", out.period));
  return {};
}

Result<> read(const json& v, const std::string& path, ExecCpuAffinity& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "initial", out.initial));
  BERTH_TRY(opt(o, "final", out.final_));
  return {};
}

Result<> read(const json& v, const std::string& path, Process& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "terminal", out.terminal));
  BERTH_TRY(opt(o, "consoleSize", out.console_size));
  BERTH_TRY(opt(o, "user", out.user));
  BERTH_TRY(opt(o, "args", out.args));
  BERTH_TRY(opt(o, "commandLine", out.command_line));
  BERTH_TRY(opt(o, "env", out.env));
  BERTH_TRY(opt(o, "cwd", out.cwd));
  BERTH_TRY(opt(o, "capabilities", out.capabilities));
  BERTH_TRY(opt(o, "rlimits", out.rlimits));
  BERTH_TRY(opt(o, "noNewPrivileges", out.no_new_privileges));
  BERTH_TRY(opt(o, "apparmorProfile", out.apparmor_profile));
  BERTH_TRY(opt(o, "oomScoreAdj", out.oom_score_adj));
  BERTH_TRY(opt(o, "selinuxLabel", out.selinux_label));
  BERTH_TRY(opt(o, "ioPriority", out.io_priority));
  BERTH_TRY(opt(o, "scheduler", out.scheduler));
  BERTH_TRY(opt(o, "execCPUAffinity", out.exec_cpu_affinity));
  return {};
}

Result<> read(const json& v, const std::string& path, Hook& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "path", out.path));
  BERTH_TRY(opt(o, "args", out.args));
  BERTH_TRY(opt(o, "env", out.env));
  BERTH_TRY(opt(o, "timeout", out.timeout));
  return {};
}

Result<> read(const json& v, const std::string& path, Hooks& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "prestart", out.prestart));
  BERTH_TRY(opt(o, "createRuntime", out.create_runtime));
  BERTH_TRY(opt(o, "createContainer", out.create_container));
  BERTH_TRY(opt(o, "startContainer", out.start_container));
  BERTH_TRY(opt(o, "poststart", out.poststart));
  BERTH_TRY(opt(o, "poststop", out.poststop));
  return {};
}

Result<> read(const json& v, const std::string& path, Namespace& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "type", out.type));
  BERTH_TRY(opt(o, "path", out.path));
  return {};
}

Result<> read(const json& v, const std::string& path, Device& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "type", out.type));
  BERTH_TRY(req(o, "path", out.path));
  // major and minor are required unless the device is a fifo.
  if (out.type == "p") {
    BERTH_TRY(opt(o, "major", out.major));
    BERTH_TRY(opt(o, "minor", out.minor));
  } else {
    BERTH_TRY(req(o, "major", out.major));
    BERTH_TRY(req(o, "minor", out.minor));
  }
  BERTH_TRY(opt(o, "fileMode", out.file_mode));
  BERTH_TRY(opt(o, "uid", out.uid));
  BERTH_TRY(opt(o, "gid", out.gid));
  return {};
}

Result<> read(const json& v, const std::string& path, DeviceCgroupRule& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "allow", out.allow));
  BERTH_TRY(opt(o, "type", out.type));
  BERTH_TRY(opt(o, "major", out.major));
  BERTH_TRY(opt(o, "minor", out.minor));
  BERTH_TRY(opt(o, "access", out.access));
  return {};
}

Result<> read(const json& v, const std::string& path, MemoryResources& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "limit", out.limit));
  BERTH_TRY(opt(o, "reservation", out.reservation));
  BERTH_TRY(opt(o, "swap", out.swap));
  BERTH_TRY(opt(o, "kernel", out.kernel));
  BERTH_TRY(opt(o, "kernelTCP", out.kernel_tcp));
  BERTH_TRY(opt(o, "swappiness", out.swappiness));
  BERTH_TRY(opt(o, "disableOOMKiller", out.disable_oom_killer));
  BERTH_TRY(opt(o, "useHierarchy", out.use_hierarchy));
  BERTH_TRY(opt(o, "checkBeforeUpdate", out.check_before_update));
  return {};
}

Result<> read(const json& v, const std::string& path, CpuResources& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "shares", out.shares));
  BERTH_TRY(opt(o, "quota", out.quota));
  BERTH_TRY(opt(o, "burst", out.burst));
  BERTH_TRY(opt(o, "period", out.period));
  BERTH_TRY(opt(o, "realtimeRuntime", out.realtime_runtime));
  BERTH_TRY(opt(o, "realtimePeriod", out.realtime_period));
  BERTH_TRY(opt(o, "cpus", out.cpus));
  BERTH_TRY(opt(o, "mems", out.mems));
  BERTH_TRY(opt(o, "idle", out.idle));
  return {};
}

Result<> read(const json& v, const std::string& path, PidsResources& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "limit", out.limit));
  return {};
}

Result<> read(const json& v, const std::string& path, WeightDevice& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "major", out.major));
  BERTH_TRY(req(o, "minor", out.minor));
  BERTH_TRY(opt(o, "weight", out.weight));
  BERTH_TRY(opt(o, "leafWeight", out.leaf_weight));
  return {};
}

Result<> read(const json& v, const std::string& path, ThrottleDevice& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "major", out.major));
  BERTH_TRY(req(o, "minor", out.minor));
  BERTH_TRY(req(o, "rate", out.rate));
  return {};
}

Result<> read(const json& v, const std::string& path, BlockIoResources& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "weight", out.weight));
  BERTH_TRY(opt(o, "leafWeight", out.leaf_weight));
  BERTH_TRY(opt(o, "weightDevice", out.weight_device));
  BERTH_TRY(opt(o, "throttleReadBpsDevice", out.throttle_read_bps_device));
  BERTH_TRY(opt(o, "throttleWriteBpsDevice", out.throttle_write_bps_device));
  BERTH_TRY(opt(o, "throttleReadIOPSDevice", out.throttle_read_iops_device));
  BERTH_TRY(opt(o, "throttleWriteIOPSDevice", out.throttle_write_iops_device));
  return {};
}

Result<> read(const json& v, const std::string& path, HugepageLimit& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "pageSize", out.page_size));
  BERTH_TRY(req(o, "limit", out.limit));
  return {};
}

Result<> read(const json& v, const std::string& path, NetworkPriority& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "name", out.name));
  BERTH_TRY(req(o, "priority", out.priority));
  return {};
}

Result<> read(const json& v, const std::string& path, NetworkResources& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "classID", out.class_id));
  BERTH_TRY(opt(o, "priorities", out.priorities));
  return {};
}

Result<> read(const json& v, const std::string& path, RdmaLimit& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "hcaHandles", out.hca_handles));
  BERTH_TRY(opt(o, "hcaObjects", out.hca_objects));
  return {};
}

Result<> read(const json& v, const std::string& path, Resources& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "devices", out.devices));
  BERTH_TRY(opt(o, "memory", out.memory));
  BERTH_TRY(opt(o, "cpu", out.cpu));
  BERTH_TRY(opt(o, "pids", out.pids));
  BERTH_TRY(opt(o, "blockIO", out.block_io));
  BERTH_TRY(opt(o, "hugepageLimits", out.hugepage_limits));
  BERTH_TRY(opt(o, "network", out.network));
  BERTH_TRY(opt(o, "rdma", out.rdma));
  BERTH_TRY(opt(o, "unified", out.unified));
  return {};
}

Result<> read(const json& v, const std::string& path, SeccompArg& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "index", out.index));
  BERTH_TRY(req(o, "value", out.value));
  BERTH_TRY(opt(o, "valueTwo", out.value_two));
  BERTH_TRY(req(o, "op", out.op));
  return {};
}

Result<> read(const json& v, const std::string& path, SeccompSyscall& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "names", out.names));
  BERTH_TRY(req(o, "action", out.action));
  BERTH_TRY(opt(o, "errnoRet", out.errno_ret));
  BERTH_TRY(opt(o, "args", out.args));
  return {};
}

Result<> read(const json& v, const std::string& path, Seccomp& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "defaultAction", out.default_action));
  BERTH_TRY(opt(o, "defaultErrnoRet", out.default_errno_ret));
  BERTH_TRY(opt(o, "architectures", out.architectures));
  BERTH_TRY(opt(o, "flags", out.flags));
  BERTH_TRY(opt(o, "listenerPath", out.listener_path));
  BERTH_TRY(opt(o, "listenerMetadata", out.listener_metadata));
  BERTH_TRY(opt(o, "syscalls", out.syscalls));
  return {};
}

Result<> read(const json& v, const std::string& path, IntelRdt& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "closID", out.clos_id));
  BERTH_TRY(opt(o, "l3CacheSchema", out.l3_cache_schema));
  BERTH_TRY(opt(o, "memBwSchema", out.mem_bw_schema));
  BERTH_TRY(opt(o, "enableCMT", out.enable_cmt));
  BERTH_TRY(opt(o, "enableMBM", out.enable_mbm));
  return {};
}

Result<> read(const json& v, const std::string& path, Personality& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(req(o, "domain", out.domain));
  BERTH_TRY(opt(o, "flags", out.flags));
  return {};
}

Result<> read(const json& v, const std::string& path, TimeOffset& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "secs", out.secs));
  BERTH_TRY(opt(o, "nanosecs", out.nanosecs));
  return {};
}

Result<> read(const json& v, const std::string& path, Linux& out) {
  BERTH_TRY_ASSIGN(o, object(v, path));
  BERTH_TRY(opt(o, "namespaces", out.namespaces));
  BERTH_TRY(opt(o, "uidMappings", out.uid_mappings));
  BERTH_TRY(opt(o, "gidMappings", out.gid_mappings));
  BERTH_TRY(opt(o, "timeOffsets", out.time_offsets));
  BERTH_TRY(opt(o, "devices", out.devices));
  BERTH_TRY(opt(o, "cgroupsPath", out.cgroups_path));
  BERTH_TRY(opt(o, "resources", out.resources));
  BERTH_TRY(opt(o, "rootfsPropagation", out.rootfs_propagation));
  BERTH_TRY(opt(o, "seccomp", out.seccomp));
  BERTH_TRY(opt(o, "sysctl", out.sysctl));
  BERTH_TRY(opt(o, "maskedPaths", out.masked_paths));
  BERTH_TRY(opt(o, "readonlyPaths", out.readonly_paths));
  BERTH_TRY(opt(o, "mountLabel", out.mount_label));
  BERTH_TRY(opt(o, "intelRdt", out.intel_rdt));
  BERTH_TRY(opt(o, "personality", out.personality));
  return {};
}

Result<Spec> read_spec(const json& doc) {
  if (!doc.is_object()) return error("config must be a JSON object");
  Obj o{doc, ""};
  Spec spec;
  BERTH_TRY(opt(o, "ociVersion", spec.oci_version));
  BERTH_TRY(opt(o, "process", spec.process));
  BERTH_TRY(opt(o, "root", spec.root));
  BERTH_TRY(opt(o, "hostname", spec.hostname));
  BERTH_TRY(opt(o, "domainname", spec.domainname));
  BERTH_TRY(opt(o, "mounts", spec.mounts));
  BERTH_TRY(opt(o, "hooks", spec.hooks));
  BERTH_TRY(opt(o, "annotations", spec.annotations));
  BERTH_TRY(opt(o, "linux", spec.linux));
  return spec;
}

// nlohmann's messages start with "[json.exception.parse_error.101] ".
std::string parse_error_text(const std::exception& e) {
  std::string_view what = e.what();
  if (what.starts_with("[json.exception.")) {
    auto end = what.find("] ");
    if (end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return std::string(what);
}

}  // namespace

Result<Spec> parse_config(std::string_view text) {
  // nlohmann reports syntax errors with exceptions; none may leave this
  // function (nor a bad_alloc on a hostile document).
  try {
    json doc;
    try {
      doc = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
      return error("invalid JSON: {}", parse_error_text(e));
    }
    BERTH_TRY_ASSIGN(spec, read_spec(doc));
    BERTH_TRY(validate(spec));
    return spec;
  } catch (const std::exception& e) {
    return error("reading config: {}", e.what());
  }
}

Result<Resources> parse_resources(std::string_view text) {
  try {
    json doc;
    try {
      doc = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
      return error("linux.resources: invalid JSON: {}", parse_error_text(e));
    }
    Resources r;
    BERTH_TRY(read(doc, "linux.resources", r));
    BERTH_TRY(validate_resources(r));
    return r;
  } catch (const std::exception& e) {
    return error("reading linux.resources: {}", e.what());
  }
}

Result<Process> parse_process(std::string_view text) {
  try {
    json doc;
    try {
      doc = json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {
      return error("invalid JSON: {}", parse_error_text(e));
    }
    Process p;
    BERTH_TRY(read(doc, "process", p));
    BERTH_TRY(validate_process(p));
    return p;
  } catch (const std::exception& e) {
    return error("reading process: {}", e.what());
  }
}

Result<Spec> load_config(const std::string& bundle_dir) {
  std::string path = bundle_dir.empty() ? "config.json" : bundle_dir + "/config.json";
  auto text = read_file(path);
  if (!text) return std::unexpected(std::move(text).error());
  auto spec = parse_config(*text);
  if (!spec) return std::unexpected(std::move(spec.error()).context(fmt::format("{}", path)));
  return spec;
}

}  // namespace berth::oci
