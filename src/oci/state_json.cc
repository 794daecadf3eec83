// The state documents: the runtime-spec's (hooks' stdin) and the `state`
// verb's, which runc extends with rootfs, created and owner.
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
  struct tm tm {};
  time_t secs = ts.tv_sec;
  gmtime_r(&secs, &tm);
  // Not strftime: it loads the local time zone (/etc/localtime) first.
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", tm.tm_year + 1900, tm.tm_mon + 1,
                                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (ts.tv_nsec > 0 && ts.tv_nsec < 1'000'000'000) {
    std::string frac = fmt::format("{:09d}", ts.tv_nsec);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + "Z";
}

}  // namespace berth::oci
