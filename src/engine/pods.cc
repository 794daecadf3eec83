#include "engine/pods.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "engine/etc_files.h"
#include "engine/flags.h"
#include "engine/monitor.h"
#include "engine/network_dns.h"
#include "engine/spec_builder.h"
#include "oci/config.h"
#include "runtime/container.h"

namespace berth::engine {
namespace {

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string short_id(std::string_view id) { return std::string(id.substr(0, 12)); }

// Where the infra's IPC, UTS, PID and cgroup namespaces are kept bound, so
// that members join them by a path that stays valid for the infra's lifetime
// (and that a member's stored spec can name) rather than /proc/<pid>/ns/X;
// and the pod's /dev/shm ("shm").
std::string pod_ns_dir(const Paths& paths, std::string_view pod_id) {
  return paths.runroot + "/pods/" + std::string(pod_id);
}

// The members' shared /dev/shm: a tmpfs as a container's own would be.
Result<> mount_shm(const std::string& dir, const std::string& size) {
  BERTH_TRY(mkdir_p(dir, 0755));
  int64_t bytes = 64 << 20;  // as a container's own /dev/shm
  if (!size.empty()) {
    BERTH_TRY_ASSIGN(parsed, parse_bytes("--shm-size", size));
    bytes = parsed;
  }
  std::string data = fmt::format("mode=1777,size={}", bytes);
  if (::mount("shm", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data.c_str()) != 0)
    return sys_error(errno, "mount the pod's /dev/shm at {}", dir);
  return {};
}

Result<> bind_namespace(pid_t pid, const std::string& type, const std::string& target) {
  {
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return sys_error(errno, "create {}", target);
    ::close(fd);
  }
  std::string source = fmt::format("/proc/{}/ns/{}", pid, type);
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return sys_error(errno, "bind {} to {}", source, target);
  return {};
}

void unbind_namespaces(const std::string& dir) {
  for (const char* type : {"ipc", "uts", "pid", "cgroup"}) {
    std::string path = dir + "/" + type;
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
  }
  std::string shm = dir + "/shm";
  ::umount2(shm.c_str(), MNT_DETACH);
  ::rmdir(shm.c_str());
  ::rmdir(dir.c_str());
}

// A pod that shares no network keeps its infra in a namespace of its own,
// empty and unmanaged; the members then have their own networks.
bool uses_netns(const PodRecord& pod) { return pod.share_net && pod.network != "host"; }
bool uses_cni(const PodRecord& pod) { return uses_netns(pod) && pod.network != "none"; }

std::string strip_prefix_len(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

// The infra's rootfs: only mount points and the catatonit bind target.
Result<> make_infra_rootfs(const std::string& rootfs) {
  for (const char* dir : {"proc", "dev", "sys", "usr/bin", "etc"}) BERTH_TRY(mkdir_p(rootfs + "/" + dir));
  std::string target = rootfs + "/usr/bin/catatonit";
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
  if (fd < 0) return sys_error(errno, "create {}", target);
  ::close(fd);
  return {};
}

// runc's default spec turned into a pause container: catatonit -P as the
// init, no capabilities, read-only root, the pod's network namespace (or the
// host's), new ipc/uts/pid/mount namespaces that members join.
oci::Spec infra_spec(const PodRecord& pod, const std::string& rootfs, const std::string& netns,
                     const std::string& catatonit) {
  oci::Spec spec = oci::default_spec(false);
  spec.root = oci::Root{rootfs, true};
  spec.hostname = pod.hostname;
  oci::Process& p = *spec.process;
  p.terminal = false;
  p.args = {"/usr/bin/catatonit", "-P"};
  p.cwd = "/";
  p.env = {"PATH=/usr/bin:/bin", "container=berth"};
  p.capabilities = oci::Capabilities{};
  p.no_new_privileges = true;
  spec.mounts.push_back(oci::Mount{"/usr/bin/catatonit", "bind", catatonit, {"bind", "ro", "nosuid", "nodev"}, {}, {}});
  auto& ns = spec.linux->namespaces;
  std::erase_if(ns, [](const oci::Namespace& n) { return n.type == "network" || n.type == "cgroup"; });
  if (!pod.share_net) ns.push_back(oci::Namespace{"network", ""});
  else if (!netns.empty()) ns.push_back(oci::Namespace{"network", netns});
  if (pod.share_cgroup) ns.push_back(oci::Namespace{"cgroup", ""});
  spec.annotations["io.berth.pod"] = pod.id;
  spec.annotations["io.berth.infra"] = "true";
  return spec;
}

bool running(const ContainerRecord& c) { return c.state == ContainerState::running || c.state == ContainerState::paused; }

bool has_infra(const PodRecord& pod) { return !pod.infra_id.empty(); }

// The kinds in podman's inspect order (cgroup, ipc, net, pid, uts).
std::vector<std::string> shared_kinds_of(const PodShare& share) {
  std::vector<std::string> out;
  if (share.cgroup) out.emplace_back("cgroup");
  if (share.ipc) out.emplace_back("ipc");
  if (share.net) out.emplace_back("net");
  if (share.pid) out.emplace_back("pid");
  if (share.uts) out.emplace_back("uts");
  return out;
}

// A member's names in the pod's /etc/hosts: its name, and its own hostname
// when the pod does not share its UTS namespace (else the pod's hostname,
// already on the pod's line, is its own).
std::vector<std::string> member_names(const PodRecord& pod, std::string_view name, std::string_view hostname) {
  std::vector<std::string> names = {std::string(name)};
  if (!pod.share_uts && !hostname.empty() && hostname != name) names.emplace_back(hostname);
  return names;
}

}  // namespace

Result<PodShare> parse_pod_share(std::string_view value) {
  PodShare share;
  std::string_view list = value;
  bool add = !list.empty() && list.front() == '+';
  if (add) list.remove_prefix(1);
  else share = PodShare{false, false, false, false, false};
  if (!add && list == "none") return share;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item == "net") share.net = true;
    else if (item == "ipc") share.ipc = true;
    else if (item == "uts") share.uts = true;
    else if (item == "pid") share.pid = true;
    else if (item == "cgroup") share.cgroup = true;
    else
      return std::unexpected(Error(EINVAL, fmt::format("--share {}: unknown namespace \"{}\" (cgroup, ipc, net, pid, uts, "
                                                       "or none)", value, item)));
  }
  return share;
}

