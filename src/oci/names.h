// Tables of the names the runtime-spec uses for kernel constants: capability,
// rlimit and namespace names. Pure lookups, shared by validation and by the
// runtime that turns the names into syscall arguments.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace berth::oci {

// "CAP_CHOWN" -> 0; nullopt when the name is not a capability this table knows
// (the spec asks runtimes to warn, not fail, on those).
std::optional<int> capability_from_name(std::string_view name);
// 0 -> "CAP_CHOWN"; empty when unknown.
std::string_view capability_name(int cap);
// The highest capability number in the table (CAP_CHECKPOINT_RESTORE = 40).
int last_known_capability();
// True for names shaped like a capability: CAP_ followed by [A-Z0-9_]+.
bool capability_name_well_formed(std::string_view name);

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
std::optional<int> rlimit_from_name(std::string_view name);

struct NamespaceKind {
  std::string_view type;       // the spec's name: "network"
  int clone_flag;              // CLONE_NEWNET
  std::string_view proc_name;  // the file in /proc/<pid>/ns: "net"
};
// The eight namespace types of the spec, in the order a runtime joins them.
std::span<const NamespaceKind> namespace_kinds();
const NamespaceKind* namespace_kind(std::string_view type);

}  // namespace berth::oci
