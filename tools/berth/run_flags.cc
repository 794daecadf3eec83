#include "run_flags.h"

#include "engine/flags.h"

namespace berth::tool {
namespace {

template <typename T>
CLI::Option* many(CLI::App* cmd, const std::string& name, T& into, const std::string& help) {
  return cmd->add_option(name, into, help)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

}  // namespace

void add_run_flags(CLI::App* cmd, RunFlags& f) {
  auto& o = f.o;
  // Flags stop at the image: the command's own flags are its own.
  cmd->prefix_command();
  cmd->fallthrough(false);
  cmd->set_help_flag("--help", "print this help");  // -h is --hostname, as in docker
  cmd->add_flag("-d,--detach", o.detach, "run in the background and print the container ID");
  cmd->add_flag("-i,--interactive", o.interactive, "keep stdin open");
  cmd->add_flag("-t,--tty", o.tty, "allocate a pseudo-terminal");
  cmd->add_flag("--rm", o.remove, "remove the container when it exits");
  cmd->add_option("--name", o.name, "the container's name");
  many(cmd, "-e,--env", o.env, "KEY=VALUE or KEY (from this environment)");
  many(cmd, "--env-file", o.env_files, "a file of KEY=VALUE lines");
  many(cmd, "-v,--volume", f.volumes, "host-path:ctr-path[:ro], name:ctr-path, or ctr-path (anonymous)");
  many(cmd, "--mount", f.mounts, "type=bind|volume|tmpfs,source=,target=[,readonly]");
  many(cmd, "--tmpfs", f.tmpfs, "ctr-path[:options]");
  cmd->add_option("-w,--workdir", o.workdir, "working directory in the container");
  cmd->add_option("-u,--user", o.user, "user[:group], names or numbers");
  cmd->add_option("--entrypoint", f.entrypoint, "override the image's entrypoint (\"\" clears it)")
      ->each([&f](const std::string&) { f.entrypoint_set = true; });
  many(cmd, "-p,--publish", f.publish, "[ip:][host-port:]ctr-port[/proto]");
  cmd->add_flag("-P,--publish-all", o.publish_all, "publish the image's exposed ports on random host ports");
  cmd->add_option("--network,--net", o.network, "none, host, NAME, container:ID (default: the default network)");
  cmd->add_option("-h,--hostname", o.hostname, "the container's host name");
  many(cmd, "--network-alias", o.network_aliases, "another DNS name of the container on its DNS-enabled networks");
  many(cmd, "--dns", o.dns, "a DNS server");
  many(cmd, "--dns-search", o.dns_search, "a DNS search domain");
  many(cmd, "--dns-option", o.dns_options, "a resolv.conf option");
  many(cmd, "--add-host", o.add_hosts, "host:ip added to /etc/hosts");
  cmd->add_flag("--read-only", o.read_only, "mount the root filesystem read-only");
  many(cmd, "--cap-add", o.cap_add, "add a capability (or ALL)");
  many(cmd, "--cap-drop", o.cap_drop, "drop a capability (or ALL)");
  cmd->add_flag("--privileged", o.privileged, "all capabilities, no seccomp, devices, no masked paths");
  many(cmd, "--security-opt", f.security_opts, "seccomp=FILE|unconfined, no-new-privileges");
  cmd->add_option("-m,--memory", f.memory, "memory limit (512m, 1g)");
  cmd->add_option("--memory-swap", f.memory_swap, "memory + swap limit (-1: unlimited)");
  cmd->add_option("--cpus", f.cpus, "CPUs (1.5)");
  cmd->add_option("--pids-limit", f.pids_limit, "process limit");
  many(cmd, "--ulimit", f.ulimits, "name=soft[:hard]");
  cmd->add_option("--restart", f.restart, "no, always, on-failure[:N], unless-stopped");
  cmd->add_option("--runtime", o.runtime, "runtime handler (berth.toml [runtimes.NAME])");
  cmd->add_option("--pod", o.pod, "run in this pod");
  many(cmd, "-l,--label", f.labels, "KEY=VALUE");
  many(cmd, "--annotation", f.annotations, "KEY=VALUE");
  cmd->add_flag("--init", o.init, "run an init inside the container that reaps and forwards signals");
  cmd->add_option("--stop-signal", o.stop_signal, "signal to stop the container (default: the image's or SIGTERM)");
  cmd->add_option("--stop-timeout", f.stop_timeout, "seconds to wait before killing it (default 10)");
  cmd->add_option("--cgroup-parent", o.cgroup_parent, "parent cgroup");
  many(cmd, "--device", o.devices, "/dev/x[:/dev/y[:rwm]]");
  many(cmd, "--sysctl", o.sysctls, "KEY=VALUE");
  cmd->add_option("--shm-size", o.shm_size, "size of /dev/shm (default 64m)");
  cmd->add_option("--pull", f.pull, "missing, always or never")->capture_default_str();
}

Result<engine::RunOptions> run_options(RunFlags& f, const std::vector<std::string>& remaining) {
  engine::RunOptions o = f.o;
  std::vector<std::string> args = remaining;
  if (!args.empty() && args.front() == "--") args.erase(args.begin());
  if (args.empty()) return std::unexpected(Error(EINVAL, "an image is required"));
  o.image = args.front();
  o.command.assign(args.begin() + 1, args.end());
  if (f.entrypoint_set) {
    // docker takes --entrypoint as one program; "" clears the image's.
    o.entrypoint = f.entrypoint.empty() ? std::vector<std::string>{} : std::vector<std::string>{f.entrypoint};
  }
  o.env = engine::resolve_env_flags(o.env);
  o.mounts.clear();
  for (const auto& v : f.volumes) {
    BERTH_TRY_ASSIGN(m, engine::parse_volume(v));
    o.mounts.push_back(std::move(m));
  }
  for (const auto& v : f.mounts) {
    BERTH_TRY_ASSIGN(m, engine::parse_mount(v));
    o.mounts.push_back(std::move(m));
  }
  for (const auto& v : f.tmpfs) {
    BERTH_TRY_ASSIGN(m, engine::parse_tmpfs(v));
    o.mounts.push_back(std::move(m));
  }
  for (const auto& v : f.publish) {
    BERTH_TRY_ASSIGN(ports, engine::parse_publish(v));
    o.ports.insert(o.ports.end(), ports.begin(), ports.end());
  }
  for (const auto& v : f.ulimits) {
    BERTH_TRY_ASSIGN(u, engine::parse_ulimit(v));
    o.ulimits.push_back(std::move(u));
  }
  for (const auto& s : f.security_opts) {
    if (s.starts_with("seccomp=") || s.starts_with("seccomp:"))
      o.seccomp = s.substr(8);
    else if (s == "no-new-privileges" || s == "no-new-privileges=true" || s == "no-new-privileges:true")
      o.no_new_privileges = true;
    else if (s == "no-new-privileges=false" || s == "no-new-privileges:false")
      o.no_new_privileges = false;
    else
      return std::unexpected(Error(EINVAL, fmt::format("--security-opt \"{}\": want seccomp=FILE|unconfined or "
                                                       "no-new-privileges",
                                                       s)));
  }
  auto key_values = [](const std::vector<std::string>& list, std::string_view flag,
                       std::map<std::string, std::string>& into) -> Result<> {
    for (const auto& kv : list) {
      auto eq = kv.find('=');
      if (eq == 0) return std::unexpected(Error(EINVAL, fmt::format("{} \"{}\": empty key", flag, kv)));
      into[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    return {};
  };
  BERTH_TRY(key_values(f.labels, "--label", o.labels));
  BERTH_TRY(key_values(f.annotations, "--annotation", o.annotations));
  if (!f.memory.empty()) {
    BERTH_TRY_ASSIGN(bytes, engine::parse_bytes("--memory", f.memory));
    o.memory = bytes;
  }
  if (!f.memory_swap.empty()) {
    if (f.memory_swap == "-1") {
      o.memory_swap = -1;
    } else {
      BERTH_TRY_ASSIGN(bytes, engine::parse_bytes("--memory-swap", f.memory_swap));
      o.memory_swap = bytes;
    }
  }
  if (!f.cpus.empty()) {
    BERTH_TRY_ASSIGN(cpus, engine::parse_cpus(f.cpus));
    o.cpus = cpus;
  }
  if (f.pids_limit) o.pids_limit = f.pids_limit;
  if (f.stop_timeout) o.stop_timeout = f.stop_timeout;
  BERTH_TRY_ASSIGN(restart, engine::parse_restart(f.restart));
  o.restart = restart;
  if (o.remove && o.restart.policy != engine::RestartPolicy::no)
    return std::unexpected(Error(EINVAL, "--rm and --restart cannot be used together"));
  return o;
}

}  // namespace berth::tool