std::vector<std::string> shared_kinds(const PodRecord& pod) {
  return shared_kinds_of(PodShare{pod.share_net, pod.share_ipc, pod.share_uts, pod.share_pid, pod.share_cgroup});
}

std::string pod_state(const std::vector<ContainerRecord>& containers) {
  size_t running = 0, paused = 0, exited = 0;
  for (const auto& c : containers) {
    if (c.state == ContainerState::running) ++running;
    else if (c.state == ContainerState::paused) ++paused;
    else if (c.state == ContainerState::stopped) ++exited;
  }
  size_t n = containers.size();
  if (n == 0) return "Created";
  if (running == n) return "Running";
  if (running > 0) return "Degraded";
  if (paused == n) return "Paused";
  if (exited == n) return "Exited";
  if (exited > 0) return "Stopped";
  return "Created";
}

Pods::Pods(PodContext context) : ctx_(std::move(context)) {}

NetworkSetup Pods::network_setup(const PodRecord& pod, const ContainerRecord& infra) const {
  NetworkSetup setup;
  setup.container_id = infra.id;
  setup.netns = ctx_.paths->netns(pod.id);
  if (!pod.network.empty()) setup.networks = {pod.network};
  setup.ports = infra.ports.empty() ? pod.ports : infra.ports;
  setup.aliases = {pod.name};
  setup.dns_servers = pod.dns;  // aardvark-dns's upstream for the pod, as a container's --dns
  return setup;
}

Result<std::vector<std::string>> Pods::dns_names(const PodRecord& pod) {
  std::vector<std::string> names;
  auto add = [&names](const std::string& name) {
    if (!name.empty() && std::ranges::find(names, name) == names.end()) names.push_back(name);
  };
  add(pod.name);
  add(pod.hostname);
  BERTH_TRY_ASSIGN(members, ctx_.db->pod_containers(pod.id));
  for (const auto& m : members) {
    if (m.infra) continue;
    add(m.name);
    for (const auto& alias : m.options.network_aliases) add(alias);
  }
  return names;
}

Result<> Pods::update_dns(const PodRecord& pod, const ContainerRecord& infra) {
  if (!uses_cni(pod) || !running(infra) || infra.network_status.empty()) return {};
  BERTH_TRY_ASSIGN(attachments, attachments_from_json(infra.network_status));
  std::vector<NetworkRecord> records;
  for (const auto& a : attachments) {
    BERTH_TRY_ASSIGN(n, ctx_.networks->inspect(a.network));
    records.push_back(std::move(n));
  }
  NetworkSetup setup = network_setup(pod, infra);
  BERTH_TRY_ASSIGN(names, dns_names(pod));
  setup.aliases = std::move(names);
  return with_context(NetworkDns(*ctx_.paths).add(dns_entries(records, attachments, setup)),
                      fmt::format("pod \"{}\": its names on the network", pod.name));
}

