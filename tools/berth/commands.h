// berth: the engine's command line. One file per verb; each parses its
// flags and calls one library function. Verbs register in main.cc's table.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "base/error.h"
#include "engine/engine.h"
#include "image/config.h"
#include "image/store.h"

namespace berth::tool {

struct Globals {
  std::string root = "/var/lib/berth";
  std::string runroot = "/run/berth";
  std::string config_path;  // --config; else $BERTH_CONFIG, else /etc/berth/berth.toml
  std::string log_level = "warn";
  int exit_code = 0;
};

// Prints "berth: <error>" and returns the failure status (125, podman's).
int report(const Error& err);
// Turns a Result into the process exit status.
int check(const Result<>& r);
// berth.toml as --config / $BERTH_CONFIG / the default path say.
Result<image::Config> load_config(const Globals& g);

// The store under --root (store_access.cc).
Result<image::Store> open_store(const Globals& g);
// The engine under --root/--runroot with berth.toml's engine part (engine_access.cc).
Result<engine::Engine> open_engine(const Globals& g);
// The per-container verbs (start, stop, kill, restart, rm): opens the engine
// and runs `op` on each name, printing it on success and the error otherwise
// (exit status 125), as docker does.
void for_each_container(Globals& g, const std::vector<std::string>& ids,
                        const std::function<Result<>(engine::Engine&, const std::string&)>& op);
// The `image`, `system` and `container` groups, created by whichever verb comes first.
CLI::App* group(CLI::App& app, const std::string& name, const std::string& description);

// The verbs; each adds a subcommand whose callback does the work.
void add_pull(CLI::App& app, Globals& g);
void add_push(CLI::App& app, Globals& g);
void add_login(CLI::App& app, Globals& g);
void add_logout(CLI::App& app, Globals& g);
void add_images(CLI::App& app, Globals& g);
void add_image_inspect(CLI::App& app, Globals& g);
void add_tag(CLI::App& app, Globals& g);
void add_rmi(CLI::App& app, Globals& g);
void add_save(CLI::App& app, Globals& g);
void add_load(CLI::App& app, Globals& g);
void add_import(CLI::App& app, Globals& g);
void add_system(CLI::App& app, Globals& g);
void add_logs(CLI::App& app, Globals& g);
void add_attach(CLI::App& app, Globals& g);
// Container verbs (cp, stats, rename, port, exec, top, pause, unpause, container prune).
void add_cp(CLI::App& app, Globals& g);
void add_stats(CLI::App& app, Globals& g);
void add_rename(CLI::App& app, Globals& g);
void add_port(CLI::App& app, Globals& g);
void add_network(CLI::App& app, Globals& g);  // create, ls, inspect, rm, prune
void add_volume(CLI::App& app, Globals& g);  // volume create/ls/inspect/rm/prune
void add_exec(CLI::App& app, Globals& g);
void add_top(CLI::App& app, Globals& g);
void add_pause(CLI::App& app, Globals& g);
void add_unpause(CLI::App& app, Globals& g);
void add_container_prune(CLI::App& app, Globals& g);
// Containers (engine).
void add_run(CLI::App& app, Globals& g);
void add_create(CLI::App& app, Globals& g);
void add_start(CLI::App& app, Globals& g);
void add_stop(CLI::App& app, Globals& g);
void add_kill(CLI::App& app, Globals& g);
void add_restart(CLI::App& app, Globals& g);
void add_rm(CLI::App& app, Globals& g);
void add_ps(CLI::App& app, Globals& g);
void add_inspect(CLI::App& app, Globals& g);
void add_wait(CLI::App& app, Globals& g);
void add_container_cleanup(CLI::App& app, Globals& g);
// Pods (pod.cc): the `pod` group; pod_logs.cc and pod_stats.cc add those verbs to it.
void add_pod(CLI::App& app, Globals& g);
void add_pod_logs(CLI::App& pod, Globals& g);
void add_pod_stats(CLI::App& pod, Globals& g);

}  // namespace berth::tool
