// berth.toml, the engine side (the image side is image/config.h; both read
// the same file). Every key has a default; no file is needed.
//
//   [engine]
//   runtime = "builtin"                  # handler of containers without --runtime
//   monitor-path = ""                    # berth-monitor; "" = beside the berth binary
//   log-max-size = 10485760              # bytes of ctr.log before rotation
//   network = "berth"                    # the default network
//   cni-plugin-dirs = ["/usr/lib/cni"]
//   [runtimes.runc]
//   type = "oci"                         # "oci" | "builtin"
//   path = "/usr/bin/runc"
//   root = ""                            # its --root; "" = <runroot>/runtimes/<name>
//
// Known without a file: builtin, berth-runtime (beside berth), runc, crun.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::engine {

struct RuntimeEntry {
  enum class Type { builtin, oci };
  Type type = Type::oci;
  std::string path;  // the binary (oci)
  std::string root;  // its --root; "" = Paths::oci_runtime_root(name)
};

struct EngineConfig {
  std::string runtime = "builtin";
  std::string monitor_path;
  int64_t log_max_size = 10 << 20;
  std::string network = "berth";
  std::vector<std::string> cni_plugin_dirs = {"/usr/lib/cni"};
  std::map<std::string, RuntimeEntry, std::less<>> runtimes;

  // The entry of a handler; ENOENT "unknown runtime \"x\"" naming the known ones.
  Result<RuntimeEntry> runtime_entry(std::string_view name) const;
};

// The defaults, with the built-in runtime names; `berth_dir` is where the
// berth binary lives (berth-runtime and berth-monitor sit beside it).
EngineConfig default_engine_config(const std::string& berth_dir);
// Parses the [engine] and [runtimes.*] tables of TOML text over the defaults;
// errors name the key ("berth.toml: engine.log-max-size: must be an integer").
Result<EngineConfig> parse_engine_config_toml(std::string_view text, std::string_view source,
                                              const std::string& berth_dir);
// Loads `path` (a missing file gives the defaults unless `required`).
Result<EngineConfig> load_engine_config(const std::string& path, bool required, const std::string& berth_dir);
// --config if given, else $BERTH_CONFIG, else /etc/berth/berth.toml.
Result<EngineConfig> load_engine_config_default(const std::optional<std::string>& explicit_path,
                                                const std::string& berth_dir);

}  // namespace berth::engine
