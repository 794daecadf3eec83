// CRIU (Debian's `criu` binary, run as a child process) for `checkpoint` and
// `restore`, with runc's options. What runc passes CRIU through its RPC is
// passed here as command-line options: the images and work directories, the
// root, the container's external mounts (bind mounts, devices bound from the
// host, masked paths) and namespaces, and the flags of the verbs.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "oci/spec.h"

namespace berth::runtime {

struct CriuOptions {
  std::string criu = "criu";    // --criu: the binary
  std::string image_path;       // --image-path
  std::string work_path;        // --work-path (default: image_path)
  std::string parent_path;      // --parent-path: previous pre-dump, relative to image_path
  bool leave_running = false;
  bool tcp_established = false;
  bool ext_unix_sk = false;
  bool shell_job = false;
  bool file_locks = false;
  bool pre_dump = false;
  std::string manage_cgroups_mode;  // soft | full | strict | ignore; "" = CRIU's default
  std::vector<std::string> empty_ns;  // namespace types ("network") CRIU must leave out
};

// The arguments after "criu" for a dump of the process tree of `pid` whose
// root is `root` (pure, unit-tested). Log: <work>/dump.log (pre-dump.log).
std::vector<std::string> criu_dump_args(const CriuOptions& o, const oci::Spec& spec, pid_t pid,
                                        const std::string& root);
// The arguments for a restore into `root` (a mount point), the restored
// init's pid written to `pidfile`. Log: <work>/restore.log.
std::vector<std::string> criu_restore_args(const CriuOptions& o, const oci::Spec& spec, const std::string& root,
                                           const std::string& pidfile, const std::string& bundle);
// The log file a run of `action` ("dump", "pre-dump", "restore") writes.
std::string criu_log_path(const CriuOptions& o, const std::string& action);

// Runs criu with `args`, stdio to /dev/null. A failure quotes the log's
// error lines and names the log: `criu dump failed (exit status 1): Error
// (criu/vdso.c:381): ...; log "/x/dump.log"`.
Result<> run_criu(const CriuOptions& o, const std::string& action, const std::vector<std::string>& args);

// The lines of a CRIU log that report errors ("Error (...)", "Warn" excluded).
std::vector<std::string> criu_error_lines(const std::string& log);

}  // namespace berth::runtime
