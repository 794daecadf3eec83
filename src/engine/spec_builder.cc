// build_spec: a container's OCI spec from its image's config and the run
// flags, by docker's rules (spec_builder.h). It runs on every `berth run`:
// no file is read that the flags do not call for beyond /etc/passwd and
// /etc/group of the rootfs, and nothing goes through JSON.
#include "engine/spec_builder.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "engine/flags.h"
#include "engine/spec_internal.h"
#include "oci/config.h"

namespace berth::engine {
namespace {

constexpr std::string_view kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr uint64_t kDefaultNofile = 1048576;
constexpr int64_t kDefaultPidsLimit = 2048;  // podman's containers.conf default
constexpr int64_t kMinMemory = 6 << 20;      // docker's smallest --memory

// process.args by docker's rules.
Result<std::vector<std::string>> process_args(const RunOptions& o, const oci::ContainerConfig& c) {
  std::vector<std::string> args;
  if (o.entrypoint) {
    // --entrypoint "" clears the image's; then the image's Cmd goes too.
    for (const auto& a : *o.entrypoint)
      if (!(o.entrypoint->size() == 1 && a.empty())) args.push_back(a);
    args.insert(args.end(), o.command.begin(), o.command.end());
  } else {
    args = c.entrypoint;
    const auto& cmd = o.command.empty() ? c.cmd : o.command;
    args.insert(args.end(), cmd.begin(), cmd.end());
  }
  if (args.empty()) return error("no command: the image has no Entrypoint or Cmd and none was given");
  return args;
}

// Later entries replace earlier ones of the same name, in place.
class EnvBuilder {
 public:
  void set(std::string_view entry) {
    auto key = entry.substr(0, entry.find('='));
    for (auto& e : env_)
      if (std::string_view(e).substr(0, e.find('=')) == key) {
        e = std::string(entry);
        return;
      }
    env_.emplace_back(entry);
  }
  bool has(std::string_view key) const {
    return std::ranges::any_of(env_, [&](const std::string& e) {
      return e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=';
    });
  }
  std::vector<std::string> take() { return std::move(env_); }

