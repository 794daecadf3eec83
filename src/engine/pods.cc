#include "engine/pods.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "engine/monitor.h"
#include "oci/config.h"

namespace berth::engine {
namespace {

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string short_id(std::string_view id) { return std::string(id.substr(0, 12)); }

// Where the infra's IPC, UTS and PID namespaces are kept bound, so that
// members join them by a path that stays valid for the infra's lifetime
// (and that a member's stored spec can name) rather than /proc/<pid>/ns/X.
std::string pod_ns_dir(const Paths& paths, std::string_view pod_id) {
  return paths.runroot + "/pods/" + std::string(pod_id);
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
  for (const char* type : {"ipc", "uts", "pid"}) {
    std::string path = dir + "/" + type;
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
  }
  ::rmdir(dir.c_str());
}

bool uses_netns(const PodRecord& pod) { return pod.network != "host"; }
bool uses_cni(const PodRecord& pod) { return pod.network != "host" && pod.network != "none"; }

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
  std::erase_if(ns, [](const oci::Namespace& n) { return n.type == "network"; });
  if (!netns.empty()) ns.push_back(oci::Namespace{"network", netns});
  spec.annotations["io.berth.pod"] = pod.id;
  spec.annotations["io.berth.infra"] = "true";
  return spec;
}

bool running(const ContainerRecord& c) { return c.state == ContainerState::running || c.state == ContainerState::paused; }

}  // namespace

Result<bool> parse_pod_share(std::string_view value) {
  std::set<std::string> shared = {"ipc", "net", "uts"};
  std::string_view list = value;
  bool add = !list.empty() && list.front() == '+';
  if (add) list.remove_prefix(1);
  else shared.clear();
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string item(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item != "ipc" && item != "net" && item != "uts" && item != "pid")
      return std::unexpected(Error(EINVAL, fmt::format("--share: unknown namespace \"{}\" (ipc, net, uts, pid)", item)));
    shared.insert(item);
  }
  for (const char* required : {"ipc", "net", "uts"})
    if (!shared.contains(required))
      return std::unexpected(Error(EINVAL, fmt::format("--share \"{}\": a berth pod always shares ipc, net and uts (missing {})",
                                                       value, required)));
  return shared.contains("pid");
}

std::string pod_state(const ContainerRecord& infra, const std::vector<ContainerRecord>& members) {
  if (!running(infra)) return infra.started_at == 0 ? "Created" : "Exited";
  for (const auto& m : members)
    if (!running(m)) return "Degraded";
  return "Running";
}

Pods::Pods(PodContext context) : ctx_(std::move(context)) {}

NetworkSetup Pods::network_setup(const PodRecord& pod, const ContainerRecord& infra) const {
  NetworkSetup setup;
  setup.container_id = infra.id;
  setup.netns = ctx_.paths->netns(pod.id);
  if (!pod.network.empty()) setup.networks = {pod.network};
  setup.ports = infra.ports.empty() ? pod.ports : infra.ports;
  setup.aliases = {pod.name};
  return setup;
}

Result<PodRecord> Pods::create(const PodCreateOptions& options) {
  if (!ctx_.handler) return error("pods: no runtime handler (berth.toml's [engine] runtime)");
  PodRecord pod;
  pod.id = new_id();
  pod.name = options.name.empty() ? new_name() : options.name;
  pod.hostname = options.hostname.empty() ? pod.name : options.hostname;
  pod.share_pid = options.share_pid;
  pod.ports = options.ports;
  pod.network = options.network;
  pod.labels = options.labels;
  pod.created_at = now_ns();
  if (!pod.ports.empty() && !uses_cni(pod))
    return std::unexpected(Error(EINVAL, fmt::format("pod \"{}\": ports cannot be published with --network {}", pod.name, pod.network)));
  if (pod.network.starts_with("container:"))
    return std::unexpected(Error(EINVAL, fmt::format("pod \"{}\": --network {} is not possible for a pod", pod.name, pod.network)));

  ContainerRecord infra;
  infra.id = new_id();
  infra.name = short_id(pod.id) + "-infra";
  infra.infra = true;
  infra.pod_id = pod.id;
  infra.runtime = ctx_.handler->name();
  infra.created_at = pod.created_at;
  infra.options.name = infra.name;
  infra.options.hostname = pod.hostname;
  infra.options.network = pod.network;
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

  for (const char* type : {"ipc", "uts"}) BERTH_TRY(bind_namespace(started.container_pid, type, ns_dir + "/" + type));
  if (pod.share_pid) BERTH_TRY(bind_namespace(started.container_pid, "pid", ns_dir + "/pid"));

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
  {
    BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod.id)));
    BERTH_TRY(start_infra(pod));
  }
  BERTH_TRY_ASSIGN(members, ctx_.db->pod_containers(pod.id));
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
  for (const auto& m : members)
    if (!m.infra)
      BERTH_TRY(with_context(ctx_.members.remove(m.id, force), fmt::format("remove {} of pod \"{}\"", m.name, pod.name)));
  BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod.id)));
  BERTH_TRY(stop_infra(pod, 0));
  if (auto infra = this->infra(pod)) {
    std::error_code ec;
    std::filesystem::remove_all(ctx_.paths->run_dir(infra->id), ec);
    std::filesystem::remove_all(ctx_.paths->container_dir(infra->id), ec);
    BERTH_TRY(ctx_.db->remove_container(infra->id));
  }
  BERTH_TRY(ctx_.db->remove_pod(pod.id));
  ::unlink(ctx_.paths->lock(pod.id).c_str());
  return {};
}