Result<PodRecord> Pods::create(const PodCreateOptions& options) {
  if (!ctx_.handler) return error("pods: no runtime handler (berth.toml's [engine] runtime)");
  PodRecord pod;
  pod.id = new_id();
  pod.name = options.name.empty() ? new_name() : options.name;
  pod.hostname = options.hostname.empty() ? pod.name : options.hostname;
  if (!options.exit_policy.empty() && options.exit_policy != "continue" && options.exit_policy != "stop")
    return std::unexpected(Error(EINVAL, fmt::format("--exit-policy {}: must be continue or stop", options.exit_policy)));
  PodShare share = options.share.value_or(PodShare{});
  bool shares_any = share.net || share.ipc || share.uts || share.pid || share.cgroup;
  // As podman 4.3: --share none (or "") alone means no infra; --infra=true keeps one.
  bool infra_wanted = options.infra.value_or(!options.share || shares_any);
  if (!infra_wanted) {
    std::string_view why = options.infra ? "--infra=false" : "--share none makes none; --infra=true keeps one";
    auto refuse = [&](std::string_view what) {
      return std::unexpected(Error(EINVAL, fmt::format("pod \"{}\": {} needs an infra container ({})", pod.name, what, why)));
    };
    if (options.share && shares_any) return refuse(fmt::format("--share {}", fmt::join(shared_kinds_of(share), ",")));
    share = PodShare{false, false, false, false, false};  // the members' own namespaces
    if (!options.ports.empty()) return refuse("publishing ports (-p)");
    if (!options.network.empty()) return refuse(fmt::format("--network {}", options.network));
    if (!options.add_hosts.empty()) return refuse("--add-host");
    if (!options.dns.empty() || !options.dns_search.empty() || !options.dns_options.empty()) return refuse("--dns...");
    if (!options.shm_size.empty()) return refuse("--shm-size");
    if (!options.infra_name.empty()) return refuse("--infra-name");
  }
  pod.share_pid = share.pid;
  pod.share_net = share.net;
  pod.share_ipc = share.ipc;
  pod.share_uts = share.uts;
  pod.share_cgroup = share.cgroup;
  pod.ports = options.ports;
  pod.network = options.network;
  pod.labels = options.labels;
  pod.add_hosts = options.add_hosts;
  pod.dns = options.dns;
  pod.dns_search = options.dns_search;
  pod.dns_options = options.dns_options;
  pod.shm_size = options.shm_size;
  pod.exit_policy = options.exit_policy.empty() ? "continue" : options.exit_policy;
  pod.created_at = now_ns();
  auto refuse = [&](std::string_view why) {
    return std::unexpected(Error(EINVAL, fmt::format("pod \"{}\": {}", pod.name, why)));
  };
  if (!pod.share_net) {
    // As podman: without a shared network each member has its own (and its own -p).
    if (!pod.ports.empty()) return refuse("ports are published on the pod only when it shares its network (--share net)");
    if (!pod.network.empty()) return refuse("--network needs the network shared (--share net)");
    if (!pod.add_hosts.empty() || !pod.dns.empty() || !pod.dns_search.empty() || !pod.dns_options.empty())
      return refuse("--add-host and --dns... write the members' shared /etc files: they need --share net");
  }
  if (!pod.shm_size.empty()) {
    if (!pod.share_ipc) return refuse("--shm-size sizes the members' shared /dev/shm: it needs --share ipc");
    BERTH_TRY_ASSIGN(bytes, parse_bytes("--shm-size", pod.shm_size));
    if (bytes <= 0) return refuse(fmt::format("--shm-size {}: must be positive", pod.shm_size));
  }
  if (!pod.ports.empty() && !uses_cni(pod))
    return refuse(fmt::format("ports cannot be published with --network {}", pod.network));
  if (pod.network.starts_with("container:"))
    return refuse(fmt::format("--network {} is not possible for a pod", pod.network));

  if (!infra_wanted) {
    BERTH_TRY(ctx_.db->add_pod(pod));
    return pod;
  }

  ContainerRecord infra;
  infra.id = new_id();
  infra.name = options.infra_name.empty() ? short_id(pod.id) + "-infra" : options.infra_name;
  infra.infra = true;
  infra.pod_id = pod.id;
  infra.runtime = ctx_.handler->name();
  infra.created_at = pod.created_at;
  infra.options.name = infra.name;
  infra.options.hostname = pod.hostname;
  infra.options.network = pod.share_net ? pod.network : "none";
  infra.options.ports = pod.ports;
  infra.options.labels = pod.labels;
  pod.infra_id = infra.id;

  BERTH_TRY(ctx_.db->add_pod(pod));
  if (auto r = ctx_.db->add_container(infra); !r) {
    (void)ctx_.db->remove_pod(pod.id);
    return std::unexpected(r.error());
  }
  return pod;
}

Result<ContainerRecord> Pods::infra(const PodRecord& pod) {
  if (!has_infra(pod))
    return std::unexpected(Error(ENOENT, fmt::format("pod \"{}\" has no infra container (created with --infra=false or "
                                                     "--share none)", pod.name)));
  return with_context(ctx_.db->container(pod.infra_id), fmt::format("pod \"{}\": infra container", pod.name));
}

