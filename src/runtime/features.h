// The runtime-spec features document (features.md, features-linux.md) of
// this build: what `berth-runtime features` prints. Every list comes from the
// table the runtime itself uses (mount options, capabilities, namespaces,
// seccomp actions/operators/architectures/flags), so it cannot drift.
#pragma once

#include <string>

namespace berth::runtime {

// Pretty-printed JSON (two-space indent, as runc prints it).
std::string features_json();

}  // namespace berth::runtime
