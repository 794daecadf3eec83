// What the engine_*.cc files share: the Engine's state and the steps of a
// container's life that several verbs take.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "engine/engine.h"
#include "engine/network.h"
#include "engine/pods.h"
#include "image/store.h"
#include "oci/image.h"

namespace berth::engine {

int64_t now_ns();

// A held lock_object() lock, known to the Engine while held: a container's
// init is forked from this process and keeps its copies of our fds until it
// execs, so the create step closes these in the child (a flock lives as long
// as any copy of its fd: the init would hold it until start, which needs it).
class ObjectLock {
 public:
  ObjectLock(UniqueFd fd, std::vector<int>* registry) : fd_(std::move(fd)), registry_(registry) {
    registry_->push_back(fd_.get());
  }
  ObjectLock(ObjectLock&& o) noexcept : fd_(std::move(o.fd_)), registry_(o.registry_) {}
  ObjectLock& operator=(ObjectLock&&) = delete;
  ~ObjectLock() { reset(); }
  void reset() {
    if (!fd_) return;
    std::erase(*registry_, fd_.get());
    fd_.reset();
  }

 private:
  UniqueFd fd_;
  std::vector<int>* registry_;
};

struct Engine::Impl {
  EngineSetup setup;
  EngineDb db;
  std::unique_ptr<image::Store> store;       // opened on first use
  std::map<std::string, std::unique_ptr<RuntimeHandler>, std::less<>> handlers;
  std::unique_ptr<Networks> networks;        // made on first use

  Engine* owner = nullptr;                   // for the pods' member operations

  Impl(EngineSetup s, EngineDb d) : setup(std::move(s)), db(std::move(d)) {}

  // A container's own network namespace with its CNI ADDs under way on a
  // thread (Networks::start_setup), made before the rest of the container so
  // that all of it overlaps the ADDs (two Go plugins: the critical path of
  // `run`). prepare() takes it over; one not taken is undone when destroyed
  // (the thread waited for, DNS entries and DELs, the namespace removed). A
  // start that failed keeps its error for prepare() to report where it meets
  // the network, as when the network is started there.
  class StartedNetwork {
   public:
    StartedNetwork(Impl& e, const ContainerRecord& c);
    StartedNetwork(const StartedNetwork&) = delete;
    StartedNetwork& operator=(const StartedNetwork&) = delete;
    ~StartedNetwork();
    // For the container `c`: its netns and ports set, the ADDs' future and
    // aardvark-dns's addresses given; from then on undoing is the caller's.
    Result<> take(ContainerRecord& c, std::optional<std::future<Result<std::vector<NetAttachment>>>>& adding,
                  std::vector<std::string>& dns_servers);
    // Whether it was started for what `c` is now (its name is a DNS alias).
    bool fits(const ContainerRecord& c) const { return c.id == id_ && c.name == name_; }

   private:
    Result<> start(const ContainerRecord& c);

    Impl* engine_;                             // null once taken
    std::string id_, name_, network_, netns_;  // netns_ empty: none made
    std::vector<PortMapping> ports_;           // as resolved
    std::optional<PendingSetup> pending_;
    Result<> status_;
  };

  const Paths& paths() const { return setup.paths; }
  Result<image::Store*> image_store();
  Result<RuntimeHandler*> handler(std::string_view name);
  Networks& nets();
  Pods pods();
  std::vector<int> held_locks;               // fds of the ObjectLocks alive
  Result<ObjectLock> lock(std::string_view id) {
    BERTH_TRY_ASSIGN(fd, lock_object(paths().lock(id)));
    return ObjectLock(std::move(fd), &held_locks);
  }

  // The image's config as stored, parsed once per process (create reads it,
  // then prepare on the same start path; a blob never changes under its digest).
  Result<oci::ImageConfig> image_config(const std::string& image_id);
  std::map<std::string, oci::ImageConfig, std::less<>> image_configs;
  // Brings a new or exited container to "created": rootfs, network, etc
  // files, config.json, a monitor holding the created init. Under the lock.
  // `early`: its network, already started by create(), taken over.
  Result<> prepare(ContainerRecord& c, StartedNetwork* early = nullptr);
  // Undoes prepare once the init is gone (runtime state, network, rootfs);
  // what is already gone is skipped.
  void release(const ContainerRecord& c);
  // The whole container: release, directories, anonymous volumes with
  // `volumes`, the image lease, the row. Under the lock.
  Result<> remove_locked(const ContainerRecord& c, bool volumes);
  // Lets the runtime's init go and records it running. Under the lock.
  // `before_start` runs once the init is created (an attach client connects there).
  Result<> start_locked(ContainerRecord& c, const std::function<Result<>()>& before_start = {});
  // cleanup()'s work under the lock; `restart_delay_ms` is set when the
  // restart policy asks for a new start after that delay.
  Result<> cleanup_locked(std::string_view id, int* restart_delay_ms);
  // A live container's state with its exit file taken into account.
  ContainerRecord refreshed(ContainerRecord c);
};

// Signal by name ("TERM", "SIGTERM") or number.
Result<int> signal_number(std::string_view text);
// The argv of the monitor's exit command.
std::vector<std::string> exit_command(const EngineSetup& setup, const std::string& id);
// The configured network mode: "none", "host", "container:X", "pod", or a network name.
bool uses_cni(const ContainerRecord& c);

}  // namespace berth::engine
