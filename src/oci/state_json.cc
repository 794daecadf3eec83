// The state documents: the runtime-spec's (hooks' stdin) and the `state`
// verb's, which runc extends with rootfs, created and owner.
#include <chrono>
#include <ctime>

#include <nlohmann/json.hpp>

#include "oci/config.h"

namespace berth::oci {
namespace {

using ojson = nlohmann::ordered_json;

std::string dump(const ojson& o, int indent) {
  return o.dump(indent, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace

std::string state_to_json(const State& state, bool pretty) {
  ojson o;
  o["ociVersion"] = state.oci_version;
  o["id"] = state.id;
  o["status"] = status_name(state.status);
  // The spec requires pid for created and running containers; Go's omitempty
  // leaves out the 0 of the others.
  if (state.pid != 0) o["pid"] = state.pid;
  o["bundle"] = state.bundle;
  if (!state.annotations.empty()) o["annotations"] = state.annotations;
  return dump(o, pretty ? 2 : -1);
}

std::string runtime_state_to_json(const State& state, const StateDetails& details, bool pretty) {
  ojson o;
  o["ociVersion"] = state.oci_version;
  o["id"] = state.id;
  o["pid"] = state.pid;
  o["status"] = status_name(state.status);
  o["bundle"] = state.bundle;
  o["rootfs"] = details.rootfs;
  o["created"] = details.created;
  if (!state.annotations.empty()) o["annotations"] = state.annotations;
  o["owner"] = details.owner;
  return dump(o, pretty ? 2 : -1);
}

std::string rfc3339_nano(const struct timespec& ts) {
  // Calendar arithmetic, not gmtime_r or strftime: glibc loads the local
  // time zone (/etc/localtime) on their first call, even for UTC.
  using namespace std::chrono;
  const sys_seconds secs{seconds{ts.tv_sec}};
  const sys_days day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{secs - day};
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                hms.hours().count(), hms.minutes().count(), hms.seconds().count());
  if (ts.tv_nsec > 0 && ts.tv_nsec < 1'000'000'000) {
    std::string frac = fmt::format("{:09d}", ts.tv_nsec);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + "Z";
}

}  // namespace berth::oci
