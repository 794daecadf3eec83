// Scheduling-related process attributes: personality, oom_score_adj, the
// scheduler (sched_setattr), I/O priority and CPU affinity.
#include <fcntl.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "runtime/process_attrs.h"

namespace berth::runtime {
namespace {

// struct sched_attr of <linux/sched/types.h> (glibc 2.36 has no wrapper).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

struct Named {
  std::string_view name;
  uint64_t value;
};

constexpr Named kPolicies[] = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},       {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};
constexpr Named kSchedFlags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};
constexpr Named kIoClasses[] = {
    {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};

template <size_t N>
const Named* find(const Named (&table)[N], std::string_view name) {
  for (const auto& n : table)
    if (n.name == name) return &n;
  return nullptr;
}

constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;

// A CPU set sized for `max_cpu`, owned.
struct CpuSet {
  struct Free {
    void operator()(cpu_set_t* s) const { CPU_FREE(s); }
  };
  std::unique_ptr<cpu_set_t, Free> set;
  size_t size = 0;
};

CpuSet make_cpu_set(int max_cpu) {
  CpuSet s;
  s.set.reset(CPU_ALLOC(max_cpu + 1));
  s.size = CPU_ALLOC_SIZE(max_cpu + 1);
  if (s.set) CPU_ZERO_S(s.size, s.set.get());
  return s;
}

Result<> set_affinity(const CpuSet& s, std::string_view what) {
  if (!s.set) return sys_error(ENOMEM, "cpu affinity {}", what);
  if (::sched_setaffinity(0, s.size, s.set.get()) < 0)
    return sys_error(errno, "set cpu affinity to {}", what);
  return {};
}

}  // namespace

Result<> apply_personality(const oci::Personality& p) {
  unsigned long domain;
  if (p.domain == "LINUX") {
    domain = PER_LINUX;
  } else if (p.domain == "LINUX32") {
    domain = PER_LINUX32;
  } else {
    return error("linux.personality.domain \"{}\" is not LINUX or LINUX32", p.domain);
  }
  // The spec defines no flag values ("currently no flag values are supported").
  if (!p.flags.empty())
    return error("linux.personality.flags: flag \"{}\" is not supported", p.flags.front());
  if (::personality(domain) < 0) return sys_error(errno, "personality {}", p.domain);
  return {};
}

Result<> apply_oom_score_adj(int value) {
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "open /proc/self/oom_score_adj");
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  ssize_t n = ::write(fd, buf, static_cast<size_t>(end - buf));
  int err = errno;
  ::close(fd);
  if (n >= 0) return {};
  if (err == EACCES || err == EPERM)
    return sys_error(err, "set oom_score_adj to {} (lowering it needs CAP_SYS_RESOURCE)", value);
  return sys_error(err, "set oom_score_adj to {}", value);
}

Result<> apply_scheduler(const oci::Scheduler& s) {
  const Named* policy = find(kPolicies, s.policy);
  if (!policy) return error("process.scheduler.policy \"{}\" is not known", s.policy);
  SchedAttr attr{};
  attr.size = sizeof attr;
  attr.sched_policy = static_cast<uint32_t>(policy->value);
  for (const auto& f : s.flags) {
    const Named* flag = find(kSchedFlags, f);
    if (!flag) return error("process.scheduler.flags: \"{}\" is not known", f);
    attr.sched_flags |= flag->value;
  }
  attr.sched_nice = s.nice.value_or(0);
  attr.sched_priority = static_cast<uint32_t>(s.priority.value_or(0));
  attr.sched_runtime = s.runtime.value_or(0);
  attr.sched_deadline = s.deadline.value_or(0);
  attr.sched_period = s.period.value_or(0);
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
    return sys_error(errno,
                     "sched_setattr policy={} nice={} priority={} runtime={} deadline={} period={}",
                     s.policy, attr.sched_nice, attr.sched_priority, attr.sched_runtime,
                     attr.sched_deadline, attr.sched_period);
  return {};
}

Result<> apply_io_priority(const oci::IoPriority& p) {
  const Named* cls = find(kIoClasses, p.io_class);
  if (!cls) return error("process.ioPriority.class \"{}\" is not known", p.io_class);
  if (p.priority < 0 || p.priority > 7)
    return error("process.ioPriority.priority {} is not within 0..7", p.priority);
  int prio = static_cast<int>(cls->value << kIoprioClassShift) | p.priority;
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, prio) < 0)
    return sys_error(errno, "ioprio_set {} priority {}", p.io_class, p.priority);
  return {};
}

Result<std::vector<int>> parse_cpu_list(std::string_view cpus) {
  std::vector<int> out;
  if (cpus.empty()) return error("cpu list is empty");
  auto number = [&](std::string_view s) -> Result<int> {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > 65535)
      return error("cpu list \"{}\": \"{}\" is not a cpu number", cpus, s);
    return v;
  };
  std::string_view rest = cpus;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    size_t dash = item.find('-');
    BERTH_TRY_ASSIGN(lo, number(item.substr(0, dash)));
    int hi = lo;
    if (dash != std::string_view::npos) {
      BERTH_TRY_ASSIGN(h, number(item.substr(dash + 1)));
      if (h < lo) return error("cpu list \"{}\": range \"{}\" is reversed", cpus, item);
      hi = h;
    }
    for (int c = lo; c <= hi; ++c) out.push_back(c);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

Result<> apply_cpu_affinity(const std::string& cpus) {
  BERTH_TRY_ASSIGN(list, parse_cpu_list(cpus));
  int max_cpu = 0;
  for (int c : list) max_cpu = std::max(max_cpu, c);
  CpuSet s = make_cpu_set(max_cpu);
  if (s.set)
    for (int c : list) CPU_SET_S(static_cast<size_t>(c), s.size, s.set.get());
  return set_affinity(s, fmt::format("\"{}\"", cpus));
}

Result<> apply_exec_cpu_affinity_initial(const oci::ExecCpuAffinity& a) {
  if (a.initial.empty()) return {};
  return with_context(apply_cpu_affinity(a.initial), "process.execCPUAffinity.initial");
}

Result<> apply_exec_cpu_affinity_final(const oci::ExecCpuAffinity& a) {
  if (!a.final_.empty())
    return with_context(apply_cpu_affinity(a.final_), "process.execCPUAffinity.final");
  if (a.initial.empty()) return {};
  // Undo `initial`: every CPU; the kernel narrows it to the cgroup's cpuset.
  int max_cpu = static_cast<int>(::sysconf(_SC_NPROCESSORS_CONF)) - 1;
  CpuSet s = make_cpu_set(std::max(max_cpu, 0));
  if (s.set)
    for (int c = 0; c <= max_cpu; ++c) CPU_SET_S(static_cast<size_t>(c), s.size, s.set.get());
  return set_affinity(s, "every cpu of the container's cgroup");
}

}  // namespace berth::runtime