 private:
  std::vector<std::string> env_;
};

Result<std::vector<std::string>> process_env(const RunOptions& o, const oci::ContainerConfig& c,
                                             const std::string& hostname, const ResolvedUser& user) {
  EnvBuilder env;
  env.set(kDefaultPath);
  env.set("HOSTNAME=" + hostname);
  if (o.tty) env.set("TERM=xterm");
  env.set("container=berth");
  for (const auto& e : c.env) env.set(e);
  for (const auto& f : o.env_files) {
    BERTH_TRY_ASSIGN(lines, read_env_file(f));
    for (const auto& e : lines) env.set(e);
  }
  for (const auto& e : resolve_env_flags(o.env)) env.set(e);
  if (!env.has("HOME")) env.set("HOME=" + user.home);
  return env.take();
}

// "/a/./b//c/" -> "/a/b/c"; ".." stays (resolved inside the root when made).
std::string clean_path(std::string_view p) {
  std::string out;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    auto part = p.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

Result<std::string> working_dir(const RunOptions& o, const oci::ContainerConfig& c) {
  if (!o.workdir.empty()) {
    if (!o.workdir.starts_with('/')) return error("-w {}: not an absolute path", o.workdir);
    return clean_path(o.workdir);
  }
  if (c.working_dir.empty()) return std::string("/");
  return clean_path(c.working_dir);  // docker takes a relative WorkingDir from "/"
}

std::string rlimit_type(std::string_view name) {
  std::string t = "RLIMIT_";
  for (char c : name) t += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return t;
}

std::vector<oci::Rlimit> process_rlimits(const RunOptions& o) {
  std::vector<oci::Rlimit> out;
  bool nofile = false;
  for (const auto& u : o.ulimits) {
    std::string type = rlimit_type(u.name);
    std::erase_if(out, [&](const oci::Rlimit& r) { return r.type == type; });
    out.push_back({.type = type, .hard = u.hard, .soft = u.soft});
    nofile |= u.name == "nofile";
  }
  if (!nofile) {
    // podman's default, capped at what berth may grant (raising a hard
    // limit needs CAP_SYS_RESOURCE).
    uint64_t n = kDefaultNofile;
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) n = std::min<uint64_t>(n, rl.rlim_max);
    out.push_back({.type = "RLIMIT_NOFILE", .hard = n, .soft = n});
  }
  return out;
}

// Does the host account swap in the memory cgroup? Only then does --memory
// alone also limit swap (docker: swap = memory, so memory+swap = 2x).
bool swap_accounted() {
  return ::access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0 ||
         ::access("/sys/fs/cgroup/cgroup.subtree_control", F_OK) == 0;
}

Result<> set_resources(const RunOptions& o, oci::Resources& r) {
  if (o.memory) {
    if (*o.memory < kMinMemory) return error("--memory {}: below the minimum of 6 MiB", *o.memory);
    oci::MemoryResources m;
    m.limit = *o.memory;
    if (o.memory_swap) {
      if (*o.memory_swap != -1 && *o.memory_swap < *o.memory)
        return error("--memory-swap {}: below --memory {} (it counts memory plus swap)", *o.memory_swap, *o.memory);
      m.swap = *o.memory_swap;
    } else if (swap_accounted()) {
      m.swap = 2 * *o.memory;
    }
    r.memory = m;
  } else if (o.memory_swap && *o.memory_swap != -1) {
    return error("--memory-swap needs --memory");
  }
  if (o.cpus && *o.cpus > 0) {
    long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (*o.cpus < 0.01 || (online > 0 && *o.cpus > double(online)))
      return error("--cpus {}: out of range 0.01 to {} (the host's CPUs)", *o.cpus, online);
    oci::CpuResources c;
    c.period = 100000;
    c.quota = std::llround(*o.cpus * 100000);
    r.cpu = c;
  }
  int64_t pids = o.pids_limit.value_or(kDefaultPidsLimit);
  // 0 and -1 mean unlimited (docker and podman).
  r.pids = oci::PidsResources{.limit = pids > 0 ? pids : -1};
  return {};
}

}  // namespace

Result<> refuse_shared_net_sysctl(std::string_view sysctl, std::string_view network, std::string_view pod) {
  if (!sysctl.starts_with("net.") && !sysctl.starts_with("net/")) return {};
  // A joined network namespace is another container's (or the pod's), as a
  // shared IPC or UTS one would be.
  if (network.starts_with("container:"))
    return error("--sysctl {}: the container shares its network with {}", sysctl, network);
  if (!pod.empty()) return error("--sysctl {}: the container shares its network with pod {}", sysctl, pod);
  return {};
}

namespace {

// docker's namespaced sysctls; the namespace they belong to must be the container's own.
Result<> set_sysctls(const RunOptions& o, const SharedNamespaces& ns, oci::Linux& l) {
  constexpr std::string_view ipc_names[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                            "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                                            "kernel.shm_rmid_forced"};
  for (const auto& s : o.sysctls) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) return error("--sysctl {}: want name=value", s);
    std::string key = s.substr(0, eq);
    std::replace(key.begin(), key.end(), '/', '.');
    bool ipc = key.starts_with("fs.mqueue.") || std::ranges::find(ipc_names, key) != std::end(ipc_names);
    bool net = key.starts_with("net.");
    bool uts = key == "kernel.domainname" || key == "kernel.hostname";
    if (!ipc && !net && !uts)
      return error("--sysctl {}: \"{}\" is not namespaced (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)",
                   s, key);
    if (ipc && !ns.ipc.empty()) return error("--sysctl {}: the container shares its IPC namespace", s);
    if (net && ns.network == "host") return error("--sysctl {}: the container uses the host's network", s);
    BERTH_TRY(refuse_shared_net_sysctl(s, o.network, ns.network_pod));
    if (uts && !ns.uts.empty()) return error("--sysctl {}: the container shares its UTS namespace", s);
    l.sysctl[key] = s.substr(eq + 1);
  }
  return {};
}

void add_namespace(oci::Linux& l, const char* type, const std::string& path) {
  if (path == "host") return;  // the runtime's own
  l.namespaces.push_back({type, path});
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) < 0) return "localhost";
  return buf;
}

constexpr std::string_view kEngineOciVersion = "1.1.0";

}  // namespace

