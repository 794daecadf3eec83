#include "commands.h"
#include "runtime/checkpoint.h"

namespace berth::tool {

// The CRIU flags checkpoint and restore share.
void add_criu_options(CLI::App& cmd, runtime::CriuOptions& o) {
  cmd.add_option("--image-path", o.image_path, "directory of the checkpoint images (default: ./checkpoint)");
  cmd.add_option("--work-path", o.work_path, "directory for CRIU's logs and work files (default: the image path)");
  cmd.add_flag("--tcp-established", o.tcp_established, "allow open TCP connections");
  cmd.add_flag("--ext-unix-sk", o.ext_unix_sk, "allow external unix sockets");
  cmd.add_flag("--shell-job", o.shell_job, "allow shell jobs");
  cmd.add_flag("--file-locks", o.file_locks, "handle file locks");
  cmd.add_option("--manage-cgroups-mode", o.manage_cgroups_mode, "cgroups mode: soft, full, strict or ignore")
      ->check(CLI::IsMember({"soft", "full", "strict", "ignore"}));
  cmd.add_option("--empty-ns", o.empty_ns, "namespace type CRIU must not dump/restore (repeatable)")
      ->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_checkpoint(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("checkpoint", "checkpoint a running container with CRIU");
  auto o = std::make_shared<runtime::CheckpointOptions>();
  cmd->add_option("id", o->id, "container id")->required();
  add_criu_options(*cmd, o->criu);
  cmd->add_option("--parent-path", o->criu.parent_path, "previous pre-dump images, relative to the image path");
  cmd->add_flag("--leave-running", o->criu.leave_running, "leave the container running after the checkpoint");
  cmd->add_flag("--pre-dump", o->criu.pre_dump, "dump memory only, leave the container running");
  cmd->callback([&g, o]() {
    o->criu.criu = g.criu;
    g.exit_code = check(runtime::Runtime(g.root).checkpoint(*o));
  });
}

}  // namespace berth::tool
