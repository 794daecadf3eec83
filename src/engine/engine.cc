// The Engine object: what it owns (database, image store, handlers,
// networks) and small shared helpers.
#include "engine/engine.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "base/file.h"
#include "engine/container_pause.h"
#include "engine/engine_internal.h"
#include "engine/monitor.h"
#include "runtime/container.h"

namespace berth::engine {

int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Result<PullPolicy> parse_pull_policy(std::string_view value) {
  if (value == "missing") return PullPolicy::missing;
  if (value == "always") return PullPolicy::always;
  if (value == "never") return PullPolicy::never;
  return std::unexpected(Error(EINVAL, fmt::format("--pull: \"{}\" is not missing, always or never", value)));
}

Result<int> signal_number(std::string_view text) {
  if (text.empty()) return SIGKILL;
  return runtime::parse_signal(text);
}

std::vector<std::string> exit_command(const EngineSetup& setup, const std::string& id) {
  std::vector<std::string> argv = {setup.berth_binary, "--root", setup.paths.root, "--runroot", setup.paths.runroot};
  if (!setup.config_path.empty()) {
    argv.push_back("--config");
    argv.push_back(setup.config_path);
  }
  argv.insert(argv.end(), {"container", "cleanup", id});
  return argv;
}

bool uses_cni(const ContainerRecord& c) {
  const std::string& n = c.options.network;
  return c.pod_id.empty() && n != "none" && n != "host" && !n.starts_with("container:");
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }
Engine::Engine(Engine&& o) noexcept : impl_(std::move(o.impl_)) { impl_->owner = this; }
Engine& Engine::operator=(Engine&& o) noexcept {
  impl_ = std::move(o.impl_);
  impl_->owner = this;
  return *this;
}
Engine::~Engine() = default;

Result<Engine> Engine::open(EngineSetup setup) {
  if (setup.berth_binary.empty()) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n < 0) return sys_error(errno, "readlink /proc/self/exe");
    setup.berth_binary.assign(buf, static_cast<size_t>(n));
  }
  if (setup.config.monitor_path.empty())
    setup.config.monitor_path = setup.berth_binary.substr(0, setup.berth_binary.rfind('/') + 1) + "berth-monitor";
  BERTH_TRY(mkdir_p(setup.paths.root, 0700));
  BERTH_TRY_ASSIGN(db, EngineDb::open(setup.paths.db()));
  return Engine(std::make_unique<Impl>(std::move(setup), std::move(db)));
}

const Paths& Engine::paths() const { return impl_->paths(); }
const EngineConfig& Engine::config() const { return impl_->setup.config; }
EngineDb& Engine::db() { return impl_->db; }

Result<image::Store*> Engine::store() { return impl_->image_store(); }

Result<RuntimeHandler*> Engine::handler(std::string_view name) { return impl_->handler(name); }
Networks& Engine::networks() { return impl_->nets(); }
Pods Engine::pods() { return impl_->pods(); }

Pods Engine::Impl::pods() {
  PodContext ctx;
  ctx.paths = &setup.paths;
  ctx.db = &db;
  ctx.networks = &nets();
  auto h = handler("");
  ctx.handler = h ? *h : nullptr;
  ctx.monitor_binary = setup.config.monitor_path;
  ctx.berth_command = {setup.berth_binary, "--root", setup.paths.root, "--runroot", setup.paths.runroot};
  if (!setup.config_path.empty()) {
    ctx.berth_command.push_back("--config");
    ctx.berth_command.push_back(setup.config_path);
  }
  Engine* e = owner;
  ctx.members.start = [e](const std::string& id) { return e->start(id); };
  ctx.members.stop = [e](const std::string& id, std::optional<int> timeout) { return e->stop(id, timeout); };
  ctx.members.remove = [e](const std::string& id, bool force) { return e->remove(id, force, true); };
  ctx.members.kill = [e](const std::string& id, std::string_view signal) { return e->kill(id, signal); };
  ctx.members.pause = [e](const std::string& id) { return pause_container(*e, id); };
  ctx.members.unpause = [e](const std::string& id) { return unpause_container(*e, id); };
  return Pods(std::move(ctx));
}