Result<ContainerRecord> Pods::start_infra(const PodRecord& pod) {
  if (!ctx_.handler) return error("pod \"{}\": no runtime handler (berth.toml's [engine] runtime)", pod.name);
  BERTH_TRY_ASSIGN(infra, this->infra(pod));
  if (running(infra)) {
    auto st = ctx_.handler->state(infra.id);
    if (st && st->status != oci::Status::stopped) return infra;
    BERTH_TRY(teardown_infra(pod, infra));  // died without its cleanup having run
  }
  const Paths& paths = *ctx_.paths;
  std::string run_dir = paths.run_dir(infra.id), rootfs = paths.rootfs(infra.id);
  std::string userdata = paths.userdata(infra.id), ns_dir = pod_ns_dir(paths, pod.id);
  BERTH_TRY(mkdir_p(run_dir, 0700));
  BERTH_TRY(mkdir_p(userdata, 0700));
  BERTH_TRY(mkdir_p(ns_dir, 0700));
  BERTH_TRY(make_infra_rootfs(rootfs));
  ::unlink((run_dir + "/exit").c_str());  // the previous run's status
  (void)ctx_.handler->remove(infra.id, true);  // a stale runtime state; none is the usual case

  // Undoes what succeeded when a later step fails.
  bool ok = false;
  std::string netns;
  std::vector<PortMapping> ports = pod.ports;
  std::vector<NetAttachment> attachments;
  NetworkSetup setup = network_setup(pod, infra);
  setup.ports = pod.ports;
  BERTH_TRY_ASSIGN(names, dns_names(pod));
  setup.aliases = std::move(names);
  bool network_up = false;
  struct Undo {
    std::function<void()> fn;
    ~Undo() { fn(); }
  } undo{[&] {
    if (ok) return;
    (void)ctx_.handler->remove(infra.id, true);
    if (network_up) (void)ctx_.networks->teardown(setup);
    if (!netns.empty()) (void)remove_netns(netns);
    unbind_namespaces(ns_dir);
  }};

  if (uses_netns(pod)) {
    netns = paths.netns(pod.id);
    (void)remove_netns(netns);  // stale from a crash
    BERTH_TRY(create_netns(netns));
    if (uses_cni(pod)) {
      BERTH_TRY_ASSIGN(a, ctx_.networks->setup(setup, ports));
      attachments = std::move(a);
      network_up = true;
      setup.ports = ports;
    }
  }

  if (pod.share_net) BERTH_TRY(write_pod_etc_files(pod, infra, attachments));
  if (pod.share_ipc) BERTH_TRY(mount_shm(ns_dir + "/shm", pod.shm_size));

  oci::Spec spec = infra_spec(pod, rootfs, netns, ctx_.catatonit);
  BERTH_TRY(write_file_atomic(paths.bundle(infra.id) + "/config.json", oci::config_to_json(spec)));

  MonitorSpec mon;
  mon.id = infra.id;
  mon.monitor_binary = ctx_.monitor_binary;
  mon.run_dir = run_dir;
  mon.log_path = paths.log_file(infra.id);
  mon.exit_command = ctx_.berth_command;
  for (const char* arg : {"pod", "cleanup"}) mon.exit_command.push_back(arg);
  mon.exit_command.push_back(pod.id);
  std::string bundle = paths.bundle(infra.id);
  RuntimeHandler* handler = ctx_.handler;
  BERTH_TRY_ASSIGN(started, start_monitor(mon, [&](const ContainerStdio& stdio) -> Result<pid_t> {
                     return handler->create(HandlerCreate{infra.id, bundle, stdio.console_socket});
                   }));
  BERTH_TRY(ctx_.handler->start(infra.id));

  for (const auto& [type, shared] : {std::pair{"ipc", pod.share_ipc}, std::pair{"uts", pod.share_uts},
                                     std::pair{"pid", pod.share_pid}, std::pair{"cgroup", pod.share_cgroup}})
    if (shared) BERTH_TRY(bind_namespace(started.container_pid, type, ns_dir + "/" + type));

  std::string status = attachments_to_json(attachments);
  BERTH_TRY_ASSIGN(updated, ctx_.db->update_container(infra.id, [&](ContainerRecord& c) -> Result<> {
                     c.state = ContainerState::running;
                     c.pid = started.container_pid;
                     c.monitor_pid = started.monitor_pid;
                     c.started_at = now_ns();
                     c.finished_at = 0;
                     c.exit_code = 0;
                     c.stopped_by_user = false;
                     c.netns = netns;
                     c.network_status = status;
                     c.ports = ports;
                     return {};
                   }));
  ok = true;
  return updated;
}