Result<oci::Spec> build_spec(const SpecInputs& in) {
  if (!in.options || !in.image) return error("build spec: options and image config are required");
  const RunOptions& o = *in.options;
  const oci::ContainerConfig& c = in.image->config;
  if (!in.rootfs.starts_with('/')) return error("build spec: rootfs \"{}\" is not an absolute path", in.rootfs);

  SharedNamespaces ns = in.namespaces;
  if (o.network == "host" && ns.network.empty()) ns.network = "host";

  oci::Spec s;
  // 1.1.0, not the parser's 1.2.0: the engine uses no field newer than 1.1
  // (execCPUAffinity, netDevices), and crun 1.8 (Debian 12) refuses "1.2.0"
  // as an unknown version.
  s.oci_version = std::string(kEngineOciVersion);

  oci::Process p;
  p.terminal = o.tty;
  BERTH_TRY_ASSIGN(args, process_args(o, c));
  if (o.init) args.insert(args.begin(), {"/run/berth-init", "--"});
  p.args = std::move(args);

  std::string hostname = o.hostname;
  if (hostname.empty()) hostname = ns.network == "host" ? host_name() : in.id.substr(0, 12);

  BERTH_TRY_ASSIGN(root, detail::open_rootfs(in.rootfs));
  std::string_view user_spec = o.user.empty() ? std::string_view(c.user) : std::string_view(o.user);
  BERTH_TRY_ASSIGN(user, detail::resolve_user_at(root, user_spec));
  p.user.uid = user.uid;
  p.user.gid = user.gid;
  p.user.additional_gids = user.additional_gids;
  BERTH_TRY_ASSIGN(env, process_env(o, c, hostname, user));
  p.env = std::move(env);
  BERTH_TRY_ASSIGN(cwd, working_dir(o, c));
  BERTH_TRY(detail::make_workdir(root, cwd, user.uid, user.gid));
  p.cwd = std::move(cwd);

  BERTH_TRY_ASSIGN(caps, detail::container_capabilities(o));
  p.capabilities = detail::capability_sets(caps);
  p.rlimits = process_rlimits(o);
  p.no_new_privileges = o.no_new_privileges;
  // oomScoreAdj is left out: the container inherits berth's, as lowering it
  // would need CAP_SYS_RESOURCE.
  s.process = std::move(p);

  s.root = oci::Root{.path = in.rootfs, .readonly = o.read_only};
  if (ns.uts.empty()) s.hostname = hostname;
  BERTH_TRY_ASSIGN(mounts, detail::container_mounts(in));
  s.mounts = std::move(mounts);

  oci::Linux l;
  add_namespace(l, "pid", ns.pid);
  add_namespace(l, "network", ns.network);
  add_namespace(l, "ipc", ns.ipc);
  add_namespace(l, "uts", ns.uts);
  l.namespaces.push_back({"mount", ""});
  add_namespace(l, "cgroup", ns.cgroup);
  if (!in.cgroups_path.empty()) {
    l.cgroups_path = in.cgroups_path;
  } else {
    // cgroupfs paths from the hierarchies' roots (podman's cgroupfs manager
    // style): /berth/<id> in every v1 controller or in the unified tree.
    std::string parent = o.cgroup_parent.empty() ? "/berth" : o.cgroup_parent;
    if (!parent.starts_with('/')) parent.insert(0, "/");
    while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    l.cgroups_path = (parent == "/" ? "" : parent) + "/" + in.id;
  }
  oci::Resources r;
  BERTH_TRY(detail::add_devices(o, l, r));
  BERTH_TRY(set_resources(o, r));
  l.resources = std::move(r);
  BERTH_TRY_ASSIGN(seccomp, detail::container_seccomp(o, caps));
  l.seccomp = std::move(seccomp);
  if (!o.privileged) detail::set_masked_paths(l);
  BERTH_TRY(set_sysctls(o, ns, l));
  s.linux = std::move(l);

  for (const auto& [k, v] : c.labels)
    if (k.starts_with("org.opencontainers.image.")) s.annotations[k] = v;
  s.annotations["io.container.manager"] = "berth";
  std::string stop_signal = o.stop_signal.empty() ? c.stop_signal : o.stop_signal;
  if (!stop_signal.empty()) s.annotations["org.opencontainers.image.stopSignal"] = stop_signal;
  for (const auto& [k, v] : o.annotations) s.annotations[k] = v;
  return s;
}

}  // namespace berth::engine
