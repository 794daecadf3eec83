// process.rlimits: setrlimit for each entry, with errors that say why a hard
// limit cannot be raised.
#include <sys/resource.h>

#include <cerrno>
#include <cstdint>

#include "oci/names.h"
#include "runtime/process_attrs.h"

namespace berth::runtime {
namespace {

std::string limit_str(uint64_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : fmt::format("{}", v);
}

}  // namespace

Result<int> rlimit_from_name(std::string_view name) {
  if (auto r = oci::rlimit_from_name(name)) return *r;
  return error("unknown rlimit \"{}\"", name);
}

Result<> apply_rlimits(const std::vector<oci::Rlimit>& rlimits) {
  // Validate everything first so nothing is half-applied on a bad entry.
  for (size_t i = 0; i < rlimits.size(); ++i) {
    BERTH_TRY(rlimit_from_name(rlimits[i].type));
    for (size_t j = 0; j < i; ++j)
      if (rlimits[j].type == rlimits[i].type)
        return error("rlimit \"{}\" is given more than once", rlimits[i].type);
    if (rlimits[i].soft > rlimits[i].hard)
      return error("rlimit {}: soft limit {} is above hard limit {}", rlimits[i].type,
                   limit_str(rlimits[i].soft), limit_str(rlimits[i].hard));
  }
  for (const auto& r : rlimits) {
    int resource = *rlimit_from_name(r.type);
    struct rlimit lim{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (::setrlimit(static_cast<__rlimit_resource_t>(resource), &lim) == 0) continue;
    int err = errno;
    struct rlimit cur{};
    bool raising = err == EPERM &&
                   ::getrlimit(static_cast<__rlimit_resource_t>(resource), &cur) == 0 &&
                   lim.rlim_max > cur.rlim_max;
    if (raising)
      return sys_error(err,
                       "setrlimit {} soft={} hard={} (the hard limit is {}; raising a hard limit "
                       "needs CAP_SYS_RESOURCE)",
                       r.type, limit_str(r.soft), limit_str(r.hard), limit_str(cur.rlim_max));
    if (err == EPERM && resource == RLIMIT_NOFILE)
      return sys_error(err, "setrlimit {} soft={} hard={} (above fs.nr_open?)", r.type,
                       limit_str(r.soft), limit_str(r.hard));
    return sys_error(err, "setrlimit {} soft={} hard={}", r.type, limit_str(r.soft),
                     limit_str(r.hard));
  }
  return {};
}

}  // namespace berth::runtime