Result<std::vector<PodRecord>> Pods::list() { return ctx_.db->pods(); }

Result<PodRecord> Pods::inspect(std::string_view name) { return ctx_.db->pod(name); }

Result<> check_pod_member(const PodRecord& pod, const RunOptions& options) {
  if (!options.ports.empty() || options.publish_all)
    return std::unexpected(Error(EINVAL, fmt::format("a container in pod \"{}\" cannot publish ports: publish them on the "
                                                     "pod (berth pod create -p)", pod.name)));
  if (!options.network.empty())
    return std::unexpected(Error(EINVAL, fmt::format("a container in pod \"{}\" shares the pod's network: --network {} is "
                                                     "not possible", pod.name, options.network)));
  if (!options.hostname.empty())
    return std::unexpected(Error(EINVAL, fmt::format("a container in pod \"{}\" shares the pod's hostname: --hostname is "
                                                     "not possible", pod.name)));
  return {};
}

Result<PodMembership> Pods::join(std::string_view name) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
  BERTH_TRY_ASSIGN(lock, lock_object(ctx_.paths->lock(pod.id)));
  BERTH_TRY_ASSIGN(infra, start_infra(pod));
  PodMembership m;
  std::string ns_dir = pod_ns_dir(*ctx_.paths, pod.id);
  m.netns = infra.netns;
  m.namespaces.network = uses_netns(pod) ? infra.netns : "host";
  m.namespaces.ipc = ns_dir + "/ipc";
  m.namespaces.uts = ns_dir + "/uts";
  if (pod.share_pid) m.namespaces.pid = ns_dir + "/pid";
  m.hostname = pod.hostname;
  m.pod = std::move(pod);
  return m;
}

Result<> Pods::cleanup_infra(std::string_view name) {
  BERTH_TRY_ASSIGN(pod, ctx_.db->pod(name));
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

std::string pod_to_json(const PodRecord& pod, const ContainerRecord& infra, const std::vector<ContainerRecord>& members) {
  nlohmann::json containers = nlohmann::json::array();
  std::vector<ContainerRecord> others;
  for (const auto& m : members)
    if (!m.infra) others.push_back(m);
  for (const auto* c : {&infra}) containers.push_back({{"Id", c->id}, {"Name", c->name}, {"State", state_name(c->state)}});
  for (const auto& c : others) containers.push_back({{"Id", c.id}, {"Name", c.name}, {"State", state_name(c.state)}});
  nlohmann::json shared = {"ipc", "net", "uts"};
  if (pod.share_pid) shared.push_back("pid");
  nlohmann::json j = {
      {"Id", pod.id},
      {"Name", pod.name},
      {"Created", rfc3339(pod.created_at)},
      {"State", pod_state(infra, others)},
      {"Hostname", pod.hostname},
      {"Labels", pod.labels},
      {"CreateInfra", true},
      {"InfraContainerId", infra.id},
      {"SharedNamespaces", shared},
      {"NumContainers", containers.size()},
      {"Containers", containers},
      {"InfraConfig",
       {{"PortBindings", ports_json(infra.ports.empty() ? pod.ports : infra.ports)},
        {"Networks", nlohmann::json::array({pod.network.empty() ? "berth" : pod.network})},
        {"NetNS", infra.netns},
        {"Pid", infra.pid}}},
  };
  return j.dump(4);
}

}  // namespace berth::engine
