// Capabilities: the name table, and the five sets applied with raw capget/
// capset and prctl (no allocation in libcap, nothing hidden between clone and
// exec).
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "base/log.h"
#include "oci/names.h"
#include "runtime/process_attrs.h"

namespace berth::runtime {
namespace {

// Effective, permitted, inheritable as 64-bit masks.
struct CapSets {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};

Result<CapSets> capget_self() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) < 0) return sys_error(errno, "capget");
  auto join = [](uint32_t lo, uint32_t hi) { return uint64_t{lo} | (uint64_t{hi} << 32); };
  return CapSets{join(data[0].effective, data[1].effective),
                 join(data[0].permitted, data[1].permitted),
                 join(data[0].inheritable, data[1].inheritable)};
}

Result<> capset_self(const CapSets& s) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0] = {static_cast<uint32_t>(s.effective), static_cast<uint32_t>(s.permitted),
             static_cast<uint32_t>(s.inheritable)};
  data[1] = {static_cast<uint32_t>(s.effective >> 32), static_cast<uint32_t>(s.permitted >> 32),
             static_cast<uint32_t>(s.inheritable >> 32)};
  if (::syscall(SYS_capset, &hdr, data) < 0)
    return sys_error(errno, "capset effective={:#x} permitted={:#x} inheritable={:#x}",
                     s.effective, s.permitted, s.inheritable);
  return {};
}

// The kernel-supported capabilities named in `names`, as a mask. A name that
// is no capability (config validation already warned: the spec asks runtimes
// to warn, not fail) and one newer than the running kernel are skipped.
uint64_t mask_of(const std::vector<std::string>& names, const char* set) {
  uint64_t mask = 0;
  int last = last_capability();
  for (const auto& name : names) {
    auto cap = oci::capability_from_name(name);
    if (!cap) {
      log::debug("unknown capability \"{}\" in capabilities.{}: skipped", name, set);
      continue;
    }
    if (*cap > last) {
      log::warn("unknown capability \"{}\" in capabilities.{}: the running kernel does not "
                "support it (cap_last_cap is {}); skipped",
                name, set, last);
      continue;
    }
    mask |= uint64_t{1} << *cap;
  }
  return mask;
}

// Names of the bits of `mask`, for warnings.
std::string names_of(uint64_t mask) {
  std::string out;
  for (int c = 0; c < 64; ++c) {
    if (!(mask & (uint64_t{1} << c))) continue;
    if (!out.empty()) out += ", ";
    auto n = capability_name(c);
    out += n.empty() ? fmt::format("{}", c) : std::string(n);
  }
  return out;
}

// Returns the bounding set left. Each capability not kept is dropped
// straight away (one call each); a refused drop is fine only for one already
// gone (no CAP_SETPCAP needed then), which a read tells. Only the kept ones
// are read: reading all of them first doubled the calls.
Result<uint64_t> drop_bounding_mask(uint64_t keep) {
  int last = last_capability();
  uint64_t left = 0;
  for (int c = 0; c <= last; ++c) {
    const uint64_t bit = uint64_t{1} << c;
    if (keep & bit) {
      if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0) left |= bit;
      continue;
    }
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0) continue;
    const int err = errno;
    if (err == EINVAL) continue;  // unknown to the kernel
    if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0) continue;
    return sys_error(err, "drop {} from the bounding set", capability_name(c));
  }
  return left;
}

}  // namespace

int last_capability() {
  static int cached = -1;
  if (cached >= 0) return cached;
  // /proc/sys/kernel/cap_last_cap, asked of the kernel directly: a bounding
  // set read is EINVAL exactly above it (two calls, and no /proc needed).
  int last = oci::last_known_capability();
  auto valid = [](int cap) { return ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0 || errno != EINVAL; };
  while (last > 0 && !valid(last)) --last;
  while (last < 63 && valid(last + 1)) ++last;
  cached = last;
  return last;
}

Result<int> capability_from_name(std::string_view name) {
  if (auto cap = oci::capability_from_name(name)) return *cap;
  return error("unknown capability \"{}\"", name);
}

std::string_view capability_name(int cap) { return oci::capability_name(cap); }

std::vector<std::string> all_capability_names() {
  std::vector<std::string> out;
  for (int c = 0; c <= oci::last_known_capability(); ++c)
    out.emplace_back(oci::capability_name(c));
  return out;
}

Result<> drop_bounding_set(const oci::Capabilities& caps) {
  BERTH_TRY(drop_bounding_mask(mask_of(caps.bounding, "bounding")));
  return {};
}

Result<> apply_capabilities(const oci::Capabilities& caps) {
  uint64_t bounding = mask_of(caps.bounding, "bounding");
  uint64_t effective = mask_of(caps.effective, "effective");
  uint64_t permitted = mask_of(caps.permitted, "permitted");
  uint64_t inheritable = mask_of(caps.inheritable, "inheritable");
  uint64_t ambient = mask_of(caps.ambient, "ambient");

  // After a uid change the effective set is empty; PR_CAPBSET_DROP needs
  // CAP_SETPCAP in it, so make effective = permitted first.
  BERTH_TRY_ASSIGN(cur, capget_self());
  if (cur.effective != cur.permitted) {
    CapSets raised = cur;
    raised.effective = cur.permitted;
    BERTH_TRY(capset_self(raised));
  }
  BERTH_TRY_ASSIGN(bset, drop_bounding_mask(bounding));

  // What this process cannot grant is skipped with one warning (the spec's
  // "SHOULD NOT fail"): permitted can only shrink, and the kernel's rule for
  // inheritable (cap_capset) is: within old inheritable | bounding, and within
  // old inheritable | permitted unless CAP_SETPCAP is effective.
  bool setpcap = cur.permitted & (uint64_t{1} << CAP_SETPCAP);
  uint64_t inh_allowed = (cur.inheritable | bset) &
                         (setpcap ? ~uint64_t{0} : (cur.inheritable | cur.permitted));
  uint64_t skipped = (permitted & ~cur.permitted) | (inheritable & ~inh_allowed);
  permitted &= cur.permitted;
  inheritable &= inh_allowed;
  // Inconsistent configs (effective outside permitted...) are skipped too, as
  // the kernel would refuse them; warned about separately.
  uint64_t bad_eff = effective & ~permitted & ~skipped;
  uint64_t bad_amb = ambient & ~(permitted & inheritable) & ~skipped;
  effective &= permitted;
  ambient &= permitted & inheritable;
  if (skipped)
    log::warn("capabilities {} cannot be granted (the runtime does not hold them); skipped",
              names_of(skipped));
  if (bad_eff)
    log::warn("effective capabilities {} are not in the permitted set; skipped", names_of(bad_eff));
  if (bad_amb)
    // runc's default config lists ambient capabilities without inheritable
    // ones: that is not worth a warning on every start.
    log::debug("ambient capabilities {} are not both permitted and inheritable; skipped",
              names_of(bad_amb));
  BERTH_TRY(capset_self({effective, permitted, inheritable}));

  // Ambient last: each must be both permitted and inheritable.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    if (errno != EINVAL) return sys_error(errno, "clear the ambient capability set");
    if (ambient) log::warn("ambient capabilities are not supported by this kernel; skipped");
    return {};
  }
  for (int c = 0; c < 64; ++c) {
    if (!(ambient & (uint64_t{1} << c))) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      return sys_error(errno, "raise ambient capability {}", capability_name(c));
  }
  return {};
}

Result<> set_no_new_privileges() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return sys_error(errno, "set no_new_privs");
  return {};
}

}  // namespace berth::runtime