// The pod's /etc/hosts and /etc/resolv.conf, which members sharing its
// network bind: the pod's address under its hostname and the infra's name
// (podman's entry), --add-host entries, then each member's name on
// 127.0.0.1 as podman adds it when a container joins (join() for new ones).
// Rewritten in place at each infra start (the address may change).
namespace {

EtcInputs pod_etc_inputs(const PodRecord& pod, const ContainerRecord& infra,
                         const std::vector<NetAttachment>& attachments) {
  EtcInputs etc;
  etc.hostname = pod.hostname;
  etc.aliases = {infra.name};
  for (const auto& a : attachments) {
    for (const auto& ip : a.ips) etc.addresses.push_back(strip_prefix_len(ip));
    // aardvark-dns on the gateway (the pod's --dns become its upstream), as a container's own resolv.conf.
    if (!a.dns_server.empty()) etc.network_dns.push_back(a.dns_server);
  }
  etc.add_hosts = pod.add_hosts;
  etc.dns = pod.dns;
  etc.dns_search = pod.dns_search;
  etc.dns_options = pod.dns_options;
  etc.host_network = pod.network == "host";
  etc.in_place = true;
  return etc;
}

}  // namespace

Result<> Pods::write_pod_etc_files(const PodRecord& pod, const ContainerRecord& infra,
                                   const std::vector<NetAttachment>& attachments) {
  std::string userdata = ctx_.paths->userdata(infra.id);
  BERTH_TRY(write_etc_files(userdata, pod_etc_inputs(pod, infra, attachments)));
  BERTH_TRY_ASSIGN(members, ctx_.db->pod_containers(pod.id));
  for (const auto& m : members)
    if (!m.infra) BERTH_TRY(add_hosts_entry(userdata + "/hosts", "127.0.0.1", member_names(pod, m.name, m.options.hostname)));
  return {};
}

Result<> Pods::rewrite_pod_hosts(const PodRecord& pod, const ContainerRecord& infra) {
  std::vector<NetAttachment> attachments;
  if (!infra.network_status.empty()) {
    BERTH_TRY_ASSIGN(a, attachments_from_json(infra.network_status));
    attachments = std::move(a);
  }
  std::string userdata = ctx_.paths->userdata(infra.id);
  BERTH_TRY(rewrite_hosts_file(userdata, pod_etc_inputs(pod, infra, attachments)));
  BERTH_TRY_ASSIGN(members, ctx_.db->pod_containers(pod.id));
  for (const auto& m : members)
    if (!m.infra) BERTH_TRY(add_hosts_entry(userdata + "/hosts", "127.0.0.1", member_names(pod, m.name, m.options.hostname)));
  return {};
}

Result<> Pods::teardown_infra(const PodRecord& pod, const ContainerRecord& infra) {
  const Paths& paths = *ctx_.paths;
  auto exit = read_exit(paths.run_dir(infra.id));
  if (auto r = ctx_.handler->remove(infra.id, true); !r && r.error().code() != ENOENT) return r;
  if (uses_cni(pod) && !infra.netns.empty()) BERTH_TRY(ctx_.networks->teardown(network_setup(pod, infra)));
  if (!infra.netns.empty()) BERTH_TRY(remove_netns(infra.netns));
  unbind_namespaces(pod_ns_dir(paths, pod.id));
  BERTH_TRY(ctx_.db->update_container(infra.id, [&](ContainerRecord& c) -> Result<> {
    if (running(c)) {
      c.state = ContainerState::stopped;
      c.finished_at = exit && *exit ? (*exit)->finished_at : now_ns();
      c.exit_code = exit && *exit ? (*exit)->exit_code : 0;
    }
    c.pid = 0;
    c.monitor_pid = 0;
    c.netns.clear();
    c.network_status.clear();
    return {};
  }));
  return {};
}

Result<> Pods::stop_infra(const PodRecord& pod, int timeout_s) {
  if (!has_infra(pod)) return {};
  BERTH_TRY_ASSIGN(infra, this->infra(pod));
  if (!running(infra)) return {};
  std::string run_dir = ctx_.paths->run_dir(infra.id);
  BERTH_TRY_ASSIGN(exited, read_exit(run_dir));
  if (!exited) {
    if (auto r = ctx_.handler->kill(infra.id, timeout_s > 0 ? SIGTERM : SIGKILL, false); !r && r.error().code() != ESRCH)
      return r;
    auto waited = wait_exit(run_dir, timeout_s > 0 ? timeout_s * 1000 : 5000);
    if (!waited && waited.error().code() == ETIMEDOUT && timeout_s > 0) {
      (void)ctx_.handler->kill(infra.id, SIGKILL, false);
      waited = wait_exit(run_dir, 5000);
    }
    if (!waited) return std::unexpected(std::move(waited).error().context(fmt::format("stop pod \"{}\"", pod.name)));
  }
  BERTH_TRY(ctx_.db->update_container(infra.id, [](ContainerRecord& c) -> Result<> {
    c.stopped_by_user = true;
    return {};
  }));
  return teardown_infra(pod, infra);
}

