// config.json: parse, validate, and the default document of `spec`.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/spec.h"
#include "oci/state.h"

namespace berth::oci {

// Parses and validates a config.json document. Errors name the JSON path and
// why: `process.args: must be a non-empty array`.
Result<Spec> parse_config(std::string_view json);
// Reads <bundle>/config.json; errors name the file.
Result<Spec> load_config(const std::string& bundle_dir);
// Validation alone (parse_config calls it); also for specs built in code.
Result<> validate(const Spec& spec);

// The default config.json of `spec` (runc's template), rootless or not.
std::string default_config_json(bool rootless);

// The state document (`state` verb output, hooks' stdin).
std::string state_to_json(const State& state, bool pretty = false);

}  // namespace berth::oci
