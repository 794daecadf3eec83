// `berth cp`: files between the host and a container, with docker's rules.
//
// Both sides are a root and a path in it. A container's root is an O_PATH fd
// of /proc/<pid>/root while it runs (walking from it crosses the mounts of the
// container's own mount namespace, so its volumes and tmpfs mounts are seen
// as the container sees them, without a setns) or of its mounted rootfs when
// it is stopped. Every container path is opened with openat2(RESOLVE_IN_ROOT
// | RESOLVE_NO_MAGICLINKS) from that root and every entry below it with *at
// calls that never follow a symlink: a symlink in the container (absolute or
// with "..") never leads to the host's files. The host side is an ordinary
// path, relative to the caller's cwd.
//
// The data travels as a tar stream (what `-` reads or writes): one thread
// archives the source, the caller's thread extracts it with the image layer's
// safe writer (image/unpack_writer.h).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"

namespace berth::engine {

// One argument of `berth cp`: "CONTAINER:PATH", "-" (a tar stream on stdin or
// stdout), or a host path. As docker: a colon makes a container reference only
// when no "/" comes before it (a host path with a colon is written "./a:b").
struct CopyArg {
  std::optional<std::string> container;  // set for CONTAINER:PATH
  std::string path;                      // "-" for the stream
  bool stream() const { return !container && path == "-"; }
};
Result<CopyArg> parse_copy_arg(std::string_view arg);

// Where a path lives: in a container (root is an O_PATH directory fd, paths
// resolved inside it) or on the host (root invalid, paths as they are).
struct CopySide {
  const UniqueFd* root = nullptr;  // nullptr: the host
  std::string path;
};

struct CopyOptions {
  bool archive = false;      // -a: keep the source's uid/gid; else the destination's owner is root
                             // in a container, the caller (getuid/getgid) on the host
  bool follow_link = false;  // -L: a symlink named as the source is followed
};

// What docker does with a source (file or directory; "/." at the end of a
// directory: its contents only) and a destination (an existing directory
// receives the source under its own name; a missing path or an existing file
// takes the source's place; a trailing "/" insists on an existing directory).
// Pure: the caller stats both; the plan names where to extract and the name
// the source's top entry gets there ("" = its contents go straight in).
struct CopyPlan {
  std::string extract_dir;  // destination directory the stream is extracted into
  std::string top_name;     // the source's name in the stream ("" = contents)
};
struct PathKind {
  bool exists = false;
  bool is_dir = false;
};
Result<CopyPlan> plan_copy(std::string_view src_path, PathKind src, std::string_view dst_path, PathKind dst);

// The container's root while it runs: /proc/<pid>/root, checked through a
// pidfd to still be that process's afterwards (a reused pid is refused).
Result<UniqueFd> open_process_root(pid_t pid);
// A directory (a stopped container's mounted rootfs) as a root.
Result<UniqueFd> open_root_dir(const std::string& dir);

// The copy itself. Errors name the side and path at fault.
Result<> copy_path(const CopySide& src, const CopySide& dst, const CopyOptions& options);
// `berth cp CONTAINER:SRC -`: a tar stream of src on out_fd.
Result<> copy_to_stream(const CopySide& src, int out_fd, const CopyOptions& options);
// `berth cp - CONTAINER:DST`: extracts the tar stream (maybe compressed) read
// from in_fd into the existing directory dst.
Result<> copy_from_stream(int in_fd, const CopySide& dst, const CopyOptions& options);

}  // namespace berth::engine
