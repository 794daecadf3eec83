#include "runtime/criu.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "base/file.h"
#include "runtime/child.h"
#include "runtime/mount_options.h"
#include "runtime/spawn.h"

namespace berth::runtime {
namespace {

const std::string& work_dir(const CriuOptions& o) { return o.work_path.empty() ? o.image_path : o.work_path; }

// CRIU's short names of namespaces.
std::string criu_ns(const std::string& type) {
  if (type == "network") return "net";
  if (type == "mount") return "mnt";
  return type;
}

bool has_namespace(const oci::Spec& spec, const std::string& type, bool joined) {
  if (!spec.linux) return false;
  for (const auto& ns : spec.linux->namespaces)
    if (ns.type == type && ns.path.empty() != joined) return true;
  return false;
}

std::string joined_net_path(const oci::Spec& spec) {
  if (!spec.linux) return "";
  for (const auto& ns : spec.linux->namespaces)
    if (ns.type == "network" && !ns.path.empty()) return ns.path;
  return "";
}

// Mounts whose source lies outside the container's mount tree: CRIU cannot
// dump them and must be told they are external (runc's addCriuDumpMount).
// `restore` maps each back to its host source.
std::vector<std::pair<std::string, std::string>> external_mounts(const oci::Spec& spec, const std::string& bundle) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : spec.mounts) {
    if (!parse_mount_options(m.options, m.type).bind) continue;
    std::string src = m.source;
    if (!src.empty() && src.front() != '/') src = bundle + "/" + src;
    out.emplace_back(m.destination, src);
  }
  // Devices are bound from the host in a user namespace (devices.cc).
  if (spec.linux && has_namespace(spec, "user", false))
    for (const auto& d : spec.linux->devices) out.emplace_back(d.path, d.path);
  // Masked files are bind mounts of /dev/null.
  if (spec.linux)
    for (const auto& p : spec.linux->masked_paths) out.emplace_back(p, "/dev/null");
  return out;
}

void add_common(std::vector<std::string>& a, const CriuOptions& o) {
  if (o.tcp_established) a.push_back("--tcp-established");
  if (o.ext_unix_sk) a.push_back("--ext-unix-sk");
  if (o.shell_job) a.push_back("--shell-job");
  if (o.file_locks) a.push_back("--file-locks");
  if (!o.manage_cgroups_mode.empty()) a.push_back("--manage-cgroups=" + o.manage_cgroups_mode);
  else a.push_back("--manage-cgroups");
}

}  // namespace

std::string criu_log_path(const CriuOptions& o, const std::string& action) {
  return work_dir(o) + "/" + action + ".log";
}

std::vector<std::string> criu_dump_args(const CriuOptions& o, const oci::Spec& spec, pid_t pid,
                                        const std::string& root) {
  std::string action = o.pre_dump ? "pre-dump" : "dump";
  std::vector<std::string> a = {action,         "--tree",     std::to_string(pid), "--images-dir", o.image_path,
                                "--work-dir",   work_dir(o),  "--log-file",        action + ".log", "-v4",
                                "--root",       root};
  if (o.pre_dump) a.push_back("--track-mem");
  if (!o.parent_path.empty()) {
    a.push_back("--prev-images-dir");
    a.push_back(o.parent_path);
    a.push_back("--track-mem");
  }
  if (o.leave_running && !o.pre_dump) a.push_back("--leave-running");
  add_common(a, o);
  // The mount's destination is its cookie; restore maps the cookie to the source.
  for (const auto& [dest, src] : external_mounts(spec, "")) {
    a.push_back("--external");
    a.push_back("mnt[" + dest + "]:" + dest);
  }
  // A joined network namespace is not the container's to dump (runc's
  // extRootNetNS): restore gives it back by fd.
  if (has_namespace(spec, "network", true)) {
    a.push_back("--external");
    struct stat st {};
    std::string path = joined_net_path(spec);
    a.push_back(fmt::format("net[{}]:extRootNetNS", ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0));
  }
  for (const auto& ns : o.empty_ns) {
    a.push_back("--empty-ns");
    a.push_back(criu_ns(ns));
  }
  return a;
}

std::vector<std::string> criu_restore_args(const CriuOptions& o, const oci::Spec& spec, const std::string& root,
                                           const std::string& pidfile, const std::string& bundle) {
  std::vector<std::string> a = {"restore",      "--images-dir", o.image_path,  "--work-dir", work_dir(o),
                                "--log-file",   "restore.log",  "-v4",         "--root",     root,
                                "--pidfile",    pidfile,        "--restore-detached",
                                // the restored init becomes the runtime's child, as with runc
                                "--restore-sibling"};
  add_common(a, o);
  for (const auto& [dest, src] : external_mounts(spec, bundle)) {
    a.push_back("--external");
    a.push_back("mnt[" + dest + "]:" + src);
  }
  std::string net = joined_net_path(spec);
  if (!net.empty()) {
    a.push_back("--join-ns");
    a.push_back("net:" + net);
  }
  for (const auto& ns : o.empty_ns) {
    a.push_back("--empty-ns");
    a.push_back(criu_ns(ns));
  }
  return a;
}

std::vector<std::string> criu_error_lines(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find("Error (") != std::string::npos || line.starts_with("Error") || line.starts_with("criu: "))
      out.push_back(line);
  return out;
}

Result<> run_criu(const CriuOptions& o, const std::string& action, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {o.criu};
  argv.insert(argv.end(), args.begin(), args.end());
  auto cargv = c_strings(argv);
  // CRIU reports what fails before its log is open (kernel feature
  // detection) on stderr: keep that too.
  UniqueFd output(::memfd_create("criu-output", MFD_CLOEXEC));
  if (!output) return sys_error(errno, "memfd for criu's output");
  pid_t pid = clone_process(0);
  if (pid < 0) return sys_error(errno, "fork criu");
  if (pid == 0) {
    (void)reset_signals();  // a foreground restore blocks the signals it forwards
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) ::dup2(null, 0);
    ::dup2(output.get(), 1);
    ::dup2(output.get(), 2);
    ::execvp(cargv[0], cargv.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error(errno, "wait for criu");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return error("criu {} failed: cannot run \"{}\" (is CRIU installed?)", action, o.criu);
  std::string log_path = criu_log_path(o, action);
  auto log = read_file(log_path);
  std::string text = log ? *log : "";
  ::lseek(output.get(), 0, SEEK_SET);
  if (auto out = read_fd(output, "criu output")) text += "\n" + *out;
  std::string lines;
  for (const auto& l : criu_error_lines(text)) lines += (lines.empty() ? "" : "; ") + l;
  if (lines.empty()) lines = "no error lines in its log or output";
  if (!log) log_path += " (not written)";
  std::string how = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                      : fmt::format("signal {}", WTERMSIG(status));
  return error("criu {} failed ({}): {}; log \"{}\"", action, how, lines, log_path);
}

}  // namespace berth::runtime