Result<PodRecord> Pods::start(std::string_view name) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  if (has_infra(pod)) {
    BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod.id)));
    BERTH_TRY(start_infra(pod));
  }
  BERTH_TRY_ASSIGN(members, ctx_.db->pod_containers(pod.id));
  if (members.empty())
    return std::unexpected(Error(ENOENT, fmt::format("pod \"{}\" has no containers to start", pod.name)));
  for (const auto& m : members)
    if (!m.infra && !running(m))
      BERTH_TRY(with_context(ctx_.members.start(m.id), fmt::format("start {} of pod \"{}\"", m.name, pod.name)));
  return pod;
}

Result<PodRecord> Pods::stop(std::string_view name, std::optional<int> timeout) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  BERTH_TRY_ASSIGN(members, ctx_.db->pod_containers(pod.id));
  for (const auto& m : members)
    if (!m.infra && running(m))
      BERTH_TRY(with_context(ctx_.members.stop(m.id, timeout), fmt::format("stop {} of pod \"{}\"", m.name, pod.name)));
  BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod.id)));
  BERTH_TRY(stop_infra(pod, timeout.value_or(10)));
  return pod;
}

Result<> Pods::remove(std::string_view name, bool force) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  BERTH_TRY_ASSIGN(members, ctx_.db->pod_containers(pod.id));
  std::vector<std::string> busy;
  for (const auto& m : members)
    if (!m.infra && running(m)) busy.push_back(m.name);
  if (!busy.empty() && !force)
    return std::unexpected(Error(EBUSY, fmt::format("pod \"{}\" has running containers ({}): stop them or use -f", pod.name,
                                                    fmt::join(busy, ", "))));
  {
    // The infra first: its network's teardown drops the pod's DNS names at
    // once, so the members' removals find nothing left to reload
    // aardvark-dns for (one reload per pod, not one per member).
    BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod.id)));
    BERTH_TRY(stop_infra(pod, 0));
  }
  for (const auto& m : members)
    if (!m.infra)
      BERTH_TRY(with_context(ctx_.members.remove(m.id, force), fmt::format("remove {} of pod \"{}\"", m.name, pod.name)));
  BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod.id)));
  BERTH_TRY(stop_infra(pod, 0));  // started again meanwhile by a member's start: a no-op otherwise
  if (auto infra = this->infra(pod); has_infra(pod) && infra) {
    std::error_code ec;
    std::filesystem::remove_all(ctx_.paths->run_dir(infra->id), ec);
    std::filesystem::remove_all(ctx_.paths->container_dir(infra->id), ec);
    BERTH_TRY(ctx_.db->remove_container(infra->id));
  }
  BERTH_TRY(ctx_.db->remove_pod(pod.id));
  ::unlink(ctx_.paths->lock(pod.id).c_str());
  return {};
}

Result<PodRecord> Pods::kill(std::string_view name, std::string_view signal) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  if (!signal.empty()) BERTH_TRY(runtime::parse_signal(signal));  // a bad name before any is sent
  BERTH_TRY_ASSIGN(all, containers(pod));
  bool any = false;
  // The members, then the infra (first in `all`): its death tears the pod's network down.
  for (size_t i = all.size(); i-- > 0;) {
    const auto& c = all[i];
    if (!running(c)) continue;
    any = true;
    if (c.infra) {
      int sig = signal.empty() ? SIGKILL : *runtime::parse_signal(signal);  // checked above
      if (auto r = ctx_.handler->kill(c.id, sig, false); !r && r.error().code() != ESRCH)
        return std::unexpected(std::move(r).error().context(fmt::format("kill the infra of pod \"{}\"", pod.name)));
    } else {
      BERTH_TRY(with_context(ctx_.members.kill(c.id, signal), fmt::format("kill {} of pod \"{}\"", c.name, pod.name)));
    }
  }
  if (!any) return std::unexpected(Error(EINVAL, fmt::format("pod \"{}\" has no running containers", pod.name)));
  return pod;
}

Result<PodRecord> Pods::restart(std::string_view name, std::optional<int> timeout) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  BERTH_TRY_ASSIGN(members, ctx_.db->pod_containers(pod.id));
  for (const auto& m : members)
    if (!m.infra && running(m))
      BERTH_TRY(with_context(ctx_.members.stop(m.id, timeout), fmt::format("stop {} of pod \"{}\"", m.name, pod.name)));
  return start(pod.id);
}

Result<PodRecord> Pods::pause(std::string_view name) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  BERTH_TRY_ASSIGN(all, containers(pod));
  // Members first, the infra last: podman pauses every container, so the pod shows Paused.
  for (size_t i = all.size(); i-- > 0;)
    if (all[i].state == ContainerState::running)
      BERTH_TRY(with_context(ctx_.members.pause(all[i].id), fmt::format("pause {} of pod \"{}\"", all[i].name, pod.name)));
  return pod;
}

