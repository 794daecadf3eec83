// CVE-2019-5736: a container must never be able to overwrite the runtime
// binary through /proc/<pid>/exe of a runtime process that entered it. Before
// such a process touches a container, the runtime re-executes itself from a
// sealed, read-only copy (memfd with F_SEAL_WRITE...) or an equivalent
// read-only mapping, so /proc/self/exe never points at the host binary.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace berth::runtime {

// How the read-only image of the runtime is made (runc 1.2's exeseal modes).
enum class ExeSeal {
  // overlay first, memfd when it is not available (no CAP_SYS_ADMIN, no fsopen).
  any,
  // The binary seen through a read-only overlayfs of its directory, made with
  // fsopen/fsmount once, attached under kExeSealDir and reused by later runs:
  // zero copy, and no mount made or torn down per run once cached.
  // Writes through it fail with EROFS, and a lower-only overlay cannot be made
  // writable. runc's "ro-shared-page".
  overlay,
  // A sealed memfd copy: works unprivileged, but copies the whole binary
  // (about +1.5 to +6 ms for 2 MB here). runc's "independent-data-copy".
  memfd,
};

// Called first thing in main() by verbs that enter a container (create, run,
// exec). Returns normally when the process already runs from a protected copy;
// otherwise re-executes (argv and envp unchanged) and does not return on success.
// Fds without O_CLOEXEC (stdio, --preserve-fds, LISTEN_FDS) survive the re-exec.
// The re-executed process finds the environment exactly as before: the marker
// variable kBerthClonedEnv is removed again before this returns.
Result<> ensure_protected_exe(int argc, char** argv);
Result<> ensure_protected_exe(int argc, char** argv, ExeSeal how);

// Whether /proc/self/exe is a memfd carrying all of F_SEAL_SEAL, F_SEAL_SHRINK,
// F_SEAL_GROW and F_SEAL_WRITE (the check runc's exeseal.IsSelfExeCloned makes).
bool exe_is_sealed();
// Whether /proc/self/exe lies on a read-only overlayfs mount.
bool exe_is_on_readonly_overlay();

// Where the read-only overlays of the runtime's directory stay attached, one
// per directory (named by a hash of its path), reused by later runs.
inline constexpr const char* kExeSealDir = "/run/berth-exe-seal";
// The name under kExeSealDir of the overlay of directory `dir` (FNV-1a, as
// 16 hex digits): stable across builds, computed without libc (entry.cc of
// berth-runtime runs it before libc starts).
constexpr uint64_t exe_seal_hash(std::string_view dir) {
  uint64_t h = 14695981039346656037ULL;
  for (char c : dir) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}
// The overlay's second, empty lower layer (overlayfs needs two lowers to run
// without an upper). Created on demand.
inline constexpr const char* kExeSealLowerDir = "/run/berth-exe-seal/empty";

// Set for the re-executed process only; guards against an exec loop.
inline constexpr const char* kBerthClonedEnv = "_BERTH_CLONED";

}  // namespace berth::runtime
