// config.json: parse, validate, serialize, and the default document of `spec`;
// the state document.
//
// Order for `create`: load_config(bundle) (parses and validates; nothing is
// created before it succeeds), then log each of config_warnings(spec).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/spec.h"
#include "oci/state.h"

namespace berth::oci {

// The runtime-spec version Berth implements and writes.
inline constexpr std::string_view kOciVersion = "1.2.0";

// Parses and validates a config.json document. Errors name the JSON path and
// why: `process.args: must be a non-empty array`. Unknown keys are ignored and
// `null` counts as absent (as Go runtimes read it). Never throws.
Result<Spec> parse_config(std::string_view json);
// Reads <bundle>/config.json; errors name the file.
Result<Spec> load_config(const std::string& bundle_dir);
// Validation alone (parse_config calls it); also for specs built in code.
Result<> validate(const Spec& spec);
// A runtime-spec `process` document on its own (`exec --process FILE`),
// parsed and validated as config.json's process is; errors name "process.*".
Result<Process> parse_process(std::string_view json);
Result<> validate_process(const Process& process);
// What the spec says to warn about rather than fail on: capabilities unknown
// to this table, relative mount destinations (deprecated). Messages name the path.
std::vector<std::string> config_warnings(const Spec& spec);

// A linux.resources object alone (`update --resources`, the container state):
// parsed and validated like the config's; errors name `linux.resources.<field>`.
Result<Resources> parse_resources(std::string_view json);
Result<> validate_resources(const Resources& r);
// The linux.resources object as JSON (absent fields left out), compact.
std::string resources_to_json(const Resources& r);

// Serializes a spec with the spec's JSON names, in runc's key order; absent
// optionals and empty lists are left out. pretty: tab-indented as runc writes.
std::string config_to_json(const Spec& spec, bool pretty = true);

// The default config.json of `spec` (runc's template), rootless or not.
// Rootless maps the current euid/egid to root in a new user namespace.
std::string default_config_json(bool rootless);
// The same as a Spec, with the ids of the rootless mapping given.
Spec default_spec(bool rootless, uint32_t host_uid = 0, uint32_t host_gid = 0);

// The namespace entry of `type` ("pid", "network"...), or null when the
// container shares the runtime's.
const Namespace* find_namespace(const Spec& spec, std::string_view type);

// The state document of the runtime-spec (hooks' stdin): ociVersion, id,
// status, pid (left out when 0), bundle, annotations (left out when empty).
std::string state_to_json(const State& state, bool pretty = false);

// What `runc state` prints beyond the spec's document.
struct StateDetails {
  std::string rootfs;   // absolute path of the rootfs
  std::string created;  // RFC 3339 with nanoseconds, UTC (rfc3339_nano)
  std::string owner;    // runc prints "" in `state` and the user name in `list`
};
// The `state` verb's document as runc prints it (pid always present, then
// rootfs, created, annotations, owner); pretty = two-space indent.
std::string runtime_state_to_json(const State& state, const StateDetails& details,
                                  bool pretty = true);
// "2026-11-27T20:36:14.075705543Z" (Go's time.RFC3339Nano: trailing zeros of
// the fraction dropped).
std::string rfc3339_nano(const struct timespec& ts);

}  // namespace berth::oci
