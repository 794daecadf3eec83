// Spec -> config.json, keys in the order of the spec's Go bindings (the order
// runc writes), leaving out what is unset as Go's `omitempty` does.
#include <nlohmann/json.hpp>

#include "oci/config.h"

namespace berth::oci {
namespace {

using ojson = nlohmann::ordered_json;

void put(ojson& o, const char* key, const std::string& v) {
  if (!v.empty()) o[key] = v;
}
void put(ojson& o, const char* key, bool v) {
  if (v) o[key] = v;
}
template <typename T>
void put(ojson& o, const char* key, const std::optional<T>& v) {
  if (v) o[key] = *v;
}
void put(ojson& o, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) o[key] = v;
}
void put(ojson& o, const char* key, const std::map<std::string, std::string>& v) {
  if (!v.empty()) o[key] = v;
}
// A list of structs, each turned into JSON by `to`.
template <typename T, typename F>
void put_list(ojson& o, const char* key, const std::vector<T>& v, F to) {
  if (v.empty()) return;
  ojson a = ojson::array();
  for (const auto& item : v) a.push_back(to(item));
  o[key] = std::move(a);
}

ojson to_json(const IdMapping& m) {
  return {{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}};
}

ojson to_json(const Mount& m) {
  ojson o;
  o["destination"] = m.destination;
  put(o, "type", m.type);
  put(o, "source", m.source);
  put(o, "options", m.options);
  put_list(o, "uidMappings", m.uid_mappings, [](const IdMapping& x) { return to_json(x); });
  put_list(o, "gidMappings", m.gid_mappings, [](const IdMapping& x) { return to_json(x); });
  return o;
}

ojson to_json(const Hook& h) {
  ojson o;
  o["path"] = h.path;
  put(o, "args", h.args);
  put(o, "env", h.env);
  put(o, "timeout", h.timeout);
  return o;
}

ojson to_json(const Process& p) {
  ojson o;
  put(o, "terminal", p.terminal);
  if (p.console_size)
    o["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  ojson user;
  user["uid"] = p.user.uid;
  user["gid"] = p.user.gid;
  put(user, "umask", p.user.umask);
  if (!p.user.additional_gids.empty()) user["additionalGids"] = p.user.additional_gids;
  put(user, "username", p.user.username);
  o["user"] = std::move(user);
  put(o, "args", p.args);
  put(o, "commandLine", p.command_line);
  put(o, "env", p.env);
  o["cwd"] = p.cwd;
  if (p.capabilities) {
    ojson c = ojson::object();
    put(c, "bounding", p.capabilities->bounding);
    put(c, "effective", p.capabilities->effective);
    put(c, "inheritable", p.capabilities->inheritable);
    put(c, "permitted", p.capabilities->permitted);
    put(c, "ambient", p.capabilities->ambient);
    o["capabilities"] = std::move(c);
  }
  put_list(o, "rlimits", p.rlimits, [](const Rlimit& r) {
    return ojson{{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}};
  });
  put(o, "noNewPrivileges", p.no_new_privileges);
  put(o, "apparmorProfile", p.apparmor_profile);
  put(o, "oomScoreAdj", p.oom_score_adj);
  if (p.scheduler) {
    const auto& s = *p.scheduler;
    ojson j;
    j["policy"] = s.policy;
    put(j, "nice", s.nice);
    put(j, "priority", s.priority);
    put(j, "flags", s.flags);
    put(j, "runtime", s.runtime);
    put(j, "deadline", s.deadline);
    put(j, "period", s.period);
    o["scheduler"] = std::move(j);
  }
  put(o, "selinuxLabel", p.selinux_label);
  if (p.io_priority)
    o["ioPriority"] = {{"class", p.io_priority->io_class}, {"priority", p.io_priority->priority}};
  if (p.exec_cpu_affinity) {
    ojson a = ojson::object();
    put(a, "initial", p.exec_cpu_affinity->initial);
    put(a, "final", p.exec_cpu_affinity->final_);
    o["execCPUAffinity"] = std::move(a);
  }
  return o;
}

ojson to_json(const Resources& r) {
  ojson o = ojson::object();
  put_list(o, "devices", r.devices, [](const DeviceCgroupRule& d) {
    ojson j;
    j["allow"] = d.allow;
    put(j, "type", d.type);
    put(j, "major", d.major);
    put(j, "minor", d.minor);
    put(j, "access", d.access);
    return j;
  });
  if (r.memory) {
    const auto& m = *r.memory;
    ojson j = ojson::object();
    put(j, "limit", m.limit);
    put(j, "reservation", m.reservation);
    put(j, "swap", m.swap);
    put(j, "kernel", m.kernel);
    put(j, "kernelTCP", m.kernel_tcp);
    put(j, "swappiness", m.swappiness);
    put(j, "disableOOMKiller", m.disable_oom_killer);
    put(j, "useHierarchy", m.use_hierarchy);
    put(j, "checkBeforeUpdate", m.check_before_update);
    o["memory"] = std::move(j);
  }
  if (r.cpu) {
    const auto& c = *r.cpu;
    ojson j = ojson::object();
    put(j, "shares", c.shares);
    put(j, "quota", c.quota);
    put(j, "burst", c.burst);
    put(j, "period", c.period);
    put(j, "realtimeRuntime", c.realtime_runtime);
    put(j, "realtimePeriod", c.realtime_period);
    put(j, "cpus", c.cpus);
    put(j, "mems", c.mems);
    put(j, "idle", c.idle);
    o["cpu"] = std::move(j);
  }
  if (r.pids) {
    ojson j = ojson::object();
    put(j, "limit", r.pids->limit);
    o["pids"] = std::move(j);
  }
  if (r.block_io) {
    const auto& b = *r.block_io;
    ojson j = ojson::object();
    put(j, "weight", b.weight);
    put(j, "leafWeight", b.leaf_weight);
    put_list(j, "weightDevice", b.weight_device, [](const WeightDevice& w) {
      ojson d{{"major", w.major}, {"minor", w.minor}};
      put(d, "weight", w.weight);
      put(d, "leafWeight", w.leaf_weight);
      return d;
    });
    auto throttle = [](const ThrottleDevice& t) {
      return ojson{{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}};
    };
    put_list(j, "throttleReadBpsDevice", b.throttle_read_bps_device, throttle);
    put_list(j, "throttleWriteBpsDevice", b.throttle_write_bps_device, throttle);
    put_list(j, "throttleReadIOPSDevice", b.throttle_read_iops_device, throttle);
    put_list(j, "throttleWriteIOPSDevice", b.throttle_write_iops_device, throttle);
    o["blockIO"] = std::move(j);
  }
  put_list(o, "hugepageLimits", r.hugepage_limits, [](const HugepageLimit& h) {
    return ojson{{"pageSize", h.page_size}, {"limit", h.limit}};
  });
  if (r.network) {
    ojson j = ojson::object();
    put(j, "classID", r.network->class_id);
    put_list(j, "priorities", r.network->priorities, [](const NetworkPriority& p) {
      return ojson{{"name", p.name}, {"priority", p.priority}};
    });
    o["network"] = std::move(j);
  }
  if (!r.rdma.empty()) {
    ojson j = ojson::object();
    for (const auto& [dev, l] : r.rdma) {
      ojson e = ojson::object();
      put(e, "hcaHandles", l.hca_handles);
      put(e, "hcaObjects", l.hca_objects);
      j[dev] = std::move(e);
    }
    o["rdma"] = std::move(j);
  }
  put(o, "unified", r.unified);
  return o;
}

ojson to_json(const Seccomp& s) {
  ojson o;
  o["defaultAction"] = s.default_action;
  put(o, "defaultErrnoRet", s.default_errno_ret);
  put(o, "architectures", s.architectures);
  put(o, "flags", s.flags);
  put(o, "listenerPath", s.listener_path);
  put(o, "listenerMetadata", s.listener_metadata);
  put_list(o, "syscalls", s.syscalls, [](const SeccompSyscall& sc) {
    ojson j;
    j["names"] = sc.names;
    j["action"] = sc.action;
    put(j, "errnoRet", sc.errno_ret);
    put_list(j, "args", sc.args, [](const SeccompArg& a) {
      ojson arg{{"index", a.index}, {"value", a.value}};
      if (a.value_two) arg["valueTwo"] = a.value_two;
      arg["op"] = a.op;
      return arg;
    });
    return j;
  });
  return o;
}

ojson to_json(const Linux& l) {
  ojson o = ojson::object();
  put_list(o, "uidMappings", l.uid_mappings, [](const IdMapping& x) { return to_json(x); });
  put_list(o, "gidMappings", l.gid_mappings, [](const IdMapping& x) { return to_json(x); });
  put(o, "sysctl", l.sysctl);
  if (l.resources) o["resources"] = to_json(*l.resources);
  put(o, "cgroupsPath", l.cgroups_path);
  put_list(o, "namespaces", l.namespaces, [](const Namespace& n) {
    ojson j{{"type", n.type}};
    put(j, "path", n.path);
    return j;
  });
  put_list(o, "devices", l.devices, [](const Device& d) {
    ojson j{{"path", d.path}, {"type", d.type}};
    if (d.type != "p" || d.major || d.minor) {
      j["major"] = d.major;
      j["minor"] = d.minor;
    }
    put(j, "fileMode", d.file_mode);
    put(j, "uid", d.uid);
    put(j, "gid", d.gid);
    return j;
  });
  if (l.seccomp) o["seccomp"] = to_json(*l.seccomp);
  put(o, "rootfsPropagation", l.rootfs_propagation);
  put(o, "maskedPaths", l.masked_paths);
  put(o, "readonlyPaths", l.readonly_paths);
  put(o, "mountLabel", l.mount_label);
  if (l.intel_rdt) {
    ojson j = ojson::object();
    put(j, "closID", l.intel_rdt->clos_id);
    put(j, "l3CacheSchema", l.intel_rdt->l3_cache_schema);
    put(j, "memBwSchema", l.intel_rdt->mem_bw_schema);
    put(j, "enableCMT", l.intel_rdt->enable_cmt);
    put(j, "enableMBM", l.intel_rdt->enable_mbm);
    o["intelRdt"] = std::move(j);
  }
  if (l.personality) {
    ojson j{{"domain", l.personality->domain}};
    put(j, "flags", l.personality->flags);
    o["personality"] = std::move(j);
  }
  if (!l.time_offsets.empty()) {
    ojson j = ojson::object();
    for (const auto& [clock, off] : l.time_offsets) {
      ojson e = ojson::object();
      if (off.secs) e["secs"] = off.secs;
      if (off.nanosecs) e["nanosecs"] = off.nanosecs;
      j[clock] = std::move(e);
    }
    o["timeOffsets"] = std::move(j);
  }
  return o;
}

}  // namespace

std::string resources_to_json(const Resources& r) { return to_json(r).dump(); }

std::string config_to_json(const Spec& spec, bool pretty) {
  ojson o;
  o["ociVersion"] = spec.oci_version;
  if (spec.process) o["process"] = to_json(*spec.process);
  if (spec.root) {
    ojson r{{"path", spec.root->path}};
    put(r, "readonly", spec.root->readonly);
    o["root"] = std::move(r);
  }
  put(o, "hostname", spec.hostname);
  put(o, "domainname", spec.domainname);
  put_list(o, "mounts", spec.mounts, [](const Mount& m) { return to_json(m); });
  if (spec.hooks) {
    const auto& h = *spec.hooks;
    ojson j = ojson::object();
    auto hook = [](const Hook& x) { return to_json(x); };
    put_list(j, "prestart", h.prestart, hook);
    put_list(j, "createRuntime", h.create_runtime, hook);
    put_list(j, "createContainer", h.create_container, hook);
    put_list(j, "startContainer", h.start_container, hook);
    put_list(j, "poststart", h.poststart, hook);
    put_list(j, "poststop", h.poststop, hook);
    o["hooks"] = std::move(j);
  }
  put(o, "annotations", spec.annotations);
  if (spec.linux) o["linux"] = to_json(*spec.linux);
  // Strings built in code may hold invalid UTF-8: replace rather than throw.
  return pretty ? o.dump(1, '\t', false, ojson::error_handler_t::replace)
                : o.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace berth::oci
