// Small file helpers with errors that name the path.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"

namespace berth {

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode = 0);
Result<UniqueFd> open_at(const UniqueFd& dir, const std::string& path, int flags, mode_t mode = 0);
Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(const UniqueFd& fd, const std::string& name);
// Writes `data` to an existing file (sysfs, procfs, cgroupfs): one write(2).
Result<> write_file(const std::string& path, std::string_view data);
enum class Durability { durable, volatile_ };

// write (fsync if durable), rename: a reader sees the old or the new content,
// never half. `volatile_` skips the fsync for state that a reboot voids
// anyway (the runtime's state under /run), where it is pure cost.
Result<> write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                           Durability durability = Durability::durable);
Result<> write_all(int fd, std::string_view data, const std::string& name);
Result<> mkdir_p(const std::string& path, mode_t mode = 0755);

}  // namespace berth