Result<image::Store*> Engine::Impl::image_store() {
  if (!store) {
    BERTH_TRY_ASSIGN(s, image::Store::open(paths().root));
    store = std::make_unique<image::Store>(std::move(s));
  }
  return store.get();
}

Result<RuntimeHandler*> Engine::Impl::handler(std::string_view name) {
  std::string_view wanted = name.empty() ? std::string_view(setup.config.runtime) : name;
  if (auto it = handlers.find(wanted); it != handlers.end()) return it->second.get();
  BERTH_TRY_ASSIGN(entry, setup.config.runtime_entry(wanted));
  std::unique_ptr<RuntimeHandler> h;
  if (entry.type == RuntimeEntry::Type::builtin) {
    h = make_builtin_handler(std::string(wanted),
                             entry.root.empty() ? paths().builtin_runtime_root() : entry.root);
  } else {
    if (::access(entry.path.c_str(), X_OK) != 0)
      return sys_error(errno, "runtime \"{}\": \"{}\" is not executable", wanted, entry.path);
    h = make_oci_handler(std::string(wanted), entry.path,
                         entry.root.empty() ? paths().oci_runtime_root(wanted) : entry.root);
  }
  RuntimeHandler* raw = h.get();
  handlers.emplace(std::string(wanted), std::move(h));
  return raw;
}

Networks& Engine::Impl::nets() {
  if (!networks) {
    NetworkConfig nc;
    nc.plugin_dirs = setup.config.cni_plugin_dirs;
    nc.default_network = setup.config.network;
    networks = std::make_unique<Networks>(paths(), db, nc);
  }
  return *networks;
}

Result<oci::ImageConfig> Engine::Impl::image_config(const std::string& image_id) {
  if (auto it = image_configs.find(image_id); it != image_configs.end()) return it->second;
  BERTH_TRY_ASSIGN(s, image_store());
  BERTH_TRY_ASSIGN(digest, oci::parse_digest(image_id));
  BERTH_TRY_ASSIGN(text, s->content().read_blob(digest, 8 << 20));
  BERTH_TRY_ASSIGN(config, oci::parse_image_config(text));
  return image_configs.emplace(image_id, std::move(config)).first->second;
}

ContainerRecord Engine::Impl::refreshed(ContainerRecord c) {
  if (c.state == ContainerState::running || c.state == ContainerState::paused) {
    auto exit = read_exit(paths().run_dir(c.id));
    if (exit && *exit) {
      c.state = ContainerState::stopped;
      c.exit_code = (*exit)->exit_code;
      c.oom_killed = (*exit)->oom_killed;
      c.finished_at = (*exit)->finished_at;
      c.pid = 0;
    }
  }
  return c;
}

Result<ContainerRecord> Engine::container(std::string_view id_or_name) {
  BERTH_TRY_ASSIGN(c, impl_->db.container(id_or_name));
  return impl_->refreshed(std::move(c));
}

namespace {

std::string human_duration(int64_t ns) {
  int64_t s = ns / 1000000000;
  if (s < 1) return "Less than a second";
  if (s == 1) return "1 second";
  if (s < 60) return fmt::format("{} seconds", s);
  int64_t m = s / 60;
  if (m == 1) return "About a minute";
  if (m < 60) return fmt::format("{} minutes", m);
  int64_t h = m / 60;
  if (h == 1) return "About an hour";
  if (h < 48) return fmt::format("{} hours", h);
  return fmt::format("{} days", h / 24);
}

}  // namespace

std::string status_text(const ContainerRecord& c, int64_t now) {
  switch (c.state) {
    case ContainerState::created:
      return "Created";
    case ContainerState::running:
      return "Up " + human_duration(now - c.started_at);
    case ContainerState::paused:
      return "Up " + human_duration(now - c.started_at) + " (Paused)";
    case ContainerState::stopped:
      return fmt::format("Exited ({}) {} ago", c.exit_code, human_duration(now - c.finished_at));
    case ContainerState::removing:
      return "Removal In Progress";
  }
  return "Unknown";
}

}  // namespace berth::engine
