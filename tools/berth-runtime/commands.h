// berth-runtime: one file per verb; each parses its flags and calls one
// function of the runtime library.
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "base/error.h"
#include "runtime/container.h"

namespace berth::tool {

struct Globals {
  std::string root;  // --root; empty: runtime::default_state_root() (main.cc)
  std::string log_path;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string criu = "criu";
  int argc = 0;
  char** argv = nullptr;
  int exit_code = 0;  // set by verbs that return the container's status
};

// Prints the error (log and stderr) and returns runc's failure status.
int report(const Error& err);

// The verbs; each adds a subcommand whose callback does the work.
void add_create(CLI::App& app, Globals& g);
void add_start(CLI::App& app, Globals& g);
void add_run(CLI::App& app, Globals& g);
void add_state(CLI::App& app, Globals& g);
void add_kill(CLI::App& app, Globals& g);
void add_delete(CLI::App& app, Globals& g);
void add_list(CLI::App& app, Globals& g);
void add_spec(CLI::App& app, Globals& g);
void add_update(CLI::App& app, Globals& g);
void add_features(CLI::App& app, Globals& g);
void add_exec(CLI::App& app, Globals& g);
void add_checkpoint(CLI::App& app, Globals& g);
void add_restore(CLI::App& app, Globals& g);
void add_pause(CLI::App& app, Globals& g);
void add_resume(CLI::App& app, Globals& g);
void add_events(CLI::App& app, Globals& g);
void add_ps(CLI::App& app, Globals& g);

// Options shared by create and run.
void add_create_options(CLI::App& cmd, runtime::CreateOptions& opts);

// The verb named on the command line (the first argument that is neither a
// global option nor its value), "" if none.
std::string_view verb_of(int argc, char** argv);

// Turns a Result into the process exit status.
int check(const Result<>& r);

}  // namespace berth::tool
