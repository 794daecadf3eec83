// The engine: containers from images, daemonless. One Engine per command
// (or per berthd); every change of a container goes through berth.db
// (db.h) and, for its lifecycle, the container's lock (lock_object), so
// several berth processes and the monitors' exit commands act safely at once.
//
// A container's life: create (image resolved or pulled, lease, record,
// overlay rootfs, network, volumes, etc files, spec, config.json, a
// berth-monitor holding the created init) -> start -> the init exits, the
// monitor runs `berth container cleanup ID` (cleanup(): exit recorded,
// runtime state, network and rootfs released; then --rm or the restart
// policy) -> start again (all of "prepare" redone) or remove.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/db.h"
#include "engine/engine_config.h"
#include "engine/handler.h"
#include "engine/options.h"
#include "engine/paths.h"
#include "engine/pods.h"
#include "engine/records.h"
#include "image/config.h"

namespace berth::image {
class Store;
}

namespace berth::engine {

struct EngineSetup {
  Paths paths;
  EngineConfig config;
  image::Config image_config;  // registries, for pulls
  std::string berth_binary;    // the exit command runs it ("" = /proc/self/exe resolved)
  std::string config_path;     // --config, handed on to the exit command
};

// podman's --pull: missing (default), always, never.
enum class PullPolicy { missing, always, never };
Result<PullPolicy> parse_pull_policy(std::string_view value);

// `berth ps --filter KEY=VALUE` (docker's keys): id, name (substring), status
// (created|running|paused|exited), label=K[=V], ancestor (image name or id),
// exited=CODE. Values of one key match any; different keys must all match.
struct ContainerFilter {
  std::multimap<std::string, std::string> terms;
};
Result<ContainerFilter> parse_container_filter(const std::vector<std::string>& filters);

class Engine {
 public:
  static Result<Engine> open(EngineSetup setup);
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  ~Engine();

  const Paths& paths() const;
  const EngineConfig& config() const;
  EngineDb& db();
  Result<image::Store*> store();
  // The handler of `name` ("" = berth.toml's default); ENOENT for an unknown name.
  Result<RuntimeHandler*> handler(std::string_view name);
  Networks& networks();
  // The pods, their members started, stopped and removed by this Engine
  // (which must stay where it is while the Pods is used).
  Pods pods();

  // A container with its state brought up to date (an exited init whose
  // cleanup has not run yet shows as exited).
  Result<ContainerRecord> container(std::string_view id_or_name);

  // Creates a container, leaving its init created under a monitor.
  Result<ContainerRecord> create(const RunOptions& options, PullPolicy pull = PullPolicy::missing);
  // Starts a created or exited container (an exited one is prepared anew).
  Result<> start(std::string_view id_or_name);
  // `start -a`: the container's stdio relayed from before its process runs
  // (an exited one gets its new monitor first); its exit status, nullopt
  // when the user detached.
  Result<std::optional<int>> start_attached(std::string_view id_or_name, bool stdin_open);
  // create + start. Detached: returns 0 once started (`id` set). Otherwise
  // attaches first, relays stdio, returns the exit status (nullopt when the
  // user detached); with --rm the container is gone on return.
  Result<std::optional<int>> run(const RunOptions& options, PullPolicy pull, std::string* id);
  // Stop signal (--stop-signal, else the image's, else SIGTERM), up to
  // `timeout` seconds (else --stop-timeout, else 10), then SIGKILL; returns
  // once the container is cleaned up.
  Result<> stop(std::string_view id_or_name, std::optional<int> timeout = std::nullopt);
  // A signal by name or number ("" = SIGKILL) to the container's init.
  Result<> kill(std::string_view id_or_name, std::string_view signal);
  Result<> restart(std::string_view id_or_name, std::optional<int> timeout = std::nullopt);
  // Removes a container; a running one only with `force` (killed first);
  // `volumes` also removes its anonymous volumes.
  Result<> remove(std::string_view id_or_name, bool force, bool volumes);
  // Waits for the container to exit; its exit code.
  Result<int> wait(std::string_view id_or_name);
  // Containers (running ones only unless `all`), newest first.
  Result<std::vector<ContainerRecord>> list(bool all, const ContainerFilter& filter = {});
  // docker-like inspect document.
  Result<nlohmann::ordered_json> inspect(std::string_view id_or_name);
  // The monitor's exit command: records the exit, releases what the running
  // container held (runtime state, network, rootfs), then --rm removes it or
  // the restart policy starts it again. Idempotent.
  Result<> cleanup(std::string_view id);

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "Up 5 seconds", "Exited (1) 2 minutes ago", "Created" as docker's ps shows it.
std::string status_text(const ContainerRecord& c, int64_t now_ns);

}  // namespace berth::engine
