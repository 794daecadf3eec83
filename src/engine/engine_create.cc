// create: the image resolved (pulled when missing), a lease on it, the
// record, then prepare(): everything up to a created init under a monitor.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <optional>

#include "base/file.h"
#include "base/log.h"
#include "engine/engine_internal.h"
#include "engine/etc_files.h"
#include "engine/monitor.h"
#include "engine/pods.h"
#include "engine/spec_builder.h"
#include "engine/volumes.h"
#include "image/pull.h"
#include "image/snapshots.h"
#include "oci/config.h"

namespace berth::engine {
namespace {

std::string lease_id(std::string_view container_id) { return "container-" + std::string(container_id); }

// The image named by `text`, pulled as `policy` says.
Result<image::ImageMatch> find_image(image::Store& store, const image::Config& config, const std::string& text,
                                     PullPolicy policy) {
  if (policy != PullPolicy::always) {
    auto found = store.resolve(text);
    if (found || found.error().code() != ENOENT || policy == PullPolicy::never) {
      if (!found && found.error().code() == ENOENT)
        return std::unexpected(Error(ENOENT, fmt::format("image \"{}\": no such image in the local store", text)));
      return found;
    }
  }
  image::PullOptions opts;
  opts.registry.config = config;
  auto pulled = image::pull(store, text, opts);
  if (!pulled) return std::unexpected(std::move(pulled.error()).context(fmt::format("pull image \"{}\"", text)));
  return store.resolve(pulled->image_id.str());
}

bool is_mount_point(const std::string& path) {
  struct stat self, parent;
  if (::stat(path.c_str(), &self) != 0) return false;
  std::string up = path + "/..";
  if (::stat(up.c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

std::string strip_prefix_len(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

}  // namespace

Result<ContainerRecord> Engine::create(const RunOptions& options, PullPolicy pull) {
  Impl& e = *impl_;
  BERTH_TRY_ASSIGN(handler, e.handler(options.runtime));
  if (options.image.empty()) return error("an image is required");

  ContainerRecord c;
  c.id = new_id();
  if (options.name.empty()) {
    BERTH_TRY_ASSIGN(name, unique_name(e.db));
    c.name = std::move(name);
  } else {
    c.name = options.name;
  }
  c.options = options;
  BERTH_TRY_ASSIGN(store, e.image_store());
  // A network of its own is started as soon as the image is known to be
  // local: the rest of create overlaps its ADDs. Not before a pull, which
  // can take long and be interrupted while the namespace and its addresses
  // have no row yet to find them by.
  std::optional<image::ImageMatch> local;
  if (pull != PullPolicy::always)
    if (auto found = store->resolve(options.image)) local = std::move(*found);
  std::optional<Impl::StartedNetwork> early;
  const std::string& mode = options.network;
  if (local && options.pod.empty() && mode != "none" && mode != "host" && !mode.starts_with("container:"))
    early.emplace(e, c);

  BERTH_TRY_ASSIGN(match, local ? Result<image::ImageMatch>(std::move(*local))
                                : find_image(*store, e.setup.image_config, options.image, pull));
  BERTH_TRY_ASSIGN(config, e.image_config(match.image.id));
  c.image_id = match.image.id;
  c.image_name = match.name.empty() ? options.image : match.name;
  c.runtime = handler->name();
  c.created_at = now_ns();
  if (c.options.stop_signal.empty()) c.options.stop_signal = config.config.stop_signal;
  if (!options.pod.empty()) {
    BERTH_TRY_ASSIGN(pod, e.db.pod(options.pod));
    BERTH_TRY(check_pod_member(pod, options));
    c.pod_id = pod.id;
  }
  if (options.network.starts_with("container:")) BERTH_TRY(e.db.container(options.network.substr(10)));

  // Volumes: anonymous ones are made now and kept with the container (a
  // restart finds the same data); the image's Volumes become anonymous ones.
  for (const auto& dest : config.config.volumes) {
    std::string d = dest.size() > 1 && dest.back() == '/' ? dest.substr(0, dest.size() - 1) : dest;
    bool covered = false;
    for (const auto& m : c.options.mounts) covered = covered || m.destination == d;
    if (!covered) c.options.mounts.push_back(MountRequest{MountRequest::Type::volume, "", d, false, {}});
  }
  auto drop_anonymous = [&] {
    for (const auto& m : c.options.mounts)
      if (m.type == MountRequest::Type::volume && m.source.empty() && c.volumes.contains(m.destination))
        (void)remove_volume(e.db, e.paths(), c.volumes[m.destination], true);
  };
  for (const auto& m : c.options.mounts) {
    if (m.type != MountRequest::Type::volume) continue;
    auto v = m.source.empty() ? create_anonymous_volume(e.db, e.paths()) : ensure_volume(e.db, e.paths(), m.source);
    if (!v) {
      drop_anonymous();
      return std::unexpected(std::move(v).error());
    }
    c.volumes[m.destination] = v->name;
  }

  // The lease keeps the image (and its snapshots) while the container exists.
  c.lease_id = lease_id(c.id);
  BERTH_TRY(store->metadata().create_lease_holding(c.lease_id, "container", 0, now_ns() / 1000000000,
                                                   image::LeaseResource::image, c.image_id));
  Result<> recorded;
  for (int tries = 0;; ++tries) {
    recorded = e.db.add_container(c);
    // A generated name another command took meanwhile: pick another.
    if (recorded || recorded.error().code() != EEXIST || !options.name.empty() || tries == 5) break;
    BERTH_TRY_ASSIGN(name, unique_name(e.db));
    c.name = std::move(name);
  }
  if (!recorded) {
    (void)store->metadata().delete_lease(c.lease_id);
    drop_anonymous();
    return std::unexpected(std::move(recorded).error());
  }

  // A generated name changed by a collision: the DNS entries have the old one.
  if (early && !early->fits(c)) early.reset();
  BERTH_TRY_ASSIGN(lock, e.lock(c.id));
  if (auto r = e.prepare(c, early ? &*early : nullptr); !r) {
    if (auto undo = e.remove_locked(c, true); !undo) log::warn("remove \"{}\": {}", c.id, undo.error().what());
    return std::unexpected(std::move(r).error());
  }
  return c;
}

Engine::Impl::StartedNetwork::StartedNetwork(Impl& e, const ContainerRecord& c)
    : engine_(&e), id_(c.id), name_(c.name), network_(c.options.network) {
  status_ = start(c);
}

Result<> Engine::Impl::StartedNetwork::start(const ContainerRecord& c) {
  Networks& nets = engine_->nets();
  std::string netns = engine_->paths().netns(c.id);
  BERTH_TRY(nets.finish_teardowns(c.id, true));  // of its previous run: the same namespace path
  BERTH_TRY(create_netns(netns));
  NetworkSetup s{c.id, netns, {}, c.options.ports, {c.name}, c.options.dns};  // start_setup publishes s.ports
  s.aliases.insert(s.aliases.end(), c.options.network_aliases.begin(), c.options.network_aliases.end());
  if (!network_.empty()) s.networks = {network_};
  ports_ = c.options.ports;
  auto started = nets.start_setup(s, ports_);
  if (!started) {
    (void)remove_netns(netns);
    return std::unexpected(std::move(started).error());
  }
  netns_ = std::move(netns);
  pending_.emplace(std::move(*started));
  return {};
}

Result<> Engine::Impl::StartedNetwork::take(ContainerRecord& c,
                                            std::optional<std::future<Result<std::vector<NetAttachment>>>>& adding,
                                            std::vector<std::string>& dns_servers) {
  engine_ = nullptr;
  BERTH_TRY(status_);
  c.netns = netns_;
  c.ports = std::move(ports_);
  adding = std::move(pending_->attachments);
  dns_servers = std::move(pending_->dns_servers);
  return {};
}

Engine::Impl::StartedNetwork::~StartedNetwork() {
  if (!engine_ || netns_.empty()) return;
  if (pending_->attachments.valid()) pending_->attachments.wait();
  NetworkSetup s{id_, netns_, {}, ports_, {}};
  if (!network_.empty()) s.networks = {network_};
  (void)engine_->nets().teardown(s);
  (void)remove_netns(netns_);
}

Result<> Engine::Impl::prepare(ContainerRecord& c, StartedNetwork* early) {
  const Paths& p = paths();
  BERTH_TRY(mkdir_p(p.upper(c.id), 0755));
  BERTH_TRY(mkdir_p(p.work(c.id), 0700));
  BERTH_TRY(mkdir_p(p.userdata(c.id), 0700));
  std::string rootfs = p.rootfs(c.id);
  BERTH_TRY(mkdir_p(rootfs, 0755));
  BERTH_TRY_ASSIGN(config, image_config(c.image_id));

  // Guards undo what is done when a later step fails.
  bool ok = false;
  image::OverlayMount mount;
  if (!is_mount_point(rootfs)) {
    BERTH_TRY_ASSIGN(store, image_store());
    BERTH_TRY_ASSIGN(image, store->metadata().get_image(c.image_id));
    if (!image) return std::unexpected(Error(ENOENT, fmt::format("image {} of container {} is gone", c.image_id, c.id)));
    image::OverlaySpec overlay;
    for (const auto& layer : image->layers) {
      BERTH_TRY_ASSIGN(digest, oci::parse_digest(layer.chain_id));
      BERTH_TRY_ASSIGN(dir, store->snapshots().path(digest));
      overlay.layers.push_back(std::move(dir));
    }
    overlay.upper = p.upper(c.id);
    overlay.work = p.work(c.id);
    BERTH_TRY_ASSIGN(m, image::mount_overlay(overlay, rootfs));
    mount = std::move(m);
  }

  SharedNamespaces ns;
  std::vector<std::string> network_dns;
  struct NetGuard {
    Impl* e;
    ContainerRecord* c;
    bool* ok;
    ~NetGuard() {
      if (*ok || c->netns != e->paths().netns(c->id)) return;  // none, or a pod's
      NetworkSetup s{c->id, c->netns, {}, c->ports, {}};
      if (!c->options.network.empty()) s.networks = {c->options.network};
      (void)e->nets().teardown(s);
      (void)remove_netns(c->netns);
      c->netns.clear();
    }
  } net_guard{this, &c, &ok};
  // The CNI ADDs of the container, running while the rest is prepared: only
  // /etc/hosts (rewritten in place) and the start need their result.
  // Declared after the guard: on a failure, waited for before the teardown.
  std::optional<std::future<Result<std::vector<NetAttachment>>>> adding;
  const std::string& mode = c.options.network;
  std::string hostname = c.options.hostname.empty() ? c.id.substr(0, 12) : c.options.hostname;
  std::optional<PodMembership> pod;
  if (!c.pod_id.empty()) {
    BERTH_TRY_ASSIGN(membership, pods().join(c.pod_id, c.name, hostname));
    ns = membership.namespaces;
    if (!membership.hostname.empty()) hostname = membership.hostname;
    // The pod's namespace: recorded for inspect, never torn down by a member.
    if (membership.shares_network) c.netns = membership.netns;
    pod = std::move(membership);
  }
  if (pod && pod->shares_network) {
    // the pod's network, joined by path
  } else if (mode == "host") {
    ns.network = "host";
  } else if (mode.starts_with("container:")) {
    BERTH_TRY_ASSIGN(other, db.container(mode.substr(10)));
    other = refreshed(std::move(other));
    if (other.state != ContainerState::running || other.pid <= 0)
      return error("--network {}: container {} is not running", mode, other.name);
    ns.network = other.netns.empty() ? fmt::format("/proc/{}/ns/net", other.pid) : other.netns;
  } else if (mode != "none") {
    std::optional<StartedNetwork> here;
    StartedNetwork& started = early ? *early : here.emplace(*this, c);
    BERTH_TRY(started.take(c, adding, network_dns));  // the guard undoes it from here
    ns.network = c.netns;
  }

  EtcInputs etc;
  etc.hostname = hostname;
  etc.add_hosts = c.options.add_hosts;
  etc.dns = c.options.dns;
  etc.dns_search = c.options.dns_search;
  etc.dns_options = c.options.dns_options;
  etc.network_dns = std::move(network_dns);
  etc.host_network = mode == "host";
  BERTH_TRY(write_etc_files(p.userdata(c.id), etc));

  SpecInputs in;
  in.id = c.id;
  in.options = &c.options;
  in.image = &config;
  in.rootfs = rootfs;
  in.userdata = p.userdata(c.id);
  in.namespaces = ns;
  if (pod) {
    in.shm_dir = pod->shm_dir;
    in.hosts_file = pod->hosts_file;
    in.resolv_file = pod->resolv_file;
  }
  for (const auto& [dest, name] : c.volumes) {
    BERTH_TRY_ASSIGN(volume, db.volume(name));
    BERTH_TRY(mount_volume(volume));
    for (const auto& m : c.options.mounts)  // the image's content there, into a new volume
      if (m.type == MountRequest::Type::volume && m.destination == dest) BERTH_TRY(copy_up_volume(p, volume, rootfs, m));
    in.volume_paths[dest] = volume.mountpoint;
  }
  BERTH_TRY_ASSIGN(spec, build_spec(in));
  BERTH_TRY(write_file_atomic(p.bundle(c.id) + "/config.json", oci::config_to_json(spec, false), 0600,
                              Durability::volatile_));

  std::string run_dir = p.run_dir(c.id);
  ::unlink((run_dir + "/exit").c_str());
  BERTH_TRY_ASSIGN(handler_ptr, handler(c.runtime));
  RuntimeHandler* h = handler_ptr;
  MonitorSpec ms;
  ms.id = c.id;
  ms.monitor_binary = setup.config.monitor_path;
  ms.run_dir = run_dir;
  ms.log_path = p.log_file(c.id);
  ms.log_max_size = setup.config.log_max_size;
  ms.terminal = c.options.tty;
  ms.stdin_open = c.options.interactive;
  ms.exit_command = exit_command(setup, c.id);
  HandlerCreate req{c.id, p.bundle(c.id), {}};
  BERTH_TRY_ASSIGN(started, start_monitor(ms, [&](const ContainerStdio& stdio) -> Result<pid_t> {
                     req.console_socket = stdio.console_socket;
                     for (int fd : held_locks) ::close(fd);  // this forked copy must not keep them
                     return h->create(req);
                   }));
  if (adding) {
    BERTH_TRY_ASSIGN(attachments, adding->get());
    c.network_status = attachments_to_json(attachments);
    for (const auto& a : attachments)
      for (const auto& ip : a.ips) etc.addresses.push_back(strip_prefix_len(ip));
    BERTH_TRY(rewrite_hosts_file(p.userdata(c.id), etc));
  }
  c.pid = started.container_pid;
  c.monitor_pid = started.monitor_pid;
  c.state = ContainerState::created;
  BERTH_TRY(db.update_container(c.id, [&](ContainerRecord& r) -> Result<> {
    r.pid = c.pid;
    r.monitor_pid = c.monitor_pid;
    r.state = c.state;
    r.netns = c.netns;
    r.network_status = c.network_status;
    r.ports = c.ports;
    return {};
  }));
  ok = true;
  mount.release();
  return {};
}

}  // namespace berth::engine
