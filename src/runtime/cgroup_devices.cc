// linux.resources.devices: v1 devices.deny "a" then the rules in order (runc's
// order); on cgroup2 a device program (cgroup_devices_bpf.cc).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/fd.h"
#include "base/file.h"
#include "runtime/cgroup_convert.h"
#include "runtime/cgroup_resources_internal.h"

namespace berth::runtime::cgroup::detail {
namespace {

bool is_deny_all(const oci::DeviceCgroupRule& r) {
  return !r.allow && (r.type.empty() || r.type == "a") && (r.access.empty() || r.access == "rwm");
}

Result<> write_rule(const UniqueFd& file, const std::string& path, std::string_view rule, std::string_view field) {
  ssize_t n = ::write(file.get(), rule.data(), rule.size());
  if (n < 0) return sys_error(errno, "{}: write \"{}\" to \"{}\"", field, rule, path);
  if (static_cast<size_t>(n) != rule.size()) return error("{}: short write of \"{}\" to \"{}\"", field, rule, path);
  return {};
}

}  // namespace

Result<> apply_devices(const Targets& t, const std::vector<oci::DeviceCgroupRule>& spec_rules, bool explicit_rules) {
  auto rules = effective_device_rules(spec_rules);
  auto v1 = t.v1.find("devices");
  if (v1 != t.v1.end()) {
    const std::string& dir = v1->second;
    // One open file per direction for all the rules (a dozen by default):
    // the kernel takes one rule per write(2), not one per open.
    BERTH_TRY_ASSIGN(deny, with_context(open_file(dir + "/devices.deny", O_WRONLY), "linux.resources.devices"));
    UniqueFd allow;
    BERTH_TRY(write_rule(deny, dir + "/devices.deny", "a", "linux.resources.devices"));
    for (size_t i = 0; i < rules.size(); ++i) {
      // The usual first rule denies everything again: written already.
      if (i == 0 && is_deny_all(rules[i])) continue;
      std::string field = i < spec_rules.size() ? fmt::format("linux.resources.devices[{}]", i)
                                                : std::string("linux.resources.devices (runtime default)");
      if (rules[i].allow && !allow) {
        BERTH_TRY_ASSIGN(fd, with_context(open_file(dir + "/devices.allow", O_WRONLY), field));
        allow = std::move(fd);
      }
      const UniqueFd& file = rules[i].allow ? allow : deny;
      BERTH_TRY(write_rule(file, dir + (rules[i].allow ? "/devices.allow" : "/devices.deny"),
                           v1_device_rule(rules[i]), field));
    }
    return {};
  }
  if (!t.unified.empty()) return with_context(attach_device_filter(t.unified, rules), "linux.resources.devices");
  if (explicit_rules) return error("linux.resources.devices: the devices cgroup controller is not mounted");
  return {};
}

}  // namespace berth::runtime::cgroup::detail
