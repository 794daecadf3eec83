// The init's end: reaping (the monitor is a child subreaper), the exit file
// in the run dir (status, time, OOM kill) and the detached exit command.
#pragma once

namespace berth::monitor {

extern bool init_exited;
extern int exit_code;

// Remembers the init's memory cgroup while it lives, for oom_killed later.
void find_oom_file();
// Reaps every exited child, recording the init's status.
void reap_children();
// The init is not our child (only a pidfd saw it go): its status is unknown.
void record_unknown_exit();
// <run_dir>/exit: "exit_code=N\nfinished_at=NS\noom_killed=0|1\n".
void write_exit_file();
// Runs the exit command detached (double fork, own session, stdio /dev/null),
// so that it may stop or remove this container and start a new monitor for a restart.
void run_exit_command();

}  // namespace berth::monitor