Result<PodRecord> Pods::unpause(std::string_view name) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  BERTH_TRY_ASSIGN(all, containers(pod));
  for (const auto& c : all)
    if (c.state == ContainerState::paused)
      BERTH_TRY(with_context(ctx_.members.unpause(c.id), fmt::format("unpause {} of pod \"{}\"", c.name, pod.name)));
  return pod;
}

Result<std::vector<std::string>> Pods::prune() {
  BERTH_TRY_ASSIGN(pods, ctx_.db->pods());
  std::vector<std::string> removed;
  for (const auto& pod : pods) {
    BERTH_TRY_ASSIGN(all, containers(pod));
    if (std::ranges::any_of(all, running)) continue;
    if (auto r = remove(pod.id, false); !r) {
      if (r.error().code() == ENOENT) continue;  // another command removed it meanwhile
      return std::unexpected(std::move(r).error());
    }
    removed.push_back(pod.id);
  }
  return removed;
}

Result<std::vector<ContainerRecord>> Pods::containers(const PodRecord& pod) {
  BERTH_TRY_ASSIGN(all, ctx_.db->pod_containers(pod.id));
  std::ranges::stable_partition(all, [](const ContainerRecord& c) { return c.infra; });
  return all;
}

Result<std::vector<PodRecord>> Pods::list() { return ctx_.db->pods(); }

Result<PodRecord> Pods::inspect(std::string_view name) { return ctx_.db->pod(name); }

Result<> refuse_infra(EngineDb& db, const ContainerRecord& c, std::string_view verb) {
  if (!c.infra) return {};
  std::string pod = c.pod_id;
  if (auto p = db.pod(c.pod_id)) pod = fmt::format("\"{}\" ({})", p->name, p->id);
  std::string_view done = verb == "rm" ? "removed without removing" : verb == "stop" ? "stopped without stopping"
                          : verb == "kill" ? "killed without killing" : "started without starting";
  std::string_view pod_verb = verb == "rm" ? "rm" : verb == "stop" ? "stop" : verb == "kill" ? "kill" : "start";
  return std::unexpected(Error(EPERM, fmt::format("container {} is the infra container of pod {} and cannot be {} the "
                                                  "pod (berth pod {})", c.id, pod, done, pod_verb)));
}

Result<> check_pod_member(const PodRecord& pod, const RunOptions& options) {
  auto refuse = [&](std::string_view why) {
    return std::unexpected(Error(EINVAL, fmt::format("a container in pod \"{}\" {}", pod.name, why)));
  };
  if (pod.share_net) {
    if (!options.ports.empty() || options.publish_all)
      return refuse("cannot publish ports: it shares the pod's network; publish them on the pod (berth pod create -p)");
    if (!options.network.empty())
      return refuse(fmt::format("shares the pod's network: --network {} is not possible", options.network));
    if (!options.add_hosts.empty())
      return refuse("shares the pod's /etc/hosts: --add-host belongs on the pod (berth pod create --add-host)");
    if (!options.dns.empty() || !options.dns_search.empty() || !options.dns_options.empty())
      return refuse("shares the pod's /etc/resolv.conf: --dns... belong on the pod (berth pod create --dns)");
    for (const auto& sysctl : options.sysctls) BERTH_TRY(refuse_shared_net_sysctl(sysctl, "", pod.name));
  }
  if (pod.share_uts && !options.hostname.empty())
    return refuse("shares the pod's hostname: --hostname is not possible");
  if (pod.share_ipc && !options.shm_size.empty())
    return refuse("shares the pod's /dev/shm: --shm-size belongs on the pod (berth pod create --shm-size)");
  return {};
}

Result<PodMembership> Pods::join(std::string_view name, std::string_view member_name,
                                  std::string_view member_hostname) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod.id)));
  PodMembership m;
  if (!has_infra(pod)) {  // nothing shared: the member's own namespaces
    m.pod = std::move(pod);
    return m;
  }
  BERTH_TRY_ASSIGN(infra, start_infra(pod));
  std::string ns_dir = pod_ns_dir(*ctx_.paths, pod.id);
  if (pod.share_net) {
    m.shares_network = true;
    m.netns = infra.netns;
    m.namespaces.network = uses_netns(pod) ? infra.netns : "host";
    m.namespaces.network_pod = pod.name;
    std::string userdata = ctx_.paths->userdata(infra.id);
    m.hosts_file = userdata + "/hosts";
    m.resolv_file = userdata + "/resolv.conf";
    BERTH_TRY(add_hosts_entry(m.hosts_file, "127.0.0.1", member_names(pod, member_name, member_hostname)));
    BERTH_TRY(update_dns(pod, infra));  // the member's name (already recorded) on the network
  }
  if (pod.share_ipc) {
    m.namespaces.ipc = ns_dir + "/ipc";
    m.shm_dir = ns_dir + "/shm";
  }
  if (pod.share_uts) {
    m.namespaces.uts = ns_dir + "/uts";
    m.hostname = pod.hostname;
  }
  if (pod.share_pid) m.namespaces.pid = ns_dir + "/pid";
  if (pod.share_cgroup) m.namespaces.cgroup = ns_dir + "/cgroup";
  m.pod = std::move(pod);
  return m;
}

