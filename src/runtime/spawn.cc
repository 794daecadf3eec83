#include "runtime/spawn.h"

#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime {
namespace {

[[noreturn]] void run_intermediate(const InitContext& ctx) {
  const auto& plan = *ctx.plan;
  auto fail = [&](const Error& e) {
    ctx.channel->send_error(e);
    _exit(1);
  };
  if (auto r = join_namespaces(plan.joins); !r) fail(r.error());
  if (plan.new_time) {
    if (unshare(CLONE_NEWTIME) < 0) fail(Error(errno, "unshare time namespace"));
    if (auto r = write_time_offsets(ctx.spec->linux->time_offsets); !r) fail(r.error());
  }
  pid_t pid = clone_process(static_cast<uint64_t>(plan.clone_flags) | CLONE_PARENT, ctx.cgroup2_dir);
  if (pid < 0) fail(Error(errno, "clone container init"));
  if (pid == 0) container_init(ctx);
  (void)ctx.channel->send(kSyncChildPid, pid);
  _exit(0);
}

}  // namespace

// clone3 without a new stack: fork semantics, plus namespaces in one call.
pid_t clone_process(uint64_t flags, const UniqueFd* cgroup2_dir) {
  struct clone_args args;
  std::memset(&args, 0, sizeof args);
  if (cgroup2_dir && cgroup2_dir->valid()) {
    // Born in its cgroup2 directory: no cgroup.procs write (and its lock) later.
    flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup2_dir->get());
  }
  args.flags = flags;
  // With CLONE_PARENT the child inherits the caller's exit signal; clone3
  // rejects an explicit one.
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
  return static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof args));
}

Result<pid_t> spawn_init(const InitContext& ctx, const Channel& parent_end) {
  const auto& plan = *ctx.plan;
  if (!plan.needs_intermediate()) {
    pid_t pid = clone_process(static_cast<uint64_t>(plan.init_clone_flags()), ctx.cgroup2_dir);
    if (pid < 0) return sys_error(errno, "clone container init");
    if (pid == 0) container_init(ctx);
    return pid;
  }
  pid_t mid = clone_process(0);
  if (mid < 0) return sys_error(errno, "fork intermediate process");
  if (mid == 0) run_intermediate(ctx);
  auto msg = parent_end.expect(kSyncChildPid, "init pid");
  int status;
  while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!msg) return std::unexpected(std::move(msg).error());
  return static_cast<pid_t>(msg->value);
}

}  // namespace berth::runtime
