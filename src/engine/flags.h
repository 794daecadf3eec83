// Parsing of the run/create flag values whose syntax docker and podman fix:
// each error names the flag and the value ("-p 80:x: invalid container port \"x\"").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/options.h"

namespace berth::engine {

Result<std::vector<PortMapping>> parse_publish(std::string_view value);  // -p (a range gives one entry)
Result<MountRequest> parse_volume(std::string_view value);              // -v
Result<MountRequest> parse_mount(std::string_view value);               // --mount
Result<MountRequest> parse_tmpfs(std::string_view value);               // --tmpfs /dst[:opts]
Result<Ulimit> parse_ulimit(std::string_view value);                    // --ulimit nofile=1024[:2048]
Result<Restart> parse_restart(std::string_view value);                  // --restart no|always|on-failure[:N]|unless-stopped
Result<int64_t> parse_bytes(std::string_view flag, std::string_view value);  // 512m, 1g, 100k, 1024
Result<double> parse_cpus(std::string_view value);                      // --cpus 1.5
// KEY=VAL lines of --env-file (comments, blank lines, bare KEY taken from `lookup`).
Result<std::vector<std::string>> read_env_file(const std::string& path);
// A bare KEY of -e takes the value from berth's environment (dropped when unset).
std::vector<std::string> resolve_env_flags(const std::vector<std::string>& env);

}  // namespace berth::engine
