#include "runtime/namespaces.h"

#include <fcntl.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "base/file.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {
namespace {

struct NsName {
  const char* spec;
  const char* proc;
  int flag;
};

// Join order: user first, mount last (joining a mount namespace changes root
// and cwd, after which the other paths could no longer be opened).
constexpr NsName kNamespaces[] = {
    {"user", "user", CLONE_NEWUSER},   {"ipc", "ipc", CLONE_NEWIPC},
    {"uts", "uts", CLONE_NEWUTS},      {"network", "net", CLONE_NEWNET},
    {"pid", "pid", CLONE_NEWPID},      {"cgroup", "cgroup", CLONE_NEWCGROUP},
    {"time", "time", CLONE_NEWTIME},   {"mount", "mnt", CLONE_NEWNS},
};

int join_rank(int flag) {
  for (size_t i = 0; i < std::size(kNamespaces); ++i)
    if (kNamespaces[i].flag == flag) return static_cast<int>(i);
  return 99;
}

}  // namespace

Result<int> namespace_flag(std::string_view type) {
  for (const auto& ns : kNamespaces)
    if (type == ns.spec) return ns.flag;
  return error("unknown namespace type \"{}\"", type);
}

const char* namespace_proc_name(int flag) {
  for (const auto& ns : kNamespaces)
    if (ns.flag == flag) return ns.proc;
  return "?";
}

Result<NamespacePlan> plan_namespaces(const oci::Linux& linux) {
  NamespacePlan plan;
  for (size_t i = 0; i < linux.namespaces.size(); ++i) {
    const auto& ns = linux.namespaces[i];
    auto flag = namespace_flag(ns.type);
    if (!flag) return std::unexpected(std::move(flag).error().context(fmt::format("linux.namespaces[{}].type", i)));
    if (!ns.path.empty()) {
      int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return sys_error(errno, "open {} namespace \"{}\"", ns.type, ns.path);
      if (*flag == CLONE_NEWNS) plan.joins_mount = true;
      plan.joins.push_back({*flag, ns.path, UniqueFd(fd)});
      continue;
    }
    switch (*flag) {
      case CLONE_NEWCGROUP: plan.new_cgroup = true; break;
      case CLONE_NEWTIME: plan.new_time = true; break;
      default: plan.clone_flags |= *flag;
    }
  }
  plan.new_user = plan.clone_flags & CLONE_NEWUSER;
  plan.new_mount = plan.clone_flags & CLONE_NEWNS;
  std::stable_sort(plan.joins.begin(), plan.joins.end(),
                   [](const auto& a, const auto& b) { return join_rank(a.type) < join_rank(b.type); });
  return plan;
}

Result<> join_namespaces(const std::vector<NamespaceJoin>& joins) {
  for (const auto& j : joins) {
    if (::setns(j.fd.get(), j.type) < 0)
      return sys_error(errno, "join {} namespace \"{}\"", namespace_proc_name(j.type), j.path);
  }
  return {};
}

Result<> write_time_offsets(const std::map<std::string, oci::TimeOffset>& offsets) {
  std::string text;
  for (const auto& [clock, off] : offsets) {
    if (clock != "monotonic" && clock != "boottime")
      return error("linux.timeOffsets: unknown clock \"{}\" (monotonic or boottime)", clock);
    text += fmt::format("{} {} {}\n", clock, off.secs, off.nanosecs);
  }
  if (text.empty()) return {};
  return with_context(write_file("/proc/self/timens_offsets", text), "write linux.timeOffsets");
}

}  // namespace berth::runtime
