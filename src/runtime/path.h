// Path resolution confined to a root directory: a container's rootfs, a layer.
// openat2(RESOLVE_IN_ROOT) where the kernel has it, so ".." and symlinks can
// never leave `root`.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace berth::runtime {

// Opens `path` (absolute or relative, interpreted inside `root`) with `flags`
// (O_PATH, O_DIRECTORY...). Symlinks are followed but stay inside `root`.
Result<UniqueFd> open_in_root(const UniqueFd& root, std::string_view path, int flags, mode_t mode = 0);
// Creates every missing directory of `path` inside `root` and returns an O_PATH fd to it.
// A component that is a symlink is followed, confined to `root`; a dangling one is an error.
Result<UniqueFd> mkdir_all_in_root(const UniqueFd& root, std::string_view path, mode_t mode = 0755);
// Returns an O_PATH fd to `path` inside `root`, creating its parents and an
// empty regular file when it does not exist (the target of a file bind mount).
Result<UniqueFd> create_file_in_root(const UniqueFd& root, std::string_view path, mode_t mode = 0644);
// "/proc/self/fd/N" of an fd, to use as a mount target or source.
std::string fd_path(const UniqueFd& fd);
// Lexical cleaning: "a//b/../c" -> "a/c", keeps a leading "/".
std::string clean_path(std::string_view path);

// execvp's $PATH walk for a command `name` without a '/': each entry of the
// PATH in `env` (runc's default PATH when there is none; an empty entry is
// "."), the first candidate that `usable` accepts, or ENOENT in runc's words
// (`exec: "NAME": executable file not found in $PATH`). The runtime's init
// and the engine's look at a running container's files share it.
Result<std::string> search_path(std::string_view name, const std::vector<std::string>& env,
                                const std::function<bool(const std::string&)>& usable);

}  // namespace berth::runtime