Result<> Pods::leave(std::string_view name) {
  auto pod = ctx_.db->pod(name);
  if (!pod && pod.error().code() == ENOENT) return {};
  if (!pod) return std::unexpected(std::move(pod).error());
  if (!has_infra(*pod) || !pod->share_net) return {};
  BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod->id)));
  BERTH_TRY_ASSIGN(infra, this->infra(*pod));
  // A stopped infra's files are written again, from the members left, at its next start.
  if (!running(infra)) return {};
  BERTH_TRY(with_context(rewrite_pod_hosts(*pod, infra), fmt::format("pod \"{}\": its /etc/hosts", pod->name)));
  return update_dns(*pod, infra);
}

Result<> Pods::member_exited(std::string_view name) {
  auto pod = ctx_.db->pod(name);
  if (!pod && pod.error().code() == ENOENT) return {};
  if (!pod) return std::unexpected(std::move(pod).error());
  if (pod->exit_policy != "stop" || !has_infra(*pod)) return {};
  BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod->id)));
  // Read under the pod's lock: a member joining holds it while it starts the infra.
  BERTH_TRY_ASSIGN(members, ctx_.db->pod_containers(pod->id));
  for (const auto& m : members)
    if (!m.infra && running(m)) return {};
  return with_context(stop_infra(*pod, 10), fmt::format("pod \"{}\": --exit-policy stop", pod->name));
}

Result<> Pods::cleanup_infra(std::string_view name) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  if (!has_infra(pod)) return {};  // nothing to clean up: no infra ever ran
  BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod.id)));
  BERTH_TRY_ASSIGN(infra, this->infra(pod));
  if (!running(infra) && infra.netns.empty()) return {};
  BERTH_TRY_ASSIGN(exited, read_exit(ctx_.paths->run_dir(infra.id)));
  if (!exited) {
    auto st = ctx_.handler->state(infra.id);
    if (st && st->status != oci::Status::stopped)
      return std::unexpected(Error(EBUSY, fmt::format("pod \"{}\": the infra container still runs", pod.name)));
  }
  return teardown_infra(pod, infra);
}

namespace {

std::string rfc3339(int64_t ns) {
  time_t s = ns / 1'000'000'000;
  tm t{};
  ::gmtime_r(&s, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                     t.tm_min, t.tm_sec, ns % 1'000'000'000);
}

nlohmann::json ports_json(const std::vector<PortMapping>& ports) {
  auto out = nlohmann::json::object();
  for (const auto& p : ports)
    for (uint16_t i = 0; i < p.range; ++i) {
      auto& list = out[fmt::format("{}/{}", p.container_port + i, p.protocol)];
      if (list.is_null()) list = nlohmann::json::array();
      list.push_back({{"HostIp", p.host_ip},
                      {"HostPort", p.host_port ? std::to_string(p.host_port + i) : std::string()}});
    }
  return out;
}

}  // namespace

std::string pod_to_json(const PodRecord& pod, const std::vector<ContainerRecord>& containers) {
  nlohmann::json list = nlohmann::json::array();
  const ContainerRecord* infra = nullptr;
  for (const auto& c : containers) {
    if (c.infra) infra = &c;
    list.push_back({{"Id", c.id}, {"Name", c.name}, {"State", state_name(c.state)}});
  }
  ContainerRecord none;
  if (!infra) infra = &none;
  nlohmann::json j = {
      {"Id", pod.id},
      {"Name", pod.name},
      {"Created", rfc3339(pod.created_at)},
      {"State", pod_state(containers)},
      {"Hostname", pod.hostname},
      {"Labels", pod.labels},
      {"CreateInfra", has_infra(pod)},
      {"InfraContainerId", infra->id},
      {"SharedNamespaces", shared_kinds(pod)},
      {"ExitPolicy", pod.exit_policy},
      {"NumContainers", list.size()},
      {"Containers", list},
      {"InfraConfig",
       {{"PortBindings", ports_json(infra->ports.empty() ? pod.ports : infra->ports)},
        {"HostNetwork", pod.share_net && pod.network == "host"},
        {"Networks", pod.share_net ? nlohmann::json::array({pod.network.empty() ? "berth" : pod.network})
                                   : nlohmann::json::array()},
        {"DNSServer", pod.dns},
        {"DNSSearch", pod.dns_search},
        {"DNSOption", pod.dns_options},
        {"HostAdd", pod.add_hosts},
        {"NetNS", infra->netns},
        {"Pid", infra->pid}}},
  };
  if (!pod.shm_size.empty()) j["InfraConfig"]["ShmSize"] = pod.shm_size;
  return j.dump(4);
}

}  // namespace berth::engine
